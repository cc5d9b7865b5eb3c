/* SPDX-License-Identifier: MIT */
/*
 * Coalescing of consecutive TCP (or UDP) segments of one flow into one super-packet
 * for a single TUN write with a virtio-net GSO header (the receive-side twin
 * of core/gso.h; rules as the kernel's tcp_gro_receive and wireguard-go's
 * tun/offload_linux.go tcpGRO):
 *
 *   run:    | IP | TCP | payload 0 |  + | payload 1 |  + ... + | payload n-1 |
 *           first packet, whole        later packets, headers skipped
 *
 * A packet joins a run when it is TCP over IPv4 without options or
 * fragments, or IPv6 without extension headers; has only ACK (and PSH) set;
 * matches the first packet's addresses, ports, ToS/TTL/DF (IPv6: first word
 * and hop limit), ack number, window, header length and options byte for
 * byte; continues the sequence exactly; carries no more payload than the
 * first (only the last may carry less) and follows no PSH; and the whole
 * stays within 64 KiB. UDP (when the TUN takes UDP super-packets, USO): same
 * addresses, ports and IP fields, no payload longer than the first's (only the
 * last shorter), at most 64 datagrams.
 */
#ifndef SL_CORE_GRO_H
#define SL_CORE_GRO_H

#include <stdbool.h>
#include <stdint.h>

#define SL_GRO_VNET_HDR_LEN 10

struct sl_gro_run {
	const uint8_t *first; /* the first packet's IP header */
	uint8_t proto;	      /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t hdr_len;     /* its IP + TCP header bytes */
	uint32_t gso_size;    /* its payload bytes: every later one has at most this */
	uint32_t total;	      /* IP bytes of the merged packet so far */
	uint32_t next_seq;    /* TCP: sequence number the next packet must start at */
	uint32_t n;	      /* packets in the run */
	bool last_short;      /* the newest packet carried less than gso_size: nothing may follow */
	bool psh;	      /* a packet had PSH: nothing may follow; the merged one has it */
};

/*
 * Start a run with pkt; false if pkt cannot start one (then write it alone).
 * udp_ok: UDP may be coalesced too (the TUN accepts UDP_L4 super-packets).
 */
bool sl_gro_start(struct sl_gro_run *r, const uint8_t *pkt, uint32_t len, bool udp_ok);
/* Append pkt to the run if it may join (see above); false leaves the run as it was. */
bool sl_gro_append(struct sl_gro_run *r, const uint8_t *pkt, uint32_t len);

/*
 * For a run of two or more: rewrite the first packet's headers (IP lengths
 * and IPv4 checksum, PSH, the TCP checksum field to the pseudo-header sum
 * the kernel expects with NEEDS_CSUM) and write the 10-byte virtio-net
 * header. first must be r->first, writable.
 */
void sl_gro_finish(const struct sl_gro_run *r, uint8_t *first, uint8_t vnet[SL_GRO_VNET_HDR_LEN]);

#endif
