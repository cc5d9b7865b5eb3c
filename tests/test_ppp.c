// SPDX-License-Identifier: MIT
/*
 * PPP headers (with and without ACFC/PFC, RFC 1661 6.5/6.6) and control
 * packets: openconnect's LCP Configure-Request (ppp.c queue_config_request:
 * MRU, ACCM, magic, PFC, ACFC) parsed option by option, packets built, and
 * malformed ones refused.
 */
#include "proto/ppp.h"

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

static void header_forms(void **state)
{
	uint8_t b[8];
	uint16_t proto;

	assert_int_equal(sl_ppp_header_parse(b, unhex("ff03c021", b, sizeof(b)), &proto), 4);
	assert_int_equal(proto, SL_PPP_LCP);
	assert_int_equal(sl_ppp_header_parse(b, unhex("ff030021", b, sizeof(b)), &proto), 4);
	assert_int_equal(proto, SL_PPP_IPV4);
	assert_int_equal(sl_ppp_header_parse(b, unhex("0057", b, sizeof(b)), &proto), 2);
	assert_int_equal(proto, SL_PPP_IPV6);
	assert_int_equal(sl_ppp_header_parse(b, unhex("2145", b, sizeof(b)), &proto), 1);
	assert_int_equal(proto, SL_PPP_IPV4);
	assert_int_equal(sl_ppp_header_parse(b, unhex("ff0321", b, sizeof(b)), &proto), 3);
	assert_int_equal(proto, SL_PPP_IPV4);
	/* even last byte, truncated */
	assert_int_equal(sl_ppp_header_parse(b, unhex("0022", b, sizeof(b)), &proto), -EBADMSG);
	assert_int_equal(sl_ppp_header_parse(b, unhex("ff03", b, sizeof(b)), &proto), -EBADMSG);
	assert_int_equal(sl_ppp_header_parse(b, unhex("c0", b, sizeof(b)), &proto), -EBADMSG);
}

static void push_header(uint16_t proto, bool acfc, bool pfc, const char *want_hex)
{
	uint8_t want[8], one = 0x45;
	size_t n = unhex(want_hex, want, sizeof(want));
	struct test_pkt t;

	pkt_make(&t, SL_PPP_HDR_MAX, &one, 1, 0);
	assert_int_equal(sl_ppp_header_len(proto, acfc, pfc), n);
	assert_int_equal(sl_ppp_push_header(&t.p, proto, acfc, pfc), 0);
	assert_int_equal(t.p.len, n + 1);
	assert_memory_equal(t.p.data, want, n);
	pkt_free(&t);
}

static void push_headers(void **state)
{
	struct test_pkt t;
	uint8_t one = 0x45;

	push_header(SL_PPP_IPV4, false, false, "ff030021");
	push_header(SL_PPP_IPV4, true, false, "0021");
	push_header(SL_PPP_IPV4, true, true, "21");
	push_header(SL_PPP_IPV4, false, true, "ff0321");
	push_header(SL_PPP_IPV6, true, true, "57");
	push_header(SL_PPP_IPCP, true, true, "8021");
	push_header(SL_PPP_LCP, true, true, "ff03c021"); /* never compressed */
	pkt_make(&t, 1, &one, 1, 0);
	assert_int_equal(sl_ppp_push_header(&t.p, SL_PPP_IPV4, false, false), -ENOSPC);
	pkt_free(&t);
}

/* As openconnect sends it for HDLC: MRU 1390, ACCM 0, magic, PFC, ACFC. */
static void parse_openconnect_lcp_request(void **state)
{
	uint8_t b[64];
	size_t n;
	struct sl_ppp_cp cp;
	struct sl_ppp_opt o;
	const uint8_t want_types[] = {SL_LCP_MRU, SL_LCP_ACCM, SL_LCP_MAGIC, SL_LCP_PFC,
				      SL_LCP_ACFC};
	const uint8_t want_lens[] = {2, 4, 4, 0, 0};
	size_t off = 0;
	int i = 0;

	n = unhex("01010018010405"
		  "6e"
		  "020600000000"
		  "050612345678"
		  "0702"
		  "0802",
		  b, sizeof(b));
	assert_int_equal(sl_ppp_cp_parse(b, n, &cp), 0);
	assert_int_equal(cp.code, SL_PPP_CONF_REQ);
	assert_int_equal(cp.id, 1);
	assert_int_equal(cp.len, 20);
	while (sl_ppp_opt_next(cp.data, cp.len, &off, &o) == 1) {
		assert_true(i < 5);
		assert_int_equal(o.type, want_types[i]);
		assert_int_equal(o.len, want_lens[i]);
		i++;
	}
	assert_int_equal(i, 5);
}

static void refuse_malformed(void **state)
{
	uint8_t b[32];
	struct sl_ppp_cp cp;
	struct sl_ppp_opt o;
	size_t off = 0;

	assert_int_equal(sl_ppp_cp_parse(b, unhex("010100", b, sizeof(b)), &cp), -EBADMSG);
	assert_int_equal(sl_ppp_cp_parse(b, unhex("01010003", b, sizeof(b)), &cp), -EBADMSG);
	assert_int_equal(sl_ppp_cp_parse(b, unhex("0101000901", b, sizeof(b)), &cp), -EBADMSG);
	/* padding after the length is allowed */
	assert_int_equal(sl_ppp_cp_parse(b, unhex("01010004ffff", b, sizeof(b)), &cp), 0);
	assert_int_equal(cp.len, 0);
	assert_int_equal(sl_ppp_opt_next(b, unhex("0101", b, sizeof(b)), &off, &o), -EBADMSG);
	off = 0;
	assert_int_equal(sl_ppp_opt_next(b, unhex("0306c0a8", b, sizeof(b)), &off, &o), -EBADMSG);
	off = 0;
	assert_int_equal(sl_ppp_opt_next(b, unhex("03", b, sizeof(b)), &off, &o), -EBADMSG);
}

static void build_ipcp_nak(void **state)
{
	uint8_t buf[32], want[32];
	const uint8_t addr[4] = {198, 19, 0, 2}, dns[4] = {198, 19, 0, 1};
	size_t n = unhex("03070010"
			 "0306c6130002"
			 "8106c6130001",
			 want, sizeof(want));
	struct sl_ppp_builder b;

	sl_ppp_build_begin(&b, buf, sizeof(buf), SL_PPP_CONF_NAK, 7);
	sl_ppp_build_opt(&b, SL_IPCP_ADDR, addr, 4);
	sl_ppp_build_opt(&b, SL_IPCP_DNS1, dns, 4);
	assert_int_equal(sl_ppp_build_end(&b), (int)n);
	assert_memory_equal(buf, want, n);

	sl_ppp_build_begin(&b, buf, 10, SL_PPP_CONF_NAK, 7);
	sl_ppp_build_opt(&b, SL_IPCP_ADDR, addr, 4);
	sl_ppp_build_opt(&b, SL_IPCP_DNS1, dns, 4);
	assert_int_equal(sl_ppp_build_end(&b), -ENOSPC);
}

/*
 * IPV6CP (RFC 5072): openconnect's Configure-Request in an RFC 1661 frame with ACFC and PFC off
 * (protocol 80 57, one Interface-Identifier option of 8 zero bytes), and the Nak built back.
 */
static void ipv6cp_request_and_nak(void **state)
{
	uint8_t f[32], out[32], want[32];
	size_t n = unhex("ff038057"
			 "0101000e"
			 "010a0000000000000000",
			 f, sizeof(f));
	static const uint8_t ifid[8] = {0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
	struct sl_ppp_builder b;
	struct sl_ppp_cp cp;
	struct sl_ppp_opt o;
	uint16_t proto;
	size_t off = 0;

	assert_int_equal(sl_ppp_header_parse(f, n, &proto), 4);
	assert_int_equal(proto, SL_PPP_IPV6CP);
	assert_int_equal(sl_ppp_cp_parse(f + 4, n - 4, &cp), 0);
	assert_int_equal(cp.code, SL_PPP_CONF_REQ);
	assert_int_equal(cp.len, 10);
	assert_int_equal(sl_ppp_opt_next(cp.data, cp.len, &off, &o), 1);
	assert_int_equal(o.type, SL_IPV6CP_IFID);
	assert_int_equal(o.len, 8);
	assert_int_equal(sl_ppp_opt_next(cp.data, cp.len, &off, &o), 0);
	/* a truncated identifier: the option runs past the packet */
	off = 0;
	assert_int_equal(sl_ppp_opt_next(cp.data, 6, &off, &o), -EBADMSG);

	sl_ppp_build_begin(&b, out, sizeof(out), SL_PPP_CONF_NAK, cp.id);
	sl_ppp_build_opt(&b, SL_IPV6CP_IFID, ifid, 8);
	assert_int_equal(sl_ppp_build_end(&b), 14);
	n = unhex("0301000e"
		  "010a021122fffe334455",
		  want, sizeof(want));
	assert_memory_equal(out, want, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_forms),
		cmocka_unit_test(push_headers),
		cmocka_unit_test(parse_openconnect_lcp_request),
		cmocka_unit_test(refuse_malformed),
		cmocka_unit_test(build_ipcp_nak),
		cmocka_unit_test(ipv6cp_request_and_nak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
