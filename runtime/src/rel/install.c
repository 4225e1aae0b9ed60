/* The release handler: install a release on the live node, make it
 * permanent, roll back (install the permanent one again). */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"
#include "molt/script.h"

#include "apps.h"
#include "code/modtab.h"
#include "core/rt.h"
#include "core/version.h"
#include "relboot.h"
#include "releases.h"
#include "relspec.h"
#include "sup/sup.h"
#include "upgrade/upgrade.h"
#include "verify.h"

#include "molt/banned.h"

/* --- finding the script (OTP's do_get_rh_script) --- */

/* The relup.json of release vsn is the one its bundle brought: checked
 * against releases/VSN/MANIFEST.sha256 before it is read. */
static int relup_verified(const char *root, const char *vsn, const char *rel,
			  molt_err *err)
{
	molt__manifest mf;
	int rc;

	if ((rc = molt__manifest_init(&mf, root, vsn, err)) < 0)
		return rc;
	rc = molt__manifest_check(&mf, rel, NULL, err);
	molt__manifest_release(&mf);
	return rc;
}

/* releases/VSN/relup.json, verified, parsed and checked; NULL in *out
 * (and MOLT_OK) when the file does not exist. */
static int read_relup(cJSON **out, const char *root, const char *vsn,
		      molt_err *err)
{
	molt_buf path = MOLT_BUF_INIT, text = MOLT_BUF_INIT;
	const char *fmt;
	int rc;

	*out = NULL;
	if (molt_buf_printf(&path, "%s/releases/%s/relup.json", root, vsn) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = molt_buf_read_file(&text, path.ptr, err);
	if (rc == MOLT_ENOTFOUND) {
		rc = MOLT_OK;
		goto out;
	}
	if (rc < 0 ||
	    (rc = relup_verified(root, vsn, path.ptr + strlen(root) + 1, err)) <
		    0)
		goto out;
	*out = cJSON_ParseWithLength(text.ptr, text.len);
	fmt = cJSON_GetStringValue(cJSON_GetObjectItem(*out, "format"));
	if (!fmt || strcmp(fmt, "molt-relup/1") != 0) {
		rc = molt_err_set(err, *out ? MOLT_EVERSION : MOLT_EPARSE,
				  "%s: not a relup.json of format "
				  "molt-relup/1",
				  path.ptr);
		cJSON_Delete(*out);
		*out = NULL;
	}
out:
	molt_buf_release(&text);
	molt_buf_release(&path);
	return rc;
}

/* The script of list's entry whose key is vsn, or NULL; the keys seen
 * are appended to seen. */
static const cJSON *entry_script(const cJSON *relup, const char *list,
				 const char *key, const char *vsn,
				 molt_buf *seen)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(relup, list))
	{
		const char *k =
			cJSON_GetStringValue(cJSON_GetObjectItem(e, key));
		const cJSON *s = cJSON_GetObjectItem(e, "script");

		if (!k || !cJSON_IsArray(s))
			continue;
		if (strcmp(k, vsn) == 0)
			return s;
		molt_buf_printf(seen, "%s%s", seen->len ? ", " : "", k);
	}
	return NULL;
}

/*
 * The script from release from to release to, as JSON text (owned): an
 * upgrade if releases/TO/relup.json has an "up" entry from from, else a
 * downgrade if releases/FROM/relup.json has a "down" entry to to. No
 * version order is assumed: the relups decide, as in OTP.
 */
static int find_script(char **out, int *down, const char *root,
		       const char *from, const char *to, molt_err *err)
{
	molt_buf ups = MOLT_BUF_INIT, downs = MOLT_BUF_INIT;
	cJSON *up_relup = NULL, *down_relup = NULL;
	const cJSON *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = read_relup(&up_relup, root, to, err)) < 0)
		return rc;
	if (up_relup)
		s = entry_script(up_relup, "up", "from", from, &ups);
	*down = 0;
	if (!s) {
		if ((rc = read_relup(&down_relup, root, from, err)) < 0)
			goto out;
		if (down_relup)
			s = entry_script(down_relup, "down", "to", to, &downs);
		*down = 1;
	}
	if (!s) {
		rc = molt_err_set(
			err, MOLT_ENOTFOUND,
			"no relup script from %s to %s: "
			"releases/%s/relup.json %s%s; "
			"releases/%s/relup.json %s%s",
			from, to, to,
			up_relup ? "has up from: " : "does not exist",
			up_relup ? (ups.len ? ups.ptr : "none") : "", from,
			down_relup ? "has down to: " : "does not exist",
			down_relup ? (downs.len ? downs.ptr : "none") : "");
		goto out;
	}
	if (!(*out = cJSON_PrintUnformatted(s)))
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
out:
	cJSON_Delete(up_relup);
	cJSON_Delete(down_relup);
	molt_buf_release(&ups);
	molt_buf_release(&downs);
	return rc;
}

#define SUP_TIMEOUT 60000u /* ms for a supervisor to change its tree */

typedef struct inst {
	molt_runtime *rt;
	molt__apps *apps;
	const molt_install_options *o;
	molt_install_report *rep;
	molt_err *err;
	cJSON *rels;	  /* RELEASES.json */
	molt__relspec rs; /* the release installed */
	size_t *order;	  /* its start order */
	molt_script *script;
	const char **starts; /* application:start in the script (names
				in rs; rs.n + 1 slots) */
	size_t n_starts;
	char **stops; /* application:stop in the script (owned; one slot
			 per running application, + 1) */
	size_t n_stops;
} inst;

/* --- applications at the commit --- */

static int listed(const char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

static const molt__appspec *new_app(const inst *in, const char *name)
{
	for (size_t i = 0; i < in->rs.n; i++)
		if (strcmp(in->rs.apps[i].name, name) == 0)
			return &in->rs.apps[i];
	return NULL;
}

/* The running application name (apps->mu held), or NULL. */
static molt__app *old_app(const molt__apps *apps, const char *name)
{
	for (size_t i = 0; i < apps->n; i++)
		if (strcmp(apps->apps[i].name, name) == 0)
			return &apps->apps[i];
	return NULL;
}

/*
 * application:start/stop/load/unload([App, ...]) in the script. Starting
 * and stopping are done at the commit (at_commit), so that a script that
 * fails leaves every application as it was; here the application is
 * checked and remembered. A stop and a start of one application is
 * restart_application.
 */
static int app_apply(void *payload, const char *fn, const char *args,
		     molt_err *err)
{
	inst *in = payload;
	cJSON *a = cJSON_Parse(args);
	const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(a, 0));
	int rc = MOLT_OK, known;

	if (!name) {
		cJSON_Delete(a);
		return molt_err_set(err, MOLT_EINVAL,
				    "expected [App, ...] as arguments");
	}
	pthread_mutex_lock(&in->apps->mu);
	known = old_app(in->apps, name) != NULL;
	pthread_mutex_unlock(&in->apps->mu);
	if (strcmp(fn, "start") == 0) {
		if (!new_app(in, name))
			rc = molt_err_set(err, MOLT_ENOTFOUND,
					  "release %s has no application '%s'",
					  in->rs.vsn, name);
		else if (!listed(in->starts, in->n_starts, name))
			in->starts[in->n_starts++] = new_app(in, name)->name;
	} else if (strcmp(fn, "stop") == 0) {
		if (!known)
			rc = molt_err_set(err, MOLT_ENOTFOUND,
					  "application '%s' is not running",
					  name);
		else if (!listed((const char *const *)in->stops, in->n_stops,
				 name) &&
			 !(in->stops[in->n_stops++] = molt_strdup(name)))
			rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	} else if (strcmp(fn, "load") != 0 && strcmp(fn, "unload") != 0) {
		rc = molt_err_set(err, MOLT_EINVAL,
				  "application:%s is not supported (start, "
				  "stop, load and unload are)",
				  fn);
	}
	cJSON_Delete(a);
	return rc;
}

/* One problem at the commit: logged, and the first one reported. */
static void commit_warn(inst *in, const char *what, const molt_err *e)
{
	molt_log(MOLT_LOG_ERROR, "release", "install %s: %s: %s", in->rep->to,
		 what, e->msg);
	if (!in->rep->warning[0])
		snprintf(in->rep->warning, sizeof(in->rep->warning),
			 "%.120s: %.380s", what, e->msg);
}

/* The root supervisor's spec for the new release, leaving out the
 * applications being restarted when without_restarted. */
static int update_root(inst *in, int without_restarted)
{
	molt__relspec kept = in->rs;
	size_t *order = molt_calloc(in->rs.n + 1, sizeof(*order));
	molt_err e = MOLT_ERR_INIT;
	char *spec;
	int rc;

	if (!order)
		return MOLT_ENOMEM;
	kept.n = 0; /* root_spec reads apps[order[k]] for k < n */
	for (size_t i = 0; i < in->rs.n; i++) {
		const char *name = in->rs.apps[in->order[i]].name;

		if (without_restarted &&
		    listed((const char *const *)in->stops, in->n_stops, name) &&
		    listed(in->starts, in->n_starts, name))
			continue;
		order[kept.n++] = in->order[i];
	}
	spec = molt__rel_root_spec(&kept, order);
	molt_free(order);
	if (!spec)
		return MOLT_ENOMEM;
	rc = molt__sup_update(in->rt, in->apps->root_sup, spec, SUP_TIMEOUT,
			      NULL, &e);
	cJSON_free(spec);
	if (rc < 0)
		commit_warn(in, "root supervisor", &e);
	return rc;
}

/* Applications kept (not restarted) whose supervisor spec changed get
 * the new one ({update, Sup, supervisor} for every changed tree). */
static void update_trees(inst *in, char **old_specs, molt_pid *old_sups,
			 char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const molt__appspec *a = new_app(in, names[i]);
		molt_err e = MOLT_ERR_INIT;

		if (!a || !a->sup || !old_sups[i] ||
		    (listed((const char *const *)in->stops, in->n_stops,
			    names[i]) &&
		     listed(in->starts, in->n_starts, names[i])))
			continue;
		if (old_specs[i] && strcmp(old_specs[i], a->sup) == 0)
			continue;
		if (molt__sup_update(in->rt, old_sups[i], a->sup, SUP_TIMEOUT,
				     NULL, &e) < 0)
			commit_warn(in, names[i], &e);
	}
}

/*
 * The script committed: the node runs the new code. Switch the
 * application controller (applications, versions, env: the env changes
 * now, and only on a commit), then the trees: restarted applications
 * stop, the root supervisor takes the new release's applications
 * (removed ones stop, added ones start), restarted ones start again, and
 * kept ones whose tree changed get their new spec. This runs before the
 * post-purges, so the processes of a removed module have exited when its
 * old code is purged.
 */
static void at_commit(void *payload)
{
	inst *in = payload;
	molt__apps *apps = in->apps;
	size_t n;
	char **names, **specs;
	molt_pid *sups;
	molt_err e = MOLT_ERR_INIT;

	pthread_mutex_lock(&apps->mu);
	n = apps->n;
	names = molt_calloc(n + 1, sizeof(*names));
	specs = molt_calloc(n + 1, sizeof(*specs));
	sups = molt_calloc(n + 1, sizeof(*sups));
	for (size_t i = 0; names && specs && sups && i < n; i++) {
		names[i] = molt_strdup(apps->apps[i].name);
		specs[i] = apps->apps[i].sup_spec
				   ? molt_strdup(apps->apps[i].sup_spec)
				   : NULL;
		sups[i] = apps->apps[i].sup;
	}
	pthread_mutex_unlock(&apps->mu);
	if (molt__apps_switch(apps, &in->rs, in->order, &e) < 0)
		commit_warn(in, "application controller", &e);
	if (apps->root_sup) {
		update_root(in, 1);
		update_root(in, 0);
		if (molt__rel_record_sups(in->rt, apps, apps->root_sup, &e) < 0)
			commit_warn(in, "root supervisor", &e);
	}
	if (names && specs && sups)
		update_trees(in, specs, sups, names, n);
	for (size_t i = 0; i < n; i++) {
		molt_free(names ? names[i] : NULL);
		molt_free(specs ? specs[i] : NULL);
	}
	molt_free(names);
	molt_free(specs);
	molt_free(sups);
}

/* --- the install --- */

static int restarts(const molt_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ins[i].kind == MOLT_INS_RESTART_NEW_EMULATOR ||
		    s->ins[i].kind == MOLT_INS_RESTART_EMULATOR)
			return 1;
	return 0;
}

/* Which release, from which, and the script between them. */
static int prepare(inst *in, const char *vsn)
{
	molt_install_report *rep = in->rep;
	molt_err *err = in->err;
	const char *root = in->apps->root;
	char *text = NULL, *have;
	molt_script_where w;
	int rc;

	pthread_mutex_lock(&in->apps->mu);
	snprintf(rep->name, sizeof(rep->name), "%s", in->apps->rel_name);
	snprintf(rep->from, sizeof(rep->from), "%s", in->apps->rel_vsn);
	pthread_mutex_unlock(&in->apps->mu);
	if ((rc = molt__rels_load(&in->rels, root, err)) < 0)
		return rc;
	if (!vsn && !(vsn = molt__rels_with(in->rels, MOLT__REL_PERMANENT)))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "%s/releases/RELEASES.json: no release is "
				    "permanent",
				    root);
	snprintf(rep->to, sizeof(rep->to), "%s", vsn);
	if (!molt__rels_find(in->rels, vsn)) {
		have = molt__rels_list(in->rels);
		rc = molt_err_set(err, MOLT_ENOTFOUND,
				  "no release %s in %s (it has: %s)", vsn, root,
				  have ? have : "?");
		molt_free(have);
		return rc;
	}
	if (strcmp(vsn, rep->from) == 0)
		return molt_err_set(err, MOLT_EEXISTS,
				    "release %s already runs on this node",
				    vsn);
	if ((rc = find_script(&text, &rep->down, root, rep->from, vsn, err)) <
	    0)
		return rc;
	rc = molt_script_parse(&in->script, text, &w, err);
	cJSON_free(text);
	if (rc < 0)
		return molt_err_prefix(err, "releases/%s/relup.json",
				       rep->down ? rep->from : vsn);
	rep->restart = restarts(in->script);
	/* every file of the release against its manifest, before any of its
	 * code is loaded */
	if ((rc = molt__relspec_read_vsn(&in->rs, root, vsn, err)) < 0)
		return rc;
	in->order = molt_calloc(in->rs.n + 1, sizeof(*in->order));
	in->starts = molt_calloc(in->rs.n + 1, sizeof(*in->starts));
	pthread_mutex_lock(&in->apps->mu);
	in->stops = molt_calloc(in->apps->n + 1, sizeof(*in->stops));
	pthread_mutex_unlock(&in->apps->mu);
	if (!in->order || !in->starts || !in->stops)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return molt__relspec_order(in->order, &in->rs, err);
}

/* RELEASES.json after vsn was installed: it becomes current, unless it
 * is the permanent release, installed again, which stays permanent while
 * the current one becomes old (OTP's status table). */
static int record_installed(inst *in)
{
	cJSON *e = molt__rels_find(in->rels, in->rep->to), *c;

	in->rep->permanent = molt__rels_status(e) == MOLT__REL_PERMANENT;
	if (!in->rep->permanent)
		molt__rels_set(in->rels, e, MOLT__REL_CURRENT);
	else
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(in->rels, "releases"))
		{
			if (molt__rels_status(c) == MOLT__REL_CURRENT)
				molt__rels_set(in->rels, c, MOLT__REL_OLD);
		}
	return molt__rels_save(in->rels, in->apps->root, in->err);
}

/* Keep the unpurged list for permanent (brutal ones are purged then). */
static void keep_unpurged(inst *in)
{
	molt_eval_report *r = &in->rep->eval;
	molt__apps *apps = in->apps;

	molt_free(apps->unpurged);
	apps->unpurged = NULL;
	apps->n_unpurged = 0;
	if (!r->n_unpurged)
		return;
	apps->unpurged = molt_calloc(r->n_unpurged, sizeof(*apps->unpurged));
	if (!apps->unpurged)
		return; /* advice only: the old code stays until purged */
	memcpy(apps->unpurged, r->unpurged,
	       r->n_unpurged * sizeof(*apps->unpurged));
	apps->n_unpurged = r->n_unpurged;
}

/* load_object_code loads only the release's modules, with app.json's
 * sums (the eval's module_sum hook). */
static int module_sum(void *payload, const char *app, const char *vsn,
		      const char *mod, const char **sum, molt_err *err)
{
	const inst *in = payload;

	for (size_t i = 0; i < in->rs.n; i++) {
		const molt__appspec *a = &in->rs.apps[i];

		if (strcmp(a->name, app) != 0 || strcmp(a->vsn, vsn) != 0)
			continue;
		for (size_t m = 0; m < a->n_mods; m++)
			if (strcmp(a->mods[m], mod) == 0) {
				*sum = a->sums[m];
				return MOLT_OK;
			}
	}
	return molt_err_set(err, MOLT_ENOTFOUND,
			    "module '%s' of %s-%s is not in release %s's "
			    "app.json files: not loaded unverified",
			    mod, app, vsn, in->rs.vsn);
}

static int evaluate(inst *in)
{
	molt_eval_options eo = MOLT_EVAL_OPTIONS_INIT;
	molt_buf lib = MOLT_BUF_INIT;
	int rc;

	if (molt_buf_printf(&lib, "%s/lib", in->apps->root) < 0)
		return molt_err_set(in->err, MOLT_ENOMEM, "out of memory");
	eo.lib_dir = lib.ptr;
	eo.dry_run = in->o->dry_run;
	eo.suspend_timeout = in->o->suspend_timeout;
	eo.code_change_timeout = in->o->code_change_timeout;
	eo.app_apply = app_apply;
	eo.at_commit = at_commit;
	eo.module_sum = module_sum;
	eo.payload = in;
	rc = molt_runtime_eval_script(in->rt, in->script, &eo, &in->rep->eval,
				      in->err);
	molt_buf_release(&lib);
	return rc;
}

static int install(inst *in, const char *vsn)
{
	int lock = -1, rc;

	if ((rc = molt__root_lock(&lock, in->apps->root, in->err)) < 0)
		return rc;
	if ((rc = prepare(in, vsn)) < 0)
		goto out;
	if (in->rep->restart) {
		/* the node restarts into the release: nothing runs here */
		if (!in->o->dry_run)
			rc = record_installed(in);
		goto out;
	}
	if ((rc = evaluate(in)) < 0 || in->o->dry_run)
		goto out;
	/* committed (at_commit switched the applications): from here the
	 * node runs the new release */
	rc = record_installed(in);
	keep_unpurged(in);
	if (rc < 0)
		molt_log(MOLT_LOG_ERROR, "release",
			 "release %s %s is installed, but: %s", in->rep->name,
			 in->rep->to, in->err ? in->err->msg : "");
out:
	molt__root_unlock(lock);
	return rc;
}

static molt__apps *booted(molt_runtime *rt, molt_err *err)
{
	molt__apps *apps =
		atomic_load_explicit(&rt->apps, memory_order_acquire);

	if (!apps)
		molt_err_set(err, MOLT_ENOTFOUND,
			     "this node runs no release (it was booted with "
			     "--boot, not from a root's release)");
	return apps;
}

int molt_runtime_install(molt_runtime *rt, const char *vsn,
			 const molt_install_options *opts,
			 molt_install_report *rep, molt_err *err)
{
	static const molt_install_options dflt = MOLT_INSTALL_OPTIONS_INIT;
	inst in;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->eval.failed_index = -1;
	memset(&in, 0, sizeof(in));
	in.rt = rt;
	in.o = opts ? opts : &dflt;
	in.rep = rep;
	in.err = err;
	if (!(in.apps = booted(rt, err)))
		return MOLT_ENOTFOUND;
	if (pthread_mutex_trylock(&in.apps->op_mu) != 0)
		return molt_err_set(err, MOLT_EBUSY,
				    "another release handler operation is "
				    "running");
	rc = install(&in, vsn);
	pthread_mutex_unlock(&in.apps->op_mu);
	if (rc == MOLT_OK && !in.o->dry_run)
		molt_log(MOLT_LOG_INFO, "release",
			 "installed release %s %s "
			 "(from %s, %s)",
			 rep->name, rep->to, rep->from,
			 rep->down ? "down" : "up");
	molt_script_free(in.script);
	molt_free(in.order);
	molt_free(in.starts);
	for (size_t i = 0; i < in.n_stops; i++)
		molt_free(in.stops[i]);
	molt_free(in.stops);
	molt__relspec_release(&in.rs);
	cJSON_Delete(in.rels);
	return rc;
}

void molt_install_report_release(molt_install_report *rep)
{
	if (rep)
		molt_eval_report_release(&rep->eval);
}

/* --- permanent --- */

/*
 * OTP kills the processes still in old code whose PostPurge is
 * brutal_purge at make_permanent. A molt process between callbacks has
 * nothing of the old code on a stack, so it is first moved to the
 * current code by the lazy rule (its state converted by code_change when
 * the layouts differ); only a process in a callback of the old code, or
 * whose state no code can convert, is left for the purge to kill.
 */
static void purge_brutal(molt_runtime *rt, molt__apps *apps, unsigned *killed)
{
	for (size_t i = 0; i < apps->n_unpurged; i++) {
		molt__version *old;
		unsigned k = 0;

		if (!apps->unpurged[i].brutal)
			continue;
		old = molt__modtab_old(rt->modtab, apps->unpurged[i].module);
		if (old) {
			molt__upg_reclaim(rt, &old, 1);
			molt__version_unref(old);
		}
		if (molt_runtime_purge(rt, apps->unpurged[i].module, &k,
				       NULL) == MOLT_OK &&
		    killed)
			*killed += k;
	}
	molt_free(apps->unpurged);
	apps->unpurged = NULL;
	apps->n_unpurged = 0;
}

static int permanent(molt_runtime *rt, molt__apps *apps, const char *vsn,
		     unsigned *killed, molt_err *err)
{
	cJSON *rels = NULL, *e;
	int lock = -1, st, rc;
	char running[128];

	pthread_mutex_lock(&apps->mu);
	snprintf(running, sizeof(running), "%s", apps->rel_vsn);
	pthread_mutex_unlock(&apps->mu);
	if ((rc = molt__root_lock(&lock, apps->root, err)) < 0)
		return rc;
	if ((rc = molt__rels_load(&rels, apps->root, err)) < 0)
		goto out;
	if (!(e = molt__rels_find(rels, vsn))) {
		rc = molt_err_set(err, MOLT_ENOTFOUND, "no release %s in %s",
				  vsn, apps->root);
		goto out;
	}
	st = molt__rels_status(e);
	if (st == MOLT__REL_PERMANENT)
		goto out; /* OTP: a no-op */
	if (st != MOLT__REL_CURRENT || strcmp(vsn, running) != 0) {
		rc = molt_err_set(err, MOLT_EINVAL,
				  "release %s is %s: only the release the "
				  "node runs (%s) can be made permanent%s",
				  vsn, molt__rels_status_name(st), running,
				  st == MOLT__REL_UNPACKED ? " (molt install "
							     "it first)"
							   : "");
		goto out;
	}
	molt__rels_set(rels, e, MOLT__REL_PERMANENT);
	if ((rc = molt__rels_save(rels, apps->root, err)) < 0)
		goto out;
	purge_brutal(rt, apps, killed);
	molt_log(MOLT_LOG_INFO, "release", "release %s is permanent", vsn);
out:
	cJSON_Delete(rels);
	molt__root_unlock(lock);
	return rc;
}

int molt_runtime_make_permanent(molt_runtime *rt, const char *vsn,
				unsigned *killed, molt_err *err)
{
	molt__apps *apps = booted(rt, err);
	int rc;

	if (killed)
		*killed = 0;
	if (!apps)
		return MOLT_ENOTFOUND;
	if (!vsn)
		return molt_err_set(err, MOLT_EINVAL, "permanent: no version");
	if (pthread_mutex_trylock(&apps->op_mu) != 0)
		return molt_err_set(err, MOLT_EBUSY,
				    "another release handler operation is "
				    "running");
	rc = permanent(rt, apps, vsn, killed, err);
	pthread_mutex_unlock(&apps->op_mu);
	return rc;
}
