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

#endif
