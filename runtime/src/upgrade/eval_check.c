/* The script evaluator's first phase: check each instruction and
 * everything that can fail without side effects. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "molt/common.h"
#include "molt/script.h"

#include "eval.h"
#include "upgrade.h"

#include "molt/banned.h"

/* --- errors --- */

MOLT_PRINTF(6, 7)
int molt__eval_err(eval *ev, size_t i, const char *module, molt_pid pid,
		   int code, const char *fmt, ...)
{
	molt_eval_report *r = ev->rep;
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->failed_index = (int)i;
	if (i < r->n_steps)
		snprintf(r->failed_instr, sizeof(r->failed_instr), "%s",
			 r->steps[i].name);
	snprintf(r->failed_module, sizeof(r->failed_module), "%s",
		 module ? module : "");
	r->failed_pid = pid;
	return molt_err_set(ev->err, code, "instruction %zu (%s): %s", i,
			    r->failed_instr, msg);
}

/* --- fields (the JSON parser checked their shapes; a script built in
 * C gets the same guarantees here) --- */

static int is_name(const char *s)
{
	return s && *s && strlen(s) < 64;
}

static int names_ok(const molt_ins *in)
{
	if (in->n_mods && !in->mods)
		return 0;
	for (size_t k = 0; k < in->n_mods; k++)
		if (!is_name(in->mods[k].name))
			return 0;
	return 1;
}

static int purge_ok(molt_purge_opt o)
{
	return o == MOLT_SOFT_PURGE || o == MOLT_BRUTAL_PURGE;
}

static int fields_ok(const molt_ins *in)
{
	switch (in->kind) {
	case MOLT_INS_LOAD_OBJECT_CODE:
		return is_name(in->app) && is_name(in->vsn) && names_ok(in);
	case MOLT_INS_LOAD:
	case MOLT_INS_REMOVE:
		return is_name(in->module) && purge_ok(in->pre_purge) &&
		       purge_ok(in->post_purge);
	case MOLT_INS_APPLY:
		return is_name(in->module) && is_name(in->fn);
	default:
		return names_ok(in);
	}
}

static void detail_add(molt_eval_step *s, const char *name)
{
	size_t len = strlen(s->detail);

	if (len + 2 < sizeof(s->detail))
		snprintf(s->detail + len, sizeof(s->detail) - len, "%s%s",
			 len ? "," : "", name);
}

/* --- load_object_code --- */

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int find_so(eval *ev, const char *app, const char *vsn, const char *mod,
		   char *out, size_t size)
{
	const char *const *sp = ev->o->search_path;

	for (; sp && *sp; sp++) {
		snprintf(out, size, "%s/%s-%s/%s.so", *sp, app, vsn, mod);
		if (file_exists(out))
			return 1;
		snprintf(out, size, "%s/%s.so", *sp, mod);
		if (file_exists(out))
			return 1;
	}
	if (!ev->o->lib_dir)
		return 0;
	/* an unpacked release keeps its modules in lib/APP-VSN/modules/ */
	snprintf(out, size, "%s/%s-%s/modules/%s.so", ev->o->lib_dir, app, vsn,
		 mod);
	if (file_exists(out))
		return 1;
	snprintf(out, size, "%s/%s-%s/%s.so", ev->o->lib_dir, app, vsn, mod);
	return file_exists(out);
}

staged *molt__eval_staged(eval *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_st; i++)
		if (strcmp(ev->st[i].name, name) == 0)
			return &ev->st[i];
	return NULL;
}

static int stage_one(eval *ev, size_t i, const char *app, const char *vsn,
		     const char *mod)
{
	char path[4096];
	molt_err e = MOLT_ERR_INIT;
	const char *sum = NULL;
	molt__version *v;

	if (molt__eval_staged(ev, mod))
		return molt__eval_err(ev, i, mod, 0, MOLT_EINVAL,
				      "module '%s' appears twice", mod);
	if (!find_so(ev, app, vsn, mod, path, sizeof(path)))
		return molt__eval_err(
			ev, i, mod, 0, MOLT_ENOTFOUND,
			"no_such_file: %s.so of %s-%s not found in %s%s", mod,
			app, vsn,
			ev->o->lib_dir ? ev->o->lib_dir : "(no lib dir)",
			ev->o->search_path ? " or the search path" : "");
	if (ev->o->module_sum &&
	    ev->o->module_sum(ev->o->payload, app, vsn, mod, &sum, &e) < 0)
		return molt__eval_err(ev, i, mod, 0, e.code, "%s", e.msg);
	/* a dry run reads the descriptor in a child process: no code of the
	 * new version (not even its constructors) runs in the node */
	v = ev->o->dry_run ? molt__version_probe(path, mod, sum, &e)
			   : molt__version_open(path, mod, sum, &e);
	if (!v)
		return molt__eval_err(ev, i, mod, 0, e.code, "%s", e.msg);
	snprintf(ev->st[ev->n_st].name, 64, "%s", mod);
	ev->st[ev->n_st++].v = v;
	return MOLT_OK;
}

static int check_load_object_code(eval *ev, size_t i, const molt_ins *in)
{
	int rc;

	if (ev->n_st + in->n_mods > ev->cap_st) {
		size_t cap = ev->n_st + in->n_mods + 8;
		staged *st = molt_realloc(ev->st, cap * sizeof(*st));

		if (!st)
			return molt__eval_err(ev, i, NULL, 0, MOLT_ENOMEM,
					      "out of memory");
		ev->st = st;
		ev->cap_st = cap;
	}
	for (size_t k = 0; k < in->n_mods; k++) {
		const char *mod = in->mods[k].name;

		if ((rc = stage_one(ev, i, in->app, in->vsn, mod)) < 0)
			return rc;
		detail_add(&ev->rep->steps[i], mod);
	}
	return MOLT_OK;
}

/* --- checks of the instructions after point_of_no_return --- */

static int old_in_use(eval *ev, const char *name, unsigned *procs)
{
	molt__module *m = molt__upg_module(ev->rt, name);
	molt__modtab *tab = ev->rt->modtab;

	*procs = 0;
	if (!m)
		return 0;
	pthread_mutex_lock(&tab->mu);
	if (m->old)
		*procs = atomic_load(&m->old->procs);
	pthread_mutex_unlock(&tab->mu);
	return *procs != 0;
}

static int has_current(eval *ev, const char *name)
{
	molt__version *v = molt__modtab_current(ev->rt->modtab, name);

	molt__version_unref(v);
	return v != NULL;
}

static int loaded_before(eval *ev, size_t i, const char *name);

static int check_load(eval *ev, size_t i, const molt_ins *in)
{
	int remove = in->kind == MOLT_INS_REMOVE;
	const char *name = in->module;
	unsigned procs;

	detail_add(&ev->rep->steps[i], name);
	if (!remove && !molt__eval_staged(ev, name))
		return molt__eval_err(ev, i, name, 0, MOLT_EINVAL,
				      "module '%s' has no load_object_code",
				      name);
	/* a second load would purge the code the first one made old, killing
	 * the processes this script holds */
	if (!remove && loaded_before(ev, i, name))
		return molt__eval_err(ev, i, name, 0, MOLT_EINVAL,
				      "module '%s' is loaded twice", name);
	if (remove && !has_current(ev, name))
		return molt__eval_err(ev, i, name, 0, MOLT_ENOTFOUND,
				      "no current version of module '%s'",
				      name);
	if (in->pre_purge == MOLT_SOFT_PURGE && old_in_use(ev, name, &procs))
		return molt__eval_err(
			ev, i, name, 0, MOLT_EBUSY,
			"old_processes: old code of module '%s' still "
			"runs in %u processes (PrePurge soft_purge)",
			name, procs);
	ev->n_jr++;
	ev->n_pp++;
	return MOLT_OK;
}

static int check_names(eval *ev, size_t i, const molt_ins *in)
{
	for (size_t k = 0; k < in->n_mods; k++) {
		detail_add(&ev->rep->steps[i], in->mods[k].name);
		if (in->kind == MOLT_INS_PURGE)
			ev->n_pp++;
	}
	return MOLT_OK;
}

smod *molt__eval_smod(eval *ev, const char *name)
{
	for (size_t k = 0; k < ev->n_sm; k++)
		if (strcmp(ev->sm[k].name, name) == 0)
			return &ev->sm[k];
	return NULL;
}

static int add_smod(eval *ev, size_t i, const char *name, uint64_t tmo)
{
	smod *s = molt__eval_smod(ev, name);

	if (s) {
		s->tmo_ns = tmo;
		return MOLT_OK;
	}
	if (ev->n_sm == ev->cap_sm) {
		size_t cap = ev->cap_sm ? ev->cap_sm * 2 : 8;
		smod *sm = molt_realloc(ev->sm, cap * sizeof(*sm));
		const char **nm;
		uint64_t *dl;

		if (!sm)
			return molt__eval_err(ev, i, name, 0, MOLT_ENOMEM,
					      "out of memory");
		ev->sm = sm;
		nm = molt_realloc(ev->sm_names, cap * sizeof(*nm));
		if (!nm)
			return molt__eval_err(ev, i, name, 0, MOLT_ENOMEM,
					      "out of memory");
		ev->sm_names = nm;
		dl = molt_realloc(ev->sm_deadline, cap * sizeof(*dl));
		if (!dl)
			return molt__eval_err(ev, i, name, 0, MOLT_ENOMEM,
					      "out of memory");
		ev->sm_deadline = dl;
		ev->cap_sm = cap;
	}
	s = &ev->sm[ev->n_sm];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->m = NULL;
	s->tmo_ns = tmo;
	ev->sm_names[ev->n_sm] = s->name;
	ev->sm_deadline[ev->n_sm] = NO_DEADLINE;
	ev->n_sm++;
	return MOLT_OK;
}

uint64_t molt__eval_suspend_ns(eval *ev, const molt_ins_mod *m)
{
	uint32_t ms = m->timeout_ms;

	if (ms == MOLT_INS_TIMEOUT_INFINITY)
		return NO_DEADLINE;
	if (ms == MOLT_INS_TIMEOUT_NOW)
		return 0;
	if (ms == MOLT_INS_TIMEOUT_DEFAULT)
		ms = ev->o->suspend_timeout ? ev->o->suspend_timeout
					    : DEFAULT_TIMEOUT_MS;
	return (uint64_t)ms * 1000000u;
}

static int check_suspend(eval *ev, size_t i, const molt_ins *in)
{
	int rc;

	for (size_t k = 0; k < in->n_mods; k++) {
		const molt_ins_mod *m = &in->mods[k];

		rc = add_smod(ev, i, m->name, molt__eval_suspend_ns(ev, m));
		if (rc < 0)
			return rc;
		detail_add(&ev->rep->steps[i], m->name);
	}
	return MOLT_OK;
}

static int loaded_before(eval *ev, size_t i, const char *name);
static molt__version *apply_target(eval *ev, const char *name, int loaded);

/*
 * A code_change runs the code current at that point: loaded by the script
 * before it, or current now. Its processes hold states in the current
 * version's layout, and end on the version the script stages for the
 * module (or stay on the converting one). A version without code_change
 * keeps the state as is, which is only right if that layout does not
 * change: up or down, refuse it before anything runs.
 */
static int check_layout(eval *ev, size_t i, const char *name)
{
	staged *st = molt__eval_staged(ev, name);
	molt__version *conv, *cur;
	unsigned to;
	int bad;

	conv = apply_target(ev, name, loaded_before(ev, i, name));
	cur = molt__modtab_current(ev->rt->modtab, name);
	to = st ? st->v->desc->state_vsn : conv ? conv->desc->state_vsn : 0;
	bad = conv && cur && !conv->desc->code_change &&
	      cur->desc->state_vsn != to;
	if (bad)
		molt__eval_err(ev, i, name, 0, MOLT_EINVAL,
			       "module '%s' %s changes state_vsn %u to "
			       "%u but has no code_change",
			       name, conv->desc->vsn, cur->desc->state_vsn, to);
	molt__version_unref(conv);
	molt__version_unref(cur);
	return bad ? MOLT_EINVAL : MOLT_OK;
}

static int check_code_change(eval *ev, size_t i, const molt_ins *in)
{
	int rc;

	for (size_t k = 0; k < in->n_mods; k++) {
		const char *name = in->mods[k].name;

		detail_add(&ev->rep->steps[i], name);
		if (!molt__eval_smod(ev, name))
			return molt__eval_err(
				ev, i, name, 0, MOLT_EINVAL,
				"code_change_not_suspended: module '%s' is "
				"not in an earlier suspend",
				name);
		if ((rc = check_layout(ev, i, name)) < 0)
			return rc;
	}
	return MOLT_OK;
}

/* The version an apply at this point calls: loaded by the script before
 * it (loaded[] marks those), else current. Referenced. */
static molt__version *apply_target(eval *ev, const char *name, int loaded)
{
	staged *s = loaded ? molt__eval_staged(ev, name) : NULL;

	if (s) {
		molt__version_ref(s->v);
		return s->v;
	}
	return molt__modtab_current(ev->rt->modtab, name);
}

const molt_export *molt__eval_export(const molt__version *v, const char *fn)
{
	const molt_export *x = v->desc->exports;

	for (; x && x->name; x++)
		if (strcmp(x->name, fn) == 0)
			return x;
	return NULL;
}

/* Was name loaded by an instruction before index i? */
static int loaded_before(eval *ev, size_t i, const char *name)
{
	for (size_t k = 0; k < i; k++) {
		const molt_ins *in = &ev->s->ins[k];

		if (in->kind == MOLT_INS_LOAD && strcmp(in->module, name) == 0)
			return 1;
	}
	return 0;
}

static int check_apply(eval *ev, size_t i, const molt_ins *in)
{
	const char *mod = in->module;
	molt__version *v;
	int found;

	detail_add(&ev->rep->steps[i], mod);
	if (strcmp(mod, MOLT__APP_MODULE) == 0) {
		if (ev->o->app_apply)
			return MOLT_OK; /* the release handler checks it */
		return molt__eval_err(ev, i, mod, 0, MOLT_EINVAL,
				      "apply application:%s: applications are "
				      "started and stopped by the release "
				      "handler (molt install), not by eval",
				      in->fn);
	}
	v = apply_target(ev, mod, loaded_before(ev, i, mod));
	if (!v)
		return molt__eval_err(ev, i, mod, 0, MOLT_ENOTFOUND,
				      "no module '%s' to apply", mod);
	found = molt__eval_export(v, in->fn) != NULL;
	molt__version_unref(v);
	if (!found)
		return molt__eval_err(ev, i, mod, 0, MOLT_ENOTFOUND,
				      "module '%s' exports no '%s'", mod,
				      in->fn);
	return MOLT_OK;
}

/* The instructions allowed before point_of_no_return. */
static int check_before(eval *ev, size_t i, const molt_ins *in)
{
	if (in->kind == MOLT_INS_LOAD_OBJECT_CODE)
		return check_load_object_code(ev, i, in);
	if (in->kind == MOLT_INS_APPLY)
		return check_apply(ev, i, in);
	return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
			      "%s before point_of_no_return (only "
			      "load_object_code and apply may come before it)",
			      molt_ins_name(in->kind));
}

static int check_one(eval *ev, size_t i, const molt_ins *in)
{
	switch (in->kind) {
	case MOLT_INS_POINT_OF_NO_RETURN:
		if (ev->ponr >= 0)
			return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
					      "a second point_of_no_return");
		ev->ponr = (int)i;
		return MOLT_OK;
	case MOLT_INS_RESTART_NEW_EMULATOR:
	case MOLT_INS_RESTART_EMULATOR:
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "%s is not supported yet",
				      molt_ins_name(in->kind));
	default:
		break;
	}
	if (ev->ponr < 0)
		return check_before(ev, i, in);
	switch (in->kind) {
	case MOLT_INS_LOAD_OBJECT_CODE:
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "load_object_code after "
				      "point_of_no_return");
	case MOLT_INS_APPLY:
		return check_apply(ev, i, in);
	case MOLT_INS_LOAD:
	case MOLT_INS_REMOVE:
		return check_load(ev, i, in);
	case MOLT_INS_SUSPEND:
		return check_suspend(ev, i, in);
	case MOLT_INS_CODE_CHANGE:
		return check_code_change(ev, i, in);
	default:
		return check_names(ev, i, in); /* purge, resume, stop, start;
						  sync_nodes: none */
	}
}

/* The fields of instruction i, before anything else about it. */
static int check_fields(eval *ev, size_t i, const molt_ins *in)
{
	if ((unsigned)in->kind > MOLT_INS_RESTART_EMULATOR)
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "unknown instruction kind %d",
				      (int)in->kind);
	if (!fields_ok(in))
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "a name is missing, empty or longer "
				      "than 63 bytes");
	return MOLT_OK;
}

/* Checks run every instruction once (load_object_code dlopen()s here, so
 * its time is counted in its step). */
int molt__eval_check(eval *ev)
{
	uint64_t t0;
	int rc;

	ev->ponr = -1;
	for (size_t i = 0; i < ev->n; i++) {
		const molt_ins *in = &ev->s->ins[i];

		snprintf(ev->rep->steps[i].name, sizeof(ev->rep->steps[i].name),
			 "%s", molt_ins_name(in->kind));
		ev->rep->steps[i].index = (unsigned)i;
		if ((rc = check_fields(ev, i, in)) < 0)
			return rc;
		t0 = molt__upg_now_ns();
		rc = check_one(ev, i, in);
		ev->rep->steps[i].ns = molt__upg_now_ns() - t0;
		if (rc < 0)
			return rc;
	}
	if (ev->ponr < 0)
		return molt_err_set(ev->err, MOLT_EINVAL,
				    "script has no point_of_no_return");
	ev->jr = molt_calloc(ev->n_jr + 1, sizeof(*ev->jr));
	ev->gone = molt_calloc(2 * ev->n_jr + 1, sizeof(*ev->gone));
	ev->pp = molt_calloc(ev->n_pp + 1, sizeof(*ev->pp));
	if (!ev->jr || !ev->gone || !ev->pp)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	ev->n_jr = ev->n_pp = 0;
	return MOLT_OK;
}
