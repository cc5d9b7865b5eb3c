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
 *
 * Per packet OpenSSL 3.0 spends much of a short packet's time not on
 * cryptography but on its parameter machinery: every EVP_CIPHER_CTX_ctrl
 * is translated into an OSSL_PARAM array that the provider then searches by
 * name (strcmp per known parameter). The tag is therefore passed as the
 * OSSL_PARAM itself (EVP_CIPHER_CTX_get_params/set_params), which skips the
 * ctrl translation; the provider's own search remains. The nonce still goes
 * through EVP_CipherInit_ex2: OpenSSL 3.0 has no other public way to set a
 * GCM or ChaCha20-Poly1305 nonce, and it asks the provider for the IV length
 * each time (3.1 and later cache it). docs/performance.md has the figures.
 *
 * The EVP_CIPHERs are fetched once per process, not by each context: an
 * implicit fetch through EVP_aes_256_gcm() looks the cipher up in the
 * provider store (and the ENGINE table) every time a context is made.
 */
#include "crypto/aead.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
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
	const char *name; /* ours, and OpenSSL's for EVP_CIPHER_fetch */
	size_t key_len;
	bool short_tags; /* GCM allows 8- and 12-byte ICVs (RFC 4106 §6) */
};

static const struct cipher_info ciphers[SL_CIPHER__COUNT] = {
	[SL_CIPHER_AES128GCM] = {"aes-128-gcm", 16, true},
	[SL_CIPHER_AES256GCM] = {"aes-256-gcm", 32, true},
	[SL_CIPHER_CHACHA20POLY1305] = {"chacha20-poly1305", 32, false},
};

/* Fetched once, kept for the life of the process; NULL if the provider lacks one. */
static EVP_CIPHER *fetched[SL_CIPHER__COUNT];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	for (int c = 0; c < SL_CIPHER__COUNT; c++)
		fetched[c] = EVP_CIPHER_fetch(NULL, ciphers[c].name, NULL);
}

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
	pthread_once(&fetch_once, fetch_all);
	if (!fetched[a->cipher])
		return false;
	ctx = EVP_CIPHER_CTX_new();
	/* Both ciphers default to the 12-byte nonce ESP uses, so no SET_IVLEN is needed. */
	if (!ctx || !EVP_CipherInit_ex2(ctx, fetched[a->cipher], a->key, NULL, a->encrypt, NULL)) {
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
	if (!EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, a->encrypt, NULL))
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
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, a->tag_len),
		OSSL_PARAM_construct_end(),
	};
	uint8_t none[1];
	int outl;

	if (!a->encrypt || !start(a, nonce, aad, aad_len, parts, nparts))
		return -EIO;
	/* Stream-mode AEADs emit nothing at Final. */
	if (!EVP_CipherFinal_ex(a->ctx, none, &outl) || !EVP_CIPHER_CTX_get_params(a->ctx, p))
		return -EIO;
	return 0;
}

int sl_aead_open(struct sl_aead *a, const uint8_t nonce[SL_AEAD_NONCE_LEN], const uint8_t *aad,
		 size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	/* OpenSSL copies the tag; the cast only satisfies the void * of OSSL_PARAM. */
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag,
						  a->tag_len),
		OSSL_PARAM_construct_end(),
	};
	struct sl_aead_part whole = {buf, buf, len};
	int outl;

	if (a->encrypt || !start(a, nonce, aad, aad_len, &whole, 1))
		return -EBADMSG;
	if (!EVP_CIPHER_CTX_set_params(a->ctx, p) ||
	    EVP_CipherFinal_ex(a->ctx, buf + len, &outl) <= 0)
		return -EBADMSG;
	return 0;
}
