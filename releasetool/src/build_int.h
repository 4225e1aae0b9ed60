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

/* One build: the options, the repository and the compiler flags. */
struct build {
	const molt_build_options *opts; /* what to build */
	molt__vcs *vcs;			/* the repository */
	char tmp[MOLT__PATH_MAX];	/* temporary directory, removed */
	char **cflags;			/* module toolchain flags */
	size_t ncflags;			/* number of them */
	const char *cc;			/* compiler */
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

#endif
