// SPDX-License-Identifier: MIT
/*
 * Parsing and formatting for the control socket's key=value protocol
 * (layout in uapi.h). Everything here is pure and fuzzed: no I/O, no state.
 *
 *   op=route_add\n          first key names the operation
 *   peer_id=7\n             key: [a-z0-9_]+, value: any bytes but NUL and '\n'
 *   prefix=198.19.0.0/24\n
 *   \n                      an empty line ends the request
 */
#include "dco/uapi.h"

#include "sluice/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Length of the request at buf[0..len) including its empty line, 0 if the
 * empty line has not arrived yet, -EINVAL if it cannot be a valid request.
 */
static int request_length(const char *buf, size_t len)
{
	size_t scan = len < SL_UAPI_MAX_REQUEST ? len : SL_UAPI_MAX_REQUEST;

	for (size_t i = 0; i < scan; i++) {
		if (buf[i] == '\0')
			return -EINVAL;
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n'))
			return (int)(i + 1);
	}
	return len >= SL_UAPI_MAX_REQUEST ? -EINVAL : 0;
}

/* Split one line "key=value" (no '\n' inside) without modifying it; returns the '=' or NULL. */
static char *find_separator(char *line, size_t line_len)
{
	size_t i = 0;

	while (i < line_len && is_key_char(line[i]))
		i++;
	if (i == 0 || i == line_len || line[i] != '=')
		return NULL;
	return &line[i];
}

/*
 * Lines are checked first and split afterwards, so a rejected or incomplete
 * request leaves the buffer as it was.
 */
int sl_uapi_parse(char *buf, size_t len, struct sl_uapi_request *req)
{
	char *seps[SL_UAPI_MAX_PAIRS];
	int total = request_length(buf, len);
	char *line = buf, *end;
	uint32_t n = 0;

	if (total <= 0)
		return total;
	end = buf + total - 1; /* the empty line's '\n' */
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));

		if (n == SL_UAPI_MAX_PAIRS)
			return -EINVAL;
		seps[n] = find_separator(line, (size_t)(nl - line));
		if (!seps[n])
			return -EINVAL;
		req->pairs[n].key = line;
		req->pairs[n].value = seps[n] + 1;
		n++;
		line = nl + 1;
	}
	for (uint32_t i = 0; i < n; i++) {
		*seps[i] = '\0';
		*strchr(seps[i] + 1, '\n') = '\0';
	}
	req->n = n;
	return total;
}

const char *sl_uapi_get(const struct sl_uapi_request *req, const char *key)
{
	for (uint32_t i = 0; i < req->n; i++)
		if (strcmp(req->pairs[i].key, key) == 0)
			return req->pairs[i].value;
	return NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits only in the given base, at least one, no overflow of UINT64_MAX. */
static int parse_u64(const char *s, unsigned base, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		int d = hex_digit(*s);

		if (d < 0 || (unsigned)d >= base || v > (UINT64_MAX - (unsigned)d) / base)
			return -EINVAL;
		v = v * base + (unsigned)d;
	}
	*out = v;
	return 0;
}

static int parse_number(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int r;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		r = parse_u64(s + 2, 16, &v);
	else
		r = parse_u64(s, 10, &v);
	if (r < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int sl_uapi_get_u64(const struct sl_uapi_request *req, const char *key, uint64_t max, uint64_t *out)
{
	const char *s = sl_uapi_get(req, key);

	if (!s)
		return -ENOENT;
	return parse_number(s, max, out);
}

int sl_uapi_get_hex(const struct sl_uapi_request *req, const char *key, uint8_t *out,
		    size_t out_len)
{
	const char *s = sl_uapi_get(req, key);

	if (!s)
		return -ENOENT;
	if (strlen(s) != out_len * 2)
		return -EINVAL;
	for (size_t i = 0; i < out_len * 2; i++)
		if (hex_digit(s[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < out_len; i++)
		out[i] = (uint8_t)(hex_digit(s[2 * i]) << 4 | hex_digit(s[2 * i + 1]));
	return 0;
}

/* Decimal 1..65535, digits only. */
static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;

	if (strlen(s) > 5 || parse_u64(s, 10, &v) < 0 || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Copy s[0..n) into a NUL-terminated buffer of size cap; false if it does not fit. */
static bool copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static int parse_endpoint_v6(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (!close || close[1] != ':' ||
	    !copy_part(host, sizeof(host), s + 1, (size_t)(close - s - 1)) ||
	    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 || parse_port(close + 2, &port) < 0)
		return -EINVAL;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return 0;
}

static int parse_endpoint_v4(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	const char *colon = strchr(s, ':');
	char host[INET_ADDRSTRLEN];
	uint16_t port;

	if (!colon || !copy_part(host, sizeof(host), s, (size_t)(colon - s)) ||
	    inet_pton(AF_INET, host, &sin->sin_addr) != 1 || parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return 0;
}

int sl_parse_endpoint(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_storage ss = {0};
	int r = s[0] == '[' ? parse_endpoint_v6(s, &ss) : parse_endpoint_v4(s, &ss);

	if (r == 0)
		*out = ss;
	return r;
}

int sl_format_endpoint(const struct sockaddr_storage *ss, char *out, size_t out_len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	int n;

	if (out_len > 0)
		out[0] = '\0';
	if (ss->ss_family == 0)
		n = snprintf(out, out_len, "(none)");
	else if (ss->ss_family == AF_INET && inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)))
		n = snprintf(out, out_len, "%s:%u", host, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)))
		n = snprintf(out, out_len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	else
		return -EINVAL;
	if (n < 0 || (size_t)n >= out_len) {
		if (out_len > 0)
			out[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

static void mask_prefix(uint8_t *addr, unsigned len, unsigned max_bits)
{
	for (unsigned i = len; i < max_bits; i++)
		addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

int sl_parse_prefix(const char *s, struct sl_prefix *out)
{
	struct sl_prefix p = {0};
	const char *slash = strchr(s, '/');
	size_t host_len = slash ? (size_t)(slash - s) : strlen(s);
	char host[INET6_ADDRSTRLEN];
	unsigned max_bits;
	uint64_t len;

	if (!copy_part(host, sizeof(host), s, host_len))
		return -EINVAL;
	if (inet_pton(AF_INET, host, p.addr) == 1) {
		p.family = AF_INET;
		max_bits = 32;
	} else if (inet_pton(AF_INET6, host, p.addr) == 1) {
		p.family = AF_INET6;
		max_bits = 128;
	} else {
		return -EINVAL;
	}
	len = max_bits;
	if (slash && (strlen(slash + 1) > 3 || parse_u64(slash + 1, 10, &len) < 0))
		return -EINVAL;
	if (len > max_bits)
		return -EINVAL;
	p.len = (uint8_t)len;
	mask_prefix(p.addr, p.len, max_bits);
	*out = p;
	return 0;
}

#define BUF_MIN_CAP 256

static int buf_reserve(struct sl_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	char *data;

	if (need <= b->cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int sl_buf_printf(struct sl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, b->len + (size_t)n + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void sl_buf_free(struct sl_buf *b)
{
	free(b->data);
	*b = (struct sl_buf){0};
}
