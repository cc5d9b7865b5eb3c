// SPDX-License-Identifier: MIT
/*
 * The ocpasswd file kept open across the privilege drop
 * (ctl/anyconnect/passwd_file.c): edits in place are seen through the kept
 * fd, a file renamed over it (what ocpasswd does) is seen when it can be
 * opened, and when it cannot (after the drop, mode 0600 root) the old
 * contents are used and flagged stale. The last case runs in a child that
 * becomes nobody, the parent (root) changing the file between its reads.
 */
#include "ctl/anyconnect/passwd_file.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static char dir[64], path[128];

static void put(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Write text to a new file and rename it over path, as ocpasswd does. */
static void replace(const char *text, mode_t mode)
{
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	put(tmp, text, mode);
	assert_int_equal(rename(tmp, path), 0);
}

/* 1: text equals want and stale is want_stale; 0 otherwise. */
static int reads(struct sl_ac_passwd_file *pf, const char *want, bool want_stale)
{
	char *text = NULL;
	size_t len = 0;
	bool stale = !want_stale;
	int ok = sl_ac_passwd_file_read(pf, &text, &len, &stale) == 0 && len == strlen(want) &&
		 !strcmp(text, want) && stale == want_stale;

	free(text);
	return ok;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-pwfile-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0711) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/ocpasswd", dir);
	return 0;
}

static int teardown(void **state)
{
	char tmp[160];

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void edit_in_place_is_seen(void **state)
{
	struct sl_ac_passwd_file pf;
	char err[128];

	(void)state;
	put(path, "alice::$5$a\n", 0600);
	assert_int_equal(sl_ac_passwd_file_open(&pf, path, err, sizeof(err)), 0);
	assert_true(reads(&pf, "alice::$5$a\n", false));
	put(path, "bob::$5$b\n", 0600); /* truncated and rewritten: the same file */
	assert_true(reads(&pf, "bob::$5$b\n", false));
	assert_true(
		reads(&pf, "bob::$5$b\n", false)); /* read from 0 again, not from where it was */
	sl_ac_passwd_file_close(&pf);
}

static void renamed_replacement_is_seen_when_it_opens(void **state)
{
	struct sl_ac_passwd_file pf;
	char err[128];

	(void)state;
	put(path, "alice::$5$a\n", 0600);
	assert_int_equal(sl_ac_passwd_file_open(&pf, path, err, sizeof(err)), 0);
	replace("alice::$5$new\n", 0600);
	assert_true(reads(&pf, "alice::$5$new\n", false));
	sl_ac_passwd_file_close(&pf);
}

static void missing_file_is_named(void **state)
{
	struct sl_ac_passwd_file pf;
	char err[256] = "";

	(void)state;
	unlink(path);
	assert_int_equal(sl_ac_passwd_file_open(&pf, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

struct want {
	const char *text;
	bool stale;
};

/* What nobody reads after each of the parent's changes (after_the_drop_the_fd_still_reads). */
static const struct want searchable[] = {
	{"a:x:1\n", false}, /* as nobody: the path does not open, the fd reads */
	{"c:x:3\n", false}, /* edited in place by root */
	{"c:x:3\n", true},  /* replaced by a 0600 file: old contents, stale */
	{"c:x:3\n", true},  /* still (said once only) */
	{"d:x:4\n", false}, /* the replacement made readable: taken */
};
/* The same with the directory 0700: a replacement cannot even be noticed (a warning says so). */
static const struct want unsearchable[] = {
	{"a:x:1\n", false}, {"c:x:3\n", false}, {"c:x:3\n", false},
	{"c:x:3\n", false}, {"c:x:3\n", false},
};
static const struct want *want = searchable;
#define N_STEPS (sizeof(searchable) / sizeof(searchable[0]))

/* Child: one step per byte from the parent, one byte back after each. */
static int child_steps(int from_parent, int to_parent)
{
	struct passwd *pw = getpwnam("nobody");
	struct sl_ac_passwd_file pf;
	char err[128], c;

	if (!pw || sl_ac_passwd_file_open(&pf, path, err, sizeof(err)) < 0)
		return 90;
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return 91;
	if (open(path, O_RDONLY) >= 0)
		return 92; /* the test would prove nothing */
	for (size_t i = 0; i < N_STEPS; i++) {
		if (read(from_parent, &c, 1) != 1)
			return 93;
		if (!reads(&pf, want[i].text, want[i].stale))
			return (int)i + 1;
		if (write(to_parent, "k", 1) != 1)
			return 94;
	}
	return 0;
}

static void step(int to_child, int from_child)
{
	char c;

	assert_int_equal(write(to_child, "g", 1), 1);
	assert_int_equal(read(from_child, &c, 1), 1);
}

static void run_steps(void)
{
	int down[2], up[2], status;
	pid_t pid;

	put(path, "a:x:1\n", 0600);
	assert_int_equal(pipe(down), 0);
	assert_int_equal(pipe(up), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_steps(down[0], up[1]));
	close(down[0]);
	close(up[1]);
	step(down[1], up[0]);
	put(path, "c:x:3\n", 0600);
	step(down[1], up[0]);
	replace("d:x:4\n", 0600);
	step(down[1], up[0]);
	step(down[1], up[0]);
	assert_int_equal(chmod(path, 0644), 0);
	step(down[1], up[0]);
	close(down[1]);
	close(up[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("child failed at step %d", WEXITSTATUS(status));
}

static void after_the_drop_the_fd_still_reads(void **state)
{
	(void)state;
	if (geteuid() != 0 || !getpwnam("nobody"))
		skip();
	want = searchable;
	run_steps();
}

static void unsearchable_directory_keeps_the_fd(void **state)
{
	(void)state;
	if (geteuid() != 0 || !getpwnam("nobody"))
		skip();
	assert_int_equal(chmod(dir, 0700), 0);
	want = unsearchable;
	run_steps();
	assert_int_equal(chmod(dir, 0711), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(edit_in_place_is_seen),
		cmocka_unit_test(renamed_replacement_is_seen_when_it_opens),
		cmocka_unit_test(missing_file_is_named),
		cmocka_unit_test(after_the_drop_the_fd_still_reads),
		cmocka_unit_test(unsearchable_directory_keeps_the_fd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
