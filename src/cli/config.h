/* SPDX-License-Identifier: MIT */
/*
 * The tunnel configuration file: INI, like wg-quick's. Errors name the file,
 * the line and what was expected, e.g.
 *   "server.conf:7: Cipher: expected aes-128-gcm, aes-256-gcm or chacha20-poly1305, got 'des'"
 *
 *   [Interface]
 *   Mode = server | client            (required)
 *   Name = sl0                        (TUN device, default sl0)
 *   MTU = 1400                        (inner MTU, 576..9000)
 *   CA = ca.pem                       (required; relative paths are relative to the file)
 *   Certificate = server.pem          (required)
 *   PrivateKey = server.key           (required)
 *   Cipher = aes-256-gcm              (server: preferred data cipher)
 *   Keepalive = 1                     (seconds between UDP keepalive probes, 0 = off)
 *   DeadAfter = 3                     (seconds without an answer before the TLS fallback)
 *   RekeySeconds = 120                (rekey after this long, 0 = never)
 *   RekeyPackets = 1073741824         (or after this many packets)
 *   ReplayWindow = 2048
 *   ControlSocket = /run/sluice/sl0.sock
 *   LogLevel = info                   (error, warn, info, debug)
 *   User = nobody                     (run as this user after set-up; root = stay root)
 *   Seccomp = yes                     (yes: system call allowlist after set-up; no)
 *   Offload = yes                     (TUN super-packets, UDP GSO/GRO where the kernel has them)
 *   Workers = 1                       (data-path threads: 1, 2..64, or auto / 0 = one per CPU)
 *   IoBackend = epoll                 (io_uring: a receive round's TUN writes in one system call)
 *
 *   [Server]
 *   Listen = 198.18.0.1:4500          (TCP for TLS and UDP for ESP, same port; repeatable, v4/v6)
 *   Pool4 = 198.19.0.0/24             (inner addresses; the server takes the first host)
 *   Pool6 = 2001:db8:1::/64
 *   Route = 198.19.0.0/24             (pushed to clients; repeatable; default the pools)
 *   MaxClients = 1024
 *   MaxPending = 64                   (half-open TLS connections beyond MaxClients, 1..4096)
 *   MaxPendingPerSource = 8           (of them from one IPv4 address or IPv6 /64, 1..MaxPending)
 *   HandshakeTimeout = 10             (seconds to finish TLS and the HELLO, 1..300)
 *
 *   [Client]
 *   Server = 198.18.0.1:4500          (required; "[2001:db8::1]:4500" for IPv6)
 */
#ifndef SL_CLI_CONFIG_H
#define SL_CLI_CONFIG_H

#include "sluice/engine.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_CONFIG_MAX_LISTEN 2
#define SL_CONFIG_MAX_ROUTES 32
#define SL_CONFIG_PATH_MAX   512
#define SL_CONFIG_USER_MAX   32

enum sl_mode { SL_MODE_NONE = 0, SL_MODE_SERVER, SL_MODE_CLIENT };

struct sl_config {
	enum sl_mode mode;
	char name[16];
	uint32_t mtu;
	char ca[SL_CONFIG_PATH_MAX], cert[SL_CONFIG_PATH_MAX], key[SL_CONFIG_PATH_MAX];
	int cipher; /* enum sl_cipher */
	uint32_t keepalive_s, dead_after_s;
	uint32_t rekey_seconds;
	uint64_t rekey_packets;
	uint32_t replay_window;
	char control_socket[SL_CONFIG_PATH_MAX]; /* default /run/sluice/NAME.sock */
	int log_level;				 /* enum sl_log_level */
	char user[SL_CONFIG_USER_MAX + 1];	 /* default "nobody"; "root": no drop */
	bool seccomp;				 /* default true */
	bool offload;				 /* default true */
	bool tun_uring;				 /* IoBackend = io_uring; default epoll */
	uint32_t workers;			 /* default 1; 0 = one per online CPU */
	/* server */
	uint32_t n_listen;
	struct sockaddr_storage listen[SL_CONFIG_MAX_LISTEN];
	bool has_pool4, has_pool6;
	struct sl_prefix pool4, pool6;
	uint32_t n_routes;
	struct sl_prefix routes[SL_CONFIG_MAX_ROUTES];
	uint32_t max_clients;
	uint32_t max_pending;		 /* default 64 */
	uint32_t max_pending_per_source; /* default 8 */
	uint32_t handshake_timeout_s;	 /* default 10 (SL_TLSCONN_HANDSHAKE_S) */
	/* client */
	struct sockaddr_storage server;
};

/* Defaults for every optional key. */
void sl_config_init(struct sl_config *c);

/*
 * Parse text[0..len) of file `filename`, then check the whole (required keys,
 * mode-specific sections). Relative paths are made relative to dirname(filename)
 * (left as they are when filename has no '/'). c is reset with sl_config_init
 * first; on error it holds whatever was parsed so far. Keys, section names and
 * the words of Mode/Cipher/LogLevel are case-insensitive. After success, routes
 * are the pools when no Route was given (server), and control_socket is
 * /run/sluice/NAME.sock when ControlSocket was not given.
 * Returns 0, or -EINVAL with one line in err.
 */
int sl_config_parse(struct sl_config *c, const char *text, size_t len, const char *filename,
		    char *err, size_t err_len);
/* Read and parse a file. -errno with err set ("FILE: No such file or directory"). */
int sl_config_load(struct sl_config *c, const char *path, char *err, size_t err_len);

#endif
