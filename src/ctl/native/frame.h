/* SPDX-License-Identifier: MIT */
/*
 * The native protocol's framing inside TLS and its control payloads
 * (docs/native-protocol.md). Pure functions on buffers: no I/O, no global
 * state, fuzzed by fuzz/fuzz_native_frame.c.
 *
 *    0        1        2        3
 *   +--------+--------+--------+-------------------------------+
 *   |  type  |  length (BE16)  |  payload (length bytes) ...   |
 *   +--------+--------+--------+-------------------------------+
 *
 * Control payloads are text: "key=value\n" lines; unknown keys are ignored,
 * a repeated key (route=) lists several values.
 */
#ifndef SL_CTL_NATIVE_FRAME_H
#define SL_CTL_NATIVE_FRAME_H

#include "crypto/aead.h"
#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_NATIVE_VERSION     1
#define SL_NFRAME_HDR_LEN     3
#define SL_NFRAME_MAX_PAYLOAD 65535u
#define SL_NFRAME_MAX	      (SL_NFRAME_HDR_LEN + SL_NFRAME_MAX_PAYLOAD)
#define SL_NATIVE_MAX_ROUTES  32

enum sl_nframe_type {
	SL_NF_HELLO = 1,	 /* c->s: version, ciphers, wanted addresses */
	SL_NF_CONFIG = 2,	 /* s->c: peer id, keys' SPIs, addresses, routes */
	SL_NF_REKEY = 3,	 /* s->c: next epoch and its SPIs */
	SL_NF_REKEY_ACK = 4,	 /* c->s: the client sends with the new key now */
	SL_NF_REKEY_REQUEST = 5, /* c->s: the client's tx key is near its limit */
	SL_NF_DATA = 6,		 /* either way: one plaintext IP packet (stream fallback) */
	SL_NF_PING = 7,
	SL_NF_PONG = 8,
	SL_NF_BYE = 9, /* text reason, then the sender closes */
};

/* Name for logs ("HELLO"), or "unknown". */
const char *sl_nframe_type_name(uint8_t type);

struct sl_nframe {
	uint8_t type;
	uint16_t len;
	const uint8_t *payload; /* points into the parsed buffer */
};

/*
 * Parse one frame from buf[0..len). Returns the bytes it spans (header and
 * payload), or 0 when buf holds only part of a frame. Every header is valid:
 * unknown types are the reader's to ignore.
 */
size_t sl_nframe_parse(const uint8_t *buf, size_t len, struct sl_nframe *out);
/* Write the 3-byte header for a payload of len bytes. -EMSGSIZE if len > 65535. */
int sl_nframe_put_header(uint8_t hdr[SL_NFRAME_HDR_LEN], uint8_t type, size_t len);

/*
 * Reassembles frames from a byte stream. The buffer always has room for one
 * whole TLS record (16 KiB) after a partial frame, so a reader of records
 * never has to leave decrypted bytes inside the TLS library.
 */
#define SL_NFRAME_READER_CAP (SL_NFRAME_MAX + 16384 + 256)

struct sl_nframe_reader {
	size_t start, end; /* unconsumed bytes are buf[start..end) */
	uint8_t buf[SL_NFRAME_READER_CAP];
};

void sl_nframe_reader_init(struct sl_nframe_reader *r);
/* Room to read into (at least 16 KiB + 256 bytes); *room gets its size. */
uint8_t *sl_nframe_reader_space(struct sl_nframe_reader *r, size_t *room);
/* n bytes were written at the start of the space. */
void sl_nframe_reader_commit(struct sl_nframe_reader *r, size_t n);
/* Copy in up to len bytes; returns how many fitted (for tests and fuzzing). */
size_t sl_nframe_reader_feed(struct sl_nframe_reader *r, const uint8_t *data, size_t len);
/*
 * Next whole frame: 1 and *out set (payload valid until the next call of
 * any reader function), or 0 when more bytes are needed.
 */
int sl_nframe_reader_next(struct sl_nframe_reader *r, struct sl_nframe *out);

/* ---- control payloads ------------------------------------------------ */

struct sl_nhello {
	uint32_t version;
	uint32_t n_ciphers;
	enum sl_cipher ciphers[SL_CIPHER__COUNT]; /* known ones, client's preference order */
	bool has_want4, has_want6;
	uint8_t want4[4], want6[16];
};

struct sl_nconfig {
	uint32_t version;
	uint32_t peer_id;
	enum sl_cipher cipher;
	uint32_t epoch;
	uint32_t spi_c, spi_s; /* the client's and the server's inbound SPI */
	bool has4, has6;
	struct sl_prefix addr4, addr6; /* client address, length of the pool's prefix */
	uint8_t gw4[4], gw6[16];       /* the server's inner addresses */
	uint32_t mtu;
	uint32_t n_routes;
	struct sl_prefix routes[SL_NATIVE_MAX_ROUTES];
	uint32_t keepalive_ms, silent_ms;
	uint16_t udp_port; /* the server's UDP port for ESP */
	uint16_t tcp_port; /* the server's own TCP port (0: not sent); see docs */
};

struct sl_nrekey {
	uint32_t epoch;
	uint32_t spi_c, spi_s;
};

/*
 * Builders write the text payload into out[0..cap) and return its length,
 * or -ENOSPC / -EINVAL (a value out of range).
 */
int sl_nhello_build(const struct sl_nhello *h, char *out, size_t cap);
int sl_nconfig_build(const struct sl_nconfig *c, char *out, size_t cap);
int sl_nrekey_build(const struct sl_nrekey *k, char *out, size_t cap);
int sl_nrekey_ack_build(uint32_t epoch, char *out, size_t cap);

/*
 * Parsers take the payload bytes as received and return 0, or -EINVAL with
 * one line saying what is wrong in err (may be NULL).
 */
int sl_nhello_parse(const uint8_t *p, size_t len, struct sl_nhello *out, char *err, size_t err_len);
int sl_nconfig_parse(const uint8_t *p, size_t len, struct sl_nconfig *out, char *err,
		     size_t err_len);
int sl_nrekey_parse(const uint8_t *p, size_t len, struct sl_nrekey *out, char *err, size_t err_len);
int sl_nrekey_ack_parse(const uint8_t *p, size_t len, uint32_t *epoch, char *err, size_t err_len);

/* A BYE reason as printable text ("?" for other bytes), at most out_len - 1 chars. */
void sl_nbye_reason(const uint8_t *p, size_t len, char *out, size_t out_len);

/* "ADDR/LEN" for logs and payloads. */
int sl_nprefix_format(const struct sl_prefix *pfx, char *out, size_t out_len);

#endif
