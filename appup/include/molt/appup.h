/* Appups: reading both syntaxes, version search, checking, and the
 * high-level -> low-level translation that OTP's systools_rc does. */
#ifndef MOLT_APPUP_H
#define MOLT_APPUP_H

#include <stddef.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/term.h"

/* One {Vsn, Instructions} entry of an up or down list. */
typedef struct molt_appup_entry {
	const molt_term *key;	 /* a string (exact) or binary (regex) */
	const molt_term *instrs; /* the instruction list (a list term) */
} molt_appup_entry;

/*
 * A parsed appup: {Vsn, [{UpFrom, Instrs}], [{DownTo, Instrs}]}. All terms
 * live in arena, which the appup owns. A version written as a list of
 * character codes (io:format("~w") writes "1.0" as [49,46,48]) is made a
 * string term in vsn and the entry keys, as OTP reads both alike.
 */
typedef struct molt_appup {
	molt_arena *arena;	/* owns every term below */
	const char *file;	/* arena copy of the file name */
	const molt_term *term;	/* the whole appup term */
	const molt_term *vsn;	/* the first element (normally a string) */
	molt_appup_entry *up;	/* up entries, in file order */
	size_t nup;		/* number of up entries */
	molt_appup_entry *down; /* down entries, in file order */
	size_t ndown;		/* number of down entries */
	size_t ignored_terms;	/* terms after the first (OTP ignores them) */
} molt_appup;

/* Options for loading an appup. */
typedef struct molt_appup_load_opts {
	const char *vsn;  /* version for .appup.src templates (VSN, %VSN%) */
	int json;	  /* -1: by file name (.json), 0: terms, 1: JSON */
	int placeholders; /* 1: an unsubstituted %VSN% is an error */
} molt_appup_load_opts;

#define MOLT_APPUP_LOAD_OPTS_INIT                                              \
	{                                                                      \
		NULL, -1, 0                                                    \
	}

/*
 * Read the appup at path (.appup, .appup.src or appup.json). Returns owned
 * (molt_appup_free) in out. Errors: MOLT_ENOTFOUND/MOLT_EIO for the file,
 * MOLT_EPARSE with "file:line:col: ..." for bad syntax or a bad shape.
 */
MOLT_API int molt_appup_load(molt_appup **out, const char *path,
			     const molt_appup_load_opts *opts, molt_err *err);

/* As molt_appup_load, from text (len bytes) named file. */
MOLT_API int molt_appup_parse(molt_appup **out, const char *file,
			      const char *text, size_t len,
			      const molt_appup_load_opts *opts, molt_err *err);

/* Free an appup and its arena. NULL is a no-op. */
MOLT_API void molt_appup_free(molt_appup *ap);

/*
 * Does key match vsn with OTP's rule? A string (or a list of character
 * codes, the same string for Erlang) must be equal; a binary is
 * a PCRE pattern whose first match must cover the whole of vsn; anything
 * else never matches. Returns 1 or 0, or MOLT_EPARSE for a bad pattern
 * (MOLT_ENOMEM when out of memory).
 */
MOLT_API int molt_vsn_match(const molt_term *key, const char *vsn,
			    molt_err *err);

/*
 * The instruction list of the first entry matching vsn (down: the down
 * list). Borrowed: valid until ap is freed. MOLT_ENOTFOUND naming the
 * appup file and versions when no entry matches.
 */
MOLT_API int molt_appup_search(const molt_term **out, const molt_appup *ap,
			       int down, const char *vsn, molt_err *err);

/* Severity of a diagnostic from molt_appup_check. */
enum molt_diag_level { MOLT_DIAG_WARNING = 1, MOLT_DIAG_ERROR = 2 };

/* Receives one diagnostic: a one-line "file:line:col: ..." message. */
typedef void (*molt_diag_fn)(int level, const char *msg, void *payload);

/*
 * Check every entry of an appup on its own: instruction syntax and value
 * domains, point_of_no_return placement, DepMods naming a module with no
 * instruction in the same entry, suspend/resume and start/stop pairing,
 * code_change of a module not suspended, regex keys that do not compile.
 * Warnings: dependency cycles, terms after the first, a vsn placeholder,
 * entries never reached. Returns MOLT_OK when there is no error, else
 * MOLT_EPARSE (err holds the first error); diag may be NULL.
 */
MOLT_API int molt_appup_check(const molt_appup *ap, molt_diag_fn diag,
			      void *payload, molt_err *err);

/* A module of an application, as app.json describes it. */
typedef struct molt_modinfo {
	const char *name;   /* module name */
	const char *vsn;    /* module version, or NULL */
	long state_vsn;	    /* declared state layout version (0 if none) */
	int code_change;    /* 1 if it has a code_change callback */
	const char *sha256; /* hex checksum of the .so, or NULL */
} molt_modinfo;

/* An application of a release (OTP's #application{} record, in part). */
typedef struct molt_appinfo {
	const char *name;	  /* application name */
	const char *vsn;	  /* application version */
	const char *type;	  /* start type: permanent, load, ... */
	const molt_modinfo *mods; /* its modules, in app.json order */
	size_t nmods;		  /* number of modules */
	const char *appup_path;	  /* its appup file, or NULL */
} molt_appinfo;

typedef enum molt_dir { MOLT_UP = 0, MOLT_DOWN = 1 } molt_dir;

/* Options of molt_rc_translate. */
typedef struct molt_rc_opts {
	molt_dir mode;		      /* MOLT_UP or MOLT_DOWN ("dn") */
	const molt_appinfo *apps;     /* release moved to (OTP's Appls) */
	size_t napps;		      /* number of apps */
	const molt_appinfo *pre_apps; /* release left (PreAppls) */
	size_t npre_apps;	      /* number of pre_apps */
	int otp_quirks;		      /* 1: skip the code_change check */
} molt_rc_opts;

#define MOLT_RC_OPTS_INIT                                                      \
	{                                                                      \
		MOLT_UP, NULL, 0, NULL, 0, 0                                   \
	}

/*
 * Translate nscripts instruction lists (each a list term: one per
 * application, plus the extra ones of a relup) into one low-level script,
 * exactly as OTP 25's systools_rc:translate_scripts/4 does, except for
 * the deterministic tie-break and the code_change check (docs/appup.md).
 * Returns in out a list term in arena a. On error returns MOLT_EPARSE
 * (or MOLT_ENOMEM) with a positioned message in err and, if reason is not
 * NULL, OTP's error reason term (e.g. {undef_module, m}) in *reason.
 * If groups is not NULL it receives the dependency order chosen for each
 * group: a list of groups, each a list of strong components (lists of
 * module atoms), dependents first; on failure, the groups ordered before
 * the failing step.
 */
MOLT_API int molt_rc_translate(molt_term **out, molt_arena *a,
			       const molt_rc_opts *opts,
			       const molt_term *const *scripts, size_t nscripts,
			       molt_term **reason, molt_term **groups,
			       molt_err *err);

/*
 * Append the low-level JSON form of a script (a list of low-level
 * instructions) to out: tuples and lists become arrays, atoms and strings
 * become JSON strings, integers numbers (docs/appup.md). indent < 0: one
 * line; else one instruction per line, indented by indent + 2 spaces.
 */
MOLT_API int molt_script_to_json(molt_buf *out, const molt_term *script,
				 int indent);

/*
 * Append t in the appup.json value encoding to out (atoms are JSON
 * strings; see docs/appup.md), and the reverse for an appup's whole JSON
 * text. molt_appup_to_json writes the whole appup.json document.
 */
MOLT_API int molt_appup_to_json(molt_buf *out, const molt_appup *ap);
/* Write ap in Erlang term syntax, one instruction per line. */
MOLT_API int molt_appup_to_terms(molt_buf *out, const molt_appup *ap);

#endif
