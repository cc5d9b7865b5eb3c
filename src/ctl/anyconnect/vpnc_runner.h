/* SPDX-License-Identifier: MIT */
/*
 * Running the vpnc-script after `sluice connect` has dropped root: the
 * script needs root (addresses, routes, resolv.conf) and execve, which the
 * tunnel process gives up. So before the drop a small child is forked that
 * keeps root and does one thing: run the one script it was started with,
 * with the environment the tunnel process sends, and answer with the exit
 * status. It has no other fd than its socket and the standard streams.
 *
 * What the tunnel process sends is checked, since it handles what the
 * network sends: only vpnc-script variables (reason, VPNGATEWAY, VPNPID,
 * TUNDEV, LOG_LEVEL, IDLE_TIMEOUT, INTERNAL_IP4_*, INTERNAL_IP6_*, CISCO_*)
 * and a known reason. So a compromised tunnel process can make root run the
 * script with other addresses, but not another program, nor LD_PRELOAD or
 * PATH. The runner exits when the tunnel process closes the socket.
 *
 * Without a runner (sl_vpnc_run with NULL) the script is forked and run in
 * the calling process, as before the drop.
 */
#ifndef SL_CTL_AC_VPNC_RUNNER_H
#define SL_CTL_AC_VPNC_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

struct sl_vpnc_runner;

/* Fork the runner for script (as root, before the drop). 0 or -errno. */
int sl_vpnc_runner_start(struct sl_vpnc_runner **out, const char *script);
/* Close its socket (it exits); NULL is fine. */
void sl_vpnc_runner_free(struct sl_vpnc_runner *r);

/*
 * Run script with env (n NAME=value strings, added to the inherited
 * environment) through runner r, or here when r is NULL. The script's exit
 * status (0..255), 128 + signal, or -errno (-EPERM: the runner refused the
 * environment). Blocks until the script is done.
 */
int sl_vpnc_run(struct sl_vpnc_runner *r, const char *script, char *const env[], int n);

/* A variable the runner passes on: NAME=value, with a vpnc-script name (and reason known). */
bool sl_vpnc_env_allowed(const char *kv);
/*
 * The runner's reading of a request: len bytes of NUL-terminated strings
 * (the last one too), each allowed; pointers into req in vars. The count,
 * or -EBADMSG, -E2BIG (more than max), -EPERM (a variable not allowed).
 */
int sl_vpnc_request_parse(char *req, size_t len, char **vars, int max);

#endif
