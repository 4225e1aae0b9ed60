/* High-level -> low-level translation, step for step as systools_rc. */
#include <stdio.h>
#include <string.h>

#include "molt/appup.h"

#include "rc.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

/* The failure of a step: OTP's reason term and a message. */
int molt__rc_fail(rc_ctx *c, molt_pos pos, molt_term *reason, const char *fmt,
		  ...)
{
	char where[200], msg[220];
	va_list ap;

	c->reason = reason;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pos.line)
		return molt_err_set(c->err, MOLT_EPARSE, "%s: %s",
				    molt_pos_format(where, sizeof(where), pos),
				    msg);
	return molt_err_set(c->err, MOLT_EPARSE, "%s", msg);
}

int molt__rc_oom(rc_ctx *c)
{
	return molt_err_set(c->err, MOLT_ENOMEM, "out of memory translating");
}

int molt__vec_push(rc_ctx *c, vec *v, molt_term *t)
{
	if (!t)
		return molt__rc_oom(c);
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		molt_term **items =
			molt_arena_alloc(c->tmp, cap * sizeof(*items));

		if (!items)
			return molt__rc_oom(c);
		if (v->n)
			memcpy(items, v->v, v->n * sizeof(*items));
		v->v = items;
		v->cap = cap;
	}
	v->v[v->n++] = t;
	return 0;
}

int molt__vec_append(rc_ctx *c, vec *v, const vec *w)
{
	size_t i;
	int rc;

	for (i = 0; i < w->n; i++)
		if ((rc = molt__vec_push(c, v, w->v[i])) < 0)
			return rc;
	return 0;
}

/* Elements of a list term into a vec (strings give integers). */
int molt__vec_from_list(rc_ctx *c, vec *v, const molt_term *list)
{
	size_t i, n = molt_term_list_len(list);
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = molt__vec_push(
			     c, v, molt_term_list_at(c->out, list, i))) < 0)
			return rc;
	return 0;
}

molt_term *molt__vec_to_list(rc_ctx *c, const vec *v)
{
	return molt_term_seq(c->out, MOLT_TERM_LIST, v->v, v->n);
}

int molt__vec_member(const vec *v, const molt_term *t)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (molt_term_equal(v->v[i], t))
			return 1;
	return 0;
}

/* Erlang's element(i, t), 1-based, for a tuple known to be long enough. */
static molt_term *el(const molt_term *t, size_t i)
{
	return t->u.seq.items[i - 1];
}

/* Atoms the translator makes over and over: built once per run. */
static const char *const common_atoms[RC_COMMON_ATOMS] = {
	"brutal_purge", "soft",
	"dynamic",	"default",
	"static",	"advanced",
	"load",		"remove",
	"purge",	"suspend",
	"resume",	"up",
	"down",		"load_object_code",
	"permanent",	"apply",
	"application",	"add_module",
	"load_module",	"code_change",
};

molt_term *molt__rc_atom(rc_ctx *c, const char *name, molt_pos pos)
{
	molt_term *t;
	size_t i;

	for (i = 0; i < RC_COMMON_ATOMS; i++) {
		if (name[0] != common_atoms[i][0] ||
		    strcmp(name, common_atoms[i]) != 0)
			continue;
		if (!c->common[i] &&
		    (c->common[i] = molt_term_atom(c->out, name)))
			c->common[i]->pos = pos;
		return c->common[i];
	}
	t = molt_term_atom(c->out, name);
	if (t)
		t->pos = pos;
	return t;
}

static molt_term *tuple_at(rc_ctx *c, molt_pos pos, molt_term *const *items,
			   size_t n)
{
	size_t i;
	molt_term *t;

	for (i = 0; i < n; i++)
		if (!items[i])
			return NULL;
	t = molt_term_seq(c->out, MOLT_TERM_TUPLE, items, n);
	if (t)
		t->pos = pos;
	return t;
}

static molt_term *empty_list(rc_ctx *c, molt_pos pos)
{
	molt_term *t = molt_term_seq(c->out, MOLT_TERM_LIST, NULL, 0);

	if (t)
		t->pos = pos;
	return t;
}

/* expand_script: the shorthand forms of one instruction, or NULL (none). */
static molt_term *expand_one(rc_ctx *c, const molt_term *i)
{
	molt_pos p = i->pos;
	size_t n = i->kind == MOLT_TERM_TUPLE ? i->u.seq.n : 0;
	molt_term *bp = molt__rc_atom(c, "brutal_purge", p);

	if (!bp)
		return NULL;
	if (molt_term_is_tagged(i, "load_module", 2) ||
	    (molt_term_is_tagged(i, "load_module", 3) &&
	     molt_term_is_list(el(i, 3)))) {
		molt_term *v[] = {el(i, 1), el(i, 2), bp, bp,
				  n == 3 ? el(i, 3) : empty_list(c, p)};
		return tuple_at(c, p, v, 5);
	}
	if (molt_term_is_tagged(i, "update", 2)) {
		molt_term *v[] = {
			el(i, 1), el(i, 2), molt__rc_atom(c, "soft", p),
			bp,	  bp,	    empty_list(c, p)};
		return tuple_at(c, p, v, 6);
	}
	if (molt_term_is_tagged(i, "update", 3)) {
		molt_term *x = el(i, 3);

		if (molt_term_is_atom(x, "supervisor")) {
			molt_term *adv[] = {molt__rc_atom(c, "advanced", p),
					    empty_list(c, p)};
			molt_term *v[] = {el(i, 1),
					  el(i, 2),
					  molt__rc_atom(c, "static", p),
					  molt__rc_atom(c, "default", p),
					  tuple_at(c, p, adv, 2),
					  bp,
					  bp,
					  empty_list(c, p)};
			return tuple_at(c, p, v, 8);
		}
		if (x->kind == MOLT_TERM_TUPLE ||
		    molt_term_is_atom(x, "soft")) {
			molt_term *v[] = {el(i, 1), el(i, 2), x,
					  bp,	    bp,	      empty_list(c, p)};
			return tuple_at(c, p, v, 6);
		}
		if (molt_term_is_list(x)) {
			molt_term *v[] = {
				el(i, 1), el(i, 2), molt__rc_atom(c, "soft", p),
				bp,	  bp,	    x};
			return tuple_at(c, p, v, 6);
		}
		return NULL;
	}
	if (molt_term_is_tagged(i, "update", 4) &&
	    (el(i, 3)->kind == MOLT_TERM_TUPLE ||
	     molt_term_is_atom(el(i, 3), "soft")) &&
	    molt_term_is_list(el(i, 4))) {
		molt_term *v[] = {el(i, 1), el(i, 2), el(i, 3),
				  bp,	    bp,	      el(i, 4)};
		return tuple_at(c, p, v, 6);
	}
	if (molt_term_is_tagged(i, "add_application", 2)) {
		molt_term *v[] = {el(i, 1), el(i, 2),
				  molt__rc_atom(c, "permanent", p)};
		return tuple_at(c, p, v, 3);
	}
	return NULL;
}

static int expand_script(rc_ctx *c, vec *out, const molt_term *script)
{
	size_t k, n = molt_term_list_len(script);
	int rc;

	for (k = 0; k < n; k++) {
		molt_term *i = molt_term_list_at(c->out, script, k), *i2;

		if (!i)
			return molt__rc_oom(c);
		i2 = expand_one(c, i);
		if (!i2)
			i2 = i;
		if (molt_term_is_list(i2))
			rc = molt__vec_from_list(c, out, i2);
		else
			rc = molt__vec_push(c, out, i2);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int is_ponr(const molt_term *t)
{
	return molt_term_is_atom(t, "point_of_no_return");
}

/* split_script: Before (loc/apply only, plus every loc) and After. */
static int split_script(rc_ctx *c, const vec *script, vec *before, vec *after)
{
	size_t i, ponr = script->n, k;
	molt_term *r;
	int rc;

	for (i = 0; i < script->n; i++)
		if (is_ponr(script->v[i]))
			break;
	if (i < script->n) {
		ponr = i;
		for (k = i + 1; k < script->n; k++) {
			if (is_ponr(script->v[k])) {
				r = molt__rc_atom(c,
						  "too_many_point_of_no_return",
						  script->v[k]->pos);
				return molt__rc_fail(
					c, script->v[k]->pos, r,
					"more than one point_of_no_return");
			}
		}
	}
	for (i = 0; ponr < script->n && i < ponr; i++) {
		molt_term *ins = script->v[i];

		if (!molt_term_is_tagged(ins, "load_object_code", 2) &&
		    !molt_term_is_tagged(ins, "apply", 2)) {
			r = molt_term_tuple(
				c->out, 2,
				molt__rc_atom(
					c, "bad_op_before_point_of_no_return",
					ins->pos),
				ins);
			return molt__rc_fail(c, ins->pos, r,
					     "instruction before "
					     "point_of_no_return: only "
					     "load_object_code and apply may "
					     "come before it");
		}
		if ((rc = molt__vec_push(c, before, ins)) < 0)
			return rc;
	}
	for (i = ponr < script->n ? ponr + 1 : 0; i < script->n; i++) {
		molt_term *ins = script->v[i];
		int loc = molt_term_is_tagged(ins, "load_object_code", 2);

		if ((rc = molt__vec_push(c, loc ? before : after, ins)) < 0)
			return rc;
	}
	return 0;
}

static int merge_scripts(rc_ctx *c, const molt_term *const *scripts, size_t n,
			 vec *merged)
{
	vec before = VEC_INIT, after = VEC_INIT, one;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		one = (vec)VEC_INIT;
		if ((rc = expand_script(c, &one, scripts[i])) < 0)
			return rc;
		if ((rc = split_script(c, &one, &before, &after)) < 0)
			return rc;
	}
	if ((rc = molt__vec_append(c, merged, &before)) < 0 ||
	    (rc = molt__vec_push(c, merged,
				 molt__rc_atom(c, "point_of_no_return",
					       (molt_pos){0}))) < 0)
		return rc;
	return molt__vec_append(c, merged, &after);
}

/* normalize_instrs for one instruction. */
static molt_term *normalize(rc_ctx *c, molt_term *i)
{
	molt_pos p = i->pos;

	if (molt_term_is_tagged(i, "update", 6)) {
		molt_term *v[] = {el(i, 1),
				  el(i, 2),
				  molt__rc_atom(c, "dynamic", p),
				  molt__rc_atom(c, "default", p),
				  el(i, 3),
				  el(i, 4),
				  el(i, 5),
				  el(i, 6)};
		return tuple_at(c, p, v, 8);
	}
	if (molt_term_is_tagged(i, "update", 7)) {
		molt_term *v[] = {
			el(i, 1), el(i, 2), molt__rc_atom(c, "dynamic", p),
			el(i, 3), el(i, 4), el(i, 5),
			el(i, 6), el(i, 7)};
		return tuple_at(c, p, v, 8);
	}
	if (molt_term_is_tagged(i, "add_module", 2) ||
	    molt_term_is_tagged(i, "delete_module", 2)) {
		molt_term *v[] = {el(i, 1), el(i, 2), empty_list(c, p)};
		return tuple_at(c, p, v, 3);
	}
	return i;
}

static int normalize_all(rc_ctx *c, vec *script)
{
	size_t i;

	for (i = 0; i < script->n; i++) {
		script->v[i] = normalize(c, script->v[i]);
		if (!script->v[i])
			return molt__rc_oom(c);
	}
	return 0;
}

/* check_load: each {load, {M,_,_}} needs a load_object_code naming M. */
static int check_load(rc_ctx *c, const vec *before, const vec *after)
{
	size_t i, k, j;

	for (i = 0; i < after->n; i++) {
		molt_term *ins = after->v[i], *m;
		int found = 0;

		if (!molt_term_is_tagged(ins, "load", 2) ||
		    el(ins, 2)->kind != MOLT_TERM_TUPLE ||
		    el(ins, 2)->u.seq.n != 3)
			continue;
		m = el(el(ins, 2), 1);
		for (k = 0; !found && k < before->n; k++) {
			const molt_term *loc = before->v[k], *mods;

			if (!molt_term_is_tagged(loc, "load_object_code", 2))
				continue;
			mods = el(el(loc, 2), 3);
			for (j = 0; j < molt_term_list_len(mods); j++)
				if (molt_term_equal(mods->u.seq.items[j], m))
					found = 1;
		}
		if (!found)
			return molt__rc_fail(
				c, m->pos,
				molt_term_tuple(c->out, 2,
						molt__rc_atom(c,
							      "no_object_code",
							      m->pos),
						m),
				"load of module %s without a load_object_code "
				"naming it",
				molt__rc_name(m));
	}
	return 0;
}

/* Flattened items of every {Tag, List} instruction (modules only). */
static int collect(rc_ctx *c, const vec *script, const char *tag, int third,
		   vec *out)
{
	size_t i, k, n;
	int rc;

	for (i = 0; i < script->n; i++) {
		const molt_term *ins = script->v[i], *l;

		if (third ? !molt_term_is_tagged(ins, tag, 3) &&
				    !molt_term_is_tagged(ins, tag, 2)
			  : !molt_term_is_tagged(ins, tag, 2))
			continue;
		l = el(ins, ins->u.seq.n);
		if (!molt_term_is_list(l))
			continue;
		n = molt_term_list_len(l);
		for (k = 0; k < n; k++) {
			molt_term *m = molt_term_list_at(c->out, l, k);

			if (m && m->kind == MOLT_TERM_TUPLE && m->u.seq.n == 2)
				m = el(m, 1);
			if ((rc = molt__vec_push(c, out, m)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Erlang's difference/2 of systools_rc: members of a not in b. */
static int difference(rc_ctx *c, const vec *a, const vec *b, vec *out)
{
	size_t i;
	int rc;

	for (i = 0; i < a->n; i++)
		if (!molt__vec_member(b, a->v[i]) &&
		    (rc = molt__vec_push(c, out, a->v[i])) < 0)
			return rc;
	return 0;
}

static int check_pair(rc_ctx *c, const vec *a, const vec *b, const char *tag,
		      const char *what)
{
	vec d = VEC_INIT;
	molt_term *list;
	int rc;

	if ((rc = difference(c, a, b, &d)) < 0)
		return rc;
	if (d.n == 0)
		return 0;
	list = molt__vec_to_list(c, &d);
	if (!list)
		return molt__rc_oom(c);
	return molt__rc_fail(c, d.v[0]->pos,
			     molt_term_tuple(c->out, 2,
					     molt__rc_atom(c, tag, d.v[0]->pos),
					     list),
			     "module %s %s", molt__rc_name(d.v[0]), what);
}

static int check_script(rc_ctx *c, const vec *before, const vec *after)
{
	vec sus = VEC_INIT, res = VEC_INIT, cc = VEC_INIT, start = VEC_INIT,
	    stop = VEC_INIT;
	int rc;

	if ((rc = check_load(c, before, after)) < 0)
		return rc;
	if ((rc = collect(c, after, "suspend", 0, &sus)) < 0 ||
	    (rc = collect(c, after, "resume", 0, &res)) < 0 ||
	    (rc = collect(c, after, "code_change", 1, &cc)) < 0 ||
	    (rc = collect(c, after, "start", 0, &start)) < 0 ||
	    (rc = collect(c, after, "stop", 0, &stop)) < 0)
		return rc;
	if ((rc = check_pair(c, &sus, &res, "suspended_not_resumed",
			     "is suspended but not resumed")) < 0 ||
	    (rc = check_pair(c, &res, &sus, "resumed_not_suspended",
			     "is resumed but not suspended")) < 0)
		return rc;
	if (!c->opts->otp_quirks &&
	    (rc = check_pair(c, &cc, &sus, "code_change_not_suspended",
			     "gets code_change but is not suspended")) < 0)
		return rc;
	if ((rc = check_pair(c, &start, &stop, "start_not_stop",
			     "is started but not stopped")) < 0)
		return rc;
	return check_pair(c, &stop, &start, "stop_not_start",
			  "is stopped but not started");
}

/* translate_add_module_instrs: add_module -> load_module, brutal. */
static int add_module_to_load(rc_ctx *c, vec *after)
{
	size_t i;

	for (i = 0; i < after->n; i++) {
		molt_term *ins = after->v[i];

		if (molt_term_is_tagged(ins, "add_module", 3)) {
			molt_pos p = ins->pos;
			molt_term *bp = molt__rc_atom(c, "brutal_purge", p);
			molt_term *v[] = {molt__rc_atom(c, "load_module", p),
					  el(ins, 2), bp, bp, el(ins, 3)};

			after->v[i] = tuple_at(c, p, v, 5);
			if (!after->v[i])
				return molt__rc_oom(c);
		}
	}
	return 0;
}

/* sort_emulator_restart. */
static int sort_restart(rc_ctx *c, vec *before, vec *after)
{
	vec a1 = VEC_INIT, a2 = VEC_INIT, b1 = VEC_INIT;
	size_t i, rne = 0, re = 0;
	int rc;

	for (i = 0; i < after->n; i++) {
		if (molt_term_is_atom(after->v[i], "restart_new_emulator"))
			rne++;
		else if ((rc = molt__vec_push(c, &a1, after->v[i])) < 0)
			return rc;
	}
	if (rne && c->opts->mode == MOLT_UP) {
		if ((rc = molt__vec_push(c, &b1,
					 molt__rc_atom(c,
						       "restart_new_emulator",
						       (molt_pos){0}))) < 0 ||
		    (rc = molt__vec_append(c, &b1, before)) < 0)
			return rc;
		*before = b1;
	} else if (rne &&
		   (rc = molt__vec_push(c, &a1,
					molt__rc_atom(c, "restart_emulator",
						      (molt_pos){0}))) < 0) {
		return rc;
	}
	for (i = 0; i < a1.n; i++) {
		if (molt_term_is_atom(a1.v[i], "restart_emulator"))
			re++;
		else if ((rc = molt__vec_push(c, &a2, a1.v[i])) < 0)
			return rc;
	}
	if (re && (rc = molt__vec_push(c, &a2,
				       molt__rc_atom(c, "restart_emulator",
						     (molt_pos){0}))) < 0)
		return rc;
	*after = re ? a2 : a1;
	return 0;
}

static int final_script(rc_ctx *c, vec *before, vec *after, molt_term **out)
{
	vec all = VEC_INIT;
	int rc;

	if ((rc = molt__vec_append(c, &all, before)) < 0 ||
	    (rc = molt__vec_push(c, &all,
				 molt__rc_atom(c, "point_of_no_return",
					       (molt_pos){0}))) < 0 ||
	    (rc = molt__vec_append(c, &all, after)) < 0)
		return rc;
	if ((rc = molt__rc_check_syntax(c, &all)) < 0)
		return rc;
	*out = molt__vec_to_list(c, &all);
	return *out ? 0 : molt__rc_oom(c);
}

static int translate_merged(rc_ctx *c, vec *merged, molt_term **out)
{
	vec before = VEC_INIT, after = VEC_INIT, after1 = VEC_INIT;
	vec before2 = VEC_INIT, after2 = VEC_INIT, before3 = VEC_INIT;
	int rc;

	if ((rc = molt__rc_check_syntax(c, merged)) < 0 ||
	    (rc = normalize_all(c, merged)) < 0 ||
	    (rc = split_script(c, merged, &before, &after)) < 0 ||
	    (rc = check_script(c, &before, &after)) < 0)
		return rc;
	if ((rc = molt__rc_application_instrs(c, &after, &after1)) < 0 ||
	    (rc = add_module_to_load(c, &after1)) < 0)
		return rc;
	if ((rc = molt__rc_dependent_instrs(c, &before, &after1, &before2,
					    &after2)) < 0)
		return rc;
	if ((rc = molt__rc_merge_loc(c, &before2, &before3)) < 0 ||
	    (rc = sort_restart(c, &before3, &after2)) < 0)
		return rc;
	return final_script(c, &before3, &after2, out);
}

int molt__rc_check(molt_arena *a, const molt_term *instrs, molt_term **groups,
		   molt_err *err)
{
	static const molt_rc_opts opts = MOLT_RC_OPTS_INIT;
	rc_ctx c;
	vec merged = VEC_INIT;
	molt_term *out;
	int rc;

	memset(&c, 0, sizeof(c));
	c.out = a;
	c.opts = &opts;
	c.err = err;
	c.check_only = 1;
	c.tmp = molt_arena_new();
	if (!c.tmp)
		return molt__rc_oom(&c);
	rc = merge_scripts(&c, &instrs, 1, &merged);
	if (rc == 0)
		rc = translate_merged(&c, &merged, &out);
	if (rc == 0) {
		*groups = molt__vec_to_list(&c, &c.groups);
		if (!*groups)
			rc = molt__rc_oom(&c);
	}
	molt_arena_free(c.tmp);
	return rc;
}

int molt_rc_translate(molt_term **out, molt_arena *a, const molt_rc_opts *opts,
		      const molt_term *const *scripts, size_t nscripts,
		      molt_term **reason, molt_term **groups, molt_err *err)
{
	rc_ctx c;
	vec merged = VEC_INIT;
	int rc;

	memset(&c, 0, sizeof(c));
	c.out = a;
	c.opts = opts;
	c.err = err;
	c.tmp = molt_arena_new();
	if (!c.tmp)
		return molt__rc_oom(&c);
	if (reason)
		*reason = NULL;
	rc = merge_scripts(&c, scripts, nscripts, &merged);
	if (rc == 0)
		rc = translate_merged(&c, &merged, out);
	if (groups && rc != MOLT_ENOMEM) {
		/* also on failure: the order chosen up to the failing step */
		*groups = molt__vec_to_list(&c, &c.groups);
		if (!*groups)
			rc = molt__rc_oom(&c);
	}
	if (rc < 0 && reason)
		*reason = c.reason;
	molt_arena_free(c.tmp);
	return rc;
}
