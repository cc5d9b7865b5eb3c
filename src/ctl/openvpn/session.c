// SPDX-License-Identifier: MIT
/*
 * OpenVPN TLS session: reset exchange, TLS over the reliability layer,
 * key-method 2, control messages (openvpn:ssl.c tls_process,
 * tls_pre_decrypt, key_method_2_write/read; ssl_pkt.c write_control_auth).
 */
#include "ctl/openvpn/session.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define PKT_MAX 2048

static void emit(struct sl_ovpn_session *s, enum sl_ovpn_ev_type type, uint8_t key_id,
		 const char *text, size_t len)
{
	struct sl_ovpn_ev ev = {.type = type, .key_id = key_id, .text = text, .len = len};

	if (s->cfg.on_event)
		s->cfg.on_event(s->cfg.arg, &ev);
}

static void emit_failed(struct sl_ovpn_session *s, uint8_t key_id, const char *why,
			bool hand_window)
{
	struct sl_ovpn_ev ev = {.type = SL_OVPN_EV_FAILED,
				.key_id = key_id,
				.text = why,
				.len = strlen(why),
				.hand_window = hand_window};

	if (s->cfg.on_event)
		s->cfg.on_event(s->cfg.arg, &ev);
}

static void ks_fail_timed(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks, const char *why,
			  bool hand_window)
{
	if (ks->state == SL_OVPN_KS_FAILED)
		return;
	ks->state = SL_OVPN_KS_FAILED;
	emit_failed(s, ks->key_id, why, hand_window);
}

static void ks_fail(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks, const char *why)
{
	ks_fail_timed(s, ks, why, false);
}

static void ks_free(struct sl_ovpn_key_state *ks)
{
	if (ks->ssl)
		SSL_free(ks->ssl);
	OPENSSL_cleanse(ks, sizeof(*ks));
}

static int ks_init(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks, uint8_t key_id,
		   uint64_t now_ms)
{
	memset(ks, 0, sizeof(*ks));
	ks->key_id = key_id;
	ks->started_ms = now_ms;
	sl_ovpn_rel_init(&ks->rel, s->cfg.tls_timeout_ms);
	ks->ssl = SSL_new(s->cfg.ssl_ctx);
	ks->rbio = BIO_new(BIO_s_mem());
	ks->wbio = BIO_new(BIO_s_mem());
	if (!ks->ssl || !ks->rbio || !ks->wbio) {
		BIO_free(ks->rbio);
		BIO_free(ks->wbio);
		ks->rbio = ks->wbio = NULL;
		ks_free(ks);
		return -ENOMEM;
	}
	SSL_set_bio(ks->ssl, ks->rbio, ks->wbio);
	if (s->cfg.role == SL_OVPN_ROLE_CLIENT)
		SSL_set_connect_state(ks->ssl);
	else
		SSL_set_accept_state(ks->ssl);
	/* Key sources for the legacy PRF (only used when the peer cannot do TLS-EKM). */
	if (RAND_bytes(ks->local.pre_master, sizeof(ks->local.pre_master)) != 1 ||
	    RAND_bytes(ks->local.random1, sizeof(ks->local.random1)) != 1 ||
	    RAND_bytes(ks->local.random2, sizeof(ks->local.random2)) != 1) {
		ks_free(ks);
		return -EIO;
	}
	ks->state = SL_OVPN_KS_RESET;
	return 0;
}

int sl_ovpn_session_init(struct sl_ovpn_session *s, const struct sl_ovpn_session_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	if (!cfg->ssl_ctx || !cfg->send ||
	    (cfg->role != SL_OVPN_ROLE_CLIENT && cfg->role != SL_OVPN_ROLE_SERVER))
		return -EINVAL;
	s->cfg = *cfg;
	if (!s->cfg.hand_window_ms)
		s->cfg.hand_window_ms = SL_OVPN_HAND_WINDOW_MS;
	if (RAND_bytes(s->sid, sizeof(s->sid)) != 1)
		return -EIO;
	s->next_key_id = 1;
	return 0;
}

void sl_ovpn_session_free(struct sl_ovpn_session *s)
{
	ks_free(&s->ks[0]);
	ks_free(&s->ks[1]);
	sl_ovpn_wrap_clear(&s->cfg.wrap);
	OPENSSL_cleanse(s, sizeof(*s));
}

struct sl_ovpn_key_state *sl_ovpn_session_ks(struct sl_ovpn_session *s, uint8_t key_id)
{
	for (int i = 0; i < 2; i++)
		if (s->ks[i].state != SL_OVPN_KS_NONE && s->ks[i].key_id == key_id)
			return &s->ks[i];
	return NULL;
}

/* Output */

static void send_packet(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks, uint8_t opcode,
			bool has_msg, uint32_t msg_id, const uint8_t *payload, size_t len,
			uint64_t now_ms)
{
	struct sl_ovpn_ctl c = {.opcode = opcode, .key_id = ks->key_id, .has_msg_id = has_msg};
	uint8_t plain[PKT_MAX], wire[PKT_MAX];
	int n;

	memcpy(c.sid, s->sid, sizeof(c.sid));
	c.n_acks = (uint8_t)sl_ovpn_rel_take_acks(&ks->rel, c.acks, SL_OVPN_ACK_MAX);
	if (c.n_acks)
		memcpy(c.peer_sid, s->peer_sid, sizeof(c.peer_sid));
	c.msg_id = msg_id;
	c.payload = payload;
	c.payload_len = len;
	n = sl_ovpn_ctl_build(&c, plain, sizeof(plain));
	if (n < 0)
		return;
	n = sl_ovpn_wrap(&s->cfg.wrap, plain, (size_t)n, (uint32_t)(now_ms / 1000 + 1), wire,
			 sizeof(wire));
	if (n > 0)
		s->cfg.send(s->cfg.arg, wire, (size_t)n);
}

/* TLS output into reliable messages, due messages onto the wire, then a bare ack if needed. */
static void ks_flush(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks, uint64_t now_ms)
{
	const struct sl_ovpn_rel_tx *m;

	if (ks->state == SL_OVPN_KS_NONE)
		return;
	while (ks->wbio && BIO_ctrl_pending(ks->wbio) > 0 && sl_ovpn_rel_can_send(&ks->rel)) {
		uint8_t chunk[SL_OVPN_CTL_PAYLOAD];
		int n = BIO_read(ks->wbio, chunk, sizeof(chunk));

		if (n <= 0)
			break;
		sl_ovpn_rel_send(&ks->rel, SL_OVPN_P_CONTROL_V1, chunk, (size_t)n, now_ms);
	}
	while ((m = sl_ovpn_rel_next_due(&ks->rel, now_ms)))
		send_packet(s, ks, m->opcode, true, m->id, m->payload, m->len, now_ms);
	if (sl_ovpn_rel_acks_pending(&ks->rel) && s->have_peer_sid)
		send_packet(s, ks, SL_OVPN_P_ACK_V1, false, 0, NULL, 0, now_ms);
}

/* TLS and key-method 2 */

static void tls_failure(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	char why[256], err[160] = "";
	long vr = SSL_get_verify_result(ks->ssl);
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, err, sizeof(err));
	if (vr != X509_V_OK)
		snprintf(why, sizeof(why),
			 "TLS handshake failed: peer certificate not accepted: %s",
			 X509_verify_cert_error_string(vr));
	else
		snprintf(why, sizeof(why), "TLS handshake failed: %s",
			 e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : err
			   : "connection closed by peer");
	ERR_clear_error();
	ks_fail(s, ks, why);
}

static bool km2_from_peer_is_client(const struct sl_ovpn_session *s)
{
	return s->cfg.role == SL_OVPN_ROLE_SERVER;
}

static void send_km2(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	uint8_t buf[4096];
	int n;

	snprintf(ks->local.options, sizeof(ks->local.options), "%s",
		 s->cfg.options ? s->cfg.options : "");
	snprintf(ks->local.peer_info, sizeof(ks->local.peer_info), "%s",
		 s->cfg.peer_info ? s->cfg.peer_info : "");
	if (s->cfg.username) {
		snprintf(ks->local.username, sizeof(ks->local.username), "%s", s->cfg.username);
		snprintf(ks->local.password, sizeof(ks->local.password), "%s",
			 s->cfg.password ? s->cfg.password : "");
	}
	n = sl_ovpn_km2_build(&ks->local, s->cfg.role == SL_OVPN_ROLE_CLIENT, buf, sizeof(buf));
	OPENSSL_cleanse(ks->local.password, sizeof(ks->local.password));
	if (n < 0 || SSL_write(ks->ssl, buf, n) != n) {
		ks_fail(s, ks, "could not write the key-method 2 message");
		return;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	ks->km2_sent = true;
}

/* Control messages are NUL-terminated text; several may share a record, one may span two. */
static void on_plaintext(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks, const uint8_t *d,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i]) {
			if (ks->cmd_len < sizeof(ks->cmd) - 1)
				ks->cmd[ks->cmd_len++] = d[i];
			continue;
		}
		ks->cmd[ks->cmd_len] = '\0';
		if (ks->cmd_len)
			emit(s, SL_OVPN_EV_CONTROL, ks->key_id, (const char *)ks->cmd, ks->cmd_len);
		ks->cmd_len = 0;
	}
}

static void maybe_ready(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	if (ks->km2_sent && ks->km2_received && !ks->ready_reported) {
		ks->state = SL_OVPN_KS_ACTIVE;
		ks->ready_reported = true;
		s->established = true;
		emit(s, SL_OVPN_EV_KEY_READY, ks->key_id, NULL, 0);
	}
}

/* KEY_SEND once the peer has acked all we sent since KEY_READY (our key-method 2 among it). */
static void maybe_send(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	if (ks->ready_reported && !ks->send_reported && ks->state == SL_OVPN_KS_ACTIVE &&
	    (!ks->wbio || BIO_ctrl_pending(ks->wbio) == 0) && sl_ovpn_rel_all_acked(&ks->rel)) {
		ks->send_reported = true;
		emit(s, SL_OVPN_EV_KEY_SEND, ks->key_id, NULL, 0);
	}
}

static void ks_read_tls(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	uint8_t buf[16384];
	int n;

	while (ks->state >= SL_OVPN_KS_KM2 && ks->state != SL_OVPN_KS_FAILED &&
	       (n = SSL_read(ks->ssl, buf, sizeof(buf))) > 0) {
		if (!ks->km2_received) {
			if (sl_ovpn_km2_parse(buf, (size_t)n, km2_from_peer_is_client(s),
					      &ks->remote) < 0) {
				ks_fail(s, ks, "malformed key-method 2 message from the peer");
				return;
			}
			ks->km2_received = true;
			/* A server answers the client's message with its own. */
			if (!ks->km2_sent)
				send_km2(s, ks);
			maybe_ready(s, ks);
			continue;
		}
		on_plaintext(s, ks, buf, (size_t)n);
	}
	if (ks->state != SL_OVPN_KS_FAILED) {
		int err = SSL_get_error(ks->ssl, n);

		if (err == SSL_ERROR_ZERO_RETURN)
			ks_fail(s, ks, "TLS connection closed by the peer");
		else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			tls_failure(s, ks);
	}
}

static void ks_drive(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	if (ks->state == SL_OVPN_KS_TLS) {
		int r = SSL_do_handshake(ks->ssl);

		if (r != 1) {
			int err = SSL_get_error(ks->ssl, r);

			if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
				tls_failure(s, ks);
			return;
		}
		ks->state = SL_OVPN_KS_KM2;
		if (s->cfg.role == SL_OVPN_ROLE_CLIENT)
			send_km2(s, ks);
	}
	if (ks->state >= SL_OVPN_KS_KM2 && ks->state != SL_OVPN_KS_FAILED)
		ks_read_tls(s, ks);
}

/* Input */

static bool is_reset(uint8_t op)
{
	return op == SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2 ||
	       op == SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2 ||
	       op == SL_OVPN_P_CONTROL_SOFT_RESET_V1;
}

static void ks_deliver(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	const struct sl_ovpn_rel_rx *m;

	while ((m = sl_ovpn_rel_next_in_order(&ks->rel))) {
		if (is_reset(m->opcode)) {
			if (ks->state == SL_OVPN_KS_RESET)
				ks->state = SL_OVPN_KS_TLS;
		} else if (m->opcode == SL_OVPN_P_CONTROL_V1 && m->len &&
			   ks->state != SL_OVPN_KS_FAILED) {
			BIO_write(ks->rbio, m->payload, (int)m->len);
		}
	}
}

/* The peer started a renegotiation into key_id: the current key becomes the lame duck. */
static struct sl_ovpn_key_state *accept_soft_reset(struct sl_ovpn_session *s, uint8_t key_id,
						   uint64_t now_ms)
{
	struct sl_ovpn_key_state fresh;

	if (s->ks[0].state != SL_OVPN_KS_ACTIVE || ks_init(s, &fresh, key_id, now_ms))
		return NULL;
	ks_free(&s->ks[1]);
	s->ks[1] = s->ks[0];
	s->ks[0] = fresh;
	s->next_key_id = key_id == SL_OVPN_KEY_ID_MAX ? 1 : (uint8_t)(key_id + 1);
	sl_ovpn_rel_send(&s->ks[0].rel, SL_OVPN_P_CONTROL_SOFT_RESET_V1, NULL, 0, now_ms);
	return &s->ks[0];
}

/* Server: the client's hard reset opens key id 0; ours answers it. */
static struct sl_ovpn_key_state *answer_hard_reset(struct sl_ovpn_session *s, uint64_t now_ms)
{
	if (ks_init(s, &s->ks[0], 0, now_ms))
		return NULL;
	sl_ovpn_rel_send(&s->ks[0].rel, SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2, NULL, 0, now_ms);
	return &s->ks[0];
}

int sl_ovpn_session_input(struct sl_ovpn_session *s, const uint8_t *pkt, size_t len,
			  uint64_t now_ms)
{
	uint8_t plain[PKT_MAX];
	struct sl_ovpn_ctl c;
	struct sl_ovpn_key_state *ks;
	int n = sl_ovpn_unwrap(&s->cfg.wrap, pkt, len, plain, sizeof(plain));

	if (n < 0) {
		s->rx_bad_wrap++;
		return n;
	}
	if (sl_ovpn_ctl_parse(plain, (size_t)n, &c)) {
		s->rx_malformed++;
		return -EBADMSG;
	}
	if (c.n_acks && memcmp(c.peer_sid, s->sid, sizeof(s->sid))) {
		s->rx_bad_sid++; /* acks something of another session */
		return -EPROTO;
	}
	if (!s->have_peer_sid) {
		bool ok = s->cfg.role == SL_OVPN_ROLE_CLIENT
				  ? c.opcode == SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2
				  : c.opcode == SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2;

		if (!ok) {
			s->rx_bad_sid++;
			return -EPROTO;
		}
		memcpy(s->peer_sid, c.sid, sizeof(s->peer_sid));
		s->have_peer_sid = true;
	} else if (memcmp(c.sid, s->peer_sid, sizeof(s->peer_sid))) {
		s->rx_bad_sid++;
		return -EPROTO;
	}
	ks = sl_ovpn_session_ks(s, c.key_id);
	if (!ks && c.opcode == SL_OVPN_P_CONTROL_SOFT_RESET_V1 && c.key_id)
		ks = accept_soft_reset(s, c.key_id, now_ms);
	if (!ks && c.opcode == SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2 && !c.key_id &&
	    s->cfg.role == SL_OVPN_ROLE_SERVER && s->ks[0].state == SL_OVPN_KS_NONE)
		ks = answer_hard_reset(s, now_ms);
	if (!ks) {
		s->rx_malformed++;
		return -ENOENT;
	}
	if (c.n_acks)
		sl_ovpn_rel_on_acks(&ks->rel, c.acks, c.n_acks);
	if (c.has_msg_id &&
	    sl_ovpn_rel_receive(&ks->rel, c.opcode, c.msg_id, c.payload, c.payload_len) < 0)
		s->rx_malformed++;
	ks_deliver(s, ks);
	ks_drive(s, ks);
	ks_flush(s, ks, now_ms);
	maybe_send(s, ks);
	return 0;
}

/* Start and renegotiation */

int sl_ovpn_session_start(struct sl_ovpn_session *s, uint64_t now_ms)
{
	int rc;

	if (s->cfg.role != SL_OVPN_ROLE_CLIENT || s->ks[0].state != SL_OVPN_KS_NONE)
		return -EINVAL;
	rc = ks_init(s, &s->ks[0], 0, now_ms);
	if (rc)
		return rc;
	sl_ovpn_rel_send(&s->ks[0].rel, SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2, NULL, 0, now_ms);
	s->opened_ms = now_ms;
	s->opened = true;
	ks_flush(s, &s->ks[0], now_ms);
	return 0;
}

int sl_ovpn_session_listen(struct sl_ovpn_session *s, uint64_t now_ms)
{
	if (s->cfg.role != SL_OVPN_ROLE_SERVER || s->ks[0].state != SL_OVPN_KS_NONE || s->opened)
		return -EINVAL;
	s->opened_ms = now_ms;
	s->opened = true;
	return 0;
}

int sl_ovpn_session_accept(struct sl_ovpn_session *s, const uint8_t own_sid[8],
			   const uint8_t peer_sid[8], uint64_t now_ms)
{
	struct sl_ovpn_key_state *ks = &s->ks[0];
	int rc;

	if (s->cfg.role != SL_OVPN_ROLE_SERVER || ks->state != SL_OVPN_KS_NONE)
		return -EINVAL;
	rc = ks_init(s, ks, 0, now_ms);
	if (rc)
		return rc;
	memcpy(s->sid, own_sid, sizeof(s->sid));
	memcpy(s->peer_sid, peer_sid, sizeof(s->peer_sid));
	s->have_peer_sid = true;
	ks->rel.tx_next_id = 1; /* our reset (message 0) went out statelessly */
	ks->rel.rx_next_id = 1; /* and the client's reset was message 0 */
	ks->state = SL_OVPN_KS_TLS;
	s->opened_ms = now_ms;
	s->opened = true;
	return 0;
}

int sl_ovpn_session_renegotiate(struct sl_ovpn_session *s, uint64_t now_ms)
{
	struct sl_ovpn_key_state fresh;
	uint8_t id = s->next_key_id;
	int rc;

	if (s->ks[0].state != SL_OVPN_KS_ACTIVE)
		return -EBUSY;
	rc = ks_init(s, &fresh, id, now_ms);
	if (rc)
		return rc;
	ks_free(&s->ks[1]);
	s->ks[1] = s->ks[0];
	s->ks[0] = fresh;
	s->next_key_id = id == SL_OVPN_KEY_ID_MAX ? 1 : (uint8_t)(id + 1);
	sl_ovpn_rel_send(&s->ks[0].rel, SL_OVPN_P_CONTROL_SOFT_RESET_V1, NULL, 0, now_ms);
	ks_flush(s, &s->ks[0], now_ms);
	return 0;
}

void sl_ovpn_session_retire_lame_duck(struct sl_ovpn_session *s)
{
	ks_free(&s->ks[1]);
}

/* Timers */

static void negotiation_too_slow(struct sl_ovpn_session *s, struct sl_ovpn_key_state *ks)
{
	char why[160];

	snprintf(why, sizeof(why),
		 "TLS key negotiation did not finish within %u s (no answer, or the peer refused "
		 "our tls-auth/tls-crypt key)",
		 s->cfg.hand_window_ms / 1000);
	ks_fail_timed(s, ks, why, true);
}

/* The first handshake's deadline ran out: with or without a key state (no reset yet). */
static void first_handshake_too_slow(struct sl_ovpn_session *s)
{
	char why[160];

	s->opened = false; /* said once */
	if (s->ks[0].state != SL_OVPN_KS_NONE) {
		negotiation_too_slow(s, &s->ks[0]);
		return;
	}
	snprintf(why, sizeof(why), "no hard reset within %u s of the connection (hand-window)",
		 s->cfg.hand_window_ms / 1000);
	emit_failed(s, 0, why, true);
}

void sl_ovpn_session_tick(struct sl_ovpn_session *s, uint64_t now_ms)
{
	if (s->opened && !s->established && now_ms - s->opened_ms >= s->cfg.hand_window_ms) {
		first_handshake_too_slow(s);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct sl_ovpn_key_state *ks = &s->ks[i];

		if (ks->state == SL_OVPN_KS_NONE || ks->state == SL_OVPN_KS_FAILED)
			continue;
		if (ks->state != SL_OVPN_KS_ACTIVE &&
		    now_ms - ks->started_ms >= s->cfg.hand_window_ms) {
			negotiation_too_slow(s, ks);
			continue;
		}
		ks_flush(s, ks, now_ms);
		if (ks->ready_reported && !ks->send_reported &&
		    now_ms - ks->started_ms >= s->cfg.hand_window_ms) {
			static const char why[] =
				"the peer did not acknowledge our key-method 2 "
				"message within hand-window; sending with it anyway";

			ks->send_reported = true;
			emit(s, SL_OVPN_EV_KEY_SEND, ks->key_id, why, sizeof(why) - 1);
		}
	}
}

uint64_t sl_ovpn_session_deadline(const struct sl_ovpn_session *s)
{
	uint64_t d = UINT64_MAX;

	if (s->opened && !s->established)
		d = s->opened_ms + s->cfg.hand_window_ms;
	for (int i = 0; i < 2; i++) {
		const struct sl_ovpn_key_state *ks = &s->ks[i];
		uint64_t r;

		if (ks->state == SL_OVPN_KS_NONE || ks->state == SL_OVPN_KS_FAILED)
			continue;
		r = sl_ovpn_rel_deadline(&ks->rel);
		if (r < d)
			d = r;
		if ((ks->state != SL_OVPN_KS_ACTIVE || !ks->send_reported) &&
		    ks->started_ms + s->cfg.hand_window_ms < d)
			d = ks->started_ms + s->cfg.hand_window_ms;
	}
	return d;
}

/* Control messages and keys */

int sl_ovpn_session_send_control(struct sl_ovpn_session *s, const char *msg, uint64_t now_ms)
{
	struct sl_ovpn_key_state *ks = &s->ks[0];
	size_t n = strlen(msg) + 1;

	/* Before a renegotiation completes the old key state still carries messages. */
	if (ks->state != SL_OVPN_KS_ACTIVE && s->ks[1].state == SL_OVPN_KS_ACTIVE)
		ks = &s->ks[1];
	if (ks->state != SL_OVPN_KS_ACTIVE)
		return -ENOTCONN;
	if (SSL_write(ks->ssl, msg, (int)n) != (int)n)
		return -EAGAIN;
	ks_flush(s, ks, now_ms);
	return 0;
}

int sl_ovpn_session_key2(struct sl_ovpn_session *s, uint8_t key_id, bool ekm,
			 uint8_t key2[SL_OVPN_KEY2_LEN])
{
	struct sl_ovpn_key_state *ks = sl_ovpn_session_ks(s, key_id);
	struct sl_ovpn_key_source src;
	const struct sl_ovpn_km2 *cl, *sv;
	int rc;

	if (!ks || ks->state != SL_OVPN_KS_ACTIVE)
		return -ENOENT;
	if (ekm)
		return SSL_export_keying_material(ks->ssl, key2, SL_OVPN_KEY2_LEN,
						  SL_OVPN_EKM_LABEL, strlen(SL_OVPN_EKM_LABEL),
						  NULL, 0, 0) == 1
			       ? 0
			       : -EIO;
	cl = s->cfg.role == SL_OVPN_ROLE_CLIENT ? &ks->local : &ks->remote;
	sv = s->cfg.role == SL_OVPN_ROLE_CLIENT ? &ks->remote : &ks->local;
	memcpy(src.pre_master, cl->pre_master, sizeof(src.pre_master));
	memcpy(src.client_random1, cl->random1, 32);
	memcpy(src.client_random2, cl->random2, 32);
	memcpy(src.server_random1, sv->random1, 32);
	memcpy(src.server_random2, sv->random2, 32);
	memcpy(src.client_sid, s->cfg.role == SL_OVPN_ROLE_CLIENT ? s->sid : s->peer_sid, 8);
	memcpy(src.server_sid, s->cfg.role == SL_OVPN_ROLE_CLIENT ? s->peer_sid : s->sid, 8);
	rc = sl_ovpn_prf_key2(&src, key2);
	OPENSSL_cleanse(&src, sizeof(src));
	return rc;
}
