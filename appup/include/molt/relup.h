/* Releases as the relup compiler sees them, relup assembly and appup
 * generation. */
#ifndef MOLT_RELUP_H
#define MOLT_RELUP_H

#include <stddef.h>

#include "molt/appup.h"
#include "molt/buf.h"
#include "molt/common.h"

/*
 * A release read from disk: release.json and each application's app.json
 * (docs/appup.md lists the fields read and where they are looked for).
 */
typedef struct molt_release {
	molt_arena *arena;  /* owns everything below */
	const char *dir;    /* the directory it was read from */
	const char *name;   /* release name */
	const char *vsn;    /* release version */
	molt_appinfo *apps; /* applications, in release.json order */
	size_t napps;	    /* number of applications */
} molt_release;

/*
 * Read the release in dir: dir/release.json (or the only
 * dir/releases/VSN/release.json) and dir/lib/NAME-VSN/app.json for each
 * application. Returns owned (molt_release_free) in out. MOLT_ENOTFOUND
 * naming the missing file; MOLT_EPARSE "file:line:col: ..." for bad JSON
 * or a missing field; MOLT_EVERSION for an unknown "format".
 */
MOLT_API int molt_release_load(molt_release **out, const char *dir,
			       molt_err *err);

/* Free a release. NULL is a no-op. */
MOLT_API void molt_release_free(molt_release *rel);

/*
 * Read one app.json into out, strings in arena a (valid until it is
 * freed). MOLT_EPARSE with the position for a bad or missing field.
 */
MOLT_API int molt_app_load(molt_appinfo *out, molt_arena *a, const char *path,
			   molt_err *err);

/* Options of molt_relup_build. */
typedef struct molt_relup_opts {
	const molt_release *to;		 /* the release upgraded to */
	const molt_release *const *from; /* releases upgraded from */
	size_t nfrom;			 /* number of from releases */
	int allow_untouched;		 /* 1: allow changed code, no instr */
	int terms;			 /* 1: OTP's relup term, not JSON */
	molt_diag_fn warn;		 /* warnings, or NULL */
	void *payload;			 /* for warn */
} molt_relup_opts;

#define MOLT_RELUP_OPTS_INIT                                                   \
	{                                                                      \
		NULL, NULL, 0, 0, 0, NULL, NULL                                \
	}

/*
 * Compile the relup from every from release to opts->to and back, as
 * systools:make_relup does: for each application whose version differs
 * the to-version's appup entry for the from-version (up and down),
 * add_application for applications only in the target of a move,
 * remove_application for those only in its source, then the translation
 * of molt_rc_translate. Appends relup.json (docs/appup.md) to out, or
 * with opts->terms OTP's relup file: {Vsn, [{UpFrom, [], Instrs}],
 * [{DownTo, [], Instrs}]}.
 * Errors: a missing appup entry (MOLT_ENOTFOUND naming the application,
 * versions and file), a translation error, or (MOLT_EUNSAFE) a module
 * whose sha256 changed with no instruction loading it, unless
 * allow_untouched.
 */
MOLT_API int molt_relup_build(molt_buf *out, const molt_relup_opts *opts,
			      molt_err *err);

/*
 * Generate the appup of application to going up from (and down to) from:
 * added modules -> add_module, removed -> delete_module, changed modules
 * (sha256, else vsn, differs) -> update with {advanced, []} when the new
 * module declares a state change (a code_change callback, or another
 * state_vsn), else load_module. Returns owned (molt_appup_free) in out.
 */
MOLT_API int molt_appup_gen(molt_appup **out, const molt_appinfo *from,
			    const molt_appinfo *to, molt_err *err);

#endif
