/* SPDX-License-Identifier: MIT */
/*
 * Hand a finished OpenSSL DTLS 1.2 session's data keys to sluice's own record
 * layer (proto/dtls_record.h): the key block (RFC 5246 6.3) from the master
 * secret and the randoms, and the epoch and sequence numbers OpenSSL has
 * reached, read off every record header it writes or reads (its message
 * callback's SSL3_RT_HEADER), so our first record continues where OpenSSL
 * stopped and the peer's replay window takes it.
 *
 * The engine takes the pair (SL_WIRE_DTLS, sluice/engine_dtls.h); the
 * AnyConnect client does so after each handshake (ctl/anyconnect/dtls.c),
 * and `serve anyconnect` with dtls-datapath = engine (server_dtls.c).
 * After an export the caller must not let OpenSSL write on that session again
 * (its next record would reuse our sequence numbers).
 */
#ifndef SL_CTL_AC_DTLS_KEYS_H
#define SL_CTL_AC_DTLS_KEYS_H

#include "proto/dtls_record.h"
#include "sluice/engine_dtls.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

/* The last record header OpenSSL wrote and read on one SSL. */
struct sl_ac_dtls_seq {
	bool tx_seen, rx_seen;
	uint16_t tx_epoch, rx_epoch;
	uint64_t tx_seq, rx_seq; /* of that last record */
};

/* Install the message callback that fills s (before the handshake; s outlives ssl). */
void sl_ac_dtls_seq_track(SSL *ssl, struct sl_ac_dtls_seq *s);

/*
 * tx and rx for the session's current cipher (AES-128/256-GCM or
 * ChaCha20-Poly1305), this end's write keys in tx starting at the sequence
 * after the last one OpenSSL wrote in epoch 1 or later. 0, -EPROTO (no
 * finished handshake, or no epoch-1 record written yet), -EOPNOTSUPP (another
 * cipher), or sl_dtls_dir_init's error. The key material is wiped.
 */
/* The same as a key pair for the engine (sl_key_set_dtls); the caller wipes it. */
int sl_ac_dtls_key_pair(SSL *ssl, const struct sl_ac_dtls_seq *s, struct sl_dtls_key_pair *kp);

int sl_ac_dtls_export(SSL *ssl, const struct sl_ac_dtls_seq *s, struct sl_dtls_dir *tx,
		      struct sl_dtls_dir *rx, uint32_t window);

#endif
