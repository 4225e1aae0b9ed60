/* Reading Erlang term syntax (.appup, .appup.src) with positions. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molt/term.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define MAX_DEPTH 256

typedef enum tok_kind {
	T_EOF,
	T_PUNCT,     /* { } [ ] , | */
	T_OPEN_BIN,  /* << */
	T_CLOSE_BIN, /* >> */
	T_DOT,	     /* the final dot */
	T_ATOM,
	T_VAR,
	T_STRING,
	T_INT,
	T_FLOAT,
} tok_kind;

typedef struct tok {
	tok_kind kind; /* what was read */
	char punct;    /* the character for T_PUNCT */
	molt_pos pos;  /* where it starts */
	char *text;    /* arena-owned text for ATOM, VAR, STRING */
	size_t len;    /* length of text */
	int64_t i;     /* T_INT value */
	double f;      /* T_FLOAT value */
} tok;

typedef struct parser {
	molt_arena *a;		     /* where terms go */
	const molt_parse_opts *opts; /* file name, version */
	const char *p, *end;	     /* the rest of the input */
	unsigned line, col;	     /* position of p */
	const char *file;	     /* arena copy of the file name */
	tok t;			     /* the current token */
	molt_err *err;		     /* where errors go */
	int depth;		     /* nesting of tuples/lists */
} parser;

MOLT_PRINTF(3, 4)
static int fail_at(parser *ps, molt_pos pos, const char *fmt, ...)
{
	char where[200], msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return molt_err_set(ps->err, MOLT_EPARSE, "%s: %s",
			    molt_pos_format(where, sizeof(where), pos), msg);
}

static molt_pos here(const parser *ps)
{
	molt_pos pos = {ps->file, ps->line, ps->col};

	return pos;
}

static void advance(parser *ps, size_t n)
{
	while (n-- && ps->p < ps->end) {
		if (*ps->p == '\n') {
			ps->line++;
			ps->col = 1;
		} else {
			ps->col++;
		}
		ps->p++;
	}
}

static int peek(const parser *ps, size_t k)
{
	return ps->p + k < ps->end ? (unsigned char)ps->p[k] : -1;
}

static void skip_space(parser *ps)
{
	while (ps->p < ps->end) {
		int c = peek(ps, 0);

		if (c == '%') {
			while (ps->p < ps->end && *ps->p != '\n')
				advance(ps, 1);
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			   c == '\f' || c == '\v') {
			advance(ps, 1);
		} else {
			return;
		}
	}
}

static int is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '@' || c >= 0x80;
}

static int describe(const tok *t, char *buf, size_t n)
{
	switch (t->kind) {
	case T_EOF:
		return snprintf(buf, n, "end of file");
	case T_PUNCT:
		return snprintf(buf, n, "'%c'", t->punct);
	case T_OPEN_BIN:
		return snprintf(buf, n, "'<<'");
	case T_CLOSE_BIN:
		return snprintf(buf, n, "'>>'");
	case T_DOT:
		return snprintf(buf, n, "'.'");
	case T_ATOM:
		return snprintf(buf, n, "atom '%.40s'", t->text);
	case T_VAR:
		return snprintf(buf, n, "variable %.40s", t->text);
	case T_STRING:
		return snprintf(buf, n, "a string");
	case T_INT:
	case T_FLOAT:
		return snprintf(buf, n, "a number");
	}
	return snprintf(buf, n, "?");
}

MOLT_PRINTF(2, 3)
static int expected(parser *ps, const char *fmt, ...)
{
	char what[160], found[80];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	describe(&ps->t, found, sizeof(found));
	return fail_at(ps, ps->t.pos, "expected %s, found %s", what, found);
}

/* One escape sequence after a backslash; the value in *out. */
static int lex_escape(parser *ps, int *out)
{
	molt_pos pos = here(ps);
	int c = peek(ps, 0), v = 0, n;

	if (c < 0)
		return fail_at(ps, pos, "unterminated escape sequence");
	advance(ps, 1);
	switch (c) {
	case 'n':
		*out = '\n';
		return 0;
	case 't':
		*out = '\t';
		return 0;
	case 'r':
		*out = '\r';
		return 0;
	case 'b':
		*out = '\b';
		return 0;
	case 'f':
		*out = '\f';
		return 0;
	case 'v':
		*out = '\v';
		return 0;
	case 'e':
		*out = 27;
		return 0;
	case 's':
		*out = ' ';
		return 0;
	case 'd':
		*out = 127;
		return 0;
	default:
		break;
	}
	if (c >= '0' && c <= '7') {
		v = c - '0';
		for (n = 1; n < 3 && peek(ps, 0) >= '0' && peek(ps, 0) <= '7';
		     n++) {
			v = v * 8 + (peek(ps, 0) - '0');
			advance(ps, 1);
		}
		*out = v & 0xff;
		return 0;
	}
	*out = c;
	return 0;
}

/* A quoted atom or string; the opening quote is at p. */
static int lex_quoted(parser *ps, char q, molt_buf *text)
{
	molt_pos start = here(ps);
	int c, rc;

	advance(ps, 1);
	for (;;) {
		c = peek(ps, 0);
		if (c < 0)
			return fail_at(ps, start, "unterminated %s",
				       q == '"' ? "string" : "quoted atom");
		if (c == q) {
			advance(ps, 1);
			return 0;
		}
		advance(ps, 1);
		if (c == '\\' && (rc = lex_escape(ps, &c)) < 0)
			return rc;
		if (molt_buf_putc(text, (char)c) < 0)
			return molt_err_set(ps->err, MOLT_ENOMEM,
					    "out of memory reading terms");
	}
}

static int lex_text(parser *ps, char q)
{
	molt_buf text = MOLT_BUF_INIT;
	int rc = lex_quoted(ps, q, &text);

	if (rc == 0) {
		ps->t.text = molt_arena_strndup(ps->a, text.ptr, text.len);
		ps->t.len = text.len;
		if (!ps->t.text)
			rc = molt_err_set(ps->err, MOLT_ENOMEM,
					  "out of memory reading terms");
	}
	molt_buf_release(&text);
	return rc;
}

static int digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

static int lex_digits(parser *ps, int base, int64_t *out)
{
	molt_pos pos = here(ps);
	uint64_t v = 0;
	int any = 0;

	while (digit_value(peek(ps, 0)) < base || peek(ps, 0) == '_') {
		if (peek(ps, 0) != '_') {
			v = v * (uint64_t)base +
			    (uint64_t)digit_value(peek(ps, 0));
			if (v > (uint64_t)INT64_MAX)
				return fail_at(ps, pos, "integer too large");
			any = 1;
		}
		advance(ps, 1);
	}
	if (!any)
		return fail_at(ps, pos, "expected digits in base %d", base);
	*out = (int64_t)v;
	return 0;
}

static int lex_float(parser *ps, const char *start, molt_pos pos)
{
	char tmp[128];
	size_t n;

	advance(ps, 1); /* the '.' */
	while (peek(ps, 0) >= '0' && peek(ps, 0) <= '9')
		advance(ps, 1);
	if (peek(ps, 0) == 'e' || peek(ps, 0) == 'E') {
		advance(ps, 1);
		if (peek(ps, 0) == '+' || peek(ps, 0) == '-')
			advance(ps, 1);
		if (!(peek(ps, 0) >= '0' && peek(ps, 0) <= '9'))
			return fail_at(ps, here(ps),
				       "expected exponent digits");
		while (peek(ps, 0) >= '0' && peek(ps, 0) <= '9')
			advance(ps, 1);
	}
	n = (size_t)(ps->p - start);
	if (n >= sizeof(tmp))
		return fail_at(ps, pos, "float too long");
	memcpy(tmp, start, n);
	tmp[n] = '\0';
	ps->t.kind = T_FLOAT;
	ps->t.f = strtod(tmp, NULL);
	if (!isfinite(ps->t.f)) /* as erl_scan: {illegal, float} */
		return fail_at(ps, pos, "float out of range: %s", tmp);
	return 0;
}

static int lex_number(parser *ps)
{
	const char *start = ps->p;
	molt_pos pos = here(ps);
	int64_t v;
	int rc;

	if ((rc = lex_digits(ps, 10, &v)) < 0)
		return rc;
	if (peek(ps, 0) == '#') {
		if (v < 2 || v > 36)
			return fail_at(ps, pos, "bad base %lld", (long long)v);
		advance(ps, 1);
		ps->t.kind = T_INT;
		return lex_digits(ps, (int)v, &ps->t.i);
	}
	if (peek(ps, 0) == '.' && peek(ps, 1) >= '0' && peek(ps, 1) <= '9')
		return lex_float(ps, start, pos);
	ps->t.kind = T_INT;
	ps->t.i = v;
	return 0;
}

static int lex_name(parser *ps, tok_kind kind)
{
	const char *start = ps->p;

	while (is_name_char(peek(ps, 0)))
		advance(ps, 1);
	ps->t.kind = kind;
	ps->t.len = (size_t)(ps->p - start);
	ps->t.text = molt_arena_strndup(ps->a, start, ps->t.len);
	if (!ps->t.text)
		return molt_err_set(ps->err, MOLT_ENOMEM,
				    "out of memory reading terms");
	return 0;
}

static int lex_char(parser *ps)
{
	int c;

	advance(ps, 1);
	c = peek(ps, 0);
	if (c < 0)
		return fail_at(ps, ps->t.pos, "expected a character after '$'");
	advance(ps, 1);
	if (c == '\\') {
		int rc = lex_escape(ps, &c);

		if (rc < 0)
			return rc;
	}
	ps->t.kind = T_INT;
	ps->t.i = c;
	return 0;
}

static int lex_punct(parser *ps, int c)
{
	int c1 = peek(ps, 1);

	if (c == '<' && c1 == '<') {
		advance(ps, 2);
		ps->t.kind = T_OPEN_BIN;
		return 0;
	}
	if (c == '>' && c1 == '>') {
		advance(ps, 2);
		ps->t.kind = T_CLOSE_BIN;
		return 0;
	}
	if (c == '.' && (c1 < 0 || c1 == ' ' || c1 == '\n' || c1 == '\t' ||
			 c1 == '\r' || c1 == '%')) {
		advance(ps, 1);
		ps->t.kind = T_DOT;
		return 0;
	}
	if (strchr("{}[],|", c)) {
		advance(ps, 1);
		ps->t.kind = T_PUNCT;
		ps->t.punct = (char)c;
		return 0;
	}
	if (c >= 0x20 && c < 0x7f)
		return fail_at(ps, ps->t.pos, "unexpected character '%c'", c);
	return fail_at(ps, ps->t.pos, "unexpected byte 0x%02x", c);
}

/* Read the next token into ps->t. */
static int next(parser *ps)
{
	int c;

	skip_space(ps);
	memset(&ps->t, 0, sizeof(ps->t));
	ps->t.pos = here(ps);
	c = peek(ps, 0);
	if (c < 0) {
		ps->t.kind = T_EOF;
		return 0;
	}
	if (c >= 'a' && c <= 'z')
		return lex_name(ps, T_ATOM);
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return lex_name(ps, T_VAR);
	if (c >= '0' && c <= '9')
		return lex_number(ps);
	if (c == '\'' || c == '"') {
		ps->t.kind = c == '"' ? T_STRING : T_ATOM;
		return lex_text(ps, (char)c);
	}
	if (c == '$')
		return lex_char(ps);
	if (c == '-' && peek(ps, 1) >= '0' && peek(ps, 1) <= '9') {
		int rc;

		advance(ps, 1);
		if ((rc = lex_number(ps)) < 0)
			return rc;
		ps->t.i = -ps->t.i;
		ps->t.f = -ps->t.f;
		return 0;
	}
	return lex_punct(ps, c);
}

static int is_punct(const parser *ps, char c)
{
	return ps->t.kind == T_PUNCT && ps->t.punct == c;
}

static int oom(parser *ps)
{
	return molt_err_set(ps->err, MOLT_ENOMEM,
			    "out of memory reading terms");
}

/* Replace each "%VSN%" in s by the version; returns arena text. */
static int substitute(parser *ps, molt_term *t)
{
	const char *vsn = ps->opts->vsn, *s = t->u.str.s, *hit;
	molt_buf out = MOLT_BUF_INIT;
	char *copy;

	if (!strstr(s, "%VSN%"))
		return 0;
	if (!vsn) {
		if (!ps->opts->placeholders)
			return 0;
		return fail_at(ps, t->pos,
			       "placeholder %%VSN%% is not substituted "
			       "(give the version, e.g. --vsn 1.2.0)");
	}
	while ((hit = strstr(s, "%VSN%"))) {
		if (molt_buf_put(&out, s, (size_t)(hit - s)) < 0 ||
		    molt_buf_puts(&out, vsn) < 0)
			goto out_oom;
		s = hit + 5;
	}
	if (molt_buf_puts(&out, s) < 0)
		goto out_oom;
	copy = molt_arena_strndup(ps->a, out.ptr, out.len);
	if (!copy)
		goto out_oom;
	t->u.str.s = copy;
	t->u.str.len = out.len;
	molt_buf_release(&out);
	return 0;
out_oom:
	molt_buf_release(&out);
	return oom(ps);
}

static int parse_term(parser *ps, molt_term **out);

/* Items up to the closing character; the opening one was consumed. */
static int parse_items(parser *ps, char close, molt_term ***items, size_t *n)
{
	size_t cap = 0;
	molt_term *t, **v = NULL, **grown;
	int rc;

	*items = NULL;
	*n = 0;
	if (is_punct(ps, close))
		return next(ps);
	for (;;) {
		if ((rc = parse_term(ps, &t)) < 0)
			goto out_free;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = molt_realloc(v, cap * sizeof(*v));
			if (!grown) {
				rc = oom(ps);
				goto out_free;
			}
			v = grown;
		}
		v[(*n)++] = t;
		if (is_punct(ps, close))
			break;
		if (!is_punct(ps, ',')) {
			rc = expected(ps, "',' or '%c'", close);
			goto out_free;
		}
		if ((rc = next(ps)) < 0)
			goto out_free;
	}
	if ((rc = next(ps)) < 0)
		goto out_free;
	*items = v;
	return 0;
out_free:
	molt_free(v);
	return rc;
}

static int parse_seq(parser *ps, molt_term **out, molt_term_kind kind)
{
	molt_pos pos = ps->t.pos;
	molt_term **items;
	size_t n;
	int rc;

	if (++ps->depth > MAX_DEPTH)
		return fail_at(ps, pos, "terms nested too deeply");
	if ((rc = next(ps)) < 0)
		return rc;
	if ((rc = parse_items(ps, kind == MOLT_TERM_TUPLE ? '}' : ']', &items,
			      &n)) < 0)
		return rc;
	ps->depth--;
	*out = molt_term_seq(ps->a, kind, items, n);
	molt_free(items);
	if (!*out)
		return oom(ps);
	(*out)->pos = pos;
	return 0;
}

/* One segment of a binary: a string or a byte. */
static int parse_bin_segment(parser *ps, molt_buf *bytes)
{
	if (ps->t.kind == T_STRING) {
		if (molt_buf_put(bytes, ps->t.text, ps->t.len) < 0)
			return oom(ps);
	} else if (ps->t.kind == T_INT) {
		if (ps->t.i < 0 || ps->t.i > 255)
			return fail_at(ps, ps->t.pos,
				       "binary byte out of range 0..255");
		if (molt_buf_putc(bytes, (char)ps->t.i) < 0)
			return oom(ps);
	} else {
		return expected(ps, "a string or a byte in a binary");
	}
	return next(ps);
}

static int parse_binary(parser *ps, molt_term **out)
{
	molt_pos pos = ps->t.pos;
	molt_buf bytes = MOLT_BUF_INIT;
	int rc;

	if ((rc = next(ps)) < 0)
		return rc;
	while (ps->t.kind != T_CLOSE_BIN) {
		if ((rc = parse_bin_segment(ps, &bytes)) < 0)
			goto out;
		if (ps->t.kind == T_CLOSE_BIN)
			break;
		if (!is_punct(ps, ',')) {
			rc = expected(ps, "',' or '>>'");
			goto out;
		}
		if ((rc = next(ps)) < 0)
			goto out;
	}
	*out = molt_term_text(ps->a, MOLT_TERM_BINARY, bytes.ptr, bytes.len);
	if (!*out) {
		rc = oom(ps);
		goto out;
	}
	(*out)->pos = pos;
	if ((rc = substitute(ps, *out)) == 0)
		rc = next(ps);
out:
	molt_buf_release(&bytes);
	return rc;
}

/* A string, joined with the strings right after it ("a" "b"). */
static int parse_string(parser *ps, molt_term **out)
{
	molt_pos pos = ps->t.pos;
	molt_buf text = MOLT_BUF_INIT;
	int rc = 0;

	while (ps->t.kind == T_STRING && rc == 0) {
		if (molt_buf_put(&text, ps->t.text, ps->t.len) < 0)
			rc = oom(ps);
		else
			rc = next(ps);
	}
	if (rc == 0) {
		*out = molt_term_text(ps->a, MOLT_TERM_STRING, text.ptr,
				      text.len);
		if (!*out)
			rc = oom(ps);
		else
			(*out)->pos = pos;
	}
	molt_buf_release(&text);
	return rc ? rc : substitute(ps, *out);
}

static int parse_var(parser *ps, molt_term **out)
{
	if (strcmp(ps->t.text, "VSN") != 0)
		return fail_at(ps, ps->t.pos,
			       "unbound variable %.60s (only VSN is known)",
			       ps->t.text);
	if (!ps->opts->vsn)
		return fail_at(ps, ps->t.pos,
			       "unbound variable VSN: this is an .appup.src "
			       "template, give the version (e.g. --vsn 1.2.0)");
	*out = molt_term_string(ps->a, ps->opts->vsn);
	if (!*out)
		return oom(ps);
	(*out)->pos = ps->t.pos;
	return next(ps);
}

static int parse_scalar(parser *ps, molt_term **out)
{
	molt_pos pos = ps->t.pos;

	switch (ps->t.kind) {
	case T_ATOM:
		*out = molt_term_text(ps->a, MOLT_TERM_ATOM, ps->t.text,
				      ps->t.len);
		break;
	case T_INT:
		*out = molt_term_int(ps->a, ps->t.i);
		break;
	case T_FLOAT:
		*out = molt_term_float(ps->a, ps->t.f);
		break;
	default:
		return expected(ps, "a term");
	}
	if (!*out)
		return oom(ps);
	(*out)->pos = pos;
	return next(ps);
}

static int parse_term(parser *ps, molt_term **out)
{
	if (is_punct(ps, '{'))
		return parse_seq(ps, out, MOLT_TERM_TUPLE);
	if (is_punct(ps, '['))
		return parse_seq(ps, out, MOLT_TERM_LIST);
	if (ps->t.kind == T_OPEN_BIN)
		return parse_binary(ps, out);
	if (ps->t.kind == T_STRING)
		return parse_string(ps, out);
	if (ps->t.kind == T_VAR)
		return parse_var(ps, out);
	return parse_scalar(ps, out);
}

static int push(parser *ps, molt_term ***v, size_t *n, molt_term *t)
{
	molt_term **grown = molt_realloc(*v, (*n + 1) * sizeof(**v));

	if (!grown)
		return oom(ps);
	*v = grown;
	(*v)[(*n)++] = t;
	return 0;
}

static int parse_all(parser *ps, molt_term ***v, size_t *n)
{
	molt_term *t;
	int rc;

	if ((rc = next(ps)) < 0)
		return rc;
	if (ps->t.kind == T_EOF)
		return fail_at(ps, ps->t.pos, "expected a term, found no term");
	while (ps->t.kind != T_EOF) {
		if ((rc = parse_term(ps, &t)) < 0)
			return rc;
		if (ps->t.kind != T_DOT)
			return expected(ps, "'.' after the term");
		if ((rc = push(ps, v, n, t)) < 0)
			return rc;
		if (!ps->opts->all_terms)
			return 0;
		if ((rc = next(ps)) < 0)
			return rc;
	}
	return 0;
}

int molt_term_parse(molt_term **out, molt_arena *a, const char *text,
		    size_t len, const molt_parse_opts *opts, molt_err *err)
{
	static const molt_parse_opts defaults = MOLT_PARSE_OPTS_INIT;
	parser ps;
	molt_term **v = NULL;
	size_t n = 0;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.a = a;
	ps.opts = opts ? opts : &defaults;
	ps.p = text;
	ps.end = text + len;
	ps.line = 1;
	ps.col = 1;
	ps.err = err;
	ps.file =
		molt_arena_strndup(a, ps.opts->file ? ps.opts->file : "-",
				   strlen(ps.opts->file ? ps.opts->file : "-"));
	if (!ps.file)
		return oom(&ps);
	if ((rc = parse_all(&ps, &v, &n)) == 0) {
		*out = molt_term_seq(a, MOLT_TERM_LIST, v, n);
		if (!*out)
			rc = oom(&ps);
	}
	molt_free(v);
	return rc;
}
