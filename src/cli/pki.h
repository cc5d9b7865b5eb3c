/* SPDX-License-Identifier: MIT */
/* Quick-start certificates: an EC P-256 CA and certificates it signs (OpenSSL 3). */
#ifndef SL_CLI_PKI_H
#define SL_CLI_PKI_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Create DIR/ca.pem and DIR/ca.key (key file mode 0600); refuses to overwrite
 * an existing CA (-EEXIST). days: validity. 0 or -errno, with err set.
 * DIR is created (mode 0700) if missing; ca_name NULL or "": "sluice CA".
 */
int sl_pki_init(const char *dir, const char *ca_name, int days, char *err, size_t err_len);
/*
 * Create DIR/NAME.pem and DIR/NAME.key signed by DIR/ca.*; server: extended key
 * usage serverAuth (else clientAuth); subject CN = NAME, and a DNS/IP
 * subjectAltName for NAME. 0 or -errno, with err set.
 */
int sl_pki_issue(const char *dir, const char *name, bool server, int days, char *err,
		 size_t err_len);

/* "DIR/NAME.EXT", the files these functions write. 0 or -ENAMETOOLONG. */
int sl_pki_path(char *out, size_t out_len, const char *dir, const char *name, const char *ext);

#endif
