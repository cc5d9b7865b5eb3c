/* SPDX-License-Identifier: MIT */
/*
 * io_uring batch I/O on one packet fd (meant for the TUN queue, which has no
 * batched read): many reads kept in flight into engine-pool packets, and a
 * batch of writes submitted with one io_uring_enter. Reads land at p->data,
 * so the packet's headroom is kept exactly as with read(): no copy.
 *
 * Completions are signalled on an eventfd (sl_uring_event_fd), which the
 * caller registers in its epoll loop; timers and the control socket stay on
 * that loop. Owned by one thread (the worker that made it).
 *
 * Built without liburing (meson found none), or where the kernel refuses
 * io_uring (kernel.io_uring_disabled, seccomp, ENOSYS), sl_uring_new fails
 * and the caller keeps read()/write().
 *
 * The engine uses it for the TUN writes of a UDP receive round (dco/tunq.c,
 * IoBackend = io_uring); reads stay read(), which takes 64 KiB super-packets.
 */
#ifndef SL_IO_TUN_URING_H
#define SL_IO_TUN_URING_H

#include "core/pkt.h"
#include <stdbool.h>

struct sl_uring;

/* One finished operation: p is handed back to the caller. */
struct sl_uring_done {
	struct sl_pkt *p;
	int res;       /* bytes read/written, or -errno */
	bool is_write; /* else a read: p->len is set to res when res >= 0 */
};

/* Whether this build has the io_uring backend at all. */
bool sl_uring_built(void);

/*
 * Ring of depth entries on fd. 0 or -errno: -ENOTSUP (built without
 * liburing), -ENOSYS / -EPERM (kernel or seccomp refuses io_uring), ...
 */
int sl_uring_new(struct sl_uring **out, int fd, unsigned depth);
void sl_uring_free(struct sl_uring *u); /* in-flight packets are not returned */

/* eventfd readable when completions are waiting (non-blocking). */
int sl_uring_event_fd(const struct sl_uring *u);

/* Queue a read of up to p's tailroom at p->data (not submitted yet). 0 or -ENOBUFS (ring full). */
int sl_uring_queue_read(struct sl_uring *u, struct sl_pkt *p);
/* Queue a write of p->data..+len (not submitted yet). 0 or -ENOBUFS. */
int sl_uring_queue_write(struct sl_uring *u, struct sl_pkt *p);
/* Submit everything queued with one syscall. Number submitted or -errno. */
int sl_uring_submit(struct sl_uring *u);
/* Submit, and wait in the same syscall until every operation in flight has finished. */
int sl_uring_submit_wait(struct sl_uring *u);

/* Take up to max finished operations without blocking (drains the eventfd). */
int sl_uring_reap(struct sl_uring *u, struct sl_uring_done *d, int max);
/* Operations queued or in flight, not yet reaped. */
unsigned sl_uring_inflight(const struct sl_uring *u);

#endif
