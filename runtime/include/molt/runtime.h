/* The embedding API: create a VM, load modules, start processes and trees,
 * talk to processes from threads that are not processes, shut down. */
#ifndef MOLT_RUNTIME_H
#define MOLT_RUNTIME_H

/*
 * A molt_runtime is one VM: scheduler threads, a timer thread, the process
 * table, the module table and the registry of names. Every function here
 * may be called from any thread that is not a scheduler thread (the main
 * thread, the control thread, a test, a benchmark); the blocking ones
 * (molt_runtime_call, molt_runtime_suspend, ...) must never be called from
 * inside a callback.
 *
 * Payloads are bytes: every send copies them (share-nothing), so the
 * caller keeps ownership of what it passes.
 */

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/module.h"
#include "molt/script.h"

typedef struct molt_runtime molt_runtime;

typedef struct molt_runtime_options {
	unsigned schedulers; /* scheduler threads; 0 = one per core */
	int deterministic;   /* 1: one thread, next process picked by a PRNG */
	uint64_t seed;	     /* PRNG seed for deterministic mode; 0 = random */
	unsigned budget;     /* messages per process per turn; 0 = default */
	/* A callback running longer is logged (once) and counted
	 * (molt_runtime_stats.long_callbacks); 0 = 100, < 0 = off. */
	int long_callback_ms;
	/* A callback running longer hangs the node: a crash report, then
	 * _exit(MOLT_EXIT_HUNG) so a service manager restarts it; 0 = 60,
	 * < 0 = off. */
	int hung_callback_s;
	/* The system monitor (molt_runtime_events): a mailbox reaching this
	 * many messages is a long_queue event; 0 = 10000, < 0 = off. */
	long long long_queue;
	/* A process heap (molt_proc_alloc and socket buffers) reaching this
	 * many bytes is a large_heap event; 0 = 64 MiB, < 0 = off. */
	long long large_heap;
} molt_runtime_options;

#define MOLT_RUNTIME_OPTIONS_INIT                                              \
	{                                                                      \
		0, 0, 0, 0, 0, 0, 0, 0                                         \
	}

/* Exit statuses of a node that cannot go on (docs/architecture.md). */
#define MOLT_EXIT_CRASH 70 /* a fatal signal: crash report written */
#define MOLT_EXIT_HUNG	71 /* a callback ran past hung_callback_s */

/*
 * Create a runtime (threads not started yet). Returns MOLT_OK and *out
 * (free with molt_runtime_free), or MOLT_ENOMEM/MOLT_EIO and no runtime.
 */
MOLT_API int molt_runtime_new(molt_runtime **out,
			      const molt_runtime_options *opts, molt_err *err);
/* Start the scheduler and timer threads. MOLT_EIO if a thread fails. */
MOLT_API int molt_runtime_start(molt_runtime *rt, molt_err *err);
/*
 * Stop: every live process gets exit reason "shutdown" (terminate runs),
 * processes still alive after timeout_ms are killed; then the threads are
 * joined. Returns MOLT_ETIMEOUT when a kill was needed, else MOLT_OK.
 */
MOLT_API int molt_runtime_shutdown(molt_runtime *rt, uint32_t timeout_ms);
/* Shut down (if not yet) with a 5 s timeout and free everything; unloads
 * modules. NULL is a no-op. */
MOLT_API void molt_runtime_free(molt_runtime *rt);
/*
 * Report fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT): the
 * handler writes one line to stderr naming the signal and the callback
 * that was running (process, module, version, callback, message kind)
 * and, if crash_dir is not NULL, the same as a file
 * crash_dir/crash-<unixtime>-<os pid>.txt (crash_dir is created if
 * missing), then _exit(MOLT_EXIT_CRASH). Nothing is recovered. Process-
 * wide: call it once, from the main thread (it gets an alternate signal
 * stack; scheduler threads have one, so a stack overflow is reported
 * too). A hung callback writes its report there as well. moltd calls it;
 * an embedder may not. May be called again to set crash_dir later.
 * MOLT_EIO if a handler cannot be installed, or crash_dir cannot be
 * created (the handlers are installed then, reporting to stderr only).
 */
MOLT_API int molt_runtime_crash_handlers(molt_runtime *rt,
					 const char *crash_dir, molt_err *err);
/* The seed deterministic mode uses (print it when a test fails). */
MOLT_API uint64_t molt_runtime_seed(const molt_runtime *rt);
/* Number of scheduler threads. */
MOLT_API unsigned molt_runtime_schedulers(const molt_runtime *rt);

/* --- modules (the code server) --- */

#define MOLT_LOAD_FORCE 0x1u /* kill processes on old code first */

/*
 * Load path (a module .so) as the new current version of its module; the
 * previous current becomes old, a previous old with no processes is
 * dropped. The descriptor's name must equal expect_name, or when that is
 * NULL the file's base name up to its first '.' (counter-1.0.0/counter.so
 * holds module counter).
 * Errors (nothing changes): MOLT_ENOTFOUND no file, MOLT_EVERSION wrong
 * ABI, MOLT_EINVAL no or bad descriptor, MOLT_EBUSY old code still has
 * processes (message "not_purged: <pid> ..." naming them) unless
 * MOLT_LOAD_FORCE. On success the module's name is copied to name_out
 * (may be NULL, size name_size).
 */
MOLT_API int molt_runtime_load(molt_runtime *rt, const char *path,
			       const char *expect_name, unsigned flags,
			       char *name_out, size_t name_size, molt_err *err);
/* Kill every process on module's old version (reason "killed") and drop
 * it; it is unloaded once nothing references it. *killed_out (may be NULL)
 * gets the number of processes killed. MOLT_ENOTFOUND: no such module. */
MOLT_API int molt_runtime_purge(molt_runtime *rt, const char *module,
				unsigned *killed_out, molt_err *err);
/* Drop old code if no process runs it; MOLT_EBUSY naming the pids else. */
MOLT_API int molt_runtime_soft_purge(molt_runtime *rt, const char *module,
				     molt_err *err);
/* Make current code old (no current remains). MOLT_EBUSY if old exists
 * (purge first). New spawns of the module then fail. */
MOLT_API int molt_runtime_delete(molt_runtime *rt, const char *module,
				 molt_err *err);

#define MOLT_PIDS_ANY	  0 /* molt_runtime_module_pids: every version */
#define MOLT_PIDS_CURRENT 1 /* only processes on the current version */
#define MOLT_PIDS_OLD	  2 /* only processes on the old version */
/* Pids of processes whose callback module is module, from the process
 * table (no tree walk). Fills out[0..max); returns the total. */
MOLT_API size_t molt_runtime_module_pids(molt_runtime *rt, const char *module,
					 int which, molt_pid *out, size_t max);

/* One module, as listed by molt_runtime_modules. */
typedef struct molt_module_info {
	char name[64];		/* module name */
	char current_vsn[64];	/* "" when no current version */
	char old_vsn[64];	/* "" when no old version */
	char current_path[256]; /* .so it came from; "" if built in */
	unsigned current_procs; /* processes running current */
	unsigned old_procs;	/* processes running old */
	int builtin;		/* 1 for the built-in supervisor */
} molt_module_info;

/* Fill out[0..max) with modules; returns the total number (may be >
 * max). */
MOLT_API size_t molt_runtime_modules(molt_runtime *rt, molt_module_info *out,
				     size_t max);

/* --- processes --- */

/*
 * Spawn a process on module's current version; init runs before this
 * returns. args are copied. Returns MOLT_OK and *out; MOLT_ENOTFOUND if no
 * current version, MOLT_ERROR (message from the crash) if init failed.
 */
MOLT_API int molt_runtime_spawn(molt_runtime *rt, molt_pid *out,
				const char *module, const void *args,
				size_t len, molt_err *err);
/* Registered pid of name, or 0. */
MOLT_API molt_pid molt_runtime_whereis(molt_runtime *rt, const char *name);
/* "NAME" or a decimal/"<i.g>" pid string to a pid; 0 if none. */
MOLT_API molt_pid molt_runtime_resolve(molt_runtime *rt, const char *target);
/* Write pid as "<index.generation>" into buf. Returns buf. */
MOLT_API char *molt_pid_format(molt_pid pid, char *buf, size_t size);
/* Is pid alive? */
MOLT_API int molt_runtime_alive(molt_runtime *rt, molt_pid pid);

/* A reply: owned bytes, free with molt_free. */
typedef struct molt_reply_buf {
	char *data; /* NUL-terminated for convenience; len excludes it */
	size_t len;
} molt_reply_buf;

/*
 * Call pid (handle_call) and wait up to timeout_ms for the reply. Returns
 * MOLT_OK with *out filled (release with molt_free(out->data)),
 * MOLT_ETIMEOUT, or MOLT_ECLOSED if pid is dead or died before replying.
 */
MOLT_API int molt_runtime_call(molt_runtime *rt, molt_reply_buf *out,
			       molt_pid pid, const void *req, size_t len,
			       uint32_t timeout_ms, molt_err *err);

/*
 * Completion of an asynchronous call from outside: status is MOLT_OK,
 * MOLT_ETIMEOUT or MOLT_ECLOSED; data is borrowed (valid during the
 * callback). Runs on a scheduler or the timer thread: do not block.
 */
typedef void (*molt_call_cb)(int status, const void *data, size_t len,
			     void *payload);
/* Start a call; cb runs exactly once (unless this returns an error). */
MOLT_API int molt_runtime_call_async(molt_runtime *rt, molt_pid pid,
				     const void *req, size_t len,
				     uint32_t timeout_ms, molt_call_cb cb,
				     void *payload, molt_err *err);
/* handle_cast from outside. MOLT_ECLOSED if pid is dead. */
MOLT_API int molt_runtime_cast(molt_runtime *rt, molt_pid pid, const void *data,
			       size_t len);
/* handle_info (MOLT_MSG_INFO) from outside. MOLT_ECLOSED if pid is dead. */
MOLT_API int molt_runtime_send(molt_runtime *rt, molt_pid pid, const void *data,
			       size_t len);
/* Send an exit signal ("kill" cannot be trapped). */
MOLT_API int molt_runtime_exit(molt_runtime *rt, molt_pid pid,
			       const char *reason);
/*
 * Wait until pid has exited, up to timeout_ms: its exit is complete (links
 * notified, memory and slot released), also when it was already under way
 * when this was called. MOLT_OK (the reason is
 * copied to reason_out if not NULL), or MOLT_ETIMEOUT.
 */
MOLT_API int molt_runtime_wait(molt_runtime *rt, molt_pid pid,
			       uint32_t timeout_ms, char *reason_out,
			       size_t reason_size);

/* A snapshot of one process for `ps` and `status`. */
typedef struct molt_proc_info {
	molt_pid pid;		   /* the process */
	char name[64];		   /* registered name or "" */
	char module[64];	   /* callback module */
	char vsn[64];		   /* the version it runs */
	int old_code;		   /* 1 if that version is the old one */
	int suspended;		   /* 1 if suspended */
	int trap_exit;		   /* 1 if trapping exits */
	size_t queue_len;	   /* ordinary messages waiting */
	size_t heap_bytes;	   /* bytes held through molt_proc_alloc, and by
				      its sockets */
	uint64_t reductions;	   /* messages handled so far */
	size_t sockets;		   /* sockets it owns */
	size_t queue_max;	   /* most ordinary messages ever waiting */
	uint64_t callback_ns;	   /* time in callbacks, estimated from sampled
				      turns (docs/observability.md) */
	uint64_t callback_max_ns;  /* longest callback seen (sampled turns,
				      and the watchdog for long ones) */
	uint64_t callback_samples; /* timed turns behind callback_ns: with
				      few, the estimate is rough */
} molt_proc_info;

/* One TCP socket (molt_runtime_sockets). */
typedef struct molt_sock_info {
	molt_sock sock;	    /* its name */
	molt_pid owner;	    /* the process that owns it */
	int listener;	    /* 1: a listening socket */
	char local[64];	    /* "ADDR:PORT" */
	char peer[64];	    /* "ADDR:PORT", "" for a listener */
	unsigned active;    /* events its owner still asked for */
	size_t queued;	    /* bytes waiting in its send queue */
	uint64_t bytes_in;  /* received so far */
	uint64_t bytes_out; /* sent so far */
} molt_sock_info;

/* Fill out[0..max) with the node's sockets; returns their number (may be
 * > max). A snapshot: sockets come and go meanwhile. Any thread. */
MOLT_API size_t molt_runtime_sockets(molt_runtime *rt, molt_sock_info *out,
				     size_t max);

/* Fill out[0..max) with live processes; returns the total (may be >
 * max). */
MOLT_API size_t molt_runtime_processes(molt_runtime *rt, molt_proc_info *out,
				       size_t max);
/* One process. MOLT_ENOTFOUND if dead. */
MOLT_API int molt_runtime_process_info(molt_runtime *rt, molt_pid pid,
				       molt_proc_info *out);

/* Runtime-wide numbers for `status`. */
typedef struct molt_runtime_stats {
	uint64_t uptime_ms;	  /* since molt_runtime_start */
	size_t processes;	  /* live processes */
	size_t modules;		  /* modules in the table */
	unsigned schedulers;	  /* scheduler threads */
	int deterministic;	  /* deterministic mode */
	uint64_t spawned;	  /* processes spawned since start */
	uint64_t messages;	  /* messages dispatched since start */
	size_t proc_struct_bytes; /* sizeof the process structure */
	uint64_t long_callbacks;  /* callbacks that ran past
				     long_callback_ms */
	size_t timers_pending;	  /* timers armed and not yet fired */
} molt_runtime_stats;

MOLT_API void molt_runtime_get_stats(molt_runtime *rt, molt_runtime_stats *out);

/* A callback running now on a scheduler thread. */
typedef struct molt_callback_info {
	unsigned scheduler;  /* the scheduler thread running it, or the
				upgrade worker if upgrade_worker */
	int upgrade_worker;  /* 1: a code_change on an upgrade worker */
	molt_pid pid;	     /* its process */
	char module[64];     /* the process's module */
	char vsn[64];	     /* and version */
	char callback[16];   /* "handle_call", "init", "terminate", ... */
	int msg_kind;	     /* MOLT_MSG_* for handle_*, else 0 */
	uint64_t running_ms; /* for how long (to 10 ms; 0 when it has just
				started or callbacks are not watched) */
} molt_callback_info;

/* Fill out[0..max) with the callbacks running now; returns their number
 * (may be > max). A snapshot: they may have returned meanwhile. */
MOLT_API size_t molt_runtime_callbacks(molt_runtime *rt,
				       molt_callback_info *out, size_t max);

/* --- observing the node (docs/observability.md) --- */

/* One scheduler thread's counters. */
typedef struct molt_sched_stats {
	unsigned id;	   /* scheduler index */
	uint64_t messages; /* messages it handled */
	uint64_t busy_ns;  /* time since start not spent asleep */
	uint64_t idle_ns;  /* time asleep waiting for work */
	uint64_t steals;   /* processes it took from other queues */
	uint64_t sampled;  /* turns it timed (about one in 64) */
	size_t queue_len;  /* processes in its run queue now */
} molt_sched_stats;

/* Fill out[0..max) with the schedulers' counters; returns their number.
 * Any thread; each figure is read without stopping anything. */
MOLT_API size_t molt_runtime_sched_stats(molt_runtime *rt,
					 molt_sched_stats *out, size_t max);

/* What molt_runtime_top sorts by (largest first). */
enum molt_top_key {
	MOLT_TOP_CALLBACK = 0, /* callback_ns */
	MOLT_TOP_MESSAGES = 1, /* reductions */
	MOLT_TOP_MEMORY = 2,   /* heap_bytes */
	MOLT_TOP_QUEUE = 3,    /* queue_len */
};

/* What a molt_runtime_top scan saw of the whole table. */
typedef struct molt_top_totals {
	size_t processes;     /* live processes scanned */
	size_t slots;	      /* table slots looked at */
	uint64_t messages;    /* their reductions, summed */
	uint64_t callback_ns; /* their callback time, summed */
	uint64_t heap_bytes;  /* their heaps, summed */
	uint64_t queued;      /* their queued messages, summed */
	size_t suspended;     /* of them suspended */
	size_t old_code;      /* of them on old code */
	uint64_t scan_ns;     /* how long the scan took */
	uint64_t hold_max_ns; /* longest a process lock was held for it */
} molt_top_totals;

/*
 * The k processes with the largest key, largest first, into out[0..k);
 * totals (may be NULL) over every process. One pass over the table that
 * takes each process's lock only to read a few words (no stop-the-world,
 * no copy of the table): the k winners are then described one by one.
 * Returns how many were written (<= k). Any thread but a scheduler's.
 */
MOLT_API size_t molt_runtime_top(molt_runtime *rt, int key, molt_proc_info *out,
				 size_t k, molt_top_totals *totals);

/* Histograms: buckets at 1 us, 10 us, 100 us, 1 ms, 10 ms, 100 ms, 1 s
 * and +Inf (counts per bucket, not cumulative). */
#define MOLT_HIST_BUCKETS 8
typedef struct molt_histogram {
	uint64_t bucket[MOLT_HIST_BUCKETS]; /* observations per bucket */
	uint64_t count;			    /* observations */
	uint64_t sum_ns;		    /* their sum */
} molt_histogram;

/* The upper bound of bucket i in ns (UINT64_MAX for the last). */
MOLT_API uint64_t molt_histogram_bound_ns(unsigned i);

/* Node-wide figures beyond molt_runtime_stats. */
typedef struct molt_obs_stats {
	molt_histogram callback;    /* sampled callback durations */
	molt_histogram pause;	    /* per-process upgrade pauses */
	uint64_t evals;		    /* scripts evaluated (not dry runs) */
	uint64_t eval_commits;	    /* of them committed */
	uint64_t eval_rollbacks;    /* of them rolled back */
	uint64_t installs;	    /* release installs (up or down) done */
	uint64_t install_failures;  /* installs that failed */
	uint64_t rollbacks;	    /* release rollbacks done */
	uint64_t last_pause_max_ns; /* the latest upgrade's longest pause */
	uint64_t events[4];	    /* events posted, by enum molt_event_kind */
} molt_obs_stats;

MOLT_API void molt_runtime_obs_stats(molt_runtime *rt, molt_obs_stats *out);

/* What an upgrade did, for the counters (the control server notes each
 * install, rollback and eval it ran). */
enum molt_upgrade_kind {
	MOLT_UPGRADE_EVAL = 0,
	MOLT_UPGRADE_INSTALL = 1,
	MOLT_UPGRADE_ROLLBACK = 2,
};
MOLT_API void molt_runtime_note_upgrade(molt_runtime *rt, int kind, int ok,
					int rolled_back, uint64_t pause_max_ns);

/* The system monitor's events (docs/observability.md). */
enum molt_event_kind {
	MOLT_EVENT_LONG_CALLBACK = 0, /* a callback ran past long_callback_ms */
	MOLT_EVENT_LONG_QUEUE = 1,    /* a mailbox reached long_queue */
	MOLT_EVENT_LARGE_HEAP = 2,    /* a heap reached large_heap bytes */
	MOLT_EVENT_SLOW_UPGRADE = 3,  /* an upgrade paused a process long */
};
#define MOLT_EVENT_KINDS 4

typedef struct molt_event {
	uint64_t seq;	    /* 1, 2, ...: order of posting */
	uint64_t time_ms;   /* wall clock (ms since the epoch) */
	int kind;	    /* enum molt_event_kind */
	molt_pid pid;	    /* the process, or 0 */
	uint64_t value;	    /* ms, messages or bytes */
	uint64_t threshold; /* the limit it passed */
	char text[192];	    /* one line, as logged */
} molt_event;

/* "long_callback", "long_queue", "large_heap", "slow_upgrade". */
MOLT_API const char *molt_event_kind_name(int kind);

/*
 * Events with seq > since, oldest first, into out[0..max); *next_out
 * (may be NULL) gets the seq to ask for next. The node keeps the last
 * 512; older ones are gone (seq shows the gap). Any thread.
 */
MOLT_API size_t molt_runtime_events(molt_runtime *rt, uint64_t since,
				    molt_event *out, size_t max,
				    uint64_t *next_out);

/* Post an event: logged at warn level, counted, kept for
 * molt_runtime_events. Any thread (not under a process lock). */
MOLT_API void molt_runtime_event_post(molt_runtime *rt, int kind, molt_pid pid,
				      uint64_t value, uint64_t threshold,
				      const char *text);

/* --- tracing (molt trace; docs/observability.md) --- */

typedef struct molt_trace_options {
	molt_pid pid;	    /* trace this process, or 0 */
	const char *module; /* else every process of this module */
	uint64_t limit;	    /* stop after this many events; 0 = 1000 */
	uint64_t rate;	    /* stop above this many a second; 0 = 1000 */
	uint64_t seconds;   /* stop after this long; 0 = 60 */
} molt_trace_options;

/*
 * Trace messages received and sent and callbacks entered and left by the
 * target (a running trace is replaced). Tracing stops by itself at the
 * first limit reached; its lines (one per event, with a UTC time stamp;
 * payloads shortened and escaped) are read with molt_runtime_trace_read.
 * *procs_out (may be NULL) gets the processes traced now. MOLT_ENOTFOUND
 * if there are none (processes spawned later on a traced version are
 * traced too). Any thread but a scheduler's.
 */
MOLT_API int molt_runtime_trace_start(molt_runtime *rt,
				      const molt_trace_options *o,
				      size_t *procs_out, molt_err *err);
/* Stop the running trace, if any, saying why (may be NULL). */
MOLT_API void molt_runtime_trace_stop(molt_runtime *rt, const char *why);
/*
 * Lines after since, oldest first, into out[0..max); *next_out gets the
 * seq to ask for next; *on_out (may be NULL) is 0 once the trace has
 * stopped and every line was read. The last 4096 lines are kept.
 */
MOLT_API size_t molt_runtime_trace_read(molt_runtime *rt, uint64_t since,
					char (*out)[256], size_t max,
					uint64_t *next_out, int *on_out);

/* --- supervision trees --- */

/*
 * Start a supervisor from spec, a JSON object:
 *   {"strategy": "one_for_one" | "one_for_all" | "rest_for_one" |
 *                "simple_one_for_one",
 *    "intensity": 3, "period": 5,       (max restarts within seconds)
 *    "name": "top",                      (optional registered name)
 *    "children": [{"id": "c1", "module": "counter", "args": "...",
 *                  "restart": "permanent" | "transient" | "temporary",
 *                  "shutdown": 5000,       (ms, or "brutal_kill")
 *                  "name": "c1"}           (optional registered name)
 *                 | {"id": "sub", "supervisor": {...spec...}}]}
 * A child's "args" is a string (its bytes) or any JSON value (its text).
 * Returns the supervisor's pid in *out, or MOLT_EPARSE/MOLT_EINVAL with a
 * message naming the child, or the failing child's start error.
 */
MOLT_API int molt_runtime_start_supervisor(molt_runtime *rt, molt_pid *out,
					   const char *spec_json,
					   molt_err *err);

/*
 * Give the running supervisor pid a new spec (the same JSON as above), as
 * OTP's supervisor code_change does at {update, Sup, supervisor}: a child
 * the new spec drops is terminated and removed, a new one is started (in
 * the spec's order), a kept one (same id) keeps running and takes its
 * changed spec at its next restart; strategy, intensity and period change
 * at once. A simple_one_for_one supervisor changes its template (running
 * children keep theirs) and cannot become another strategy, nor the
 * reverse (MOLT_EINVAL). A new child that fails to start fails the call,
 * naming it; the rest of the change stays. The release handler does this
 * for every application whose app.json tree changed. Blocks: never call
 * from a callback.
 */
MOLT_API int molt_runtime_update_supervisor(molt_runtime *rt, molt_pid pid,
					    const char *spec_json,
					    molt_err *err);

/*
 * Boot from a boot spec file (docs/formats.md): {"format": 1, "modules":
 * ["x.so", ...], "root": {supervisor spec}}. Relative module paths are
 * relative to the spec's directory. Loads every module, then starts the
 * root supervisor; *out is its pid. Errors name the file and, for JSON
 * syntax, line:col; for modules, the .so and what is wrong.
 */
MOLT_API int molt_runtime_boot(molt_runtime *rt, molt_pid *out,
			       const char *spec_path, molt_err *err);

/* --- releases (rel/): booting a root's permanent release --- */

/*
 * Boot the permanent release of root's releases/RELEASES.json
 * (docs/releases.md): verify release.json, every app.json and every
 * module's .so against releases/VSN/MANIFEST.sha256 (and each .so against
 * its app.json sum) before loading anything; load the applications'
 * modules; start each application's supervisor (app.json "supervisor")
 * under a root supervisor, in dependency order ("deps"), so they stop in
 * reverse order. *out is the root supervisor: it exits when an
 * application's supervisor gives up. Errors: MOLT_ENOTFOUND when no
 * release is permanent, MOLT_EUNSAFE naming the file that fails its
 * sum, MOLT_EVERSION/MOLT_EINVAL naming the file and field of a
 * malformed one, MOLT_EBUSY if this runtime already booted a release,
 * else the failing module's load or child's start error. Once per
 * runtime.
 */
MOLT_API int molt_runtime_boot_release(molt_runtime *rt, molt_pid *out,
				       const char *root, molt_err *err);

/*
 * The same for release vsn of RELEASES.json, whatever its status: the
 * boot after a relup's restart_new_emulator or restart_emulator (moltd
 * --release VSN). A release RELEASES.json calls current other than vsn
 * becomes unpacked, as after any boot.
 */
MOLT_API int molt_runtime_boot_release_vsn(molt_runtime *rt, molt_pid *out,
					   const char *root, const char *vsn,
					   molt_err *err);

/* The release a node runs. */
typedef struct molt_release_info {
	char name[128]; /* release name */
	char vsn[128];	/* release version */
	size_t n_apps;	/* its applications */
} molt_release_info;

/* One running application. */
typedef struct molt_app_info {
	char name[128]; /* application name */
	char vsn[128];	/* its version */
	molt_pid sup;	/* its top supervisor, 0 if it has none */
} molt_app_info;

/* Fill out with the release this node booted; MOLT_ENOTFOUND if it booted
 * none (a boot spec or a bare runtime). Any thread. */
MOLT_API int molt_runtime_release(molt_runtime *rt, molt_release_info *out);
/* Copy up to max applications, in start order; returns how many run. */
MOLT_API size_t molt_runtime_apps(molt_runtime *rt, molt_app_info *out,
				  size_t max);

/* --- system operations (a separate path from ordinary messages) --- */

/*
 * Suspend pid: it stops taking ordinary messages (they queue; none is
 * lost). Waits up to timeout_ms for a running callback to finish.
 * MOLT_ETIMEOUT if it did not (the process is then resumed), MOLT_ENOTFOUND
 * if pid is dead.
 */
MOLT_API int molt_runtime_suspend(molt_runtime *rt, molt_pid pid,
				  uint32_t timeout_ms, molt_err *err);
/* Resume a suspended process: queued messages are handled in order. */
MOLT_API int molt_runtime_resume(molt_runtime *rt, molt_pid pid, molt_err *err);
/*
 * These single-process operations are for inspection and embedding; the
 * script evaluator (molt_runtime_eval) does the same steps for many
 * processes at once, with its own journal, and is the one way to
 * upgrade and roll back a module (it never mixes with these: a process
 * with an uncommitted change_code fails its code_change).
 *
 * On a suspended pid, move it to module's current version and run that
 * version's code_change on its state, keeping the old state until
 * molt_runtime_commit_code (frees the old state with the old version) or
 * molt_runtime_revert_code (frees the new state with the new version and
 * goes back). If code_change fails, nothing changes and the error names
 * the process. MOLT_EINVAL if the process is not suspended.
 */
MOLT_API int molt_runtime_change_code(molt_runtime *rt, molt_pid pid,
				      const molt_vsn_change *chg,
				      const char *extra_json,
				      uint32_t timeout_ms, molt_err *err);
MOLT_API int molt_runtime_commit_code(molt_runtime *rt, molt_pid pid,
				      uint32_t timeout_ms, molt_err *err);
MOLT_API int molt_runtime_revert_code(molt_runtime *rt, molt_pid pid,
				      uint32_t timeout_ms, molt_err *err);
/*
 * Describe pid's state with its module's format_state into out (owned,
 * molt_free). "<no format_state>" when the module has none.
 */
MOLT_API int molt_runtime_get_state(molt_runtime *rt, molt_pid pid, char **out,
				    uint32_t timeout_ms, molt_err *err);

/* --- upgrades: the script evaluator (docs/upgrades.md) --- */

typedef struct molt_eval_options {
	/* Where load_object_code {App, Vsn, [Mod]} finds Mod: the release
	 * layout LIB_DIR/App-Vsn/Mod.so. May be NULL. */
	const char *lib_dir;
	/* Extra directories tried first, each as DIR/App-Vsn/Mod.so, then
	 * DIR/Mod.so; NULL-terminated, may be NULL (tests use it). */
	const char *const *search_path;
	int dry_run;		  /* 1: check and plan only; nothing changes */
	uint32_t suspend_timeout; /* ms for suspend [M] without a timeout;
				     0 = 5000 */
	uint32_t code_change_timeout; /* ms to reach every process of one
					 code_change; 0 = 5000 */
	unsigned workers; /* threads for per-process steps; 0 = one per
			     scheduler (1 in deterministic mode) */
	/*
	 * The release handler's hooks (molt_runtime_install sets them; NULL
	 * for a bare eval). app_apply runs an apply of module "application"
	 * (start, stop, load, unload of an application: a relup's
	 * add_application, remove_application, restart_application) in its
	 * place in the script; without it such an apply is refused by the
	 * checks. at_commit runs once the script has committed, before the
	 * post-purges: the new code is current and the processes resumed.
	 */
	int (*app_apply)(void *payload, const char *fn, const char *args,
			 molt_err *err);
	void (*at_commit)(void *payload);
	/*
	 * The release handler's check of the files load_object_code opens
	 * (NULL: none, for a bare eval): put in *sum the sha256 (hex) that
	 * app.json gives module mod of application app-vsn, or fail when the
	 * release has no such module. The file is loaded (or, in a dry run,
	 * probed) only if it has that sum; otherwise the instruction fails
	 * naming the file, the expected and the found sum.
	 */
	int (*module_sum)(void *payload, const char *app, const char *vsn,
			  const char *mod, const char **sum, molt_err *err);
	void *payload; /* given to the three hooks */
} molt_eval_options;

#define MOLT_EVAL_OPTIONS_INIT                                                 \
	{                                                                      \
		NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL                 \
	}

/* One instruction as evaluated (or, in a dry run, planned). */
typedef struct molt_eval_step {
	unsigned index;	 /* position in the script, from 0 */
	char name[24];	 /* instruction name, e.g. "suspend" */
	char detail[96]; /* its modules, e.g. "counter" (may be cut) */
	uint64_t ns;	 /* wall time it took (0 in a dry run) */
	size_t procs;	 /* processes it touched (dry run: would touch) */
} molt_eval_step;

/* Old code left behind by load/remove (OTP's unpurged list). */
typedef struct molt_eval_unpurged {
	char module[64]; /* the module with old code still in use */
	int brutal;	 /* PostPurge brutal_purge: purge at make-permanent */
} molt_eval_unpurged;

/*
 * What an evaluation did. Fill with molt_runtime_eval, release with
 * molt_eval_report_release (also after an error: it holds the timings
 * and the failure).
 */
typedef struct molt_eval_report {
	int ok;		  /* 1: committed (or dry run passed) */
	int rolled_back;  /* 1: a failure after point_of_no_return undone */
	int failed_index; /* instruction that failed, or -1 */
	char failed_instr[24];	/* its name, or "" */
	char failed_module[64]; /* the module it failed on, or "" */
	molt_pid failed_pid;	/* the process it failed on, or 0 */
	molt_eval_step *steps;	/* n_steps instructions (owned) */
	size_t n_steps;		/* entries in steps */
	uint64_t total_ns;	/* wall time of the whole evaluation */
	uint64_t rollback_ns;	/* of which the rollback, if any */
	uint64_t commit_ns;	/* of which the commit: free old states, resume,
				   purge */
	size_t paused;		/* processes suspended then resumed */
	uint64_t pause_max_ns;	/* longest suspend-to-resume pause */
	uint64_t pause_p99_ns;	/* 99th percentile of those pauses */
	uint64_t pause_mean_ns; /* their mean */
	unsigned killed;	/* processes killed by purges */
	molt_eval_unpurged *unpurged; /* n_unpurged entries (owned) */
	size_t n_unpurged;	      /* entries in unpurged */
	molt_pid *planned; /* dry run: pids suspend would touch (owned) */
	size_t n_planned;  /* entries in planned */
} molt_eval_report;

/*
 * Evaluate a low-level upgrade script (molt/script.h; docs/upgrades.md).
 * Everything that can fail without side effects is checked first; after
 * point_of_no_return a failure rolls back: every process returns to its
 * old version and state, the old versions become current again, queued
 * messages are then handled by the old code. Returns MOLT_OK, or an error
 * whose message names the instruction, module and process (also in
 * *report). Borrows script (no pointer into it is kept). One evaluation
 * at a time; blocks the caller (never call from a callback). *report is
 * always filled: release it.
 */
MOLT_API int molt_runtime_eval_script(molt_runtime *rt,
				      const molt_script *script,
				      const molt_eval_options *opts,
				      molt_eval_report *report, molt_err *err);
/*
 * The same with the script's JSON form (script_json: a JSON array, one
 * instruction per element, mirroring OTP's terms): molt_script_parse,
 * then molt_runtime_eval_script. A script that does not parse fails
 * with the parser's error, and *report names the instruction.
 */
MOLT_API int molt_runtime_eval(molt_runtime *rt, const char *script_json,
			       const molt_eval_options *opts,
			       molt_eval_report *report, molt_err *err);
/* Free what a report owns and zero it. NULL is a no-op. */
MOLT_API void molt_eval_report_release(molt_eval_report *report);

/* --- the release handler (rel/): install, permanent, rollback --- */

typedef struct molt_install_options {
	int dry_run; /* 1: find the script, verify, check and plan only */
	uint32_t suspend_timeout;     /* as molt_eval_options */
	uint32_t code_change_timeout; /* as molt_eval_options */
} molt_install_options;

#define MOLT_INSTALL_OPTIONS_INIT                                              \
	{                                                                      \
		0, 0, 0                                                        \
	}

/* What an install did. Release with molt_install_report_release. */
typedef struct molt_install_report {
	char name[128];	       /* release name */
	char from[128];	       /* the release the node ran */
	char to[128];	       /* the release installed */
	int down;	       /* 1: the script is a "down" entry of from's
				  relup.json, else an "up" one of to's */
	int restart;	       /* 1: the script restarts the node into to
				  (restart_new_emulator / restart_emulator):
				  the caller must re-execute moltd with
				  --release to; no state is carried */
	int permanent;	       /* 1: to is the permanent release (a rollback):
				  it stays permanent */
	molt_eval_report eval; /* the evaluation (or its plan) */
	char warning[512];     /* after the commit: the first application or
				  supervisor that failed to change (the node
				  runs the new code; see the log), or "" */
} molt_install_report;

/*
 * Install release vsn of the root this node booted from (NULL: the
 * permanent release, which is a rollback), as OTP's
 * release_handler:install_release: under the root lock, find the script
 * (an "up" entry from the running release in releases/VSN/relup.json,
 * else a "down" entry to vsn in the running release's relup.json),
 * verify every file of vsn against its manifest, evaluate the script,
 * and on commit switch the application controller to vsn (applications,
 * versions, env) and write RELEASES.json: vsn becomes current (the
 * permanent release, installed again, stays permanent and the current
 * one becomes old). On any failure the node and RELEASES.json are as
 * they were. Errors: MOLT_ENOTFOUND (no such release, no script, no
 * release booted), MOLT_EEXISTS (vsn already runs), MOLT_EBUSY (another
 * install or an evaluation is running), MOLT_EUNSAFE (a file fails its
 * sum), else the evaluation's. *rep is always filled: release it.
 */
MOLT_API int molt_runtime_install(molt_runtime *rt, const char *vsn,
				  const molt_install_options *opts,
				  molt_install_report *rep, molt_err *err);
MOLT_API void molt_install_report_release(molt_install_report *rep);

/*
 * Make vsn, the release the node runs, permanent (the one it boots), as
 * OTP's make_permanent: the permanent release before it becomes old; old
 * code the last install left with PostPurge brutal_purge is purged now
 * (*killed, may be NULL, counts the processes that killed). A permanent
 * vsn is a no-op; an unpacked or old one is refused (MOLT_EINVAL).
 */
MOLT_API int molt_runtime_make_permanent(molt_runtime *rt, const char *vsn,
					 unsigned *killed, molt_err *err);

/* --- control socket (DIR/run/moltd.sock) --- */

typedef struct molt_ctl molt_ctl;

/*
 * Make root and root/run (mode 0700) where they are missing, and check
 * both: each must be a directory owned by this user that group and
 * others cannot write. No mode is ever changed. Returns MOLT_OK, or
 * MOLT_EUNSAFE with a message naming the path, its mode or owner and the
 * fix (MOLT_EIO if a directory cannot be made). molt_ctl_open calls it.
 */
MOLT_API int molt_ctl_prepare_root(const char *root, molt_err *err);

/*
 * Serve the control protocol (docs/control.md) for rt on a socket in
 * root/run/ on its own thread. on_stop (may be NULL) is called when a
 * client sends the stop op. The server is a client of this header only;
 * its owner (moltd's main.c) closes it before it shuts rt down. Returns
 * MOLT_OK and *out (owned: molt_ctl_close), or an error naming the path.
 */
MOLT_API int molt_ctl_open(molt_ctl **out, molt_runtime *rt, const char *root,
			   void (*on_stop)(void *payload), void *payload,
			   molt_err *err);
/* Stop the control thread, wait for its requests, remove the socket and
 * free ctl. NULL is a no-op. */
MOLT_API void molt_ctl_close(molt_ctl *ctl);
/*
 * 1 when an install asked the node to restart into a release (a relup's
 * restart_new_emulator / restart_emulator), with its version in vsn: the
 * caller stops the node and starts it again on that release (moltd
 * re-executes itself with --release VSN). 0 otherwise.
 */
MOLT_API int molt_ctl_restart_into(molt_ctl *ctl, char *vsn, size_t size);
/* An upgrade that pauses a process this long (ms; 0 = never) posts a
 * slow_upgrade event. Default 100. Call before clients connect. */
MOLT_API void molt_ctl_set_slow_upgrade_ms(molt_ctl *ctl, unsigned ms);

/* --- the metrics endpoint (docs/observability.md) --- */

typedef struct molt_metrics molt_metrics;

/*
 * Serve GET /metrics (the Prometheus text format) for rt on addr: "PORT"
 * (loopback), "ADDR:PORT" or "[ADDR6]:PORT", numeric addresses only; port
 * 0 picks a free one. The address bound is written to
 * root/run/metrics.addr (root may be NULL). One thread; each client is
 * bounded (request size, time, connections), so no client can hurt the
 * node. Returns MOLT_OK and *out (owned: molt_metrics_close), MOLT_EINVAL
 * for a bad addr, MOLT_EIO naming the address if it cannot be bound.
 */
MOLT_API int molt_metrics_open(molt_metrics **out, molt_runtime *rt,
			       const char *addr, const char *root,
			       molt_err *err);
/* Stop serving and free m. NULL is a no-op. */
MOLT_API void molt_metrics_close(molt_metrics *m);

#endif
