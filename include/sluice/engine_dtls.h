/* SPDX-License-Identifier: MIT */
/*
 * The engine speaking AnyConnect DTLS 1.2 data records (sl_engine_cfg.wire =
 * SL_WIRE_DTLS), sealed and opened in place by proto/dtls_record.c with the
 * keys of a handshake OpenSSL did (ctl/anyconnect/dtls_keys.h).
 *
 *   tx: TUN -> route -> peer -> Cisco type DATA (1 byte, headroom) -> seal
 *       (record header + explicit nonce in the headroom, tag in the tailroom)
 *       -> UDP to the peer's endpoint
 *   rx: UDP -> application data of a slot's epoch -> open -> type DATA: TUN;
 *       anything else goes to sl_engine_cfg.on_control: an opened record's
 *       plaintext (its first byte a Cisco type, 0..15: DPD, keepalive, ...)
 *       or, undecrypted, any other datagram (first byte a DTLS content type,
 *       20..25: handshake, alert, another epoch).
 *
 * `sluice connect` (ctl/anyconnect/dtls.c) drives it: OpenSSL does the
 * handshake on a socket that is then handed to the engine
 * (sl_engine_udp_attach) with the keys. The peer's stream (CSTP) carries
 * data while no key is installed and while DPD goes unanswered. `sluice
 * serve anyconnect` with dtls-datapath = engine (server_dtls.c) drives it
 * too, its handshakes through on_control and sl_engine_udp_send. A DPD
 * answer echoes the request's payload (openconnect's MTU probes).
 */
#ifndef SLUICE_ENGINE_DTLS_H
#define SLUICE_ENGINE_DTLS_H

#include "sluice/engine.h"

struct sl_dtls_key_dir {
	uint8_t key[32]; /* first sl_cipher_key_len() bytes used */
	uint8_t iv[12];	 /* GCM: 4-byte salt; ChaCha20-Poly1305: 12 bytes */
};

struct sl_dtls_key_pair {
	int cipher;	 /* enum sl_cipher: AES-128/256-GCM or ChaCha20-Poly1305 */
	uint16_t epoch;	 /* both directions (DTLS 1.2 after one handshake: 1) */
	uint64_t tx_seq; /* the next sequence number to send: after OpenSSL's last */
	struct sl_dtls_key_dir rx, tx;
};

/* Install a DTLS key pair in a slot (then sl_key_swap/sl_key_del as for ESP). */
int sl_key_set_dtls(struct sl_engine *e, uint32_t peer_id, enum sl_key_slot slot,
		    const struct sl_dtls_key_pair *kp);

/* Seal a Cisco message (type, payload) as one record for the peer and send it now. */
int sl_engine_dtls_send(struct sl_engine *e, uint32_t peer_id, uint8_t type, const uint8_t *payload,
			size_t len);

#endif
