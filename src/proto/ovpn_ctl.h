/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN 2.6 control channel packets (docs/protocols.md §3): the plain
 * packet codec, tls-auth (HMAC) and tls-crypt (AES-256-CTR + HMAC-SHA256)
 * wrapping, static key files and the TCP length prefix. Pure functions on
 * buffers: no I/O, no clock (callers pass the time), no global state.
 *
 * Plain control packet (no wrapping, and what unwrapping gives back):
 *
 *   | op<<3|kid | own session id (8) | n_acks (1) | acked msg ids (4*n) |
 *   | peer session id (8, only if n_acks > 0) | msg id (4, not in P_ACK_V1) | payload |
 */
#ifndef SL_PROTO_OVPN_CTL_H
#define SL_PROTO_OVPN_CTL_H

#include "crypto/replay.h"
#include "proto/ovpn_data.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_ACK_MAX	    8 /* RELIABLE_ACK_SIZE */
#define SL_OVPN_CTL_MIN_LEN (1 + SL_OVPN_SESSION_ID_LEN + 1)

struct sl_ovpn_ctl {
	uint8_t opcode; /* SL_OVPN_P_CONTROL_*, SL_OVPN_P_ACK_V1 */
	uint8_t key_id;
	uint8_t sid[SL_OVPN_SESSION_ID_LEN]; /* the sender's own session id */
	uint8_t n_acks;
	uint32_t acks[SL_OVPN_ACK_MAX];
	uint8_t peer_sid[SL_OVPN_SESSION_ID_LEN]; /* only when n_acks > 0 */
	bool has_msg_id;			  /* every opcode but P_ACK_V1 */
	uint32_t msg_id;
	const uint8_t *payload; /* parse: points into the input */
	size_t payload_len;
};

/* True for the control opcodes sluice speaks (3, 4, 5, 7, 8; not v3/WKC). */
bool sl_ovpn_ctl_opcode_known(uint8_t opcode);

/*
 * Parse a plain control packet. Returns 0, or -EBADMSG (too short, an ack
 * count over 8, an opcode that is not a control opcode, a P_ACK_V1 without
 * acks or with a payload). payload points into d.
 */
int sl_ovpn_ctl_parse(const uint8_t *d, size_t len, struct sl_ovpn_ctl *out);

/* Bytes sl_ovpn_ctl_build writes for c. */
size_t sl_ovpn_ctl_len(const struct sl_ovpn_ctl *c);

/* Write c to out. Returns the length, -EINVAL (bad opcode/ack count) or -ENOSPC. */
int sl_ovpn_ctl_build(const struct sl_ovpn_ctl *c, uint8_t *out, size_t cap);

/*
 * Static key file ("OpenVPN Static key V1", 2048 bits in hex between the
 * markers; '#' comments and blank lines around them, as openvpn writes
 * them). Fills key2 (struct key2 order: keys[0].cipher, keys[0].hmac,
 * keys[1].cipher, keys[1].hmac). Returns 0 or -EINVAL.
 */
int sl_ovpn_static_key_parse(const char *text, size_t len, uint8_t key2[SL_OVPN_KEY2_LEN]);

/* Wrapping: the replay id and time that tls-auth and tls-crypt put on every packet. */
struct sl_ovpn_wrap_rx {
	struct sl_replay replay; /* over the 32-bit replay id */
};

/*
 * tls-auth (openvpn:ssl_pkt.c tls_wrap_control, swap_hmac; crypto.c
 * openvpn_encrypt_v1 without cipher):
 *
 *   | op|kid | own sid (8) | HMAC (md) | replay id (4) | time (4) | ack block ... payload |
 *   HMAC = HMAC-md(key, replay id || time || op|kid || own sid || ack block ... payload)
 *
 * direction: 0 or 1 as --key-direction (0: tx keys[0].hmac, rx keys[1].hmac;
 * 1 the other way), -1 without key-direction (both keys[0].hmac).
 */
struct sl_ovpn_tls_auth {
	char md[16]; /* "SHA1", "SHA256", "SHA512" ... as --auth */
	size_t md_len;
	uint8_t tx_key[SL_OVPN_KEY_SLOT_LEN];
	uint8_t rx_key[SL_OVPN_KEY_SLOT_LEN];
	uint32_t tx_id; /* last replay id sent */
	struct sl_ovpn_wrap_rx rx;
};

/* Returns 0, -EINVAL (unknown digest, bad direction) or -ENOMEM. */
int sl_ovpn_tls_auth_init(struct sl_ovpn_tls_auth *a, const uint8_t key2[SL_OVPN_KEY2_LEN],
			  int direction, const char *md);
void sl_ovpn_tls_auth_clear(struct sl_ovpn_tls_auth *a);
/* Bytes tls-auth adds to a plain packet. */
size_t sl_ovpn_tls_auth_overhead(const struct sl_ovpn_tls_auth *a);
/* Wrap a plain packet. Returns the wire length, -ENOSPC, -EBADMSG or -EOVERFLOW (ids used up). */
int sl_ovpn_tls_auth_wrap(struct sl_ovpn_tls_auth *a, const uint8_t *plain, size_t len,
			  uint32_t now, uint8_t *out, size_t cap);
/*
 * Check and strip tls-auth. Returns the plain length, -EBADMSG (too short),
 * -EACCES (HMAC mismatch) or -EALREADY (replay). The replay window is
 * updated only for an authentic packet.
 */
int sl_ovpn_tls_auth_unwrap(struct sl_ovpn_tls_auth *a, const uint8_t *wire, size_t len,
			    uint8_t *out, size_t cap);

/*
 * tls-crypt (openvpn:tls_crypt.c tls_crypt_wrap, tls_crypt_unwrap):
 *
 *   | op|kid | own sid (8) | replay id (4) | time (4) | tag (32) | AES-256-CTR(ack block ...
 * payload) |
 *   |<---------------- header (17) ------------------>|
 *   tag = HMAC-SHA256(Ka, header || plaintext), CTR IV = tag[0..15]
 *
 * The server encrypts with keys[0] (Ke = cipher[0..31], Ka = hmac[0..31])
 * and decrypts with keys[1]; the client the other way round.
 */
#define SL_OVPN_TLS_CRYPT_HDR_LEN 17
#define SL_OVPN_TLS_CRYPT_TAG_LEN 32
#define SL_OVPN_TLS_CRYPT_OVERHEAD \
	(SL_OVPN_TLS_CRYPT_HDR_LEN - 1 - SL_OVPN_SESSION_ID_LEN + SL_OVPN_TLS_CRYPT_TAG_LEN)

struct sl_ovpn_tls_crypt {
	uint8_t tx_ke[32], tx_ka[32];
	uint8_t rx_ke[32], rx_ka[32];
	uint32_t tx_id;
	struct sl_ovpn_wrap_rx rx;
};

int sl_ovpn_tls_crypt_init(struct sl_ovpn_tls_crypt *c, const uint8_t key2[SL_OVPN_KEY2_LEN],
			   enum sl_ovpn_role role);
void sl_ovpn_tls_crypt_clear(struct sl_ovpn_tls_crypt *c);
/* Returns the wire length, -ENOSPC, -EBADMSG, -EOVERFLOW or -EIO (OpenSSL). */
int sl_ovpn_tls_crypt_wrap(struct sl_ovpn_tls_crypt *c, const uint8_t *plain, size_t len,
			   uint32_t now, uint8_t *out, size_t cap);
/*
 * Returns the plain length, -EBADMSG, -EACCES (tag), -EALREADY (replay) or
 * -EIO. out must not overlap wire (decryption runs before the tag check).
 */
int sl_ovpn_tls_crypt_unwrap(struct sl_ovpn_tls_crypt *c, const uint8_t *wire, size_t len,
			     uint8_t *out, size_t cap);

/*
 * One wrapping of the control channel, whichever it is. NONE copies.
 */
enum sl_ovpn_wrap_mode {
	SL_OVPN_WRAP_NONE,
	SL_OVPN_WRAP_AUTH,
	SL_OVPN_WRAP_CRYPT,
};

struct sl_ovpn_wrap {
	enum sl_ovpn_wrap_mode mode;
	union {
		struct sl_ovpn_tls_auth auth;
		struct sl_ovpn_tls_crypt crypt;
	} u;
};

size_t sl_ovpn_wrap_overhead(const struct sl_ovpn_wrap *w);
int sl_ovpn_wrap(struct sl_ovpn_wrap *w, const uint8_t *plain, size_t len, uint32_t now,
		 uint8_t *out, size_t cap);
int sl_ovpn_unwrap(struct sl_ovpn_wrap *w, const uint8_t *wire, size_t len, uint8_t *out,
		   size_t cap);
void sl_ovpn_wrap_clear(struct sl_ovpn_wrap *w);

/*
 * The 2.6 server's stateless handshake (openvpn:ssl_pkt.c
 * calculate_session_id_hmac, check_session_hmac_and_pkt_id): the server's
 * session id answering a client's hard reset is a keyed hash of a time slot,
 * the client's address and its session id, so the server keeps no state
 * until the client echoes it. Ours: the first 8 bytes of
 *   HMAC-SHA256(key, slot (4, BE) || addr (port and IP bytes) || client sid (8))
 * with slot = now / ((hand-window + 1) / 2); a check accepts slots now-2..now.
 * Returns 0 or -EIO.
 */
#define SL_OVPN_COOKIE_KEY_LEN 32
int sl_ovpn_cookie(const uint8_t key[SL_OVPN_COOKIE_KEY_LEN], uint32_t slot, const uint8_t *addr,
		   size_t addr_len, const uint8_t client_sid[SL_OVPN_SESSION_ID_LEN],
		   uint8_t out[SL_OVPN_SESSION_ID_LEN]);

/* Forget every replay id seen (a listener's wrap checks first packets of many clients). */
void sl_ovpn_wrap_forget_replays(struct sl_ovpn_wrap *w);

/*
 * TCP transport: every packet has a 16-bit big-endian length in front
 * (openvpn:socket.h packet_size_type). Given the bytes received so far,
 * sets *pkt and *pkt_len to the first whole packet and returns the bytes it
 * takes (prefix included), 0 if more bytes are needed, -EBADMSG for a
 * zero length.
 */
int sl_ovpn_tcp_next(const uint8_t *d, size_t len, const uint8_t **pkt, size_t *pkt_len);

#endif
