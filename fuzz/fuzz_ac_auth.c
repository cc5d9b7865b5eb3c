// SPDX-License-Identifier: MIT
/*
 * The auth XML (unauthenticated input: the server's answers to a client,
 * the client's init and auth-reply to our server): parse it; the type is one
 * of the four; every string in the result is NUL-terminated within its
 * field; a reply built from what was parsed must fit or say -ENOSPC.
 */
#include "proto/ac_auth.h"

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
	struct sl_ac_auth a;
	struct sl_ac_field f[SL_AC_INPUTS_MAX];
	char out[4096];
	int n;

	if (sl_ac_auth_parse((const char *)data, size, &a) != 0)
		return 0;
	check(a.type == SL_AC_AUTH_REQUEST || a.type == SL_AC_AUTH_COMPLETE ||
	      a.type == SL_AC_AUTH_INIT || a.type == SL_AC_AUTH_REPLY);
	check(memchr(a.message, 0, sizeof(a.message)) && memchr(a.error, 0, sizeof(a.error)) &&
	      memchr(a.opaque, 0, sizeof(a.opaque)) && memchr(a.auth_id, 0, sizeof(a.auth_id)) &&
	      memchr(a.action, 0, sizeof(a.action)));
	check(a.n_inputs <= SL_AC_INPUTS_MAX);
	for (unsigned i = 0; i < a.n_inputs; i++) {
		check(memchr(a.inputs[i].name, 0, sizeof(a.inputs[i].name)) &&
		      memchr(a.inputs[i].type, 0, sizeof(a.inputs[i].type)) &&
		      memchr(a.inputs[i].value, 0, sizeof(a.inputs[i].value)));
		f[i] = (struct sl_ac_field){"x", a.inputs[i].value};
	}
	n = sl_ac_auth_build_reply(out, sizeof(out), "v", a.opaque, f, a.n_inputs);
	check(n < 0 || (size_t)n == strlen(out));
	return 0;
}
