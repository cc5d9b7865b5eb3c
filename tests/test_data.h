/* SPDX-License-Identifier: MIT */
/*
 * Test helper: read a file of tests/data/ovpn/ (or of $SL_TEST_DATA), wherever
 * the build directory is. Include after <cmocka.h>.
 */
#ifndef SL_TESTS_TEST_DATA_H
#define SL_TESTS_TEST_DATA_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void test_data_path(const char *name, char *out, size_t cap)
{
	const char *env = getenv("SL_TEST_DATA");
	char here[PATH_MAX], exe[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(out, cap, "%s/%s", env, name);
		return;
	}
	/* This header's own path as the compiler saw it: absolute, or relative to the build
	 * directory (meson compiles from there), which is two levels above BUILD/tests/test_X. */
	snprintf(here, sizeof(here), "%s", __FILE__);
	*strrchr(here, '/') = '\0';
	if (here[0] == '/') {
		snprintf(out, cap, "%s/data/ovpn/%s", here, name);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	for (int up = 0; up < 2; up++)
		*strrchr(exe, '/') = '\0';
	snprintf(out, cap, "%.2000s/%.1000s/data/ovpn/%.200s", exe, here, name);
}

/* The whole file, NUL-terminated, in a static buffer (valid until the next call). */
static inline char *test_data_read(const char *name, size_t *len)
{
	static char buf[64 * 1024];
	char path[PATH_MAX + 64];
	FILE *f;

	test_data_path(name, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

#endif
