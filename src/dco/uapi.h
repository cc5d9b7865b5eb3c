/* SPDX-License-Identifier: MIT */
/*
 * The control socket's text protocol, in the shape of WireGuard's UAPI:
 * a request is `key=value` lines ended by an empty line; the first line's
 * key is the operation. The reply is `key=value` lines, then `errno=N`,
 * then an empty line.
 *
 *   op=peer_new        peer_id=N endpoint=ADDR:PORT keepalive_ms=N silent_ms=N replay_window=N
 *   op=peer_del        peer_id=N
 *   op=route_add       peer_id=N prefix=ADDR/LEN          (route_del likewise)
 *   op=key_set         peer_id=N slot=0|1 cipher=NAME key_id=N esn=0|1
 *                      rx_spi=N rx_key=HEX rx_salt=HEX tx_spi=N tx_key=HEX tx_salt=HEX
 *   op=key_swap        peer_id=N
 *   op=keepalive       peer_id=N keepalive_ms=N silent_ms=N
 *   op=stats           [peer_id=N]   -> engine totals and, per peer, peer_id=N then its counters
 *   op=down
 *
 * This file is pure parsing and formatting (fuzzed); uapi_server.c does the socket.
 */
#ifndef SL_DCO_UAPI_H
#define SL_DCO_UAPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_UAPI_MAX_PAIRS   32
#define SL_UAPI_MAX_REQUEST 8192

struct sl_uapi_pair {
	const char *key; /* points into the request buffer (NUL-terminated in place) */
	const char *value;
};

struct sl_uapi_request {
	uint32_t n;
	struct sl_uapi_pair pairs[SL_UAPI_MAX_PAIRS];
};

/*
 * Split buf[0..len) (modified in place: '=' and '\n' become NUL) into pairs,
 * up to and excluding the first empty line. Returns the number of bytes
 * consumed including the empty line, 0 if the request is not complete yet,
 * or -EINVAL (a line without '=', an empty key, a NUL byte, too many pairs,
 * over SL_UAPI_MAX_REQUEST). Keys are [a-z0-9_]+, values may be empty. The
 * buffer is only modified when a request is returned, so an incomplete one
 * can be parsed again once more bytes arrive. A lone "\n" is a request with
 * no pairs (n == 0, 1 byte consumed).
 */
int sl_uapi_parse(char *buf, size_t len, struct sl_uapi_request *req);

/* Value of the first pair named key, or NULL. */
const char *sl_uapi_get(const struct sl_uapi_request *req, const char *key);
/* Parse unsigned decimal (or 0x hex) value of key within [0, max]. 0, -ENOENT or -EINVAL. */
int sl_uapi_get_u64(const struct sl_uapi_request *req, const char *key, uint64_t max,
		    uint64_t *out);
/* Decode exactly out_len bytes of hex. 0, -ENOENT or -EINVAL. */
int sl_uapi_get_hex(const struct sl_uapi_request *req, const char *key, uint8_t *out,
		    size_t out_len);

/*
 * "ADDR:PORT" / "[V6ADDR]:PORT" <-> sockaddr, port 1..65535. Formatting
 * family 0 gives "(none)"; -EINVAL also when out_len is too small (out is then "").
 */
int sl_parse_endpoint(const char *s, struct sockaddr_storage *out);
int sl_format_endpoint(const struct sockaddr_storage *ss, char *out, size_t out_len);
/* "ADDR/LEN" (LEN optional: 32 or 128) -> prefix, bits beyond LEN zeroed. 0 or -EINVAL. */
struct sl_prefix;
int sl_parse_prefix(const char *s, struct sl_prefix *out);

/* Append "key=value\n" to a growing buffer. 0 or -ENOMEM. */
struct sl_buf {
	char *data;
	size_t len, cap;
};
int sl_buf_printf(struct sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_buf_free(struct sl_buf *b);

#endif
