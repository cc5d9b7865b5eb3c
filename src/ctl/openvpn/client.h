/* SPDX-License-Identifier: MIT */
/*
 * An OpenVPN 2.6 client on the sluice engine: control channel to the
 * server (UDP on the engine's socket, or its own TCP connection), PUSH_REQUEST
 * / PUSH_REPLY, the pushed address and routes on the TUN device, data keys
 * (TLS-EKM or the legacy PRF) into the engine's key slots, ping /
 * ping-restart, renegotiation (ours by reneg-sec, or the server's), and
 * reconnecting through the remote list. Runs on the engine's loop.
 *
 *   remote[i] --(hard reset, TLS, key-method 2)--> KEY_READY(0) -> PUSH_REQUEST
 *     PUSH_REPLY -> ifconfig/route on TUN, keys into the engine -> "connected"
 *     ping-restart / RESTART / TLS failure -> next remote after a pause
 *     AUTH_FAILED / HALT -> stop (the caller exits non-zero)
 */
#ifndef SL_CTL_OPENVPN_CLIENT_H
#define SL_CTL_OPENVPN_CLIENT_H

#include "core/loop.h"
#include "ctl/openvpn/ovpn_config.h"
#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_ovpn_client;

/* The engine must have been made with wire = SL_WIRE_OPENVPN and on_control = below. */
int sl_ovpn_client_new(struct sl_ovpn_client **out, struct sl_loop *loop, struct sl_engine *e,
		       const struct sl_ovpn_config *conf, char *err, size_t err_len);
void sl_ovpn_client_free(struct sl_ovpn_client *c);

/* For sl_engine_cfg.on_control (arg = the client). */
void sl_ovpn_client_on_control(void *arg, const uint8_t *pkt, size_t len,
			       const struct sockaddr_storage *from);
void sl_ovpn_client_on_event(struct sl_ovpn_client *c, const struct sl_event *ev);
/* Tell the server we leave (explicit-exit-notify), before the caller stops the loop. */
void sl_ovpn_client_shutdown(struct sl_ovpn_client *c);
/* True after AUTH_FAILED or HALT: the loop was stopped, exit with failure. */
bool sl_ovpn_client_failed(const struct sl_ovpn_client *c);
/*
 * Resolve every remote now and use those addresses on every later
 * (re)connect: the resolver is never called again. For the privilege drop
 * (cli/privdrop.h): NSS modules and DNS queries need system calls the
 * seccomp filter refuses. A remote that does not resolve now is skipped,
 * with a warning now and an error naming the reason when its turn comes.
 */
void sl_ovpn_client_pin_remotes(struct sl_ovpn_client *c);

/* The peer id the client uses for its server in the engine. */
#define SL_OVPN_CLIENT_PEER 1

#endif
