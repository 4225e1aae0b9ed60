/* Terms: the arena they live in, constructors, equality and printing. */
#include "molt/term.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define CHUNK_MIN 65536

struct chunk {
	struct chunk *next; /* older chunk */
	size_t used;	    /* bytes handed out from data */
	size_t size;	    /* bytes in data */
	max_align_t data[]; /* the memory */
};

struct molt_arena {
	struct chunk *head; /* newest chunk, NULL until the first allocation */
};

molt_arena *molt_arena_new(void)
{
	return molt_calloc(1, sizeof(molt_arena));
}

void molt_arena_free(molt_arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		molt_free(c);
	}
	molt_free(a);
}

void *molt_arena_alloc(molt_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct chunk *c = a->head;
	void *p;

	n = (n + align - 1) / align * align;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;

		c = molt_malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->size = size;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *molt_arena_strndup(molt_arena *a, const char *s, size_t len)
{
	char *p = molt_arena_alloc(a, len + 1);

	if (!p)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static molt_term *term_new(molt_arena *a, molt_term_kind kind)
{
	molt_term *t = molt_arena_alloc(a, sizeof(*t));

	if (t)
		t->kind = kind;
	return t;
}

molt_term *molt_term_text(molt_arena *a, molt_term_kind kind, const char *s,
			  size_t len)
{
	molt_term *t = term_new(a, kind);

	if (!t)
		return NULL;
	t->u.str.s = molt_arena_strndup(a, s, len);
	t->u.str.len = len;
	return t->u.str.s ? t : NULL;
}

molt_term *molt_term_atom(molt_arena *a, const char *name)
{
	return molt_term_text(a, MOLT_TERM_ATOM, name, strlen(name));
}

molt_term *molt_term_string(molt_arena *a, const char *s)
{
	return molt_term_text(a, MOLT_TERM_STRING, s, strlen(s));
}

molt_term *molt_term_int(molt_arena *a, int64_t v)
{
	molt_term *t = term_new(a, MOLT_TERM_INT);

	if (t)
		t->u.i = v;
	return t;
}

molt_term *molt_term_float(molt_arena *a, double v)
{
	molt_term *t = term_new(a, MOLT_TERM_FLOAT);

	if (t)
		t->u.f = v;
	return t;
}

molt_term *molt_term_seq(molt_arena *a, molt_term_kind kind,
			 molt_term *const *items, size_t n)
{
	molt_term *t = term_new(a, kind);

	if (!t)
		return NULL;
	t->u.seq.n = n;
	if (n == 0)
		return t;
	t->u.seq.items = molt_arena_alloc(a, n * sizeof(*items));
	if (!t->u.seq.items)
		return NULL;
	memcpy(t->u.seq.items, items, n * sizeof(*items));
	return t;
}

molt_term *molt_term_tuple(molt_arena *a, size_t n, ...)
{
	molt_term *items[16];
	va_list ap;
	size_t i;

	if (n > 16)
		return NULL;
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		items[i] = va_arg(ap, molt_term *);
		if (!items[i]) {
			va_end(ap);
			return NULL;
		}
	}
	va_end(ap);
	return molt_term_seq(a, MOLT_TERM_TUPLE, items, n);
}

int molt_term_is_atom(const molt_term *t, const char *name)
{
	return t && t->kind == MOLT_TERM_ATOM && strcmp(t->u.str.s, name) == 0;
}

int molt_term_is_list(const molt_term *t)
{
	return t && (t->kind == MOLT_TERM_LIST || t->kind == MOLT_TERM_STRING);
}

size_t molt_term_list_len(const molt_term *t)
{
	if (!t)
		return 0;
	if (t->kind == MOLT_TERM_LIST)
		return t->u.seq.n;
	if (t->kind == MOLT_TERM_STRING)
		return t->u.str.len;
	return 0;
}

molt_term *molt_term_list_at(molt_arena *a, const molt_term *t, size_t i)
{
	molt_term *c;

	if (t->kind == MOLT_TERM_LIST)
		return t->u.seq.items[i];
	c = molt_term_int(a, (unsigned char)t->u.str.s[i]);
	if (c)
		c->pos = t->pos;
	return c;
}

/*
 * The code point at s (n > 0 bytes) into *cp; returns its length. A byte
 * that starts no valid UTF-8 sequence is a code of its own (a string
 * written with octal escapes holds such bytes).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t len, k;

	*cp = c;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07;
	else
		return 1;
	if (n < len)
		return 1;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 1;
		c = c << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 1;
	*cp = c;
	return len;
}

/* The character codes of a list term, one at a time. */
typedef struct codes {
	const molt_term *t; /* a string or list term */
	size_t i;	    /* next byte (string) or item (list) */
} codes;

/* 1 with the next code in *cp, 0 at the end, -1 for an item that is no
 * integer. */
static int next_code(codes *c, int64_t *cp)
{
	const molt_term *t = c->t;
	uint32_t u;

	if (t->kind == MOLT_TERM_STRING) {
		if (c->i >= t->u.str.len)
			return 0;
		c->i += utf8_decode((const unsigned char *)t->u.str.s + c->i,
				    t->u.str.len - c->i, &u);
		*cp = u;
		return 1;
	}
	if (c->i >= t->u.seq.n)
		return 0;
	t = t->u.seq.items[c->i++];
	if (t->kind != MOLT_TERM_INT)
		return -1;
	*cp = t->u.i;
	return 1;
}

int molt_term_next_code(const molt_term *t, size_t *i, int64_t *code)
{
	codes c = {t, *i};
	int rc = next_code(&c, code);

	*i = c.i;
	return rc;
}

static int is_char_code(int64_t c)
{
	return c >= 0 && c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff);
}

/* io_lib:printable_unicode_list, one character. */
static int is_printable_code(int64_t c)
{
	return (c >= 0x20 && c <= 0x7e) || (c >= 8 && c <= 13) || c == 27 ||
	       (c >= 0xa0 && c < 0xd800) || (c > 0xdfff && c < 0xfffe) ||
	       (c > 0xffff && c <= 0x10ffff);
}

int molt_term_is_string(const molt_term *t)
{
	codes c = {t, 0};
	int64_t cp;
	int rc;

	if (t->kind == MOLT_TERM_STRING)
		return 1;
	if (t->kind != MOLT_TERM_LIST)
		return 0;
	while ((rc = next_code(&c, &cp)) == 1)
		if (!is_char_code(cp))
			return 0;
	return rc == 0;
}

int molt_term_is_printable(const molt_term *t)
{
	codes c = {t, 0};
	int64_t cp;
	int rc;

	if (molt_term_list_len(t) == 0)
		return 0;
	while ((rc = next_code(&c, &cp)) == 1)
		if (!is_printable_code(cp))
			return 0;
	return rc == 0;
}

int molt_term_put_string(molt_buf *out, const molt_term *t)
{
	codes c = {t, 0};
	int64_t cp;
	int rc;

	if (!molt_term_is_string(t))
		return MOLT_EINVAL;
	if (t->kind == MOLT_TERM_STRING)
		return molt_buf_put(out, t->u.str.s, t->u.str.len);
	while ((rc = next_code(&c, &cp)) == 1)
		if ((rc = molt_buf_put_utf8(out, (uint32_t)cp)) < 0)
			return rc;
	return rc;
}

int molt_term_to_string(const molt_term **out, molt_arena *a,
			const molt_term *t)
{
	molt_buf text = MOLT_BUF_INIT;
	molt_term *s;
	int rc;

	*out = NULL;
	if (t->kind == MOLT_TERM_STRING) {
		*out = t;
		return 1;
	}
	if (!molt_term_is_string(t))
		return 0;
	if ((rc = molt_term_put_string(&text, t)) < 0) {
		molt_buf_release(&text);
		return rc;
	}
	s = molt_term_text(a, MOLT_TERM_STRING, text.ptr, text.len);
	molt_buf_release(&text);
	if (!s)
		return MOLT_ENOMEM;
	s->pos = t->pos;
	*out = s;
	return 1;
}

int molt_term_is_tagged(const molt_term *t, const char *tag, size_t n)
{
	return t && t->kind == MOLT_TERM_TUPLE && t->u.seq.n == n && n > 0 &&
	       molt_term_is_atom(t->u.seq.items[0], tag);
}

/* Compare a string with a list character by character. */
static int string_equals_list(const molt_term *s, const molt_term *l)
{
	codes a = {s, 0}, b = {l, 0};
	int64_t ca, cb;
	int ra, rb;

	do {
		ra = next_code(&a, &ca);
		rb = next_code(&b, &cb);
		if (ra != rb || (ra == 1 && ca != cb))
			return 0;
	} while (ra == 1);
	return 1;
}

int molt_term_equal(const molt_term *a, const molt_term *b)
{
	size_t i;

	if (a == b)
		return 1;
	if (a->kind == MOLT_TERM_STRING && b->kind == MOLT_TERM_LIST)
		return string_equals_list(a, b);
	if (a->kind == MOLT_TERM_LIST && b->kind == MOLT_TERM_STRING)
		return string_equals_list(b, a);
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case MOLT_TERM_INT:
		return a->u.i == b->u.i;
	case MOLT_TERM_FLOAT:
		return a->u.f == b->u.f;
	case MOLT_TERM_ATOM:
	case MOLT_TERM_STRING:
	case MOLT_TERM_BINARY:
		return a->u.str.len == b->u.str.len &&
		       memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	case MOLT_TERM_TUPLE:
	case MOLT_TERM_LIST:
		if (a->u.seq.n != b->u.seq.n)
			return 0;
		for (i = 0; i < a->u.seq.n; i++)
			if (!molt_term_equal(a->u.seq.items[i],
					     b->u.seq.items[i]))
				return 0;
		return 1;
	}
	return 0;
}

static const char *const reserved[] = {
	"after", "and",	 "andalso", "band",   "begin",	 "bnot",
	"bor",	 "bsl",	 "bsr",	    "bxor",   "case",	 "catch",
	"cond",	 "div",	 "end",	    "fun",    "if",	 "let",
	"not",	 "of",	 "or",	    "orelse", "receive", "rem",
	"try",	 "when", "xor",	    "maybe",  "else",
};

static int atom_needs_quotes(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] < 'a' || s[0] > 'z')
		return 1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '@'))
			return 1;
	}
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcmp(s, reserved[i]) == 0)
			return 1;
	return 0;
}

static int print_quoted(molt_buf *out, const char *s, size_t len, char q)
{
	size_t i;
	int rc = molt_buf_putc(out, q);

	for (i = 0; rc == 0 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == (unsigned char)q || c == '\\')
			rc = molt_buf_printf(out, "\\%c", c);
		else if (c == '\n')
			rc = molt_buf_puts(out, "\\n");
		else if (c == '\t')
			rc = molt_buf_puts(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			rc = molt_buf_printf(out, "\\%03o", c);
		else
			rc = molt_buf_putc(out, (char)c);
	}
	return rc ? rc : molt_buf_putc(out, q);
}

static int print_float(molt_buf *out, double f)
{
	char tmp[64];
	char *e;

	snprintf(tmp, sizeof(tmp), "%.17g", f);
	if (strchr(tmp, '.') || strstr(tmp, "inf") || strstr(tmp, "nan"))
		return molt_buf_puts(out, tmp);
	e = strchr(tmp, 'e');
	if (!e)
		return molt_buf_printf(out, "%s.0", tmp);
	return molt_buf_printf(out, "%.*s.0%s", (int)(e - tmp), tmp, e);
}

static int print_seq(molt_buf *out, const molt_term *t, char open, char close)
{
	size_t i;
	int rc = molt_buf_putc(out, open);

	for (i = 0; rc == 0 && i < t->u.seq.n; i++) {
		if (i)
			rc = molt_buf_putc(out, ',');
		if (rc == 0)
			rc = molt_term_print(out, t->u.seq.items[i]);
	}
	return rc ? rc : molt_buf_putc(out, close);
}

/* A string or list: "..." when printable (as ~p), else [...]. */
static int print_list(molt_buf *out, const molt_term *t)
{
	molt_buf text = MOLT_BUF_INIT;
	codes c = {t, 0};
	int64_t cp;
	size_t n;
	int rc;

	if (t->kind == MOLT_TERM_STRING && molt_term_is_printable(t))
		return print_quoted(out, t->u.str.s, t->u.str.len, '"');
	if (t->kind == MOLT_TERM_LIST && !molt_term_is_printable(t))
		return print_seq(out, t, '[', ']');
	if (t->kind == MOLT_TERM_LIST) { /* character codes: as a string */
		rc = molt_term_put_string(&text, t);
		if (rc == 0)
			rc = print_quoted(out, text.ptr, text.len, '"');
		molt_buf_release(&text);
		return rc;
	}
	/* a string with a character ~p would not print: its codes */
	rc = molt_buf_putc(out, '[');
	for (n = 0; rc == 0 && next_code(&c, &cp) == 1; n++)
		rc = molt_buf_printf(out, "%s%lld", n ? "," : "",
				     (long long)cp);
	return rc ? rc : molt_buf_putc(out, ']');
}

int molt_term_print(molt_buf *out, const molt_term *t)
{
	int rc;

	switch (t->kind) {
	case MOLT_TERM_ATOM:
		if (!atom_needs_quotes(t->u.str.s, t->u.str.len))
			return molt_buf_put(out, t->u.str.s, t->u.str.len);
		return print_quoted(out, t->u.str.s, t->u.str.len, '\'');
	case MOLT_TERM_INT:
		return molt_buf_printf(out, "%lld", (long long)t->u.i);
	case MOLT_TERM_FLOAT:
		return print_float(out, t->u.f);
	case MOLT_TERM_STRING:
		return print_list(out, t);
	case MOLT_TERM_BINARY:
		if ((rc = molt_buf_puts(out, "<<")) < 0)
			return rc;
		if (t->u.str.len &&
		    (rc = print_quoted(out, t->u.str.s, t->u.str.len, '"')) < 0)
			return rc;
		return molt_buf_puts(out, ">>");
	case MOLT_TERM_TUPLE:
		return print_seq(out, t, '{', '}');
	case MOLT_TERM_LIST:
		return print_list(out, t);
	}
	return MOLT_EINVAL;
}

const char *molt_pos_format(char *buf, size_t n, molt_pos pos)
{
	const char *file = pos.file ? pos.file : "?";

	if (pos.line == 0)
		snprintf(buf, n, "%s", file);
	else
		snprintf(buf, n, "%s:%u:%u", file, pos.line, pos.col);
	return buf;
}
