// SPDX-License-Identifier: MIT
/*
 * TUN packet I/O with and without the virtio-net header, first over a
 * SOCK_SEQPACKET socketpair standing in for the device (no privileges
 * needed), then on real devices and netlink in a private network namespace
 * when run as root.
 */
#include "core/bytes.h"
#include "core/pkt.h"
#include "io/tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define HEADROOM 32
#define CAP	 2048

/* UDP over IPv4 as written by Linux (kernel-computed checksum 0x60ed); see test_pkt.c. */
static const uint8_t udp4[] = {
	0x45, 0x00, 0x00, 0x33, 0xd0, 0xb9, 0x40, 0x00, 0x40, 0x11, 0xd3, 0xd8, 0xc6,
	0x12, 0x05, 0x01, 0xc6, 0x12, 0x05, 0x02, 0x9c, 0x40, 0x00, 0x09, 0x00, 0x1f,
	0x60, 0xed, 0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x20, 0x63, 0x68, 0x65, 0x63,
	0x6b, 0x73, 0x75, 0x6d, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x0a,
};
#define UDP4_PSEUDO_SUM 0x9658 /* RFC 768 pseudo-header sum for udp4 */

struct fixture {
	struct sl_tun tun; /* fd: our end of the socketpair */
	int far;
	uint8_t mem[CAP];
	struct sl_pkt pkt;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	if (!f || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return -1;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	f->tun.fd = sv[0];
	f->far = sv[1];
	f->pkt = (struct sl_pkt){.buf = f->mem, .cap = CAP};
	sl_pkt_reset(&f->pkt, HEADROOM);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sl_tun_close(&f->tun);
	assert_int_equal(f->tun.fd, -1);
	close(f->far);
	free(f);
	return 0;
}

/* The far end sends a virtio header and a packet in one message, as the kernel does. */
static void send_vnet(int fd, const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	uint8_t msg[CAP];

	memcpy(msg, h, sizeof(*h));
	memcpy(msg + sizeof(*h), pkt, len);
	assert_int_equal(write(fd, msg, sizeof(*h) + len), (ssize_t)(sizeof(*h) + len));
}

static void test_read_plain(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), -EAGAIN);
	assert_int_equal(write(f->far, udp4, sizeof(udp4)), sizeof(udp4));
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), sizeof(udp4));
	assert_int_equal(f->pkt.len, sizeof(udp4));
	assert_ptr_equal(f->pkt.data, f->mem + HEADROOM);
	assert_memory_equal(f->pkt.data, udp4, sizeof(udp4));
}

static void test_read_vnet_header_goes_to_headroom(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_hdr h = {.flags = VIRTIO_NET_HDR_F_DATA_VALID};

	f->tun.vnet_hdr = true;
	send_vnet(f->far, &h, udp4, sizeof(udp4));
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), sizeof(udp4));
	assert_ptr_equal(f->pkt.data, f->mem + HEADROOM); /* the packet lands in place */
	assert_int_equal(f->pkt.len, sizeof(udp4));
	assert_memory_equal(f->pkt.data, udp4, sizeof(udp4));
	assert_memory_equal(f->pkt.data - SL_VNET_HDR_LEN, &h, sizeof(h));
}

static void test_read_vnet_completes_checksum(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6};
	uint8_t partial[sizeof(udp4)];

	memcpy(partial, udp4, sizeof(udp4));
	sl_put_be16(partial + 26, UDP4_PSEUDO_SUM);
	f->tun.vnet_hdr = true;
	send_vnet(f->far, &h, partial, sizeof(partial));
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), sizeof(udp4));
	assert_memory_equal(f->pkt.data, udp4, sizeof(udp4));
}

static void test_read_vnet_bad_csum_offsets(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 40, .csum_offset = 10};

	f->tun.vnet_hdr = true;
	send_vnet(f->far, &h, udp4, sizeof(udp4));
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), -EBADMSG);
}

static void test_read_vnet_gso_is_msgsize(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_hdr h = {
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1400, .hdr_len = 40};

	f->tun.vnet_hdr = true;
	send_vnet(f->far, &h, udp4, sizeof(udp4));
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), -EMSGSIZE);
	/* It was consumed: the next read sees the next packet. */
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), -EAGAIN);
}

static void test_read_vnet_needs_headroom(void **state)
{
	struct fixture *f = *state;

	f->tun.vnet_hdr = true;
	sl_pkt_reset(&f->pkt, SL_VNET_HDR_LEN - 1);
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), -EINVAL);
}

static void test_read_vnet_short_message(void **state)
{
	struct fixture *f = *state;

	f->tun.vnet_hdr = true;
	assert_int_equal(write(f->far, "abc", 3), 3);
	assert_int_equal(sl_tun_read(&f->tun, &f->pkt), -EBADMSG);
}

static void test_write_plain(void **state)
{
	struct fixture *f = *state;
	uint8_t out[CAP];

	memcpy(sl_pkt_put(&f->pkt, sizeof(udp4)), udp4, sizeof(udp4));
	assert_int_equal(sl_tun_write(&f->tun, &f->pkt), 0);
	assert_int_equal(read(f->far, out, sizeof(out)), sizeof(udp4));
	assert_memory_equal(out, udp4, sizeof(udp4));
}

static void test_write_vnet_pushes_zero_header(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[SL_VNET_HDR_LEN];
	uint8_t out[CAP];

	f->tun.vnet_hdr = true;
	memcpy(sl_pkt_put(&f->pkt, sizeof(udp4)), udp4, sizeof(udp4));
	memset(f->mem, 0xee, HEADROOM);
	assert_int_equal(sl_tun_write(&f->tun, &f->pkt), 0);
	assert_int_equal(read(f->far, out, sizeof(out)), SL_VNET_HDR_LEN + sizeof(udp4));
	assert_memory_equal(out, zero, SL_VNET_HDR_LEN);
	assert_memory_equal(out + SL_VNET_HDR_LEN, udp4, sizeof(udp4));
	/* The packet is as it was. */
	assert_ptr_equal(f->pkt.data, f->mem + HEADROOM);
	assert_int_equal(f->pkt.len, sizeof(udp4));
	/* Without room for the header, nothing is written. */
	sl_pkt_reset(&f->pkt, 4);
	assert_non_null(sl_pkt_put(&f->pkt, 20));
	assert_int_equal(sl_tun_write(&f->tun, &f->pkt), -EINVAL);
	assert_int_equal(f->pkt.len, 20);
}

/* ---- real devices, in a network namespace of our own ---- */

static bool private_netns;

static int enter_netns(void **state)
{
	private_netns = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
	return 0;
}

static void need_netns(void)
{
	if (!private_netns)
		skip();
}

static void test_open_errors(void **state)
{
	struct sl_tun t;

	assert_int_equal(sl_tun_open(&t, "a-name-far-too-long-for-ifnamsiz", false, false),
			 -EINVAL);
	assert_int_equal(t.fd, -1);
}

/* Without CAP_NET_ADMIN creating a device is refused with -EPERM (root drops to nobody first). */
static void test_open_unprivileged_eperm(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sl_tun t;

		if (geteuid() == 0 && setuid(65534) < 0)
			_exit(2);
		_exit(sl_tun_open(&t, "slnoperm0", false, false) == -EPERM ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_open_vnet_and_name(void **state)
{
	struct sl_tun t, k;

	need_netns();
	assert_int_equal(sl_tun_open(&t, "sltun0", true, false), 0);
	assert_true(t.vnet_hdr);
	assert_string_equal(t.name, "sltun0");
	assert_true(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(t.fd, F_GETFD) & FD_CLOEXEC);
	/* No name: the kernel picks one. */
	assert_int_equal(sl_tun_open(&k, NULL, false, false), 0);
	assert_false(k.vnet_hdr);
	assert_true(strlen(k.name) > 0);
	sl_tun_close(&k);
	sl_tun_close(&t);
}

static void test_open_multi_queue(void **state)
{
	struct sl_tun q[2];

	need_netns();
	assert_int_equal(sl_tun_open(&q[0], "slmq0", false, true), 0);
	assert_int_equal(sl_tun_open(&q[1], "slmq0", false, true), 0);
	assert_int_not_equal(q[0].fd, q[1].fd);
	sl_tun_close(&q[0]);
	sl_tun_close(&q[1]);
}

static void test_link_errors(void **state)
{
	static const uint8_t a[16] = {198, 18, 9, 1};
	struct sl_tun t;

	need_netns();
	assert_int_equal(sl_link_set_up("nosuchdev0", 0), -ENODEV);
	assert_int_equal(sl_link_addr_add("nosuchdev0", AF_INET, a, 24), -ENODEV);
	assert_int_equal(sl_link_addr_add("lo", AF_INET, a, 33), -EINVAL);
	assert_int_equal(sl_link_addr_add("lo", AF_INET6, a, 129), -EINVAL);
	assert_int_equal(sl_link_addr_add("lo", AF_PACKET, a, 8), -EINVAL);
	assert_int_equal(sl_link_route_add("lo", AF_INET, a, 40), -EINVAL);
	/* A kernel refusal comes back as its errno: MTU below a TUN's minimum of 68. */
	assert_int_equal(sl_tun_open(&t, "slerr0", false, false), 0);
	assert_int_equal(sl_link_set_up("slerr0", 20), -EINVAL);
	sl_tun_close(&t);
}

static int wait_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, 2000);
}

/* Read from the device until a UDP packet of the given IP version shows up. */
static void read_udp(struct sl_tun *t, struct sl_pkt *p, int version)
{
	for (int tries = 0; tries < 20; tries++) {
		sl_pkt_reset(p, HEADROOM);
		assert_int_equal(wait_readable(t->fd), 1);
		assert_true(sl_tun_read(t, p) > 0);
		if (p->data[0] >> 4 == version && p->data[version == 4 ? 9 : 6] == IPPROTO_UDP)
			return;
	}
	fail_msg("no UDP packet from the device");
}

/* The L4 checksum of an IPv4 or IPv6 packet verifies (RFC 768, RFC 8200 8.1). */
static void assert_udp_csum_ok(const uint8_t *ip, uint32_t len)
{
	bool v4 = ip[0] >> 4 == 4;
	uint32_t hl = v4 ? 20 : 40, sum;
	uint8_t tail[4] = {0, 0, 0, IPPROTO_UDP};

	sum = sl_csum_add(0, ip + (v4 ? 12 : 8), v4 ? 8 : 32);
	sl_put_be16(tail, (uint16_t)(len - hl));
	sum = sl_csum_add(sum, tail, sizeof(tail));
	assert_int_equal(sl_csum_fold(sl_csum_add(sum, ip + hl, len - hl)), 0xffff);
}

static void test_device_vnet_round_trip(void **state)
{
	static const uint8_t a4[4] = {198, 18, 8, 1}, net4[4] = {198, 18, 9, 0};
	static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 7, [15] = 1};
	static const uint8_t net6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 8};
	struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct sockaddr_in6 from6 = {.sin6_family = AF_INET6};
	struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	static uint8_t mem[CAP];
	struct sl_pkt p = {.buf = mem, .cap = CAP};
	struct sl_tun t;
	int s4, s6;

	need_netns();
	assert_int_equal(sl_tun_open(&t, "slvnet0", true, false), 0);
	assert_true(t.vnet_hdr);
	assert_int_equal(sl_link_set_up("slvnet0", 1420), 0);
	assert_int_equal(sl_link_addr_add("slvnet0", AF_INET, a4, 24), 0);
	assert_int_equal(sl_link_addr_add("slvnet0", AF_INET, a4, 24), 0); /* EEXIST is fine */
	assert_int_equal(sl_link_addr_add("slvnet0", AF_INET6, a6, 64), 0);
	assert_int_equal(sl_link_route_add("slvnet0", AF_INET, net4, 24), 0);
	assert_int_equal(sl_link_route_add("slvnet0", AF_INET, net4, 24), 0);
	assert_int_equal(sl_link_route_add("slvnet0", AF_INET6, net6, 48), 0);
	assert_int_equal(sl_link_route_add("slvnet0", AF_INET6, net6, 48), 0);

	/* A routed IPv4 destination goes out through the device, checksum complete. */
	s4 = socket(AF_INET, SOCK_DGRAM, 0);
	to4.sin_addr.s_addr = htonl(0xc6120905); /* 198.18.9.5, via the added route */
	assert_int_equal(sendto(s4, "four", 4, 0, (struct sockaddr *)&to4, sizeof(to4)), 4);
	read_udp(&t, &p, 4);
	assert_int_equal(p.len, 32);
	assert_memory_equal(p.data + 16, "\xc6\x12\x09\x05", 4);
	assert_memory_equal(p.data + 28, "four", 4);
	assert_udp_csum_ok(p.data, p.len);

	/* IFA_F_NODAD: the IPv6 address can be bound at once. */
	s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	memcpy(&from6.sin6_addr, a6, 16);
	assert_int_equal(bind(s6, (struct sockaddr *)&from6, sizeof(from6)), 0);
	memcpy(&to6.sin6_addr, net6, 16);
	to6.sin6_addr.s6_addr[15] = 5;
	assert_int_equal(sendto(s6, "six", 3, 0, (struct sockaddr *)&to6, sizeof(to6)), 3);
	read_udp(&t, &p, 6);
	assert_int_equal(p.len, 40 + 8 + 3);
	assert_udp_csum_ok(p.data, p.len);

	/* Written back with a virtio header: the kernel delivers it to the socket. */
	{
		uint8_t reply[64], got[8];
		struct sockaddr_in self;
		socklen_t sl = sizeof(self);

		assert_int_equal(getsockname(s4, (struct sockaddr *)&self, &sl), 0);
		sl_pkt_reset(&p, HEADROOM);
		memset(reply, 0, sizeof(reply));
		reply[0] = 0x45;
		sl_put_be16(reply + 2, 20 + 8 + 4);
		reply[8] = 64;
		reply[9] = IPPROTO_UDP;
		memcpy(reply + 12, "\xc6\x12\x09\x05", 4);
		memcpy(reply + 16, a4, 4);
		sl_put_be16(reply + 10, (uint16_t)~sl_csum_fold(sl_csum_add(0, reply, 20)));
		sl_put_be16(reply + 20, 9);
		memcpy(reply + 22, &self.sin_port, 2);
		sl_put_be16(reply + 24, 12);
		memcpy(reply + 28, "back", 4); /* UDP checksum 0: none (RFC 768) */
		memcpy(sl_pkt_put(&p, 32), reply, 32);
		assert_int_equal(sl_tun_write(&t, &p), 0);
		assert_int_equal(wait_readable(s4), 1);
		assert_int_equal(recv(s4, got, sizeof(got), 0), 4);
		assert_memory_equal(got, "back", 4);
	}
	close(s4);
	close(s6);
	sl_tun_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_vnet_header_goes_to_headroom, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_vnet_completes_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_vnet_bad_csum_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_vnet_gso_is_msgsize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_vnet_needs_headroom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_vnet_short_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_vnet_pushes_zero_header, setup,
						teardown),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_unprivileged_eperm),
		cmocka_unit_test(test_open_vnet_and_name),
		cmocka_unit_test(test_open_multi_queue),
		cmocka_unit_test(test_link_errors),
		cmocka_unit_test(test_device_vnet_round_trip),
	};

	return cmocka_run_group_tests(tests, enter_netns, NULL);
}
