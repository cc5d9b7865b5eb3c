/* SPDX-License-Identifier: MIT */
/* Data-channel key pair for the engine from an OpenVPN key2 (docs/protocols.md §2.8). */
#ifndef SL_CTL_OPENVPN_KEYS_H
#define SL_CTL_OPENVPN_KEYS_H

#include "proto/ovpn_data.h"
#include "sluice/engine_ovpn.h"

/*
 * Client: tx keys[0], rx keys[1]; server the other way round (KEY_DIRECTION
 * NORMAL / INVERSE). Key = cipher slot, implicit IV = first 8 bytes of the
 * direction's HMAC slot; CBC: the HMAC key is that slot (the caller sets kp->auth).
 * 0 or -EINVAL (not a cipher of ours).
 */
int sl_ovpn_key_pair_from_key2(const uint8_t key2[SL_OVPN_KEY2_LEN], enum sl_ovpn_role role,
			       int cipher, uint8_t key_id, uint32_t tx_peer_id, int comp,
			       struct sl_ovpn_key_pair *out);

/*
 * An OpenVPN cipher name (AES-256-GCM, CHACHA20-POLY1305, AES-256-CBC ...) as the int of
 * sl_ovpn_key_pair.cipher; -EINVAL for one sluice cannot run. The name back, for logs.
 */
int sl_ovpn_cipher_from_name(const char *name);
const char *sl_ovpn_cipher_name(int cipher);

/* Bytes and packets of a peer both ways so far (0 if it is gone). */
void sl_ovpn_traffic(struct sl_engine *e, uint32_t peer, uint64_t *bytes, uint64_t *pkts);
/* reneg-sec, reneg-bytes or reneg-pkts of conf reached since the key came in (age, and the
 * traffic counters then); a limit of 0 is off. */
struct sl_ovpn_config;
bool sl_ovpn_reneg_due(const struct sl_ovpn_config *conf, uint64_t age_ns, struct sl_engine *e,
		       uint32_t peer, uint64_t bytes0, uint64_t pkts0);

#endif
