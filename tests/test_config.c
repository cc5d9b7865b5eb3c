// SPDX-License-Identifier: MIT
/* The INI configuration parser: the shipped examples, defaults, and every error message. */
#include "cli/config.h"
#include "core/log.h"
#include "crypto/aead.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

/* Something every valid file needs; tests append to or replace parts of it. */
#define IFACE_SERVER \
	"[Interface]\nMode = server\nCA = ca.pem\nCertificate = s.pem\nPrivateKey = s.key\n"
#define IFACE_CLIENT \
	"[Interface]\nMode = client\nCA = ca.pem\nCertificate = c.pem\nPrivateKey = c.key\n"
#define SERVER_MIN "[Server]\nListen = 198.18.0.1:4500\nPool4 = 198.19.0.0/24\n"
#define CLIENT_MIN "[Client]\nServer = 198.18.0.1:4500\n"

static struct sl_config cfg;
static char err[256];

static int parse_as(const char *filename, const char *text)
{
	memset(err, 'x', sizeof(err));
	return sl_config_parse(&cfg, text, strlen(text), filename, err, sizeof(err));
}

static int parse(const char *text)
{
	return parse_as("t.conf", text);
}

/* Parse must fail with -EINVAL and exactly one line of err containing want. */
static void expect_error(const char *text, const char *want)
{
	int r = parse(text);

	if (r != -EINVAL || !strstr(err, want))
		print_error("text:\n%s\nr=%d err='%s' want '%s'\n", text, r, err, want);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
}

static void assert_endpoint(const struct sockaddr_storage *ss, int family, const char *addr,
			    uint16_t port)
{
	char got[INET6_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, got, sizeof(got));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, got, sizeof(got));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(got, addr);
}

static void assert_prefix(const struct sl_prefix *p, int family, const char *addr, int len)
{
	char got[INET6_ADDRSTRLEN];

	assert_int_equal(p->family, family);
	assert_int_equal(p->len, len);
	inet_ntop(family, p->addr, got, sizeof(got));
	assert_string_equal(got, addr);
}

/* dirname of path into out ("." when there is no '/'). */
static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash)
		snprintf(out, len, "%.*s", (int)(slash - path), path);
	else
		snprintf(out, len, ".");
}

/*
 * The examples live in the source tree, and the test may run from the build
 * directory (meson test), the source root (tests/run.sh) or elsewhere: look
 * next to this source file as compiled, in ./examples, and two levels above
 * the test binary (BUILD/tests/test_config). SL_SOURCE_DIR, when the build
 * defines it, goes first.
 */
static int find_example(const char *name, char *path, size_t path_len)
{
	char src_dir[512] = ".", exe[512] = "", exe_dir[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *dirs[4];
	int n_dirs = 0;

	if (n > 0)
		exe[n] = '\0';
	dir_of(__FILE__, src_dir, sizeof(src_dir));
	dir_of(exe, exe_dir, sizeof(exe_dir));
#ifdef SL_SOURCE_DIR
	dirs[n_dirs++] = SL_SOURCE_DIR;
#endif
	dirs[n_dirs++] = src_dir[0] ? src_dir : ".";
	dirs[n_dirs++] = "tests";
	dirs[n_dirs++] = exe_dir;
	for (int i = 0; i < n_dirs; i++) {
		const char *up = i == n_dirs - 1 ? "/../.." : "/..";

		snprintf(path, path_len, "%s%s/examples/%s", dirs[i], up, name);
		if (access(path, R_OK) == 0)
			return 0;
	}
	print_error("examples/%s not found next to %s, in ./examples or near %s\n", name, __FILE__,
		    exe);
	return -ENOENT;
}

static int load_example(const char *name, char *path, size_t path_len)
{
	int r = find_example(name, path, path_len);

	if (r == 0)
		r = sl_config_load(&cfg, path, err, sizeof(err));
	if (r < 0)
		print_error("%s: %s\n", path, err);
	return r;
}

static void test_defaults(void **state)
{
	sl_config_init(&cfg);
	assert_int_equal(cfg.mode, SL_MODE_NONE);
	assert_string_equal(cfg.name, "sl0");
	assert_int_equal(cfg.mtu, 1400);
	assert_int_equal(cfg.cipher, SL_CIPHER_AES256GCM);
	assert_int_equal(cfg.keepalive_s, 1);
	assert_int_equal(cfg.dead_after_s, 3);
	assert_int_equal(cfg.rekey_seconds, 120);
	assert_true(cfg.rekey_packets == (UINT64_C(1) << 30));
	assert_int_equal(cfg.replay_window, 2048);
	assert_int_equal(cfg.max_clients, 1024);
	assert_int_equal(cfg.max_pending, 64);
	assert_int_equal(cfg.max_pending_per_source, 8);
	assert_int_equal(cfg.handshake_timeout_s, 10);
	assert_int_equal(cfg.log_level, SL_LOG_INFO);
	assert_string_equal(cfg.control_socket, "");
	assert_int_equal(cfg.n_listen, 0);
	assert_int_equal(cfg.n_routes, 0);
	assert_string_equal(cfg.user, "nobody");
	assert_true(cfg.seccomp);
}

static void test_minimal_server_gets_defaults(void **state)
{
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN), 0);
	assert_string_equal(err, "");
	assert_int_equal(cfg.mode, SL_MODE_SERVER);
	assert_string_equal(cfg.name, "sl0");
	assert_int_equal(cfg.mtu, 1400);
	assert_int_equal(cfg.replay_window, 2048);
	assert_string_equal(cfg.control_socket, "/run/sluice/sl0.sock");
	assert_string_equal(cfg.ca, "ca.pem");
}

static void test_example_server(void **state)
{
	char path[1024], want[1100];
	const char *slash;

	assert_int_equal(load_example("server.conf", path, sizeof(path)), 0);
	slash = strrchr(path, '/');
	assert_int_equal(cfg.mode, SL_MODE_SERVER);
	assert_string_equal(cfg.name, "sl0");
	assert_int_equal(cfg.mtu, 1400);
	snprintf(want, sizeof(want), "%.*s/ca.pem", (int)(slash - path), path);
	assert_string_equal(cfg.ca, want);
	snprintf(want, sizeof(want), "%.*s/server.pem", (int)(slash - path), path);
	assert_string_equal(cfg.cert, want);
	snprintf(want, sizeof(want), "%.*s/server.key", (int)(slash - path), path);
	assert_string_equal(cfg.key, want);
	assert_int_equal(cfg.cipher, SL_CIPHER_AES256GCM);
	assert_int_equal(cfg.keepalive_s, 1);
	assert_int_equal(cfg.dead_after_s, 3);
	assert_int_equal(cfg.rekey_seconds, 120);
	assert_true(cfg.rekey_packets == 1073741824);
	assert_int_equal(cfg.log_level, SL_LOG_INFO);
	assert_int_equal(cfg.n_listen, 1);
	assert_endpoint(&cfg.listen[0], AF_INET, "198.18.0.1", 4500);
	assert_true(cfg.has_pool4);
	assert_prefix(&cfg.pool4, AF_INET, "198.19.0.0", 24);
	assert_true(cfg.has_pool6);
	assert_prefix(&cfg.pool6, AF_INET6, "2001:db8:1::", 64);
	assert_int_equal(cfg.n_routes, 2);
	assert_int_equal(cfg.max_clients, 1024);
	assert_string_equal(cfg.control_socket, "/run/sluice/sl0.sock");
}

static void test_example_client(void **state)
{
	char path[1024], want[1100];
	const char *slash;

	assert_int_equal(load_example("client.conf", path, sizeof(path)), 0);
	slash = strrchr(path, '/');
	assert_int_equal(cfg.mode, SL_MODE_CLIENT);
	snprintf(want, sizeof(want), "%.*s/client.pem", (int)(slash - path), path);
	assert_string_equal(cfg.cert, want);
	snprintf(want, sizeof(want), "%.*s/client.key", (int)(slash - path), path);
	assert_string_equal(cfg.key, want);
	assert_endpoint(&cfg.server, AF_INET, "198.18.0.1", 4500);
	assert_int_equal(cfg.n_listen, 0);
	assert_int_equal(cfg.n_routes, 0);
}

static void test_all_keys_set(void **state)
{
	const char *text =
		IFACE_SERVER "Name = tun-a.1\nMTU = 9000\nCipher = chacha20-poly1305\n"
			     "Keepalive = 0\nDeadAfter = 1\nRekeySeconds = 604800\n"
			     "RekeyPackets = 1099511627776\nReplayWindow = 65536\n"
			     "ControlSocket = /tmp/x.sock\nLogLevel = debug\n"
			     "[Server]\nListen = 198.18.0.1:1\nListen = [2001:db8::1]:65535\n"
			     "Pool6 = 2001:db8:1::/126\nRoute = 0.0.0.0/0\nRoute = ::/0\n"
			     "MaxClients = 65536\n";

	assert_int_equal(parse(text), 0);
	assert_string_equal(cfg.name, "tun-a.1");
	assert_int_equal(cfg.mtu, 9000);
	assert_int_equal(cfg.cipher, SL_CIPHER_CHACHA20POLY1305);
	assert_int_equal(cfg.keepalive_s, 0);
	assert_int_equal(cfg.dead_after_s, 1);
	assert_int_equal(cfg.rekey_seconds, 604800);
	assert_true(cfg.rekey_packets == (UINT64_C(1) << 40));
	assert_int_equal(cfg.replay_window, 65536);
	assert_string_equal(cfg.control_socket, "/tmp/x.sock");
	assert_int_equal(cfg.log_level, SL_LOG_DEBUG);
	assert_int_equal(cfg.n_listen, 2);
	assert_endpoint(&cfg.listen[0], AF_INET, "198.18.0.1", 1);
	assert_endpoint(&cfg.listen[1], AF_INET6, "2001:db8::1", 65535);
	assert_false(cfg.has_pool4);
	assert_prefix(&cfg.pool6, AF_INET6, "2001:db8:1::", 126);
	assert_int_equal(cfg.n_routes, 2);
	assert_prefix(&cfg.routes[0], AF_INET, "0.0.0.0", 0);
	assert_prefix(&cfg.routes[1], AF_INET6, "::", 0);
	assert_int_equal(cfg.max_clients, 65536);
}

static void test_comments_whitespace_case(void **state)
{
	const char *text =
		"# leading comment\n"
		"; another\n"
		"\n"
		"  [ interface ]   # trailing\n"
		"\tMODE\t=\tServer\t; why not\n"
		"ca=ca.pem\r\n"
		"certificate = s#1.pem\n" /* '#' not after whitespace: part of the value */
		"PRIVATEKEY =   s.key   \n"
		"cipher = AES-128-GCM\n"
		"loglevel = WARN\n"
		"name = Sl1    # comment\n"
		"   \t  \n"
		"[SERVER]\n"
		"listen = 198.18.0.1:4500\n"
		"pool4 = 198.19.0.0/24\n";

	assert_int_equal(parse(text), 0);
	assert_int_equal(cfg.mode, SL_MODE_SERVER);
	assert_string_equal(cfg.ca, "ca.pem");
	assert_string_equal(cfg.cert, "s#1.pem");
	assert_string_equal(cfg.key, "s.key");
	assert_int_equal(cfg.cipher, SL_CIPHER_AES128GCM);
	assert_int_equal(cfg.log_level, SL_LOG_WARN);
	assert_string_equal(cfg.name, "Sl1");
	assert_string_equal(cfg.control_socket, "/run/sluice/Sl1.sock");
}

static void test_relative_paths(void **state)
{
	const char *text =
		"[Interface]\nMode = client\nCA = ../pki/ca.pem\nCertificate = /abs/c.pem\n"
		"PrivateKey = c.key\nControlSocket = run/c.sock\n" CLIENT_MIN;

	assert_int_equal(parse_as("/etc/sluice/client.conf", text), 0);
	assert_string_equal(cfg.ca, "/etc/sluice/../pki/ca.pem");
	assert_string_equal(cfg.cert, "/abs/c.pem");
	assert_string_equal(cfg.key, "/etc/sluice/c.key");
	assert_string_equal(cfg.control_socket, "/etc/sluice/run/c.sock");

	assert_int_equal(parse_as("conf/client.conf", text), 0);
	assert_string_equal(cfg.key, "conf/c.key");
	assert_int_equal(parse_as("/client.conf", text), 0);
	assert_string_equal(cfg.key, "/c.key");
	/* No directory in the name: relative to the current directory, as given. */
	assert_int_equal(parse_as("client.conf", text), 0);
	assert_string_equal(cfg.key, "c.key");
}

static void test_path_too_long(void **state)
{
	char text[2048];
	char long_name[600];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	snprintf(text, sizeof(text), IFACE_CLIENT "ControlSocket = %s\n" CLIENT_MIN, long_name);
	expect_error(text, "t.conf:6: ControlSocket: expected a path shorter than 512 bytes");
}

static void test_ipv6_listen_and_server(void **state)
{
	assert_int_equal(parse(IFACE_SERVER "[Server]\nListen = [2001:db8::1]:4500\n"
					    "Pool6 = 2001:db8:1::/64\n"),
			 0);
	assert_int_equal(cfg.n_listen, 1);
	assert_endpoint(&cfg.listen[0], AF_INET6, "2001:db8::1", 4500);
	assert_false(cfg.has_pool4);
	assert_int_equal(cfg.n_routes, 1);
	assert_prefix(&cfg.routes[0], AF_INET6, "2001:db8:1::", 64);

	assert_int_equal(parse(IFACE_CLIENT "[Client]\nServer = [2001:db8::1]:443\n"), 0);
	assert_endpoint(&cfg.server, AF_INET6, "2001:db8::1", 443);
}

static void test_route_default_from_pools(void **state)
{
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN "Pool6 = 2001:db8:1::/64\n"), 0);
	assert_int_equal(cfg.n_routes, 2);
	assert_prefix(&cfg.routes[0], AF_INET, "198.19.0.0", 24);
	assert_prefix(&cfg.routes[1], AF_INET6, "2001:db8:1::", 64);

	/* Explicit routes replace the default. */
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN "Route = 10.0.0.0/8\n"), 0);
	assert_int_equal(cfg.n_routes, 1);
	assert_prefix(&cfg.routes[0], AF_INET, "10.0.0.0", 8);
}

static void test_error_cipher(void **state)
{
	expect_error(IFACE_SERVER "Cipher = des\n" SERVER_MIN,
		     "t.conf:6: Cipher: expected aes-128-gcm, aes-256-gcm or chacha20-poly1305, "
		     "got 'des'");
	assert_string_equal(err, "t.conf:6: Cipher: expected aes-128-gcm, aes-256-gcm or "
				 "chacha20-poly1305, got 'des'");
}

static void test_error_numbers(void **state)
{
	expect_error(IFACE_SERVER "MTU = 575\n",
		     "t.conf:6: MTU: expected a number 576..9000, got '575'");
	expect_error(IFACE_SERVER "MTU = 9001\n", "MTU: expected a number 576..9000, got '9001'");
	expect_error(IFACE_SERVER "MTU = 0x500\n", "got '0x500'");
	expect_error(IFACE_SERVER "MTU = -1\n", "got '-1'");
	expect_error(IFACE_SERVER "MTU = +1400\n", "got '+1400'");
	expect_error(IFACE_SERVER "MTU = 14 00\n", "got '14 00'");
	expect_error(IFACE_SERVER "MTU =\n", "MTU: expected a number 576..9000, got ''");
	expect_error(IFACE_SERVER "MTU = 99999999999999999999999\n", "got '9999");
	expect_error(IFACE_SERVER "Keepalive = 3601\n", "Keepalive: expected a number 0..3600");
	expect_error(IFACE_SERVER "DeadAfter = 0\n", "DeadAfter: expected a number 1..3600");
	expect_error(IFACE_SERVER "RekeySeconds = 604801\n",
		     "RekeySeconds: expected a number 0..604800");
	expect_error(IFACE_SERVER "RekeyPackets = 1099511627777\n",
		     "RekeyPackets: expected a number 0..1099511627776");
	expect_error(IFACE_SERVER "ReplayWindow = 31\n",
		     "ReplayWindow: expected a number 32..65536");
	expect_error(IFACE_SERVER "ReplayWindow = 65537\n", "got '65537'");
	expect_error(IFACE_SERVER SERVER_MIN "MaxClients = 0\n",
		     "MaxClients: expected a number 1..65536");
}

static void test_error_words(void **state)
{
	expect_error("[Interface]\nMode = peer\n",
		     "t.conf:2: Mode: expected server or client, got 'peer'");
	expect_error(IFACE_SERVER "LogLevel = trace\n",
		     "t.conf:6: LogLevel: expected error, warn, info or debug, got 'trace'");
	expect_error(IFACE_SERVER "Name = a b\n", "t.conf:6: Name: expected 1..15 characters");
	expect_error(IFACE_SERVER "Name = 0123456789abcdef\n", "got '0123456789abcdef'");
	expect_error(IFACE_SERVER "Name = a/b\n", "got 'a/b'");
	expect_error(IFACE_SERVER "Name =\n", "Name: expected 1..15 characters");
	expect_error("[Interface]\nCA = \n", "t.conf:2: CA: expected a file path, got ''");
}

static void test_user_and_seccomp(void **state)
{
	assert_int_equal(parse(IFACE_SERVER "User = sluice-vpn\nSeccomp = No\n" SERVER_MIN), 0);
	assert_string_equal(cfg.user, "sluice-vpn");
	assert_false(cfg.seccomp);
	assert_int_equal(parse(IFACE_CLIENT "user = root\nseccomp = YES\n" CLIENT_MIN), 0);
	assert_string_equal(cfg.user, "root");
	assert_true(cfg.seccomp);
	/* 32 characters is the longest name useradd accepts. */
	assert_int_equal(parse(IFACE_SERVER "User = abcdefghijklmnopqrstuvwxyz012345\n" SERVER_MIN),
			 0);
	assert_string_equal(cfg.user, "abcdefghijklmnopqrstuvwxyz012345");
}

static void test_error_user_and_seccomp(void **state)
{
	expect_error(IFACE_SERVER "User =\n", "t.conf:6: User: expected a user name of 1..32");
	expect_error(IFACE_SERVER "User = a b\n", "got 'a b'");
	expect_error(IFACE_SERVER "User = -x\n", "got '-x'");
	expect_error(IFACE_SERVER "User = ../x\n", "got '../x'");
	expect_error(IFACE_SERVER "User = abcdefghijklmnopqrstuvwxyz0123456\n",
		     "got 'abcdefghijklmnopqrstuvwxyz0123456'");
	expect_error(IFACE_SERVER "Seccomp = log\n",
		     "t.conf:6: Seccomp: expected yes or no, got 'log'");
	expect_error(IFACE_SERVER "[Server]\nUser = nobody\n", "User: expected in [Interface]");
}

static void test_workers(void **state)
{
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN), 0);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(parse(IFACE_SERVER "Workers = 1\n" SERVER_MIN), 0);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(parse(IFACE_SERVER "Workers = 2\n" SERVER_MIN), 0);
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(parse(IFACE_SERVER "Workers = auto\n" SERVER_MIN), 0);
	assert_int_equal(cfg.workers, 0); /* one per CPU, resolved by sluice up */
	assert_int_equal(parse(IFACE_SERVER "Workers = 0\n" SERVER_MIN), 0);
	assert_int_equal(cfg.workers, 0);
	expect_error(IFACE_SERVER "Workers = two\n", "Workers: expected a number 0..64, got 'two'");
	expect_error(IFACE_SERVER "Workers = 65\n", "Workers: expected a number 0..64, got '65'");
}

static void test_io_backend(void **state)
{
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN), 0);
	assert_false(cfg.tun_uring); /* epoll unless asked */
	assert_int_equal(parse(IFACE_SERVER "IoBackend = io_uring\n" SERVER_MIN), 0);
	assert_true(cfg.tun_uring);
	assert_int_equal(parse(IFACE_SERVER "IoBackend = epoll\n" SERVER_MIN), 0);
	assert_false(cfg.tun_uring);
	expect_error(IFACE_SERVER "IoBackend = uring\n",
		     "t.conf:6: IoBackend: expected epoll or io_uring, got 'uring'");
}

static void test_error_addresses(void **state)
{
	expect_error(IFACE_SERVER "[Server]\nListen = 198.18.0.1\n",
		     "t.conf:7: Listen: expected IPV4:PORT or [IPV6]:PORT");
	expect_error(IFACE_SERVER "[Server]\nListen = 198.18.0.1:0\n", "got '198.18.0.1:0'");
	expect_error(IFACE_SERVER "[Server]\nListen = 2001:db8::1:4500\n",
		     "got '2001:db8::1:4500'");
	expect_error(IFACE_CLIENT "[Client]\nServer = vpn.example:4500\n",
		     "t.conf:7: Server: expected IPV4:PORT or [IPV6]:PORT with port 1..65535, got "
		     "'vpn.example:4500'");
	expect_error(IFACE_SERVER "[Server]\nPool4 = 198.19.0.0/31\n",
		     "t.conf:7: Pool4: expected an IPv4 network ADDR/LEN with LEN 8..30, got "
		     "'198.19.0.0/31'");
	expect_error(IFACE_SERVER "[Server]\nPool4 = 10.0.0.0/7\n", "got '10.0.0.0/7'");
	expect_error(IFACE_SERVER "[Server]\nPool4 = 2001:db8::/64\n", "Pool4: expected an IPv4");
	expect_error(IFACE_SERVER "[Server]\nPool4 = 198.19.0.1\n", "Pool4: expected an IPv4");
	expect_error(IFACE_SERVER "[Server]\nPool6 = 2001:db8::/127\n",
		     "Pool6: expected an IPv6 network ADDR/LEN with LEN 64..126");
	expect_error(IFACE_SERVER "[Server]\nPool6 = 2001:db8::/48\n", "got '2001:db8::/48'");
	expect_error(
		IFACE_SERVER "[Server]\nPool4 = 198.19.0.1/24\n",
		"Pool4: expected a network address with the host bits zero, got '198.19.0.1/24'");
	expect_error(IFACE_SERVER "[Server]\nRoute = 10.1.0.0/8\n", "Route: expected a network");
	expect_error(IFACE_SERVER "[Server]\nRoute = 10.0.0.0/33\n",
		     "Route: expected an IPv4 or IPv6 network ADDR/LEN, got '10.0.0.0/33'");
}

static void test_error_structure(void **state)
{
	expect_error("Mode = server\n",
		     "t.conf:1: Mode: expected [Interface], [Server] or [Client] "
		     "before any key, got 'Mode'");
	expect_error("# x\n[Peer]\n",
		     "t.conf:2: section: expected [Interface], [Server] or [Client], "
		     "got '[Peer]'");
	expect_error("[Interface\n",
		     "t.conf:1: section: expected [Interface], [Server] or [Client], "
		     "got '[Interface'");
	expect_error("[Interface]\nMode server\n",
		     "t.conf:2: syntax: expected [Section], Key = Value or a # comment, got "
		     "'Mode server'");
	expect_error("[Interface]\n= server\n", "t.conf:2: syntax: expected");
	expect_error("[Interface]\nFoo = 1\n", "t.conf:2: key: expected one of Mode, Name, MTU");
	expect_error("[Interface]\nFoo = 1\n", "in [Interface], got 'Foo'");
	expect_error("[Client]\nListen = 1.2.3.4:5\n", "t.conf:2: Listen: expected in [Server], "
						       "got 'Client'");
	expect_error(IFACE_CLIENT "[Client]\nPool4 = 198.19.0.0/24\n",
		     "t.conf:7: Pool4: expected in [Server], got 'Client'");
	expect_error("[Server]\nMode = server\n", "t.conf:2: Mode: expected in [Interface]");
}

static void test_error_duplicates_and_limits(void **state)
{
	char text[4096];
	size_t n;

	expect_error(IFACE_SERVER "mtu = 1400\nMTU = 1500\n",
		     "t.conf:7: MTU: expected only once (already set on line 6), got '1500'");
	expect_error(IFACE_SERVER "Mode = server\n", "t.conf:6: Mode: expected only once");
	expect_error(IFACE_SERVER "[Server]\nListen = 198.18.0.1:1\nListen = 198.18.0.1:2\n"
				  "Listen = 198.18.0.1:3\n",
		     "t.conf:9: Listen: expected at most 2 Listen lines, got '198.18.0.1:3'");

	n = (size_t)snprintf(text, sizeof(text), "%s", IFACE_SERVER SERVER_MIN);
	for (int i = 0; i <= SL_CONFIG_MAX_ROUTES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "Route = 10.%d.0.0/16\n", i);
	expect_error(text, "t.conf:41: Route: expected at most 32 Route lines, got '10.32.0.0/16'");
}

static void test_error_whole_file(void **state)
{
	expect_error("", "t.conf: missing Mode in [Interface]");
	assert_string_equal(err, "t.conf: missing Mode in [Interface]");
	expect_error("[Interface]\nMode = server\n" SERVER_MIN,
		     "t.conf: missing CA in [Interface]");
	expect_error("[Interface]\nMode = server\nCA = a\n" SERVER_MIN,
		     "t.conf: missing Certificate in [Interface]");
	expect_error("[Interface]\nMode = server\nCA = a\nCertificate = b\n" SERVER_MIN,
		     "t.conf: missing PrivateKey in [Interface]");
	expect_error(IFACE_SERVER "[Server]\nPool4 = 198.19.0.0/24\n",
		     "t.conf: missing Listen in [Server]");
	expect_error(IFACE_SERVER "[Server]\nListen = 198.18.0.1:4500\n",
		     "t.conf: missing Pool4 or Pool6 in [Server]");
	expect_error(IFACE_CLIENT, "t.conf: missing Server in [Client]");
	expect_error(IFACE_CLIENT CLIENT_MIN SERVER_MIN,
		     "t.conf:8: section: expected [Client] with Mode = client, got '[Server]'");
	expect_error(IFACE_SERVER SERVER_MIN CLIENT_MIN,
		     "t.conf:9: section: expected [Server] with Mode = server, got '[Client]'");
}

static void test_handshake_limits(void **state)
{
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN "MaxPending = 4096\n"
						       "MaxPendingPerSource = 4096\n"
						       "HandshakeTimeout = 300\n"),
			 0);
	assert_int_equal(cfg.max_pending, 4096);
	assert_int_equal(cfg.max_pending_per_source, 4096);
	assert_int_equal(cfg.handshake_timeout_s, 300);
	/* The per-source default (8) follows a smaller total. */
	assert_int_equal(parse(IFACE_SERVER SERVER_MIN "MaxPending = 3\n"), 0);
	assert_int_equal(cfg.max_pending, 3);
	assert_int_equal(cfg.max_pending_per_source, 3);
	expect_error(IFACE_SERVER SERVER_MIN "MaxPending = 0\n",
		     "MaxPending: expected a number 1..4096, got '0'");
	expect_error(IFACE_SERVER SERVER_MIN "MaxPending = 4097\n", "got '4097'");
	expect_error(IFACE_SERVER SERVER_MIN "MaxPendingPerSource = 0\n",
		     "MaxPendingPerSource: expected a number 1..4096, got '0'");
	expect_error(IFACE_SERVER SERVER_MIN "HandshakeTimeout = 0\n",
		     "HandshakeTimeout: expected a number 1..300, got '0'");
	expect_error(IFACE_SERVER SERVER_MIN "HandshakeTimeout = 301\n", "got '301'");
	expect_error(IFACE_SERVER SERVER_MIN "MaxPendingPerSource = 9\nMaxPending = 4\n",
		     "MaxPendingPerSource: expected at most MaxPending (4), got '9'");
	expect_error(IFACE_SERVER CLIENT_MIN "MaxPending = 4\n", "MaxPending");
}

static void test_error_dead_after_vs_keepalive(void **state)
{
	expect_error(IFACE_CLIENT "Keepalive = 5\nDeadAfter = 5\n" CLIENT_MIN,
		     "t.conf:7: DeadAfter: expected more than Keepalive (5), got '5'");
	/* DeadAfter left at its default 3: the Keepalive line is the one to fix. */
	expect_error(IFACE_CLIENT "Keepalive = 4\n" CLIENT_MIN,
		     "t.conf:6: Keepalive: expected less than DeadAfter (3), got '4'");
	expect_error(IFACE_CLIENT "DeadAfter = 2\nKeepalive = 2\n" CLIENT_MIN,
		     "t.conf:7: Keepalive: expected less than DeadAfter (2), got '2'");
	/* Keepalive 0 turns probes off: any DeadAfter goes. */
	assert_int_equal(parse(IFACE_CLIENT "Keepalive = 0\nDeadAfter = 1\n" CLIENT_MIN), 0);
	assert_int_equal(parse(IFACE_CLIENT "Keepalive = 2\nDeadAfter = 3\n" CLIENT_MIN), 0);
}

static void test_error_bytes(void **state)
{
	static const char with_nul[] = "[Interface]\nMode = se\0rver\n";
	char *long_line = malloc(5000);
	int r;

	r = sl_config_parse(&cfg, with_nul, sizeof(with_nul) - 1, "t.conf", err, sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_string_equal(err, "t.conf:2: line: expected text, got '\\0'");

	/* Control bytes never break the one-line promise. */
	expect_error("[Interface]\nMode = a\rb\x1b\n", "t.conf:2: Mode: expected server or client, "
						       "got 'a?b?'");

	assert_non_null(long_line);
	memset(long_line, 'A', 4999);
	long_line[4999] = '\0';
	expect_error(long_line, "t.conf:1: line: expected at most 4095 bytes, got 'AAAA");
	assert_non_null(strstr(err, "...'"));
	free(long_line);

	/* A tiny err buffer is still NUL-terminated. */
	assert_int_equal(sl_config_parse(&cfg, "x", 1, "t.conf", err, 5), -EINVAL);
	assert_string_equal(err, "t.co");
	assert_int_equal(sl_config_parse(&cfg, "x", 1, "t.conf", NULL, 0), -EINVAL);
}

static void test_line_numbers_count_every_line(void **state)
{
	expect_error("\n# c\n\r\n[Interface]\r\n\r\nMTU = 1\r\n", "t.conf:6: MTU:");
}

static void test_load(void **state)
{
	char dir[] = "/tmp/sluice-test-config-XXXXXX";
	char path[128], big_path[128];
	FILE *f;
	int r;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	r = sl_config_load(&cfg, path, err, sizeof(err));
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(err, "missing.conf: No such file or directory"));

	r = sl_config_load(&cfg, dir, err, sizeof(err));
	assert_int_equal(r, -EISDIR);

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(IFACE_CLIENT CLIENT_MIN, f);
	fclose(f);
	assert_int_equal(sl_config_load(&cfg, path, err, sizeof(err)), 0);
	snprintf(big_path, sizeof(big_path), "%s/c.key", dir);
	assert_string_equal(cfg.key, big_path);

	snprintf(big_path, sizeof(big_path), "%s/big.conf", dir);
	f = fopen(big_path, "w");
	assert_non_null(f);
	for (int i = 0; i < (1 << 20) / 8 + 1; i++)
		fputs("#234567\n", f);
	fclose(f);
	r = sl_config_load(&cfg, big_path, err, sizeof(err));
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(err, "big.conf: larger than 1 MiB"));

	unlink(big_path);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_minimal_server_gets_defaults),
		cmocka_unit_test(test_example_server),
		cmocka_unit_test(test_example_client),
		cmocka_unit_test(test_all_keys_set),
		cmocka_unit_test(test_comments_whitespace_case),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_ipv6_listen_and_server),
		cmocka_unit_test(test_route_default_from_pools),
		cmocka_unit_test(test_error_cipher),
		cmocka_unit_test(test_error_numbers),
		cmocka_unit_test(test_error_words),
		cmocka_unit_test(test_user_and_seccomp),
		cmocka_unit_test(test_error_user_and_seccomp),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_io_backend),
		cmocka_unit_test(test_error_addresses),
		cmocka_unit_test(test_error_structure),
		cmocka_unit_test(test_error_duplicates_and_limits),
		cmocka_unit_test(test_error_whole_file),
		cmocka_unit_test(test_handshake_limits),
		cmocka_unit_test(test_error_dead_after_vs_keepalive),
		cmocka_unit_test(test_error_bytes),
		cmocka_unit_test(test_line_numbers_count_every_line),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
