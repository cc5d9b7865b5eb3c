// SPDX-License-Identifier: MIT
/* The classic BPF reuseport program that steers datagrams to worker sockets by ESP SPI. */
#include "io/steer.h"

#include <errno.h>
#include <linux/filter.h>
#include <sys/socket.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

/*
 * The kernel runs a reuseport cBPF program with the packet's data starting at
 * the UDP payload (sock_reuseport.c pulls the UDP header first); its return
 * value indexes the group's sockets, and an index past the end falls back to
 * the flow hash. A load past the end of the packet ends the program with 0.
 *
 *   ld len; jge #4 else ret 0   too short for an SPI: worker 0
 *   ld [0]                      SPI, big-endian as on the wire
 *   jeq #0 -> ret 0             non-ESP marker: worker 0
 *   mod #n; ret a
 */
int sl_steer_attach_spi(int fd, uint32_t n)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	if (n == 0 || n > SL_STEER_WORKERS_MAX)
		return -EINVAL;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

uint32_t sl_steer_spi_index(const uint8_t *d, uint32_t len, uint32_t n)
{
	uint32_t spi;

	if (len < 4 || n == 0)
		return 0;
	spi = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return spi == 0 ? 0 : spi % n;
}
