/* SPDX-License-Identifier: MIT */
/*
 * A PPP session's negotiation (RFC 1661 LCP, RFC 1332/1877 IPCP, RFC 5072
 * IPV6CP), minimal and strict, as the far end of openconnect's PPP
 * protocols (nullppp here; F5 and Fortinet frame the same PPP). No I/O:
 * the owner feeds it control packets and a once-a-second tick, and it sends
 * through the owner's callback, which frames (LCP with the full ACCM).
 *
 * It is not the full RFC 1661 automaton: each protocol is Opened when our
 * Configure-Request was acked and we acked the peer's; LCP renegotiation
 * after that is acked but does not restart the NCPs. Echo-Request/Reply is
 * the dead peer detection. A server assigns the peer's IPv4 address (Nak of
 * its 0.0.0.0), DNS servers and the IPv6 interface identifier; a client
 * (server = false) asks for them and takes the Nak'ed values.
 */
#ifndef SL_CTL_PPP_SESSION_H
#define SL_CTL_PPP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_ppp_session_cfg {
	bool server;
	bool hdlc;	 /* async framing: negotiate the ACCM (we ask for 0) */
	bool ipv4, ipv6; /* which NCPs to run */
	uint32_t magic;	 /* our LCP magic number (random, non-zero) */
	uint8_t local_ip4[4], peer_ip4[4];
	uint8_t dns[2][4]; /* server: offered to the peer; 0.0.0.0 = none */
	uint8_t local_ifid[8], peer_ifid[8];
	uint32_t echo_interval_s; /* 0 = no echo requests */
	uint32_t echo_fails;	  /* unanswered echoes that mean the peer is gone; default 3 */
};

struct sl_ppp_session_ops {
	/* Send one control packet (code id length data) of proto. 0 or -errno (then counted). */
	int (*send)(void *arg, uint16_t proto, const uint8_t *pkt, size_t len);
	/* Every wanted NCP is Opened: data may flow. */
	void (*on_network)(void *arg);
	/* The session is over (terminated, dead peer, failed negotiation); called once. */
	void (*on_down)(void *arg, const char *reason);
};

enum sl_ppp_phase { SL_PPP_ESTABLISH, SL_PPP_NETWORK, SL_PPP_TERMINATE, SL_PPP_DEAD };

struct sl_ppp_ncp {
	uint16_t proto;
	uint8_t id;	    /* of our last Configure-Request */
	bool ours_acked;    /* our request was acked */
	bool theirs_acked;  /* we acked the peer's request */
	bool disabled;	    /* not wanted, or Protocol-Rejected by the peer */
	uint32_t send_opts; /* bit n: we still send option n (cleared by Conf-Rej) */
	uint32_t tries, since_req_s;
	uint32_t naks; /* Configure-Naks in a row (RFC 1661 4.6 Max-Failure) */
};

struct sl_ppp_session {
	struct sl_ppp_session_cfg cfg;
	const struct sl_ppp_session_ops *ops;
	void *arg;
	enum sl_ppp_phase phase;
	struct sl_ppp_ncp lcp, ipcp, ipv6cp;
	/* what the peer asked of our sending side */
	uint32_t tx_accm; /* escape these control bytes when sending to the peer */
	bool tx_acfc, tx_pfc;
	uint16_t peer_mru;
	uint32_t peer_magic;
	uint8_t peer_ip4_seen[4];  /* the address the peer says is its own (client: the server's) */
	uint8_t peer_ifid_seen[8]; /* the interface identifier we acked for the peer (RFC 5072) */
	uint32_t echo_id, echo_outstanding, since_echo_s;
	uint8_t lcp_id;		   /* for echo/terminate/reject requests */
	uint64_t bad_packets;	   /* malformed or unexpected control packets, ignored */
	uint64_t rejected_options; /* options of the peer's requests we Configure-Rejected */
	uint64_t naked_ifids;	   /* the peer's zero or clashing IPV6CP identifiers we Nak'ed */
};

void sl_ppp_session_init(struct sl_ppp_session *s, const struct sl_ppp_session_cfg *cfg,
			 const struct sl_ppp_session_ops *ops, void *arg);
/* Send the first LCP Configure-Request. */
void sl_ppp_session_start(struct sl_ppp_session *s);
/* A control packet of proto (LCP, IPCP, IPV6CP) from the peer. */
void sl_ppp_session_input(struct sl_ppp_session *s, uint16_t proto, const uint8_t *pkt, size_t len);
/* A frame of a protocol we do not speak: LCP Protocol-Reject (RFC 1661 5.7). */
void sl_ppp_session_reject_protocol(struct sl_ppp_session *s, uint16_t proto, const uint8_t *info,
				    size_t len);
/* Once a second: retransmit requests, echo, give up. */
void sl_ppp_session_tick(struct sl_ppp_session *s);
/* Say Terminate-Request (reason as data); the session goes down. */
void sl_ppp_session_close(struct sl_ppp_session *s, const char *reason);

static inline bool sl_ppp_session_up(const struct sl_ppp_session *s)
{
	return s->phase == SL_PPP_NETWORK;
}

/* In the network phase with IPV6CP Opened (not rejected or closed): IPv6 may flow. */
static inline bool sl_ppp_session_ipv6_up(const struct sl_ppp_session *s)
{
	return s->phase == SL_PPP_NETWORK && !s->ipv6cp.disabled;
}

#endif
