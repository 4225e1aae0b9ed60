/* Processes: the struct, spawn, delivery, dispatch, exit, system requests. */
#ifndef MOLT_RUNTIME_PROC_H
#define MOLT_RUNTIME_PROC_H

/*
 * A process is a slot in the table (see rt.h) with a mailbox of ordinary
 * messages and a signal queue (exit signals, system requests). Fields
 * marked (L) are guarded by lock; the others belong to whoever has the
 * process in state RUNNING (one scheduler, or the spawner during init).
 *
 * status: FREE -> RUNNING (init) -> IDLE <-> QUEUED <-> RUNNING ->
 * EXITING (pid 0, resources being released) -> FREE (on the free list).
 * A delivery to an IDLE process makes it QUEUED and pushes it on a run
 * queue; to a QUEUED or RUNNING one it only appends (the scheduler looks
 * again before it lets go). A suspended process is made runnable only by
 * signals, never by ordinary messages.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"
#include "molt/runtime.h"

#include "mailbox.h"
#include "rt.h"
#include "version.h"

enum molt__pstatus {
	MOLT__P_FREE = 0,
	MOLT__P_IDLE = 1,
	MOLT__P_QUEUED = 2,
	MOLT__P_RUNNING = 3,
	MOLT__P_EXITING = 4, /* pid cleared, the slot not yet released */
};

/*
 * Process flags. SUSPENDED is changed and tested for decisions only under
 * the lock (delivery, the end of a turn). The others belong to whoever
 * has the process RUNNING, which reads them between callbacks without
 * the lock; `ps` reads them from other threads. So the byte is atomic
 * (relaxed: the lock orders what needs ordering) and is only touched
 * through molt__pf_has/_set/_clear.
 */
#define MOLT__PF_SUSPENDED 0x01u /* (L) ordinary messages wait */
#define MOLT__PF_TRAP	   0x02u /* trap_exit is on */
#define MOLT__PF_EXITING   0x04u /* a callback asked to stop */
#define MOLT__PF_NOMOVE	   0x08u /* lazy move to current failed once */
#define MOLT__PF_NOMEM	   0x10u /* the exit reason could not be copied */
#define MOLT__PF_TIMERS	   0x20u /* it armed timers: cancel them at exit */
#define MOLT__PF_NONAME                                                        \
	0x40u /* exit began: no name (set, tested under                        \
	       * the registry lock) */
#define MOLT__PF_NOSOCK                                                        \
	0x80u /* exit began: it takes no more sockets (set,                    \
	       * tested under the lock: sock.c) */

/* The exit reason when copying the real one failed: static, never freed
 * (stop_reason stays NULL and MOLT__PF_NOMEM says why). */
#define MOLT__REASON_NOMEM "error: out of memory"

/* A process's index of its links (proc.c): monitors by ref, links by
 * pid, chained through molt__link.hnext. */
typedef struct molt__lidx {
	uint32_t n;		   /* entries in the process's list */
	uint32_t cap;		   /* slots (2^k) */
	struct molt__link *slot[]; /* chains */
} molt__lidx;

/* A link or monitor, in a process's list (L). */
typedef struct molt__link {
	struct molt__link *next;  /* list link */
	struct molt__link *prev;  /* list link back (O(1) removal) */
	struct molt__link *hnext; /* chain in the process's link index */
	molt_pid pid;		  /* the other process */
	molt_ref ref;		  /* monitor reference, 0 for a link */
	int kind;		  /* MOLT__LK_* */
} molt__link;

enum {
	MOLT__LK_LINK = 1,    /* a bidirectional link */
	MOLT__LK_MON_OUT = 2, /* this process monitors pid */
	MOLT__LK_MON_IN = 3,  /* pid monitors this process */
};

/* A block from molt_proc_alloc: this header, then the user's bytes. */
typedef struct molt__hblock {
	struct molt__hblock *prev, *next; /* the process's block list */
	size_t size;			  /* user bytes */
	size_t pad;			  /* keeps user data 16-aligned */
} molt__hblock;

typedef struct molt_proc {
	molt__spin lock;	    /* guards the (L) fields */
	uint8_t status;		    /* (L) enum molt__pstatus */
	_Atomic uint8_t flags;	    /* MOLT__PF_*: see above */
	_Atomic uint8_t mon;	    /* MOLT__MON_*: episodes reported */
	uint8_t spare;		    /* unused */
	uint32_t gen;		    /* (L) generation of this slot */
	uint32_t free_next;	    /* free list: next free slot + 1 */
	molt_pid pid;		    /* (L) 0 while the slot is free */
	molt_pid parent;	    /* spawner, or 0 */
	struct molt_proc *next_run; /* run queue link (queue lock) */
	molt__mqueue mbox;	    /* (L) ordinary messages */
	molt__mqueue sig;	    /* (L) signals and system requests */
	molt__version *ver;	    /* the version it runs */
	void *state;		    /* its module state */
	molt__version *prev_ver;    /* before an uncommitted change_code */
	void *prev_state;	    /* state before that change_code */
	molt__hblock *heap;	    /* molt_proc_alloc blocks */
	_Atomic size_t heap_bytes;  /* bytes in them; relaxed: ps reads it */
	molt__link *links;	    /* (L) links and monitors */
	struct molt__sock *socks;   /* (L) the sockets it owns (sock.c) */
	struct molt__lidx *lidx;    /* (L) index of links, NULL while small */
	char *name;		    /* registered name (registry lock) */
	char *stop_reason;	    /* set by molt_stop/molt_crash */
	_Atomic uint64_t
		reductions;	    /* messages handled; relaxed: ps reads it */
	uint32_t mbox_hw;	    /* (L) most messages ever in mbox */
	uint32_t mbox_next;	    /* (L) delivery looks again at this
				     * length: mbox_hw + 1, or long_queue */
	_Atomic uint64_t cb_ns;	    /* callback time, estimated from sampled
				     * turns (sched.c); relaxed */
	_Atomic uint64_t cb_max_ns; /* longest callback seen; relaxed */
	_Atomic uint64_t cb_samples; /* timed turns behind cb_ns; relaxed */
} molt_proc;

/* System monitor episodes (molt_proc.mon): set when the event is posted,
 * cleared when the condition is over, so each episode is posted once. */
#define MOLT__MON_QUEUE 0x01u /* the mailbox reached opts.long_queue */
#define MOLT__MON_HEAP	0x02u /* the heap reached opts.large_heap */

static inline int molt__pf_has(const molt_proc *p, unsigned f)
{
	return (atomic_load_explicit(&p->flags, memory_order_relaxed) & f) != 0;
}

static inline void molt__pf_set(molt_proc *p, unsigned f)
{
	atomic_fetch_or_explicit(&p->flags, (uint8_t)f, memory_order_relaxed);
}

static inline void molt__pf_clear(molt_proc *p, unsigned f)
{
	atomic_fetch_and_explicit(&p->flags, (uint8_t)~f, memory_order_relaxed);
}

/* What a callback's molt_ctx points at. */
struct molt_ctx {
	molt_runtime *rt;   /* the runtime */
	molt_proc *p;	    /* the running process, or NULL (exports) */
	molt__version *ver; /* the version whose code runs */
	int traced;	    /* 1 in a traced callback (trace.c) */
};

/* Slot of pid, or NULL (never freed; compare p->pid under lock). */
molt_proc *molt__proc_slot(molt_runtime *rt, molt_pid pid);
/* Slot at index idx (for scans), or NULL past the high water mark. */
molt_proc *molt__proc_at(molt_runtime *rt, uint32_t idx);

/*
 * Spawn on ver (borrowed; the process takes its own reference), linked
 * to link_to if not 0, and run init. Returns MOLT_OK and *out, or an
 * error with the crash reason in err.
 */
int molt__proc_spawn(molt_runtime *rt, molt_pid *out, molt__version *ver,
		     const void *args, size_t len, molt_pid parent,
		     molt_pid link_to, molt_err *err);

/*
 * Append m (taken) to pid's mailbox (sig = 0) or signal queue (sig = 1).
 * MOLT_ECLOSED (m freed) if pid is dead.
 */
int molt__proc_deliver(molt_runtime *rt, molt_pid pid, molt__msg *m, int sig);
/* Build and deliver an ordinary message. */
int molt__proc_send(molt_runtime *rt, molt_pid to, int kind, molt_pid from,
		    molt_ref ref, const void *data, size_t len,
		    const char *reason);
/* Send an exit signal. */
int molt__proc_signal_exit(molt_runtime *rt, molt_pid to, molt_pid from,
			   const char *reason, unsigned flags);

/* Run p for one turn (called by a scheduler; p is QUEUED). Returns the
 * number of messages handled. */
unsigned molt__proc_run(molt_runtime *rt, molt_proc *p);

/*
 * Let go of a process the caller owns (after init or a turn, or a claim
 * by the upgrade engine): with resume, clear SUSPENDED first; then queue
 * it again if work waits (signals, or messages unless suspended), else
 * make it idle.
 */
void molt__proc_let_go(molt_runtime *rt, molt_proc *p, int resume);

/* Has pid's exit completed (its slot released, so a waiter may rely on
 * everything being freed)? 1 also for a pid that never existed. */
int molt__proc_exit_done(molt_runtime *rt, molt_pid pid);

/*
 * The one way a process changes version (the rule in version.h). The
 * caller owns p's turn (its scheduler runs it, or the caller claimed it)
 * and has taken one reference and one process count on nv for p
 * (molt__vtally_take); p then runs nv with state ns, both stored under
 * p's lock so that an inspector never sees one without the other.
 *
 * MOLT__MOVE_KEEP: the version and state p leaves become p->prev_ver and
 * p->prev_state (an uncommitted change: p must have none), until
 * molt__proc_move_commit or molt__proc_move_revert.
 * MOLT__MOVE_NOW: the state p leaves is freed by the version p leaves
 * (unless ns is that same state), then that version's reference and
 * process count are dropped through t (NULL: at once).
 */
enum { MOLT__MOVE_NOW = 0, MOLT__MOVE_KEEP = 1 };
void molt__proc_move(molt_runtime *rt, molt_proc *p, molt__version *nv,
		     void *ns, int mode, molt__vtally *t);
/* Commit p's uncommitted change: its previous state is freed by its
 * previous version, whose reference is dropped through t. No-op if none. */
void molt__proc_move_commit(molt_runtime *rt, molt_proc *p, molt__vtally *t);
/* Undo it: back to the previous version and state; the new state is freed
 * by the new version, whose reference and count are dropped through t.
 * No-op if none. */
void molt__proc_move_revert(molt_runtime *rt, molt_proc *p, molt__vtally *t);

/* Clear a stop requested by a callback whose failure is reported
 * otherwise (a failed code_change): the process lives on. Returns its
 * reason, copied into why. */
const char *molt__proc_unstop(molt_proc *p, char *why, size_t size);

/* A timed turn of p (pid then) took ns for n messages: add the estimate
 * to p's callback time and max, if p is still pid (sched.c). */
void molt__proc_account(molt_runtime *rt, molt_proc *p, molt_pid pid,
			uint64_t ns, unsigned n);
/* If pid's long_queue episode is over (its queue is under half the
 * threshold) end it; 1 if it ended or pid is gone, 0 if it goes on. */
int molt__proc_queue_calm(molt_runtime *rt, molt_pid pid);
/* pid's current callback has run ns so far (the watchdog): its max. */
void molt__proc_note_running(molt_runtime *rt, molt_pid pid, uint64_t ns);
/* p's heap grew to bytes (the owner, after an allocation): post a
 * large_heap event once per episode. */
void molt__proc_heap_check(molt_runtime *rt, molt_proc *p, size_t bytes);

/* Snapshot of a live process (takes its lock). MOLT_ENOTFOUND if dead. */
int molt__proc_info(molt_runtime *rt, molt_proc *p, molt_pid pid,
		    molt_proc_info *out);

/* --- requests run on a process between two callbacks --- */

/*
 * A request that a process runs in its own turn, between two callbacks,
 * even while it is suspended (it travels as a signal). The layer that
 * posts it embeds this struct: run is called by the process's scheduler
 * (the process is then the caller's to move or inspect), or abandon if
 * the process exits first. Exactly one of them is called, once.
 */
typedef struct molt__sysfn {
	void (*run)(molt_runtime *rt, molt_proc *p, struct molt__sysfn *fn);
	void (*abandon)(struct molt__sysfn *fn);
} molt__sysfn;

/* Queue fn for pid. MOLT_ECLOSED if pid is dead or MOLT_ENOMEM: then
 * neither function is called and fn is the caller's. */
int molt__proc_post(molt_runtime *rt, molt_pid pid, molt__sysfn *fn);

/* Outside callers (runtime.c). */
typedef struct molt__ext {
	struct molt__ext *next;	  /* chain in the hash by ref */
	struct molt__ext *tnext;  /* chain in the hash by callee */
	struct molt__ext **tprev; /* what points at this one there */
	molt_ref ref;		  /* the call's reference */
	molt_pid to;		  /* the callee */
	molt_call_cb cb;	  /* completion */
	void *payload;		  /* for cb */
} molt__ext;

typedef struct molt__exitw {
	struct molt__exitw *next; /* list link */
	molt_pid pid;		  /* watched */
	int done;		  /* it exited */
	char reason[128];	  /* its exit reason */
} molt__exitw;

/* A reply to an outside caller (from.pid == 0). */
void molt__ext_reply(molt_runtime *rt, molt_ref ref, const void *data,
		     size_t len);
/* pid exited: fail its outside callers, wake its waiters. */
void molt__ext_exited(molt_runtime *rt, molt_pid pid, const char *reason);

/* Registry. */
int molt__reg_add(molt_runtime *rt, molt_proc *p, const char *name);
/* p's exit begins: drop its name, and refuse names for it from now on. */
void molt__reg_remove(molt_runtime *rt, molt_proc *p);
molt_pid molt__reg_find(molt_runtime *rt, const char *name);
/* Register another (live) process: MOLT_EEXISTS, MOLT_ENOTFOUND. */
int molt__reg_add_pid(molt_runtime *rt, molt_pid pid, const char *name);

/* Ask the running p to exit with reason (borrowed; copied), unless it is
 * exiting already. Out of memory, the exit is still abnormal: its reason
 * becomes MOLT__REASON_NOMEM. The caller owns p's turn. */
void molt__proc_set_exiting(molt_proc *p, const char *reason);

/* Is reason a normal exit ("normal", "shutdown", "shutdown:...")? */
int molt__reason_normal(const char *reason);

#endif
