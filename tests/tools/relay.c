// SPDX-License-Identifier: MIT
/*
 * relay: a userspace impairment relay for the network tests, standing in for netem (which the
 * test kernel lacks). It sits between a client and a server:
 *
 *   client --UDP--> [--listen ADDR:PORT] relay (one socket per client) --UDP--> [--to ADDR:PORT]
 *
 * Datagrams from the client are rate-limited (a token-bucket policer), dropped, corrupted,
 * duplicated, held back (reordered) and delayed as asked; with --both the replies are impaired the
 * same way, otherwise they pass untouched. A blackhole window swallows both directions, as a dead
 * path would. With --tcp, TCP connections to the same port are proxied byte for byte (the TLS
 * control/fallback channel), unimpaired.
 *
 * Randomness comes from --seed only, one generator per direction with a fixed number of draws
 * per datagram, so the fate of the Nth datagram does not depend on timing. Memory is bounded:
 * MAX_FLOWS clients, MAX_PAIRS TCP connections, MAX_QUEUED_BYTES of datagrams held back.
 * Counters go to stdout on SIGUSR1 and at exit (SIGTERM/SIGINT), and to --stats-file every second.
 * SIGUSR2 moves every client's upstream socket to a new source port (and, with --rebind-from, a
 * new source address), as a NAT rebinding or a roaming client looks to the server.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FLOWS	 64
#define MAX_PAIRS	 32
#define MAX_DGRAM	 65536
#define MAX_QUEUED	 4096
#define MAX_QUEUED_BYTES (16u << 20)
#define MAX_HELD	 64
#define HOLD_TIMEOUT_MS	 200
#define TCP_BUF		 65536
#define STATS_EVERY_MS	 1000

enum dir { C2S, S2C, NDIR };
static const char *const dir_name[NDIR] = {"c2s", "s2c"};

enum counter {
	RECEIVED,
	FORWARDED,
	DROPPED,
	BLACKHOLED,
	DUPLICATED,
	CORRUPTED,
	REORDERED,
	DELAYED,
	OVERFLOW, /* no room to hold a datagram, or its client was evicted meanwhile */
	RATELIMITED,
	NCOUNTERS
};
static const char *const counter_name[NCOUNTERS] = {
	"received",  "forwarded", "dropped", "blackholed", "duplicated",
	"corrupted", "reordered", "delayed", "overflow",   "ratelimited"};

struct impair {
	double drop, dup, corrupt, reorder; /* percent */
	unsigned reorder_depth, delay_ms, jitter_ms;
	long blackhole_after_ms, blackhole_for_ms; /* -1: never / forever */
	long blackhole_after_c2s;		   /* -1: never; else from that c2s datagram on */
	unsigned rate_kbit;			   /* 0: unlimited */
};

struct flow {
	bool used;
	uint32_t gen; /* bumped on reuse, so held datagrams of an evicted client die */
	struct sockaddr_storage client;
	socklen_t client_len;
	int fd; /* connected to the target */
	uint64_t last_ms;
};

struct dgram {
	enum dir dir;
	int flow;
	uint32_t gen;
	long delay_ms;	    /* drawn on arrival: delay plus jitter */
	uint64_t due_ms;    /* in the delay queue */
	unsigned countdown; /* held for reordering: datagrams still to overtake it */
	uint64_t held_since_ms;
	size_t len;
	unsigned char data[];
};

struct half {
	unsigned char buf[TCP_BUF];
	size_t off, len;
	bool eof;
};

struct pair {
	int fd[2];	  /* 0: client, 1: server */
	struct half h[2]; /* h[d] carries bytes from fd[d] to fd[!d] */
};

struct relay {
	struct sockaddr_storage listen, to;
	socklen_t listen_len, to_len;
	bool tcp, both;
	struct impair im;
	const char *stats_file;
	struct sockaddr_storage rebind_from; /* source address after SIGUSR2 (port 0: any) */
	socklen_t rebind_from_len;
	uint64_t rebinds;
	int udp_fd, tcp_fd;
	uint64_t start_ms, rng[NDIR];
	uint64_t hole_from_ms; /* when the blackhole began (monotonic); 0: not yet */
	uint64_t count[NDIR][NCOUNTERS], tcp_conns, tcp_bytes[2];
	struct flow flows[MAX_FLOWS];
	struct pair *pairs[MAX_PAIRS];
	struct dgram *queue[MAX_QUEUED]; /* by due_ms; arrival order among equals */
	size_t nqueue, queued_bytes;
	struct dgram *held[NDIR][MAX_HELD];
	size_t nheld[NDIR];
	double tokens[NDIR]; /* rate limit: bytes that may pass now */
	uint64_t tokens_ms[NDIR];
};

static volatile sig_atomic_t got_term, got_usr1, got_usr2;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_term = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64* (Vigna): small, seedable, good enough to pick packet fates. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static bool chance(uint64_t r, double pct)
{
	return (double)(r >> 11) / (double)(1ULL << 53) * 100.0 < pct;
}

/* "198.18.0.1:4500" or "[2001:db8::1]:4500". */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(s, ':');
	char host[128], *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && colon[-1] == ']') {
		host[colon - s - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	*len = sizeof(*a4);
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

/* key=value lines, e.g. "c2s_corrupted=3", easy to grep from a test. */
static void print_counters(const struct relay *r, FILE *f)
{
	for (int d = 0; d < NDIR; d++)
		for (int c = 0; c < NCOUNTERS; c++)
			fprintf(f, "%s_%s=%llu\n", dir_name[d], counter_name[c],
				(unsigned long long)r->count[d][c]);
	fprintf(f, "rebinds=%llu\n", (unsigned long long)r->rebinds);
	fprintf(f, "tcp_connections=%llu\ntcp_c2s_bytes=%llu\ntcp_s2c_bytes=%llu\n",
		(unsigned long long)r->tcp_conns, (unsigned long long)r->tcp_bytes[0],
		(unsigned long long)r->tcp_bytes[1]);
}

/* Written to a temporary name and renamed, so a reader never sees half a file. */
static void write_stats_file(const struct relay *r)
{
	char tmp[4096];
	FILE *f;

	if (!r->stats_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->stats_file);
	if (!(f = fopen(tmp, "w")))
		return;
	print_counters(r, f);
	if (fclose(f) == 0)
		rename(tmp, r->stats_file);
}

/* --- impairments ----------------------------------------------------------------------------- */

static void send_now(struct relay *r, struct dgram *g)
{
	struct flow *f = &r->flows[g->flow];
	ssize_t n = -1;

	if (!f->used || f->gen != g->gen)
		r->count[g->dir][OVERFLOW]++;
	else if (g->dir == C2S)
		n = send(f->fd, g->data, g->len, MSG_DONTWAIT);
	else
		n = sendto(r->udp_fd, g->data, g->len, MSG_DONTWAIT, (struct sockaddr *)&f->client,
			   f->client_len);
	if (n >= 0)
		r->count[g->dir][FORWARDED]++;
	r->queued_bytes -= g->len;
	free(g);
}

/* Past the reorder stage: into the delay queue (kept sorted; it is short), or out now. */
static void deliver(struct relay *r, struct dgram *g, uint64_t now)
{
	size_t i;

	if (g->delay_ms <= 0 || r->nqueue == MAX_QUEUED) {
		send_now(r, g);
		return;
	}
	r->count[g->dir][DELAYED]++;
	g->due_ms = now + (uint64_t)g->delay_ms;
	for (i = r->nqueue; i > 0 && r->queue[i - 1]->due_ms > g->due_ms; i--)
		r->queue[i] = r->queue[i - 1];
	r->queue[i] = g;
	r->nqueue++;
}

static void send_due(struct relay *r, uint64_t now)
{
	size_t n = 0;

	while (n < r->nqueue && r->queue[n]->due_ms <= now)
		send_now(r, r->queue[n++]);
	memmove(r->queue, r->queue + n, (r->nqueue - n) * sizeof(r->queue[0]));
	r->nqueue -= n;
}

static void release_held(struct relay *r, enum dir d, size_t i, uint64_t now)
{
	struct dgram *g = r->held[d][i];

	r->held[d][i] = r->held[d][--r->nheld[d]];
	deliver(r, g, now);
}

/* Another datagram went by in direction d: the held ones are one step closer to release. */
static void overtaken(struct relay *r, enum dir d, uint64_t now)
{
	for (size_t i = 0; i < r->nheld[d];)
		if (--r->held[d][i]->countdown == 0)
			release_held(r, d, i, now);
		else
			i++;
}

/* A held datagram that nothing overtakes (traffic stopped) still goes out, just late. */
static void release_stale_held(struct relay *r, uint64_t now)
{
	for (int d = 0; d < NDIR; d++)
		for (size_t i = 0; i < r->nheld[d];)
			if (now - r->held[d][i]->held_since_ms >= HOLD_TIMEOUT_MS)
				release_held(r, (enum dir)d, i, now);
			else
				i++;
}

static struct dgram *dgram_new(struct relay *r, enum dir d, int flow, const void *data, size_t len)
{
	struct dgram *g;

	if (r->queued_bytes + len > MAX_QUEUED_BYTES || !(g = calloc(1, sizeof(*g) + len))) {
		r->count[d][OVERFLOW]++;
		return NULL;
	}
	g->dir = d;
	g->flow = flow;
	g->gen = r->flows[flow].gen;
	g->len = len;
	memcpy(g->data, data, len);
	r->queued_bytes += len;
	return g;
}

/*
 * A policer, as a rate-limited link with a short queue behaves for TCP: the bucket refills at
 * rate_kbit and holds at most 20 ms worth (at least two full datagrams); what does not fit drops.
 */
static bool over_rate(struct relay *r, enum dir d, size_t len, uint64_t now)
{
	double per_ms = r->im.rate_kbit / 8.0, burst = per_ms * 20;

	if (!r->im.rate_kbit)
		return false;
	if (burst < 2.0 * MAX_DGRAM)
		burst = 2.0 * MAX_DGRAM;
	r->tokens[d] += (double)(now - r->tokens_ms[d]) * per_ms;
	r->tokens_ms[d] = now;
	if (r->tokens[d] > burst)
		r->tokens[d] = burst;
	if (r->tokens[d] < (double)len)
		return true;
	r->tokens[d] -= (double)len;
	return false;
}

/* Whether the blackhole swallows a datagram now. It begins --blackhole-after-ms after the start,
 * or at the --blackhole-after-c2s'th client datagram (a point in a transfer, however fast it
 * runs); its wall-clock start goes to stdout at once, so a test can time what follows from it. */
static bool in_blackhole(struct relay *r, uint64_t now)
{
	const struct impair *im = &r->im;

	if (!r->hole_from_ms) {
		bool begin = (im->blackhole_after_ms >= 0 &&
			      (long)(now - r->start_ms) >= im->blackhole_after_ms) ||
			     (im->blackhole_after_c2s >= 0 &&
			      r->count[C2S][RECEIVED] > (uint64_t)im->blackhole_after_c2s);
		struct timespec wall;

		if (!begin)
			return false;
		r->hole_from_ms = now;
		clock_gettime(CLOCK_REALTIME, &wall);
		printf("blackhole_began_unix_ms=%llu\n",
		       (unsigned long long)wall.tv_sec * 1000 +
			       (unsigned long long)wall.tv_nsec / 1000000);
		fflush(stdout);
	}
	return im->blackhole_for_ms < 0 || (long)(now - r->hole_from_ms) < im->blackhole_for_ms;
}

/* The pipeline: blackhole, rate limit, drop, corrupt, duplicate, reorder, delay. */
static void impair_and_forward(struct relay *r, enum dir d, int flow, unsigned char *data,
			       size_t len, uint64_t now)
{
	const struct impair *im = &r->im;
	bool on = d == C2S || r->both;
	struct dgram *g, *copy = NULL;
	uint64_t draw[6];

	r->count[d][RECEIVED]++;
	for (int i = 0; i < 6; i++)
		draw[i] = rng_next(&r->rng[d]);
	if (in_blackhole(r, now)) {
		r->count[d][BLACKHOLED]++;
		return;
	}
	if (on && over_rate(r, d, len, now)) {
		r->count[d][RATELIMITED]++;
		return;
	}
	if (on && chance(draw[0], im->drop)) {
		r->count[d][DROPPED]++;
		return;
	}
	if (on && len > 0 && chance(draw[1], im->corrupt)) {
		data[draw[2] % len] ^= (unsigned char)(1u << (draw[2] >> 61)); /* one bit */
		r->count[d][CORRUPTED]++;
	}
	if (!(g = dgram_new(r, d, flow, data, len)))
		return;
	if (on && chance(draw[3], im->dup) && (copy = dgram_new(r, d, flow, data, len)))
		r->count[d][DUPLICATED]++;
	if (on && im->jitter_ms)
		g->delay_ms = (long)(draw[5] % (2 * im->jitter_ms + 1)) - (long)im->jitter_ms;
	if (on)
		g->delay_ms += (long)im->delay_ms;
	if (copy)
		copy->delay_ms = g->delay_ms;
	if (on && im->reorder_depth && r->nheld[d] < MAX_HELD && chance(draw[4], im->reorder)) {
		g->countdown = im->reorder_depth;
		g->held_since_ms = now;
		r->held[d][r->nheld[d]++] = g;
		r->count[d][REORDERED]++;
		g = NULL;
	}
	for (int i = 0; i < 2; i++) {
		struct dgram *out = i ? copy : g;

		if (out) {
			deliver(r, out, now);
			overtaken(r, d, now);
		}
	}
}

/* --- UDP flows: one upstream socket per client, so replies find their way back --------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port && !memcmp(&a6->sin6_addr, &b6->sin6_addr, 16);
}

/* The flow of a client address: found, or made (in a free slot, else the least recently used). */
static int flow_for(struct relay *r, const struct sockaddr_storage *from, socklen_t len)
{
	int victim = 0, fd;

	for (int i = 0; i < MAX_FLOWS; i++)
		if (r->flows[i].used && same_addr(&r->flows[i].client, from))
			return i;
	for (int i = 1; i < MAX_FLOWS && r->flows[victim].used; i++)
		if (!r->flows[i].used || r->flows[i].last_ms < r->flows[victim].last_ms)
			victim = i;
	fd = socket(r->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&r->to, r->to_len) < 0) {
		perror("relay: upstream socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct flow *f = &r->flows[victim];

	if (f->used)
		close(f->fd);
	*f = (struct flow){
		.used = true, .gen = f->gen + 1, .client = *from, .client_len = len, .fd = fd};
	return victim;
}

/* SIGUSR2: each flow gets a new upstream socket, so the server sees a new source address. */
static void rebind_flows(struct relay *r)
{
	for (int i = 0; i < MAX_FLOWS; i++) {
		struct flow *f = &r->flows[i];
		int fd;

		if (!f->used)
			continue;
		fd = socket(r->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    (r->rebind_from_len &&
		     bind(fd, (struct sockaddr *)&r->rebind_from, r->rebind_from_len) < 0) ||
		    connect(fd, (struct sockaddr *)&r->to, r->to_len) < 0) {
			perror("relay: rebind");
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(f->fd);
		f->fd = fd;
		r->rebinds++;
	}
}

static void read_clients(struct relay *r, unsigned char *buf)
{
	for (int n = 0; n < 64; n++) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		ssize_t got = recvfrom(r->udp_fd, buf, MAX_DGRAM, MSG_DONTWAIT,
				       (struct sockaddr *)&from, &len);
		uint64_t now = now_ms();
		int flow;

		if (got < 0)
			return;
		if ((flow = flow_for(r, &from, len)) < 0)
			continue;
		r->flows[flow].last_ms = now;
		impair_and_forward(r, C2S, flow, buf, (size_t)got, now);
	}
}

static void read_server(struct relay *r, int flow, unsigned char *buf)
{
	for (int n = 0; n < 64; n++) {
		ssize_t got = recv(r->flows[flow].fd, buf, MAX_DGRAM, MSG_DONTWAIT);

		if (got < 0)
			return; /* EAGAIN, or ECONNREFUSED while the server is down */
		impair_and_forward(r, S2C, flow, buf, (size_t)got, now_ms());
	}
}

/* --- TCP proxy ------------------------------------------------------------------------------- */

static void pair_close(struct relay *r, int i)
{
	close(r->pairs[i]->fd[0]);
	close(r->pairs[i]->fd[1]);
	free(r->pairs[i]);
	r->pairs[i] = NULL;
}

/* The target is local to the test, so a blocking connect answers at once. */
static void tcp_accept(struct relay *r)
{
	int cfd = accept4(r->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), sfd = -1, slot = -1;
	struct pair *p = NULL;

	if (cfd < 0)
		return;
	for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
		if (!r->pairs[i])
			slot = i;
	if (slot >= 0)
		sfd = socket(r->to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sfd < 0 || connect(sfd, (struct sockaddr *)&r->to, r->to_len) < 0 ||
	    !(p = calloc(1, sizeof(*p)))) {
		close(cfd);
		if (sfd >= 0)
			close(sfd);
		return;
	}
	p->fd[0] = cfd;
	p->fd[1] = sfd;
	r->pairs[slot] = p;
	r->tcp_conns++;
}

/* Moves bytes one way (fd[d] to fd[!d]) as far as rev allows; false when the pair is dead. */
static bool pump(struct relay *r, struct pair *p, int d, const short rev[2])
{
	struct half *h = &p->h[d];
	ssize_t n;

	if (h->len == 0 && !h->eof && (rev[d] & (POLLIN | POLLHUP | POLLERR))) {
		n = recv(p->fd[d], h->buf, TCP_BUF, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		h->off = 0;
		h->len = (size_t)n;
		h->eof = n == 0;
	}
	if (h->len > 0 && (rev[!d] & (POLLOUT | POLLERR))) {
		n = send(p->fd[!d], h->buf + h->off, h->len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		h->off += (size_t)n;
		h->len -= (size_t)n;
		r->tcp_bytes[d] += (uint64_t)n;
	}
	if (h->eof && h->len == 0)
		shutdown(p->fd[!d], SHUT_WR); /* pass the half-close on */
	return true;
}

static void pair_events(const struct pair *p, short ev[2])
{
	ev[0] = ev[1] = 0;
	for (int d = 0; d < 2; d++) {
		if (p->h[d].len == 0 && !p->h[d].eof)
			ev[d] |= POLLIN;
		if (p->h[d].len > 0)
			ev[!d] |= POLLOUT;
	}
}

static void pair_ready(struct relay *r, int i, const short rev[2])
{
	struct pair *p = r->pairs[i];
	bool done;

	if (!pump(r, p, 0, rev) || !pump(r, p, 1, rev)) {
		pair_close(r, i);
		return;
	}
	done = p->h[0].eof && p->h[1].eof && !p->h[0].len && !p->h[1].len;
	if (done || ((rev[0] | rev[1]) & POLLERR))
		pair_close(r, i);
}

/* --- main loop ------------------------------------------------------------------------------- */

enum slot_kind { SLOT_UDP, SLOT_TCP, SLOT_FLOW, SLOT_PAIR };

static int poll_timeout(const struct relay *r, uint64_t now)
{
	long t = STATS_EVERY_MS;

	if (r->nqueue)
		t = r->queue[0]->due_ms <= now ? 0 : (long)(r->queue[0]->due_ms - now);
	if ((r->nheld[C2S] || r->nheld[S2C]) && t > HOLD_TIMEOUT_MS / 4)
		t = HOLD_TIMEOUT_MS / 4;
	return (int)(t < STATS_EVERY_MS ? t : STATS_EVERY_MS);
}

static void housekeeping(struct relay *r, uint64_t now, uint64_t *next_stats)
{
	send_due(r, now);
	release_stale_held(r, now);
	if (got_usr2) {
		got_usr2 = 0;
		rebind_flows(r);
	}
	if (got_usr1) {
		got_usr1 = 0;
		print_counters(r, stdout);
		fflush(stdout);
		*next_stats = 0;
	}
	if (now >= *next_stats) {
		write_stats_file(r);
		*next_stats = now + STATS_EVERY_MS;
	}
}

static int run(struct relay *r)
{
	static unsigned char buf[MAX_DGRAM];
	struct pollfd pfd[2 + MAX_FLOWS + 2 * MAX_PAIRS];
	int kind[2 + MAX_FLOWS + 2 * MAX_PAIRS], idx[2 + MAX_FLOWS + 2 * MAX_PAIRS];
	uint64_t next_stats = 0;

	while (!got_term) {
		uint64_t now = now_ms();
		nfds_t n = 0;

		housekeeping(r, now, &next_stats);
		pfd[n] = (struct pollfd){.fd = r->udp_fd, .events = POLLIN};
		kind[n++] = SLOT_UDP;
		pfd[n] = (struct pollfd){.fd = r->tcp_fd, .events = POLLIN}; /* -1 without --tcp */
		kind[n++] = SLOT_TCP;
		for (int i = 0; i < MAX_FLOWS; i++) {
			if (!r->flows[i].used)
				continue;
			pfd[n] = (struct pollfd){.fd = r->flows[i].fd, .events = POLLIN};
			kind[n] = SLOT_FLOW;
			idx[n++] = i;
		}
		for (int i = 0; i < MAX_PAIRS; i++) {
			short ev[2];

			if (!r->pairs[i])
				continue;
			pair_events(r->pairs[i], ev);
			for (int s = 0; s < 2; s++) { /* a pair takes two slots, side by side */
				pfd[n] = (struct pollfd){.fd = r->pairs[i]->fd[s], .events = ev[s]};
				kind[n] = SLOT_PAIR;
				idx[n++] = i;
			}
		}
		if (poll(pfd, n, poll_timeout(r, now)) < 0) {
			if (errno == EINTR)
				continue;
			perror("relay: poll");
			return 1;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (kind[k] == SLOT_PAIR) {
				short rev[2] = {pfd[k].revents, pfd[k + 1].revents};
				int i = idx[k++];

				if ((rev[0] | rev[1]) && r->pairs[i])
					pair_ready(r, i, rev);
			} else if (!pfd[k].revents) {
				continue;
			} else if (kind[k] == SLOT_UDP) {
				read_clients(r, buf);
			} else if (kind[k] == SLOT_TCP) {
				tcp_accept(r);
			} else if (r->flows[idx[k]].used) {
				read_server(r, idx[k], buf);
			}
		}
	}
	return 0;
}

static int open_listeners(struct relay *r)
{
	int one = 1, rcvbuf = 4 << 20;

	r->udp_fd = socket(r->listen.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->udp_fd < 0 || bind(r->udp_fd, (struct sockaddr *)&r->listen, r->listen_len) < 0) {
		perror("relay: udp listen");
		return -1;
	}
	/* Bursts from a fast sender should meet the impairments, not the socket's queue limit. */
	if (setsockopt(r->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(r->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (!r->tcp)
		return 0;
	r->tcp_fd = socket(r->listen.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->tcp_fd < 0 ||
	    setsockopt(r->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(r->tcp_fd, (struct sockaddr *)&r->listen, r->listen_len) < 0 ||
	    listen(r->tcp_fd, 16) < 0) {
		perror("relay: tcp listen");
		return -1;
	}
	return 0;
}

static const char usage_text[] =
	"Usage: relay --listen ADDR:PORT --to ADDR:PORT [--tcp] [--both] [--seed N]\n"
	"             [--drop PCT] [--dup PCT] [--corrupt PCT] [--reorder PCT --reorder-depth N]\n"
	"             [--delay-ms N --jitter-ms N] [--rate-kbit N] [--stats-file PATH]\n"
	"             [--blackhole-after-ms N | --blackhole-after-c2s N [--blackhole-for-ms N]]\n"
	"             [--rebind-from ADDR]\n"
	"ADDR is 198.18.0.1 or [2001:db8::1]. Client->server UDP datagrams are impaired (--both:\n"
	"replies too); the blackhole swallows both ways, from N ms after the start or from\n"
	"the Nth client datagram on, and prints blackhole_began_unix_ms=T when it begins.\n"
	"--tcp also proxies TCP, unimpaired.\n"
	"SIGUSR1 prints the counters; SIGUSR2 moves the upstream UDP to a new source port\n"
	"(and to --rebind-from's address).\n";

static int parse_args(struct relay *r, int argc, char **argv, uint64_t *seed)
{
	const struct {
		const char *name;
		char type; /* a: address, f: flag, p: percent, u: unsigned, l: long, s: string */
		void *dst;
		socklen_t *len;
	} opts[] = {
		{"--listen", 'a', &r->listen, &r->listen_len},
		{"--to", 'a', &r->to, &r->to_len},
		{"--tcp", 'f', &r->tcp, NULL},
		{"--both", 'f', &r->both, NULL},
		{"--seed", 'x', seed, NULL},
		{"--drop", 'p', &r->im.drop, NULL},
		{"--dup", 'p', &r->im.dup, NULL},
		{"--corrupt", 'p', &r->im.corrupt, NULL},
		{"--reorder", 'p', &r->im.reorder, NULL},
		{"--reorder-depth", 'u', &r->im.reorder_depth, NULL},
		{"--delay-ms", 'u', &r->im.delay_ms, NULL},
		{"--jitter-ms", 'u', &r->im.jitter_ms, NULL},
		{"--blackhole-after-ms", 'l', &r->im.blackhole_after_ms, NULL},
		{"--blackhole-after-c2s", 'l', &r->im.blackhole_after_c2s, NULL},
		{"--blackhole-for-ms", 'l', &r->im.blackhole_for_ms, NULL},
		{"--stats-file", 's', &r->stats_file, NULL},
		{"--rate-kbit", 'u', &r->im.rate_kbit, NULL},
		{"--rebind-from", 'A', &r->rebind_from, &r->rebind_from_len},
	};
	size_t n_opts = sizeof(opts) / sizeof(opts[0]), o;

	for (int i = 1; i < argc; i++) {
		const char *v;
		char *end = NULL, addr[160];

		for (o = 0; o < n_opts && strcmp(argv[i], opts[o].name); o++)
			;
		if (o == n_opts) {
			fprintf(stderr, "relay: unknown option '%s'\n", argv[i]);
			return -1;
		}
		if (opts[o].type == 'f') {
			*(bool *)opts[o].dst = true;
			continue;
		}
		if (!(v = ++i < argc ? argv[i] : NULL)) {
			fprintf(stderr, "relay: %s needs a value\n", opts[o].name);
			return -1;
		}
		switch (opts[o].type) {
		case 'a':
			end = parse_addr(v, opts[o].dst, opts[o].len) ? NULL : "";
			break;
		case 'A': /* an address without a port: "198.18.0.5" or "[2001:db8::5]" */
			snprintf(addr, sizeof(addr), "%s:1", v);
			end = parse_addr(addr, opts[o].dst, opts[o].len) ? NULL : "";
			/* port 0: the kernel picks a new one */
			((struct sockaddr_in *)opts[o].dst)->sin_port = 0;
			break;
		case 'x':
			*(uint64_t *)opts[o].dst = strtoull(v, &end, 0);
			break;
		case 'p':
			*(double *)opts[o].dst = strtod(v, &end);
			break;
		case 'u':
			*(unsigned *)opts[o].dst = (unsigned)strtoul(v, &end, 10);
			break;
		case 'l':
			*(long *)opts[o].dst = strtol(v, &end, 10);
			break;
		case 's':
			*(const char **)opts[o].dst = v;
			end = "";
			break;
		}
		if (!end || *end || !*v) {
			fprintf(stderr, "relay: %s: bad value '%s'\n", opts[o].name, v);
			return -1;
		}
	}
	if (!r->listen_len || !r->to_len) {
		fprintf(stderr, "relay: --listen and --to are required\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct relay r = {
		.im = {.blackhole_after_ms = -1, .blackhole_for_ms = -1, .blackhole_after_c2s = -1},
		.udp_fd = -1,
		.tcp_fd = -1};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t seed = 1;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (parse_args(&r, argc, argv, &seed) < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (r.im.reorder > 0 && !r.im.reorder_depth)
		r.im.reorder_depth = 3;
	/* Two streams from one seed; xorshift must never hold zero. */
	r.rng[C2S] = seed * 0x9E3779B97F4A7C15ULL | 1;
	r.rng[S2C] = (seed + 1) * 0xD1B54A32D192ED03ULL | 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (open_listeners(&r) < 0)
		return 1;
	r.start_ms = now_ms();
	r.tokens_ms[C2S] = r.tokens_ms[S2C] = r.start_ms;
	rc = run(&r);
	print_counters(&r, stdout);
	write_stats_file(&r);
	return rc;
}
