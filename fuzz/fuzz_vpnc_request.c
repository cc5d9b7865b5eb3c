// SPDX-License-Identifier: MIT
/*
 * What the vpnc-script runner (root) reads from the tunnel process, which
 * may be compromised: NUL-separated NAME=value strings. Whatever is accepted
 * is a vpnc-script variable: a name of [A-Za-z0-9_] before '=', never one of
 * the dangerous ones (LD_*, PATH, ...), inside the buffer.
 */
#include "ctl/anyconnect/vpnc_runner.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *req, *vars[16];
	int n;

	if (size > 16384)
		return 0;
	req = malloc(size ? size : 1);
	if (!req)
		return 0;
	memcpy(req, data, size);
	n = sl_vpnc_request_parse(req, size, vars, 16);
	check(n <= 16);
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(vars[i], '=');

		check(vars[i] >= req && vars[i] < req + size && eq && eq > vars[i]);
		check(strncmp(vars[i], "LD_", 3) && strncmp(vars[i], "PATH=", 5) &&
		      strncmp(vars[i], "IFS=", 4) && strncmp(vars[i], "BASH_ENV=", 9));
		for (const char *p = vars[i]; p < eq; p++)
			check(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= '0' && *p <= '9'));
	}
	free(req);
	return 0;
}
