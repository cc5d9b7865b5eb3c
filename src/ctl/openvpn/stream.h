/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN over TCP: one non-blocking connection carrying packets with a
 * 16-bit length in front (proto/ovpn_ctl.h sl_ovpn_tcp_next). Output is
 * queued (bounded) and flushed when the socket is writable; input is cut
 * into whole packets. The owner registers the fd on its loop and calls
 * sl_ovpn_stream_on_io from there.
 */
#ifndef SL_CTL_OPENVPN_STREAM_H
#define SL_CTL_OPENVPN_STREAM_H

#include "core/loop.h"

#include <stddef.h>
#include <stdint.h>

#define SL_OVPN_STREAM_BUF (256 * 1024)

struct sl_ovpn_stream {
	int fd;
	struct sl_loop *loop;
	size_t in_len, out_len;
	uint64_t out_dropped; /* packets that found the output queue full */
	uint8_t in[SL_OVPN_STREAM_BUF];
	uint8_t out[SL_OVPN_STREAM_BUF];
};

/* Takes fd (connected, non-blocking); does not register it on the loop. */
void sl_ovpn_stream_init(struct sl_ovpn_stream *s, struct sl_loop *loop, int fd);
/* Closes the fd (and takes it off the loop). */
void sl_ovpn_stream_close(struct sl_ovpn_stream *s);
/* Queue one packet with its length prefix and try to send. 0, -ENOBUFS or -ENOTCONN. */
int sl_ovpn_stream_send(struct sl_ovpn_stream *s, const uint8_t *pkt, size_t len);
/*
 * Readable/writable: flush, then read and hand every whole packet to fn.
 * Returns 0, or -ECONNRESET (closed or failed) / -EBADMSG (zero length) after
 * which the owner closes it. fn must not close the stream; it may return
 * non-zero to stop reading for now.
 */
int sl_ovpn_stream_on_io(struct sl_ovpn_stream *s, uint32_t events,
			 int (*fn)(void *arg, const uint8_t *pkt, size_t len), void *arg);

#endif
