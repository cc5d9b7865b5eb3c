// SPDX-License-Identifier: MIT
/* HTTP/1.1 response heads and cookies, strict and bounded. */
#include "proto/http.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_token(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (the '\r' of "\r\n"), or NULL. */
static const char *line_end(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

static int parse_status(const char *p, const char *e, struct sl_http_response *r)
{
	int status = 0;

	if (e - p < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return -EBADMSG;
	for (int i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		status = status * 10 + (p[i] - '0');
	}
	if (e - p > 12 && p[12] != ' ')
		return -EBADMSG;
	r->status = status;
	return 0;
}

static int parse_length(const struct sl_http_header *h, size_t *out)
{
	size_t v = 0;

	if (!h->value_len)
		return -EBADMSG;
	for (size_t i = 0; i < h->value_len; i++) {
		if (h->value[i] < '0' || h->value[i] > '9' || v > (SIZE_MAX - 9) / 10)
			return -EBADMSG;
		v = v * 10 + (size_t)(h->value[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_header(const char *p, const char *e, struct sl_http_header *h)
{
	const char *colon = p;

	while (colon < e && is_token(*colon))
		colon++;
	if (colon == p || colon == e || *colon != ':')
		return -EBADMSG;
	h->name = p;
	h->name_len = (size_t)(colon - p);
	p = colon + 1;
	while (p < e && is_blank(*p))
		p++;
	while (e > p && is_blank(e[-1]))
		e--;
	for (const char *c = p; c < e; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return -EBADMSG;
	h->value = p;
	h->value_len = (size_t)(e - p);
	return 0;
}

static int copy_out(const char *v, size_t n, char *out, size_t cap);

/* Headers from p (after the first line) to the empty line; shared by requests and responses. */
static int parse_headers(const char *buf, size_t len, const char *p, struct sl_http_header *h,
			 unsigned *n_out, size_t *head_len, size_t *clen, bool *has_clen)
{
	const char *end = buf + (len > SL_HTTP_HEAD_MAX ? SL_HTTP_HEAD_MAX : len), *e;
	unsigned n = 0;

	for (;; p = e + 2) {
		e = line_end(p, end);
		if (!e)
			return len >= SL_HTTP_HEAD_MAX ? -EBADMSG : -EAGAIN;
		if (e == p)
			break;
		if (n == SL_HTTP_HEADERS_MAX || parse_header(p, e, &h[n]) < 0)
			return -EBADMSG;
		if (h[n].name_len == 14 && !strncasecmp(h[n].name, "Content-Length", 14)) {
			if (*has_clen || parse_length(&h[n], clen) < 0)
				return -EBADMSG;
			*has_clen = true;
		}
		n++;
	}
	*n_out = n;
	*head_len = (size_t)(e + 2 - buf);
	return 0;
}

int sl_http_parse_request(const char *buf, size_t len, struct sl_http_request *r)
{
	const char *end = buf + (len > SL_HTTP_HEAD_MAX ? SL_HTTP_HEAD_MAX : len);
	const char *e = line_end(buf, end), *sp1, *sp2;

	memset(r, 0, sizeof(*r));
	if (!e)
		return len >= SL_HTTP_HEAD_MAX ? -EBADMSG : -EAGAIN;
	sp1 = memchr(buf, ' ', (size_t)(e - buf));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1 || e - sp2 != 9 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1'))
		return -EBADMSG;
	for (const char *c = buf; c < sp1; c++)
		if (!is_token(*c))
			return -EBADMSG;
	for (const char *c = sp1 + 1; c < sp2; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return -EBADMSG;
	r->method = buf;
	r->method_len = (size_t)(sp1 - buf);
	r->target = sp1 + 1;
	r->target_len = (size_t)(sp2 - sp1 - 1);
	return parse_headers(buf, len, e + 2, r->h, &r->n, &r->head_len, &r->content_length,
			     &r->has_content_length);
}

int sl_http_request_cookie(const struct sl_http_request *r, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	for (unsigned i = 0; i < r->n; i++) {
		const char *v = r->h[i].value, *end = v + r->h[i].value_len;

		if (r->h[i].name_len != 6 || strncasecmp(r->h[i].name, "Cookie", 6))
			continue;
		while (v < end) {
			const char *semi = memchr(v, ';', (size_t)(end - v));
			const char *item_end = semi ? semi : end;

			while (v < item_end && is_blank(*v))
				v++;
			if ((size_t)(item_end - v) > n && !memcmp(v, name, n) && v[n] == '=')
				return copy_out(v + n + 1, (size_t)(item_end - v - n - 1), out,
						cap);
			v = semi ? semi + 1 : end;
		}
	}
	return -ENOENT;
}

int sl_http_parse_response(const char *buf, size_t len, struct sl_http_response *r)
{
	const char *end = buf + (len > SL_HTTP_HEAD_MAX ? SL_HTTP_HEAD_MAX : len);
	const char *p = buf, *e = line_end(p, end);
	int rc;

	memset(r, 0, sizeof(*r));
	if (!e)
		return len >= SL_HTTP_HEAD_MAX ? -EBADMSG : -EAGAIN;
	if ((rc = parse_status(p, e, r)) < 0)
		return rc;
	return parse_headers(buf, len, e + 2, r->h, &r->n, &r->head_len, &r->content_length,
			     &r->has_content_length);
}

const struct sl_http_header *sl_http_find(const struct sl_http_response *r, const char *name,
					  unsigned *at)
{
	size_t n = strlen(name);

	for (unsigned i = *at; i < r->n; i++) {
		if (r->h[i].name_len == n && !strncasecmp(r->h[i].name, name, n)) {
			*at = i + 1;
			return &r->h[i];
		}
	}
	*at = r->n;
	return NULL;
}

static int copy_out(const char *v, size_t n, char *out, size_t cap)
{
	if (n >= cap)
		return -ENOSPC;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

int sl_http_header_copy(const struct sl_http_response *r, const char *name, char *out, size_t cap)
{
	unsigned at = 0;
	const struct sl_http_header *h = sl_http_find(r, name, &at);

	return h ? copy_out(h->value, h->value_len, out, cap) : -ENOENT;
}

int sl_http_cookie(const struct sl_http_response *r, const char *name, char *out, size_t cap)
{
	const struct sl_http_header *h, *found = NULL;
	size_t n = strlen(name), vlen = 0;
	unsigned at = 0;

	while ((h = sl_http_find(r, "Set-Cookie", &at))) {
		const char *semi;

		if (h->value_len <= n || memcmp(h->value, name, n) || h->value[n] != '=')
			continue;
		found = h;
		semi = memchr(h->value + n + 1, ';', h->value_len - n - 1);
		vlen = semi ? (size_t)(semi - h->value - n - 1) : h->value_len - n - 1;
	}
	if (!found || vlen == 0)
		return -ENOENT;
	return copy_out(found->value + n + 1, vlen, out, cap);
}
