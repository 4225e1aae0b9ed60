/* The relup step of `molt build --relup-from`: one call into the appup
 * library (issue 4), kept in its own file so it can be wired alone. */
#ifndef MOLT_RELEASETOOL_RELUP_STEP_H
#define MOLT_RELEASETOOL_RELUP_STEP_H

#include <stddef.h>

#include "molt/buf.h"
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

/*
 * Generate the appup of the application whose app.json is at to_app, up
 * from (and down to) the application of each from_apps[i] (app.json
 * paths), one entry per distinct older version (appup_gen.h), and append
 * it to out in OTP's term syntax. *nentries gets the number of entries in
 * each direction (0: nothing needed, nothing appended). Without the appup
 * library: MOLT_ERROR, as molt__build_relup.
 */
int molt__build_gen_appup(molt_buf *out, size_t *nentries, const char *to_app,
			  const char *const *from_apps, size_t nfrom,
			  molt_err *err);

#endif
