// SPDX-License-Identifier: MIT
/* DTLS 1.2 AEAD records: seal and open in place (RFC 6347, RFC 5288, RFC 7905). */
#include "proto/dtls_record.h"

#include "core/bytes.h"

#include <errno.h>
#include <string.h>

#define PLAINTEXT_MAX 16384 /* RFC 6347 4.1 / RFC 5246 6.2.1: 2^14 */

static bool is_gcm(enum sl_cipher c)
{
	return c == SL_CIPHER_AES128GCM || c == SL_CIPHER_AES256GCM;
}

int sl_dtls_dir_init(struct sl_dtls_dir *d, enum sl_cipher c, const uint8_t *key, size_t key_len,
		     const uint8_t *iv, size_t iv_len, uint16_t epoch, bool tx, uint32_t window)
{
	int r;

	memset(d, 0, sizeof(*d));
	if (c >= SL_CIPHER__COUNT || key_len != sl_cipher_key_len(c) ||
	    iv_len != (is_gcm(c) ? 4u : 12u))
		return -EINVAL;
	r = sl_keydir_init(&d->dir, c, key, key_len, SL_DTLS_TAG_LEN, tx, window);
	if (r < 0)
		return r;
	d->cipher = c;
	memcpy(d->iv, iv, iv_len);
	d->epoch = epoch;
	return 0;
}

void sl_dtls_dir_clear(struct sl_dtls_dir *d)
{
	sl_keydir_clear(&d->dir);
	memset(d, 0, sizeof(*d));
}

/* epoch || 48-bit sequence, the record's 8-byte sequence field and the AAD's start. */
static void put_seq(uint8_t *b, uint16_t epoch, uint64_t seq)
{
	sl_put_be16(b, epoch);
	sl_put_be16(b + 2, (uint16_t)(seq >> 32));
	sl_put_be32(b + 4, (uint32_t)seq);
}

static void make_nonce(const struct sl_dtls_dir *d, const uint8_t *seq8, const uint8_t *explicit8,
		       uint8_t nonce[SL_AEAD_NONCE_LEN])
{
	if (is_gcm(d->cipher)) {
		memcpy(nonce, d->iv, 4);
		memcpy(nonce + 4, explicit8, 8);
		return;
	}
	memcpy(nonce, d->iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= seq8[i];
}

static void make_aad(uint8_t aad[13], const uint8_t *seq8, uint8_t type, uint16_t len)
{
	memcpy(aad, seq8, 8);
	aad[8] = type;
	sl_put_be16(aad + 9, SL_DTLS_VERSION_1_2);
	sl_put_be16(aad + 11, len);
}

enum sl_drop sl_dtls_seal(struct sl_dtls_dir *d, struct sl_pkt *p, uint8_t type,
			  const uint8_t *explicit_nonce)
{
	uint32_t plen = p->len, explicit = is_gcm(d->cipher) ? SL_DTLS_EXPLICIT_LEN : 0;
	uint8_t seq8[8], aad[13], nonce[SL_AEAD_NONCE_LEN], *tag, *h;

	if (!sl_keydir_is_tx(&d->dir) || d->seq > SL_DTLS_SEQ_MAX)
		return SL_DROP_NOKEY;
	if (plen > PLAINTEXT_MAX || sl_pkt_headroom(p) < SL_DTLS_HDR_LEN + explicit ||
	    sl_pkt_tailroom(p) < SL_DTLS_TAG_LEN)
		return SL_DROP_TOOBIG;
	put_seq(seq8, d->epoch, d->seq);
	make_aad(aad, seq8, type, (uint16_t)plen);
	make_nonce(d, seq8, explicit_nonce ? explicit_nonce : seq8, nonce);
	tag = p->data + plen;
	if (sl_aead_seal(d->dir.aead, nonce, aad, sizeof(aad), p->data, plen, tag) < 0)
		return SL_DROP_NOKEY;
	sl_pkt_put(p, SL_DTLS_TAG_LEN);
	if (explicit)
		memcpy(sl_pkt_push(p, explicit), nonce + 4, explicit);
	h = sl_pkt_push(p, SL_DTLS_HDR_LEN);
	h[0] = type;
	sl_put_be16(h + 1, SL_DTLS_VERSION_1_2);
	memcpy(h + 3, seq8, 8);
	sl_put_be16(h + 11, (uint16_t)(p->len - SL_DTLS_HDR_LEN));
	d->seq++;
	return SL_DROP_NONE;
}

enum sl_drop sl_dtls_open(struct sl_dtls_dir *d, struct sl_pkt *p)
{
	uint32_t explicit = is_gcm(d->cipher) ? SL_DTLS_EXPLICIT_LEN : 0, clen;
	uint8_t aad[13], nonce[SL_AEAD_NONCE_LEN];
	const uint8_t *h = p->data;
	uint64_t seq;
	uint8_t *ct;

	if (!sl_keydir_is_rx(&d->dir))
		return SL_DROP_NOKEY;
	if (p->len < SL_DTLS_HDR_LEN + explicit + SL_DTLS_TAG_LEN || h[0] != SL_DTLS_APP_DATA ||
	    sl_get_be16(h + 1) != SL_DTLS_VERSION_1_2 ||
	    sl_get_be16(h + 11) != p->len - SL_DTLS_HDR_LEN)
		return SL_DROP_MALFORMED;
	if (sl_get_be16(h + 3) != d->epoch)
		return SL_DROP_NOKEY;
	seq = (uint64_t)sl_get_be16(h + 5) << 32 | sl_get_be32(h + 7);
	/* the window counts from 1 (ESP's first sequence number); DTLS's is 0 */
	if (!sl_replay_check(&d->dir.replay, seq + 1))
		return SL_DROP_REPLAY;
	clen = p->len - SL_DTLS_HDR_LEN - explicit - SL_DTLS_TAG_LEN;
	if (clen > PLAINTEXT_MAX)
		return SL_DROP_MALFORMED;
	make_aad(aad, h + 3, h[0], (uint16_t)clen);
	make_nonce(d, h + 3, h + SL_DTLS_HDR_LEN, nonce);
	ct = p->data + SL_DTLS_HDR_LEN + explicit;
	if (sl_aead_open(d->dir.aead, nonce, aad, sizeof(aad), ct, clen, ct + clen) < 0)
		return SL_DROP_AUTH;
	sl_replay_update(&d->dir.replay, seq + 1);
	sl_pkt_pull(p, SL_DTLS_HDR_LEN + explicit);
	sl_pkt_trim(p, SL_DTLS_TAG_LEN);
	return SL_DROP_NONE;
}
