/* SPDX-License-Identifier: MIT */
/* Why a packet was dropped. Every drop increments exactly one of these counters. */
#ifndef SL_CORE_DROP_H
#define SL_CORE_DROP_H

enum sl_drop {
	SL_DROP_NONE = 0,  /* not dropped */
	SL_DROP_AUTH,	   /* authentication tag did not verify */
	SL_DROP_REPLAY,	   /* sequence number seen before or left of the window */
	SL_DROP_NOKEY,	   /* no key for this SPI / key id, or no tx key yet */
	SL_DROP_NOROUTE,   /* no peer routes the destination (tx) or source (rx) */
	SL_DROP_MALFORMED, /* too short, bad padding, bad next header, not IP */
	SL_DROP_TOOBIG,	   /* larger than the MTU or than the buffer */
	SL_DROP_NOMEM,	   /* no free packet buffer */
	SL_DROP_IO,	   /* the socket or TUN device refused it */
	SL_DROP_OVERFLOW,  /* the kernel dropped it: our UDP socket's receive queue was full */
	SL_DROP_RATE,	   /* auth-failure budget of a peer spent: dropped before decryption */
	SL_DROP__COUNT
};

/* Short lower-case name used in `sluice show` and the control socket ("auth", "replay"...). */
const char *sl_drop_name(enum sl_drop reason);

#endif
