// SPDX-License-Identifier: MIT
/*
 * OpenVPN data channel from the network: the input is a UDP payload on an
 * OpenVPN port.
 * 1. Classify it; if it is a data packet, open it with a fixed rx SA for its
 *    key id (key ids 1 and 2 hold the keys of the known-answer packets in
 *    tests/test_ovpn_data.c, so seeds and mutations of them get past the tag).
 * 2. Undo each compression framing on the raw bytes; a decoded packet must
 *    re-encode to the input wherever the framing is canonical.
 * 3. Frame, seal, open and unframe the input as an inner packet: it must
 *    come back unchanged, or the target aborts.
 * 4. The receive steering of Workers > 1 (io/steer.c): an index below the
 *    worker count, and for what classify calls P_DATA_V2 exactly its
 *    peer-id's worker (0 for "no peer-id"); V1 and control packets worker 0.
 * Every SA is made per input so no state leaks from one input to the next.
 */
#include "proto/ovpn_data.h"

#include "io/steer.h"

#include "core/bytes.h"

#include <stdlib.h>
#include <string.h>

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* key2 of the known-answer packets (legacy PRF over a patterned key source). */
static const uint8_t kat_key2[SL_OVPN_KEY2_LEN] = {
	0x07, 0x9c, 0xd1, 0x69, 0x03, 0x3e, 0x6b, 0x66, 0x6b, 0xc8, 0x93, 0x9b, 0x34, 0x06, 0x44,
	0xfd, 0x88, 0x9f, 0x83, 0xba, 0x6b, 0xa4, 0x31, 0x52, 0x0e, 0xe4, 0x4a, 0xb8, 0xb5, 0x56,
	0x35, 0x00, 0x9d, 0xe4, 0xdb, 0xf7, 0x1f, 0x5a, 0x2d, 0x99, 0xdb, 0xfd, 0x8a, 0xaa, 0x38,
	0x0b, 0xf8, 0x6a, 0xb6, 0xd1, 0x4d, 0x36, 0x1e, 0xa4, 0x7d, 0xf5, 0x7e, 0x17, 0x7b, 0x10,
	0x7e, 0x53, 0x66, 0x80, 0xaa, 0x80, 0xa7, 0x26, 0x52, 0xcd, 0xe4, 0xcf, 0xb1, 0xac, 0x7d,
	0xeb, 0xf1, 0xbc, 0x60, 0x6d, 0xac, 0x05, 0x18, 0x27, 0x21, 0x72, 0x14, 0xb4, 0x1d, 0xc7,
	0xbe, 0x4c, 0xab, 0xce, 0x99, 0xc7, 0x45, 0xca, 0xd8, 0x05, 0xc6, 0xf8, 0xfe, 0xef, 0xa0,
	0xf5, 0x42, 0x01, 0x72, 0x2f, 0xb1, 0xdf, 0x0d, 0x75, 0x10, 0x8e, 0x0a, 0x50, 0x41, 0xa5,
	0xa8, 0xb1, 0xf3, 0x92, 0x9a, 0xa3, 0x3e, 0x55, 0x49, 0xf5, 0x56, 0x7d, 0x1d, 0xfe, 0xe8,
	0x18, 0x70, 0x32, 0x77, 0x9a, 0x88, 0x6c, 0xd0, 0xf8, 0x91, 0x87, 0x76, 0xfd, 0x1c, 0xbf,
	0x4d, 0x7d, 0x05, 0xb7, 0x81, 0xfd, 0x20, 0x29, 0xa8, 0x7c, 0x3f, 0x92, 0x2b, 0x40, 0x55,
	0xe0, 0x04, 0x6c, 0x79, 0xaf, 0x09, 0xb7, 0xe6, 0xbf, 0x6b, 0xfd, 0xc0, 0xc3, 0x8f, 0xeb,
	0x6d, 0x0a, 0x8f, 0xd2, 0xac, 0xb2, 0x66, 0xe1, 0xb7, 0xbd, 0x63, 0xb8, 0x5a, 0x76, 0x1e,
	0xf5, 0x5b, 0x4d, 0x7c, 0xc6, 0xcd, 0x7e, 0xb0, 0xab, 0x6a, 0x3a, 0xcc, 0x9f, 0x8e, 0x6c,
	0x09, 0xe7, 0xf4, 0x83, 0xcf, 0x02, 0x63, 0xbc, 0x17, 0x4d, 0x52, 0x31, 0x7e, 0x5c, 0x08,
	0x41, 0xaa, 0x1d, 0x0e, 0x3d, 0x52, 0x13, 0x9b, 0xe5, 0x3b, 0xc4, 0xa2, 0x1b, 0x20, 0xf7,
	0x0a, 0x12, 0x96, 0xdc, 0x32, 0xc8, 0x89, 0xb7, 0x8e, 0x11, 0x3a, 0x56, 0x23, 0x7a, 0x8c,
	0x9d};

/* A packet over a fresh heap buffer with exactly the room the data channel needs. */
static uint8_t *pkt_copy(struct sl_pkt *p, const uint8_t *data, size_t size)
{
	uint32_t cap = (uint32_t)size + sl_proto_ovpn_data.headroom + sl_proto_ovpn_data.tailroom;
	uint8_t *mem = malloc(cap);

	check(mem != NULL);
	*p = (struct sl_pkt){.buf = mem, .cap = cap};
	sl_pkt_reset(p, sl_proto_ovpn_data.headroom);
	if (size)
		memcpy(sl_pkt_put(p, (uint32_t)size), data, size);
	return mem;
}

/* The receiving side of the known-answer packets for key ids 1 and 2; AES-128-GCM otherwise. */
static void rx_for_key_id(struct sl_ovpn_sa *rx, uint8_t key_id)
{
	struct sl_ovpn_sa tx;

	if (key_id == 1) /* server -> client, ChaCha20-Poly1305 */
		check(sl_ovpn_sas_from_key2(&tx, rx, kat_key2, SL_OVPN_ROLE_CLIENT,
					    SL_CIPHER_CHACHA20POLY1305, 1, SL_OVPN_PEER_ID_NONE,
					    0) == 0);
	else if (key_id == 2) /* client -> server, AES-256-GCM */
		check(sl_ovpn_sas_from_key2(&tx, rx, kat_key2, SL_OVPN_ROLE_SERVER,
					    SL_CIPHER_AES256GCM, 2, 0x0a0b0c, 0) == 0);
	else
		check(sl_ovpn_sas_from_key2(&tx, rx, kat_key2, SL_OVPN_ROLE_SERVER,
					    SL_CIPHER_AES128GCM, key_id, 0, 0) == 0);
	sl_ovpn_sa_clear(&tx);
}

static void open_received(const uint8_t *data, size_t size)
{
	struct sl_ovpn_class cl;
	struct sl_ovpn_sa rx;
	struct sl_pkt p;
	uint32_t hdr_len;
	uint8_t *mem;

	switch (sl_ovpn_classify(data, size, &cl)) {
	case SL_OVPN_KIND_DATA_V1:
		hdr_len = SL_OVPN_V1_HDR_LEN;
		break;
	case SL_OVPN_KIND_DATA_V2:
		hdr_len = SL_OVPN_V2_HDR_LEN;
		break;
	default:
		return;
	}
	check(size > hdr_len && cl.key_id == sl_ovpn_key_id(data[0]));
	rx_for_key_id(&rx, cl.key_id);
	mem = pkt_copy(&p, data, size);
	if (sl_ovpn_open(&rx, &p) == SL_DROP_NONE) {
		check(p.data == mem + sl_proto_ovpn_data.headroom + hdr_len);
		check(p.len == size - hdr_len);
		(void)sl_ovpn_is_ping(p.data, p.len);
		(void)sl_ovpn_is_occ_exit(p.data, p.len);
	} else {
		check(p.data == mem + sl_proto_ovpn_data.headroom && p.len == size);
	}
	free(mem);
	sl_ovpn_sa_clear(&rx);
}

/* Framing whose decode-then-encode cannot give back the input. */
static bool not_canonical(enum sl_ovpn_comp mode, const uint8_t *data, size_t size)
{
	/* FA or FB alone decodes to nothing, which encodes to nothing */
	if ((mode == SL_OVPN_COMP_LZO_NO || mode == SL_OVPN_COMP_STUB) && size == 1)
		return true;
	/* 50 00 escape in front of a packet that did not need it */
	return mode == SL_OVPN_COMP_STUB_V2 && size >= 2 && data[0] == 0x50 &&
	       (size == 2 || data[2] != 0x50);
}

static void decode_received(const uint8_t *data, size_t size)
{
	for (int m = SL_OVPN_COMP_NONE; m <= SL_OVPN_COMP_STUB_V2; m++) {
		enum sl_ovpn_comp mode = (enum sl_ovpn_comp)m;
		struct sl_pkt p;
		uint8_t *mem = pkt_copy(&p, data, size);

		if (sl_ovpn_comp_decode(mode, &p) != SL_OVPN_COMP_OK) {
			check(p.len == size && memcmp(p.data, data, size) == 0);
		} else {
			check(p.len <= size && size - p.len <= 2);
			check(sl_ovpn_comp_encode(mode, &p) == SL_DROP_NONE);
			if (!not_canonical(mode, data, size))
				check(p.len == size &&
				      (size == 0 || memcmp(p.data, data, size) == 0));
		}
		free(mem);
	}
}

/*
 * Input layout for the round trip: ctl (1) [start packet-id (4)] payload.
 * ctl % 3 picks the cipher, bits 2-3 the compression mode, bit 4 P_DATA_V2,
 * bits 5-7 the key id, bit 1 says a start packet-id follows. The
 * receiver's window trails the start by (start % 16), inside every window.
 */
static void round_trip(const uint8_t *data, size_t size)
{
	enum sl_ovpn_comp mode;
	struct sl_ovpn_sa tx, rx;
	uint32_t start = 0, peer_id;
	enum sl_cipher c;
	struct sl_pkt p;
	enum sl_drop d;
	uint8_t *mem, ctl, kid;

	if (size < 1)
		return;
	ctl = data[0];
	c = (enum sl_cipher)(ctl % SL_CIPHER__COUNT);
	mode = (enum sl_ovpn_comp)((ctl >> 2) & 3);
	peer_id = (ctl & 0x10) ? (uint32_t)ctl << 16 | 0x1234 : SL_OVPN_PEER_ID_NONE;
	kid = (uint8_t)(ctl >> 5);
	data++;
	size--;
	if ((ctl & 0x02) && size >= 4) {
		start = sl_get_be32(data);
		data += 4;
		size -= 4;
	}
	check(sl_ovpn_sas_from_key2(&tx, &rx, kat_key2, SL_OVPN_ROLE_CLIENT, c, kid, peer_id, 0) ==
	      0);
	sl_ovpn_sa_clear(&rx); /* the client's rx is the other direction: use the server's */
	{
		struct sl_ovpn_sa server_tx;

		check(sl_ovpn_sas_from_key2(&server_tx, &rx, kat_key2, SL_OVPN_ROLE_SERVER, c, kid,
					    peer_id, 0) == 0);
		sl_ovpn_sa_clear(&server_tx);
	}
	tx.packet_id = start;
	if (start > start % 16)
		check(sl_replay_update(&rx.dir.replay, start - start % 16));
	mem = pkt_copy(&p, data, size);
	check(sl_ovpn_comp_encode(mode, &p) == SL_DROP_NONE);
	d = sl_ovpn_seal(&tx, &p);
	if (d == SL_DROP_NONE) {
		check(sl_ovpn_near_wrap(&tx) == (tx.packet_id >= SL_OVPN_PACKET_ID_WRAP_TRIGGER));
		check(sl_ovpn_open(&rx, &p) == SL_DROP_NONE);
		check(sl_ovpn_comp_decode(mode, &p) == SL_OVPN_COMP_OK);
		check(p.len == size && (size == 0 || memcmp(p.data, data, size) == 0));
	} else if (d == SL_DROP_MALFORMED) {
		check(size == 0); /* nothing to send */
	} else {
		/* Only an exhausted packet-id may refuse: the buffer always has room. */
		check(d == SL_DROP_NOKEY && start == 0xFFFFFFFFu);
	}
	free(mem);
	sl_ovpn_sa_clear(&tx);
	sl_ovpn_sa_clear(&rx);
}

static void steering(const uint8_t *data, size_t size)
{
	static const uint32_t counts[] = {1, 2, 3, 7, SL_STEER_WORKERS_MAX};
	struct sl_ovpn_class c;
	enum sl_ovpn_kind kind = sl_ovpn_classify(data, size, &c);
	uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		uint32_t n = counts[i], idx = sl_steer_ovpn_index(data, len, n);

		check(idx < n);
		if (kind == SL_OVPN_KIND_DATA_V2)
			check(idx == (c.peer_id == SL_OVPN_PEER_ID_NONE ? 0 : c.peer_id % n));
		else if (kind == SL_OVPN_KIND_DATA_V1 || kind == SL_OVPN_KIND_CONTROL)
			check(idx == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	open_received(data, size);
	decode_received(data, size);
	round_trip(data, size);
	steering(data, size);
	return 0;
}
