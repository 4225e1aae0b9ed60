/* Helpers for the releasetool suites (see relfix.h). Test code may use
 * libarchive directly: it forges archives molt itself never writes. */
#include "relfix.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <sodium.h>

#include "molt/release.h"

#include "test_util.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

void relfix_make_repo(char *out, const char *dir)
{
	snprintf(out, 4096, "%s/repo", dir);
	ck_assert_int_eq(
		molt_test_system("sh '%s/make-repo.sh' '%s' >/dev/null",
				 MOLT_FIXTURES_DIR, out),
		0);
}

const char *relfix_build(const char *repo, const char *tag, const char *outdir)
{
	static molt_build_result r;
	molt_build_options o = MOLT_BUILD_OPTIONS_INIT;
	molt_err err = MOLT_ERR_INIT;
	int rc;

	o.repo = repo;
	o.tag = tag;
	o.out = outdir;
	rc = molt_release_build(&r, &o, &err);
	ck_assert_msg(rc == MOLT_OK, "build %s: %s", tag, err.msg);
	return r.path;
}

/* A file read from the good bundle. */
struct item {
	char *path; /* archive name */
	char *data; /* contents */
	size_t len; /* length */
	int mode;   /* permission bits */
};

static size_t read_items(const char *good, struct item *items, size_t max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	ck_assert_int_eq(archive_read_open_filename(a, good, 16384),
			 ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		ck_assert_uint_lt(n, max);
		items[n].path = strdup(archive_entry_pathname(e));
		items[n].len = (size_t)archive_entry_size(e);
		items[n].data = malloc(items[n].len + 1);
		items[n].mode = (int)archive_entry_perm(e);
		ck_assert_int_eq(
			archive_read_data(a, items[n].data, items[n].len),
			(ssize_t)items[n].len);
		n++;
	}
	archive_read_free(a);
	return n;
}

static void put_entry(struct archive *a, const struct relfix_entry *x)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = x->data ? strlen(x->data) : 0;

	archive_entry_set_pathname(e, x->path);
	archive_entry_set_perm(e, x->mode ? x->mode : 0644);
	archive_entry_set_mtime(e, 1000000000, 0);
	switch (x->type) {
	case 'f':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, (la_int64_t)len);
		break;
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, x->link);
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, x->link);
		break;
	case 'c':
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_rdev(e, makedev(1, 3));
		break;
	case 'b':
		archive_entry_set_filetype(e, AE_IFBLK);
		archive_entry_set_rdev(e, makedev(7, 0));
		break;
	case 'p':
		archive_entry_set_filetype(e, AE_IFIFO);
		break;
	}
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	if (len)
		ck_assert_int_eq(archive_write_data(a, x->data, len),
				 (ssize_t)len);
	archive_entry_free(e);
}

static void put_item(struct archive *a, const struct item *it)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, it->path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, it->mode);
	archive_entry_set_size(e, (la_int64_t)it->len);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(a, it->data, it->len),
			 (ssize_t)it->len);
	archive_entry_free(e);
}

static void sum_line(char **m, size_t *mlen, const char *path, const void *data,
		     size_t len)
{
	unsigned char sum[32];
	char hex[65], line[4200];
	int n;

	crypto_hash_sha256(sum, data, len);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	n = snprintf(line, sizeof(line), "%s  %s\n", hex, path);
	*m = realloc(*m, *mlen + (size_t)n + 1);
	memcpy(*m + *mlen, line, (size_t)n + 1);
	*mlen += (size_t)n;
}

/* The manifest the mutated bundle carries. */
static void make_manifest(struct item *man, struct item *items, size_t n,
			  const struct relfix_mutation *m)
{
	char *text = calloc(1, 1);
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].path, MOLT_MANIFEST_FILE) != 0)
			sum_line(&text, &len, items[i].path, items[i].data,
				 items[i].len);
	for (size_t i = 0; m->list_extra && i < m->nextra; i++)
		if (m->extra[i].type == 'f')
			sum_line(&text, &len, m->extra[i].path,
				 m->extra[i].data ? m->extra[i].data : "",
				 m->extra[i].data ? strlen(m->extra[i].data)
						  : 0);
	if (m->manifest_phantom)
		sum_line(&text, &len, "lib/phantom.txt", "x", 1);
	man->path = strdup(MOLT_MANIFEST_FILE);
	man->data = text;
	man->len = len;
	man->mode = 0644;
}

static struct archive *open_out(const char *out,
				const struct relfix_mutation *m)
{
	struct archive *a = archive_write_new();

	if (m->zip) {
		archive_write_set_format_zip(a);
	} else {
		archive_write_set_format_pax_restricted(a);
		if (!m->plain_tar)
			archive_write_add_filter_gzip(a);
	}
	ck_assert_int_eq(archive_write_open_filename(a, out), ARCHIVE_OK);
	return a;
}

void relfix_mutate(const char *good, const char *out,
		   const struct relfix_mutation *m)
{
	struct item items[64], man;
	size_t n = read_items(good, items, 64);
	struct archive *a = open_out(out, m);

	for (size_t i = 0; m->replace_path && i < n; i++)
		if (strcmp(items[i].path, m->replace_path) == 0) {
			free(items[i].data);
			items[i].data = strdup(m->replace_data);
			items[i].len = strlen(m->replace_data);
		}
	make_manifest(&man, items, n, m);
	for (size_t i = 0; m->extra_first && i < m->nextra; i++)
		put_entry(a, &m->extra[i]);
	if (!m->drop_manifest)
		put_item(a, &man);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].path, MOLT_MANIFEST_FILE) == 0)
			continue;
		if (m->corrupt_file && strstr(items[i].path, ".so"))
			items[i].data[items[i].len / 2] ^= 0x5a;
		put_item(a, &items[i]);
		if (m->duplicate && strstr(items[i].path, "app.json"))
			put_item(a, &items[i]);
	}
	for (size_t i = 0; !m->extra_first && i < m->nextra; i++)
		put_entry(a, &m->extra[i]);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	for (size_t i = 0; i < n; i++) {
		free(items[i].path);
		free(items[i].data);
	}
	free(man.path);
	free(man.data);
}

void relfix_gzip_bytes(const char *out, const void *data, size_t len)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	/* the "raw" format writes one entry's bytes with no container */
	archive_write_set_format_raw(a);
	archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_filename(a, out), ARCHIVE_OK);
	archive_entry_set_pathname(e, "raw");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(a, data, len), (ssize_t)len);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
}

void relfix_retag(const char *repo, const char *tag, const char *change)
{
	ck_assert_int_eq(
		molt_test_system("cd '%s' && git checkout -q v1.1.0 && "
				 "%s && sed -i 's/\"vsn\": \"1.1.0\"/"
				 "\"vsn\": \"1.1.0\"/' molt.json && "
				 "git add -A && GIT_CONFIG_GLOBAL=/dev/null "
				 "git -c user.name=t -c user.email=t@t "
				 "commit -qm t --allow-empty && "
				 "git tag '%s'",
				 repo, change, tag),
		0);
}

void relfix_big_bundle(char *out, size_t size, const char *repo,
		       const char *outdir)
{
	ck_assert_int_eq(
		molt_test_system(
			"cd '%s' && git checkout -q v1.1.0 && mkdir -p "
			"apps/kvs/priv && for i in 1 2 3 4 5 6; do head -c "
			"2000000 /dev/urandom >apps/kvs/priv/blob$i; done && "
			"sed -i -e 's/\"vsn\": \"1.1.0\",/\"vsn\": \"1.1.9\", "
			"\"priv\": \"priv\",/' molt.json && grep -q priv "
			"molt.json && git add -A && "
			"GIT_CONFIG_GLOBAL=/dev/null "
			"git -c user.name=t -c user.email=t@t commit -qm big "
			"&& "
			"git tag v1.1.9",
			repo),
		0);
	snprintf(out, size, "%s", relfix_build(repo, "v1.1.9", outdir));
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *snap_text;
static size_t snap_len;
static size_t snap_skip;

/* What an entry holds: a file's sha256, a symlink's target, else "-". */
static void snap_content(char *out, size_t size, const char *path,
			 const struct stat *st)
{
	unsigned char sum[crypto_hash_sha256_BYTES];
	size_t len;
	char *data;
	ssize_t n;

	snprintf(out, size, "-");
	if (S_ISLNK(st->st_mode)) {
		n = readlink(path, out, size - 1);
		out[n < 0 ? 0 : n] = '\0';
	} else if (S_ISREG(st->st_mode)) {
		data = molt_test_read_file(path, &len);
		ck_assert_msg(data != NULL, "snapshot: cannot read '%s'", path);
		crypto_hash_sha256(sum, (const unsigned char *)data, len);
		sodium_bin2hex(out, size, sum, sizeof(sum));
		free(data);
	}
}

static char snap_type(mode_t mode)
{
	if (S_ISREG(mode))
		return 'f';
	if (S_ISDIR(mode))
		return 'd';
	if (S_ISLNK(mode))
		return 'l';
	return '?';
}

static int snap_one(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	char line[8800], content[4200];
	int n;

	(void)flag;
	(void)ftw;
	snap_content(content, sizeof(content), path, st);
	n = snprintf(
		line, sizeof(line), "%s %c %04o %lld %s\n", path + snap_skip,
		snap_type(st->st_mode), (unsigned)(st->st_mode & 07777),
		S_ISDIR(st->st_mode) ? 0LL : (long long)st->st_size, content);
	snap_text = realloc(snap_text, snap_len + (size_t)n + 1);
	memcpy(snap_text + snap_len, line, (size_t)n + 1);
	snap_len += (size_t)n;
	return 0;
}

/* The lines of text (changed in place) sorted, as new owned text. */
static char *sort_lines(char *text, size_t len)
{
	size_t nl = 0, k = 0;
	char **lines, *p, *save, *sorted;

	for (p = text; *p; p++)
		nl += *p == '\n';
	lines = calloc(nl + 1, sizeof(*lines));
	for (p = strtok_r(text, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save))
		lines[k++] = p;
	qsort(lines, k, sizeof(*lines), cmp_line);
	sorted = calloc(1, len + 1);
	for (size_t i = 0; i < k; i++) {
		strncat(sorted, lines[i], len);
		strncat(sorted, "\n", len);
	}
	free(lines);
	return sorted;
}

char *relfix_snapshot(const char *dir)
{
	char *out;

	snap_text = calloc(1, 1);
	snap_len = 0;
	snap_skip = strlen(dir);
	ck_assert_int_eq(nftw(dir, snap_one, 16, FTW_PHYS), 0);
	/* nftw order is readdir order */
	out = sort_lines(snap_text, snap_len);
	free(snap_text);
	snap_text = NULL;
	return out;
}

/* The lock's line in a snapshot, or NULL. */
static char *lock_line(const char *snap)
{
	static const char key[] = "\n/" MOLT_ROOT_LOCK_FILE " ";
	char *p = strstr(snap, key);

	return p ? p + 1 : NULL;
}

void relfix_assert_same_root(const char *before, const char *root,
			     const char *what)
{
	char *after = relfix_snapshot(root), *lock = lock_line(after);
	char *end;

	if (!lock_line(before) && lock) {
		/* only the lock was added: an empty regular file */
		ck_assert_msg(strncmp(strchr(lock, ' '), " f ", 3) == 0 &&
				      strstr(lock, " 0 ") != NULL,
			      "%s: the lock file is not an empty file: %.200s",
			      what, lock);
		end = strchr(lock, '\n');
		memmove(lock, end + 1, strlen(end + 1) + 1);
	}
	ck_assert_msg(strcmp(before, after) == 0,
		      "%s changed the root:\n--- before\n%s--- after\n%s", what,
		      before, after);
	free(after);
}

int relfix_staging_left(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, MOLT_STAGING_PREFIX,
			     strlen(MOLT_STAGING_PREFIX)) == 0;
	closedir(d);
	return n;
}
