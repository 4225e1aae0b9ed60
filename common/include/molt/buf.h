/* A growable byte buffer, always NUL-terminated (git's strbuf). */
#ifndef MOLT_BUF_H
#define MOLT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"

/*
 * Invariants: ptr is never NULL after molt_buf_init (it points at a static
 * empty string until the first growth); ptr[len] == '\0'; asize is 0 while
 * ptr is that static string.
 */
typedef struct molt_buf {
	char *ptr;    /* contents, NUL-terminated */
	size_t len;   /* bytes used, without the NUL */
	size_t asize; /* bytes allocated; 0 if ptr is not owned */
} molt_buf;

MOLT_API extern char molt_buf__empty[];
#define MOLT_BUF_INIT                                                          \
	{                                                                      \
		molt_buf__empty, 0, 0                                          \
	}

/* Initialize caller storage. */
MOLT_API void molt_buf_init(molt_buf *buf);
/* Free the contents and re-initialize. */
MOLT_API void molt_buf_release(molt_buf *buf);
/* Make room for extra more bytes. MOLT_ENOMEM on failure, buf unchanged. */
MOLT_API int molt_buf_grow(molt_buf *buf, size_t extra);
MOLT_API int molt_buf_put(molt_buf *buf, const void *data, size_t len);
MOLT_API int molt_buf_puts(molt_buf *buf, const char *s);
MOLT_API int molt_buf_putc(molt_buf *buf, char c);
/* Append code point cp (at most 0x10FFFF) encoded as UTF-8. */
MOLT_API int molt_buf_put_utf8(molt_buf *buf, uint32_t cp);
MOLT_PRINTF(2, 3)
MOLT_API int molt_buf_printf(molt_buf *buf, const char *fmt, ...);
MOLT_PRINTF(2, 0)
MOLT_API int molt_buf_vprintf(molt_buf *buf, const char *fmt, va_list ap);
/* Set len to 0, keeping the allocation. */
MOLT_API void molt_buf_clear(molt_buf *buf);
/* Returns owned (molt_free) contents and re-initializes buf; NULL if OOM. */
MOLT_API char *molt_buf_detach(molt_buf *buf);

/*
 * Read a whole file into buf (appending). On failure returns MOLT_ENOTFOUND
 * or MOLT_EIO with a message naming path, and buf keeps its old contents.
 */
MOLT_API int molt_buf_read_file(molt_buf *buf, const char *path, molt_err *err);

/*
 * Write data to path atomically: a temporary file beside it, fsync, rename,
 * fsync of the directory. On failure path is untouched.
 */
MOLT_API int molt_write_file_atomic(const char *path, const void *data,
				    size_t len, molt_err *err);

#endif
