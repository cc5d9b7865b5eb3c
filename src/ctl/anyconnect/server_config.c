// SPDX-License-Identifier: MIT
/* `sluice serve anyconnect` config lines. */
#include "ctl/anyconnect/server_config.h"

#include "dco/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void trim(char *s)
{
	char *e = s + strlen(s);

	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
}

static int path_value(char *out, const char *v, const char *dir)
{
	int n = v[0] == '/' || !dir[0] ? snprintf(out, SL_ACS_PATH_MAX, "%s", v)
				       : snprintf(out, SL_ACS_PATH_MAX, "%s/%s", dir, v);

	return n > 0 && n < SL_ACS_PATH_MAX ? 0 : -EINVAL;
}

static int u32_value(uint32_t *out, const char *v, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);

	if (end == v || *end || x < min || x > max)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

/* One "key = value"; returns 0 or -EINVAL with what was expected in *why. */
static int one(struct sl_acs_config *c, const char *k, const char *v, const char *dir,
	       const char **why)
{
	if (!strcmp(k, "listen")) {
		*why = "ADDR:PORT";
		return sl_parse_endpoint(v, &c->listen);
	}
	if (!strcmp(k, "server-cert")) {
		*why = "a file";
		return path_value(c->cert, v, dir);
	}
	if (!strcmp(k, "server-key")) {
		*why = "a file";
		return path_value(c->key, v, dir);
	}
	if (!strcmp(k, "auth")) {
		size_t n = strlen(v);

		*why = "plain[passwd=FILE] or certificate";
		if (!strcmp(v, "certificate")) {
			c->auth |= SL_ACS_AUTH_CERT;
			return 0;
		}
		if (strncmp(v, "plain[passwd=", 13) || n < 15 || v[n - 1] != ']')
			return -EINVAL;
		char file[SL_ACS_PATH_MAX];

		snprintf(file, sizeof(file), "%.*s", (int)(n - 14), v + 13);
		c->auth |= SL_ACS_AUTH_PLAIN;
		return path_value(c->passwd, file, dir);
	}
	if (!strcmp(k, "enable-auth")) {
		*why = "certificate (the one alternative method sluice has)";
		if (strcmp(v, "certificate"))
			return -EINVAL;
		c->enable_auth |= SL_ACS_AUTH_CERT;
		return 0;
	}
	if (!strcmp(k, "ca-cert")) {
		*why = "a file";
		return path_value(c->ca, v, dir);
	}
	if (!strcmp(k, "cert-user-oid")) {
		*why = "a dotted OID (e.g. 2.5.4.3 for CN)";
		if (strlen(v) >= sizeof(c->user_oid) || !v[0] || v[0] == '.' ||
		    strspn(v, "0123456789.") != strlen(v) || strstr(v, "..") ||
		    v[strlen(v) - 1] == '.' || !strchr(v, '.'))
			return -EINVAL;
		strcpy(c->user_oid, v);
		return 0;
	}
	if (!strcmp(k, "ipv4-network")) {
		*why = "an IPv4 prefix with room for clients (e.g. 198.19.0.0/24)";
		return sl_parse_prefix(v, &c->pool4) < 0 || c->pool4.family != AF_INET ||
				       c->pool4.len > 30
			       ? -EINVAL
			       : 0;
	}
	if (!strcmp(k, "dns")) {
		*why = "an IPv4 address (at most 3 dns lines)";
		if (c->n_dns == 3 || inet_pton(AF_INET, v, c->dns[c->n_dns]) != 1)
			return -EINVAL;
		c->n_dns++;
		return 0;
	}
	if (!strcmp(k, "route")) {
		*why = "an IPv4 prefix (at most 16 route lines)";
		if (c->n_routes == SL_ACS_ROUTES_MAX ||
		    sl_parse_prefix(v, &c->routes[c->n_routes]) < 0 ||
		    c->routes[c->n_routes].family != AF_INET)
			return -EINVAL;
		c->n_routes++;
		return 0;
	}
	if (!strcmp(k, "dpd")) {
		*why = "seconds, 1..3600";
		return u32_value(&c->dpd_s, v, 1, 3600);
	}
	if (!strcmp(k, "keepalive")) {
		*why = "seconds, 1..86400";
		return u32_value(&c->keepalive_s, v, 1, 86400);
	}
	if (!strcmp(k, "mtu")) {
		*why = "576..1500";
		return u32_value(&c->mtu, v, 576, 1500);
	}
	if (!strcmp(k, "dtls-datapath")) {
		*why = "engine or openssl";
		if (strcmp(v, "engine") && strcmp(v, "openssl"))
			return -EINVAL;
		c->dtls_engine = !strcmp(v, "engine");
		return 0;
	}
	if (!strcmp(k, "udp-port")) {
		*why = "a UDP port for DTLS, 1..65535 (0: no DTLS)";
		return u32_value(&c->udp_port, v, 0, 65535);
	}
	if (!strcmp(k, "max-clients")) {
		*why = "1..4096";
		return u32_value(&c->max_clients, v, 1, 4096);
	}
	if (!strcmp(k, "device")) {
		*why = "an interface name (at most 15 characters)";
		if (strlen(v) >= sizeof(c->device) || !v[0])
			return -EINVAL;
		strcpy(c->device, v);
		return 0;
	}
	if (!strcmp(k, "run-as-user") || !strcmp(k, "run-as-group")) {
		char *dst = k[7] == 'u' ? c->run_as_user : c->run_as_group;

		*why = "a user or group name (at most 63 characters)";
		if (strlen(v) >= sizeof(c->run_as_user) || !v[0])
			return -EINVAL;
		strcpy(dst, v);
		return 0;
	}
	*why = "a known key (listen, server-cert, server-key, auth, ipv4-network, dns, route, dpd, "
	       "keepalive, mtu, udp-port, dtls-datapath, max-clients, device, enable-auth, "
	       "ca-cert, cert-user-oid, run-as-user, run-as-group)";
	return -EINVAL;
}

int sl_acs_config_parse(struct sl_acs_config *c, const char *text, size_t len, const char *name,
			const char *dir, char *err, size_t err_len)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	memset(c, 0, sizeof(*c));
	c->dpd_s = 30;
	c->keepalive_s = 30;
	c->dtls_engine = true; /* dtls-datapath = engine */
	c->mtu = 1400;
	c->max_clients = 256;
	strcpy(c->device, "slacs0");
	strcpy(c->user_oid, "2.5.4.3");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		char buf[1024], *k, *v, *eq;
		const char *why = "";

		line++;
		if ((size_t)(le - p) >= sizeof(buf)) {
			snprintf(err, err_len, "%s:%u: line too long", name, line);
			return -EINVAL;
		}
		memcpy(buf, p, (size_t)(le - p));
		buf[le - p] = '\0';
		p = nl ? nl + 1 : end;
		k = buf + strspn(buf, " \t");
		if (!*k || *k == '#' || *k == '\r')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, err_len, "%s:%u: expected 'key = value'", name, line);
			return -EINVAL;
		}
		*eq = '\0';
		v = eq + 1 + strspn(eq + 1, " \t");
		trim(k);
		trim(v);
		if (v[0] == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		if (one(c, k, v, dir, &why) < 0) {
			snprintf(err, err_len, "%s:%u: %s: expected %s", name, line, k, why);
			return -EINVAL;
		}
	}
	if (!c->listen.ss_family || !c->cert[0] || !c->key[0] || !c->auth || !c->pool4.family) {
		snprintf(err, err_len,
			 "%s: listen, server-cert, server-key, auth and ipv4-network are required",
			 name);
		return -EINVAL;
	}
	if (((c->auth | c->enable_auth) & SL_ACS_AUTH_CERT) && !c->ca[0]) {
		snprintf(err, err_len, "%s: certificate auth needs ca-cert = FILE", name);
		return -EINVAL;
	}
	if ((c->enable_auth & SL_ACS_AUTH_CERT) && c->auth == SL_ACS_AUTH_CERT) {
		snprintf(err, err_len,
			 "%s: enable-auth = certificate is an alternative to a password; with "
			 "auth = certificate alone it means nothing",
			 name);
		return -EINVAL;
	}
	return 0;
}
