// SPDX-License-Identifier: MIT
/*
 * AnyConnect auth XML: ocserv 1.1.6's three answers to openconnect 9.01
 * (captured: ask username, ask password, complete), a Cisco-style form with
 * opaque, hidden input, select and error, entities; refused documents; and
 * our requests compared with what openconnect sends (auth.c
 * xmlpost_initial_req / xmlpost_append_form_opts, without capabilities).
 */
#include "proto/ac_auth.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char ask_user[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			       "<config-auth client=\"vpn\" type=\"auth-request\">\n"
			       "<version who=\"sg\">0.1(1)</version>\n"
			       "<auth id=\"main\">\n"
			       "<message>Please enter your username.</message>\n"
			       "<form method=\"post\" action=\"/auth\">\n"
			       "<input type=\"text\" name=\"username\" label=\"Username:\" />\n"
			       "</form></auth>\n"
			       "</config-auth>\n";

static const char complete[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			       "<config-auth client=\"vpn\" type=\"complete\">\n"
			       "<version who=\"sg\">0.1(1)</version>\n"
			       "<auth id=\"success\">\n"
			       "<title>SSL VPN Service</title></auth></config-auth>\n";

static const char cisco[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<!-- a comment -->\n"
	"<config-auth client=\"vpn\" type=\"auth-request\" aggregate-auth-version=\"2\">\n"
	"<opaque is-for=\"sg\"><tunnel-group>grp</tunnel-group><config-hash>1</config-hash>"
	"</opaque>\n"
	"<auth id=\"main\"><title>Login</title>"
	"<message>Tom &amp; Jerry &lt;3 &#x263A;&#65;</message>"
	"<error id=\"88\" param1=\"\" param2=\"\">Login failed.</error>"
	"<form><input type='password' name='password' label='Password:'/>"
	"<input type=\"hidden\" name=\"tok\" value=\"a&quot;b\"/>"
	"<select name=\"group_list\" label=\"GROUP:\"><option>grp</option></select>"
	"</form></auth></config-auth>";

static void parse_ocserv_username_request(void **state)
{
	struct sl_ac_auth a;

	assert_int_equal(sl_ac_auth_parse(ask_user, strlen(ask_user), &a), 0);
	assert_int_equal(a.type, SL_AC_AUTH_REQUEST);
	assert_string_equal(a.auth_id, "main");
	assert_string_equal(a.message, "Please enter your username.");
	assert_string_equal(a.action, "/auth");
	assert_int_equal(a.n_inputs, 1);
	assert_string_equal(a.inputs[0].type, "text");
	assert_string_equal(a.inputs[0].name, "username");
	assert_string_equal(a.opaque, "");
}

static void parse_ocserv_complete(void **state)
{
	struct sl_ac_auth a;

	assert_int_equal(sl_ac_auth_parse(complete, strlen(complete), &a), 0);
	assert_int_equal(a.type, SL_AC_AUTH_COMPLETE);
	assert_string_equal(a.auth_id, "success");
	assert_int_equal(a.n_inputs, 0);
}

static void parse_cisco_form(void **state)
{
	struct sl_ac_auth a;

	assert_int_equal(sl_ac_auth_parse(cisco, strlen(cisco), &a), 0);
	assert_string_equal(a.message, "Tom & Jerry <3 \xe2\x98\xba"
				       "A");
	assert_string_equal(a.error, "Login failed.");
	assert_string_equal(a.action, "");
	assert_int_equal(a.n_inputs, 3);
	assert_string_equal(a.inputs[0].type, "password");
	assert_string_equal(a.inputs[1].type, "hidden");
	assert_string_equal(a.inputs[1].value, "a\"b");
	assert_string_equal(a.inputs[2].type, "select");
	assert_string_equal(a.inputs[2].name, "group_list");
	assert_string_equal(a.opaque, "<opaque is-for=\"sg\"><tunnel-group>grp</tunnel-group>"
				      "<config-hash>1</config-hash></opaque>");
}

static void refuse_bad_documents(void **state)
{
	const char *bad[] = {
		"",
		"<config-auth type=\"auth-request\">",
		"<config-auth type=\"auth-request\"></config-aut>",
		"<config-auth type=\"other\"></config-auth>",
		"<config-auth></config-auth>",
		"<html><body>login</body></html>",
		"<config-auth type=\"complete\"></config-auth><again/>",
		"<config-auth type=\"complete\">&bogus;</config-auth>",
		"<config-auth type=\"complete\">&#0;</config-auth>",
		"<!DOCTYPE x><config-auth type=\"complete\"></config-auth>",
		"<config-auth type=\"complete\"><![CDATA[x]]></config-auth>",
		"<config-auth type=complete></config-auth>",
		"text<config-auth type=\"complete\"></config-auth>",
		"<config-auth type=\"complete\"><a><b></a></b></config-auth>",
	};
	struct sl_ac_auth a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = sl_ac_auth_parse(bad[i], strlen(bad[i]), &a);

		if (r != -EBADMSG)
			fail_msg("document %zu: %d", i, r);
	}
}

static void refuse_too_deep_and_too_long(void **state)
{
	char doc[2048];
	struct sl_ac_auth a;
	int n = snprintf(doc, sizeof(doc), "<config-auth type=\"complete\">");

	for (int i = 0; i < 20; i++)
		n += snprintf(doc + n, sizeof(doc) - (size_t)n, "<a>");
	assert_int_equal(sl_ac_auth_parse(doc, (size_t)n, &a), -EBADMSG);
	n = snprintf(doc, sizeof(doc), "<config-auth type=\"auth-request\"><auth><message>");
	for (int i = 0; i < 300; i++)
		doc[n++] = 'x';
	n += snprintf(doc + n, sizeof(doc) - (size_t)n, "</message></auth></config-auth>");
	assert_int_equal(sl_ac_auth_parse(doc, (size_t)n, &a), -ENOSPC);
}

static void build_like_openconnect(void **state)
{
	char out[1024];
	const struct sl_ac_field user = {"username", "te<st"};
	int n = sl_ac_auth_build_init(out, sizeof(out), "v9.01-3", "https://198.18.0.1:4443/");

	assert_true(n > 0);
	assert_string_equal(out,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<config-auth client=\"vpn\" type=\"init\" "
			    "aggregate-auth-version=\"2\"><version who=\"vpn\">v9.01-3</version>"
			    "<device-id>linux-64</device-id><group-access>"
			    "https://198.18.0.1:4443/</group-access></config-auth>");
	n = sl_ac_auth_build_reply(out, sizeof(out), "v9.01-3", "<opaque>x</opaque>", &user, 1);
	assert_true(n > 0);
	assert_non_null(strstr(out, "type=\"auth-reply\""));
	assert_non_null(strstr(out, "<opaque>x</opaque><auth><username>te&lt;st</username></auth>"
				    "</config-auth>"));
	assert_int_equal(sl_ac_auth_build_reply(out, 64, "v", "", &user, 1), -ENOSPC);
}

/* What openconnect 9.01 sends (captured), read on the server's side. */
static void parse_openconnect_reply(void **state)
{
	const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config-auth client=\"vpn\" "
			  "type=\"auth-reply\" aggregate-auth-version=\"2\"><version who=\"vpn\">"
			  "v9.01-3</version><device-id>linux-64</device-id><capabilities>"
			  "<auth-method>single-sign-on-v2</auth-method></capabilities><auth>"
			  "<username>test</username><password>te&amp;st</password></auth>"
			  "</config-auth>";
	struct sl_ac_auth a;

	assert_int_equal(sl_ac_auth_parse(xml, strlen(xml), &a), 0);
	assert_int_equal(a.type, SL_AC_AUTH_REPLY);
	assert_int_equal(a.n_inputs, 2);
	assert_string_equal(a.inputs[0].name, "username");
	assert_string_equal(a.inputs[0].value, "test");
	assert_string_equal(a.inputs[1].name, "password");
	assert_string_equal(a.inputs[1].value, "te&st");
	xml = "<config-auth client=\"vpn\" type=\"init\"><group-access>x</group-access>"
	      "</config-auth>";
	assert_int_equal(sl_ac_auth_parse(xml, strlen(xml), &a), 0);
	assert_int_equal(a.type, SL_AC_AUTH_INIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ocserv_username_request),
		cmocka_unit_test(parse_ocserv_complete),
		cmocka_unit_test(parse_cisco_form),
		cmocka_unit_test(refuse_bad_documents),
		cmocka_unit_test(refuse_too_deep_and_too_long),
		cmocka_unit_test(build_like_openconnect),
		cmocka_unit_test(parse_openconnect_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
