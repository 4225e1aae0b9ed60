/* Inside molt build (build.c): one build and the releases it stages, for
 * the files that own one of its steps (build_appup.c). */
#ifndef MOLT_RELEASETOOL_BUILD_INT_H
#define MOLT_RELEASETOOL_BUILD_INT_H

#include <stddef.h>

#include "molt/common.h"
#include "molt/release.h"

#include "fsutil.h"
#include "manifest.h"
#include "vcs.h"

/* The PATH every compile and build command gets (after the wrappers). */
#define MOLT_BUILD_PATH "/usr/local/bin:/usr/bin:/bin"

/* One build: the options, the repository and the toolchain. */
struct build {
	const molt_build_options *opts; /* what to build */
	molt__vcs *vcs;			/* the repository */
	char tmp[MOLT__PATH_MAX];	/* temporary directory, removed */
	char **cflags;			/* module toolchain flags */
	size_t ncflags;			/* number of them */
	const char *cc;			/* compiler: cc_path once set up */
	char cc_path[MOLT__PATH_MAX];	/* the compiler, a path */
	char cc_version[256];		/* the first line of its --version */
	char libc[64];			/* "glibc 2.36" */
	char **env;			/* fixed environment, "NAME=value" */
	size_t nenv;			/* number of them */
	char toolbin[MOLT__PATH_MAX];	/* compiler wrappers (tmp/toolbin) */
	molt_err *err;			/* where errors go */
};

/* One release staged as a root-like tree under build->tmp. */
struct stage {
	const char *tag;	      /* the tag */
	char vsn[128];		      /* release version */
	struct molt__source src;      /* where it came from */
	struct molt__project proj;    /* its molt.json */
	char src_dir[MOLT__PATH_MAX]; /* the exported tree */
	char root[MOLT__PATH_MAX];    /* releases/ and lib/ are built here */
	unsigned char *has_appup;     /* per application: the tree had one */
	int relup;		      /* 1 once relup.json is written */
	char signer[512];	      /* the tag's verified signer, or "" */
};

/* Report a finished step (printf-style) through b->opts->progress, with
 * the milliseconds since t0 (molt__now_ms). */
MOLT_PRINTF(3, 4)
void molt__build_progress(const struct build *b, double t0, const char *fmt,
			  ...);

/*
 * For every application of to whose tree had no appup, generate one up
 * from (and down to) its version in each from-release (build_appup.c):
 * lib/APP-VSN/APP.appup in to's root, recorded in its app.json. An
 * application that no from-release has in another version gets none.
 */
int molt__build_gen_appups(struct build *b, struct stage *to,
			   const struct stage *from, size_t nfrom);

/* ---- the fixed build environment (build_env.c) ---- */

/*
 * Set up b's toolchain from its options and p (the molt.json of the tag
 * built): the compiler (--cc, else toolchain.cc, else cc; a name is
 * searched in MOLT_BUILD_PATH only), its version, the libc version, the
 * module flags and the fixed environment (LC_ALL=C, TZ=UTC, PATH, and
 * the variables toolchain.env names, with the builder's values).
 */
int molt__build_toolchain(struct build *b, const struct molt__project *p);

/*
 * The whole environment of one step of stage s, NULL-terminated: the
 * fixed one, SOURCE_DATE_EPOCH (the commit time) and extra (may be NULL).
 * With appdir, the step compiles there: PATH starts with b->toolbin,
 * where cc (and gcc, clang, c99 when MOLT_BUILD_PATH has them) are
 * rewritten as wrappers adding appdir's prefix maps. Without, PATH is
 * MOLT_BUILD_PATH (what release.json records). Returns owned *out (free
 * with molt__build_envp_free).
 */
int molt__build_envp(char ***out, const struct build *b, const struct stage *s,
		     const char *appdir, const char *const *extra);
void molt__build_envp_free(char **envp);

/* "-ffile-prefix-map=APPDIR=." and "-fdebug-prefix-map=APPDIR=." into
 * out[0] and out[1]; MOLT_EINVAL if appdir is too long. */
int molt__build_prefix_maps(char (*out)[MOLT__PATH_MAX + 32],
			    const char *appdir);

/* release.json's "build" record of b (borrows b; env is left empty). */
void molt__build_info(struct molt__buildinfo *out, const struct build *b);

#endif
