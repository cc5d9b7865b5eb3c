/* SPDX-License-Identifier: MIT */
/*
 * PPP in HDLC-like framing (RFC 1662): the async framing openconnect uses for
 * nullppp "hdlc", F5 and Fortinet. Pure functions on buffers.
 *
 *   7E | FF 03 | protocol (1-2) | information ... | FCS-16 (LSB first) | 7E
 *        (FF 03 omitted after ACFC; protocol 1 byte after PFC, RFC 1661 6.5/6.6)
 *
 * Between the flags, 0x7E, 0x7D and every byte < 0x20 whose bit is set in the
 * ACCM go out as 0x7D, byte ^ 0x20 (RFC 1662 4.2). The FCS (RFC 1662 C.2) is
 * the reflected CRC-16-CCITT over the unescaped bytes between the flags.
 */
#ifndef SL_PROTO_HDLC_H
#define SL_PROTO_HDLC_H

#include <stddef.h>
#include <stdint.h>

#define SL_HDLC_FLAG	 0x7e
#define SL_HDLC_ESC	 0x7d
#define SL_HDLC_FCS_INIT 0xffff
#define SL_HDLC_FCS_GOOD 0xf0b8	     /* residue of a frame checked with its FCS */
#define SL_HDLC_ACCM_ALL 0xffffffffu /* the default map, and always for LCP */

/* Running FCS-16 over n bytes (start with SL_HDLC_FCS_INIT). */
uint16_t sl_hdlc_fcs16(uint16_t fcs, const uint8_t *b, size_t n);

/* Worst case framed size of an n-byte frame: every byte and the FCS escaped, two flags. */
static inline size_t sl_hdlc_framed_max(size_t n)
{
	return 2 * (n + 2) + 2;
}

/*
 * Frame in[0..n) (address/control, protocol, information) into out, which
 * holds at least sl_hdlc_framed_max(n) bytes (the "allocate the largest,
 * shrink the last" buffer). Returns the framed length; the caller shrinks its
 * allocation to it.
 */
size_t sl_hdlc_frame(const uint8_t *in, size_t n, uint8_t *out, uint32_t accm);
/* The same for a frame in two pieces (a PPP header apart from the packet): hn + n bytes. */
size_t sl_hdlc_frame2(const uint8_t *hdr, size_t hn, const uint8_t *in, size_t n, uint8_t *out,
		      uint32_t accm);

/*
 * Find one frame at the start of buf[0..len) (leading flags are skipped) and
 * un-frame it in place: the unescaped bytes, without the FCS, end up at buf
 * and the frame shrinks to *frame_len. *consumed = bytes of the input used,
 * up to and including the closing flag (which may also open the next frame,
 * so it is not consumed: the next call skips it as a leading flag).
 * Returns 0; -EAGAIN: no closing flag yet (buf untouched, keep the bytes, or
 * *consumed > 0: only flags were skipped); -EBADMSG: bad FCS, a frame
 * shorter than its FCS, or an escape before the flag (the frame is consumed,
 * count it and go on).
 */
int sl_hdlc_unframe(uint8_t *buf, size_t len, size_t *consumed, size_t *frame_len);

#endif
