// SPDX-License-Identifier: MIT
/*
 * Quick-start PKI: a self-signed EC P-256 CA and leaf certificates it signs,
 * enough for the TLS 1.3 control channel's mutual authentication. Everything
 * goes through the OpenSSL 3 API; nothing shells out to openssl(1).
 *
 * Files never get overwritten: a CA key lost to a typo would orphan every
 * certificate it signed. Keys are created 0600 with O_EXCL, so they are never
 * readable by others, not even for an instant.
 */
#include "cli/pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SERIAL_BYTES  16 /* 128 random bits, well above CA/B's 64 */
#define MAX_DAYS      36500
#define MAX_NAME_LEN  64 /* X.509 upper bound for a commonName */
#define DEFAULT_CA_CN "sluice CA"
#define PATH_LEN      4096
#define BACKDATE_SECS 3600 /* tolerate peers whose clocks lag a little */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t err_len, int r,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* OpenSSL failures are not the user's to fix, but the reason still helps a bug report. */
static int fail_ssl(char *err, size_t err_len, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return fail(err, err_len, -EIO, "OpenSSL: %s failed: %s", what,
		    reason ? reason : "unknown error");
}

int sl_pki_path(char *out, size_t out_len, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(out, out_len, "%s/%s.%s", dir, name, ext);

	return n < 0 || (size_t)n >= out_len ? -ENAMETOOLONG : 0;
}

static int check_days(int days, char *err, size_t err_len)
{
	if (days < 1 || days > MAX_DAYS)
		return fail(err, err_len, -EINVAL, "validity: expected 1..%d days, got %d",
			    MAX_DAYS, days);
	return 0;
}

static int check_absent(const char *path, char *err, size_t err_len)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return fail(err, err_len, -EEXIST, "%s already exists; refusing to overwrite it",
			    path);
	if (errno != ENOENT)
		return fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* mkdir -p, new directories 0700: the CA key will live there. */
static int make_dir(const char *dir, char *err, size_t err_len)
{
	char path[PATH_LEN];
	struct stat st;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return fail(err, err_len, -EINVAL, "directory: expected a path, got '%s'", dir);
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; p <= path + n; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
		*p = p == path + n ? '\0' : '/';
	}
	if (stat(dir, &st) < 0)
		return fail(err, err_len, -errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(err, err_len, -ENOTDIR, "%s: %s", dir, strerror(ENOTDIR));
	return 0;
}

static int set_random_serial(X509 *x)
{
	unsigned char bytes[SERIAL_BYTES];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		return -1;
	bytes[0] &= 0x7f; /* DER INTEGER stays positive */
	bytes[0] |= 0x40; /* and has its full length, never zero */
	bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* A certificate with everything but extensions, issuer and signature. */
static X509 *new_cert(const char *cn, EVP_PKEY *key, int days)
{
	X509 *x = X509_new();
	X509_NAME *subject;

	if (!x || !X509_set_version(x, X509_VERSION_3) || set_random_serial(x) < 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) || !X509_set_pubkey(x, key))
		goto fail;
	subject = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int add_ca_exts(X509 *ca)
{
	if (add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(ca, ca, NID_subject_key_identifier, "hash") < 0)
		return -1;
	return 0;
}

static bool is_ip_address(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static int add_leaf_exts(X509 *x, X509 *ca, const char *name, bool server)
{
	char san[MAX_NAME_LEN + 8];

	snprintf(san, sizeof(san), "%s:%s", is_ip_address(name) ? "IP" : "DNS", name);
	if (add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, ca, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, ca, NID_ext_key_usage, server ? "serverAuth" : "clientAuth") < 0 ||
	    add_ext(x, ca, NID_subject_alt_name, san) < 0 ||
	    add_ext(x, ca, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, ca, NID_authority_key_identifier, "keyid:always") < 0)
		return -1;
	return 0;
}

static FILE *create_file(const char *path, mode_t mode, char *err, size_t err_len, int *r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		*r = errno == EEXIST ? fail(err, err_len, -EEXIST,
					    "%s already exists; refusing to overwrite it", path)
				     : fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		*r = fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
	}
	return f;
}

/* Closes f; on any failure removes the half-written file. */
static int finish_file(FILE *f, bool written, const char *path, char *err, size_t err_len)
{
	int e = fclose(f) == 0 ? 0 : errno ? errno : EIO;

	if (written && !e)
		return 0;
	unlink(path);
	if (!written)
		return fail_ssl(err, err_len, "writing PEM");
	return fail(err, err_len, -e, "%s: %s", path, strerror(e));
}

/* PKCS#8, unencrypted: the tunnel starts unattended and the file is 0600. */
static int write_key(const char *path, EVP_PKEY *key, char *err, size_t err_len)
{
	int r = 0;
	FILE *f = create_file(path, 0600, err, err_len, &r);

	if (!f)
		return r;
	return finish_file(f, PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1,
			   path, err, err_len);
}

static int write_cert(const char *path, X509 *x, char *err, size_t err_len)
{
	int r = 0;
	FILE *f = create_file(path, 0644, err, err_len, &r);

	if (!f)
		return r;
	return finish_file(f, PEM_write_X509(f, x) == 1, path, err, err_len);
}

/* Key first, then certificate; if the second fails, neither is left behind. */
static int write_pair(const char *key_path, EVP_PKEY *key, const char *cert_path, X509 *x,
		      char *err, size_t err_len)
{
	int r = write_key(key_path, key, err, err_len);

	if (r < 0)
		return r;
	r = write_cert(cert_path, x, err, err_len);
	if (r < 0)
		unlink(key_path);
	return r;
}

/* "DIR/NAME.pem" and "DIR/NAME.key", both still absent. */
static int pair_paths(const char *dir, const char *name, char *cert, char *key, char *err,
		      size_t err_len)
{
	int r;

	if (sl_pki_path(cert, PATH_LEN, dir, name, "pem") < 0 ||
	    sl_pki_path(key, PATH_LEN, dir, name, "key") < 0)
		return fail(err, err_len, -ENAMETOOLONG, "%s: %s", dir, strerror(ENAMETOOLONG));
	r = check_absent(cert, err, err_len);
	if (r == 0)
		r = check_absent(key, err, err_len);
	return r;
}

static X509 *make_ca_cert(const char *cn, EVP_PKEY *key, int days)
{
	X509 *x = new_cert(cn, key, days);

	if (!x || !X509_set_issuer_name(x, X509_get_subject_name(x)) || add_ca_exts(x) < 0 ||
	    !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int sl_pki_init(const char *dir, const char *ca_name, int days, char *err, size_t err_len)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	const char *cn = ca_name && ca_name[0] ? ca_name : DEFAULT_CA_CN;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r;

	if (strlen(cn) > MAX_NAME_LEN)
		return fail(err, err_len, -EINVAL, "CA name: expected at most %d bytes, got '%s'",
			    MAX_NAME_LEN, cn);
	r = check_days(days, err, err_len);
	if (r == 0)
		r = pair_paths(dir, "ca", cert_path, key_path, err, err_len);
	if (r == 0)
		r = make_dir(dir, err, err_len);
	if (r < 0)
		return r;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = key ? make_ca_cert(cn, key, days) : NULL;
	if (!x)
		r = fail_ssl(err, err_len, key ? "making the CA certificate" : "EC P-256 keygen");
	else
		r = write_pair(key_path, key, cert_path, x, err, err_len);
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

/* A file name and a DNS name or IP address at once: no '/', no leading dot or dash. */
static int check_leaf_name(const char *name, char *err, size_t err_len)
{
	size_t n = strlen(name);

	if (n < 1 || n > MAX_NAME_LEN || name[0] == '.' || name[0] == '-' || !strcmp(name, "ca"))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!(ch < 128 && (isalnum(ch) || strchr("._-:", ch))))
			goto bad;
	}
	return 0;
bad:
	return fail(err, err_len, -EINVAL,
		    "name: expected a host name or IP address (1..64 of A-Z a-z 0-9 . _ - :, "
		    "not 'ca', no leading . or -), got '%s'",
		    name);
}

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

static void ca_free(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

static int open_ca_file(const char *path, FILE **f, char *err, size_t err_len)
{
	*f = fopen(path, "re");
	if (*f)
		return 0;
	if (errno == ENOENT)
		return fail(err, err_len, -ENOENT,
			    "%s: No such file or directory (make a CA first: sluice pki init DIR)",
			    path);
	return fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
}

static int load_ca(const char *dir, struct ca *ca, char *err, size_t err_len)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	FILE *f;
	int r;

	if (sl_pki_path(cert_path, sizeof(cert_path), dir, "ca", "pem") < 0 ||
	    sl_pki_path(key_path, sizeof(key_path), dir, "ca", "key") < 0)
		return fail(err, err_len, -ENAMETOOLONG, "%s: %s", dir, strerror(ENAMETOOLONG));
	r = open_ca_file(cert_path, &f, err, err_len);
	if (r < 0)
		return r;
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!ca->cert)
		return fail(err, err_len, -EINVAL, "%s: not a PEM certificate", cert_path);
	r = open_ca_file(key_path, &f, err, err_len);
	if (r < 0)
		return r;
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!ca->key)
		return fail(err, err_len, -EINVAL, "%s: not an unencrypted PEM private key",
			    key_path);
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		return fail(err, err_len, -EINVAL, "%s does not belong to %s", key_path, cert_path);
	}
	return 0;
}

static X509 *make_leaf_cert(const struct ca *ca, const char *name, bool server, EVP_PKEY *key,
			    int days)
{
	X509 *x = new_cert(name, key, days);

	if (!x || !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    add_leaf_exts(x, ca->cert, name, server) < 0 || !X509_sign(x, ca->key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int sl_pki_issue(const char *dir, const char *name, bool server, int days, char *err,
		 size_t err_len)
{
	char cert_path[PATH_LEN], key_path[PATH_LEN];
	struct ca ca = {0};
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r = check_leaf_name(name, err, err_len);

	if (r == 0)
		r = check_days(days, err, err_len);
	if (r == 0)
		r = pair_paths(dir, name, cert_path, key_path, err, err_len);
	if (r == 0)
		r = load_ca(dir, &ca, err, err_len);
	if (r < 0)
		goto out;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = key ? make_leaf_cert(&ca, name, server, key, days) : NULL;
	if (!x)
		r = fail_ssl(err, err_len, key ? "making the certificate" : "EC P-256 keygen");
	else
		r = write_pair(key_path, key, cert_path, x, err, err_len);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	ca_free(&ca);
	return r;
}
