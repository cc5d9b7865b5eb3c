/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect server's DTLS channel (ocserv's PSK-NEGOTIATE dialect, as
 * openconnect and `sluice connect` speak it): one UDP socket on udp-port; a
 * tunnel registers with the PSK its CSTP session exports
 * ("EXPORTER-openconnect-psk", 32 bytes) and gets a random 32-byte App-ID,
 * which the CONNECT reply sends as X-DTLS-App-ID and the client puts in its
 * ClientHello's session id. A ClientHello from any address finds its tunnel
 * by that id (proto/ac_dtls.h); after that datagrams go by source address.
 * A record is | CSTP type (1) | payload |.
 *
 * OpenSSL does the DTLS 1.2 handshake, through memory BIOs (one per tunnel,
 * one datagram at a time). The records after it: either OpenSSL in the
 * control plane too (packets reach the engine through its stream API), or,
 * with an on_keys callback (dtls-datapath = engine), the engine's
 * SL_WIRE_DTLS path with the keys exported from OpenSSL (dtls_keys.h): then
 * the socket is the engine's (sl_acs_dtls_io, sl_acs_dtls_input) and its
 * DPD decides the path. No cookie exchange (HelloVerifyRequest): a handshake starts only for
 * a hello whose session id is a live tunnel's secret App-ID, and the PSK
 * flight sent back is no larger than the hello.
 *
 * Liveness: no record for dpd seconds and DPD requests go out over DTLS;
 * none for 2 * dpd + 1 s and the channel is "silent" (data over CSTP) until
 * the next record; a new ClientHello (the client's reconnect after its own
 * DPD gave up) replaces the session once it completes. Silent for 120 s:
 * the session is dropped.
 */
#ifndef SL_CTL_ANYCONNECT_SERVER_DTLS_H
#define SL_CTL_ANYCONNECT_SERVER_DTLS_H

#include "core/loop.h"
#include "sluice/engine_dtls.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_ACS_APP_ID_LEN 32
#define SL_ACS_PSK_LEN	  32

struct sl_acs_dtls;
struct sl_acs_dtls_sess;

struct sl_acs_dtls_stats {
	uint64_t datagrams, handshakes, handshakes_ok;
	/* dropped datagrams, by reason */
	uint64_t drop_unknown_peer, drop_bad_hello, drop_no_session, drop_record;
	uint64_t send_failed; /* datagrams the socket refused */
};

typedef void (*sl_acs_dtls_packet_fn)(void *arg, const uint8_t *ip, size_t len);
typedef void (*sl_acs_dtls_state_fn)(void *arg, bool up);
/*
 * A finished handshake's data keys for the engine (SL_WIRE_DTLS) and the
 * client's address: 0 when the engine took them (from then on OpenSSL writes
 * nothing on that session, the engine carries the records, its DPD decides
 * the path), or -errno (the records stay in OpenSSL).
 */
typedef int (*sl_acs_dtls_keys_fn)(void *arg, const struct sl_dtls_key_pair *kp,
				   const struct sockaddr_storage *peer);

/* Where datagrams go when the socket is not ours (the engine's, SL_WIRE_DTLS). */
struct sl_acs_dtls_io {
	int (*send)(void *arg, const struct sockaddr_storage *to, const uint8_t *b, size_t n);
	void *arg;
};

/*
 * The UDP socket on addr (its port replaced by port); or, with io, no socket:
 * datagrams come in through sl_acs_dtls_input and go out through io. 0 or
 * -errno with err.
 */
int sl_acs_dtls_new(struct sl_acs_dtls **out, struct sl_loop *loop,
		    const struct sockaddr_storage *addr, uint16_t port, uint32_t dpd_s,
		    const struct sl_acs_dtls_io *io, char *err, size_t err_len);
/* A datagram for us from the engine's socket (handshakes, alerts, unknown senders). */
void sl_acs_dtls_input(struct sl_acs_dtls *d, const uint8_t *b, size_t n,
		       const struct sockaddr_storage *from);
void sl_acs_dtls_free(struct sl_acs_dtls *d);
void sl_acs_dtls_stats(const struct sl_acs_dtls *d, struct sl_acs_dtls_stats *out);
/* Once a second: handshake retransmits and timeouts, DPD, silence. */
void sl_acs_dtls_tick(struct sl_acs_dtls *d);

/* The PSK of a CSTP session: its TLS exporter's 32 bytes. 0 or -EIO. */
int sl_acs_dtls_psk(SSL *cstp_ssl, uint8_t psk[SL_ACS_PSK_LEN]);
/* The UDP port bound (for udp-port 0, tests). */
uint16_t sl_acs_dtls_local_port(const struct sl_acs_dtls *d);

/*
 * A tunnel's DTLS slot for psk (copied), a fresh App-ID in app_id. NULL when
 * out of memory or random numbers (the tunnel stays on CSTP).
 */
struct sl_acs_dtls_sess *sl_acs_dtls_attach(struct sl_acs_dtls *d, const uint8_t *psk,
					    const char *name, sl_acs_dtls_packet_fn on_packet,
					    sl_acs_dtls_state_fn on_state,
					    sl_acs_dtls_keys_fn on_keys, void *arg,
					    uint8_t app_id[SL_ACS_APP_ID_LEN]);
/* Logs the session's counters; NULL is fine. */
void sl_acs_dtls_detach(struct sl_acs_dtls_sess *s);
/* Up, not silent, and its records in OpenSSL: data should go this way (sl_acs_dtls_send). */
bool sl_acs_dtls_up(const struct sl_acs_dtls_sess *s);
/* One record. 0 or -errno (not up, too big, the socket refused). */
int sl_acs_dtls_send(struct sl_acs_dtls_sess *s, uint8_t type, const void *payload, size_t len);
/* Data packets over DTLS: sent, received. */
void sl_acs_dtls_counts(const struct sl_acs_dtls_sess *s, uint64_t *tx, uint64_t *rx);
/* Data packets the engine carried for it (its detach log adds them). */
void sl_acs_dtls_counts_add(struct sl_acs_dtls_sess *s, uint64_t tx, uint64_t rx);

#endif
