/* The root outside unpack: its lock, and checking an unpacked release
 * against the manifest unpack kept. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "fsutil.h"
#include "manifest.h"
#include "sha256.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

int molt_root_lock(int *out, const char *root, molt_err *err)
{
	char path[MOLT__PATH_MAX];
	int fd, rc;

	if ((rc = molt__path(path, sizeof(path), err, "%s/" MOLT_ROOT_LOCK_FILE,
			     root)) < 0)
		return rc;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return molt_err_set(err, MOLT_EIO, "open '%s': %s", path,
				    strerror(errno));
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return molt_err_set(err, MOLT_EIO, "flock '%s': %s",
					    path, strerror(errno));
		}
	*out = fd;
	return MOLT_OK;
}

void molt_root_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int verify_line(const char *root, const char *vsn, const char *line,
		       size_t len, int lineno, molt_err *err)
{
	char path[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	int rc;

	if (len < 67 || line[64] != ' ' || line[65] != ' ' ||
	    strspn(line, "0123456789abcdef") != 64)
		return molt_err_set(err, MOLT_EPARSE,
				    "release %s: " MOLT_MANIFEST_FILE
				    ":%d: expected '<sha256>  <path>'",
				    vsn, lineno);
	if ((rc = molt__path(path, sizeof(path), err, "%s/%.*s", root,
			     (int)(len - 66), line + 66)) < 0)
		return rc;
	if (!molt__exists(path))
		return molt_err_set(err, MOLT_ENOTFOUND,
				    "release %s: '%.*s' is missing", vsn,
				    (int)(len - 66), line + 66);
	if ((rc = molt__sha256_file(sum, path, err)) < 0)
		return rc;
	if (memcmp(sum, line, 64) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "release %s: '%.*s': sha256 does not match "
				    "the manifest",
				    vsn, (int)(len - 66), line + 66);
	return MOLT_OK;
}

int molt_release_verify(const char *root, const char *vsn, molt_err *err)
{
	molt_buf m = MOLT_BUF_INIT;
	char path[MOLT__PATH_MAX];
	const char *p, *nl;
	int lineno = 0, rc;

	if (!root || !vsn || !molt__name_ok(vsn))
		return molt_err_set(err, MOLT_EINVAL,
				    "verify needs a root and "
				    "a version");
	if ((rc = molt__path(path, sizeof(path), err,
			     "%s/" MOLT_ROOT_RELEASES_DIR
			     "/%s/" MOLT_MANIFEST_FILE,
			     root, vsn)) < 0 ||
	    (rc = molt_buf_read_file(&m, path, err)) < 0)
		return rc;
	for (p = m.ptr; rc == MOLT_OK && (nl = strchr(p, '\n')); p = nl + 1)
		rc = verify_line(root, vsn, p, (size_t)(nl - p), ++lineno, err);
	molt_buf_release(&m);
	return rc;
}
