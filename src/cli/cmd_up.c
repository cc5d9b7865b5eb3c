// SPDX-License-Identifier: MIT
/*
 * sluice up CONFIG: run a tunnel in the foreground. Loop, engine (TUN
 * device, UDP sockets, control socket), then the native control plane on
 * top; SIGINT/SIGTERM or "sluice down" say BYE to every peer and exit 0.
 */
#include "cli/cmd.h"
#include "cli/config.h"
#include "cli/ctl_client.h"
#include "cli/privdrop.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/native/addrpool.h"
#include "ctl/native/frame.h"
#include "ctl/native/native.h"
#include "dco/uapi.h"
#include "io/tun.h"
#include "sluice/engine.h"

#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct tunnel {
	struct sl_config cfg;
	struct sl_loop *loop;
	struct sl_engine *engine;
	struct sl_native *native;
	int sigfd;
	bool stopping;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice up [--foreground] CONFIG\n"
		"\n"
		"Runs the tunnel described by CONFIG in the foreground (the only mode) until\n"
		"SIGINT, SIGTERM or 'sluice down IFNAME'. Starts as root (TUN device, addresses),\n"
		"then runs as User under a seccomp filter.\n"
		"\n"
		"CONFIG is an INI file (see examples/server.conf and examples/client.conf):\n"
		"  [Interface]  Mode = server|client, Name = sl0, MTU = 1400,\n"
		"               CA / Certificate / PrivateKey = PEM files (sluice pki makes "
		"them),\n"
		"               Cipher = aes-256-gcm|aes-128-gcm|chacha20-poly1305,\n"
		"               Keepalive = 1, DeadAfter = 3 (seconds; then data goes over TLS),\n"
		"               RekeySeconds = 120, RekeyPackets, ReplayWindow, ControlSocket,\n"
		"               LogLevel = error|warn|info|debug,\n"
		"               User = nobody (after set-up; root: stay root), Seccomp = yes|no,\n"
		"               Offload = yes|no (TUN super-packets and UDP GSO/GRO)\n"
		"               IoBackend = epoll|io_uring (io_uring: one system call for a\n"
		"               receive round's TUN writes; falls back to write() with a warning)\n"
		"  [Server]     Listen = ADDR:PORT (TLS over TCP and ESP over UDP, same port;\n"
		"               repeatable), Pool4 / Pool6 = inner address pools (the server\n"
		"               takes the first host), Route = pushed prefix (repeatable),\n"
		"               MaxClients = 1024, MaxPending = 64 (half-open TLS beyond\n"
		"               MaxClients), MaxPendingPerSource = 8 (per IPv4 address or\n"
		"               IPv6 /64), HandshakeTimeout = 10 (seconds for TLS + HELLO)\n"
		"  [Client]     Server = ADDR:PORT\n");
}

static const char *shutdown_reason(const struct tunnel *t)
{
	return t->cfg.mode == SL_MODE_SERVER ? "server shutting down" : "client shutting down";
}

static void stop(struct tunnel *t, const char *why)
{
	if (t->stopping)
		return;
	t->stopping = true;
	sl_info("%s: %s, saying goodbye", t->cfg.name, why);
	if (t->native)
		sl_native_shutdown(t->native, shutdown_reason(t));
	sl_loop_stop(t->loop);
}

static void on_engine_event(void *arg, const struct sl_event *ev)
{
	struct tunnel *t = arg;

	if (ev->type == SL_EVENT_SHUTDOWN) {
		stop(t, "down requested on the control socket");
		return;
	}
	if (t->native)
		sl_native_on_event(t->native, ev);
}

static void on_signal(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct tunnel *t = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	stop(t, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
}

static int watch_signals(struct tunnel *t)
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

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* The control socket's directory, owner-only (the socket itself is made 0600 by the engine). */
static int make_ctl_dir(const char *path)
{
	char dir[SL_CONFIG_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) < 0 && errno != EEXIST) {
		sl_err("cannot create %s for the control socket: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Workers = auto (0): one per online CPU, at most 64. */
static uint32_t resolve_workers(uint32_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (n)
		return n;
	return cpus < 1 ? 1 : cpus > 64 ? 64 : (uint32_t)cpus;
}

static void fill_engine_cfg(struct tunnel *t, struct sl_engine_cfg *ec)
{
	const struct sl_config *c = &t->cfg;

	sl_engine_cfg_init(ec);
	ec->loop = t->loop;
	ec->ifname = c->name;
	ec->mtu = c->mtu;
	ec->offload = c->offload;
	ec->tun_uring = c->tun_uring;
	ec->workers = resolve_workers(c->workers);
	ec->ctl_path = c->control_socket[0] ? c->control_socket : NULL;
	ec->on_event = on_engine_event;
	ec->event_arg = t;
	if (c->mode == SL_MODE_SERVER) {
		for (uint32_t i = 0; i < c->n_listen && i < 2; i++)
			ec->listen[i] = c->listen[i];
		return;
	}
	/* A client's UDP socket: any port, the server's family. */
	ec->listen[0].ss_family = c->server.ss_family;
}

/* Does something answer on the Unix socket at path (another tunnel of the same name)? */
static bool ctl_socket_live(const char *path)
{
	int fd = path[0] ? ctl_connect(path) : -ENOENT;

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static void report_engine_error(const struct tunnel *t, int r)
{
	const struct sl_config *c = &t->cfg;

	if (r == -EADDRINUSE && ctl_socket_live(c->control_socket)) {
		sl_err("control socket %s is in use: is a tunnel named %s running already?",
		       c->control_socket, c->name);
		return;
	}
	switch (r) {
	case -ENOENT:
		sl_err("no /dev/net/tun: load the tun module or run where it exists");
		break;
	case -EPERM:
	case -EACCES:
		sl_err("creating the TUN device needs CAP_NET_ADMIN (run as root)");
		break;
	case -EADDRNOTAVAIL:
		sl_err("cannot bind UDP to the Listen address: no interface here has that address");
		break;
	case -EBUSY:
		sl_err("TUN device %s is in use by another process", c->name);
		break;
	case -EADDRINUSE:
		if (c->n_listen == 2 && port_of(&c->listen[0]) != port_of(&c->listen[1]))
			sl_err("UDP port %u or %u is in use", port_of(&c->listen[0]),
			       port_of(&c->listen[1]));
		else
			sl_err("UDP port %u is in use", port_of(&c->listen[0]));
		break;
	default:
		sl_err("cannot start the engine: %s", strerror(-r));
		break;
	}
}

/* The server's own inner address in each pool, on its TUN device. */
static int add_gateway(const char *ifname, const struct sl_prefix *pool, char *out, size_t len)
{
	struct sl_addrpool p;
	struct sl_prefix gw;
	int r = sl_addrpool_init(&p, pool);

	if (r < 0) {
		sl_err("pool %s: no room for clients", pool->family == AF_INET ? "Pool4" : "Pool6");
		return r;
	}
	gw = *pool;
	sl_addrpool_gateway(&p, gw.addr);
	sl_addrpool_free(&p);
	r = sl_link_addr_add(ifname, gw.family, gw.addr, gw.len);
	sl_nprefix_format(&gw, out, len);
	if (r < 0 && r != -EEXIST) {
		sl_err("%s: cannot add address %s: %s", ifname, out, strerror(-r));
		return r;
	}
	return 0;
}

/* The server's side of the interface; what it did goes into up_line for the log. */
static int setup_server_link(struct tunnel *t, char *up_line, size_t len)
{
	const struct sl_config *c = &t->cfg;
	const char *ifname = sl_engine_ifname(t->engine);
	char a4[64] = "", a6[64] = "", listen[64];
	int r;

	if ((c->has_pool4 && (r = add_gateway(ifname, &c->pool4, a4, sizeof(a4))) < 0) ||
	    (c->has_pool6 && (r = add_gateway(ifname, &c->pool6, a6, sizeof(a6))) < 0))
		return r;
	r = sl_link_set_up(ifname, c->mtu);
	if (r < 0) {
		sl_err("%s: cannot set it up with MTU %u: %s", ifname, c->mtu, strerror(-r));
		return r;
	}
	sl_format_endpoint(&c->listen[0], listen, sizeof(listen));
	snprintf(up_line, len, "%s up, listening on %s%s, inner %s%s%s", ifname, listen,
		 c->n_listen > 1 ? " and more" : "", a4, a4[0] && a6[0] ? " " : "", a6);
	return 0;
}

/*
 * Least privilege from here on (cli/privdrop.h): a client keeps
 * CAP_NET_ADMIN to configure its interface on each reconnect, a server
 * keeps nothing. The seccomp filter comes last: it forbids setuid & co.
 */
static int start_workers(void *arg)
{
	int r = sl_engine_start_workers(arg);

	if (r < 0)
		sl_err("cannot start the data-path workers: %s", strerror(-r));
	return r;
}

static int drop_privileges(const struct tunnel *t)
{
	const struct sl_config *c = &t->cfg;
	uint64_t keep = c->mode == SL_MODE_CLIENT ? SL_PRIVDROP_CLIENT_CAPS : 0;

	/* The engine's data-path threads start between the drop and the filter: they inherit the
	 * dropped identity and capabilities, and the filter covers them (TSYNC). */
	return sl_privdrop_apply_with(c->user, NULL, keep, c->seccomp, "User =", "Seccomp = no",
				      start_workers, t->engine);
}

static int run(struct tunnel *t)
{
	struct sl_engine_cfg ec;
	char err[256], up[256] = "";
	int r;

	t->loop = sl_loop_new(NULL);
	if (!t->loop) {
		sl_err("cannot create the event loop: %s", strerror(errno));
		return 1;
	}
	if ((r = watch_signals(t)) < 0) {
		sl_err("cannot watch signals: %s", strerror(-r));
		return 1;
	}
	if (t->cfg.control_socket[0] && make_ctl_dir(t->cfg.control_socket) < 0)
		return 1;
	fill_engine_cfg(t, &ec);
	r = sl_engine_new(&t->engine, &ec);
	if (r < 0) {
		t->engine = NULL;
		report_engine_error(t, r);
		return 1;
	}
	if (t->cfg.mode == SL_MODE_SERVER && setup_server_link(t, up, sizeof(up)) < 0)
		return 1;
	r = sl_native_new(&t->native, t->loop, t->engine, &t->cfg, err, sizeof(err));
	if (r < 0) {
		t->native = NULL;
		sl_err("%s", err);
		return 1;
	}
	if (drop_privileges(t) < 0)
		return 1;
	if (up[0])
		sl_info("%s", up); /* a client says so when its CONFIG arrives */
	r = sl_loop_run(t->loop);
	if (r < 0) {
		sl_err("event loop failed: %s", strerror(-r));
		return 1;
	}
	return 0;
}

int cmd_up(int argc, char **argv)
{
	struct tunnel t = {.sigfd = -1};
	const char *path = NULL;
	char err[512];
	int code;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--foreground"))
			continue;
		if (path || argv[i][0] == '-') {
			usage(stderr);
			return 2;
		}
		path = argv[i];
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (strlen(path) > 5 && !strcmp(path + strlen(path) - 5, ".ovpn"))
		return cmd_openvpn_file(path, NULL); /* an OpenVPN config: the OpenVPN client */
	if (sl_config_load(&t.cfg, path, err, sizeof(err)) < 0) {
		sl_err("%s", err);
		return 1;
	}
	sl_log_set_level((enum sl_log_level)t.cfg.log_level);
	/* A peer that vanishes mid-write must be an error return, not a fatal signal. */
	signal(SIGPIPE, SIG_IGN);
	code = run(&t);
	sl_native_free(t.native);
	sl_engine_free(t.engine); /* removes the TUN device */
	if (t.sigfd >= 0)
		close(t.sigfd);
	sl_loop_free(t.loop);
	return code;
}
