/* Releases on disk, relup assembly (systools_relup) and appup generation. */
#include "molt/relup.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "appup_json.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

MOLT_PRINTF(3, 4)
static int field_error(molt_err *err, const jnode *n, const char *fmt, ...)
{
	char where[200], msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return molt_err_set(err, MOLT_EPARSE, "%s: %s",
			    molt_pos_format(where, sizeof(where), n->pos), msg);
}

static int read_json(jnode **out, molt_arena *a, const char *path,
		     molt_err *err)
{
	molt_buf text = MOLT_BUF_INIT;
	char *file;
	int rc;

	if ((rc = molt_buf_read_file(&text, path, err)) < 0)
		return rc;
	file = molt_arena_strndup(a, path, strlen(path));
	rc = file ? molt__appup_jparse(out, a, file, text.ptr, text.len, err)
		  : molt_err_set(err, MOLT_ENOMEM, "out of memory");
	molt_buf_release(&text);
	if (rc == 0 && (*out)->kind != J_OBJ)
		rc = field_error(err, *out, "expected a JSON object");
	return rc;
}

/* A required string field of obj. */
static int get_str(const char **out, const jnode *obj, const char *key,
		   molt_err *err)
{
	const jnode *v = molt__appup_jmember(obj, key);

	if (!v || v->kind != J_STR)
		return field_error(err, v ? v : obj,
				   "expected \"%s\": a string", key);
	*out = v->s;
	return 0;
}

static int read_module(molt_modinfo *m, const jnode *n, molt_err *err)
{
	const jnode *v;
	int rc;

	memset(m, 0, sizeof(*m));
	if (n->kind == J_STR) {
		m->name = n->s;
		return 0;
	}
	if (n->kind != J_OBJ)
		return field_error(err, n,
				   "expected a module name or {\"name\": ...}");
	if ((rc = get_str(&m->name, n, "name", err)) < 0)
		return rc;
	if ((v = molt__appup_jmember(n, "vsn")) && v->kind == J_STR)
		m->vsn = v->s;
	if ((v = molt__appup_jmember(n, "sha256")) && v->kind == J_STR)
		m->sha256 = v->s;
	if ((v = molt__appup_jmember(n, "state_vsn")) && v->kind == J_NUM)
		m->state_vsn = (long)v->i;
	if ((v = molt__appup_jmember(n, "code_change")) && v->kind == J_BOOL)
		m->code_change = (int)v->i;
	return 0;
}

int molt_app_load(molt_appinfo *out, molt_arena *a, const char *path,
		  molt_err *err)
{
	const jnode *mods;
	molt_modinfo *m;
	jnode *doc;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_json(&doc, a, path, err)) < 0 ||
	    (rc = get_str(&out->name, doc, "name", err)) < 0 ||
	    (rc = get_str(&out->vsn, doc, "vsn", err)) < 0)
		return rc;
	out->type = "permanent";
	mods = molt__appup_jmember(doc, "modules");
	if (!mods || mods->kind != J_ARR)
		return field_error(err, mods ? mods : doc,
				   "expected \"modules\": [...]");
	m = molt_arena_alloc(a, (mods->len + 1) * sizeof(*m));
	if (!m)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (i = 0; i < mods->len; i++)
		if ((rc = read_module(&m[i], mods->items[i], err)) < 0)
			return rc;
	out->mods = m;
	out->nmods = mods->len;
	return 0;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The first existing dir/NAME-VSN/<rel>, written to out. */
static int find_in_app(char *out, size_t n, const char *appdir,
		       const char *const *names, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		if (snprintf(out, n, "%s/%s", appdir, names[i]) >= (int)n)
			continue;
		if (exists(out))
			return 1;
	}
	return 0;
}

static int find_app_dir(char *out, size_t n, const char *dir, const char *name,
			const char *vsn)
{
	snprintf(out, n, "%s/lib/%s-%s", dir, name, vsn);
	if (exists(out))
		return 1;
	snprintf(out, n, "%s/%s-%s", dir, name, vsn);
	return exists(out);
}

static int load_app(molt_release *rel, molt_appinfo *app, const char *name,
		    const char *vsn, molt_err *err)
{
	char appdir[1024], path[1200], appup[1200], nameappup[300];
	const char *names[] = {"app.json", "ebin/app.json"};
	const char *appups[] = {nameappup, "appup.json", "ebin/appup.json",
				NULL};
	int rc;

	if (!find_app_dir(appdir, sizeof(appdir), rel->dir, name, vsn) ||
	    !find_in_app(path, sizeof(path), appdir, names, 2))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "release %s: no app.json for %s-%s under "
				    "%s/lib/%s-%s",
				    rel->dir, name, vsn, rel->dir, name, vsn);
	if ((rc = molt_app_load(app, rel->arena, path, err)) < 0)
		return rc;
	if (strcmp(app->name, name) != 0 || strcmp(app->vsn, vsn) != 0)
		return molt_err_set(err, MOLT_EPARSE,
				    "%s: is %s-%s, release.json says %s-%s",
				    path, app->name, app->vsn, name, vsn);
	snprintf(nameappup, sizeof(nameappup), "%s.appup", name);
	appups[3] = NULL;
	if (find_in_app(appup, sizeof(appup), appdir, appups, 3) ||
	    (snprintf(nameappup, sizeof(nameappup), "ebin/%s.appup", name),
	     find_in_app(appup, sizeof(appup), appdir, appups, 1)))
		app->appup_path =
			molt_arena_strndup(rel->arena, appup, strlen(appup));
	return 0;
}

/* dir/release.json, or the only dir/releases/VSN/release.json. */
static int find_release_json(char *out, size_t n, const char *dir)
{
	char sub[1024];
	struct dirent *e;
	DIR *d;
	int found = 0;

	snprintf(out, n, "%s/release.json", dir);
	if (exists(out))
		return 1;
	snprintf(sub, sizeof(sub), "%s/releases", dir);
	if (!(d = opendir(sub)))
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(out, n, "%s/%s/release.json", sub, e->d_name) >=
		    (int)n)
			continue;
		if (exists(out)) {
			found++;
			break;
		}
	}
	closedir(d);
	return found;
}

static int read_release(molt_release *rel, const char *path, molt_err *err)
{
	const jnode *apps;
	jnode *doc;
	size_t i;
	int rc;

	if ((rc = read_json(&doc, rel->arena, path, err)) < 0 ||
	    (rc = get_str(&rel->name, doc, "name", err)) < 0 ||
	    (rc = get_str(&rel->vsn, doc, "vsn", err)) < 0)
		return rc;
	apps = molt__appup_jmember(doc, "applications");
	if (!apps || apps->kind != J_ARR)
		return field_error(err, apps ? apps : doc,
				   "expected \"applications\": [...]");
	rel->apps = molt_arena_alloc(rel->arena,
				     (apps->len + 1) * sizeof(*rel->apps));
	if (!rel->apps)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (i = 0; i < apps->len; i++) {
		const jnode *a = apps->items[i], *t;
		const char *name = NULL, *vsn = NULL;

		if (a->kind != J_OBJ)
			return field_error(err, a,
					   "expected {\"name\": ..., "
					   "\"vsn\": ...}");
		if ((rc = get_str(&name, a, "name", err)) < 0 ||
		    (rc = get_str(&vsn, a, "vsn", err)) < 0 ||
		    (rc = load_app(rel, &rel->apps[i], name, vsn, err)) < 0)
			return rc;
		t = molt__appup_jmember(a, "type");
		if (t && t->kind == J_STR)
			rel->apps[i].type = t->s;
		rel->napps++;
	}
	return 0;
}

int molt_release_load(molt_release **out, const char *dir, molt_err *err)
{
	char path[1200];
	molt_release *rel;
	int rc;

	if (!find_release_json(path, sizeof(path), dir))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "no release.json in %s (nor in "
				    "%s/releases/VSN/)",
				    dir, dir);
	rel = molt_calloc(1, sizeof(*rel));
	if (!rel || !(rel->arena = molt_arena_new())) {
		molt_free(rel);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	rel->dir = molt_arena_strndup(rel->arena, dir, strlen(dir));
	if (!rel->dir) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out_free;
	}
	if ((rc = read_release(rel, path, err)) < 0)
		goto out_free;
	*out = rel;
	return 0;
out_free:
	molt_release_free(rel);
	return rc;
}

void molt_release_free(molt_release *rel)
{
	if (!rel)
		return;
	molt_arena_free(rel->arena);
	molt_free(rel);
}

/* ---- relup assembly ---- */

static const molt_appinfo *find(const molt_release *rel, const char *name)
{
	size_t i;

	for (i = 0; i < rel->napps; i++)
		if (strcmp(rel->apps[i].name, name) == 0)
			return &rel->apps[i];
	return NULL;
}

/* {Tag, App} or {Tag, App, Type} as a one-instruction script. */
static molt_term *app_script(molt_arena *a, const char *tag,
			     const molt_appinfo *app, int with_type)
{
	molt_term *i =
		with_type ? molt_term_tuple(
				    a, 3, molt_term_atom(a, tag),
				    molt_term_atom(a, app->name),
				    molt_term_atom(a, app->type ? app->type
								: "permanent"))
			  : molt_term_tuple(a, 2, molt_term_atom(a, tag),
					    molt_term_atom(a, app->name));

	return i ? molt_term_seq(a, MOLT_TERM_LIST, &i, 1) : NULL;
}

typedef struct move {
	const molt_release *top;  /* the newer release (its appups) */
	const molt_release *base; /* the other release */
	int down;		  /* 1: top -> base */
} move;

/*
 * One application's appup entry for the base version. The appup is
 * returned in *keep (the script borrows from it); the caller frees it.
 */
static int appup_script(const molt_term **out, molt_appup **keep,
			const molt_appinfo *app, const char *base_vsn, int down,
			const molt_relup_opts *o, molt_err *err)
{
	molt_appup_load_opts lo = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_appup *ap;
	int rc;

	if (!app->appup_path)
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "application %s-%s has no appup (looked "
				    "for %s.appup and appup.json in its "
				    "directory); it is needed to go %s %s",
				    app->name, app->vsn, app->name,
				    down ? "down to" : "up from", base_vsn);
	lo.vsn = app->vsn;
	if ((rc = molt_appup_load(&ap, app->appup_path, &lo, err)) < 0)
		return rc;
	*keep = ap;
	if (o->warn && ap->vsn->kind == MOLT_TERM_STRING &&
	    strcmp(ap->vsn->u.str.s, app->vsn) != 0) {
		char msg[400];

		snprintf(msg, sizeof(msg),
			 "%s: warning: appup is for version %s, the "
			 "application is %s",
			 app->appup_path, ap->vsn->u.str.s, app->vsn);
		o->warn(MOLT_DIAG_WARNING, msg, o->payload);
	}
	rc = molt_appup_search(out, ap, down, base_vsn, err);
	if (rc == MOLT_ENOTFOUND)
		molt_err_set(err, MOLT_ENOTFOUND,
			     "no %s entry for %s-%s %s %s in %s",
			     down ? "down" : "up", app->name, app->vsn,
			     down ? "to" : "from", base_vsn, app->appup_path);
	return rc;
}

/* systools_relup's scripts for one move, in its order. */
static int collect_scripts(molt_arena *a, const move *mv,
			   const molt_relup_opts *o, const molt_term **v,
			   size_t *n, molt_appup **keep, molt_err *err)
{
	const molt_release *to = mv->down ? mv->base : mv->top;
	const molt_release *from = mv->down ? mv->top : mv->base;
	size_t i;
	int rc;

	*n = 0;
	for (i = 0; i < to->napps; i++) /* added: only in the target */
		if (!find(from, to->apps[i].name) &&
		    !(v[(*n)++] = app_script(a, "add_application", &to->apps[i],
					     1)))
			return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (i = 0; i < mv->top->napps; i++) {
		const molt_appinfo *t = &mv->top->apps[i];
		const molt_appinfo *b = find(mv->base, t->name);

		if (!b || strcmp(b->vsn, t->vsn) == 0)
			continue;
		if ((rc = appup_script(&v[*n], &keep[i], t, b->vsn, mv->down, o,
				       err)) < 0)
			return rc;
		(*n)++;
	}
	for (i = 0; i < from->napps; i++) /* removed: only in the source */
		if (!find(to, from->apps[i].name) &&
		    !(v[(*n)++] = app_script(a, "remove_application",
					     &from->apps[i], 0)))
			return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return 0;
}

static const molt_modinfo *find_mod(const molt_release *rel, const char *m)
{
	size_t i, k;

	for (i = 0; i < rel->napps; i++)
		for (k = 0; k < rel->apps[i].nmods; k++)
			if (strcmp(rel->apps[i].mods[k].name, m) == 0)
				return &rel->apps[i].mods[k];
	return NULL;
}

static int script_loads(const molt_term *script, const char *m)
{
	size_t i;

	for (i = 0; i < script->u.seq.n; i++) {
		const molt_term *ins = script->u.seq.items[i];

		if ((molt_term_is_tagged(ins, "load", 2) ||
		     molt_term_is_tagged(ins, "remove", 2)) &&
		    molt_term_is_atom(ins->u.seq.items[1]->u.seq.items[0], m))
			return 1;
	}
	return 0;
}

/* Refuse a script that leaves a changed module untouched. */
static int check_untouched(const move *mv, const molt_term *script,
			   molt_err *err)
{
	const molt_release *to = mv->down ? mv->base : mv->top;
	const molt_release *from = mv->down ? mv->top : mv->base;
	size_t i, k;

	for (i = 0; i < to->napps; i++) {
		for (k = 0; k < to->apps[i].nmods; k++) {
			const molt_modinfo *m = &to->apps[i].mods[k];
			const molt_modinfo *old = find_mod(from, m->name);

			if (!old || !m->sha256 || !old->sha256 ||
			    strcmp(m->sha256, old->sha256) == 0 ||
			    script_loads(script, m->name))
				continue;
			return molt_err_set(
				err, MOLT_EUNSAFE,
				"module %s (application %s) changed between "
				"%s and %s but the %s script has no "
				"instruction for it: add one to the appup or "
				"pass --allow-untouched",
				m->name, to->apps[i].name, from->vsn, to->vsn,
				mv->down ? "down" : "up");
		}
	}
	return 0;
}

static int translate_move(molt_buf *out, molt_arena *a, const move *mv,
			  const molt_relup_opts *o, const molt_term **v,
			  size_t n, molt_err *err);

static int one_move(molt_buf *out, molt_arena *a, const move *mv,
		    const molt_relup_opts *o, molt_err *err)
{
	size_t cap = mv->top->napps + mv->base->napps + 1, n;
	const molt_term **v = molt_arena_alloc(a, cap * sizeof(*v));
	molt_appup **keep = molt_arena_alloc(a, cap * sizeof(*keep));
	size_t i;
	int rc;

	if (!v || !keep)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = collect_scripts(a, mv, o, v, &n, keep, err);
	if (rc == 0)
		rc = translate_move(out, a, mv, o, v, n, err);
	for (i = 0; i < cap; i++)
		molt_appup_free(keep[i]);
	return rc;
}

static int translate_move(molt_buf *out, molt_arena *a, const move *mv,
			  const molt_relup_opts *o, const molt_term **v,
			  size_t n, molt_err *err)
{
	const molt_release *to = mv->down ? mv->base : mv->top;
	const molt_release *from = mv->down ? mv->top : mv->base;
	molt_rc_opts ro = MOLT_RC_OPTS_INIT;
	molt_term *script;
	int rc;

	ro.mode = mv->down ? MOLT_DOWN : MOLT_UP;
	ro.apps = to->apps;
	ro.napps = to->napps;
	ro.pre_apps = from->apps;
	ro.npre_apps = from->napps;
	if ((rc = molt_rc_translate(&script, a, &ro, v, n, NULL, NULL, err)) <
	    0)
		return molt_err_prefix(err, "%s %s",
				       mv->down ? "down to" : "up from",
				       mv->base->vsn);
	if (!o->allow_untouched && (rc = check_untouched(mv, script, err)) < 0)
		return rc;
	if (o->terms) {
		/* {Vsn, Description, Instructions}, as in OTP's relup file */
		rc = molt_buf_printf(out, "  {\"%s\",[],", mv->base->vsn);
		if (rc == 0)
			rc = molt_term_print(out, script);
		return rc ? rc : molt_buf_puts(out, "}");
	}
	rc = molt_buf_printf(out,
			     "    {\"%s\": \"%s\", \"description\": \"\", "
			     "\"script\": ",
			     mv->down ? "to" : "from", mv->base->vsn);
	if (rc == 0)
		rc = molt_script_to_json(out, script, 6);
	return rc ? rc : molt_buf_puts(out, "}");
}

static int moves(molt_buf *out, molt_arena *a, const molt_relup_opts *o,
		 int down, molt_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < o->nfrom; i++) {
		move mv = {o->to, o->from[i], down};

		if ((rc = molt_buf_puts(out, i ? ",\n" : "\n")) < 0 ||
		    (rc = one_move(out, a, &mv, o, err)) < 0)
			return rc;
	}
	if (o->terms)
		return molt_buf_puts(out, "]");
	return molt_buf_puts(out, o->nfrom ? "\n  ]" : "]");
}

int molt_relup_build(molt_buf *out, const molt_relup_opts *o, molt_err *err)
{
	molt_arena *a = molt_arena_new();
	int rc;

	if (!a)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if (o->terms)
		rc = molt_buf_printf(out, "%%%% coding: utf-8\n{\"%s\",\n [",
				     o->to->vsn);
	else
		rc = molt_buf_printf(out,
				     "{\n  \"format\": \"molt-relup/1\",\n  "
				     "\"name\": \"%s\",\n  \"vsn\": \"%s\",\n  "
				     "\"up\": [",
				     o->to->name, o->to->vsn);
	if (rc == 0)
		rc = moves(out, a, o, 0, err);
	if (rc == 0)
		rc = molt_buf_puts(out,
				   o->terms ? ",\n [" : ",\n  \"down\": [");
	if (rc == 0)
		rc = moves(out, a, o, 1, err);
	if (rc == 0)
		rc = molt_buf_puts(out, o->terms ? "}.\n" : "\n}\n");
	molt_arena_free(a);
	return rc;
}

/* ---- appup generation ---- */

static const molt_modinfo *app_mod(const molt_appinfo *app, const char *m)
{
	size_t i;

	for (i = 0; i < app->nmods; i++)
		if (strcmp(app->mods[i].name, m) == 0)
			return &app->mods[i];
	return NULL;
}

static int changed(const molt_modinfo *a, const molt_modinfo *b)
{
	if (a->sha256 && b->sha256)
		return strcmp(a->sha256, b->sha256) != 0;
	if (a->vsn && b->vsn)
		return strcmp(a->vsn, b->vsn) != 0;
	return 1; /* nothing to compare: assume it changed */
}

static molt_term *mod_instr(molt_arena *a, const char *tag, const char *m)
{
	return molt_term_tuple(a, 2, molt_term_atom(a, tag),
			       molt_term_atom(a, m));
}

/* update {advanced, []} or load_module for a changed module. */
static molt_term *change_instr(molt_arena *a, const molt_modinfo *old,
			       const molt_modinfo *new)
{
	molt_term *adv;

	if (!new->code_change &&new->state_vsn == old->state_vsn)
		return mod_instr(a, "load_module", new->name);
	adv = molt_term_tuple(a, 2, molt_term_atom(a, "advanced"),
			      molt_term_seq(a, MOLT_TERM_LIST, NULL, 0));
	return adv ? molt_term_tuple(a, 3, molt_term_atom(a, "update"),
				     molt_term_atom(a, new->name), adv)
		   : NULL;
}

static int push(molt_term **v, size_t *n, molt_term *t)
{
	if (!t)
		return MOLT_ENOMEM;
	v[(*n)++] = t;
	return 0;
}

/* The instructions from `from` to `to` (down: the reverse move). */
static molt_term *gen_instrs(molt_arena *a, const molt_appinfo *from,
			     const molt_appinfo *to, int down)
{
	size_t i, n = 0;
	molt_term **v =
		molt_arena_alloc(a, (from->nmods + to->nmods + 1) * sizeof(*v));
	const molt_appinfo *src = down ? to : from, *dst = down ? from : to;
	int rc = v ? 0 : MOLT_ENOMEM;

	for (i = 0; rc == 0 && i < dst->nmods; i++) /* added */
		if (!app_mod(src, dst->mods[i].name))
			rc = push(
				v, &n,
				mod_instr(a, "add_module", dst->mods[i].name));
	for (i = 0; rc == 0 && i < to->nmods; i++) { /* changed */
		const molt_modinfo *old = app_mod(from, to->mods[i].name);

		if (old && changed(old, &to->mods[i]))
			rc = push(v, &n, change_instr(a, old, &to->mods[i]));
	}
	for (i = 0; rc == 0 && i < src->nmods; i++) /* removed */
		if (!app_mod(dst, src->mods[i].name))
			rc = push(v, &n,
				  mod_instr(a, "delete_module",
					    src->mods[i].name));
	return rc ? NULL : molt_term_seq(a, MOLT_TERM_LIST, v, n);
}

static molt_term *gen_term(molt_arena *a, const molt_appinfo *from,
			   const molt_appinfo *to)
{
	molt_term *vsn = molt_term_string(a, from->vsn);
	molt_term *up = molt_term_tuple(a, 2, vsn, gen_instrs(a, from, to, 0));
	molt_term *down =
		molt_term_tuple(a, 2, vsn, gen_instrs(a, from, to, 1));
	molt_term *ul = up ? molt_term_seq(a, MOLT_TERM_LIST, &up, 1) : NULL;
	molt_term *dl =
		down ? molt_term_seq(a, MOLT_TERM_LIST, &down, 1) : NULL;

	return molt_term_tuple(a, 3, molt_term_string(a, to->vsn), ul, dl);
}

int molt_appup_gen(molt_appup **out, const molt_appinfo *from,
		   const molt_appinfo *to, molt_err *err)
{
	molt_appup *ap;
	molt_term *t;

	if (strcmp(from->name, to->name) != 0)
		return molt_err_set(err, MOLT_EINVAL,
				    "appup gen: applications differ (%s, %s)",
				    from->name, to->name);
	ap = molt_calloc(1, sizeof(*ap));
	if (!ap || !(ap->arena = molt_arena_new()))
		goto out_oom;
	ap->file = molt_arena_strndup(ap->arena, to->name, strlen(to->name));
	t = gen_term(ap->arena, from, to);
	if (!t || !ap->file)
		goto out_oom;
	ap->term = t;
	ap->vsn = t->u.seq.items[0];
	ap->up = molt_arena_alloc(ap->arena, sizeof(*ap->up));
	ap->down = molt_arena_alloc(ap->arena, sizeof(*ap->down));
	if (!ap->up || !ap->down)
		goto out_oom;
	ap->nup = ap->ndown = 1;
	ap->up[0].key = t->u.seq.items[1]->u.seq.items[0]->u.seq.items[0];
	ap->up[0].instrs = t->u.seq.items[1]->u.seq.items[0]->u.seq.items[1];
	ap->down[0].key = t->u.seq.items[2]->u.seq.items[0]->u.seq.items[0];
	ap->down[0].instrs = t->u.seq.items[2]->u.seq.items[0]->u.seq.items[1];
	*out = ap;
	return 0;
out_oom:
	molt_appup_free(ap);
	return molt_err_set(err, MOLT_ENOMEM, "out of memory generating appup");
}
