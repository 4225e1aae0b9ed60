/* The application controller: the release a node runs, its applications,
 * their env and their top supervisors. */
#ifndef MOLT_RUNTIME_REL_APPS_H
#define MOLT_RUNTIME_REL_APPS_H

#include <pthread.h>
#include <stddef.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "relspec.h"

/*
 * One per node, at rt->apps, set once by molt_runtime_boot_release
 * before any of the release's processes starts and freed by
 * molt_runtime_free after the last process has exited. A module belongs
 * to the application whose app.json lists it; molt_app_env (module.h)
 * finds the application by the running version's module name.
 */
struct cJSON;

typedef struct molt__app {
	char *name;	   /* application name (owned) */
	char *vsn;	   /* its version (owned) */
	char **mods;	   /* its modules' names (owned) */
	size_t n_mods;	   /* their number */
	struct cJSON *env; /* the env object (owned) */
	char *sup_spec;	   /* app.json's "supervisor" as JSON text, or NULL
			      (owned) */
	molt_pid sup;	   /* its top supervisor, 0 if it has none */
} molt__app;

typedef struct molt__apps {
	pthread_mutex_t op_mu; /* one release handler operation at a time
				  (install, permanent), as OTP's
				  release_handler serves one call at a time */
	char *root;	       /* the root, absolute (owned; set at boot) */
	molt_pid root_sup;     /* the node's root supervisor (set at boot) */
	molt_eval_unpurged *unpurged; /* old code the last install left,
					 for permanent (op_mu) */
	size_t n_unpurged;	      /* its entries */
	pthread_mutex_t mu;	      /* guards every field below */
	char *rel_name;		      /* the running release (owned) */
	char *rel_vsn;		      /* its version (owned) */
	molt__app *apps;	      /* in start order (owned) */
	size_t n;		      /* their number */
} molt__apps;

/*
 * A controller for release rs with its applications in start order
 * (order[i] indexes rs->apps). Borrows rs. MOLT_ENOMEM, or MOLT_EINVAL
 * when two applications list the same module.
 */
int molt__apps_new(molt__apps **out, const molt__relspec *rs,
		   const size_t *order, molt_err *err);
void molt__apps_free(molt__apps *apps);
/*
 * The node runs release rs now (an install committed): its name, version,
 * applications (order as for molt__apps_new) and their env replace the
 * old ones at once; an application kept by name keeps its supervisor.
 * On error (MOLT_ENOMEM) nothing changes.
 */
int molt__apps_switch(molt__apps *apps, const molt__relspec *rs,
		      const size_t *order, molt_err *err);
/* Record app's top supervisor (after the release's tree started). */
void molt__apps_set_sup(molt__apps *apps, const char *app, molt_pid sup);

#endif
