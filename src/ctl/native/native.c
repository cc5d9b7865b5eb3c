// SPDX-License-Identifier: MIT
/* Setting up the native control plane and dispatching to its server or client half. */
#include "ctl/native/native_int.h"

#include "ctl/native/tlsconn.h"
#include "io/tun.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

static int link_addr_add(void *arg, const char *ifname, int family, const uint8_t *addr,
			 uint8_t prefix_len)
{
	return sl_link_addr_add(ifname, family, addr, prefix_len);
}

static int link_set_up(void *arg, const char *ifname, uint32_t mtu)
{
	return sl_link_set_up(ifname, mtu);
}

static int link_route_add(void *arg, const char *ifname, int family, const uint8_t *dst,
			  uint8_t prefix_len)
{
	return sl_link_route_add(ifname, family, dst, prefix_len);
}

static const struct sl_native_link_ops netlink_ops = {
	.addr_add = link_addr_add,
	.set_up = link_set_up,
	.route_add = link_route_add,
};

uint32_t native_random_below(uint32_t n)
{
	uint32_t v, limit = UINT32_MAX - UINT32_MAX % n;

	/* Rejection sampling: no modulo bias. */
	do {
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			return UINT32_MAX;
	} while (v >= limit);
	return v % n;
}

uint32_t native_random_spi(void)
{
	uint32_t v = native_random_below(UINT32_MAX - 255);

	return v == UINT32_MAX ? 0 : 256 + v;
}

uint32_t native_cipher_prefs(const struct sl_config *cfg, enum sl_cipher out[SL_CIPHER__COUNT])
{
	static const enum sl_cipher order[] = {SL_CIPHER_AES256GCM, SL_CIPHER_CHACHA20POLY1305,
					       SL_CIPHER_AES128GCM};
	uint32_t n = 0;

	out[n++] = (enum sl_cipher)cfg->cipher;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((int)order[i] != cfg->cipher)
			out[n++] = order[i];
	return n;
}

int sl_native_new(struct sl_native **out, struct sl_loop *loop, struct sl_engine *engine,
		  const struct sl_config *cfg, char *err, size_t err_len)
{
	struct sl_native *n;
	int r;

	if (cfg->mode != SL_MODE_SERVER && cfg->mode != SL_MODE_CLIENT) {
		snprintf(err, err_len, "Mode must be server or client");
		return -EINVAL;
	}
	if (cfg->cipher < 0 || cfg->cipher >= SL_CIPHER__COUNT) {
		snprintf(err, err_len, "unknown cipher %d", cfg->cipher);
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	n->loop = loop;
	n->engine = engine;
	n->cfg = *cfg;
	n->link = netlink_ops;
	err[0] = '\0';
	n->tls = sl_tls_ctx_new(cfg->mode == SL_MODE_SERVER, cfg->ca, cfg->cert, cfg->key, err,
				err_len);
	if (!n->tls) {
		free(n);
		return -EINVAL;
	}
	r = cfg->mode == SL_MODE_SERVER ? native_server_start(n, err, err_len)
					: native_client_start(n, err, err_len);
	if (r < 0) {
		sl_native_free(n);
		return r;
	}
	*out = n;
	return 0;
}

void sl_native_free(struct sl_native *n)
{
	if (!n)
		return;
	if (n->server)
		native_server_free(n);
	if (n->client)
		native_client_free(n);
	SSL_CTX_free(n->tls);
	free(n);
}

void sl_native_on_event(struct sl_native *n, const struct sl_event *ev)
{
	if (n->server)
		native_server_on_event(n, ev);
	else if (n->client)
		native_client_on_event(n, ev);
}

void sl_native_shutdown(struct sl_native *n, const char *reason)
{
	if (n->server)
		native_server_shutdown(n, reason);
	else if (n->client)
		native_client_shutdown(n, reason);
}

void sl_native_set_link_ops(struct sl_native *n, const struct sl_native_link_ops *ops)
{
	n->link = *ops;
}

uint32_t sl_native_client_peer(const struct sl_native *n)
{
	return n->client ? native_client_peer(n) : 0;
}

uint32_t sl_native_server_peers(const struct sl_native *n)
{
	return n->server ? native_server_peers(n) : 0;
}
