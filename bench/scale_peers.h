/* SPDX-License-Identifier: MIT */
/*
 * The synthetic peers of the scale test (bench/scale.c in-process, bench/loadgen.c over the
 * control socket and the network), so both sides derive the same ones from an index alone:
 *
 *   peer i (0 <= i < SCALE_PEERS_MAX): id 0x100000 + i, inner address 198.19.64.0 + i (/32
 *   route), AES-256-GCM, rx SPI (the server's) 0x10000000 + i, tx SPI 0x20000000 + i, keys and
 *   salts from splitmix64 of the index.
 *
 * 198.19.64.0/18 holds 16384 addresses and lies outside the native pools of the tests
 * (198.19.0.0/24), so these peers coexist with a real `sluice up` server's own.
 */
#ifndef SL_BENCH_SCALE_PEERS_H
#define SL_BENCH_SCALE_PEERS_H

#include "crypto/aead.h"
#include "sluice/engine.h"

#include <stdint.h>
#include <string.h>

#define SCALE_PEERS_MAX 16384u
#define SCALE_PEER_ID0	0x100000u
#define SCALE_INNER0	0xc6134000u /* 198.19.64.0 */
#define SCALE_SERVER_IN 0xc6130001u /* 198.19.0.1, the server's inner address */
#define SCALE_RX_SPI0	0x10000000u
#define SCALE_TX_SPI0	0x20000000u

static inline uint64_t scale_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline void scale_fill(uint8_t *b, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(scale_mix(seed * 64 + i / 8) >> (8 * (i % 8)));
}

/* The key pair as the server installs it for peer i (the peer's own is rx and tx swapped). */
static inline void scale_server_keys(uint32_t i, struct sl_key_pair *kp)
{
	memset(kp, 0, sizeof(*kp));
	kp->cipher = SL_CIPHER_AES256GCM;
	kp->key_id = 1;
	kp->rx.spi = SCALE_RX_SPI0 + i;
	kp->tx.spi = SCALE_TX_SPI0 + i;
	scale_fill(kp->rx.key, sizeof(kp->rx.key), 4ull * i);
	scale_fill(kp->rx.salt, sizeof(kp->rx.salt), 4ull * i + 1);
	scale_fill(kp->tx.key, sizeof(kp->tx.key), 4ull * i + 2);
	scale_fill(kp->tx.salt, sizeof(kp->tx.salt), 4ull * i + 3);
}

static inline void scale_prefix(uint32_t i, struct sl_prefix *p)
{
	uint32_t a = SCALE_INNER0 + i;

	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->len = 32;
	p->addr[0] = (uint8_t)(a >> 24);
	p->addr[1] = (uint8_t)(a >> 16);
	p->addr[2] = (uint8_t)(a >> 8);
	p->addr[3] = (uint8_t)a;
}

#endif
