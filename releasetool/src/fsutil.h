/* Files, directories and child processes for the release tool. */
#ifndef MOLT_RELEASETOOL_FSUTIL_H
#define MOLT_RELEASETOOL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "molt/buf.h"
#include "molt/common.h"

#define MOLT__PATH_MAX 4096

/* snprintf into out; MOLT_EINVAL ("path too long: ...") if it does not
 * fit, and out is then "" so that no truncated path is ever used. */
MOLT_PRINTF(4, 5)
int molt__path(char *out, size_t size, molt_err *err, const char *fmt, ...);

/* molt__path into an array, for paths whose parts are already bounded:
 * an overlong result is "" and the next file operation fails on it. */
#define molt__pathf(buf, ...) molt__path((buf), sizeof(buf), NULL, __VA_ARGS__)

/* mkdir -p path with mode for the directories it makes. */
int molt__mkdir_p(const char *path, mode_t mode, molt_err *err);

/* rm -rf path without following symlinks. Ignores errors. */
void molt__rmrf(const char *path);

/* rm -rf every entry of dir whose name starts with prefix. Ignores
 * errors. */
void molt__rmrf_prefixed(const char *dir, const char *prefix);

/* rename(2) from to; MOLT_EIO naming both paths if it fails. */
int molt__rename(const char *from, const char *to, molt_err *err);

/* Make a fresh directory "parent/prefixXXXXXX" and put its path in out. */
int molt__mkdtemp(char *out, size_t size, const char *parent,
		  const char *prefix, molt_err *err);

/* Directory for temporary files: $TMPDIR or /tmp. */
const char *molt__tmpdir(void);

/*
 * Run argv[0] (searched in PATH) with argv in cwd (NULL: ours), with the
 * "NAME=value" strings of env added to our environment (env may be NULL),
 * and wait. Fails naming what when it cannot start or exits non-zero.
 */
int molt__run(const char *const *argv, const char *cwd, const char *const *env,
	      const char *what, molt_err *err);

/*
 * Run argv as molt__run does, but with exactly envp (a NULL-terminated
 * "NAME=value" list; argv[0] is searched in its PATH) as the environment
 * and umask 022: a build step that sees nothing of the caller's
 * environment. When out is not NULL, the child's stdout and stderr are
 * appended to it (NUL-terminated, not counted in out->len).
 */
int molt__run_clean(const char *const *argv, const char *cwd,
		    const char *const *envp, molt_buf *out, const char *what,
		    molt_err *err);

/* Run argv in cwd with our environment; its stdout and stderr appended
 * to out (NUL-terminated). Fails as molt__run does. */
int molt__run_capture(const char *const *argv, const char *cwd, molt_buf *out,
		      const char *what, molt_err *err);

/* A waitpid() status in words, "exited with status 3" or "killed by
 * signal 9 (Killed)", written into buf; returns buf. */
const char *molt__wait_status(char *buf, size_t size, int st);

/*
 * Every regular file under dir, as sorted paths relative to dir. Returns
 * owned *out (free with molt__strv_free). Anything but a regular file or
 * a directory under dir is an error.
 */
int molt__list_files(char ***out, size_t *n, const char *dir, molt_err *err);

/* printf into a new string: returns owned (molt_free), or NULL when out
 * of memory. */
MOLT_PRINTF(1, 2)
char *molt__strf(const char *fmt, ...);

/* Free n strings of v and v itself. */
void molt__strv_free(char **v, size_t n);

/* Append a molt_strdup of s to *v (count *n); MOLT_ENOMEM on failure. */
int molt__strv_push(char ***v, size_t *n, const char *s);

/* fsync every file and directory under dir (not following symlinks), so
 * that what is renamed into place later is on disk. */
int molt__sync_tree(const char *dir, molt_err *err);

/* Monotonic clock in milliseconds. */
double molt__now_ms(void);

/* 1 if path exists (any type, not following a final symlink), else 0. */
int molt__exists(const char *path);
/*
 * A node root only its owner can change: path must be a directory owned
 * by the effective user and not writable by group or others (a bundle's
 * code runs with the node's privileges). MOLT_EUNSAFE naming the path and
 * what to do; MOLT_EIO if it cannot be read. Changes no mode.
 */
int molt__root_private(const char *path, molt_err *err);
/* The same for a regular file (not followed if a symlink: refused). */
int molt__private_file(const char *path, molt_err *err);

/* root has releases/ and lib/ directories; MOLT_ENOTFOUND saying what is
 * missing (and that 'molt init' makes a root) if not. */
int molt__root_check(const char *root, molt_err *err);

#endif
