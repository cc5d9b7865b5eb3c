// SPDX-License-Identifier: MIT
/*
 * AEAD over OpenSSL 3 EVP. The cipher is fetched and the key schedule made
 * once per key; per packet we only re-initialise with the nonce, so sealing
 * or opening a packet allocates nothing and logs nothing.
 *
 * The OpenSSL context (about 1.1 KiB for AES-256-GCM, its key schedule and
 * GHASH tables) is made when the key is first used, not when it is
 * installed: a server with many idle peers (keys installed, nothing sent or
 * received yet) would otherwise spend most of its memory on contexts no
 * packet has touched. Until then the key waits here (cleansed once the
 * context holds it, or on free). So the first packet of each key and
 * direction allocates once; if that fails, the call fails as an OpenSSL
 * error would, and the next packet tries again.
 */
#include "crypto/aead.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sl_aead {
	EVP_CIPHER_CTX *ctx; /* NULL until the first seal or open */
	uint8_t cipher;	     /* enum sl_cipher */
	uint8_t tag_len;
	bool encrypt;
	uint8_t key[SL_AEAD_KEY_MAX]; /* until ctx exists; zero after */
};

struct cipher_info {
	const char *name;
	size_t key_len;
	const EVP_CIPHER *(*evp)(void);
	bool short_tags; /* GCM allows 8- and 12-byte ICVs (RFC 4106 §6) */
};

static const struct cipher_info ciphers[SL_CIPHER__COUNT] = {
	[SL_CIPHER_AES128GCM] = {"aes-128-gcm", 16, EVP_aes_128_gcm, true},
	[SL_CIPHER_AES256GCM] = {"aes-256-gcm", 32, EVP_aes_256_gcm, true},
	[SL_CIPHER_CHACHA20POLY1305] = {"chacha20-poly1305", 32, EVP_chacha20_poly1305, false},
};

static const struct cipher_info *cipher_info(enum sl_cipher c)
{
	if ((unsigned)c >= SL_CIPHER__COUNT)
		return NULL;
	return &ciphers[c];
}

int sl_cipher_from_name(const char *name, enum sl_cipher *out)
{
	for (int c = 0; c < SL_CIPHER__COUNT; c++) {
		if (strcasecmp(name, ciphers[c].name) == 0) {
			*out = (enum sl_cipher)c;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sl_cipher_name(enum sl_cipher c)
{
	const struct cipher_info *ci = cipher_info(c);

	return ci ? ci->name : "invalid";
}

size_t sl_cipher_key_len(enum sl_cipher c)
{
	const struct cipher_info *ci = cipher_info(c);

	return ci ? ci->key_len : 0;
}

static bool tag_len_valid(const struct cipher_info *ci, size_t tag_len)
{
	return tag_len == 16 || (ci->short_tags && (tag_len == 8 || tag_len == 12));
}

struct sl_aead *sl_aead_new(enum sl_cipher c, const uint8_t *key, size_t key_len, size_t tag_len,
			    bool encrypt)
{
	const struct cipher_info *ci = cipher_info(c);
	struct sl_aead *a;

	if (!ci || !key || key_len != ci->key_len || !tag_len_valid(ci, tag_len))
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->cipher = (uint8_t)c;
	a->tag_len = (uint8_t)tag_len;
	a->encrypt = encrypt;
	memcpy(a->key, key, key_len);
	return a;
}

/* The context, made on first use from the waiting key; false if OpenSSL could not. */
static bool ready(struct sl_aead *a)
{
	EVP_CIPHER_CTX *ctx;

	if (a->ctx)
		return true;
	ctx = EVP_CIPHER_CTX_new();
	/* Both ciphers default to the 12-byte nonce ESP uses, so no SET_IVLEN is needed. */
	if (!ctx ||
	    !EVP_CipherInit_ex(ctx, ciphers[a->cipher].evp(), NULL, a->key, NULL, a->encrypt)) {
		EVP_CIPHER_CTX_free(ctx);
		return false;
	}
	a->ctx = ctx;
	OPENSSL_cleanse(a->key, sizeof(a->key));
	return true;
}

void sl_aead_free(struct sl_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

bool sl_aead_has_context(const struct sl_aead *a)
{
	return a->ctx != NULL;
}

size_t sl_aead_tag_len(const struct sl_aead *a)
{
	return a->tag_len;
}

/* Nonce, AAD, then the body piece by piece: the steps sealing and opening share. */
static bool start(struct sl_aead *a, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		  const struct sl_aead_part *parts, size_t nparts)
{
	int outl;

	if (aad_len > INT_MAX || !ready(a))
		return false;
	if (!EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, nonce, a->encrypt))
		return false;
	if (aad_len && !EVP_CipherUpdate(a->ctx, NULL, &outl, aad, (int)aad_len))
		return false;
	for (size_t i = 0; i < nparts; i++)
		if (parts[i].len &&
		    (parts[i].len > INT_MAX || !EVP_CipherUpdate(a->ctx, parts[i].out, &outl,
								 parts[i].in, (int)parts[i].len)))
			return false;
	return true;
}

int sl_aead_seal_parts(struct sl_aead *a, const uint8_t nonce[SL_AEAD_NONCE_LEN],
		       const uint8_t *aad, size_t aad_len, const struct sl_aead_part *parts,
		       size_t nparts, uint8_t *tag)
{
	uint8_t none[1];
	int outl;

	if (!a->encrypt || !start(a, nonce, aad, aad_len, parts, nparts))
		return -EIO;
	/* Stream-mode AEADs emit nothing at Final. */
	if (!EVP_CipherFinal_ex(a->ctx, none, &outl) ||
	    !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_GET_TAG, a->tag_len, tag))
		return -EIO;
	return 0;
}

int sl_aead_open(struct sl_aead *a, const uint8_t nonce[SL_AEAD_NONCE_LEN], const uint8_t *aad,
		 size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	struct sl_aead_part whole = {buf, buf, len};
	int outl;

	if (a->encrypt || !start(a, nonce, aad, aad_len, &whole, 1))
		return -EBADMSG;
	/* OpenSSL copies the tag; the cast only satisfies the void * of the ctrl API. */
	if (!EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, a->tag_len, (void *)tag) ||
	    EVP_CipherFinal_ex(a->ctx, buf + len, &outl) <= 0)
		return -EBADMSG;
	return 0;
}
