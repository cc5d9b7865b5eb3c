/* SPDX-License-Identifier: MIT */
/*
 * AEAD contexts over OpenSSL 3 EVP. One context per key and direction,
 * made when the key is first used (not when installed: idle keys stay
 * small); per packet only the nonce changes.
 */
#ifndef SL_CRYPTO_AEAD_H
#define SL_CRYPTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sl_cipher {
	SL_CIPHER_AES128GCM = 0,
	SL_CIPHER_AES256GCM,
	SL_CIPHER_CHACHA20POLY1305,
	SL_CIPHER__COUNT
};

#define SL_AEAD_NONCE_LEN 12
#define SL_AEAD_TAG_MAX	  16
#define SL_AEAD_KEY_MAX	  32

/* "aes-128-gcm", "aes-256-gcm", "chacha20-poly1305" (case-insensitive). 0 or -EINVAL. */
int sl_cipher_from_name(const char *name, enum sl_cipher *out);
const char *sl_cipher_name(enum sl_cipher c);
size_t sl_cipher_key_len(enum sl_cipher c);

struct sl_aead;

/*
 * tag_len: 16 for all; AES-GCM also 8 or 12 (ESP ICV sizes).
 * Returns NULL on a bad argument or no memory. The OpenSSL context is made
 * by the first seal or open, so an OpenSSL failure shows there.
 */
struct sl_aead *sl_aead_new(enum sl_cipher c, const uint8_t *key, size_t key_len, size_t tag_len,
			    bool encrypt);
/* Frees the context; OpenSSL cleanses the key schedule. NULL is fine. */
void sl_aead_free(struct sl_aead *a);
size_t sl_aead_tag_len(const struct sl_aead *a);
/* Whether the OpenSSL context exists yet (a seal or open has run). */
bool sl_aead_has_context(const struct sl_aead *a);

/*
 * One piece of a plaintext that is not all in one place: len bytes from in
 * are encrypted to out (in == out: in place). Pieces follow each other in
 * the order given, as if they were one buffer.
 */
struct sl_aead_part {
	const uint8_t *in;
	uint8_t *out;
	size_t len;
};

/* Encrypt the pieces in order, each to its out, and write the tag. Returns 0 or -EIO. */
int sl_aead_seal_parts(struct sl_aead *a, const uint8_t nonce[SL_AEAD_NONCE_LEN],
		       const uint8_t *aad, size_t aad_len, const struct sl_aead_part *parts,
		       size_t nparts, uint8_t *tag);

/* Encrypt buf[0..len) in place and write the tag. Returns 0 or -EIO. */
static inline int sl_aead_seal(struct sl_aead *a, const uint8_t nonce[SL_AEAD_NONCE_LEN],
			       const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len,
			       uint8_t *tag)
{
	struct sl_aead_part whole = {buf, buf, len};

	return sl_aead_seal_parts(a, nonce, aad, aad_len, &whole, 1, tag);
}

/* Verify tag and decrypt in place. Returns 0 or -EBADMSG (nothing trustworthy in buf then). */
int sl_aead_open(struct sl_aead *a, const uint8_t nonce[SL_AEAD_NONCE_LEN], const uint8_t *aad,
		 size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag);

#endif
