/* The permanent release of a root, read and verified from its files. */
#ifndef MOLT_RUNTIME_REL_RELSPEC_H
#define MOLT_RUNTIME_REL_RELSPEC_H

#include <stddef.h>

#include "molt/common.h"

/*
 * Reads docs/formats-release.md's files again, on purpose: the runtime
 * links nothing of the releasetool (STYLE.md §1). Only what a boot needs
 * is kept; every string below is owned by the spec.
 */
typedef struct molt__appspec {
	char *name;   /* application name */
	char *vsn;    /* its version */
	char **mods;  /* module names, app.json order */
	char **paths; /* the .so of each, absolute (root + lib + file) */
	char **sums;  /* the sha256 app.json gives each .so (hex) */
	size_t n_mods;
	char **deps; /* names of the applications it depends on */
	size_t n_deps;
	char *env; /* the "env" object as JSON text ("{}" if none) */
	char *sup; /* the "supervisor" object as JSON text, or NULL */
} molt__appspec;

typedef struct molt__relspec {
	char *name;	     /* release name */
	char *vsn;	     /* release version */
	molt__appspec *apps; /* release.json order */
	size_t n;	     /* number of applications */
} molt__relspec;

/*
 * Read root's permanent release: RELEASES.json, then every file
 * releases/VSN/MANIFEST.sha256 lists is checked against it (a release
 * that does not verify is refused), then release.json and each
 * lib/APP-VSN/app.json are read, and each module's .so is checked
 * against the manifest and its app.json sum (the loads check that sum
 * again: molt__version_open). Fills out (caller storage).
 * MOLT_ENOTFOUND when RELEASES.json has no permanent release,
 * MOLT_EUNSAFE naming the file when a sum differs, MOLT_EVERSION or
 * MOLT_EINVAL naming the file and field of a malformed file. On error
 * out holds nothing.
 */
int molt__relspec_read(molt__relspec *out, const char *root, molt_err *err);
/* The same for release vsn of RELEASES.json, whatever its status (NULL:
 * the permanent one). */
int molt__relspec_read_vsn(molt__relspec *out, const char *root,
			   const char *vsn, molt_err *err);
void molt__relspec_release(molt__relspec *rs);

/* order[i] (rs->n entries) indexes rs->apps so that every application
 * comes after its deps; among those free to go, release.json's order
 * (OTP's start order). MOLT_EINVAL naming an unknown dep or a cycle. */
int molt__relspec_order(size_t *order, const molt__relspec *rs, molt_err *err);

#endif
