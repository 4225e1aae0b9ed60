/* The control server: socket setup, peer check, the poll loop, framing,
 * replies and worker threads. The ops are in ctl_ops.c. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "molt/banned.h"

#define MAX_LINE (64 * 1024)
/* eval carries a whole script: its line may be longer, up to this, when
 * it starts with EVAL_PREFIX (what molt sends) */
#define MAX_EVAL_LINE  (16 * 1024 * 1024)
#define EVAL_PREFIX    "{\"op\":\"eval\""
#define MAX_BUFFERED   (1024 * 1024) /* unparsed input per molt__ctl_client */
#define IDLE_MS_MAX    86400000u     /* $MOLT_CTL_IDLE_MS: one day at most */
#define KEEP_OUT       (64 * 1024)   /* an emptied out buffer keeps this */
#define FINAL_WRITE_MS 1000	     /* a reply's last chance at close */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void ctl_unref(molt_ctl *ctl)
{
	if (atomic_fetch_sub(&ctl->refs, 1) != 1)
		return;
	while (ctl->done) {
		molt__ctl_done *d = ctl->done;

		ctl->done = d->next;
		molt_free(d->line);
		molt_free(d);
	}
	pthread_mutex_destroy(&ctl->mu);
	pthread_mutex_destroy(&ctl->restart_mu);
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

cJSON *molt__ctl_error_obj(int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *e;

	cJSON_AddFalseToObject(o, "ok");
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", molt_status_name(code));
	cJSON_AddStringToObject(e, "message", msg);
	return o;
}

/* Write an error line to fd if the socket takes it now: for a
 * connection about to be closed. */
static void send_error_now(int fd, int code, const char *msg)
{
	cJSON *o = molt__ctl_error_obj(code, msg);
	char *line = o ? json_line(o) : NULL;

	if (line &&
	    send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0; /* it is going away anyway */
	molt_free(line);
	cJSON_Delete(o);
}

/* Bytes queued for c and not written yet. */
static size_t out_queued(const molt__ctl_client *c)
{
	return c->out.len - c->sent;
}

/* Enough output waits for c: handle and read nothing more from it. */
static int out_full(const molt__ctl_client *c)
{
	return out_queued(c) >= MOLT__CTL_OUT_CAP;
}

static void out_put(molt_ctl *ctl, molt__ctl_client *c, const char *line)
{
	if (molt_buf_puts(&c->out, line) < 0) {
		c->closing = 1; /* out of memory: drop the client */
		return;
	}
	if (out_queued(c) > ctl->out_max)
		ctl->out_max = out_queued(c);
}

static void queue_obj(molt_ctl *ctl, molt__ctl_client *c, cJSON *o)
{
	char *line = o ? json_line(o) : NULL;

	if (line)
		out_put(ctl, c, line);
	else
		c->closing = 1; /* out of memory: drop the client */
	molt_free(line);
	cJSON_Delete(o);
}

static void queue_error(molt_ctl *ctl, molt__ctl_client *c, int code,
			const char *msg)
{
	queue_obj(ctl, c, molt__ctl_error_obj(code, msg));
}

/* An async completion from any thread: queue the line for the client. */
void molt__ctl_complete(molt_ctl *ctl, uint64_t cid, cJSON *o)
{
	molt__ctl_done *d = molt_malloc(sizeof(*d));
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

/* Run an op and turn its result into the reply object. */
static cJSON *run_op(const molt__ctl_op *op, molt__ctl_req *r)
{
	molt_err err = MOLT_ERR_INIT;
	int rc = op->fn(r, &err);

	if (rc == MOLT__CTL_PENDING) {
		cJSON_Delete(r->reply); /* the answer comes from complete() */
		return NULL;
	}
	if (rc < 0) {
		cJSON *e = molt__ctl_error_obj(
			rc, err.msg[0] ? err.msg : "operation failed");

		/* what the op did before it failed (eval: its report) */
		cJSON_DeleteItemFromObject(r->reply, "ok");
		if (e && r->reply->child)
			cJSON_AddItemToObject(e, "report", r->reply);
		else
			cJSON_Delete(r->reply);
		return e;
	}
	return r->reply;
}

typedef struct job {
	const molt__ctl_op *op; /* what to run */
	molt__ctl_req r;	/* its request (json owned) */
} job;

static void *job_main(void *arg)
{
	job *jb = arg;
	molt_ctl *ctl = jb->r.ctl;
	uint64_t cid = jb->r.cid;
	cJSON *reply = run_op(jb->op, &jb->r);

	cJSON_Delete((cJSON *)jb->r.json);
	molt_free(jb);
	pthread_mutex_lock(&ctl->mu);
	ctl->jobs--; /* done with the runtime */
	pthread_cond_broadcast(&ctl->jobs_cv);
	pthread_mutex_unlock(&ctl->mu);
	molt__ctl_complete(ctl, cid, reply); /* drops the job's reference */
	return NULL;
}

/* Start op on a detached worker thread; takes r->json on success. */
static int start_job(const molt__ctl_op *op, molt__ctl_req *r, molt_err *err)
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
		return MOLT__CTL_PENDING;
	pthread_mutex_lock(&r->ctl->mu);
	r->ctl->jobs--;
	pthread_mutex_unlock(&r->ctl->mu);
	atomic_fetch_sub(&r->ctl->refs, 1);
	molt_free(jb);
	return molt_err_set(err, MOLT_EIO, "cannot start a worker thread");
}

/* The op request j names, or NULL after queueing c's error reply. */
static const molt__ctl_op *request_op(molt_ctl *ctl, molt__ctl_client *c,
				      const cJSON *j)
{
	molt_err err = MOLT_ERR_INIT;
	const molt__ctl_op *op;
	const char *opname;

	if (!cJSON_IsObject(j)) {
		queue_error(ctl, c, MOLT_EPARSE,
			    "request is not a JSON object");
		return NULL;
	}
	if (!(opname = molt__ctl_str_field(j, "op"))) {
		queue_error(ctl, c, MOLT_EINVAL,
			    "request has no \"op\" string");
		return NULL;
	}
	if (!(op = molt__ctl_find_op(opname))) {
		molt_err_set(&err, MOLT_ENOTFOUND, "unknown op '%.64s'",
			     opname);
		queue_error(ctl, c, err.code, err.msg);
		return NULL;
	}
	if (c->reserved && !op->reserved_ok) {
		queue_error(ctl, c, MOLT_EBUSY,
			    "control socket busy: only status and stop are "
			    "served on the reserved slot");
		return NULL;
	}
	return op;
}

static void handle_line(molt_ctl *ctl, molt__ctl_client *c, const char *line,
			size_t len)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	molt__ctl_req r = {ctl, c->id, j, NULL};
	molt_err err = MOLT_ERR_INIT;
	const molt__ctl_op *op;
	cJSON *reply;
	int rc;

	if (!(op = request_op(ctl, c, j))) {
		cJSON_Delete(j);
		return;
	}
	r.reply = cJSON_CreateObject();
	cJSON_AddTrueToObject(r.reply, "ok"); /* first, for readers' eyes */
	if (op->threaded) {
		rc = start_job(op, &r, &err);
		if (rc == MOLT__CTL_PENDING) {
			c->pending = 1; /* the job owns j and the reply now */
			return;
		}
		cJSON_Delete(r.reply);
		cJSON_Delete(j);
		queue_error(ctl, c, rc, err.msg);
		return;
	}
	reply = run_op(op, &r);
	cJSON_Delete(j);
	if (reply)
		queue_obj(ctl, c, reply);
	else
		c->pending = 1;
}

/* --- connections --- */

static void client_close(molt__ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	molt_buf_release(&c->in);
	molt_buf_release(&c->out);
	c->fd = -1;
	c->seen = 0;
	c->sent = 0;
	c->pending = 0;
	c->closing = 0;
	c->reserved = 0;
}

/* The longest line c may send: MAX_EVAL_LINE for an eval request. */
static size_t line_cap(const molt__ctl_client *c)
{
	size_t n = sizeof(EVAL_PREFIX) - 1;

	return c->in.len >= n && memcmp(c->in.ptr, EVAL_PREFIX, n) == 0
		       ? MAX_EVAL_LINE
		       : MAX_LINE;
}

static void refuse_long(molt_ctl *ctl, molt__ctl_client *c)
{
	queue_error(ctl, c, MOLT_EUNSAFE,
		    "request line longer than 65536 bytes (16 MiB for eval)");
	c->closing = 1;
}

/* Handle complete lines while no request is in progress and c's output
 * is under the cap. */
static void process_input(molt_ctl *ctl, molt__ctl_client *c)
{
	while (!c->pending && !c->closing && !out_full(c)) {
		char *nl =
			memchr(c->in.ptr + c->seen, '\n', c->in.len - c->seen);
		size_t n;

		if (!nl) {
			c->seen = c->in.len; /* a long line: scan once */
			if (c->in.len > line_cap(c))
				refuse_long(ctl, c);
			return;
		}
		c->seen = 0;
		n = (size_t)(nl - c->in.ptr);
		if (n > line_cap(c)) {
			refuse_long(ctl, c);
			return;
		}
		handle_line(ctl, c, c->in.ptr, n);
		memmove(c->in.ptr, nl + 1, c->in.len - n - 1);
		c->in.len -= n + 1;
		c->in.ptr[c->in.len] = '\0';
	}
}

static void client_read(molt_ctl *ctl, molt__ctl_client *c)
{
	char buf[8192];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client_close(c); /* a pending reply is dropped on arrival */
		return;
	}
	if (n < 0)
		return;
	c->active_ms = now_ms();
	if (c->in.len + (size_t)n > MAX_BUFFERED + line_cap(c)) {
		/* only a hung-up client is read past MAX_BUFFERED (POLLHUP) */
		queue_error(ctl, c, MOLT_EUNSAFE, "too much unanswered input");
		c->closing = 1;
		return;
	}
	if (molt_buf_put(&c->in, buf, (size_t)n) < 0) {
		client_close(c);
		return;
	}
	process_input(ctl, c);
}

/* Drop the written part of c->out: all of it, or once it is the larger
 * half (so a client that keeps up never makes the buffer grow). */
static void out_compact(molt__ctl_client *c)
{
	if (c->sent == c->out.len) {
		if (c->out.asize > KEEP_OUT)
			molt_buf_release(&c->out); /* after a big burst */
		else
			molt_buf_clear(&c->out);
		c->sent = 0;
		return;
	}
	if (c->sent < c->out.len / 2)
		return;
	memmove(c->out.ptr, c->out.ptr + c->sent, out_queued(c));
	c->out.len -= c->sent;
	c->out.ptr[c->out.len] = '\0';
	c->sent = 0;
}

static void client_write(molt_ctl *ctl, molt__ctl_client *c)
{
	ssize_t n;

	if (!out_queued(c))
		return;
	n = send(c->fd, c->out.ptr + c->sent, out_queued(c), MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(c);
		return;
	}
	c->active_ms = now_ms();
	c->sent += (size_t)n;
	out_compact(c);
	process_input(ctl, c); /* lines that waited for the output to drain */
}

static int peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* A free slot, or NULL; *reserved is set when it is the last one. */
static molt__ctl_client *free_slot(molt_ctl *ctl, int *reserved)
{
	molt__ctl_client *c = NULL;
	int used = 0;

	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++) {
		if (ctl->clients[i].fd >= 0)
			used++;
		else if (!c)
			c = &ctl->clients[i];
	}
	*reserved = used == MOLT__CTL_MAX_CLIENTS - 1;
	return c;
}

/* Accept a connection: into a free slot, or answered and closed. The
 * backlog is always drained, so a full server does not spin in poll. */
static void accept_one(molt_ctl *ctl)
{
	int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	molt__ctl_client *c;
	int reserved;

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		send_error_now(fd, MOLT_EUNSAFE, "peer uid not allowed");
		close(fd);
		molt_log(MOLT_LOG_WARN, "ctl",
			 "refused a peer: uid not allowed");
		return;
	}
	if (!(c = free_slot(ctl, &reserved))) {
		send_error_now(
			fd, MOLT_EBUSY,
			"control socket full: every connection slot is taken");
		close(fd);
		molt_log(MOLT_LOG_WARN, "ctl",
			 "refused a connection: all %d slots taken",
			 MOLT__CTL_MAX_CLIENTS);
		return;
	}
	c->fd = fd;
	c->id = ++ctl->next_id;
	c->seen = 0;
	c->sent = 0;
	c->reserved = reserved;
	c->active_ms = now_ms();
	molt_buf_init(&c->in);
	molt_buf_init(&c->out);
}

/*
 * Hand the finished jobs' replies to their clients' output. live: the
 * control thread runs, and a client whose request is answered is idle
 * again and may go on with its next line; else (final_replies) the
 * replies are only queued.
 */
static void deliver_done(molt_ctl *ctl, int live)
{
	molt__ctl_done *d, *list;

	pthread_mutex_lock(&ctl->mu);
	list = ctl->done;
	ctl->done = NULL;
	pthread_mutex_unlock(&ctl->mu);
	while ((d = list) != NULL) {
		list = d->next;
		for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++) {
			molt__ctl_client *c = &ctl->clients[i];

			if (c->fd < 0 || c->id != d->client)
				continue;
			out_put(ctl, c, d->line);
			if (live) {
				c->pending = 0;
				c->active_ms = now_ms(); /* idle from now */
				process_input(ctl, c);
			}
		}
		molt_free(d->line);
		molt_free(d);
	}
}

static void take_done(molt_ctl *ctl)
{
	char buf[64];

	while (read(ctl->wake[0], buf, sizeof(buf)) > 0)
		;
	deliver_done(ctl, 1);
}

/* What to poll c for. A client that waits (a request in progress, or
 * its output at the cap) is read only up to MAX_BUFFERED; the rest stays
 * in the socket, so a pipelining client is slowed down, not dropped. */
static short client_events(const molt__ctl_client *c)
{
	int waits = c->pending || out_full(c);
	short ev = out_queued(c) ? POLLOUT : 0;

	if (!c->closing && !(waits && c->in.len >= MAX_BUFFERED))
		ev |= POLLIN;
	return ev;
}

/* Close c if it has made no progress for idle_ms with no request in
 * progress; else lower *timeout (ms, -1 for none) to the time it has. */
static void check_idle(molt_ctl *ctl, molt__ctl_client *c, uint64_t now,
		       int *timeout)
{
	uint64_t end = c->active_ms + ctl->idle_ms;
	char msg[64];

	if (c->pending)
		return;
	if (now >= end) {
		snprintf(msg, sizeof(msg), "idle for %u ms: connection closed",
			 ctl->idle_ms);
		if (!out_queued(c)) /* never inside a reply */
			send_error_now(c->fd, MOLT_ETIMEOUT, msg);
		client_close(c);
		molt_log(MOLT_LOG_DEBUG, "ctl", "closed an idle client");
		return;
	}
	if (*timeout < 0 || end - now < (uint64_t)*timeout)
		*timeout = (int)(end - now);
}

/* Fill pfd from 2 on with the clients to poll (map: their slots); close
 * finished and idle ones. Returns the count and sets *timeout. */
static nfds_t poll_clients(molt_ctl *ctl, struct pollfd *pfd, int *map,
			   int *timeout)
{
	uint64_t now = now_ms();
	nfds_t n = 2;

	*timeout = -1;
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++) {
		molt__ctl_client *c = &ctl->clients[i];

		if (c->fd >= 0 && c->closing && !out_queued(c))
			client_close(c);
		if (c->fd >= 0)
			check_idle(ctl, c, now, timeout);
		if (c->fd < 0)
			continue;
		map[n] = i;
		pfd[n++] = (struct pollfd){c->fd, client_events(c), 0};
	}
	return n;
}

static void *ctl_main(void *arg)
{
	molt_ctl *ctl = arg;
	struct pollfd pfd[MOLT__CTL_MAX_CLIENTS + 2];
	int map[MOLT__CTL_MAX_CLIENTS + 2];

	while (!atomic_load(&ctl->stop)) {
		int timeout;
		nfds_t n = poll_clients(ctl, pfd, map, &timeout);

		pfd[0] = (struct pollfd){ctl->wake[0], POLLIN, 0};
		pfd[1] = (struct pollfd){ctl->lfd, POLLIN, 0};
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			take_done(ctl);
		for (nfds_t k = 2; k < n; k++) {
			molt__ctl_client *c = &ctl->clients[map[k]];

			if (c->fd >= 0 && (pfd[k].revents & POLLOUT))
				client_write(ctl, c);
			if (c->fd >= 0 &&
			    (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				client_read(ctl, c);
			if (c->fd >= 0 && out_queued(c))
				client_write(ctl, c);
		}
		/* after the clients: a slot freed by a hang-up seen in this
		 * same poll is free for the newcomer */
		if (pfd[1].revents & POLLIN)
			accept_one(ctl);
	}
	return NULL;
}

/* --- open and close --- */

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

static int listen_on(molt_ctl *ctl, molt_err *err)
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

static int ctl_setup(molt_ctl *ctl, const char *root, molt_err *err)
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
	if ((rc = molt_ctl_prepare_root(root, err)) < 0)
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

/* $MOLT_CTL_IDLE_MS, or MOLT__CTL_IDLE_MS if unset or not a number of ms
 * from 1 to a day. */
static unsigned idle_ms_from_env(void)
{
	const char *s = getenv("MOLT_CTL_IDLE_MS");
	unsigned long v;
	char *end;

	if (!s || !*s)
		return MOLT__CTL_IDLE_MS;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v < 1 || v > IDLE_MS_MAX || s[0] == '-') {
		molt_log(MOLT_LOG_WARN, "ctl",
			 "MOLT_CTL_IDLE_MS='%.32s' is not 1..%u: using %u", s,
			 IDLE_MS_MAX, MOLT__CTL_IDLE_MS);
		return MOLT__CTL_IDLE_MS;
	}
	return (unsigned)v;
}

int molt_ctl_open(molt_ctl **out, molt_runtime *rt, const char *root,
		  void (*on_stop)(void *payload), void *payload, molt_err *err)
{
	molt_ctl *ctl = molt_calloc(1, sizeof(*ctl));
	int rc;

	if (!ctl)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	ctl->rt = rt;
	atomic_init(&ctl->refs, 1);
	ctl->on_stop = on_stop;
	ctl->payload = payload;
	ctl->idle_ms = idle_ms_from_env();
	ctl->slow_upgrade_ms = 100;
	snprintf(ctl->root, sizeof(ctl->root), "%s", root ? root : "");
	pthread_mutex_init(&ctl->mu, NULL);
	pthread_mutex_init(&ctl->restart_mu, NULL);
	pthread_cond_init(&ctl->jobs_cv, NULL);
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++)
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
	*out = ctl;
	molt_log(MOLT_LOG_DEBUG, "ctl", "listening on %s", ctl->path);
	return MOLT_OK;
}

void molt_ctl_set_slow_upgrade_ms(molt_ctl *ctl, unsigned ms)
{
	ctl->slow_upgrade_ms = ms;
}

int molt_ctl_restart_into(molt_ctl *ctl, char *vsn, size_t size)
{
	int yes;

	pthread_mutex_lock(&ctl->restart_mu);
	yes = ctl->restart_into[0] != 0;
	if (yes)
		snprintf(vsn, size, "%s", ctl->restart_into);
	pthread_mutex_unlock(&ctl->restart_mu);
	return yes;
}

/* The replies completed after the control thread stopped (an install
 * that restarts the node asks for the stop before its reply is written):
 * into their clients' output, then written, each client waited for at
 * most FINAL_WRITE_MS. */
static void final_replies(molt_ctl *ctl)
{
	deliver_done(ctl, 0);
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++) {
		molt__ctl_client *c = &ctl->clients[i];
		uint64_t until = now_ms() + FINAL_WRITE_MS;

		while (c->fd >= 0 && out_queued(c) && now_ms() < until) {
			struct pollfd pf = {c->fd, POLLOUT, 0};
			ssize_t n;

			if (poll(&pf, 1, 50) <= 0)
				continue;
			n = send(c->fd, c->out.ptr + c->sent, out_queued(c),
				 MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (n > 0)
				c->sent += (size_t)n;
		}
	}
}

void molt_ctl_close(molt_ctl *ctl)
{
	if (!ctl)
		return;
	atomic_store(&ctl->stop, 1);
	if (write(ctl->wake[1], "x", 1) < 0)
		(void)0;
	pthread_join(ctl->thread, NULL);
	pthread_mutex_lock(&ctl->mu);
	while (ctl->jobs) /* they use the runtime: let them finish */
		pthread_cond_wait(&ctl->jobs_cv, &ctl->mu);
	ctl->closed = 1; /* no deliveries from here */
	pthread_mutex_unlock(&ctl->mu);
	final_replies(ctl);
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			client_close(&ctl->clients[i]);
	close(ctl->lfd);
	unlink(ctl->path);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	ctl_unref(ctl);
}
