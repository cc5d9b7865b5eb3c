// SPDX-License-Identifier: MIT
/* ocpasswd files: find the user's line, compare crypt(password, hash) in constant time. */
#include "ctl/anyconnect/passwd.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static int check_hash(const char *hash, size_t hlen, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char h[256];
	const char *got;
	int r = -EACCES;

	if (!cd || hlen == 0 || hlen >= sizeof(h)) {
		free(cd);
		return -EACCES;
	}
	memcpy(h, hash, hlen);
	h[hlen] = '\0';
	if (h[0] == '!') {
		free(cd);
		return -EPERM;
	}
	/*
	 * crypt_rn: libxcrypt's crypt_r with the size given, NULL on failure. Also, unlike
	 * crypt_r, it is not intercepted by AddressSanitizer, whose crypt_r wrapper expects
	 * glibc's old struct crypt_data and crashes under make test's ASan build.
	 */
	got = crypt_rn(password, h, cd, (int)sizeof(*cd));
	if (got && got[0] != '*' && strlen(got) == hlen && CRYPTO_memcmp(got, h, hlen) == 0)
		r = 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return r;
}

int sl_ac_passwd_check(const char *text, size_t len, const char *user, const char *password)
{
	size_t ulen = strlen(user);
	const char *p = text, *end = text + len;

	if (!ulen || strchr(user, ':') || strchr(user, '\n'))
		return -EACCES;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(le - p)), *c2;

		if (c1 && (size_t)(c1 - p) == ulen && !memcmp(p, user, ulen)) {
			c2 = memchr(c1 + 1, ':', (size_t)(le - c1 - 1));
			if (!c2)
				return -EACCES;
			if (le > c2 + 1 && le[-1] == '\r')
				le--;
			return check_hash(c2 + 1, (size_t)(le - c2 - 1), password);
		}
		p = nl ? nl + 1 : end;
	}
	return -EACCES;
}
