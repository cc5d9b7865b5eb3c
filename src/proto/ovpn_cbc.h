/* SPDX-License-Identifier: MIT */
/*
 * The legacy OpenVPN data channel for servers without AEAD: AES-CBC with
 * an HMAC (openvpn:crypto.c openvpn_encrypt_v1, openvpn_decrypt_v1), in
 * place in a packet buffer:
 *
 *   | op|kid (+ peer-id, V2) | HMAC (md) | IV (16) | AES-CBC( packet-id (4) || payload || PKCS#7
 * pad ) | HMAC = HMAC-md(hmac key, IV || ciphertext)   (the header is not covered)
 *
 * Keys from the same key2 slots as AEAD (docs/protocols.md §2.8): the
 * cipher key is the head of cipher[], the HMAC key the first md-size bytes
 * of hmac[]. The IV is random per packet. Pure functions on buffers.
 */
#ifndef SL_PROTO_OVPN_CBC_H
#define SL_PROTO_OVPN_CBC_H

#include "core/drop.h"
#include "core/pkt.h"
#include "crypto/replay.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_CBC_IV_LEN 16
#define SL_OVPN_CBC_BLOCK  16
#define SL_OVPN_CBC_MD_MAX 64 /* SHA512 */
/* Most a CBC seal pushes in front (V2 header, SHA512, IV, packet-id) and appends (padding). */
#define SL_OVPN_CBC_HEADROOM (4 + SL_OVPN_CBC_MD_MAX + SL_OVPN_CBC_IV_LEN + 4)
#define SL_OVPN_CBC_TAILROOM SL_OVPN_CBC_BLOCK

struct sl_ovpn_cbc_sa {
	EVP_CIPHER_CTX *ctx; /* key set once; the IV per packet */
	char md[16];	     /* "SHA1", "SHA256", "SHA512" */
	size_t md_len;
	uint8_t hmac_key[SL_OVPN_CBC_MD_MAX];
	uint8_t key_id;
	uint32_t peer_id;   /* tx: V2 peer-id, or 0xFFFFFF for P_DATA_V1 */
	uint32_t packet_id; /* tx: last sent */
	bool tx;
	struct sl_replay replay; /* rx */
};

/*
 * cipher "AES-256-CBC" or "AES-128-CBC" (key_len 32 / 16), md an OpenSSL
 * digest name; hmac_key has md-size bytes. Returns 0, -EINVAL or -ENOMEM.
 */
int sl_ovpn_cbc_init(struct sl_ovpn_cbc_sa *sa, const char *cipher, const uint8_t *key,
		     const char *md, const uint8_t *hmac_key, uint8_t key_id, uint32_t peer_id,
		     bool tx, uint32_t window);
void sl_ovpn_cbc_clear(struct sl_ovpn_cbc_sa *sa);
/* Key length of a CBC cipher name, 0 if it is not one. */
size_t sl_ovpn_cbc_key_len(const char *cipher);

/* Same contracts as sl_ovpn_seal / sl_ovpn_open (proto/ovpn_data.h). */
enum sl_drop sl_ovpn_cbc_seal(struct sl_ovpn_cbc_sa *sa, struct sl_pkt *p);
enum sl_drop sl_ovpn_cbc_open(struct sl_ovpn_cbc_sa *sa, struct sl_pkt *p);

#endif
