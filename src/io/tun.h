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

struct sl_tun {
	int fd;
	bool vnet_hdr; /* fd reads/writes carry a virtio_net_hdr */
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
 * Read one packet into p (data at its current start; the vnet header, if any,
 * goes into the headroom and is pulled; a NEEDS_CSUM packet has its checksum
 * completed). Returns the length, or -EAGAIN / -errno. -EMSGSIZE for a GSO
 * super-packet (offloads are not enabled, so the kernel should not send one).
 */
int sl_tun_read(struct sl_tun *t, struct sl_pkt *p);
/* Write p (a vnet header is pushed into its headroom when needed). 0 or -errno. */
int sl_tun_write(struct sl_tun *t, struct sl_pkt *p);

/* Interface set-up via netlink (libmnl). All return 0 or -errno. */
int sl_link_set_up(const char *ifname, uint32_t mtu);
int sl_link_addr_add(const char *ifname, int family, const uint8_t *addr, uint8_t prefix_len);
int sl_link_route_add(const char *ifname, int family, const uint8_t *dst, uint8_t prefix_len);

#endif
