// SPDX-License-Identifier: MIT
/*
 * CSTP framing: headers as openconnect's cstp.c writes them (the DPD request
 * "STF\1" 00 00 03 00 and the disconnect "STF\1" 00 0c 05 00 b0 + reason of
 * cstp_bye), pushing headers into headroom, and refused headers.
 */
#include "proto/cstp.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "test_pkt_util.h"

static void parse_dpd_request(void **state)
{
	uint8_t b[16];
	size_t n = unhex("5354460100000300", b, sizeof(b));
	struct sl_cstp_frame f;

	assert_int_equal(sl_cstp_parse(b, n, &f), SL_CSTP_HDR_LEN);
	assert_int_equal(f.type, SL_CSTP_DPD_REQ);
	assert_int_equal(f.len, 0);
	assert_string_equal(sl_cstp_type_name(f.type), "DPD request");
}

/* openconnect's cstp_bye: type 5, payload 0xb0 + "Client quit" (length = strlen + 1 = 12). */
static void write_disconnect_like_openconnect(void **state)
{
	uint8_t want[32], h[SL_CSTP_HDR_LEN];
	size_t n = unhex("53544601000c0500", want, sizeof(want));

	sl_cstp_write_header(h, SL_CSTP_DISCONNECT, 1 + (uint16_t)strlen("Client quit"));
	assert_memory_equal(h, want, n);
}

static void push_data_header_in_place(void **state)
{
	const uint8_t ip[] = {0x45, 0, 0, 20, 1, 2, 3, 4, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
	struct test_pkt t;
	struct sl_cstp_frame f;
	uint8_t *payload;

	pkt_make(&t, SL_CSTP_HDR_LEN, ip, sizeof(ip), 0);
	payload = t.p.data;
	assert_int_equal(sl_cstp_push(&t.p, SL_CSTP_DATA), 0);
	assert_ptr_equal(t.p.data, t.mem);
	assert_int_equal(t.p.len, SL_CSTP_HDR_LEN + sizeof(ip));
	assert_int_equal(sl_cstp_parse(t.p.data, t.p.len, &f), SL_CSTP_HDR_LEN);
	assert_int_equal(f.type, SL_CSTP_DATA);
	assert_int_equal(f.len, sizeof(ip));
	assert_ptr_equal(t.p.data + SL_CSTP_HDR_LEN, payload);
	/* no headroom left: refused, packet unchanged */
	assert_int_equal(sl_cstp_push(&t.p, SL_CSTP_DATA), -ENOSPC);
	assert_int_equal(t.p.len, SL_CSTP_HDR_LEN + sizeof(ip));
	pkt_free(&t);

	pkt_make(&t, 1, ip, sizeof(ip), 0);
	assert_int_equal(sl_cstp_dtls_push(&t.p, SL_CSTP_DATA), 0);
	assert_int_equal(t.p.data[0], 0);
	assert_int_equal(sl_cstp_dtls_push(&t.p, SL_CSTP_DATA), -ENOSPC);
	pkt_free(&t);
}

static void refuse_bad_headers(void **state)
{
	uint8_t b[16];
	struct sl_cstp_frame f;

	assert_int_equal(sl_cstp_parse(b, unhex("53544601000003", b, sizeof(b)), &f), -EAGAIN);
	assert_int_equal(sl_cstp_parse(b, unhex("5354460200000300", b, sizeof(b)), &f), -EBADMSG);
	assert_int_equal(sl_cstp_parse(b, unhex("5354450100000300", b, sizeof(b)), &f), -EBADMSG);
	assert_int_equal(sl_cstp_parse(b, unhex("5354460100000301", b, sizeof(b)), &f), -EBADMSG);
	assert_string_equal(sl_cstp_type_name(42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_dpd_request),
		cmocka_unit_test(write_disconnect_like_openconnect),
		cmocka_unit_test(push_data_header_in_place),
		cmocka_unit_test(refuse_bad_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
