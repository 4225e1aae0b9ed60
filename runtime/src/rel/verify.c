/* A release's manifest and file sums, by libsodium's SHA-256. */
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "molt/buf.h"

#include "code/modtab.h"

#include "molt/banned.h"

#define MANIFEST "MANIFEST.sha256"

static int is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int add_line(molt__manifest *mf, const char *line, size_t len,
		    int lineno, molt_err *err)
{
	molt__mfentry *grown;

	if (len < 67 || !is_hex64(line) || line[64] != ' ' || line[65] != ' ')
		return molt_err_set(err, MOLT_EPARSE,
				    "%s/%s:%d: expected 'SUM  PATH'", mf->root,
				    mf->name, lineno);
	grown = molt_realloc(mf->e, (mf->n + 1) * sizeof(*grown));
	if (!grown)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	mf->e = grown;
	memcpy(grown[mf->n].sum, line, 64);
	grown[mf->n].sum[64] = '\0';
	grown[mf->n].path = molt_strndup(line + 66, len - 66);
	if (!grown[mf->n].path)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	mf->n++;
	return MOLT_OK;
}

static int parse_lines(molt__manifest *mf, const molt_buf *b, molt_err *err)
{
	const char *p = b->ptr, *end = b->ptr + b->len, *nl;
	int lineno = 1, rc;

	for (; p < end; p = nl + 1, lineno++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return molt_err_set(err, MOLT_EPARSE,
					    "%s/%s:%d: no newline at the end",
					    mf->root, mf->name, lineno);
		if ((rc = add_line(mf, p, (size_t)(nl - p), lineno, err)) < 0)
			return rc;
	}
	return MOLT_OK;
}

int molt__manifest_init(molt__manifest *out, const char *root, const char *vsn,
			molt_err *err)
{
	molt_buf name = MOLT_BUF_INIT, path = MOLT_BUF_INIT,
		 text = MOLT_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	out->root = root;
	if (sodium_init() < 0)
		return molt_err_set(err, MOLT_ERROR, "libsodium: init failed");
	if (molt_buf_printf(&name, "releases/%s/" MANIFEST, vsn) < 0 ||
	    molt_buf_printf(&path, "%s/%s", root, name.ptr) < 0) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out;
	}
	out->name = molt_buf_detach(&name);
	if ((rc = molt_buf_read_file(&text, path.ptr, err)) == MOLT_OK)
		rc = parse_lines(out, &text, err);
out:
	molt_buf_release(&text);
	molt_buf_release(&path);
	molt_buf_release(&name);
	if (rc < 0)
		molt__manifest_release(out);
	return rc;
}

void molt__manifest_release(molt__manifest *mf)
{
	for (size_t i = 0; i < mf->n; i++)
		molt_free(mf->e[i].path);
	molt_free(mf->e);
	molt_free(mf->name);
	mf->e = NULL;
	mf->name = NULL;
	mf->n = 0;
}

static int sum_file(char out[MOLT__SUM_HEX], const char *path, molt_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return molt_err_set(err, MOLT_EIO, "%s: %s", path,
				    strerror(errno));
	rc = molt__sha256_fd(out, fd, path, err);
	close(fd);
	return rc;
}

static const molt__mfentry *find(const molt__manifest *mf, const char *path)
{
	for (size_t i = 0; i < mf->n; i++)
		if (strcmp(mf->e[i].path, path) == 0)
			return &mf->e[i];
	return NULL;
}

int molt__manifest_check(const molt__manifest *mf, const char *path,
			 const char *want_sum, molt_err *err)
{
	const molt__mfentry *e = find(mf, path);
	char full[4096], sum[MOLT__SUM_HEX];
	int rc;

	snprintf(full, sizeof(full), "%s/%s", mf->root, path);
	if (!e)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: not listed in %s/%s", full, mf->root,
				    mf->name);
	if ((rc = sum_file(sum, full, err)) < 0)
		return rc;
	if (strcmp(sum, e->sum) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: sha256 %s does not match %s (%s)",
				    full, sum, mf->name, e->sum);
	if (want_sum && strcmp(sum, want_sum) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: sha256 %s does not match its app.json "
				    "(%.64s)",
				    full, sum, want_sum);
	return MOLT_OK;
}

int molt__manifest_check_all(const molt__manifest *mf, molt_err *err)
{
	int rc;

	for (size_t i = 0; i < mf->n; i++)
		if ((rc = molt__manifest_check(mf, mf->e[i].path, NULL, err)) <
		    0)
			return rc;
	return MOLT_OK;
}
