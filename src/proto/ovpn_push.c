// SPDX-License-Identifier: MIT
/* PUSH_REPLY parsing (see ovpn_push.h). */
#include "proto/ovpn_push.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_MAX	 512
#define ARGS_MAX 8

void sl_ovpn_push_init(struct sl_ovpn_push *p)
{
	memset(p, 0, sizeof(*p));
	p->ping = -1;
	p->ping_restart = -1;
	p->peer_id = SL_OVPN_PEER_ID_NONE;
}

static bool ip4(const char *s, uint8_t out[4])
{
	return inet_pton(AF_INET, s, out) == 1;
}

static bool number(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "ADDR/PLEN" (ifconfig-ipv6, route-ipv6). */
static bool ip6_prefix(const char *s, uint8_t out[16], uint8_t *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	long v = 128;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (!number(slash + 1, 0, 128, &v))
			return false;
	}
	if (inet_pton(AF_INET6, buf, out) != 1)
		return false;
	*plen = (uint8_t)v;
	return true;
}

static void note_unsupported(struct sl_ovpn_push *p, const char *opt)
{
	if (!p->unsupported[0])
		snprintf(p->unsupported, sizeof(p->unsupported), "%.63s", opt);
}

static int opt_compress(struct sl_ovpn_push *p, char **a, int n, const char *whole)
{
	p->comp_pushed = true;
	if (!strcmp(a[0], "comp-lzo")) {
		if (n >= 2 && !strcmp(a[1], "no"))
			p->comp = SL_OVPN_COMP_LZO_NO;
		else
			note_unsupported(p, whole);
		return 0;
	}
	if (n == 1 || !strcmp(a[1], "stub"))
		p->comp = SL_OVPN_COMP_STUB;
	else if (!strcmp(a[1], "stub-v2"))
		p->comp = SL_OVPN_COMP_STUB_V2;
	else
		note_unsupported(p, whole);
	return 0;
}

static int opt_protocol_flags(struct sl_ovpn_push *p, char **a, int n)
{
	for (int i = 1; i < n; i++) {
		if (!strcmp(a[i], "tls-ekm"))
			p->tls_ekm = true;
		else if (!strcmp(a[i], "cc-exit"))
			p->cc_exit = true;
		else if (!strcmp(a[i], "dyn-tls-crypt"))
			p->dyn_tls_crypt = true;
	}
	return 0;
}

static int opt_route(struct sl_ovpn_push *p, char **a, int n)
{
	struct sl_ovpn_route4 *r;

	if (p->n_routes == SL_OVPN_PUSH_ROUTES_MAX)
		return -EBADMSG;
	r = &p->routes[p->n_routes];
	if (n < 2 || !ip4(a[1], r->net))
		return -EBADMSG;
	if (n >= 3 && strcmp(a[2], "default")) {
		if (!ip4(a[2], r->mask))
			return -EBADMSG;
	} else {
		memset(r->mask, 0xff, 4);
	}
	p->n_routes++;
	return 0;
}

static int opt_route6(struct sl_ovpn_push *p, char **a, int n)
{
	struct sl_ovpn_route6 *r;

	if (p->n_routes6 == SL_OVPN_PUSH_ROUTES_MAX)
		return -EBADMSG;
	r = &p->routes6[p->n_routes6];
	if (n < 2 || !ip6_prefix(a[1], r->net, &r->plen))
		return -EBADMSG;
	p->n_routes6++;
	return 0;
}

static int one_option(struct sl_ovpn_push *p, char *opt)
{
	char whole[OPT_MAX], *a[ARGS_MAX], *save = NULL;
	int n = 0;
	long v;

	snprintf(whole, sizeof(whole), "%s", opt);
	for (char *t = strtok_r(opt, " \t", &save); t && n < ARGS_MAX;
	     t = strtok_r(NULL, " \t", &save))
		a[n++] = t;
	if (!n)
		return 0;
	if (!strcmp(a[0], "ifconfig")) {
		if (n < 3 || !ip4(a[1], p->ifconfig_local) || !ip4(a[2], p->ifconfig_arg2))
			return -EBADMSG;
		p->has_ifconfig = true;
	} else if (!strcmp(a[0], "ifconfig-ipv6")) {
		if (n < 2 || !ip6_prefix(a[1], p->ifconfig6, &p->ifconfig6_plen))
			return -EBADMSG;
		p->has_ifconfig6 = true;
	} else if (!strcmp(a[0], "topology")) {
		if (n < 2)
			return -EBADMSG;
		if (!strcmp(a[1], "subnet"))
			p->topology = SL_OVPN_TOPO_SUBNET;
		else if (!strcmp(a[1], "net30"))
			p->topology = SL_OVPN_TOPO_NET30;
		else if (!strcmp(a[1], "p2p"))
			p->topology = SL_OVPN_TOPO_P2P;
		else
			return -EBADMSG;
	} else if (!strcmp(a[0], "route-gateway")) {
		if (n < 2)
			return -EBADMSG;
		if (!strcmp(a[1], "dhcp"))
			note_unsupported(p, whole);
		else if (!ip4(a[1], p->route_gateway))
			return -EBADMSG;
		else
			p->has_route_gateway = true;
	} else if (!strcmp(a[0], "route")) {
		return opt_route(p, a, n);
	} else if (!strcmp(a[0], "route-ipv6")) {
		return opt_route6(p, a, n);
	} else if (!strcmp(a[0], "redirect-gateway")) {
		p->redirect_gateway = true;
	} else if (!strcmp(a[0], "ping") || !strcmp(a[0], "ping-restart")) {
		if (n < 2 || !number(a[1], 0, 86400, &v))
			return -EBADMSG;
		*(a[0][4] ? &p->ping_restart : &p->ping) = (int)v;
	} else if (!strcmp(a[0], "peer-id")) {
		if (n < 2 || !number(a[1], 0, SL_OVPN_PEER_ID_NONE, &v))
			return -EBADMSG;
		p->peer_id = (uint32_t)v;
	} else if (!strcmp(a[0], "cipher")) {
		if (n < 2 || strlen(a[1]) >= sizeof(p->cipher))
			return -EBADMSG;
		strcpy(p->cipher, a[1]);
	} else if (!strcmp(a[0], "key-derivation")) {
		if (n >= 2 && !strcmp(a[1], "tls-ekm"))
			p->tls_ekm = true;
	} else if (!strcmp(a[0], "protocol-flags")) {
		return opt_protocol_flags(p, a, n);
	} else if (!strcmp(a[0], "tun-mtu")) {
		if (n < 2 || !number(a[1], 576, 65535, &v))
			return -EBADMSG;
		p->tun_mtu = (int)v;
	} else if (!strcmp(a[0], "comp-lzo") || !strcmp(a[0], "compress")) {
		return opt_compress(p, a, n, whole);
	} else if (!strcmp(a[0], "push-continuation")) {
		if (n < 2 || !number(a[1], 1, 2, &v))
			return -EBADMSG;
		p->continuation = (int)v;
	} else {
		/* dhcp-option, dns, block-ipv6, auth-token, explicit-exit-notify ... */
		p->n_ignored++;
	}
	return 0;
}

int sl_ovpn_push_parse(const char *msg, size_t len, struct sl_ovpn_push *p)
{
	static const char head[] = "PUSH_REPLY";
	size_t off = sizeof(head) - 1;

	while (len && msg[len - 1] == '\0')
		len--;
	if (len < off || memcmp(msg, head, off) || (len > off && msg[off] != ','))
		return -EBADMSG;
	p->continuation = 0;
	while (off < len) {
		char opt[OPT_MAX];
		size_t start = ++off, n;
		const char *comma = memchr(msg + start, ',', len - start);
		int rc;

		n = comma ? (size_t)(comma - (msg + start)) : len - start;
		if (n >= sizeof(opt) || memchr(msg + start, '\0', n))
			return -EBADMSG;
		memcpy(opt, msg + start, n);
		opt[n] = '\0';
		rc = one_option(p, opt);
		if (rc)
			return rc;
		off = start + n;
	}
	return 0;
}
