/* SPDX-License-Identifier: MIT */
/*
 * An OpenSSL DTLS 1.2 client and server with a PSK handshake over loopback
 * UDP (as AnyConnect's PSK-NEGOTIATE), for tests that check sluice's records
 * against OpenSSL's. Needs cmocka and test_pkt_util.h's includes first.
 */
#ifndef SL_TESTS_DTLS_PAIR_H
#define SL_TESTS_DTLS_PAIR_H

#include "ctl/anyconnect/dtls_keys.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t psk_key[32] = {1,	2,  3,	4,  5,	6,  7,	8,  9,	10, 11, 12, 13, 14, 15, 16,
				    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static unsigned int client_psk(SSL *ssl, const char *hint, char *id, unsigned int max_id,
			       unsigned char *psk, unsigned int max_psk)
{
	memcpy(id, "psk", 4);
	memcpy(psk, psk_key, 32);
	return 32;
}

static unsigned int server_psk(SSL *ssl, const char *id, unsigned char *psk, unsigned int max_psk)
{
	memcpy(psk, psk_key, 32);
	return 32;
}

struct pair {
	int cfd, sfd;
	SSL_CTX *cctx, *sctx;
	SSL *c, *s;
	struct sl_ac_dtls_seq cseq, sseq;
};

static void udp_pair(int *a, int *b)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in x, y;
	socklen_t l = sizeof(x);

	*a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	*b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(*a >= 0 && *b >= 0);
	assert_int_equal(bind(*a, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(bind(*b, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(*a, (struct sockaddr *)&x, &l), 0);
	l = sizeof(y);
	assert_int_equal(getsockname(*b, (struct sockaddr *)&y, &l), 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&y, sizeof(y)), 0);
	assert_int_equal(connect(*b, (struct sockaddr *)&x, sizeof(x)), 0);
}

static SSL *end_new(SSL_CTX *ctx, int fd, bool server)
{
	SSL *ssl = SSL_new(ctx);
	BIO *bio = BIO_new_dgram(fd, BIO_NOCLOSE);
	struct sockaddr_storage peer;
	socklen_t l = sizeof(peer);

	assert_non_null(ssl);
	assert_non_null(bio);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &l), 0);
	BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &peer);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
	DTLS_set_link_mtu(ssl, 1500);
	if (server)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	return ssl;
}

static void handshake(struct pair *p, const char *suite)
{
	bool cdone = false, sdone = false;

	udp_pair(&p->cfd, &p->sfd);
	p->cctx = SSL_CTX_new(DTLS_client_method());
	p->sctx = SSL_CTX_new(DTLS_server_method());
	assert_true(p->cctx && p->sctx);
	SSL_CTX_set_min_proto_version(p->cctx, DTLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(p->sctx, DTLS1_2_VERSION);
	assert_int_equal(SSL_CTX_set_cipher_list(p->cctx, suite), 1);
	assert_int_equal(SSL_CTX_set_cipher_list(p->sctx, suite), 1);
	SSL_CTX_set_psk_client_callback(p->cctx, client_psk);
	SSL_CTX_set_psk_server_callback(p->sctx, server_psk);
	SSL_CTX_set_read_ahead(p->cctx, 1);
	SSL_CTX_set_read_ahead(p->sctx, 1);
	p->c = end_new(p->cctx, p->cfd, false);
	p->s = end_new(p->sctx, p->sfd, true);
	sl_ac_dtls_seq_track(p->c, &p->cseq);
	sl_ac_dtls_seq_track(p->s, &p->sseq);
	for (int i = 0; i < 200 && !(cdone && sdone); i++) {
		struct pollfd pf[2] = {{p->cfd, POLLIN, 0}, {p->sfd, POLLIN, 0}};

		if (!cdone)
			cdone = SSL_do_handshake(p->c) == 1;
		if (!sdone)
			sdone = SSL_do_handshake(p->s) == 1;
		poll(pf, 2, 20);
	}
	if (!(cdone && sdone)) {
		ERR_print_errors_fp(stderr);
		fail_msg("no DTLS handshake (client %d, server %d)", cdone, sdone);
	}
	assert_string_equal(SSL_get_cipher_name(p->c), suite);
	/* the server's last flight may still be queued for the client: let it read it */
	for (int i = 0; i < 5; i++) {
		uint8_t b[64];

		SSL_read(p->c, b, sizeof(b));
	}
}

static void pair_free(struct pair *p)
{
	SSL_free(p->c);
	SSL_free(p->s);
	SSL_CTX_free(p->cctx);
	SSL_CTX_free(p->sctx);
	close(p->cfd);
	close(p->sfd);
}

#endif
