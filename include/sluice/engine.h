/* SPDX-License-Identifier: MIT */
/*
 * The sluice engine's control API: the data channel between a TUN device
 * and encrypted UDP (ESP-in-UDP), with a stream fallback supplied by the
 * control plane. Control planes (and the Unix control socket) drive it with
 * these calls only; they never touch packets on the fast path.
 *
 * Every call validates all its arguments before it changes anything, and
 * returns 0 or a negative errno. One engine runs on one sl_loop (one thread).
 */
#ifndef SLUICE_ENGINE_H
#define SLUICE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sl_engine;
struct sl_loop;

#define SL_PEER_ID_MAX 0xFFFFFFu /* ids are 24-bit, as OpenVPN's and if_ovpn's */

/* An address prefix: family AF_INET or AF_INET6, len in bits. */
struct sl_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

enum sl_event_type {
	SL_EVENT_PEER_SILENT = 1,  /* UDP keepalives unanswered: data moved to the stream */
	SL_EVENT_PEER_UDP_OK,	   /* UDP answers again: data moved back to UDP */
	SL_EVENT_KEY_NEAR_LIMIT,   /* tx key near its packet/sequence limit: rekey now */
	SL_EVENT_ENDPOINT_CHANGED, /* authenticated packet from a new address; peer follows */
	SL_EVENT_SHUTDOWN,	   /* "down" requested over the control socket */
	SL_EVENT_PEER_EXIT,	   /* OpenVPN: the peer said it is leaving (OCC_EXIT) */
};

struct sl_event {
	enum sl_event_type type;
	uint32_t peer_id;
};

typedef void (*sl_event_fn)(void *arg, const struct sl_event *ev);

struct sl_engine_cfg {
	struct sl_loop *loop; /* required */
	const char *ifname;   /* TUN device to create or attach ("sl0") */
	int tun_fd;	      /* >= 0: use this open TUN fd instead (ring/tests) */
	bool tun_fd_offload;  /* that fd was opened with IFF_VNET_HDR and TUNSETOFFLOAD
				 (CSUM, TSO4, TSO6): it speaks virtio-net headers, super-packets */
	uint32_t mtu;	      /* inner MTU, default 1400 */
	bool vnet_hdr;	      /* try IFF_VNET_HDR (default true via sl_engine_cfg_init) */
	bool offload;	      /* TUN TSO/USO super-packets and UDP GSO/GRO where the kernel has
				 them (needs vnet_hdr; default true) */
	bool tun_uring;	      /* write a UDP receive round's packets to the TUN with one
				 io_uring_enter (IoBackend = io_uring); write() per packet
				 where io_uring is missing, with a warning. Default false */
	struct sockaddr_storage listen[2]; /* UDP binds: family 0 = unused; port 0 = any */
	uint32_t pool_packets;		   /* packet buffers, default 1024 */
	uint32_t batch;			   /* packets per recvmmsg/sendmmsg, 1..64, default 64 */
	const char *ctl_path;		   /* Unix control socket path, NULL = none */
	sl_event_fn on_event;
	void *event_arg;
	int wire; /* enum sl_wire: the data packet format; default ESP */
	/* SL_WIRE_OPENVPN, SL_WIRE_DTLS: control packets arriving on the UDP socket
	 * (sluice/engine_ovpn.h) */
	void (*on_control)(void *arg, const uint8_t *pkt, size_t len,
			   const struct sockaddr_storage *from);
	void *control_arg;
	/* Data-path threads (docs/workers.md). 0 or 1: none, the data path runs on loop. N >= 2
	 * (at most 64): N threads, each with a queue of a multi-queue TUN and a reuseport UDP
	 * socket steered by SPI (SL_WIRE_ESP) or peer-id (SL_WIRE_OPENVPN; on_control then runs
	 * on the loop's thread, never a worker's); on a TUN of the engine's own only, not
	 * SL_WIRE_DTLS (-ENOTSUP). */
	uint32_t workers;
};

enum sl_wire {
	SL_WIRE_ESP = 0,     /* ESP-in-UDP (sl_key_set) */
	SL_WIRE_OPENVPN = 1, /* OpenVPN 2.6 P_DATA_V2/V1 (sl_key_set_ovpn, engine_ovpn.h) */
	SL_WIRE_DTLS = 2,    /* AnyConnect DTLS 1.2 records (sl_key_set_dtls, engine_dtls.h) */
};

void sl_engine_cfg_init(struct sl_engine_cfg *cfg);
int sl_engine_new(struct sl_engine **out, const struct sl_engine_cfg *cfg);
void sl_engine_free(struct sl_engine *e);
const char *sl_engine_ifname(const struct sl_engine *e);
/* Local UDP port of listen[i] (after binding port 0), or 0. */
uint16_t sl_engine_udp_port(const struct sl_engine *e, int i);
/*
 * A UDP socket the control plane opened (bound, perhaps connected: the
 * AnyConnect client hands over the one its DTLS handshake ran on, since the
 * server knows the session by that address and port) becomes the engine's
 * socket of its family: read in batches, and used to send to peers of that
 * family. 0, -EEXIST (the engine has one of that family), -EINVAL (not UDP).
 * The engine closes it at sl_engine_free unless it is detached first.
 */
int sl_engine_udp_attach(struct sl_engine *e, int fd);
/* Stop using an attached socket (what is queued for it is sent first); the caller closes it. */
int sl_engine_udp_detach(struct sl_engine *e, int fd);

/*
 * Stream fallback: the control plane's way to carry one plaintext IP packet
 * to the peer inside its TLS connection. Return 0 or -errno (counted as io drop).
 */
typedef int (*sl_stream_send_fn)(void *arg, const uint8_t *ip, size_t len);

struct sl_peer_cfg {
	struct sockaddr_storage endpoint; /* family 0: not known yet (server learns it) */
	uint32_t keepalive_ms;	      /* UDP keepalive/DPD probe interval, 0 = off; default 1000 */
	uint32_t silent_ms;	      /* no DPD answer this long -> stream fallback; default 3000 */
	uint32_t replay_window;	      /* default 2048 */
	bool follow_endpoint;	      /* move endpoint to the source of authenticated packets */
	uint64_t rekey_after_packets; /* SL_EVENT_KEY_NEAR_LIMIT after this many tx, 0 = default
					 2^30 */
	sl_stream_send_fn stream_send; /* NULL: no fallback */
	void *stream_arg;
};

void sl_peer_cfg_init(struct sl_peer_cfg *cfg);
int sl_peer_new(struct sl_engine *e, uint32_t peer_id, const struct sl_peer_cfg *cfg);
int sl_peer_del(struct sl_engine *e, uint32_t peer_id);
int sl_peer_set_endpoint(struct sl_engine *e, uint32_t peer_id, const struct sockaddr *sa,
			 socklen_t len);
int sl_peer_set_keepalive(struct sl_engine *e, uint32_t peer_id, uint32_t keepalive_ms,
			  uint32_t silent_ms);
/* Routes decide which peer an outgoing packet goes to and which inner sources a peer may use. */
int sl_peer_route_add(struct sl_engine *e, uint32_t peer_id, const struct sl_prefix *pfx);
int sl_peer_route_del(struct sl_engine *e, uint32_t peer_id, const struct sl_prefix *pfx);

/* Key material of one direction. */
struct sl_key_dir {
	uint32_t spi;	 /* ESP SPI: rx = ours (unique in the engine), tx = the peer's */
	uint8_t key[32]; /* cipher key, first sl_cipher_key_len() bytes used */
	uint8_t salt[4];
};

struct sl_key_pair {
	int cipher; /* enum sl_cipher */
	bool esn;
	uint8_t key_id; /* the control plane's name for it (epoch), shown in stats */
	struct sl_key_dir rx, tx;
};

enum sl_key_slot { SL_KEY_PRIMARY = 0, SL_KEY_SECONDARY = 1 };

/*
 * Install a key pair in a slot (replacing and zeroing what was there). The
 * primary slot's tx key seals outgoing packets; incoming packets are opened
 * with whichever slot's rx SPI they carry, so after sl_key_swap the old key
 * keeps working for packets in flight (lame duck) until replaced or deleted.
 */
int sl_key_set(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot,
	       const struct sl_key_pair *kp);
int sl_key_swap(struct sl_engine *e, uint32_t peer_id);
int sl_key_del(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot);

/* Carry a packet that arrived over the stream fallback: checked and written to TUN. */
int sl_engine_stream_input(struct sl_engine *e, uint32_t peer_id, const uint8_t *ip, size_t len);

enum sl_transport { SL_TRANSPORT_UDP = 0, SL_TRANSPORT_STREAM = 1 };

enum {
	SL_STAT_DROP_AUTH,
	SL_STAT_DROP_REPLAY,
	SL_STAT_DROP_NOKEY,
	SL_STAT_DROP_NOROUTE,
	SL_STAT_DROP_MALFORMED,
	SL_STAT_DROP_TOOBIG,
	SL_STAT_DROP_NOMEM,
	SL_STAT_DROP_IO,
	SL_STAT_DROP_OVERFLOW, /* kernel drops at our full UDP receive queue (SO_RXQ_OVFL) */
	SL_STAT_DROP_RATE,     /* auth-failure budget spent (foreign sources only): not decrypted */
	SL_STAT_DROP__COUNT
};

struct sl_peer_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t stream_rx_packets, stream_tx_packets; /* of the above, over the fallback */
	uint64_t keepalive_rx, keepalive_tx;
	/* Engine-wide only: TUN super-packets read and split, UDP GRO datagrams received whole,
	 * coalesced super-packets written to the TUN. */
	uint64_t tun_super_rx, udp_gro_rx, tun_gro_tx;
	uint64_t drops[SL_STAT_DROP__COUNT]; /* index = enum sl_drop - 1 */
	/* Of drops[], those of datagrams read from the UDP socket, so that every received
	 * datagram can be accounted for: accepted (data, keepalive) or one of these. */
	uint64_t udp_rx_drops[SL_STAT_DROP__COUNT];
	uint64_t udp_rx_datagrams; /* interface only: every datagram recvmmsg returned */
	uint64_t control_rx;	   /* interface only: of those, handed to the control plane */
	enum sl_transport transport;
	uint64_t last_rx_ns; /* loop clock of the last authenticated packet, 0 = never */
	uint8_t key_id[2];   /* per slot */
	bool key_present[2];
	uint32_t rx_spi[2], tx_spi[2];
	uint64_t tx_seq[2]; /* last sequence number sent per slot */
	struct sockaddr_storage endpoint;
};

/* Offloads in effect (sl_engine_offloads). */
#define SL_OFFLOAD_TUN_CSUM 0x01 /* TUN: partial checksums */
#define SL_OFFLOAD_TUN_TSO  0x02 /* TUN: TCP super-packets (v4 and v6) */
#define SL_OFFLOAD_TUN_USO  0x04 /* TUN: UDP super-packets (Linux 6.2+) */
#define SL_OFFLOAD_UDP_GSO  0x08 /* UDP: segmentation on send (UDP_SEGMENT) */
#define SL_OFFLOAD_UDP_GRO  0x10 /* UDP: coalesced receive (UDP_GRO) */
#define SL_OFFLOAD_TUN_URING                                             \
	0x20 /* TUN writes batched through io_uring (not an offload, but \
		a way of cutting system calls, shown beside them) */
uint32_t sl_engine_offloads(const struct sl_engine *e);
/* "tun-csum tso uso udp-gso udp-gro" for the bits set, "none" for 0; returns out. */
const char *sl_offloads_format(uint32_t bits, char *out, size_t len);

int sl_peer_stats(struct sl_engine *e, uint32_t peer_id, struct sl_peer_stats *out);
/* Drops not attributable to a peer (unknown SPI, no route, no buffer...). */
int sl_engine_stats(struct sl_engine *e, struct sl_peer_stats *out);
/* Data-path workers (1 without threads), and the counters of worker i: its engine-wide ones plus
 * its share of every peer's. */
uint32_t sl_engine_workers(const struct sl_engine *e);
/*
 * Workers > 1: start the data-path threads now (idempotent; 0 with Workers = 1). Otherwise they
 * start when the engine's loop first sleeps. Threads take their identity and capabilities from
 * the thread that starts them: a program that drops privileges calls this after the drop (and
 * installs a seccomp filter with TSYNC after it), as `sluice up` does.
 */
int sl_engine_start_workers(struct sl_engine *e);
int sl_engine_worker_stats(struct sl_engine *e, uint32_t i, struct sl_peer_stats *out);
/*
 * A control plane's own counters, shown by `sluice show` beside the interface's: fn writes
 * "name=number\n" lines into out (at most cap bytes) and returns how many it wrote. NULL removes
 * it.
 */
typedef size_t (*sl_stats_hook)(void *arg, char *out, size_t cap);
void sl_engine_set_stats_hook(struct sl_engine *e, sl_stats_hook fn, void *arg);
/* Calls fn for every peer id in ascending order; stops if fn returns non-zero. */
int sl_engine_foreach_peer(struct sl_engine *e, int (*fn)(void *arg, uint32_t peer_id), void *arg);

#endif
