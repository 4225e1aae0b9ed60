/* The callback watchdog and the crash report (see watch.h). */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"

#include "proc.h"
#include "rt.h"

#include "molt/banned.h"

#define WATCH_TICK_MS 10u
#define ALTSTACK_SIZE (64u * 1024u)

/* Threads that are not schedulers write here; nobody reads it. */
static molt__cbslot shared_slot = {.id = UINT32_MAX};

_Thread_local molt__cbslot *molt__watch_slot
	__attribute__((tls_model("initial-exec"))) = &shared_slot;

/* This thread's alternate signal stack, if it made one. */
static _Thread_local void *altstack;

/* "DIR/crash-", set once by molt_runtime_crash_handlers before any
 * handler can run, then only read (by the handlers and the watchdog). */
/* dir/crash- for reports, published whole: a prefix is written into the
 * buffer not in use, then the pointer is stored (release); a handler or
 * the watchdog loads it (acquire). NULL: reports go to stderr only. */
static char prefix_bufs[2][4096];
static _Atomic(const char *) crash_prefix;
static atomic_uint prefix_next; /* which buffer the next prefix uses */

const char *molt__watch_cb_name(unsigned what)
{
	static const char *const names[] = {
		[MOLT__CB_INIT] = "init",
		[MOLT__CB_TERMINATE] = "terminate",
		[MOLT__CB_FREE] = "free_state",
		[MOLT__CB_SYSREQ] = "system request",
		[MOLT__CB_CHANGE] = "code_change",
	};
	unsigned cb = what >> 8, kind = what & 0xffu;

	if (cb == MOLT__CB_MSG)
		return kind == MOLT_MSG_CALL   ? "handle_call"
		       : kind == MOLT_MSG_CAST ? "handle_cast"
					       : "handle_info";
	return cb < sizeof(names) / sizeof(names[0]) && names[cb] ? names[cb]
								  : "callback";
}

static const char *kind_name(unsigned what)
{
	static const char *const names[] = {
		"",	"call", "cast",	 "info",    "timer",
		"exit", "down", "reply", "timeout",
	};
	unsigned kind = what & 0xffu;

	if (what >> 8 != MOLT__CB_MSG)
		return "";
	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* --- the report: async-signal-safe (no stdio, no allocation) --- */

typedef struct report {
	char buf[2048]; /* the text */
	size_t n;	/* bytes used */
} report;

static void put(report *r, const char *s)
{
	while (s && *s && r->n < sizeof(r->buf) - 1)
		r->buf[r->n++] = *s++;
}

static void put_u(report *r, uint64_t v)
{
	char d[24];
	int i = 0;

	do {
		d[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i > 0 && r->n < sizeof(r->buf) - 1)
		r->buf[r->n++] = d[--i];
}

static void put_hex(report *r, uintptr_t v)
{
	char d[2 + 2 * sizeof(v)];
	int i = 0;

	do {
		d[i++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	put(r, "0x");
	while (i > 0 && r->n < sizeof(r->buf) - 1)
		r->buf[r->n++] = d[--i];
}

static void put_pid(report *r, molt_pid pid)
{
	put(r, "<");
	put_u(r, (uint32_t)pid);
	put(r, ".");
	put_u(r, (uint32_t)(pid >> 32));
	put(r, ">");
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static const char *sig_name(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGFPE:
		return "SIGFPE";
	case SIGILL:
		return "SIGILL";
	case SIGABRT:
		return "SIGABRT";
	}
	return "signal";
}

/* What a report says: a signal, or a callback that never returned. */
typedef struct event {
	int sig;	    /* the signal, or 0 for a hung callback */
	uintptr_t addr;	    /* the fault address (sig != 0) */
	uint64_t ms;	    /* how long the callback ran (hung) */
	unsigned sched;	    /* scheduler index, UINT32_MAX if none */
	int in_cb;	    /* a callback was running */
	molt_pid pid;	    /* its process */
	const char *module; /* its module */
	const char *vsn;    /* the version */
	unsigned what;	    /* enum molt__cb << 8 | message kind */
} event;

static void describe(report *r, const event *e)
{
	if (e->sig) {
		put(r, "signal ");
		put(r, sig_name(e->sig));
		put(r, " (fault address ");
		put_hex(r, e->addr);
		put(r, ")");
	} else {
		put(r, "hung callback (running for ");
		put_u(r, e->ms);
		put(r, " ms)");
	}
	if (!e->in_cb) {
		put(r, e->sched == UINT32_MAX ? " outside any scheduler"
					      : " outside any callback");
		return;
	}
	put(r, " in ");
	put(r, molt__watch_cb_name(e->what));
	put(r, " of ");
	put_pid(r, e->pid);
	put(r, " (");
	put(r, e->module);
	put(r, " ");
	put(r, e->vsn);
	put(r, ")");
	if (*kind_name(e->what)) {
		put(r, " handling a ");
		put(r, kind_name(e->what));
		put(r, " message");
	}
	put(r, e->sched & MOLT__WATCH_WORKER ? " on upgrade worker "
					     : " on scheduler ");
	put_u(r, e->sched & ~MOLT__WATCH_WORKER);
}

static void file_fields(report *r, const event *e, uint64_t now)
{
	put(r, "molt crash report\nevent: ");
	put(r, e->sig ? sig_name(e->sig) : "hung callback");
	if (e->sig) {
		put(r, "\nsignal: ");
		put_u(r, (unsigned)e->sig);
		put(r, "\nfault_address: ");
		put_hex(r, e->addr);
	} else {
		put(r, "\nrunning_ms: ");
		put_u(r, e->ms);
	}
	put(r, "\ntime: ");
	put_u(r, now);
	put(r, "\nos_pid: ");
	put_u(r, (uint64_t)getpid());
	if (e->sched != UINT32_MAX) {
		put(r, e->sched & MOLT__WATCH_WORKER ? "\nupgrade_worker: "
						     : "\nscheduler: ");
		put_u(r, e->sched & ~MOLT__WATCH_WORKER);
	}
	if (e->in_cb) {
		put(r, "\nprocess: ");
		put_pid(r, e->pid);
		put(r, "\nmodule: ");
		put(r, e->module);
		put(r, "\nversion: ");
		put(r, e->vsn);
		put(r, "\ncallback: ");
		put(r, molt__watch_cb_name(e->what));
		put(r, "\nmessage: ");
		put(r, *kind_name(e->what) ? kind_name(e->what) : "none");
	}
	put(r, "\n");
}

/* Write the report to stderr and, if a directory was set, to
 * DIR/crash-<unixtime>-<os pid>.txt. Async-signal-safe. */
static void crash_report(const event *e)
{
	const char *prefix =
		atomic_load_explicit(&crash_prefix, memory_order_acquire);
	struct timespec ts;
	report line = {.n = 0}, file = {.n = 0}, path = {.n = 0};
	int fd = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (prefix) {
		put(&path, prefix);
		put_u(&path, (uint64_t)ts.tv_sec);
		put(&path, "-");
		put_u(&path, (uint64_t)getpid());
		put(&path, ".txt");
		path.buf[path.n] = '\0';
		fd = open(path.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
	}
	put(&line, "molt crash: ");
	describe(&line, e);
	if (fd >= 0) {
		put(&line, "; report ");
		put(&line, path.buf);
	}
	put(&line, "\n");
	write_all(2, line.buf, line.n);
	if (fd < 0)
		return;
	file_fields(&file, e, (uint64_t)ts.tv_sec);
	write_all(fd, file.buf, file.n);
	close(fd);
}

/* --- fatal signals --- */

static void on_fatal(int sig, siginfo_t *si, void *uctx)
{
	molt__cbslot *s = molt__watch_slot;
	event e = {sig, (uintptr_t)si->si_addr, 0, s->id, 0, 0, "", "", 0};
	molt_proc *p;

	(void)uctx;
	/* this thread runs the callback: its process and version cannot
	 * go away under us, so they are read without the lock */
	if (s->id != UINT32_MAX &&
	    (atomic_load_explicit(&s->seq, memory_order_relaxed) & 1u)) {
		p = atomic_load_explicit(&s->p, memory_order_relaxed);
		e.what = atomic_load_explicit(&s->what, memory_order_relaxed);
		e.in_cb = 1;
		e.pid = p->pid;
		e.module = p->ver ? p->ver->desc->name : "?";
		e.vsn = p->ver ? p->ver->desc->vsn : "?";
	}
	crash_report(&e);
	_exit(MOLT_EXIT_CRASH);
}

static int make_altstack(void)
{
	stack_t ss = {.ss_size = ALTSTACK_SIZE};

	if (altstack)
		return 0;
	ss.ss_sp = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		return -1;
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(ss.ss_sp, ALTSTACK_SIZE);
		return -1;
	}
	altstack = ss.ss_sp;
	return 0;
}

/* Reports go to dir/crash-...; the prefix is built aside and copied in
 * whole, so a handler never sees a half-written path. */
static int set_crash_dir(const char *dir, molt_err *err)
{
	char prefix[sizeof(prefix_bufs[0])];
	char *buf;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return molt_err_set(err, MOLT_EIO,
				    "crash reports go to stderr only: cannot "
				    "create %s: %s",
				    dir, strerror(errno));
	if (snprintf(prefix, sizeof(prefix), "%s/crash-", dir) >=
	    (int)sizeof(prefix) - 40)
		return molt_err_set(err, MOLT_EINVAL,
				    "crash directory path too long: %s", dir);
	buf = prefix_bufs[atomic_fetch_add(&prefix_next, 1) & 1];
	memcpy(buf, prefix, sizeof(prefix));
	atomic_store_explicit(&crash_prefix, buf, memory_order_release);
	return MOLT_OK;
}

int molt_runtime_crash_handlers(molt_runtime *rt, const char *crash_dir,
				molt_err *err)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct sigaction sa;

	if (!rt)
		return molt_err_set(err, MOLT_EINVAL, "no runtime");
	make_altstack(); /* the calling thread runs init during boot */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return molt_err_set(err, MOLT_EIO,
					    "cannot install a handler for %s",
					    sig_name(sigs[i]));
	return crash_dir ? set_crash_dir(crash_dir, err) : MOLT_OK;
}

void molt__watch_thread_begin(molt_runtime *rt, unsigned id)
{
	molt__watch_slot = &rt->watch.slots[id];
	make_altstack(); /* without one, a stack overflow dies unreported */
}

molt__cbslot *molt__watch_worker_begin(molt_runtime *rt)
{
	molt__cbslot *prev = molt__watch_slot;
	molt__watch *w = &rt->watch;

	for (unsigned i = rt->opts.schedulers; i < w->n; i++) {
		int free_slot = 0;

		if (atomic_compare_exchange_strong(&w->slots[i].taken,
						   &free_slot, 1)) {
			molt__watch_slot = &w->slots[i];
			break;
		}
	}
	return prev;
}

void molt__watch_worker_end(molt__cbslot *prev)
{
	molt__cbslot *s = molt__watch_slot;

	if (s == prev)
		return; /* no free slot was found */
	molt__watch_slot = prev;
	atomic_store(&s->taken, 0);
}

void molt__watch_thread_end(void)
{
	stack_t ss = {.ss_flags = SS_DISABLE};

	molt__watch_slot = &shared_slot;
	if (!altstack)
		return;
	sigaltstack(&ss, NULL);
	munmap(altstack, ALTSTACK_SIZE);
	altstack = NULL;
}

/* --- reading the slots --- */

/* Slot s's callback as molt_callback_info, if one runs: 1, else 0. */
static int slot_read(molt_runtime *rt, molt__cbslot *s, uint64_t now,
		     molt_callback_info *out)
{
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	molt_proc *p = atomic_load_explicit(&s->p, memory_order_relaxed);
	unsigned what = atomic_load_explicit(&s->what, memory_order_relaxed);
	molt_proc_info pi;

	atomic_thread_fence(memory_order_acquire);
	if (!(seq & 1u) ||
	    seq != atomic_load_explicit(&s->seq, memory_order_relaxed))
		return 0;
	/* p is type-stable; its lock tells whether it still runs */
	if (molt__proc_info(rt, p, 0, &pi) < 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->scheduler = s->id & ~MOLT__WATCH_WORKER;
	out->upgrade_worker = (s->id & MOLT__WATCH_WORKER) != 0;
	out->pid = pi.pid;
	snprintf(out->module, sizeof(out->module), "%s", pi.module);
	snprintf(out->vsn, sizeof(out->vsn), "%s", pi.vsn);
	snprintf(out->callback, sizeof(out->callback), "%s",
		 molt__watch_cb_name(what));
	out->msg_kind = what >> 8 == MOLT__CB_MSG ? (int)(what & 0xffu) : 0;
	if (atomic_load_explicit(&s->seen_seq, memory_order_acquire) == seq)
		out->running_ms =
			now -
			atomic_load_explicit(&s->seen_ms, memory_order_relaxed);
	return 1;
}

size_t molt_runtime_callbacks(molt_runtime *rt, molt_callback_info *out,
			      size_t max)
{
	uint64_t now = molt_now_ms();
	molt_callback_info ci;
	size_t n = 0;

	for (unsigned i = 0; i < rt->watch.n; i++) {
		if (!slot_read(rt, &rt->watch.slots[i], now, &ci))
			continue;
		if (n < max)
			out[n] = ci;
		n++;
	}
	return n;
}

/* --- the watchdog --- */

static void long_callback(molt_runtime *rt, const molt_callback_info *ci)
{
	char pb[32], text[512];

	atomic_fetch_add_explicit(&rt->watch.n_long, 1, memory_order_relaxed);
	snprintf(text, sizeof(text),
		 "%s of %s (%s %s) on %s %u has run for %llu ms (threshold "
		 "%d ms)",
		 ci->callback, molt_pid_format(ci->pid, pb, sizeof(pb)),
		 ci->module, ci->vsn,
		 ci->upgrade_worker ? "upgrade worker" : "scheduler",
		 ci->scheduler, (unsigned long long)ci->running_ms,
		 rt->opts.long_callback_ms);
	molt_log(MOLT_LOG_WARN, "watch", "long callback: %s", text);
	molt__obs_event_quiet(rt, MOLT_EVENT_LONG_CALLBACK, ci->pid,
			      ci->running_ms,
			      (uint64_t)rt->opts.long_callback_ms, text);
}

static void hung_callback(molt__cbslot *s, const molt_callback_info *ci)
{
	event e = {0,
		   0,
		   ci->running_ms,
		   s->id,
		   1,
		   ci->pid,
		   ci->module,
		   ci->vsn,
		   atomic_load_explicit(&s->what, memory_order_relaxed)};

	crash_report(&e);
	_exit(MOLT_EXIT_HUNG);
}

/* Look at slot s at time now: start timing a new callback, or log a long
 * one once, or end the node for a hung one. */
static void watch_slot(molt_runtime *rt, molt__cbslot *s, uint64_t now)
{
	unsigned seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	uint64_t long_ms = rt->opts.long_callback_ms > 0
				   ? (uint64_t)rt->opts.long_callback_ms
				   : UINT64_MAX;
	uint64_t hung_ms = rt->opts.hung_callback_s > 0
				   ? (uint64_t)rt->opts.hung_callback_s * 1000
				   : UINT64_MAX;
	molt_callback_info ci;
	uint64_t ms;

	if (!(seq & 1u))
		return;
	if (atomic_load_explicit(&s->seen_seq, memory_order_relaxed) != seq) {
		atomic_store_explicit(&s->seen_ms, now, memory_order_relaxed);
		atomic_store_explicit(&s->seen_seq, seq, memory_order_release);
		return;
	}
	ms = now - atomic_load_explicit(&s->seen_ms, memory_order_relaxed);
	if (ms < 2 * WATCH_TICK_MS && ms < hung_ms && ms < long_ms)
		return; /* too short to say anything about */
	if (!slot_read(rt, s, now, &ci))
		return;
	/* a callback too long for most sampled turns to catch: its max */
	molt__proc_note_running(rt, ci.pid, ci.running_ms * 1000000u);
	if (ci.running_ms >= hung_ms)
		hung_callback(s, &ci);
	if (ms >= long_ms && s->logged_seq != seq) {
		s->logged_seq = seq;
		long_callback(rt, &ci);
	}
}

static void *watch_main(void *arg)
{
	molt_runtime *rt = arg;
	molt__watch *w = &rt->watch;
	struct timespec ts;
	int stop = 0;

	while (!stop) {
		uint64_t now = molt_now_ms();

		for (unsigned i = 0; i < w->n; i++)
			watch_slot(rt, &w->slots[i], now);
		molt__obs_tick(rt); /* system monitor episodes that ended */
		molt__deadline(&ts, CLOCK_MONOTONIC, WATCH_TICK_MS);
		pthread_mutex_lock(&w->mu);
		if (!w->stop)
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		stop = w->stop;
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

int molt__watch_init(molt_runtime *rt)
{
	molt__watch *w = &rt->watch;

	w->n = rt->opts.schedulers + MOLT__WATCH_WORKERS;
	w->slots = molt_calloc(w->n, sizeof(*w->slots));
	if (!w->slots)
		return MOLT_ENOMEM;
	for (unsigned i = 0; i < w->n; i++)
		w->slots[i].id = i < rt->opts.schedulers
					 ? i
					 : (i - rt->opts.schedulers) |
						   MOLT__WATCH_WORKER;
	pthread_mutex_init(&w->mu, NULL);
	molt__cond_init_mono(&w->cv);
	return MOLT_OK;
}

int molt__watch_start(molt_runtime *rt)
{
	molt__watch *w = &rt->watch;

	if (rt->opts.long_callback_ms <= 0 && rt->opts.hung_callback_s <= 0)
		return MOLT_OK;
	if (pthread_create(&w->thread, NULL, watch_main, rt) != 0)
		return MOLT_EIO;
	w->running = 1;
	return MOLT_OK;
}

void molt__watch_stop(molt_runtime *rt)
{
	molt__watch *w = &rt->watch;

	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->running = 0;
}

void molt__watch_release(molt_runtime *rt)
{
	molt__watch *w = &rt->watch;

	if (!w->slots)
		return;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	molt_free(w->slots);
	w->slots = NULL;
}

uint64_t molt__watch_long_count(molt_runtime *rt)
{
	return atomic_load_explicit(&rt->watch.n_long, memory_order_relaxed);
}
