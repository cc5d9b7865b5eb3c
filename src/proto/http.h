/* SPDX-License-Identifier: MIT */
/*
 * The little HTTP/1.1 an AnyConnect client needs (openconnect http.c,
 * ocserv worker-http.c): a response's status line and headers, its
 * Content-Length body, and cookies from Set-Cookie. Pure functions on the
 * bytes received; nothing is copied.
 *
 *   HTTP/1.1 200 CONNECTED\r\n
 *   Name: value\r\n ...
 *   \r\n
 *   body (Content-Length bytes)
 */
#ifndef SL_PROTO_HTTP_H
#define SL_PROTO_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define SL_HTTP_HEADERS_MAX 64
#define SL_HTTP_HEAD_MAX    16384 /* a head longer than this is refused */

struct sl_http_header {
	const char *name, *value;
	size_t name_len, value_len; /* value without surrounding blanks */
};

struct sl_http_response {
	int status;
	struct sl_http_header h[SL_HTTP_HEADERS_MAX];
	unsigned n;
	size_t head_len;       /* bytes up to and including the empty line */
	size_t content_length; /* 0 when absent */
	bool has_content_length;
};

/*
 * Parse the head at buf[0..len). 0 (complete: the body starts at head_len),
 * -EAGAIN (the empty line has not arrived yet), -EBADMSG (not HTTP/1.x, a bad
 * status or header line, too many headers, a head over SL_HTTP_HEAD_MAX).
 */
int sl_http_parse_response(const char *buf, size_t len, struct sl_http_response *r);
struct sl_http_request {
	const char *method, *target;
	size_t method_len, target_len;
	struct sl_http_header h[SL_HTTP_HEADERS_MAX];
	unsigned n;
	size_t head_len;
	size_t content_length;
	bool has_content_length;
};

/*
 * A request head ("METHOD target HTTP/1.x"), the server's side: same rules
 * and return values as sl_http_parse_response.
 */
int sl_http_parse_request(const char *buf, size_t len, struct sl_http_request *r);
/* Cookie name from the request's Cookie headers ("a=1; b=2"). 0, -ENOENT, -ENOSPC. */
int sl_http_request_cookie(const struct sl_http_request *r, const char *name, char *out,
			   size_t cap);

/* The i-th header called name (case-insensitive), from *at on (start at 0), or NULL. */
const struct sl_http_header *sl_http_find(const struct sl_http_response *r, const char *name,
					  unsigned *at);
/* Copy header name's value into out (NUL-terminated); 0, -ENOENT, -ENOSPC. */
int sl_http_header_copy(const struct sl_http_response *r, const char *name, char *out, size_t cap);
/*
 * The value of cookie name from the last Set-Cookie that sets it (its value
 * before ';'). 0, -ENOENT (absent, or set to empty: a deletion), -ENOSPC.
 */
int sl_http_cookie(const struct sl_http_response *r, const char *name, char *out, size_t cap);

#endif
