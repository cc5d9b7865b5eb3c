// SPDX-License-Identifier: MIT
/* The config parser over arbitrary bytes: it must never crash, and err is always one C string. */
#include "cli/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_config c;
	char err[256];
	int r;

	memset(err, 0xAA, sizeof(err));
	r = sl_config_parse(&c, (const char *)data, size, "fuzz.conf", err, sizeof(err));
	if (!memchr(err, '\0', sizeof(err)) || (r < 0 && (!err[0] || strchr(err, '\n'))))
		abort();
	if (r == 0 && (c.mode == SL_MODE_NONE || !c.control_socket[0] ||
		       c.n_listen > SL_CONFIG_MAX_LISTEN || c.n_routes > SL_CONFIG_MAX_ROUTES))
		abort();
	return 0;
}
