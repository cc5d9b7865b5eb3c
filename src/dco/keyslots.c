// SPDX-License-Identifier: MIT
/*
 * Key slots. A peer has a primary and a secondary key pair; the primary's
 * tx SA seals, and an incoming packet is opened by whichever slot's rx SA
 * owns its SPI. A rekey installs the new pair as secondary, then swaps:
 * the old pair stays behind as the lame duck for packets still in flight,
 * so nothing is dropped for want of a key across the change.
 */
#include "dco/engine_int.h"

#include "crypto/aead.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void tx_copies_free(struct sl_engine *e, struct esp_tx_copies *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i + 1 < e->nworkers; i++)
		sl_esp_sa_clear(&c->sa[i]);
	free(c);
}

/* Workers > 1: a tx SA for each further worker, and the sequence counter all of them share. */
static int tx_copies_new(struct sl_engine *e, struct key_slot *k, const struct sl_key_pair *kp,
			 size_t klen)
{
	struct esp_tx_copies *c;

	if (e->nworkers < 2)
		return 0;
	c = calloc(1, sizeof(*c) + (e->nworkers - 1) * sizeof(c->sa[0]));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->seq, 0);
	for (uint32_t i = 0; i + 1 < e->nworkers; i++) {
		int r = sl_esp_sa_init(&c->sa[i], kp->cipher, kp->tx.key, klen, kp->tx.salt,
				       kp->tx.spi, kp->esn, true, 0);

		if (r < 0) {
			tx_copies_free(e, c);
			return r;
		}
		c->sa[i].shared_seq = &c->seq;
	}
	k->tx.shared_seq = &c->seq;
	k->wtx = c;
	return 0;
}

struct key_slot *keys_find_rx(struct peer *p, uint32_t spi)
{
	for (int i = 0; i < 2; i++)
		if (p->slots[i].present && p->slots[i].rx.spi == spi)
			return &p->slots[i];
	return NULL;
}

void keys_clear_slot(struct sl_engine *e, struct peer *p, int slot)
{
	struct key_slot *k = &p->slots[slot];

	if (!k->present)
		return;
	if (e->cfg.wire == SL_WIRE_OPENVPN) {
		keys_ovpn_clear(k);
	} else if (e->cfg.wire == SL_WIRE_DTLS) {
		keys_dtls_clear(k);
	} else {
		if (sl_idmap_get(&e->spis, k->rx.spi) == p)
			sl_idmap_del(&e->spis, k->rx.spi);
		sl_esp_sa_clear(&k->rx);
		sl_esp_sa_clear(&k->tx);
		tx_copies_free(e, k->wtx);
	}
	OPENSSL_cleanse(k, sizeof(*k));
}

static int check_key_pair(struct sl_engine *e, struct peer *p, enum sl_key_slot slot,
			  const struct sl_key_pair *kp)
{
	struct peer *owner;

	if (e->cfg.wire == SL_WIRE_DTLS || (slot != SL_KEY_PRIMARY && slot != SL_KEY_SECONDARY))
		return -EINVAL; /* DTLS slots share the memory: sl_key_set_dtls */
	if (kp->cipher < 0 || kp->cipher >= SL_CIPHER__COUNT)
		return -EINVAL;
	if (kp->rx.spi == 0 || kp->tx.spi == 0)
		return -EINVAL;
	/*
	 * An rx SPI names one SA in the whole engine (the other slot of this peer
	 * included); only the slot being replaced may keep its own.
	 */
	owner = sl_idmap_get(&e->spis, kp->rx.spi);
	if (owner && !(owner == p && p->slots[slot].present && p->slots[slot].rx.spi == kp->rx.spi))
		return -EEXIST;
	return 0;
}

int sl_key_set(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot,
	       const struct sl_key_pair *kp)
{
	struct peer *p = engine_peer(e, peer_id);
	struct key_slot fresh = {0};
	size_t klen;
	int r;

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	r = check_key_pair(e, p, slot, kp);
	if (r < 0)
		return r;
	klen = sl_cipher_key_len(kp->cipher);
	r = sl_esp_sa_init(&fresh.rx, kp->cipher, kp->rx.key, klen, kp->rx.salt, kp->rx.spi,
			   kp->esn, false, p->cfg.replay_window);
	if (r < 0)
		return r;
	r = sl_esp_sa_init(&fresh.tx, kp->cipher, kp->tx.key, klen, kp->tx.salt, kp->tx.spi,
			   kp->esn, true, 0);
	if (r == 0)
		r = tx_copies_new(e, &fresh, kp, klen);
	if (r < 0) {
		sl_esp_sa_clear(&fresh.rx);
		sl_esp_sa_clear(&fresh.tx);
		return r;
	}
	/* Commit: nothing below can fail except the index insert, which we undo. */
	keys_clear_slot(e, p, slot);
	if (sl_idmap_put(&e->spis, kp->rx.spi, p) < 0) {
		sl_esp_sa_clear(&fresh.rx);
		sl_esp_sa_clear(&fresh.tx);
		tx_copies_free(e, fresh.wtx);
		return -ENOMEM;
	}
	fresh.present = true;
	fresh.key_id = kp->key_id;
	p->slots[slot] = fresh;
	OPENSSL_cleanse(&fresh, sizeof(fresh));
	if (slot == SL_KEY_PRIMARY)
		timers_on_key_installed(e, p);
	return 0;
}

int sl_key_swap(struct sl_engine *e, uint32_t peer_id)
{
	struct peer *p = engine_peer(e, peer_id);
	struct key_slot tmp;

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	if (!p->slots[SL_KEY_SECONDARY].present)
		return -ENOKEY;
	tmp = p->slots[SL_KEY_PRIMARY];
	p->slots[SL_KEY_PRIMARY] = p->slots[SL_KEY_SECONDARY];
	p->slots[SL_KEY_SECONDARY] = tmp;
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	timers_on_key_installed(e, p);
	return 0;
}

int sl_key_del(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot)
{
	struct peer *p = engine_peer(e, peer_id);

	ENGINE_ASSERT_CONTROL(e);
	if (!p)
		return -ENOENT;
	if (slot != SL_KEY_PRIMARY && slot != SL_KEY_SECONDARY)
		return -EINVAL;
	if (!p->slots[slot].present)
		return -ENOKEY;
	keys_clear_slot(e, p, slot);
	return 0;
}
