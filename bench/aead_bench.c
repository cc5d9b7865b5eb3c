// SPDX-License-Identifier: MIT
/*
 * Native cost of one sl_aead_seal and one sl_aead_open, in nanoseconds, for
 * every cipher at 64 and 1400 bytes (8 bytes of AAD as ESP has, 16-byte tag).
 * The machine is shared and noisy, so time is the thread's CPU time (time
 * spent preempted does not count, though caches another process evicted
 * still do), and each figure is the median and the minimum of REPEATS timed
 * runs of ITERS calls each; pin it (taskset -c 1) for steadier numbers.
 *
 *   aead_bench [ITERS [REPEATS]]     defaults 20000 and 31
 *
 * Opening decrypts in place, so every open first copies the sealed packet
 * back into the buffer; that copy is timed alone too and subtracted. Every
 * seal's nonce differs (a counter), as on the wire; every open checks the
 * tag, and a failure stops the program: a fast wrong answer is no answer.
 * Prints one line per cipher, size and operation:
 *   AEAD cipher=aes-256-gcm len=1400 op=seal median_ns=N min_ns=M
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/aead.h"

#define REPEATS_MAX 101

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void put_counter(uint8_t nonce[SL_AEAD_NONCE_LEN], uint64_t n)
{
	for (int i = 0; i < 8; i++)
		nonce[SL_AEAD_NONCE_LEN - 1 - i] = (uint8_t)(n >> (8 * i));
}

enum op { OP_SEAL, OP_OPEN, OP_COPY };

/* ns per call of one timed run of iters calls. */
static double run(enum op op, struct sl_aead *seal, struct sl_aead *open, size_t len, long iters,
		  uint64_t *ctr)
{
	static uint8_t buf[2048], sealed[2048], tag[SL_AEAD_TAG_MAX], sealed_tag[SL_AEAD_TAG_MAX];
	static const uint8_t aad[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
	uint8_t nonce[SL_AEAD_NONCE_LEN] = {0x01, 0x02, 0x03, 0x04};
	uint8_t open_nonce[SL_AEAD_NONCE_LEN] = {0x01, 0x02, 0x03, 0x04};
	double t0, t1;

	put_counter(open_nonce, 0);
	if (op != OP_SEAL) {
		memset(sealed, 0x5a, len);
		if (sl_aead_seal(seal, open_nonce, aad, sizeof(aad), sealed, len, sealed_tag)) {
			fprintf(stderr, "aead_bench: seal failed\n");
			exit(1);
		}
	}
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		switch (op) {
		case OP_SEAL:
			put_counter(nonce, ++*ctr);
			if (sl_aead_seal(seal, nonce, aad, sizeof(aad), buf, len, tag)) {
				fprintf(stderr, "aead_bench: seal failed\n");
				exit(1);
			}
			break;
		case OP_OPEN:
			memcpy(buf, sealed, len);
			if (sl_aead_open(open, open_nonce, aad, sizeof(aad), buf, len,
					 sealed_tag)) {
				fprintf(stderr, "aead_bench: open failed (tag mismatch)\n");
				exit(1);
			}
			break;
		case OP_COPY:
			memcpy(buf, sealed, len);
			/* Keep the copy: without this the compiler may drop it. */
			__asm__ volatile("" : : "r"(buf) : "memory");
			break;
		}
	}
	t1 = now_ns();
	if (op == OP_OPEN && buf[0] != 0x5a) {
		fprintf(stderr, "aead_bench: open gave the wrong plaintext\n");
		exit(1);
	}
	return (t1 - t0) / (double)iters;
}

static void measure(enum op op, struct sl_aead *seal, struct sl_aead *open, size_t len, long iters,
		    int repeats, double *median, double *min)
{
	double v[REPEATS_MAX];
	uint64_t ctr = 0;

	run(op, seal, open, len, iters / 10 + 1, &ctr); /* warm caches, clocks, contexts */
	for (int r = 0; r < repeats; r++)
		v[r] = run(op, seal, open, len, iters, &ctr);
	qsort(v, (size_t)repeats, sizeof(v[0]), cmp_double);
	*median = v[repeats / 2];
	*min = v[0];
}

int main(int argc, char **argv)
{
	static const size_t lens[] = {64, 1400};
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	int repeats = argc > 2 ? atoi(argv[2]) : 31;
	uint8_t key[SL_AEAD_KEY_MAX];

	if (iters < 1 || repeats < 1 || repeats > REPEATS_MAX) {
		fprintf(stderr, "usage: aead_bench [ITERS [REPEATS (1..%d)]]\n", REPEATS_MAX);
		return 2;
	}
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (int c = 0; c < SL_CIPHER__COUNT; c++) {
		size_t klen = sl_cipher_key_len((enum sl_cipher)c);
		struct sl_aead *seal = sl_aead_new((enum sl_cipher)c, key, klen, 16, true);
		struct sl_aead *open = sl_aead_new((enum sl_cipher)c, key, klen, 16, false);

		if (!seal || !open) {
			fprintf(stderr, "aead_bench: sl_aead_new failed\n");
			return 1;
		}
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			double smed, smin, omed, omin, cmed, cmin;

			measure(OP_SEAL, seal, open, lens[l], iters, repeats, &smed, &smin);
			measure(OP_OPEN, seal, open, lens[l], iters, repeats, &omed, &omin);
			measure(OP_COPY, seal, open, lens[l], iters, repeats, &cmed, &cmin);
			printf("AEAD cipher=%s len=%zu op=seal median_ns=%.1f min_ns=%.1f\n",
			       sl_cipher_name((enum sl_cipher)c), lens[l], smed, smin);
			printf("AEAD cipher=%s len=%zu op=open median_ns=%.1f min_ns=%.1f\n",
			       sl_cipher_name((enum sl_cipher)c), lens[l], omed - cmed,
			       omin - cmin);
			fflush(stdout);
		}
		sl_aead_free(seal);
		sl_aead_free(open);
	}
	return 0;
}
