/* SPDX-License-Identifier: MIT */
/*
 * ESP keys of the native protocol, from the TLS 1.3 exporter (RFC 8446
 * section 7.5, via SSL_export_keying_material):
 *
 *   ekm = Exporter("EXPORTER-sluice-esp", context = epoch as 4 bytes BE, 72)
 *
 *    0                32    36                68    72
 *   +-----------------+-----+-----------------+-----+
 *   | c2s key (32)    |salt | s2c key (32)    |salt |
 *   +-----------------+-----+-----------------+-----+
 *
 * A cipher with 16-byte keys uses the first 16 bytes of each key. Every TLS
 * session has its own exporter secret, so a new connection (a restart, a
 * reconnect) never reuses a key and so never a nonce; every epoch of one
 * session has its own context and so its own keys.
 */
#ifndef SL_CTL_NATIVE_KEYS_H
#define SL_CTL_NATIVE_KEYS_H

#include "crypto/aead.h"
#include "sluice/engine.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_NATIVE_EXPORTER_LABEL "EXPORTER-sluice-esp"
#define SL_NATIVE_EKM_LEN	 72

/* What both ends agree on for one epoch (all of it travels in CONFIG / REKEY). */
struct sl_native_sa {
	enum sl_cipher cipher;
	uint32_t epoch;
	uint32_t spi_c; /* the client's inbound SPI: s2c packets carry it */
	uint32_t spi_s; /* the server's inbound SPI: c2s packets carry it */
	bool server;	/* whose key pair to build */
};

/*
 * The key pair for one side from exporter bytes: the server receives c2s
 * with spi_s and sends s2c to spi_c; the client the reverse. key_id is the
 * epoch's low byte; ESN is always on. 0 or -EINVAL (unknown cipher, zero SPI).
 */
int sl_native_keys_from_ekm(const uint8_t ekm[SL_NATIVE_EKM_LEN], const struct sl_native_sa *sa,
			    struct sl_key_pair *out);
/* The same from an established TLS 1.3 connection. 0, -EINVAL or -EIO (exporter failed). */
int sl_native_keys_derive(SSL *ssl, const struct sl_native_sa *sa, struct sl_key_pair *out);

#endif
