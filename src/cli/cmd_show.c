// SPDX-License-Identifier: MIT
/*
 * sluice show [IFNAME] [--json] [--socket PATH]: asks each tunnel's control
 * socket for its counters and prints them, so any loss can be explained:
 * every dropped packet is in exactly one drop_* counter.
 */
#include "cli/cmd.h"
#include "cli/ctl_client.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct printer {
	bool json;
	bool in_peer; /* inside a peer's lines */
	bool first_peer;
	bool drops_open; /* JSON: inside a "drops" object */
	bool first_drop;
	int nkeys;
	char keys_json[1024]; /* a peer's key slots, printed when the peer closes */
};

static bool is_drop(const char *key)
{
	return !strncmp(key, "drop_", 5);
}

static void json_close_drops(struct printer *pr)
{
	if (pr->drops_open)
		printf("}");
	pr->drops_open = false;
}

static void json_pair(struct printer *pr, const char *key, const char *value)
{
	if (!strcmp(key, "interface")) {
		printf("{\"interface\":\"%s\"", value);
		return;
	}
	if (!strcmp(key, "peer_id")) {
		json_close_drops(pr);
		if (pr->in_peer)
			printf(",\"keys\":[%s]}", pr->keys_json);
		printf(pr->first_peer ? ",\"peers\":[" : ",");
		pr->first_peer = false;
		pr->in_peer = true;
		pr->keys_json[0] = '\0';
		pr->nkeys = 0;
		printf("{\"peer_id\":%s", value);
		return;
	}
	if (is_drop(key)) {
		if (!pr->drops_open) {
			printf(",\"drops\":{");
			pr->drops_open = true;
			pr->first_drop = true;
		}
		printf("%s\"%s\":%s", pr->first_drop ? "" : ",", key + 5, value);
		pr->first_drop = false;
		return;
	}
	if (!strcmp(key, "key")) {
		unsigned slot, id, rx, tx;
		unsigned long long seq;
		size_t n = strlen(pr->keys_json);

		if (sscanf(value, "%u:%u:%u:%u:%llu", &slot, &id, &rx, &tx, &seq) == 5)
			snprintf(pr->keys_json + n, sizeof(pr->keys_json) - n,
				 "%s{\"slot\":%u,\"key_id\":%u,\"rx_spi\":%u,\"tx_spi\":%u,"
				 "\"tx_seq\":%llu}",
				 pr->nkeys++ ? "," : "", slot, id, rx, tx, seq);
		return;
	}
	json_close_drops(pr);
	if (!strcmp(key, "endpoint") || !strcmp(key, "transport") || !strcmp(key, "offloads"))
		printf(",\"%s\":\"%s\"", key, value);
	else
		printf(",\"%s\":%s", key, value);
}

static void text_pair(struct printer *pr, const char *key, const char *value)
{
	if (!strcmp(key, "interface")) {
		printf("interface: %s\n", value);
		return;
	}
	if (!strcmp(key, "peer_id")) {
		printf("\npeer: %s\n", value);
		pr->in_peer = true;
		return;
	}
	if (!strcmp(key, "key")) {
		unsigned slot, id, rx, tx;
		unsigned long long seq;

		if (sscanf(value, "%u:%u:%u:%u:%llu", &slot, &id, &rx, &tx, &seq) == 5)
			printf("  key %s: id %u, rx spi 0x%08x, tx spi 0x%08x, sent %llu\n",
			       slot ? "secondary" : "primary", id, rx, tx, seq);
		return;
	}
	if (!pr->in_peer && !is_drop(key) && strcmp(value, "0") == 0)
		return;
	/* The receive-side split of drops is for accounting tests; zero says nothing here. */
	if (!strncmp(key, "udp_rx_drop_", 12) && strcmp(value, "0") == 0)
		return;
	printf("  %s: %s\n", key, value);
}

/* all: listing every socket, where one left by a tunnel that has exited is skipped quietly. */
static int show_one(const char *path, bool json, bool all, bool *first)
{
	struct printer pr = {.json = json, .first_peer = true};
	char *reply, *line, *save = NULL;
	int r = ctl_request(path, "op=stats\n", &reply);

	if (all && r == -ECONNREFUSED)
		return 0;
	if (r != 0) {
		fprintf(stderr, "sluice show: %s: %s\n", path, strerror(r < 0 ? -r : r));
		free(reply);
		return 1;
	}
	if (json && !*first)
		printf(",");
	*first = false;
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq || !strncmp(line, "errno=", 6))
			continue;
		*eq = '\0';
		(json ? json_pair : text_pair)(&pr, line, eq + 1);
	}
	if (json) {
		json_close_drops(&pr);
		if (pr.in_peer)
			printf(",\"keys\":[%s]}]", pr.keys_json);
		else
			printf(",\"peers\":[]");
		printf("}");
	}
	free(reply);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice show [IFNAME] [--json] [--socket PATH]\n\n"
		"Shows each running tunnel (or only IFNAME): its peers, their endpoint, whether\n"
		"data goes over UDP or the TLS fallback, key slots, packet and byte counts, and\n"
		"one counter per reason a packet was dropped (auth, replay, nokey, noroute,\n"
		"malformed, toobig, nomem, io, overflow, rate). Counters at interface level are "
		"drops\n"
		"that belong to no peer, e.g. packets for an unknown SPI, or datagrams the kernel\n"
		"dropped because the UDP receive queue was full (overflow). rate: datagrams from\n"
		"an address other than the peer's endpoint that failed authentication faster\n"
		"than the peer's budget allows, dropped before decryption.\n");
}

int cmd_show(int argc, char **argv)
{
	const char *ifname = NULL, *socket_path = NULL;
	bool json = false, first = true;
	char path[512];
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			socket_path = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !ifname)
			ifname = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (socket_path || ifname) {
		if (socket_path)
			snprintf(path, sizeof(path), "%s", socket_path);
		else
			ctl_socket_path(ifname, path, sizeof(path));
		rc = show_one(path, json, false, &first);
		if (json && !rc)
			printf("\n");
		return rc;
	}
	DIR *d = opendir(SL_CTL_DIR);
	struct dirent *de;

	if (json)
		printf("[");
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".sock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", SL_CTL_DIR, de->d_name);
		rc |= show_one(path, json, true, &first);
	}
	if (d)
		closedir(d);
	if (json)
		printf("]\n");
	else if (first)
		printf("no tunnels are running\n");
	return rc;
}
