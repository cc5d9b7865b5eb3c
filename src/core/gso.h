/* SPDX-License-Identifier: MIT */
/*
 * Segmentation of a TUN super-packet (virtio-net GSO: TCPv4, TCPv6, UDP_L4)
 * into the packets the kernel would have sent, done by the caller one
 * segment at a time so each segment can be built straight into its own
 * buffer (and, for the sealed path, encrypted straight out of the
 * super-packet: protocols.md 6.1, wireguard-go tun/offload_linux.go gsoSplit).
 *
 *   super-packet:  | IP hdr | L4 hdr | payload 0 | payload 1 | ... | payload n-1 |
 *                  |<--- hdr_len --->|<-gso_size->|
 *   segment i:     | IP hdr' | L4 hdr' | payload i |
 *
 * IP hdr': total/payload length, IPv4 id + i and header checksum.
 * L4 hdr': TCP seq + i * gso_size, FIN/PSH only on the last, CWR only on
 * the first; UDP length; full L4 checksum (pseudo-header + header + payload).
 */
#ifndef SL_CORE_GSO_H
#define SL_CORE_GSO_H

#include <stdbool.h>
#include <stdint.h>

/* Debian 12's linux-libc-dev (6.1) predates USO (Linux 6.2): the values are fixed by the ABI. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define SL_GSO_HDR_MAX (60 + 60) /* IPv4 with options (60) + TCP with options (60) */

struct sl_gso {
	uint8_t *pkt; /* the super-packet, IP header first; ours to write (see tail_room) */
	uint32_t len;
	uint32_t tail_room; /* writable bytes after pkt + len (set by the reader, else 0) */
	uint16_t ip_hlen;   /* IP header bytes (csum_start) */
	uint16_t hdr_len;   /* IP + L4 header bytes, recomputed, never taken from the kernel */
	uint16_t gso_size;  /* payload bytes per segment; the last may be shorter */
	uint8_t family;	    /* AF_INET or AF_INET6 */
	uint8_t l4;	    /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t nseg;
	/* Sums of what every segment shares, so a segment only adds what is its own: */
	uint32_t ip_sum;	     /* IPv4 header without total length, id and checksum */
	uint32_t pseudo_sum;	     /* pseudo-header without the L4 length */
	uint8_t hdr[SL_GSO_HDR_MAX]; /* the super-packet's headers as they came, so the bytes at
					pkt may be overwritten (each segment's headers in front of
					its payload, for sealing in one pass) */
};

/*
 * Check a super-packet against its virtio header fields (gso_type without
 * the ECN bit, gso_size, csum_start, csum_offset) and fill *g. Returns 0, or
 * -EINVAL for anything the kernel should not send: unknown type, IP
 * version or protocol not matching it, IPv4 options or IPv6 extension
 * headers, lengths that disagree, a zero gso_size, or more than 64 KiB.
 */
int sl_gso_init(struct sl_gso *g, uint8_t *pkt, uint32_t len, uint8_t gso_type, uint16_t gso_size,
		uint16_t csum_start, uint16_t csum_offset);

/* Payload bytes of segment i (i < nseg). */
static inline uint32_t sl_gso_seg_payload_len(const struct sl_gso *g, uint32_t i)
{
	uint32_t off = (uint32_t)g->hdr_len + i * g->gso_size;
	uint32_t left = g->len - off;

	return left < g->gso_size ? left : g->gso_size;
}

static inline uint8_t *sl_gso_seg_payload(const struct sl_gso *g, uint32_t i)
{
	return g->pkt + g->hdr_len + i * g->gso_size;
}

/*
 * Write segment i's IP and L4 headers (hdr_len bytes) to out, with the L4
 * checksum over out's headers and the segment's payload as it is in the
 * super-packet (the caller then copies or encrypts that payload behind). out
 * may be the hdr_len bytes right before the payload inside the super-packet.
 */
void sl_gso_seg_headers(const struct sl_gso *g, uint32_t i, uint8_t *out);

#endif
