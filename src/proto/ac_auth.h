/* SPDX-License-Identifier: MIT */
/*
 * The AnyConnect "aggregate auth" XML (openconnect auth.c, ocserv
 * worker-auth.c): the server's <config-auth> answers parsed with a small,
 * strict XML reader, and the client's requests built. Pure functions.
 *
 *   <config-auth client="vpn" type="auth-request">        type: auth-request | complete
 *     <auth id="main">                                     id: main | success | ...
 *       <message>Please enter your username.</message>
 *       <error id="..">..</error>
 *       <form method="post" action="/auth">
 *         <input type="text" name="username" label=".."/>  also password, hidden, <select>
 *       </form></auth>
 *     <opaque is-for="sg">...</opaque>                     echoed verbatim in the reply
 *   </config-auth>
 *
 * The reader knows elements, attributes, text, the five predefined entities,
 * character references, comments and the <?xml?> declaration; anything else
 * (DTDs, CDATA, unbalanced tags, depth over 16) is refused.
 */
#ifndef SL_PROTO_AC_AUTH_H
#define SL_PROTO_AC_AUTH_H

#include <stddef.h>

#define SL_AC_INPUTS_MAX 8

enum sl_ac_auth_type {
	SL_AC_AUTH_REQUEST = 1, /* server: asks for fields */
	SL_AC_AUTH_COMPLETE,	/* server: success */
	SL_AC_AUTH_INIT,	/* client: the first request */
	SL_AC_AUTH_REPLY,	/* client: the fields, as inputs of type "reply" */
};

struct sl_ac_input {
	char type[16]; /* text, password, hidden, select */
	char name[32];
	char value[128]; /* hidden inputs' value; a reply's text */
};

struct sl_ac_auth {
	enum sl_ac_auth_type type;
	char auth_id[32];
	char message[256];
	char error[256];
	char action[128]; /* the form's action, "" = none */
	struct sl_ac_input inputs[SL_AC_INPUTS_MAX];
	unsigned n_inputs;
	char opaque[1024]; /* the whole <opaque> element as received, "" = none */
};

/* 0, -EBADMSG (not well formed, not <config-auth>, unknown type) or -ENOSPC (a field too long). */
int sl_ac_auth_parse(const char *xml, size_t len, struct sl_ac_auth *out);

/* The first request: <config-auth type="init"> with our version and the URL we reach. */
int sl_ac_auth_build_init(char *out, size_t cap, const char *version, const char *group_access);

struct sl_ac_field {
	const char *name, *value;
};

/* An auth-reply: opaque (verbatim, may be ""), then <auth> with each field. Length or -ENOSPC. */
int sl_ac_auth_build_reply(char *out, size_t cap, const char *version, const char *opaque,
			   const struct sl_ac_field *fields, unsigned n);

#endif
