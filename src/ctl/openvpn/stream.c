// SPDX-License-Identifier: MIT
/* OpenVPN packets over one TCP connection (see stream.h). */
#include "ctl/openvpn/stream.h"

#include "core/bytes.h"
#include "proto/ovpn_ctl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void sl_ovpn_stream_init(struct sl_ovpn_stream *s, struct sl_loop *loop, int fd)
{
	s->fd = fd;
	s->loop = loop;
	s->in_len = s->out_len = 0;
	s->out_dropped = 0;
}

void sl_ovpn_stream_close(struct sl_ovpn_stream *s)
{
	if (s->fd >= 0) {
		sl_loop_del_fd(s->loop, s->fd);
		close(s->fd);
	}
	s->fd = -1;
	s->in_len = s->out_len = 0;
}

static void flush(struct sl_ovpn_stream *s)
{
	while (s->out_len) {
		ssize_t n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
	sl_loop_mod_fd(s->loop, s->fd, SL_EV_READ | (s->out_len ? SL_EV_WRITE : 0));
}

int sl_ovpn_stream_send(struct sl_ovpn_stream *s, const uint8_t *pkt, size_t len)
{
	if (s->fd < 0 || len > UINT16_MAX)
		return -ENOTCONN;
	if (s->out_len + 2 + len > sizeof(s->out)) {
		s->out_dropped++;
		return -ENOBUFS;
	}
	sl_put_be16(s->out + s->out_len, (uint16_t)len);
	memcpy(s->out + s->out_len + 2, pkt, len);
	s->out_len += 2 + len;
	flush(s);
	return 0;
}

int sl_ovpn_stream_on_io(struct sl_ovpn_stream *s, uint32_t events,
			 int (*fn)(void *arg, const uint8_t *pkt, size_t len), void *arg)
{
	size_t off = 0;
	ssize_t n;

	if (events & SL_EV_WRITE)
		flush(s);
	if (!(events & SL_EV_READ))
		return 0;
	n = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -ECONNRESET;
	if (n < 0)
		return 0;
	s->in_len += (size_t)n;
	for (;;) {
		const uint8_t *pkt;
		size_t len;
		int used = sl_ovpn_tcp_next(s->in + off, s->in_len - off, &pkt, &len);

		if (used < 0)
			return -EBADMSG;
		if (!used)
			break;
		off += (size_t)used;
		if (fn(arg, pkt, len))
			break;
	}
	memmove(s->in, s->in + off, s->in_len - off);
	s->in_len -= off;
	return 0;
}
