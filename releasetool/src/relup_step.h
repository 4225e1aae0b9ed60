/* The relup step of `molt build --relup-from`: one call into the appup
 * library (issue 4), kept in its own file so it can be wired alone. */
#ifndef MOLT_RELEASETOOL_RELUP_STEP_H
#define MOLT_RELEASETOOL_RELUP_STEP_H

#include <stddef.h>

#include "molt/common.h"

/*
 * Compile the relup of release to_vsn from each release from_vsns[i].
 * Every root is a directory laid out like a node's root (see
 * molt/release.h): releases/VSN/release.json, lib/APP-AVSN/app.json, the
 * modules and the appups. Returns owned relup.json text in *out
 * (molt_free). Without the appup library: MOLT_ERROR, "relup compilation
 * needs the appup library (issue 4)".
 */
int molt__build_relup(char **out, const char *to_root, const char *to_vsn,
		      const char *const *from_roots,
		      const char *const *from_vsns, size_t nfrom,
		      molt_err *err);

#endif
