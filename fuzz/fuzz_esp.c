// SPDX-License-Identifier: MIT
/*
 * ESP from the network: the input is a UDP payload on an ESP-in-UDP port.
 * 1. Classify it; if it is ESP, open it with fixed rx SAs (the keys of the
 *    GCM vector A and RFC 7634 Appendix A packets, so seeds and mutations of
 *    them get past the tag).
 * 2. Seal the input as an inner packet and open it again: the payload and
 *    next header must come back unchanged, or the target aborts.
 * Every SA is made per input so no state leaks from one input to the next.
 */
#include "proto/esp.h"

#include "core/bytes.h"
#include "proto/proto.h"

#include <stdlib.h>
#include <string.h>

struct fixed_sa {
	enum sl_cipher cipher;
	uint8_t key[32];
	uint8_t salt[SL_ESP_SALT_LEN];
	uint32_t spi;
	bool esn;
};

static const struct fixed_sa fixed_rx[] = {
	{SL_CIPHER_AES128GCM,
	 {0xab, 0xbc, 0xcd, 0xde, 0xf0, 0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a,
	  0xab},
	 {0xde, 0xca, 0xf8, 0x88},
	 0x00000100,
	 true},
	{SL_CIPHER_CHACHA20POLY1305,
	 {0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
	  0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	  0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f},
	 {0xa0, 0xa1, 0xa2, 0xa3},
	 0x01020304,
	 false},
};

#define N_FIXED (sizeof(fixed_rx) / sizeof(fixed_rx[0]))

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void sa_make(struct sl_esp_sa *sa, const struct fixed_sa *f, bool tx)
{
	check(sl_esp_sa_init(sa, f->cipher, f->key, sl_cipher_key_len(f->cipher), f->salt, f->spi,
			     f->esn, tx, 0) == 0);
}

/* A packet over a fresh heap buffer with exactly the room ESP needs, holding a copy of data. */
static uint8_t *pkt_copy(struct sl_pkt *p, const uint8_t *data, size_t size)
{
	uint32_t cap = (uint32_t)size + sl_proto_esp.headroom + sl_proto_esp.tailroom;
	uint8_t *mem = malloc(cap);

	check(mem != NULL);
	*p = (struct sl_pkt){.buf = mem, .cap = cap};
	sl_pkt_reset(p, sl_proto_esp.headroom);
	if (size)
		memcpy(sl_pkt_put(p, (uint32_t)size), data, size);
	return mem;
}

static void open_received(const uint8_t *data, size_t size)
{
	const struct fixed_sa *f = &fixed_rx[0];
	struct sl_esp_sa rx;
	struct sl_pkt p;
	uint8_t *mem, nh;

	if (sl_esp_classify(data, size) != SL_ESP_KIND_ESP)
		return;
	for (size_t i = 0; i < N_FIXED; i++)
		if (fixed_rx[i].spi == sl_esp_spi(data))
			f = &fixed_rx[i];
	sa_make(&rx, f, false);
	mem = pkt_copy(&p, data, size);
	if (sl_esp_open(&rx, &p, &nh) == SL_DROP_NONE)
		check(p.data == mem + sl_proto_esp.headroom + SL_ESP_HDR_LEN &&
		      p.len + SL_ESP_HDR_LEN + 2 + 16 <= size);
	else
		check(p.data == mem + sl_proto_esp.headroom && p.len == size);
	free(mem);
	sl_esp_sa_clear(&rx);
}

/*
 * Input layout for the round trip: ctl (1) [start seq (8)] payload.
 * ctl % 3 picks the cipher, bit 4 ESN, bit 5 says a start sequence number
 * follows; the receiver's window then trails it by (start % 256) * 15, well
 * inside the default window, so the high half is always inferable.
 */
static void round_trip(const uint8_t *data, size_t size)
{
	struct fixed_sa ours = {.salt = {1, 2, 3, 4}, .spi = 0x0a0b0c0d};
	struct sl_esp_sa tx, rx;
	struct sl_pkt p;
	uint8_t *mem, nh, out_nh = 0;
	uint64_t start = 0, lag;
	enum sl_drop d;

	if (size < 1)
		return;
	ours.cipher = (enum sl_cipher)(data[0] % SL_CIPHER__COUNT);
	ours.esn = data[0] & 0x10;
	memcpy(ours.key, fixed_rx[1].key, sizeof(ours.key));
	if ((data[0] & 0x20) && size >= 9) {
		start = sl_get_be64(data + 1);
		if (!ours.esn)
			start &= 0xffffffffu;
		data += 8;
		size -= 8;
	}
	data++;
	size--;
	sa_make(&tx, &ours, true);
	sa_make(&rx, &ours, false);
	tx.seq = start;
	lag = start % 256 * 15;
	if (start > lag)
		check(sl_replay_update(&rx.dir.replay, start - lag));
	nh = sl_esp_nh_for_ip(data, size);
	if (!nh)
		nh = SL_ESP_NH_NONE;
	mem = pkt_copy(&p, data, size);
	d = sl_esp_seal(&tx, &p, nh);
	if (d == SL_DROP_NONE) {
		check(sl_esp_open(&rx, &p, &out_nh) == SL_DROP_NONE);
		check(p.len == size && (size == 0 || memcmp(p.data, data, size) == 0));
		check(out_nh == nh);
	} else {
		/* Only an exhausted counter may refuse: the buffer always has room. */
		check(d == SL_DROP_NOKEY && start == (ours.esn ? UINT64_MAX : 0xffffffffu));
	}
	free(mem);
	sl_esp_sa_clear(&tx);
	sl_esp_sa_clear(&rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	open_received(data, size);
	round_trip(data, size);
	return 0;
}
