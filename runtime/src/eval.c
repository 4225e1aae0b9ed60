/* The script evaluator: check, run with a journal, commit or roll back. */
#include "eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "molt/banned.h"
#include "molt/common.h"
#include "molt/log.h"

#include "modtab.h"
#include "proc.h"
#include "rt.h"
#include "upgrade.h"

#define DEFAULT_TIMEOUT_MS 5000u
#define NO_DEADLINE	   UINT64_MAX

static pthread_mutex_t eval_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct staged {
	char name[64];	  /* module */
	molt__version *v; /* opened, not installed (one reference) */
} staged;

typedef struct jent {
	char name[64];		/* module whose slots changed */
	molt__version *pc, *po; /* its slots before (references) */
} jent;

typedef struct smod {
	char name[64];	 /* module suspended */
	molt__module *m; /* in the table, or NULL (no processes) */
	uint64_t tmo_ns; /* suspend timeout; NO_DEADLINE for infinity */
} smod;

typedef struct postp {
	char name[64]; /* module */
	int brutal;    /* PostPurge brutal_purge */
	int purge;     /* an explicit purge [M]: kill at commit */
} postp;

typedef struct eval {
	molt_runtime *rt;	    /* the runtime */
	const molt_eval_options *o; /* options */
	molt_eval_report *rep;	    /* the report being filled */
	molt_err *err;		    /* the error */
	cJSON *doc;		    /* the script */
	size_t n;		    /* instructions */
	int ponr;		    /* index of point_of_no_return */
	staged *st;		    /* load_object_code results */
	size_t n_st, cap_st;	    /* used, allocated */
	jent *jr;		    /* slot journal */
	size_t n_jr;		    /* used (allocated: loads + removes) */
	smod *sm;		    /* suspend sets */
	size_t n_sm, cap_sm;	    /* used, allocated */
	const char **sm_names;	    /* set names for messages */
	uint64_t *sm_deadline;	    /* per set, monotonic ns */
	postp *pp;		    /* purges at commit */
	size_t n_pp;		    /* used (allocated: loads+removes+purges) */
	molt__uset set;		    /* the processes held */
	molt__uctx u;		    /* per-process steps */
} eval;

/* --- errors --- */

MOLT_PRINTF(6, 7)
static int ierr(eval *ev, size_t i, const char *module, molt_pid pid, int code,
		const char *fmt, ...)
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

static const cJSON *ins_at(eval *ev, size_t i)
{
	return cJSON_GetArrayItem(ev->doc, (int)i);
}

/* The instruction's name; *args the element after it (NULL if none). */
static const char *ins_name(const cJSON *ins, const cJSON **args)
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
	if (ev->o->lib_dir) {
		snprintf(out, size, "%s/%s-%s/%s.so", ev->o->lib_dir, app, vsn,
			 mod);
		if (file_exists(out))
			return 1;
	}
	return 0;
}

static staged *staged_find(eval *ev, const char *name)
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

	if (staged_find(ev, mod))
		return ierr(ev, i, mod, 0, MOLT_EINVAL,
			    "module '%s' appears twice", mod);
	if (!find_so(ev, app, vsn, mod, path, sizeof(path)))
		return ierr(ev, i, mod, 0, MOLT_ENOTFOUND,
			    "no_such_file: %s.so of %s-%s not found in %s%s",
			    mod, app, vsn,
			    ev->o->lib_dir ? ev->o->lib_dir : "(no lib dir)",
			    ev->o->search_path ? " or the search path" : "");
	v = molt__version_open(path, mod, &e);
	if (!v)
		return ierr(ev, i, mod, 0, e.code, "%s", e.msg);
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
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "expected [\"load_object_code\", [App, Vsn, "
			    "[Mod, ...]]]");
	cJSON_ArrayForEach(m, mods)
	{
		if (!is_name(m))
			return ierr(ev, i, NULL, 0, MOLT_EINVAL,
				    "module names must be strings");
		if (ev->n_st == ev->cap_st) {
			size_t cap = ev->cap_st ? ev->cap_st * 2 : 8;
			staged *st = molt_realloc(ev->st, cap * sizeof(*st));

			if (!st)
				return ierr(ev, i, m->valuestring, 0,
					    MOLT_ENOMEM, "out of memory");
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
	molt__modtab *tab = &ev->rt->modtab;

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
	molt__version *v = molt__modtab_current(&ev->rt->modtab, name);

	molt__version_unref(v);
	return v != NULL;
}

static int check_load(eval *ev, size_t i, const cJSON *a, int remove)
{
	const cJSON *m, *pre, *post;
	const char *name;
	unsigned procs;

	if (!arr_n(a, 3) || !is_name(m = a->child) ||
	    !is_purge_opt(pre = m->next) || !is_purge_opt(post = pre->next))
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "expected [\"%s\", [Mod, PrePurge, PostPurge]] "
			    "with soft_purge or brutal_purge",
			    remove ? "remove" : "load");
	name = m->valuestring;
	detail_add(&ev->rep->steps[i], name);
	if (!remove && !staged_find(ev, name))
		return ierr(ev, i, name, 0, MOLT_EINVAL,
			    "module '%s' has no load_object_code", name);
	if (remove && !has_current(ev, name))
		return ierr(ev, i, name, 0, MOLT_ENOTFOUND,
			    "no current version of module '%s'", name);
	if (strcmp(pre->valuestring, "soft_purge") == 0 &&
	    old_in_use(ev, name, &procs))
		return ierr(ev, i, name, 0, MOLT_EBUSY,
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
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "expected [\"%s\", [Mod, ...]]", what);
	cJSON_ArrayForEach(m, a)
	{
		if (!is_name(m))
			return ierr(ev, i, NULL, 0, MOLT_EINVAL,
				    "module names must be strings");
		detail_add(&ev->rep->steps[i], m->valuestring);
		if (strcmp(what, "purge") == 0)
			ev->n_pp++;
	}
	return MOLT_OK;
}

static smod *smod_find(eval *ev, const char *name)
{
	for (size_t k = 0; k < ev->n_sm; k++)
		if (strcmp(ev->sm[k].name, name) == 0)
			return &ev->sm[k];
	return NULL;
}

static int suspend_item(const cJSON *it, const char **name, uint64_t *tmo_ns,
			uint32_t dflt_ms)
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
	smod *s = smod_find(ev, name);

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
			return ierr(ev, i, name, 0, MOLT_ENOMEM,
				    "out of memory");
		ev->sm = sm;
		nm = molt_realloc(ev->sm_names, cap * sizeof(*nm));
		if (!nm)
			return ierr(ev, i, name, 0, MOLT_ENOMEM,
				    "out of memory");
		ev->sm_names = nm;
		dl = molt_realloc(ev->sm_deadline, cap * sizeof(*dl));
		if (!dl)
			return ierr(ev, i, name, 0, MOLT_ENOMEM,
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

static uint32_t suspend_default_ms(eval *ev)
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
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "expected [\"suspend\", [Mod | [Mod, Timeout]]]");
	cJSON_ArrayForEach(it, a)
	{
		if (!suspend_item(it, &name, &tmo, suspend_default_ms(ev)))
			return ierr(ev, i, NULL, 0, MOLT_EINVAL,
				    "expected Mod or [Mod, Timeout] with "
				    "Timeout ms or \"infinity\"");
		if ((rc = add_smod(ev, i, name, tmo)) < 0)
			return rc;
		detail_add(&ev->rep->steps[i], name);
	}
	return MOLT_OK;
}

/* ["code_change", [[M, Extra]]] or ["code_change", "up"|"down", [...]] */
static const cJSON *cc_list(const cJSON *a, int *down)
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

static int check_code_change(eval *ev, size_t i, const cJSON *a)
{
	const cJSON *list, *it;
	int down;

	if (!(list = cc_list(a, &down)))
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "expected [\"code_change\", [\"up\"|\"down\",] "
			    "[[Mod, Extra], ...]]");
	cJSON_ArrayForEach(it, list)
	{
		if (!arr_n(it, 2) || !is_name(it->child))
			return ierr(ev, i, NULL, 0, MOLT_EINVAL,
				    "expected [Mod, Extra]");
		detail_add(&ev->rep->steps[i], it->child->valuestring);
		if (!smod_find(ev, it->child->valuestring))
			return ierr(ev, i, it->child->valuestring, 0,
				    MOLT_EINVAL,
				    "code_change_not_suspended: module '%s' is "
				    "not in an earlier suspend",
				    it->child->valuestring);
	}
	return MOLT_OK;
}

/* The version an apply at this point calls: loaded by the script before
 * it (loaded[] marks those), else current. Referenced. */
static molt__version *apply_target(eval *ev, const char *name, int loaded)
{
	staged *s = loaded ? staged_find(ev, name) : NULL;

	if (s) {
		molt__version_ref(s->v);
		return s->v;
	}
	return molt__modtab_current(&ev->rt->modtab, name);
}

static const molt_export *find_export(const molt__version *v, const char *fn)
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
		const char *n = ins_name(ins_at(ev, k), &a);

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
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "expected [\"apply\", [Mod, Fun, Args]]");
	detail_add(&ev->rep->steps[i], m->valuestring);
	v = apply_target(ev, m->valuestring,
			 loaded_before(ev, i, m->valuestring));
	if (!v)
		return ierr(ev, i, m->valuestring, 0, MOLT_ENOTFOUND,
			    "no module '%s' to apply", m->valuestring);
	found = find_export(v, f->valuestring) != NULL;
	molt__version_unref(v);
	if (!found)
		return ierr(ev, i, m->valuestring, 0, MOLT_ENOTFOUND,
			    "module '%s' exports no '%s'", m->valuestring,
			    f->valuestring);
	return MOLT_OK;
}

static int check_one(eval *ev, size_t i, const char *name, const cJSON *a)
{
	int before = ev->ponr < 0;

	if (strcmp(name, "point_of_no_return") == 0) {
		if (!before)
			return ierr(ev, i, NULL, 0, MOLT_EINVAL,
				    "a second point_of_no_return");
		ev->ponr = (int)i;
		return MOLT_OK;
	}
	if (strcmp(name, "load_object_code") == 0)
		return before ? check_load_object_code(ev, i, a)
			      : ierr(ev, i, NULL, 0, MOLT_EINVAL,
				     "load_object_code after "
				     "point_of_no_return");
	if (strcmp(name, "apply") == 0)
		return check_apply(ev, i, a);
	if (strcmp(name, "restart_new_emulator") == 0 ||
	    strcmp(name, "restart_emulator") == 0)
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "%s is not supported yet", name);
	if (strcmp(name, "restart") == 0 || strcmp(name, "reboot") == 0)
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "illegal_instruction: %s", name);
	if (before)
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "%s before point_of_no_return (only "
			    "load_object_code and apply may come before it)",
			    name);
	if (strcmp(name, "load") == 0 || strcmp(name, "remove") == 0)
		return check_load(ev, i, a, name[0] == 'r');
	if (strcmp(name, "purge") == 0 || strcmp(name, "resume") == 0)
		return check_names(ev, i, a, name);
	if (strcmp(name, "suspend") == 0)
		return check_suspend(ev, i, a);
	if (strcmp(name, "code_change") == 0)
		return check_code_change(ev, i, a);
	if (strcmp(name, "sync_nodes") == 0)
		return MOLT_OK; /* one node: a barrier with nobody */
	if (strcmp(name, "stop") == 0 || strcmp(name, "start") == 0)
		return ierr(ev, i, NULL, 0, MOLT_EINVAL,
			    "%s is not supported yet", name);
	return ierr(ev, i, NULL, 0, MOLT_EINVAL, "unknown instruction '%.40s'",
		    name);
}

/* Checks run every instruction once (load_object_code dlopen()s here, so
 * its time is counted in its step). */
static int check(eval *ev)
{
	uint64_t t0;
	int rc;

	ev->ponr = -1;
	for (size_t i = 0; i < ev->n; i++) {
		const cJSON *a;
		const char *name = ins_name(ins_at(ev, i), &a);

		snprintf(ev->rep->steps[i].name, sizeof(ev->rep->steps[i].name),
			 "%s", name ? name : "?");
		ev->rep->steps[i].index = (unsigned)i;
		if (!name)
			return ierr(ev, i, NULL, 0, MOLT_EINVAL,
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
	ev->pp = molt_calloc(ev->n_pp + 1, sizeof(*ev->pp));
	if (!ev->jr || !ev->pp)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	ev->n_jr = ev->n_pp = 0;
	return MOLT_OK;
}

/* --- running the instructions --- */

static int run_apply(eval *ev, size_t i, const cJSON *a)
{
	const char *mod = a->child->valuestring,
		   *fn = a->child->next->valuestring;
	molt__version *v = molt__modtab_current(&ev->rt->modtab, mod);
	const molt_export *x = v ? find_export(v, fn) : NULL;
	char *args = cJSON_PrintUnformatted(a->child->next->next);
	molt_ctx ctx = {ev->rt, NULL, v};
	int rc;

	if (!x || !args) {
		molt__version_unref(v);
		cJSON_free(args);
		return ierr(ev, i, mod, 0, x ? MOLT_ENOMEM : MOLT_ENOTFOUND,
			    x ? "out of memory" : "module '%s' exports no '%s'",
			    mod, fn);
	}
	rc = x->fn(&ctx, args);
	cJSON_free(args);
	molt__version_unref(v);
	if (rc < 0)
		return ierr(ev, i, mod, 0, MOLT_ERROR,
			    "apply %s:%s failed (returned %d)", mod, fn, rc);
	return MOLT_OK;
}

/* Record m's slots, then set them to (cur, old). */
static int swap_slots(eval *ev, size_t i, const char *name, molt__version *cur,
		      molt__version *old)
{
	jent *j = &ev->jr[ev->n_jr];
	int rc;

	rc = molt__modtab_set_slots(&ev->rt->modtab, name, cur, old, &j->pc,
				    &j->po);
	if (rc < 0)
		return ierr(ev, i, name, 0, rc, "cannot install module '%s'",
			    name);
	snprintf(j->name, sizeof(j->name), "%s", name);
	ev->n_jr++;
	return MOLT_OK;
}

static void add_postp(eval *ev, const char *name, int brutal, int purge)
{
	postp *p = &ev->pp[ev->n_pp++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->brutal = brutal;
	p->purge = purge;
}

/* load and remove: the code server first purges the module's old code
 * (killing lingerers, as code:load_binary), then swaps the slots. */
static int run_load(eval *ev, size_t i, const cJSON *a, int remove)
{
	const char *name = a->child->valuestring;
	molt__version *cur, *nv = NULL;
	unsigned killed = 0;
	int rc;

	if (!remove)
		nv = staged_find(ev, name)->v;
	if (molt__modtab_purge(ev->rt, name, 0, &killed, NULL) == MOLT_OK)
		ev->rep->killed += killed;
	ev->rep->steps[i].procs = killed;
	cur = molt__modtab_current(&ev->rt->modtab, name);
	if (remove && !cur)
		return ierr(ev, i, name, 0, MOLT_ENOTFOUND,
			    "no current version of module '%s'", name);
	rc = swap_slots(ev, i, name, nv, cur);
	molt__version_unref(cur);
	if (rc == MOLT_OK)
		add_postp(ev, name,
			  strcmp(a->child->next->next->valuestring,
				 "brutal_purge") == 0,
			  0);
	return rc;
}

static const char *set_name_of(eval *ev, molt_pid pid)
{
	for (size_t k = 0; k < ev->set.n; k++)
		if (ev->set.e[k].pid == pid)
			return ev->sm_names[ev->set.e[k].set];
	return NULL;
}

static int run_suspend(eval *ev, size_t i, const cJSON *a)
{
	size_t from = ev->set.n, added;
	uint64_t now = molt__upg_now_ns(), tmo;
	const cJSON *it;
	const char *name;
	int rc;

	cJSON_ArrayForEach(it, a)
	{
		smod *s;
		uint32_t sid;

		suspend_item(it, &name, &tmo, suspend_default_ms(ev));
		s = smod_find(ev, name);
		sid = (uint32_t)(s - ev->sm);
		ev->sm_deadline[sid] =
			tmo == NO_DEADLINE ? NO_DEADLINE : now + tmo;
		if (!s->m)
			s->m = molt__upg_module(ev->rt, name);
		if (!s->m)
			continue; /* never loaded: no processes */
		rc = molt__upg_collect(ev->rt, &ev->set, s->m, sid, 1, &added);
		if (rc < 0)
			return ierr(ev, i, name, 0, rc, "out of memory");
	}
	ev->rep->steps[i].procs = ev->set.n - from;
	rc = molt__upg_suspend(&ev->u, from, ev->sm_deadline, ev->sm_names);
	if (rc < 0)
		return ierr(ev, i, set_name_of(ev, ev->u.fail.pid),
			    ev->u.fail.pid, rc, "%s", ev->u.fail.msg);
	return MOLT_OK;
}

static uint64_t cc_deadline(eval *ev)
{
	uint32_t ms = ev->o->code_change_timeout ? ev->o->code_change_timeout
						 : DEFAULT_TIMEOUT_MS;

	return molt__upg_now_ns() + (uint64_t)ms * 1000000u;
}

static size_t count_set(eval *ev, uint32_t sid)
{
	size_t n = 0;

	for (size_t k = 0; k < ev->set.n; k++)
		n += ev->set.e[k].set == sid &&
		     (ev->set.e[k].st & MOLT__UE_CHANGED);
	return n;
}

static int cc_one(eval *ev, size_t i, const cJSON *it, int down)
{
	const char *name = it->child->valuestring;
	smod *s = smod_find(ev, name);
	uint32_t sid = (uint32_t)(s - ev->sm);
	staged *st = staged_find(ev, name);
	molt__version *nv;
	char *extra;
	size_t from = ev->set.n;
	int rc;

	if (!s->m)
		return MOLT_OK; /* nothing was suspended under it */
	/* processes spawned since the suspend: hold them too */
	if (molt__upg_collect(ev->rt, &ev->set, s->m, sid, 1, NULL) < 0 ||
	    molt__upg_suspend(&ev->u, from, ev->sm_deadline, ev->sm_names) < 0)
		return ierr(ev, i, name, ev->u.fail.pid,
			    ev->u.fail.code ? ev->u.fail.code : MOLT_ENOMEM,
			    "%s",
			    ev->u.fail.code ? ev->u.fail.msg : "out of memory");
	nv = molt__modtab_current(&ev->rt->modtab, name);
	if (!nv)
		return ierr(ev, i, name, 0, MOLT_ENOTFOUND,
			    "module '%s' has no current version", name);
	extra = cJSON_PrintUnformatted(it->child->next);
	if (!extra) {
		molt__version_unref(nv);
		return ierr(ev, i, name, 0, MOLT_ENOMEM, "out of memory");
	}
	rc = molt__upg_change(&ev->u, sid, nv, down, st ? st->v->desc->vsn : "",
			      extra, cc_deadline(ev));
	cJSON_free(extra);
	molt__version_unref(nv);
	ev->rep->steps[i].procs += count_set(ev, sid);
	if (rc < 0)
		return ierr(ev, i, name, ev->u.fail.pid, rc, "%s",
			    ev->u.fail.msg);
	return MOLT_OK;
}

static int run_code_change(eval *ev, size_t i, const cJSON *a)
{
	const cJSON *it;
	int down, rc;

	cJSON_ArrayForEach(it, cc_list(a, &down))
	{
		if ((rc = cc_one(ev, i, it, down)) < 0)
			return rc;
	}
	return MOLT_OK;
}

static int run_one(eval *ev, size_t i)
{
	const cJSON *a;
	const char *name = ins_name(ins_at(ev, i), &a);
	const cJSON *m;

	if (strcmp(name, "apply") == 0)
		return run_apply(ev, i, a);
	if (strcmp(name, "load") == 0 || strcmp(name, "remove") == 0)
		return run_load(ev, i, a, name[0] == 'r');
	if (strcmp(name, "suspend") == 0)
		return run_suspend(ev, i, a);
	if (strcmp(name, "code_change") == 0)
		return run_code_change(ev, i, a);
	if (strcmp(name, "purge") == 0)
		cJSON_ArrayForEach(m, a) add_postp(ev, m->valuestring, 1, 1);
	/* resume: at commit, with everything held; sync_nodes: no-op */
	return MOLT_OK;
}

/* --- commit and rollback --- */

static void release_staged(eval *ev)
{
	for (size_t k = 0; k < ev->n_st; k++)
		molt__version_unref(ev->st[k].v);
	ev->n_st = 0;
}

static void unpurged_add(eval *ev, const postp *p)
{
	molt_eval_report *r = ev->rep;
	molt_eval_unpurged *u;

	for (size_t k = 0; k < r->n_unpurged; k++)
		if (strcmp(r->unpurged[k].module, p->name) == 0) {
			r->unpurged[k].brutal = p->brutal;
			return;
		}
	u = molt_realloc(r->unpurged, (r->n_unpurged + 1) * sizeof(*u));
	if (!u)
		return; /* the list is advice; the old code stays loaded */
	r->unpurged = u;
	snprintf(u[r->n_unpurged].module, 64, "%s", p->name);
	u[r->n_unpurged++].brutal = p->brutal;
}

/* Explicit purges kill; PostPurge soft-purges now and leaves the rest
 * on the unpurged list (brutal ones for make-permanent, as OTP). */
static void purges(eval *ev)
{
	for (size_t k = 0; k < 2 * ev->n_pp; k++) {
		postp *p = &ev->pp[k % ev->n_pp];
		unsigned killed = 0;

		if ((k < ev->n_pp) != p->purge)
			continue; /* explicit purges first */
		if (molt__modtab_purge(ev->rt, p->name, !p->purge, &killed,
				       NULL) == MOLT_EBUSY)
			unpurged_add(ev, p);
		ev->rep->killed += killed;
	}
}

static void commit(eval *ev)
{
	molt__upg_commit(&ev->u);
	for (size_t k = 0; k < ev->n_jr; k++) {
		molt__version_unref(ev->jr[k].pc);
		molt__version_unref(ev->jr[k].po);
	}
	ev->n_jr = 0;
	purges(ev);
	release_staged(ev);
}

static void commit_timed(eval *ev)
{
	uint64_t t0 = molt__upg_now_ns();

	commit(ev);
	ev->rep->commit_ns = molt__upg_now_ns() - t0;
}

/* Put m's slots back; versions that leave them become old, so a process
 * that moved onto one moves back at its next message. */
static void restore_slots(eval *ev, jent *j)
{
	molt__version *a = NULL, *b = NULL;

	if (molt__modtab_set_slots(&ev->rt->modtab, j->name, j->pc, j->po, &a,
				   &b) < 0) {
		molt_log(MOLT_LOG_ERROR, "eval", "cannot restore module '%s'",
			 j->name);
		return;
	}
	if (a && a != j->pc && a != j->po)
		atomic_store(&a->is_old, 1);
	if (b && b != j->pc && b != j->po)
		atomic_store(&b->is_old, 1);
	molt__version_unref(a);
	molt__version_unref(b);
	molt__version_unref(j->pc);
	molt__version_unref(j->po);
}

static void rollback(eval *ev)
{
	uint64_t t0 = molt__upg_now_ns();

	while (ev->n_jr)
		restore_slots(ev, &ev->jr[--ev->n_jr]);
	molt__upg_rollback(&ev->u);
	release_staged(ev);
	ev->rep->rolled_back = 1;
	ev->rep->rollback_ns = molt__upg_now_ns() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void pause_stats(eval *ev)
{
	molt_eval_report *r = ev->rep;
	uint64_t *v = molt_malloc((ev->set.n + 1) * sizeof(*v)), sum = 0;
	size_t n = 0;

	for (size_t k = 0; k < ev->set.n; k++) {
		uint64_t p = ev->set.e[k].pause;

		if (!p)
			continue;
		sum += p;
		if (p > r->pause_max_ns)
			r->pause_max_ns = p;
		if (v)
			v[n] = p;
		n++;
	}
	r->paused = n;
	r->pause_mean_ns = n ? sum / n : 0;
	r->pause_p99_ns = r->pause_max_ns;
	if (v && n) {
		qsort(v, n, sizeof(*v), cmp_u64);
		r->pause_p99_ns = v[(n * 99 + 99) / 100 - 1];
	}
	molt_free(v);
}

static int run_all(eval *ev)
{
	molt_eval_step *s = ev->rep->steps;
	int rc = MOLT_OK;

	for (size_t i = 0; i < ev->n; i++) {
		uint64_t t0 = molt__upg_now_ns();

		if (i != (size_t)ev->ponr)
			rc = run_one(ev, i);
		s[i].ns += molt__upg_now_ns() - t0;
		if (rc < 0)
			break;
	}
	if (rc < 0 && (int)ev->rep->failed_index > ev->ponr)
		rollback(ev);
	else if (rc == MOLT_OK)
		commit_timed(ev);
	else
		release_staged(ev);
	pause_stats(ev);
	return rc;
}

/* --- dry run --- */

static size_t count_planned(eval *ev, ptrdiff_t sid)
{
	size_t n = 0;

	for (size_t k = 0; k < ev->set.n; k++)
		n += ev->set.e[k].set == (uint32_t)sid;
	return n;
}

static int plan(eval *ev)
{
	molt_eval_report *r = ev->rep;

	for (size_t k = 0; k < ev->n_sm; k++) {
		molt__module *m = molt__upg_module(ev->rt, ev->sm[k].name);

		if (m && molt__upg_collect(ev->rt, &ev->set, m, (uint32_t)k, 0,
					   NULL) < 0)
			return molt_err_set(ev->err, MOLT_ENOMEM,
					    "out of memory");
	}
	r->planned = molt_calloc(ev->set.n + 1, sizeof(*r->planned));
	if (!r->planned)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	for (size_t k = 0; k < ev->set.n; k++)
		r->planned[k] = ev->set.e[k].pid;
	r->n_planned = ev->set.n;
	for (size_t i = 0; i < ev->n; i++) {
		const cJSON *a, *it;
		const char *name = ins_name(ins_at(ev, i), &a);
		uint64_t tmo;

		if (strcmp(name, "suspend") != 0)
			continue;
		cJSON_ArrayForEach(it, a)
		{
			suspend_item(it, &name, &tmo, 0);
			r->steps[i].procs +=
				count_planned(ev, smod_find(ev, name) - ev->sm);
		}
	}
	release_staged(ev);
	return MOLT_OK;
}

/* --- entry --- */

static int parse(eval *ev, const char *json)
{
	const char *end = NULL;
	int line = 1, col = 1;

	ev->doc = cJSON_ParseWithOpts(json, &end, 1);
	if (!ev->doc) {
		for (const char *p = json; end && p < end; p++, col++)
			if (*p == '\n') {
				line++;
				col = 0;
			}
		return molt_err_set(ev->err, MOLT_EPARSE,
				    "script:%d:%d: JSON syntax error", line,
				    col);
	}
	if (!cJSON_IsArray(ev->doc))
		return molt_err_set(ev->err, MOLT_EPARSE,
				    "script: expected a JSON array of "
				    "instructions");
	ev->n = (size_t)cJSON_GetArraySize(ev->doc);
	ev->rep->steps = molt_calloc(ev->n + 1, sizeof(*ev->rep->steps));
	if (!ev->rep->steps)
		return molt_err_set(ev->err, MOLT_ENOMEM, "out of memory");
	ev->rep->n_steps = ev->n;
	return MOLT_OK;
}

static void eval_release(eval *ev)
{
	release_staged(ev);
	molt_free(ev->st);
	molt_free(ev->jr);
	molt_free(ev->sm);
	molt_free(ev->sm_names);
	molt_free(ev->sm_deadline);
	molt_free(ev->pp);
	molt__upg_set_release(&ev->set);
	pthread_mutex_destroy(&ev->u.fail.mu);
	cJSON_Delete(ev->doc);
}

static unsigned workers(molt_runtime *rt, const molt_eval_options *o)
{
	if (rt->opts.deterministic)
		return 1;
	return o->workers ? o->workers : molt_runtime_schedulers(rt);
}

static int evaluate(eval *ev, const char *json)
{
	int rc;

	if ((rc = parse(ev, json)) < 0 || (rc = check(ev)) < 0)
		return rc;
	if (ev->o->dry_run)
		return plan(ev);
	return run_all(ev);
}

int molt_runtime_eval(molt_runtime *rt, const char *script_json,
		      const molt_eval_options *opts, molt_eval_report *report,
		      molt_err *err)
{
	static const molt_eval_options dflt = MOLT_EVAL_OPTIONS_INIT;
	uint64_t t0 = molt__upg_now_ns();
	eval ev;
	int rc;

	if (report) {
		memset(report, 0, sizeof(*report));
		report->failed_index = -1;
	}
	if (!rt || !script_json || !report)
		return molt_err_set(err, MOLT_EINVAL,
				    "eval: no runtime or script");
	memset(&ev, 0, sizeof(ev));
	ev.rt = rt;
	ev.o = opts ? opts : &dflt;
	ev.rep = report;
	ev.err = err;
	ev.u.rt = rt;
	ev.u.set = &ev.set;
	ev.u.workers = workers(rt, ev.o);
	pthread_mutex_init(&ev.u.fail.mu, NULL);
	if (pthread_mutex_trylock(&eval_mu) != 0) {
		pthread_mutex_destroy(&ev.u.fail.mu);
		return molt_err_set(err, MOLT_EBUSY,
				    "another evaluation is running");
	}
	rc = evaluate(&ev, script_json);
	eval_release(&ev);
	pthread_mutex_unlock(&eval_mu);
	report->ok = rc == MOLT_OK;
	report->total_ns = molt__upg_now_ns() - t0;
	if (rc < 0)
		molt_log(MOLT_LOG_WARN, "eval", "%s%s", err ? err->msg : "",
			 report->rolled_back ? " (rolled back)" : "");
	return rc;
}

void molt_eval_report_release(molt_eval_report *report)
{
	if (!report)
		return;
	molt_free(report->steps);
	molt_free(report->unpurged);
	molt_free(report->planned);
	memset(report, 0, sizeof(*report));
	report->failed_index = -1;
}
