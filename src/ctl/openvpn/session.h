/* SPDX-License-Identifier: MIT */
/*
 * One OpenVPN 2.6 TLS session (openvpn:ssl.c struct tls_session): our and
 * the peer's session ids, the control-channel wrapping, and up to two key
 * states (the current key id and the one it replaced, kept as lame duck).
 * Each key state runs the reliability layer and a TLS connection over
 * OpenSSL memory BIOs, then the key-method 2 exchange; after that, control
 * messages (PUSH_REQUEST, PUSH_REPLY, AUTH_FAILED, RESTART ...) are handed
 * to the owner as text.
 *
 * Transport-agnostic: packets go out through cfg.send (the owner adds the
 * TCP length prefix when it runs over TCP), come in by
 * sl_ovpn_session_input; time is passed in (ms, monotonic). No threads.
 */
#ifndef SL_CTL_OPENVPN_SESSION_H
#define SL_CTL_OPENVPN_SESSION_H

#include "ctl/openvpn/reliable.h"
#include "proto/ovpn_ctl.h"
#include "proto/ovpn_km2.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_HAND_WINDOW_MS 60000 /* --hand-window default */
#define SL_OVPN_CTL_PAYLOAD    1100  /* TLS bytes per P_CONTROL_V1 (tls-mtu 1250 minus headers) */

enum sl_ovpn_ev_type {
	SL_OVPN_EV_KEY_READY, /* key-method 2 done for key_id: data keys can be made */
	/*
	 * After KEY_READY: the peer acknowledged everything we sent on key_id, so it has our
	 * key-method 2 message and its keys: data may now be *sent* with key_id (receive with it
	 * from KEY_READY on). OpenVPN's S_ACTIVE rule (ssl.c: "Wait for ACK"). If the acks do not
	 * come within hand-window of the key's start, it comes anyway with text saying so.
	 */
	SL_OVPN_EV_KEY_SEND,
	SL_OVPN_EV_CONTROL, /* one control message (text, NUL-free) */
	SL_OVPN_EV_FAILED,  /* the handshake of key_id failed: text says why (one line) */
};

struct sl_ovpn_ev {
	enum sl_ovpn_ev_type type;
	uint8_t key_id;
	const char *text; /* CONTROL: the message; FAILED: the reason */
	size_t len;
	bool hand_window; /* FAILED: because hand-window ran out (not a refusal) */
};

struct sl_ovpn_session_cfg {
	enum sl_ovpn_role role;
	SSL_CTX *ssl_ctx;	  /* verify settings are the owner's; not freed by the session */
	struct sl_ovpn_wrap wrap; /* moved into the session (freed by it) */
	const char *options;	  /* OCC options string */
	const char *peer_info;	  /* IV_... lines (client) */
	const char *username;	  /* auth-user-pass, or NULL */
	const char *password;	  /* NULL when username is NULL */
	uint32_t tls_timeout_ms;  /* first resend timeout; 0 = 2000 */
	uint32_t hand_window_ms;  /* handshake deadline; 0 = 60000 */
	void (*send)(void *arg, const uint8_t *pkt, size_t len);
	/* Called from inside sl_ovpn_session_*: it must not free the session (defer that). */
	void (*on_event)(void *arg, const struct sl_ovpn_ev *ev);
	void *arg;
};

enum sl_ovpn_ks_state {
	SL_OVPN_KS_NONE,
	SL_OVPN_KS_RESET,  /* hard/soft reset sent, waiting for the peer's */
	SL_OVPN_KS_TLS,	   /* TLS handshake running */
	SL_OVPN_KS_KM2,	   /* TLS up, key-method 2 exchange running */
	SL_OVPN_KS_ACTIVE, /* keys can be made; control messages flow */
	SL_OVPN_KS_FAILED,
};

struct sl_ovpn_key_state {
	enum sl_ovpn_ks_state state;
	uint8_t key_id;
	bool km2_sent, km2_received, ready_reported, send_reported;
	uint64_t started_ms;
	struct sl_ovpn_reliable rel;
	SSL *ssl;
	BIO *rbio, *wbio;		  /* owned by ssl */
	struct sl_ovpn_km2 local, remote; /* key sources for the legacy PRF */
	uint8_t cmd[2048];		  /* control message being reassembled */
	size_t cmd_len;
};

struct sl_ovpn_session {
	struct sl_ovpn_session_cfg cfg;
	uint8_t sid[SL_OVPN_SESSION_ID_LEN];
	uint8_t peer_sid[SL_OVPN_SESSION_ID_LEN];
	bool have_peer_sid;
	uint8_t next_key_id; /* for the next renegotiation: 1..7, wraps to 1 */
	/* The first handshake must be done by opened_ms + hand_window_ms, counted from the
	 * client's reset, the server's cookie coming back (UDP) or the accept (TCP): a peer that
	 * sends nothing, or a partial packet, still runs out of time. */
	uint64_t opened_ms;
	bool opened, established;
	struct sl_ovpn_key_state ks[2];			/* [0] current, [1] lame duck */
	uint64_t rx_bad_wrap, rx_bad_sid, rx_malformed; /* dropped control packets */
};

/* Set up (no packet sent yet). 0 or -ENOMEM/-EINVAL. */
int sl_ovpn_session_init(struct sl_ovpn_session *s, const struct sl_ovpn_session_cfg *cfg);
void sl_ovpn_session_free(struct sl_ovpn_session *s);

/*
 * Server, stateless handshake: the client echoed own_sid (our cookie) in a
 * packet after its hard reset. Start key id 0 as if both resets had been
 * exchanged and acked (our reset was message 0, the client's too).
 */
int sl_ovpn_session_accept(struct sl_ovpn_session *s, const uint8_t own_sid[8],
			   const uint8_t peer_sid[8], uint64_t now_ms);

/*
 * Server, TCP: the connection was accepted; the client's hard reset is awaited, and
 * hand-window counts from now (OpenVPN's hand-window, from the accept).
 */
int sl_ovpn_session_listen(struct sl_ovpn_session *s, uint64_t now_ms);

/* Client: send the hard reset of key id 0. */
int sl_ovpn_session_start(struct sl_ovpn_session *s, uint64_t now_ms);
/* Start a renegotiation into the next key id (soft reset). */
int sl_ovpn_session_renegotiate(struct sl_ovpn_session *s, uint64_t now_ms);

/* One control packet (wrapped, as received). Returns 0 or a negative errno if dropped. */
int sl_ovpn_session_input(struct sl_ovpn_session *s, const uint8_t *pkt, size_t len,
			  uint64_t now_ms);
/* Resends, the handshake deadline. Call at sl_ovpn_session_deadline. */
void sl_ovpn_session_tick(struct sl_ovpn_session *s, uint64_t now_ms);
uint64_t sl_ovpn_session_deadline(const struct sl_ovpn_session *s);

/* Send one control message (NUL added) on the current key state. 0, -EAGAIN or -ENOTCONN. */
int sl_ovpn_session_send_control(struct sl_ovpn_session *s, const char *msg, uint64_t now_ms);

/*
 * The 256-byte key2 of an active key id: TLS-EKM (RFC 5705 exporter,
 * "EXPORTER-OpenVPN-datakeys") when ekm, else the legacy OpenVPN PRF over
 * both key-method 2 key sources and session ids. 0, -ENOENT or -EIO.
 */
int sl_ovpn_session_key2(struct sl_ovpn_session *s, uint8_t key_id, bool ekm,
			 uint8_t key2[SL_OVPN_KEY2_LEN]);
/* The key state of key_id, or NULL. */
struct sl_ovpn_key_state *sl_ovpn_session_ks(struct sl_ovpn_session *s, uint8_t key_id);
/* Drop the lame-duck key state (after its transition window). */
void sl_ovpn_session_retire_lame_duck(struct sl_ovpn_session *s);

#endif
