/* molt sign: a signature of a bundle's manifest added to the bundle, as
 * MANIFEST.sig after MANIFEST.sha256; nothing else in it changes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "archive_io.h"
#include "fsutil.h"
#include "sign.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* One signing in progress. */
struct signing {
	const char *bundle;	    /* the bundle file */
	struct molt__seckey key;    /* the signer's key */
	char dir[MOLT__PATH_MAX];   /* temporary extraction */
	char tmp[MOLT__PATH_MAX];   /* the new bundle, beside the old */
	struct molt__extracted x;   /* what the bundle holds */
	struct molt__sigs sigs;	    /* its signatures, then ours too */
	char sum[MOLT__SHA256_HEX]; /* the manifest's sha256 */
	molt_err *err;		    /* where errors go */
};

/* Extract the bundle safely and check its files against its manifest:
 * a signature vouches for what the manifest lists. */
static int check_bundle(struct signing *s)
{
	int fd = open(s->bundle, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return molt_err_set(
			s->err, errno == ENOENT ? MOLT_ENOTFOUND : MOLT_EIO,
			"bundle '%s': %s", s->bundle, strerror(errno));
	rc = molt__archive_extract(&s->x, fd, s->dir, NULL, 0, s->err);
	close(fd);
	if (rc < 0 ||
	    (rc = molt__manifest_match(NULL, &s->x, s->dir, s->err)) < 0)
		return molt_err_prefix(s->err, "bundle '%s'", s->bundle);
	memcpy(s->sum, molt__extracted_sum(&s->x, MOLT_MANIFEST_FILE),
	       MOLT__SHA256_HEX);
	return MOLT_OK;
}

/* The signatures already there, and ours. */
static int add_signature(struct signing *s)
{
	char path[MOLT__PATH_MAX];
	molt_buf text = MOLT_BUF_INIT;
	struct molt__sig sig;
	int rc;

	molt__pathf(path, "%s/" MOLT_SIG_FILE, s->dir);
	if (molt__extracted_sum(&s->x, MOLT_SIG_FILE)) {
		if ((rc = molt_buf_read_file(&text, path, s->err)) == MOLT_OK)
			rc = molt__sigs_parse(&s->sigs, text.ptr, text.len,
					      MOLT_SIG_FILE, s->err);
		molt_buf_release(&text);
		if (rc < 0)
			return molt_err_prefix(s->err, "bundle '%s'",
					       s->bundle);
	}
	molt__sig_make(&sig, &s->key, s->sum);
	if (molt__sigs_put(&s->sigs, &sig) < 0)
		return molt_err_set(s->err, MOLT_ENOMEM, "out of memory");
	return MOLT_OK;
}

static int fsync_path(const char *path, int flags, molt_err *err)
{
	int fd = open(path, flags | O_CLOEXEC);
	int rc = MOLT_OK;

	if (fd < 0 || fsync(fd) < 0)
		rc = molt_err_set(err, MOLT_EIO, "fsync '%s': %s", path,
				  strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The bundle again with the new MANIFEST.sig, renamed over the old. */
static int rewrite(struct signing *s)
{
	molt_buf text = MOLT_BUF_INIT;
	struct molt__put p = {MOLT_MANIFEST_FILE, s->sum, MOLT_SIG_FILE, NULL,
			      0};
	char dir[MOLT__PATH_MAX];
	const char *slash = strrchr(s->bundle, '/');
	int rc;

	if (molt__sigs_format(&text, &s->sigs) < 0)
		return molt_err_set(s->err, MOLT_ENOMEM, "out of memory");
	p.data = text.ptr;
	p.len = text.len;
	rc = molt__path(s->tmp, sizeof(s->tmp), s->err, "%s.sign-%ld",
			s->bundle, (long)getpid());
	if (rc == MOLT_OK)
		rc = molt__archive_put(s->bundle, s->tmp, &p, s->err);
	molt_buf_release(&text);
	if (rc < 0 || (rc = fsync_path(s->tmp, O_RDONLY, s->err)) < 0 ||
	    (rc = molt__rename(s->tmp, s->bundle, s->err)) < 0)
		return rc;
	s->tmp[0] = '\0';
	molt__pathf(dir, "%.*s", slash ? (int)(slash - s->bundle) : 1,
		    slash ? s->bundle : ".");
	return fsync_path(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY, s->err);
}

int molt_bundle_sign(char *id_out, const char *bundle, const char *key_path,
		     molt_err *err)
{
	struct signing s = {.bundle = bundle, .err = err};
	int rc;

	if (!bundle || !key_path)
		return molt_err_set(err, MOLT_EINVAL,
				    "sign needs a bundle and a key");
	if (sodium_init() < 0)
		return molt_err_set(err, MOLT_ERROR, "libsodium: init failed");
	if ((rc = molt__seckey_read(&s.key, key_path, err)) < 0)
		return rc;
	if ((rc = molt__mkdtemp(s.dir, sizeof(s.dir), molt__tmpdir(),
				"molt-sign-", err)) < 0)
		goto out;
	if ((rc = check_bundle(&s)) == MOLT_OK &&
	    (rc = add_signature(&s)) == MOLT_OK &&
	    (rc = rewrite(&s)) == MOLT_OK && id_out)
		memcpy(id_out, s.key.id, MOLT__KEYID_HEX);
	if (s.tmp[0])
		unlink(s.tmp);
	molt__rmrf(s.dir);
out:
	sodium_memzero(&s.key, sizeof(s.key));
	molt__sigs_release(&s.sigs);
	molt__extracted_release(&s.x);
	return rc;
}
