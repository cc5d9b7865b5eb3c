// SPDX-License-Identifier: MIT
/*
 * The vpnc-script runner: which variables it passes on, a script run through
 * the forked runner and in process (its environment and exit status), a
 * refused environment never reaching the script, and the runner's exit once
 * its socket is closed.
 */
#include "ctl/anyconnect/vpnc_runner.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64], script[128], out[128];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-vpnc-runner.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(script, sizeof(script), "%s/script.sh", dir);
	snprintf(out, sizeof(out), "%s/env", dir);
	f = fopen(script, "w");
	if (!f)
		return -1;
	/* records what a vpnc-script is given, and fails with 3 on "disconnect" */
	fprintf(f,
		"#!/bin/sh\necho \"$reason $TUNDEV $INTERNAL_IP4_ADDRESS ${LD_PRELOAD:-none}\" "
		">>%s\n[ \"$reason\" = disconnect ] && exit 3\nexit 0\n",
		out);
	fclose(f);
	return chmod(script, 0755);
}

static int teardown(void **state)
{
	(void)state;
	unlink(script);
	unlink(out);
	return rmdir(dir);
}

static void read_out(char *buf, size_t cap)
{
	FILE *f = fopen(out, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
	unlink(out);
}

static void allowed_names(void **state)
{
	(void)state;
	assert_true(sl_vpnc_env_allowed("reason=connect"));
	assert_true(sl_vpnc_env_allowed("reason=attempt-reconnect"));
	assert_true(sl_vpnc_env_allowed("TUNDEV=slac0"));
	assert_true(sl_vpnc_env_allowed("INTERNAL_IP4_ADDRESS=198.19.0.2"));
	assert_true(sl_vpnc_env_allowed("INTERNAL_IP6_NETMASK=2001:db8::2/64"));
	assert_true(sl_vpnc_env_allowed("CISCO_SPLIT_INC_0_ADDR=198.19.0.0"));
	assert_true(sl_vpnc_env_allowed("CISCO_BANNER="));
	assert_false(sl_vpnc_env_allowed("reason=rm -rf"));
	assert_false(sl_vpnc_env_allowed("LD_PRELOAD=/tmp/x.so"));
	assert_false(sl_vpnc_env_allowed("PATH=/tmp"));
	assert_false(sl_vpnc_env_allowed("INTERNAL_IP4_=x")); /* a prefix alone is no name */
	assert_false(sl_vpnc_env_allowed("CISCO_X-Y=1"));
	assert_false(sl_vpnc_env_allowed("TUNDEV"));
	assert_false(sl_vpnc_env_allowed("=x"));
	assert_false(sl_vpnc_env_allowed("TUNDEVX=1"));
}

static void run_both_ways(struct sl_vpnc_runner *r)
{
	char *connect[] = {"reason=connect", "TUNDEV=slac7", "INTERNAL_IP4_ADDRESS=198.19.0.9"};
	char *disconnect[] = {"reason=disconnect", "TUNDEV=slac7"};
	char got[256];

	assert_int_equal(sl_vpnc_run(r, script, connect, 3), 0);
	read_out(got, sizeof(got));
	assert_string_equal(got, "connect slac7 198.19.0.9 none\n");
	assert_int_equal(sl_vpnc_run(r, script, disconnect, 2), 3);
	read_out(got, sizeof(got));
	assert_string_equal(got, "disconnect slac7  none\n");
}

static void in_process(void **state)
{
	(void)state;
	run_both_ways(NULL);
}

static void through_the_runner(void **state)
{
	struct sl_vpnc_runner *r;
	char *evil[] = {"reason=connect", "LD_PRELOAD=/tmp/evil.so"};
	char got[256];
	pid_t reaped = 0;

	(void)state;
	assert_int_equal(sl_vpnc_runner_start(&r, script), 0);
	run_both_ways(r);
	/* refused as a whole: the script does not run */
	assert_int_equal(sl_vpnc_run(r, script, evil, 2), -EPERM);
	read_out(got, sizeof(got));
	assert_string_equal(got, "");
	/* and the runner still serves the next request */
	run_both_ways(r);
	sl_vpnc_runner_free(r);
	/* closing its socket ends it (bounded: 5 s) */
	for (int i = 0; i < 500 && reaped <= 0; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		reaped = waitpid(-1, NULL, WNOHANG);
		if (reaped <= 0)
			nanosleep(&ts, NULL);
	}
	assert_true(reaped > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_names),
		cmocka_unit_test(in_process),
		cmocka_unit_test(through_the_runner),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
