/* SPDX-License-Identifier: MIT */
/* UDP sockets with batched receive and send (recvmmsg / sendmmsg). */
#ifndef SL_IO_UDP_H
#define SL_IO_UDP_H

#include "core/pkt.h"
#include <stdint.h>
#include <sys/socket.h>

#define SL_UDP_BATCH_MAX 64

/* sl_pkt.flags bit set by sl_udp_recv_batch: the datagram did not fit the buffer. */
#define SL_UDP_F_TRUNCATED 1

/* Bind a non-blocking UDP socket to addr (port 0 = any). Returns fd or -errno. */
int sl_udp_open(const struct sockaddr *addr, socklen_t len);
uint16_t sl_udp_local_port(int fd);

struct sl_udp_batch {
	uint32_t n;
	uint32_t rxq_dropped; /* recv: the kernel's running count of datagrams it dropped
				 (SO_RXQ_OVFL) */
	struct sl_pkt *pkts[SL_UDP_BATCH_MAX];
	struct sockaddr_storage addrs[SL_UDP_BATCH_MAX];
};

/*
 * Receive up to n datagrams into pkts[0..n) (each read at its data pointer,
 * up to its tailroom); sets len and addrs. Returns count, 0 if none, or -errno.
 */
int sl_udp_recv_batch(int fd, struct sl_udp_batch *b, uint32_t n);
/* Send b->pkts[0..n) to b->addrs; returns how many the kernel refused (0: all sent). */
int sl_udp_send_batch(int fd, struct sl_udp_batch *b);

#endif
