// SPDX-License-Identifier: MIT
/*
 * The RTT floor of a userspace TUN<->UDP tunnel on this machine, for bench/rtt_floor.sh: the
 * simplest possible forwarder, no crypto, no header, no batching, one packet per system call,
 * so whatever RTT it adds over the bare veth is what any userspace TUN tunnel pays here in
 * wake-ups and system calls before doing any work of its own.
 *
 *   rtt_floor fwd IFNAME LADDR LPORT RADDR RPORT SPIN_US SECONDS
 *	A TUN IFNAME (IFF_TUN | IFF_NO_PI; the script gives it its address), a UDP socket bound
 *	to LADDR:LPORT and connected to RADDR:RPORT. A packet read from the TUN is sent as one
 *	datagram; a datagram received is written to the TUN. With SPIN_US 0 it sleeps in poll()
 *	whenever both are empty; with SPIN_US > 0 it first retries non-blocking reads for up to
 *	SPIN_US microseconds after the last packet (busy-polling), then sleeps. Runs SECONDS
 *	or until SIGTERM, then prints "fwd packets=N wakeups=W spins_hit=H user_s=U sys_s=S
 *	work_us_per_packet=P" (wakeups: poll() returns; spins_hit: packets found while
 *	spinning, that is wake-ups saved; P: the mean time from a wake-up, or the last packet,
 *	to having passed a packet on: its two system calls and the kernel's work inside them,
 *	such as the UDP send down through the veth or the ICMP reply to a TUN write).
 *
 *   rtt_floor pingpong N
 *	Two processes bounce one byte over two pipes N times; prints "pingpong n=N avg_us=A
 *	median_us=M p90_us=P" for the round trip (two wake-ups of a sleeping process each), the
 *	scheduler's cost of a wake-up on this machine, with no network in it.
 *
 * Only for addresses inside the bench's own namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t stop;

/* SIGTERM ends the run like the deadline does, so the script need not wait for it. */
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: rtt_floor fwd IFNAME LADDR LPORT RADDR RPORT SPIN_US SECONDS\n"
			"       rtt_floor pingpong N\n");
	return 2;
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		perror("rtt_floor: /dev/net/tun");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("rtt_floor: TUNSETIFF");
		close(fd);
		return -1;
	}
	return fd;
}

static int sockaddr_of(const char *addr, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
		fprintf(stderr, "rtt_floor: bad address '%s'\n", addr);
		return -1;
	}
	return 0;
}

/* One packet each way if there is one; the number moved (0: both were empty). */
static int move_once(int tun, int udp, char *buf, size_t len)
{
	int moved = 0;
	ssize_t n;

	n = read(tun, buf, len);
	if (n > 0) {
		if (send(udp, buf, (size_t)n, 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED)
			perror("rtt_floor: send");
		moved++;
	}
	n = recv(udp, buf, len, 0);
	if (n > 0) {
		if (write(tun, buf, (size_t)n) < 0 && errno != EAGAIN)
			perror("rtt_floor: write tun");
		moved++;
	}
	return moved;
}

static int fwd(char **argv)
{
	struct sockaddr_in la, ra;
	struct pollfd pfd[2];
	struct rusage ru;
	uint64_t packets = 0, wakeups = 0, spins_hit = 0, deadline, spin_ns, t0, work_ns = 0;
	static char buf[65536];
	int tun, udp, m;

	if (sockaddr_of(argv[1], argv[2], &la) || sockaddr_of(argv[3], argv[4], &ra))
		return 2;
	spin_ns = (uint64_t)atoi(argv[5]) * 1000u;
	deadline = now_ns() + (uint64_t)atoi(argv[6]) * 1000000000u;
	tun = tun_open(argv[0]);
	if (tun < 0)
		return 1;
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (udp < 0 || bind(udp, (struct sockaddr *)&la, sizeof(la)) < 0 ||
	    connect(udp, (struct sockaddr *)&ra, sizeof(ra)) < 0) {
		perror("rtt_floor: udp socket");
		return 1;
	}
	signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	pfd[0] = (struct pollfd){.fd = tun, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = udp, .events = POLLIN};
	while (!stop && now_ns() < deadline) {
		t0 = now_ns();
		m = move_once(tun, udp, buf, sizeof(buf));
		packets += (uint64_t)m;
		if (m) {
			/* Time from the wake-up (or the last packet) to having passed this one on.
			 */
			work_ns += now_ns() - t0;
			continue;
		}
		if (spin_ns) {
			uint64_t until = now_ns() + spin_ns;

			while (!m && !stop && now_ns() < until)
				m = move_once(tun, udp, buf, sizeof(buf));
			packets += (uint64_t)m;
			if (m) {
				spins_hit += (uint64_t)m;
				continue;
			}
		}
		/* Bounded: at most 100 ms asleep, so the deadline is always seen. */
		if (poll(pfd, 2, 100) > 0)
			wakeups++;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("fwd packets=%llu wakeups=%llu spins_hit=%llu user_s=%.3f sys_s=%.3f "
	       "work_us_per_packet=%.1f\n",
	       (unsigned long long)packets, (unsigned long long)wakeups,
	       (unsigned long long)spins_hit,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	       packets ? (double)work_ns / (double)packets / 1e3 : 0.0);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int pingpong(char **argv)
{
	int n = atoi(argv[0]), ab[2], ba[2], i, st;
	uint64_t *rt, sum = 0;
	char c = 'x';
	pid_t pid;

	if (n <= 0 || n > 1000000)
		return usage();
	rt = calloc((size_t)n, sizeof(*rt));
	if (!rt || pipe(ab) || pipe(ba)) {
		perror("rtt_floor: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("rtt_floor: fork");
		return 1;
	}
	if (pid == 0) {
		for (i = 0; i < n; i++) {
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) {
			fprintf(stderr, "rtt_floor: pingpong broke at %d\n", i);
			return 1;
		}
		rt[i] = now_ns() - t0;
		sum += rt[i];
		/* Let the other side fall asleep again, as between two pings. */
		usleep(1000);
	}
	waitpid(pid, &st, 0);
	qsort(rt, (size_t)n, sizeof(*rt), cmp_u64);
	printf("pingpong n=%d avg_us=%.1f median_us=%.1f p90_us=%.1f\n", n, (double)sum / n / 1e3,
	       (double)rt[n / 2] / 1e3, (double)rt[n * 9 / 10] / 1e3);
	free(rt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 9 && !strcmp(argv[1], "fwd"))
		return fwd(argv + 2);
	if (argc == 3 && !strcmp(argv[1], "pingpong"))
		return pingpong(argv + 2);
	return usage();
}
