// SPDX-License-Identifier: MIT
/*
 * RFC 1662 framing: the FCS-16 check value, escaping with and without the
 * ACCM, in-place un-framing (shrinks, keeps incomplete input untouched,
 * refuses bad frames), and framing into the ring's allocate-max/shrink-last
 * send buffer.
 */
#include "proto/hdlc.h"

#include "sluice/ring.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hex.h"

/*
 * An LCP Configure-Request (id 1, ACCM 0, magic 7e7d1234) with FF 03 and its
 * FCS (0xa724, sent 24 a7), framed with the full map (as LCP always is) and
 * with map 0. Computed with an independent bitwise CRC in Python; the magic
 * holds both bytes that are always escaped.
 */
static const char lcp_raw[] = "ff03c0210101000e02060000000005067e7d1234";
static const char lcp_framed_all[] =
	"7eff7d23c0217d217d217d207d2e7d227d267d207d207d207d207d257d267d5e"
	"7d5d7d323424a77e";
static const char lcp_framed_none[] = "7eff03c0210101000e02060000000005067d5e7d5d123424a77e";

/* RFC 1662 C.2 / the usual CRC-16/X-25 check value: "123456789" -> 0x906E, residue 0xF0B8. */
static void fcs16_check_value(void **state)
{
	const uint8_t msg[] = "123456789";
	uint8_t with_fcs[11];
	uint16_t fcs = sl_hdlc_fcs16(SL_HDLC_FCS_INIT, msg, 9) ^ 0xffff;

	assert_int_equal(fcs, 0x906e);
	memcpy(with_fcs, msg, 9);
	with_fcs[9] = (uint8_t)fcs; /* low byte first */
	with_fcs[10] = (uint8_t)(fcs >> 8);
	assert_int_equal(sl_hdlc_fcs16(SL_HDLC_FCS_INIT, with_fcs, 11), SL_HDLC_FCS_GOOD);
}

static void frame_vector(const char *want_hex, uint32_t accm)
{
	uint8_t raw[64], want[128], out[128];
	size_t n = unhex(lcp_raw, raw, sizeof(raw)), wn = unhex(want_hex, want, sizeof(want));

	assert_true(sl_hdlc_framed_max(n) <= sizeof(out));
	assert_int_equal(sl_hdlc_frame(raw, n, out, accm), wn);
	assert_memory_equal(out, want, wn);
}

static void frame_with_full_map(void **state)
{
	frame_vector(lcp_framed_all, SL_HDLC_ACCM_ALL);
}

static void frame_with_empty_map(void **state)
{
	frame_vector(lcp_framed_none, 0);
}

/* Un-framing happens in place: the frame ends up at the start of the buffer, shorter. */
static void unframe_in_place_shrinks(void **state)
{
	uint8_t buf[128], raw[64];
	size_t n = unhex(lcp_framed_all, buf, sizeof(buf)), rn = unhex(lcp_raw, raw, sizeof(raw));
	size_t used, len;

	assert_int_equal(sl_hdlc_unframe(buf, n, &used, &len), 0);
	assert_int_equal(len, rn);
	assert_memory_equal(buf, raw, rn);
	assert_int_equal(used, n - 1); /* the closing flag stays: it may open the next frame */
}

/* Two frames sharing one flag, and leading flags, come out one per call. */
static void unframe_back_to_back(void **state)
{
	uint8_t buf[256], raw[64];
	size_t a = unhex(lcp_framed_none, buf, sizeof(buf)), rn = unhex(lcp_raw, raw, sizeof(raw));
	size_t b = unhex(lcp_framed_all, buf + a - 1, sizeof(buf) - a + 1), total = a - 1 + b;
	size_t used, len, off = 0;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(sl_hdlc_unframe(buf + off, total - off, &used, &len), 0);
		assert_int_equal(len, rn);
		assert_memory_equal(buf + off, raw, rn);
		off += used;
	}
	assert_int_equal(sl_hdlc_unframe(buf + off, total - off, &used, &len), -EAGAIN);
	assert_int_equal(used, 1); /* only the last flag */
}

/* Without the closing flag nothing is touched, so the caller can wait for more bytes. */
static void unframe_incomplete_untouched(void **state)
{
	uint8_t buf[128], copy[128];
	size_t n = unhex(lcp_framed_all, buf, sizeof(buf)) - 1, used, len;

	memcpy(copy, buf, n);
	assert_int_equal(sl_hdlc_unframe(buf, n, &used, &len), -EAGAIN);
	assert_memory_equal(buf, copy, n);
	assert_int_equal(used, 1);
}

static void unframe_refuses_bad_frames(void **state)
{
	uint8_t buf[128];
	size_t n, used, len;

	n = unhex(lcp_framed_none, buf, sizeof(buf));
	buf[10] ^= 0x01; /* one bit flipped: bad FCS */
	assert_int_equal(sl_hdlc_unframe(buf, n, &used, &len), -EBADMSG);
	assert_int_equal(used, n - 1); /* consumed: the caller counts it and goes on */

	n = unhex("7e417e", buf, sizeof(buf)); /* shorter than an FCS */
	assert_int_equal(sl_hdlc_unframe(buf, n, &used, &len), -EBADMSG);
	n = unhex("7e41427d7e", buf, sizeof(buf)); /* escape right before the flag (abort) */
	assert_int_equal(sl_hdlc_unframe(buf, n, &used, &len), -EBADMSG);
}

/* Every byte value, every map: framing then un-framing gives the frame back. */
static void round_trip_all_bytes(void **state)
{
	uint8_t raw[256], out[sl_hdlc_framed_max(256)];
	const uint32_t maps[] = {0, SL_HDLC_ACCM_ALL, 0x000a0000};
	size_t used, len;

	for (int i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
		size_t n = sl_hdlc_frame(raw, sizeof(raw), out, maps[m]);

		for (size_t i = 1; i + 1 < n; i++) {
			assert_int_not_equal(out[i], SL_HDLC_FLAG);
			if (out[i] < 0x20)
				assert_false((maps[m] >> out[i]) & 1);
		}
		assert_int_equal(sl_hdlc_unframe(out, n, &used, &len), 0);
		assert_int_equal(len, sizeof(raw));
		assert_memory_equal(out, raw, sizeof(raw));
	}
}

/* The ring's send API: allocate the largest packet, frame into it, shrink to the framed size. */
static void frame_into_ring_send_buffer(void **state)
{
	struct sl_ring_cfg cfg = {.headroom = 0, .tailroom = 0, .mtu = 1500, .packets = 4};
	uint8_t raw[64], want[128], got[1600];
	size_t n = unhex(lcp_raw, raw, sizeof(raw)), wn = unhex(lcp_framed_all, want, sizeof(want));
	struct sl_ring *r;
	uint32_t max;
	uint8_t *p;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	r = sl_ring_open_fd(sv[0], &cfg);
	assert_non_null(r);
	p = sl_ring_alloc_send(r, &max);
	assert_non_null(p);
	assert_true(sl_hdlc_framed_max(n) <= max);
	assert_int_equal(
		sl_ring_shrink_last(r, (uint32_t)sl_hdlc_frame(raw, n, p, SL_HDLC_ACCM_ALL)), 0);
	assert_int_equal(sl_ring_send(r, p), 0);
	assert_int_equal(read(sv[1], got, sizeof(got)), (ssize_t)wn);
	assert_memory_equal(got, want, wn);
	sl_ring_close(r);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fcs16_check_value),
		cmocka_unit_test(frame_with_full_map),
		cmocka_unit_test(frame_with_empty_map),
		cmocka_unit_test(unframe_in_place_shrinks),
		cmocka_unit_test(unframe_back_to_back),
		cmocka_unit_test(unframe_incomplete_untouched),
		cmocka_unit_test(unframe_refuses_bad_frames),
		cmocka_unit_test(round_trip_all_bytes),
		cmocka_unit_test(frame_into_ring_send_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
