// SPDX-License-Identifier: MIT
/*
 * sluice openvpn --config FILE.ovpn (and sluice up FILE.ovpn): an OpenVPN
 * 2.6 client on the sluice engine, from a stock OpenVPN configuration
 * (ctl/openvpn/ovpn_config.h lists what is honoured). Foreground; SIGINT or
 * SIGTERM tells the server we leave (explicit-exit-notify) and exits 0.
 */
#include "cli/cmd.h"
#include "cli/privdrop.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/openvpn/client.h"
#include "ctl/openvpn/ovpn_config.h"
#include "ctl/openvpn/server.h"
#include "sluice/engine.h"
#include "sluice/engine_ovpn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* The least-privilege step's settings: a flag wins over the config's user/group. */
struct ovpn_priv {
	const char *user, *group; /* NULL: from the config, else the default user */
	bool seccomp;
	uint32_t workers; /* --workers: data-path threads (docs/workers.md); 0 = one per CPU */
	char user_knob[SL_OVPN_CFG_PATH_MAX + 16];
};

struct ovpn_tunnel {
	struct sl_ovpn_config conf;
	struct ovpn_priv priv;
	struct sl_loop *loop;
	struct sl_engine *engine;
	struct sl_ovpn_client *client;
	struct sl_ovpn_server *server;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice openvpn --config FILE [--ifname NAME] [--user NAME] [--group NAME]\n"
		"                      [--no-seccomp] [--workers N|auto] [--hand-window SECONDS]\n"
		"       sluice up FILE.ovpn\n"
		"\n"
		"Connects to a stock OpenVPN 2.6 server as its client, from an OpenVPN config "
		"file\n"
		"(inline <ca> <cert> <key> <tls-crypt> <tls-auth> blocks work). Honoured: client,\n"
		"dev tun, proto udp|tcp-client, remote (several: tried in turn), port, ca, cert,\n"
		"key, tls-crypt, tls-auth + key-direction, cipher, data-ciphers, auth,\n"
		"auth-user-pass FILE, keepalive, ping, ping-restart, reneg-sec, hand-window,\n"
		"tls-timeout, tun-mtu, compress stub|stub-v2, comp-lzo no, verb. Unknown "
		"directives\n"
		"are warnings (FILE:LINE); known ones sluice cannot do are errors. Data ciphers:\n"
		"AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305.\n"
		"After set-up it runs as --user, else the file's 'user', else nobody (root: stay\n"
		"root), in --group or the file's 'group' (else the user's), under a seccomp "
		"filter\n"
		"unless --no-seccomp. A client keeps CAP_NET_ADMIN (pushed addresses and routes\n"
		"arrive after the drop and again on reconnects), a server keeps nothing. Kept for\n"
		"the whole run, never re-read: the TUN device (persist-tun), the files read at\n"
		"start (persist-key, auth-user-pass) and the remotes' addresses.\n"
		"Server mode ('server NET MASK' in the file, proto udp or tcp-server): topology\n"
		"subnet or net30, ifconfig-pool, push, route, keepalive, reneg-sec, data-ciphers,\n"
		"tls-crypt/tls-auth, hand-window.\n"
		"--hand-window SECONDS overrides the file's hand-window (default 60): the TLS\n"
		"handshake and key exchange must be done within it, counted from the client's\n"
		"echoed cookie (UDP) or the TCP accept; a server closes a connection that is\n"
		"not (ovpn_handshake_timeouts in sluice show), a client tries again.\n"
		"--workers N (sluice's own, default 1; auto = one per CPU, at most 64): data-path\n"
		"threads, each peer's received data handled by worker peer-id %% N (proto udp,\n"
		"AEAD data ciphers only; docs/workers.md).\n");
}

static void on_cfg_msg(void *arg, bool error, const char *line)
{
	if (error)
		sl_err("%s", line);
	else
		sl_warn("%s", line);
}

static void say_goodbye(struct ovpn_tunnel *t)
{
	if (t->client)
		sl_ovpn_client_shutdown(t->client);
	if (t->server)
		sl_ovpn_server_shutdown(t->server);
}

static void on_engine_event(void *arg, const struct sl_event *ev)
{
	struct ovpn_tunnel *t = arg;

	if (ev->type == SL_EVENT_SHUTDOWN) {
		say_goodbye(t);
		sl_loop_stop(t->loop);
		return;
	}
	if (t->client)
		sl_ovpn_client_on_event(t->client, ev);
	if (t->server)
		sl_ovpn_server_on_event(t->server, ev);
}

static void on_control(void *arg, const uint8_t *pkt, size_t len,
		       const struct sockaddr_storage *from)
{
	struct ovpn_tunnel *t = arg;

	if (t->client)
		sl_ovpn_client_on_control(t->client, pkt, len, from);
	if (t->server)
		sl_ovpn_server_on_control(t->server, pkt, len, from);
}

static void on_signal(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct ovpn_tunnel *t = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	sl_info("openvpn: %s, telling the server we leave",
		si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	if (t->client)
		sl_ovpn_client_shutdown(t->client);
	sl_loop_stop(loop);
}

static int watch_signals(struct ovpn_tunnel *t)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (t->sigfd < 0)
		return -errno;
	return sl_loop_add_fd(t->loop, t->sigfd, SL_EV_READ, on_signal, t);
}

/* A server's socket address: local ADDR (or any) and lport (or port). */
static int server_listen(const struct sl_ovpn_config *c, struct sockaddr_storage *ss)
{
	uint16_t port = c->lport ? c->lport : c->port;

	memset(ss, 0, sizeof(*ss));
	if (c->family == AF_INET6 || strchr(c->local, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (c->local[0] && inet_pton(AF_INET6, c->local, &a->sin6_addr) != 1)
			goto bad;
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	if (c->local[0] && inet_pton(AF_INET, c->local, &a->sin_addr) != 1)
		goto bad;
	return 0;
bad:
	sl_err("local '%s': sluice needs a numeric address", c->local);
	return -EINVAL;
}

/* The UDP socket's family: the first remote's, unless proto says udp4/udp6. */
static int udp_family(const struct sl_ovpn_config *c)
{
	if (c->family)
		return c->family;
	return c->n_remotes && strchr(c->remotes[0].host, ':') ? AF_INET6 : AF_INET;
}

static int start_workers(void *arg)
{
	int r = sl_engine_start_workers(arg);

	if (r < 0)
		sl_err("cannot start the data-path workers: %s", strerror(-r));
	return r;
}

/* --workers auto (0): one per online CPU, at most 64. */
static uint32_t resolve_workers(uint32_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (n)
		return n;
	return cpus < 1 ? 1 : cpus > 64 ? 64 : (uint32_t)cpus;
}

/*
 * Least privilege once the TUN device, the sockets, the TLS context and every
 * file the config names are in hand (cli/privdrop.h). A server's address and
 * routes were set in sl_ovpn_server_new and never change: it keeps nothing.
 * A client applies the pushed ifconfig and routes when PUSH_REPLY arrives,
 * after the drop and again on each reconnect: it keeps CAP_NET_ADMIN. The
 * filter allows no resolver (NSS modules, poll on DNS sockets), so a client
 * resolves its remotes once, here.
 */
static int drop_privileges(struct ovpn_tunnel *t)
{
	const struct ovpn_priv *p = &t->priv;
	const char *user = p->user	     ? p->user
			   : t->conf.user[0] ? t->conf.user
					     : SL_PRIVDROP_DEFAULT_USER;
	const char *group = p->group ? p->group : t->conf.group;
	uint64_t keep = t->client ? SL_PRIVDROP_CLIENT_CAPS : 0;
	int r;

	/* Even as root the filter forbids the resolver; only root without it may look up again. */
	if (t->client && (!sl_privdrop_keeps_root(user) || p->seccomp))
		sl_ovpn_client_pin_remotes(t->client);
	/* The engine's data-path threads start between the drop and the filter: they inherit the
	 * dropped identity and capabilities, and the filter covers them (TSYNC). */
	r = sl_privdrop_apply_with(user, group, keep, p->seccomp,
				   p->user ? "--user" : t->priv.user_knob, "--no-seccomp",
				   start_workers, t->engine);
	if (r < 0)
		return r == -EPERM ? r : -EPERM;
	if (!sl_privdrop_keeps_root(user))
		sl_info("openvpn: running as %s%s%s, %s; the TUN device, keys and files read at "
			"start are kept for the whole run (never re-read)",
			user, group && group[0] ? ":" : "", group ? group : "",
			keep ? "keeping only CAP_NET_ADMIN (pushed addresses and routes)"
			     : "no capabilities");
	return 0;
}

static int run(struct ovpn_tunnel *t, const char *ifname)
{
	struct sl_engine_cfg ec;
	char err[512], ctl[256];
	struct sockaddr_storage tcp_listen;
	int r;

	t->loop = sl_loop_new(NULL);
	if (!t->loop) {
		sl_err("cannot make the event loop: %s", strerror(errno));
		return 1;
	}
	if ((r = watch_signals(t)) < 0) {
		sl_err("cannot watch signals: %s", strerror(-r));
		return 1;
	}
	sl_engine_cfg_init(&ec);
	ec.loop = t->loop;
	ec.ifname = ifname ? ifname : !strcmp(t->conf.dev, "tun") ? "tun%d" : t->conf.dev;
	ec.mtu = (uint32_t)t->conf.tun_mtu;
	ec.wire = SL_WIRE_OPENVPN;
	ec.workers = resolve_workers(t->priv.workers);
	/* Over TCP every data packet comes and goes on the control thread's stream. */
	if (ec.workers > 1 && t->conf.proto == SL_OVPN_TCP) {
		sl_err("--workers %u: only with proto udp (TCP data runs on one thread)",
		       ec.workers);
		return 1;
	}
	ec.on_control = on_control;
	ec.control_arg = t;
	ec.on_event = on_engine_event;
	ec.event_arg = t;
	if (t->conf.server) {
		r = server_listen(&t->conf, &tcp_listen);
		if (r < 0)
			return 1;
		if (t->conf.proto == SL_OVPN_UDP)
			ec.listen[0] = tcp_listen; /* the engine's UDP socket takes the clients */
	} else {
		ec.listen[0].ss_family = (sa_family_t)udp_family(&t->conf);
	}
	/* A control socket (sluice show / down) when the device name is known up front. */
	if (!strchr(ec.ifname, '%')) {
		snprintf(ctl, sizeof(ctl), "%s/%s.sock", SL_CTL_DIR, ec.ifname);
		if (mkdir(SL_CTL_DIR, 0700) < 0 && errno != EEXIST)
			sl_warn("cannot create %s: %s (no control socket)", SL_CTL_DIR,
				strerror(errno));
		else
			ec.ctl_path = ctl;
	}
	r = sl_engine_new(&t->engine, &ec);
	if (r < 0) {
		sl_err("cannot start the engine (TUN device %s, UDP socket): %s%s", ec.ifname,
		       strerror(-r), r == -EPERM ? " (run as root)" : "");
		return 1;
	}
	sl_info("openvpn: TUN device %s", sl_engine_ifname(t->engine));
	if (ec.workers > 1)
		sl_info("openvpn: %u data-path workers (peer-id steering)", ec.workers);
	if (t->conf.server)
		r = sl_ovpn_server_new(&t->server, t->loop, t->engine, &t->conf,
				       t->conf.proto == SL_OVPN_TCP ? &tcp_listen : NULL, err,
				       sizeof(err));
	else
		r = sl_ovpn_client_new(&t->client, t->loop, t->engine, &t->conf, err, sizeof(err));
	if (r < 0) {
		sl_err("%s", err);
		return 1;
	}
	if (t->server)
		sl_info("openvpn: server listening on %s port %u",
			t->conf.proto == SL_OVPN_TCP ? "TCP" : "UDP",
			t->conf.lport ? t->conf.lport : t->conf.port);
	if (drop_privileges(t) < 0)
		return 1;
	r = sl_loop_run(t->loop);
	if (r < 0) {
		sl_err("event loop failed: %s", strerror(-r));
		return 1;
	}
	return t->client && sl_ovpn_client_failed(t->client) ? 1 : 0;
}

static enum sl_log_level level_of_verb(int verb)
{
	return verb >= 5 ? SL_LOG_DEBUG : verb >= 1 ? SL_LOG_INFO : SL_LOG_WARN;
}

static int cmd_openvpn_run(const char *path, const char *ifname, const struct ovpn_priv *priv,
			   int hand_window);

/* sluice up FILE.ovpn: the defaults (the config's user/group, else nobody; seccomp on). */
int cmd_openvpn_file(const char *path, const char *ifname)
{
	struct ovpn_priv priv = {.seccomp = true, .workers = 1};

	return cmd_openvpn_run(path, ifname, &priv, -1);
}

/* hand_window: --hand-window (seconds), or -1 for the file's. */
static int cmd_openvpn_run(const char *path, const char *ifname, const struct ovpn_priv *priv,
			   int hand_window)
{
	struct ovpn_tunnel t = {.sigfd = -1, .priv = *priv};
	int code;

	snprintf(t.priv.user_knob, sizeof(t.priv.user_knob), "%s: user", path);
	sl_ovpn_config_init(&t.conf);
	if (sl_ovpn_config_load(&t.conf, path, on_cfg_msg, NULL) < 0) {
		sl_ovpn_config_free(&t.conf);
		return 1;
	}
	if (hand_window >= 0)
		t.conf.hand_window = hand_window;
	sl_log_set_level(level_of_verb(t.conf.verb));
	signal(SIGPIPE, SIG_IGN);
	code = run(&t, ifname);
	sl_ovpn_client_free(t.client);
	sl_ovpn_server_free(t.server);
	sl_engine_free(t.engine);
	if (t.sigfd >= 0)
		close(t.sigfd);
	if (t.loop)
		sl_loop_free(t.loop);
	sl_ovpn_config_free(&t.conf);
	return code;
}

static int parse_workers(const char *v, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (!strcmp(v, "auto")) {
		*out = 0;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < 1 || n > 64)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

int cmd_openvpn(int argc, char **argv)
{
	const char *path = NULL, *ifname = NULL;
	struct ovpn_priv priv = {.seccomp = true, .workers = 1};
	int hand_window = -1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--ifname") && i + 1 < argc) {
			ifname = argv[++i];
		} else if (!strcmp(argv[i], "--user") && i + 1 < argc && strlen(argv[i + 1]) < 64) {
			priv.user = argv[++i];
		} else if (!strcmp(argv[i], "--group") && i + 1 < argc &&
			   strlen(argv[i + 1]) < 64) {
			priv.group = argv[++i];
		} else if (!strcmp(argv[i], "--no-seccomp")) {
			priv.seccomp = false;
		} else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
			if (parse_workers(argv[++i], &priv.workers) < 0) {
				fprintf(stderr, "--workers %s: a number 1..64 or auto\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--hand-window") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end || end == argv[i] || v < 1 || v > 86400 * 7) {
				fprintf(stderr,
					"sluice openvpn: --hand-window '%s': want seconds, 1 to "
					"604800\n",
					argv[i]);
				return 2;
			}
			hand_window = (int)v;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	return cmd_openvpn_run(path, ifname, &priv, hand_window);
}
