/* The application controller: which applications run, their env
 * (molt_app_env), their top supervisors (molt_runtime_apps). */
#include "apps.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/proc.h"
#include "core/rt.h"
#include "core/version.h"

#include "molt/banned.h"

static void app_release(molt__app *a)
{
	for (size_t i = 0; a->mods && i < a->n_mods; i++)
		molt_free(a->mods[i]);
	molt_free(a->mods);
	molt_free(a->name);
	molt_free(a->vsn);
	molt_free(a->sup_spec);
	cJSON_Delete(a->env);
}

static void apps_empty(molt__apps *apps);

void molt__apps_free(molt__apps *apps)
{
	if (!apps)
		return;
	apps_empty(apps);
	molt_free(apps->root);
	molt_free(apps->unpurged);
	pthread_mutex_destroy(&apps->mu);
	pthread_mutex_destroy(&apps->op_mu);
	molt_free(apps);
}

/* The application listing module mod, or NULL. */
static molt__app *app_of(const molt__apps *apps, const char *mod)
{
	for (size_t i = 0; i < apps->n; i++)
		for (size_t m = 0; m < apps->apps[i].n_mods; m++)
			if (strcmp(apps->apps[i].mods[m], mod) == 0)
				return &apps->apps[i];
	return NULL;
}

static int app_init(molt__app *a, const molt__appspec *s, molt_err *err)
{
	a->name = molt_strdup(s->name);
	a->vsn = molt_strdup(s->vsn);
	a->mods = molt_calloc(s->n_mods, sizeof(char *));
	a->env = cJSON_Parse(s->env);
	a->sup_spec = s->sup ? molt_strdup(s->sup) : NULL;
	if (!a->name || !a->vsn || !a->mods || !a->env ||
	    (s->sup && !a->sup_spec))
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (; a->n_mods < s->n_mods; a->n_mods++)
		if (!(a->mods[a->n_mods] = molt_strdup(s->mods[a->n_mods])))
			return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return MOLT_OK;
}

/* The applications so far must not list a module of the next one. */
static int check_modules(const molt__apps *apps, const molt__appspec *s,
			 molt_err *err)
{
	const molt__app *other;

	for (size_t m = 0; m < s->n_mods; m++)
		if ((other = app_of(apps, s->mods[m])))
			return molt_err_set(err, MOLT_EINVAL,
					    "module '%s' is in applications "
					    "'%s' and '%s'",
					    s->mods[m], other->name, s->name);
	return MOLT_OK;
}

/* Fill the release fields of apps (zeroed) from rs. */
static int apps_fill(molt__apps *apps, const molt__relspec *rs,
		     const size_t *order, molt_err *err)
{
	int rc = MOLT_OK;

	apps->rel_name = molt_strdup(rs->name);
	apps->rel_vsn = molt_strdup(rs->vsn);
	apps->apps = molt_calloc(rs->n + 1, sizeof(*apps->apps));
	if (!apps->rel_name || !apps->rel_vsn || !apps->apps)
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (size_t i = 0; rc == MOLT_OK && i < rs->n; i++) {
		const molt__appspec *s = &rs->apps[order[i]];

		if ((rc = check_modules(apps, s, err)) == MOLT_OK)
			rc = app_init(&apps->apps[apps->n++], s, err);
	}
	return rc;
}

/* Free the release fields of apps (which stays usable). */
static void apps_empty(molt__apps *apps)
{
	for (size_t i = 0; i < apps->n; i++)
		app_release(&apps->apps[i]);
	molt_free(apps->apps);
	molt_free(apps->rel_name);
	molt_free(apps->rel_vsn);
	apps->apps = NULL;
	apps->rel_name = apps->rel_vsn = NULL;
	apps->n = 0;
}

int molt__apps_new(molt__apps **out, const molt__relspec *rs,
		   const size_t *order, molt_err *err)
{
	molt__apps *apps = molt_calloc(1, sizeof(*apps));
	int rc;

	if (!apps)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	pthread_mutex_init(&apps->mu, NULL);
	pthread_mutex_init(&apps->op_mu, NULL);
	if ((rc = apps_fill(apps, rs, order, err)) < 0) {
		molt__apps_free(apps);
		return rc;
	}
	*out = apps;
	return MOLT_OK;
}

int molt__apps_switch(molt__apps *apps, const molt__relspec *rs,
		      const size_t *order, molt_err *err)
{
	molt__apps next;
	int rc;

	memset(&next, 0, sizeof(next));
	if ((rc = apps_fill(&next, rs, order, err)) < 0) {
		apps_empty(&next);
		return rc;
	}
	pthread_mutex_lock(&apps->mu);
	for (size_t i = 0; i < next.n; i++)
		for (size_t k = 0; k < apps->n; k++)
			if (strcmp(next.apps[i].name, apps->apps[k].name) == 0)
				next.apps[i].sup = apps->apps[k].sup;
	apps_empty(apps);
	apps->rel_name = next.rel_name;
	apps->rel_vsn = next.rel_vsn;
	apps->apps = next.apps;
	apps->n = next.n;
	pthread_mutex_unlock(&apps->mu);
	return MOLT_OK;
}

void molt__apps_set_sup(molt__apps *apps, const char *app, molt_pid sup)
{
	pthread_mutex_lock(&apps->mu);
	for (size_t i = 0; i < apps->n; i++)
		if (strcmp(apps->apps[i].name, app) == 0)
			apps->apps[i].sup = sup;
	pthread_mutex_unlock(&apps->mu);
}

/* --- module.h --- */

char *molt_app_env(molt_ctx *ctx, const char *key)
{
	molt__apps *apps;
	const molt__app *app;
	const cJSON *v;
	char *text = NULL, *out = NULL;

	if (!ctx || !ctx->ver || !key)
		return NULL;
	apps = atomic_load_explicit(&ctx->rt->apps, memory_order_acquire);
	if (!apps)
		return NULL;
	pthread_mutex_lock(&apps->mu);
	app = app_of(apps, ctx->ver->desc->name);
	v = app ? cJSON_GetObjectItemCaseSensitive(app->env, key) : NULL;
	if (v)
		text = cJSON_PrintUnformatted(v);
	pthread_mutex_unlock(&apps->mu);
	if (!text)
		return NULL;
	out = molt_proc_alloc(ctx, strlen(text) + 1);
	if (out)
		memcpy(out, text, strlen(text) + 1);
	cJSON_free(text);
	return out;
}

int molt_release_vsn(molt_ctx *ctx, char *buf, size_t size)
{
	molt_release_info ri;

	if (!ctx || !buf || !size)
		return MOLT_EINVAL;
	if (molt_runtime_release(ctx->rt, &ri) < 0) {
		buf[0] = 0;
		return MOLT_ENOTFOUND;
	}
	snprintf(buf, size, "%s", ri.vsn);
	return MOLT_OK;
}

/* --- runtime.h --- */

int molt_runtime_release(molt_runtime *rt, molt_release_info *out)
{
	molt__apps *apps =
		atomic_load_explicit(&rt->apps, memory_order_acquire);

	memset(out, 0, sizeof(*out));
	if (!apps)
		return MOLT_ENOTFOUND;
	pthread_mutex_lock(&apps->mu);
	snprintf(out->name, sizeof(out->name), "%s", apps->rel_name);
	snprintf(out->vsn, sizeof(out->vsn), "%s", apps->rel_vsn);
	out->n_apps = apps->n;
	pthread_mutex_unlock(&apps->mu);
	return MOLT_OK;
}

size_t molt_runtime_apps(molt_runtime *rt, molt_app_info *out, size_t max)
{
	molt__apps *apps =
		atomic_load_explicit(&rt->apps, memory_order_acquire);
	size_t n;

	if (!apps)
		return 0;
	pthread_mutex_lock(&apps->mu);
	n = apps->n;
	for (size_t i = 0; i < n && i < max; i++) {
		snprintf(out[i].name, sizeof(out[i].name), "%s",
			 apps->apps[i].name);
		snprintf(out[i].vsn, sizeof(out[i].vsn), "%s",
			 apps->apps[i].vsn);
		out[i].sup = apps->apps[i].sup;
	}
	pthread_mutex_unlock(&apps->mu);
	return n;
}
