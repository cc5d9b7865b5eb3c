// SPDX-License-Identifier: MIT
/*
 * sluice pki init DIR [--days N] [--name CN]
 * sluice pki issue DIR NAME [--server] [--days N]
 *
 * Quick-start certificates, so a first tunnel needs no openssl(1) recipe.
 * Exit codes: 0 done, 1 failed, 2 usage error.
 */
#include "cli/cmd.h"
#include "cli/pki.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CA_DAYS	  3650
#define LEAF_DAYS 825
#define MAX_DAYS  36500

static const char usage_pki[] =
	"Usage: sluice pki init DIR [--days N] [--name CN]\n"
	"       sluice pki issue DIR NAME [--server] [--days N]\n"
	"\n"
	"Makes a small certificate authority and the certificates the tunnel ends\n"
	"show each other (EC P-256, SHA-256). 'sluice pki init --help' and\n"
	"'sluice pki issue --help' tell what each writes. Nothing is ever overwritten.\n";

static const char usage_init[] =
	"Usage: sluice pki init DIR [--days N] [--name CN]\n"
	"\n"
	"Creates a certificate authority in DIR (made with mode 0700 if missing):\n"
	"  DIR/ca.key  the CA's private key (PKCS#8 PEM, unencrypted, mode 0600).\n"
	"              It signs every certificate: keep it secret, ideally offline.\n"
	"  DIR/ca.pem  the CA certificate. Copy it to every server and client and\n"
	"              name it in their config (CA = ca.pem).\n"
	"\n"
	"  --days N    validity in days (default 3650)\n"
	"  --name CN   the CA's common name (default \"sluice CA\")\n"
	"\n"
	"Refuses to run if DIR/ca.pem or DIR/ca.key exists.\n";

static const char usage_issue[] =
	"Usage: sluice pki issue DIR NAME [--server] [--days N]\n"
	"\n"
	"Creates a key and a certificate for NAME, signed by DIR/ca.pem and DIR/ca.key:\n"
	"  DIR/NAME.key  the private key (PKCS#8 PEM, unencrypted, mode 0600)\n"
	"                for the config's PrivateKey; it never leaves that machine.\n"
	"  DIR/NAME.pem  the certificate (subject CN=NAME, subjectAltName DNS:NAME,\n"
	"                or IP:NAME when NAME is an IP address) for Certificate.\n"
	"\n"
	"  --server      a server certificate (extendedKeyUsage serverAuth);\n"
	"                without it, a client certificate (clientAuth). For a\n"
	"                server, NAME should be the name or address clients use.\n"
	"  --days N      validity in days (default 825)\n"
	"\n"
	"Refuses to run if DIR/NAME.pem or DIR/NAME.key exists.\n";

struct pki_args {
	const char *pos[2]; /* DIR, NAME */
	int n_pos;
	int days;
	bool server;
	const char *ca_name;
};

__attribute__((format(printf, 2, 3))) static int usage_error(const char *usage, const char *fmt,
							     ...)
{
	va_list ap;

	fprintf(stderr, "sluice pki: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	/* The synopsis only: the rest is what --help is for. */
	fprintf(stderr, "\n%.*s", (int)(strstr(usage, "\n\n") - usage) + 1, usage);
	return 2;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static int parse_days(const char *s, int *out)
{
	char *end;
	long n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	n = strtol(s, &end, 10);
	if (*end || n < 1 || n > MAX_DAYS)
		return -1;
	*out = (int)n;
	return 0;
}

/*
 * argv[0] is the subcommand; options may come anywhere after it.
 * Returns 0, 1 for --help (printed), or 2 for a usage error (printed).
 */
static int parse_args(int argc, char **argv, bool issue, const char *usage, int want_pos,
		      struct pki_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(usage, stdout);
			return 1;
		} else if (!strcmp(arg, "--days")) {
			if (i + 1 == argc || parse_days(argv[i + 1], &a->days) < 0)
				return usage_error(usage,
						   "--days: expected a number 1..%d, got '%s'",
						   MAX_DAYS, i + 1 < argc ? argv[i + 1] : "");
			i++;
		} else if (!strcmp(arg, "--name") && !issue) {
			if (i + 1 == argc)
				return usage_error(usage, "--name: expected the CA's name, got ''");
			a->ca_name = argv[++i];
		} else if (!strcmp(arg, "--server") && issue) {
			a->server = true;
		} else if (arg[0] == '-' && arg[1]) {
			return usage_error(usage, "unknown option '%s'", arg);
		} else if (a->n_pos == want_pos) {
			return usage_error(usage, "unexpected argument '%s'", arg);
		} else {
			a->pos[a->n_pos++] = arg;
		}
	}
	if (a->n_pos < want_pos)
		return usage_error(usage, "missing %s", a->n_pos == 0 ? "DIR" : "NAME");
	return 0;
}

static int pki_init(int argc, char **argv)
{
	struct pki_args a = {.days = CA_DAYS};
	char err[512], path[4096];
	int r = parse_args(argc, argv, false, usage_init, 1, &a);

	if (r)
		return r == 1 ? 0 : r;
	r = sl_pki_init(a.pos[0], a.ca_name, a.days, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "sluice pki: %s\n", err);
		return 1;
	}
	sl_pki_path(path, sizeof(path), a.pos[0], "ca", "key");
	printf("wrote %s (CA private key, mode 0600: keep it secret)\n", path);
	sl_pki_path(path, sizeof(path), a.pos[0], "ca", "pem");
	printf("wrote %s (CA certificate, valid %d days: copy it to every server and client)\n",
	       path, a.days);
	printf("next:  sluice pki issue %s NAME --server; sluice pki issue %s NAME\n", a.pos[0],
	       a.pos[0]);
	return 0;
}

static int pki_issue(int argc, char **argv)
{
	struct pki_args a = {.days = LEAF_DAYS};
	char err[512], path[4096];
	int r = parse_args(argc, argv, true, usage_issue, 2, &a);

	if (r)
		return r == 1 ? 0 : r;
	r = sl_pki_issue(a.pos[0], a.pos[1], a.server, a.days, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "sluice pki: %s\n", err);
		return 1;
	}
	sl_pki_path(path, sizeof(path), a.pos[0], a.pos[1], "key");
	printf("wrote %s (private key, mode 0600)\n", path);
	sl_pki_path(path, sizeof(path), a.pos[0], a.pos[1], "pem");
	printf("wrote %s (%s certificate for %s, signed by %s/ca.pem, valid %d days)\n", path,
	       a.server ? "server" : "client", a.pos[1], a.pos[0], a.days);
	return 0;
}

int cmd_pki(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_pki, stderr);
		return 2;
	}
	if (is_help(argv[1])) {
		fputs(usage_pki, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "init"))
		return pki_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "issue"))
		return pki_issue(argc - 1, argv + 1);
	return usage_error(usage_pki, "unknown subcommand '%s'", argv[1]);
}
