/* A node: the runtime built from its layers (core, code, upgrade, sup, rel),
 * and the embedding API's entry points that reach above core. */
#include <stdatomic.h>
#include <string.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "code/modtab.h"
#include "core/proc.h"
#include "core/rt.h"
#include "rel/apps.h"
#include "sup/sup.h"
#include "upgrade/sysreq.h"
#include "upgrade/upgrade.h"

#include "molt/banned.h"

static molt__version *current(molt_runtime *rt, const char *name)
{
	return molt__modtab_current(rt->modtab, name);
}

int molt_runtime_new(molt_runtime **out, const molt_runtime_options *opts,
		     molt_err *err)
{
	molt_runtime *rt;
	int rc;

	if ((rc = molt__rt_new(&rt, opts, err)) < 0)
		return rc;
	rt->hooks.current = current;
	rt->hooks.on_old = molt__upg_on_old;
	rt->modtab = molt_malloc(sizeof(*rt->modtab));
	if (!rt->modtab || molt__modtab_init(rt->modtab) < 0) {
		molt_free(rt->modtab);
		rt->modtab = NULL;
		molt__rt_free(rt);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	if (molt__modtab_add_builtin(rt->modtab, &molt__sup_module, err) < 0) {
		molt_runtime_free(rt);
		return err ? err->code : MOLT_ERROR;
	}
	*out = rt;
	return MOLT_OK;
}

void molt_runtime_free(molt_runtime *rt)
{
	if (!rt)
		return;
	/* no process may hold a version the table frees */
	molt_runtime_shutdown(rt, 5000);
	molt__apps_free(atomic_load(&rt->apps));
	if (rt->modtab) {
		molt__modtab_release(rt->modtab);
		molt_free(rt->modtab);
	}
	molt__rt_free(rt);
}

void molt_runtime_get_stats(molt_runtime *rt, molt_runtime_stats *out)
{
	molt__rt_get_stats(rt, out);
	out->modules = molt__modtab_count(rt->modtab);
}

/* --- modules (code/) --- */

int molt_runtime_load(molt_runtime *rt, const char *path,
		      const char *expect_name, unsigned flags, char *name_out,
		      size_t name_size, molt_err *err)
{
	return molt__modtab_load(rt, path, expect_name, NULL, flags, name_out,
				 name_size, err);
}

int molt_runtime_purge(molt_runtime *rt, const char *module,
		       unsigned *killed_out, molt_err *err)
{
	return molt__modtab_purge(rt, module, 0, killed_out, err);
}

int molt_runtime_soft_purge(molt_runtime *rt, const char *module, molt_err *err)
{
	return molt__modtab_purge(rt, module, MOLT__PURGE_SOFT, NULL, err);
}

int molt_runtime_delete(molt_runtime *rt, const char *module, molt_err *err)
{
	return molt__modtab_delete(rt, module, err);
}

size_t molt_runtime_modules(molt_runtime *rt, molt_module_info *out, size_t max)
{
	return molt__modtab_list(rt, out, max);
}

int molt_runtime_spawn(molt_runtime *rt, molt_pid *out, const char *module,
		       const void *args, size_t len, molt_err *err)
{
	molt__version *v = molt__modtab_current(rt->modtab, module);
	int rc;

	if (!v)
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "module '%s' has no current version",
				    module);
	rc = molt__proc_spawn(rt, out, v, args, len, 0, 0, err);
	molt__version_unref(v);
	return rc;
}

/* --- system requests (upgrade/) --- */

int molt_runtime_suspend(molt_runtime *rt, molt_pid pid, uint32_t timeout_ms,
			 molt_err *err)
{
	return molt__sysreq_call(rt, pid, MOLT__SYS_SUSPEND, NULL, NULL, NULL,
				 timeout_ms, err);
}

int molt_runtime_resume(molt_runtime *rt, molt_pid pid, molt_err *err)
{
	return molt__sysreq_call(rt, pid, MOLT__SYS_RESUME, NULL, NULL, NULL,
				 60000, err);
}

int molt_runtime_change_code(molt_runtime *rt, molt_pid pid,
			     const molt_vsn_change *chg, const char *extra_json,
			     uint32_t timeout_ms, molt_err *err)
{
	return molt__sysreq_call(rt, pid, MOLT__SYS_CHANGE, chg, extra_json,
				 NULL, timeout_ms, err);
}

int molt_runtime_commit_code(molt_runtime *rt, molt_pid pid,
			     uint32_t timeout_ms, molt_err *err)
{
	return molt__sysreq_call(rt, pid, MOLT__SYS_COMMIT, NULL, NULL, NULL,
				 timeout_ms, err);
}

int molt_runtime_revert_code(molt_runtime *rt, molt_pid pid,
			     uint32_t timeout_ms, molt_err *err)
{
	return molt__sysreq_call(rt, pid, MOLT__SYS_REVERT, NULL, NULL, NULL,
				 timeout_ms, err);
}

int molt_runtime_get_state(molt_runtime *rt, molt_pid pid, char **out,
			   uint32_t timeout_ms, molt_err *err)
{
	return molt__sysreq_call(rt, pid, MOLT__SYS_STATE, NULL, NULL, out,
				 timeout_ms, err);
}
