// SPDX-License-Identifier: MIT
/* The `sluice serve anyconnect` config file: parse anything; errors name a line; limits hold. */
#include "ctl/anyconnect/server_config.h"

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
	struct sl_acs_config c;
	char err[256] = "";
	int r = sl_acs_config_parse(&c, (const char *)data, size, "f", "/d", err, sizeof(err));

	if (r < 0) {
		check(!strncmp(err, "f", 1));
		return 0;
	}
	check(c.n_dns <= 3 && c.n_routes <= SL_ACS_ROUTES_MAX && c.pool4.len <= 30);
	check(memchr(c.device, 0, sizeof(c.device)) && c.cert[0] && c.auth);
	/* Each login method a config asks for has what it needs. */
	check(!(c.auth & SL_ACS_AUTH_PLAIN) || c.passwd[0]);
	check(!((c.auth | c.enable_auth) & SL_ACS_AUTH_CERT) || c.ca[0]);
	return 0;
}
