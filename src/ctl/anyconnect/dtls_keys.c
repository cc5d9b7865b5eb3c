// SPDX-License-Identifier: MIT
#include "ctl/anyconnect/dtls_keys.h"

#include "crypto/aead.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <string.h>

static uint64_t be48(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | b[i];
	return v;
}

static void on_msg(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	struct sl_ac_dtls_seq *s = arg;
	const uint8_t *h = buf;

	(void)version;
	(void)ssl;
	if (content_type != SSL3_RT_HEADER || len < SL_DTLS_HDR_LEN)
		return;
	if (write_p) {
		s->tx_seen = true;
		s->tx_epoch = (uint16_t)(h[3] << 8 | h[4]);
		s->tx_seq = be48(h + 5);
	} else {
		s->rx_seen = true;
		s->rx_epoch = (uint16_t)(h[3] << 8 | h[4]);
		s->rx_seq = be48(h + 5);
	}
}

void sl_ac_dtls_seq_track(SSL *ssl, struct sl_ac_dtls_seq *s)
{
	memset(s, 0, sizeof(*s));
	SSL_set_msg_callback(ssl, on_msg);
	SSL_set_msg_callback_arg(ssl, s);
}

struct suite_keys {
	enum sl_cipher cipher;
	size_t key_len, iv_len;
};

static int suite_keys(const SSL_CIPHER *c, struct suite_keys *k)
{
	switch (SSL_CIPHER_get_cipher_nid(c)) {
	case NID_aes_128_gcm:
		*k = (struct suite_keys){SL_CIPHER_AES128GCM, 16, 4};
		return 0;
	case NID_aes_256_gcm:
		*k = (struct suite_keys){SL_CIPHER_AES256GCM, 32, 4};
		return 0;
	case NID_chacha20_poly1305:
		*k = (struct suite_keys){SL_CIPHER_CHACHA20POLY1305, 32, 12};
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* RFC 5246 6.3: key_block = PRF(master, "key expansion", server_random || client_random). */
static int key_block(SSL *ssl, const char *digest, uint8_t *out, size_t len)
{
	uint8_t master[48], seed[13 + 64];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int r = -EPROTO;

	if (k && SSL_SESSION_get_master_key(SSL_get_session(ssl), master, 48) == 48 &&
	    SSL_get_server_random(ssl, seed + 13, 32) == 32 &&
	    SSL_get_client_random(ssl, seed + 45, 32) == 32) {
		memcpy(seed, "key expansion", 13);
		params[0] =
			OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, 48);
		params[2] =
			OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed));
		params[3] = OSSL_PARAM_construct_end();
		if (EVP_KDF_derive(k, out, len, params) == 1)
			r = 0;
	}
	OPENSSL_cleanse(master, sizeof(master));
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return r;
}

int sl_ac_dtls_key_pair(SSL *ssl, const struct sl_ac_dtls_seq *s, struct sl_dtls_key_pair *kp)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
	uint8_t kb[2 * 32 + 2 * 12];
	const uint8_t *ck, *sk, *civ, *siv;
	struct suite_keys k;
	bool server = SSL_is_server(ssl) == 1;
	int r;

	if (!SSL_is_init_finished(ssl) || !md || !s->tx_seen || s->tx_epoch < 1 ||
	    s->tx_seq + 1 >= SL_DTLS_SEQ_MAX)
		return -EPROTO;
	r = suite_keys(c, &k);
	if (r)
		return r;
	r = key_block(ssl, EVP_MD_get0_name(md), kb, 2 * k.key_len + 2 * k.iv_len);
	if (r)
		goto out;
	ck = kb;
	sk = kb + k.key_len;
	civ = kb + 2 * k.key_len;
	siv = civ + k.iv_len;
	memset(kp, 0, sizeof(*kp));
	kp->cipher = k.cipher;
	kp->epoch = s->tx_epoch;
	kp->tx_seq = s->tx_seq + 1;
	memcpy(kp->tx.key, server ? sk : ck, k.key_len);
	memcpy(kp->rx.key, server ? ck : sk, k.key_len);
	memcpy(kp->tx.iv, server ? siv : civ, k.iv_len);
	memcpy(kp->rx.iv, server ? civ : siv, k.iv_len);
out:
	OPENSSL_cleanse(kb, sizeof(kb));
	return r;
}

int sl_ac_dtls_export(SSL *ssl, const struct sl_ac_dtls_seq *s, struct sl_dtls_dir *tx,
		      struct sl_dtls_dir *rx, uint32_t window)
{
	struct sl_dtls_key_pair kp;
	size_t klen, ivlen;
	int r = sl_ac_dtls_key_pair(ssl, s, &kp);

	if (r)
		return r;
	klen = sl_cipher_key_len(kp.cipher);
	ivlen = kp.cipher == SL_CIPHER_CHACHA20POLY1305 ? 12 : 4;
	r = sl_dtls_dir_init(tx, kp.cipher, kp.tx.key, klen, kp.tx.iv, ivlen, kp.epoch, true, 0);
	if (r)
		goto out;
	tx->seq = kp.tx_seq;
	r = sl_dtls_dir_init(rx, kp.cipher, kp.rx.key, klen, kp.rx.iv, ivlen, kp.epoch, false,
			     window);
	if (r)
		sl_dtls_dir_clear(tx);
out:
	OPENSSL_cleanse(&kp, sizeof(kp));
	return r;
}
