// SPDX-License-Identifier: MIT
/* OpenVPN key-method 2 message codec (layout in ovpn_km2.h). */
#include "proto/ovpn_km2.h"

#include "core/bytes.h"

#include <errno.h>
#include <string.h>

#define KEY_METHOD_2	2
#define KEY_METHOD_MASK 0x0F

static int put_string(uint8_t *out, size_t cap, size_t *off, const char *s, size_t field)
{
	size_t n = strnlen(s, field);

	if (n == field || n + 1 > UINT16_MAX)
		return -EINVAL;
	if (!n) {
		if (*off + 2 > cap)
			return -ENOSPC;
		sl_put_be16(out + *off, 0);
		*off += 2;
		return 0;
	}
	if (*off + 2 + n + 1 > cap)
		return -ENOSPC;
	sl_put_be16(out + *off, (uint16_t)(n + 1));
	memcpy(out + *off + 2, s, n + 1);
	*off += 2 + n + 1;
	return 0;
}

int sl_ovpn_km2_build(const struct sl_ovpn_km2 *m, bool from_client, uint8_t *out, size_t cap)
{
	size_t off = 5, keys = (from_client ? 48 : 0) + 64;
	int rc;

	if (cap < off + keys)
		return -ENOSPC;
	sl_put_be32(out, 0);
	out[4] = KEY_METHOD_2;
	if (from_client) {
		memcpy(out + off, m->pre_master, 48);
		off += 48;
	}
	memcpy(out + off, m->random1, 32);
	memcpy(out + off + 32, m->random2, 32);
	off += 64;
	if ((rc = put_string(out, cap, &off, m->options, sizeof(m->options))) ||
	    (rc = put_string(out, cap, &off, m->username, sizeof(m->username))) ||
	    (rc = put_string(out, cap, &off, m->password, sizeof(m->password))) ||
	    (rc = put_string(out, cap, &off, m->peer_info, sizeof(m->peer_info))))
		return rc;
	return (int)off;
}

/* A string field: its NUL must be the last byte it claims, and no NUL before it. */
static int get_string(const uint8_t *d, size_t len, size_t *off, char *out, size_t field)
{
	size_t n;

	out[0] = '\0';
	if (*off + 2 > len)
		return -EBADMSG;
	n = sl_get_be16(d + *off);
	*off += 2;
	if (!n)
		return 0;
	if (n > field || *off + n > len || d[*off + n - 1] != 0 ||
	    memchr(d + *off, 0, n - 1) != NULL)
		return -EBADMSG;
	memcpy(out, d + *off, n);
	*off += n;
	return 0;
}

int sl_ovpn_km2_parse(const uint8_t *d, size_t len, bool from_client, struct sl_ovpn_km2 *m)
{
	size_t off = 5, keys = (from_client ? 48 : 0) + 64;

	memset(m, 0, sizeof(*m));
	if (len < off + keys || (d[4] & KEY_METHOD_MASK) != KEY_METHOD_2)
		return -EBADMSG;
	if (from_client) {
		memcpy(m->pre_master, d + off, 48);
		off += 48;
	}
	memcpy(m->random1, d + off, 32);
	memcpy(m->random2, d + off + 32, 32);
	off += 64;
	/* The options string is required; the user/pass pair comes as a pair. */
	if (get_string(d, len, &off, m->options, sizeof(m->options)) ||
	    get_string(d, len, &off, m->username, sizeof(m->username)) ||
	    get_string(d, len, &off, m->password, sizeof(m->password)))
		return -EBADMSG;
	if (off < len && get_string(d, len, &off, m->peer_info, sizeof(m->peer_info)))
		return -EBADMSG;
	return (int)off;
}

int sl_ovpn_peer_info_get(const char *peer_info, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);

	for (const char *line = peer_info; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (n > klen && !strncmp(line, key, klen) && line[klen] == '=') {
			size_t v = n - klen - 1;

			if (v + 1 > cap)
				return -ENOSPC;
			memcpy(out, line + klen + 1, v);
			out[v] = '\0';
			return (int)v;
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}
