// SPDX-License-Identifier: MIT
/*
 * PPP negotiation from the network: the input is a sequence of control
 * packets (protocol selector byte, length byte, packet) fed to a server
 * session, with a tick between some of them. Whatever it answers must be a
 * well-formed control packet of a protocol we speak.
 */
#include "ctl/ppp/session.h"

#include "proto/ppp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok)
{
	if (!ok)
		abort();
}

static int on_send(void *arg, uint16_t proto, const uint8_t *pkt, size_t len)
{
	struct sl_ppp_cp cp;

	check(proto == SL_PPP_LCP || proto == SL_PPP_IPCP || proto == SL_PPP_IPV6CP);
	check(sl_ppp_cp_parse(pkt, len, &cp) == 0 && cp.len + 4 == len);
	return 0;
}

static void on_network(void *arg)
{
}

static void on_down(void *arg, const char *reason)
{
	check(reason && reason[0]);
}

static const struct sl_ppp_session_ops ops = {on_send, on_network, on_down};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t protos[] = {SL_PPP_LCP, SL_PPP_IPCP, SL_PPP_IPV6CP};
	struct sl_ppp_session_cfg cfg = {.server = true,
					 .hdlc = true,
					 .ipv4 = true,
					 .ipv6 = true,
					 .magic = 0x11223344,
					 .local_ip4 = {198, 19, 0, 1},
					 .peer_ip4 = {198, 19, 0, 2},
					 .dns = {{198, 19, 0, 53}},
					 .local_ifid = {1},
					 .peer_ifid = {2},
					 .echo_interval_s = 1};
	struct sl_ppp_session s;
	size_t off = 0;

	sl_ppp_session_init(&s, &cfg, &ops, NULL);
	sl_ppp_session_start(&s);
	while (off + 2 <= size) {
		uint8_t sel = data[off], len = data[off + 1];

		off += 2;
		if (len > size - off)
			len = (uint8_t)(size - off);
		if (sel & 0x80)
			sl_ppp_session_tick(&s);
		sl_ppp_session_input(&s, protos[sel % 3], data + off, len);
		off += len;
	}
	return 0;
}
