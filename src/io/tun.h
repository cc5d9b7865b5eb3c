/* SPDX-License-Identifier: MIT */
/*
 * TUN device: IFF_TUN|IFF_NO_PI, optionally IFF_VNET_HDR (the 10-byte
 * virtio-net header is read into the packet's headroom and pulled off, so
 * the IP packet lands at its final place) and IFF_MULTI_QUEUE.
 */
#ifndef SL_IO_TUN_H
#define SL_IO_TUN_H

#include "core/pkt.h"
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_VNET_HDR_LEN 10

/* TUNSETOFFLOAD features in effect (TUN_F_* of linux/if_tun.h). */
#define SL_TUN_OFF_CSUM 0x01 /* partial checksums (NEEDS_CSUM) both ways */
#define SL_TUN_OFF_TSO4 0x02 /* TCPv4 super-packets */
#define SL_TUN_OFF_TSO6 0x04
#define SL_TUN_OFF_USO4 0x20 /* UDP super-packets (Linux 6.2+) */
#define SL_TUN_OFF_USO6 0x40

struct sl_gso;

struct sl_tun {
	int fd;
	bool vnet_hdr;	  /* fd reads/writes carry a virtio_net_hdr */
	uint32_t offload; /* SL_TUN_OFF_* the kernel accepted; 0 without vnet_hdr */
	char name[IFNAMSIZ];
};

/*
 * Open queue fd of device name (created if missing). vnet_hdr: try
 * IFF_VNET_HDR, fall back without it. multi_queue: IFF_MULTI_QUEUE.
 * Returns 0 or -errno (-ENOENT no /dev/net/tun, -EPERM no CAP_NET_ADMIN).
 * The fd is non-blocking.
 */
int sl_tun_open(struct sl_tun *t, const char *name, bool vnet_hdr, bool multi_queue);
void sl_tun_close(struct sl_tun *t);

/*
 * Ask for checksum and segmentation offloads (needs vnet_hdr): TSO4/TSO6 and,
 * where the kernel has them, USO4/USO6; each missing feature is left off.
 * Sets t->offload to what is on. Returns 0, or -errno if not even TUN_F_CSUM
 * was accepted (then t->offload is 0 and reads are packet by packet).
 */
int sl_tun_enable_offload(struct sl_tun *t);

/*
 * With offloads on: read one packet, which may be a GSO super-packet of up to
 * 64 KiB. The read lands in p (vnet header in its headroom) and, past p's
 * room, in big[room..big_cap). Returns 0 for a plain packet, now in p (partial
 * checksum completed); 1 for a super-packet, described by *g, whose bytes are
 * contiguous in p (when it fitted) or in big (the first part is moved there:
 * the one copy, of at most p's room, per super-packet); or -errno (-EAGAIN,
 * -EMSGSIZE: longer than big_cap, -EINVAL/-EBADMSG: a header the kernel
 * should not send).
 */
int sl_tun_read_super(struct sl_tun *t, struct sl_pkt *p, uint8_t *big, uint32_t big_cap,
		      struct sl_gso *g);

/*
 * Read one packet into p (data at its current start; the vnet header, if any,
 * goes into the headroom and is pulled; a NEEDS_CSUM packet has its checksum
 * completed). Returns the length, or -EAGAIN / -errno. -EMSGSIZE for a GSO
 * super-packet (offloads are not enabled, so the kernel should not send one).
 */
int sl_tun_read(struct sl_tun *t, struct sl_pkt *p);
/* Write p (a vnet header is pushed into its headroom when needed). 0 or -errno. */
int sl_tun_write(struct sl_tun *t, struct sl_pkt *p);
/* What sl_tun_write writes, for a writer of its own (io_uring): push a plain vnet header,
 * if the TUN has them, into p's headroom (-EINVAL: no room); unframe pulls it again. */
int sl_tun_frame(const struct sl_tun *t, struct sl_pkt *p);
void sl_tun_unframe(const struct sl_tun *t, struct sl_pkt *p);

/* Interface set-up via netlink (libmnl). All return 0 or -errno. */
int sl_link_set_up(const char *ifname, uint32_t mtu);
int sl_link_addr_add(const char *ifname, int family, const uint8_t *addr, uint8_t prefix_len);
int sl_link_route_add(const char *ifname, int family, const uint8_t *dst, uint8_t prefix_len);

#endif
