// SPDX-License-Identifier: MIT
/*
 * The server's CONNECT reply (after auth, but a hostile or broken server is
 * possible): HTTP head, then the X-CSTP-* / X-DTLS-* values into the tunnel
 * info, then the vpnc-script environment from it. Prefix lengths stay in
 * range, every variable is NAME=value, and one the vpnc-script runner passes on.
 */
#include "ctl/anyconnect/tunnel_info.h"
#include "ctl/anyconnect/vpnc_runner.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_http_response r;
	struct sl_ac_tunnel_info t;
	char err[128], buf[8192], *env[128];
	int n;

	if (sl_http_parse_response((const char *)data, size, &r) != 0 ||
	    sl_ac_tunnel_info_parse(&r, &t, err, sizeof(err)) != 0)
		return 0;
	check(t.n_split_inc <= SL_AC_ROUTES_MAX && t.n_dns <= SL_AC_DNS_MAX);
	for (unsigned i = 0; i < t.n_split_inc; i++)
		check(t.split_inc[i].len <= (t.split_inc[i].family == AF_INET ? 32 : 128));
	check(t.dtls_app_id_len <= sizeof(t.dtls_app_id));
	n = sl_ac_vpnc_env(&t, "connect", "tun0", "198.18.0.1", 1, buf, sizeof(buf), env, 128);
	/* and the vpnc-script runner passes all of it on (else the script would fail as root) */
	for (int i = 0; i < n; i++)
		check(strchr(env[i], '=') != NULL && sl_vpnc_env_allowed(env[i]));
	return 0;
}
