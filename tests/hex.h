/* SPDX-License-Identifier: MIT */
/* Test helper: decode known-answer vectors written as hex. Include after <cmocka.h>. */
#ifndef SL_TESTS_HEX_H
#define SL_TESTS_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Decode a hex string into out (failing the test on bad input); returns the byte count. */
static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned int b;

		assert_true(n < cap);
		assert_int_equal(sscanf(s, "%2x", &b), 1);
		out[n++] = (uint8_t)b;
	}
	assert_int_equal(*s, '\0');
	return n;
}

#endif
