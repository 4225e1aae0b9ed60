/* Joining load_object_code instructions (systools_rc
 * merge_load_object_code). */
#include <string.h>

#include "rc.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

static molt_term *el(const molt_term *t, size_t i)
{
	return t->u.seq.items[i - 1];
}

/* ---- merge_load_object_code ---- */

/* A set of atoms (module names), open addressing over a power of two. */
typedef struct atom_set {
	const molt_term **slot; /* NULL or a member */
	size_t size;		/* number of slots */
} atom_set;

static int set_init(rc_ctx *c, atom_set *s, size_t n)
{
	for (s->size = 16; s->size < 2 * n + 2;)
		s->size *= 2;
	s->slot = molt_arena_alloc(c->tmp, s->size * sizeof(*s->slot));
	return s->slot ? 0 : molt__rc_oom(c);
}

/* 1 if t is in s; with add, put it in. */
static int set_has(atom_set *s, const molt_term *t, int add)
{
	size_t h = molt__rc_hash_atom(t) & (s->size - 1);

	while (s->slot[h]) {
		if (molt_term_equal(s->slot[h], t))
			return 1;
		h = (h + 1) & (s->size - 1);
	}
	if (add)
		s->slot[h] = t;
	return 0;
}

static int conflicting(rc_ctx *c, const molt_term *first,
		       const molt_term *other)
{
	molt_term *lib = el(el(first, 2), 1);
	molt_term *v1 = el(el(first, 2), 2), *v2 = el(el(other, 2), 2);
	molt_term *r = molt_term_tuple(
		c->out, 4, molt__rc_atom(c, "conflicting_versions", other->pos),
		lib, v1, v2);
	molt_buf b1 = MOLT_BUF_INIT;
	int rc;

	molt_term_print(&b1, v1);
	rc = molt__rc_fail(c, other->pos, r,
			   "conflicting versions for %s: %s and %s",
			   molt__rc_name(lib), b1.ptr, molt__rc_name(v2));
	molt_buf_release(&b1);
	return rc;
}

/*
 * The modules of the same-application lists, merged as OTP's foldr of
 * union/2: each list, from the last to the first, contributes its members
 * not already taken (its own duplicates kept), in front of the others.
 */
static int merge_mods(rc_ctx *c, const vec *same, vec *out)
{
	vec parts = VEC_INIT, seg;
	size_t i, k, total = 0, *bounds;
	atom_set set;
	int rc;

	for (i = 0; i < same->n; i++)
		total += molt_term_list_len(el(el(same->v[i], 2), 3));
	bounds = molt_arena_alloc(c->tmp, (same->n + 1) * sizeof(size_t));
	if (!bounds || (rc = set_init(c, &set, total)) < 0)
		return molt__rc_oom(c);
	for (i = same->n; i-- > 0;) {
		seg = (vec)VEC_INIT;
		if ((rc = molt__vec_from_list(c, &seg,
					      el(el(same->v[i], 2), 3))) < 0)
			return rc;
		bounds[i] = parts.n;
		for (k = 0; k < seg.n; k++)
			if (!set_has(&set, seg.v[k], 0) &&
			    (rc = molt__vec_push(c, &parts, seg.v[k])) < 0)
				return rc;
		for (k = 0; k < seg.n; k++)
			set_has(&set, seg.v[k], 1);
	}
	/* parts holds the last list's share first: emit the shares in list
	 * order */
	for (i = 0; i < same->n; i++) {
		size_t end = i == 0 ? parts.n : bounds[i - 1];

		for (k = bounds[i]; k < end; k++)
			if ((rc = molt__vec_push(c, out, parts.v[k])) < 0)
				return rc;
	}
	return 0;
}

static int mlo_one(rc_ctx *c, vec *locs, size_t first, vec *out)
{
	molt_term *f = locs->v[first], *lib = el(el(f, 2), 1),
		  *vsn = el(el(f, 2), 2);
	vec same = VEC_INIT, mods = VEC_INIT;
	size_t i;
	int rc;

	/* OTP's split/2 tests the last element first */
	for (i = locs->n; i-- > first + 1;) {
		molt_term *o = locs->v[i];

		if (!o || !molt_term_equal(el(el(o, 2), 1), lib))
			continue;
		if (!molt_term_equal(el(el(o, 2), 2), vsn))
			return conflicting(c, f, o);
	}
	for (i = first; i < locs->n; i++) {
		molt_term *o = locs->v[i];

		if (!o || !molt_term_equal(el(el(o, 2), 1), lib))
			continue;
		if ((rc = molt__vec_push(c, &same, o)) < 0)
			return rc;
		locs->v[i] = NULL;
	}
	if ((rc = merge_mods(c, &same, &mods)) < 0)
		return rc;
	return molt__vec_push(
		c, out,
		molt_term_tuple(c->out, 2, el(f, 1),
				molt_term_tuple(c->out, 3, lib, vsn,
						molt__vec_to_list(c, &mods))));
}

int molt__rc_merge_loc(rc_ctx *c, const vec *before, vec *out)
{
	vec locs = VEC_INIT;
	size_t i;
	int rc;

	for (i = 0; i < before->n; i++)
		if (molt_term_is_tagged(before->v[i], "load_object_code", 2) &&
		    (rc = molt__vec_push(c, &locs, before->v[i])) < 0)
			return rc;
	for (i = 0; i < locs.n; i++)
		if (locs.v[i] && (rc = mlo_one(c, &locs, i, out)) < 0)
			return rc;
	for (i = 0; i < before->n; i++)
		if (!molt_term_is_tagged(before->v[i], "load_object_code", 2) &&
		    (rc = molt__vec_push(c, out, before->v[i])) < 0)
			return rc;
	return 0;
}
