/* Booting a node from its root's permanent release: verify, order the
 * applications by their deps, load their modules, start their trees. */
#include "relboot.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "apps.h"
#include "code/modtab.h"
#include "core/rt.h"
#include "releases.h"
#include "relspec.h"

#include "molt/banned.h"

static int load_modules(molt_runtime *rt, const molt__relspec *rs,
			const size_t *order, molt_err *err)
{
	for (size_t i = 0; i < rs->n; i++) {
		const molt__appspec *a = &rs->apps[order[i]];

		for (size_t m = 0; m < a->n_mods; m++)
			if (molt__modtab_load(rt, a->paths[m], a->mods[m],
					      a->sums[m], 0, NULL, 0, err) < 0)
				return molt_err_prefix(err, "application '%s'",
						       a->name);
	}
	return MOLT_OK;
}

/* The node's root supervisor: one child per application with a tree, in
 * start order (so stopped in reverse), permanent, intensity 0: an
 * application whose supervisor gives up stops the node, as a permanent
 * application does in OTP. */
char *molt__rel_root_spec(const molt__relspec *rs, const size_t *order)
{
	cJSON *j = cJSON_CreateObject(), *kids, *c;
	char *text = NULL;

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "strategy", "one_for_one");
	cJSON_AddNumberToObject(j, "intensity", 0);
	cJSON_AddNumberToObject(j, "period", 5);
	kids = cJSON_AddArrayToObject(j, "children");
	for (size_t i = 0; kids && i < rs->n; i++) {
		const molt__appspec *a = &rs->apps[order[i]];

		if (!a->sup || !(c = cJSON_CreateObject()))
			continue;
		cJSON_AddStringToObject(c, "id", a->name);
		cJSON_AddItemToObject(c, "supervisor", cJSON_Parse(a->sup));
		cJSON_AddStringToObject(c, "restart", "permanent");
		cJSON_AddStringToObject(c, "shutdown", "infinity");
		cJSON_AddItemToArray(kids, c);
	}
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return text;
}

/* Each application's top supervisor, from the root's which_children. */
int molt__rel_record_sups(molt_runtime *rt, molt__apps *apps, molt_pid root,
			  molt_err *err)
{
	molt_reply_buf r = {0};
	const cJSON *c;
	cJSON *j;
	int rc;

	if ((rc = molt_runtime_call(rt, &r, root, "which_children", 14, 10000,
				    err)) < 0)
		return rc;
	j = cJSON_ParseWithLength(r.data, r.len);
	molt_free(r.data);
	cJSON_ArrayForEach(c, j)
	{
		const char *id =
			cJSON_GetStringValue(cJSON_GetObjectItem(c, "id"));
		const char *pid =
			cJSON_GetStringValue(cJSON_GetObjectItem(c, "pid"));

		if (id && pid)
			molt__apps_set_sup(apps, id,
					   molt_runtime_resolve(rt, pid));
	}
	cJSON_Delete(j);
	return MOLT_OK;
}

static int start_tree(molt_runtime *rt, molt_pid *out, const molt__relspec *rs,
		      const size_t *order, molt__apps *apps, molt_err *err)
{
	char *spec = molt__rel_root_spec(rs, order);
	int rc;

	if (!spec)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = molt_runtime_start_supervisor(rt, out, spec, err);
	cJSON_free(spec);
	if (rc < 0)
		return molt_err_prefix(err, "release %s %s", rs->name, rs->vsn);
	apps->root_sup = *out;
	return molt__rel_record_sups(rt, apps, *out, err);
}

/* Once per node: the controller must be in place before the release's
 * first process runs (its init may read its env). */
static int install_apps(molt_runtime *rt, molt__apps *apps, molt_err *err)
{
	molt__apps *none = NULL;

	if (!atomic_compare_exchange_strong_explicit(&rt->apps, &none, apps,
						     memory_order_acq_rel,
						     memory_order_acquire))
		return molt_err_set(err, MOLT_EBUSY,
				    "this node already runs release %s %s",
				    none->rel_name, none->rel_vsn);
	return MOLT_OK;
}

/*
 * The node booted the permanent release: a release RELEASES.json still
 * calls current was installed by a node that stopped before it was made
 * permanent; as in OTP, a restart makes it unpacked again (it can be
 * installed again). A root RELEASES.json cannot be written to only gets
 * a warning: the node runs anyway.
 */
static void forget_current(const molt__apps *apps, const char *booted)
{
	molt_err err = MOLT_ERR_INIT;
	cJSON *rels = NULL, *e;
	int lock = -1, changed = 0;

	if (molt__root_lock(&lock, apps->root, &err) < 0 ||
	    molt__rels_load(&rels, apps->root, &err) < 0)
		goto out;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(rels, "releases"))
	{
		if (molt__rels_status(e) != MOLT__REL_CURRENT ||
		    (booted &&
		     strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "vsn")),
			    booted) == 0))
			continue;
		molt__rels_set(rels, e, MOLT__REL_UNPACKED);
		changed = 1;
	}
	if (changed)
		molt__rels_save(rels, apps->root, &err);
out:
	if (err.code)
		molt_log(MOLT_LOG_WARN, "release", "%s", err.msg);
	cJSON_Delete(rels);
	molt__root_unlock(lock);
}

static int set_root(molt__apps *apps, const char *root, molt_err *err)
{
	char abs[PATH_MAX];

	if (!realpath(root, abs))
		return molt_err_set(err, MOLT_EIO,
				    "root '%s': cannot resolve it", root);
	if (!(apps->root = molt_strdup(abs)))
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return MOLT_OK;
}

static int boot_release(molt_runtime *rt, molt_pid *out, const char *root,
			const char *vsn, molt_err *err)
{
	molt__relspec rs;
	molt__apps *apps = NULL;
	size_t *order;
	int rc;

	if ((rc = molt__relspec_read_vsn(&rs, root, vsn, err)) < 0)
		return rc;
	order = molt_calloc(rs.n, sizeof(*order));
	if (!order) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out_spec;
	}
	if ((rc = molt__relspec_order(order, &rs, err)) < 0 ||
	    (rc = molt__apps_new(&apps, &rs, order, err)) < 0)
		goto out_order;
	if ((rc = set_root(apps, root, err)) < 0) {
		molt__apps_free(apps);
		goto out_order;
	}
	if ((rc = load_modules(rt, &rs, order, err)) < 0 ||
	    (rc = install_apps(rt, apps, err)) < 0) {
		molt__apps_free(apps);
		goto out_order;
	}
	/* from here rt owns apps (molt_runtime_free frees it) */
	rc = start_tree(rt, out, &rs, order, apps, err);
	if (rc == MOLT_OK)
		forget_current(apps, vsn);
out_order:
	molt_free(order);
out_spec:
	molt__relspec_release(&rs);
	return rc;
}

int molt_runtime_boot_release(molt_runtime *rt, molt_pid *out, const char *root,
			      molt_err *err)
{
	return boot_release(rt, out, root, NULL, err);
}

int molt_runtime_boot_release_vsn(molt_runtime *rt, molt_pid *out,
				  const char *root, const char *vsn,
				  molt_err *err)
{
	if (!vsn)
		return molt_err_set(err, MOLT_EINVAL, "no release version");
	return boot_release(rt, out, root, vsn, err);
}
