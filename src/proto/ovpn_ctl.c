// SPDX-License-Identifier: MIT
/*
 * OpenVPN control channel codecs: plain packets (openvpn:reliable.c
 * reliable_ack_write/reliable_ack_parse, ssl_pkt.c write_control_auth),
 * tls-auth and tls-crypt wrapping, static key files, TCP framing.
 * Layouts are drawn once in proto/ovpn_ctl.h.
 */
#include "proto/ovpn_ctl.h"

#include "core/bytes.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <string.h>

#define WRAP_ID_LEN   4
#define WRAP_TIME_LEN 4
#define WRAP_PID_LEN  (WRAP_ID_LEN + WRAP_TIME_LEN) /* long-form packet id: id || time */
#define OSID_LEN      (1 + SL_OVPN_SESSION_ID_LEN)
#define REPLAY_WINDOW 64 /* OpenVPN's DEFAULT_SEQ_BACKTRACK */

bool sl_ovpn_ctl_opcode_known(uint8_t op)
{
	return op == SL_OVPN_P_CONTROL_SOFT_RESET_V1 || op == SL_OVPN_P_CONTROL_V1 ||
	       op == SL_OVPN_P_ACK_V1 || op == SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2 ||
	       op == SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2;
}

/* Plain packets */

int sl_ovpn_ctl_parse(const uint8_t *d, size_t len, struct sl_ovpn_ctl *out)
{
	size_t off = OSID_LEN + 1;

	memset(out, 0, sizeof(*out));
	if (len < SL_OVPN_CTL_MIN_LEN)
		return -EBADMSG;
	out->opcode = sl_ovpn_opcode(d[0]);
	out->key_id = sl_ovpn_key_id(d[0]);
	if (!sl_ovpn_ctl_opcode_known(out->opcode))
		return -EBADMSG;
	memcpy(out->sid, d + 1, SL_OVPN_SESSION_ID_LEN);
	out->n_acks = d[OSID_LEN];
	if (out->n_acks > SL_OVPN_ACK_MAX)
		return -EBADMSG;
	if (out->n_acks) {
		if (len < off + 4u * out->n_acks + SL_OVPN_SESSION_ID_LEN)
			return -EBADMSG;
		for (unsigned i = 0; i < out->n_acks; i++, off += 4)
			out->acks[i] = sl_get_be32(d + off);
		memcpy(out->peer_sid, d + off, SL_OVPN_SESSION_ID_LEN);
		off += SL_OVPN_SESSION_ID_LEN;
	}
	if (out->opcode == SL_OVPN_P_ACK_V1) {
		/* An ack-only packet carries acks and nothing else. */
		if (!out->n_acks || off != len)
			return -EBADMSG;
		return 0;
	}
	if (len < off + 4)
		return -EBADMSG;
	out->has_msg_id = true;
	out->msg_id = sl_get_be32(d + off);
	off += 4;
	out->payload = d + off;
	out->payload_len = len - off;
	return 0;
}

size_t sl_ovpn_ctl_len(const struct sl_ovpn_ctl *c)
{
	size_t n = OSID_LEN + 1 + 4u * c->n_acks;

	if (c->n_acks)
		n += SL_OVPN_SESSION_ID_LEN;
	if (c->opcode != SL_OVPN_P_ACK_V1)
		n += 4 + c->payload_len;
	return n;
}

int sl_ovpn_ctl_build(const struct sl_ovpn_ctl *c, uint8_t *out, size_t cap)
{
	size_t n = sl_ovpn_ctl_len(c), off = 0;

	if (!sl_ovpn_ctl_opcode_known(c->opcode) || c->key_id > SL_OVPN_KEY_ID_MAX ||
	    c->n_acks > SL_OVPN_ACK_MAX || (c->opcode == SL_OVPN_P_ACK_V1 && !c->n_acks))
		return -EINVAL;
	if (n > cap)
		return -ENOSPC;
	out[off++] = sl_ovpn_op_byte(c->opcode, c->key_id);
	memcpy(out + off, c->sid, SL_OVPN_SESSION_ID_LEN);
	off += SL_OVPN_SESSION_ID_LEN;
	out[off++] = c->n_acks;
	for (unsigned i = 0; i < c->n_acks; i++, off += 4)
		sl_put_be32(out + off, c->acks[i]);
	if (c->n_acks) {
		memcpy(out + off, c->peer_sid, SL_OVPN_SESSION_ID_LEN);
		off += SL_OVPN_SESSION_ID_LEN;
	}
	if (c->opcode != SL_OVPN_P_ACK_V1) {
		sl_put_be32(out + off, c->msg_id);
		off += 4;
		if (c->payload_len)
			memmove(out + off, c->payload, c->payload_len);
		off += c->payload_len;
	}
	return (int)off;
}

/* Static key files */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int sl_ovpn_static_key_parse(const char *text, size_t len, uint8_t key2[SL_OVPN_KEY2_LEN])
{
	static const char begin[] = "-----BEGIN OpenVPN Static key V1-----";
	static const char end[] = "-----END OpenVPN Static key V1-----";
	const char *p = text, *stop = text + len, *b = NULL;
	size_t n = 0;
	int hi = -1;

	/* Find the markers at the start of a line (memmem without _GNU_SOURCE). */
	for (const char *q = text; q + sizeof(begin) - 1 <= stop; q++) {
		if ((q == text || q[-1] == '\n') && !memcmp(q, begin, sizeof(begin) - 1)) {
			b = q + sizeof(begin) - 1;
			break;
		}
	}
	if (!b)
		return -EINVAL;
	for (p = b; p < stop; p++) {
		int v;

		if ((size_t)(stop - p) >= sizeof(end) - 1 && !memcmp(p, end, sizeof(end) - 1))
			break;
		if (isspace((unsigned char)*p))
			continue;
		v = hexval(*p);
		if (v < 0 || n == SL_OVPN_KEY2_LEN)
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			key2[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (p >= stop || n != SL_OVPN_KEY2_LEN || hi >= 0)
		goto bad;
	return 0;
bad:
	OPENSSL_cleanse(key2, SL_OVPN_KEY2_LEN);
	return -EINVAL;
}

/* Shared by both wrappings: the replay id / time pair */

static int wrap_rx_init(struct sl_ovpn_wrap_rx *rx)
{
	return sl_replay_init(&rx->replay, REPLAY_WINDOW);
}

static int next_tx_id(uint32_t *id)
{
	if (*id == UINT32_MAX)
		return -EOVERFLOW;
	(*id)++;
	return 0;
}

static void put_wrap_pid(uint8_t *p, uint32_t id, uint32_t now)
{
	sl_put_be32(p, id);
	sl_put_be32(p + WRAP_ID_LEN, now);
}

/* tls-auth */

int sl_ovpn_tls_auth_init(struct sl_ovpn_tls_auth *a, const uint8_t key2[SL_OVPN_KEY2_LEN],
			  int direction, const char *md)
{
	const EVP_MD *m = EVP_get_digestbyname(md);
	int tx_slot, rx_slot, sz, rc;

	memset(a, 0, sizeof(*a));
	if (!m || strlen(md) >= sizeof(a->md) || direction < -1 || direction > 1)
		return -EINVAL;
	sz = EVP_MD_get_size(m);
	if (sz <= 0 || sz > SL_OVPN_KEY_SLOT_LEN)
		return -EINVAL;
	tx_slot = direction == 1 ? 1 : 0;
	rx_slot = direction == 0 ? 1 : 0;
	strcpy(a->md, md);
	a->md_len = (size_t)sz;
	memcpy(a->tx_key, key2 + tx_slot * SL_OVPN_KEY_LEN + SL_OVPN_KEY_SLOT_LEN, a->md_len);
	memcpy(a->rx_key, key2 + rx_slot * SL_OVPN_KEY_LEN + SL_OVPN_KEY_SLOT_LEN, a->md_len);
	rc = wrap_rx_init(&a->rx);
	if (rc)
		sl_ovpn_tls_auth_clear(a);
	return rc;
}

void sl_ovpn_tls_auth_clear(struct sl_ovpn_tls_auth *a)
{
	sl_replay_free(&a->rx.replay);
	OPENSSL_cleanse(a, sizeof(*a));
}

size_t sl_ovpn_tls_auth_overhead(const struct sl_ovpn_tls_auth *a)
{
	return a->md_len + WRAP_PID_LEN;
}

/*
 * HMAC, fetched from the provider once for the process: a fetch per packet (every reset a
 * server answers, every tls-auth packet) looked the method up by name each time, a cost an
 * unauthenticated reset flood could make us pay at will.
 */
static EVP_MAC *hmac_method;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void fetch_hmac(void)
{
	hmac_method = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* HMAC of up to three pieces; mac gets the digest's full length. */
static int hmac3(const char *md, const uint8_t *key, size_t key_len, const uint8_t *p1, size_t n1,
		 const uint8_t *p2, size_t n2, const uint8_t *p3, size_t n3, uint8_t *mac,
		 size_t mac_len)
{
	EVP_MAC_CTX *h;
	OSSL_PARAM params[2];
	size_t n = 0;
	int ok;

	pthread_once(&hmac_once, fetch_hmac);
	h = hmac_method ? EVP_MAC_CTX_new(hmac_method) : NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = h && EVP_MAC_init(h, key, key_len, params) && EVP_MAC_update(h, p1, n1) &&
	     EVP_MAC_update(h, p2, n2) && EVP_MAC_update(h, p3, n3) &&
	     EVP_MAC_final(h, mac, &n, EVP_MAX_MD_SIZE);
	EVP_MAC_CTX_free(h);
	return ok && n == mac_len ? 0 : -EIO;
}

/* HMAC over replay id || time || op|sid || rest, the order openvpn_encrypt_v1 sees them. */
static int tls_auth_hmac(const struct sl_ovpn_tls_auth *a, const uint8_t *key,
			 const uint8_t pid[WRAP_PID_LEN], const uint8_t *osid, const uint8_t *rest,
			 size_t rest_len, uint8_t *mac)
{
	return hmac3(a->md, key, a->md_len, pid, WRAP_PID_LEN, osid, OSID_LEN, rest, rest_len, mac,
		     a->md_len);
}

int sl_ovpn_tls_auth_wrap(struct sl_ovpn_tls_auth *a, const uint8_t *plain, size_t len,
			  uint32_t now, uint8_t *out, size_t cap)
{
	size_t over = sl_ovpn_tls_auth_overhead(a);
	uint8_t pid[WRAP_PID_LEN];
	int rc;

	if (len < SL_OVPN_CTL_MIN_LEN)
		return -EBADMSG;
	if (len + over > cap)
		return -ENOSPC;
	rc = next_tx_id(&a->tx_id);
	if (rc)
		return rc;
	put_wrap_pid(pid, a->tx_id, now);
	memmove(out + OSID_LEN + over, plain + OSID_LEN, len - OSID_LEN);
	memmove(out, plain, OSID_LEN);
	memcpy(out + OSID_LEN + a->md_len, pid, WRAP_PID_LEN);
	rc = tls_auth_hmac(a, a->tx_key, pid, out, out + OSID_LEN + over, len - OSID_LEN,
			   out + OSID_LEN);
	return rc ? rc : (int)(len + over);
}

int sl_ovpn_tls_auth_unwrap(struct sl_ovpn_tls_auth *a, const uint8_t *wire, size_t len,
			    uint8_t *out, size_t cap)
{
	size_t over = sl_ovpn_tls_auth_overhead(a);
	const uint8_t *mac = wire + OSID_LEN, *pid = mac + a->md_len;
	uint8_t want[EVP_MAX_MD_SIZE];
	uint32_t id;
	int rc;

	if (len < OSID_LEN + over + 1)
		return -EBADMSG;
	if (len - over > cap)
		return -ENOSPC;
	rc = tls_auth_hmac(a, a->rx_key, pid, wire, pid + WRAP_PID_LEN, len - OSID_LEN - over,
			   want);
	if (rc)
		return rc;
	if (CRYPTO_memcmp(want, mac, a->md_len))
		return -EACCES;
	id = sl_get_be32(pid);
	if (!sl_replay_update(&a->rx.replay, id))
		return -EALREADY;
	memmove(out, wire, OSID_LEN);
	memmove(out + OSID_LEN, wire + OSID_LEN + over, len - OSID_LEN - over);
	return (int)(len - over);
}

/* tls-crypt */

int sl_ovpn_tls_crypt_init(struct sl_ovpn_tls_crypt *c, const uint8_t key2[SL_OVPN_KEY2_LEN],
			   enum sl_ovpn_role role)
{
	/* Opposite of the data channel: the server sends with keys[0]. */
	int tx = role == SL_OVPN_ROLE_SERVER ? 0 : 1, rx = 1 - tx, rc;
	const uint8_t *ktx = key2 + tx * SL_OVPN_KEY_LEN, *krx = key2 + rx * SL_OVPN_KEY_LEN;

	memset(c, 0, sizeof(*c));
	if (role != SL_OVPN_ROLE_SERVER && role != SL_OVPN_ROLE_CLIENT)
		return -EINVAL;
	memcpy(c->tx_ke, ktx, 32);
	memcpy(c->tx_ka, ktx + SL_OVPN_KEY_SLOT_LEN, 32);
	memcpy(c->rx_ke, krx, 32);
	memcpy(c->rx_ka, krx + SL_OVPN_KEY_SLOT_LEN, 32);
	rc = wrap_rx_init(&c->rx);
	if (rc)
		sl_ovpn_tls_crypt_clear(c);
	return rc;
}

void sl_ovpn_tls_crypt_clear(struct sl_ovpn_tls_crypt *c)
{
	sl_replay_free(&c->rx.replay);
	OPENSSL_cleanse(c, sizeof(*c));
}

static int tls_crypt_tag(const uint8_t ka[32], const uint8_t *hdr, const uint8_t *pt, size_t n,
			 uint8_t tag[SL_OVPN_TLS_CRYPT_TAG_LEN])
{
	return hmac3("SHA256", ka, 32, hdr, SL_OVPN_TLS_CRYPT_HDR_LEN, pt, n, NULL, 0, tag,
		     SL_OVPN_TLS_CRYPT_TAG_LEN);
}

/* AES-256-CTR with the first 16 tag bytes as IV; in and out may be the same buffer. */
static int tls_crypt_ctr(const uint8_t ke[32], const uint8_t *iv, const uint8_t *in, size_t n,
			 uint8_t *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, ok;

	if (!x)
		return -EIO;
	ok = EVP_EncryptInit_ex(x, EVP_aes_256_ctr(), NULL, ke, iv) &&
	     EVP_EncryptUpdate(x, out, &l1, in, (int)n) && EVP_EncryptFinal_ex(x, out + l1, &l2);
	EVP_CIPHER_CTX_free(x);
	return ok && (size_t)(l1 + l2) == n ? 0 : -EIO;
}

int sl_ovpn_tls_crypt_wrap(struct sl_ovpn_tls_crypt *c, const uint8_t *plain, size_t len,
			   uint32_t now, uint8_t *out, size_t cap)
{
	const size_t hdr = SL_OVPN_TLS_CRYPT_HDR_LEN, ct = hdr + SL_OVPN_TLS_CRYPT_TAG_LEN;
	size_t n = len - OSID_LEN;
	int rc;

	if (len < SL_OVPN_CTL_MIN_LEN)
		return -EBADMSG;
	if (len + SL_OVPN_TLS_CRYPT_OVERHEAD > cap)
		return -ENOSPC;
	rc = next_tx_id(&c->tx_id);
	if (rc)
		return rc;
	memmove(out + ct, plain + OSID_LEN, n);
	memmove(out, plain, OSID_LEN);
	put_wrap_pid(out + OSID_LEN, c->tx_id, now);
	rc = tls_crypt_tag(c->tx_ka, out, out + ct, n, out + hdr);
	if (!rc)
		rc = tls_crypt_ctr(c->tx_ke, out + hdr, out + ct, n, out + ct);
	return rc ? rc : (int)(ct + n);
}

int sl_ovpn_tls_crypt_unwrap(struct sl_ovpn_tls_crypt *c, const uint8_t *wire, size_t len,
			     uint8_t *out, size_t cap)
{
	const size_t hdr = SL_OVPN_TLS_CRYPT_HDR_LEN, ct = hdr + SL_OVPN_TLS_CRYPT_TAG_LEN;
	uint8_t want[SL_OVPN_TLS_CRYPT_TAG_LEN];
	size_t n;
	int rc;

	if (len < ct + 1)
		return -EBADMSG;
	n = len - ct;
	if (OSID_LEN + n > cap)
		return -ENOSPC;
	/* Decrypt first (the tag covers the plaintext), into out after op|sid. */
	rc = tls_crypt_ctr(c->rx_ke, wire + hdr, wire + ct, n, out + OSID_LEN);
	if (!rc)
		rc = tls_crypt_tag(c->rx_ka, wire, out + OSID_LEN, n, want);
	if (rc)
		return rc;
	if (CRYPTO_memcmp(want, wire + hdr, sizeof(want))) {
		OPENSSL_cleanse(out + OSID_LEN, n);
		return -EACCES;
	}
	if (!sl_replay_update(&c->rx.replay, sl_get_be32(wire + OSID_LEN))) {
		OPENSSL_cleanse(out + OSID_LEN, n);
		return -EALREADY;
	}
	memcpy(out, wire, OSID_LEN);
	return (int)(OSID_LEN + n);
}

/* Either wrapping */

size_t sl_ovpn_wrap_overhead(const struct sl_ovpn_wrap *w)
{
	switch (w->mode) {
	case SL_OVPN_WRAP_AUTH:
		return sl_ovpn_tls_auth_overhead(&w->u.auth);
	case SL_OVPN_WRAP_CRYPT:
		return SL_OVPN_TLS_CRYPT_OVERHEAD;
	default:
		return 0;
	}
}

int sl_ovpn_wrap(struct sl_ovpn_wrap *w, const uint8_t *plain, size_t len, uint32_t now,
		 uint8_t *out, size_t cap)
{
	switch (w->mode) {
	case SL_OVPN_WRAP_AUTH:
		return sl_ovpn_tls_auth_wrap(&w->u.auth, plain, len, now, out, cap);
	case SL_OVPN_WRAP_CRYPT:
		return sl_ovpn_tls_crypt_wrap(&w->u.crypt, plain, len, now, out, cap);
	default:
		if (len > cap)
			return -ENOSPC;
		memmove(out, plain, len);
		return (int)len;
	}
}

int sl_ovpn_unwrap(struct sl_ovpn_wrap *w, const uint8_t *wire, size_t len, uint8_t *out,
		   size_t cap)
{
	switch (w->mode) {
	case SL_OVPN_WRAP_AUTH:
		return sl_ovpn_tls_auth_unwrap(&w->u.auth, wire, len, out, cap);
	case SL_OVPN_WRAP_CRYPT:
		return sl_ovpn_tls_crypt_unwrap(&w->u.crypt, wire, len, out, cap);
	default:
		if (len > cap)
			return -ENOSPC;
		memmove(out, wire, len);
		return (int)len;
	}
}

void sl_ovpn_wrap_clear(struct sl_ovpn_wrap *w)
{
	if (w->mode == SL_OVPN_WRAP_AUTH)
		sl_ovpn_tls_auth_clear(&w->u.auth);
	else if (w->mode == SL_OVPN_WRAP_CRYPT)
		sl_ovpn_tls_crypt_clear(&w->u.crypt);
	w->mode = SL_OVPN_WRAP_NONE;
}

/* Stateless server cookie */

int sl_ovpn_cookie(const uint8_t key[SL_OVPN_COOKIE_KEY_LEN], uint32_t slot, const uint8_t *addr,
		   size_t addr_len, const uint8_t client_sid[SL_OVPN_SESSION_ID_LEN],
		   uint8_t out[SL_OVPN_SESSION_ID_LEN])
{
	uint8_t s[4], mac[32];
	int rc;

	sl_put_be32(s, slot);
	rc = hmac3("SHA256", key, SL_OVPN_COOKIE_KEY_LEN, s, sizeof(s), addr, addr_len, client_sid,
		   SL_OVPN_SESSION_ID_LEN, mac, sizeof(mac));
	if (!rc)
		memcpy(out, mac, SL_OVPN_SESSION_ID_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

void sl_ovpn_wrap_forget_replays(struct sl_ovpn_wrap *w)
{
	if (w->mode == SL_OVPN_WRAP_AUTH)
		sl_replay_reset(&w->u.auth.rx.replay);
	else if (w->mode == SL_OVPN_WRAP_CRYPT)
		sl_replay_reset(&w->u.crypt.rx.replay);
}

/* TCP framing */

int sl_ovpn_tcp_next(const uint8_t *d, size_t len, const uint8_t **pkt, size_t *pkt_len)
{
	size_t n;

	if (len < 2)
		return 0;
	n = sl_get_be16(d);
	if (!n)
		return -EBADMSG;
	if (len < 2 + n)
		return 0;
	*pkt = d + 2;
	*pkt_len = n;
	return (int)(2 + n);
}
