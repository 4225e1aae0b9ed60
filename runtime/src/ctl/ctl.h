/* The control socket: DIR/run/moltd.sock, one JSON object per line. */
#ifndef MOLT_RUNTIME_CTL_H
#define MOLT_RUNTIME_CTL_H

/*
 * One control thread polls the listening socket, its clients and a wake
 * pipe (ctl.c: transport, framing, replies, worker threads). A request
 * is parsed and looked up in the op table (ctl_ops.c): synchronous ops
 * answer at once; asynchronous ones (call) answer later from a
 * completion that another thread queues under mu and announces on the
 * wake pipe, so a slow process never blocks other clients; ops that may
 * block run on a worker thread. A client has at most one request in
 * progress; further lines wait, so replies keep request order. The ctl
 * object is reference-counted: pending completions keep it alive after
 * molt_ctl_close.
 *
 * Limits (docs/control.md): a client whose queued output reaches
 * MOLT__CTL_OUT_CAP gets no further line handled, and no more input
 * read, until it has read its replies (back-pressure: one reply may pass
 * the cap, none is dropped). A client with no request in progress that
 * makes no progress (reads nothing, sends nothing) for idle_ms is closed.
 * The last free slot takes only status and stop (op->reserved_ok), so
 * the owner can always see and stop the node; past it, a connection gets
 * one error line and is closed.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/un.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/runtime.h"

#define MOLT__CTL_MAX_CLIENTS 64
#define MOLT__CTL_OUT_CAP     (4u * 1024 * 1024) /* queued output, bytes */
#define MOLT__CTL_IDLE_MS     60000u /* default; $MOLT_CTL_IDLE_MS sets it */

typedef struct molt__ctl_client {
	int fd;		    /* connection, -1 if the slot is free */
	uint64_t id;	    /* unique, for late completions */
	molt_buf in;	    /* bytes read, not yet a full line */
	size_t seen;	    /* bytes of in known to hold no newline */
	molt_buf out;	    /* replies; out.ptr + sent is still to write */
	size_t sent;	    /* bytes of out already written */
	uint64_t active_ms; /* last read, write or reply (monotonic) */
	int pending;	    /* a request is in progress */
	int closing;	    /* close once out is flushed */
	int reserved;	    /* took the last slot: status and stop only */
} molt__ctl_client;

typedef struct molt__ctl_done {
	struct molt__ctl_done *next; /* list link */
	uint64_t client;	     /* whom it is for */
	char *line;		     /* reply line, owned */
} molt__ctl_done;

struct molt_ctl {
	molt_runtime *rt; /* the runtime */
	atomic_int refs;  /* thread + pending completions */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* socket */
	int lfd;			/* listening socket */
	int wake[2];			/* pipe: completions, stop */
	pthread_t thread;		/* the control thread */
	atomic_int stop;		/* ask the thread to end */
	void (*on_stop)(void *payload); /* the stop op */
	void *payload;			/* for on_stop */
	pthread_mutex_t mu;		/* guards done, closed */
	molt__ctl_done *done;		/* completed async replies */
	int closed;			/* no more deliveries */
	int jobs;			/* worker threads running (mu) */
	pthread_cond_t jobs_cv;		/* signalled when jobs drops */
	molt__ctl_client clients[MOLT__CTL_MAX_CLIENTS]; /* connections */
	uint64_t next_id;				 /* client ids */
	unsigned idle_ms;	    /* close clients idle this long */
	size_t out_max;		    /* most output queued for a client, ever */
	char root[4096];	    /* the node's root (upgrade history) */
	unsigned slow_upgrade_ms;   /* a pause this long is an event */
	pthread_mutex_t restart_mu; /* guards restart_into */
	char restart_into[128];	    /* a release to restart into, or "" */
};

/* A request being answered. */
typedef struct molt__ctl_req {
	molt_ctl *ctl;	   /* the server */
	uint64_t cid;	   /* the client's id (the client may go away) */
	const cJSON *json; /* the request object */
	cJSON *reply;	   /* reply object, "ok" already in it */
} molt__ctl_req;

/* An op returns this when it answers later, through molt__ctl_complete
 * (it holds a reference on ctl until then: atomic_fetch_add(&refs)). */
#define MOLT__CTL_PENDING 1

/*
 * The op table (ctl_ops.c). To add an op: write `static int op_x(
 * molt__ctl_req *r, molt_err *err)` that adds fields to r->reply and
 * returns MOLT_OK, a negative code with err set (fields it added go to
 * the error reply's "report"), or MOLT__CTL_PENDING.
 */
typedef struct molt__ctl_op {
	const char *name;			    /* "op" in the request */
	int (*fn)(molt__ctl_req *r, molt_err *err); /* fills r->reply */
	int threaded;				    /* may block: worker */
	int reserved_ok; /* served on the reserved slot */
} molt__ctl_op;

/* The op named name, or NULL. */
const molt__ctl_op *molt__ctl_find_op(const char *name);

/* Shared by ctl.c and ctl_ops.c. */
/* {"ok":false,"error":{"code":...,"message":msg}} (owned). */
cJSON *molt__ctl_error_obj(int code, const char *msg);
/* Queue reply o (taken) for client cid from any thread; drops one
 * reference on ctl. */
void molt__ctl_complete(molt_ctl *ctl, uint64_t cid, cJSON *o);
/* reply.modules as the modules op and top show them. */
void molt__ctl_add_modules(cJSON *reply, molt_runtime *rt);
/* One process as ps and top show it, appended to arr. */
void molt__ctl_add_proc(cJSON *arr, const molt_proc_info *pi);
/* o[k] if it is a string, else NULL. */
const char *molt__ctl_str_field(const cJSON *o, const char *k);

/*
 * The control op "eval" (ctl_eval.c): req {"op":"eval","script":[...],
 * "dry_run":bool,"lib_dir":"...","path":["dir",...],"suspend_timeout":ms}
 * fills reply with the report (docs/upgrades.md). The script is parsed
 * here (molt_script_parse) and evaluated typed. Returns MOLT_OK or the
 * evaluation's error, whose message names instruction, module and pid
 * (ctl.c answers an error with that message only).
 */
int molt__ctl_eval(molt_runtime *rt, const cJSON *req, cJSON *reply,
		   molt_err *err);

/*
 * The release handler's ops (ctl_eval.c), each a worker-thread op:
 * install {"vsn":V,"dry_run":bool,"suspend_timeout":ms} and rollback
 * {"dry_run":bool} reply with "release", "from", "to", "direction",
 * "restart" and eval's report; permanent {"vsn":V} with "vsn" and
 * "killed" (processes the brutal purges killed).
 */
int molt__ctl_install(molt_runtime *rt, const cJSON *req, cJSON *reply,
		      molt_err *err);
int molt__ctl_rollback(molt_runtime *rt, const cJSON *req, cJSON *reply,
		       molt_err *err);
int molt__ctl_permanent(molt_runtime *rt, const cJSON *req, cJSON *reply,
			molt_err *err);

/*
 * The observability ops (ctl_obs.c, docs/observability.md): top
 * {"sort","limit"} (a worker op: one scan of the process table), metrics
 * (a worker op: {"text"}), events {"since"}.
 */
int molt__ctl_op_top(molt__ctl_req *r, molt_err *err);
int molt__ctl_op_metrics(molt__ctl_req *r, molt_err *err);
int molt__ctl_op_events(molt__ctl_req *r, molt_err *err);
/* trace {"to"|"module","limit","rate","seconds"} (a worker op: it scans
 * the table once), trace_read {"since"}, trace_stop. */
int molt__ctl_op_trace(molt__ctl_req *r, molt_err *err);
int molt__ctl_op_trace_read(molt__ctl_req *r, molt_err *err);
int molt__ctl_op_trace_stop(molt__ctl_req *r, molt_err *err);
/* The node's metrics in the Prometheus text format, appended to b.
 * MOLT_ENOMEM. Any thread but a scheduler's (it scans the table). */
int molt__ctl_metrics_text(molt_runtime *rt, molt_buf *b);
/* An install, rollback or eval (op) ran with req and answered reply and
 * rc (err): count it, post a slow_upgrade event if it paused a process
 * past slow_upgrade_ms, and append it to ROOT/log/upgrades.jsonl. Dry
 * runs are not recorded. */
void molt__ctl_upgrade_done(molt_ctl *ctl, const char *op, const cJSON *req,
			    const cJSON *reply, int rc, const molt_err *err);

#endif
