// SPDX-License-Identifier: MIT
/* The CONNECT reply's X-CSTP-* / X-DTLS-* headers, and the vpnc-script environment from them. */
#include "ctl/anyconnect/tunnel_info.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int value(const struct sl_http_header *h, char *out, size_t cap)
{
	if (h->value_len >= cap)
		return -EBADMSG;
	memcpy(out, h->value, h->value_len);
	out[h->value_len] = '\0';
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!strcmp(s, "none")) {
		*out = 0;
		return 0;
	}
	v = strtoul(s, &end, 10);
	if (end == s || *end || v > 0xffffffffu)
		return -EBADMSG;
	*out = (uint32_t)v;
	return 0;
}

static unsigned mask_len(const uint8_t m[4])
{
	uint32_t v = (uint32_t)m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3];
	unsigned n = 0;

	while (n < 32 && (v & (0x80000000u >> n)))
		n++;
	/* n == 32 first: shifting a 32-bit value by 32 is undefined (found by fuzz_ac_tunnel_info).
	 */
	return n == 32 || (v << n) == 0 ? n : 99; /* 99: not contiguous */
}

/* "a.b.c.d/m.m.m.m", "a.b.c.d/len" or an IPv6 "addr/len". */
static int parse_route(const char *s, int family, struct sl_prefix *p)
{
	char buf[80], *slash;
	uint8_t m[4];
	char *end;
	unsigned long len;

	if (strlen(s) >= sizeof(buf))
		return -EBADMSG;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EBADMSG;
	*slash++ = '\0';
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	if (inet_pton(family, buf, p->addr) != 1)
		return -EBADMSG;
	if (family == AF_INET && inet_pton(AF_INET, slash, m) == 1) {
		len = mask_len(m);
	} else {
		len = strtoul(slash, &end, 10);
		if (end == slash || *end)
			return -EBADMSG;
	}
	if (len > (family == AF_INET ? 32u : 128u))
		return -EBADMSG;
	p->len = (uint8_t)len;
	return 0;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(s);

	if (len % 2 || len / 2 > cap)
		return -EBADMSG;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -EBADMSG;
		out[i] = (uint8_t)b;
	}
	*n = len / 2;
	return 0;
}

static void add_option(struct sl_ac_tunnel_info *t, const struct sl_http_header *h)
{
	size_t used = strlen(t->cstp_options), need = h->name_len + h->value_len + 2;

	if (used + need >= sizeof(t->cstp_options))
		return;
	snprintf(t->cstp_options + used, sizeof(t->cstp_options) - used, "%s%.*s=%.*s",
		 used ? "\n" : "", (int)h->name_len, h->name, (int)h->value_len, h->value);
}

static int one_header(struct sl_ac_tunnel_info *t, const char *name, const char *v)
{
	struct sl_prefix p;

	if (!strcasecmp(name, "X-CSTP-Address")) {
		if (inet_pton(AF_INET, v, t->ip4) != 1)
			return inet_pton(AF_INET6, v, t->ip6) == 1 ? (t->has_ip6 = true, 0)
								   : -EBADMSG;
		t->has_ip4 = true;
	} else if (!strcasecmp(name, "X-CSTP-Netmask")) {
		if (inet_pton(AF_INET, v, t->netmask4) != 1 || mask_len(t->netmask4) > 32)
			return -EBADMSG;
	} else if (!strcasecmp(name, "X-CSTP-Address-IP6")) {
		if (parse_route(v, AF_INET6, &p) < 0)
			return -EBADMSG;
		memcpy(t->ip6, p.addr, 16);
		t->ip6_prefix = p.len;
		t->has_ip6 = true;
	} else if (!strcasecmp(name, "X-CSTP-DNS") || !strcasecmp(name, "X-CSTP-DNS-IP6")) {
		int fam = strchr(v, ':') ? AF_INET6 : AF_INET;

		if (t->n_dns == SL_AC_DNS_MAX)
			return 0;
		if (inet_pton(fam, v, t->dns[t->n_dns]) != 1)
			return -EBADMSG;
		t->dns_family[t->n_dns++] = (uint8_t)fam;
	} else if (!strcasecmp(name, "X-CSTP-Split-Include") ||
		   !strcasecmp(name, "X-CSTP-Split-Include-IP6") ||
		   !strcasecmp(name, "X-CSTP-Split-Exclude") ||
		   !strcasecmp(name, "X-CSTP-Split-Exclude-IP6")) {
		bool inc = !strncasecmp(name, "X-CSTP-Split-Include", 20);
		unsigned *n = inc ? &t->n_split_inc : &t->n_split_exc;

		if (parse_route(v, strchr(v, ':') ? AF_INET6 : AF_INET, &p) < 0)
			return -EBADMSG;
		if (*n < SL_AC_ROUTES_MAX)
			(inc ? t->split_inc : t->split_exc)[(*n)++] = p;
	} else if (!strcasecmp(name, "X-CSTP-Default-Domain")) {
		snprintf(t->default_domain, sizeof(t->default_domain), "%s", v);
	} else if (!strcasecmp(name, "X-CSTP-Banner")) {
		snprintf(t->banner, sizeof(t->banner), "%s", v);
	} else if (!strcasecmp(name, "X-CSTP-MTU")) {
		return parse_u32(v, &t->mtu);
	} else if (!strcasecmp(name, "X-DTLS-MTU")) {
		return parse_u32(v, &t->dtls_mtu);
	} else if (!strcasecmp(name, "X-CSTP-DPD")) {
		return parse_u32(v, &t->dpd_s);
	} else if (!strcasecmp(name, "X-CSTP-Keepalive")) {
		return parse_u32(v, &t->keepalive_s);
	} else if (!strcasecmp(name, "X-CSTP-Idle-Timeout")) {
		return parse_u32(v, &t->idle_timeout_s);
	} else if (!strcasecmp(name, "X-CSTP-Rekey-Time")) {
		return parse_u32(v, &t->rekey_s);
	} else if (!strcasecmp(name, "X-CSTP-Rekey-Method")) {
		t->rekey_method = !strcmp(v, "ssl")	     ? SL_AC_REKEY_SSL
				  : !strcmp(v, "new-tunnel") ? SL_AC_REKEY_NEW_TUNNEL
							     : SL_AC_REKEY_NONE;
	} else if (!strcasecmp(name, "X-DTLS-Port")) {
		uint32_t port;

		if (parse_u32(v, &port) < 0 || port == 0 || port > 65535)
			return -EBADMSG;
		t->dtls_port = (uint16_t)port;
	} else if (!strcasecmp(name, "X-DTLS-DPD") || !strcasecmp(name, "X-DTLS12-DPD")) {
		return parse_u32(v, &t->dtls_dpd_s);
	} else if (!strcasecmp(name, "X-DTLS-Keepalive") ||
		   !strcasecmp(name, "X-DTLS12-Keepalive")) {
		return parse_u32(v, &t->dtls_keepalive_s);
	} else if (!strcasecmp(name, "X-DTLS-CipherSuite") ||
		   !strcasecmp(name, "X-DTLS12-CipherSuite")) {
		if (!strcmp(v, "PSK-NEGOTIATE"))
			t->dtls_psk = true;
		else
			snprintf(t->dtls_cipher, sizeof(t->dtls_cipher), "%s", v);
	} else if (!strcasecmp(name, "X-DTLS-App-ID") || !strcasecmp(name, "X-DTLS-Session-ID")) {
		return unhex(v, t->dtls_app_id, sizeof(t->dtls_app_id), &t->dtls_app_id_len);
	}
	return 0;
}

int sl_ac_tunnel_info_parse(const struct sl_http_response *r, struct sl_ac_tunnel_info *out,
			    char *err, size_t err_len)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < r->n; i++) {
		const struct sl_http_header *h = &r->h[i];
		char name[64], v[512];

		if (h->name_len >= sizeof(name) || value(h, v, sizeof(v)) < 0) {
			snprintf(err, err_len, "header %.*s too long", (int)h->name_len, h->name);
			return -EBADMSG;
		}
		memcpy(name, h->name, h->name_len);
		name[h->name_len] = '\0';
		if (!strncasecmp(name, "X-CSTP-", 7))
			add_option(out, h);
		if (one_header(out, name, v) < 0) {
			snprintf(err, err_len, "bad %s: '%s'", name, v);
			return -EBADMSG;
		}
	}
	if (!out->has_ip4 && !out->has_ip6) {
		snprintf(err, err_len, "no X-CSTP-Address in the reply");
		return -EBADMSG;
	}
	if (out->has_ip4 && !out->netmask4[0] && !out->netmask4[3])
		memset(out->netmask4, 0xff, 4); /* no netmask: a host address */
	return 0;
}

/* ---- vpnc-script environment ------------------------------------------------------- */

struct envb {
	char *buf, **env;
	size_t cap, used, n, max;
	bool overflow;
};

static void envf(struct envb *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void envf(struct envb *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->overflow || e->n + 1 >= e->max) {
		e->overflow = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, e->cap - e->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= e->cap - e->used) {
		e->overflow = true;
		return;
	}
	e->env[e->n++] = e->buf + e->used;
	e->used += (size_t)n + 1;
}

static const char *ntop(int family, const void *a, char *buf)
{
	return inet_ntop(family, a, buf, INET6_ADDRSTRLEN);
}

static void routes(struct envb *e, const char *var, const struct sl_prefix *p, unsigned n,
		   int family)
{
	char a[INET6_ADDRSTRLEN], m[INET_ADDRSTRLEN];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		uint32_t mask;
		uint8_t mb[4];

		if (p[i].family != family)
			continue;
		envf(e, "%s_%u_ADDR=%s", var, k, ntop(family, p[i].addr, a));
		if (family == AF_INET) {
			mask = p[i].len ? 0xffffffffu << (32 - p[i].len) : 0;
			mb[0] = (uint8_t)(mask >> 24);
			mb[1] = (uint8_t)(mask >> 16);
			mb[2] = (uint8_t)(mask >> 8);
			mb[3] = (uint8_t)mask;
			envf(e, "%s_%u_MASK=%s", var, k, ntop(AF_INET, mb, m));
		}
		envf(e, "%s_%u_MASKLEN=%u", var, k, p[i].len);
		k++;
	}
	if (k)
		envf(e, "%s=%u", var, k);
}

int sl_ac_vpnc_env(const struct sl_ac_tunnel_info *t, const char *reason, const char *tundev,
		   const char *gateway, int pid, char *buf, size_t cap, char **env, size_t env_max)
{
	struct envb e = {.buf = buf, .env = env, .cap = cap, .max = env_max};
	char a[INET6_ADDRSTRLEN], dns[3 * INET6_ADDRSTRLEN + 3] = "";
	uint8_t net[4];

	envf(&e, "reason=%s", reason);
	envf(&e, "VPNGATEWAY=%s", gateway);
	envf(&e, "VPNPID=%d", pid);
	envf(&e, "TUNDEV=%s", tundev);
	envf(&e, "LOG_LEVEL=%d", 1);
	if (t) {
		if (t->has_ip4) {
			envf(&e, "INTERNAL_IP4_ADDRESS=%s", ntop(AF_INET, t->ip4, a));
			envf(&e, "INTERNAL_IP4_NETMASK=%s", ntop(AF_INET, t->netmask4, a));
			envf(&e, "INTERNAL_IP4_NETMASKLEN=%u", mask_len(t->netmask4));
			for (int i = 0; i < 4; i++)
				net[i] = t->ip4[i] & t->netmask4[i];
			envf(&e, "INTERNAL_IP4_NETADDR=%s", ntop(AF_INET, net, a));
		}
		if (t->mtu)
			envf(&e, "INTERNAL_IP4_MTU=%u", t->mtu);
		for (unsigned i = 0; i < t->n_dns; i++) {
			if (t->dns_family[i] != AF_INET)
				continue;
			if (dns[0])
				strcat(dns, " ");
			strcat(dns, ntop(AF_INET, t->dns[i], a));
		}
		if (dns[0])
			envf(&e, "INTERNAL_IP4_DNS=%s", dns);
		if (t->has_ip6) {
			envf(&e, "INTERNAL_IP6_ADDRESS=%s", ntop(AF_INET6, t->ip6, a));
			envf(&e, "INTERNAL_IP6_NETMASK=%s/%u", a, t->ip6_prefix);
		}
		if (t->default_domain[0])
			envf(&e, "CISCO_DEF_DOMAIN=%s", t->default_domain);
		if (t->banner[0])
			envf(&e, "CISCO_BANNER=%s", t->banner);
		if (t->idle_timeout_s)
			envf(&e, "IDLE_TIMEOUT=%u", t->idle_timeout_s);
		if (t->cstp_options[0])
			envf(&e, "CISCO_CSTP_OPTIONS=%s", t->cstp_options);
		routes(&e, "CISCO_SPLIT_INC", t->split_inc, t->n_split_inc, AF_INET);
		routes(&e, "CISCO_SPLIT_EXC", t->split_exc, t->n_split_exc, AF_INET);
		routes(&e, "CISCO_IPV6_SPLIT_INC", t->split_inc, t->n_split_inc, AF_INET6);
		routes(&e, "CISCO_IPV6_SPLIT_EXC", t->split_exc, t->n_split_exc, AF_INET6);
	}
	if (e.overflow)
		return -ENOSPC;
	env[e.n] = NULL;
	return (int)e.n;
}
