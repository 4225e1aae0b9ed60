/* Application instructions (systools_rc translate_application_instrs). */
#include <string.h>

#include "rc.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

static molt_term *el(const molt_term *t, size_t i)
{
	return t->u.seq.items[i - 1];
}

static const molt_appinfo *find_app(const molt_appinfo *apps, size_t n,
				    const molt_term *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (molt_term_is_atom(name, apps[i].name))
			return &apps[i];
	return NULL;
}

static int no_such_app(rc_ctx *c, molt_term *name)
{
	return molt__rc_fail(
		c, name->pos,
		molt_term_tuple(
			c->out, 2,
			molt__rc_atom(c, "no_such_application", name->pos),
			name),
		"no such application: %s", molt__rc_name(name));
}

/* {apply, {application, F, Args}} */
static molt_term *app_apply(rc_ctx *c, molt_pos p, const char *f,
			    molt_term *app, const char *type)
{
	molt_term *args[2] = {app, type ? molt__rc_atom(c, type, p) : NULL};
	molt_term *list =
		molt_term_seq(c->out, MOLT_TERM_LIST, args, type ? 2 : 1);
	molt_term *mfa;

	if (!list || (type && !args[1]))
		return NULL;
	mfa = molt_term_tuple(c->out, 3, molt__rc_atom(c, "application", p),
			      molt__rc_atom(c, f, p), list);
	return mfa ? molt_term_tuple(c->out, 2, molt__rc_atom(c, "apply", p),
				     mfa)
		   : NULL;
}

static molt_term *mod_list(rc_ctx *c, const molt_appinfo *app, molt_pos p)
{
	molt_term **v = molt_arena_alloc(c->tmp, (app->nmods + 1) * sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < app->nmods; i++)
		if (!(v[i] = molt__rc_atom(c, app->mods[i].name, p)))
			return NULL;
	return molt_term_seq(c->out, MOLT_TERM_LIST, v, app->nmods);
}

static int add_modules(rc_ctx *c, const molt_appinfo *app, molt_pos p, vec *out)
{
	size_t i;
	int rc;

	for (i = 0; i < app->nmods; i++) {
		molt_term *t = molt_term_tuple(
			c->out, 3, molt__rc_atom(c, "add_module", p),
			molt__rc_atom(c, app->mods[i].name, p),
			molt_term_seq(c->out, MOLT_TERM_LIST, NULL, 0));

		if ((rc = molt__vec_push(c, out, t)) < 0)
			return rc;
	}
	return 0;
}

/* The start (or load) of app by its type; nothing for none. */
static int start_app(rc_ctx *c, molt_term *name, const char *type, molt_pos p,
		     vec *out)
{
	if (strcmp(type, "none") == 0)
		return 0;
	if (strcmp(type, "load") == 0)
		return molt__vec_push(c, out,
				      app_apply(c, p, "load", name, NULL));
	return molt__vec_push(c, out, app_apply(c, p, "start", name, type));
}

/* stop, remove and purge all of app's modules. */
static int stop_app(rc_ctx *c, molt_term *name, const molt_appinfo *app,
		    molt_pos p, vec *out)
{
	molt_term *bp = molt__rc_atom(c, "brutal_purge", p);
	size_t i;
	int rc;

	if ((rc = molt__vec_push(c, out, app_apply(c, p, "stop", name, NULL))) <
	    0)
		return rc;
	for (i = 0; i < app->nmods; i++) {
		molt_term *t = molt_term_tuple(
			c->out, 3, molt__rc_atom(c, app->mods[i].name, p), bp,
			bp);

		t = t ? molt_term_tuple(c->out, 2,
					molt__rc_atom(c, "remove", p), t)
		      : NULL;
		if ((rc = molt__vec_push(c, out, t)) < 0)
			return rc;
	}
	return molt__vec_push(c, out,
			      molt_term_tuple(c->out, 2,
					      molt__rc_atom(c, "purge", p),
					      mod_list(c, app, p)));
}

static int add_application(rc_ctx *c, molt_term *ins, vec *out)
{
	const molt_rc_opts *o = c->opts;
	molt_term *name = el(ins, 2);
	const molt_appinfo *app = find_app(o->apps, o->napps, name);
	int rc;

	if (!app)
		return no_such_app(c, name);
	if ((rc = add_modules(c, app, ins->pos, out)) < 0)
		return rc;
	return start_app(c, name, el(ins, 3)->u.str.s, ins->pos, out);
}

static int remove_application(rc_ctx *c, molt_term *ins, vec *out)
{
	const molt_rc_opts *o = c->opts;
	molt_term *name = el(ins, 2);
	const molt_appinfo *pre;
	int rc;

	if (find_app(o->apps, o->napps, name))
		return molt__rc_fail(
			c, name->pos,
			molt_term_tuple(
				c->out, 2,
				molt__rc_atom(c, "removed_application_present",
					      name->pos),
				name),
			"removed application %s is still in the release",
			molt__rc_name(name));
	pre = find_app(o->pre_apps, o->npre_apps, name);
	if (!pre)
		return no_such_app(c, name);
	if ((rc = stop_app(c, name, pre, ins->pos, out)) < 0)
		return rc;
	return molt__vec_push(c, out,
			      app_apply(c, ins->pos, "unload", name, NULL));
}

static int restart_application(rc_ctx *c, molt_term *ins, vec *out)
{
	const molt_rc_opts *o = c->opts;
	molt_term *name = el(ins, 2);
	const molt_appinfo *pre, *post;
	int rc;

	pre = find_app(o->pre_apps, o->npre_apps, name);
	if (!pre)
		return no_such_app(c, name);
	post = find_app(o->apps, o->napps, name);
	if (!post)
		return no_such_app(c, name);
	if ((rc = stop_app(c, name, pre, ins->pos, out)) < 0 ||
	    (rc = add_modules(c, post, ins->pos, out)) < 0)
		return rc;
	return start_app(c, name, post->type ? post->type : "permanent",
			 ins->pos, out);
}

int molt__rc_application_instrs(rc_ctx *c, const vec *after, vec *out)
{
	size_t i;
	int rc;

	for (i = 0; i < after->n; i++) {
		molt_term *ins = after->v[i];

		if (c->check_only) {
			/* its modules are unknown here: see add_edges */
			if (molt_term_is_tagged(ins, "add_application", 3) ||
			    molt_term_is_tagged(ins, "restart_application", 2))
				c->app_instrs = 1;
			rc = molt__vec_push(c, out, ins);
		} else if (molt_term_is_tagged(ins, "add_application", 3))
			rc = add_application(c, ins, out);
		else if (molt_term_is_tagged(ins, "remove_application", 2))
			rc = remove_application(c, ins, out);
		else if (molt_term_is_tagged(ins, "restart_application", 2))
			rc = restart_application(c, ins, out);
		else
			rc = molt__vec_push(c, out, ins);
		if (rc < 0)
			return rc;
	}
	return 0;
}
