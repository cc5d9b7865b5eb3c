// SPDX-License-Identifier: MIT
#include "ctl/openvpn/keys.h"

#include "crypto/aead.h"
#include "ctl/openvpn/ovpn_config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static void dir_from_key(const uint8_t *key, struct sl_ovpn_key_dir *d)
{
	memcpy(d->key, key, sizeof(d->key));
	memcpy(d->implicit_iv, key + SL_OVPN_KEY_SLOT_LEN, sizeof(d->implicit_iv));
	memcpy(d->hmac_key, key + SL_OVPN_KEY_SLOT_LEN, sizeof(d->hmac_key));
}

void sl_ovpn_traffic(struct sl_engine *e, uint32_t peer, uint64_t *bytes, uint64_t *pkts)
{
	struct sl_peer_stats st;

	*bytes = *pkts = 0;
	if (sl_peer_stats(e, peer, &st) == 0) {
		*bytes = st.rx_bytes + st.tx_bytes;
		*pkts = st.rx_packets + st.tx_packets;
	}
}

bool sl_ovpn_reneg_due(const struct sl_ovpn_config *conf, uint64_t age_ns, struct sl_engine *e,
		       uint32_t peer, uint64_t bytes0, uint64_t pkts0)
{
	uint64_t bytes, pkts;

	if (conf->reneg_sec > 0 && age_ns >= (uint64_t)conf->reneg_sec * 1000000000ull)
		return true;
	if (!conf->reneg_bytes && !conf->reneg_pkts)
		return false;
	sl_ovpn_traffic(e, peer, &bytes, &pkts);
	return (conf->reneg_bytes && bytes - bytes0 >= (uint64_t)conf->reneg_bytes) ||
	       (conf->reneg_pkts && pkts - pkts0 >= (uint64_t)conf->reneg_pkts);
}

int sl_ovpn_cipher_from_name(const char *name)
{
	enum sl_cipher c;

	if (!strcasecmp(name, "AES-256-CBC"))
		return SL_OVPN_CIPHER_AES_256_CBC;
	if (!strcasecmp(name, "AES-128-CBC"))
		return SL_OVPN_CIPHER_AES_128_CBC;
	return sl_cipher_from_name(name, &c) < 0 ? -EINVAL : (int)c;
}

const char *sl_ovpn_cipher_name(int cipher)
{
	if (cipher == SL_OVPN_CIPHER_AES_256_CBC)
		return "aes-256-cbc";
	if (cipher == SL_OVPN_CIPHER_AES_128_CBC)
		return "aes-128-cbc";
	return sl_cipher_name((enum sl_cipher)cipher);
}

int sl_ovpn_key_pair_from_key2(const uint8_t key2[SL_OVPN_KEY2_LEN], enum sl_ovpn_role role,
			       int cipher, uint8_t key_id, uint32_t tx_peer_id, int comp,
			       struct sl_ovpn_key_pair *out)
{
	const uint8_t *c2s = key2, *s2c = key2 + SL_OVPN_KEY_LEN;

	memset(out, 0, sizeof(*out));
	if (!((cipher >= 0 && cipher < SL_CIPHER__COUNT) || cipher == SL_OVPN_CIPHER_AES_128_CBC ||
	      cipher == SL_OVPN_CIPHER_AES_256_CBC) ||
	    key_id > SL_OVPN_KEY_ID_MAX)
		return -EINVAL;
	out->cipher = cipher;
	out->key_id = key_id;
	out->tx_peer_id = tx_peer_id;
	out->comp = comp;
	dir_from_key(role == SL_OVPN_ROLE_CLIENT ? c2s : s2c, &out->tx);
	dir_from_key(role == SL_OVPN_ROLE_CLIENT ? s2c : c2s, &out->rx);
	return 0;
}
