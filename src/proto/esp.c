// SPDX-License-Identifier: MIT
/*
 * ESP with AEAD transforms (RFC 4303, RFC 4106, RFC 7634), sealed and opened
 * in place in a packet buffer:
 *
 *   0       4          8                 16
 *   | SPI   | seq low  | IV (= seq, BE)  | payload ... | pad 1,2,.. | padlen | nh | ICV |
 *                                        |<------------ encrypted ------------->|
 *   AAD   = SPI || seq low                (8 bytes)
 *         = SPI || seq high || seq low    (12 bytes, ESN; seq high is not sent)
 *   nonce = salt (4) || IV (8)
 *
 * payload + padding + 2 ends on a 4-byte boundary (RFC 4303 §2.4).
 */
#include "proto/esp.h"

#include "core/bytes.h"
#include "proto/proto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#define ESP_ICV_LEN	16
#define ESP_TRAILER_MIN 2 /* pad length + next header */
#define ESP_AAD_MAX	12
#define ESP_SEQ_MAX_32	0xFFFFFFFFull

const struct sl_proto_ops sl_proto_esp = {"esp", SL_ESP_HEADROOM, SL_ESP_TAILROOM};

int sl_esp_sa_init(struct sl_esp_sa *sa, enum sl_cipher c, const uint8_t *key, size_t key_len,
		   const uint8_t salt[SL_ESP_SALT_LEN], uint32_t spi, bool esn, bool tx,
		   uint32_t window)
{
	int r;

	memset(sa, 0, sizeof(*sa));
	if (spi == 0 || !salt || !key || key_len != sl_cipher_key_len(c))
		return -EINVAL;
	r = sl_keydir_init(&sa->dir, c, key, key_len, ESP_ICV_LEN, tx, window);
	if (r < 0)
		return r;
	sa->spi = spi;
	sa->esn = esn;
	memcpy(sa->salt, salt, SL_ESP_SALT_LEN);
	return 0;
}

void sl_esp_sa_clear(struct sl_esp_sa *sa)
{
	sl_keydir_clear(&sa->dir);
	OPENSSL_cleanse(sa, sizeof(*sa));
}

static uint64_t seq_max(const struct sl_esp_sa *sa)
{
	return sa->esn ? UINT64_MAX : ESP_SEQ_MAX_32;
}

static size_t make_aad(const struct sl_esp_sa *sa, uint64_t seq, uint8_t aad[ESP_AAD_MAX])
{
	sl_put_be32(aad, sa->spi);
	if (!sa->esn) {
		sl_put_be32(aad + 4, (uint32_t)seq);
		return 8;
	}
	sl_put_be64(aad + 4, seq);
	return 12;
}

static void make_nonce(const struct sl_esp_sa *sa, const uint8_t *iv,
		       uint8_t nonce[SL_AEAD_NONCE_LEN])
{
	memcpy(nonce, sa->salt, SL_ESP_SALT_LEN);
	memcpy(nonce + SL_ESP_SALT_LEN, iv, SL_ESP_IV_LEN);
}

static uint32_t pad_len_for(uint32_t payload_len)
{
	return (4 - (payload_len + ESP_TRAILER_MIN) % 4) % 4;
}

static void write_trailer(uint8_t *t, uint32_t pad_len, uint8_t next_header)
{
	for (uint32_t i = 0; i < pad_len; i++)
		t[i] = (uint8_t)(i + 1);
	t[pad_len] = (uint8_t)pad_len;
	t[pad_len + 1] = next_header;
}

/*
 * iv NULL: the IV is the sequence number, which makes it unique per key.
 * ext: ext_len more bytes of plaintext that follow p's data but are not in p
 * yet; they are encrypted from where they are into p (the copy and the
 * encryption are one pass). With ext_room for the trailer after them, the
 * trailer is put there for the time of the encryption, so a packet with no
 * data of its own in p is encrypted in one piece.
 */
static enum sl_drop seal(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t *ext, uint32_t ext_len,
			 uint32_t ext_room, uint8_t next_header, const uint8_t *iv)
{
	uint32_t own_len = p->len, body_len = p->len + ext_len;
	uint32_t pad_len = pad_len_for(body_len), trailer_len = pad_len + ESP_TRAILER_MIN;
	uint32_t grow = ext_len + trailer_len + ESP_ICV_LEN;
	uint32_t plain_len = body_len + trailer_len;
	/* Room for the longest trailer: the bytes kept are a fixed-size copy, not a byte loop. */
	bool borrow = ext && ext_room >= SL_ESP_TRAILER_MAX;
	uint8_t nonce[SL_AEAD_NONCE_LEN], aad[ESP_AAD_MAX], kept[SL_ESP_TRAILER_MAX];
	struct sl_aead_part parts[3];
	uint8_t *hdr, *body;
	uint64_t seq;
	size_t aad_len;
	int r;

	if (!sl_keydir_is_tx(&sa->dir))
		return SL_DROP_NOKEY;
	if (sl_pkt_headroom(p) < SL_ESP_HDR_LEN || sl_pkt_tailroom(p) < grow)
		return SL_DROP_TOOBIG;
	if (sa->shared_seq) {
		/*
		 * Uniqueness is all ESP needs: relaxed. Compare-and-swap rather than fetch-add so
		 * that the counter stops at its end (with ESN a fetch-add would wrap to 0 and hand
		 * out 1 again).
		 */
		uint64_t cur = atomic_load_explicit(sa->shared_seq, memory_order_relaxed);

		do {
			if (cur >= seq_max(sa))
				return SL_DROP_NOKEY;
		} while (!atomic_compare_exchange_weak_explicit(
			sa->shared_seq, &cur, cur + 1, memory_order_relaxed, memory_order_relaxed));
		seq = cur + 1;
	} else if (sa->seq >= seq_max(sa)) {
		return SL_DROP_NOKEY;
	} else {
		seq = ++sa->seq;
	}
	sl_pkt_put(p, grow);
	hdr = sl_pkt_push(p, SL_ESP_HDR_LEN);
	body = hdr + SL_ESP_HDR_LEN;
	sl_put_be32(hdr, sa->spi);
	sl_put_be32(hdr + 4, (uint32_t)seq);
	if (iv)
		memcpy(hdr + 8, iv, SL_ESP_IV_LEN);
	else
		sl_put_be64(hdr + 8, seq);
	make_nonce(sa, hdr + 8, nonce);
	aad_len = make_aad(sa, seq, aad);
	parts[0] = (struct sl_aead_part){body, body, own_len};
	if (borrow) {
		memcpy(kept, ext + ext_len, sizeof(kept));
		write_trailer(ext + ext_len, pad_len, next_header);
		parts[1] = (struct sl_aead_part){ext, body + own_len, ext_len + trailer_len};
		parts[2] = (struct sl_aead_part){NULL, NULL, 0};
	} else {
		write_trailer(body + body_len, pad_len, next_header);
		parts[1] = (struct sl_aead_part){ext, body + own_len, ext_len};
		parts[2] = (struct sl_aead_part){body + body_len, body + body_len, trailer_len};
	}
	r = sl_aead_seal_parts(sa->dir.aead, nonce, aad, aad_len, parts, 3, body + plain_len);
	if (borrow)
		memcpy(ext + ext_len, kept, sizeof(kept));
	if (r < 0) {
		/* The key context is unusable; the sequence number stays spent. */
		sl_pkt_pull(p, SL_ESP_HDR_LEN);
		sl_pkt_trim(p, grow);
		return SL_DROP_NOKEY;
	}
	return SL_DROP_NONE;
}

enum sl_drop sl_esp_seal(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t next_header)
{
	return seal(sa, p, NULL, 0, 0, next_header, NULL);
}

enum sl_drop sl_esp_seal_ext(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t *ext, uint32_t ext_len,
			     uint32_t ext_room, uint8_t next_header)
{
	return seal(sa, p, ext, ext_len, ext_room, next_header, NULL);
}

enum sl_drop sl_esp_seal_iv(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t next_header,
			    const uint8_t iv[SL_ESP_IV_LEN])
{
	return seal(sa, p, NULL, 0, 0, next_header, iv);
}

/*
 * The 64-bit sequence number a received low half stands for (RFC 4303
 * Appendix A2.2), relative to the replay window [top - window, top]. Returns
 * 0, which the window always rejects, for a number that would lie before
 * the first subspace.
 */
static uint64_t infer_esn(const struct sl_replay *r, uint32_t seq_lo)
{
	uint32_t top_hi = (uint32_t)(r->top >> 32), top_lo = (uint32_t)r->top;
	uint32_t bottom_lo = top_lo - r->window;
	uint32_t hi;

	if (top_lo >= r->window) /* window within one 2^32 subspace */
		hi = seq_lo >= bottom_lo ? top_hi : top_hi + 1;
	else if (seq_lo < bottom_lo) /* window spans two subspaces */
		hi = top_hi;
	else if (top_hi > 0)
		hi = top_hi - 1;
	else
		return 0;
	return (uint64_t)hi << 32 | seq_lo;
}

static uint64_t infer_seq(const struct sl_esp_sa *sa, uint32_t seq_lo)
{
	return sa->esn ? infer_esn(&sa->dir.replay, seq_lo) : seq_lo;
}

/*
 * With ESN, a low half left of the window is read as the next subspace (A2.2), so an old replayed
 * packet reaches the tag check and fails it. Only the tag can tell a packet of the next subspace
 * (after 2^32 more packets) from a replay; once it has failed, the packet was left of the window,
 * which without ESN is a replay: count it so, whatever it carried.
 */
static bool below_window_esn(const struct sl_esp_sa *sa, uint64_t seq)
{
	return sa->esn && seq >> 32 > sa->dir.replay.top >> 32;
}

/* RFC 4303 §2.4: the receiver may check the default padding 1, 2, 3, ... */
static bool padding_valid(const uint8_t *plain, uint32_t plain_len)
{
	uint32_t pad_len = plain[plain_len - 2];
	const uint8_t *pad;

	if (pad_len > plain_len - ESP_TRAILER_MIN)
		return false;
	pad = plain + plain_len - ESP_TRAILER_MIN - pad_len;
	for (uint32_t i = 0; i < pad_len; i++)
		if (pad[i] != i + 1)
			return false;
	return true;
}

enum sl_drop sl_esp_open(struct sl_esp_sa *sa, struct sl_pkt *p, uint8_t *next_header)
{
	uint8_t nonce[SL_AEAD_NONCE_LEN], aad[ESP_AAD_MAX];
	uint8_t *hdr = p->data, *plain = hdr + SL_ESP_HDR_LEN;
	uint32_t plain_len;
	uint64_t seq;
	size_t aad_len;

	if (!sl_keydir_is_rx(&sa->dir))
		return SL_DROP_NOKEY;
	if (p->len < SL_ESP_HDR_LEN + ESP_TRAILER_MIN + ESP_ICV_LEN)
		return SL_DROP_MALFORMED;
	if (sl_esp_spi(hdr) != sa->spi)
		return SL_DROP_MALFORMED;
	seq = infer_seq(sa, sl_get_be32(hdr + 4));
	if (!sl_replay_check(&sa->dir.replay, seq))
		return SL_DROP_REPLAY;
	plain_len = p->len - SL_ESP_HDR_LEN - ESP_ICV_LEN;
	make_nonce(sa, hdr + 8, nonce);
	aad_len = make_aad(sa, seq, aad);
	if (sl_aead_open(sa->dir.aead, nonce, aad, aad_len, plain, plain_len, plain + plain_len) <
	    0)
		return below_window_esn(sa, seq) ? SL_DROP_REPLAY : SL_DROP_AUTH;
	if (!sl_replay_update(&sa->dir.replay, seq))
		return SL_DROP_REPLAY;
	if (!padding_valid(plain, plain_len))
		return SL_DROP_MALFORMED;
	*next_header = plain[plain_len - 1];
	sl_pkt_trim(p, ESP_ICV_LEN + ESP_TRAILER_MIN + plain[plain_len - 2]);
	sl_pkt_pull(p, SL_ESP_HDR_LEN);
	return SL_DROP_NONE;
}

uint8_t sl_esp_nh_for_ip(const uint8_t *ip, size_t len)
{
	if (len == 0)
		return 0;
	switch (ip[0] >> 4) {
	case 4:
		return SL_ESP_NH_IPV4;
	case 6:
		return SL_ESP_NH_IPV6;
	default:
		return 0;
	}
}
