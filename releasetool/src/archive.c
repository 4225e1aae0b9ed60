/* Bundles on disk: reproducible tar.gz packing and safe extraction. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive_io.h"
#include "fsutil.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#define IO_CHUNK  (64 * 1024)
#define OUT_CHUNK (256 * 1024)

/* ---- packing ---- */

static int la_fail(molt_err *err, struct archive *a, const char *what)
{
	const char *m = archive_error_string(a);

	return molt_err_set(err, MOLT_ERROR, "%s: %s", what,
			    m ? m : "libarchive error");
}

static int pack_data(struct archive *a, const char *full, molt_err *err)
{
	char buf[IO_CHUNK];
	ssize_t n;
	int fd = open(full, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return molt_err_set(err, MOLT_EIO, "open '%s': %s", full,
				    strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, (size_t)n) != n) {
			close(fd);
			return la_fail(err, a, full);
		}
	close(fd);
	if (n < 0)
		return molt_err_set(err, MOLT_EIO, "read '%s': %s", full,
				    strerror(errno));
	return MOLT_OK;
}

static int pack_one(struct archive *a, struct archive_entry *e,
		    const char *base, const char *rel, int64_t mtime,
		    molt_err *err)
{
	char full[MOLT__PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = molt__path(full, sizeof(full), err, "%s/%s", base, rel)) < 0)
		return rc;
	if (stat(full, &st) < 0)
		return molt_err_set(err, MOLT_EIO, "stat '%s': %s", full,
				    strerror(errno));
	archive_entry_clear(e);
	archive_entry_set_pathname(e, rel);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, (st.st_mode & 0111) ? 0755 : 0644);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return la_fail(err, a, rel);
	return pack_data(a, full, err);
}

static struct archive *pack_open(const char *out_path, molt_err *err)
{
	struct archive *a = archive_write_new();

	if (!a) {
		molt_err_set(err, MOLT_ENOMEM, "out of memory");
		return NULL;
	}
	/* ustar: no pax records with pids or times; gzip: no name, no time */
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "timestamp", NULL) !=
		    ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "compression-level",
					    "9") != ARCHIVE_OK ||
	    archive_write_open_filename(a, out_path) != ARCHIVE_OK) {
		la_fail(err, a, out_path);
		archive_write_free(a);
		return NULL;
	}
	return a;
}

int molt__archive_pack(const char *out_path, const char *base,
		       char *const *paths, size_t n, int64_t mtime,
		       molt_err *err)
{
	struct archive *a = pack_open(out_path, err);
	struct archive_entry *e;
	int rc = MOLT_OK;

	if (!a)
		return err ? err->code : MOLT_ERROR;
	if (!(e = archive_entry_new())) {
		archive_write_free(a);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	for (size_t i = 0; rc == MOLT_OK && i < n; i++)
		rc = pack_one(a, e, base, paths[i], mtime, err);
	archive_entry_free(e);
	if (rc == MOLT_OK && archive_write_close(a) != ARCHIVE_OK)
		rc = la_fail(err, a, out_path);
	archive_write_free(a);
	return rc;
}

/* ---- adding one member to a bundle ---- */

/* Copy e's data from r to w, summing it into h. */
static int copy_member(struct archive *w, struct archive *r, molt__sha256 *h,
		       const char *path, molt_err *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int st;

	while ((st = archive_read_data_block(r, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		molt__sha256_update(h, buf, len);
		if (archive_write_data(w, buf, len) != (la_ssize_t)len)
			return la_fail(err, w, path);
	}
	return st == ARCHIVE_EOF ? MOLT_OK : la_fail(err, r, path);
}

/* The new member: a regular file like its neighbour e (owner, mtime). */
static int put_new(struct archive *w, struct archive_entry *e,
		   const struct molt__put *p, molt_err *err)
{
	struct archive_entry *n = archive_entry_clone(e);
	int rc = MOLT_OK;

	if (!n)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	archive_entry_set_pathname(n, p->name);
	archive_entry_set_perm(n, 0644);
	archive_entry_set_size(n, (la_int64_t)p->len);
	if (archive_write_header(w, n) != ARCHIVE_OK ||
	    archive_write_data(w, p->data, p->len) != (la_ssize_t)p->len)
		rc = la_fail(err, w, p->name);
	archive_entry_free(n);
	return rc;
}

static int put_all(struct archive *w, struct archive *r,
		   const struct molt__put *p, molt_err *err)
{
	struct archive_entry *e;
	char sum[MOLT__SHA256_HEX];
	int st, rc, found = 0;

	while ((st = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(e);
		molt__sha256 h;

		if (path && strcmp(path, p->name) == 0)
			continue; /* replaced */
		molt__sha256_init(&h);
		if (archive_write_header(w, e) != ARCHIVE_OK)
			return la_fail(err, w, path ? path : "?");
		if ((rc = copy_member(w, r, &h, path, err)) < 0)
			return rc;
		molt__sha256_final(&h, sum);
		if (!path || strcmp(path, p->after) != 0)
			continue;
		if (strcmp(sum, p->after_sum) != 0)
			return molt_err_set(err, MOLT_EUNSAFE,
					    "'%s' changed while it was read",
					    path);
		if (p->data && (rc = put_new(w, e, p, err)) < 0)
			return rc;
		found = 1;
	}
	if (st != ARCHIVE_EOF)
		return la_fail(err, r, "bundle");
	return found ? MOLT_OK
		     : molt_err_set(err, MOLT_EPARSE, "no member '%s'",
				    p->after);
}

int molt__archive_put(const char *in_path, const char *out_path,
		      const struct molt__put *p, molt_err *err)
{
	struct archive *r = archive_read_new(), *w;
	int rc;

	if (!r)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	archive_read_support_format_tar(r);
	archive_read_support_filter_gzip(r);
	if (archive_read_open_filename(r, in_path, IO_CHUNK) != ARCHIVE_OK) {
		rc = la_fail(err, r, in_path);
		archive_read_free(r);
		return rc;
	}
	if (!(w = pack_open(out_path, err))) {
		archive_read_free(r);
		return err ? err->code : MOLT_ERROR;
	}
	rc = put_all(w, r, p, err);
	if (rc == MOLT_OK && archive_write_close(w) != ARCHIVE_OK)
		rc = la_fail(err, w, out_path);
	archive_write_free(w);
	archive_read_free(r);
	return rc;
}

/* ---- the gzip layer of extraction ---- */

#define NSLOTS 4 /* decompressed buffers in flight */

/*
 * The gzip layer: a producer thread inflates the bundle into a ring of
 * NSLOTS buffers while the caller's thread parses the tar, hashes and
 * writes, as `gzip -d | tar x` does with two processes. libarchive reads
 * the buffers in place; the consumer holds the one it handed over until
 * libarchive asks for the next.
 *
 * mu guards head, tail, len[], done and stop. Slots [tail, head) are
 * filled; the producer writes only slot head % NSLOTS, and only while
 * head - tail < NSLOTS. The producer alone touches fd, zs, in, in_eof,
 * end, perr and prc until it sets done; the consumer reads perr and prc
 * only after it saw done under mu. The consumer alone touches the fields
 * after out[].
 */
struct gz {
	int fd;			    /* compressed input */
	z_stream zs;		    /* inflate state (gzip only) */
	int zinit;		    /* zs needs inflateEnd */
	int in_eof;		    /* read() returned 0 */
	int end;		    /* the gzip trailer was checked */
	molt_err perr;		    /* the producer's failure */
	int prc;		    /* its code */
	unsigned char in[IO_CHUNK]; /* compressed bytes */

	pthread_mutex_t mu;	  /* guards the fields below */
	pthread_cond_t cv;	  /* head, tail, done or stop changed */
	unsigned long head, tail; /* filled slots are [tail, head) */
	int done;		  /* the producer has finished */
	int stop;		  /* the consumer wants it to finish */
	size_t len[NSLOTS];	  /* bytes in each filled slot */
	unsigned char out[NSLOTS][OUT_CHUNK]; /* decompressed bytes */

	int sync_init;		  /* mu and cv need destroying */
	int started;		  /* th is running and needs joining */
	pthread_t th;		  /* the producer */
	int holding;		  /* the consumer holds slot tail */
	const unsigned char *cur; /* the last buffer handed over */
	uint64_t total;		  /* bytes handed to libarchive */
	size_t last;		  /* length of the last hand-over */
	molt_err *err;		  /* the caller's error */
	int rc;			  /* failure seen by the consumer */
};

static int gz_fill(struct gz *g)
{
	ssize_t n;

	do
		n = read(g->fd, g->in, sizeof(g->in));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return g->prc =
			       molt_err_set(&g->perr, MOLT_EIO,
					    "read bundle: %s", strerror(errno));
	g->in_eof = n == 0;
	g->zs.next_in = g->in;
	g->zs.avail_in = (uInt)n;
	return MOLT_OK;
}

/* After the gzip trailer nothing may follow: no second member, no junk. */
static int gz_check_tail(struct gz *g)
{
	if (g->zs.avail_in == 0 && !g->in_eof && gz_fill(g) < 0)
		return g->prc;
	if (g->zs.avail_in > 0)
		return g->prc = molt_err_set(&g->perr, MOLT_EPARSE,
					     "trailing data after the gzip "
					     "stream");
	return MOLT_OK;
}

/* Inflate into out; returns bytes produced, 0 at the end, -1 on error. */
static ssize_t gz_inflate(struct gz *g, unsigned char *out)
{
	int r;

	if (g->end)
		return 0;
	g->zs.next_out = out;
	g->zs.avail_out = OUT_CHUNK;
	while (g->zs.avail_out > 0) {
		if (g->zs.avail_in == 0 && !g->in_eof && gz_fill(g) < 0)
			return -1;
		r = inflate(&g->zs, Z_NO_FLUSH);
		if (r == Z_STREAM_END) {
			g->end = 1;
			if (gz_check_tail(g) < 0)
				return -1;
			break;
		}
		if (r == Z_BUF_ERROR && g->in_eof && g->zs.avail_in == 0) {
			g->prc = molt_err_set(&g->perr, MOLT_EPARSE,
					      "truncated gzip stream");
			return -1;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			g->prc = molt_err_set(&g->perr, MOLT_EPARSE,
					      "bad gzip stream: %s",
					      g->zs.msg ? g->zs.msg : "error");
			return -1;
		}
	}
	return (ssize_t)(OUT_CHUNK - g->zs.avail_out);
}

static void *gz_producer(void *payload)
{
	struct gz *g = payload;
	unsigned long slot;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&g->mu);
		while (g->head - g->tail >= NSLOTS && !g->stop)
			pthread_cond_wait(&g->cv, &g->mu);
		slot = g->head % NSLOTS;
		if (g->stop) {
			g->done = 1;
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
		pthread_mutex_unlock(&g->mu);
		n = gz_inflate(g, g->out[slot]);
		pthread_mutex_lock(&g->mu);
		if (n > 0) {
			g->len[slot] = (size_t)n;
			g->head++;
		} else {
			g->done = 1;
		}
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		if (n <= 0)
			return NULL;
	}
}

/* The next decompressed block: its length, 0 at the end, or -1 with the
 * producer's error in g->rc and *g->err. */
static ssize_t gz_next(struct gz *g, const unsigned char **buf)
{
	ssize_t n = 0;

	if (g->rc < 0)
		return -1;
	pthread_mutex_lock(&g->mu);
	if (g->holding) {
		g->tail++;
		g->holding = 0;
		pthread_cond_broadcast(&g->cv);
	}
	while (g->head == g->tail && !g->done)
		pthread_cond_wait(&g->cv, &g->mu);
	if (g->head != g->tail) {
		*buf = g->out[g->tail % NSLOTS];
		n = (ssize_t)g->len[g->tail % NSLOTS];
		g->holding = 1;
	} else if (g->prc < 0) {
		g->rc = molt_err_set(g->err, g->prc, "%s", g->perr.msg);
		n = -1;
	}
	pthread_mutex_unlock(&g->mu);
	if (n > 0) {
		g->cur = *buf;
		g->total += (uint64_t)n;
		g->last = (size_t)n;
	}
	return n;
}

static int gz_start(struct gz *g, molt_err *err)
{
	if (pthread_mutex_init(&g->mu, NULL) != 0)
		return molt_err_set(err, MOLT_ERROR, "pthread_mutex_init");
	if (pthread_cond_init(&g->cv, NULL) != 0) {
		pthread_mutex_destroy(&g->mu);
		return molt_err_set(err, MOLT_ERROR, "pthread_cond_init");
	}
	g->sync_init = 1;
	if (pthread_create(&g->th, NULL, gz_producer, g) != 0)
		return molt_err_set(err, MOLT_ERROR,
				    "cannot start the gzip thread");
	g->started = 1;
	return MOLT_OK;
}

/* Check the magic bytes, then start inflating in the producer thread. */
static int gz_open(struct gz *g, int fd, molt_err *err)
{
	memset(g, 0, offsetof(struct gz, in));
	g->fd = fd;
	g->err = err;
	g->head = g->tail = 0;
	g->done = g->stop = g->sync_init = g->started = g->holding = 0;
	g->cur = NULL;
	g->total = 0;
	g->last = 0;
	g->rc = MOLT_OK;
	if (gz_fill(g) < 0)
		return g->rc = molt_err_set(err, g->prc, "%s", g->perr.msg);
	if (g->zs.avail_in < 2 || g->in[0] != 0x1f || g->in[1] != 0x8b)
		return g->rc = molt_err_set(err, MOLT_EPARSE,
					    "not a gzip-compressed tar "
					    "(bad magic bytes)");
	if (inflateInit2(&g->zs, 16 + MAX_WBITS) != Z_OK)
		return g->rc = molt_err_set(err, MOLT_ENOMEM,
					    "inflateInit2 failed");
	g->zinit = 1;
	return g->rc = gz_start(g, err);
}

/* Stop and join the producer; free what gz_open made. */
static void gz_close(struct gz *g)
{
	if (g->started) {
		pthread_mutex_lock(&g->mu);
		g->stop = 1;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		pthread_join(g->th, NULL);
	}
	if (g->sync_init) {
		pthread_cond_destroy(&g->cv);
		pthread_mutex_destroy(&g->mu);
	}
	if (g->zinit)
		inflateEnd(&g->zs);
}

static la_ssize_t gz_read(struct archive *a, void *payload, const void **buf)
{
	struct gz *g = payload;
	const unsigned char *p = NULL;
	ssize_t n = gz_next(g, &p);

	*buf = p;
	if (n < 0)
		archive_set_error(a, EIO, "%s",
				  g->err ? g->err->msg : "gzip error");
	return n;
}

/* Read the rest of the stream: the tar end may come before the gzip end. */
static int gz_drain(struct gz *g)
{
	const unsigned char *p;
	ssize_t n;

	while ((n = gz_next(g, &p)) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (p[i] != 0)
				return g->rc = molt_err_set(
					       g->err, MOLT_EPARSE,
					       "data after the end of the tar "
					       "archive");
	/* NEEDSWORK: bytes libarchive read ahead in an earlier buffer than
	 * the last one are not seen by check_unread; they are never
	 * extracted either. */
	return n < 0 ? g->rc : MOLT_OK;
}

/* ---- extraction ---- */

/* One extraction in progress. */
struct extract {
	struct archive *a;	      /* tar reader */
	struct gz *gz;		      /* its input */
	const char *dest;	      /* staging directory */
	molt_unpack_limits lim;	      /* limits with defaults filled in */
	struct molt__extracted *out;  /* files written */
	uint64_t entries;	      /* headers read */
	int writeback;		      /* start writeback of each file */
	molt_err *err;		      /* where errors go */
	char lastdir[MOLT__PATH_MAX]; /* last parent made, to skip mkdir */
};

static int grow(struct molt__extracted *o)
{
	size_t cap = o->cap ? o->cap * 2 : 64;
	char **p = molt_realloc(o->paths, cap * sizeof(*p));
	void *s;

	if (!p)
		return MOLT_ENOMEM;
	o->paths = p;
	if (!(s = molt_realloc(o->sums, cap * sizeof(*o->sums))))
		return MOLT_ENOMEM;
	o->sums = s;
	o->cap = cap;
	return MOLT_OK;
}

static int record(struct extract *x, const char *path, const char *sum)
{
	struct molt__extracted *o = x->out;

	if ((o->n == o->cap && grow(o) < 0) ||
	    !(o->paths[o->n] = molt_strdup(path)))
		return molt_err_set(x->err, MOLT_ENOMEM, "out of memory");
	memcpy(o->sums[o->n++], sum, MOLT__SHA256_HEX);
	return MOLT_OK;
}

/* Copy p to out without "." components; refuse anything that could
 * leave dest. */
static int clean_path(char *out, size_t size, const char *p,
		      const struct extract *x)
{
	const char *orig = p;
	size_t len = 0, plen = strlen(p);

	if (plen == 0)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry with an empty "
				    "name");
	if (plen > x->lim.max_path)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%.60s...': path longer than %zu "
				    "bytes",
				    p, x->lim.max_path);
	if (p[0] == '/')
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%s': absolute path", p);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return molt_err_set(x->err, MOLT_EUNSAFE,
					    "entry '%s': '..' component", orig);
		if (n > 255)
			return molt_err_set(
				x->err, MOLT_EUNSAFE,
				"entry '%.60s...': name longer than "
				"255 bytes",
				p);
		if (n && !(n == 1 && p[0] == '.')) {
			if (len + n + 2 > size)
				return molt_err_set(x->err, MOLT_EUNSAFE,
						    "entry path too long");
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	out[len] = '\0';
	if (len == 0)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry that names the top directory");
	return MOLT_OK;
}

static int link_target_outside(const char *target)
{
	const char *p = target;

	if (target[0] == '/')
		return 1;
	for (; *p; p += strcspn(p, "/"), p += *p == '/') {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
			return 1;
	}
	return 0;
}

/* Links are never part of a bundle; say whether this one would escape. */
static int refuse_link(const struct extract *x, const char *path,
		       const char *kind, const char *target)
{
	if (link_target_outside(target))
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%s': %s to '%s' points outside "
				    "the root",
				    path, kind, target);
	return molt_err_set(x->err, MOLT_EUNSAFE,
			    "entry '%s': %s to '%s' is not allowed in a "
			    "bundle",
			    path, kind, target);
}

static int make_parent(struct extract *x, const char *path)
{
	char dir[MOLT__PATH_MAX];
	const char *slash = strrchr(path, '/');
	int rc;

	if (!slash)
		return MOLT_OK;
	if ((rc = molt__path(dir, sizeof(dir), x->err, "%s/%.*s", x->dest,
			     (int)(slash - path), path)) < 0)
		return rc;
	if (strcmp(dir, x->lastdir) == 0)
		return MOLT_OK;
	if ((rc = molt__mkdir_p(dir, 0755, x->err)) < 0)
		return rc;
	memcpy(x->lastdir, dir, strlen(dir) + 1);
	return MOLT_OK;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int check_sizes(struct extract *x, const char *path, uint64_t file,
		       size_t more)
{
	if (file + more > x->lim.max_file)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%s': larger than the %llu-byte "
				    "file limit",
				    path, (unsigned long long)x->lim.max_file);
	if (x->out->bytes + more > x->lim.max_total)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%s': bundle larger than the "
				    "%llu-byte limit",
				    path, (unsigned long long)x->lim.max_total);
	return MOLT_OK;
}

static int copy_data(struct extract *x, int fd, const char *path,
		     char sum[MOLT__SHA256_HEX])
{
	molt__sha256 h;
	const void *buf;
	size_t size;
	la_int64_t off;
	uint64_t done = 0;
	int r, rc;

	molt__sha256_init(&h);
	while ((r = archive_read_data_block(x->a, &buf, &size, &off)) ==
	       ARCHIVE_OK) {
		if ((uint64_t)off != done)
			return molt_err_set(x->err, MOLT_EUNSAFE,
					    "entry '%s': sparse files are not "
					    "allowed",
					    path);
		if ((rc = check_sizes(x, path, done, size)) < 0)
			return rc;
		molt__sha256_update(&h, buf, size);
		if (write_all(fd, buf, size) < 0)
			return molt_err_set(x->err, MOLT_EIO, "write '%s': %s",
					    path, strerror(errno));
		done += size;
		x->out->bytes += size;
	}
	if (r != ARCHIVE_EOF)
		return x->gz->rc < 0 ? x->gz->rc : la_fail(x->err, x->a, path);
	molt__sha256_final(&h, sum);
	return MOLT_OK;
}

static int extract_file(struct extract *x, const char *path, int exec)
{
	char full[MOLT__PATH_MAX], sum[MOLT__SHA256_HEX];
	int fd, rc;

	if ((rc = make_parent(x, path)) < 0 ||
	    (rc = molt__path(full, sizeof(full), x->err, "%s/%s", x->dest,
			     path)) < 0)
		return rc;
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  exec ? 0755 : 0644);
	if (fd < 0 && errno == EEXIST)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%s' appears twice", path);
	if (fd < 0)
		return molt_err_set(x->err, MOLT_EIO, "create '%s': %s", full,
				    strerror(errno));
	rc = copy_data(x, fd, path, sum);
	/* start writeback now, so the fsync before the commit waits less */
	if (rc == MOLT_OK && x->writeback)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(fd) < 0 && rc == MOLT_OK)
		rc = molt_err_set(x->err, MOLT_EIO, "close '%s': %s", full,
				  strerror(errno));
	return rc < 0 ? rc : record(x, path, sum);
}

static int extract_dir(struct extract *x, const char *path)
{
	char full[MOLT__PATH_MAX];
	int rc;

	if ((rc = molt__path(full, sizeof(full), x->err, "%s/%s", x->dest,
			     path)) < 0)
		return rc;
	return molt__mkdir_p(full, 0755, x->err);
}

static const char *type_name(mode_t type)
{
	switch (type) {
	case AE_IFCHR:
		return "character device";
	case AE_IFBLK:
		return "block device";
	case AE_IFIFO:
		return "FIFO";
	case AE_IFSOCK:
		return "socket";
	default:
		return "file of unknown type";
	}
}

static int extract_entry(struct extract *x, struct archive_entry *e)
{
	char path[MOLT__PATH_MAX];
	const char *target;
	mode_t type = archive_entry_filetype(e);
	int rc;

	if (++x->entries > x->lim.max_entries)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "more than %llu entries",
				    (unsigned long long)x->lim.max_entries);
	if (!archive_entry_pathname(e))
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry %llu has no name",
				    (unsigned long long)x->entries);
	if ((rc = clean_path(path, sizeof(path), archive_entry_pathname(e),
			     x)) < 0)
		return rc;
	if ((target = archive_entry_hardlink(e)))
		return refuse_link(x, path, "hard link", target);
	if (type == AE_IFLNK)
		return refuse_link(x, path, "symlink",
				   (target = archive_entry_symlink(e)) ? target
								       : "");
	if (type == AE_IFDIR)
		return extract_dir(x, path);
	if (type != AE_IFREG)
		return molt_err_set(x->err, MOLT_EUNSAFE,
				    "entry '%s': %s not allowed", path,
				    type_name(type));
	if (archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > x->lim.max_file)
		return check_sizes(x, path, (uint64_t)archive_entry_size(e), 0);
	return extract_file(x, path, (archive_entry_perm(e) & 0111) != 0);
}

static void fill_limits(molt_unpack_limits *out, const molt_unpack_limits *in)
{
	*out = in ? *in : (molt_unpack_limits){0, 0, 0, 0};
	if (!out->max_total)
		out->max_total = MOLT__MAX_TOTAL;
	if (!out->max_file)
		out->max_file = MOLT__MAX_FILE;
	if (!out->max_entries)
		out->max_entries = MOLT__MAX_ENTRIES;
	if (!out->max_path)
		out->max_path = MOLT__MAX_PATH;
}

static int hidden_data(const struct extract *x)
{
	return molt_err_set(x->err, MOLT_EPARSE,
			    "data after the end of the tar archive");
}

/* What libarchive read ahead but did not parse after the tar end must be
 * padding (zeros); it is the tail of the last buffer handed over. */
static int check_unread(const struct extract *x)
{
	const struct gz *g = x->gz;
	la_int64_t used = archive_filter_bytes(x->a, 0);
	uint64_t start = g->total - g->last;

	if (!g->cur || used < 0 || (uint64_t)used >= g->total ||
	    (uint64_t)used < start)
		return MOLT_OK;
	for (size_t i = (size_t)((uint64_t)used - start); i < g->last; i++)
		if (g->cur[i] != 0)
			return hidden_data(x);
	return MOLT_OK;
}

static int extract_all(struct extract *x)
{
	struct archive_entry *e;
	int r, rc;

	while ((r = archive_read_next_header(x->a, &e)) == ARCHIVE_OK)
		if ((rc = extract_entry(x, e)) < 0)
			return rc;
	if (x->gz->rc < 0)
		return x->gz->rc;
	if (r != ARCHIVE_EOF)
		return molt_err_set(x->err, MOLT_EPARSE, "bad tar archive: %s",
				    archive_error_string(x->a)
					    ? archive_error_string(x->a)
					    : "unreadable header");
	if (x->entries == 0)
		return molt_err_set(x->err, MOLT_EPARSE, "empty archive");
	if ((rc = check_unread(x)) < 0)
		return rc;
	return gz_drain(x->gz);
}

int molt__archive_extract(struct molt__extracted *out, int fd, const char *dest,
			  const molt_unpack_limits *lim, int writeback,
			  molt_err *err)
{
	struct extract x = {
		.dest = dest, .out = out, .err = err, .writeback = writeback};
	int rc;

	memset(out, 0, sizeof(*out));
	fill_limits(&x.lim, lim);
	if (!(x.gz = molt_malloc(sizeof(*x.gz))))
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if ((rc = gz_open(x.gz, fd, err)) < 0)
		goto out_gz;
	if (!(x.a = archive_read_new())) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out_gz;
	}
	archive_read_support_format_tar(x.a);
	if (archive_read_open(x.a, x.gz, NULL, gz_read, NULL) != ARCHIVE_OK)
		rc = x.gz->rc < 0 ? x.gz->rc
				  : molt_err_set(err, MOLT_EPARSE,
						 "not a tar archive: %s",
						 archive_error_string(x.a));
	else
		rc = extract_all(&x);
	archive_read_free(x.a);
out_gz:
	gz_close(x.gz);
	molt_free(x.gz);
	if (rc < 0)
		molt__extracted_release(out);
	return rc;
}

const char *molt__extracted_sum(const struct molt__extracted *x,
				const char *path)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->paths[i], path) == 0)
			return x->sums[i];
	return NULL;
}

void molt__extracted_release(struct molt__extracted *x)
{
	molt__strv_free(x->paths, x->n);
	molt_free(x->sums);
	memset(x, 0, sizeof(*x));
}
