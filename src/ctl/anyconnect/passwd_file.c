// SPDX-License-Identifier: MIT
/* The ocpasswd file kept open across the privilege drop (see passwd_file.h). */
#include "ctl/anyconnect/passwd_file.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int adopt(struct sl_ac_passwd_file *pf, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = fd;
	pf->dev = st.st_dev;
	pf->ino = st.st_ino;
	return 0;
}

int sl_ac_passwd_file_open(struct sl_ac_passwd_file *pf, const char *path, char *err,
			   size_t err_len)
{
	int fd, r;

	memset(pf, 0, sizeof(*pf));
	pf->fd = -1;
	if (strlen(path) >= sizeof(pf->path)) {
		snprintf(err, err_len, "password file %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(pf->path, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : adopt(pf, fd);
	if (r < 0)
		snprintf(err, err_len, "password file %s: %s", path, strerror(-r));
	return r;
}

/* The path again: a newer file replaces the kept one when it can be opened. */
static bool refresh(struct sl_ac_passwd_file *pf)
{
	struct stat st;
	int fd = open(pf->path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_dev == pf->dev && st.st_ino == pf->ino)
			close(fd); /* the same file */
		else if (adopt(pf, fd) < 0)
			return false;
		pf->warned = false;
		return true;
	}
	int found = stat(pf->path, &st);

	if (found < 0 && errno != ENOENT) {
		/* A directory on the way is not searchable by us: whether the file was replaced
		 * cannot be known. Say it once; the kept fd is all there is. */
		if (!pf->unknowable)
			sl_warn("password file %s: this process cannot look it up (%s): edits in "
				"place count, a file renamed over it (as ocpasswd does) will not. "
				"Make its directory searchable by the user sluice runs as",
				pf->path, strerror(errno));
		pf->unknowable = true;
		return true;
	}
	if (found < 0)
		memset(&st, 0, sizeof(st)); /* gone: the kept contents are all there is */
	else if (st.st_dev == pf->dev && st.st_ino == pf->ino)
		return true; /* not openable by us, but still the kept file */
	if (!pf->warned || pf->warned_dev != st.st_dev || pf->warned_ino != st.st_ino) {
		sl_err("password file %s was replaced since start (ocpasswd writes a new file) and "
		       "this process cannot open the new one: logins use the old contents. Make it "
		       "readable by the user sluice runs as, or restart sluice",
		       pf->path);
		pf->warned = true;
		pf->warned_dev = st.st_dev;
		pf->warned_ino = st.st_ino;
	}
	return false;
}

int sl_ac_passwd_file_read(struct sl_ac_passwd_file *pf, char **text, size_t *len, bool *stale)
{
	char *b = malloc(SL_AC_PASSWD_FILE_MAX);
	size_t n = 0;

	*stale = !refresh(pf);
	if (!b)
		return -ENOMEM;
	while (n < SL_AC_PASSWD_FILE_MAX - 1) {
		ssize_t got = pread(pf->fd, b + n, SL_AC_PASSWD_FILE_MAX - 1 - n, (off_t)n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int r = -errno;

			free(b);
			return r;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	b[n] = '\0';
	*text = b;
	*len = n;
	return 0;
}

void sl_ac_passwd_file_close(struct sl_ac_passwd_file *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = -1;
}
