/* Erlang-style terms with source positions: the data model of appups. */
#ifndef MOLT_TERM_H
#define MOLT_TERM_H

#include <stddef.h>
#include <stdint.h>

#include "molt/buf.h"
#include "molt/common.h"

/*
 * Invariants: every term lives in one molt_arena and is freed with it;
 * terms are never modified once built (functions that "change" a term
 * build a new one, sharing children). A string is kept as text but is a
 * list of character codes for every Erlang-level question (is it a list,
 * are two terms equal): "" and [] are the same term.
 */

/* All memory of a set of terms; freed at once. */
typedef struct molt_arena molt_arena;

typedef enum molt_term_kind {
	MOLT_TERM_ATOM,	  /* foo, 'Foo bar' */
	MOLT_TERM_INT,	  /* 42, -7, 16#ff, $a */
	MOLT_TERM_FLOAT,  /* 1.5, 2.0e3 */
	MOLT_TERM_STRING, /* "text": a list of character codes */
	MOLT_TERM_BINARY, /* <<"text">>, <<1,2>> */
	MOLT_TERM_TUPLE,  /* {a, b} */
	MOLT_TERM_LIST,	  /* [a, b] (proper lists only) */
} molt_term_kind;

/* Where a term starts in its source; line and col are 1-based, 0 if none. */
typedef struct molt_pos {
	const char *file; /* arena-owned file name, or NULL */
	unsigned line;	  /* 1-based line */
	unsigned col;	  /* 1-based column, in bytes */
} molt_pos;

typedef struct molt_term molt_term;
struct molt_term {
	molt_term_kind kind; /* which member of u is valid */
	molt_pos pos;	     /* where it was read; zero for built terms */
	union {
		int64_t i; /* MOLT_TERM_INT */
		double f;  /* MOLT_TERM_FLOAT */
		struct {
			const char *s; /* NUL-terminated; may hold NULs */
			size_t len;    /* bytes, without the final NUL */
		} str;		       /* ATOM, STRING, BINARY */
		struct {
			molt_term **items; /* n children */
			size_t n;	   /* number of children */
		} seq;			   /* TUPLE, LIST */
	} u;
};

/* A new, empty arena; NULL when out of memory. Free with molt_arena_free. */
MOLT_API molt_arena *molt_arena_new(void);
/* Free the arena and every term and string in it. NULL is a no-op. */
MOLT_API void molt_arena_free(molt_arena *a);
/* n bytes (zeroed) from the arena, valid until it is freed; NULL if OOM. */
MOLT_API void *molt_arena_alloc(molt_arena *a, size_t n);
/* A copy of s (len bytes) in the arena, NUL-terminated; NULL if OOM. */
MOLT_API char *molt_arena_strndup(molt_arena *a, const char *s, size_t len);

/*
 * Constructors. Each returns a term owned by the arena, or NULL when out of
 * memory. Strings are copied; children are shared (not copied).
 */
MOLT_API molt_term *molt_term_atom(molt_arena *a, const char *name);
MOLT_API molt_term *molt_term_int(molt_arena *a, int64_t v);
MOLT_API molt_term *molt_term_float(molt_arena *a, double v);
MOLT_API molt_term *molt_term_string(molt_arena *a, const char *s);
MOLT_API molt_term *molt_term_text(molt_arena *a, molt_term_kind kind,
				   const char *s, size_t len);
/* A tuple or list of n children; items is copied, may be NULL if n == 0. */
MOLT_API molt_term *molt_term_seq(molt_arena *a, molt_term_kind kind,
				  molt_term *const *items, size_t n);
/* A tuple of n children given as arguments. */
MOLT_API molt_term *molt_term_tuple(molt_arena *a, size_t n, ...);

/* 1 if t is the atom name. */
MOLT_API int molt_term_is_atom(const molt_term *t, const char *name);
/* 1 if t is a list for Erlang: a list or a string. */
MOLT_API int molt_term_is_list(const molt_term *t);
/* Length of a list or string (in elements); 0 for anything else. */
MOLT_API size_t molt_term_list_len(const molt_term *t);
/*
 * Element i of a list or string. For a string it is an integer term built
 * in the arena a (NULL if out of memory).
 */
MOLT_API molt_term *molt_term_list_at(molt_arena *a, const molt_term *t,
				      size_t i);
/*
 * 1 if t is a string for Erlang: a string, or a proper list (maybe empty:
 * "" is []) of integers that are character codes (0..16#10ffff, not the
 * surrogates 16#d800..16#dfff), as io:format("~w") writes "1.0":
 * [49,46,48]. 0 otherwise.
 */
MOLT_API int molt_term_is_string(const molt_term *t);
/*
 * t as a string term, for a place where Erlang expects a string (a
 * version): t itself when it is a string term, else, for a list of
 * character codes, a new string term in a holding them as UTF-8, with t's
 * position. Returns 1 with *out; 0 when t is not a string
 * (molt_term_is_string), *out NULL; MOLT_ENOMEM.
 */
MOLT_API int molt_term_to_string(const molt_term **out, molt_arena *a,
				 const molt_term *t);
/*
 * Append the text of the string t (molt_term_is_string) to out: a string
 * term's bytes, a list's codes as UTF-8. MOLT_EINVAL if t is no string.
 */
MOLT_API int molt_term_put_string(molt_buf *out, const molt_term *t);
/*
 * The next character code of a string or list term t, from position *i
 * (0 at first; bytes of a string, which decode as UTF-8 where valid,
 * items of a list), into *code. Returns 1, 0 at the end, -1 for a list
 * item that is no integer.
 */
MOLT_API int molt_term_next_code(const molt_term *t, size_t *i, int64_t *code);
/*
 * 1 if t is a non-empty list of printable characters, a string or a list
 * of codes (Erlang's io_lib:printable_unicode_list): what molt_term_print
 * and the JSON forms write as a string, as io:format("~p") does, so that
 * "ab" and [97,98] give the same text. "" and [] are written [], "\001"
 * as [1].
 */
MOLT_API int molt_term_is_printable(const molt_term *t);

/* 1 if t is a tuple of n elements whose first is the atom tag. */
MOLT_API int molt_term_is_tagged(const molt_term *t, const char *tag, size_t n);

/*
 * Erlang's =:= (positions are ignored; "ab" equals [97,98], and a
 * string's UTF-8 is its character codes: "\xc3\xa9" equals [233]).
 */
MOLT_API int molt_term_equal(const molt_term *a, const molt_term *b);

/*
 * Append t in Erlang syntax to out, as io:format("~w") would but with
 * printable lists (molt_term_is_printable) printed as "...", as ~p does,
 * so that "ab" and [97,98] print alike, and atoms quoted when needed, so
 * that file:consult/1 reads it back as the same term.
 */
MOLT_API int molt_term_print(molt_buf *out, const molt_term *t);

/* Options for reading Erlang term syntax. */
typedef struct molt_parse_opts {
	const char *file; /* name used in positions and messages */
	const char *vsn;  /* value for "%VSN%" in strings and variable VSN */
	int all_terms;	  /* read every term, not only the first */
	int placeholders; /* 1: report an unsubstituted %NAME% as an error */
} molt_parse_opts;

#define MOLT_PARSE_OPTS_INIT                                                   \
	{                                                                      \
		NULL, NULL, 0, 0                                               \
	}

/*
 * Read Erlang terms, each ending with a dot, from text (len bytes). The
 * subset: tuples, proper lists, atoms (quoted too), strings, binaries of
 * strings and bytes, integers (with base#digits and $c), floats, %
 * comments, and the variable VSN (when opts->vsn is set). Returns in out
 * an arena-owned list term holding the terms read (only the first one
 * unless opts->all_terms; a file with no term is an error). On error
 * returns MOLT_EPARSE with "file:line:col: expected ..." in err.
 */
MOLT_API int molt_term_parse(molt_term **out, molt_arena *a, const char *text,
			     size_t len, const molt_parse_opts *opts,
			     molt_err *err);

/* "file:line:col" of pos into buf (size n); "?" parts when unknown. */
MOLT_API const char *molt_pos_format(char *buf, size_t n, molt_pos pos);

#endif
