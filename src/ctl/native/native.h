/* SPDX-License-Identifier: MIT */
/*
 * sluice's native control plane (docs/native-protocol.md): a TLS 1.3
 * connection per client, authenticated by certificates, that assigns inner
 * addresses, derives the ESP keys of the data channel from the TLS exporter,
 * rekeys, carries data when UDP does not get through, and (client)
 * reconnects for ever. It drives the engine through its C API only.
 *
 * Runs on the engine's loop and thread. Ownership: cmd_up creates the loop,
 * the engine, then this; it frees in the reverse order.
 */
#ifndef SL_CTL_NATIVE_NATIVE_H
#define SL_CTL_NATIVE_NATIVE_H

#include "cli/config.h"
#include "core/loop.h"
#include "sluice/engine.h"

#include <stddef.h>
#include <stdint.h>

struct sl_native;

/*
 * Server: listen on TCP at every cfg->listen address (the engine's listen[i]
 * must be the same address, for UDP). Client: start connecting to
 * cfg->server. The config is copied. 0, or -errno with one line in err:
 * -EADDRINUSE (TCP port in use), -EINVAL (certificate/key files), ...
 */
int sl_native_new(struct sl_native **out, struct sl_loop *loop, struct sl_engine *engine,
		  const struct sl_config *cfg, char *err, size_t err_len);
/* Deletes its peers from the engine (which must still exist), closes every connection. */
void sl_native_free(struct sl_native *n);

/* Engine events (KEY_NEAR_LIMIT starts a rekey; SHUTDOWN is the caller's to act on). */
void sl_native_on_event(struct sl_native *n, const struct sl_event *ev);
/* Say BYE (with reason) on every connection and flush, before the caller stops the loop. */
void sl_native_shutdown(struct sl_native *n, const char *reason);

/*
 * How the client configures its interface when a CONFIG arrives; the
 * default is src/io/tun.h's sl_link_* (netlink). Tests replace them to run
 * without a real TUN device. Each returns 0 or -errno; -EEXIST counts as done.
 */
struct sl_native_link_ops {
	int (*addr_add)(void *arg, const char *ifname, int family, const uint8_t *addr,
			uint8_t prefix_len);
	int (*set_up)(void *arg, const char *ifname, uint32_t mtu);
	int (*route_add)(void *arg, const char *ifname, int family, const uint8_t *dst,
			 uint8_t prefix_len);
	void *arg;
};

void sl_native_set_link_ops(struct sl_native *n, const struct sl_native_link_ops *ops);

/* The client's peer id while it has a CONFIG from the server, else 0 (for tests and show). */
uint32_t sl_native_client_peer(const struct sl_native *n);
/* Server: connected peers that have a CONFIG. */
uint32_t sl_native_server_peers(const struct sl_native *n);

#endif
