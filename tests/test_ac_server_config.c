// SPDX-License-Identifier: MIT
/* `sluice serve anyconnect` config: every key, relative paths, defaults, and each mistake named. */
#include "ctl/anyconnect/server_config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char good[] = "# comment\n"
			   "listen = 198.18.0.1:4443\n"
			   "server-cert = pki/server.pem\n"
			   "server-key = /etc/k.pem\r\n"
			   "auth = \"plain[passwd=ocpasswd]\"\n"
			   "ipv4-network = 198.19.0.0/24\n"
			   "dns = 198.19.0.53\n"
			   "route = 198.19.0.0/24\n"
			   "route = 10.0.0.0/8\n"
			   "  dpd = 7\n"
			   "mtu = 1300\n"
			   "udp-port = 4443\n"
			   "device = acs0\n";

static void parse_good(void **state)
{
	struct sl_acs_config c;
	char err[256] = "";

	assert_int_equal(
		sl_acs_config_parse(&c, good, strlen(good), "t.conf", "/cfg", err, sizeof(err)), 0);
	assert_string_equal(c.cert, "/cfg/pki/server.pem");
	assert_string_equal(c.key, "/etc/k.pem");
	assert_string_equal(c.passwd, "/cfg/ocpasswd");
	assert_int_equal(c.pool4.len, 24);
	assert_int_equal(c.n_dns, 1);
	assert_int_equal(c.n_routes, 2);
	assert_int_equal(c.routes[1].len, 8);
	assert_int_equal(c.dpd_s, 7);
	assert_int_equal(c.keepalive_s, 30); /* default */
	assert_int_equal(c.mtu, 1300);
	assert_int_equal(c.udp_port, 4443);
	assert_true(c.dtls_engine); /* dtls-datapath: the engine by default */
	assert_string_equal(c.device, "acs0");
	assert_string_equal(c.run_as_user, ""); /* not given: the command's default */
	assert_string_equal(c.run_as_group, "");
	/* without udp-port: no DTLS */
	assert_int_equal(sl_acs_config_parse(&c, good, strstr(good, "udp-port") - good, "t.conf",
					     "/cfg", err, sizeof(err)),
			 0);
	assert_int_equal(c.udp_port, 0);
}

/* ocserv's run-as-user / run-as-group: whom the server becomes after set-up. */
static void parse_run_as(void **state)
{
	static const char text[] = "listen = 198.18.0.1:4443\nserver-cert = s.pem\n"
				   "server-key = k.pem\nipv4-network = 198.19.0.0/24\n"
				   "auth = plain[passwd=p]\nrun-as-user = nobody\n"
				   "run-as-group = \"daemon\"\n";
	static const char *const bad[] = {
		"run-as-user =\n", "run-as-group = "
				   "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"
				   "gggggggggg\n"};
	struct sl_acs_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(
		sl_acs_config_parse(&c, text, strlen(text), "t.conf", "/d", err, sizeof(err)), 0);
	assert_string_equal(c.run_as_user, "nobody");
	assert_string_equal(c.run_as_group, "daemon");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_acs_config_parse(&c, bad[i], strlen(bad[i]), "t.conf", "", err,
						     sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "t.conf:1: run-as-"));
		assert_non_null(strstr(err, "expected a user or group name"));
	}
}

static void parse_cert_modes(void **state)
{
	static const char base[] = "listen = 198.18.0.1:4443\nserver-cert = s.pem\n"
				   "server-key = k.pem\nipv4-network = 198.19.0.0/24\n"
				   "ca-cert = ca.pem\n";
	const struct {
		const char *extra;
		unsigned auth, enable;
		const char *oid;
	} cases[] = {
		{"auth = certificate\n", SL_ACS_AUTH_CERT, 0, "2.5.4.3"},
		{"auth = certificate\nauth = plain[passwd=p]\n",
		 SL_ACS_AUTH_CERT | SL_ACS_AUTH_PLAIN, 0, "2.5.4.3"},
		{"auth = plain[passwd=p]\nenable-auth = certificate\ncert-user-oid = "
		 "0.9.2342.19200300.100.1.1\n",
		 SL_ACS_AUTH_PLAIN, SL_ACS_AUTH_CERT, "0.9.2342.19200300.100.1.1"},
	};
	struct sl_acs_config c;
	char text[512], err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, cases[i].extra);
		err[0] = '\0';
		assert_int_equal(sl_acs_config_parse(&c, text, strlen(text), "t.conf", "/d", err,
						     sizeof(err)),
				 0);
		assert_int_equal(c.auth, cases[i].auth);
		assert_int_equal(c.enable_auth, cases[i].enable);
		assert_string_equal(c.user_oid, cases[i].oid);
		assert_string_equal(c.ca, "/d/ca.pem");
	}
}

static void name_the_mistake(void **state)
{
	const struct {
		const char *text, *want;
	} bad[] = {
		{"listen 1.2.3.4:5\n", "t.conf:1: expected 'key = value'"},
		{"\nlisten = nowhere\n", "t.conf:2: listen: expected ADDR:PORT"},
		{"auth = pam\n", "t.conf:1: auth: expected plain[passwd=FILE] or certificate"},
		{"enable-auth = pam\n", "t.conf:1: enable-auth: expected certificate"},
		{"cert-user-oid = CN\n", "t.conf:1: cert-user-oid: expected a dotted OID"},
		{"cert-user-oid = 2..5\n", "t.conf:1: cert-user-oid: expected a dotted OID"},
		{"listen = 198.18.0.1:1\nserver-cert = a\nserver-key = b\nauth = certificate\n"
		 "ipv4-network = 198.19.0.0/24\n",
		 "t.conf: certificate auth needs ca-cert = FILE"},
		{"listen = 198.18.0.1:1\nserver-cert = a\nserver-key = b\nauth = certificate\n"
		 "enable-auth = certificate\nca-cert = ca\nipv4-network = 198.19.0.0/24\n",
		 "t.conf: enable-auth = certificate is an alternative"},
		{"ipv4-network = 10.0.0.0/31\n", "t.conf:1: ipv4-network: expected"},
		{"dpd = 0\n", "t.conf:1: dpd: expected seconds"},
		{"udp-port = 65536\n", "t.conf:1: udp-port: expected a UDP port"},
		{"udp-port = 44x\n", "t.conf:1: udp-port: expected a UDP port"},
		{"colour = blue\n", "t.conf:1: colour: expected a known key"},
		{"dns = 1.1.1.1\n", "t.conf: listen, server-cert"},
	};
	struct sl_acs_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(sl_acs_config_parse(&c, bad[i].text, strlen(bad[i].text), "t.conf",
						     "", err, sizeof(err)),
				 -EINVAL);
		if (strncmp(err, bad[i].want, strlen(bad[i].want)))
			fail_msg("case %zu: '%s'", i, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_good),
		cmocka_unit_test(parse_cert_modes),
		cmocka_unit_test(parse_run_as),
		cmocka_unit_test(name_the_mistake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
