// SPDX-License-Identifier: MIT
/*
 * Dropping root after set-up (the policy is in privdrop.h). The order
 * matters: the bounding set can only be reduced while CAP_SETPCAP is held
 * (before setuid), and capabilities survive setuid only with KEEPCAPS.
 * Capabilities go through the raw capget/capset system calls so that no
 * libcap is needed.
 */
#include "cli/privdrop.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PASSWD_BUF_LEN 4096

struct identity {
	uid_t uid;
	gid_t gid;
};

/* A check that did not hold, in err; -EPERM. */
static int refuse(char *err, size_t err_len, const char *what)
{
	if (err_len)
		snprintf(err, err_len, "%s", what);
	return -EPERM;
}

/* "WHAT: strerror(-r)" into err; returns r. */
static int fail(char *err, size_t err_len, int r, const char *what)
{
	if (err_len)
		snprintf(err, err_len, "%s: %s", what, strerror(-r));
	return r;
}

bool sl_privdrop_keeps_root(const char *user)
{
	return !user || !user[0] || !strcmp(user, "root");
}

static int lookup_user(const char *user, struct identity *id, char *err, size_t err_len)
{
	char buf[PASSWD_BUF_LEN];
	struct passwd pw, *found = NULL;
	int r = getpwnam_r(user, &pw, buf, sizeof(buf), &found);

	if (r || !found) {
		if (err_len)
			snprintf(err, err_len, "User %s: %s", user,
				 r ? strerror(r) : "no such user in the password database");
		return r ? -r : -ENOENT;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		if (err_len)
			snprintf(err, err_len, "User %s: has uid or gid 0, that would keep root",
				 user);
		return -EINVAL;
	}
	id->uid = pw.pw_uid;
	id->gid = pw.pw_gid;
	return 0;
}

/* group, when given, replaces the user's primary group. */
static int lookup_group(const char *group, struct identity *id, char *err, size_t err_len)
{
	char buf[PASSWD_BUF_LEN];
	struct group gr, *found = NULL;
	int r = getgrnam_r(group, &gr, buf, sizeof(buf), &found);

	if (r || !found) {
		if (err_len)
			snprintf(err, err_len, "Group %s: %s", group,
				 r ? strerror(r) : "no such group in the group database");
		return r ? -r : -ENOENT;
	}
	if (gr.gr_gid == 0) {
		if (err_len)
			snprintf(err, err_len, "Group %s: has gid 0, that would keep root's group",
				 group);
		return -EINVAL;
	}
	id->gid = gr.gr_gid;
	return 0;
}

/* Every capability the kernel knows of, except the kept ones, leaves the bounding set. */
static int reduce_bounding_set(uint64_t keep)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		if (keep & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL) /* past the kernel's last capability */
				return 0;
			return -errno;
		}
	}
	return 0;
}

static int become(const struct identity *id)
{
	if (setgroups(0, NULL) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0)
		return -errno;
	return 0;
}

static int set_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		data[i].permitted = (uint32_t)(keep >> (32 * i));
		data[i].effective = data[i].permitted;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

static int get_caps(uint64_t *permitted, uint64_t *effective, uint64_t *inheritable)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	*permitted = data[0].permitted | (uint64_t)data[1].permitted << 32;
	*effective = data[0].effective | (uint64_t)data[1].effective << 32;
	*inheritable = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	return 0;
}

/* Trust nothing above: root must be out of reach, and only keep may remain. */
static int verify(const struct identity *id, uint64_t keep, char *err, size_t err_len)
{
	uint64_t p = 0, e = 0, i = 0;
	int r;

	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		return refuse(err, err_len, "root could be regained");
	if (getuid() != id->uid || geteuid() != id->uid || getgid() != id->gid ||
	    getegid() != id->gid)
		return refuse(err, err_len, "user or group did not change");
	r = get_caps(&p, &e, &i);
	if (r < 0)
		return fail(err, err_len, r, "capget");
	/* The kernel keeps ambient within inheritable, so i == 0 means no ambient either. */
	if (p != keep || e != keep || i != 0)
		return refuse(err, err_len, "capabilities left over");
	return 0;
}

static int drop_to(const struct identity *id, uint64_t keep, char *err, size_t err_len)
{
	int r;

	if ((r = reduce_bounding_set(keep)) < 0)
		return fail(err, err_len, r, "cannot reduce the capability bounding set");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(err, err_len, -errno, "cannot clear ambient capabilities");
	if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(err, err_len, -errno, "PR_SET_KEEPCAPS");
	if ((r = become(id)) < 0)
		return fail(err, err_len, r, "cannot change user and group");
	if ((r = set_caps(keep)) < 0)
		return fail(err, err_len, r, "cannot set capabilities");
	if (keep && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail(err, err_len, -errno, "PR_SET_KEEPCAPS");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, err_len, -errno, "PR_SET_NO_NEW_PRIVS");
	return verify(id, keep, err, err_len);
}

int sl_privdrop_keep(const char *user, uint64_t keep_caps, char *err, size_t err_len)
{
	return sl_privdrop_keep_group(user, NULL, keep_caps, err, err_len);
}

int sl_privdrop_keep_group(const char *user, const char *group, uint64_t keep_caps, char *err,
			   size_t err_len)
{
	struct identity id;
	int r;

	if (sl_privdrop_keeps_root(user))
		return 0;
	if (keep_caps >> (CAP_LAST_CAP + 1)) {
		if (err_len)
			snprintf(err, err_len, "unknown capability in mask 0x%llx",
				 (unsigned long long)keep_caps);
		return -EINVAL;
	}
	if (geteuid() != 0) {
		if (err_len)
			snprintf(err, err_len, "User %s: switching user needs root", user);
		return -EPERM;
	}
	r = lookup_user(user, &id, err, err_len);
	if (r == 0 && group && group[0])
		r = lookup_group(group, &id, err, err_len);
	if (r < 0)
		return r;
	r = drop_to(&id, keep_caps, err, err_len);
	if (r < 0 && err_len) {
		char what[256];

		snprintf(what, sizeof(what), "%s", err);
		snprintf(err, err_len, "User %s: %s", user, what);
	}
	return r;
}

int sl_privdrop(const char *user, char *err, size_t err_len)
{
	return sl_privdrop_keep(user, 0, err, err_len);
}

/*
 * What a running tunnel does, measured with strace -f on both ends during
 * tests/net/transfer.sh, fallback.sh and restart.sh (everything after the
 * first epoll_wait, including shutdown), plus the glibc and architecture
 * variants of the same calls. Names this architecture lacks are skipped.
 */
/* clang-format off */
static const char *const allowed_syscalls[] = {
	/* packets: TUN fd, UDP sockets, TLS streams, control socket */
	"read", "readv", "write", "writev", "recvmmsg", "sendmmsg", "recvmsg", "sendmsg",
	"recvfrom", "sendto",
	/* the event loop, timers and signals (signalfd) */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "clock_gettime", "clock_getres",
	"gettimeofday", "time", "nanosleep", "clock_nanosleep", "rt_sigprocmask", "rt_sigreturn",
	"restart_syscall",
	/* TLS: (re)connecting client, accepting server; rtnetlink requests (client) */
	"connect", "accept", "accept4", "bind", "shutdown", "getsockopt", "setsockopt",
	"getsockname", "getpeername", "close", "fcntl", "getrandom", "getpid", "gettid",
	/* OpenSSL checks certificate times with localtime, which reads /etc/localtime */
	"fstat", "newfstatat", "statx", "lseek", "pread64",
	/* memory (mmap and mprotect: below, never executable) */
	"brk", "munmap", "mremap", "madvise", "futex",
	/* the control socket lets in root and its own uid (SO_PEERCRED against geteuid) */
	"geteuid",
	/* exit; unlinking the root-owned control socket fails with EACCES (see privdrop.h) */
	"unlink", "unlinkat", "exit", "exit_group",
	/* sanitizer builds (-Db_sanitize=address,undefined) on their way out */
	"sigaltstack",
	/* IoBackend = io_uring: the ring is set up before the drop, entered after it. What a
	   ring does is not filtered (docs/security.md); it only ever holds TUN writes. */
	"io_uring_enter",
};
/* clang-format on */

static int allow(scmp_filter_ctx ctx, const char *name, unsigned n_args,
		 const struct scmp_arg_cmp *args)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call on this architecture */
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n_args, args);
}

/* socket(): IP for TLS, AF_UNIX for if_nametoindex's ioctl, rtnetlink only. */
static int allow_sockets(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp inet[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET)};
	const struct scmp_arg_cmp inet6[] = {SCMP_A0(SCMP_CMP_EQ, AF_INET6)};
	const struct scmp_arg_cmp unix_[] = {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)};
	const struct scmp_arg_cmp netlink[] = {SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
					       SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE)};
	int r;

	if ((r = allow(ctx, "socket", 1, inet)) < 0 || (r = allow(ctx, "socket", 1, inet6)) < 0 ||
	    (r = allow(ctx, "socket", 1, unix_)) < 0)
		return r;
	return allow(ctx, "socket", 2, netlink);
}

/* ioctl(): interface index lookups and harmless fd queries only. */
static int allow_ioctls(scmp_filter_ctx ctx)
{
	static const unsigned long requests[] = {SIOCGIFINDEX, FIONREAD, FIONBIO, FIOCLEX};
	int r;

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		const struct scmp_arg_cmp req[] = {SCMP_A1(SCMP_CMP_EQ, requests[i])};

		if ((r = allow(ctx, "ioctl", 1, req)) < 0)
			return r;
	}
	return 0;
}

/* openat(): read-only (certificate checks read /etc/localtime), never creating. */
static int allow_open_readonly(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp ro[] = {
		SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)};

	return allow(ctx, "openat", 1, ro);
}

/* mmap(), mprotect(): no new executable memory once set-up is over. */
static int allow_memory(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp no_exec[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)};
	int r = allow(ctx, "mmap", 1, no_exec);

	return r < 0 ? r : allow(ctx, "mprotect", 1, no_exec);
}

static int add_rules(scmp_filter_ctx ctx)
{
	int r;

	for (size_t i = 0; i < sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]); i++)
		if ((r = allow(ctx, allowed_syscalls[i], 0, NULL)) < 0)
			return r;
	if ((r = allow_sockets(ctx)) < 0 || (r = allow_ioctls(ctx)) < 0 ||
	    (r = allow_memory(ctx)) < 0)
		return r;
	return allow_open_readonly(ctx);
}

int sl_seccomp_install(char *err, size_t err_len)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx) {
		if (err_len)
			snprintf(err, err_len, "seccomp: cannot create a filter");
		return -ENOMEM;
	}
	r = add_rules(ctx);
	/* Every thread: the engine's data-path threads (Workers > 1) run by now. */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0) {
		fail(err, err_len, r, "seccomp: cannot add a rule");
	} else if ((r = seccomp_load(ctx)) < 0) {
		fail(err, err_len, r, "seccomp: cannot load the filter");
	}
	seccomp_release(ctx);
	return r;
}

int sl_privdrop_apply(const char *user, uint64_t keep_caps, bool seccomp, const char *user_knob,
		      const char *seccomp_knob)
{
	return sl_privdrop_apply_with(user, NULL, keep_caps, seccomp, user_knob, seccomp_knob, NULL,
				      NULL);
}

int sl_privdrop_apply_group(const char *user, const char *group, uint64_t keep_caps, bool seccomp,
			    const char *user_knob, const char *seccomp_knob)
{
	return sl_privdrop_apply_with(user, group, keep_caps, seccomp, user_knob, seccomp_knob,
				      NULL, NULL);
}

int sl_privdrop_apply_with(const char *user, const char *group, uint64_t keep_caps, bool seccomp,
			   const char *user_knob, const char *seccomp_knob,
			   int (*between)(void *arg), void *arg)
{
	char err[256];
	int r;

	if (sl_privdrop_keeps_root(user)) {
		sl_warn("%s %s: keeps running as root%s%s%s", user_knob, user ? user : "",
			group && group[0] ? " (group " : "", group && group[0] ? group : "",
			group && group[0] ? " ignored)" : "");
	} else if ((r = sl_privdrop_keep_group(user, group, keep_caps, err, sizeof(err))) < 0) {
		sl_err("%s", err);
		return r;
	}
	if (between && (r = between(arg)) < 0)
		return r;
	if (!seccomp) {
		sl_warn("%s: running without a system call filter", seccomp_knob);
		return 0;
	}
	r = sl_seccomp_install(err, sizeof(err));
	if (r < 0)
		sl_err("%s", err);
	return r;
}
