/* SPDX-License-Identifier: MIT */
/*
 * One ops table per wire format. The engine knows a protocol only through
 * this: how much room it needs around a packet, and how to classify,
 * seal and open. Adding a protocol is a file in proto/ and a row here.
 */
#ifndef SL_PROTO_PROTO_H
#define SL_PROTO_PROTO_H

#include "core/drop.h"
#include "core/pkt.h"
#include <stddef.h>
#include <stdint.h>

struct sl_proto_ops {
	const char *name;
	uint32_t headroom; /* bytes a sealed packet grows in front */
	uint32_t tailroom; /* bytes it may grow behind */
};

extern const struct sl_proto_ops sl_proto_esp;
/* SL_WIRE_OPENVPN (include/sluice/engine_ovpn.h) */
extern const struct sl_proto_ops sl_proto_ovpn_data;

#endif
