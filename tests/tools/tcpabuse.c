// SPDX-License-Identifier: MIT
/*
 * tcpabuse: handshake abuse against a TLS-over-TCP port, for tests/net/handshake.sh.
 *
 *   idle       open --count connections and send nothing (half-open handshakes)
 *   slowloris  open them and trickle a TLS ClientHello one byte every 500 ms on each
 *   garbage    open them and send 512 random bytes instead of TLS
 *   rst        no connection: --count blind TCP resets with random sequence numbers, spoofing
 *              --from:--spoof-port -> --to (a raw socket; the kernel adds the IP header)
 *
 * Connections are bound to --from (port chosen by the kernel). For the first three, the tool
 * watches each connection until the server closes it or --hold-ms passes, and prints one line:
 * "mode=... opened=N failed=N closed=N closed_within_1s=N max_close_ms=N still_open=N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS  1024
#define TRICKLE_MS 500

enum mode { IDLE, SLOWLORIS, GARBAGE, RST };
static const char *const mode_name[] = {"idle", "slowloris", "garbage", "rst"};

/* The start of a TLS 1.2-framed ClientHello that announces 512 bytes, then never finishes. */
static const unsigned char hello_prefix[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
					     0xfc, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55};

struct conn {
	int fd;
	uint64_t closed_ms; /* since open; 0 = still open */
	size_t sent;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_ipv4(const char *s, struct sockaddr_in *a, bool with_port)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	if (with_port) {
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		a->sin_port = htons((uint16_t)atoi(colon + 1));
		s = host;
	}
	return inet_pton(AF_INET, s, &a->sin_addr) == 1 ? 0 : -1;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* Blind resets: the attacker knows the four-tuple (ports are guessable) but not the sequence. */
static int send_resets(const struct sockaddr_in *from, uint16_t sport, const struct sockaddr_in *to,
		       unsigned long count, uint64_t seed)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	unsigned long sent = 0;

	if (fd < 0 || bind(fd, (const struct sockaddr *)from, sizeof(*from)) < 0) {
		perror("tcpabuse: raw socket");
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		struct tcphdr th = {0};
		unsigned char pseudo[12];
		uint32_t sum;

		seed ^= seed >> 12;
		seed ^= seed << 25;
		seed ^= seed >> 27;
		th.source = htons(sport);
		th.dest = to->sin_port;
		th.seq = htonl((uint32_t)(seed * 0x2545F4914F6CDD1DULL >> 32));
		th.doff = 5;
		th.rst = 1;
		th.window = htons(512);
		memcpy(pseudo, &from->sin_addr, 4);
		memcpy(pseudo + 4, &to->sin_addr, 4);
		pseudo[8] = 0;
		pseudo[9] = IPPROTO_TCP;
		pseudo[10] = 0;
		pseudo[11] = sizeof(th);
		sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), &th, sizeof(th));
		th.check = htons(csum_fold(sum));
		if (sendto(fd, &th, sizeof(th), 0, (const struct sockaddr *)to, sizeof(*to)) ==
		    (ssize_t)sizeof(th))
			sent++;
	}
	close(fd);
	printf("mode=rst sent=%lu\n", sent);
	return sent == count ? 0 : 1;
}

static int open_conn(const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 2};

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(fd, (const struct sockaddr *)from, sizeof(*from)) < 0 ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A readable connection: data (a TLS alert) is read and ignored; EOF or an error closes it. */
static bool server_closed(int fd)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

static int watch(enum mode mode, struct conn *c, unsigned n, unsigned failed, uint64_t hold_ms,
		 uint64_t seed)
{
	static struct pollfd pfd[MAX_CONNS];
	uint64_t start = now_ms(), next_trickle = start, max_close = 0;
	unsigned open = n, closed = 0, fast = 0;

	if (mode == GARBAGE)
		for (unsigned i = 0; i < n; i++) {
			unsigned char junk[512];

			for (size_t k = 0; k < sizeof(junk); k++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				junk[k] = (unsigned char)(seed >> 56);
			}
			if (send(c[i].fd, junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				continue;
		}
	while (open && now_ms() - start < hold_ms) {
		uint64_t now = now_ms();

		if (mode == SLOWLORIS && now >= next_trickle) {
			for (unsigned i = 0; i < n; i++)
				if (!c[i].closed_ms &&
				    send(c[i].fd, &hello_prefix[c[i].sent % sizeof(hello_prefix)],
					 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
					c[i].sent++;
			next_trickle = now + TRICKLE_MS;
		}
		for (unsigned i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = c[i].closed_ms ? -1 : c[i].fd,
						 .events = POLLIN | POLLRDHUP};
		if (poll(pfd, n, 100) <= 0)
			continue;
		now = now_ms();
		for (unsigned i = 0; i < n; i++) {
			if (!pfd[i].revents || !server_closed(c[i].fd))
				continue;
			c[i].closed_ms = now - start > 0 ? now - start : 1;
			if (c[i].closed_ms > max_close)
				max_close = c[i].closed_ms;
			fast += c[i].closed_ms <= 1000;
			closed++;
			open--;
		}
	}
	printf("mode=%s opened=%u failed=%u closed=%u closed_within_1s=%u max_close_ms=%llu "
	       "still_open=%u\n",
	       mode_name[mode], n, failed, closed, fast, (unsigned long long)max_close, open);
	return 0;
}

static const char usage_text[] =
	"Usage: tcpabuse --mode idle|slowloris|garbage|rst --to ADDR:PORT --from ADDR\n"
	"                [--count N] [--hold-ms N] [--spoof-port N] [--seed N]\n";

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct sockaddr_in to = {0}, from = {0};
	unsigned long count = 16, hold_ms = 15000, spoof_port = 0;
	uint64_t seed = 1;
	int mode = -1;
	unsigned n = 0, failed = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];

		if (!strcmp(o, "--mode"))
			for (mode = 0; mode < 4 && strcmp(v, mode_name[mode]); mode++)
				;
		else if (!strcmp(o, "--to") && parse_ipv4(v, &to, true) == 0)
			;
		else if (!strcmp(o, "--from") && parse_ipv4(v, &from, false) == 0)
			;
		else if (!strcmp(o, "--count"))
			count = strtoul(v, NULL, 10);
		else if (!strcmp(o, "--hold-ms"))
			hold_ms = strtoul(v, NULL, 10);
		else if (!strcmp(o, "--spoof-port"))
			spoof_port = strtoul(v, NULL, 10);
		else if (!strcmp(o, "--seed"))
			seed = strtoull(v, NULL, 0) | 1;
		else
			mode = -1;
	}
	if (argc % 2 == 0 || mode < 0 || mode > 3 || !to.sin_port || !from.sin_family ||
	    (mode == RST && !spoof_port) || (mode != RST && count > MAX_CONNS)) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (mode == RST)
		return send_resets(&from, (uint16_t)spoof_port, &to, count, seed);
	for (unsigned long i = 0; i < count; i++) {
		int fd = open_conn(&from, &to);

		if (fd < 0) {
			failed++;
			continue;
		}
		conns[n++] = (struct conn){.fd = fd};
	}
	watch((enum mode)mode, conns, n, failed, hold_ms, seed);
	for (unsigned i = 0; i < n; i++)
		close(conns[i].fd);
	return 0;
}
