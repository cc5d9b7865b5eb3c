// SPDX-License-Identifier: MIT
/* AnyConnect auth XML: a strict little reader for the server's answers, builders for ours. */
#include "proto/ac_auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DEPTH_MAX 16
#define NAME_MAX_ 32
#define ATTRS_MAX 8

struct attr {
	char name[NAME_MAX_];
	char value[256];
};

struct reader {
	const char *p, *end;
	int err;
};

struct element {
	char name[NAME_MAX_];
	struct attr a[ATTRS_MAX];
	unsigned n;
	const char *start; /* the '<' */
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == ':' || c == '.';
}

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
		r->p++;
}

static bool starts(const struct reader *r, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(r->end - r->p) >= n && !memcmp(r->p, s, n);
}

static int read_name(struct reader *r, char *out)
{
	size_t n = 0;

	while (r->p < r->end && name_char(*r->p)) {
		if (n + 1 >= NAME_MAX_)
			return -EBADMSG;
		out[n++] = *r->p++;
	}
	out[n] = '\0';
	return n ? 0 : -EBADMSG;
}

/* Append code point cp to out[0..*n) as UTF-8. */
static int put_utf8(char *out, size_t *n, size_t cap, unsigned long cp)
{
	char b[4];
	size_t k;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -EBADMSG;
	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k >= cap)
		return -ENOSPC;
	memcpy(out + *n, b, k);
	*n += k;
	return 0;
}

static int read_entity(struct reader *r, char *out, size_t *n, size_t cap)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	unsigned long cp = 0;
	int digits = 0;
	bool hex;

	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		if (starts(r, ents[i].name)) {
			r->p += strlen(ents[i].name);
			return put_utf8(out, n, cap, (unsigned char)ents[i].c);
		}
	}
	if (!starts(r, "&#"))
		return -EBADMSG;
	r->p += 2;
	hex = r->p < r->end && *r->p == 'x';
	r->p += hex;
	for (; r->p < r->end && *r->p != ';'; r->p++, digits++) {
		char c = *r->p;
		int v = c >= '0' && c <= '9'	      ? c - '0'
			: hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
			: hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
						      : -1;

		if (v < 0 || digits >= 7)
			return -EBADMSG;
		cp = cp * (hex ? 16 : 10) + (unsigned long)v;
	}
	if (r->p >= r->end || !digits)
		return -EBADMSG;
	r->p++;
	return put_utf8(out, n, cap, cp);
}

/* Text up to stop (not consumed), entities decoded, into out (NUL-terminated; NULL: skip). */
static int read_text(struct reader *r, char stop, char *out, size_t cap)
{
	char sink[8];
	bool keep = out != NULL;
	size_t n = 0;
	int rc;

	if (!keep) {
		out = sink;
		cap = sizeof(sink);
	}
	while (r->p < r->end && *r->p != stop) {
		if (!keep && n + 5 >= cap)
			n = 0; /* skipped text: forget what was read */
		if (*r->p == '<')
			return -EBADMSG;
		if (*r->p == '&') {
			if ((rc = read_entity(r, out, &n, cap)) < 0)
				return rc;
			continue;
		}
		if (n + 1 >= cap)
			return -ENOSPC;
		out[n++] = *r->p++;
	}
	out[n] = '\0';
	return r->p < r->end ? 0 : -EBADMSG;
}

/* After '<' + name: attributes until '>' or '/>'. Returns 1 for a self-closing tag. */
static int read_attrs(struct reader *r, struct element *el)
{
	el->n = 0;
	for (;;) {
		struct attr scratch, *a;
		char q;
		int rc;

		skip_space(r);
		if (starts(r, "/>")) {
			r->p += 2;
			return 1;
		}
		if (starts(r, ">")) {
			r->p++;
			return 0;
		}
		a = el->n < ATTRS_MAX ? &el->a[el->n] : &scratch;
		if ((rc = read_name(r, a->name)) < 0)
			return rc;
		skip_space(r);
		if (r->p >= r->end || *r->p != '=')
			return -EBADMSG;
		r->p++;
		skip_space(r);
		if (r->p >= r->end || (*r->p != '"' && *r->p != '\''))
			return -EBADMSG;
		q = *r->p++;
		if ((rc = read_text(r, q, a->value, sizeof(a->value))) < 0)
			return rc;
		r->p++; /* the closing quote */
		if (a != &scratch)
			el->n++;
	}
}

static const char *attr(const struct element *el, const char *name)
{
	for (unsigned i = 0; i < el->n; i++)
		if (!strcmp(el->a[i].name, name))
			return el->a[i].value;
	return NULL;
}

static int copy(char *out, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= cap)
		return -ENOSPC;
	memcpy(out, s ? s : "", n + 1);
	return 0;
}

/* What an opening tag means for the result, given where it sits. */
static int on_open(struct sl_ac_auth *out, const struct element *stack, int depth,
		   const struct element *el)
{
	const char *parent = depth ? stack[depth - 1].name : "";

	if (depth == 0) {
		const char *type = attr(el, "type");

		if (strcmp(el->name, "config-auth") || !type)
			return -EBADMSG;
		if (!strcmp(type, "auth-request"))
			out->type = SL_AC_AUTH_REQUEST;
		else if (!strcmp(type, "complete"))
			out->type = SL_AC_AUTH_COMPLETE;
		else if (!strcmp(type, "init"))
			out->type = SL_AC_AUTH_INIT;
		else if (!strcmp(type, "auth-reply"))
			out->type = SL_AC_AUTH_REPLY;
		else
			return -EBADMSG;
		return 0;
	}
	if (!strcmp(el->name, "auth") && !strcmp(parent, "config-auth"))
		return copy(out->auth_id, sizeof(out->auth_id), attr(el, "id"));
	if (out->type == SL_AC_AUTH_REPLY && !strcmp(parent, "auth") && depth == 2) {
		struct sl_ac_input *in;

		if (out->n_inputs == SL_AC_INPUTS_MAX)
			return -ENOSPC;
		in = &out->inputs[out->n_inputs++];
		strcpy(in->type, "reply");
		return copy(in->name, sizeof(in->name), el->name);
	}
	if (!strcmp(el->name, "form") && !strcmp(parent, "auth"))
		return copy(out->action, sizeof(out->action), attr(el, "action"));
	if ((!strcmp(el->name, "input") || !strcmp(el->name, "select")) &&
	    !strcmp(parent, "form")) {
		struct sl_ac_input *in;
		int rc;

		if (out->n_inputs == SL_AC_INPUTS_MAX)
			return -ENOSPC;
		in = &out->inputs[out->n_inputs++];
		if ((rc = copy(in->type, sizeof(in->type),
			       el->name[0] == 's' ? "select" : attr(el, "type"))) < 0 ||
		    (rc = copy(in->name, sizeof(in->name), attr(el, "name"))) < 0 ||
		    (rc = copy(in->value, sizeof(in->value), attr(el, "value"))) < 0)
			return rc;
	}
	return 0;
}

/* Text directly inside an element we keep. */
static char *text_target(struct sl_ac_auth *out, const struct element *stack, int depth,
			 size_t *cap)
{
	if (depth < 2 || strcmp(stack[depth - 2].name, "auth"))
		return NULL;
	if (out->type == SL_AC_AUTH_REPLY && depth == 3 && out->n_inputs &&
	    !strcmp(out->inputs[out->n_inputs - 1].name, stack[depth - 1].name)) {
		*cap = sizeof(out->inputs[0].value);
		return out->inputs[out->n_inputs - 1].value;
	}
	if (!strcmp(stack[depth - 1].name, "message")) {
		*cap = sizeof(out->message);
		return out->message;
	}
	if (!strcmp(stack[depth - 1].name, "error")) {
		*cap = sizeof(out->error);
		return out->error;
	}
	return NULL;
}

static int on_close(struct sl_ac_auth *out, const struct element *el, const char *after, int depth)
{
	size_t n = (size_t)(after - el->start);

	if (strcmp(el->name, "opaque") || depth != 1)
		return 0;
	if (n >= sizeof(out->opaque))
		return -ENOSPC;
	memcpy(out->opaque, el->start, n);
	out->opaque[n] = '\0';
	return 0;
}

static int skip_special(struct reader *r, bool *handled)
{
	const char *e;

	*handled = true;
	if (starts(r, "<?")) {
		e = memmem(r->p, (size_t)(r->end - r->p), "?>", 2);
	} else if (starts(r, "<!--")) {
		e = memmem(r->p + 4, (size_t)(r->end - r->p - 4), "-->", 3);
		if (e)
			e++;
	} else if (starts(r, "<!")) {
		return -EBADMSG; /* DOCTYPE, CDATA: not in these documents */
	} else {
		*handled = false;
		return 0;
	}
	if (!e)
		return -EBADMSG;
	r->p = e + 2;
	return 0;
}

int sl_ac_auth_parse(const char *xml, size_t len, struct sl_ac_auth *out)
{
	struct reader r = {.p = xml, .end = xml + len};
	struct element stack[DEPTH_MAX];
	int depth = 0, rc;
	bool root_done = false;

	memset(out, 0, sizeof(*out));
	while (r.p < r.end) {
		struct element el;
		bool special;

		if (*r.p != '<') {
			size_t cap = 0;
			char *t = depth ? text_target(out, stack, depth, &cap) : NULL;

			if (!depth) { /* only blanks outside the root */
				skip_space(&r);
				if (r.p < r.end && *r.p != '<')
					return -EBADMSG;
				continue;
			}
			if ((rc = read_text(&r, '<', t, cap)) < 0)
				return rc;
			continue;
		}
		if ((rc = skip_special(&r, &special)) < 0)
			return rc;
		if (special)
			continue;
		if (starts(&r, "</")) {
			char name[NAME_MAX_];

			r.p += 2;
			if (!depth || read_name(&r, name) < 0 ||
			    strcmp(name, stack[depth - 1].name))
				return -EBADMSG;
			skip_space(&r);
			if (r.p >= r.end || *r.p != '>')
				return -EBADMSG;
			r.p++;
			if ((rc = on_close(out, &stack[depth - 1], r.p, depth - 1)) < 0)
				return rc;
			if (--depth == 0)
				root_done = true;
			continue;
		}
		if (root_done || depth == DEPTH_MAX)
			return -EBADMSG;
		el.start = r.p++;
		if ((rc = read_name(&r, el.name)) < 0 || (rc = read_attrs(&r, &el)) < 0)
			return rc;
		if ((rc = on_open(out, stack, depth, &el)) < 0)
			return rc;
		if (rc == 0 && r.p[-2] == '/' && r.p[-1] == '>') {
			if (on_close(out, &el, r.p, depth) < 0)
				return -ENOSPC;
			if (depth == 0)
				root_done = true;
			continue;
		}
		stack[depth++] = el;
	}
	return root_done ? 0 : -EBADMSG;
}

/* ---- building -------------------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_escaped(struct out *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			puts_(o, "&amp;");
			break;
		case '<':
			puts_(o, "&lt;");
			break;
		case '>':
			puts_(o, "&gt;");
			break;
		case '"':
			puts_(o, "&quot;");
			break;
		case '\'':
			puts_(o, "&apos;");
			break;
		default:
			put(o, s, 1);
		}
	}
}

static int finish(struct out *o)
{
	return o->overflow ? -ENOSPC : (int)o->len;
}

static void head(struct out *o, const char *type, const char *version)
{
	puts_(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config-auth client=\"vpn\" type=\"");
	puts_(o, type);
	puts_(o, "\" aggregate-auth-version=\"2\"><version who=\"vpn\">");
	put_escaped(o, version);
	puts_(o, "</version><device-id>linux-64</device-id>");
}

int sl_ac_auth_build_init(char *out, size_t cap, const char *version, const char *group_access)
{
	struct out o = {.p = out, .cap = cap};

	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	head(&o, "init", version);
	puts_(&o, "<group-access>");
	put_escaped(&o, group_access);
	puts_(&o, "</group-access></config-auth>");
	return finish(&o);
}

int sl_ac_auth_build_reply(char *out, size_t cap, const char *version, const char *opaque,
			   const struct sl_ac_field *fields, unsigned n)
{
	struct out o = {.p = out, .cap = cap};

	if (!cap)
		return -ENOSPC;
	out[0] = '\0';
	head(&o, "auth-reply", version);
	puts_(&o, opaque ? opaque : "");
	puts_(&o, "<auth>");
	for (unsigned i = 0; i < n; i++) {
		puts_(&o, "<");
		puts_(&o, fields[i].name);
		puts_(&o, ">");
		put_escaped(&o, fields[i].value);
		puts_(&o, "</");
		puts_(&o, fields[i].name);
		puts_(&o, ">");
	}
	puts_(&o, "</auth></config-auth>");
	return finish(&o);
}
