/* SPDX-License-Identifier: MIT */
/*
 * An OpenVPN 2.6 server on the sluice engine (UDP, or TCP): many clients at once,
 * each found by its address for control packets and by its peer-id for
 * data. A client's hard reset is answered statelessly (HMAC cookie as its
 * session id); state is made only when the client echoes the cookie, so
 * spoofed resets cost nothing. Then TLS, key-method 2, PUSH_REQUEST ->
 * cipher negotiation (client IV_CIPHERS against data-ciphers), an address
 * from the pool (topology subnet or net30), PUSH_REPLY with the pushed
 * options and routes, keys (TLS-EKM when the client offers it, else the
 * PRF) into the engine. Renegotiation by reneg-sec, idle clients expire
 * after ping-restart x 2 without a packet, EXIT / OCC_EXIT end a client.
 */
#ifndef SL_CTL_OPENVPN_SERVER_H
#define SL_CTL_OPENVPN_SERVER_H

#include "core/loop.h"
#include "ctl/openvpn/ovpn_config.h"
#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>

struct sl_ovpn_server;

/*
 * The engine must be SL_WIRE_OPENVPN and on_control = below. UDP: the engine listens;
 * tcp_listen NULL. TCP (proto tcp-server): the server listens on tcp_listen itself, one
 * connection per client, data through the engine's stream path.
 */
int sl_ovpn_server_new(struct sl_ovpn_server **out, struct sl_loop *loop, struct sl_engine *e,
		       const struct sl_ovpn_config *conf, const struct sockaddr_storage *tcp_listen,
		       char *err, size_t err_len);
void sl_ovpn_server_free(struct sl_ovpn_server *s);
void sl_ovpn_server_on_control(void *arg, const uint8_t *pkt, size_t len,
			       const struct sockaddr_storage *from);
void sl_ovpn_server_on_event(struct sl_ovpn_server *s, const struct sl_event *ev);
/* Tell every client we stop (RESTART over the control channel), before the loop ends. */
void sl_ovpn_server_shutdown(struct sl_ovpn_server *s);

#endif
