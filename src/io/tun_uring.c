/* SPDX-License-Identifier: MIT */
#include "io/tun_uring.h"

#include <errno.h>
#include <stdlib.h>

#ifdef SL_HAVE_LIBURING
#include <liburing.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* user_data tags the packet pointer's low bit: packets are at least 2-aligned. */
#define WRITE_TAG ((uintptr_t)1)

struct sl_uring {
	struct io_uring ring;
	int fd;
	int efd;
	unsigned inflight;
};

bool sl_uring_built(void)
{
	return true;
}

int sl_uring_new(struct sl_uring **out, int fd, unsigned depth)
{
	struct sl_uring *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->fd = fd;
	r = io_uring_queue_init(depth, &u->ring, 0);
	if (r < 0) {
		free(u);
		return r;
	}
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd < 0) {
		r = -errno;
		goto fail;
	}
	r = io_uring_register_eventfd(&u->ring, u->efd);
	if (r < 0) {
		close(u->efd);
		goto fail;
	}
	*out = u;
	return 0;
fail:
	io_uring_queue_exit(&u->ring);
	free(u);
	return r;
}

void sl_uring_free(struct sl_uring *u)
{
	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
}

int sl_uring_event_fd(const struct sl_uring *u)
{
	return u->efd;
}

static int queue(struct sl_uring *u, struct sl_pkt *p, bool is_write)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe)
		return -ENOBUFS;
	if (is_write)
		io_uring_prep_write(sqe, u->fd, p->data, p->len, 0);
	else
		io_uring_prep_read(sqe, u->fd, p->data, sl_pkt_tailroom(p) + p->len, 0);
	/* offset 0 on a non-seekable fd; -1 would mean "current position" for files */
	sqe->off = (uint64_t)-1;
	io_uring_sqe_set_data64(sqe, (uintptr_t)p | (is_write ? WRITE_TAG : 0));
	u->inflight++;
	return 0;
}

int sl_uring_queue_read(struct sl_uring *u, struct sl_pkt *p)
{
	p->len = 0;
	return queue(u, p, false);
}

int sl_uring_queue_write(struct sl_uring *u, struct sl_pkt *p)
{
	return queue(u, p, true);
}

int sl_uring_submit(struct sl_uring *u)
{
	return io_uring_submit(&u->ring);
}

int sl_uring_submit_wait(struct sl_uring *u)
{
	return io_uring_submit_and_wait(&u->ring, u->inflight);
}

int sl_uring_reap(struct sl_uring *u, struct sl_uring_done *d, int max)
{
	struct io_uring_cqe *cqe;
	uint64_t cnt;
	int n = 0;

	if (read(u->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	while (n < max && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uintptr_t tag = (uintptr_t)io_uring_cqe_get_data64(cqe);

		d[n].is_write = tag & WRITE_TAG;
		d[n].p = (struct sl_pkt *)(tag & ~WRITE_TAG);
		d[n].res = cqe->res;
		if (!d[n].is_write && cqe->res >= 0)
			d[n].p->len = (uint32_t)cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		u->inflight--;
		n++;
	}
	return n;
}

unsigned sl_uring_inflight(const struct sl_uring *u)
{
	return u->inflight;
}

#else /* built without liburing */

struct sl_uring {
	int unused;
};

bool sl_uring_built(void)
{
	return false;
}

int sl_uring_new(struct sl_uring **out, int fd, unsigned depth)
{
	*out = NULL;
	return -ENOTSUP;
}

void sl_uring_free(struct sl_uring *u)
{
}

int sl_uring_event_fd(const struct sl_uring *u)
{
	return -1;
}

int sl_uring_queue_read(struct sl_uring *u, struct sl_pkt *p)
{
	return -ENOTSUP;
}

int sl_uring_queue_write(struct sl_uring *u, struct sl_pkt *p)
{
	return -ENOTSUP;
}

int sl_uring_submit(struct sl_uring *u)
{
	return -ENOTSUP;
}

int sl_uring_submit_wait(struct sl_uring *u)
{
	return -ENOTSUP;
}

int sl_uring_reap(struct sl_uring *u, struct sl_uring_done *d, int max)
{
	return -ENOTSUP;
}

unsigned sl_uring_inflight(const struct sl_uring *u)
{
	return 0;
}
#endif
