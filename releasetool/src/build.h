/* The build steps other commands share with molt build: staging the
 * release at a tag (built, not packed) in a temporary directory. */
#ifndef MOLT_RELEASETOOL_BUILD_H
#define MOLT_RELEASETOOL_BUILD_H

#include <stddef.h>

#include "molt/common.h"
#include "molt/release.h"

/* Called with the staged roots, roots[i] for tags[i]; borrowed, valid
 * until it returns. A negative return is passed on. */
typedef int (*molt__staged_fn)(const char *const *roots, size_t n,
			       void *payload, molt_err *err);

/*
 * Build the release at each tags[i] of opts->repo as molt build does
 * (opts->repo, progress and payload are used; tag, out and relup_from are
 * not), without touching the repository's work tree, index or HEAD, each
 * into a root-like directory (releases/VSN/release.json,
 * lib/APP-AVSN/app.json, modules/, the appup), then call fn with those
 * directories and remove them. Returns the first build error or fn's
 * result.
 */
int molt__build_stage_tags(const molt_build_options *opts,
			   const char *const *tags, size_t ntags,
			   molt__staged_fn fn, void *payload, molt_err *err);

#endif
