/* SPDX-License-Identifier: MIT */
/*
 * OpenVPN 2.6 data channel (docs/protocols.md §2): the opcode byte, AEAD
 * data packets (P_DATA_V1 / P_DATA_V2, tag before ciphertext), the key2
 * key-material layout, the legacy OpenVPN PRF, the compression framing
 * stubs and the in-band ping / OCC messages. Pure functions on buffers: no
 * I/O, no global state. Layout on the wire (UDP payload):
 *
 *   P_DATA_V2: | op<<3|kid | peer-id (3) | packet-id (4) | tag (16) | ciphertext |
 *              |<------------- AAD (8 bytes) ------------->|
 *   P_DATA_V1: | op<<3|kid | packet-id (4) | tag (16) | ciphertext |
 *                          |<- AAD (4) --->|
 *
 * nonce = packet-id (4, BE) || implicit IV (8 = first bytes of the HMAC key slot).
 */
#ifndef SL_PROTO_OVPN_DATA_H
#define SL_PROTO_OVPN_DATA_H

#include "core/drop.h"
#include "core/pkt.h"
#include "crypto/aead.h"
#include "crypto/keydir.h"
#include "proto/proto.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcode byte: opcode in the high 5 bits, key id in the low 3 (ssl_pkt.h). */
#define SL_OVPN_OPCODE_SHIFT 3
#define SL_OVPN_KEY_ID_MASK  0x07
#define SL_OVPN_KEY_ID_MAX   7

#define SL_OVPN_P_CONTROL_SOFT_RESET_V1	       3
#define SL_OVPN_P_CONTROL_V1		       4
#define SL_OVPN_P_ACK_V1		       5
#define SL_OVPN_P_DATA_V1		       6
#define SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V2 7
#define SL_OVPN_P_CONTROL_HARD_RESET_SERVER_V2 8
#define SL_OVPN_P_DATA_V2		       9
#define SL_OVPN_P_CONTROL_HARD_RESET_CLIENT_V3 10
#define SL_OVPN_P_CONTROL_WKC_V1	       11
#define SL_OVPN_OPCODE_MIN		       3 /* 1, 2 are key-method 1: refused by 2.6 */
#define SL_OVPN_OPCODE_MAX		       11

static inline uint8_t sl_ovpn_opcode(uint8_t b)
{
	return b >> SL_OVPN_OPCODE_SHIFT;
}

static inline uint8_t sl_ovpn_key_id(uint8_t b)
{
	return b & SL_OVPN_KEY_ID_MASK;
}

static inline uint8_t sl_ovpn_op_byte(uint8_t opcode, uint8_t key_id)
{
	return (uint8_t)(opcode << SL_OVPN_OPCODE_SHIFT | (key_id & SL_OVPN_KEY_ID_MASK));
}

#define SL_OVPN_PEER_ID_NONE	0xFFFFFFu /* MAX_PEER_ID: "no peer-id", send P_DATA_V1 */
#define SL_OVPN_PACKET_ID_LEN	4
#define SL_OVPN_TAG_LEN		16 /* OPENVPN_AEAD_TAG_LENGTH */
#define SL_OVPN_IMPLICIT_IV_LEN 8
#define SL_OVPN_V1_HDR_LEN	(1 + SL_OVPN_PACKET_ID_LEN + SL_OVPN_TAG_LEN) /* 21 */
#define SL_OVPN_V2_HDR_LEN	(4 + SL_OVPN_PACKET_ID_LEN + SL_OVPN_TAG_LEN) /* 24 */
#define SL_OVPN_SESSION_ID_LEN	8 /* every control packet: op byte || session id (8) || ... */

/* Compression framing adds at most 2 bytes in front (stub-v2 escape) or 1 behind (swap). */
#define SL_OVPN_COMP_HEADROOM 2
#define SL_OVPN_COMP_TAILROOM 1
/* The legacy CBC + HMAC format (proto/ovpn_cbc.h) needs the most: V2 header 4, HMAC up to 64
 * (SHA512), IV 16, packet-id 4 in front, padding up to 16 behind. */
#define SL_OVPN_HEADROOM (4 + 64 + 16 + 4 + SL_OVPN_COMP_HEADROOM)
#define SL_OVPN_TAILROOM (16 + SL_OVPN_COMP_TAILROOM)

/* Outgoing packet-ids at or past this ask for a renegotiation (PACKET_ID_WRAP_TRIGGER). */
#define SL_OVPN_PACKET_ID_WRAP_TRIGGER 0xFF000000u

extern const struct sl_proto_ops sl_proto_ovpn_data;

/* What a UDP datagram on an OpenVPN port is. */
enum sl_ovpn_kind {
	SL_OVPN_KIND_DATA_V1,
	SL_OVPN_KIND_DATA_V2,
	SL_OVPN_KIND_CONTROL,	/* opcodes 3, 4, 5, 7, 8, 10, 11: for the control channel */
	SL_OVPN_KIND_MALFORMED, /* unknown opcode, or too short for its opcode */
};

struct sl_ovpn_class {
	enum sl_ovpn_kind kind;
	uint8_t opcode;
	uint8_t key_id;
	uint32_t peer_id; /* P_DATA_V2 only; SL_OVPN_PEER_ID_NONE otherwise */
};

/*
 * Classify a UDP payload by its first byte(s). Data packets must be long
 * enough for header, tag and one byte of ciphertext (OpenVPN drops an empty
 * payload); control packets for the opcode byte and session id. Fills *out
 * (kind MALFORMED with opcode/key id of the first byte if there is one).
 */
enum sl_ovpn_kind sl_ovpn_classify(const uint8_t *d, size_t len, struct sl_ovpn_class *out);

/*
 * One direction of one data-channel key (one key id). tx: packet-ids count
 * from 1, P_DATA_V2 with peer_id unless it is SL_OVPN_PEER_ID_NONE (then
 * P_DATA_V1). rx: accepts both formats, as OpenVPN does.
 */
struct sl_ovpn_sa {
	enum sl_cipher cipher;
	uint8_t key_id;	  /* 0..7 */
	uint32_t peer_id; /* tx: 24-bit peer-id, or SL_OVPN_PEER_ID_NONE for P_DATA_V1 */
	uint8_t implicit_iv[SL_OVPN_IMPLICIT_IV_LEN];
	uint32_t packet_id;   /* tx: last packet-id sent (first sent is 1) */
	struct sl_keydir dir; /* AEAD context; replay window when rx */
	/*
	 * tx with Workers > 1 (dco/keyslots: one SA per worker, each its own AEAD context):
	 * packet-ids come from this counter shared by the copies, not from packet_id. NULL: own.
	 */
	_Atomic uint32_t *shared_pid;
};

/*
 * Make an SA from a cipher key and implicit IV. tx: encrypt side, else
 * decrypt side with a replay window of `window` (0 = the sl_replay default,
 * which is wider than OpenVPN's --replay-window default of 64; OpenVPN's
 * time backtrack is not implemented). Returns 0, -EINVAL or -ENOMEM.
 * sl_ovpn_sa_clear frees and zeroes it.
 */
int sl_ovpn_sa_init(struct sl_ovpn_sa *sa, enum sl_cipher c, const uint8_t *key, size_t key_len,
		    const uint8_t implicit_iv[SL_OVPN_IMPLICIT_IV_LEN], uint8_t key_id,
		    uint32_t peer_id, bool tx, uint32_t window);
void sl_ovpn_sa_clear(struct sl_ovpn_sa *sa);

/*
 * Seal p (the framed payload, not empty) in place: header pushed in front
 * (SL_OVPN_V1/V2_HDR_LEN of headroom), payload encrypted in place, tag in
 * the header. Returns SL_DROP_NONE, SL_DROP_TOOBIG (no headroom),
 * SL_DROP_MALFORMED (empty payload: OpenVPN never sends one and drops it)
 * or SL_DROP_NOKEY (packet-ids exhausted: the next would pass 0xFFFFFFFF;
 * also an rx SA or an OpenSSL failure). p keeps its length on failure.
 */
enum sl_drop sl_ovpn_seal(struct sl_ovpn_sa *sa, struct sl_pkt *p);

/* True once the tx SA's packet-id reached SL_OVPN_PACKET_ID_WRAP_TRIGGER: renegotiate. */
bool sl_ovpn_near_wrap(const struct sl_ovpn_sa *sa);
/* The last packet-id sent (the shared counter's, if the SA has one). */
uint32_t sl_ovpn_tx_packet_id(const struct sl_ovpn_sa *sa);

/*
 * Open a P_DATA_V1 or P_DATA_V2 packet in place with the rx SA of its key
 * id. On success p holds the framed payload (see sl_ovpn_comp_decode).
 * Returns SL_DROP_NONE, SL_DROP_MALFORMED (not a data packet, too short),
 * SL_DROP_NOKEY (key id is not this SA's; or a tx SA), SL_DROP_REPLAY or
 * SL_DROP_AUTH. On failure p keeps its length but not necessarily its bytes
 * (decryption runs in place): drop it.
 */
enum sl_drop sl_ovpn_open(struct sl_ovpn_sa *sa, struct sl_pkt *p);

/*
 * Key material: struct key2 (openvpn:crypto.h), 2 x (cipher 64 | hmac 64).
 * keys[0] is client->server, keys[1] server->client. AEAD uses the first
 * key-length bytes of cipher[] and hmac[0..7] as the implicit IV.
 * With TLS-EKM the 256 bytes are the RFC 5705 exporter output for
 * SL_OVPN_EKM_LABEL, no context.
 */
#define SL_OVPN_KEY_SLOT_LEN 64
#define SL_OVPN_KEY_LEN	     (2 * SL_OVPN_KEY_SLOT_LEN) /* struct key */
#define SL_OVPN_KEY2_LEN     (2 * SL_OVPN_KEY_LEN)	/* struct key2 .keys */
#define SL_OVPN_EKM_LABEL    "EXPORTER-OpenVPN-datakeys"

enum sl_ovpn_role {
	SL_OVPN_ROLE_CLIENT, /* KEY_DIRECTION_NORMAL: encrypt keys[0], decrypt keys[1] */
	SL_OVPN_ROLE_SERVER, /* KEY_DIRECTION_INVERSE */
};

/*
 * Make the tx and rx SAs of one key id from key2. peer_id goes into the
 * tx SA (SL_OVPN_PEER_ID_NONE: send P_DATA_V1). Returns 0, -EINVAL or
 * -ENOMEM; on failure both SAs are cleared.
 */
int sl_ovpn_sas_from_key2(struct sl_ovpn_sa *tx, struct sl_ovpn_sa *rx,
			  const uint8_t key2[SL_OVPN_KEY2_LEN], enum sl_ovpn_role role,
			  enum sl_cipher c, uint8_t key_id, uint32_t peer_id, uint32_t window);

/*
 * TLS 1.0/1.1 PRF (RFC 2246 §5: P_MD5 xor P_SHA1 over the two secret
 * halves), as OpenVPN's ssl_tls1_PRF. Needs MD5 from OpenSSL's default
 * provider (fails in FIPS mode). Returns 0, -EINVAL or -EIO.
 */
int sl_ovpn_tls1_prf(const uint8_t *secret, size_t secret_len, const uint8_t *seed, size_t seed_len,
		     uint8_t *out, size_t out_len);

/* struct key_source2 of the legacy key exchange (key-method 2), both sides. */
struct sl_ovpn_key_source {
	uint8_t pre_master[48]; /* client's only */
	uint8_t client_random1[32], client_random2[32];
	uint8_t server_random1[32], server_random2[32];
	uint8_t client_sid[SL_OVPN_SESSION_ID_LEN], server_sid[SL_OVPN_SESSION_ID_LEN];
};

/*
 * Legacy key expansion (openvpn:ssl.c generate_key_expansion_openvpn_prf):
 *   master = PRF(pre_master, "OpenVPN master secret" || c.random1 || s.random1), 48 bytes
 *   key2   = PRF(master, "OpenVPN key expansion" || c.random2 || s.random2
 *                        || client sid || server sid), 256 bytes
 * Returns 0 or the sl_ovpn_tls1_prf error.
 */
int sl_ovpn_prf_key2(const struct sl_ovpn_key_source *src, uint8_t key2[SL_OVPN_KEY2_LEN]);

/*
 * Compression framing (openvpn:comp.h, compstub.c), inside the encrypted
 * payload. sluice only speaks the "no compression" forms:
 *   NONE     no compress / comp-lzo line: no framing
 *   LZO_NO   comp-lzo no:        FA | packet
 *   STUB     compress (stub):    FB | packet[1..n-1] | packet[0]   (swap)
 *   STUB_V2  compress stub-v2:   packet, or 50 00 | packet if packet[0] is 0x50
 * An empty packet stays empty both ways, as in OpenVPN.
 */
enum sl_ovpn_comp {
	SL_OVPN_COMP_NONE,
	SL_OVPN_COMP_LZO_NO,
	SL_OVPN_COMP_STUB,
	SL_OVPN_COMP_STUB_V2,
};

#define SL_OVPN_COMP_LZO_BYTE	     0x66
#define SL_OVPN_COMP_LZ4_BYTE	     0x69
#define SL_OVPN_COMP_NO_BYTE	     0xFA
#define SL_OVPN_COMP_NO_BYTE_SWAP    0xFB
#define SL_OVPN_COMP_V2_INDICATOR    0x50
#define SL_OVPN_COMP_V2_UNCOMPRESSED 0x00
#define SL_OVPN_COMP_V2_LZ4	     0x01
#define SL_OVPN_COMP_V2_LZO	     0x02
#define SL_OVPN_COMP_V2_SNAPPY	     0x03

/* Why decoding refused a packet; sl_ovpn_comp_drop maps it to the drop counter. */
enum sl_ovpn_comp_rc {
	SL_OVPN_COMP_OK = 0,
	SL_OVPN_COMP_MALFORMED,	  /* framing byte not valid for the mode */
	SL_OVPN_COMP_UNSUPPORTED, /* really compressed (LZO, LZ4, Snappy): log "not supported" */
};

/*
 * Add the framing in place. SL_DROP_NONE, SL_DROP_TOOBIG (no room; p unchanged)
 * or SL_DROP_MALFORMED (mode is not one of the enum).
 */
enum sl_drop sl_ovpn_comp_encode(enum sl_ovpn_comp mode, struct sl_pkt *p);
/* Remove the framing in place. On failure p keeps its length (its first byte may have moved). */
enum sl_ovpn_comp_rc sl_ovpn_comp_decode(enum sl_ovpn_comp mode, struct sl_pkt *p);

static inline enum sl_drop sl_ovpn_comp_drop(enum sl_ovpn_comp_rc rc)
{
	return rc == SL_OVPN_COMP_OK ? SL_DROP_NONE : SL_DROP_MALFORMED;
}

/*
 * In-band messages, after decryption and comp decoding. Ping: exactly the
 * 16 bytes of openvpn:ping.c ping_string, dropped by the receiver. OCC:
 * 16-byte openvpn:occ.c occ_magic then an opcode byte; OCC_EXIT (6) is
 * the explicit-exit-notify of peers without the control-channel EXIT.
 */
#define SL_OVPN_PING_LEN      16
#define SL_OVPN_OCC_MAGIC_LEN 16
#define SL_OVPN_OCC_EXIT      6
#define SL_OVPN_OCC_EXIT_LEN  (SL_OVPN_OCC_MAGIC_LEN + 1)

extern const uint8_t sl_ovpn_ping_magic[SL_OVPN_PING_LEN];
extern const uint8_t sl_ovpn_occ_magic[SL_OVPN_OCC_MAGIC_LEN];

bool sl_ovpn_is_ping(const uint8_t *d, size_t len);
/* An OCC message: sets *opcode (when not NULL) to the byte after the magic. */
bool sl_ovpn_is_occ(const uint8_t *d, size_t len, uint8_t *opcode);
bool sl_ovpn_is_occ_exit(const uint8_t *d, size_t len);
/* Write the OCC_EXIT message (magic || 6) to send as an explicit exit notify. */
void sl_ovpn_put_occ_exit(uint8_t out[SL_OVPN_OCC_EXIT_LEN]);

#endif
