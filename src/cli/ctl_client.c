// SPDX-License-Identifier: MIT
#include "cli/ctl_client.h"
#include "cli/cmd.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (16u << 20)

void ctl_socket_path(const char *ifname, char *out, size_t out_len)
{
	snprintf(out, out_len, "%s/%s.sock", SL_CTL_DIR, ifname);
}

int ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int send_request(int fd, const char *request)
{
	size_t len = strlen(request);
	char *msg = malloc(len + 3);
	size_t off = 0;
	int r = 0;

	if (!msg)
		return -ENOMEM;
	/* Make sure the request ends with a line and an empty line. */
	len = (size_t)sprintf(msg, "%s%s\n", request, len && request[len - 1] == '\n' ? "" : "\n");
	while (off < len && r == 0) {
		/* MSG_NOSIGNAL: a tunnel that refuses us (SO_PEERCRED) must not kill us by SIGPIPE
		 */
		ssize_t w = send(fd, msg + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno != EINTR)
			r = -errno;
		else if (w > 0)
			off += (size_t)w;
	}
	free(msg);
	return r;
}

/* Read until "\n\n" ends the reply, with a 5 s limit per read. */
static int read_reply(int fd, char **reply)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = cap < REPLY_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		if (poll(&pfd, 1, 5000) <= 0)
			goto fail;
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0 && len == 0) {
			free(buf);
			return -ECONNRESET; /* closed without a word: refused, or the tunnel died */
		}
		if (n <= 0)
			goto fail;
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= 2 && !strcmp(buf + len - 2, "\n\n"))
			break;
	}
	*reply = buf;
	return 0;
fail:
	free(buf);
	return -EPROTO;
}

static int reply_errno(const char *reply)
{
	const char *p = strstr(reply, "errno=");

	while (p && p != reply && p[-1] != '\n')
		p = strstr(p + 1, "errno=");
	return p ? atoi(p + 6) : EPROTO;
}

int ctl_request(const char *path, const char *request, char **reply)
{
	int fd = ctl_connect(path);
	int r;

	*reply = NULL;
	if (fd < 0)
		return fd;
	r = send_request(fd, request);
	if (r == 0)
		r = read_reply(fd, reply);
	close(fd);
	return r < 0 ? r : reply_errno(*reply);
}
