/* SPDX-License-Identifier: MIT */
/*
 * Internals of the native control plane, shared by native.c (setup and
 * dispatch), server.c and client.c.
 */
#ifndef SL_CTL_NATIVE_NATIVE_INT_H
#define SL_CTL_NATIVE_NATIVE_INT_H

#include "cli/config.h"
#include "crypto/aead.h"
#include "ctl/native/native.h"

#include <openssl/ssl.h>

struct native_server;
struct native_client;

struct sl_native {
	struct sl_loop *loop;
	struct sl_engine *engine;
	struct sl_config cfg;
	SSL_CTX *tls;
	struct sl_native_link_ops link;
	struct native_server *server; /* exactly one of these two */
	struct native_client *client;
};

/*
 * A random ESP SPI, never in the IANA-reserved range 0..255 (RFC 4303
 * section 2.1); 0 when the random generator fails.
 */
uint32_t native_random_spi(void);
/* A uniformly random number in [0, n) (n > 0), or UINT32_MAX when the generator fails. */
uint32_t native_random_below(uint32_t n);
/* Our data ciphers, the configured one first (a client's HELLO list). */
uint32_t native_cipher_prefs(const struct sl_config *cfg, enum sl_cipher out[SL_CIPHER__COUNT]);

/* server.c */
int native_server_start(struct sl_native *n, char *err, size_t err_len);
void native_server_free(struct sl_native *n);
void native_server_on_event(struct sl_native *n, const struct sl_event *ev);
void native_server_shutdown(struct sl_native *n, const char *reason);
uint32_t native_server_peers(const struct sl_native *n);

/* client.c */
int native_client_start(struct sl_native *n, char *err, size_t err_len);
void native_client_free(struct sl_native *n);
void native_client_on_event(struct sl_native *n, const struct sl_event *ev);
void native_client_shutdown(struct sl_native *n, const char *reason);
uint32_t native_client_peer(const struct sl_native *n);

#endif
