/* SPDX-License-Identifier: MIT */
/*
 * ocserv's plain password file (ocpasswd(8)): one "user:groups:hash" a line,
 * the hash a crypt(3) string ($5$ SHA-256, $6$ SHA-512, ...); a hash that
 * starts with '!' is a locked account. Pure apart from crypt_r.
 */
#ifndef SL_CTL_ANYCONNECT_PASSWD_H
#define SL_CTL_ANYCONNECT_PASSWD_H

#include <stddef.h>

/* 0: user and password match a line; -EACCES: no such user or wrong password; -EPERM: locked. */
int sl_ac_passwd_check(const char *text, size_t len, const char *user, const char *password);

#endif
