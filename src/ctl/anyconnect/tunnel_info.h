/* SPDX-License-Identifier: MIT */
/*
 * What an AnyConnect server says in its "200 CONNECTED" reply (ocserv
 * worker-vpn.c connect_handler; openconnect cstp.c start_cstp_connection):
 * addresses, routes, DNS, MTU, timers, DTLS parameters. Parsed from the
 * HTTP head; and the vpnc-script environment that openconnect's script.c
 * builds from the same facts, so an existing vpnc-script works unchanged.
 */
#ifndef SL_CTL_ANYCONNECT_TUNNEL_INFO_H
#define SL_CTL_ANYCONNECT_TUNNEL_INFO_H

#include "proto/http.h"
#include "sluice/engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_AC_ROUTES_MAX 32
#define SL_AC_DNS_MAX	 3

enum sl_ac_rekey { SL_AC_REKEY_NONE = 0, SL_AC_REKEY_SSL, SL_AC_REKEY_NEW_TUNNEL };

struct sl_ac_tunnel_info {
	bool has_ip4, has_ip6;
	uint8_t ip4[4], netmask4[4];
	uint8_t ip6[16], ip6_prefix; /* X-CSTP-Address-IP6 addr/len */
	uint8_t dns[SL_AC_DNS_MAX][16];
	uint8_t dns_family[SL_AC_DNS_MAX];
	unsigned n_dns;
	struct sl_prefix split_inc[SL_AC_ROUTES_MAX], split_exc[SL_AC_ROUTES_MAX];
	unsigned n_split_inc, n_split_exc;
	char default_domain[128];
	char banner[256];
	uint32_t mtu;	   /* X-CSTP-MTU (the tunnel MTU over TLS) */
	uint32_t dtls_mtu; /* X-DTLS-MTU, 0 = not sent */
	uint32_t dpd_s, keepalive_s, idle_timeout_s;
	uint32_t rekey_s;
	enum sl_ac_rekey rekey_method;
	/* DTLS */
	uint16_t dtls_port; /* 0 = no DTLS offered */
	uint32_t dtls_dpd_s, dtls_keepalive_s;
	bool dtls_psk;		 /* X-DTLS-CipherSuite: PSK-NEGOTIATE */
	char dtls_cipher[64];	 /* the suite, when not PSK-NEGOTIATE (legacy resume mode) */
	uint8_t dtls_app_id[64]; /* X-DTLS-App-ID (PSK) or X-DTLS-Session-ID (legacy) */
	size_t dtls_app_id_len;
	char cstp_options[1024]; /* every X-CSTP-* header as Name=value lines (CISCO_CSTP_OPTIONS)
				  */
};

/* 0, or -EBADMSG with the offending header named in err. */
int sl_ac_tunnel_info_parse(const struct sl_http_response *r, struct sl_ac_tunnel_info *out,
			    char *err, size_t err_len);

/*
 * The vpnc-script environment for reason ("pre-init", "connect",
 * "disconnect", "reconnect") as NAME=value strings in buf (NUL-separated),
 * pointers in env[] (NULL-terminated). info may be NULL for pre-init.
 * Returns the number of variables or -ENOSPC.
 */
int sl_ac_vpnc_env(const struct sl_ac_tunnel_info *info, const char *reason, const char *tundev,
		   const char *gateway, int pid, char *buf, size_t cap, char **env, size_t env_max);

#endif
