/* Files, directories and child processes for the release tool. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

int molt__path(char *out, size_t size, molt_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		molt_err_set(err, MOLT_EINVAL, "path too long: %.80s...", out);
		out[0] = '\0';
		return MOLT_EINVAL;
	}
	return MOLT_OK;
}

int molt__mkdir_p(const char *path, mode_t mode, molt_err *err)
{
	char buf[MOLT__PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return molt_err_set(err, MOLT_EINVAL, "path too long: %.80s",
				    path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return molt_err_set(err, MOLT_EIO, "mkdir '%s': %s",
					    buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return molt_err_set(err, MOLT_EIO, "mkdir '%s': %s", buf,
				    strerror(errno));
	return MOLT_OK;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void molt__rmrf(const char *path)
{
	if (path && *path && strcmp(path, "/") != 0)
		nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

void molt__rmrf_prefixed(const char *dir, const char *prefix)
{
	char path[MOLT__PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    molt__pathf(path, "%s/%s", dir, de->d_name) == MOLT_OK)
			molt__rmrf(path);
	closedir(d);
}

const char *molt__tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

int molt__rename(const char *from, const char *to, molt_err *err)
{
	if (rename(from, to) < 0)
		return molt_err_set(err, MOLT_EIO, "rename '%s' to '%s': %s",
				    from, to, strerror(errno));
	return MOLT_OK;
}

int molt__mkdtemp(char *out, size_t size, const char *parent,
		  const char *prefix, molt_err *err)
{
	int rc = molt__path(out, size, err, "%s/%sXXXXXX", parent, prefix);

	if (rc < 0)
		return rc;
	if (!mkdtemp(out))
		return molt_err_set(err, MOLT_EIO, "mkdtemp in '%s': %s",
				    parent, strerror(errno));
	return MOLT_OK;
}

extern char **environ;

/* In the child: env added to ours, or (clean) replacing it; stdout and
 * stderr into out_fd when it is not -1. Never returns. */
static void child(const char *const *argv, const char *cwd,
		  const char *const *env, int clean, int out_fd)
{
	if (clean) {
		environ = (char **)env;
		umask(022);
	} else {
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
	}
	if (out_fd >= 0 && (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0))
		_exit(126);
	if (cwd && chdir(cwd) < 0) {
		fprintf(stderr, "molt: chdir '%s': %s\n", cwd, strerror(errno));
		_exit(126);
	}
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "molt: cannot run '%s': %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

/* Append what fd gives until its end to out (NULL: drop it). */
static void read_to_end(int fd, molt_buf *out)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (out)
			molt_buf_put(out, chunk, (size_t)n);
	}
}

static int run(const char *const *argv, const char *cwd, const char *const *env,
	       int clean, molt_buf *out, const char *what, molt_err *err)
{
	int fds[2] = {-1, -1}, st;
	char buf[64];
	pid_t pid;

	fflush(NULL);
	if (out && pipe2(fds, O_CLOEXEC) < 0)
		return molt_err_set(err, MOLT_EIO, "%s: pipe: %s", what,
				    strerror(errno));
	pid = fork();
	if (pid < 0)
		return molt_err_set(err, MOLT_EIO, "%s: fork: %s", what,
				    strerror(errno));
	if (pid == 0)
		child(argv, cwd, env, clean, fds[1]);
	if (out) {
		close(fds[1]);
		read_to_end(fds[0], out);
		close(fds[0]);
		if (molt_buf_putc(out, 0) < 0)
			return molt_err_set(err, MOLT_ENOMEM, "out of memory");
		out->len--;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return molt_err_set(err, MOLT_EIO, "%s: waitpid: %s",
					    what, strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return MOLT_OK;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return molt_err_set(err, MOLT_ERROR, "%s: cannot run '%s'",
				    what, argv[0]);
	return molt_err_set(err, MOLT_ERROR, "%s: '%s' %s", what, argv[0],
			    molt__wait_status(buf, sizeof(buf), st));
}

int molt__run(const char *const *argv, const char *cwd, const char *const *env,
	      const char *what, molt_err *err)
{
	return run(argv, cwd, env, 0, NULL, what, err);
}

int molt__run_clean(const char *const *argv, const char *cwd,
		    const char *const *envp, molt_buf *out, const char *what,
		    molt_err *err)
{
	return run(argv, cwd, envp, 1, out, what, err);
}

int molt__run_capture(const char *const *argv, const char *cwd, molt_buf *out,
		      const char *what, molt_err *err)
{
	return run(argv, cwd, NULL, 0, out, what, err);
}

const char *molt__wait_status(char *buf, size_t size, int st)
{
	if (WIFEXITED(st))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)st);
	return buf;
}

char *molt__strf(const char *fmt, ...)
{
	molt_buf b = MOLT_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = molt_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		molt_buf_release(&b);
		return NULL;
	}
	return molt_buf_detach(&b);
}

void molt__strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		molt_free(v[i]);
	molt_free(v);
}

int molt__strv_push(char ***v, size_t *n, const char *s)
{
	char **nv;
	char *copy = molt_strdup(s);

	if (!copy)
		return MOLT_ENOMEM;
	/* grow by powers of two: sizes 1, 2, 4, ... */
	if ((*n & (*n - 1)) == 0) {
		nv = molt_realloc(*v, (*n ? *n * 2 : 1) * sizeof(*nv));
		if (!nv) {
			molt_free(copy);
			return MOLT_ENOMEM;
		}
		*v = nv;
	}
	(*v)[(*n)++] = copy;
	return MOLT_OK;
}

static int walk(char ***out, size_t *n, const char *base, const char *rel,
		molt_err *err);

static int walk_entry(char ***out, size_t *n, const char *base, const char *rel,
		      const char *name, molt_err *err)
{
	char relp[MOLT__PATH_MAX], full[MOLT__PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = molt__path(relp, sizeof(relp), err, "%s%s%s", rel,
			     *rel ? "/" : "", name)) < 0 ||
	    (rc = molt__path(full, sizeof(full), err, "%s/%s", base, relp)) < 0)
		return rc;
	if (lstat(full, &st) < 0)
		return molt_err_set(err, MOLT_EIO, "stat '%s': %s", full,
				    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return walk(out, n, base, relp, err);
	if (!S_ISREG(st.st_mode))
		return molt_err_set(err, MOLT_EUNSAFE,
				    "'%s' is not a regular file", full);
	if (molt__strv_push(out, n, relp) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return MOLT_OK;
}

static int walk(char ***out, size_t *n, const char *base, const char *rel,
		molt_err *err)
{
	char dir[MOLT__PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc;

	if ((rc = molt__path(dir, sizeof(dir), err, "%s/%s", base, rel)) < 0)
		return rc;
	if (!(d = opendir(dir)))
		return molt_err_set(err, MOLT_EIO, "opendir '%s': %s", dir,
				    strerror(errno));
	rc = MOLT_OK;
	while (rc == MOLT_OK && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rc = walk_entry(out, n, base, rel, de->d_name, err);
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int molt__list_files(char ***out, size_t *n, const char *dir, molt_err *err)
{
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = walk(out, n, dir, "", err)) < 0) {
		molt__strv_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_str);
	return MOLT_OK;
}

static int sync_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	int fd;

	(void)st;
	(void)ftw;
	if (flag != FTW_F && flag != FTW_D && flag != FTW_DP)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int molt__sync_tree(const char *dir, molt_err *err)
{
	if (nftw(dir, sync_one, 32, FTW_PHYS) != 0)
		return molt_err_set(err, MOLT_EIO, "fsync under '%s': %s", dir,
				    strerror(errno));
	return MOLT_OK;
}

double molt__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int molt__exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* path is ours alone: owned by the effective user, not writable by group
 * or others, and a directory if want_dir, else a regular file. */
static int private_check(const char *path, int want_dir, molt_err *err)
{
	struct stat st;

	/* a root may be a symlink to its directory; a file is not followed */
	if ((want_dir ? stat(path, &st) : lstat(path, &st)) < 0)
		return molt_err_set(err, MOLT_EIO, "'%s': %s", path,
				    strerror(errno));
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return molt_err_set(err, MOLT_EUNSAFE, "'%s' is not a %s", path,
				    want_dir ? "directory" : "regular file");
	if (st.st_uid != geteuid())
		return molt_err_set(err, MOLT_EUNSAFE,
				    "'%s' is owned by uid %u, not by you (uid "
				    "%u): a node root must be yours alone",
				    path, (unsigned)st.st_uid,
				    (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return molt_err_set(
			err, MOLT_EUNSAFE,
			"'%s': mode %04o lets group or others write "
			"it; molt changes no modes: chmod go-w '%s'",
			path, (unsigned)(st.st_mode & 07777), path);
	return MOLT_OK;
}

int molt__root_private(const char *path, molt_err *err)
{
	return private_check(path, 1, err);
}

int molt__private_file(const char *path, molt_err *err)
{
	return private_check(path, 0, err);
}

int molt__root_check(const char *root, molt_err *err)
{
	char path[MOLT__PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = molt__path(path, sizeof(path), err,
			     "%s/" MOLT_ROOT_RELEASES_DIR, root)) < 0)
		return rc;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "'%s' is not a molt root (no releases/ "
				    "directory; make one with 'molt init')",
				    root);
	molt__pathf(path, "%s/" MOLT_ROOT_LIB_DIR, root);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "'%s' is not a molt root (no lib/ "
				    "directory)",
				    root);
	return MOLT_OK;
}
