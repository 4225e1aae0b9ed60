/* The fixed environment of molt build: the compiler, its flags and the
 * environment every compile and build command runs with. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "molt/buf.h"

#include "build_int.h"
#include "fsutil.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#ifndef MOLT_MODULE_INCLUDE_DIR
#define MOLT_MODULE_INCLUDE_DIR "/usr/local/include"
#endif
/* <molt/common.h> (the error codes a module's calls return): installed
 * beside module.h, in the source tree under common/include. */
#ifndef MOLT_COMMON_INCLUDE_DIR
#define MOLT_COMMON_INCLUDE_DIR MOLT_MODULE_INCLUDE_DIR
#endif

/* Compiler names that get a wrapper adding the prefix maps, so that a
 * build command calling one of them directly gets them too. */
static const char *const wrapped[] = {"gcc", "clang", "c99"};

/* ---- the module toolchain flags ---- */

static int split_push(char ***v, size_t *n, const char *s)
{
	char word[1024];

	while (*s) {
		size_t k = strcspn(s, " \t\n");

		if (k >= sizeof(word))
			return MOLT_EINVAL;
		if (k) {
			memcpy(word, s, k);
			word[k] = '\0';
			if (molt__strv_push(v, n, word) < 0)
				return MOLT_ENOMEM;
		}
		s += k;
		s += strspn(s, " \t\n");
	}
	return MOLT_OK;
}

/* `pkg-config --cflags molt-module`, or "" if it is not installed. */
static void pkg_config_cflags(char *out, size_t size)
{
	FILE *p = popen("pkg-config --cflags molt-module 2>/dev/null", "r");
	size_t n = 0;
	int st;

	out[0] = '\0';
	if (!p)
		return;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		out[0] = '\0';
}

static int cflags(struct build *b)
{
	static const char *const base[] = {"-std=c11", "-O2", "-shared",
					   "-fPIC", "-fvisibility=hidden"};
	const char *env = getenv("MOLT_MODULE_CFLAGS");
	char pc[1024], inc[2 * MOLT__PATH_MAX + 8];
	int rc = MOLT_OK;

	for (size_t i = 0; rc == MOLT_OK && i < sizeof(base) / sizeof(*base);
	     i++)
		rc = molt__strv_push(&b->cflags, &b->ncflags, base[i]);
	if (env && *env) {
		rc = rc ? rc : split_push(&b->cflags, &b->ncflags, env);
	} else {
		pkg_config_cflags(pc, sizeof(pc));
		snprintf(inc, sizeof(inc), "-I%s -I%s", MOLT_MODULE_INCLUDE_DIR,
			 MOLT_COMMON_INCLUDE_DIR);
		rc = rc ? rc
			: split_push(&b->cflags, &b->ncflags, *pc ? pc : inc);
	}
	return rc < 0 ? molt_err_set(b->err, MOLT_ENOMEM,
				     "cannot set up the module compiler flags")
		      : MOLT_OK;
}

/* ---- the compiler ---- */

/* name searched in MOLT_BUILD_PATH into out; 0 if found. */
static int find_in_path(char *out, size_t size, const char *name)
{
	const char *p = MOLT_BUILD_PATH;

	while (*p) {
		size_t k = strcspn(p, ":");

		if (snprintf(out, size, "%.*s/%s", (int)k, p, name) <
			    (int)size &&
		    access(out, X_OK) == 0)
			return 0;
		p += k + (p[k] == ':');
	}
	return -1;
}

static int resolve_cc(struct build *b, const char *cc, const char *from)
{
	if (strchr(cc, '/')) {
		if (cc[0] != '/' || access(cc, X_OK) != 0)
			return molt_err_set(b->err, MOLT_ENOTFOUND,
					    "compiler '%s' (%s) is not an "
					    "absolute path to a program",
					    cc, from);
		return molt__path(b->cc_path, sizeof(b->cc_path), b->err, "%s",
				  cc);
	}
	if (find_in_path(b->cc_path, sizeof(b->cc_path), cc) < 0)
		return molt_err_set(b->err, MOLT_ENOTFOUND,
				    "compiler '%s' (%s) is not in the build "
				    "PATH " MOLT_BUILD_PATH,
				    cc, from);
	return MOLT_OK;
}

/* The first line of `cc --version`, run in the fixed environment. */
static int cc_version(struct build *b)
{
	const char *argv[] = {b->cc_path, "--version", NULL};
	const char **envp = molt_calloc(b->nenv + 1, sizeof(*envp));
	molt_buf out = MOLT_BUF_INIT;
	char what[MOLT__PATH_MAX + 32];
	int rc;

	if (!envp)
		return molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nenv; i++)
		envp[i] = b->env[i];
	molt__pathf(what, "compiler '%s' --version", b->cc_path);
	rc = molt__run_clean(argv, NULL, envp, &out, what, b->err);
	molt_free(envp);
	if (rc == MOLT_OK)
		snprintf(b->cc_version, sizeof(b->cc_version), "%.*s",
			 (int)strcspn(out.ptr, "\n"), out.ptr);
	molt_buf_release(&out);
	return rc;
}

static void libc_version(char *out, size_t size)
{
	size_t n = confstr(_CS_GNU_LIBC_VERSION, out, size);

	if (n == 0 || n > size)
		snprintf(out, size, "unknown");
}

/* ---- the environment ---- */

static int env_push(struct build *b, const char *name, const char *value)
{
	char *e = molt__strf("%s=%s", name, value);
	int rc = e ? molt__strv_push(&b->env, &b->nenv, e) : MOLT_ENOMEM;

	molt_free(e);
	return rc < 0 ? molt_err_set(b->err, MOLT_ENOMEM, "out of memory")
		      : MOLT_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fixed part, sorted: LC_ALL, TZ, PATH and what molt.json passes on.
 * molt__build_envp adds SOURCE_DATE_EPOCH and the wrappers before PATH. */
static int fixed_env(struct build *b, const struct molt__project *p)
{
	int rc = MOLT_OK;

	if ((rc = env_push(b, "LC_ALL", "C")) < 0 ||
	    (rc = env_push(b, "TZ", "UTC")) < 0)
		return rc;
	for (size_t i = 0; rc == MOLT_OK && i < p->nenv; i++)
		if (getenv(p->env[i]))
			rc = env_push(b, p->env[i], getenv(p->env[i]));
	if (rc == MOLT_OK)
		rc = env_push(b, "PATH", MOLT_BUILD_PATH);
	if (rc == MOLT_OK)
		qsort(b->env, b->nenv, sizeof(*b->env), cmp_str);
	return rc;
}

int molt__build_toolchain(struct build *b, const struct molt__project *p)
{
	const char *cc = b->opts->cc ? b->opts->cc : p->cc ? p->cc : "cc";
	const char *from = b->opts->cc ? "molt build --cc"
			   : p->cc     ? "molt.json toolchain.cc"
				       : "the default";
	int rc;

	if ((rc = fixed_env(b, p)) < 0 || (rc = cflags(b)) < 0 ||
	    (rc = resolve_cc(b, cc, from)) < 0 || (rc = cc_version(b)) < 0)
		return rc;
	libc_version(b->libc, sizeof(b->libc));
	b->cc = b->cc_path;
	return molt__path(b->toolbin, sizeof(b->toolbin), b->err, "%s/toolbin",
			  b->tmp);
}

/* ---- per step: wrappers and the environment ---- */

/* s single-quoted for sh into f */
static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* The prefix maps for a compile in appdir: the exported tree's path
 * (temporary, so different every time) becomes ".". */
int molt__build_prefix_maps(char (*out)[MOLT__PATH_MAX + 32],
			    const char *appdir)
{
	molt__pathf(out[0], "-ffile-prefix-map=%s=.", appdir);
	molt__pathf(out[1], "-fdebug-prefix-map=%s=.", appdir);
	return *out[0] && *out[1] ? MOLT_OK : MOLT_EINVAL;
}

/* toolbin/name: sh script running real with the prefix maps first. */
static int write_wrapper(const struct build *b, const char *name,
			 const char *real, const char *appdir)
{
	char path[MOLT__PATH_MAX], maps[2][MOLT__PATH_MAX + 32];
	int fd, rc = MOLT_OK;
	FILE *f;

	if (molt__build_prefix_maps(maps, appdir) < 0)
		return molt_err_set(b->err, MOLT_EINVAL, "path too long: %s",
				    appdir);
	molt__pathf(path, "%s/%s", b->toolbin, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return molt_err_set(b->err, MOLT_EIO, "write '%s': %s", path,
				    strerror(errno));
	}
	fputs("#!/bin/sh\nexec ", f);
	sh_quote(f, real);
	for (int i = 0; i < 2; i++) {
		fputc(' ', f);
		sh_quote(f, maps[i]);
	}
	fputs(" \"$@\"\n", f);
	if (fclose(f) != 0)
		rc = molt_err_set(b->err, MOLT_EIO, "write '%s': %s", path,
				  strerror(errno));
	return rc;
}

static int write_wrappers(const struct build *b, const char *appdir)
{
	char real[MOLT__PATH_MAX];
	int rc;

	if ((rc = molt__mkdir_p(b->toolbin, 0755, b->err)) < 0 ||
	    (rc = write_wrapper(b, "cc", b->cc_path, appdir)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof(wrapped) / sizeof(*wrapped); i++)
		if (find_in_path(real, sizeof(real), wrapped[i]) == 0 &&
		    (rc = write_wrapper(b, wrapped[i], real, appdir)) < 0)
			return rc;
	return MOLT_OK;
}

void molt__build_envp_free(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		molt_free(envp[i]);
	molt_free(envp);
}

/* Take s (NULL: out of memory) as v[(*n)++]. */
static int envp_add(char **v, size_t *n, char *s)
{
	v[(*n)++] = s;
	return s ? MOLT_OK : MOLT_ENOMEM;
}

int molt__build_envp(char ***out, const struct build *b, const struct stage *s,
		     const char *appdir, const char *const *extra)
{
	size_t n = 0, nextra = 0;
	char **v;
	int rc = MOLT_OK;

	*out = NULL;
	while (extra && extra[nextra])
		nextra++;
	if (!(v = molt_calloc(b->nenv + nextra + 2, sizeof(*v))))
		return molt_err_set(b->err, MOLT_ENOMEM, "out of memory");
	for (size_t i = 0; rc == MOLT_OK && i < b->nenv; i++)
		if (appdir && strncmp(b->env[i], "PATH=", 5) == 0)
			rc = envp_add(v, &n,
				      molt__strf("PATH=%s:%s", b->toolbin,
						 b->env[i] + 5));
		else
			rc = envp_add(v, &n, molt_strdup(b->env[i]));
	if (rc == MOLT_OK)
		rc = envp_add(v, &n,
			      molt__strf("SOURCE_DATE_EPOCH=%lld",
					 (long long)s->src.time));
	for (size_t i = 0; rc == MOLT_OK && i < nextra; i++)
		rc = envp_add(v, &n, molt_strdup(extra[i]));
	if (rc == MOLT_OK && appdir)
		rc = write_wrappers(b, appdir);
	if (rc < 0) {
		molt__build_envp_free(v);
		return rc == MOLT_ENOMEM
			       ? molt_err_set(b->err, rc, "out of memory")
			       : rc;
	}
	*out = v;
	return MOLT_OK;
}

void molt__build_info(struct molt__buildinfo *out, const struct build *b)
{
	memset(out, 0, sizeof(*out));
	out->cc = b->cc_path;
	out->cc_version = b->cc_version;
	out->libc = b->libc;
	out->cflags = b->cflags;
	out->ncflags = b->ncflags;
	out->umask = "0022";
	out->cc_option = b->opts->cc;
	out->require_signed_tag = b->opts->require_signed_tag;
	out->relup_from = b->opts->relup_from;
	out->nrelup_from = b->opts->nrelup_from;
}
