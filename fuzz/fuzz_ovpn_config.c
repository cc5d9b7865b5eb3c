// SPDX-License-Identifier: MIT
/*
 * The OpenVPN config parser over arbitrary bytes: it must never crash,
 * every message is one line starting with the file name, and what it
 * accepts stays inside its bounds.
 */
#include "ctl/openvpn/ovpn_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void on_msg(void *arg, bool error, const char *line)
{
	if (strncmp(line, "fuzz.ovpn:", 10) || strchr(line, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_ovpn_config c;

	sl_ovpn_config_init(&c);
	sl_ovpn_config_parse(&c, "fuzz.ovpn", (const char *)data, size, on_msg, NULL);
	if (c.n_remotes > SL_OVPN_CFG_REMOTES_MAX || c.n_push > SL_OVPN_CFG_PUSH_MAX ||
	    c.n_routes > SL_OVPN_CFG_ROUTES_MAX || c.key_direction < -1 || c.key_direction > 1)
		abort();
	sl_ovpn_config_free(&c);
	return 0;
}
