/* SPDX-License-Identifier: MIT */
/*
 * ESP (RFC 4303) in UDP (RFC 3948) with AEAD transforms: AES-GCM (RFC 4106)
 * and ChaCha20-Poly1305 (RFC 7634). Pure functions on buffers: no I/O, no
 * global state. Layout on the wire (UDP payload):
 *
 *   | SPI (4) | seq low (4) | IV (8) | ciphertext ... | pad | padlen | nh | ICV |
 *   |<------ AAD: SPI | [seq high] | seq low ------>|
 *
 * nonce = salt (4) || IV (8); IV = the 64-bit sequence number, so it is unique per key.
 */
#ifndef SL_PROTO_ESP_H
#define SL_PROTO_ESP_H

#include "core/bytes.h"
#include "core/drop.h"
#include "core/pkt.h"
#include "crypto/aead.h"
#include "crypto/keydir.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_ESP_HDR_LEN	16 /* SPI + seq + IV */
#define SL_ESP_HEADROOM SL_ESP_HDR_LEN
#define SL_ESP_TAILROOM (3 + 2 + SL_AEAD_TAG_MAX) /* pad to 4 + padlen + nh + ICV */
#define SL_ESP_SALT_LEN 4
#define SL_ESP_IV_LEN	8

/* IP protocol numbers used as ESP next header. */
#define SL_ESP_NH_IPV4 4
#define SL_ESP_NH_IPV6 41
#define SL_ESP_NH_NONE 59 /* dummy packet (RFC 4303 2.6); sluice uses it for keepalive/DPD */

/* Sequence numbers at or past this make the SA ask for a rekey (without ESN). */
#define SL_ESP_SEQ_SOFT_LIMIT 0xF0000000ull

/* One direction of a security association. */
struct sl_esp_sa {
	uint32_t spi;
	bool esn; /* 64-bit sequence numbers, high half implicit */
	uint8_t salt[SL_ESP_SALT_LEN];
	uint64_t seq;	      /* tx: last sequence number sent (first sent is 1) */
	struct sl_keydir dir; /* AEAD context; replay window when rx */
	/* tx sealed by several threads, each with its own copy of the SA (an AEAD context is not
	 * thread-safe): the one sequence counter they share, taken atomically; seq is then
	 * unused. NULL: seq counts, for one thread. */
	_Atomic uint64_t *shared_seq;
};

/*
 * Make an SA from key (cipher key bytes) and salt. tx: encrypt side, else
 * decrypt side with a replay window of `window` (0 = default).
 * Returns 0, -EINVAL or -ENOMEM. sl_esp_sa_clear frees and zeroes it.
 */
int sl_esp_sa_init(struct sl_esp_sa *sa, enum sl_cipher c, const uint8_t *key, size_t key_len,
		   const uint8_t salt[SL_ESP_SALT_LEN], uint32_t spi, bool esn, bool tx,
		   uint32_t window);
void sl_esp_sa_clear(struct sl_esp_sa *sa);

/*
 * Seal p in place: trailer (padding 1,2,3.. to a 4-byte boundary, pad length,
 * next header) and ICV appended, ESP header pushed in front. Needs
 * SL_ESP_HEADROOM / SL_ESP_TAILROOM. Returns SL_DROP_NONE, SL_DROP_TOOBIG (no
 * room) or SL_DROP_NOKEY (sequence numbers exhausted: rekey; also for an rx SA or
 * an OpenSSL failure). p keeps its length on failure.
 */
enum sl_drop sl_esp_seal(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t next_header);

/*
 * Seal p's data followed by ext_len bytes at ext (not in p: e.g. a segment's
 * headers and payload inside a GSO super-packet), encrypting them from where
 * they are into p behind its data; otherwise as sl_esp_seal. Needs ext_len
 * more tailroom; ext must not overlap p. ext_room: bytes after ext + ext_len
 * the seal may borrow; with SL_ESP_TRAILER_MAX of them the trailer is written
 * there (and the bytes put back) so that everything is encrypted in one pass,
 * one AEAD update instead of three.
 */
#define SL_ESP_TRAILER_MAX 5 /* padding to 4 bytes (0-3), pad length, next header */
enum sl_drop sl_esp_seal_ext(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t *ext, uint32_t ext_len,
			     uint32_t ext_room, uint8_t next_header);

/*
 * For known-answer tests only: seal like sl_esp_seal but put `iv` on the
 * wire (and in the nonce) instead of the sequence number. A repeated IV
 * under one key breaks AES-GCM and ChaCha20-Poly1305 completely, so the
 * data path must never call this.
 */
enum sl_drop sl_esp_seal_iv(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t next_header,
			    const uint8_t iv[SL_ESP_IV_LEN]);

/* What a UDP datagram on an ESP-in-UDP port is (RFC 3948). */
enum sl_esp_kind {
	SL_ESP_KIND_ESP,	   /* SPI != 0: an ESP packet */
	SL_ESP_KIND_IKE,	   /* non-ESP marker (4 zero bytes): an IKE message */
	SL_ESP_KIND_NAT_KEEPALIVE, /* the single byte 0xFF */
	SL_ESP_KIND_MALFORMED,	   /* anything else (too short) */
};

/* Inline: the receive path asks this of every datagram. */
static inline enum sl_esp_kind sl_esp_classify(const uint8_t *d, size_t len)
{
	if (len == 1 && d[0] == 0xFF)
		return SL_ESP_KIND_NAT_KEEPALIVE;
	if (len >= 4 && sl_get_be32(d) == 0) /* the non-ESP marker */
		return SL_ESP_KIND_IKE;
	if (len >= 8)
		return SL_ESP_KIND_ESP;
	return SL_ESP_KIND_MALFORMED;
}

/* SPI of an ESP packet (caller checked the kind). */
static inline uint32_t sl_esp_spi(const uint8_t *d)
{
	return sl_get_be32(d);
}

/*
 * Open p in place with the rx SA: replay pre-check, AEAD verify+decrypt,
 * replay update, padding check. On success p holds just the inner payload
 * and *next_header is set (which values to accept is the caller's choice).
 * Returns SL_DROP_NONE, SL_DROP_MALFORMED, SL_DROP_REPLAY or SL_DROP_AUTH
 * (SL_DROP_NOKEY for a tx SA). On failure p keeps its length but not
 * necessarily its bytes: decryption runs in place before the tag is known
 * to be bad, so drop such a packet; never parse or resend it.
 */
enum sl_drop sl_esp_open(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t *next_header);

/* Next header for an inner IP packet from its version nibble; 0 if neither 4 nor 6. */
uint8_t sl_esp_nh_for_ip(const uint8_t *ip, size_t len);

#endif
