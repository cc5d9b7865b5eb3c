/* SPDX-License-Identifier: MIT */
/* UDP sockets with batched receive and send (recvmmsg / sendmmsg). */
#ifndef SL_IO_UDP_H
#define SL_IO_UDP_H

#include "core/pkt.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_UDP_BATCH_MAX     64
#define SL_UDP_GSO_SEGS_MAX  64	   /* UDP_MAX_SEGMENTS of older kernels */
#define SL_UDP_GSO_BYTES_MAX 65000 /* one GSO send stays below the 64 KiB IP limit */

/* sl_pkt.flags bit set by sl_udp_recv_batch: the datagram did not fit the buffer. */
#define SL_UDP_F_TRUNCATED 1

/* Bind a non-blocking UDP socket to addr (port 0 = any). Returns fd or -errno. */
int sl_udp_open(const struct sockaddr *addr, socklen_t len);
/*
 * The same with SO_REUSEPORT set before bind, so further sockets of the same
 * user can join the port (io/steer.h). The kernel numbers a reuseport group's
 * sockets in bind order: the w-th bound is index w for a steering program.
 */
int sl_udp_open_reuseport(const struct sockaddr *addr, socklen_t len);
uint16_t sl_udp_local_port(int fd);

struct sl_udp_batch {
	uint32_t n;
	bool gso; /* send: join runs of equal-size datagrams to one address with UDP_SEGMENT;
		     cleared for good when the kernel refuses it (EIO: no checksum offload) */
	uint32_t gso_seg_max; /* send: 0, or the segment size the kernel refused (EMSGSIZE: larger
				 than the path MTU): datagrams this long or longer go alone, and
				 the kernel fragments each as it would any other */
	uint32_t rxq_dropped; /* recv: the kernel's running count of datagrams it dropped
				 (SO_RXQ_OVFL) */
	struct sl_pkt *pkts[SL_UDP_BATCH_MAX];
	struct sockaddr_storage addrs[SL_UDP_BATCH_MAX];
	uint16_t seg[SL_UDP_BATCH_MAX]; /* recv: GRO segment size, 0 = a single datagram */
};

/*
 * Ask the kernel to coalesce arriving datagrams of one flow (UDP_GRO, Linux
 * 5.0+). Returns 0 or -errno. A coalesced datagram comes back from
 * sl_udp_recv_batch with its segment size in b->seg[i].
 */
int sl_udp_enable_gro(int fd);

/*
 * Receive up to n datagrams into pkts[0..n) (each read at its data pointer,
 * up to its tailroom); sets len and addrs. Returns count, 0 if none, or -errno.
 */
int sl_udp_recv_batch(int fd, struct sl_udp_batch *b, uint32_t n);
/*
 * Send b->pkts[0..n) to b->addrs; returns how many datagrams the kernel
 * refused (0: all sent). With b->gso, consecutive datagrams to the same
 * address, all of one size but a shorter last, leave as one UDP GSO send of
 * up to SL_UDP_GSO_SEGS_MAX segments, each still a datagram on the wire.
 */
int sl_udp_send_batch(int fd, struct sl_udp_batch *b);

#endif
