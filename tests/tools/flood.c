// SPDX-License-Identifier: MIT
/*
 * flood: hostile datagrams at a sluice server's UDP port, for tests/net/flood.sh. One kind per run:
 *
 *   random     random bytes, 8..1400 long, a random non-zero first word: an SPI nobody owns
 *   truncated  a captured legitimate packet cut short at a random length, its sequence number
 *              moved far ahead (so it is not a replay); ESP too short or failing the tag
 *   replay     captured legitimate packets sent again verbatim, from another address
 *   wrongkey   well-formed ESP for the legitimate SPI, fresh sequence numbers, sealed with
 *              AES-256-GCM (RFC 4106 layout) under a random key: the tag cannot verify
 *
 * With --wire openvpn the same four kinds take OpenVPN 2.6's shape (P_DATA_V2: opcode 9 and key
 * id in the first byte, a 3-byte peer id, a 4-byte packet id, the 16-byte tag, the ciphertext):
 *
 *   random     random bytes, 1..1400 long, any first byte (so some reach the control plane)
 *   truncated  a captured P_DATA_V2 cut short, its packet id moved far ahead
 *   replay     captured P_DATA_V2 sent again verbatim, from another address
 *   wrongkey   P_DATA_V2 for the legitimate peer id and key id, fresh packet ids, sealed with
 *              AES-256-GCM (AAD the first 8 bytes, nonce packet id | implicit IV) under a
 *              random key
 *   reset      P_CONTROL_HARD_RESET_CLIENT_V2 (no tls-auth/tls-crypt), a fresh random session id
 *              each: what a server must answer without keeping any state
 *   cookie     --count handshakes carried one step further, each from its own port: the reset,
 *              then the P_ACK_V1 that echoes the server's cookie (the session id of its answer),
 *              so the server takes a client slot for each; they never send TLS. Prints
 *              "answered=N" (cookies echoed) beside sent=N
 *
 * Legitimate packets are captured on --iface with an AF_PACKET socket (UDP to --to, seen as they
 * leave or arrive), so the flooder needs no key and no help from sluice: it sees what an attacker
 * on the path sees. Randomness comes from --seed. Datagrams go out in sendmmsg batches of 64, at
 * most --pps per second (0: as fast as the socket takes them).
 *
 * The control (tests/net/flood.sh): --control N sends N more datagrams of the same kind from
 * --control-port on --from's address, which the caller has the target's host drop before the
 * target sees them (an nft rule on that source port), so that the flooder's own cost is the same
 * whether its datagrams reach the target or not. The --count real ones and the N control ones go
 * in --cycles (default 10) alternating slices, the order turned round each cycle (real, control;
 * control, real; ...), all at the one pace. --meter-fd FD names a counter of the legitimate flow
 * (a sysfs rx_bytes, read from offset 0): it is read over each slice less its first 20 ms (the
 * target may still be reading the slice before), and over --quiet-ms MS before the first slice,
 * in which nothing is sent (the baseline). kept_pm lists each cycle's real/control rate ratio in
 * per mille, sorted.
 *
 * --start-at MS (milliseconds since the epoch, CLOCK_REALTIME, as bash's EPOCHREALTIME): capture,
 * replay aging and key set-up happen first, then sending (or the quiet period) begins at MS.
 * Late (set-up took longer): at once, and says by how much (late_ms).
 *
 * Prints "wire=... kind=... sent=N captured=N ms=N retries=N late_ms=N cpu_ms=N": sent the real
 * datagrams, ms the sending alone, cpu_ms the flooder's own user + system CPU time (what it took
 * from a shared machine); with --control also control_sent=N, with --meter-fd quiet_bytes,
 * quiet_us, real_bytes, real_us, control_bytes, control_us and kept_pm=A,B,...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	       64
#define MAX_CAPTURE    1024
#define MAX_DGRAM      2048
#define ESP_HDR	       8 /* SPI, sequence number */
#define OVPN_HDR       8 /* opcode | key id, peer id, packet id */
#define OVPN_DATA_V2   9
#define OVPN_ACK_V1    5
#define OVPN_RESET_C   7 /* P_CONTROL_HARD_RESET_CLIENT_V2 */
#define OVPN_RESET_S   8 /* P_CONTROL_HARD_RESET_SERVER_V2 */
#define OVPN_SID       8
#define OVPN_RESET_LEN (1 + OVPN_SID + 1 + 4) /* opcode, session id, no acks, message id 0 */
#define GCM_IV	       8
#define GCM_TAG	       16
#define SEQ_AHEAD      (1u << 24) /* far ahead of the legitimate sender, far from wrapping */
#define REPLAY_AGING   500	  /* ms between capture and replay: out of the receiver's window */

enum kind { RANDOM, TRUNCATED, REPLAY, WRONGKEY, RESET, COOKIE, NKINDS };
static const char *const kind_name[NKINDS] = {"random",	  "truncated", "replay",
					      "wrongkey", "reset",     "cookie"};

struct captured {
	size_t len;
	unsigned char data[MAX_DGRAM];
};

enum wire { WIRE_ESP, WIRE_OPENVPN };

struct flood {
	enum kind kind;
	enum wire wire;
	struct sockaddr_in to, from;
	const char *iface;
	unsigned long count, pps, ncap_want;
	unsigned long control, cycles, quiet_ms; /* --control, --cycles, --quiet-ms */
	unsigned control_port;
	int meter_fd;	   /* --meter-fd, or -1 */
	uint64_t start_at; /* epoch ms, 0: at once */
	uint64_t rng;
	struct captured *cap;
	size_t ncap;
	uint32_t seq_next;
	EVP_CIPHER_CTX *gcm;
	unsigned char key[32], salt[8]; /* salt: ESP uses 4 bytes, OpenVPN 8 (implicit IV) */
};

static uint64_t epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned long cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (unsigned long)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
			       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
}

/* Sleep until --start-at; returns how many ms late we already were (0: on time). */
static unsigned long wait_start(const struct flood *f)
{
	uint64_t now = epoch_ms();

	if (!f->start_at || now >= f->start_at)
		return f->start_at && now > f->start_at ? (unsigned long)(now - f->start_at) : 0;
	while ((now = epoch_ms()) < f->start_at) {
		uint64_t left = f->start_at - now;

		usleep((useconds_t)(left > 1000 ? 1000000 : left * 1000));
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64* (Vigna), as in relay.c */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void rng_fill(uint64_t *s, unsigned char *p, size_t n)
{
	while (n) {
		uint64_t r = rng_next(s);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &r, k);
		p += k;
		n -= k;
	}
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A data packet of the wire (what truncated, replay and wrongkey start from)? */
static bool is_data(const struct flood *f, const unsigned char *d, size_t len)
{
	if (f->wire == WIRE_OPENVPN)
		return len >= OVPN_HDR + GCM_TAG && d[0] >> 3 == OVPN_DATA_V2;
	/* ESP only: a first word of zero is a non-ESP marker, one byte a NAT keepalive */
	return len >= ESP_HDR + GCM_IV + GCM_TAG && get_be32(d);
}

/*
 * Legitimate data datagrams to --to, as they pass --iface; up to 5 s. A sender with UDP GSO
 * (sluice's default) hands the device super-packets of many datagrams, which a packet socket sees
 * as one: the virtio-net header (PACKET_VNET_HDR) gives the segment size, and the first segment
 * is a datagram as it goes on the wire. Without it only the rare lone datagrams would do, and
 * capturing could take seconds. (PACKET_VNET_HDR needs SOCK_RAW: frames with their Ethernet header,
 * which --iface, a veth, has.)
 */
static int capture(struct flood *f)
{
	/* ETH_P_ALL: a socket bound to one protocol sees only arriving packets, not leaving ones */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)), one = 1;
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	uint64_t deadline = now_ms() + 5000;
	unsigned char raw[sizeof(struct virtio_net_hdr) + ETH_HLEN + MAX_DGRAM + 64];
	unsigned char *buf = raw + sizeof(struct virtio_net_hdr) + ETH_HLEN;

	if (fd < 0 || !(ll.sll_ifindex = (int)if_nametoindex(f->iface)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		perror("flood: capture socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (f->ncap < f->ncap_want && now_ms() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		const struct iphdr *ip = (const void *)buf;
		const struct udphdr *udp;
		struct virtio_net_hdr vh;
		uint16_t type;
		ssize_t n;
		size_t hl, len;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, raw, sizeof(raw), MSG_DONTWAIT) - (ssize_t)(sizeof(vh) + ETH_HLEN);
		memcpy(&vh, raw, sizeof(vh));
		memcpy(&type, raw + sizeof(vh) + 12, sizeof(type)); /* after two MAC addresses */
		if (n < (ssize_t)sizeof(*ip) || type != htons(ETHERTYPE_IP) || ip->version != 4 ||
		    ip->protocol != IPPROTO_UDP)
			continue;
		hl = (size_t)ip->ihl * 4;
		if ((size_t)n < hl + sizeof(*udp) || ip->daddr != f->to.sin_addr.s_addr)
			continue;
		udp = (const void *)(buf + hl);
		len = (size_t)n - hl - sizeof(*udp);
		/* a GSO super-packet: its first datagram (gso_size: UDP payload per segment) */
		if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE && vh.gso_size && vh.gso_size < len)
			len = vh.gso_size;
		if (udp->dest != f->to.sin_port || len > MAX_DGRAM ||
		    !is_data(f, buf + hl + sizeof(*udp), len))
			continue;
		f->cap[f->ncap].len = len;
		memcpy(f->cap[f->ncap++].data, buf + hl + sizeof(*udp), len);
	}
	close(fd);
	return f->ncap ? 0 : -1;
}

/* RFC 4106: nonce = salt | IV, AAD = SPI | sequence number, ICV after the ciphertext. */
static size_t seal_wrong_key(struct flood *f, unsigned char *out, size_t len)
{
	unsigned char nonce[12], *iv = out + ESP_HDR, *ct = iv + GCM_IV;
	size_t plain = len - ESP_HDR - GCM_IV - GCM_TAG;
	int n;

	rng_fill(&f->rng, iv, GCM_IV);
	memcpy(nonce, f->salt, 4);
	memcpy(nonce + 4, iv, GCM_IV);
	rng_fill(&f->rng, ct, plain); /* the "inner packet": encrypted in place below */
	if (!EVP_EncryptInit_ex(f->gcm, NULL, NULL, f->key, nonce) ||
	    !EVP_EncryptUpdate(f->gcm, NULL, &n, out, ESP_HDR) ||
	    !EVP_EncryptUpdate(f->gcm, ct, &n, ct, (int)plain) ||
	    !EVP_EncryptFinal_ex(f->gcm, ct + n, &n) ||
	    !EVP_CIPHER_CTX_ctrl(f->gcm, EVP_CTRL_GCM_GET_TAG, GCM_TAG, ct + plain))
		return 0;
	return len;
}

/* OpenVPN's AEAD layout: AAD = opcode | peer id | packet id, nonce = packet id | implicit IV
 * (8 random bytes), then the tag, then the ciphertext. */
static size_t seal_wrong_key_ovpn(struct flood *f, unsigned char *out, size_t len)
{
	unsigned char nonce[12], *tag = out + OVPN_HDR, *ct = tag + GCM_TAG;
	size_t plain = len - OVPN_HDR - GCM_TAG;
	int n;

	memcpy(nonce, out + 4, 4);
	memcpy(nonce + 4, f->salt, 8);
	rng_fill(&f->rng, ct, plain);
	if (!EVP_EncryptInit_ex(f->gcm, NULL, NULL, f->key, nonce) ||
	    !EVP_EncryptUpdate(f->gcm, NULL, &n, out, OVPN_HDR) ||
	    !EVP_EncryptUpdate(f->gcm, ct, &n, ct, (int)plain) ||
	    !EVP_EncryptFinal_ex(f->gcm, ct + n, &n) ||
	    !EVP_CIPHER_CTX_ctrl(f->gcm, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag))
		return 0;
	return len;
}

/* A client's first packet: [opcode 7 | key id 0][session id][0 acks][message id 0]. */
static size_t make_reset(struct flood *f, unsigned char *out)
{
	out[0] = OVPN_RESET_C << 3;
	rng_fill(&f->rng, out + 1, OVPN_SID);
	memset(out + 1 + OVPN_SID, 0, 5);
	return OVPN_RESET_LEN;
}

/* Random bytes: for ESP at least 8 and never the non-ESP marker (an SPI nobody owns), for
 * OpenVPN 1..1400 with any first byte. */
static size_t make_random(struct flood *f, unsigned char *out, uint64_t r)
{
	size_t len = f->wire == WIRE_OPENVPN ? 1 + (size_t)(r >> 32) % 1400
					     : 8 + (size_t)(r >> 32) % 1393;

	rng_fill(&f->rng, out, len);
	if (f->wire == WIRE_ESP && !get_be32(out))
		out[0] = 1;
	return len;
}

/*
 * One hostile datagram of the run's kind into out; its length. Both wires' data packets begin
 * with 8 bytes whose last 4 are the packet counter (ESP: SPI, sequence number; OpenVPN: opcode
 * and key id, peer id, packet id), and the first 4 name the receiver (the SPI; the opcode, key
 * id and peer id), so truncated, replay and wrongkey differ only in how they seal.
 */
static size_t make_one(struct flood *f, unsigned char *out)
{
	uint64_t r = rng_next(&f->rng);
	const struct captured *c = f->ncap ? &f->cap[r % f->ncap] : NULL;
	size_t len;

	switch (f->kind) {
	case RANDOM:
		return make_random(f, out, r);
	case TRUNCATED:
		len = 1 + (size_t)(r >> 32) % (c->len - 1);
		memcpy(out, c->data, len);
		if (len >= ESP_HDR)
			put_be32(out + 4, f->seq_next++);
		return len;
	case REPLAY:
		memcpy(out, c->data, c->len);
		return c->len;
	case WRONGKEY:
		memcpy(out, c->data, 4); /* the legitimate receiver */
		put_be32(out + 4, f->seq_next++);
		return f->wire == WIRE_OPENVPN ? seal_wrong_key_ovpn(f, out, c->len)
					       : seal_wrong_key(f, out, c->len);
	case RESET:
		return make_reset(f, out);
	default:
		break;
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The number in --meter-fd (a sysfs counter: read from offset 0 each time). */
static uint64_t meter_read(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

/* One slice of the sending: real (to be read by the target) or control (dropped before it). */
struct slice {
	int fd;
	bool control;
	unsigned long n;    /* datagrams */
	uint64_t bytes, us; /* the meter over the slice, less its first GUARD_US */
	bool measured;
};

#define MAX_SLICES 256
#define GUARD_US   20000 /* the target may still be reading the slice before: not measured */

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Send sl->n datagrams on sl->fd, paced over all slices (*sent so far), metering after GUARD_US. */
static int send_slice(struct flood *f, struct slice *sl, unsigned long *sent, uint64_t start,
		      unsigned long *failed, int meter)
{
	static unsigned char bufs[BATCH][MAX_DGRAM];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint64_t t0 = now_us(), m0 = 0, mt0 = 0;
	unsigned long done = 0;

	while (done < sl->n) {
		unsigned n = sl->n - done < BATCH ? (unsigned)(sl->n - done) : BATCH;
		int got;

		for (unsigned i = 0; i < n; i++) {
			iov[i] = (struct iovec){.iov_base = bufs[i],
						.iov_len = make_one(f, bufs[i])};
			msgs[i] =
				(struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		got = sendmmsg(sl->fd, msgs, n, 0);
		if (got < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED &&
			    errno != EINTR) {
				perror("flood: sendmmsg");
				return -1;
			}
			(*failed)++; /* the local queue was full: try again, these were not sent */
			continue;
		}
		done += (unsigned long)got;
		*sent += (unsigned long)got;
		if (meter >= 0 && !mt0 && now_us() - t0 >= GUARD_US) {
			m0 = meter_read(meter);
			mt0 = now_us();
		}
		/* paced: sleep until the schedule catches up with what has gone out */
		while (f->pps && *sent * 1000 > (now_ms() - start) * f->pps)
			usleep(1000);
	}
	if (meter >= 0 && mt0) {
		sl->bytes = meter_read(meter) - m0;
		sl->us = now_us() - mt0;
		sl->measured = sl->us > 0;
	}
	return 0;
}

static int flood_socket(const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), sndbuf = 4 << 20;

	if (fd < 0 || bind(fd, (const struct sockaddr *)from, sizeof(*from)) < 0 ||
	    connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		perror("flood: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	return fd;
}

/*
 * --count datagrams from --from (any port), and with --control N another N from --from's
 * --control-port, which the caller has the target's host drop before the target sees them. The
 * two go in --cycles alternating slices, the order turned round each cycle (real, control;
 * control, real; ...), all at one pace. With --meter-fd, the counter it names (the legitimate
 * flow's bytes) is read over each slice, and the rates of each cycle's two slices compared.
 */
static int run(struct flood *f)
{
	struct slice sl[MAX_SLICES];
	unsigned long sent = 0, failed = 0, late, kept[MAX_SLICES / 2], real_sent = 0;
	uint64_t start, rb = 0, rus = 0, cb = 0, cus = 0, qb = 0, qus = 0;
	unsigned ns = 0, nk = 0, cycles = f->control ? f->cycles : 1;
	int fd = flood_socket(&f->from, &f->to), cfd = -1, rc = 0;
	struct sockaddr_in cfrom = f->from;

	if (fd < 0)
		return 1;
	if (f->control) {
		cfrom.sin_port = htons(f->control_port);
		if ((cfd = flood_socket(&cfrom, &f->to)) < 0) {
			close(fd);
			return 1;
		}
	}
	for (unsigned c = 0; c < cycles; c++) {
		/* this cycle's share, the last taking what is left */
		unsigned long r =
			c + 1 < cycles ? f->count / cycles : f->count - f->count / cycles * c;
		unsigned long k =
			c + 1 < cycles ? f->control / cycles : f->control - f->control / cycles * c;
		struct slice real = {.fd = fd, .n = r}, ctl = {.fd = cfd, .control = true, .n = k};

		sl[ns++] = c % 2 ? ctl : real;
		if (f->control)
			sl[ns++] = c % 2 ? real : ctl;
	}
	late = wait_start(f);
	if (f->meter_fd >= 0 && f->quiet_ms) { /* the legitimate flow with no flood: baseline */
		uint64_t t0 = now_us();

		qb = meter_read(f->meter_fd);
		usleep((useconds_t)(f->quiet_ms * 1000));
		qb = meter_read(f->meter_fd) - qb;
		qus = now_us() - t0;
	}
	start = now_ms();
	for (unsigned i = 0; i < ns && !rc; i++)
		if (sl[i].n && send_slice(f, &sl[i], &sent, start, &failed, f->meter_fd) < 0)
			rc = 1;
	for (unsigned i = 0; i < ns; i++) {
		if (!sl[i].control)
			real_sent += sl[i].n;
		if (!sl[i].measured)
			continue;
		*(sl[i].control ? &cb : &rb) += sl[i].bytes;
		*(sl[i].control ? &cus : &rus) += sl[i].us;
	}
	/* per cycle: the real slice's rate over the control slice's, in per mille */
	for (unsigned i = 0; f->control && i + 1 < ns; i += 2) {
		const struct slice *re = sl[i].control ? &sl[i + 1] : &sl[i];
		const struct slice *co = sl[i].control ? &sl[i] : &sl[i + 1];

		if (re->measured && co->measured && co->bytes)
			kept[nk++] = (unsigned long)((double)re->bytes / re->us * co->us /
						     co->bytes * 1000);
	}
	printf("wire=%s kind=%s sent=%lu captured=%zu ms=%llu retries=%lu late_ms=%lu cpu_ms=%lu",
	       f->wire == WIRE_OPENVPN ? "openvpn" : "esp", kind_name[f->kind], real_sent, f->ncap,
	       (unsigned long long)(now_ms() - start), failed, late, cpu_ms());
	if (f->control)
		printf(" control_sent=%lu", sent - real_sent);
	if (f->meter_fd >= 0) {
		printf(" quiet_bytes=%llu quiet_us=%llu real_bytes=%llu real_us=%llu "
		       "control_bytes=%llu"
		       " control_us=%llu kept_pm=",
		       (unsigned long long)qb, (unsigned long long)qus, (unsigned long long)rb,
		       (unsigned long long)rus, (unsigned long long)cb, (unsigned long long)cus);
		qsort(kept, nk, sizeof(kept[0]), cmp_ul);
		for (unsigned i = 0; i < nk; i++)
			printf("%s%lu", i ? "," : "", kept[i]);
	}
	printf("\n");
	close(fd);
	if (cfd >= 0)
		close(cfd);
	return rc || sent != f->count + f->control;
}

/*
 * One handshake to the point where the server keeps state: the reset from a fresh port, its
 * answer [opcode 8][server session id][1 ack][acked id][our session id][message id], then
 * [opcode 5][our session id][1 ack][message id 0][server session id]. True if answered.
 */
static bool one_cookie(struct flood *f)
{
	unsigned char out[64], in[256], *p;
	struct sockaddr_in from = f->from;
	struct pollfd pfd;
	bool ok = false;
	ssize_t n;

	pfd.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	pfd.events = POLLIN;
	from.sin_port = 0;
	if (pfd.fd < 0 || bind(pfd.fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
	    connect(pfd.fd, (struct sockaddr *)&f->to, sizeof(f->to)) < 0 ||
	    send(pfd.fd, out, make_reset(f, out), 0) < 0 || poll(&pfd, 1, 1000) != 1)
		goto done;
	n = recv(pfd.fd, in, sizeof(in), 0);
	if (n < 1 + OVPN_SID + 1 + 4 + OVPN_SID || in[0] >> 3 != OVPN_RESET_S || in[9] != 1)
		goto done;
	p = out + 1 + OVPN_SID; /* our session id stays in out[1..8] */
	out[0] = OVPN_ACK_V1 << 3;
	*p++ = 1;
	put_be32(p, 0);
	memcpy(p + 4, in + 1, OVPN_SID);
	ok = send(pfd.fd, out, (size_t)(p + 4 + OVPN_SID - out), 0) > 0;
done:
	if (pfd.fd >= 0)
		close(pfd.fd);
	return ok;
}

static int run_cookies(struct flood *f)
{
	unsigned long sent = 0, answered = 0;
	uint64_t start = now_ms();

	for (; sent < f->count; sent++)
		answered += one_cookie(f);
	printf("wire=openvpn kind=cookie sent=%lu answered=%lu ms=%llu\n", sent, answered,
	       (unsigned long long)(now_ms() - start));
	return 0;
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

static const char usage_text[] =
	"Usage: flood --kind random|truncated|replay|wrongkey|reset|cookie --to ADDR:PORT\n"
	"             --from ADDR\n"
	"             [--wire esp|openvpn] [--count N] [--pps N] [--iface IF] [--capture N]\n"
	"             [--seed N] [--start-at EPOCH_MS]\n"
	"             [--control N --control-port PORT [--cycles K]] [--meter-fd FD]\n"
	"             [--quiet-ms MS]\n"
	"IPv4 only. truncated, replay and wrongkey first capture legitimate data packets (ESP,\n"
	"or OpenVPN P_DATA_V2) to ADDR:PORT on IF (default veth0). reset and cookie: OpenVPN "
	"only.\n";

static int parse_args(struct flood *f, int argc, char **argv)
{
	int k = -1;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];

		if (!strcmp(o, "--kind")) {
			for (k = 0; k < NKINDS && strcmp(v, kind_name[k]); k++)
				;
		} else if (!strcmp(o, "--to")) {
			if (parse_ipv4(v, &f->to, true) < 0)
				return -1;
		} else if (!strcmp(o, "--from")) {
			if (parse_ipv4(v, &f->from, false) < 0)
				return -1;
		} else if (!strcmp(o, "--wire")) {
			if (strcmp(v, "esp") && strcmp(v, "openvpn"))
				return -1;
			f->wire = strcmp(v, "esp") ? WIRE_OPENVPN : WIRE_ESP;
		} else if (!strcmp(o, "--count")) {
			f->count = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--pps")) {
			f->pps = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--iface")) {
			f->iface = v;
		} else if (!strcmp(o, "--capture")) {
			f->ncap_want = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--control")) {
			f->control = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--control-port")) {
			f->control_port = (unsigned)strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--cycles")) {
			f->cycles = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--quiet-ms")) {
			f->quiet_ms = strtoul(v, NULL, 10);
		} else if (!strcmp(o, "--meter-fd")) {
			f->meter_fd = (int)strtol(v, NULL, 10);
		} else if (!strcmp(o, "--start-at")) {
			f->start_at = strtoull(v, NULL, 10);
		} else if (!strcmp(o, "--seed")) {
			f->rng = strtoull(v, NULL, 0) * 0x9E3779B97F4A7C15ULL | 1;
		} else {
			return -1;
		}
	}
	if (argc % 2 == 0 || k < 0 || k >= NKINDS || (k >= RESET && f->wire != WIRE_OPENVPN) ||
	    !f->to.sin_port || !f->from.sin_family || f->ncap_want < 1 ||
	    f->ncap_want > MAX_CAPTURE || f->cycles < 1 || f->cycles > MAX_SLICES / 2 ||
	    (f->control && (!f->control_port || f->control_port > 65535)))
		return -1;
	f->kind = (enum kind)k;
	return 0;
}

int main(int argc, char **argv)
{
	struct flood f = {.count = 1000000,
			  .iface = "veth0",
			  .ncap_want = 256,
			  .rng = 1,
			  .cycles = 10,
			  .meter_fd = -1};
	int rc;

	if (parse_args(&f, argc, argv) < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (f.kind == COOKIE)
		return run_cookies(&f);
	if (f.kind != RANDOM && f.kind != RESET) {
		if (!(f.cap = calloc(f.ncap_want, sizeof(*f.cap))) || capture(&f) < 0) {
			fprintf(stderr, "flood: captured no %s data to the target on %s\n",
				f.wire == WIRE_OPENVPN ? "OpenVPN" : "ESP", f.iface);
			free(f.cap);
			return 1;
		}
		f.seq_next = get_be32(f.cap[f.ncap - 1].data + 4) + SEQ_AHEAD;
		if (f.kind == REPLAY)
			usleep(REPLAY_AGING * 1000);
	}
	if (f.kind == WRONGKEY) {
		rng_fill(&f.rng, f.key, sizeof(f.key));
		rng_fill(&f.rng, f.salt, sizeof(f.salt));
		f.gcm = EVP_CIPHER_CTX_new();
		if (!f.gcm || !EVP_EncryptInit_ex(f.gcm, EVP_aes_256_gcm(), NULL, NULL, NULL)) {
			fprintf(stderr, "flood: no AES-256-GCM\n");
			return 1;
		}
	}
	rc = run(&f);
	EVP_CIPHER_CTX_free(f.gcm);
	free(f.cap);
	return rc;
}
