// SPDX-License-Identifier: MIT
/* The classic BPF reuseport programs that steer datagrams to worker sockets: by ESP SPI, or by
 * OpenVPN peer-id. */
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
static int attach(int fd, struct sock_filter *code, unsigned short len)
{
	struct sock_fprog prog = {.len = len, .filter = code};

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

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

	if (n == 0 || n > SL_STEER_WORKERS_MAX)
		return -EINVAL;
	return attach(fd, code, sizeof(code) / sizeof(code[0]));
}

uint32_t sl_steer_spi_index(const uint8_t *d, uint32_t len, uint32_t n)
{
	uint32_t spi;

	if (len < 4 || n == 0)
		return 0;
	spi = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return spi == 0 ? 0 : spi % n;
}

/*
 * OpenVPN: P_DATA_V2 is | opcode 9 << 3 | key id | peer-id (24 bits) | ...; everything else
 * (P_DATA_V1, which names no peer; control and ACK packets; runts) goes to worker 0, and so
 * does the "no peer-id" value 0xFFFFFF.
 *
 *   ld len; jge #4 else ret 0     too short for a V2 header
 *   ldb [0]; rsh #3; jeq #9 else ret 0
 *   ld [0]; and #0xffffff         the peer-id
 *   jeq #0xffffff -> ret 0
 *   mod #n; ret a
 */
int sl_steer_attach_ovpn(int fd, uint32_t n)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 0, 8),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, SL_STEER_OVPN_OPCODE_SHIFT),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SL_STEER_OVPN_P_DATA_V2, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, SL_STEER_OVPN_PEER_ID_NONE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SL_STEER_OVPN_PEER_ID_NONE, 2, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};

	if (n == 0 || n > SL_STEER_WORKERS_MAX)
		return -EINVAL;
	return attach(fd, code, sizeof(code) / sizeof(code[0]));
}

uint32_t sl_steer_ovpn_index(const uint8_t *d, uint32_t len, uint32_t n)
{
	uint32_t id;

	if (len < 4 || n == 0 || d[0] >> SL_STEER_OVPN_OPCODE_SHIFT != SL_STEER_OVPN_P_DATA_V2)
		return 0;
	id = (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return id == SL_STEER_OVPN_PEER_ID_NONE ? 0 : id % n;
}
