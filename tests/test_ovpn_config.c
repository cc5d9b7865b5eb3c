// SPDX-License-Identifier: MIT
/*
 * OpenVPN config files (ctl/openvpn/ovpn_config.c): a typical client file
 * with inline blocks, quoting and comments as openvpn(8) defines them,
 * every message kind (unknown = warning with FILE:LINE, known-unsupported =
 * error naming the directive, bad arguments), and loading referenced files
 * relative to the config's directory.
 */
#include "ctl/openvpn/ovpn_config.h"

#include "proto/ovpn_data.h"
#include "proto/ovpn_push.h"

#include <arpa/inet.h>
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

struct msgs {
	int n_err, n_warn;
	char last[1024];
};

static void on_msg(void *arg, bool error, const char *line)
{
	struct msgs *m = arg;

	if (error)
		m->n_err++;
	else
		m->n_warn++;
	snprintf(m->last, sizeof(m->last), "%s", line);
}

static int parse(struct sl_ovpn_config *c, struct msgs *m, const char *text)
{
	memset(m, 0, sizeof(*m));
	sl_ovpn_config_init(c);
	return sl_ovpn_config_parse(c, "t.ovpn", text, strlen(text), on_msg, m);
}

static const char client_file[] =
	"# a client as openvpn's sample client.conf has it\n"
	"client\n"
	"dev tun\n"
	"proto udp\n"
	"remote vpn.example 1194\n"
	"remote 198.18.0.9 443 tcp-client\n"
	"resolv-retry infinite\n"
	"nobind\n"
	"persist-key\n"
	"persist-tun\n"
	"   ; an indented comment\n"
	"cipher AES-256-GCM\n"
	"data-ciphers 'AES-128-GCM:CHACHA20-POLY1305'\n"
	"auth SHA256   # trailing comment\n"
	"key-direction 1\n"
	"keepalive 10 60\n"
	"reneg-sec 120\n"
	"verb 3\n"
	"auth-user-pass \"my creds.txt\"\n"
	"<ca>\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n</ca>\n"
	"cert client.crt\n"
	"key client.key\n"
	"<tls-auth>\n-----BEGIN OpenVPN Static key V1-----\n00\n-----END OpenVPN Static key "
	"V1-----\n</tls-auth>\n";

static void test_client_file(void **state)
{
	struct sl_ovpn_config c;
	struct msgs m;

	(void)state;
	assert_int_equal(parse(&c, &m, client_file), 0);
	assert_int_equal(m.n_warn, 0);
	assert_true(c.client);
	assert_false(c.server);
	assert_int_equal(c.proto, SL_OVPN_UDP);
	assert_int_equal(c.n_remotes, 2);
	assert_string_equal(c.remotes[0].host, "vpn.example");
	assert_int_equal(c.remotes[0].port, 1194);
	assert_int_equal(c.remotes[0].proto, -1);
	assert_int_equal(c.remotes[1].port, 443);
	assert_int_equal(c.remotes[1].proto, SL_OVPN_TCP);
	assert_string_equal(c.cipher, "AES-256-GCM");
	assert_string_equal(c.data_ciphers, "AES-128-GCM:CHACHA20-POLY1305");
	assert_string_equal(c.auth, "SHA256");
	assert_int_equal(c.key_direction, 1);
	assert_int_equal(c.ping, 10);
	assert_int_equal(c.ping_restart, 60);
	assert_int_equal(c.reneg_sec, 120);
	assert_int_equal(c.verb, 3);
	assert_true(c.has_auth_user_pass);
	assert_string_equal(c.auth_user_pass.path, "my creds.txt");
	assert_string_equal(c.ca.text,
			    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	assert_string_equal(c.cert.path, "client.crt");
	assert_non_null(strstr(c.tls_auth.text, "Static key V1"));
	sl_ovpn_config_free(&c);
}

static void test_defaults(void **state)
{
	struct sl_ovpn_config c;
	struct msgs m;

	(void)state;
	assert_int_equal(parse(&c, &m, "client\nremote 198.18.0.1\n"), 0);
	assert_int_equal(c.port, 1194);
	assert_string_equal(c.data_ciphers, "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305");
	assert_string_equal(c.auth, "SHA1");
	assert_int_equal(c.ping, -1);
	assert_int_equal(c.ping_restart, -1);
	assert_int_equal(c.reneg_sec, 3600);
	assert_int_equal(c.key_direction, -1);
	assert_int_equal(c.comp, SL_OVPN_COMP_NONE);
	assert_int_equal(c.tun_mtu, 1500);
	sl_ovpn_config_free(&c);
}

static void test_unknown_is_a_warning_with_line(void **state)
{
	struct sl_ovpn_config c;
	struct msgs m;

	(void)state;
	assert_int_equal(parse(&c, &m, "client\n\nfrobnicate 3\nremote x\n"), 0);
	assert_int_equal(m.n_warn, 1);
	assert_string_equal(m.last, "t.ovpn:3: unknown directive 'frobnicate', ignored");
	assert_int_equal(parse(&c, &m, "client\n<weird>\nx\n</weird>\n"), 0);
	assert_string_equal(m.last, "t.ovpn:2: unknown inline block <weird>, ignored");
	sl_ovpn_config_free(&c);
}

static void test_unsupported_is_an_error_naming_it(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"client\ndev tap\n", "t.ovpn:2: 'dev tap' is not supported by sluice: only tun"},
		{"secret static.key\n",
		 "t.ovpn:1: 'secret' is not supported by sluice (static-key"},
		{"x 1\ntls-crypt-v2 k\n", "t.ovpn:2: 'tls-crypt-v2' is not supported by sluice"},
		{"comp-lzo\n",
		 "t.ovpn:1: 'comp-lzo' is not supported by sluice: it does not compress"},
		{"compress lz4-v2\n", "t.ovpn:1: 'compress lz4-v2' is not supported by sluice"},
		{"fragment 1300\n", "t.ovpn:1: 'fragment' is not supported by sluice"},
		{"up /etc/x.sh\n", "t.ovpn:1: 'up' is not supported by sluice (scripts"},
		{"auth-user-pass\n",
		 "t.ovpn:1: 'auth-user-pass' without a file: sluice does not prompt"},
	};
	struct sl_ovpn_config c;
	struct msgs m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(parse(&c, &m, cases[i].text) > 0);
		if (strncmp(m.last, cases[i].want, strlen(cases[i].want)))
			fail_msg("got '%s', want '%s...'", m.last, cases[i].want);
		sl_ovpn_config_free(&c);
	}
	/* The stub framings are fine. */
	assert_int_equal(parse(&c, &m, "compress stub-v2\n"), 0);
	assert_int_equal(c.comp, SL_OVPN_COMP_STUB_V2);
	assert_int_equal(parse(&c, &m, "comp-lzo no\n"), 0);
	assert_int_equal(c.comp, SL_OVPN_COMP_LZO_NO);
}

static void test_bad_arguments(void **state)
{
	static const char *const bad[] = {
		"remote\n",
		"remote h 99999\n",
		"remote h 1 quic\n",
		"port x\n",
		"proto sctp\n",
		"keepalive 10 15\n",
		"keepalive 10\n",
		"server 10.8.0.0\n",
		"server 10.8.0.0 255.255.255.0 x y\n",
		"topology star\n",
		"tls-auth k 2\n",
		"ping -1\n",
		"data-ciphers \"unterminated\n",
		"<ca>\nno end\n",
		"client\nserver 10.8.0.0 255.255.255.0\n",
		"route 1.2.3\n",
		"tun-mtu 100\n",
	};
	struct sl_ovpn_config c;
	struct msgs m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(&c, &m, bad[i]) <= 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(strncmp(m.last, "t.ovpn:", 7), 0);
		sl_ovpn_config_free(&c);
	}
}

/* user / group: kept for the privilege drop after set-up; absent = "" (the command's default). */
static void test_user_and_group(void **state)
{
	struct sl_ovpn_config c;
	struct msgs m;
	char long_name[100];

	(void)state;
	assert_int_equal(parse(&c, &m, "client\nremote 198.18.0.1\n"), 0);
	assert_string_equal(c.user, "");
	assert_string_equal(c.group, "");
	sl_ovpn_config_free(&c);
	assert_int_equal(parse(&c, &m, "user nobody\ngroup \"nogroup\"  # as the sample\n"), 0);
	assert_int_equal(m.n_warn, 0);
	assert_string_equal(c.user, "nobody");
	assert_string_equal(c.group, "nogroup");
	sl_ovpn_config_free(&c);
	/* the last line wins, as in openvpn */
	assert_int_equal(parse(&c, &m, "user a\nuser root\n"), 0);
	assert_string_equal(c.user, "root");
	sl_ovpn_config_free(&c);
	assert_true(parse(&c, &m, "user\n") > 0);
	assert_int_equal(strncmp(m.last, "t.ovpn:1:", 9), 0);
	sl_ovpn_config_free(&c);
	assert_true(parse(&c, &m, "group a b\n") > 0);
	sl_ovpn_config_free(&c);
	memset(long_name, 'u', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	char text[128];

	snprintf(text, sizeof(text), "user %s\n", long_name);
	assert_true(parse(&c, &m, text) > 0);
	assert_non_null(strstr(m.last, "too long"));
	assert_string_equal(c.user, "");
	sl_ovpn_config_free(&c);
}

static void test_server_directives(void **state)
{
	struct sl_ovpn_config c;
	struct msgs m;

	(void)state;
	assert_int_equal(parse(&c, &m,
			       "port 1195\nproto udp\ndev tun\nserver 198.19.8.0 255.255.255.0\n"
			       "topology subnet\nifconfig-pool 198.19.8.10 198.19.8.20\n"
			       "push \"route 198.19.9.0 255.255.255.0\"\npush \"dhcp-option DNS "
			       "198.19.0.53\"\nclient-to-client\nkeepalive 1 5\n"),
			 0);
	assert_true(c.server);
	assert_int_equal(c.port, 1195);
	assert_int_equal(c.lport, 1195);
	assert_int_equal(c.server_net[2], 8);
	assert_int_equal(c.topology, SL_OVPN_TOPO_SUBNET);
	assert_true(c.has_pool);
	assert_int_equal(c.pool_end[3], 20);
	assert_int_equal(c.n_push, 2);
	assert_string_equal(c.push[0], "route 198.19.9.0 255.255.255.0");
	assert_true(c.client_to_client);
	sl_ovpn_config_free(&c);
}

static void test_load_relative_files(void **state)
{
	char dir[] = "/tmp/test_ovpn_config.XXXXXX", path[128];
	struct sl_ovpn_config c;
	struct msgs m = {0};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	f = fopen(path, "w");
	fputs("CERT\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/a.ovpn", dir);
	f = fopen(path, "w");
	fputs("client\nremote 198.18.0.1\n<ca>\nCA\n</ca>\ncert c.pem\nkey missing.key\n", f);
	fclose(f);
	sl_ovpn_config_init(&c);
	assert_int_equal(sl_ovpn_config_load(&c, path, on_msg, &m), -ENOENT);
	assert_string_equal(c.cert.text, "CERT\n");
	assert_non_null(strstr(m.last, "a.ovpn:7: key: cannot read"));
	assert_non_null(strstr(m.last, "missing.key: No such file or directory"));
	sl_ovpn_config_free(&c);
	/* Without a key at all: the check names what is missing. */
	f = fopen(path, "w");
	fputs("client\nremote 198.18.0.1\n<ca>\nCA\n</ca>\ncert c.pem\n", f);
	fclose(f);
	sl_ovpn_config_init(&c);
	assert_int_equal(sl_ovpn_config_load(&c, path, on_msg, &m), -EINVAL);
	assert_non_null(strstr(m.last, "no 'key' (a file name, or an inline <key> block)"));
	sl_ovpn_config_free(&c);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.pem", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_unknown_is_a_warning_with_line),
		cmocka_unit_test(test_unsupported_is_an_error_naming_it),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_server_directives),
		cmocka_unit_test(test_user_and_group),
		cmocka_unit_test(test_load_relative_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
