// SPDX-License-Identifier: MIT
/* OpenVPN AES-CBC + HMAC data packets (layout in ovpn_cbc.h). */
#include "proto/ovpn_cbc.h"

#include "core/bytes.h"
#include "proto/ovpn_data.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

size_t sl_ovpn_cbc_key_len(const char *cipher)
{
	if (!strcasecmp(cipher, "AES-256-CBC"))
		return 32;
	if (!strcasecmp(cipher, "AES-128-CBC"))
		return 16;
	return 0;
}

int sl_ovpn_cbc_init(struct sl_ovpn_cbc_sa *sa, const char *cipher, const uint8_t *key,
		     const char *md, const uint8_t *hmac_key, uint8_t key_id, uint32_t peer_id,
		     bool tx, uint32_t window)
{
	size_t klen = sl_ovpn_cbc_key_len(cipher);
	const EVP_MD *m = EVP_get_digestbyname(md);
	int sz = m ? EVP_MD_get_size(m) : 0;

	memset(sa, 0, sizeof(*sa));
	if (!klen || sz <= 0 || sz > SL_OVPN_CBC_MD_MAX || strlen(md) >= sizeof(sa->md) ||
	    key_id > SL_OVPN_KEY_ID_MAX || peer_id > SL_OVPN_PEER_ID_NONE)
		return -EINVAL;
	sa->ctx = EVP_CIPHER_CTX_new();
	if (!sa->ctx)
		return -ENOMEM;
	if (!EVP_CipherInit_ex(sa->ctx, klen == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc(), NULL,
			       key, NULL, tx) ||
	    !EVP_CIPHER_CTX_set_padding(sa->ctx, 0)) {
		sl_ovpn_cbc_clear(sa);
		return -EINVAL;
	}
	if (!tx && sl_replay_init(&sa->replay, window) < 0) {
		sl_ovpn_cbc_clear(sa);
		return -ENOMEM;
	}
	strcpy(sa->md, md);
	sa->md_len = (size_t)sz;
	memcpy(sa->hmac_key, hmac_key, sa->md_len);
	sa->key_id = key_id;
	sa->peer_id = peer_id;
	sa->tx = tx;
	return 0;
}

void sl_ovpn_cbc_clear(struct sl_ovpn_cbc_sa *sa)
{
	EVP_CIPHER_CTX_free(sa->ctx);
	sl_replay_free(&sa->replay);
	OPENSSL_cleanse(sa, sizeof(*sa));
}

static int hmac(const struct sl_ovpn_cbc_sa *sa, const uint8_t *d, size_t n, uint8_t *out)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *h = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[2];
	size_t len = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)sa->md, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = h && EVP_MAC_init(h, sa->hmac_key, sa->md_len, params) && EVP_MAC_update(h, d, n) &&
	     EVP_MAC_final(h, out, &len, SL_OVPN_CBC_MD_MAX);
	EVP_MAC_CTX_free(h);
	EVP_MAC_free(m);
	return ok && len == sa->md_len ? 0 : -EIO;
}

static int cbc(struct sl_ovpn_cbc_sa *sa, const uint8_t *iv, uint8_t *d, size_t n)
{
	int out = 0;

	return EVP_CipherInit_ex(sa->ctx, NULL, NULL, NULL, iv, sa->tx) &&
			       EVP_CipherUpdate(sa->ctx, d, &out, d, (int)n) && (size_t)out == n
		       ? 0
		       : -EIO;
}

static bool sends_v2(const struct sl_ovpn_cbc_sa *sa)
{
	return sa->peer_id != SL_OVPN_PEER_ID_NONE;
}

enum sl_drop sl_ovpn_cbc_seal(struct sl_ovpn_cbc_sa *sa, struct sl_pkt *p)
{
	uint32_t hdr_len = sends_v2(sa) ? 4 : 1, n = p->len, pad, ct_len;
	uint8_t *pid, *pad_at, *iv, *mac, *hdr;

	if (!sa->tx || !sa->ctx)
		return SL_DROP_NOKEY;
	if (!n)
		return SL_DROP_MALFORMED;
	pad = SL_OVPN_CBC_BLOCK - (n + 4) % SL_OVPN_CBC_BLOCK;
	if (sl_pkt_headroom(p) < hdr_len + sa->md_len + SL_OVPN_CBC_IV_LEN + 4 ||
	    sl_pkt_tailroom(p) < pad)
		return SL_DROP_TOOBIG;
	if (sa->packet_id == UINT32_MAX)
		return SL_DROP_NOKEY;
	pid = sl_pkt_push(p, 4);
	sl_put_be32(pid, ++sa->packet_id);
	pad_at = sl_pkt_put(p, pad);
	memset(pad_at, (int)pad, pad);
	ct_len = p->len;
	iv = sl_pkt_push(p, SL_OVPN_CBC_IV_LEN);
	if (RAND_bytes(iv, SL_OVPN_CBC_IV_LEN) != 1 || cbc(sa, iv, iv + SL_OVPN_CBC_IV_LEN, ct_len))
		goto fail;
	mac = sl_pkt_push(p, (uint32_t)sa->md_len);
	if (hmac(sa, iv, SL_OVPN_CBC_IV_LEN + ct_len, mac))
		goto fail;
	hdr = sl_pkt_push(p, hdr_len);
	if (hdr_len == 4)
		sl_put_be32(hdr, (uint32_t)sl_ovpn_op_byte(SL_OVPN_P_DATA_V2, sa->key_id) << 24 |
					 sa->peer_id);
	else
		hdr[0] = sl_ovpn_op_byte(SL_OVPN_P_DATA_V1, sa->key_id);
	return SL_DROP_NONE;
fail:
	/* The buffer now holds neither the input nor a packet: the caller drops it. */
	return SL_DROP_NOKEY;
}

enum sl_drop sl_ovpn_cbc_open(struct sl_ovpn_cbc_sa *sa, struct sl_pkt *p)
{
	uint8_t want[SL_OVPN_CBC_MD_MAX], *d = p->data, *iv, *ct, pad;
	uint32_t hdr_len, ct_len, packet_id;
	uint8_t op;

	if (sa->tx || !sa->ctx)
		return SL_DROP_NOKEY;
	if (p->len < 1)
		return SL_DROP_MALFORMED;
	op = sl_ovpn_opcode(d[0]);
	if (op != SL_OVPN_P_DATA_V1 && op != SL_OVPN_P_DATA_V2)
		return SL_DROP_MALFORMED;
	if (sl_ovpn_key_id(d[0]) != sa->key_id)
		return SL_DROP_NOKEY;
	hdr_len = op == SL_OVPN_P_DATA_V2 ? 4 : 1;
	if (p->len < hdr_len + sa->md_len + SL_OVPN_CBC_IV_LEN + SL_OVPN_CBC_BLOCK)
		return SL_DROP_MALFORMED;
	iv = d + hdr_len + sa->md_len;
	ct = iv + SL_OVPN_CBC_IV_LEN;
	ct_len = p->len - (uint32_t)(ct - d);
	if (ct_len % SL_OVPN_CBC_BLOCK)
		return SL_DROP_MALFORMED;
	if (hmac(sa, iv, SL_OVPN_CBC_IV_LEN + ct_len, want) ||
	    CRYPTO_memcmp(want, d + hdr_len, sa->md_len))
		return SL_DROP_AUTH;
	if (cbc(sa, iv, ct, ct_len))
		return SL_DROP_AUTH;
	pad = ct[ct_len - 1];
	if (!pad || pad > SL_OVPN_CBC_BLOCK || pad + 4u > ct_len)
		return SL_DROP_MALFORMED;
	for (uint32_t i = 1; i <= pad; i++)
		if (ct[ct_len - i] != pad)
			return SL_DROP_MALFORMED;
	packet_id = sl_get_be32(ct);
	if (!sl_replay_update(&sa->replay, packet_id))
		return SL_DROP_REPLAY;
	sl_pkt_pull(p, (uint32_t)(ct - d) + 4);
	p->len -= pad;
	return SL_DROP_NONE;
}
