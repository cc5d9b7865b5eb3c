// SPDX-License-Identifier: MIT
/*
 * sluice serve ppp ...: the far end of openconnect --protocol=nullppp (PPP
 * over TLS); sluice serve anyconnect CONFIG: an AnyConnect server for stock
 * openconnect clients. Both in the foreground until SIGINT/SIGTERM: loop,
 * engine (TUN, no UDP), the server on top.
 */
#include "cli/cmd.h"
#include "cli/privdrop.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/anyconnect/server.h"
#include "ctl/anyconnect/server_config.h"
#include "ctl/native/addrpool.h"
#include "ctl/ppp/server.h"
#include "dco/uapi.h"
#include "io/tun.h"
#include "sluice/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct serve_opts {
	struct sl_ppp_server_cfg ppp;
	const char *ifname;
	const char *user; /* after set-up; "root": stay root */
	bool seccomp;
	uint32_t mtu;
	int log_level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice serve ppp --listen ADDR:PORT --cert FILE --key FILE\n"
		"                        --local IPV4 --remote IPV4 [--dns IPV4]...\n"
		"                        [--ifname NAME] [--mtu N] [--no-ipv6] [--ipv6-prefix "
		"P/64]\n"
		"                        [--echo SECONDS]\n"
		"                        [--user NAME] [--no-seccomp] [--debug]\n"
		"\n"
		"PPP over TLS: what 'openconnect --protocol=nullppp' connects to. The client's\n"
		"first byte picks the framing (RFC 1662 HDLC for '--cookie hdlc', else RFC 1661).\n"
		"The client gets --remote; this end is --local on the TUN device (default\n"
		"slppp0). One client at a time. IP packets ride the TLS connection through the\n"
		"engine's stream path, IPv4 and IPv6. IPV6CP gives the client a link-local\n"
		"fe80:: address; with --ipv6-prefix this end is P::1 and answers the client's\n"
		"Router Solicitations with P/64, from which it configures a global address.\n"
		"After set-up it runs as --user (default nobody; root: stay root) with no\n"
		"capabilities, under a seccomp filter unless --no-seccomp.\n"
		"\n"
		"\n"
		"Usage: sluice serve anyconnect CONFIG [--user NAME] [--group NAME] "
		"[--no-seccomp]\n"
		"                                      [--debug]\n"
		"\n"
		"An AnyConnect server for stock openconnect clients: password login from an\n"
		"ocpasswd file, an address pool, pushed DNS and routes, CSTP over TLS with DPD,\n"
		"and with udp-port DTLS 1.2 (PSK-NEGOTIATE), falling back to CSTP when UDP is\n"
		"silent. CONFIG has ocserv-like 'key = value' lines: listen, server-cert,\n"
		"server-key, auth = plain[passwd=FILE], ipv4-network, dns, route, dpd, keepalive,\n"
		"mtu, max-clients, device, run-as-user, run-as-group, udp-port, dtls-datapath\n"
		"(engine: the engine seals DTLS records in place, the default; or openssl);\n"
		"auth = certificate with ca-cert.\n"
		"After set-up it runs as --user, else run-as-user, else nobody (root: stay root),\n"
		"in --group or run-as-group (else the user's), with no capabilities, under a\n"
		"seccomp filter unless --no-seccomp. The password file is opened before that and\n"
		"read through that fd at every login (edits in place count; a file renamed over\n"
		"it, as ocpasswd does, counts only if that user can read it, else an error says\n"
		"so). Not yet: legacy DTLS (clients that offer no PSK-NEGOTIATE stay on CSTP).\n");
}

static int parse_ip4(const char *s, uint8_t out[4])
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* A /64 (what SLAAC needs: RFC 4862 5.5.3), host bits zero. */
static int parse_prefix64(const char *s, uint8_t out[16])
{
	char a[INET6_ADDRSTRLEN + 4];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : 0;
	static const uint8_t zero[8];

	if (!slash || n >= INET6_ADDRSTRLEN || strcmp(slash, "/64"))
		return -EINVAL;
	memcpy(a, s, n);
	a[n] = 0;
	if (inet_pton(AF_INET6, a, out) != 1 || memcmp(out + 8, zero, 8) || out[0] == 0xfe ||
	    out[0] == 0xff)
		return -EINVAL;
	return 0;
}

static int parse_args(int argc, char **argv, struct serve_opts *o)
{
	int ndns = 0;
	bool have_listen = false, have_local = false, have_remote = false;

	memset(o, 0, sizeof(*o));
	o->ifname = "slppp0";
	o->user = SL_PRIVDROP_DEFAULT_USER;
	o->seccomp = true;
	o->mtu = 1400;
	o->ppp.ipv6 = true;
	o->ppp.echo_interval_s = 10;
	o->log_level = SL_LOG_INFO;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-seccomp")) {
			o->seccomp = false;
			continue;
		}
		if (!strcmp(a, "--no-ipv6")) {
			o->ppp.ipv6 = false;
			continue;
		}
		if (!strcmp(a, "--debug")) {
			o->log_level = SL_LOG_DEBUG;
			continue;
		}
		if (!v) {
			fprintf(stderr, "sluice serve: %s needs a value\n", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--listen") && sl_parse_endpoint(v, &o->ppp.listen) == 0)
			have_listen = true;
		else if (!strcmp(a, "--cert"))
			o->ppp.cert = v;
		else if (!strcmp(a, "--user") && v && strlen(v) < 64)
			o->user = v;
		else if (!strcmp(a, "--key"))
			o->ppp.key = v;
		else if (!strcmp(a, "--local") && parse_ip4(v, o->ppp.local_ip4) == 0)
			have_local = true;
		else if (!strcmp(a, "--remote") && parse_ip4(v, o->ppp.peer_ip4) == 0)
			have_remote = true;
		else if (!strcmp(a, "--ipv6-prefix") && parse_prefix64(v, o->ppp.prefix6) == 0)
			o->ppp.have_prefix6 = true;
		else if (!strcmp(a, "--ipv6-prefix")) {
			fprintf(stderr,
				"sluice serve: --ipv6-prefix wants a global P/64 with zero host "
				"bits (SLAAC needs 64), not %s\n",
				v);
			return -EINVAL;
		} else if (!strcmp(a, "--dns") && ndns < 2 && parse_ip4(v, o->ppp.dns[ndns]) == 0)
			ndns++;
		else if (!strcmp(a, "--ifname") && strlen(v) < 16)
			o->ifname = v;
		else if (!strcmp(a, "--mtu") && atoi(v) >= 576 && atoi(v) <= 1500)
			o->mtu = (uint32_t)atoi(v);
		else if (!strcmp(a, "--echo") && atoi(v) >= 0)
			o->ppp.echo_interval_s = (uint32_t)atoi(v);
		else {
			fprintf(stderr, "sluice serve: bad option or value: %s %s\n", a, v);
			return -EINVAL;
		}
	}
	if (!have_listen || !o->ppp.cert || !o->ppp.key || !have_local || !have_remote) {
		fprintf(stderr, "sluice serve ppp: --listen, --cert, --key, --local and --remote "
				"are required\n");
		return -EINVAL;
	}
	if (o->ppp.have_prefix6 && !o->ppp.ipv6) {
		fprintf(stderr, "sluice serve ppp: --ipv6-prefix and --no-ipv6 contradict\n");
		return -EINVAL;
	}
	o->ppp.mtu = o->mtu;
	/* ours for the life of the process: the TUN's link-local address is set once, as root */
	for (int i = 0; i < 4 && !memcmp(o->ppp.local_ifid, (uint8_t[8]){0}, 8); i++)
		if (getrandom(o->ppp.local_ifid, 8, 0) != 8)
			memset(o->ppp.local_ifid, 0x11, 8);
	o->ppp.local_ifid[0] &= ~0x02; /* not from an IEEE identifier (RFC 4291 2.5.1) */
	return 0;
}

static void on_signal(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		sl_info("%s: stopping", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
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
	if (fd < 0)
		return -errno;
	if (sl_loop_add_fd(loop, fd, SL_EV_READ, on_signal, NULL) < 0) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* fe80::local_ifid/64, and P::1/64 with --ipv6-prefix (each also routes its /64 to the TUN). */
static int setup_link6(const struct serve_opts *o, const char *ifname)
{
	uint8_t a[16] = {0xfe, 0x80};
	int r;

	memcpy(a + 8, o->ppp.local_ifid, 8);
	r = sl_link_addr_add(ifname, AF_INET6, a, 64);
	if ((r == 0 || r == -EEXIST) && o->ppp.have_prefix6) {
		memcpy(a, o->ppp.prefix6, 16);
		a[15] = 1;
		r = sl_link_addr_add(ifname, AF_INET6, a, 64);
	}
	return r;
}

static int setup_link(const struct serve_opts *o, const char *ifname)
{
	int r = sl_link_addr_add(ifname, AF_INET, o->ppp.local_ip4, 32);

	if (r == 0 || r == -EEXIST)
		r = sl_link_set_up(ifname, o->mtu);
	if (r == 0 || r == -EEXIST)
		r = sl_link_route_add(ifname, AF_INET, o->ppp.peer_ip4, 32);
	if ((r == 0 || r == -EEXIST) && o->ppp.ipv6)
		r = setup_link6(o, ifname);
	if (r < 0 && r != -EEXIST) {
		sl_err("%s: cannot set addresses, route or MTU: %s", ifname, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * Least privilege once the TUN is configured, the port bound and the
 * certificate and key read: the PPP server keeps no capability. Its address
 * and peer route are set once (setup_link) and never change; one client at a
 * time reuses them, and closing the TUN at exit needs nothing.
 */
static int drop_privileges(const struct serve_opts *o)
{
	return sl_privdrop_apply(o->user, 0, o->seccomp, "--user", "--no-seccomp");
}

static int serve_ppp(const struct serve_opts *o)
{
	struct sl_engine_cfg ec;
	struct sl_engine *engine = NULL;
	struct sl_ppp_server *srv = NULL;
	struct sl_loop *loop = sl_loop_new(NULL);
	char err[256], listen[64];
	int sigfd = -1, code = 1, r;

	if (!loop) {
		sl_err("cannot create the event loop: %s", strerror(errno));
		return 1;
	}
	sigfd = watch_signals(loop);
	if (sigfd < 0) {
		sl_err("cannot watch signals");
		goto out;
	}
	sl_engine_cfg_init(&ec);
	ec.loop = loop;
	ec.ifname = o->ifname;
	ec.mtu = 1500; /* what we accept from the peer; the TUN MTU bounds what we send */
	r = sl_engine_new(&engine, &ec);
	if (r < 0) {
		engine = NULL;
		sl_err("cannot start the engine (TUN %s): %s", o->ifname, strerror(-r));
		goto out;
	}
	if (setup_link(o, sl_engine_ifname(engine)) < 0)
		goto out;
	r = sl_ppp_server_new(&srv, loop, engine, &o->ppp, err, sizeof(err));
	if (r < 0) {
		srv = NULL;
		sl_err("%s", err);
		goto out;
	}
	if (drop_privileges(o) < 0)
		goto out;
	sl_format_endpoint(&o->ppp.listen, listen, sizeof(listen));
	sl_info("%s up, PPP over TLS on %s", sl_engine_ifname(engine), listen);
	r = sl_loop_run(loop);
	code = r < 0 ? 1 : 0;
out:
	sl_ppp_server_free(srv);
	sl_engine_free(engine);
	if (sigfd >= 0)
		close(sigfd);
	sl_loop_free(loop);
	return code;
}

static int load_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *b = malloc(1 << 16);
	size_t n = 0;

	if (!f || !b) {
		if (f)
			fclose(f);
		free(b);
		return -ENOENT;
	}
	n = fread(b, 1, (1 << 16) - 1, f);
	fclose(f);
	b[n] = '\0';
	*text = b;
	*len = n;
	return 0;
}

/* Least-privilege settings of serve anyconnect: a flag wins over the config file. */
struct acs_priv {
	const char *user, *group; /* NULL: from the config (run-as-user/-group), else nobody */
	bool seccomp;
};

/*
 * The AnyConnect server keeps no capability: its address is set once before
 * this, clients' addresses are engine peers (no rtnetlink), the TLS context
 * holds the certificate, key and CA, and the password file stays open
 * (ctl/anyconnect/passwd_file.h).
 */
static int acs_drop_privileges(const struct acs_priv *p, const struct sl_acs_config *cfg,
			       const char *path)
{
	const char *user = p->user		 ? p->user
			   : cfg->run_as_user[0] ? cfg->run_as_user
						 : SL_PRIVDROP_DEFAULT_USER;
	const char *group = p->group ? p->group : cfg->run_as_group;
	char knob[SL_ACS_PATH_MAX + 16];
	int r;

	snprintf(knob, sizeof(knob), "%s: run-as-user =", path);
	r = sl_privdrop_apply_group(user, group, 0, p->seccomp, p->user ? "--user" : knob,
				    "--no-seccomp");
	if (r == 0 && !sl_privdrop_keeps_root(user))
		sl_info("anyconnect server: running as %s%s%s with no capabilities", user,
			group && group[0] ? ":" : "", group ? group : "");
	return r;
}

/* The engine's SL_WIRE_DTLS socket and events, for the server (NULL until it exists). */
static void acs_on_control(void *arg, const uint8_t *pkt, size_t len,
			   const struct sockaddr_storage *from)
{
	sl_acs_control_input(*(struct sl_acs **)arg, pkt, len, from);
}

static void acs_on_event(void *arg, const struct sl_event *ev)
{
	sl_acs_event(*(struct sl_acs **)arg, ev);
}

static int serve_anyconnect(const char *path, const struct acs_priv *priv)
{
	struct sl_acs_config cfg;
	struct sl_engine_cfg ec;
	struct sl_engine *engine = NULL;
	struct sl_acs *srv = NULL;
	struct sl_loop *loop = NULL;
	struct sl_addrpool pool;
	char err[512], dir[SL_ACS_PATH_MAX], *text = NULL, *slash, listen[64];
	uint8_t gw[16];
	size_t len;
	int sigfd = -1, code = 1, r;

	if (load_file(path, &text, &len) < 0) {
		sl_err("cannot read %s", path);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	r = sl_acs_config_parse(&cfg, text, len, path, dir, err, sizeof(err));
	free(text);
	if (r < 0) {
		sl_err("%s", err);
		return 1;
	}
	loop = sl_loop_new(NULL);
	if (!loop || (sigfd = watch_signals(loop)) < 0)
		goto out;
	sl_engine_cfg_init(&ec);
	ec.loop = loop;
	ec.ifname = cfg.device;
	ec.mtu = 1500;
	if (cfg.udp_port && cfg.dtls_engine) {
		ec.wire = SL_WIRE_DTLS;
		ec.listen[0] = cfg.listen;
		if (cfg.listen.ss_family == AF_INET)
			((struct sockaddr_in *)&ec.listen[0])->sin_port = htons(cfg.udp_port);
		else
			((struct sockaddr_in6 *)&ec.listen[0])->sin6_port = htons(cfg.udp_port);
		ec.on_control = acs_on_control;
		ec.control_arg = &srv;
		ec.on_event = acs_on_event;
		ec.event_arg = &srv;
	}
	r = sl_engine_new(&engine, &ec);
	if (r < 0) {
		engine = NULL;
		sl_err("cannot start the engine (TUN %s): %s", cfg.device, strerror(-r));
		goto out;
	}
	if (sl_addrpool_init(&pool, &cfg.pool4) < 0) {
		sl_err("%s: ipv4-network has no room for clients", path);
		goto out;
	}
	sl_addrpool_gateway(&pool, gw);
	sl_addrpool_free(&pool);
	r = sl_link_addr_add(sl_engine_ifname(engine), AF_INET, gw, cfg.pool4.len);
	if (r == 0 || r == -EEXIST)
		r = sl_link_set_up(sl_engine_ifname(engine), cfg.mtu);
	if (r < 0 && r != -EEXIST) {
		sl_err("%s: cannot set its address or MTU: %s", cfg.device, strerror(-r));
		goto out;
	}
	r = sl_acs_new(&srv, loop, engine, &cfg, err, sizeof(err));
	if (r < 0) {
		srv = NULL;
		sl_err("%s", err);
		goto out;
	}
	if (acs_drop_privileges(priv, &cfg, path) < 0)
		goto out;
	sl_format_endpoint(&cfg.listen, listen, sizeof(listen));
	if (cfg.udp_port)
		sl_info("%s up, AnyConnect (CSTP over TLS) on %s, DTLS on UDP port %u, its records "
			"through %s",
			sl_engine_ifname(engine), listen, cfg.udp_port,
			cfg.dtls_engine ? "the engine's datapath" : "OpenSSL in the control plane");
	else
		sl_info("%s up, AnyConnect (CSTP over TLS) on %s; no udp-port: DTLS not offered",
			sl_engine_ifname(engine), listen);
	code = sl_loop_run(loop) < 0 ? 1 : 0;
out:
	sl_acs_free(srv);
	sl_engine_free(engine);
	if (sigfd >= 0)
		close(sigfd);
	sl_loop_free(loop);
	return code;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "anyconnect")) {
		if (argc < 3 || argv[2][0] == '-') {
			usage(stderr);
			return 2;
		}
		struct acs_priv priv = {.seccomp = true};

		for (int i = 3; i < argc; i++) {
			const char *v = i + 1 < argc ? argv[i + 1] : NULL;

			if (!strcmp(argv[i], "--debug")) {
				sl_log_set_level(SL_LOG_DEBUG);
			} else if (!strcmp(argv[i], "--no-seccomp")) {
				priv.seccomp = false;
			} else if (!strcmp(argv[i], "--user") && v && strlen(v) < 64) {
				priv.user = v;
				i++;
			} else if (!strcmp(argv[i], "--group") && v && strlen(v) < 64) {
				priv.group = v;
				i++;
			} else {
				fprintf(stderr, "sluice serve anyconnect: bad option: %s\n",
					argv[i]);
				return 2;
			}
		}
		signal(SIGPIPE, SIG_IGN);
		return serve_anyconnect(argv[2], &priv);
	}
	if (strcmp(argv[1], "ppp")) {
		usage(stderr);
		return 2;
	}
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	sl_log_set_level((enum sl_log_level)o.log_level);
	signal(SIGPIPE, SIG_IGN);
	return serve_ppp(&o);
}
