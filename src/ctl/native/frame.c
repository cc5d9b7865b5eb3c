// SPDX-License-Identifier: MIT
/*
 * Native protocol frames and control payloads (layout in frame.h and
 * docs/native-protocol.md). Parsers never trust a length or a value: every
 * field is range-checked before anything is written to the output.
 */
#include "ctl/native/frame.h"

#include "core/bytes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KV_MAX	  64 /* a CONFIG has ~14 keys plus up to 32 routes */
#define VALUE_MAX 63 /* longest single value we parse (an IPv6 prefix is 43) */
#define READ_MIN  (16384 + 256)

static const char *const type_names[] = {
	[SL_NF_HELLO] = "HELLO",
	[SL_NF_CONFIG] = "CONFIG",
	[SL_NF_REKEY] = "REKEY",
	[SL_NF_REKEY_ACK] = "REKEY_ACK",
	[SL_NF_REKEY_REQUEST] = "REKEY_REQUEST",
	[SL_NF_DATA] = "DATA",
	[SL_NF_PING] = "PING",
	[SL_NF_PONG] = "PONG",
	[SL_NF_BYE] = "BYE",
};

const char *sl_nframe_type_name(uint8_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return "unknown";
}

size_t sl_nframe_parse(const uint8_t *buf, size_t len, struct sl_nframe *out)
{
	size_t plen;

	if (len < SL_NFRAME_HDR_LEN)
		return 0;
	plen = sl_get_be16(buf + 1);
	if (len - SL_NFRAME_HDR_LEN < plen)
		return 0;
	out->type = buf[0];
	out->len = (uint16_t)plen;
	out->payload = buf + SL_NFRAME_HDR_LEN;
	return SL_NFRAME_HDR_LEN + plen;
}

int sl_nframe_put_header(uint8_t hdr[SL_NFRAME_HDR_LEN], uint8_t type, size_t len)
{
	if (len > SL_NFRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	hdr[0] = type;
	sl_put_be16(hdr + 1, (uint16_t)len);
	return 0;
}

/* ---- reader -------------------------------------------------------------- */

void sl_nframe_reader_init(struct sl_nframe_reader *r)
{
	r->start = r->end = 0;
}

uint8_t *sl_nframe_reader_space(struct sl_nframe_reader *r, size_t *room)
{
	/* At most one partial frame is left unconsumed, so moving it down always makes room. */
	if (sizeof(r->buf) - r->end < READ_MIN && r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	*room = sizeof(r->buf) - r->end;
	return r->buf + r->end;
}

void sl_nframe_reader_commit(struct sl_nframe_reader *r, size_t n)
{
	r->end += n;
}

size_t sl_nframe_reader_feed(struct sl_nframe_reader *r, const uint8_t *data, size_t len)
{
	size_t room;
	uint8_t *dst = sl_nframe_reader_space(r, &room);

	if (len > room)
		len = room;
	memcpy(dst, data, len);
	sl_nframe_reader_commit(r, len);
	return len;
}

int sl_nframe_reader_next(struct sl_nframe_reader *r, struct sl_nframe *out)
{
	size_t n = sl_nframe_parse(r->buf + r->start, r->end - r->start, out);

	if (!n)
		return 0;
	r->start += n;
	if (r->start == r->end)
		r->start = r->end = 0;
	return 1;
}

/* ---- key=value payloads ------------------------------------------------------ */

struct kv {
	const char *key, *val;
	size_t klen, vlen;
};

struct kvlist {
	uint32_t n;
	struct kv kv[KV_MAX];
};

static int fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool printable(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

/* Split "key=value\n" lines; empty lines are skipped, the last newline is optional. */
static int kv_split(const uint8_t *p, size_t len, struct kvlist *l, char *err, size_t err_len)
{
	size_t i = 0;

	l->n = 0;
	while (i < len) {
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;
		const uint8_t *eq = memchr(p + i, '=', end - i);
		struct kv *kv;

		if (end == i) {
			i++;
			continue;
		}
		if (!printable(p + i, end - i))
			return fail(err, err_len, "line %u has a control character", l->n + 1);
		if (!eq || eq == p + i)
			return fail(err, err_len, "line %u is not key=value", l->n + 1);
		if (l->n == KV_MAX)
			return fail(err, err_len, "more than %d lines", KV_MAX);
		kv = &l->kv[l->n++];
		kv->key = (const char *)p + i;
		kv->klen = (size_t)(eq - (p + i));
		kv->val = (const char *)eq + 1;
		kv->vlen = end - (size_t)(eq + 1 - p);
		i = end + 1;
	}
	return 0;
}

static bool kv_is(const struct kv *kv, const char *key)
{
	return kv->klen == strlen(key) && !memcmp(kv->key, key, kv->klen);
}

static const struct kv *kv_get(const struct kvlist *l, const char *key)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (kv_is(&l->kv[i], key))
			return &l->kv[i];
	return NULL;
}

/* Copy a value into a NUL-terminated buffer; false if it is too long. */
static bool kv_cstr(const struct kv *kv, char buf[VALUE_MAX + 1])
{
	if (kv->vlen > VALUE_MAX)
		return false;
	memcpy(buf, kv->val, kv->vlen);
	buf[kv->vlen] = '\0';
	return true;
}

static bool parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int get_u32(const struct kvlist *l, const char *key, uint32_t min, uint32_t max,
		   uint32_t *out, char *err, size_t err_len)
{
	const struct kv *kv = kv_get(l, key);

	if (!kv)
		return fail(err, err_len, "'%s' missing", key);
	if (!parse_u32(kv->val, kv->vlen, min, max, out))
		return fail(err, err_len, "%s: expected a number in %u..%u, got '%.*s'", key, min,
			    max, (int)(kv->vlen > 32 ? 32 : kv->vlen), kv->val);
	return 0;
}

static bool parse_addr(const char *s, int family, uint8_t *out)
{
	return inet_pton(family, s, out) == 1;
}

static void mask_host_bits(struct sl_prefix *p)
{
	unsigned int bytes = p->family == AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int keep = p->len > i * 8 ? p->len - i * 8 : 0;

		if (keep < 8)
			p->addr[i] &= (uint8_t)(0xff00u >> keep);
	}
}

/* "ADDR/LEN" of the given family (0: either). canon: clear the host bits. */
static bool parse_prefix(const struct kv *kv, int family, bool canon, struct sl_prefix *out)
{
	char buf[VALUE_MAX + 1], *slash;
	uint32_t len;

	if (!kv_cstr(kv, buf))
		return false;
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	memset(out, 0, sizeof(*out));
	out->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (family && out->family != family)
		return false;
	if (!parse_addr(buf, out->family, out->addr) ||
	    !parse_u32(slash + 1, strlen(slash + 1), 0, out->family == AF_INET ? 32 : 128, &len))
		return false;
	out->len = (uint8_t)len;
	if (canon)
		mask_host_bits(out);
	return true;
}

static int get_addr(const struct kvlist *l, const char *key, int family, uint8_t *out, bool *has,
		    char *err, size_t err_len)
{
	const struct kv *kv = kv_get(l, key);
	char buf[VALUE_MAX + 1];

	*has = false;
	if (!kv)
		return 0;
	if (!kv_cstr(kv, buf) || !parse_addr(buf, family, out))
		return fail(err, err_len, "%s: expected an IPv%d address", key,
			    family == AF_INET ? 4 : 6);
	*has = true;
	return 0;
}

/* ---- builders ---------------------------------------------------------------- */

struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

static int finish(const struct out *o)
{
	if (o->full || o->len > SL_NFRAME_MAX_PAYLOAD)
		return -ENOSPC;
	return (int)o->len;
}

int sl_nprefix_format(const struct sl_prefix *pfx, char *out, size_t out_len)
{
	char a[INET6_ADDRSTRLEN];

	if ((pfx->family != AF_INET && pfx->family != AF_INET6) ||
	    pfx->len > (pfx->family == AF_INET ? 32 : 128) ||
	    !inet_ntop(pfx->family, pfx->addr, a, sizeof(a)))
		return -EINVAL;
	if ((size_t)snprintf(out, out_len, "%s/%u", a, pfx->len) >= out_len)
		return -ENOSPC;
	return 0;
}

static void put_addr(struct out *o, const char *key, int family, const uint8_t *addr)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	put(o, "%s=%s\n", key, a);
}

static int put_prefix(struct out *o, const char *key, const struct sl_prefix *pfx)
{
	char s[INET6_ADDRSTRLEN + 5];

	if (sl_nprefix_format(pfx, s, sizeof(s)) < 0)
		return -EINVAL;
	put(o, "%s=%s\n", key, s);
	return 0;
}

static bool cipher_ok(int c)
{
	return c >= 0 && c < SL_CIPHER__COUNT;
}

int sl_nhello_build(const struct sl_nhello *h, char *buf, size_t cap)
{
	struct out o = {.p = buf, .cap = cap};

	if (h->n_ciphers == 0 || h->n_ciphers > SL_CIPHER__COUNT)
		return -EINVAL;
	put(&o, "version=%u\nciphers=", h->version);
	for (uint32_t i = 0; i < h->n_ciphers; i++) {
		if (!cipher_ok(h->ciphers[i]))
			return -EINVAL;
		put(&o, "%s%s", i ? "," : "", sl_cipher_name(h->ciphers[i]));
	}
	put(&o, "\n");
	if (h->has_want4)
		put_addr(&o, "want4", AF_INET, h->want4);
	if (h->has_want6)
		put_addr(&o, "want6", AF_INET6, h->want6);
	return finish(&o);
}

int sl_nconfig_build(const struct sl_nconfig *c, char *buf, size_t cap)
{
	struct out o = {.p = buf, .cap = cap};

	if (!cipher_ok(c->cipher) || c->n_routes > SL_NATIVE_MAX_ROUTES || (!c->has4 && !c->has6))
		return -EINVAL;
	put(&o, "version=%u\npeer_id=%u\ncipher=%s\nepoch=%u\nspi_c=%u\nspi_s=%u\n", c->version,
	    c->peer_id, sl_cipher_name(c->cipher), c->epoch, c->spi_c, c->spi_s);
	if (c->has4) {
		if (c->addr4.family != AF_INET || put_prefix(&o, "addr4", &c->addr4) < 0)
			return -EINVAL;
		put_addr(&o, "gw4", AF_INET, c->gw4);
	}
	if (c->has6) {
		if (c->addr6.family != AF_INET6 || put_prefix(&o, "addr6", &c->addr6) < 0)
			return -EINVAL;
		put_addr(&o, "gw6", AF_INET6, c->gw6);
	}
	put(&o, "mtu=%u\n", c->mtu);
	for (uint32_t i = 0; i < c->n_routes; i++)
		if (put_prefix(&o, "route", &c->routes[i]) < 0)
			return -EINVAL;
	put(&o, "keepalive_ms=%u\nsilent_ms=%u\nudp_port=%u\n", c->keepalive_ms, c->silent_ms,
	    c->udp_port);
	if (c->tcp_port)
		put(&o, "tcp_port=%u\n", c->tcp_port);
	return finish(&o);
}

int sl_nrekey_build(const struct sl_nrekey *k, char *buf, size_t cap)
{
	struct out o = {.p = buf, .cap = cap};

	put(&o, "epoch=%u\nspi_c=%u\nspi_s=%u\n", k->epoch, k->spi_c, k->spi_s);
	return finish(&o);
}

int sl_nrekey_ack_build(uint32_t epoch, char *buf, size_t cap)
{
	struct out o = {.p = buf, .cap = cap};

	put(&o, "epoch=%u\n", epoch);
	return finish(&o);
}

/* ---- parsers ----------------------------------------------------------------- */

static void add_cipher(struct sl_nhello *h, const char *name)
{
	enum sl_cipher c;

	/* A newer client may offer ciphers we do not know: skip those. */
	if (sl_cipher_from_name(name, &c) < 0)
		return;
	for (uint32_t i = 0; i < h->n_ciphers; i++)
		if (h->ciphers[i] == c)
			return;
	if (h->n_ciphers < SL_CIPHER__COUNT)
		h->ciphers[h->n_ciphers++] = c;
}

static int parse_ciphers(const struct kv *kv, struct sl_nhello *h, char *err, size_t err_len)
{
	size_t i = 0;

	while (i < kv->vlen) {
		const char *comma = memchr(kv->val + i, ',', kv->vlen - i);
		size_t end = comma ? (size_t)(comma - kv->val) : kv->vlen;
		char name[32];

		if (end == i || end - i >= sizeof(name))
			return fail(err, err_len, "ciphers: bad list '%.*s'",
				    (int)(kv->vlen > 64 ? 64 : kv->vlen), kv->val);
		memcpy(name, kv->val + i, end - i);
		name[end - i] = '\0';
		add_cipher(h, name);
		i = end + 1;
	}
	return 0;
}

int sl_nhello_parse(const uint8_t *p, size_t len, struct sl_nhello *out, char *err, size_t err_len)
{
	struct kvlist l;
	struct sl_nhello h = {0};
	const struct kv *kv;
	int r;

	if ((r = kv_split(p, len, &l, err, err_len)) < 0)
		return r;
	if ((r = get_u32(&l, "version", 1, UINT32_MAX, &h.version, err, err_len)) < 0)
		return r;
	kv = kv_get(&l, "ciphers");
	if (!kv)
		return fail(err, err_len, "'ciphers' missing");
	if ((r = parse_ciphers(kv, &h, err, err_len)) < 0)
		return r;
	if ((r = get_addr(&l, "want4", AF_INET, h.want4, &h.has_want4, err, err_len)) < 0 ||
	    (r = get_addr(&l, "want6", AF_INET6, h.want6, &h.has_want6, err, err_len)) < 0)
		return r;
	*out = h;
	return 0;
}

static int parse_config_addr(const struct kvlist *l, int family, struct sl_nconfig *c, char *err,
			     size_t err_len)
{
	bool v4 = family == AF_INET;
	const struct kv *kv = kv_get(l, v4 ? "addr4" : "addr6");
	struct sl_prefix *pfx = v4 ? &c->addr4 : &c->addr6;
	bool has_gw;
	int r;

	if (!kv)
		return 0;
	if (!parse_prefix(kv, family, false, pfx))
		return fail(err, err_len, "%s: expected an IPv%d ADDR/LEN", v4 ? "addr4" : "addr6",
			    v4 ? 4 : 6);
	r = get_addr(l, v4 ? "gw4" : "gw6", family, v4 ? c->gw4 : c->gw6, &has_gw, err, err_len);
	if (r < 0)
		return r;
	if (!has_gw)
		return fail(err, err_len, "'%s' missing", v4 ? "gw4" : "gw6");
	if (v4)
		c->has4 = true;
	else
		c->has6 = true;
	return 0;
}

static int parse_routes(const struct kvlist *l, struct sl_nconfig *c, char *err, size_t err_len)
{
	for (uint32_t i = 0; i < l->n; i++) {
		const struct kv *kv = &l->kv[i];

		if (!kv_is(kv, "route"))
			continue;
		if (c->n_routes == SL_NATIVE_MAX_ROUTES)
			return fail(err, err_len, "more than %d routes", SL_NATIVE_MAX_ROUTES);
		if (!parse_prefix(kv, 0, true, &c->routes[c->n_routes]))
			return fail(err, err_len, "route: expected ADDR/LEN, got '%.*s'",
				    (int)(kv->vlen > 48 ? 48 : kv->vlen), kv->val);
		c->n_routes++;
	}
	return 0;
}

static int parse_cipher_key(const struct kvlist *l, enum sl_cipher *out, char *err, size_t err_len)
{
	const struct kv *kv = kv_get(l, "cipher");
	char buf[VALUE_MAX + 1];

	if (!kv)
		return fail(err, err_len, "'cipher' missing");
	if (!kv_cstr(kv, buf) || sl_cipher_from_name(buf, out) < 0)
		return fail(err, err_len, "cipher: unknown '%.*s'",
			    (int)(kv->vlen > 32 ? 32 : kv->vlen), kv->val);
	return 0;
}

int sl_nconfig_parse(const uint8_t *p, size_t len, struct sl_nconfig *out, char *err,
		     size_t err_len)
{
	struct kvlist l;
	struct sl_nconfig c;
	uint32_t port;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = kv_split(p, len, &l, err, err_len)) < 0 ||
	    (r = get_u32(&l, "version", 1, UINT32_MAX, &c.version, err, err_len)) < 0 ||
	    (r = get_u32(&l, "peer_id", 1, SL_PEER_ID_MAX, &c.peer_id, err, err_len)) < 0 ||
	    (r = parse_cipher_key(&l, &c.cipher, err, err_len)) < 0 ||
	    (r = get_u32(&l, "epoch", 0, UINT32_MAX, &c.epoch, err, err_len)) < 0 ||
	    (r = get_u32(&l, "spi_c", 1, UINT32_MAX, &c.spi_c, err, err_len)) < 0 ||
	    (r = get_u32(&l, "spi_s", 1, UINT32_MAX, &c.spi_s, err, err_len)) < 0 ||
	    (r = get_u32(&l, "mtu", 576, 9000, &c.mtu, err, err_len)) < 0 ||
	    (r = get_u32(&l, "keepalive_ms", 0, 3600000, &c.keepalive_ms, err, err_len)) < 0 ||
	    (r = get_u32(&l, "silent_ms", 0, 3600000, &c.silent_ms, err, err_len)) < 0 ||
	    (r = get_u32(&l, "udp_port", 1, 65535, &port, err, err_len)) < 0 ||
	    (r = parse_config_addr(&l, AF_INET, &c, err, err_len)) < 0 ||
	    (r = parse_config_addr(&l, AF_INET6, &c, err, err_len)) < 0 ||
	    (r = parse_routes(&l, &c, err, err_len)) < 0)
		return r;
	if (!c.has4 && !c.has6)
		return fail(err, err_len, "neither addr4 nor addr6");
	c.udp_port = (uint16_t)port;
	if (kv_get(&l, "tcp_port")) {
		if ((r = get_u32(&l, "tcp_port", 1, 65535, &port, err, err_len)) < 0)
			return r;
		c.tcp_port = (uint16_t)port;
	}
	*out = c;
	return 0;
}

int sl_nrekey_parse(const uint8_t *p, size_t len, struct sl_nrekey *out, char *err, size_t err_len)
{
	struct kvlist l;
	struct sl_nrekey k;
	int r;

	if ((r = kv_split(p, len, &l, err, err_len)) < 0 ||
	    (r = get_u32(&l, "epoch", 0, UINT32_MAX, &k.epoch, err, err_len)) < 0 ||
	    (r = get_u32(&l, "spi_c", 1, UINT32_MAX, &k.spi_c, err, err_len)) < 0 ||
	    (r = get_u32(&l, "spi_s", 1, UINT32_MAX, &k.spi_s, err, err_len)) < 0)
		return r;
	*out = k;
	return 0;
}

int sl_nrekey_ack_parse(const uint8_t *p, size_t len, uint32_t *epoch, char *err, size_t err_len)
{
	struct kvlist l;
	int r;

	if ((r = kv_split(p, len, &l, err, err_len)) < 0)
		return r;
	return get_u32(&l, "epoch", 0, UINT32_MAX, epoch, err, err_len);
}

void sl_nbye_reason(const uint8_t *p, size_t len, char *out, size_t out_len)
{
	size_t n = 0;

	if (!out_len)
		return;
	for (size_t i = 0; i < len && n + 1 < out_len; i++)
		out[n++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	out[n] = '\0';
}
