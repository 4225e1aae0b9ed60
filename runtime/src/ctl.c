/* The control server: socket setup, peer check, the poll loop, the ops. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "rt.h"

#include "molt/banned.h"

#define MAX_CLIENTS	     64
#define MAX_LINE	     (64 * 1024)
#define MAX_BUFFERED	     (1024 * 1024) /* unparsed input per client */
#define CALL_TIMEOUT_DEFAULT 5000u
#define CALL_TIMEOUT_MAX     600000u

typedef struct client {
	int fd;	      /* connection, -1 if the slot is free */
	uint64_t id;  /* unique, for late completions */
	molt_buf in;  /* bytes read, not yet a full line */
	molt_buf out; /* bytes to write */
	int pending;  /* a request is in progress */
	int closing;  /* close once out is flushed */
} client;

typedef struct done {
	struct done *next; /* list link */
	uint64_t client;   /* whom it is for */
	char *line;	   /* reply line, owned */
} done;

struct molt__ctl {
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
	done *done;			/* completed async replies */
	int closed;			/* no more deliveries */
	int jobs;			/* worker threads running (mu) */
	pthread_cond_t jobs_cv;		/* signalled when jobs drops */
	client clients[MAX_CLIENTS];	/* connections */
	uint64_t next_id;		/* client ids */
};

typedef struct molt__ctl molt__ctl;

/* A request being answered. */
typedef struct req {
	molt__ctl *ctl;	   /* the server */
	uint64_t cid;	   /* the client's id (the client may go away) */
	const cJSON *json; /* the request object */
	cJSON *reply;	   /* reply object, "ok" already in it */
} req;

#define PENDING 1 /* an op returns this when it answers later */

static void ctl_unref(molt__ctl *ctl)
{
	if (atomic_fetch_sub(&ctl->refs, 1) != 1)
		return;
	while (ctl->done) {
		done *d = ctl->done;

		ctl->done = d->next;
		molt_free(d->line);
		molt_free(d);
	}
	pthread_mutex_destroy(&ctl->mu);
	pthread_cond_destroy(&ctl->jobs_cv);
	molt_free(ctl);
}

/* --- replies --- */

static char *json_line(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	char *line;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	line = molt_malloc(n + 2);
	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	cJSON_free(s);
	return line;
}

static cJSON *error_obj(int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e;

	cJSON_AddFalseToObject(o, "ok");
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", molt_status_name(code));
	cJSON_AddStringToObject(e, "message", msg);
	return o;
}

static void queue_obj(client *c, cJSON *o)
{
	char *line = o ? json_line(o) : NULL;

	if (!line || molt_buf_puts(&c->out, line) < 0)
		c->closing = 1; /* out of memory: drop the client */
	molt_free(line);
	cJSON_Delete(o);
}

static void queue_error(client *c, int code, const char *msg)
{
	queue_obj(c, error_obj(code, msg));
}

/* An async completion from any thread: queue the line for the client. */
static void complete(molt__ctl *ctl, uint64_t cid, cJSON *o)
{
	done *d = molt_malloc(sizeof(*d));
	char *line = json_line(o);

	cJSON_Delete(o);
	pthread_mutex_lock(&ctl->mu);
	if (d && line && !ctl->closed) {
		d->client = cid;
		d->line = line;
		d->next = ctl->done;
		ctl->done = d;
		d = NULL;
		line = NULL;
		if (write(ctl->wake[1], "x", 1) < 0)
			(void)0; /* the pipe is full: a wake-up is pending */
	}
	pthread_mutex_unlock(&ctl->mu);
	molt_free(d);
	molt_free(line);
	ctl_unref(ctl);
}

/* --- ops --- */

static const char *str_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int op_status(req *r, molt_err *err)
{
	molt_runtime_stats st;

	(void)err;
	molt_runtime_get_stats(r->ctl->rt, &st);
	cJSON_AddNumberToObject(r->reply, "pid", (double)getpid());
	cJSON_AddNumberToObject(r->reply, "uptime_ms", (double)st.uptime_ms);
	cJSON_AddNumberToObject(r->reply, "processes", (double)st.processes);
	cJSON_AddNumberToObject(r->reply, "modules", (double)st.modules);
	cJSON_AddNumberToObject(r->reply, "schedulers", st.schedulers);
	cJSON_AddBoolToObject(r->reply, "deterministic", st.deterministic);
	cJSON_AddNumberToObject(r->reply, "spawned", (double)st.spawned);
	cJSON_AddNumberToObject(r->reply, "messages", (double)st.messages);
	return MOLT_OK;
}

static void add_proc(cJSON *arr, const molt_proc_info *pi)
{
	cJSON *o = cJSON_CreateObject();
	char pb[32];

	cJSON_AddStringToObject(o, "pid", molt_pid_format(pi->pid, pb, 32));
	cJSON_AddStringToObject(o, "name", pi->name);
	cJSON_AddStringToObject(o, "module", pi->module);
	cJSON_AddStringToObject(o, "vsn", pi->vsn);
	cJSON_AddBoolToObject(o, "old_code", pi->old_code);
	cJSON_AddBoolToObject(o, "suspended", pi->suspended);
	cJSON_AddNumberToObject(o, "queue", (double)pi->queue_len);
	cJSON_AddNumberToObject(o, "heap_bytes", (double)pi->heap_bytes);
	cJSON_AddNumberToObject(o, "reductions", (double)pi->reductions);
	cJSON_AddItemToArray(arr, o);
}

static int op_ps(req *r, molt_err *err)
{
	size_t n = molt_runtime_processes(r->ctl->rt, NULL, 0), cap = n + 64;
	molt_proc_info *pis = molt_calloc(cap, sizeof(*pis));
	cJSON *arr;

	if (!pis)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	n = molt_runtime_processes(r->ctl->rt, pis, cap);
	arr = cJSON_AddArrayToObject(r->reply, "processes");
	for (size_t i = 0; i < n && i < cap; i++)
		add_proc(arr, &pis[i]);
	molt_free(pis);
	return MOLT_OK;
}

static int target(req *r, molt_pid *out, molt_err *err)
{
	const char *to = str_field(r->json, "to");

	if (!to)
		return molt_err_set(err, MOLT_EINVAL,
				    "request needs \"to\": a name or pid");
	*out = molt_runtime_resolve(r->ctl->rt, to);
	if (!*out || !molt_runtime_alive(r->ctl->rt, *out))
		return molt_err_set(err, MOLT_ENOTFOUND, "no process '%s'", to);
	return MOLT_OK;
}

typedef struct call_ctx {
	molt__ctl *ctl; /* referenced */
	uint64_t cid;	/* the client */
	uint32_t ms;	/* timeout, for the message */
} call_ctx;

static void call_cb(int status, const void *data, size_t len, void *payload)
{
	call_ctx *cc = payload;
	cJSON *o;

	if (status == MOLT_OK) {
		char *s = molt_strndup(data ? data : "", len);

		o = cJSON_CreateObject();
		cJSON_AddTrueToObject(o, "ok");
		cJSON_AddStringToObject(o, "reply", s ? s : "");
		molt_free(s);
	} else if (status == MOLT_ETIMEOUT) {
		char msg[64];

		snprintf(msg, sizeof(msg), "call timed out after %u ms",
			 cc->ms);
		o = error_obj(status, msg);
	} else {
		o = error_obj(status, "process exited before replying");
	}
	complete(cc->ctl, cc->cid, o);
	molt_free(cc);
}

static int op_call(req *r, molt_err *err)
{
	const cJSON *tmo = cJSON_GetObjectItem(r->json, "timeout");
	const char *payload = str_field(r->json, "payload");
	call_ctx *cc;
	molt_pid pid;
	int rc;

	if ((rc = target(r, &pid, err)) < 0)
		return rc;
	cc = molt_malloc(sizeof(*cc));
	if (!cc)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	cc->ctl = r->ctl;
	cc->cid = r->cid;
	cc->ms = CALL_TIMEOUT_DEFAULT;
	if (cJSON_IsNumber(tmo) && tmo->valuedouble >= 1)
		cc->ms = tmo->valuedouble > CALL_TIMEOUT_MAX
				 ? CALL_TIMEOUT_MAX
				 : (uint32_t)tmo->valuedouble;
	payload = payload ? payload : "";
	atomic_fetch_add(&r->ctl->refs, 1);
	rc = molt_runtime_call_async(r->ctl->rt, pid, payload, strlen(payload),
				     cc->ms, call_cb, cc, err);
	if (rc < 0) {
		atomic_fetch_sub(&r->ctl->refs, 1);
		molt_free(cc);
		return rc;
	}
	return PENDING;
}

static int op_cast(req *r, molt_err *err)
{
	const char *payload = str_field(r->json, "payload");
	molt_pid pid;
	int rc;

	if ((rc = target(r, &pid, err)) < 0)
		return rc;
	payload = payload ? payload : "";
	rc = molt_runtime_cast(r->ctl->rt, pid, payload, strlen(payload));
	return rc < 0 ? molt_err_set(err, rc, "cast failed: process exited")
		      : MOLT_OK;
}

static int op_stop(req *r, molt_err *err)
{
	(void)err;
	if (r->ctl->on_stop)
		r->ctl->on_stop(r->ctl->payload);
	return MOLT_OK;
}

static int op_modules(req *r, molt_err *err)
{
	molt_module_info mi[256];
	size_t n = molt_runtime_modules(r->ctl->rt, mi, 256);
	cJSON *arr = cJSON_AddArrayToObject(r->reply, "modules");

	(void)err;
	for (size_t i = 0; i < n && i < 256; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", mi[i].name);
		cJSON_AddStringToObject(o, "current", mi[i].current_vsn);
		cJSON_AddStringToObject(o, "old", mi[i].old_vsn);
		cJSON_AddNumberToObject(o, "current_procs",
					mi[i].current_procs);
		cJSON_AddNumberToObject(o, "old_procs", mi[i].old_procs);
		cJSON_AddStringToObject(o, "path", mi[i].current_path);
		cJSON_AddBoolToObject(o, "builtin", mi[i].builtin);
		cJSON_AddItemToArray(arr, o);
	}
	return MOLT_OK;
}

static int op_load(req *r, molt_err *err)
{
	const char *path = str_field(r->json, "path");
	const cJSON *force = cJSON_GetObjectItem(r->json, "force");
	char name[64];
	int rc;

	if (!path)
		return molt_err_set(err, MOLT_EINVAL, "load needs \"path\"");
	rc = molt_runtime_load(r->ctl->rt, path, str_field(r->json, "module"),
			       cJSON_IsTrue(force) ? MOLT_LOAD_FORCE : 0, name,
			       sizeof(name), err);
	if (rc == MOLT_OK) {
		cJSON_AddStringToObject(r->reply, "module", name);
		molt_log(MOLT_LOG_INFO, "ctl", "loaded module '%s' from %s",
			 name, path);
	}
	return rc;
}

static const char *need_module(req *r, molt_err *err)
{
	const char *m = str_field(r->json, "module");

	if (!m)
		molt_err_set(err, MOLT_EINVAL, "request needs \"module\"");
	return m;
}

static int op_purge(req *r, molt_err *err)
{
	const char *m = need_module(r, err);
	unsigned killed = 0;
	int rc;

	if (!m)
		return MOLT_EINVAL;
	rc = molt_runtime_purge(r->ctl->rt, m, &killed, err);
	if (rc == MOLT_OK)
		cJSON_AddNumberToObject(r->reply, "killed", killed);
	return rc;
}

static int op_soft_purge(req *r, molt_err *err)
{
	const char *m = need_module(r, err);

	return m ? molt_runtime_soft_purge(r->ctl->rt, m, err) : MOLT_EINVAL;
}

static int op_delete(req *r, molt_err *err)
{
	const char *m = need_module(r, err);

	return m ? molt_runtime_delete(r->ctl->rt, m, err) : MOLT_EINVAL;
}

static int op_get_state(req *r, molt_err *err)
{
	molt_pid pid;
	char *text = NULL;
	int rc;

	if ((rc = target(r, &pid, err)) < 0)
		return rc;
	rc = molt_runtime_get_state(r->ctl->rt, pid, &text, 5000, err);
	if (rc == MOLT_OK)
		cJSON_AddStringToObject(r->reply, "state", text);
	molt_free(text);
	return rc;
}

/*
 * The op table. To add an op: write `static int op_x(req *r, molt_err
 * *err)` that adds fields to r->reply and returns MOLT_OK, a negative
 * code with err set, or PENDING after arranging a later complete().
 */
static const struct op {
	const char *name;		  /* "op" in the request */
	int (*fn)(req *r, molt_err *err); /* fills r->reply */
	int threaded;			  /* may block: run on a worker */
} ops[] = {
	{"status", op_status, 0},
	{"ps", op_ps, 0},
	{"call", op_call, 0},
	{"cast", op_cast, 0},
	{"stop", op_stop, 0},
	{"modules", op_modules, 0},
	{"load", op_load, 1},
	{"purge", op_purge, 0},
	{"soft_purge", op_soft_purge, 0},
	{"delete", op_delete, 0},
	{"get_state", op_get_state, 1},
};

/* Run an op and turn its result into the reply object. */
static cJSON *run_op(const struct op *op, req *r)
{
	molt_err err = MOLT_ERR_INIT;
	int rc = op->fn(r, &err);

	if (rc == PENDING) {
		cJSON_Delete(r->reply); /* the answer comes from complete() */
		return NULL;
	}
	if (rc < 0) {
		cJSON_Delete(r->reply);
		return error_obj(rc, err.msg[0] ? err.msg : "operation failed");
	}
	return r->reply;
}

typedef struct job {
	const struct op *op; /* what to run */
	req r;		     /* its request (json owned) */
} job;

static void *job_main(void *arg)
{
	job *jb = arg;
	molt__ctl *ctl = jb->r.ctl;
	uint64_t cid = jb->r.cid;
	cJSON *reply = run_op(jb->op, &jb->r);

	cJSON_Delete((cJSON *)jb->r.json);
	molt_free(jb);
	pthread_mutex_lock(&ctl->mu);
	ctl->jobs--; /* done with the runtime */
	pthread_cond_broadcast(&ctl->jobs_cv);
	pthread_mutex_unlock(&ctl->mu);
	complete(ctl, cid, reply); /* drops the job's reference */
	return NULL;
}

/* Start op on a detached worker thread; takes r->json on success. */
static int start_job(const struct op *op, req *r, molt_err *err)
{
	job *jb = molt_malloc(sizeof(*jb));
	pthread_attr_t at;
	pthread_t th;
	int rc;

	if (!jb)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	jb->op = op;
	jb->r = *r;
	atomic_fetch_add(&r->ctl->refs, 1);
	pthread_mutex_lock(&r->ctl->mu);
	r->ctl->jobs++;
	pthread_mutex_unlock(&r->ctl->mu);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, job_main, jb);
	pthread_attr_destroy(&at);
	if (rc == 0)
		return PENDING;
	pthread_mutex_lock(&r->ctl->mu);
	r->ctl->jobs--;
	pthread_mutex_unlock(&r->ctl->mu);
	atomic_fetch_sub(&r->ctl->refs, 1);
	molt_free(jb);
	return molt_err_set(err, MOLT_EIO, "cannot start a worker thread");
}

static const struct op *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

static void handle_line(molt__ctl *ctl, client *c, const char *line, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	req r = {ctl, c->id, j, NULL};
	molt_err err = MOLT_ERR_INIT;
	const struct op *op;
	const char *opname;
	cJSON *reply;
	int rc;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		queue_error(c, MOLT_EPARSE, "request is not a JSON object");
		return;
	}
	if (!(opname = str_field(j, "op"))) {
		cJSON_Delete(j);
		queue_error(c, MOLT_EINVAL, "request has no \"op\" string");
		return;
	}
	if (!(op = find_op(opname))) {
		molt_err_set(&err, MOLT_ENOTFOUND, "unknown op '%.64s'",
			     opname);
		cJSON_Delete(j);
		queue_error(c, err.code, err.msg);
		return;
	}
	r.reply = cJSON_CreateObject();
	cJSON_AddTrueToObject(r.reply, "ok"); /* first, for readers' eyes */
	if (op->threaded) {
		rc = start_job(op, &r, &err);
		if (rc == PENDING) {
			c->pending = 1; /* the job owns j and the reply now */
			return;
		}
		cJSON_Delete(r.reply);
		cJSON_Delete(j);
		queue_error(c, rc, err.msg);
		return;
	}
	reply = run_op(op, &r);
	cJSON_Delete(j);
	if (reply)
		queue_obj(c, reply);
	else
		c->pending = 1;
}

/* --- connections --- */

static void client_close(client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	molt_buf_release(&c->in);
	molt_buf_release(&c->out);
	c->fd = -1;
	c->pending = 0;
	c->closing = 0;
}

/* Handle complete lines while no request is in progress. */
static void process_input(molt__ctl *ctl, client *c)
{
	while (!c->pending && !c->closing) {
		char *nl = memchr(c->in.ptr, '\n', c->in.len);
		size_t n;

		if (!nl) {
			if (c->in.len > MAX_LINE) {
				queue_error(c, MOLT_EUNSAFE,
					    "request line longer than 65536 "
					    "bytes");
				c->closing = 1;
			}
			return;
		}
		n = (size_t)(nl - c->in.ptr);
		if (n > MAX_LINE) {
			queue_error(c, MOLT_EUNSAFE,
				    "request line longer than 65536 bytes");
			c->closing = 1;
			return;
		}
		handle_line(ctl, c, c->in.ptr, n);
		memmove(c->in.ptr, nl + 1, c->in.len - n - 1);
		c->in.len -= n + 1;
		c->in.ptr[c->in.len] = '\0';
	}
}

static void client_read(molt__ctl *ctl, client *c)
{
	char buf[8192];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_close(c); /* a pending reply is dropped on arrival */
		return;
	}
	if (n < 0)
		return;
	if (c->in.len + (size_t)n > MAX_BUFFERED ||
	    c->out.len > MAX_BUFFERED * 16) {
		/* pipelining faster than we answer, or not reading replies */
		queue_error(c, MOLT_EUNSAFE, "too much unanswered input");
		c->closing = 1;
		return;
	}
	if (molt_buf_put(&c->in, buf, (size_t)n) < 0) {
		client_close(c);
		return;
	}
	process_input(ctl, c);
}

static void client_write(client *c)
{
	ssize_t n;

	if (!c->out.len)
		return;
	n = send(c->fd, c->out.ptr, c->out.len, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(c);
		return;
	}
	memmove(c->out.ptr, c->out.ptr + n, c->out.len - (size_t)n);
	c->out.len -= (size_t)n;
	c->out.ptr[c->out.len] = '\0';
}

static int peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void accept_one(molt__ctl *ctl)
{
	int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	client *c = NULL;

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		static const char msg[] =
			"{\"ok\":false,\"error\":{\"code\":\"eunsafe\","
			"\"message\":\"peer uid not allowed\"}}\n";

		if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) < 0)
			(void)0;
		close(fd);
		molt_log(MOLT_LOG_WARN, "ctl",
			 "refused a peer: uid not allowed");
		return;
	}
	for (int i = 0; i < MAX_CLIENTS && !c; i++)
		if (ctl->clients[i].fd < 0)
			c = &ctl->clients[i];
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++ctl->next_id;
	molt_buf_init(&c->in);
	molt_buf_init(&c->out);
}

static void take_done(molt__ctl *ctl)
{
	done *d, *list;
	char buf[64];

	while (read(ctl->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&ctl->mu);
	list = ctl->done;
	ctl->done = NULL;
	pthread_mutex_unlock(&ctl->mu);
	while ((d = list) != NULL) {
		list = d->next;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			client *c = &ctl->clients[i];

			if (c->fd >= 0 && c->id == d->client) {
				if (molt_buf_puts(&c->out, d->line) < 0)
					c->closing = 1;
				c->pending = 0;
				process_input(ctl, c);
			}
		}
		molt_free(d->line);
		molt_free(d);
	}
}

static void *ctl_main(void *arg)
{
	molt__ctl *ctl = arg;
	struct pollfd pfd[MAX_CLIENTS + 2];
	int map[MAX_CLIENTS + 2];

	while (!atomic_load(&ctl->stop)) {
		nfds_t n = 2;

		pfd[0] = (struct pollfd){ctl->wake[0], POLLIN, 0};
		pfd[1] = (struct pollfd){ctl->lfd, POLLIN, 0};
		for (int i = 0; i < MAX_CLIENTS; i++) {
			client *c = &ctl->clients[i];

			if (c->fd < 0)
				continue;
			if (c->closing && !c->out.len) {
				client_close(c);
				continue;
			}
			map[n] = i;
			pfd[n++] = (struct pollfd){
				c->fd,
				(short)((c->closing ? 0 : POLLIN) |
					(c->out.len ? POLLOUT : 0)),
				0};
		}
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			take_done(ctl);
		if (pfd[1].revents & POLLIN)
			accept_one(ctl);
		for (nfds_t k = 2; k < n; k++) {
			client *c = &ctl->clients[map[k]];

			if (c->fd >= 0 && (pfd[k].revents & POLLOUT))
				client_write(c);
			if (c->fd >= 0 &&
			    (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(ctl, c);
			if (c->fd >= 0 && c->out.len)
				client_write(c);
		}
	}
	return NULL;
}

/* --- open and close --- */

static int make_dir(const char *dir, molt_err *err)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return molt_err_set(err, MOLT_EIO, "%s: %s", dir,
				    strerror(errno));
	if (chmod(dir, 0700) != 0)
		return molt_err_set(err, MOLT_EIO, "%s: %s", dir,
				    strerror(errno));
	return MOLT_OK;
}

/* Is a live server listening at path? */
static int in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return 0;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return rc;
}

static int listen_on(molt__ctl *ctl, molt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl->path);
	if (in_use(&sa))
		return molt_err_set(err, MOLT_EBUSY,
				    "%s: another moltd is listening there",
				    ctl->path);
	unlink(ctl->path);
	ctl->lfd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0)
		return molt_err_set(err, MOLT_EIO, "socket: %s",
				    strerror(errno));
	if (bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(ctl->path, 0600) != 0 || listen(ctl->lfd, 64) != 0) {
		molt_err_set(err, MOLT_EIO, "%s: %s", ctl->path,
			     strerror(errno));
		close(ctl->lfd);
		return MOLT_EIO;
	}
	return MOLT_OK;
}

static int ctl_setup(molt__ctl *ctl, const char *root, molt_err *err)
{
	char dir[PATH_MAX];
	int rc;

	if (snprintf(dir, sizeof(dir), "%s/run", root) >= (int)sizeof(dir) ||
	    snprintf(ctl->path, sizeof(ctl->path), "%s/moltd.sock", dir) >=
		    (int)sizeof(ctl->path))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/run/moltd.sock: path too long for a "
				    "unix socket",
				    root);
	if ((rc = make_dir(root, err)) < 0 || (rc = make_dir(dir, err)) < 0)
		return rc;
	if ((rc = listen_on(ctl, err)) < 0)
		return rc;
	if (pipe2(ctl->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		close(ctl->lfd);
		unlink(ctl->path);
		return molt_err_set(err, MOLT_EIO, "pipe: %s", strerror(errno));
	}
	return MOLT_OK;
}

int molt_runtime_ctl_open(molt_runtime *rt, const char *root,
			  void (*on_stop)(void *payload), void *payload,
			  molt_err *err)
{
	molt__ctl *ctl = molt_calloc(1, sizeof(*ctl));
	int rc;

	if (!ctl)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	ctl->rt = rt;
	atomic_init(&ctl->refs, 1);
	ctl->on_stop = on_stop;
	ctl->payload = payload;
	pthread_mutex_init(&ctl->mu, NULL);
	pthread_cond_init(&ctl->jobs_cv, NULL);
	for (int i = 0; i < MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	if ((rc = ctl_setup(ctl, root, err)) < 0) {
		ctl_unref(ctl);
		return rc;
	}
	if (pthread_create(&ctl->thread, NULL, ctl_main, ctl) != 0) {
		close(ctl->lfd);
		close(ctl->wake[0]);
		close(ctl->wake[1]);
		unlink(ctl->path);
		ctl_unref(ctl);
		return molt_err_set(err, MOLT_EIO,
				    "cannot start control thread");
	}
	rt->ctl = ctl;
	molt_log(MOLT_LOG_DEBUG, "ctl", "listening on %s", ctl->path);
	return MOLT_OK;
}

void molt_runtime_ctl_close(molt_runtime *rt)
{
	molt__ctl *ctl = rt->ctl;

	if (!ctl)
		return;
	rt->ctl = NULL;
	atomic_store(&ctl->stop, 1);
	if (write(ctl->wake[1], "x", 1) < 0)
		(void)0;
	pthread_join(ctl->thread, NULL);
	pthread_mutex_lock(&ctl->mu);
	ctl->closed = 1;
	while (ctl->jobs) /* they use the runtime: let them finish */
		pthread_cond_wait(&ctl->jobs_cv, &ctl->mu);
	pthread_mutex_unlock(&ctl->mu);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			client_close(&ctl->clients[i]);
	close(ctl->lfd);
	unlink(ctl->path);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	ctl_unref(ctl);
}
