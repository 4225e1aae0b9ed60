/* molt keygen, molt trust: key files, the keys a root trusts, and the
 * check of a manifest's signatures against them. */
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/release.h"

#include "fsutil.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#define PUB_SUFFIX ".pub"

/* ---- molt keygen ---- */

/* Write text to path, created with mode (O_EXCL: never over a file). */
static int write_new(const char *path, const molt_buf *text, mode_t mode,
		     molt_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0)
		return molt_err_set(err,
				    errno == EEXIST ? MOLT_EEXISTS : MOLT_EIO,
				    "'%s': %s", path, strerror(errno));
	n = write(fd, text->ptr, text->len);
	if (n != (ssize_t)text->len || fsync(fd) < 0) {
		close(fd);
		unlink(path);
		return molt_err_set(err, MOLT_EIO, "write '%s': %s", path,
				    strerror(errno));
	}
	close(fd);
	return MOLT_OK;
}

static int keygen(char *id_out, const char *path, molt_err *err)
{
	struct molt__pubkey pub;
	struct molt__seckey sec;
	molt_buf ptext = MOLT_BUF_INIT, stext = MOLT_BUF_INIT;
	char pubpath[MOLT__PATH_MAX];
	int rc;

	if ((rc = molt__path(pubpath, sizeof(pubpath), err, "%s" PUB_SUFFIX,
			     path)) < 0)
		return rc;
	if (molt__exists(path) || molt__exists(pubpath))
		return molt_err_set(err, MOLT_EEXISTS,
				    "'%s' or '%s' already exists: keygen "
				    "overwrites no key",
				    path, pubpath);
	molt__key_pair(&pub, &sec);
	if (molt__seckey_format(&stext, &sec) < 0 ||
	    molt__pubkey_format(&ptext, &pub) < 0) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = write_new(path, &stext, 0600, err)) < 0)
		goto out;
	if ((rc = write_new(pubpath, &ptext, 0644, err)) < 0) {
		unlink(path);
		goto out;
	}
	if (id_out)
		memcpy(id_out, pub.id, MOLT__KEYID_HEX);
out:
	sodium_memzero(&sec, sizeof(sec));
	if (stext.ptr)
		sodium_memzero(stext.ptr, stext.len);
	molt_buf_release(&stext);
	molt_buf_release(&ptext);
	return rc;
}

int molt_keygen(char *id_out, const char *path, molt_err *err)
{
	if (!path)
		return molt_err_set(err, MOLT_EINVAL, "keygen needs a path");
	if (sodium_init() < 0)
		return molt_err_set(err, MOLT_ERROR, "libsodium: init failed");
	return keygen(id_out, path, err);
}

/* ---- ROOT/keys ---- */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct molt__pubkey *)a)->id,
		      ((const struct molt__pubkey *)b)->id);
}

/* One entry name of keys/: ID.pub, its key read and checked. */
static int load_key(struct molt__trust *t, const char *dir, const char *name,
		    molt_err *err)
{
	char path[MOLT__PATH_MAX];
	size_t len = strlen(name);
	struct molt__pubkey *grown;
	int rc;

	if ((rc = molt__path(path, sizeof(path), err, "%s/%s", dir, name)) < 0)
		return rc;
	if (len != MOLT__KEYID_HEX - 1 + strlen(PUB_SUFFIX) ||
	    strcmp(name + MOLT__KEYID_HEX - 1, PUB_SUFFIX) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "'%s' is not a trusted key file (ID.pub, "
				    "as 'molt trust add' writes it)",
				    path);
	if (!(grown = molt_realloc(t->keys, (t->n + 1) * sizeof(*grown))))
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	t->keys = grown;
	if ((rc = molt__private_file(path, err)) < 0 ||
	    (rc = molt__pubkey_read(&t->keys[t->n], path, err)) < 0)
		return rc;
	if (strncmp(name, t->keys[t->n].id, MOLT__KEYID_HEX - 1) != 0)
		return molt_err_set(err, MOLT_EUNSAFE,
				    "'%s' holds key %s: its name must be "
				    "the key's id",
				    path, t->keys[t->n].id);
	t->n++;
	return MOLT_OK;
}

static int load_dir(struct molt__trust *out, const char *dir, molt_err *err)
{
	struct dirent *de;
	DIR *d;
	int rc = MOLT_OK;

	if ((rc = molt__root_private(dir, err)) < 0)
		return rc;
	if (!(d = opendir(dir)))
		return molt_err_set(err, MOLT_EIO, "'%s': %s", dir,
				    strerror(errno));
	while (rc == MOLT_OK && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = load_key(out, dir, de->d_name, err);
	closedir(d);
	if (rc == MOLT_OK && out->n)
		qsort(out->keys, out->n, sizeof(*out->keys), cmp_key);
	return rc;
}

int molt__trust_load(struct molt__trust *out, const char *root, molt_err *err)
{
	char dir[MOLT__PATH_MAX];
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = molt__path(dir, sizeof(dir), err, "%s/" MOLT_ROOT_KEYS_DIR,
			     root)) < 0)
		return rc;
	if (lstat(dir, &st) < 0 && errno == ENOENT)
		return MOLT_OK;
	if ((rc = load_dir(out, dir, err)) < 0)
		molt__trust_release(out);
	return rc;
}

void molt__trust_release(struct molt__trust *t)
{
	molt_free(t->keys);
	t->keys = NULL;
	t->n = 0;
}

static const struct molt__pubkey *find_key(const struct molt__trust *t,
					   const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->keys[i].id, id) == 0)
			return &t->keys[i];
	return NULL;
}

/* "A, B" of the ids of t (or of sigs when sigs is not NULL). */
static void id_list(char *out, size_t size, const struct molt__trust *t,
		    const struct molt__sigs *sigs)
{
	size_t n = sigs ? sigs->n : t->n, len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len + 20 < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					i ? ", " : "",
					sigs ? sigs->v[i].id : t->keys[i].id);
}

/* Why no signature in sigs is good, for err. */
static int refuse(const struct molt__trust *t, const struct molt__sigs *sigs,
		  const char *manifest_sum, const char *what, molt_err *err)
{
	char have[256], trusted[256];

	id_list(trusted, sizeof(trusted), t, NULL);
	for (size_t i = 0; i < sigs->n; i++) {
		const struct molt__sig *s = &sigs->v[i];

		if (!find_key(t, s->id))
			continue;
		if (strcmp(s->manifest, manifest_sum) != 0)
			return molt_err_set(
				err, MOLT_EUNSAFE,
				"%s: " MOLT_MANIFEST_FILE " changed after key "
				"%s signed it (signed sha256 %.16s..., now "
				"%.16s...)",
				what, s->id, s->manifest, manifest_sum);
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: bad signature by key %s over "
				    "its " MOLT_MANIFEST_FILE,
				    what, s->id);
	}
	id_list(have, sizeof(have), NULL, sigs);
	return molt_err_set(err, MOLT_EUNSAFE,
			    "%s is signed only by keys this root does not "
			    "trust (%s; trusted: %s)",
			    what, have, trusted);
}

static int check_sigs(char *signer, const struct molt__trust *t,
		      const struct molt__sigs *sigs, const char *manifest_sum,
		      const char *what, molt_err *err)
{
	for (size_t i = 0; i < sigs->n; i++) {
		const struct molt__sig *s = &sigs->v[i];
		const struct molt__pubkey *k = find_key(t, s->id);

		if (k && strcmp(s->manifest, manifest_sum) == 0 &&
		    molt__sig_valid(s, k)) {
			memcpy(signer, s->id, MOLT__KEYID_HEX);
			return MOLT_OK;
		}
	}
	return refuse(t, sigs, manifest_sum, what, err);
}

int molt__trust_check(char *signer, size_t *nsigs, const struct molt__trust *t,
		      const char *sig_path, const char *manifest_sum,
		      const char *what, molt_err *err)
{
	molt_buf text = MOLT_BUF_INIT;
	struct molt__sigs sigs;
	char trusted[256];
	int rc;

	if (nsigs)
		*nsigs = 0;
	if (!molt__exists(sig_path)) {
		id_list(trusted, sizeof(trusted), t, NULL);
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s is not signed (no " MOLT_SIG_FILE
				    ") and this root trusts only signed "
				    "bundles (keys %s); sign it with 'molt "
				    "sign'",
				    what, trusted);
	}
	if ((rc = molt_buf_read_file(&text, sig_path, err)) < 0)
		return rc;
	rc = molt__sigs_parse(&sigs, text.ptr, text.len, MOLT_SIG_FILE, err);
	molt_buf_release(&text);
	if (rc < 0)
		return molt_err_prefix(err, "%s", what);
	if (nsigs)
		*nsigs = sigs.n;
	if (sigs.n == 0)
		rc = molt_err_set(err, MOLT_EUNSAFE,
				  "%s is not signed (its " MOLT_SIG_FILE
				  " holds no signature)",
				  what);
	else
		rc = check_sigs(signer, t, &sigs, manifest_sum, what, err);
	molt__sigs_release(&sigs);
	return rc;
}

/* ---- molt trust add / remove / list ---- */

/* ROOT (made if missing) and ROOT/keys (made if missing), both private. */
static int keys_dir(char *dir, size_t size, const char *root, molt_err *err)
{
	int rc;

	if (!molt__exists(root) && mkdir(root, 0755) < 0)
		return molt_err_set(err, MOLT_EIO, "mkdir '%s': %s", root,
				    strerror(errno));
	if ((rc = molt__root_private(root, err)) < 0 ||
	    (rc = molt__path(dir, size, err, "%s/" MOLT_ROOT_KEYS_DIR, root)) <
		    0)
		return rc;
	if (!molt__exists(dir) && mkdir(dir, 0755) < 0)
		return molt_err_set(err, MOLT_EIO, "mkdir '%s': %s", dir,
				    strerror(errno));
	return molt__root_private(dir, err);
}

static int trust_add(char *id_out, const char *root, const char *pubkey,
		     molt_err *err)
{
	struct molt__pubkey k;
	molt_buf text = MOLT_BUF_INIT;
	char dir[MOLT__PATH_MAX], path[MOLT__PATH_MAX];
	int rc;

	if ((rc = molt__pubkey_read(&k, pubkey, err)) < 0 ||
	    (rc = keys_dir(dir, sizeof(dir), root, err)) < 0)
		return rc;
	if ((rc = molt__path(path, sizeof(path), err, "%s/%s" PUB_SUFFIX, dir,
			     k.id)) < 0)
		return rc;
	if (molt__pubkey_format(&text, &k) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = molt_write_file_atomic(path, text.ptr, text.len, err);
	molt_buf_release(&text);
	if (rc == MOLT_OK && id_out)
		memcpy(id_out, k.id, MOLT__KEYID_HEX);
	return rc;
}

int molt_trust_add(char *id_out, const char *root, const char *pubkey,
		   molt_err *err)
{
	if (!root || !pubkey)
		return molt_err_set(err, MOLT_EINVAL,
				    "trust add needs a root and a key");
	if (sodium_init() < 0)
		return molt_err_set(err, MOLT_ERROR, "libsodium: init failed");
	return trust_add(id_out, root, pubkey, err);
}

int molt_trust_remove(const char *root, const char *id, molt_err *err)
{
	struct molt__trust t;
	char path[MOLT__PATH_MAX], have[256];
	int rc;

	if (!root || !id)
		return molt_err_set(err, MOLT_EINVAL,
				    "trust remove needs a root and a key id");
	if ((rc = molt__trust_load(&t, root, err)) < 0)
		return rc;
	if (!find_key(&t, id)) {
		id_list(have, sizeof(have), &t, NULL);
		rc = molt_err_set(err, MOLT_ENOTFOUND,
				  "'%s' trusts no key %s (it trusts: %s)", root,
				  id, t.n ? have : "none");
		molt__trust_release(&t);
		return rc;
	}
	molt__trust_release(&t);
	molt__pathf(path, "%s/" MOLT_ROOT_KEYS_DIR "/%s" PUB_SUFFIX, root, id);
	if (unlink(path) < 0)
		return molt_err_set(err, MOLT_EIO, "unlink '%s': %s", path,
				    strerror(errno));
	return MOLT_OK;
}

int molt_trusted_keys_read(molt_trusted_keys *out, const char *root,
			   molt_err *err)
{
	struct molt__trust t;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!root)
		return molt_err_set(err, MOLT_EINVAL, "no root");
	if ((rc = molt__trust_load(&t, root, err)) < 0)
		return rc;
	if (t.n && !(out->ids = molt_calloc(t.n, sizeof(*out->ids)))) {
		molt__trust_release(&t);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < t.n; i++)
		memcpy(out->ids[i], t.keys[i].id, MOLT__KEYID_HEX);
	out->n = t.n;
	molt__trust_release(&t);
	return MOLT_OK;
}

void molt_trusted_keys_release(molt_trusted_keys *k)
{
	molt_free(k->ids);
	k->ids = NULL;
	k->n = 0;
}
