/* Growable byte buffers and whole-file reads and atomic writes. */
#include "molt/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molt/banned.h"

char molt_buf__empty[1];

void molt_buf_init(molt_buf *buf)
{
	buf->ptr = molt_buf__empty;
	buf->len = 0;
	buf->asize = 0;
}

void molt_buf_release(molt_buf *buf)
{
	if (buf->asize)
		molt_free(buf->ptr);
	molt_buf_init(buf);
}

void molt_buf_clear(molt_buf *buf)
{
	buf->len = 0;
	if (buf->asize)
		buf->ptr[0] = '\0';
}

int molt_buf_grow(molt_buf *buf, size_t extra)
{
	size_t need = buf->len + extra + 1;
	size_t n;
	char *p;

	if (need < buf->len)
		return MOLT_ENOMEM;
	if (need <= buf->asize)
		return MOLT_OK;
	n = buf->asize ? buf->asize : 64;
	while (n < need)
		n = n * 3 / 2 + 1;
	p = molt_realloc(buf->asize ? buf->ptr : NULL, n);
	if (!p)
		return MOLT_ENOMEM;
	if (!buf->asize)
		p[0] = '\0';
	buf->ptr = p;
	buf->asize = n;
	return MOLT_OK;
}

int molt_buf_put(molt_buf *buf, const void *data, size_t len)
{
	if (molt_buf_grow(buf, len) < 0)
		return MOLT_ENOMEM;
	memcpy(buf->ptr + buf->len, data, len);
	buf->len += len;
	buf->ptr[buf->len] = '\0';
	return MOLT_OK;
}

int molt_buf_puts(molt_buf *buf, const char *s)
{
	return molt_buf_put(buf, s, strlen(s));
}

int molt_buf_putc(molt_buf *buf, char c)
{
	return molt_buf_put(buf, &c, 1);
}

int molt_buf_put_utf8(molt_buf *buf, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return molt_buf_put(buf, u, n);
}

int molt_buf_vprintf(molt_buf *buf, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return MOLT_EINVAL;
	if (molt_buf_grow(buf, (size_t)n) < 0)
		return MOLT_ENOMEM;
	vsnprintf(buf->ptr + buf->len, (size_t)n + 1, fmt, ap);
	buf->len += (size_t)n;
	return MOLT_OK;
}

int molt_buf_printf(molt_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = molt_buf_vprintf(buf, fmt, ap);
	va_end(ap);
	return rc;
}

char *molt_buf_detach(molt_buf *buf)
{
	char *p = buf->ptr;

	if (!buf->asize)
		p = molt_strdup("");
	molt_buf_init(buf);
	return p;
}

int molt_buf_read_file(molt_buf *buf, const char *path, molt_err *err)
{
	size_t old = buf->len;
	char chunk[65536];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return molt_err_set(
			err, errno == ENOENT ? MOLT_ENOTFOUND : MOLT_EIO,
			"cannot open '%s': %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out_read;
		if (molt_buf_put(buf, chunk, (size_t)n) < 0) {
			errno = ENOMEM;
			goto out_read;
		}
	}
	close(fd);
	return MOLT_OK;
out_read:
	molt_err_set(err, errno == ENOMEM ? MOLT_ENOMEM : MOLT_EIO,
		     "cannot read '%s': %s", path, strerror(errno));
	close(fd);
	buf->len = old;
	if (buf->asize)
		buf->ptr[old] = '\0';
	return err ? err->code : MOLT_EIO;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
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

static void sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd;

	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n ? n : 1);
		dir[n ? n : 1] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

int molt_write_file_atomic(const char *path, const void *data, size_t len,
			   molt_err *err)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return molt_err_set(err, MOLT_EINVAL, "path too long: '%s'",
				    path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return molt_err_set(err, MOLT_EIO, "cannot create '%s': %s",
				    tmp, strerror(errno));
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto out_unlink;
	if (close(fd) < 0) {
		fd = -1;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto out_unlink;
	}
	sync_parent_dir(path);
	return MOLT_OK;
out_unlink:
	molt_err_set(err, MOLT_EIO, "cannot write '%s': %s", path,
		     strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return MOLT_EIO;
}
