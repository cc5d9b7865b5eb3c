// SPDX-License-Identifier: MIT
/*
 * OpenVPN 2.6 AEAD data channel (openvpn:crypto.c openvpn_encrypt_aead,
 * openvpn_decrypt_aead; ssl.c tls_prepend_opcode_v1/v2, tls_pre_decrypt),
 * sealed and opened in place in a packet buffer:
 *
 *   0         1             4               8                24
 *   | op|kid  | peer-id BE  | packet-id BE  | tag (16)        | ciphertext ...   P_DATA_V2
 *   |<------------------ AAD ------------->|
 *
 *   0         1               5                21
 *   | op|kid  | packet-id BE  | tag (16)       | ciphertext ...                  P_DATA_V1
 *             |<--- AAD ---->|   (the op byte is not authenticated)
 *
 *   nonce = packet-id BE (4) || implicit IV (8)
 *
 * OpenVPN writes the V2 op/peer-id word into its work buffer before
 * encrypting and the V1 op byte after, which is why only V2 covers it.
 */
#include "proto/ovpn_data.h"

#include "core/bytes.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <string.h>

#define OVPN_PACKET_ID_MAX 0xFFFFFFFFu
#define OVPN_AAD_MAX	   8
#define OVPN_PEER_ID_MASK  0xFFFFFFu

const struct sl_proto_ops sl_proto_ovpn_data = {"ovpn-data", SL_OVPN_HEADROOM, SL_OVPN_TAILROOM};

const uint8_t sl_ovpn_ping_magic[SL_OVPN_PING_LEN] = {0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e,
						      0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a,
						      0x98, 0x1f, 0xc7, 0x48};

const uint8_t sl_ovpn_occ_magic[SL_OVPN_OCC_MAGIC_LEN] = {0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef,
							  0x7a, 0x81, 0x2d, 0x56, 0xb8, 0xd3,
							  0xaf, 0xc5, 0x45, 0x9c};

/* Classification */

static bool opcode_is_control(uint8_t op)
{
	return op >= SL_OVPN_OPCODE_MIN && op <= SL_OVPN_OPCODE_MAX && op != SL_OVPN_P_DATA_V1 &&
	       op != SL_OVPN_P_DATA_V2;
}

/* The shortest packet of each kind: OpenVPN refuses an empty AEAD payload ("missing payload"). */
static size_t min_len(enum sl_ovpn_kind kind)
{
	switch (kind) {
	case SL_OVPN_KIND_DATA_V1:
		return SL_OVPN_V1_HDR_LEN + 1;
	case SL_OVPN_KIND_DATA_V2:
		return SL_OVPN_V2_HDR_LEN + 1;
	case SL_OVPN_KIND_CONTROL:
		return 1 + SL_OVPN_SESSION_ID_LEN;
	default:
		return 0;
	}
}

static enum sl_ovpn_kind kind_of_opcode(uint8_t op)
{
	if (op == SL_OVPN_P_DATA_V1)
		return SL_OVPN_KIND_DATA_V1;
	if (op == SL_OVPN_P_DATA_V2)
		return SL_OVPN_KIND_DATA_V2;
	if (opcode_is_control(op))
		return SL_OVPN_KIND_CONTROL;
	return SL_OVPN_KIND_MALFORMED;
}

enum sl_ovpn_kind sl_ovpn_classify(const uint8_t *d, size_t len, struct sl_ovpn_class *out)
{
	enum sl_ovpn_kind kind;

	*out = (struct sl_ovpn_class){.kind = SL_OVPN_KIND_MALFORMED,
				      .peer_id = SL_OVPN_PEER_ID_NONE};
	if (len == 0)
		return out->kind;
	out->opcode = sl_ovpn_opcode(d[0]);
	out->key_id = sl_ovpn_key_id(d[0]);
	kind = kind_of_opcode(out->opcode);
	if (kind == SL_OVPN_KIND_MALFORMED || len < min_len(kind))
		return out->kind;
	if (kind == SL_OVPN_KIND_DATA_V2)
		out->peer_id = sl_get_be32(d) & OVPN_PEER_ID_MASK;
	out->kind = kind;
	return kind;
}

/* Security associations */

int sl_ovpn_sa_init(struct sl_ovpn_sa *sa, enum sl_cipher c, const uint8_t *key, size_t key_len,
		    const uint8_t implicit_iv[SL_OVPN_IMPLICIT_IV_LEN], uint8_t key_id,
		    uint32_t peer_id, bool tx, uint32_t window)
{
	int r;

	memset(sa, 0, sizeof(*sa));
	if (!key || !implicit_iv || (unsigned)c >= SL_CIPHER__COUNT ||
	    key_len != sl_cipher_key_len(c) || key_id > SL_OVPN_KEY_ID_MAX ||
	    peer_id > OVPN_PEER_ID_MASK)
		return -EINVAL;
	r = sl_keydir_init(&sa->dir, c, key, key_len, SL_OVPN_TAG_LEN, tx, window);
	if (r < 0)
		return r;
	sa->cipher = c;
	sa->key_id = key_id;
	sa->peer_id = peer_id;
	memcpy(sa->implicit_iv, implicit_iv, SL_OVPN_IMPLICIT_IV_LEN);
	return 0;
}

void sl_ovpn_sa_clear(struct sl_ovpn_sa *sa)
{
	sl_keydir_clear(&sa->dir);
	OPENSSL_cleanse(sa, sizeof(*sa));
}

static bool sa_sends_v2(const struct sl_ovpn_sa *sa)
{
	return sa->peer_id != SL_OVPN_PEER_ID_NONE;
}

uint32_t sl_ovpn_tx_packet_id(const struct sl_ovpn_sa *sa)
{
	return sa->shared_pid ? atomic_load_explicit(sa->shared_pid, memory_order_relaxed)
			      : sa->packet_id;
}

bool sl_ovpn_near_wrap(const struct sl_ovpn_sa *sa)
{
	return sl_ovpn_tx_packet_id(sa) >= SL_OVPN_PACKET_ID_WRAP_TRIGGER;
}

/*
 * The next packet-id, or 0 once they are spent (OpenVPN's packet_id_send_update refuses to
 * roll a short-form id over). Shared: uniqueness is all the receiver's replay window needs, so
 * relaxed; compare-and-swap so that the counter stops at its end instead of wrapping to 0.
 */
static uint32_t next_packet_id(struct sl_ovpn_sa *sa)
{
	uint32_t cur;

	if (!sa->shared_pid)
		return sa->packet_id == OVPN_PACKET_ID_MAX ? 0 : ++sa->packet_id;
	cur = atomic_load_explicit(sa->shared_pid, memory_order_relaxed);
	do {
		if (cur == OVPN_PACKET_ID_MAX)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(
		sa->shared_pid, &cur, cur + 1, memory_order_relaxed, memory_order_relaxed));
	return cur + 1;
}

/* The packet-id travels as the nonce's first 4 bytes, exactly as on the wire. */
static void make_nonce(const struct sl_ovpn_sa *sa, const uint8_t *packet_id,
		       uint8_t nonce[SL_AEAD_NONCE_LEN])
{
	memcpy(nonce, packet_id, SL_OVPN_PACKET_ID_LEN);
	memcpy(nonce + SL_OVPN_PACKET_ID_LEN, sa->implicit_iv, SL_OVPN_IMPLICIT_IV_LEN);
}

/* Header layout of one format: where the packet-id sits and where the AAD starts. */
struct layout {
	uint32_t hdr_len;
	uint32_t pid_off; /* packet-id; the tag follows it */
	uint32_t aad_off; /* the AAD runs from here up to the tag */
};

static const struct layout layout_v1 = {SL_OVPN_V1_HDR_LEN, 1, 1};
static const struct layout layout_v2 = {SL_OVPN_V2_HDR_LEN, 4, 0};

static void write_header(const struct sl_ovpn_sa *sa, uint8_t *hdr, uint32_t packet_id)
{
	if (sa_sends_v2(sa)) {
		sl_put_be32(hdr, (uint32_t)sl_ovpn_op_byte(SL_OVPN_P_DATA_V2, sa->key_id) << 24 |
					 sa->peer_id);
		sl_put_be32(hdr + 4, packet_id);
	} else {
		hdr[0] = sl_ovpn_op_byte(SL_OVPN_P_DATA_V1, sa->key_id);
		sl_put_be32(hdr + 1, packet_id);
	}
}

enum sl_drop sl_ovpn_seal(struct sl_ovpn_sa *sa, struct sl_pkt *p)
{
	const struct layout *l = sa_sends_v2(sa) ? &layout_v2 : &layout_v1;
	uint8_t nonce[SL_AEAD_NONCE_LEN];
	uint32_t len = p->len;
	uint8_t *hdr, *tag;
	uint32_t pid;

	if (!sl_keydir_is_tx(&sa->dir))
		return SL_DROP_NOKEY;
	if (len == 0)
		return SL_DROP_MALFORMED;
	if (sl_pkt_headroom(p) < l->hdr_len)
		return SL_DROP_TOOBIG;
	pid = next_packet_id(sa);
	if (!pid)
		return SL_DROP_NOKEY;
	hdr = sl_pkt_push(p, l->hdr_len);
	write_header(sa, hdr, pid);
	tag = hdr + l->pid_off + SL_OVPN_PACKET_ID_LEN;
	make_nonce(sa, hdr + l->pid_off, nonce);
	if (sl_aead_seal(sa->dir.aead, nonce, hdr + l->aad_off, (size_t)(tag - hdr) - l->aad_off,
			 hdr + l->hdr_len, len, tag) < 0) {
		/* The key context is unusable; the packet-id stays spent. */
		sl_pkt_pull(p, l->hdr_len);
		return SL_DROP_NOKEY;
	}
	return SL_DROP_NONE;
}

/*
 * Replay order: OpenVPN 2.6 decrypts first and checks replay after. Here
 * a read-only pre-check runs first, then decryption, then the update.
 * Both give the same verdict for every packet that can be accepted,
 * because the window only ever moves on an authenticated packet: a
 * packet-id refused by the pre-check would be refused after decryption
 * too, and a forged packet that passes it fails the tag and leaves the
 * window alone. The differences are cost (a replayed flood costs no AEAD
 * work) and the counter a replayed packet with a bad tag lands in (replay
 * here, auth in OpenVPN).
 */
enum sl_drop sl_ovpn_open(struct sl_ovpn_sa *sa, struct sl_pkt *p)
{
	uint8_t nonce[SL_AEAD_NONCE_LEN];
	struct sl_ovpn_class cl;
	const struct layout *l;
	uint32_t packet_id;
	uint8_t *hdr = p->data, *tag;

	if (!sl_keydir_is_rx(&sa->dir))
		return SL_DROP_NOKEY;
	switch (sl_ovpn_classify(hdr, p->len, &cl)) {
	case SL_OVPN_KIND_DATA_V1:
		l = &layout_v1;
		break;
	case SL_OVPN_KIND_DATA_V2:
		l = &layout_v2;
		break;
	default:
		return SL_DROP_MALFORMED;
	}
	if (cl.key_id != sa->key_id)
		return SL_DROP_NOKEY;
	packet_id = sl_get_be32(hdr + l->pid_off);
	if (!sl_replay_check(&sa->dir.replay, packet_id))
		return SL_DROP_REPLAY;
	tag = hdr + l->pid_off + SL_OVPN_PACKET_ID_LEN;
	make_nonce(sa, hdr + l->pid_off, nonce);
	if (sl_aead_open(sa->dir.aead, nonce, hdr + l->aad_off, (size_t)(tag - hdr) - l->aad_off,
			 hdr + l->hdr_len, p->len - l->hdr_len, tag) < 0)
		return SL_DROP_AUTH;
	if (!sl_replay_update(&sa->dir.replay, packet_id))
		return SL_DROP_REPLAY;
	sl_pkt_pull(p, l->hdr_len);
	return SL_DROP_NONE;
}

/* Key material */

/* keys[0] carries client->server, keys[1] server->client. */
static const uint8_t *key2_slot(const uint8_t key2[SL_OVPN_KEY2_LEN], enum sl_ovpn_role role,
				bool tx)
{
	bool client_to_server = (role == SL_OVPN_ROLE_CLIENT) == tx;

	return key2 + (client_to_server ? 0 : SL_OVPN_KEY_LEN);
}

static int sa_from_slot(struct sl_ovpn_sa *sa, const uint8_t *slot, enum sl_cipher c,
			uint8_t key_id, uint32_t peer_id, bool tx, uint32_t window)
{
	/* cipher[64] then hmac[64]; AEAD never uses hmac[] as a key, only its head as IV. */
	return sl_ovpn_sa_init(sa, c, slot, sl_cipher_key_len(c), slot + SL_OVPN_KEY_SLOT_LEN,
			       key_id, peer_id, tx, window);
}

int sl_ovpn_sas_from_key2(struct sl_ovpn_sa *tx, struct sl_ovpn_sa *rx,
			  const uint8_t key2[SL_OVPN_KEY2_LEN], enum sl_ovpn_role role,
			  enum sl_cipher c, uint8_t key_id, uint32_t peer_id, uint32_t window)
{
	int r;

	memset(rx, 0, sizeof(*rx));
	if (!key2 || (role != SL_OVPN_ROLE_CLIENT && role != SL_OVPN_ROLE_SERVER) ||
	    (unsigned)c >= SL_CIPHER__COUNT) {
		memset(tx, 0, sizeof(*tx));
		return -EINVAL;
	}
	r = sa_from_slot(tx, key2_slot(key2, role, true), c, key_id, peer_id, true, 0);
	if (r < 0)
		return r;
	r = sa_from_slot(rx, key2_slot(key2, role, false), c, key_id, peer_id, false, window);
	if (r < 0)
		sl_ovpn_sa_clear(tx);
	return r;
}

int sl_ovpn_tls1_prf(const uint8_t *secret, size_t secret_len, const uint8_t *seed, size_t seed_len,
		     uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[4];
	EVP_KDF_CTX *ctx;
	EVP_KDF *kdf;
	int r = -EIO;

	if (!secret || !secret_len || !seed || !seed_len || !out || !out_len)
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
	ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!ctx)
		return -EIO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"MD5-SHA1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret,
						      secret_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, seed_len);
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
		r = 0;
	else
		OPENSSL_cleanse(out, out_len);
	EVP_KDF_CTX_free(ctx);
	return r;
}

#define OVPN_MASTER_LABEL    "OpenVPN master secret"
#define OVPN_EXPANSION_LABEL "OpenVPN key expansion"
#define OVPN_MASTER_LEN	     48
#define OVPN_RANDOM_LEN	     32

/* label || client random || server random [|| client sid || server sid] (openvpn_PRF) */
static size_t prf_seed(uint8_t *seed, const char *label, const uint8_t *c_random,
		       const uint8_t *s_random, const struct sl_ovpn_key_source *sids)
{
	size_t n = strlen(label);

	memcpy(seed, label, n);
	memcpy(seed + n, c_random, OVPN_RANDOM_LEN);
	memcpy(seed + n + OVPN_RANDOM_LEN, s_random, OVPN_RANDOM_LEN);
	n += 2 * OVPN_RANDOM_LEN;
	if (sids) {
		memcpy(seed + n, sids->client_sid, SL_OVPN_SESSION_ID_LEN);
		memcpy(seed + n + SL_OVPN_SESSION_ID_LEN, sids->server_sid, SL_OVPN_SESSION_ID_LEN);
		n += 2 * SL_OVPN_SESSION_ID_LEN;
	}
	return n;
}

int sl_ovpn_prf_key2(const struct sl_ovpn_key_source *src, uint8_t key2[SL_OVPN_KEY2_LEN])
{
	uint8_t seed[sizeof(OVPN_EXPANSION_LABEL) + 2 * OVPN_RANDOM_LEN +
		     2 * SL_OVPN_SESSION_ID_LEN];
	uint8_t master[OVPN_MASTER_LEN];
	size_t n;
	int r;

	n = prf_seed(seed, OVPN_MASTER_LABEL, src->client_random1, src->server_random1, NULL);
	r = sl_ovpn_tls1_prf(src->pre_master, sizeof(src->pre_master), seed, n, master,
			     sizeof(master));
	if (r == 0) {
		n = prf_seed(seed, OVPN_EXPANSION_LABEL, src->client_random2, src->server_random2,
			     src);
		r = sl_ovpn_tls1_prf(master, sizeof(master), seed, n, key2, SL_OVPN_KEY2_LEN);
	}
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(seed, sizeof(seed));
	return r;
}

/* Compression framing */

static enum sl_drop encode_prefix(struct sl_pkt *p, uint8_t byte)
{
	uint8_t *head = sl_pkt_push(p, 1);

	if (!head)
		return SL_DROP_TOOBIG;
	*head = byte;
	return SL_DROP_NONE;
}

/* compstub.c with COMP_F_SWAP: the first byte moves to the end, 0xFB takes its place. */
static enum sl_drop encode_swap(struct sl_pkt *p)
{
	uint8_t *tail = sl_pkt_put(p, 1);

	if (!tail)
		return SL_DROP_TOOBIG;
	*tail = p->data[0];
	p->data[0] = SL_OVPN_COMP_NO_BYTE_SWAP;
	return SL_DROP_NONE;
}

/* compv2_escape_data_ifneeded: only a packet that looks like a v2 header needs escaping. */
static enum sl_drop encode_v2(struct sl_pkt *p)
{
	uint8_t *head;

	if (p->data[0] != SL_OVPN_COMP_V2_INDICATOR)
		return SL_DROP_NONE;
	head = sl_pkt_push(p, 2);
	if (!head)
		return SL_DROP_TOOBIG;
	head[0] = SL_OVPN_COMP_V2_INDICATOR;
	head[1] = SL_OVPN_COMP_V2_UNCOMPRESSED;
	return SL_DROP_NONE;
}

enum sl_drop sl_ovpn_comp_encode(enum sl_ovpn_comp mode, struct sl_pkt *p)
{
	if (p->len == 0)
		return SL_DROP_NONE;
	switch (mode) {
	case SL_OVPN_COMP_NONE:
		return SL_DROP_NONE;
	case SL_OVPN_COMP_LZO_NO:
		return encode_prefix(p, SL_OVPN_COMP_NO_BYTE);
	case SL_OVPN_COMP_STUB:
		return encode_swap(p);
	case SL_OVPN_COMP_STUB_V2:
		return encode_v2(p);
	}
	return SL_DROP_MALFORMED; /* not a mode: a caller bug, refuse rather than guess */
}

/* The v1 framing byte of a packet someone really compressed. */
static bool is_v1_compressed(uint8_t b)
{
	return b == SL_OVPN_COMP_LZO_BYTE || b == SL_OVPN_COMP_LZ4_BYTE;
}

static enum sl_ovpn_comp_rc decode_prefix(struct sl_pkt *p)
{
	uint8_t b = p->data[0];

	if (b == SL_OVPN_COMP_NO_BYTE) {
		sl_pkt_pull(p, 1);
		return SL_OVPN_COMP_OK;
	}
	return is_v1_compressed(b) ? SL_OVPN_COMP_UNSUPPORTED : SL_OVPN_COMP_MALFORMED;
}

/* Check the byte before moving anything, so a refused packet keeps its bytes. */
static enum sl_ovpn_comp_rc decode_swap(struct sl_pkt *p)
{
	uint8_t b = p->data[0];

	if (b != SL_OVPN_COMP_NO_BYTE_SWAP)
		return is_v1_compressed(b) ? SL_OVPN_COMP_UNSUPPORTED : SL_OVPN_COMP_MALFORMED;
	p->data[0] = p->data[p->len - 1];
	sl_pkt_trim(p, 1);
	return SL_OVPN_COMP_OK;
}

static enum sl_ovpn_comp_rc decode_v2(struct sl_pkt *p)
{
	if (p->data[0] != SL_OVPN_COMP_V2_INDICATOR)
		return SL_OVPN_COMP_OK;
	/* OpenVPN turns a lone 0x50 into an empty packet; nothing sends one, so refuse it. */
	if (p->len < 2)
		return SL_OVPN_COMP_MALFORMED;
	switch (p->data[1]) {
	case SL_OVPN_COMP_V2_UNCOMPRESSED:
		sl_pkt_pull(p, 2);
		return SL_OVPN_COMP_OK;
	case SL_OVPN_COMP_V2_LZ4:
	case SL_OVPN_COMP_V2_LZO:
	case SL_OVPN_COMP_V2_SNAPPY:
		return SL_OVPN_COMP_UNSUPPORTED;
	default:
		return SL_OVPN_COMP_MALFORMED;
	}
}

enum sl_ovpn_comp_rc sl_ovpn_comp_decode(enum sl_ovpn_comp mode, struct sl_pkt *p)
{
	if (p->len == 0)
		return SL_OVPN_COMP_OK;
	switch (mode) {
	case SL_OVPN_COMP_NONE:
		return SL_OVPN_COMP_OK;
	case SL_OVPN_COMP_LZO_NO:
		return decode_prefix(p);
	case SL_OVPN_COMP_STUB:
		return decode_swap(p);
	case SL_OVPN_COMP_STUB_V2:
		return decode_v2(p);
	}
	return SL_OVPN_COMP_MALFORMED;
}

/* In-band messages */

bool sl_ovpn_is_ping(const uint8_t *d, size_t len)
{
	return len == SL_OVPN_PING_LEN && memcmp(d, sl_ovpn_ping_magic, SL_OVPN_PING_LEN) == 0;
}

bool sl_ovpn_is_occ(const uint8_t *d, size_t len, uint8_t *opcode)
{
	if (len < SL_OVPN_OCC_MAGIC_LEN + 1 ||
	    memcmp(d, sl_ovpn_occ_magic, SL_OVPN_OCC_MAGIC_LEN) != 0)
		return false;
	if (opcode)
		*opcode = d[SL_OVPN_OCC_MAGIC_LEN];
	return true;
}

bool sl_ovpn_is_occ_exit(const uint8_t *d, size_t len)
{
	uint8_t op;

	return sl_ovpn_is_occ(d, len, &op) && op == SL_OVPN_OCC_EXIT;
}

void sl_ovpn_put_occ_exit(uint8_t out[SL_OVPN_OCC_EXIT_LEN])
{
	memcpy(out, sl_ovpn_occ_magic, SL_OVPN_OCC_MAGIC_LEN);
	out[SL_OVPN_OCC_MAGIC_LEN] = SL_OVPN_OCC_EXIT;
}
