/* Internal to the translator: its context, vectors and steps. */
#ifndef MOLT_APPUP_RC_H
#define MOLT_APPUP_RC_H

#include "molt/appup.h"

/* A growable array of terms in the context's tmp arena. */
typedef struct vec {
	molt_term **v; /* items */
	size_t n;      /* used */
	size_t cap;    /* allocated */
} vec;

#define VEC_INIT                                                               \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

#define RC_COMMON_ATOMS 20

typedef struct rc_ctx {
	molt_arena *out;	  /* arena for output terms */
	molt_arena *tmp;	  /* arena for vectors; freed at the end */
	const molt_rc_opts *opts; /* mode and applications */
	molt_err *err;		  /* where the message goes */
	molt_term *reason;	  /* OTP's reason for the failure */
	vec groups;		  /* dependency order of each group */
	int check_only;		  /* no applications, no low-level output */
	int app_instrs; /* check_only: the script adds or restarts an app */
	long *modidx;	/* module -> app: hash of opts->apps */
	size_t modsize; /* slots in modidx (a power of two) */
	molt_term *common[RC_COMMON_ATOMS]; /* shared atoms (translate.c) */
} rc_ctx;

MOLT_PRINTF(4, 5)
int molt__rc_fail(rc_ctx *c, molt_pos pos, molt_term *reason, const char *fmt,
		  ...);
int molt__rc_oom(rc_ctx *c);
molt_term *molt__rc_atom(rc_ctx *c, const char *name, molt_pos pos);
/* A printable short form of t for messages (static buffer, truncated). */
const char *molt__rc_name(const molt_term *t);

int molt__vec_push(rc_ctx *c, vec *v, molt_term *t);
int molt__vec_append(rc_ctx *c, vec *v, const vec *w);
int molt__vec_from_list(rc_ctx *c, vec *v, const molt_term *list);
molt_term *molt__vec_to_list(rc_ctx *c, const vec *v);
int molt__vec_member(const vec *v, const molt_term *t);

/* check_syntax: value domains of every instruction (check_op). */
int molt__rc_check_syntax(rc_ctx *c, const vec *script);
/* check_op for one instruction. */
int molt__rc_check_op(rc_ctx *c, const molt_term *ins);
/* djb2 hash of an atom's name. */
size_t molt__rc_hash_atom(const molt_term *t);
/* translate_application_instrs. */
int molt__rc_application_instrs(rc_ctx *c, const vec *after, vec *out);
/* translate_dependent_instrs. */
int molt__rc_dependent_instrs(rc_ctx *c, const vec *before, const vec *after,
			      vec *before_out, vec *after_out);
/* merge_load_object_code. */
int molt__rc_merge_loc(rc_ctx *c, const vec *before, vec *out);

/*
 * Check one instruction list on its own (molt appup check): syntax,
 * placement, pairing, DepMods; no application lookups. groups as in
 * molt_rc_translate.
 */
int molt__rc_check(molt_arena *a, const molt_term *instrs, molt_term **groups,
		   molt_err *err);

#endif
