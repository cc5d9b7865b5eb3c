// SPDX-License-Identifier: MIT
/*
 * Dropping root and the seccomp allowlist. Each case that changes the
 * process's credentials runs in a forked child, which reports what it saw
 * through its exit status (0 = all checks held, else the number of the check
 * that failed) or, for the seccomp kill, through the signal that ended it.
 * Cases that need root skip when not run as root.
 */
#include "cli/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define NET_ADMIN_MASK (UINT64_C(1) << CAP_NET_ADMIN)

/* Root with the nobody account present, or the case is skipped. */
static bool can_drop(void)
{
	return geteuid() == 0 && getpwnam(SL_PRIVDROP_DEFAULT_USER);
}

/* A field of /proc/self/status, read through fd opened before any filter. */
static bool status_field(int fd, const char *name, char *out, size_t out_len)
{
	char buf[4096], *line;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t name_len = strlen(name);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, name, name_len) && line[name_len] == ':') {
			line += name_len + 1;
			line += strspn(line, " \t");
			snprintf(out, out_len, "%.*s", (int)strcspn(line, "\n"), line);
			return true;
		}
	}
	return false;
}

static bool status_is(int fd, const char *name, const char *want)
{
	char got[128];

	return status_field(fd, name, got, sizeof(got)) && !strcmp(got, want);
}

/* Run fn in a child; its wait status. */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_child_ok(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("child failed check %d", WEXITSTATUS(status));
}

static int drop_everything(void)
{
	char err[256];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || sl_privdrop("nobody", err, sizeof(err)) < 0)
		return 1;
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0)
		return 2;
	if (!status_is(fd, "CapEff", "0000000000000000") ||
	    !status_is(fd, "CapPrm", "0000000000000000") ||
	    !status_is(fd, "CapBnd", "0000000000000000") ||
	    !status_is(fd, "CapAmb", "0000000000000000"))
		return 3;
	if (!status_is(fd, "NoNewPrivs", "1"))
		return 4;
	if (setuid(0) == 0 || errno != EPERM)
		return 5;
	if (setgid(0) == 0)
		return 6;
	return 0;
}

static void server_drops_every_capability(void **state)
{
	if (!can_drop())
		skip();
	assert_child_ok(in_child(drop_everything));
}

static int keep_net_admin(void)
{
	char err[256];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	int nl;

	if (fd < 0 || sl_privdrop_keep("nobody", NET_ADMIN_MASK, err, sizeof(err)) < 0)
		return 1;
	if (getuid() == 0 || geteuid() == 0)
		return 2;
	if (!status_is(fd, "CapEff", "0000000000001000") ||
	    !status_is(fd, "CapPrm", "0000000000001000") ||
	    !status_is(fd, "CapBnd", "0000000000001000") ||
	    !status_is(fd, "CapInh", "0000000000000000"))
		return 3;
	if (setuid(0) == 0)
		return 4;
	/* What the client needs it for: rtnetlink requests still open. */
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (nl < 0)
		return 5;
	close(nl);
	return 0;
}

static void client_keeps_only_net_admin(void **state)
{
	if (!can_drop())
		skip();
	assert_child_ok(in_child(keep_net_admin));
}

static int drop_then_filter(void)
{
	char err[256];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || sl_privdrop("nobody", err, sizeof(err)) < 0)
		return 1;
	if (sl_seccomp_install(err, sizeof(err)) < 0)
		return 2;
	if (!status_is(fd, "Seccomp", "2"))
		return 3;
	/* Allowed calls still work: sockets of the families the tunnel uses. */
	for (int family = AF_INET; family <= AF_INET6; family += AF_INET6 - AF_INET) {
		int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			return 4;
		close(s);
	}
	return 0;
}

static void seccomp_mode_is_filter(void **state)
{
	if (!can_drop())
		skip();
	assert_child_ok(in_child(drop_then_filter));
}

static int filtered_ptrace(void)
{
	char err[256];

	if (sl_seccomp_install(err, sizeof(err)) < 0)
		return 1;
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
	return 2; /* still alive: the filter let it through */
}

static int filtered_mount(void)
{
	char err[256];

	if (sl_privdrop("nobody", err, sizeof(err)) < 0 || sl_seccomp_install(err, sizeof(err)) < 0)
		return 1;
	syscall(SYS_mount, "none", "/mnt", "tmpfs", 0UL, NULL);
	return 2;
}

static int filtered_packet_socket(void)
{
	char err[256];

	if (sl_seccomp_install(err, sizeof(err)) < 0)
		return 1;
	socket(AF_PACKET, SOCK_RAW, 0);
	return 2;
}

static int filtered_exec_mapping(void)
{
	char err[256];

	if (sl_seccomp_install(err, sizeof(err)) < 0)
		return 1;
	if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	    MAP_FAILED)
		return 2; /* plain memory must still work */
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 3;
}

/* The control socket's SO_PEERCRED check compares the caller with geteuid() after the drop. */
static int filtered_geteuid(void)
{
	char err[256];

	if (sl_seccomp_install(err, sizeof(err)) < 0)
		return 1;
	return geteuid() == (uid_t)-1 ? 2 : 0;
}

static void assert_killed_by_sigsys(int status)
{
	if (WIFEXITED(status))
		fail_msg("child exited with %d instead of dying of SIGSYS", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* The filter needs no privilege (NO_NEW_PRIVS), so these also run unprivileged. */
static void ptrace_kills_with_sigsys(void **state)
{
	assert_killed_by_sigsys(in_child(filtered_ptrace));
}

static void mount_kills_with_sigsys(void **state)
{
	if (!can_drop())
		skip();
	assert_killed_by_sigsys(in_child(filtered_mount));
}

static void packet_socket_kills_with_sigsys(void **state)
{
	assert_killed_by_sigsys(in_child(filtered_packet_socket));
}

static void exec_mapping_kills_with_sigsys(void **state)
{
	assert_killed_by_sigsys(in_child(filtered_exec_mapping));
}

static void geteuid_is_allowed(void **state)
{
	assert_child_ok(in_child(filtered_geteuid));
}

static void root_and_empty_keep_root(void **state)
{
	char err[64] = "";

	assert_true(sl_privdrop_keeps_root("root"));
	assert_true(sl_privdrop_keeps_root(""));
	assert_true(sl_privdrop_keeps_root(NULL));
	assert_false(sl_privdrop_keeps_root("nobody"));
	/* Nothing changes, whoever runs the test. */
	uid_t before = geteuid();
	assert_int_equal(sl_privdrop("root", err, sizeof(err)), 0);
	assert_int_equal(geteuid(), before);
}

static void unknown_user_is_named(void **state)
{
	char err[256] = "";
	int r;

	if (geteuid() != 0)
		skip();
	r = sl_privdrop("no-such-user-sluice", err, sizeof(err));
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(err, "no-such-user-sluice"));
	assert_int_equal(geteuid(), 0);
}

/* A group other than nobody's own: daemon, or users; 0 when neither exists. */
static gid_t other_group(const char **name)
{
	static const char *const names[] = {"daemon", "users"};
	struct passwd *pw = getpwnam(SL_PRIVDROP_DEFAULT_USER);

	for (size_t i = 0; pw && i < sizeof(names) / sizeof(names[0]); i++) {
		struct group *g = getgrnam(names[i]);

		if (g && g->gr_gid != 0 && g->gr_gid != pw->pw_gid) {
			*name = names[i];
			return g->gr_gid;
		}
	}
	return 0;
}

static int drop_to_group(void)
{
	char err[256];
	const char *name = NULL;
	gid_t want = other_group(&name);
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	gid_t r, e, s;

	if (!want || fd < 0 || sl_privdrop_keep_group("nobody", name, 0, err, sizeof(err)) < 0)
		return 1;
	if (getresgid(&r, &e, &s) < 0 || r != want || e != want || s != want)
		return 2;
	if (getgroups(0, NULL) != 0)
		return 3;
	if (!status_is(fd, "CapEff", "0000000000000000") || setgid(0) == 0)
		return 4;
	return 0;
}

/* OpenVPN's 'group': the gid given replaces the user's primary group, and nothing else. */
static void group_replaces_the_primary_group(void **state)
{
	const char *name;

	if (!can_drop() || !other_group(&name))
		skip();
	assert_child_ok(in_child(drop_to_group));
}

static void bad_groups_are_refused(void **state)
{
	char err[256] = "";

	if (geteuid() != 0 || !getpwnam(SL_PRIVDROP_DEFAULT_USER))
		skip();
	assert_int_equal(
		sl_privdrop_keep_group("nobody", "no-such-group-sluice", 0, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "no-such-group-sluice"));
	assert_int_equal(sl_privdrop_keep_group("nobody", "root", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "gid 0"));
	/* refused before anything changed */
	assert_int_equal(geteuid(), 0);
	assert_int_equal(getegid(), 0);
}

static void not_root_is_eperm(void **state)
{
	char err[256] = "";

	if (geteuid() == 0)
		skip();
	assert_int_equal(sl_privdrop("nobody", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "needs root"));
}

static void unknown_capability_is_einval(void **state)
{
	char err[256] = "";

	assert_int_equal(sl_privdrop_keep("nobody", UINT64_C(1) << 63, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "capability"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_drops_every_capability),
		cmocka_unit_test(client_keeps_only_net_admin),
		cmocka_unit_test(seccomp_mode_is_filter),
		cmocka_unit_test(ptrace_kills_with_sigsys),
		cmocka_unit_test(mount_kills_with_sigsys),
		cmocka_unit_test(packet_socket_kills_with_sigsys),
		cmocka_unit_test(exec_mapping_kills_with_sigsys),
		cmocka_unit_test(geteuid_is_allowed),
		cmocka_unit_test(root_and_empty_keep_root),
		cmocka_unit_test(unknown_user_is_named),
		cmocka_unit_test(not_root_is_eperm),
		cmocka_unit_test(unknown_capability_is_einval),
		cmocka_unit_test(group_replaces_the_primary_group),
		cmocka_unit_test(bad_groups_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
