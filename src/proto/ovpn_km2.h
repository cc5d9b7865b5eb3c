/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN key-method 2 message, the first TLS plaintext each side sends
 * (openvpn:ssl.c key_method_2_write, key_method_2_read, write_string):
 *
 *   | 0 (u32) | key method 2 (u8) | [client only] pre_master (48) |
 *   | random1 (32) | random2 (32) | options | username | password | [peer_info] |
 *   string := len (u16 BE, counts the trailing NUL) || bytes || 00 ; len 0 = empty
 *
 * Pure functions on buffers; fuzzed by fuzz/fuzz_ovpn_km2.c.
 */
#ifndef SL_PROTO_OVPN_KM2_H
#define SL_PROTO_OVPN_KM2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_KM2_OPTIONS_MAX	  512  /* TLS_OPTIONS_LEN, NUL included */
#define SL_OVPN_KM2_USER_MAX	  256  /* USER_PASS_LEN is 128 in 2.6; room for auth tokens */
#define SL_OVPN_KM2_PEER_INFO_MAX 2048 /* 2.6 writes up to 3 x 512 */

struct sl_ovpn_km2 {
	uint8_t pre_master[48]; /* client's only */
	uint8_t random1[32];
	uint8_t random2[32];
	char options[SL_OVPN_KM2_OPTIONS_MAX];
	char username[SL_OVPN_KM2_USER_MAX];
	char password[SL_OVPN_KM2_USER_MAX];
	char peer_info[SL_OVPN_KM2_PEER_INFO_MAX];
};

/*
 * Write m as sent by a client (from_client: with pre_master) or a server.
 * Empty username/password/peer_info are written as absent (len 0), as
 * OpenVPN does. Returns the length, -ENOSPC or -EINVAL (a string too long).
 */
int sl_ovpn_km2_build(const struct sl_ovpn_km2 *m, bool from_client, uint8_t *out, size_t cap);

/*
 * Parse a key-method 2 message sent by a client (from_client) or a server.
 * Returns the bytes it took, or -EBADMSG (short, not key method 2, a string
 * without its NUL or longer than its field). Strings that are absent come
 * back empty. peer_info may be missing entirely (then empty).
 */
int sl_ovpn_km2_parse(const uint8_t *d, size_t len, bool from_client, struct sl_ovpn_km2 *m);

/*
 * Value of KEY in a peer-info block ("KEY=value\n" lines) copied to out.
 * Returns the value length or -ENOENT; -ENOSPC if it does not fit.
 */
int sl_ovpn_peer_info_get(const char *peer_info, const char *key, char *out, size_t cap);

#endif
