// SPDX-License-Identifier: MIT
/*
 * ocpasswd files: a line made by `ocpasswd -c FILE test` (ocserv 1.1.6, password
 * "test", SHA-256 crypt), wrong passwords, unknown and locked users.
 */
#include "ctl/anyconnect/passwd.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const char file[] =
	"alice:*:!$5$BgCdvTZfcbwCe7Mj$kUDnJ1PsmnVeUTgfnoaZhyjYxcb6bvLchdbdt2Z9tMC\n"
	"test:*:$5$BgCdvTZfcbwCe7Mj$kUDnJ1PsmnVeUTgfnoaZhyjYxcb6bvLchdbdt2Z9tMC\n"
	"bob:users\n";

static void check_users(void **state)
{
	size_t n = strlen(file);

	assert_int_equal(sl_ac_passwd_check(file, n, "test", "test"), 0);
	assert_int_equal(sl_ac_passwd_check(file, n, "test", "tesT"), -EACCES);
	assert_int_equal(sl_ac_passwd_check(file, n, "test", ""), -EACCES);
	assert_int_equal(sl_ac_passwd_check(file, n, "tes", "test"), -EACCES);
	assert_int_equal(sl_ac_passwd_check(file, n, "nobody", "test"), -EACCES);
	assert_int_equal(sl_ac_passwd_check(file, n, "alice", "test"), -EPERM);
	assert_int_equal(sl_ac_passwd_check(file, n, "bob", "x"), -EACCES);
	assert_int_equal(sl_ac_passwd_check(file, n, "te:st", "test"), -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
