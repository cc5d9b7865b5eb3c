// SPDX-License-Identifier: MIT
/*
 * sluice serve ppp ...: the far end of openconnect --protocol=nullppp (PPP
 * over TLS), in the foreground until SIGINT/SIGTERM. Loop, engine (TUN,
 * no UDP), the PPP server on top.
 */
#include "cli/cmd.h"
#include "core/log.h"
#include "core/loop.h"
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
#include <sys/signalfd.h>
#include <unistd.h>

struct serve_opts {
	struct sl_ppp_server_cfg ppp;
	const char *ifname;
	uint32_t mtu;
	int log_level;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice serve ppp --listen ADDR:PORT --cert FILE --key FILE\n"
		"                        --local IPV4 --remote IPV4 [--dns IPV4]...\n"
		"                        [--ifname NAME] [--mtu N] [--no-ipv6] [--echo SECONDS]\n"
		"                        [--debug]\n"
		"\n"
		"PPP over TLS: what 'openconnect --protocol=nullppp' connects to. The client's\n"
		"first byte picks the framing (RFC 1662 HDLC for '--cookie hdlc', else RFC 1661).\n"
		"The client gets --remote; this end is --local on the TUN device (default\n"
		"slppp0). One client at a time. IP packets ride the TLS connection through the\n"
		"engine's stream path (IPV6CP is negotiated, IPv6 data is not routed yet).\n"
		"\n"
		"'sluice serve anyconnect' (stock openconnect clients) is not implemented yet.\n");
}

static int parse_ip4(const char *s, uint8_t out[4])
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct serve_opts *o)
{
	int ndns = 0;
	bool have_listen = false, have_local = false, have_remote = false;

	memset(o, 0, sizeof(*o));
	o->ifname = "slppp0";
	o->mtu = 1400;
	o->ppp.ipv6 = true;
	o->ppp.echo_interval_s = 10;
	o->log_level = SL_LOG_INFO;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

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
		else if (!strcmp(a, "--key"))
			o->ppp.key = v;
		else if (!strcmp(a, "--local") && parse_ip4(v, o->ppp.local_ip4) == 0)
			have_local = true;
		else if (!strcmp(a, "--remote") && parse_ip4(v, o->ppp.peer_ip4) == 0)
			have_remote = true;
		else if (!strcmp(a, "--dns") && ndns < 2 && parse_ip4(v, o->ppp.dns[ndns]) == 0)
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

static int setup_link(const struct serve_opts *o, const char *ifname)
{
	int r = sl_link_addr_add(ifname, AF_INET, o->ppp.local_ip4, 32);

	if (r == 0 || r == -EEXIST)
		r = sl_link_set_up(ifname, o->mtu);
	if (r == 0 || r == -EEXIST)
		r = sl_link_route_add(ifname, AF_INET, o->ppp.peer_ip4, 32);
	if (r < 0 && r != -EEXIST) {
		sl_err("%s: cannot set addresses, route or MTU: %s", ifname, strerror(-r));
		return r;
	}
	return 0;
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

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "anyconnect")) {
		fprintf(stderr,
			"sluice serve anyconnect: not implemented yet (only 'serve ppp')\n");
		return 2;
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
