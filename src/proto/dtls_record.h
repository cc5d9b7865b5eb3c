/* SPDX-License-Identifier: MIT */
/*
 * DTLS 1.2 application-data records (RFC 6347 4.1) with AEAD ciphers, sealed
 * and opened in place: the codec for AnyConnect DTLS data in the engine's
 * path (dco/datapath_dtls.c; `sluice connect` hands the engine the keys of
 * the session OpenSSL negotiated, ctl/anyconnect/dtls.h). Pure functions on
 * buffers.
 *
 *   0      1       3       5                11      13
 *   | type | FE FD | epoch | sequence (48)   | length | fragment ...
 *
 *   AES-GCM (RFC 5288): fragment = explicit nonce (8) | ciphertext | tag (16);
 *                       nonce = salt (4, the key block's IV) || explicit nonce
 *   ChaCha20-Poly1305 (RFC 7905): fragment = ciphertext | tag (16);
 *                       nonce = IV (12) xor (0 (4) || epoch || sequence)
 *   AAD (RFC 5246 6.2.3.3) = epoch || sequence || type || FE FD || plaintext length
 *
 * For AnyConnect the plaintext is | CSTP type (1) | IP packet |, so a packet
 * read from TUN with SL_DTLS_HEADROOM in front is sealed where it lies.
 */
#ifndef SL_PROTO_DTLS_RECORD_H
#define SL_PROTO_DTLS_RECORD_H

#include "core/drop.h"
#include "core/pkt.h"
#include "crypto/keydir.h"

#include <stdbool.h>
#include <stdint.h>

#define SL_DTLS_HDR_LEN	     13
#define SL_DTLS_EXPLICIT_LEN 8
#define SL_DTLS_TAG_LEN	     16
#define SL_DTLS_APP_DATA     23
#define SL_DTLS_VERSION_1_2  0xfefd
#define SL_DTLS_SEQ_MAX	     0xffffffffffffull /* 48 bits */
/* header, explicit nonce (GCM), and the AnyConnect type byte */
#define SL_DTLS_HEADROOM (SL_DTLS_HDR_LEN + SL_DTLS_EXPLICIT_LEN + 1)
#define SL_DTLS_TAILROOM SL_DTLS_TAG_LEN

/* One direction of a DTLS 1.2 connection's keys (one epoch). */
struct sl_dtls_dir {
	enum sl_cipher cipher;
	uint8_t iv[12]; /* GCM: 4-byte salt; ChaCha20-Poly1305: 12 bytes */
	uint16_t epoch;
	uint64_t seq;	      /* tx: the next sequence number to send */
	struct sl_keydir dir; /* AEAD context; replay window when rx */
};

/*
 * From the key block's write key and IV (4 bytes for GCM, 12 for ChaCha).
 * 0, -EINVAL (sizes) or -ENOMEM. sl_dtls_dir_clear frees and zeroes.
 */
int sl_dtls_dir_init(struct sl_dtls_dir *d, enum sl_cipher c, const uint8_t *key, size_t key_len,
		     const uint8_t *iv, size_t iv_len, uint16_t epoch, bool tx, uint32_t window);
void sl_dtls_dir_clear(struct sl_dtls_dir *d);

/*
 * Seal p's plaintext in place as one record of type with the next sequence
 * number (GCM's explicit nonce is that epoch || sequence, unless explicit is
 * given, 8 bytes). Needs SL_DTLS_HDR_LEN + 8 headroom and 16 tailroom.
 * SL_DROP_NONE, SL_DROP_TOOBIG (no room, or over 2^14 bytes) or SL_DROP_NOKEY
 * (sequence numbers used up: rekey, or an rx direction).
 */
enum sl_drop sl_dtls_seal(struct sl_dtls_dir *d, struct sl_pkt *p, uint8_t type,
			  const uint8_t *explicit_nonce);

/*
 * Open one record at p in place: header checked (application data, DTLS 1.2,
 * our epoch, length = the rest of the datagram), replay window, tag; then the
 * header, nonce and tag are cut off and p holds the plaintext.
 * SL_DROP_NONE, SL_DROP_MALFORMED, SL_DROP_NOKEY (another epoch),
 * SL_DROP_REPLAY or SL_DROP_AUTH; p is unchanged unless it is NONE.
 */
enum sl_drop sl_dtls_open(struct sl_dtls_dir *d, struct sl_pkt *p);

#endif
