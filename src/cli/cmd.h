/* SPDX-License-Identifier: MIT */
/* The `sluice` subcommands; each lives in cmd_NAME.c and returns the process exit code. */
#ifndef SL_CLI_CMD_H
#define SL_CLI_CMD_H

int cmd_up(int argc, char **argv);	/* sluice up CONFIG */
int cmd_down(int argc, char **argv);	/* sluice down IFNAME */
int cmd_show(int argc, char **argv);	/* sluice show [IFNAME] [--json] */
int cmd_pki(int argc, char **argv);	/* sluice pki init|issue ... */
int cmd_openvpn(int argc, char **argv); /* sluice openvpn --config FILE.ovpn */
/* sluice up FILE.ovpn lands here too. */
int cmd_openvpn_file(const char *path, const char *ifname);
int cmd_serve(int argc, char **argv);	/* sluice serve ppp ...|anyconnect CONFIG */
int cmd_connect(int argc, char **argv); /* sluice connect URL (AnyConnect client) */

/* Default control socket path for an interface: /run/sluice/IFNAME.sock */
#define SL_CTL_DIR "/run/sluice"

#endif
