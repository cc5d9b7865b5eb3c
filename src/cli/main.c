// SPDX-License-Identifier: MIT
/* `sluice`: a table of subcommands, each in its own file (like wg). */
#include "cli/cmd.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"up", cmd_up, "run a tunnel from a config file (foreground; FILE.ovpn: as openvpn)"},
	{"down", cmd_down, "stop a running tunnel"},
	{"show", cmd_show, "show tunnels, peers, transports and counters"},
	{"pki", cmd_pki, "make a CA and certificates for a quick start"},
	{"openvpn", cmd_openvpn, "an OpenVPN 2.6 client or server from its config (--config FILE)"},
	{"connect", cmd_connect, "AnyConnect client (ocserv, Cisco), like openconnect"},
	{"serve", cmd_serve, "serve openconnect clients: anyconnect CONFIG, or ppp (nullppp)"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: sluice <command> [arguments]\n\n"
		   "A userspace VPN data channel with head/tail-room packets and kernel\n"
		   "offloads, and the control planes that drive it: sluice's own (ESP-in-UDP\n"
		   "with a TLS 1.3 control and fallback channel), OpenVPN 2.6, AnyConnect\n"
		   "(openconnect/ocserv) and PPP.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'sluice <command> --help' tells more about each.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sluice 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sluice: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
