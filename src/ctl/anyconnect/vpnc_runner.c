// SPDX-License-Identifier: MIT
/* The root child that runs the vpnc-script for a tunnel process without root (vpnc_runner.h). */
#include "ctl/anyconnect/vpnc_runner.h"

#include "core/log.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REQUEST_MAX 16384
#define VARS_MAX    256

struct sl_vpnc_runner {
	int fd;
	pid_t pid;
};

static bool name_has_prefix(const char *name, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len > pl && !strncmp(name, prefix, pl);
}

bool sl_vpnc_env_allowed(const char *kv)
{
	static const char *const exact[] = {"reason", "VPNGATEWAY", "VPNPID",
					    "TUNDEV", "LOG_LEVEL",  "IDLE_TIMEOUT"};
	static const char *const reasons[] = {"pre-init", "connect", "disconnect", "reconnect",
					      "attempt-reconnect"};
	const char *eq = strchr(kv, '=');
	size_t len = eq ? (size_t)(eq - kv) : 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(kv[i] == '_' || (kv[i] >= 'A' && kv[i] <= 'Z') ||
		      (kv[i] >= 'a' && kv[i] <= 'z') || (kv[i] >= '0' && kv[i] <= '9')))
			return false;
	if (len == 6 && !strncmp(kv, "reason", 6)) {
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			if (!strcmp(eq + 1, reasons[i]))
				return true;
		return false;
	}
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strlen(exact[i]) == len && !strncmp(kv, exact[i], len))
			return true;
	return name_has_prefix(kv, len, "INTERNAL_IP4_") ||
	       name_has_prefix(kv, len, "INTERNAL_IP6_") || name_has_prefix(kv, len, "CISCO_");
}

/* fork, set the variables, exec: the status as sl_vpnc_run returns it. */
static int exec_script(const char *script, char *const env[], int n)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		for (int i = 0; i < n; i++) {
			const char *eq = strchr(env[i], '=');
			char name[128];
			size_t len = eq ? (size_t)(eq - env[i]) : 0;

			if (!len || len >= sizeof(name))
				continue;
			memcpy(name, env[i], len);
			name[len] = '\0';
			setenv(name, eq + 1, 1);
		}
		execl(script, script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sl_vpnc_request_parse(char *req, size_t len, char **vars, int max)
{
	int n = 0;

	if (!len || req[len - 1] != '\0')
		return -EBADMSG; /* every string ends in NUL, the last one too */
	for (char *p = req; p < req + len; p += strlen(p) + 1) {
		if (n == max)
			return -E2BIG;
		if (!sl_vpnc_env_allowed(p)) {
			sl_err("vpnc-script runner: refused variable '%.40s'", p);
			return -EPERM;
		}
		vars[n++] = p;
	}
	return n;
}

/* The runner's life: one request (NUL-separated NAME=value strings), one int32 answer. */
static __attribute__((noreturn)) void serve(int fd, const char *script)
{
	static char req[REQUEST_MAX];

	for (;;) {
		char *vars[VARS_MAX];
		int32_t status;
		ssize_t got = recv(fd, req, REQUEST_MAX, 0);

		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			_exit(0); /* the tunnel process is gone, or done */
		}
		status = sl_vpnc_request_parse(req, (size_t)got, vars, VARS_MAX);
		if (status >= 0)
			status = exec_script(script, vars, status);
		if (send(fd, &status, sizeof(status), 0) != sizeof(status))
			_exit(1);
	}
}

int sl_vpnc_runner_start(struct sl_vpnc_runner **out, const char *script)
{
	struct sl_vpnc_runner *r = calloc(1, sizeof(*r));
	int sv[2];

	if (!r)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(r);
		return -errno;
	}
	r->pid = fork();
	if (r->pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		free(r);
		return -e;
	}
	if (r->pid == 0) {
		/* only the socket and the standard streams: not the TUN or the tunnel's sockets */
		if (dup2(sv[1], 3) < 0 || close_range(4, ~0U, 0) < 0)
			_exit(1);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		signal(SIGINT, SIG_IGN); /* a ^C is the tunnel process's to handle; then EOF */
		serve(3, script);
	}
	close(sv[1]);
	r->fd = sv[0];
	*out = r;
	return 0;
}

void sl_vpnc_runner_free(struct sl_vpnc_runner *r)
{
	if (!r)
		return;
	close(r->fd); /* it exits on EOF (reaped by whoever inherits it when we exit) */
	free(r);
}

int sl_vpnc_run(struct sl_vpnc_runner *r, const char *script, char *const env[], int n)
{
	char req[REQUEST_MAX];
	size_t len = 0;
	int32_t status;
	ssize_t got;

	if (!r)
		return exec_script(script, env, n);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(env[i]) + 1;

		if (len + l > sizeof(req))
			return -ENOSPC;
		memcpy(req + len, env[i], l);
		len += l;
	}
	if (send(r->fd, req, len, 0) != (ssize_t)len)
		return -errno;
	do
		got = recv(r->fd, &status, sizeof(status), 0);
	while (got < 0 && errno == EINTR);
	if (got != sizeof(status))
		return got < 0 ? -errno : -EPIPE;
	return status;
}
