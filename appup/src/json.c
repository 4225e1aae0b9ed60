/* JSON forms: appup.json (read and write) and low-level scripts (write). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molt/appup.h"

#include "appup_json.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define MAX_DEPTH 256

typedef struct jparser {
	molt_arena *a;	     /* where nodes go */
	const char *p, *end; /* input */
	const char *file;    /* for positions */
	unsigned line, col;  /* position of p */
	molt_err *err;	     /* where errors go */
	int depth;	     /* nesting */
} jparser;

MOLT_PRINTF(3, 4)
static int jfail(jparser *jp, molt_pos pos, const char *fmt, ...)
{
	char where[200], msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return molt_err_set(jp->err, MOLT_EPARSE, "%s: %s",
			    molt_pos_format(where, sizeof(where), pos), msg);
}

static molt_pos jhere(const jparser *jp)
{
	molt_pos p = {jp->file, jp->line, jp->col};

	return p;
}

static void jadv(jparser *jp)
{
	if (jp->p >= jp->end)
		return;
	if (*jp->p == '\n') {
		jp->line++;
		jp->col = 1;
	} else {
		jp->col++;
	}
	jp->p++;
}

static int jpeek(const jparser *jp)
{
	return jp->p < jp->end ? (unsigned char)*jp->p : -1;
}

static void jspace(jparser *jp)
{
	while (jpeek(jp) == ' ' || jpeek(jp) == '\t' || jpeek(jp) == '\n' ||
	       jpeek(jp) == '\r')
		jadv(jp);
}

static int joom(jparser *jp)
{
	return molt_err_set(jp->err, MOLT_ENOMEM, "out of memory reading json");
}

static int jvalue(jparser *jp, jnode **out);

static int jhex4(jparser *jp, unsigned *cp)
{
	int k, c;

	*cp = 0;
	for (k = 0; k < 4; k++) {
		c = jpeek(jp);
		if (c >= '0' && c <= '9')
			*cp = *cp * 16 + (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp = *cp * 16 + (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp = *cp * 16 + (unsigned)(c - 'A' + 10);
		else
			return jfail(jp, jhere(jp), "expected 4 hex digits");
		jadv(jp);
	}
	return 0;
}

static int jescape(jparser *jp, molt_buf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	unsigned cp, lo;
	int c = jpeek(jp), rc;

	jadv(jp);
	if (c > 0 && c != 'u' && (hit = strchr(from, c)))
		return molt_buf_putc(b, to[hit - from]);
	if (c != 'u')
		return jfail(jp, jhere(jp), "bad escape in string");
	if ((rc = jhex4(jp, &cp)) < 0)
		return rc;
	if (cp >= 0xd800 && cp < 0xdc00 && jpeek(jp) == '\\') {
		jadv(jp);
		if (jpeek(jp) != 'u')
			return jfail(jp, jhere(jp), "expected a low surrogate");
		jadv(jp);
		if ((rc = jhex4(jp, &lo)) < 0)
			return rc;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return molt_buf_put_utf8(b, cp);
}

static int jstring(jparser *jp, char **s, size_t *len)
{
	molt_pos start = jhere(jp);
	molt_buf b = MOLT_BUF_INIT;
	int c, rc = 0;

	jadv(jp);
	while (rc == 0 && (c = jpeek(jp)) != '"') {
		if (c < 0) {
			rc = jfail(jp, start, "unterminated string");
		} else if (c < 0x20) {
			rc = jfail(jp, jhere(jp),
				   "control character in string");
		} else if (c == '\\') {
			jadv(jp);
			rc = jescape(jp, &b);
		} else {
			rc = molt_buf_putc(&b, (char)c);
			jadv(jp);
		}
	}
	if (rc == 0) {
		jadv(jp);
		*s = molt_arena_strndup(jp->a, b.ptr, b.len);
		*len = b.len;
		if (!*s)
			rc = joom(jp);
	}
	molt_buf_release(&b);
	return rc;
}

static int jnumber(jparser *jp, jnode *n)
{
	const char *start = jp->p;
	char tmp[64];
	size_t len;

	if (jpeek(jp) == '-')
		jadv(jp);
	while ((jpeek(jp) >= '0' && jpeek(jp) <= '9') || jpeek(jp) == '.' ||
	       jpeek(jp) == 'e' || jpeek(jp) == 'E' || jpeek(jp) == '+' ||
	       jpeek(jp) == '-') {
		if (jpeek(jp) == '.' || jpeek(jp) == 'e' || jpeek(jp) == 'E')
			n->is_float = 1;
		jadv(jp);
	}
	len = (size_t)(jp->p - start);
	if (len == 0 || len >= sizeof(tmp))
		return jfail(jp, n->pos, "bad number");
	memcpy(tmp, start, len);
	tmp[len] = '\0';
	n->kind = J_NUM;
	n->f = strtod(tmp, NULL);
	if (n->is_float && !isfinite(n->f))
		return jfail(jp, n->pos, "number out of range");
	if (!n->is_float) {
		char *end;

		n->i = strtoll(tmp, &end, 10);
		if (*end || n->f > 9.2e18 || n->f < -9.2e18)
			return jfail(jp, n->pos, "integer out of range");
	}
	return 0;
}

static int jword(jparser *jp, jnode *n, const char *w, jkind kind, int v)
{
	size_t k, len = strlen(w);

	if ((size_t)(jp->end - jp->p) < len || memcmp(jp->p, w, len) != 0)
		return jfail(jp, n->pos, "expected a JSON value");
	for (k = 0; k < len; k++)
		jadv(jp);
	n->kind = kind;
	n->i = v;
	return 0;
}

/* Items of an array or object, comma separated, up to close. */
static int jitems(jparser *jp, jnode *n, char close)
{
	size_t cap = 0;
	int rc;

	jadv(jp);
	jspace(jp);
	if (jpeek(jp) == close) {
		jadv(jp);
		return 0;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		jnode *v;

		jspace(jp);
		if (close == '}') {
			if (jpeek(jp) != '"')
				return jfail(jp, jhere(jp),
					     "expected a string key");
			if ((rc = jstring(jp, &key, &klen)) < 0)
				return rc;
			jspace(jp);
			if (jpeek(jp) != ':')
				return jfail(jp, jhere(jp), "expected ':'");
			jadv(jp);
		}
		if ((rc = jvalue(jp, &v)) < 0)
			return rc;
		if (n->len == cap) {
			jnode **items;
			char **keys;

			cap = cap ? cap * 2 : 8;
			items = molt_arena_alloc(jp->a, cap * sizeof(*items));
			keys = molt_arena_alloc(jp->a, cap * sizeof(*keys));
			if (!items || !keys)
				return joom(jp);
			if (n->len) {
				memcpy(items, n->items,
				       n->len * sizeof(*items));
				memcpy(keys, n->keys, n->len * sizeof(*keys));
			}
			n->items = items;
			n->keys = keys;
		}
		n->keys[n->len] = key;
		n->items[n->len++] = v;
		jspace(jp);
		if (jpeek(jp) == close) {
			jadv(jp);
			return 0;
		}
		if (jpeek(jp) != ',')
			return jfail(jp, jhere(jp), "expected ',' or '%c'",
				     close);
		jadv(jp);
	}
}

static int jvalue(jparser *jp, jnode **out)
{
	jnode *n;
	int c, rc;

	jspace(jp);
	n = molt_arena_alloc(jp->a, sizeof(*n));
	if (!n)
		return joom(jp);
	n->pos = jhere(jp);
	*out = n;
	c = jpeek(jp);
	if (c == '{' || c == '[') {
		if (++jp->depth > MAX_DEPTH)
			return jfail(jp, n->pos, "json nested too deeply");
		n->kind = c == '{' ? J_OBJ : J_ARR;
		rc = jitems(jp, n, c == '{' ? '}' : ']');
		jp->depth--;
		return rc;
	}
	if (c == '"') {
		n->kind = J_STR;
		return jstring(jp, &n->s, &n->len);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return jnumber(jp, n);
	if (c == 't')
		return jword(jp, n, "true", J_BOOL, 1);
	if (c == 'f')
		return jword(jp, n, "false", J_BOOL, 0);
	if (c == 'n')
		return jword(jp, n, "null", J_NULL, 0);
	if (c < 0)
		return jfail(jp, n->pos,
			     "expected a JSON value, found end of file");
	return jfail(jp, n->pos, "expected a JSON value");
}

/* ---- JSON -> terms ---- */

typedef struct conv {
	molt_arena *a; /* output arena */
	molt_err *err; /* errors */
	jparser *jp;   /* for messages */
} conv;

const jnode *molt__appup_jmember(const jnode *obj, const char *key)
{
	size_t i;

	for (i = 0; i < obj->len; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

static int cfail(conv *cv, const jnode *n, const char *what)
{
	return jfail(cv->jp, n->pos, "%s", what);
}

static int value_to_term(conv *cv, const jnode *n, molt_term **out);

static int seq_to_term(conv *cv, const jnode *arr, molt_term_kind kind,
		       molt_term **out)
{
	molt_term **items =
		molt_arena_alloc(cv->a, (arr->len + 1) * sizeof(*items));
	size_t i;
	int rc;

	if (!items)
		return joom(cv->jp);
	for (i = 0; i < arr->len; i++)
		if ((rc = value_to_term(cv, arr->items[i], &items[i])) < 0)
			return rc;
	*out = molt_term_seq(cv->a, kind, items, arr->len);
	return *out ? 0 : joom(cv->jp);
}

/* {"tuple": [...]}, {"str": "..."}, {"bin": "..."} */
static int tagged_to_term(conv *cv, const jnode *n, molt_term **out)
{
	const jnode *v;

	if (n->len != 1)
		return cfail(cv, n,
			     "expected an object with one key: tuple, list, "
			     "str or bin");
	v = n->items[0];
	if (strcmp(n->keys[0], "tuple") == 0 && v->kind == J_ARR)
		return seq_to_term(cv, v, MOLT_TERM_TUPLE, out);
	if (strcmp(n->keys[0], "list") == 0 && v->kind == J_ARR)
		return seq_to_term(cv, v, MOLT_TERM_LIST, out);
	if ((strcmp(n->keys[0], "str") == 0 ||
	     strcmp(n->keys[0], "bin") == 0) &&
	    v->kind == J_STR) {
		*out = molt_term_text(cv->a,
				      n->keys[0][0] == 's' ? MOLT_TERM_STRING
							   : MOLT_TERM_BINARY,
				      v->s, v->len);
		return *out ? 0 : joom(cv->jp);
	}
	return cfail(cv, n,
		     "expected {\"tuple\": [...]}, {\"list\": [...]}, "
		     "{\"str\": \"...\"} or {\"bin\": \"...\"}");
}

static int value_to_term(conv *cv, const jnode *n, molt_term **out)
{
	int rc = 0;

	switch (n->kind) {
	case J_STR:
		*out = molt_term_text(cv->a, MOLT_TERM_ATOM, n->s, n->len);
		break;
	case J_NUM:
		*out = n->is_float ? molt_term_float(cv->a, n->f)
				   : molt_term_int(cv->a, n->i);
		break;
	case J_ARR:
		rc = seq_to_term(cv, n, MOLT_TERM_LIST, out);
		break;
	case J_OBJ:
		rc = tagged_to_term(cv, n, out);
		break;
	case J_BOOL:
		*out = molt_term_atom(cv->a, n->i ? "true" : "false");
		break;
	case J_NULL:
		return cfail(cv, n, "null is not a term");
	}
	if (rc < 0)
		return rc;
	if (!*out)
		return joom(cv->jp);
	(*out)->pos = n->pos;
	return 0;
}

/* An instruction: a string (atom) or an array (tuple). */
static int instr_to_term(conv *cv, const jnode *n, molt_term **out)
{
	int rc;

	if (n->kind != J_ARR)
		return value_to_term(cv, n, out);
	if ((rc = seq_to_term(cv, n, MOLT_TERM_TUPLE, out)) < 0)
		return rc;
	(*out)->pos = n->pos;
	return 0;
}

/* A version: a string, {"regex": ...}, or any other term {"term": V}. */
static int key_to_term(conv *cv, const jnode *n, molt_term **out)
{
	const jnode *re = NULL, *t = NULL;

	if (n->kind == J_OBJ && n->len == 1) {
		re = molt__appup_jmember(n, "regex");
		t = molt__appup_jmember(n, "term");
	}
	if (n->kind == J_STR) {
		*out = molt_term_text(cv->a, MOLT_TERM_STRING, n->s, n->len);
	} else if (re && re->kind == J_STR) {
		*out = molt_term_text(cv->a, MOLT_TERM_BINARY, re->s, re->len);
	} else if (t) {
		return value_to_term(cv, t, out);
	} else {
		return cfail(cv, n,
			     "expected a version string, {\"regex\": \"...\"} "
			     "or {\"term\": ...}");
	}
	if (!*out)
		return joom(cv->jp);
	(*out)->pos = n->pos;
	return 0;
}

static int entry_to_term(conv *cv, const jnode *e, const char *keyname,
			 molt_term **out)
{
	const jnode *k, *ins;
	molt_term *key, *list, **items;
	size_t i;
	int rc;

	if (e->kind != J_OBJ || !(k = molt__appup_jmember(e, keyname)) ||
	    !(ins = molt__appup_jmember(e, "instructions")) ||
	    ins->kind != J_ARR)
		return jfail(cv->jp, e->pos,
			     "expected {\"%s\": VSN, \"instructions\": [...]}",
			     keyname);
	if ((rc = key_to_term(cv, k, &key)) < 0)
		return rc;
	items = molt_arena_alloc(cv->a, (ins->len + 1) * sizeof(*items));
	if (!items)
		return joom(cv->jp);
	for (i = 0; i < ins->len; i++)
		if ((rc = instr_to_term(cv, ins->items[i], &items[i])) < 0)
			return rc;
	list = molt_term_seq(cv->a, MOLT_TERM_LIST, items, ins->len);
	*out = list ? molt_term_tuple(cv->a, 2, key, list) : NULL;
	if (!*out)
		return joom(cv->jp);
	list->pos = ins->pos;
	(*out)->pos = e->pos;
	return 0;
}

static int entries_to_term(conv *cv, const jnode *doc, const char *name,
			   const char *keyname, molt_term **out)
{
	const jnode *arr = molt__appup_jmember(doc, name);
	molt_term **items;
	size_t i;
	int rc;

	if (!arr || arr->kind != J_ARR)
		return jfail(cv->jp, arr ? arr->pos : doc->pos,
			     "expected \"%s\": [...]", name);
	items = molt_arena_alloc(cv->a, (arr->len + 1) * sizeof(*items));
	if (!items)
		return joom(cv->jp);
	for (i = 0; i < arr->len; i++)
		if ((rc = entry_to_term(cv, arr->items[i], keyname,
					&items[i])) < 0)
			return rc;
	*out = molt_term_seq(cv->a, MOLT_TERM_LIST, items, arr->len);
	if (!*out)
		return joom(cv->jp);
	(*out)->pos = arr->pos;
	return 0;
}

static int doc_to_term(conv *cv, const jnode *doc, molt_term **out)
{
	const jnode *fmt, *vsn;
	molt_term *v, *up, *down, *t;
	int rc;

	if (doc->kind != J_OBJ)
		return cfail(cv, doc, "expected an appup.json object");
	fmt = molt__appup_jmember(doc, "format");
	if (fmt && (fmt->kind != J_STR || strcmp(fmt->s, "molt-appup/1") != 0))
		return molt_err_set(cv->err, MOLT_EVERSION,
				    "%s:%u:%u: unknown appup.json format "
				    "(expected \"molt-appup/1\")",
				    cv->jp->file, fmt->pos.line, fmt->pos.col);
	vsn = molt__appup_jmember(doc, "vsn");
	if (!vsn)
		return cfail(cv, doc, "expected \"vsn\": \"...\"");
	if ((rc = key_to_term(cv, vsn, &v)) < 0 ||
	    (rc = entries_to_term(cv, doc, "up", "from", &up)) < 0 ||
	    (rc = entries_to_term(cv, doc, "down", "to", &down)) < 0)
		return rc;
	t = molt_term_tuple(cv->a, 3, v, up, down);
	if (!t)
		return joom(cv->jp);
	t->pos = doc->pos;
	*out = molt_term_seq(cv->a, MOLT_TERM_LIST, &t, 1);
	return *out ? 0 : joom(cv->jp);
}

int molt__appup_jparse(jnode **out, molt_arena *a, const char *file,
		       const char *text, size_t len, molt_err *err)
{
	jparser jp = {a, text, text + len, file, 1, 1, err, 0};
	int rc;

	if ((rc = jvalue(&jp, out)) < 0)
		return rc;
	jspace(&jp);
	if (jp.p != jp.end)
		return jfail(&jp, jhere(&jp),
			     "unexpected text after the JSON "
			     "document");
	return 0;
}

int molt__appup_json_parse(molt_term **out, molt_arena *a, const char *file,
			   const char *text, size_t len, molt_err *err)
{
	jparser jp = {a, text, text + len, file, 1, 1, err, 0};
	conv cv = {a, err, &jp};
	jnode *doc;
	int rc;

	if ((rc = molt__appup_jparse(&doc, a, file, text, len, err)) < 0)
		return rc;
	return doc_to_term(&cv, doc, out);
}

/* ---- terms -> JSON ---- */

static int json_string(molt_buf *out, const char *s, size_t len)
{
	size_t i;
	int rc = molt_buf_putc(out, '"');

	for (i = 0; rc == 0 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			rc = molt_buf_printf(out, "\\%c", c);
		else if (c == '\n')
			rc = molt_buf_puts(out, "\\n");
		else if (c < 0x20 || c == 0x7f)
			rc = molt_buf_printf(out, "\\u%04x", c);
		else
			rc = molt_buf_putc(out, (char)c);
	}
	return rc ? rc : molt_buf_putc(out, '"');
}

static int json_float(molt_buf *out, double f)
{
	char tmp[64];

	if (!isfinite(f))
		return molt_buf_puts(out, "0.0");
	snprintf(tmp, sizeof(tmp), "%.17g", f);
	if (!strpbrk(tmp, ".e"))
		return molt_buf_printf(out, "%s.0", tmp);
	return molt_buf_puts(out, tmp);
}

static int json_value(molt_buf *out, const molt_term *t, int low,
		      const molt_term *args);

static int json_seq(molt_buf *out, const molt_term *t, int low,
		    const molt_term *args)
{
	size_t i;
	int rc = molt_buf_putc(out, '[');

	for (i = 0; rc == 0 && i < t->u.seq.n; i++) {
		if (i)
			rc = molt_buf_puts(out, ", ");
		if (rc == 0)
			rc = json_value(out, t->u.seq.items[i], low, args);
	}
	return rc ? rc : molt_buf_putc(out, ']');
}

/*
 * A string or list: a JSON string when it is printable (as ~p prints it:
 * "ab" and [97,98] alike; low: "ab", else {"str": "ab"}), else an array
 * of its elements ("" and [] are [], "\001" is [1]). args is written as
 * an array in any case.
 */
static int json_list(molt_buf *out, const molt_term *t, int low,
		     const molt_term *args)
{
	molt_buf text = MOLT_BUF_INIT;
	size_t i = 0, n = 0;
	int64_t code;
	int rc;

	if (t != args && molt_term_is_printable(t)) {
		rc = molt_term_put_string(&text, t);
		if (rc == 0 && !low)
			rc = molt_buf_puts(out, "{\"str\": ");
		if (rc == 0)
			rc = json_string(out, text.ptr, text.len);
		if (rc == 0 && !low)
			rc = molt_buf_putc(out, '}');
		molt_buf_release(&text);
		return rc;
	}
	if (t->kind == MOLT_TERM_LIST)
		return json_seq(out, t, low, args);
	rc = molt_buf_putc(out, '['); /* a string: its character codes */
	while (rc == 0 && molt_term_next_code(t, &i, &code) == 1)
		rc = molt_buf_printf(out, "%s%lld", n++ ? ", " : "",
				     (long long)code);
	return rc ? rc : molt_buf_putc(out, ']');
}

/*
 * The argument list of {apply, {M, F, Args}} or {sync_nodes, Id, {M, F,
 * Args}}: a place where Erlang expects a list, so it stays an array even
 * when it holds only character codes ({m, f, [100]} calls m:f(100), not
 * m:f("d")). NULL for any other term.
 */
static const molt_term *args_of(const molt_term *ins)
{
	const molt_term *mfa = NULL;

	if (molt_term_is_tagged(ins, "apply", 2))
		mfa = ins->u.seq.items[1];
	else if (molt_term_is_tagged(ins, "sync_nodes", 3))
		mfa = ins->u.seq.items[2];
	if (!mfa || mfa->kind != MOLT_TERM_TUPLE || mfa->u.seq.n != 3 ||
	    !molt_term_is_list(mfa->u.seq.items[2]))
		return NULL;
	return mfa->u.seq.items[2];
}

/* t in the script encoding (low) or the appup.json value encoding. */
static int json_value(molt_buf *out, const molt_term *t, int low,
		      const molt_term *args)
{
	int rc;

	switch (t->kind) {
	case MOLT_TERM_ATOM:
		return json_string(out, t->u.str.s, t->u.str.len);
	case MOLT_TERM_BINARY:
		if (!low && (rc = molt_buf_puts(out, "{\"bin\": ")) < 0)
			return rc;
		if ((rc = json_string(out, t->u.str.s, t->u.str.len)) < 0)
			return rc;
		return low ? 0 : molt_buf_putc(out, '}');
	case MOLT_TERM_INT:
		return molt_buf_printf(out, "%lld", (long long)t->u.i);
	case MOLT_TERM_FLOAT:
		return json_float(out, t->u.f);
	case MOLT_TERM_STRING:
	case MOLT_TERM_LIST:
		return json_list(out, t, low, args);
	case MOLT_TERM_TUPLE:
		if (low)
			return json_seq(out, t, low, args);
		if ((rc = molt_buf_puts(out, "{\"tuple\": ")) < 0 ||
		    (rc = json_seq(out, t, low, args)) < 0)
			return rc;
		return molt_buf_putc(out, '}');
	}
	return MOLT_EINVAL;
}

int molt_script_to_json_value(molt_buf *out, const molt_term *t)
{
	return json_value(out, t, 1, args_of(t));
}

int molt__term_to_appup_json(molt_buf *out, const molt_term *t)
{
	return json_value(out, t, 0, NULL);
}

int molt_script_to_json(molt_buf *out, const molt_term *script, int indent)
{
	size_t i;
	int rc = molt_buf_putc(out, '[');

	for (i = 0; rc == 0 && i < script->u.seq.n; i++) {
		if (i)
			rc = molt_buf_putc(out, ',');
		if (rc == 0 && indent >= 0)
			rc = molt_buf_printf(out, "\n%*s", indent + 2, "");
		if (rc == 0)
			rc = molt_script_to_json_value(out,
						       script->u.seq.items[i]);
	}
	if (rc == 0 && indent >= 0 && script->u.seq.n)
		rc = molt_buf_printf(out, "\n%*s", indent, "");
	return rc ? rc : molt_buf_putc(out, ']');
}

static int instr_json(molt_buf *out, const molt_term *t)
{
	if (t->kind == MOLT_TERM_TUPLE) {
		molt_term fake = *t;

		fake.kind =
			MOLT_TERM_LIST; /* an instruction tuple is an array */
		return json_seq(out, &fake, 0, args_of(t));
	}
	if (t->kind == MOLT_TERM_LIST ||
	    (t->kind == MOLT_TERM_STRING && !molt_term_is_printable(t))) {
		/*
		 * A list in an instruction list (spliced by systools). A bare
		 * array here would read back as a tuple, so a string with no
		 * printable form ("" or "\001") is written as its codes.
		 */
		int rc = molt_buf_puts(out, "{\"list\": ");

		if (rc == 0)
			rc = json_list(out, t, 0, t);
		return rc ? rc : molt_buf_putc(out, '}');
	}
	return molt__term_to_appup_json(out, t);
}

static int key_json(molt_buf *out, const molt_term *k)
{
	int rc;

	if (k->kind == MOLT_TERM_BINARY) {
		if ((rc = molt_buf_puts(out, "{\"regex\": ")) < 0 ||
		    (rc = json_string(out, k->u.str.s, k->u.str.len)) < 0)
			return rc;
		return molt_buf_putc(out, '}');
	}
	if (k->kind == MOLT_TERM_STRING)
		return json_string(out, k->u.str.s, k->u.str.len);
	if (molt_term_is_string(k)) { /* character codes: the string */
		molt_buf text = MOLT_BUF_INIT;

		rc = molt_term_put_string(&text, k);
		if (rc == 0)
			rc = json_string(out, text.ptr, text.len);
		molt_buf_release(&text);
		return rc;
	}
	if ((rc = molt_buf_puts(out, "{\"term\": ")) < 0 ||
	    (rc = molt__term_to_appup_json(out, k)) < 0)
		return rc;
	return molt_buf_putc(out, '}');
}

static int entries_json(molt_buf *out, const molt_appup_entry *e, size_t n,
			const char *keyname)
{
	size_t i, k, ni;
	int rc = molt_buf_puts(out, "[");

	for (i = 0; rc == 0 && i < n; i++) {
		ni = molt_term_list_len(e[i].instrs);
		rc = molt_buf_printf(out, "%s\n    {\"%s\": ", i ? "," : "",
				     keyname);
		if (rc == 0)
			rc = key_json(out, e[i].key);
		if (rc == 0)
			rc = molt_buf_puts(out, ", \"instructions\": [");
		if (e[i].instrs->kind == MOLT_TERM_LIST)
			for (k = 0; rc == 0 && k < ni; k++) {
				rc = molt_buf_puts(out, k ? ",\n      "
							  : "\n      ");
				if (rc == 0)
					rc = instr_json(
						out,
						e[i].instrs->u.seq.items[k]);
			}
		else if (rc == 0) /* a string: its character codes */
			rc = molt__appup_print_codes(out, e[i].instrs,
						     "\n      ", ",\n      ");
		if (rc == 0)
			rc = molt_buf_puts(out, ni ? "\n    ]}" : "]}");
	}
	if (rc == 0 && n)
		rc = molt_buf_puts(out, "\n  ");
	return rc ? rc : molt_buf_puts(out, "]");
}

int molt_appup_to_json(molt_buf *out, const molt_appup *ap)
{
	int rc;

	if ((rc = molt_buf_puts(out, "{\n  \"format\": \"molt-appup/1\",\n  "
				     "\"vsn\": ")) < 0 ||
	    (rc = key_json(out, ap->vsn)) < 0 ||
	    (rc = molt_buf_puts(out, ",\n  \"up\": ")) < 0 ||
	    (rc = entries_json(out, ap->up, ap->nup, "from")) < 0 ||
	    (rc = molt_buf_puts(out, ",\n  \"down\": ")) < 0 ||
	    (rc = entries_json(out, ap->down, ap->ndown, "to")) < 0)
		return rc;
	return molt_buf_puts(out, "\n}\n");
}
