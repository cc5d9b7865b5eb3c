/* SPDX-License-Identifier: MIT */
/*
 * Least privilege for a running tunnel: once `sluice up` holds everything it
 * needs from root (TUN device, UDP and TCP sockets bound, control socket,
 * the server's TUN addresses), it becomes an ordinary user and installs a
 * seccomp allowlist.
 *
 * Which capabilities stay:
 * - server: none. Its addresses are set before the drop and never change;
 *   closing the TUN fd at exit removes the device without any capability.
 * - client: CAP_NET_ADMIN only (permitted and effective; bounding set
 *   reduced to it, inheritable and ambient empty). Its addresses and routes
 *   come in the server's CONFIG, which arrives only once the loop runs, i.e.
 *   after the drop, and again on every reconnect, possibly different; it
 *   applies them over rtnetlink. Dropping everything would need the
 *   addresses before the loop starts and a server that never changes them.
 *   What remains: the client may still change any interface, address, route
 *   or firewall rule of its network namespace; it cannot become root again
 *   (no CAP_SETUID/CAP_SYS_ADMIN, NO_NEW_PRIVS, seccomp forbids execve).
 *
 * The control socket stays owned by root (mode 0600 in a 0700 directory):
 * root can always connect, and the engine accepts peers whose uid is 0 or
 * its own. It is deliberately not chowned: "nobody" is shared with other
 * daemons, which could then drive the tunnel. The cost is that the process
 * can no longer unlink the socket at exit; the stale file is replaced by the
 * next `sluice up` of that name (the engine checks that nothing answers).
 */
#ifndef SL_CLI_PRIVDROP_H
#define SL_CLI_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_PRIVDROP_DEFAULT_USER "nobody"
/* The keep_caps mask a client passes: CAP_NET_ADMIN (12) only. */
#define SL_PRIVDROP_CLIENT_CAPS (UINT64_C(1) << 12)

/* "" and "root" mean: keep running as root (the caller warns). */
bool sl_privdrop_keeps_root(const char *user);

/*
 * Become user (its uid, its primary gid, no supplementary groups) and keep
 * only the capabilities in keep_caps (a mask of 1 << CAP_X; 0 = none) in the
 * permitted, effective and bounding sets. Sets NO_NEW_PRIVS. Checks that
 * setuid(0) now fails. Must be called as root (uid 0 with CAP_SETUID,
 * CAP_SETGID and CAP_SETPCAP). Does nothing when sl_privdrop_keeps_root(user).
 * 0, or -errno with one line in err (-ENOENT: no such user; -EINVAL: the user
 * is uid 0 or a kept capability is unknown; -EPERM: not root, or a way back
 * to root remained). On error the process may be half-dropped: exit.
 */
int sl_privdrop_keep(const char *user, uint64_t keep_caps, char *err, size_t err_len);
/*
 * sl_privdrop_keep with group (NULL or "": the user's primary group) as the
 * real, effective and saved gid (OpenVPN's 'group' directive). -ENOENT: no
 * such group; -EINVAL: it is gid 0.
 */
int sl_privdrop_keep_group(const char *user, const char *group, uint64_t keep_caps, char *err,
			   size_t err_len);
/* sl_privdrop_keep(user, 0, ...): the server's case, nothing kept. */
int sl_privdrop(const char *user, char *err, size_t err_len);

/*
 * Install the seccomp allowlist of what a running tunnel does (the table in
 * privdrop.c). Anything else kills the process with SIGSYS. Sets
 * NO_NEW_PRIVS. 0, or -errno with one line in err. Sanitizer builds: the
 * exit-time leak check of LeakSanitizer uses ptrace and is killed, so run
 * them with ASAN_OPTIONS=detect_leaks=0 (or Seccomp = no).
 */
/* The filter applies to every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). */
int sl_seccomp_install(char *err, size_t err_len);

/*
 * A command's whole least-privilege step after its set-up: become user keeping
 * keep_caps (or stay root with a warning), then the seccomp filter unless
 * !seccomp (a warning). user_knob and seccomp_knob name the settings in the
 * warnings as the user wrote them ("User =" / "--user", "Seccomp = no" /
 * "--no-seccomp"). 0, or -errno with the reason logged: then exit.
 */
int sl_privdrop_apply(const char *user, uint64_t keep_caps, bool seccomp, const char *user_knob,
		      const char *seccomp_knob);
/*
 * The same with a step between the two: between(arg) runs once user and capabilities are
 * dropped and before the filter, and may start threads, which inherit the identity and
 * capabilities (both per thread in Linux) and then get the filter too (installed with
 * TSYNC). A negative return from between is returned, logged by between.
 * group as sl_privdrop_apply_group's.
 */
int sl_privdrop_apply_with(const char *user, const char *group, uint64_t keep_caps, bool seccomp,
			   const char *user_knob, const char *seccomp_knob,
			   int (*between)(void *arg), void *arg);

/* sl_privdrop_apply with a group (NULL: the user's primary group; ignored when staying root). */
int sl_privdrop_apply_group(const char *user, const char *group, uint64_t keep_caps, bool seccomp,
			    const char *user_knob, const char *seccomp_knob);

#endif
