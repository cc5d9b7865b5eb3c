// SPDX-License-Identifier: MIT
/* AnyConnect DTLS negotiation, the server's view: PSK-NEGOTIATE in a cipher list, the App-ID
 * in a ClientHello's session id. */
#include "proto/ac_dtls.h"

#include <errno.h>
#include <string.h>

#define REC_HDR		13 /* type, version, epoch, seq(6), length */
#define HS_HDR		12 /* msg_type, length(3), message_seq(2), frag_offset(3), frag_length(3) */
#define CT_HANDSHAKE	22
#define HT_CLIENT_HELLO 1

bool sl_ac_cipher_list_has(const char *list, size_t len, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i <= len) {
		size_t j = i;

		while (j < len && list[j] != ':')
			j++;
		if (j - i == tl && !memcmp(list + i, tok, tl))
			return true;
		i = j + 1;
	}
	return false;
}

static uint32_t be24(const uint8_t *b)
{
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

int sl_ac_dtls_hello_sid(const uint8_t *p, size_t n, uint8_t sid[SL_AC_DTLS_SID_MAX],
			 size_t *sid_len)
{
	size_t rec_len, frag_len, body, sl;

	if (n < REC_HDR + 1 || p[0] != CT_HANDSHAKE || p[1] != 0xfe || p[3] != 0 || p[4] != 0)
		return -EAGAIN;
	if (p[REC_HDR] != HT_CLIENT_HELLO)
		return -EAGAIN;
	rec_len = (size_t)p[11] << 8 | p[12];
	if (rec_len > n - REC_HDR || rec_len < HS_HDR)
		return -EBADMSG;
	if (be24(p + REC_HDR + 6) != 0) /* not the first fragment */
		return -EBADMSG;
	frag_len = be24(p + REC_HDR + 9);
	if (frag_len > rec_len - HS_HDR || frag_len > be24(p + REC_HDR + 1))
		return -EBADMSG;
	body = REC_HDR + HS_HDR;
	/* client_version(2), random(32), session_id<0..32> */
	if (frag_len < 2 + 32 + 1)
		return -EBADMSG;
	sl = p[body + 34];
	if (sl > SL_AC_DTLS_SID_MAX || 35 + sl > frag_len)
		return -EBADMSG;
	memcpy(sid, p + body + 35, sl);
	*sid_len = sl;
	return 0;
}
