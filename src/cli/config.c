// SPDX-License-Identifier: MIT
/*
 * The INI tunnel configuration (the format is in config.h). One pass over the
 * lines fills struct sl_config; the rules that need the whole file (required
 * keys, Mode against sections, DeadAfter against Keepalive) run after the
 * last line, when every key is known whatever order it came in.
 */
#include "cli/config.h"
#include "cli/cmd.h"
#include "core/log.h"
#include "crypto/aead.h"
#include "dco/uapi.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LINE_MAX_LEN  4096
#define FILE_MAX_LEN  (1u << 20)
#define QUOTE_MAX_LEN 64 /* of a value quoted in an error message */

enum section { SEC_NONE = 0, SEC_INTERFACE, SEC_SERVER, SEC_CLIENT, SEC__COUNT };

static const char *const section_names[SEC__COUNT] = {NULL, "Interface", "Server", "Client"};

enum key_id {
	K_MODE,
	K_NAME,
	K_MTU,
	K_CA,
	K_CERT,
	K_KEY,
	K_CIPHER,
	K_KEEPALIVE,
	K_DEAD_AFTER,
	K_REKEY_SECONDS,
	K_REKEY_PACKETS,
	K_REPLAY_WINDOW,
	K_CONTROL_SOCKET,
	K_LOG_LEVEL,
	K_USER,
	K_SECCOMP,
	K_OFFLOAD,
	K_WORKERS,
	K_IO_BACKEND,
	K_LISTEN,
	K_POOL4,
	K_POOL6,
	K_ROUTE,
	K_MAX_CLIENTS,
	K_MAX_PENDING,
	K_MAX_PENDING_PER_SOURCE,
	K_HANDSHAKE_TIMEOUT,
	K_SERVER,
	K__COUNT
};

struct parser {
	struct sl_config *c;
	const char *file;
	size_t dir_len; /* bytes of file up to and including its last '/'; 0: none */
	unsigned line;
	enum section section;
	unsigned section_line[SEC__COUNT]; /* first line of each section, 0 = absent */
	const struct key *key;		   /* the key being parsed, named in messages */
	unsigned key_line[K__COUNT];	   /* last line that set each key, 0 = never */
	char *err;
	size_t err_len;
};

struct key {
	const char *name;
	enum section section;
	bool repeatable;
	int (*parse)(struct parser *p, const char *value);
};

/* Messages must stay one line whatever bytes the file or its name hold. */
static void make_printable(char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
}

static void quote(const char *value, char *out, size_t out_len)
{
	size_t n = strlen(value);

	if (n <= QUOTE_MAX_LEN)
		snprintf(out, out_len, "%s", value);
	else
		snprintf(out, out_len, "%.*s...", QUOTE_MAX_LEN, value);
}

/* "FILE:LINE: LABEL: expected EXPECTED, got 'GOT'" */
static int fail_at(struct parser *p, unsigned line, const char *label, const char *expected,
		   const char *got)
{
	char q[QUOTE_MAX_LEN + 4];

	quote(got, q, sizeof(q));
	if (p->err_len) {
		snprintf(p->err, p->err_len, "%s:%u: %s: expected %s, got '%s'", p->file, line,
			 label, expected, q);
		make_printable(p->err);
	}
	return -EINVAL;
}

/* A bad value for the key on the current line. */
static int fail(struct parser *p, const char *expected, const char *got)
{
	return fail_at(p, p->line, p->key->name, expected, got);
}

/* "FILE: WHAT", for rules about the whole file. */
static int fail_file(struct parser *p, const char *what)
{
	if (p->err_len) {
		snprintf(p->err, p->err_len, "%s: %s", p->file, what);
		make_printable(p->err);
	}
	return -EINVAL;
}

/* Strict decimal: digits only, no sign, no spaces, no base prefixes. */
static int parse_number(struct parser *p, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char expected[64];
	uint64_t n = 0;
	const char *s;

	for (s = v; *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			break;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if (s == v || *s || n < min || n > max) {
		snprintf(expected, sizeof(expected), "a number %" PRIu64 "..%" PRIu64, min, max);
		return fail(p, expected, v);
	}
	*out = n;
	return 0;
}

static int parse_u32(struct parser *p, const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t n;
	int r = parse_number(p, v, min, max, &n);

	if (r == 0)
		*out = (uint32_t)n;
	return r;
}

/* Relative paths are relative to the config file, so a directory can move as a whole. */
static int parse_path(struct parser *p, const char *v, char out[SL_CONFIG_PATH_MAX])
{
	size_t dir_len = v[0] == '/' ? 0 : p->dir_len;
	int n;

	if (!v[0])
		return fail(p, "a file path", v);
	n = snprintf(out, SL_CONFIG_PATH_MAX, "%.*s%s", (int)dir_len, p->file, v);
	if (n < 0 || n >= SL_CONFIG_PATH_MAX) {
		out[0] = '\0';
		return fail(p,
			    "a path shorter than 512 bytes (after adding the config's directory)",
			    v);
	}
	return 0;
}

static int parse_mode(struct parser *p, const char *v)
{
	if (!strcasecmp(v, "server"))
		p->c->mode = SL_MODE_SERVER;
	else if (!strcasecmp(v, "client"))
		p->c->mode = SL_MODE_CLIENT;
	else
		return fail(p, "server or client", v);
	return 0;
}

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

static int parse_name(struct parser *p, const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n >= sizeof(p->c->name))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(v[i]))
			goto bad;
	memcpy(p->c->name, v, n + 1);
	return 0;
bad:
	return fail(p, "1..15 characters of A-Z a-z 0-9 _ . -", v);
}

static int parse_mtu(struct parser *p, const char *v)
{
	return parse_u32(p, v, 576, 9000, &p->c->mtu);
}

static int parse_ca(struct parser *p, const char *v)
{
	return parse_path(p, v, p->c->ca);
}

static int parse_cert(struct parser *p, const char *v)
{
	return parse_path(p, v, p->c->cert);
}

static int parse_key(struct parser *p, const char *v)
{
	return parse_path(p, v, p->c->key);
}

static int parse_cipher(struct parser *p, const char *v)
{
	enum sl_cipher cipher;

	if (sl_cipher_from_name(v, &cipher) < 0)
		return fail(p, "aes-128-gcm, aes-256-gcm or chacha20-poly1305", v);
	p->c->cipher = cipher;
	return 0;
}

static int parse_keepalive(struct parser *p, const char *v)
{
	return parse_u32(p, v, 0, 3600, &p->c->keepalive_s);
}

static int parse_dead_after(struct parser *p, const char *v)
{
	return parse_u32(p, v, 1, 3600, &p->c->dead_after_s);
}

static int parse_rekey_seconds(struct parser *p, const char *v)
{
	return parse_u32(p, v, 0, 86400 * 7, &p->c->rekey_seconds);
}

static int parse_rekey_packets(struct parser *p, const char *v)
{
	return parse_number(p, v, 0, UINT64_C(1) << 40, &p->c->rekey_packets);
}

static int parse_replay_window(struct parser *p, const char *v)
{
	return parse_u32(p, v, 32, 65536, &p->c->replay_window);
}

static int parse_control_socket(struct parser *p, const char *v)
{
	return parse_path(p, v, p->c->control_socket);
}

static int parse_log_level(struct parser *p, const char *v)
{
	static const char *const names[] = {
		[SL_LOG_ERR] = "error",
		[SL_LOG_WARN] = "warn",
		[SL_LOG_INFO] = "info",
		[SL_LOG_DEBUG] = "debug",
	};

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if (!strcasecmp(v, names[i])) {
			p->c->log_level = i;
			return 0;
		}
	}
	return fail(p, "error, warn, info or debug", v);
}

/* Only looked up at start-up, after the set-up; here just a plausible account name. */
static int parse_user(struct parser *p, const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > SL_CONFIG_USER_MAX || v[0] == '-')
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(v[i]))
			goto bad;
	memcpy(p->c->user, v, n + 1);
	return 0;
bad:
	return fail(p, "a user name of 1..32 characters of A-Z a-z 0-9 _ . - (root: no drop)", v);
}

static int parse_yes_no(struct parser *p, const char *v, bool *out)
{
	if (!strcasecmp(v, "yes"))
		*out = true;
	else if (!strcasecmp(v, "no"))
		*out = false;
	else
		return fail(p, "yes or no", v);
	return 0;
}

static int parse_seccomp(struct parser *p, const char *v)
{
	return parse_yes_no(p, v, &p->c->seccomp);
}

static int parse_offload(struct parser *p, const char *v)
{
	return parse_yes_no(p, v, &p->c->offload);
}

/* IoBackend = epoll | io_uring: how the TUN writes of a receive round leave (engine.h). */
static int parse_io_backend(struct parser *p, const char *v)
{
	if (!strcasecmp(v, "epoll"))
		p->c->tun_uring = false;
	else if (!strcasecmp(v, "io_uring"))
		p->c->tun_uring = true;
	else
		return fail(p, "epoll or io_uring", v);
	return 0;
}

/*
 * Workers = N (issue 4, docs/workers.md): data-path threads. 1 (the default) is the single
 * event loop; 2..64 run that many threads, each with a TUN queue and a UDP socket steered by
 * SPI; 0 or auto is one per online CPU (resolved by `sluice up`).
 */
static int parse_workers(struct parser *p, const char *v)
{
	uint32_t n = 0;

	if (strcasecmp(v, "auto") && parse_u32(p, v, 0, 64, &n) < 0)
		return -EINVAL;
	p->c->workers = n;
	return 0;
}

static int parse_endpoint(struct parser *p, const char *v, struct sockaddr_storage *out)
{
	if (sl_parse_endpoint(v, out) < 0)
		return fail(p, "IPV4:PORT or [IPV6]:PORT with port 1..65535", v);
	return 0;
}

static int parse_listen(struct parser *p, const char *v)
{
	struct sl_config *c = p->c;

	if (c->n_listen == SL_CONFIG_MAX_LISTEN)
		return fail(p, "at most 2 Listen lines", v);
	if (parse_endpoint(p, v, &c->listen[c->n_listen]) < 0)
		return -EINVAL;
	c->n_listen++;
	return 0;
}

/*
 * sl_parse_prefix zeroes the host bits; a prefix that had some set is most
 * likely a typo (an address where a network was meant), so it is refused.
 */
static bool has_host_bits(const char *v, const struct sl_prefix *pfx)
{
	char addr[64];
	struct sl_prefix full;
	const char *slash = strchr(v, '/');

	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		return false;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (sl_parse_prefix(addr, &full) < 0)
		return false;
	return memcmp(full.addr, pfx->addr, sizeof(full.addr)) != 0;
}

static int parse_network(struct parser *p, const char *v, int family, unsigned min_len,
			 unsigned max_len, const char *expected, struct sl_prefix *out)
{
	struct sl_prefix pfx;

	if (sl_parse_prefix(v, &pfx) < 0 || (family && pfx.family != family) || pfx.len < min_len ||
	    pfx.len > max_len)
		return fail(p, expected, v);
	if (has_host_bits(v, &pfx))
		return fail(p, "a network address with the host bits zero", v);
	*out = pfx;
	return 0;
}

static int parse_pool4(struct parser *p, const char *v)
{
	int r = parse_network(p, v, AF_INET, 8, 30, "an IPv4 network ADDR/LEN with LEN 8..30",
			      &p->c->pool4);

	p->c->has_pool4 = r == 0;
	return r;
}

static int parse_pool6(struct parser *p, const char *v)
{
	int r = parse_network(p, v, AF_INET6, 64, 126, "an IPv6 network ADDR/LEN with LEN 64..126",
			      &p->c->pool6);

	p->c->has_pool6 = r == 0;
	return r;
}

static int parse_route(struct parser *p, const char *v)
{
	struct sl_config *c = p->c;

	if (c->n_routes == SL_CONFIG_MAX_ROUTES)
		return fail(p, "at most 32 Route lines", v);
	if (parse_network(p, v, 0, 0, 128, "an IPv4 or IPv6 network ADDR/LEN",
			  &c->routes[c->n_routes]) < 0)
		return -EINVAL;
	c->n_routes++;
	return 0;
}

static int parse_max_clients(struct parser *p, const char *v)
{
	return parse_u32(p, v, 1, 65536, &p->c->max_clients);
}

static int parse_max_pending(struct parser *p, const char *v)
{
	return parse_u32(p, v, 1, 4096, &p->c->max_pending);
}

static int parse_max_pending_per_source(struct parser *p, const char *v)
{
	return parse_u32(p, v, 1, 4096, &p->c->max_pending_per_source);
}

static int parse_handshake_timeout(struct parser *p, const char *v)
{
	return parse_u32(p, v, 1, 300, &p->c->handshake_timeout_s);
}

static int parse_server(struct parser *p, const char *v)
{
	return parse_endpoint(p, v, &p->c->server);
}

static const struct key keys[K__COUNT] = {
	[K_MODE] = {"Mode", SEC_INTERFACE, false, parse_mode},
	[K_NAME] = {"Name", SEC_INTERFACE, false, parse_name},
	[K_MTU] = {"MTU", SEC_INTERFACE, false, parse_mtu},
	[K_CA] = {"CA", SEC_INTERFACE, false, parse_ca},
	[K_CERT] = {"Certificate", SEC_INTERFACE, false, parse_cert},
	[K_KEY] = {"PrivateKey", SEC_INTERFACE, false, parse_key},
	[K_CIPHER] = {"Cipher", SEC_INTERFACE, false, parse_cipher},
	[K_KEEPALIVE] = {"Keepalive", SEC_INTERFACE, false, parse_keepalive},
	[K_DEAD_AFTER] = {"DeadAfter", SEC_INTERFACE, false, parse_dead_after},
	[K_REKEY_SECONDS] = {"RekeySeconds", SEC_INTERFACE, false, parse_rekey_seconds},
	[K_REKEY_PACKETS] = {"RekeyPackets", SEC_INTERFACE, false, parse_rekey_packets},
	[K_REPLAY_WINDOW] = {"ReplayWindow", SEC_INTERFACE, false, parse_replay_window},
	[K_CONTROL_SOCKET] = {"ControlSocket", SEC_INTERFACE, false, parse_control_socket},
	[K_LOG_LEVEL] = {"LogLevel", SEC_INTERFACE, false, parse_log_level},
	[K_USER] = {"User", SEC_INTERFACE, false, parse_user},
	[K_SECCOMP] = {"Seccomp", SEC_INTERFACE, false, parse_seccomp},
	[K_OFFLOAD] = {"Offload", SEC_INTERFACE, false, parse_offload},
	[K_WORKERS] = {"Workers", SEC_INTERFACE, false, parse_workers},
	[K_IO_BACKEND] = {"IoBackend", SEC_INTERFACE, false, parse_io_backend},
	[K_LISTEN] = {"Listen", SEC_SERVER, true, parse_listen},
	[K_POOL4] = {"Pool4", SEC_SERVER, false, parse_pool4},
	[K_POOL6] = {"Pool6", SEC_SERVER, false, parse_pool6},
	[K_ROUTE] = {"Route", SEC_SERVER, true, parse_route},
	[K_MAX_CLIENTS] = {"MaxClients", SEC_SERVER, false, parse_max_clients},
	[K_MAX_PENDING] = {"MaxPending", SEC_SERVER, false, parse_max_pending},
	[K_MAX_PENDING_PER_SOURCE] = {"MaxPendingPerSource", SEC_SERVER, false,
				      parse_max_pending_per_source},
	[K_HANDSHAKE_TIMEOUT] = {"HandshakeTimeout", SEC_SERVER, false, parse_handshake_timeout},
	[K_SERVER] = {"Server", SEC_CLIENT, false, parse_server},
};

void sl_config_init(struct sl_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "sl0");
	c->mtu = 1400;
	c->cipher = SL_CIPHER_AES256GCM;
	c->keepalive_s = 1;
	c->dead_after_s = 3;
	c->rekey_seconds = 120;
	c->rekey_packets = UINT64_C(1) << 30;
	c->replay_window = 2048;
	c->max_clients = 1024;
	c->max_pending = 64;
	c->max_pending_per_source = 8;
	c->handshake_timeout_s = 10;
	c->log_level = SL_LOG_INFO;
	snprintf(c->user, sizeof(c->user), "nobody");
	c->seccomp = true;
	c->offload = true;
	c->workers = 1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* '#' or ';' at the start of a line or after whitespace starts a comment; "a#b" is a value. */
static void strip_comment(char *s)
{
	for (char *ch = s; *ch; ch++) {
		if ((*ch == '#' || *ch == ';') && (ch == s || isspace((unsigned char)ch[-1]))) {
			*ch = '\0';
			return;
		}
	}
}

static int on_section(struct parser *p, char *line)
{
	size_t n = strlen(line);
	char *name;

	if (line[n - 1] != ']')
		goto bad;
	line[n - 1] = '\0';
	name = trim(line + 1);
	for (int s = SEC_INTERFACE; s < SEC__COUNT; s++) {
		if (!strcasecmp(name, section_names[s])) {
			p->section = s;
			if (!p->section_line[s])
				p->section_line[s] = p->line;
			return 0;
		}
	}
	line[n - 1] = ']';
bad:
	return fail_at(p, p->line, "section", "[Interface], [Server] or [Client]", line);
}

static const struct key *find_key(const char *name)
{
	for (int i = 0; i < K__COUNT; i++)
		if (!strcasecmp(name, keys[i].name))
			return &keys[i];
	return NULL;
}

static int unknown_key(struct parser *p, const char *name)
{
	char expected[256] = "one of";
	size_t n = strlen(expected);
	const char *sep = " ";

	for (int i = 0; i < K__COUNT; i++) {
		if (keys[i].section != p->section)
			continue;
		n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%s%s", sep,
				      keys[i].name);
		sep = ", ";
	}
	snprintf(expected + n, sizeof(expected) - n, " in [%s]", section_names[p->section]);
	return fail_at(p, p->line, "key", expected, name);
}

static int on_key_value(struct parser *p, char *line, char *eq)
{
	const struct key *key;
	char expected[96];
	char *name, *value;

	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	key = find_key(name);
	if (p->section == SEC_NONE)
		return fail_at(p, p->line, name, "[Interface], [Server] or [Client] before any key",
			       name);
	if (!key)
		return unknown_key(p, name);
	p->key = key;
	if (key->section != p->section) {
		snprintf(expected, sizeof(expected), "in [%s]", section_names[key->section]);
		return fail_at(p, p->line, key->name, expected, section_names[p->section]);
	}
	if (!key->repeatable && p->key_line[key - keys]) {
		snprintf(expected, sizeof(expected), "only once (already set on line %u)",
			 p->key_line[key - keys]);
		return fail(p, expected, value);
	}
	p->key_line[key - keys] = p->line;
	return key->parse(p, value);
}

static int parse_line(struct parser *p, const char *text, size_t len)
{
	char buf[LINE_MAX_LEN];
	char *line, *eq;

	if (len && text[len - 1] == '\r')
		len--;
	if (len >= sizeof(buf)) {
		memcpy(buf, text, QUOTE_MAX_LEN + 1);
		buf[QUOTE_MAX_LEN + 1] = '\0';
		return fail_at(p, p->line, "line", "at most 4095 bytes", buf);
	}
	if (memchr(text, '\0', len))
		return fail_at(p, p->line, "line", "text", "\\0");
	memcpy(buf, text, len);
	buf[len] = '\0';
	strip_comment(buf);
	line = trim(buf);
	if (!*line)
		return 0;
	if (*line == '[')
		return on_section(p, line);
	eq = strchr(line, '=');
	if (!eq || eq == line)
		return fail_at(p, p->line, "syntax", "[Section], Key = Value or a # comment", line);
	return on_key_value(p, line, eq);
}

static int check_required(struct parser *p)
{
	const struct sl_config *c = p->c;

	if (c->mode == SL_MODE_NONE)
		return fail_file(p, "missing Mode in [Interface]");
	if (!c->ca[0])
		return fail_file(p, "missing CA in [Interface]");
	if (!c->cert[0])
		return fail_file(p, "missing Certificate in [Interface]");
	if (!c->key[0])
		return fail_file(p, "missing PrivateKey in [Interface]");
	return 0;
}

static int check_mode_sections(struct parser *p)
{
	bool server = p->c->mode == SL_MODE_SERVER;
	enum section other = server ? SEC_CLIENT : SEC_SERVER;

	if (!p->section_line[other])
		return 0;
	return fail_at(p, p->section_line[other], "section",
		       server ? "[Server] with Mode = server" : "[Client] with Mode = client",
		       other == SEC_CLIENT ? "[Client]" : "[Server]");
}

static int check_server(struct parser *p)
{
	const struct sl_config *c = p->c;

	if (!c->n_listen)
		return fail_file(p, "missing Listen in [Server]");
	if (!c->has_pool4 && !c->has_pool6)
		return fail_file(p, "missing Pool4 or Pool6 in [Server]");
	return 0;
}

static int check_client(struct parser *p)
{
	if (!p->c->server.ss_family)
		return fail_file(p, "missing Server in [Client]");
	return 0;
}

/* The fallback must not start before a keepalive could even have been answered. */
static int check_timers(struct parser *p)
{
	const struct sl_config *c = p->c;
	char expected[64], got[16];

	if (!c->keepalive_s || c->dead_after_s > c->keepalive_s)
		return 0;
	if (p->key_line[K_DEAD_AFTER] > p->key_line[K_KEEPALIVE]) {
		snprintf(expected, sizeof(expected), "more than Keepalive (%u)", c->keepalive_s);
		snprintf(got, sizeof(got), "%u", c->dead_after_s);
		return fail_at(p, p->key_line[K_DEAD_AFTER], "DeadAfter", expected, got);
	}
	snprintf(expected, sizeof(expected), "less than DeadAfter (%u)", c->dead_after_s);
	snprintf(got, sizeof(got), "%u", c->keepalive_s);
	return fail_at(p, p->key_line[K_KEEPALIVE], "Keepalive", expected, got);
}

/* A per-source limit above the total would never apply: say so rather than ignore it. */
static int check_pending(struct parser *p)
{
	struct sl_config *c = p->c;
	char expected[64], got[16];

	if (!p->key_line[K_MAX_PENDING_PER_SOURCE] && c->max_pending_per_source > c->max_pending)
		c->max_pending_per_source = c->max_pending; /* the default follows a small total */
	if (c->max_pending_per_source <= c->max_pending)
		return 0;
	snprintf(expected, sizeof(expected), "at most MaxPending (%u)", c->max_pending);
	snprintf(got, sizeof(got), "%u", c->max_pending_per_source);
	return fail_at(p,
		       p->key_line[K_MAX_PENDING_PER_SOURCE] ? p->key_line[K_MAX_PENDING_PER_SOURCE]
							     : p->key_line[K_MAX_PENDING],
		       "MaxPendingPerSource", expected, got);
}

static int check_whole_file(struct parser *p)
{
	int r = check_required(p);

	if (r == 0)
		r = check_mode_sections(p);
	if (r == 0)
		r = p->c->mode == SL_MODE_SERVER ? check_server(p) : check_client(p);
	if (r == 0)
		r = check_timers(p);
	if (r == 0)
		r = check_pending(p);
	return r;
}

static void fill_derived_defaults(struct sl_config *c)
{
	if (c->mode == SL_MODE_SERVER && c->n_routes == 0) {
		if (c->has_pool4)
			c->routes[c->n_routes++] = c->pool4;
		if (c->has_pool6)
			c->routes[c->n_routes++] = c->pool6;
	}
	if (!c->control_socket[0])
		snprintf(c->control_socket, sizeof(c->control_socket), "%s/%s.sock", SL_CTL_DIR,
			 c->name);
}

int sl_config_parse(struct sl_config *c, const char *text, size_t len, const char *filename,
		    char *err, size_t err_len)
{
	struct parser p = {
		.c = c, .file = filename, .err = err, .err_len = err && err_len ? err_len : 0};
	const char *slash = strrchr(filename, '/');
	size_t pos = 0;
	int r;

	if (p.err_len)
		err[0] = '\0';
	p.dir_len = slash ? (size_t)(slash - filename) + 1 : 0;
	sl_config_init(c);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		r = parse_line(&p, text + pos, n);
		if (r < 0)
			return r;
		pos += n + 1;
	}
	r = check_whole_file(&p);
	if (r < 0)
		return r;
	fill_derived_defaults(c);
	return 0;
}

/* Reads up to FILE_MAX_LEN bytes; -EFBIG past that. Works for pipes too (no st_size). */
static int read_small_file(const char *path, char **out, size_t *out_len)
{
	char *buf = malloc(FILE_MAX_LEN + 1);
	size_t len = 0;
	int fd, r = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	while (len <= FILE_MAX_LEN) {
		ssize_t n = read(fd, buf + len, FILE_MAX_LEN + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r == 0 && len > FILE_MAX_LEN)
		r = -EFBIG;
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int sl_config_load(struct sl_config *c, const char *path, char *err, size_t err_len)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_small_file(path, &text, &len);

	if (r < 0) {
		if (err && err_len) {
			snprintf(err, err_len, "%s: %s", path,
				 r == -EFBIG ? "larger than 1 MiB, not a config file"
					     : strerror(-r));
			make_printable(err);
		}
		return r;
	}
	r = sl_config_parse(c, text, len, path, err, err_len);
	free(text);
	return r;
}
