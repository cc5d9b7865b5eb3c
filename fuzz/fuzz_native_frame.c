// SPDX-License-Identifier: MIT
/*
 * The native protocol's decoders on arbitrary bytes: the frame reader fed
 * in uneven chunks (the same frames must come out as from one parse of the
 * whole), and every control payload parser on every frame's payload. What
 * parses must build and parse back to the same message.
 */
#include "ctl/native/frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_hello(const uint8_t *p, size_t len)
{
	struct sl_nhello h, again;
	char buf[512], err[128];
	int n;

	if (sl_nhello_parse(p, len, &h, err, sizeof(err)) < 0 || h.n_ciphers == 0)
		return;
	n = sl_nhello_build(&h, buf, sizeof(buf));
	if (n < 0 || sl_nhello_parse((uint8_t *)buf, (size_t)n, &again, NULL, 0) < 0 ||
	    memcmp(&h, &again, sizeof(h)) != 0)
		abort();
}

static void check_config(const uint8_t *p, size_t len)
{
	struct sl_nconfig c, again;
	char buf[8192], err[128];
	int n;

	memset(&c, 0, sizeof(c));
	if (sl_nconfig_parse(p, len, &c, err, sizeof(err)) < 0)
		return;
	n = sl_nconfig_build(&c, buf, sizeof(buf));
	if (n < 0 || sl_nconfig_parse((uint8_t *)buf, (size_t)n, &again, NULL, 0) < 0 ||
	    memcmp(&c, &again, sizeof(c)) != 0)
		abort();
}

static void check_rekey(const uint8_t *p, size_t len)
{
	struct sl_nrekey k, again;
	char buf[128], reason[64];
	uint32_t epoch, epoch2;
	int n;

	if (sl_nrekey_parse(p, len, &k, NULL, 0) == 0) {
		n = sl_nrekey_build(&k, buf, sizeof(buf));
		if (n < 0 || sl_nrekey_parse((uint8_t *)buf, (size_t)n, &again, NULL, 0) < 0 ||
		    memcmp(&k, &again, sizeof(k)) != 0)
			abort();
	}
	if (sl_nrekey_ack_parse(p, len, &epoch, NULL, 0) == 0) {
		n = sl_nrekey_ack_build(epoch, buf, sizeof(buf));
		if (n < 0 || sl_nrekey_ack_parse((uint8_t *)buf, (size_t)n, &epoch2, NULL, 0) < 0 ||
		    epoch != epoch2)
			abort();
	}
	sl_nbye_reason(p, len, reason, sizeof(reason));
	if (strlen(reason) >= sizeof(reason))
		abort();
}

static void check_payload(const struct sl_nframe *f)
{
	check_hello(f->payload, f->len);
	check_config(f->payload, f->len);
	check_rekey(f->payload, f->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_nframe_reader r; /* 82 KiB: not on the stack */
	struct sl_nframe f, g;
	size_t off = 0, whole = 0, chunk;

	if (size == 0)
		return 0;
	/* The first byte picks a chunk size, so frames straddle feeds in many ways. */
	chunk = (size_t)data[0] % 97 + 1;
	data++;
	size--;
	sl_nframe_reader_init(&r);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (sl_nframe_reader_feed(&r, data + off, n) != n)
			abort(); /* the reader always has room after handing out whole frames */
		off += n;
		while (sl_nframe_reader_next(&r, &f)) {
			size_t used = sl_nframe_parse(data + whole, size - whole, &g);

			if (!used || g.type != f.type || g.len != f.len ||
			    memcmp(g.payload, f.payload, f.len) != 0)
				abort();
			whole += used;
			check_payload(&f);
		}
	}
	/* Whatever is left is an incomplete frame. */
	if (sl_nframe_parse(data + whole, size - whole, &g) != 0)
		abort();
	return 0;
}
