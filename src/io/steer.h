/* SPDX-License-Identifier: MIT */
/*
 * Receive steering for multi-worker operation (issue 4, Workers = N): N UDP
 * sockets bound to one port with SO_REUSEPORT, and a classic BPF program that
 * picks the socket of each arriving datagram by its ESP SPI.
 *
 * Design (docs/architecture.md, "Workers"): worker w owns reuseport socket w
 * and every rx SA whose SPI satisfies spi % N == w, so one SA's replay window
 * and AEAD context are touched by one thread only, with no lock. The SPIs are
 * still chosen at random by the control plane; the steering is a pure function
 * of the SPI, so no allocation change is needed. Non-ESP datagrams (the 4-zero
 * non-ESP marker, the 0xFF NAT keepalive, anything shorter than 4 bytes) go
 * to socket 0 = the worker 0.
 *
 * The OpenVPN wire steers by the 24-bit peer-id of P_DATA_V2 instead: worker
 * peer_id % N owns the peer's rx keys; P_DATA_V1 (no peer-id), control and
 * ACK packets go to worker 0. Used by the engine with Workers > 1
 * (dco/engine.c steer), tested by tests/test_steer.c.
 */
#ifndef SL_IO_STEER_H
#define SL_IO_STEER_H

#include "io/udp.h" /* sl_udp_open_reuseport */

#include <stdint.h>

#define SL_STEER_WORKERS_MAX 64

/*
 * Attach the SPI steering program (index = SPI % n, non-ESP -> 0) to the
 * reuseport group of fd. n in [1, SL_STEER_WORKERS_MAX]. Returns 0 or -errno.
 */
int sl_steer_attach_spi(int fd, uint32_t n);

/* The index the program returns for a UDP payload: the same rule in C. */
uint32_t sl_steer_spi_index(const uint8_t *d, uint32_t len, uint32_t n);

/* The OpenVPN framing the peer-id program reads (proto/ovpn_data.h; io/ does not include it). */
#define SL_STEER_OVPN_OPCODE_SHIFT 3
#define SL_STEER_OVPN_P_DATA_V2	   9
#define SL_STEER_OVPN_PEER_ID_NONE 0xFFFFFFu

/*
 * Attach the OpenVPN peer-id program (P_DATA_V2 with peer-id id != 0xFFFFFF:
 * index id % n; anything else: 0). Same contract as sl_steer_attach_spi.
 */
int sl_steer_attach_ovpn(int fd, uint32_t n);

/* The index the peer-id program returns for a UDP payload: the same rule in C. */
uint32_t sl_steer_ovpn_index(const uint8_t *d, uint32_t len, uint32_t n);

#endif
