// SPDX-License-Identifier: MIT
/* ESP key pairs from the TLS exporter (layout in keys.h). */
#include "ctl/native/keys.h"

#include "core/bytes.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#define DIR_LEN 36 /* key (32) + salt (4) */
#define C2S_OFF 0
#define S2C_OFF DIR_LEN

static void fill_dir(struct sl_key_dir *d, const uint8_t *src, size_t key_len, uint32_t spi)
{
	memset(d, 0, sizeof(*d));
	d->spi = spi;
	memcpy(d->key, src, key_len);
	memcpy(d->salt, src + 32, sizeof(d->salt));
}

int sl_native_keys_from_ekm(const uint8_t ekm[SL_NATIVE_EKM_LEN], const struct sl_native_sa *sa,
			    struct sl_key_pair *out)
{
	size_t key_len;

	if (sa->cipher < 0 || sa->cipher >= SL_CIPHER__COUNT || !sa->spi_c || !sa->spi_s)
		return -EINVAL;
	key_len = sl_cipher_key_len(sa->cipher);
	if (key_len == 0 || key_len > 32)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->cipher = sa->cipher;
	out->esn = true;
	out->key_id = (uint8_t)sa->epoch;
	if (sa->server) {
		fill_dir(&out->rx, ekm + C2S_OFF, key_len, sa->spi_s);
		fill_dir(&out->tx, ekm + S2C_OFF, key_len, sa->spi_c);
	} else {
		fill_dir(&out->rx, ekm + S2C_OFF, key_len, sa->spi_c);
		fill_dir(&out->tx, ekm + C2S_OFF, key_len, sa->spi_s);
	}
	return 0;
}

int sl_native_keys_derive(SSL *ssl, const struct sl_native_sa *sa, struct sl_key_pair *out)
{
	uint8_t ekm[SL_NATIVE_EKM_LEN], context[4];
	int r;

	if (SSL_version(ssl) != TLS1_3_VERSION)
		return -EINVAL;
	sl_put_be32(context, sa->epoch);
	if (SSL_export_keying_material(ssl, ekm, sizeof(ekm), SL_NATIVE_EXPORTER_LABEL,
				       strlen(SL_NATIVE_EXPORTER_LABEL), context, sizeof(context),
				       1) != 1)
		return -EIO;
	r = sl_native_keys_from_ekm(ekm, sa, out);
	OPENSSL_cleanse(ekm, sizeof(ekm));
	return r;
}
