/* SPDX-License-Identifier: MIT */
/* The CLI's side of the control socket (see src/dco/uapi.h for the protocol). */
#ifndef SL_CLI_CTL_CLIENT_H
#define SL_CLI_CTL_CLIENT_H

#include <stddef.h>

/* "/run/sluice/IFNAME.sock" into out. */
void ctl_socket_path(const char *ifname, char *out, size_t out_len);

/* Connect to the control socket at path. The fd, or -errno. */
int ctl_connect(const char *path);

/*
 * Send one request (key=value lines, without the final empty line) and read
 * the reply up to its empty line. *reply is malloc'd and NUL-terminated.
 * Returns the reply's errno value (>= 0) or -errno if the socket failed.
 */
int ctl_request(const char *path, const char *request, char **reply);

#endif
