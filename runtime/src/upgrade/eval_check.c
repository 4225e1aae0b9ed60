/* The script evaluator's first phase: parse each instruction and check
 * everything that can fail without side effects. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "molt/common.h"

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

/* --- shapes --- */

const cJSON *molt__eval_ins_at(eval *ev, size_t i)
{
	return cJSON_GetArrayItem(ev->doc, (int)i);
}

/* The instruction's name; *args the element after it (NULL if none). */
const char *molt__eval_ins_name(const cJSON *ins, const cJSON **args)
{
	*args = NULL;
	if (cJSON_IsString(ins))
		return ins->valuestring;
	if (cJSON_IsArray(ins) && cJSON_IsString(ins->child)) {
		*args = ins->child->next;
		return ins->child->valuestring;
	}
	return NULL;
}

static int is_name(const cJSON *j)
{
	return cJSON_IsString(j) && *j->valuestring &&
	       strlen(j->valuestring) < 64;
}

static int is_purge_opt(const cJSON *j)
{
	return cJSON_IsString(j) &&
	       (strcmp(j->valuestring, "soft_purge") == 0 ||
		strcmp(j->valuestring, "brutal_purge") == 0);
}

/* An array of n elements? */
static int arr_n(const cJSON *j, int n)
{
	return cJSON_IsArray(j) && cJSON_GetArraySize(j) == n;
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
	v = molt__version_open(path, mod, &e);
	if (!v)
		return molt__eval_err(ev, i, mod, 0, e.code, "%s", e.msg);
	snprintf(ev->st[ev->n_st].name, 64, "%s", mod);
	ev->st[ev->n_st++].v = v;
	return MOLT_OK;
}

static int check_load_object_code(eval *ev, size_t i, const cJSON *a)
{
	const cJSON *app, *vsn, *mods, *m;
	int rc;

	if (!arr_n(a, 3) || !is_name(app = a->child) ||
	    !is_name(vsn = app->next) || !cJSON_IsArray(mods = vsn->next))
		return molt__eval_err(
			ev, i, NULL, 0, MOLT_EINVAL,
			"expected [\"load_object_code\", [App, Vsn, "
			"[Mod, ...]]]");
	cJSON_ArrayForEach(m, mods)
	{
		if (!is_name(m))
			return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
					      "module names must be strings");
		if (ev->n_st == ev->cap_st) {
			size_t cap = ev->cap_st ? ev->cap_st * 2 : 8;
			staged *st = molt_realloc(ev->st, cap * sizeof(*st));

			if (!st)
				return molt__eval_err(ev, i, m->valuestring, 0,
						      MOLT_ENOMEM,
						      "out of memory");
			ev->st = st;
			ev->cap_st = cap;
		}
		rc = stage_one(ev, i, app->valuestring, vsn->valuestring,
			       m->valuestring);
		if (rc < 0)
			return rc;
		detail_add(&ev->rep->steps[i], m->valuestring);
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

static int check_load(eval *ev, size_t i, const cJSON *a, int remove)
{
	const cJSON *m, *pre, *post;
	const char *name;
	unsigned procs;

	if (!arr_n(a, 3) || !is_name(m = a->child) ||
	    !is_purge_opt(pre = m->next) || !is_purge_opt(post = pre->next))
		return molt__eval_err(
			ev, i, NULL, 0, MOLT_EINVAL,
			"expected [\"%s\", [Mod, PrePurge, PostPurge]] "
			"with soft_purge or brutal_purge",
			remove ? "remove" : "load");
	name = m->valuestring;
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
	if (strcmp(pre->valuestring, "soft_purge") == 0 &&
	    old_in_use(ev, name, &procs))
		return molt__eval_err(
			ev, i, name, 0, MOLT_EBUSY,
			"old_processes: old code of module '%s' still "
			"runs in %u processes (PrePurge soft_purge)",
			name, procs);
	ev->n_jr++;
	ev->n_pp++;
	return MOLT_OK;
}

static int check_names(eval *ev, size_t i, const cJSON *a, const char *what)
{
	const cJSON *m;

	if (!cJSON_IsArray(a))
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "expected [\"%s\", [Mod, ...]]", what);
	cJSON_ArrayForEach(m, a)
	{
		if (!is_name(m))
			return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
					      "module names must be strings");
		detail_add(&ev->rep->steps[i], m->valuestring);
		if (strcmp(what, "purge") == 0)
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

int molt__eval_suspend_item(const cJSON *it, const char **name,
			    uint64_t *tmo_ns, uint32_t dflt_ms)
{
	const cJSON *t;

	*tmo_ns = (uint64_t)dflt_ms * 1000000u;
	if (is_name(it)) {
		*name = it->valuestring;
		return 1;
	}
	if (!arr_n(it, 2) || !is_name(it->child))
		return 0;
	*name = it->child->valuestring;
	t = it->child->next;
	if (cJSON_IsString(t) && strcmp(t->valuestring, "infinity") == 0)
		*tmo_ns = NO_DEADLINE;
	else if (cJSON_IsNumber(t) && t->valuedouble >= 0 &&
		 t->valuedouble < 86400000.0)
		*tmo_ns = (uint64_t)t->valuedouble * 1000000u;
	else
		return 0;
	return 1;
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

uint32_t molt__eval_suspend_ms(eval *ev)
{
	return ev->o->suspend_timeout ? ev->o->suspend_timeout
				      : DEFAULT_TIMEOUT_MS;
}

static int check_suspend(eval *ev, size_t i, const cJSON *a)
{
	const cJSON *it;
	const char *name;
	uint64_t tmo;
	int rc;

	if (!cJSON_IsArray(a))
		return molt__eval_err(
			ev, i, NULL, 0, MOLT_EINVAL,
			"expected [\"suspend\", [Mod | [Mod, Timeout]]]");
	cJSON_ArrayForEach(it, a)
	{
		if (!molt__eval_suspend_item(it, &name, &tmo,
					     molt__eval_suspend_ms(ev)))
			return molt__eval_err(
				ev, i, NULL, 0, MOLT_EINVAL,
				"expected Mod or [Mod, Timeout] with "
				"Timeout ms or \"infinity\"");
		if ((rc = add_smod(ev, i, name, tmo)) < 0)
			return rc;
		detail_add(&ev->rep->steps[i], name);
	}
	return MOLT_OK;
}

/* ["code_change", [[M, Extra]]] or ["code_change", "up"|"down", [...]] */
const cJSON *molt__eval_cc_list(const cJSON *a, int *down)
{
	*down = 0;
	if (cJSON_IsString(a) && a->next && !a->next->next) {
		if (strcmp(a->valuestring, "down") == 0)
			*down = 1;
		else if (strcmp(a->valuestring, "up") != 0)
			return NULL;
		a = a->next;
	} else if (a && a->next) {
		return NULL;
	}
	return cJSON_IsArray(a) ? a : NULL;
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

static int check_code_change(eval *ev, size_t i, const cJSON *a)
{
	const cJSON *list, *it;
	int down, rc;

	if (!(list = molt__eval_cc_list(a, &down)))
		return molt__eval_err(
			ev, i, NULL, 0, MOLT_EINVAL,
			"expected [\"code_change\", [\"up\"|\"down\",] "
			"[[Mod, Extra], ...]]");
	cJSON_ArrayForEach(it, list)
	{
		if (!arr_n(it, 2) || !is_name(it->child))
			return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
					      "expected [Mod, Extra]");
		detail_add(&ev->rep->steps[i], it->child->valuestring);
		if (!molt__eval_smod(ev, it->child->valuestring))
			return molt__eval_err(
				ev, i, it->child->valuestring, 0, MOLT_EINVAL,
				"code_change_not_suspended: module '%s' is "
				"not in an earlier suspend",
				it->child->valuestring);
		if ((rc = check_layout(ev, i, it->child->valuestring)) < 0)
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
		const cJSON *a;
		const char *n =
			molt__eval_ins_name(molt__eval_ins_at(ev, k), &a);

		if (n && strcmp(n, "load") == 0 && arr_n(a, 3) &&
		    is_name(a->child) &&
		    strcmp(a->child->valuestring, name) == 0)
			return 1;
	}
	return 0;
}

static int check_apply(eval *ev, size_t i, const cJSON *a)
{
	const cJSON *m, *f;
	molt__version *v;
	int found;

	if (!arr_n(a, 3) || !is_name(m = a->child) || !is_name(f = m->next))
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "expected [\"apply\", [Mod, Fun, Args]]");
	detail_add(&ev->rep->steps[i], m->valuestring);
	v = apply_target(ev, m->valuestring,
			 loaded_before(ev, i, m->valuestring));
	if (!v)
		return molt__eval_err(ev, i, m->valuestring, 0, MOLT_ENOTFOUND,
				      "no module '%s' to apply",
				      m->valuestring);
	found = molt__eval_export(v, f->valuestring) != NULL;
	molt__version_unref(v);
	if (!found)
		return molt__eval_err(ev, i, m->valuestring, 0, MOLT_ENOTFOUND,
				      "module '%s' exports no '%s'",
				      m->valuestring, f->valuestring);
	return MOLT_OK;
}

static int check_one(eval *ev, size_t i, const char *name, const cJSON *a)
{
	int before = ev->ponr < 0;

	if (strcmp(name, "point_of_no_return") == 0) {
		if (!before)
			return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
					      "a second point_of_no_return");
		ev->ponr = (int)i;
		return MOLT_OK;
	}
	if (strcmp(name, "load_object_code") == 0)
		return before ? check_load_object_code(ev, i, a)
			      : molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
					       "load_object_code after "
					       "point_of_no_return");
	if (strcmp(name, "apply") == 0)
		return check_apply(ev, i, a);
	if (strcmp(name, "restart_new_emulator") == 0 ||
	    strcmp(name, "restart_emulator") == 0)
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "%s is not supported yet", name);
	if (strcmp(name, "restart") == 0 || strcmp(name, "reboot") == 0)
		return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
				      "illegal_instruction: %s", name);
	if (before)
		return molt__eval_err(
			ev, i, NULL, 0, MOLT_EINVAL,
			"%s before point_of_no_return (only "
			"load_object_code and apply may come before it)",
			name);
	if (strcmp(name, "load") == 0 || strcmp(name, "remove") == 0)
		return check_load(ev, i, a, name[0] == 'r');
	if (strcmp(name, "purge") == 0 || strcmp(name, "resume") == 0 ||
	    strcmp(name, "stop") == 0 || strcmp(name, "start") == 0)
		return check_names(ev, i, a, name);
	if (strcmp(name, "suspend") == 0)
		return check_suspend(ev, i, a);
	if (strcmp(name, "code_change") == 0)
		return check_code_change(ev, i, a);
	if (strcmp(name, "sync_nodes") == 0)
		return MOLT_OK; /* one node: a barrier with nobody */
	return molt__eval_err(ev, i, NULL, 0, MOLT_EINVAL,
			      "unknown instruction '%.40s'", name);
}

/* Checks run every instruction once (load_object_code dlopen()s here, so
 * its time is counted in its step). */
int molt__eval_check(eval *ev)
{
	uint64_t t0;
	int rc;

	ev->ponr = -1;
	for (size_t i = 0; i < ev->n; i++) {
		const cJSON *a;
		const char *name =
			molt__eval_ins_name(molt__eval_ins_at(ev, i), &a);

		snprintf(ev->rep->steps[i].name, sizeof(ev->rep->steps[i].name),
			 "%s", name ? name : "?");
		ev->rep->steps[i].index = (unsigned)i;
		if (!name)
			return molt__eval_err(
				ev, i, NULL, 0, MOLT_EINVAL,
				"an instruction is a string or an array "
				"starting with a string");
		t0 = molt__upg_now_ns();
		rc = check_one(ev, i, name, a);
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
