// SPDX-License-Identifier: MIT
/*
 * The CONNECT reply of ocserv 1.1.6 (captured with openconnect 9.01) parsed
 * into addresses, routes, timers and DTLS parameters, and the vpnc-script
 * environment built from it compared with the one openconnect 9.01 gave its
 * script for the same reply (recorded by tests/tools/vpnc-record.sh).
 */
#include "ctl/anyconnect/dtls.h"
#include "ctl/anyconnect/tunnel_info.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char reply[] = "HTTP/1.1 200 CONNECTED\r\n"
			    "X-CSTP-Version: 1\r\n"
			    "X-CSTP-Server-Name: ocserv 1.1.6\r\n"
			    "X-CSTP-Hostname: vm\r\n"
			    "X-CSTP-DPD: 10\r\n"
			    "X-CSTP-Address: 198.19.0.190\r\n"
			    "X-CSTP-Netmask: 255.255.255.0\r\n"
			    "X-CSTP-DNS: 198.19.0.53\r\n"
			    "X-CSTP-Split-Include: 198.19.0.0/255.255.255.0\r\n"
			    "X-CSTP-Tunnel-All-DNS: false\r\n"
			    "X-CSTP-Keepalive: 32400\r\n"
			    "X-CSTP-Idle-Timeout: none\r\n"
			    "X-CSTP-Rekey-Time: 172800\r\n"
			    "X-CSTP-Rekey-Method: ssl\r\n"
			    "X-DTLS-DPD: 10\r\n"
			    "X-DTLS-Port: 4443\r\n"
			    "X-DTLS-Rekey-Time: 172810\r\n"
			    "X-DTLS-Rekey-Method: ssl\r\n"
			    "X-DTLS-Keepalive: 32400\r\n"
			    "X-DTLS-App-ID: "
			    "810cd249cad9fcc92b750b52394d0a597fe480a6c6399c1c4e607dd65ce215bb\r\n"
			    "X-DTLS-CipherSuite: PSK-NEGOTIATE\r\n"
			    "X-CSTP-Base-MTU: 1500\r\n"
			    "X-CSTP-MTU: 1434\r\n"
			    "\r\n";

/* openconnect 9.01's script environment for this reply (names and values; VPNPID aside). */
static const char *const openconnect_env[] = {
	"reason=connect",
	"VPNGATEWAY=198.18.0.1",
	"TUNDEV=octest",
	"INTERNAL_IP4_ADDRESS=198.19.0.190",
	"INTERNAL_IP4_NETMASK=255.255.255.0",
	"INTERNAL_IP4_NETMASKLEN=24",
	"INTERNAL_IP4_NETADDR=198.19.0.0",
	"INTERNAL_IP4_MTU=1434",
	"INTERNAL_IP4_DNS=198.19.0.53",
	"CISCO_SPLIT_INC=1",
	"CISCO_SPLIT_INC_0_ADDR=198.19.0.0",
	"CISCO_SPLIT_INC_0_MASK=255.255.255.0",
	"CISCO_SPLIT_INC_0_MASKLEN=24",
};

static void parse(struct sl_ac_tunnel_info *t)
{
	struct sl_http_response r;
	char err[128] = "";

	assert_int_equal(sl_http_parse_response(reply, strlen(reply), &r), 0);
	assert_int_equal(sl_ac_tunnel_info_parse(&r, t, err, sizeof(err)), 0);
}

static void parse_ocserv_reply(void **state)
{
	struct sl_ac_tunnel_info t;
	const uint8_t ip[4] = {198, 19, 0, 190}, mask[4] = {255, 255, 255, 0};

	parse(&t);
	assert_true(t.has_ip4);
	assert_false(t.has_ip6);
	assert_memory_equal(t.ip4, ip, 4);
	assert_memory_equal(t.netmask4, mask, 4);
	assert_int_equal(t.n_dns, 1);
	assert_int_equal(t.n_split_inc, 1);
	assert_int_equal(t.split_inc[0].len, 24);
	assert_int_equal(t.mtu, 1434);
	assert_int_equal(t.dpd_s, 10);
	assert_int_equal(t.keepalive_s, 32400);
	assert_int_equal(t.idle_timeout_s, 0);
	assert_int_equal(t.rekey_s, 172800);
	assert_int_equal(t.rekey_method, SL_AC_REKEY_SSL);
	assert_int_equal(t.dtls_port, 4443);
	assert_true(t.dtls_psk);
	assert_int_equal(t.dtls_app_id_len, 32);
	assert_int_equal(t.dtls_app_id[0], 0x81);
	assert_int_equal(t.dtls_dpd_s, 10);
	assert_non_null(
		strstr(t.cstp_options, "X-CSTP-Version=1\nX-CSTP-Server-Name=ocserv 1.1.6"));
}

/* A host netmask (/32) counts all 32 bits; the count once shifted a uint32_t by 32. */
static void host_netmask_is_32(void **state)
{
	static const char host[] = "HTTP/1.1 200 CONNECTED\r\n"
				   "X-CSTP-Address: 198.19.0.190\r\n"
				   "X-CSTP-Netmask: 255.255.255.255\r\n"
				   "X-CSTP-Split-Include: 198.19.0.7/255.255.255.255\r\n"
				   "\r\n";
	struct sl_http_response r;
	struct sl_ac_tunnel_info t;
	char err[128] = "", buf[8192], *env[128];
	bool found = false;
	int n;

	assert_int_equal(sl_http_parse_response(host, strlen(host), &r), 0);
	assert_int_equal(sl_ac_tunnel_info_parse(&r, &t, err, sizeof(err)), 0);
	assert_int_equal(t.split_inc[0].len, 32);
	n = sl_ac_vpnc_env(&t, "connect", "octest", "198.18.0.1", 42, buf, sizeof(buf), env, 128);
	assert_true(n > 0);
	for (int k = 0; k < n; k++)
		found |= !strcmp(env[k], "INTERNAL_IP4_NETMASKLEN=32");
	assert_true(found);
}

static void env_like_openconnect(void **state)
{
	struct sl_ac_tunnel_info t;
	char buf[8192], *env[128];
	int n;

	parse(&t);
	n = sl_ac_vpnc_env(&t, "connect", "octest", "198.18.0.1", 42, buf, sizeof(buf), env, 128);
	assert_true(n > 0);
	for (size_t i = 0; i < sizeof(openconnect_env) / sizeof(openconnect_env[0]); i++) {
		bool found = false;

		for (int k = 0; k < n; k++)
			found |= !strcmp(env[k], openconnect_env[i]);
		if (!found)
			fail_msg("missing %s", openconnect_env[i]);
	}
	assert_null(env[n]);
	assert_int_equal(sl_ac_vpnc_env(&t, "connect", "x", "y", 1, buf, 64, env, 128), -ENOSPC);
}

static void refuse_bad_values(void **state)
{
	const char *bad[] = {
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Netmask: 255.255.255.0\r\n\r\n", /* no address */
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 300.1.1.1\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.1\r\nX-CSTP-MTU: big\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.1\r\n"
		"X-CSTP-Split-Include: 10.0.0.0/255.0.255.0\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.1\r\nX-DTLS-Port: 70000\r\n\r\n",
		"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.1\r\nX-DTLS-App-ID: abc\r\n\r\n",
	};
	struct sl_http_response r;
	struct sl_ac_tunnel_info t;
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_http_parse_response(bad[i], strlen(bad[i]), &r), 0);
		if (sl_ac_tunnel_info_parse(&r, &t, err, sizeof(err)) != -EBADMSG)
			fail_msg("reply %zu accepted", i);
	}
}

/* Legacy DTLS: the suites ocserv may choose (its worker-http.c names), and which we carry. */
static void legacy_suites(void **state)
{
	(void)state;
	assert_string_equal(sl_ac_dtls_legacy_suite("OC-DTLS1_2-AES128-GCM"), "AES128-GCM-SHA256");
	assert_string_equal(sl_ac_dtls_legacy_suite("OC-DTLS1_2-AES256-GCM"), "AES256-GCM-SHA384");
	assert_string_equal(sl_ac_dtls_legacy_suite("AES256-GCM-SHA384"), "AES256-GCM-SHA384");
	assert_null(sl_ac_dtls_legacy_suite("AES256-SHA")); /* DTLS 0.9, CBC */
	assert_null(sl_ac_dtls_legacy_suite("DES-CBC3-SHA"));
	assert_null(sl_ac_dtls_legacy_suite("PSK-NEGOTIATE"));
	assert_null(sl_ac_dtls_legacy_suite(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ocserv_reply),	cmocka_unit_test(host_netmask_is_32),
		cmocka_unit_test(env_like_openconnect), cmocka_unit_test(refuse_bad_values),
		cmocka_unit_test(legacy_suites),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
