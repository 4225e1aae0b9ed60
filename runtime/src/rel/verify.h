/* A release's manifest (releases/VSN/MANIFEST.sha256) and file sums. */
#ifndef MOLT_RUNTIME_REL_VERIFY_H
#define MOLT_RUNTIME_REL_VERIFY_H

#include <stddef.h>

#include "molt/common.h"

#define MOLT__SUM_HEX 65 /* 64 hex digits and a NUL */

/* One line of the manifest: a file's sum and its path from the root. */
typedef struct molt__mfentry {
	char sum[MOLT__SUM_HEX]; /* lower-case hex */
	char *path;		 /* relative to the root (owned) */
} molt__mfentry;

typedef struct molt__manifest {
	const char *root; /* the root (borrowed) */
	char *name;	  /* "releases/VSN/MANIFEST.sha256" (owned) */
	molt__mfentry *e; /* the lines (owned) */
	size_t n;	  /* their number */
} molt__manifest;

/* Read ROOT/releases/VSN/MANIFEST.sha256 into out (caller storage; borrows
 * root, which must outlive out). Errors name the file and the line. */
int molt__manifest_init(molt__manifest *out, const char *root, const char *vsn,
			molt_err *err);
void molt__manifest_release(molt__manifest *mf);

/*
 * Check the file at path (relative to the root) against the manifest and,
 * if want_sum is not NULL, against that sum too (app.json's for a module).
 * MOLT_EUNSAFE naming the file when it is not listed or its sum differs,
 * MOLT_EIO when it cannot be read.
 */
int molt__manifest_check(const molt__manifest *mf, const char *path,
			 const char *want_sum, molt_err *err);

/* Every file the manifest lists, checked (a release that does not verify
 * is not booted or installed). The first failure, as molt__manifest_check
 * names it. */
int molt__manifest_check_all(const molt__manifest *mf, molt_err *err);

#endif
