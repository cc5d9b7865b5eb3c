// SPDX-License-Identifier: MIT
/* sluice down IFNAME: ask the tunnel that owns IFNAME to exit. */
#include "cli/cmd.h"
#include "cli/ctl_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_down(int argc, char **argv)
{
	char path[256];
	char *reply;
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: sluice down IFNAME [--socket PATH]\n\n"
		       "Asks the tunnel running on IFNAME (through its control socket,\n"
		       "%s/IFNAME.sock unless --socket says otherwise) to say goodbye to\n"
		       "its peers and exit. The TUN device goes away with it.\n",
		       SL_CTL_DIR);
		return 0;
	}
	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--socket"))) {
		fprintf(stderr, "Usage: sluice down IFNAME [--socket PATH]\n");
		return 2;
	}
	if (argc == 4)
		snprintf(path, sizeof(path), "%s", argv[3]);
	else
		ctl_socket_path(argv[1], path, sizeof(path));
	r = ctl_request(path, "op=down\n", &reply);
	free(reply);
	if (r < 0) {
		fprintf(stderr, "sluice down: no tunnel answers on %s: %s\n", path, strerror(-r));
		return 1;
	}
	if (r > 0) {
		fprintf(stderr, "sluice down: %s refused: %s\n", argv[1], strerror(r));
		return 1;
	}
	return 0;
}
