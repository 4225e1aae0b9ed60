/* Helpers for the releasetool suites: the sample repository, bundles,
 * hostile archives and snapshots of a root. */
#ifndef MOLT_TEST_RELFIX_H
#define MOLT_TEST_RELFIX_H

#include <stddef.h>

/* Make the sample repository (fixtures/make-repo.sh) in dir/repo and put
 * that path in out (size 4096). Aborts the test on failure. */
void relfix_make_repo(char *out, const char *dir);

/* Build tag of repo into outdir with the library; returns the bundle path
 * (static buffer). Aborts the test on failure. */
const char *relfix_build(const char *repo, const char *tag, const char *outdir);

/* Commit the tree of v1.1.0 again, after running the shell command
 * change in repo, and tag it tag (a new release version whose application
 * stays kvs 1.1.0 unless change changes it). Aborts on failure. */
void relfix_retag(const char *repo, const char *tag, const char *change);

/* Tag v1.1.9 in repo: kvs 1.1.9 with 12 MB of private files, so that
 * unpacking or deleting it takes a while; build it into outdir and put
 * the bundle's path in out. Aborts on failure. */
void relfix_big_bundle(char *out, size_t size, const char *repo,
		       const char *outdir);

/* One entry of a hand-made archive. */
struct relfix_entry {
	const char *path; /* archive name */
	char type;	  /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link,
			     'c' char device, 'b' block device, 'p' FIFO */
	const char *data; /* file contents ('f') */
	const char *link; /* link target ('l', 'h') */
	int mode;	  /* permission bits; 0: 0644 */
};

/* How to turn a good bundle into a bad one. */
struct relfix_mutation {
	const struct relfix_entry *extra; /* entries to add ... */
	size_t nextra;			  /* ... this many */
	int extra_first;		  /* add them before the good ones */
	int list_extra;			  /* list added files in the manifest */
	int drop_manifest;		  /* no MANIFEST.sha256 */
	int manifest_phantom;		  /* manifest lists a missing file */
	int corrupt_file;		  /* change a file, keep its sum */
	int duplicate;			  /* one good file twice */
	int plain_tar;			  /* no gzip */
	int zip;			  /* zip instead of tar.gz */
	const char *replace_path;	  /* give this member ... */
	const char *replace_data;	  /* ... these contents (listed) */
};

/* Read the good bundle, apply m, write the result to out. */
void relfix_mutate(const char *good, const char *out,
		   const struct relfix_mutation *m);

/* Write data as a gzip'd stream (of anything) to out. */
void relfix_gzip_bytes(const char *out, const void *data, size_t len);

/* Every entry under dir (dir itself too), one sorted line each: path,
 * type, permission bits, size, and a file's sha256 or a symlink's
 * target; no times. Returns owned (free()) text. */
char *relfix_snapshot(const char *dir);

/*
 * Assert that root is still as the snapshot before says, for an
 * operation (named by what) that was refused. The lock rule: taking the
 * root lock creates releases/.lock, empty, and nothing writes it. So if
 * before has the lock, it must be there unchanged like every other
 * entry; if before has none, after may have it only as an empty regular
 * file, and it is left out of the comparison.
 */
void relfix_assert_same_root(const char *before, const char *root,
			     const char *what);

/* Number of ".staging-*" entries left in root. */
int relfix_staging_left(const char *root);

#endif
