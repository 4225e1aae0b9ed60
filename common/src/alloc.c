/* Allocation hooks: every molt allocation, and the failing allocator. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "molt/common.h"

#include "molt/banned.h"

/* fail_at: 0 = never fail; else the count at which failures start.
 * count: allocations since the last molt_alloc_fail_after. Relaxed
 * ordering: tests read them from one thread after the work is done. */
static atomic_ulong fail_at;
static atomic_ulong count;
static atomic_ulong failures;

static int should_fail(void)
{
	unsigned long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
	unsigned long n;

	if (at == 0)
		return 0;
	n = atomic_fetch_add_explicit(&count, 1, memory_order_relaxed) + 1;
	if (n < at)
		return 0;
	atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
	return 1;
}

unsigned long molt_alloc_fail_after(unsigned long n)
{
	unsigned long made = atomic_exchange(&count, 0);

	atomic_store(&failures, 0);
	atomic_store(&fail_at, n);
	return made;
}

unsigned long molt_alloc_failures(void)
{
	return atomic_load(&failures);
}

void *molt_malloc(size_t size)
{
	if (should_fail())
		return NULL;
	return malloc(size ? size : 1);
}

void *molt_calloc(size_t n, size_t size)
{
	if (should_fail())
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *molt_realloc(void *ptr, size_t size)
{
	if (should_fail())
		return NULL;
	return realloc(ptr, size ? size : 1);
}

void molt_free(void *ptr)
{
	free(ptr);
}

char *molt_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = molt_malloc(len + 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *molt_strdup(const char *s)
{
	return molt_strndup(s, strlen(s));
}
