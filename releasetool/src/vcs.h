/* Reading tags and trees with libgit2, never touching the work tree,
 * the index or HEAD. The only file that includes <git2.h>. */
#ifndef MOLT_RELEASETOOL_VCS_H
#define MOLT_RELEASETOOL_VCS_H

#include "molt/buf.h"
#include "molt/common.h"

#include "manifest.h"

typedef struct molt__vcs molt__vcs;

/* Open the repository at dir (a work tree or a bare repository). Returns
 * owned *out (molt__vcs_free). */
int molt__vcs_open(molt__vcs **out, const char *dir, molt_err *err);
void molt__vcs_free(molt__vcs *v);

/*
 * Resolve tag (annotated or lightweight) to its commit: fills src->commit,
 * src->time (committer time) and src->annotated. MOLT_ENOTFOUND with the
 * nearest tag names when there is no such tag.
 */
int molt__vcs_resolve(struct molt__source *src, molt__vcs *v, const char *tag,
		      molt_err *err);

/* Append to out the names of up to 5 tags nearest to tag (by edit
 * distance), comma-separated; "none" if the repository has no others. */
int molt__vcs_nearest_tags(molt_buf *out, molt__vcs *v, const char *tag);

/* Append the file at path in commit's tree to out. MOLT_ENOTFOUND if the
 * tree has no such file. */
int molt__vcs_read_file(molt_buf *out, molt__vcs *v, const char *commit,
			const char *path, molt_err *err);

/* Write commit's whole tree (at tag, for messages) into the existing
 * directory dest. A submodule or a Git LFS pointer is refused
 * (MOLT_EUNSAFE naming its path): the tree would not be what is built. */
int molt__vcs_export(molt__vcs *v, const char *commit, const char *tag,
		     const char *dest, molt_err *err);

/*
 * Check tag's signature with `git -C repo verify-tag` (so git's own
 * configuration decides: gpg.format, gpg.ssh.allowedSignersFile, GnuPG's
 * keyring and gpg.minTrustLevel). On success, the signer ("ssh: WHO with
 * KEY" or "gpg: UID, key FINGERPRINT") into signer. MOLT_EUNSAFE for a
 * lightweight tag, or with git's last line when it refuses.
 */
int molt__vcs_verify_tag(char *signer, size_t size, const char *repo,
			 const char *tag, int annotated, molt_err *err);

#endif
