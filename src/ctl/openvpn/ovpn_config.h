/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN configuration files (.ovpn / .conf), the directives sluice
 * honours (openvpn(8); options.c add_option). Lines are "directive args",
 * args split on white space with "double" / 'single' quotes and \ escapes;
 * a token starting with # or ; ends the line; <ca> ... </ca> style blocks
 * give a file's contents inline.
 *
 *   unknown directive        -> a warning "FILE:LINE: unknown directive 'x', ignored"
 *   known but unsupported    -> an error  "FILE:LINE: 'x' is not supported by sluice (...)"
 *   known, harmless, unused  -> accepted silently (persist-tun, nobind, resolv-retry ...)
 *
 * sl_ovpn_config_parse is pure (text in, struct out; fuzzed by
 * fuzz/fuzz_ovpn_config.c); sl_ovpn_config_load reads the file and the
 * files it names (relative to its directory).
 */
#ifndef SL_CTL_OPENVPN_OVPN_CONFIG_H
#define SL_CTL_OPENVPN_OVPN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_CFG_REMOTES_MAX 8
#define SL_OVPN_CFG_PUSH_MAX	64
#define SL_OVPN_CFG_ROUTES_MAX	64
#define SL_OVPN_CFG_PATH_MAX	512

enum sl_ovpn_transport { SL_OVPN_UDP, SL_OVPN_TCP };

struct sl_ovpn_remote {
	char host[256];
	uint16_t port; /* 0: the config's port */
	int proto;     /* -1: the config's proto, else enum sl_ovpn_transport */
};

/* A file: inline text (from a <block>) or a path to read; text is set after loading. */
struct sl_ovpn_blob {
	char path[SL_OVPN_CFG_PATH_MAX];
	char *text; /* malloc'd, NUL-terminated */
	int line;   /* where it was given, for messages */
};

struct sl_ovpn_config {
	bool client;	/* client / tls-client + pull */
	bool server;	/* server / mode server + tls-server */
	char dev[16];	/* "tun" (any name), "tun0" ... */
	int proto;	/* enum sl_ovpn_transport */
	int family;	/* 0 any, AF_INET (udp4/tcp4), AF_INET6 */
	uint16_t port;	/* port / rport, default 1194 */
	uint16_t lport; /* local port (server), default port */
	char local[64]; /* local ADDR, "" any */
	struct sl_ovpn_remote remotes[SL_OVPN_CFG_REMOTES_MAX];
	unsigned n_remotes;
	struct sl_ovpn_blob ca, cert, key, tls_crypt, tls_auth, auth_user_pass;
	bool has_auth_user_pass;
	int key_direction;		 /* -1 none, 0, 1 (tls-auth's own argument wins) */
	char cipher[32];		 /* --cipher (legacy / fallback), "" = default */
	char data_ciphers[256];		 /* colon-separated; default
					    AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305 */
	char auth[16];			 /* --auth digest, default SHA1 */
	int ping, ping_restart;		 /* seconds, -1 when unset (keepalive sets both) */
	int keepalive[2];		 /* keepalive A B, 0 when unset */
	int reneg_sec;			 /* default 3600 */
	int64_t reneg_bytes, reneg_pkts; /* 0 = off */
	int hand_window, tls_timeout;
	int explicit_exit_notify; /* 0 off */
	int comp;		  /* enum sl_ovpn_comp */
	int tun_mtu;		  /* default 1500 */
	int verb;		  /* default 1 */
	bool remote_cert_tls_server;
	/* user / group: whom to become after set-up ("" = not given; cli/privdrop.h) */
	char user[64], group[64];
	/* server */
	uint8_t server_net[4], server_mask[4];
	bool has_server;
	int topology; /* enum sl_ovpn_topology, default net30 */
	uint8_t pool_start[4], pool_end[4];
	bool has_pool;
	bool client_to_client;
	char push[SL_OVPN_CFG_PUSH_MAX][256];
	unsigned n_push;
	struct {
		uint8_t net[4], mask[4];
	} routes[SL_OVPN_CFG_ROUTES_MAX];
	unsigned n_routes;
};

/* Messages go here, one line each without the newline (FILE:LINE: ...). */
typedef void (*sl_ovpn_cfg_msg_fn)(void *arg, bool error, const char *line);

void sl_ovpn_config_init(struct sl_ovpn_config *c);
void sl_ovpn_config_free(struct sl_ovpn_config *c);

/*
 * Parse text (len bytes) named file (for messages). Returns 0, or the
 * number of errors (> 0) after reporting each; warnings do not fail.
 * Inline blocks fill blob.text.
 */
int sl_ovpn_config_parse(struct sl_ovpn_config *c, const char *file, const char *text, size_t len,
			 sl_ovpn_cfg_msg_fn msg, void *arg);

/*
 * Read path, parse it, then read every file it names (relative paths from
 * the config's directory) and check what a role needs (a client: remote, ca,
 * cert, key). Returns 0, or -EINVAL/-ENOENT after reporting through msg.
 */
int sl_ovpn_config_load(struct sl_ovpn_config *c, const char *path, sl_ovpn_cfg_msg_fn msg,
			void *arg);

#endif
