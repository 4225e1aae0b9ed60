/* Bundles on disk: reproducible tar.gz packing and safe extraction. The
 * only file that includes <archive.h> is archive.c (this header is not
 * named archive.h, which would shadow libarchive's under -Isrc). */
#ifndef MOLT_RELEASETOOL_ARCHIVE_H
#define MOLT_RELEASETOOL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/release.h"

#include "sha256.h"

/*
 * Pack the files paths[0..n) (sorted, relative to base) into a gzip'd
 * ustar archive at out_path: entries in the given order, owner 0:0
 * (root/root), mode 0755 if the file has any execute bit else 0644, mtime
 * = mtime, and a gzip header with no name and no time.
 */
int molt__archive_pack(const char *out_path, const char *base,
		       char *const *paths, size_t n, int64_t mtime,
		       molt_err *err);

/* A member to add to an archive, after another one. */
struct molt__put {
	const char *after;     /* the member it follows */
	const char *after_sum; /* that member's expected sha256 */
	const char *name;      /* its name; a member of that name is dropped */
	const void *data;      /* its contents; NULL: only drop name */
	size_t len;	       /* their length */
};

/*
 * Copy the gzip'd tar at in_path to out_path (packed as
 * molt__archive_pack packs), every entry as it is, leaving out a member
 * named p->name and adding one after member p->after, with its owner and
 * mtime, mode 0644 (none with p->data NULL: the member is only left
 * out). MOLT_EUNSAFE if p->after's data does not have
 * p->after_sum; MOLT_EPARSE if there is no p->after. On failure out_path
 * may hold a partial file: the caller removes it.
 */
int molt__archive_put(const char *in_path, const char *out_path,
		      const struct molt__put *p, molt_err *err);

/* The regular files an extraction wrote, in archive order. */
struct molt__extracted {
	char **paths;			/* relative paths, owned */
	char (*sums)[MOLT__SHA256_HEX]; /* sums[i] is the sum of paths[i] */
	size_t n;			/* number of files */
	size_t cap;			/* allocated entries */
	uint64_t bytes;			/* their total size */
};

/*
 * Extract the gzip'd tar read from fd into the existing, empty directory
 * dest. Refuses (MOLT_EUNSAFE, naming the entry) absolute paths, ".."
 * components, symlinks and hard links, devices, FIFOs, sockets, sparse
 * entries, duplicate entries and anything over lim; refuses (MOLT_EPARSE)
 * a stream that is not gzip, a bad or truncated gzip stream, trailing
 * data, a damaged tar. setuid/setgid/sticky bits are dropped: files get
 * 0755 or 0644, directories 0755. The gzip stream is read to its end, so
 * its CRC is checked. With writeback, each file's writeback to disk is
 * started as soon as it is written. On failure dest may hold partial files: the
 * caller removes it. Fills owned *out (molt__extracted_release) on success.
 */
int molt__archive_extract(struct molt__extracted *out, int fd, const char *dest,
			  const molt_unpack_limits *lim, int writeback,
			  molt_err *err);

void molt__extracted_release(struct molt__extracted *x);

/* The sum of the extracted file path (borrowed from x), or NULL. */
const char *molt__extracted_sum(const struct molt__extracted *x,
				const char *path);

/*
 * Check the MANIFEST.sha256 that x extracted into dir against x: every
 * file listed once with its sum, and no file but the manifest and
 * MANIFEST.sig left out. MOLT_EUNSAFE or MOLT_EPARSE naming the line or
 * the file. *idx_out (may be NULL) gets x's indices sorted by path (owned,
 * molt_free; also on failure, or NULL without memory).
 */
int molt__manifest_match(size_t **idx_out, const struct molt__extracted *x,
			 const char *dir, molt_err *err);

/* Defaults of molt_unpack_limits. */
#define MOLT__MAX_TOTAL	  (UINT64_C(1) << 30)
#define MOLT__MAX_FILE	  (UINT64_C(256) << 20)
#define MOLT__MAX_ENTRIES 10000
#define MOLT__MAX_PATH	  1024

#endif
