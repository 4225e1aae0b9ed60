/* The calls a callback makes on its process (module.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/module.h"

#include "proc.h"
#include "timer.h"
#include "trace.h"

#include "molt/banned.h"

/* proc.c */
int molt__link_remove(molt_proc *p, int kind, molt_pid pid, molt_ref ref,
		      molt_pid *other);
int molt__link_add(molt_runtime *rt, molt_pid pid, molt__link *l, int unique);
molt__link *molt__link_new(int kind, molt_pid pid, molt_ref ref);

molt_pid molt_self(molt_ctx *ctx)
{
	return ctx && ctx->p ? ctx->p->pid : 0;
}

uint64_t molt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- the process heap --- */

/* The system monitor's look at p's heap after a change: only past half
 * the threshold (growing) or inside an episode (shrinking). */
static void heap_watch(molt_ctx *ctx)
{
	molt_proc *p = ctx ? ctx->p : NULL;
	long long lh = p ? ctx->rt->opts.large_heap : 0;
	size_t bytes;

	if (lh <= 0)
		return;
	bytes = atomic_load_explicit(&p->heap_bytes, memory_order_relaxed);
	if (bytes >= (unsigned long long)lh ||
	    (atomic_load_explicit(&p->mon, memory_order_relaxed) &
	     MOLT__MON_HEAP))
		molt__proc_heap_check(ctx->rt, p, bytes);
}

static void heap_link(molt_proc *p, molt__hblock *b)
{
	b->prev = NULL;
	b->next = p ? p->heap : NULL;
	if (b->next)
		b->next->prev = b;
	if (p) {
		p->heap = b;
		atomic_store_explicit(
			&p->heap_bytes,
			atomic_load_explicit(&p->heap_bytes,
					     memory_order_relaxed) +
				b->size,
			memory_order_relaxed);
	}
}

static void heap_unlink(molt_proc *p, molt__hblock *b)
{
	if (!p)
		return;
	if (b->prev)
		b->prev->next = b->next;
	else if (p->heap == b)
		p->heap = b->next;
	if (b->next)
		b->next->prev = b->prev;
	atomic_store_explicit(
		&p->heap_bytes,
		atomic_load_explicit(&p->heap_bytes, memory_order_relaxed) -
			b->size,
		memory_order_relaxed);
}

void *molt_proc_alloc(molt_ctx *ctx, size_t size)
{
	molt__hblock *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = molt_malloc(sizeof(*b) + size);
	if (!b)
		return NULL;
	b->size = size;
	heap_link(ctx ? ctx->p : NULL, b);
	heap_watch(ctx);
	return b + 1;
}

void molt_proc_free(molt_ctx *ctx, void *ptr)
{
	molt__hblock *b;

	if (!ptr)
		return;
	b = (molt__hblock *)ptr - 1;
	heap_unlink(ctx ? ctx->p : NULL, b);
	molt_free(b);
	heap_watch(ctx);
}

void *molt_proc_realloc(molt_ctx *ctx, void *ptr, size_t size)
{
	molt__hblock *b, *nb;
	molt_proc *p = ctx ? ctx->p : NULL;

	if (!ptr)
		return molt_proc_alloc(ctx, size);
	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = (molt__hblock *)ptr - 1;
	heap_unlink(p, b);
	nb = molt_realloc(b, sizeof(*b) + size);
	if (!nb) {
		heap_link(p, b);
		return NULL;
	}
	nb->size = size;
	heap_link(p, nb);
	heap_watch(ctx);
	return nb + 1;
}

/* --- messages --- */

/* A message from the calling process; a traced callback's is traced. */
static int ctx_send(molt_ctx *ctx, molt_pid to, int kind, molt_pid self,
		    molt_ref ref, const void *data, size_t len)
{
	if (__builtin_expect(ctx->traced, 0))
		molt__trace_send(ctx->rt, ctx->p, to, kind, data, len);
	return molt__proc_send(ctx->rt, to, kind, self, ref, data, len, NULL);
}

int molt_send(molt_ctx *ctx, molt_pid to, const void *data, size_t len)
{
	int rc = ctx_send(ctx, to, MOLT_MSG_INFO, molt_self(ctx), 0, data, len);

	return rc == MOLT_ECLOSED ? MOLT_OK : rc;
}

int molt_cast(molt_ctx *ctx, molt_pid to, const void *data, size_t len)
{
	int rc = ctx_send(ctx, to, MOLT_MSG_CAST, molt_self(ctx), 0, data, len);

	return rc == MOLT_ECLOSED ? MOLT_OK : rc;
}

int molt_call_async(molt_ctx *ctx, molt_ref *out, molt_pid to, const void *req,
		    size_t len, uint32_t timeout_ms)
{
	molt_pid self = molt_self(ctx);
	molt_ref ref = molt__rt_ref(ctx->rt, timeout_ms != 0);
	molt__msg *tmo = NULL;
	int rc;

	if (!self)
		return MOLT_EINVAL;
	if (timeout_ms) {
		tmo = molt__msg_new(MOLT_MSG_TIMEOUT, to, ref, NULL, 0, NULL);
		if (!tmo)
			return MOLT_ENOMEM;
		molt__pf_set(ctx->p, MOLT__PF_TIMERS);
		if ((rc = molt__timer_add_msg(ctx->rt, ref, timeout_ms, self,
					      tmo)) < 0)
			return rc;
	}
	rc = ctx_send(ctx, to, MOLT_MSG_CALL, self, ref, req, len);
	if (rc == MOLT_ENOMEM) {
		if (timeout_ms)
			molt__timer_cancel(ctx->rt, ref);
		return rc;
	}
	/* a dead callee: the caller sees the timeout, as with a lost reply */
	*out = ref;
	return MOLT_OK;
}

int molt_reply(molt_ctx *ctx, molt_from from, const void *data, size_t len)
{
	int rc;

	if (!from.pid) {
		molt__ext_reply(ctx->rt, from.ref, data, len);
		return MOLT_OK;
	}
	rc = ctx_send(ctx, from.pid, MOLT_MSG_REPLY, molt_self(ctx), from.ref,
		      data, len);
	return rc == MOLT_ECLOSED ? MOLT_OK : rc;
}

int molt_send_after(molt_ctx *ctx, molt_ref *out, uint32_t ms, const void *data,
		    size_t len)
{
	molt_pid self = molt_self(ctx);
	molt_ref ref = molt__rt_ref(ctx->rt, 0);
	molt__msg *m;
	int rc;

	if (!self)
		return MOLT_EINVAL;
	m = molt__msg_new(MOLT_MSG_TIMER, self, ref, data, len, NULL);
	if (!m)
		return MOLT_ENOMEM;
	molt__pf_set(ctx->p, MOLT__PF_TIMERS);
	if ((rc = molt__timer_add_msg(ctx->rt, ref, ms, self, m)) < 0)
		return rc;
	if (out)
		*out = ref;
	return MOLT_OK;
}

int molt_cancel_timer(molt_ctx *ctx, molt_ref timer)
{
	return molt__timer_cancel(ctx->rt, timer);
}

/* --- processes --- */

int molt_spawn(molt_ctx *ctx, molt_pid *out, const char *module,
	       const void *args, size_t len, unsigned flags)
{
	molt__version *v = ctx->rt->hooks.current(ctx->rt, module);
	molt_pid self = molt_self(ctx);
	molt_err err = MOLT_ERR_INIT;
	int rc;

	if (!v)
		return MOLT_ENOTFOUND;
	rc = molt__proc_spawn(ctx->rt, out, v, args, len, self,
			      (flags & MOLT_SPAWN_LINK) ? self : 0, &err);
	molt__version_unref(v);
	if (rc < 0)
		molt_log(MOLT_LOG_WARN, "proc", "%s", err.msg);
	return rc;
}

int molt_link(molt_ctx *ctx, molt_pid pid)
{
	molt_pid self = molt_self(ctx);
	molt__link *mine, *theirs;

	if (!self || pid == self)
		return self ? MOLT_OK : MOLT_EINVAL;
	mine = molt__link_new(MOLT__LK_LINK, pid, 0);
	theirs = molt__link_new(MOLT__LK_LINK, self, 0);
	if (!mine || !theirs) {
		molt_free(mine);
		molt_free(theirs);
		return MOLT_ENOMEM;
	}
	molt__link_add(ctx->rt, self, mine, 1);
	if (!molt__link_add(ctx->rt, pid, theirs, 1))
		molt__proc_signal_exit(ctx->rt, self, pid, "noproc",
				       MOLT__MSGF_LINKED);
	return MOLT_OK;
}

int molt_unlink(molt_ctx *ctx, molt_pid pid)
{
	molt_proc *q = molt__proc_slot(ctx->rt, pid);

	if (!ctx->p)
		return MOLT_EINVAL;
	molt__link_remove(ctx->p, MOLT__LK_LINK, pid, 0, NULL);
	if (q)
		molt__link_remove(q, MOLT__LK_LINK, ctx->p->pid, 0, NULL);
	return MOLT_OK;
}

int molt_monitor(molt_ctx *ctx, molt_ref *out, molt_pid pid)
{
	molt_pid self = molt_self(ctx);
	molt_ref ref = molt__rt_ref(ctx->rt, 0);
	molt__link *mine, *theirs;

	if (!self)
		return MOLT_EINVAL;
	mine = molt__link_new(MOLT__LK_MON_OUT, pid, ref);
	theirs = molt__link_new(MOLT__LK_MON_IN, self, ref);
	if (!mine || !theirs) {
		molt_free(mine);
		molt_free(theirs);
		return MOLT_ENOMEM;
	}
	molt__link_add(ctx->rt, self, mine, 0);
	if (!molt__link_add(ctx->rt, pid, theirs, 0))
		molt__proc_send(ctx->rt, self, MOLT_MSG_DOWN, pid, ref, NULL, 0,
				"noproc");
	*out = ref;
	return MOLT_OK;
}

int molt_demonitor(molt_ctx *ctx, molt_ref mon)
{
	molt_proc *q;
	molt_pid target = 0;

	if (!ctx->p)
		return MOLT_EINVAL;
	if (!molt__link_remove(ctx->p, MOLT__LK_MON_OUT, 0, mon, &target))
		return MOLT_ENOTFOUND;
	q = molt__proc_slot(ctx->rt, target);
	if (q)
		molt__link_remove(q, MOLT__LK_MON_IN, 0, mon, NULL);
	return MOLT_OK;
}

void molt_trap_exit(molt_ctx *ctx, int on)
{
	if (!ctx->p)
		return;
	molt__spin_lock(&ctx->p->lock);
	if (on)
		molt__pf_set(ctx->p, MOLT__PF_TRAP);
	else
		molt__pf_clear(ctx->p, MOLT__PF_TRAP);
	molt__spin_unlock(&ctx->p->lock);
}

int molt_exit(molt_ctx *ctx, molt_pid pid, const char *reason)
{
	int kill = reason && strcmp(reason, "kill") == 0;
	int rc = molt__proc_signal_exit(ctx->rt, pid, molt_self(ctx),
					reason ? reason : "normal",
					kill ? MOLT__MSGF_KILL : 0);

	return rc == MOLT_ECLOSED ? MOLT_OK : rc;
}

int molt_register(molt_ctx *ctx, const char *name)
{
	if (!ctx->p)
		return MOLT_EINVAL;
	return molt__reg_add(ctx->rt, ctx->p, name);
}

molt_pid molt_whereis(molt_ctx *ctx, const char *name)
{
	return molt__reg_find(ctx->rt, name);
}

static void stop_with(molt_ctx *ctx, const char *reason)
{
	if (ctx->p)
		molt__proc_set_exiting(ctx->p, reason);
}

void molt_stop(molt_ctx *ctx, const char *reason)
{
	stop_with(ctx, reason ? reason : "normal");
}

void molt_crash(molt_ctx *ctx, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	stop_with(ctx, buf);
}

void molt_logf(molt_ctx *ctx, int level, const char *fmt, ...)
{
	char buf[768], pidbuf[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	molt_log(level, ctx && ctx->ver ? ctx->ver->desc->name : "module",
		 "%s %s", molt_pid_format(molt_self(ctx), pidbuf, 32), buf);
}
