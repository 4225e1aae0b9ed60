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

#include "core/rt.h"

#include "molt/banned.h"

#define MAX_LINE (64 * 1024)
/* eval carries a whole script: its line may be longer, up to this, when
 * it starts with EVAL_PREFIX (what molt sends) */
#define MAX_EVAL_LINE (16 * 1024 * 1024)
#define EVAL_PREFIX   "{\"op\":\"eval\""
#define MAX_BUFFERED  (1024 * 1024) /* unparsed input per molt__ctl_client */

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

static void queue_obj(molt__ctl_client *c, cJSON *o)
{
	char *line = o ? json_line(o) : NULL;

	if (!line || molt_buf_puts(&c->out, line) < 0)
		c->closing = 1; /* out of memory: drop the molt__ctl_client */
	molt_free(line);
	cJSON_Delete(o);
}

static void queue_error(molt__ctl_client *c, int code, const char *msg)
{
	queue_obj(c, molt__ctl_error_obj(code, msg));
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

static void handle_line(molt_ctl *ctl, molt__ctl_client *c, const char *line,
			size_t len)
{
	cJSON *j = cJSON_ParseWithLength(line, len);
	molt__ctl_req r = {ctl, c->id, j, NULL};
	molt_err err = MOLT_ERR_INIT;
	const molt__ctl_op *op;
	const char *opname;
	cJSON *reply;
	int rc;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		queue_error(c, MOLT_EPARSE, "request is not a JSON object");
		return;
	}
	if (!(opname = molt__ctl_str_field(j, "op"))) {
		cJSON_Delete(j);
		queue_error(c, MOLT_EINVAL, "request has no \"op\" string");
		return;
	}
	if (!(op = molt__ctl_find_op(opname))) {
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
		if (rc == MOLT__CTL_PENDING) {
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

static void client_close(molt__ctl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	molt_buf_release(&c->in);
	molt_buf_release(&c->out);
	c->fd = -1;
	c->seen = 0;
	c->pending = 0;
	c->closing = 0;
}

/* The longest line c may send: MAX_EVAL_LINE for an eval request. */
static size_t line_cap(const molt__ctl_client *c)
{
	size_t n = sizeof(EVAL_PREFIX) - 1;

	return c->in.len >= n && memcmp(c->in.ptr, EVAL_PREFIX, n) == 0
		       ? MAX_EVAL_LINE
		       : MAX_LINE;
}

static void refuse_long(molt__ctl_client *c)
{
	queue_error(c, MOLT_EUNSAFE,
		    "request line longer than 65536 bytes (16 MiB for eval)");
	c->closing = 1;
}

/* Handle complete lines while no request is in progress. */
static void process_input(molt_ctl *ctl, molt__ctl_client *c)
{
	while (!c->pending && !c->closing) {
		char *nl =
			memchr(c->in.ptr + c->seen, '\n', c->in.len - c->seen);
		size_t n;

		if (!nl) {
			c->seen = c->in.len; /* a long line: scan once */
			if (c->in.len > line_cap(c))
				refuse_long(c);
			return;
		}
		c->seen = 0;
		n = (size_t)(nl - c->in.ptr);
		if (n > line_cap(c)) {
			refuse_long(c);
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
	if (c->in.len + (size_t)n > MAX_BUFFERED + line_cap(c) ||
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

static void client_write(molt__ctl_client *c)
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

static void accept_one(molt_ctl *ctl)
{
	int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	molt__ctl_client *c = NULL;

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
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS && !c; i++)
		if (ctl->clients[i].fd < 0)
			c = &ctl->clients[i];
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++ctl->next_id;
	c->seen = 0;
	molt_buf_init(&c->in);
	molt_buf_init(&c->out);
}

static void take_done(molt_ctl *ctl)
{
	molt__ctl_done *d, *list;
	char buf[64];

	while (read(ctl->wake[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&ctl->mu);
	list = ctl->done;
	ctl->done = NULL;
	pthread_mutex_unlock(&ctl->mu);
	while ((d = list) != NULL) {
		list = d->next;
		for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++) {
			molt__ctl_client *c = &ctl->clients[i];

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
	molt_ctl *ctl = arg;
	struct pollfd pfd[MOLT__CTL_MAX_CLIENTS + 2];
	int map[MOLT__CTL_MAX_CLIENTS + 2];

	while (!atomic_load(&ctl->stop)) {
		nfds_t n = 2;

		pfd[0] = (struct pollfd){ctl->wake[0], POLLIN, 0};
		pfd[1] = (struct pollfd){ctl->lfd, POLLIN, 0};
		for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++) {
			molt__ctl_client *c = &ctl->clients[i];

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
			molt__ctl_client *c = &ctl->clients[map[k]];

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
	pthread_mutex_init(&ctl->mu, NULL);
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

void molt_ctl_close(molt_ctl *ctl)
{
	if (!ctl)
		return;
	atomic_store(&ctl->stop, 1);
	if (write(ctl->wake[1], "x", 1) < 0)
		(void)0;
	pthread_join(ctl->thread, NULL);
	pthread_mutex_lock(&ctl->mu);
	ctl->closed = 1;
	while (ctl->jobs) /* they use the runtime: let them finish */
		pthread_cond_wait(&ctl->jobs_cv, &ctl->mu);
	pthread_mutex_unlock(&ctl->mu);
	for (int i = 0; i < MOLT__CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			client_close(&ctl->clients[i]);
	close(ctl->lfd);
	unlink(ctl->path);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	ctl_unref(ctl);
}
