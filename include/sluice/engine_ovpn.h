/* SPDX-License-Identifier: MIT */
/*
 * The engine speaking OpenVPN 2.6 data packets (sl_engine_cfg.wire =
 * SL_WIRE_OPENVPN): P_DATA_V2 with the peer-id the server assigned (or
 * P_DATA_V1), AEAD with implicit IVs, one key per OpenVPN key id, ping
 * magic as keepalive. The control plane keeps the control channel: control
 * packets that arrive on the engine's UDP socket go to
 * sl_engine_cfg.on_control, and it sends its own with sl_engine_udp_send.
 *
 *   rx: UDP -> opcode: control -> on_control | data -> peer (by peer-id, or
 *       the only peer) -> key slot (by key id) -> open -> compression framing
 *       -> ping? count it : TUN
 *   tx: TUN -> route -> peer -> framing -> seal (primary slot) -> UDP, or the
 *       peer's stream_send when the transport is TCP (length prefix is the
 *       caller's)
 */
#ifndef SLUICE_ENGINE_OVPN_H
#define SLUICE_ENGINE_OVPN_H

#include "sluice/engine.h"

struct sl_ovpn_key_dir {
	uint8_t key[32];	/* first sl_cipher_key_len() bytes used */
	uint8_t implicit_iv[8]; /* AEAD: the first 8 bytes of the direction's HMAC key slot */
	uint8_t hmac_key[64];	/* CBC: the HMAC key slot (first md-size bytes used) */
};

/* The legacy CBC + HMAC data channel (old servers), next to the AEAD enum sl_cipher values. */
#define SL_OVPN_CIPHER_AES_128_CBC 64
#define SL_OVPN_CIPHER_AES_256_CBC 65

struct sl_ovpn_key_pair {
	int cipher;	     /* enum sl_cipher (AEAD), or SL_OVPN_CIPHER_AES_*_CBC */
	char auth[16];	     /* CBC: the HMAC digest (--auth), e.g. "SHA1", "SHA256" */
	uint8_t key_id;	     /* OpenVPN key id 0..7: the rx slot is found by it */
	uint32_t tx_peer_id; /* put in our P_DATA_V2; 0xFFFFFF: send P_DATA_V1 */
	int comp;	     /* enum sl_ovpn_comp: framing the server pushed */
	struct sl_ovpn_key_dir rx, tx;
};

/* Install an OpenVPN key pair in a slot (then sl_key_swap/sl_key_del as for ESP). */
int sl_key_set_ovpn(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot,
		    const struct sl_ovpn_key_pair *kp);

/* Send a datagram (a control packet) on the engine's UDP socket of to's family. */
int sl_engine_udp_send(struct sl_engine *e, const struct sockaddr_storage *to, const uint8_t *pkt,
		       size_t len);

/* An OpenVPN packet that arrived over TCP (length prefix removed): data packets are opened and
 * delivered; control packets go to on_control with from = NULL. */
int sl_engine_ovpn_input(struct sl_engine *e, const uint8_t *pkt, size_t len);

/*
 * A server's client-to-client: an inner packet from one peer whose destination is routed to
 * another peer goes straight to it (sealed again) instead of to the TUN device, as OpenVPN's
 * --client-to-client. Off by default (then the kernel decides, as without the option).
 */
int sl_engine_ovpn_set_client_to_client(struct sl_engine *e, bool on);

/* Send the OCC_EXIT message (explicit-exit-notify) to a peer now. */
int sl_engine_ovpn_send_exit(struct sl_engine *e, uint32_t peer_id);

#endif
