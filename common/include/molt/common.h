/* Basics every molt library links: status codes, errors, allocation hooks. */
#ifndef MOLT_COMMON_H
#define MOLT_COMMON_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define MOLT_API	     __attribute__((visibility("default")))
#define MOLT_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))
#define MOLT_UNUSED	     __attribute__((unused))
#else
#define MOLT_API
#define MOLT_PRINTF(fmt, va)
#define MOLT_UNUSED
#endif

/*
 * Status codes. A function that can fail returns int: MOLT_OK (0) or one
 * of these negative values, and fills an optional molt_err.
 */
enum molt_status {
	MOLT_OK = 0,
	MOLT_ERROR = -1,     /* generic failure, see the message */
	MOLT_ENOMEM = -2,    /* out of memory */
	MOLT_EINVAL = -3,    /* invalid argument or misuse of an API */
	MOLT_ENOTFOUND = -4, /* no such module, process, file, version */
	MOLT_EEXISTS = -5,   /* already exists (name taken, version loaded) */
	MOLT_EBUSY = -6,     /* resource in use (old code still running) */
	MOLT_EVERSION = -7,  /* unknown format or ABI version */
	MOLT_ETIMEOUT = -8,  /* deadline passed */
	MOLT_EPARSE = -9,    /* malformed input; the message has the position */
	MOLT_EIO = -10,	     /* an OS call failed; the message has errno text */
	MOLT_ECLOSED = -11,  /* peer, process or runtime is gone */
	MOLT_EUNSAFE = -12,  /* refused: input would escape or exceed limits */
};

/* One error: a code and a one-line message. Fixed size: never allocates. */
typedef struct molt_err {
	int code;      /* an enum molt_status value; MOLT_OK if none */
	char msg[256]; /* one line, lower case, no trailing period */
} molt_err;

#define MOLT_ERR_INIT                                                          \
	{                                                                      \
		MOLT_OK,                                                       \
		{                                                              \
			0                                                      \
		}                                                              \
	}

/* Record code and message in err (err may be NULL); returns code. */
MOLT_PRINTF(3, 4)
MOLT_API int molt_err_set(molt_err *err, int code, const char *fmt, ...);

/* As molt_err_set, with a va_list. */
MOLT_PRINTF(3, 0)
MOLT_API int molt_err_vset(molt_err *err, int code, const char *fmt,
			   va_list ap);

/*
 * Prefix err's message with "ctx: " (for the edges: CLI main, control
 * replies). Keeps the code; returns it.
 */
MOLT_PRINTF(2, 3)
MOLT_API int molt_err_prefix(molt_err *err, const char *fmt, ...);

/* Reset err to MOLT_OK with an empty message. err may be NULL. */
MOLT_API void molt_err_clear(molt_err *err);

/* Short lower-case name of a status code ("enotfound"); never NULL. */
MOLT_API const char *molt_status_name(int code);

/*
 * Allocation. Every allocation in molt goes through these, so tests can
 * make allocation N fail. molt_malloc/molt_calloc/molt_realloc return NULL
 * on failure; molt_free(NULL) is a no-op. Any thread may call.
 */
MOLT_API void *molt_malloc(size_t size);
MOLT_API void *molt_calloc(size_t n, size_t size);
MOLT_API void *molt_realloc(void *ptr, size_t size);
MOLT_API void molt_free(void *ptr);

/* Returns owned (molt_free) copy of s, or NULL when out of memory. */
MOLT_API char *molt_strdup(const char *s);
MOLT_API char *molt_strndup(const char *s, size_t n);

/*
 * Failing allocator for tests: after molt_alloc_fail_after(n), the n-th
 * following allocation (1-based) and every one after it fail, until
 * molt_alloc_fail_after(0) turns failure off. Returns the number of
 * allocations made since the last call. Process-wide, thread-safe.
 */
MOLT_API unsigned long molt_alloc_fail_after(unsigned long n);

/* Number of allocations that failed because of molt_alloc_fail_after. */
MOLT_API unsigned long molt_alloc_failures(void);

#endif
