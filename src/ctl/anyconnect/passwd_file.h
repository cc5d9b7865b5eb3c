/* SPDX-License-Identifier: MIT */
/*
 * The ocpasswd file of `sluice serve anyconnect`, read again at every
 * password login (so that a changed password counts at once) also after the
 * privilege drop, when the file (ocpasswd makes it 0600 root) can no longer
 * be opened by name.
 *
 * An fd opened at start (as root) is kept and read from offset 0 each time,
 * so edits in place are seen. ocpasswd itself writes a new file and renames
 * it over the old one: the kept fd still shows the old one. So each read
 * first opens the path again; when that works (root, or the file is readable
 * by the user sluice runs as) the new file replaces the kept fd. When it does
 * not and the path is now another file, the old contents are used and an
 * error says so once per replacement, with what to do. When the path cannot
 * even be looked up (a directory on the way not searchable by that user), a
 * warning says once that only edits in place will count.
 */
#ifndef SL_CTL_ANYCONNECT_PASSWD_FILE_H
#define SL_CTL_ANYCONNECT_PASSWD_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SL_AC_PASSWD_FILE_MAX (1u << 20) /* bytes read at most */

struct sl_ac_passwd_file {
	char path[512];
	int fd;
	dev_t dev;
	ino_t ino;
	bool unknowable; /* the path cannot be looked up by this process (said once) */
	bool warned;	 /* the replacement at warned_dev/ino was reported */
	dev_t warned_dev;
	ino_t warned_ino;
};

/* Open path now (before the drop). 0, or -errno with one line in err. */
int sl_ac_passwd_file_open(struct sl_ac_passwd_file *pf, const char *path, char *err,
			   size_t err_len);
/*
 * The file's current text (malloc'd, NUL-terminated, *len bytes) as above.
 * 0, or -errno (-ENOMEM, or the read error). *stale: the path names a newer
 * file this process cannot open, so the text is the one it replaced.
 */
int sl_ac_passwd_file_read(struct sl_ac_passwd_file *pf, char **text, size_t *len, bool *stale);
void sl_ac_passwd_file_close(struct sl_ac_passwd_file *pf);

#endif
