// SPDX-License-Identifier: MIT
/*
 * sluice connect URL: an AnyConnect client (ocserv, Cisco ASA) with flags in
 * the spirit of openconnect's, in the foreground until SIGINT/SIGTERM.
 * Loop, engine (TUN, no UDP of its own), the AnyConnect client on top.
 */
#include "cli/cmd.h"
#include "cli/privdrop.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/anyconnect/client.h"
#include "ctl/anyconnect/dtls.h"
#include "ctl/anyconnect/vpnc_runner.h"
#include "dco/uapi.h"
#include "sluice/engine.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Least privilege after the set-up (cli/privdrop.h). */
struct connect_priv {
	const char *user; /* -U; default nobody, "root" keeps root */
	bool seccomp;
};

struct connect_run {
	struct sl_loop *loop;
	struct sl_ac_client *client; /* NULL until made */
	int code;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice connect [options] https://HOST[:PORT][/GROUP]\n"
		"\n"
		"An AnyConnect client (for ocserv and Cisco ASA), as openconnect does it: HTTPS\n"
		"auth, CSTP over TLS, DTLS (PSK-NEGOTIATE) over UDP when it works.\n"
		"\n"
		"  -u, --user NAME        login name\n"
		"  --passwd-on-stdin      read the password from standard input (one line)\n"
		"  --servercert pin-sha256:BASE64   accept only this server public key\n"
		"  --cafile FILE          verify the server's chain and name against this CA\n"
		"  -s, --script FILE      vpnc-script for the network set-up (else built-in "
		"netlink)\n"
		"  -i, --interface NAME   TUN device (default slac0)\n"
		"  -U, --setuid USER      run as USER once the tunnel is set up (default nobody;\n"
		"                         root keeps root)\n"
		"  --no-seccomp           no system call filter after the set-up\n"
		"  --no-dtls              CSTP over TLS only\n"
		"  --dtls-ciphers LIST    DTLS modes to offer, ':'-separated (default\n"
		"                         " SL_AC_DTLS_CIPHERS "):\n"
		"                         PSK-NEGOTIATE, or the legacy mode's "
		"OC-DTLS1_2-AES256-GCM\n"
		"                         and OC-DTLS1_2-AES128-GCM (a session the server makes "
		"of\n"
		"                         our secret, for servers without PSK-NEGOTIATE)\n"
		"  --cookieonly           authenticate, print the webvpn cookie, exit\n"
		"  --debug                more log\n"
		"\n"
		"After the set-up it runs as --setuid's user under a seccomp filter, keeping\n"
		"CAP_NET_ADMIN only without --script (the built-in set-up comes with the\n"
		"server's answer); a --script runs as root in a small helper process forked\n"
		"before the drop, which runs only that script with vpnc-script variables.\n"
		"\n"
		"OpenSSL does the DTLS handshake; the engine seals and opens the data records in\n"
		"place (AES-GCM or ChaCha20-Poly1305). Legacy DTLS 0.9 (CBC suites) is not\n"
		"implemented: with it data stays on CSTP.\n");
}

/* https://host[:port][/path] into host, port and path; the address is resolved here. */
static int parse_url(const char *url, struct sl_ac_client_cfg *c)
{
	const char *p = url, *host, *end, *slash;
	char hostbuf[256], port[8] = "443";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	size_t hl;

	if (!strncmp(p, "https://", 8))
		p += 8;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	host = p;
	if (*host == '[') { /* [v6]:port */
		const char *rb = memchr(host, ']', (size_t)(end - host));

		if (!rb)
			return -EINVAL;
		hl = (size_t)(rb - host - 1);
		if (hl >= sizeof(hostbuf))
			return -EINVAL;
		memcpy(hostbuf, host + 1, hl);
		hostbuf[hl] = '\0';
		if (rb + 1 < end && rb[1] == ':')
			snprintf(port, sizeof(port), "%.*s", (int)(end - rb - 2), rb + 2);
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));

		hl = (size_t)((colon ? colon : end) - host);
		if (!hl || hl >= sizeof(hostbuf))
			return -EINVAL;
		memcpy(hostbuf, host, hl);
		hostbuf[hl] = '\0';
		if (colon)
			snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
	}
	snprintf(c->path, sizeof(c->path), "%s", slash ? slash : "/");
	snprintf(c->hostname, sizeof(c->hostname), "%s", hostbuf);
	if (strcmp(port, "443"))
		snprintf(c->host, sizeof(c->host), strchr(hostbuf, ':') ? "[%s]:%s" : "%s:%s",
			 hostbuf, port);
	else
		snprintf(c->host, sizeof(c->host), "%s", hostbuf);
	if (getaddrinfo(hostbuf, port, &hints, &res) != 0 || !res)
		return -ENOENT;
	memcpy(&c->server, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* --dtls-ciphers: only the modes whose records the engine can carry. */
static int check_dtls_ciphers(const char *list)
{
	static const char *const known[] = {"PSK-NEGOTIATE", "OC-DTLS1_2-AES256-GCM",
					    "OC-DTLS1_2-AES128-GCM"};
	char buf[128], *save = NULL;

	if (!list[0] || strlen(list) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= !strcmp(t, known[i]);
		if (!ok) {
			fprintf(stderr,
				"sluice connect: --dtls-ciphers: %s is not one of PSK-NEGOTIATE, "
				"OC-DTLS1_2-AES256-GCM, OC-DTLS1_2-AES128-GCM\n",
				t);
			return -EINVAL;
		}
	}
	return 0;
}

static int read_password(char *out, size_t cap)
{
	if (!fgets(out, (int)cap, stdin))
		return -EIO;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static void on_done(void *arg, int code, const char *reason)
{
	struct connect_run *run = arg;

	run->code = code;
	sl_loop_stop(run->loop);
}

static void on_engine_event(void *arg, const struct sl_event *ev)
{
	struct connect_run *run = arg;

	sl_ac_client_on_event(run->client, ev);
}

static void on_engine_control(void *arg, const uint8_t *pkt, size_t len,
			      const struct sockaddr_storage *from)
{
	struct connect_run *run = arg;

	sl_ac_client_on_udp(run->client, pkt, len);
}

static void on_signal(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		sl_info("%s: disconnecting", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		sl_loop_stop(loop);
	}
}

static int watch_signals(struct sl_loop *loop)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd >= 0 && sl_loop_add_fd(loop, fd, SL_EV_READ, on_signal, NULL) < 0) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/*
 * Before the loop: the script's runner (as root), then the drop. Without a
 * script the client keeps CAP_NET_ADMIN for the built-in set-up, which comes
 * with the server's CONNECT answer, inside the loop.
 */
static int start_runner(struct sl_ac_client_cfg *cfg)
{
	int r;

	if (!cfg->script[0] || cfg->cookie_only)
		return 0;
	r = sl_vpnc_runner_start(&cfg->runner, cfg->script);
	if (r < 0)
		sl_err("--script: cannot start its runner: %s", strerror(-r));
	return r;
}

static int drop_privileges(const struct sl_ac_client_cfg *cfg, const struct connect_priv *pv)
{
	if (cfg->cookie_only)
		return 0; /* no tunnel: it prints the cookie and exits */
	return sl_privdrop_apply(pv->user, cfg->script[0] ? 0 : SL_PRIVDROP_CLIENT_CAPS,
				 pv->seccomp, "--setuid", "--no-seccomp");
}

static int run_client(struct sl_ac_client_cfg *cfg, const char *ifname,
		      const struct connect_priv *pv)
{
	struct connect_run run = {.code = 0};
	struct sl_engine_cfg ec;
	struct sl_engine *engine = NULL;
	struct sl_ac_client_ops ops = {on_done, &run};
	char err[256];
	int sigfd, r;

	run.loop = sl_loop_new(NULL);
	if (!run.loop)
		return 1;
	sigfd = watch_signals(run.loop);
	sl_engine_cfg_init(&ec);
	ec.loop = run.loop;
	ec.ifname = ifname;
	ec.mtu = 1500;
	/* DTLS data records in the engine; the sockets come from the client's handshakes */
	ec.wire = SL_WIRE_DTLS;
	ec.on_event = on_engine_event;
	ec.event_arg = &run;
	ec.on_control = on_engine_control;
	ec.control_arg = &run;
	if (!cfg->cookie_only) {
		r = sl_engine_new(&engine, &ec);
		if (r < 0) {
			sl_err("cannot create TUN device %s: %s", ifname, strerror(-r));
			run.code = 1;
			goto out;
		}
	} else {
		/* no tunnel: an engine over a socketpair stands in for the device */
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
			run.code = 1;
			goto out;
		}
		close(sv[1]);
		ec.tun_fd = sv[0];
		ec.vnet_hdr = false;
		if (sl_engine_new(&engine, &ec) < 0) {
			close(sv[0]);
			run.code = 1;
			goto out;
		}
	}
	if (start_runner(cfg) < 0) {
		run.code = 1;
		goto out;
	}
	r = sl_ac_client_new(&run.client, run.loop, engine, cfg, &ops, err, sizeof(err));
	if (r < 0) {
		run.client = NULL;
		sl_err("%s", err);
		run.code = 1;
		goto out;
	}
	if (drop_privileges(cfg, pv) < 0) {
		run.code = 1;
		goto out;
	}
	if (sl_loop_run(run.loop) < 0)
		run.code = 1;
out:
	sl_ac_client_free(run.client);
	run.client = NULL;
	sl_vpnc_runner_free(cfg->runner);
	cfg->runner = NULL;
	sl_engine_free(engine);
	if (sigfd >= 0)
		close(sigfd);
	sl_loop_free(run.loop);
	return run.code;
}

int cmd_connect(int argc, char **argv)
{
	struct sl_ac_client_cfg cfg;
	struct connect_priv pv = {SL_PRIVDROP_DEFAULT_USER, true};
	const char *url = NULL, *ifname = "slac0";
	bool passwd_stdin = false;

	memset(&cfg, 0, sizeof(cfg));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--passwd-on-stdin")) {
			passwd_stdin = true;
		} else if (!strcmp(a, "--no-seccomp")) {
			pv.seccomp = false;
		} else if (!strcmp(a, "--no-dtls")) {
			cfg.no_dtls = true;
		} else if (!strcmp(a, "--cookieonly")) {
			cfg.cookie_only = true;
		} else if (!strcmp(a, "--debug")) {
			sl_log_set_level(SL_LOG_DEBUG);
		} else if (a[0] == '-' && v) {
			i++;
			if (!strcmp(a, "-u") || !strcmp(a, "--user"))
				snprintf(cfg.user, sizeof(cfg.user), "%s", v);
			else if (!strcmp(a, "--servercert"))
				snprintf(cfg.servercert, sizeof(cfg.servercert), "%s", v);
			else if (!strcmp(a, "-U") || !strcmp(a, "--setuid"))
				pv.user = v;
			else if (!strcmp(a, "--dtls-ciphers")) {
				if (check_dtls_ciphers(v) < 0)
					return 2;
				snprintf(cfg.dtls_ciphers, sizeof(cfg.dtls_ciphers), "%s", v);
			} else if (!strcmp(a, "--cafile"))
				snprintf(cfg.cafile, sizeof(cfg.cafile), "%s", v);
			else if (!strcmp(a, "-s") || !strcmp(a, "--script"))
				snprintf(cfg.script, sizeof(cfg.script), "%s", v);
			else if ((!strcmp(a, "-i") || !strcmp(a, "--interface")) && strlen(v) < 16)
				ifname = v;
			else {
				fprintf(stderr, "sluice connect: unknown option %s\n", a);
				return 2;
			}
		} else if (a[0] != '-' && !url) {
			url = a;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!url) {
		usage(stderr);
		return 2;
	}
	if (parse_url(url, &cfg) < 0) {
		sl_err("cannot resolve or parse %s", url);
		return 1;
	}
	if (passwd_stdin && read_password(cfg.password, sizeof(cfg.password)) < 0) {
		sl_err("--passwd-on-stdin: no password on standard input");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return run_client(&cfg, ifname, &pv);
}
