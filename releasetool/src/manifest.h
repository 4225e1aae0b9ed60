/* The JSON files of a release: molt.json (project.c), app.json,
 * release.json, RELEASES.json (manifest.c). Every reader checks the format
 * version and names the file, the field and what it expected. */
#ifndef MOLT_RELEASETOOL_MANIFEST_H
#define MOLT_RELEASETOOL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/release.h"

#include "json.h"

#define MOLT_RELBUILD_STR 1024 /* a path or a version line */

/* One module of an application in molt.json. Strings are borrowed from
 * the project: valid until molt__project_release. */
struct molt__modsrc {
	const char *name;     /* module name, [a-z][a-z0-9_]* */
	const char **sources; /* C files, relative to the application dir */
	size_t nsources;      /* number of sources */
};

/* One application in molt.json (borrowed strings, as above). */
struct molt__appsrc {
	const char *name;    /* application name */
	const char *vsn;     /* its version (default: the release's) */
	const char *dir;     /* its directory in the repository */
	const char *appup;   /* appup file relative to dir, or NULL */
	const char *priv;    /* private files dir relative to dir, or NULL */
	const char *build;   /* shell command building the modules, or NULL */
	const char **cflags; /* extra compiler flags */
	size_t ncflags;	     /* number of them */
	struct molt__modsrc *mods; /* modules */
	size_t nmods;		   /* number of modules */
	const void *json; /* the cJSON object (deps, env, supervisor) */
};

/* molt.json at the repository's root. */
struct molt__project {
	void *json;	     /* the parsed cJSON tree, owned */
	const char *release; /* release name */
	const char *repo;    /* source URL recorded in release.json, or NULL */
	struct molt__appsrc *apps; /* applications, owned array */
	size_t napps;		   /* number of applications */
	const char *cc;		   /* toolchain.cc, or NULL */
	const char **env;	   /* toolchain.env: names passed on, owned */
	size_t nenv;		   /* number of them */
};

/* Parse molt.json text; file names it in errors; vsn is the release
 * version (the default application version). Returns owned *out (free with
 * molt__project_release). */
int molt__project_parse(struct molt__project *out, const char *text, size_t len,
			const char *file, const char *vsn, molt_err *err);
void molt__project_release(struct molt__project *p);

#define MOLT__MAX_EXPORTS 64

/* What a built module's descriptor says, plus the sum of its .so. */
struct molt__modinfo {
	char name[64];	    /* descriptor name */
	char vsn[64];	    /* descriptor vsn */
	uint32_t behaviour; /* enum molt_behaviour */
	uint32_t state_vsn; /* state layout version */
	int code_change;    /* 1 if it has a code_change callback */
	size_t nexports;    /* number of exports */
	char exports[MOLT__MAX_EXPORTS][64]; /* exported function names */
	char sha256[65];		     /* sum of the .so */
};

/* Where a release comes from. */
struct molt__source {
	const char *repo;   /* URL or NULL */
	const char *tag;    /* "v1.1.0" */
	char commit[41];    /* commit id, hex */
	int64_t time;	    /* committer time, seconds since the epoch */
	int annotated;	    /* 1 for an annotated tag */
	const char *signer; /* the tag's verified signer, or NULL */
};

/* How a release was built, for release.json's "build" (borrowed). */
struct molt__buildinfo {
	const char *cc;		       /* the compiler, a path */
	const char *cc_version;	       /* the first line of its --version */
	const char *libc;	       /* "glibc 2.36" */
	char *const *cflags;	       /* the module toolchain flags */
	size_t ncflags;		       /* number of them */
	char *const *env;	       /* "NAME=value", the fixed environment */
	size_t nenv;		       /* number of them */
	const char *umask;	       /* "0022" */
	const char *cc_option;	       /* molt build --cc, or NULL */
	int require_signed_tag;	       /* --require-signed-tag */
	const char *const *relup_from; /* --relup-from tags */
	size_t nrelup_from;	       /* number of them */
};

/* Write lib/APP-VSN/app.json for app with its built modules (mods[i] for
 * app->mods[i]); appup is the appup's file name in the lib dir or NULL. */
int molt__app_json_write(const char *path, const struct molt__appsrc *app,
			 const struct molt__modinfo *mods, const char *appup,
			 molt_err *err);

/* Set "appup" of the app.json at path to appup (a file name in its
 * directory), and "appup_generated": true when generated (molt build made
 * it: the tree had none). */
int molt__app_json_set_appup(const char *path, const char *appup, int generated,
			     molt_err *err);

/* Write releases/VSN/release.json; bi (may be NULL) becomes "build". */
int molt__release_json_write(const char *path, const struct molt__project *p,
			     const char *vsn, const struct molt__source *src,
			     int relup, const struct molt__buildinfo *bi,
			     molt_err *err);

/* What molt build --check needs from a bundle's release.json. */
struct molt__relbuild {
	char repo[MOLT_RELBUILD_STR];	    /* source.repo, or "" */
	char tag[256];			    /* source.tag */
	char commit[41];		    /* source.commit */
	char signer[512];		    /* source.signer, or "" */
	char cc[MOLT_RELBUILD_STR];	    /* build.toolchain.cc */
	char cc_version[MOLT_RELBUILD_STR]; /* build.toolchain.cc_version */
	char libc[64];			    /* build.toolchain.libc */
	char cc_option[MOLT_RELBUILD_STR];  /* build.options.cc, or "" */
	int require_signed_tag;		    /* build.options */
	char **relup_from;  /* build.options.relup_from, owned */
	size_t nrelup_from; /* number of them */
};

/* Read text (release.json named file) into out; a release.json without
 * "build" (made before molt recorded it) is MOLT_ENOTFOUND. Free with
 * molt__relbuild_release. */
int molt__relbuild_parse(struct molt__relbuild *out, const char *text,
			 size_t len, const char *file, molt_err *err);
void molt__relbuild_release(struct molt__relbuild *b);

/* What unpack needs from release.json. */
struct molt__relmeta {
	char name[128];		/* release name */
	char vsn[128];		/* release version */
	molt_release_app *apps; /* applications (lib filled in), owned */
	size_t napps;		/* number of applications */
};

/* Read and check release.json at path. Free with molt__relmeta_release. */
int molt__release_json_read(struct molt__relmeta *out, const char *path,
			    molt_err *err);
void molt__relmeta_release(struct molt__relmeta *m);

/* Called for each module app.json lists; a negative return stops. */
typedef int (*molt__module_fn)(const char *name, const char *file,
			       const char *sha256, void *payload);

/* Read app.json at path and check its format, name and vsn; call each
 * (may be NULL) for every module it lists. */
int molt__app_json_check(const char *path, const char *name, const char *vsn,
			 molt__module_fn each, void *payload, molt_err *err);

#endif
