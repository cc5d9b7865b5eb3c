// SPDX-License-Identifier: MIT
/* OpenVPN configuration files (see ovpn_config.h). */
#include "ctl/openvpn/ovpn_config.h"

#include "proto/ovpn_data.h"
#include "proto/ovpn_push.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ARGS_MAX     16
#define TOKEN_MAX    512
#define FILE_MAX     (1u << 20)
#define DEFAULT_PORT 1194
#define DEFAULT_NCP  "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305"

struct parser {
	struct sl_ovpn_config *c;
	const char *file;
	int line;
	int errors;
	sl_ovpn_cfg_msg_fn msg;
	void *arg;
};

static void report(struct parser *p, bool error, const char *fmt, ...)
{
	char text[768], line[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s:%d: %s", p->file, p->line, text);
	if (error)
		p->errors++;
	if (p->msg)
		p->msg(p->arg, error, line);
}

void sl_ovpn_config_init(struct sl_ovpn_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dev, sizeof(c->dev), "tun");
	c->proto = SL_OVPN_UDP;
	c->port = DEFAULT_PORT;
	c->key_direction = -1;
	snprintf(c->data_ciphers, sizeof(c->data_ciphers), "%s", DEFAULT_NCP);
	snprintf(c->auth, sizeof(c->auth), "SHA1");
	c->ping = c->ping_restart = -1;
	c->reneg_sec = 3600;
	c->hand_window = 60;
	c->tls_timeout = 2;
	c->tun_mtu = 1500;
	c->verb = 1;
	c->comp = SL_OVPN_COMP_NONE;
	c->topology = SL_OVPN_TOPO_NET30;
}

static void blob_free(struct sl_ovpn_blob *b)
{
	if (b->text) {
		memset(b->text, 0, strlen(b->text)); /* keys */
		free(b->text);
	}
	b->text = NULL;
}

void sl_ovpn_config_free(struct sl_ovpn_config *c)
{
	blob_free(&c->ca);
	blob_free(&c->cert);
	blob_free(&c->key);
	blob_free(&c->tls_crypt);
	blob_free(&c->tls_auth);
	blob_free(&c->auth_user_pass);
}

/* Argument checks */

static bool to_int(const char *s, long lo, long hi, long *out)
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

static bool need_args(struct parser *p, char **a, int n, int min, int max)
{
	if (n - 1 < min || n - 1 > max) {
		if (min == max)
			report(p, true, "'%s' takes %d argument%s, got %d", a[0], min,
			       min == 1 ? "" : "s", n - 1);
		else
			report(p, true, "'%s' takes %d to %d arguments, got %d", a[0], min, max,
			       n - 1);
		return false;
	}
	return true;
}

static bool int_arg(struct parser *p, char **a, int i, long lo, long hi, long *out)
{
	if (to_int(a[i], lo, hi, out))
		return true;
	report(p, true, "'%s': '%s' is not a number from %ld to %ld", a[0], a[i], lo, hi);
	return false;
}

static bool ip4_arg(struct parser *p, char **a, int i, uint8_t out[4])
{
	if (inet_pton(AF_INET, a[i], out) == 1)
		return true;
	report(p, true, "'%s': '%s' is not an IPv4 address", a[0], a[i]);
	return false;
}

static bool proto_arg(struct parser *p, const char *dir, const char *s, int *proto, int *family)
{
	static const struct {
		const char *name;
		int proto, family;
	} t[] = {
		{"udp", SL_OVPN_UDP, 0},
		{"udp4", SL_OVPN_UDP, AF_INET},
		{"udp6", SL_OVPN_UDP, AF_INET6},
		{"tcp", SL_OVPN_TCP, 0},
		{"tcp-client", SL_OVPN_TCP, 0},
		{"tcp4-client", SL_OVPN_TCP, AF_INET},
		{"tcp6-client", SL_OVPN_TCP, AF_INET6},
		{"tcp-server", SL_OVPN_TCP, 0},
		{"tcp4", SL_OVPN_TCP, AF_INET},
		{"tcp6", SL_OVPN_TCP, AF_INET6},
		{"tcp4-server", SL_OVPN_TCP, AF_INET},
		{"tcp6-server", SL_OVPN_TCP, AF_INET6},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(s, t[i].name)) {
			*proto = t[i].proto;
			if (family)
				*family = t[i].family;
			return true;
		}
	}
	report(p, true, "'%s': unknown protocol '%s' (udp, udp4, udp6, tcp-client, tcp-server ...)",
	       dir, s);
	return false;
}

static void set_blob(struct parser *p, struct sl_ovpn_blob *b, const char *path)
{
	if (!strcmp(path, "[inline]"))
		return; /* the <block> follows (or came before) */
	blob_free(b);
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->line = p->line;
}

/* Directives */

static void dir_remote(struct parser *p, char **a, int n)
{
	struct sl_ovpn_remote *r;
	long v;

	if (!need_args(p, a, n, 1, 3))
		return;
	if (p->c->n_remotes == SL_OVPN_CFG_REMOTES_MAX) {
		report(p, true, "more than %d 'remote' lines", SL_OVPN_CFG_REMOTES_MAX);
		return;
	}
	r = &p->c->remotes[p->c->n_remotes];
	memset(r, 0, sizeof(*r));
	r->proto = -1;
	if (strlen(a[1]) >= sizeof(r->host)) {
		report(p, true, "'remote': host name too long");
		return;
	}
	strcpy(r->host, a[1]);
	if (n >= 3) {
		if (!int_arg(p, a, 2, 1, 65535, &v))
			return;
		r->port = (uint16_t)v;
	}
	if (n >= 4 && !proto_arg(p, a[0], a[3], &r->proto, NULL))
		return;
	p->c->n_remotes++;
}

static void dir_compress(struct parser *p, char **a, int n)
{
	if (!strcmp(a[0], "comp-lzo")) {
		if (n == 2 && !strcmp(a[1], "no")) {
			p->c->comp = SL_OVPN_COMP_LZO_NO;
			return;
		}
		report(p, true,
		       "'comp-lzo%s%s' is not supported by sluice: it does not compress "
		       "(use 'comp-lzo no', or remove compression from both ends)",
		       n > 1 ? " " : "", n > 1 ? a[1] : "");
		return;
	}
	if (n == 1 || !strcmp(a[1], "stub")) {
		p->c->comp = SL_OVPN_COMP_STUB;
	} else if (!strcmp(a[1], "stub-v2")) {
		p->c->comp = SL_OVPN_COMP_STUB_V2;
	} else {
		report(p, true,
		       "'compress %s' is not supported by sluice: it does not compress "
		       "(use 'compress stub-v2', or remove compression from both ends)",
		       a[1]);
	}
}

static void dir_keepalive(struct parser *p, char **a, int n)
{
	long x, y;

	if (!need_args(p, a, n, 2, 2) || !int_arg(p, a, 1, 1, 86400, &x) ||
	    !int_arg(p, a, 2, 1, 86400, &y))
		return;
	if (y < 2 * x) {
		report(p, true,
		       "'keepalive %ld %ld': the timeout must be at least twice the interval", x,
		       y);
		return;
	}
	p->c->keepalive[0] = (int)x;
	p->c->keepalive[1] = (int)y;
	p->c->ping = (int)x;
	/* As OpenVPN: a server pushes the values and uses twice the timeout itself. */
	p->c->ping_restart = (int)y;
}

static void dir_server(struct parser *p, char **a, int n)
{
	if (!need_args(p, a, n, 2, 3) || !ip4_arg(p, a, 1, p->c->server_net) ||
	    !ip4_arg(p, a, 2, p->c->server_mask))
		return;
	p->c->has_server = true;
	p->c->server = true;
}

static void dir_topology(struct parser *p, char **a, int n)
{
	if (!need_args(p, a, n, 1, 1))
		return;
	if (!strcmp(a[1], "subnet"))
		p->c->topology = SL_OVPN_TOPO_SUBNET;
	else if (!strcmp(a[1], "net30"))
		p->c->topology = SL_OVPN_TOPO_NET30;
	else if (!strcmp(a[1], "p2p"))
		p->c->topology = SL_OVPN_TOPO_P2P;
	else
		report(p, true, "'topology': '%s' is not subnet, net30 or p2p", a[1]);
}

static void dir_route(struct parser *p, char **a, int n)
{
	unsigned i = p->c->n_routes;

	if (!need_args(p, a, n, 1, 4))
		return;
	if (i == SL_OVPN_CFG_ROUTES_MAX) {
		report(p, true, "more than %d 'route' lines", SL_OVPN_CFG_ROUTES_MAX);
		return;
	}
	if (!ip4_arg(p, a, 1, p->c->routes[i].net))
		return;
	if (n >= 3 && strcmp(a[2], "default")) {
		if (!ip4_arg(p, a, 2, p->c->routes[i].mask))
			return;
	} else {
		memset(p->c->routes[i].mask, 0xff, 4);
	}
	p->c->n_routes++;
}

static void dir_tls_auth(struct parser *p, char **a, int n)
{
	long v;

	if (!need_args(p, a, n, 1, 2))
		return;
	set_blob(p, &p->c->tls_auth, a[1]);
	if (n == 3) {
		if (!int_arg(p, a, 2, 0, 1, &v))
			return;
		p->c->key_direction = (int)v;
	}
}

static void copy_arg(struct parser *p, char **a, char *dst, size_t cap)
{
	if (strlen(a[1]) >= cap) {
		report(p, true, "'%s': argument too long", a[0]);
		return;
	}
	strcpy(dst, a[1]);
}

/* Accepted without effect: sluice does this anyway, or it does not matter here. */
static const char *const harmless[] = {
	"nobind",
	"persist-key",
	"persist-tun",
	"resolv-retry",
	"connect-retry",
	"connect-retry-max",
	"float",
	"mute-replay-warnings",
	"mute",
	"tls-version-min",
	"tls-version-max",
	"mssfix",
	"sndbuf",
	"rcvbuf",
	"txqueuelen",
	"script-security",
	"setenv",
	"dh",
	"auth-nocache",
	"remote-random",
	"server-poll-timeout",
	"status",
	"status-version",
	"log",
	"log-append",
	"writepid",
	"daemon",
	"suppress-timestamps",
	"machine-readable-output",
	"ifconfig-pool-persist",
	"duplicate-cn",
	"fast-io",
	"disable-dco",
	"push-peer-info",
	"dev-type",
	"ncp-disable",
	"tls-cipher",
	"tls-ciphersuites",
	"ecdh-curve",
	"keysize",
	"chroot",
	"remote-cert-ku",
	"verify-x509-name",
	"tls-exit",
	"ping-timer-rem",
	"management-query-passwords",
	"allow-compression",
};

/* Known to OpenVPN, refused here with the reason. */
static const struct {
	const char *name, *why;
} unsupported[] = {
	{"secret", "static-key mode; use TLS (ca/cert/key)"},
	{"tls-crypt-v2", "tls-crypt-v2 client keys; use tls-crypt"},
	{"fragment", "internal fragmentation"},
	{"http-proxy", "proxies"},
	{"socks-proxy", "proxies"},
	{"pkcs12", "PKCS#12 files; use ca/cert/key PEM files"},
	{"plugin", "plugins"},
	{"management", "the management interface"},
	{"up", "scripts (addresses and routes are set by sluice itself)"},
	{"down", "scripts"},
	{"route-up", "scripts"},
	{"client-connect", "scripts"},
	{"auth-user-pass-verify", "scripts"},
	{"tls-verify", "scripts"},
	{"client-config-dir", "per-client config files"},
	{"ifconfig", "static ifconfig (point-to-point mode without pull)"},
	{"ifconfig-ipv6-pool", "IPv6 pools"},
	{"server-ipv6", "IPv6 inner addresses"},
	{"dev-node", "dev-node"},
	{"tls-server", "tls-server without 'server' (point-to-point mode)"},
	{"engine", "OpenSSL engines"},
	{"pkcs11-providers", "PKCS#11"},
	{"cryptoapicert", "the Windows certificate store"},
	{"redirect-gateway", "redirect-gateway in a local config (a pushed one is accepted)"},
};

static bool in_harmless(const char *d)
{
	for (size_t i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++)
		if (!strcmp(d, harmless[i]))
			return true;
	return false;
}

static const char *why_unsupported(const char *d)
{
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (!strcmp(d, unsupported[i].name))
			return unsupported[i].why;
	return NULL;
}

static void directive(struct parser *p, char **a, int n)
{
	struct sl_ovpn_config *c = p->c;
	const char *d = a[0], *why;
	long v;

	if (!strcmp(d, "client")) {
		c->client = true;
	} else if (!strcmp(d, "tls-client") || !strcmp(d, "pull")) {
		c->client = true;
	} else if (!strcmp(d, "mode")) {
		if (need_args(p, a, n, 1, 1) && strcmp(a[1], "server") && strcmp(a[1], "p2p"))
			report(p, true, "'mode': '%s' is not server or p2p", a[1]);
		else if (n == 2 && !strcmp(a[1], "server"))
			c->server = true;
	} else if (!strcmp(d, "server")) {
		dir_server(p, a, n);
	} else if (!strcmp(d, "dev")) {
		if (!need_args(p, a, n, 1, 1))
			return;
		if (strncmp(a[1], "tun", 3))
			report(p, true,
			       "'dev %s' is not supported by sluice: only tun devices (layer 3)",
			       a[1]);
		else
			copy_arg(p, a, c->dev, sizeof(c->dev));
	} else if (!strcmp(d, "proto")) {
		if (need_args(p, a, n, 1, 1))
			proto_arg(p, d, a[1], &c->proto, &c->family);
	} else if (!strcmp(d, "remote")) {
		dir_remote(p, a, n);
	} else if (!strcmp(d, "port") || !strcmp(d, "rport") || !strcmp(d, "lport")) {
		if (!need_args(p, a, n, 1, 1) || !int_arg(p, a, 1, 1, 65535, &v))
			return;
		if (d[0] != 'l')
			c->port = (uint16_t)v;
		if (d[0] != 'r')
			c->lport = (uint16_t)v;
	} else if (!strcmp(d, "local")) {
		if (need_args(p, a, n, 1, 1))
			copy_arg(p, a, c->local, sizeof(c->local));
	} else if (!strcmp(d, "ca") || !strcmp(d, "cert") || !strcmp(d, "key") ||
		   !strcmp(d, "tls-crypt")) {
		if (!need_args(p, a, n, 1, 1))
			return;
		set_blob(p,
			 d[0] == 'c' && d[1] == 'a' ? &c->ca
			 : d[0] == 'c'		    ? &c->cert
			 : !strcmp(d, "key")	    ? &c->key
						    : &c->tls_crypt,
			 a[1]);
	} else if (!strcmp(d, "tls-auth")) {
		dir_tls_auth(p, a, n);
	} else if (!strcmp(d, "key-direction")) {
		if (need_args(p, a, n, 1, 1) && int_arg(p, a, 1, 0, 1, &v))
			c->key_direction = (int)v;
	} else if (!strcmp(d, "cipher")) {
		if (need_args(p, a, n, 1, 1))
			copy_arg(p, a, c->cipher, sizeof(c->cipher));
	} else if (!strcmp(d, "data-ciphers") || !strcmp(d, "ncp-ciphers")) {
		if (need_args(p, a, n, 1, 1))
			copy_arg(p, a, c->data_ciphers, sizeof(c->data_ciphers));
	} else if (!strcmp(d, "data-ciphers-fallback")) {
		if (need_args(p, a, n, 1, 1))
			copy_arg(p, a, c->cipher, sizeof(c->cipher));
	} else if (!strcmp(d, "auth")) {
		if (need_args(p, a, n, 1, 1))
			copy_arg(p, a, c->auth, sizeof(c->auth));
	} else if (!strcmp(d, "auth-user-pass")) {
		if (!need_args(p, a, n, 0, 1))
			return;
		c->has_auth_user_pass = true;
		if (n == 2)
			set_blob(p, &c->auth_user_pass, a[1]);
		else
			report(p, true,
			       "'auth-user-pass' without a file: sluice does not prompt; give a "
			       "file "
			       "with the user name and the password on two lines");
	} else if (!strcmp(d, "keepalive")) {
		dir_keepalive(p, a, n);
	} else if (!strcmp(d, "ping") || !strcmp(d, "ping-restart") || !strcmp(d, "reneg-sec") ||
		   !strcmp(d, "hand-window") || !strcmp(d, "tls-timeout") ||
		   !strcmp(d, "explicit-exit-notify") || !strcmp(d, "tun-mtu") ||
		   !strcmp(d, "verb")) {
		int *dst = !strcmp(d, "ping")			? &c->ping
			   : !strcmp(d, "ping-restart")		? &c->ping_restart
			   : !strcmp(d, "reneg-sec")		? &c->reneg_sec
			   : !strcmp(d, "hand-window")		? &c->hand_window
			   : !strcmp(d, "tls-timeout")		? &c->tls_timeout
			   : !strcmp(d, "explicit-exit-notify") ? &c->explicit_exit_notify
			   : !strcmp(d, "tun-mtu")		? &c->tun_mtu
								: &c->verb;
		long lo = dst == &c->tun_mtu ? 576 : 0, hi = dst == &c->tun_mtu ? 9000 : 86400 * 7;

		if (!need_args(p, a, n, dst == &c->explicit_exit_notify ? 0 : 1,
			       dst == &c->reneg_sec ? 2 : 1))
			return;
		if (n == 1)
			*dst = 1; /* explicit-exit-notify alone means 1 */
		else if (int_arg(p, a, 1, lo, hi, &v))
			*dst = (int)v;
	} else if (!strcmp(d, "reneg-bytes") || !strcmp(d, "reneg-pkts")) {
		long long x;
		char *end;

		if (!need_args(p, a, n, 1, 1))
			return;
		x = strtoll(a[1], &end, 10);
		if (*end || x < 0)
			report(p, true, "'%s': '%s' is not a count", d, a[1]);
		else if (d[6] == 'b')
			c->reneg_bytes = x;
		else
			c->reneg_pkts = x;
	} else if (!strcmp(d, "comp-lzo") || !strcmp(d, "compress")) {
		dir_compress(p, a, n);
	} else if (!strcmp(d, "topology")) {
		dir_topology(p, a, n);
	} else if (!strcmp(d, "ifconfig-pool")) {
		if (need_args(p, a, n, 2, 3) && ip4_arg(p, a, 1, c->pool_start) &&
		    ip4_arg(p, a, 2, c->pool_end))
			c->has_pool = true;
	} else if (!strcmp(d, "push")) {
		if (!need_args(p, a, n, 1, 1))
			return;
		if (c->n_push == SL_OVPN_CFG_PUSH_MAX)
			report(p, true, "more than %d 'push' lines", SL_OVPN_CFG_PUSH_MAX);
		else if (strlen(a[1]) >= sizeof(c->push[0]) || strchr(a[1], ','))
			report(p, true, "'push': option too long, or it contains a comma");
		else
			strcpy(c->push[c->n_push++], a[1]);
	} else if (!strcmp(d, "route")) {
		dir_route(p, a, n);
	} else if (!strcmp(d, "client-to-client")) {
		c->client_to_client = true;
	} else if (!strcmp(d, "remote-cert-tls")) {
		if (need_args(p, a, n, 1, 1) && strcmp(a[1], "server") && strcmp(a[1], "client"))
			report(p, true, "'remote-cert-tls': '%s' is not server or client", a[1]);
		else if (n == 2 && !strcmp(a[1], "server"))
			c->remote_cert_tls_server = true;
	} else if (!strcmp(d, "user") || !strcmp(d, "group")) {
		if (need_args(p, a, n, 1, 1))
			copy_arg(p, a, d[0] == 'u' ? c->user : c->group,
				 d[0] == 'u' ? sizeof(c->user) : sizeof(c->group));
	} else if (in_harmless(d)) {
		/* nothing to do */
	} else if ((why = why_unsupported(d))) {
		report(p, true, "'%s' is not supported by sluice (%s)", d, why);
	} else {
		report(p, false, "unknown directive '%s', ignored", d);
	}
}

/* Tokenizer */

/* Split one line into args (in place in buf). Returns the count, or -1 on a bad quote. */
static int split(char *line, char **a, int max)
{
	int n = 0;
	char *r = line, *w;

	while (*r) {
		char quote = 0;

		while (*r == ' ' || *r == '\t' || *r == '\r')
			r++;
		if (!*r || ((*r == '#' || *r == ';')))
			break;
		if (n == max)
			return -1;
		a[n++] = w = r;
		while (*r && (quote || (*r != ' ' && *r != '\t' && *r != '\r'))) {
			if (!quote && (*r == '"' || *r == '\'')) {
				quote = *r++;
				continue;
			}
			if (quote && *r == quote) {
				quote = 0;
				r++;
				continue;
			}
			if (*r == '\\' && quote != '\'' && r[1])
				r++;
			*w++ = *r++;
		}
		if (quote)
			return -1;
		if (*r)
			r++;
		*w = '\0';
	}
	return n;
}

static struct sl_ovpn_blob *blob_for_tag(struct sl_ovpn_config *c, const char *tag)
{
	if (!strcmp(tag, "ca"))
		return &c->ca;
	if (!strcmp(tag, "cert"))
		return &c->cert;
	if (!strcmp(tag, "key"))
		return &c->key;
	if (!strcmp(tag, "tls-crypt"))
		return &c->tls_crypt;
	if (!strcmp(tag, "tls-auth"))
		return &c->tls_auth;
	if (!strcmp(tag, "auth-user-pass"))
		return &c->auth_user_pass;
	return NULL;
}

/* "<tag>" at the start of a line: collect lines up to "</tag>". Returns the offset after it. */
static size_t inline_block(struct parser *p, const char *text, size_t len, size_t off,
			   const char *tag)
{
	char close[40];
	size_t start = off, clen;
	int first_line = p->line;
	struct sl_ovpn_blob *b = blob_for_tag(p->c, tag);

	snprintf(close, sizeof(close), "</%s>", tag);
	clen = strlen(close);
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len, s = off;

		p->line++;
		while (s < end && (text[s] == ' ' || text[s] == '\t'))
			s++;
		if (end - s >= clen && !strncmp(text + s, close, clen)) {
			if (b) {
				blob_free(b);
				b->path[0] = '\0';
				b->line = first_line;
				b->text = strndup(text + start, off - start);
				if (tag[0] == 'a') /* inline auth-user-pass */
					p->c->has_auth_user_pass = true;
			} else if (strcmp(tag, "extra-certs") && strcmp(tag, "dh")) {
				int keep = p->line;

				p->line = first_line;
				report(p, false, "unknown inline block <%s>, ignored", tag);
				p->line = keep;
			}
			return nl ? end + 1 : len;
		}
		off = nl ? end + 1 : len;
	}
	p->line = first_line;
	report(p, true, "<%s> without %s", tag, close);
	return len;
}

int sl_ovpn_config_parse(struct sl_ovpn_config *c, const char *file, const char *text, size_t len,
			 sl_ovpn_cfg_msg_fn msg, void *arg)
{
	struct parser p = {.c = c, .file = file, .msg = msg, .arg = arg};
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - off;
		char line[TOKEN_MAX * 2], *a[ARGS_MAX];
		int na;

		p.line++;
		off = nl ? end + 1 : len;
		if (n >= sizeof(line)) {
			report(&p, true, "line too long");
			continue;
		}
		memcpy(line, text + end - n, n);
		line[n] = '\0';
		if (memchr(line, '\0', n)) {
			report(&p, true, "NUL byte in the file");
			continue;
		}
		na = split(line, a, ARGS_MAX);
		if (na < 0) {
			report(&p, true, "unbalanced quote or too many arguments");
			continue;
		}
		if (!na)
			continue;
		if (a[0][0] == '<') {
			size_t tl = strlen(a[0]);

			if (na == 1 && tl > 2 && a[0][tl - 1] == '>' && a[0][1] != '/') {
				a[0][tl - 1] = '\0';
				off = inline_block(&p, text, len, off, a[0] + 1);
			} else {
				report(&p, true, "stray '%s'", a[0]);
			}
			continue;
		}
		if (!strncmp(a[0], "--", 2))
			a[0] += 2;
		directive(&p, a, na);
	}
	if (c->client && c->server) {
		p.line = 0;
		report(&p, true, "both 'client' and 'server' given");
	}
	return p.errors;
}

/* Loading */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, FILE_MAX, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int load_blob(const char *dir, const char *file, const char *what, struct sl_ovpn_blob *b,
		     sl_ovpn_cfg_msg_fn msg, void *arg)
{
	char path[SL_OVPN_CFG_PATH_MAX * 2 + 2], line[SL_OVPN_CFG_PATH_MAX * 3];
	int err;

	if (b->text || !b->path[0])
		return 0;
	if (b->path[0] == '/')
		snprintf(path, sizeof(path), "%s", b->path);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, b->path);
	b->text = read_file(path, NULL);
	if (b->text)
		return 0;
	err = errno;
	snprintf(line, sizeof(line), "%s:%d: %s: cannot read %s: %s", file, b->line, what, path,
		 strerror(err));
	if (msg)
		msg(arg, true, line);
	return -ENOENT;
}

static int require(const char *file, const char *what, const struct sl_ovpn_blob *b,
		   sl_ovpn_cfg_msg_fn msg, void *arg)
{
	char line[SL_OVPN_CFG_PATH_MAX + 128];

	if (b->text)
		return 0;
	snprintf(line, sizeof(line), "%s: no '%s' (a file name, or an inline <%s> block)", file,
		 what, what);
	if (msg)
		msg(arg, true, line);
	return -EINVAL;
}

int sl_ovpn_config_load(struct sl_ovpn_config *c, const char *path, sl_ovpn_cfg_msg_fn msg,
			void *arg)
{
	char dir[SL_OVPN_CFG_PATH_MAX], line[SL_OVPN_CFG_PATH_MAX + 128];
	size_t len;
	char *text = read_file(path, &len);
	int rc = 0;

	if (!text) {
		snprintf(line, sizeof(line), "cannot read %s: %s", path, strerror(errno));
		if (msg)
			msg(arg, true, line);
		return -ENOENT;
	}
	if (sl_ovpn_config_parse(c, path, text, len, msg, arg))
		rc = -EINVAL;
	free(text);
	if (rc)
		return rc;
	{
		char tmp[SL_OVPN_CFG_PATH_MAX];

		snprintf(tmp, sizeof(tmp), "%s", path);
		snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	}
	if (load_blob(dir, path, "ca", &c->ca, msg, arg) ||
	    load_blob(dir, path, "cert", &c->cert, msg, arg) ||
	    load_blob(dir, path, "key", &c->key, msg, arg) ||
	    load_blob(dir, path, "tls-crypt", &c->tls_crypt, msg, arg) ||
	    load_blob(dir, path, "tls-auth", &c->tls_auth, msg, arg) ||
	    load_blob(dir, path, "auth-user-pass", &c->auth_user_pass, msg, arg))
		return -ENOENT;
	if (!c->client && !c->server) {
		snprintf(line, sizeof(line),
			 "%s: neither 'client' nor 'server' (sluice runs one of them)", path);
		if (msg)
			msg(arg, true, line);
		return -EINVAL;
	}
	if (c->server && !c->client && !c->has_server) {
		snprintf(line, sizeof(line), "%s: server mode needs 'server NETWORK NETMASK'",
			 path);
		if (msg)
			msg(arg, true, line);
		return -EINVAL;
	}
	if (c->client && !c->n_remotes) {
		snprintf(line, sizeof(line), "%s: a client needs at least one 'remote'", path);
		if (msg)
			msg(arg, true, line);
		return -EINVAL;
	}
	if (require(path, "ca", &c->ca, msg, arg) || require(path, "cert", &c->cert, msg, arg) ||
	    require(path, "key", &c->key, msg, arg))
		return -EINVAL;
	if (c->tls_crypt.text && c->tls_auth.text) {
		snprintf(line, sizeof(line), "%s: both tls-crypt and tls-auth given; use one",
			 path);
		if (msg)
			msg(arg, true, line);
		return -EINVAL;
	}
	return 0;
}
