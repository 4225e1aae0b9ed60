/* An LD_PRELOAD library for e2e.kill_sweep: SIGKILL the process right
 * before its Nth call that changes the file system, so that a sweep over
 * N = 1, 2, ... stops a real molt or moltd at every step of its work.
 *
 *   MOLT_KILL_AT=N     kill before the Nth counted call (unset: count only)
 *   MOLT_KILL_ARM=PATH count only once PATH exists (a node boots first,
 *                      and is armed just before the operation under test)
 *   MOLT_KILL_LOG=PATH append "N CALL ARG" for each counted call
 *
 * Counted: open/openat/creat that may write, write/pwrite/writev to a
 * regular file other than stdin/stdout/stderr, fsync, fdatasync,
 * ftruncate, rename/renameat, unlink/unlinkat, remove, rmdir,
 * mkdir/mkdirat, mkdtemp, link/symlink, chmod/fchmod, futimens, flock.
 * Only calls that go through the dynamic linker are seen: libc calling
 * itself is not (molt writes no file through stdio), nor open64 (molt
 * and its libraries call open; see `nm -D --undefined-only`).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "molt/banned.h"

#define SHIM __attribute__((visibility("default")))

/* glibc's fortified entry points, declared by <fcntl.h> only with
 * _FORTIFY_SOURCE */
SHIM int __open_2(const char *path, int flags);
SHIM int __openat_2(int dir, const char *path, int flags);

/* The next definition of name, behind this library. */
#define REAL(name)                                                             \
	static __typeof__(name) *real_##name;                                  \
	if (!real_##name)                                                      \
	real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static atomic_long counted; /* calls counted so far, all threads */
static atomic_int armed;    /* 1 once MOLT_KILL_ARM exists (or is unset) */

static void log_step(long n, const char *call, const char *arg)
{
	REAL(open);
	REAL(write);
	const char *path = getenv("MOLT_KILL_LOG");
	char line[512];
	int fd, len;

	if (!path)
		return;
	len = snprintf(line, sizeof(line), "%ld %s %s\n", n, call,
		       arg ? arg : "");
	fd = real_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	real_write(fd, line,
		   len < (int)sizeof(line) ? (size_t)len : sizeof(line) - 1);
	close(fd);
}

static int is_armed(void)
{
	const char *arm;

	if (atomic_load(&armed))
		return 1;
	arm = getenv("MOLT_KILL_ARM");
	if (arm && access(arm, F_OK) != 0)
		return 0;
	atomic_store(&armed, 1);
	return 1;
}

/* One counted call: the Nth one is never made. */
static void step(const char *call, const char *arg)
{
	const char *at = getenv("MOLT_KILL_AT");
	long n;

	if (!is_armed())
		return;
	n = atomic_fetch_add(&counted, 1) + 1;
	log_step(n, call, arg);
	if (at && strtol(at, NULL, 10) == n)
		kill(getpid(), SIGKILL);
}

static int writes(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

static void fd_step(const char *call, int fd)
{
	struct stat st;
	char arg[32];

	if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	snprintf(arg, sizeof(arg), "fd %d", fd);
	step(call, arg);
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
		       ? (mode_t)va_arg(ap, int)
		       : 0;
}

/* open and openat: openat(AT_FDCWD, ...) is open */
static int open_step(int dir, const char *path, int flags, mode_t mode)
{
	REAL(openat);

	if (writes(flags))
		step("open", path);
	return real_openat(dir, path, flags, mode);
}

SHIM int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return open_step(AT_FDCWD, path, flags, mode);
}

SHIM int openat(int dir, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return open_step(dir, path, flags, mode);
}

/* _FORTIFY_SOURCE's open without a mode (libarchive calls these) */
SHIM int __open_2(const char *path, int flags)
{
	REAL(__open_2);

	if (writes(flags))
		step("open", path);
	return real___open_2(path, flags);
}

SHIM int __openat_2(int dir, const char *path, int flags)
{
	REAL(__openat_2);

	if (writes(flags))
		step("openat", path);
	return real___openat_2(dir, path, flags);
}

/* A call counted by the path it changes (or NULL), or by its fd (if a
 * regular file): the same shape for every call below. */
#define PATH_CALL(ret, name, params, args, path)                               \
	SHIM ret name params                                                   \
	{                                                                      \
		REAL(name);                                                    \
		step(#name, path);                                             \
		return real_##name args;                                       \
	}
#define FD_CALL(ret, name, params, args, fd)                                   \
	SHIM ret name params                                                   \
	{                                                                      \
		REAL(name);                                                    \
		fd_step(#name, fd);                                            \
		return real_##name args;                                       \
	}

PATH_CALL(int, creat, (const char *path, mode_t mode), (path, mode), path)
FD_CALL(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n), fd)
FD_CALL(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off),
	(fd, buf, n, off), fd)
FD_CALL(ssize_t, writev, (int fd, const struct iovec *iov, int n), (fd, iov, n),
	fd)
PATH_CALL(int, fsync, (int fd), (fd), NULL)
PATH_CALL(int, fdatasync, (int fd), (fd), NULL)
FD_CALL(int, ftruncate, (int fd, off_t len), (fd, len), fd)
FD_CALL(int, futimens, (int fd, const struct timespec t[2]), (fd, t), fd)
PATH_CALL(int, rename, (const char *from, const char *to), (from, to), to)
PATH_CALL(int, renameat, (int fd1, const char *from, int fd2, const char *to),
	  (fd1, from, fd2, to), to)
PATH_CALL(int, unlink, (const char *path), (path), path)
PATH_CALL(int, unlinkat, (int dir, const char *path, int flags),
	  (dir, path, flags), path)
PATH_CALL(int, remove, (const char *path), (path), path)
PATH_CALL(int, rmdir, (const char *path), (path), path)
PATH_CALL(int, mkdir, (const char *path, mode_t mode), (path, mode), path)
PATH_CALL(int, mkdirat, (int dir, const char *path, mode_t mode),
	  (dir, path, mode), path)
PATH_CALL(char *, mkdtemp, (char *tmpl), (tmpl), tmpl)
PATH_CALL(int, link, (const char *from, const char *to), (from, to), to)
PATH_CALL(int, symlink, (const char *target, const char *path), (target, path),
	  path)
PATH_CALL(int, chmod, (const char *path, mode_t mode), (path, mode), path)
FD_CALL(int, fchmod, (int fd, mode_t mode), (fd, mode), fd)
PATH_CALL(int, flock, (int fd, int op), (fd, op), NULL)
