/* Release bundles and the release root: build a bundle from a git tag,
 * unpack it into a root, and the root's RELEASES.json. */
#ifndef MOLT_RELEASE_H
#define MOLT_RELEASE_H

/*
 * The root a node lives in (docs/releases.md):
 *
 *   ROOT/releases/RELEASES.json          every known release and its status
 *   ROOT/releases/VSN/release.json       the release (name, vsn, source, apps)
 *   ROOT/releases/VSN/relup.json         upgrade/downgrade scripts, if built
 *   ROOT/releases/VSN/MANIFEST.sha256    the bundle's manifest, kept
 *   ROOT/releases/VSN/MANIFEST.sig       its signatures, kept, if any
 *   ROOT/keys/ID.pub                     public keys the root trusts
 *   ROOT/lib/APP-AVSN/app.json           one application version
 *   ROOT/lib/APP-AVSN/modules/MOD.so     its modules
 *   ROOT/lib/APP-AVSN/APP.appup          its appup (or appup.json), if any
 *   ROOT/lib/APP-AVSN/priv/...           its private files, if any
 *   ROOT/run/, ROOT/log/                 control socket, logs (moltd)
 *
 * A bundle NAME-VSN.tar.gz holds MANIFEST.sha256 first, then releases/VSN/
 * and lib/APP-AVSN/ exactly as above. Unpacking extracts into a staging
 * directory ROOT/.staging-XXXXXX and renames the directories into place;
 * RELEASES.json is written last, by temporary file, fsync and rename, and
 * is the commit point. Every writer of RELEASES.json holds the root lock
 * (molt_root_lock). Removing a release commits first (RELEASES.json
 * without it), then renames its directories into a trash directory
 * ROOT/.staging-XXXXXX and deletes that. Whoever takes the lock to write
 * deletes every .staging-* directory it finds: debris of a crash.
 */

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"

#define MOLT_ROOT_RELEASES_DIR "releases"
#define MOLT_ROOT_LIB_DIR      "lib"
#define MOLT_ROOT_RUN_DIR      "run"
#define MOLT_ROOT_LOG_DIR      "log"
#define MOLT_RELEASES_FILE     "releases/RELEASES.json"
#define MOLT_ROOT_LOCK_FILE    "releases/.lock"
#define MOLT_STAGING_PREFIX    ".staging-"
#define MOLT_MANIFEST_FILE     "MANIFEST.sha256"
#define MOLT_SIG_FILE	       "MANIFEST.sig"
#define MOLT_ROOT_KEYS_DIR     "keys"
#define MOLT_KEY_ID_SIZE       17 /* a key id: 16 hex digits and a NUL */
#define MOLT_RELEASE_FILE      "release.json"
#define MOLT_RELUP_FILE	       "relup.json"
#define MOLT_APP_FILE	       "app.json"
#define MOLT_MODULES_DIR       "modules"

/* Format versions this molt reads and writes; others are refused. */
#define MOLT_RELEASE_FORMAT  1 /* release.json */
#define MOLT_APP_FORMAT	     1 /* app.json */
#define MOLT_PROJECT_FORMAT  1 /* molt.json */
#define MOLT_RELEASES_FORMAT 1 /* RELEASES.json */

/* Status of a release in RELEASES.json (OTP's release_handler statuses). */
enum molt_release_status {
	MOLT_REL_UNPACKED = 0,	/* files in place, never installed */
	MOLT_REL_CURRENT = 1,	/* installed, running, not yet permanent */
	MOLT_REL_PERMANENT = 2, /* the release the node boots */
	MOLT_REL_OLD = 3,	/* was installed or permanent before */
};

/* "unpacked", "current", "permanent", "old"; "?" for anything else. */
MOLT_API const char *molt_release_status_name(int status);
/* The status named s, or -1. */
MOLT_API int molt_release_status_parse(const char *s);

/* One application of a release, as RELEASES.json records it. */
typedef struct molt_release_app {
	char *name; /* "kvs" */
	char *vsn;  /* "1.1.0" */
	char *lib;  /* relative to the root: "lib/kvs-1.1.0" */
} molt_release_app;

/* One release in RELEASES.json. */
typedef struct molt_release_info {
	char *name;		/* release name, "shop" */
	char *vsn;		/* release version, "1.1.0" */
	int status;		/* enum molt_release_status */
	molt_release_app *apps; /* napps applications */
	size_t napps;		/* number of applications */
} molt_release_info;

/* The contents of RELEASES.json, newest release first. */
typedef struct molt_releases {
	molt_release_info *rels; /* n releases */
	size_t n;		 /* number of releases */
} molt_releases;

/*
 * Read ROOT/releases/RELEASES.json into out (caller storage; free with
 * molt_releases_release). A missing file reads as no releases. Malformed
 * content or an unknown format gives MOLT_EPARSE or MOLT_EVERSION with the
 * file, the field and what was expected; out is then empty.
 */
MOLT_API int molt_releases_read(molt_releases *out, const char *root,
				molt_err *err);

/* Write rels to ROOT/releases/RELEASES.json atomically (temporary file,
 * fsync, rename, fsync of the directory). Borrows rels. Hold the root
 * lock while reading, changing and writing. */
MOLT_API int molt_releases_write(const molt_releases *rels, const char *root,
				 molt_err *err);

/* Free what molt_releases_read returned and empty rels. */
MOLT_API void molt_releases_release(molt_releases *rels);

/* The release with version vsn, or NULL. Borrowed: valid until rels
 * changes. */
MOLT_API molt_release_info *molt_releases_find(const molt_releases *rels,
					       const char *vsn);

/*
 * Give release vsn the status, with OTP's set_status rule: the release
 * that had this status before becomes old (for current and permanent).
 * MOLT_ENOTFOUND if vsn is not there.
 */
MOLT_API int molt_releases_set_status(molt_releases *rels, const char *vsn,
				      int status, molt_err *err);

/* Take the root's exclusive lock (flock on ROOT/releases/.lock, created if
 * needed; waits). *out is the lock's fd, for molt_root_unlock. */
MOLT_API int molt_root_lock(int *out, const char *root, molt_err *err);
MOLT_API void molt_root_unlock(int fd);

/* Progress of a long operation: a step finished after ms milliseconds. */
typedef void (*molt_progress_fn)(const char *step, double ms, void *payload);

/* Limits on what an unpack accepts. 0 means the default. */
typedef struct molt_unpack_limits {
	uint64_t max_total;   /* bytes of all files; default 1 GiB */
	uint64_t max_file;    /* bytes of one file; default 256 MiB */
	uint64_t max_entries; /* archive entries; default 10000 */
	size_t max_path;      /* bytes of an entry's path; default 1024 */
} molt_unpack_limits;

typedef struct molt_unpack_options {
	molt_unpack_limits limits; /* zeros: the defaults */
	int sync;		   /* ignored: unpack always fsyncs every
				      file before the commit */
	molt_progress_fn progress; /* optional */
	void *payload;		   /* given to progress */
} molt_unpack_options;

#define MOLT_UNPACK_OPTIONS_INIT                                               \
	{                                                                      \
		{0, 0, 0, 0}, 0, NULL, NULL                                    \
	}

typedef struct molt_unpack_result {
	char name[128];	 /* release name */
	char vsn[128];	 /* release version */
	size_t files;	 /* regular files extracted */
	uint64_t bytes;	 /* their total size */
	size_t new_libs; /* lib directories added (others were already there) */
	size_t trusted_keys;	       /* keys in ROOT/keys (0: no check) */
	size_t signatures;	       /* signatures the bundle carries */
	char signer[MOLT_KEY_ID_SIZE]; /* trusted key whose signature
					  was checked, or "" */
} molt_unpack_result;

/*
 * Unpack bundle into root (which must exist, with releases/ and lib/) and
 * record the release as unpacked in RELEASES.json. Refuses, with
 * MOLT_EUNSAFE and nothing left behind, any archive that would write
 * outside the root or break a limit, and any bundle whose manifest does
 * not match; MOLT_EEXISTS when the version is already in the root. When
 * ROOT/keys/ holds trusted keys, a bundle without a valid signature of
 * its manifest by one of them is refused too (MOLT_EUNSAFE naming the
 * bundle and why: unsigned, unknown key, bad signature, manifest changed
 * after signing), before anything in it is read; with no keys, out says
 * so (trusted_keys 0) for the caller to warn. Every file and directory
 * is fsync'd before RELEASES.json records the release. out may be NULL.
 */
MOLT_API int molt_release_unpack(molt_unpack_result *out, const char *root,
				 const char *bundle,
				 const molt_unpack_options *opts,
				 molt_err *err);

/*
 * Check the files of release vsn in root against the manifest unpack kept
 * (releases/VSN/MANIFEST.sha256): every file there, with its sum. Finds a
 * release torn by a power loss after an unpack without sync. MOLT_EUNSAFE
 * or MOLT_ENOTFOUND naming the first bad file.
 */
MOLT_API int molt_release_verify(const char *root, const char *vsn,
				 molt_err *err);

/* Called by molt_release_verify_each for each file that differs:
 * path relative to the root, problem in words ("missing", "sha256 ABC...
 * does not match the manifest (DEF...)", "not in the manifest"). */
typedef void (*molt_verify_fn)(const char *path, const char *problem,
			       void *payload);

/*
 * Check every file of release vsn against its kept manifest, and every
 * file under releases/VSN/ and its lib directories for one the manifest
 * does not list; with trusted keys in ROOT/keys/, the kept MANIFEST.sig
 * too (as unpack does). Calls fn for each difference and puts their
 * number in *bad. Fails (MOLT_ENOTFOUND, MOLT_EPARSE...) only when the
 * release or its manifest cannot be read.
 */
MOLT_API int molt_release_verify_each(size_t *bad, const char *root,
				      const char *vsn, molt_verify_fn fn,
				      void *payload, molt_err *err);

/* ---- signatures and trust (docs/releases.md, "Signing and trust") ---- */

/*
 * Make an ed25519 key pair: the secret key at path (mode 0600) and the
 * public key at path.pub, text files with the key id. Refuses
 * (MOLT_EEXISTS) to overwrite either. id_out (MOLT_KEY_ID_SIZE) gets the
 * key id.
 */
MOLT_API int molt_keygen(char *id_out, const char *path, molt_err *err);

/*
 * Add a signature by the secret key at key_path to bundle: the bundle's
 * files and manifest are checked first, then MANIFEST.sig (after
 * MANIFEST.sha256) gets the signature, replacing one by the same key;
 * every other entry is copied byte for byte. The bundle is replaced
 * atomically; on failure it is untouched. id_out gets the key id.
 */
MOLT_API int molt_bundle_sign(char *id_out, const char *bundle,
			      const char *key_path, molt_err *err);

/* Trust the public key file pubkey in root: copy it to ROOT/keys/ID.pub
 * (making ROOT/keys/, and ROOT when missing). id_out gets its id. */
MOLT_API int molt_trust_add(char *id_out, const char *root, const char *pubkey,
			    molt_err *err);
/* Stop trusting key id: delete ROOT/keys/ID.pub. MOLT_ENOTFOUND naming
 * the trusted ids when it is not there. */
MOLT_API int molt_trust_remove(const char *root, const char *id, molt_err *err);

/* The keys a root trusts. */
typedef struct molt_trusted_keys {
	char (*ids)[MOLT_KEY_ID_SIZE]; /* key ids, sorted (owned) */
	size_t n;		       /* their number */
} molt_trusted_keys;

/* Read ROOT/keys/: refuses (MOLT_EUNSAFE) a keys directory or key file
 * writable by group or others or owned by someone else, and any file
 * there that is not a valid ID.pub. Free with molt_trusted_keys_release. */
MOLT_API int molt_trusted_keys_read(molt_trusted_keys *out, const char *root,
				    molt_err *err);
MOLT_API void molt_trusted_keys_release(molt_trusted_keys *k);

/* What molt_release_remove did; free with molt_remove_result_release. */
typedef struct molt_remove_result {
	char **deleted;	 /* "releases/1.1.0", "lib/kvs-1.1.0", ... */
	size_t ndeleted; /* number of directories deleted */
	char **kept;	 /* the release's lib dirs another release uses */
	char **kept_by;	 /* for each kept[i], a release version using it */
	size_t nkept;	 /* number of kept lib dirs */
} molt_remove_result;

/*
 * Remove release vsn from root, under the root lock: take it out of
 * RELEASES.json (the commit point), then delete releases/VSN and every
 * lib dir no remaining release uses, and any other directory under
 * releases/ or lib/ that RELEASES.json does not reference (left by a
 * crash). Refuses with MOLT_EBUSY, changing nothing, the permanent and
 * the current release; MOLT_ENOTFOUND naming the known versions for an
 * unknown one; MOLT_EINVAL for a name that is no version. A kill at any
 * point leaves every release RELEASES.json lists whole. out may be NULL;
 * else it returns owned lists (free with molt_remove_result_release),
 * empty on failure.
 */
MOLT_API int molt_release_remove(molt_remove_result *out, const char *root,
				 const char *vsn, molt_err *err);

/* Free the lists of r and empty it. */
MOLT_API void molt_remove_result_release(molt_remove_result *r);

/*
 * Make a fresh root (the directory must not exist or be empty): releases/,
 * lib/, run/, log/, then unpack bundle and mark its release permanent.
 * On failure the directories this call made are removed again.
 */
MOLT_API int molt_release_init(molt_unpack_result *out, const char *root,
			       const char *bundle,
			       const molt_unpack_options *opts, molt_err *err);

typedef struct molt_build_options {
	const char *repo;	       /* repository directory (required) */
	const char *tag;	       /* tag to build (required) */
	const char *out;	       /* bundle path or directory; NULL: "." */
	const char *const *relup_from; /* tags to make a relup from */
	size_t nrelup_from;	       /* number of them */
	molt_progress_fn progress;     /* optional */
	void *payload;		       /* given to progress */
	const char *cc;		       /* compiler; NULL: molt.json's, or cc */
	int require_signed_tag;	       /* refuse a tag git verify-tag refuses */
} molt_build_options;

#define MOLT_BUILD_OPTIONS_INIT                                                \
	{                                                                      \
		NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0                 \
	}

typedef struct molt_build_result {
	char path[4096];     /* the bundle written */
	char name[128];	     /* release name */
	char vsn[128];	     /* release version (the tag without a leading v) */
	char commit[41];     /* commit id the tag points to */
	int64_t commit_time; /* its committer time, seconds since the epoch */
	int annotated;	     /* 1 if the tag is annotated */
	char sha256[65];     /* sum of the bundle file */
	uint64_t size;	     /* its size in bytes */
	size_t files;	     /* files listed in its manifest */
	int relup;	     /* 1 if it holds a relup */
} molt_build_result;

/*
 * Build NAME-VSN.tar.gz from the tag: read the tree at the tag (without
 * touching the work tree, index or HEAD), compile the modules in a
 * temporary directory, write release.json and app.json, take the appups,
 * compile a relup from each relup_from tag, pack reproducibly. out may be
 * NULL. On failure nothing is left behind.
 */
MOLT_API int molt_release_build(molt_build_result *out,
				const molt_build_options *opts, molt_err *err);

/* What molt_release_check found; free with molt_check_result_release. */
typedef struct molt_check_result {
	int same;	 /* 1: the rebuild gave the bundle's bytes */
	char **diffs;	 /* one line per difference, owned */
	size_t ndiffs;	 /* number of them */
	char tag[256];	 /* the tag rebuilt */
	char sha256[65]; /* sum of the rebuilt bundle */
} molt_check_result;

/*
 * Rebuild bundle from the tag, compiler option, relup tags and signed-tag
 * requirement its release.json records, from the repository repo (the
 * recorded source.repo is a URL, or absent: the local copy is the
 * caller's to give), in a temporary directory, and compare. out->same
 * says whether the bytes are identical; otherwise out->diffs names each
 * file that differs, is missing or is new, a moved tag, and every
 * toolchain fact (compiler, its version, libc) that changed. Fails
 * (MOLT_ENOTFOUND) for a bundle whose release.json has no build record,
 * and with the build's error if the rebuild fails. progress and payload
 * as for molt_release_build.
 */
MOLT_API int molt_release_check(molt_check_result *out, const char *bundle,
				const char *repo, molt_progress_fn progress,
				void *payload, molt_err *err);
MOLT_API void molt_check_result_release(molt_check_result *r);

#endif
