// SPDX-License-Identifier: MIT
/* PPP negotiation: LCP, IPCP, IPV6CP Configure exchanges, echo as DPD, terminate. */
#include "ctl/ppp/session.h"

#include "core/bytes.h"
#include "core/log.h"
#include "proto/ppp.h"

#include <stdio.h>
#include <string.h>

#define RETRY_S	  3  /* as openconnect: a Configure-Request every 3 s until acked */
#define MAX_TRIES 10 /* RFC 1661 4.6 Max-Configure */
#define MAX_NAKS  5  /* RFC 1661 4.6 Max-Failure, here: Naks of our request in a row */
#define PKT_MAX	  256

static const uint8_t zero8[8];

static struct sl_ppp_ncp *ncp_of(struct sl_ppp_session *s, uint16_t proto)
{
	switch (proto) {
	case SL_PPP_LCP:
		return &s->lcp;
	case SL_PPP_IPCP:
		return &s->ipcp;
	case SL_PPP_IPV6CP:
		return &s->ipv6cp;
	default:
		return NULL;
	}
}

static const char *proto_name(uint16_t proto)
{
	return proto == SL_PPP_LCP ? "LCP" : proto == SL_PPP_IPCP ? "IPCP" : "IPV6CP";
}

static bool is_zero(const uint8_t *b, size_t n)
{
	return memcmp(b, zero8, n) == 0;
}

void sl_ppp_session_init(struct sl_ppp_session *s, const struct sl_ppp_session_cfg *cfg,
			 const struct sl_ppp_session_ops *ops, void *arg)
{
	*s = (struct sl_ppp_session){.cfg = *cfg, .ops = ops, .arg = arg};
	if (!s->cfg.echo_fails)
		s->cfg.echo_fails = 3;
	s->tx_accm = 0xffffffffu; /* RFC 1662 7.1: until the peer says otherwise */
	s->peer_mru = 1500;
	s->lcp = (struct sl_ppp_ncp){.proto = SL_PPP_LCP};
	s->ipcp = (struct sl_ppp_ncp){.proto = SL_PPP_IPCP, .disabled = !cfg->ipv4};
	s->ipv6cp = (struct sl_ppp_ncp){.proto = SL_PPP_IPV6CP, .disabled = !cfg->ipv6};
	s->lcp.send_opts = 1u << SL_LCP_MAGIC | 1u << SL_LCP_PFC | 1u << SL_LCP_ACFC;
	if (cfg->hdlc)
		s->lcp.send_opts |= 1u << SL_LCP_ACCM;
	s->ipcp.send_opts = 1u << SL_IPCP_ADDR;
	s->ipv6cp.send_opts = 1u << SL_IPV6CP_IFID;
}

static void send_pkt(struct sl_ppp_session *s, uint16_t proto, struct sl_ppp_builder *b)
{
	int n = sl_ppp_build_end(b);

	if (n < 0 || s->ops->send(s->arg, proto, b->buf, (size_t)n) < 0)
		sl_debug("ppp: could not send a %s packet", proto_name(proto));
}

static void down(struct sl_ppp_session *s, const char *reason)
{
	if (s->phase == SL_PPP_DEAD)
		return;
	s->phase = SL_PPP_DEAD;
	s->ops->on_down(s->arg, reason);
}

/* ---- our requests ------------------------------------------------------------------ */

static bool sends(const struct sl_ppp_ncp *n, uint8_t opt)
{
	return opt < 32 && (n->send_opts >> opt) & 1;
}

static void send_conf_req(struct sl_ppp_session *s, struct sl_ppp_ncp *n)
{
	uint8_t buf[PKT_MAX], v[4];
	struct sl_ppp_builder b;

	n->id++;
	n->tries++;
	n->since_req_s = 0;
	sl_ppp_build_begin(&b, buf, sizeof(buf), SL_PPP_CONF_REQ, n->id);
	if (n->proto == SL_PPP_LCP) {
		if (sends(n, SL_LCP_ACCM)) {
			sl_put_be32(v, 0);
			sl_ppp_build_opt(&b, SL_LCP_ACCM, v, 4);
		}
		if (sends(n, SL_LCP_MAGIC)) {
			sl_put_be32(v, s->cfg.magic);
			sl_ppp_build_opt(&b, SL_LCP_MAGIC, v, 4);
		}
		if (sends(n, SL_LCP_PFC))
			sl_ppp_build_opt(&b, SL_LCP_PFC, NULL, 0);
		if (sends(n, SL_LCP_ACFC))
			sl_ppp_build_opt(&b, SL_LCP_ACFC, NULL, 0);
	} else if (n->proto == SL_PPP_IPCP) {
		if (sends(n, SL_IPCP_ADDR))
			sl_ppp_build_opt(&b, SL_IPCP_ADDR, s->cfg.local_ip4, 4);
	} else if (sends(n, SL_IPV6CP_IFID)) {
		sl_ppp_build_opt(&b, SL_IPV6CP_IFID, s->cfg.local_ifid, 8);
	}
	send_pkt(s, n->proto, &b);
}

void sl_ppp_session_start(struct sl_ppp_session *s)
{
	send_conf_req(s, &s->lcp);
}

static void start_ncps(struct sl_ppp_session *s)
{
	if (!s->ipcp.disabled && !s->ipcp.tries)
		send_conf_req(s, &s->ipcp);
	if (!s->ipv6cp.disabled && !s->ipv6cp.tries)
		send_conf_req(s, &s->ipv6cp);
}

static bool opened(const struct sl_ppp_ncp *n)
{
	return n->ours_acked && n->theirs_acked;
}

/* After any change: LCP opened starts the NCPs; all wanted NCPs opened is the network phase. */
static void advance(struct sl_ppp_session *s)
{
	if (s->phase != SL_PPP_ESTABLISH || !opened(&s->lcp))
		return;
	start_ncps(s);
	if (s->ipcp.disabled && s->ipv6cp.disabled) {
		sl_ppp_session_close(s, "no network protocol left");
		return;
	}
	if ((s->ipcp.disabled || opened(&s->ipcp)) && (s->ipv6cp.disabled || opened(&s->ipv6cp))) {
		s->phase = SL_PPP_NETWORK;
		s->ops->on_network(s->arg);
	}
}

/* ---- the peer's requests ------------------------------------------------------------ */

enum verdict { ACK, NAK, REJ };

/* Judge one option of the peer's request; a NAK fills nak[0..*nak_len) with our value. */
static enum verdict judge_lcp(struct sl_ppp_session *s, const struct sl_ppp_opt *o, uint8_t *nak)
{
	switch (o->type) {
	case SL_LCP_MRU:
		return o->len == 2 ? ACK : REJ;
	case SL_LCP_ACCM:
		return o->len == 4 ? ACK : REJ;
	case SL_LCP_MAGIC:
		if (o->len != 4)
			return REJ;
		if (sl_get_be32(o->value) == s->cfg.magic || sl_get_be32(o->value) == 0) {
			/* a looped-back line or no magic (RFC 1661 6.4): suggest another */
			sl_put_be32(nak, ~s->cfg.magic);
			return NAK;
		}
		return ACK;
	case SL_LCP_PFC:
	case SL_LCP_ACFC:
		return o->len == 0 ? ACK : REJ;
	default: /* authentication, callback, multilink...: not here */
		return REJ;
	}
}

static enum verdict judge_ipcp(struct sl_ppp_session *s, const struct sl_ppp_opt *o, uint8_t *nak)
{
	int dns = o->type == SL_IPCP_DNS1 ? 0 : o->type == SL_IPCP_DNS2 ? 1 : -1;

	if (o->type == SL_IPCP_ADDR && o->len == 4) {
		if (!s->cfg.server)
			return is_zero(o->value, 4) ? REJ : ACK; /* the server's own address */
		if (!memcmp(o->value, s->cfg.peer_ip4, 4))
			return ACK;
		memcpy(nak, s->cfg.peer_ip4, 4);
		return NAK;
	}
	if (dns >= 0 && o->len == 4 && s->cfg.server && !is_zero(s->cfg.dns[dns], 4)) {
		if (!memcmp(o->value, s->cfg.dns[dns], 4))
			return ACK;
		memcpy(nak, s->cfg.dns[dns], 4);
		return NAK;
	}
	return REJ; /* VJ compression, NBNS, DNS we do not offer, the old IP-Addresses */
}

static enum verdict judge_ipv6cp(struct sl_ppp_session *s, const struct sl_ppp_opt *o, uint8_t *nak)
{
	if (o->type != SL_IPV6CP_IFID || o->len != 8)
		return REJ;
	/* RFC 5072 4.1: a zero identifier asks for one; ours would not be unique on the link */
	if (is_zero(o->value, 8) || !memcmp(o->value, s->cfg.local_ifid, 8)) {
		s->naked_ifids++;
		memcpy(nak, s->cfg.peer_ifid, 8);
		if (!s->cfg.server || is_zero(nak, 8)) {
			memcpy(nak, s->cfg.local_ifid, 8);
			nak[7] ^= 0x01; /* any identifier other than ours */
		}
		return NAK;
	}
	return ACK;
}

static enum verdict judge(struct sl_ppp_session *s, uint16_t proto, const struct sl_ppp_opt *o,
			  uint8_t *nak)
{
	if (proto == SL_PPP_LCP)
		return judge_lcp(s, o, nak);
	if (proto == SL_PPP_IPCP)
		return judge_ipcp(s, o, nak);
	return judge_ipv6cp(s, o, nak);
}

/* What an acked request means for our sending side. */
static void apply_acked(struct sl_ppp_session *s, uint16_t proto, const uint8_t *data, size_t len)
{
	struct sl_ppp_opt o;
	size_t off = 0;

	if (proto == SL_PPP_LCP) {
		s->tx_accm = 0xffffffffu;
		s->tx_acfc = s->tx_pfc = false;
	}
	while (sl_ppp_opt_next(data, len, &off, &o) == 1) {
		if (proto == SL_PPP_LCP && o.type == SL_LCP_MRU)
			s->peer_mru = sl_get_be16(o.value);
		else if (proto == SL_PPP_LCP && o.type == SL_LCP_ACCM)
			s->tx_accm = sl_get_be32(o.value);
		else if (proto == SL_PPP_LCP && o.type == SL_LCP_MAGIC)
			s->peer_magic = sl_get_be32(o.value);
		else if (proto == SL_PPP_LCP && o.type == SL_LCP_PFC)
			s->tx_pfc = true;
		else if (proto == SL_PPP_LCP && o.type == SL_LCP_ACFC)
			s->tx_acfc = true;
		else if (proto == SL_PPP_IPCP && o.type == SL_IPCP_ADDR)
			memcpy(s->peer_ip4_seen, o.value, 4);
		else if (proto == SL_PPP_IPV6CP && o.type == SL_IPV6CP_IFID)
			memcpy(s->peer_ifid_seen, o.value, 8);
	}
}

static void on_conf_req(struct sl_ppp_session *s, struct sl_ppp_ncp *n, const struct sl_ppp_cp *cp)
{
	uint8_t nbuf[PKT_MAX], rbuf[PKT_MAX], nak[8];
	struct sl_ppp_builder naks, rejs, ack;
	struct sl_ppp_opt o;
	size_t off = 0;
	int r;

	sl_ppp_build_begin(&naks, nbuf, sizeof(nbuf), SL_PPP_CONF_NAK, cp->id);
	sl_ppp_build_begin(&rejs, rbuf, sizeof(rbuf), SL_PPP_CONF_REJ, cp->id);
	while ((r = sl_ppp_opt_next(cp->data, cp->len, &off, &o)) == 1) {
		switch (judge(s, n->proto, &o, nak)) {
		case ACK:
			break;
		case NAK:
			sl_ppp_build_opt(&naks, o.type, nak, o.len);
			break;
		case REJ:
			s->rejected_options++;
			sl_ppp_build_bytes(&rejs, o.value - 2, o.len + 2u);
			break;
		}
	}
	if (r < 0) {
		s->bad_packets++;
		return;
	}
	/* RFC 1661 5.3/5.4: rejects first; naks only when nothing is rejected. */
	if (rejs.len > 4) {
		send_pkt(s, n->proto, &rejs);
	} else if (naks.len > 4) {
		send_pkt(s, n->proto, &naks);
	} else {
		sl_ppp_build_begin(&ack, nbuf, sizeof(nbuf), SL_PPP_CONF_ACK, cp->id);
		sl_ppp_build_bytes(&ack, cp->data, cp->len);
		send_pkt(s, n->proto, &ack);
		apply_acked(s, n->proto, cp->data, cp->len);
		n->theirs_acked = true;
		if (!n->tries) /* the peer was first: answer with our own request */
			send_conf_req(s, n);
	}
}

/* ---- answers to our requests ----------------------------------------------------------- */

static void on_nak(struct sl_ppp_session *s, struct sl_ppp_ncp *n, const struct sl_ppp_cp *cp)
{
	struct sl_ppp_opt o;
	size_t off = 0;

	while (sl_ppp_opt_next(cp->data, cp->len, &off, &o) == 1) {
		if (n->proto == SL_PPP_IPCP && o.type == SL_IPCP_ADDR && o.len == 4 &&
		    !s->cfg.server && !is_zero(o.value, 4))
			memcpy(s->cfg.local_ip4, o.value, 4); /* the address we are given */
		else if (n->proto == SL_PPP_IPV6CP && o.type == SL_IPV6CP_IFID && o.len == 8 &&
			 !is_zero(o.value, 8) && memcmp(o.value, s->peer_ifid_seen, 8))
			memcpy(s->cfg.local_ifid, o.value,
			       8); /* RFC 5072 4.1: take the suggestion */
		else if (n->proto == SL_PPP_LCP && o.type == SL_LCP_MAGIC && o.len == 4)
			s->cfg.magic = sl_get_be32(o.value) ^ 0x5a5a5a5au;
		else if (o.type < 32)
			n->send_opts &= ~(1u << o.type); /* a value we cannot offer: stop asking */
	}
}

/* The peer Naks every request we make: an NCP goes (the other may carry on), LCP ends it. */
static void give_up_naked(struct sl_ppp_session *s, struct sl_ppp_ncp *n)
{
	char why[80];

	snprintf(why, sizeof(why), "%s: the peer Nak'ed %d requests in a row", proto_name(n->proto),
		 MAX_NAKS);
	if (n == &s->lcp) {
		sl_ppp_session_close(s, why);
		return;
	}
	sl_info("ppp: %s; %s off", why, n->proto == SL_PPP_IPCP ? "IPv4" : "IPv6");
	n->disabled = true;
}

static void on_answer(struct sl_ppp_session *s, struct sl_ppp_ncp *n, const struct sl_ppp_cp *cp)
{
	struct sl_ppp_opt o;
	size_t off = 0;

	if (cp->id != n->id)
		return; /* an answer to an older request */
	switch (cp->code) {
	case SL_PPP_CONF_ACK:
		n->ours_acked = true;
		n->naks = 0;
		return;
	case SL_PPP_CONF_NAK:
		if (++n->naks > MAX_NAKS) {
			give_up_naked(s, n);
			return;
		}
		on_nak(s, n, cp);
		break;
	case SL_PPP_CONF_REJ:
		while (sl_ppp_opt_next(cp->data, cp->len, &off, &o) == 1)
			if (o.type < 32)
				n->send_opts &= ~(1u << o.type);
		break;
	}
	n->tries = 0; /* a live peer: the retry budget starts again */
	send_conf_req(s, n);
}

/* ---- LCP-only codes ------------------------------------------------------------------ */

static void send_lcp(struct sl_ppp_session *s, uint8_t code, uint8_t id, const void *data,
		     size_t len)
{
	uint8_t buf[PKT_MAX];
	struct sl_ppp_builder b;

	sl_ppp_build_begin(&b, buf, sizeof(buf), code, id);
	sl_ppp_build_bytes(&b, data, len);
	send_pkt(s, SL_PPP_LCP, &b);
}

static void on_lcp_other(struct sl_ppp_session *s, const struct sl_ppp_cp *cp, const uint8_t *pkt,
			 size_t pkt_len)
{
	uint8_t magic[4];
	char reason[96];

	switch (cp->code) {
	case SL_PPP_ECHO_REQ:
		if (!opened(&s->lcp))
			return; /* RFC 1661 5.8: silently discarded before Opened */
		sl_put_be32(magic, s->cfg.magic);
		send_lcp(s, SL_PPP_ECHO_REP, cp->id, magic, 4);
		return;
	case SL_PPP_ECHO_REP:
		s->echo_outstanding = 0;
		return;
	case SL_PPP_DISCARD_REQ:
	case SL_PPP_CODE_REJ:
		return;
	case SL_PPP_PROTO_REJ:
		if (cp->len >= 2) {
			struct sl_ppp_ncp *n = ncp_of(s, sl_get_be16(cp->data));

			if (n && n != &s->lcp && !n->disabled) {
				sl_info("ppp: the peer does not speak %s", proto_name(n->proto));
				n->disabled = true;
				advance(s);
			}
		}
		return;
	case SL_PPP_TERM_REQ:
		send_lcp(s, SL_PPP_TERM_ACK, cp->id, NULL, 0);
		snprintf(reason, sizeof(reason), "terminated by peer%s%.*s", cp->len ? ": " : "",
			 (int)(cp->len > 64 ? 64 : cp->len), (const char *)cp->data);
		down(s, reason);
		return;
	case SL_PPP_TERM_ACK:
		if (s->phase == SL_PPP_TERMINATE)
			down(s, "terminated");
		return;
	default: /* RFC 1661 5.6 */
		send_lcp(s, SL_PPP_CODE_REJ, ++s->lcp_id, pkt,
			 pkt_len > PKT_MAX - 8 ? PKT_MAX - 8 : pkt_len);
		return;
	}
}

void sl_ppp_session_input(struct sl_ppp_session *s, uint16_t proto, const uint8_t *pkt, size_t len)
{
	struct sl_ppp_ncp *n = ncp_of(s, proto);
	struct sl_ppp_cp cp;

	if (!n || s->phase == SL_PPP_DEAD || sl_ppp_cp_parse(pkt, len, &cp) < 0) {
		s->bad_packets++;
		return;
	}
	if (n != &s->lcp && (n->disabled || !s->lcp.theirs_acked)) {
		if (n->disabled && s->lcp.theirs_acked) /* not wanted here */
			sl_ppp_session_reject_protocol(s, proto, pkt, len);
		return;
	}
	switch (cp.code) {
	case SL_PPP_CONF_REQ:
		on_conf_req(s, n, &cp);
		break;
	case SL_PPP_CONF_ACK:
	case SL_PPP_CONF_NAK:
	case SL_PPP_CONF_REJ:
		on_answer(s, n, &cp);
		break;
	case SL_PPP_TERM_REQ:
		if (n != &s->lcp) { /* an NCP closes: ack, and this protocol is gone */
			send_lcp(s, SL_PPP_TERM_ACK, cp.id, NULL, 0);
			n->disabled = true;
			break;
		}
		/* fall through */
	default:
		if (n == &s->lcp)
			on_lcp_other(s, &cp, pkt, len);
		else
			s->bad_packets++;
		break;
	}
	advance(s);
}

void sl_ppp_session_reject_protocol(struct sl_ppp_session *s, uint16_t proto, const uint8_t *info,
				    size_t len)
{
	uint8_t buf[PKT_MAX], p[2];
	struct sl_ppp_builder b;

	if (!opened(&s->lcp))
		return; /* RFC 1661 5.7: only in the Opened state */
	sl_ppp_build_begin(&b, buf, sizeof(buf), SL_PPP_PROTO_REJ, ++s->lcp_id);
	sl_put_be16(p, proto);
	sl_ppp_build_bytes(&b, p, 2);
	sl_ppp_build_bytes(&b, info, len > PKT_MAX - 16 ? PKT_MAX - 16 : len);
	send_pkt(s, SL_PPP_LCP, &b);
}

static void retry(struct sl_ppp_session *s, struct sl_ppp_ncp *n)
{
	if (n->disabled || n->ours_acked || !n->tries || ++n->since_req_s < RETRY_S)
		return;
	if (n->tries >= MAX_TRIES) {
		char why[64];

		snprintf(why, sizeof(why), "%s negotiation got no answer", proto_name(n->proto));
		down(s, why);
		return;
	}
	send_conf_req(s, n);
}

void sl_ppp_session_tick(struct sl_ppp_session *s)
{
	uint8_t magic[4];

	if (s->phase == SL_PPP_DEAD)
		return;
	if (s->phase == SL_PPP_TERMINATE) {
		if (++s->since_echo_s >= RETRY_S)
			down(s, "terminated (no Terminate-Ack)");
		return;
	}
	retry(s, &s->lcp);
	retry(s, &s->ipcp);
	retry(s, &s->ipv6cp);
	if (s->phase != SL_PPP_NETWORK || !s->cfg.echo_interval_s ||
	    ++s->since_echo_s < s->cfg.echo_interval_s)
		return;
	s->since_echo_s = 0;
	if (s->echo_outstanding >= s->cfg.echo_fails) {
		down(s, "peer dead (no Echo-Reply)");
		return;
	}
	s->echo_outstanding++;
	sl_put_be32(magic, s->cfg.magic);
	send_lcp(s, SL_PPP_ECHO_REQ, ++s->lcp_id, magic, 4);
}

void sl_ppp_session_close(struct sl_ppp_session *s, const char *reason)
{
	if (s->phase == SL_PPP_DEAD || s->phase == SL_PPP_TERMINATE)
		return;
	send_lcp(s, SL_PPP_TERM_REQ, ++s->lcp_id, reason, strlen(reason));
	s->phase = SL_PPP_TERMINATE;
	s->since_echo_s = 0;
}
