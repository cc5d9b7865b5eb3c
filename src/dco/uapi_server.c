// SPDX-License-Identifier: MIT
/*
 * The engine's control socket: a Unix stream socket (mode 0600) that
 * speaks the key=value protocol of uapi.h and calls the same C API a
 * control plane uses. One request is answered at a time per connection;
 * replies are small and written with a bounded blocking write.
 */
#include "dco/engine_int.h"
#include "dco/uapi.h"

#include "core/log.h"
#include "crypto/aead.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 16

struct ctl_client {
	int fd;
	size_t len;
	char buf[SL_UAPI_MAX_REQUEST + 1];
};

struct sl_ctl_server {
	struct sl_engine *engine;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *clients[MAX_CLIENTS];
};

static int get_peer_id(const struct sl_uapi_request *req, uint32_t *id)
{
	uint64_t v;
	int r = sl_uapi_get_u64(req, "peer_id", SL_PEER_ID_MAX, &v);

	*id = (uint32_t)v;
	return r;
}

static int op_peer_new(struct sl_engine *e, const struct sl_uapi_request *req)
{
	struct sl_peer_cfg cfg;
	const char *ep = sl_uapi_get(req, "endpoint");
	uint64_t v;
	uint32_t id;
	int r = get_peer_id(req, &id);

	if (r < 0)
		return r;
	sl_peer_cfg_init(&cfg);
	if (ep && sl_parse_endpoint(ep, &cfg.endpoint) < 0)
		return -EINVAL;
	if ((r = sl_uapi_get_u64(req, "keepalive_ms", 3600000, &v)) == 0)
		cfg.keepalive_ms = (uint32_t)v;
	else if (r != -ENOENT)
		return r;
	if ((r = sl_uapi_get_u64(req, "silent_ms", 3600000, &v)) == 0)
		cfg.silent_ms = (uint32_t)v;
	else if (r != -ENOENT)
		return r;
	if ((r = sl_uapi_get_u64(req, "replay_window", SL_REPLAY_MAX_WINDOW, &v)) == 0)
		cfg.replay_window = (uint32_t)v;
	else if (r != -ENOENT)
		return r;
	cfg.follow_endpoint = true;
	return sl_peer_new(e, id, &cfg);
}

static int op_route(struct sl_engine *e, const struct sl_uapi_request *req, bool add)
{
	struct sl_prefix pfx;
	const char *s = sl_uapi_get(req, "prefix");
	uint32_t id;
	int r = get_peer_id(req, &id);

	if (r < 0)
		return r;
	if (!s || sl_parse_prefix(s, &pfx) < 0)
		return -EINVAL;
	return add ? sl_peer_route_add(e, id, &pfx) : sl_peer_route_del(e, id, &pfx);
}

static int get_key_dir(const struct sl_uapi_request *req, const char *dir, size_t klen,
		       struct sl_key_dir *out)
{
	char name[16];
	uint64_t spi;
	int r;

	snprintf(name, sizeof(name), "%s_spi", dir);
	r = sl_uapi_get_u64(req, name, UINT32_MAX, &spi);
	if (r < 0)
		return r;
	out->spi = (uint32_t)spi;
	snprintf(name, sizeof(name), "%s_key", dir);
	r = sl_uapi_get_hex(req, name, out->key, klen);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "%s_salt", dir);
	return sl_uapi_get_hex(req, name, out->salt, sizeof(out->salt));
}

static int op_key_set(struct sl_engine *e, const struct sl_uapi_request *req)
{
	struct sl_key_pair kp = {0};
	const char *cipher = sl_uapi_get(req, "cipher");
	enum sl_cipher c;
	uint64_t slot, v;
	uint32_t id;
	int r;

	if ((r = get_peer_id(req, &id)) < 0 || (r = sl_uapi_get_u64(req, "slot", 1, &slot)) < 0)
		return r;
	if (!cipher || sl_cipher_from_name(cipher, &c) < 0)
		return -EINVAL;
	kp.cipher = c;
	if ((r = sl_uapi_get_u64(req, "key_id", 255, &v)) == 0)
		kp.key_id = (uint8_t)v;
	else if (r != -ENOENT)
		return r;
	if ((r = sl_uapi_get_u64(req, "esn", 1, &v)) == 0)
		kp.esn = v;
	else if (r != -ENOENT)
		return r;
	r = get_key_dir(req, "rx", sl_cipher_key_len(c), &kp.rx);
	if (r == 0)
		r = get_key_dir(req, "tx", sl_cipher_key_len(c), &kp.tx);
	if (r == 0)
		r = sl_key_set(e, id, (enum sl_key_slot)slot, &kp);
	OPENSSL_cleanse(&kp, sizeof(kp));
	return r;
}

static int op_keepalive(struct sl_engine *e, const struct sl_uapi_request *req)
{
	uint64_t ka, silent;
	uint32_t id;
	int r;

	if ((r = get_peer_id(req, &id)) < 0 ||
	    (r = sl_uapi_get_u64(req, "keepalive_ms", 3600000, &ka)) < 0 ||
	    (r = sl_uapi_get_u64(req, "silent_ms", 3600000, &silent)) < 0)
		return r;
	return sl_peer_set_keepalive(e, id, (uint32_t)ka, (uint32_t)silent);
}

static void print_counters(struct sl_buf *b, const struct sl_peer_stats *s)
{
	sl_buf_printf(b, "rx_packets=%llu\nrx_bytes=%llu\ntx_packets=%llu\ntx_bytes=%llu\n",
		      (unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
		      (unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes);
	sl_buf_printf(b, "stream_rx_packets=%llu\nstream_tx_packets=%llu\n",
		      (unsigned long long)s->stream_rx_packets,
		      (unsigned long long)s->stream_tx_packets);
	sl_buf_printf(b, "keepalive_rx=%llu\nkeepalive_tx=%llu\n",
		      (unsigned long long)s->keepalive_rx, (unsigned long long)s->keepalive_tx);
	for (int d = SL_DROP_NONE + 1; d < SL_DROP__COUNT; d++)
		sl_buf_printf(b, "drop_%s=%llu\n", sl_drop_name(d),
			      (unsigned long long)s->drops[d - 1]);
	for (int d = SL_DROP_NONE + 1; d < SL_DROP__COUNT; d++)
		sl_buf_printf(b, "udp_rx_drop_%s=%llu\n", sl_drop_name(d),
			      (unsigned long long)s->udp_rx_drops[d - 1]);
}

static int print_peer(void *arg, uint32_t id)
{
	struct sl_buf *b = ((void **)arg)[0];
	struct sl_engine *e = ((void **)arg)[1];
	struct sl_peer_stats s;
	char ep[64];

	if (sl_peer_stats(e, id, &s) < 0)
		return 0;
	sl_format_endpoint(&s.endpoint, ep, sizeof(ep));
	sl_buf_printf(b, "peer_id=%u\nendpoint=%s\ntransport=%s\n", id, ep,
		      s.transport == SL_TRANSPORT_UDP ? "udp" : "tls");
	print_counters(b, &s);
	for (int i = 0; i < 2; i++)
		if (s.key_present[i])
			sl_buf_printf(b, "key=%d:%u:%u:%u:%llu\n", i, s.key_id[i], s.rx_spi[i],
				      s.tx_spi[i], (unsigned long long)s.tx_seq[i]);
	return 0;
}

static int op_stats(struct sl_engine *e, const struct sl_uapi_request *req, struct sl_buf *b)
{
	struct sl_peer_stats s;
	void *ctx[2] = {b, e};
	uint32_t id;
	int r = get_peer_id(req, &id);
	char offloads[64];

	sl_engine_stats(e, &s);
	sl_buf_printf(b, "interface=%s\noffloads=%s\n", sl_engine_ifname(e),
		      sl_offloads_format(sl_engine_offloads(e), offloads, sizeof(offloads)));
	sl_buf_printf(b, "tun_super_rx=%llu\nudp_gro_rx=%llu\ntun_gro_tx=%llu\n",
		      (unsigned long long)s.tun_super_rx, (unsigned long long)s.udp_gro_rx,
		      (unsigned long long)s.tun_gro_tx);
	print_counters(b, &s);
	sl_buf_printf(b, "udp_rx_datagrams=%llu\n", (unsigned long long)s.udp_rx_datagrams);
	sl_buf_printf(b, "control_rx=%llu\n", (unsigned long long)s.control_rx);
	sl_buf_printf(b, "workers=%u\n", sl_engine_workers(e));
	for (uint32_t i = 0; sl_engine_workers(e) > 1 && i < sl_engine_workers(e); i++) {
		struct sl_peer_stats w;

		sl_engine_worker_stats(e, i, &w);
		sl_buf_printf(b, "worker%u_udp_rx_datagrams=%llu\nworker%u_rx_packets=%llu\n", i,
			      (unsigned long long)w.udp_rx_datagrams, i,
			      (unsigned long long)w.rx_packets);
		sl_buf_printf(b, "worker%u_tx_packets=%llu\n", i, (unsigned long long)w.tx_packets);
	}
	if (e->stats_hook) {
		char extra[1024];
		size_t n = e->stats_hook(e->stats_hook_arg, extra, sizeof(extra));

		sl_buf_printf(b, "%.*s", (int)(n < sizeof(extra) ? n : sizeof(extra)), extra);
	}
	if (r == 0)
		return engine_peer(e, id) ? print_peer(ctx, id) : -ENOENT;
	if (r != -ENOENT)
		return r;
	return sl_engine_foreach_peer(e, print_peer, ctx);
}

static int dispatch(struct sl_engine *e, const struct sl_uapi_request *req, struct sl_buf *out)
{
	const char *op = sl_uapi_get(req, "op");
	uint32_t id;
	int r;

	if (!op)
		return -EINVAL;
	if (!strcmp(op, "stats"))
		return op_stats(e, req, out);
	if (!strcmp(op, "peer_new"))
		return op_peer_new(e, req);
	if (!strcmp(op, "route_add") || !strcmp(op, "route_del"))
		return op_route(e, req, op[6] == 'a');
	if (!strcmp(op, "key_set"))
		return op_key_set(e, req);
	if (!strcmp(op, "keepalive"))
		return op_keepalive(e, req);
	if (!strcmp(op, "down")) {
		engine_emit(e, SL_EVENT_SHUTDOWN, 0);
		return 0;
	}
	if (strcmp(op, "peer_del") && strcmp(op, "key_swap"))
		return -EOPNOTSUPP;
	if ((r = get_peer_id(req, &id)) < 0)
		return r;
	return !strcmp(op, "peer_del") ? sl_peer_del(e, id) : sl_key_swap(e, id);
}

static void client_close(struct sl_ctl_server *s, int i)
{
	struct ctl_client *c = s->clients[i];

	sl_loop_del_fd(s->engine->loop, c->fd);
	close(c->fd);
	OPENSSL_cleanse(c->buf, sizeof(c->buf)); /* requests may carry keys */
	free(c);
	s->clients[i] = NULL;
}

/*
 * Replies are a few hundred bytes per peer, so stats of 10,000 peers are MiBs: past what the
 * socket takes at once, the write blocks, one second at most per write (SO_SNDTIMEO), then the
 * reader is given up on. Blocking with a send timeout rather than poll(): after set-up the
 * sandbox (src/cli/privdrop.c) allows no poll(), and a slow `sluice show` must not be able to
 * kill the tunnel. The engine's loop waits meanwhile, as it did for poll().
 */
static int write_all(int fd, const char *p, size_t len)
{
	int flags = fcntl(fd, F_GETFL), r = 0;
	bool blocking = false;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EAGAIN && !blocking) {
			struct timeval tv = {.tv_sec = 1};

			if (flags < 0 ||
			    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
			    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
				r = -errno;
				break;
			}
			blocking = true;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (blocking && fcntl(fd, F_SETFL, flags) < 0 && r == 0)
		r = -errno;
	return r;
}

static int answer(struct sl_ctl_server *s, struct ctl_client *c)
{
	struct sl_uapi_request req;
	int used;

	while ((used = sl_uapi_parse(c->buf, c->len, &req)) > 0) {
		struct sl_buf out = {0};
		int r = dispatch(s->engine, &req, &out);
		int w;

		sl_buf_printf(&out, "errno=%d\n\n", r < 0 ? -r : 0);
		w = out.data ? write_all(c->fd, out.data, out.len) : -ENOMEM;
		sl_buf_free(&out);
		memmove(c->buf, c->buf + used, c->len - (size_t)used);
		c->len -= (size_t)used;
		if (w < 0)
			return w;
	}
	return used;
}

static void on_client(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ctl_server *s = arg;
	int i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i] && s->clients[i]->fd == fd)
			break;
	if (i == MAX_CLIENTS)
		return;
	struct ctl_client *c = s->clients[i];
	ssize_t n = read(fd, c->buf + c->len, SL_UAPI_MAX_REQUEST - c->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(s, i);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (answer(s, c) < 0)
		client_close(s, i);
}

/* Only the socket's owner (root, or the user the tunnel runs as) may steer it. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void on_accept(struct sl_loop *loop, int fd, uint32_t events, void *arg)
{
	struct sl_ctl_server *s = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int i;

	if (cfd < 0)
		return;
	for (i = 0; i < MAX_CLIENTS && s->clients[i]; i++)
		;
	if (i == MAX_CLIENTS || !peer_allowed(cfd) ||
	    !(s->clients[i] = calloc(1, sizeof(struct ctl_client)))) {
		close(cfd);
		return;
	}
	s->clients[i]->fd = cfd;
	if (sl_loop_add_fd(loop, cfd, SL_EV_READ, on_client, s) < 0) {
		close(cfd);
		free(s->clients[i]);
		s->clients[i] = NULL;
	}
}

/* A socket left by a tunnel that died is stale; a live one answers connect(). */
static bool socket_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live = fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;

	if (fd >= 0)
		close(fd);
	return live;
}

int sl_ctl_server_new(struct sl_ctl_server **out, struct sl_engine *e, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sl_ctl_server *s;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->engine = e;
	snprintf(s->path, sizeof(s->path), "%s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (socket_is_live(&sun)) {
		free(s);
		return -EADDRINUSE;
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		free(s);
		return -errno;
	}
	unlink(path);
	old = umask(0077);
	r = bind(s->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(s->fd, 8) < 0 ||
	    sl_loop_add_fd(e->loop, s->fd, SL_EV_READ, on_accept, s) < 0) {
		r = -errno;
		close(s->fd);
		free(s);
		return r ? r : -EIO;
	}
	*out = s;
	return 0;
}

void sl_ctl_server_free(struct sl_ctl_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i])
			client_close(s, i);
	sl_loop_del_fd(s->engine->loop, s->fd);
	close(s->fd);
	unlink(s->path);
	free(s);
}
