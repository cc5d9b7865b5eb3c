// SPDX-License-Identifier: MIT
#include "core/drop.h"

static const char *const drop_names[SL_DROP__COUNT] = {
	[SL_DROP_NONE] = "none",       [SL_DROP_AUTH] = "auth",
	[SL_DROP_REPLAY] = "replay",   [SL_DROP_NOKEY] = "nokey",
	[SL_DROP_NOROUTE] = "noroute", [SL_DROP_MALFORMED] = "malformed",
	[SL_DROP_TOOBIG] = "toobig",   [SL_DROP_NOMEM] = "nomem",
	[SL_DROP_IO] = "io",	       [SL_DROP_OVERFLOW] = "overflow",
	[SL_DROP_RATE] = "rate",
};

const char *sl_drop_name(enum sl_drop reason)
{
	if ((unsigned)reason >= SL_DROP__COUNT)
		return "unknown";
	return drop_names[reason];
}
