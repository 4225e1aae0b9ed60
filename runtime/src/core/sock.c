/* TCP sockets owned by processes: the table, the poller, module.h's calls. */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "mailbox.h"
#include "proc.h"
#include "rt.h"
#include "sched.h"

#include "molt/banned.h"

#define READ_CHUNK   (64 * 1024)	/* bytes per data event, at most */
#define PULL_CHUNK   (16 * 1024)	/* ... read on the owner's stack */
#define SENDQ_DFLT   (4u * 1024 * 1024) /* default send queue limit */
#define SOCK_CHARGE  256		/* what a socket costs its owner */
#define POLL_EVENTS  256
#define BACKLOG_DFLT 128
#define LINGER_MAX   (4 * 1024 * 1024) /* send buffer a close may ask for */

/* --- the table --- */

static molt_sock name_of(const molt__sock *s)
{
	uint32_t gen = atomic_load_explicit(&s->gen, memory_order_relaxed);

	return (molt_sock)gen << 32 | (molt_sock)(s->idx + 1);
}

/* The socket named id, locked, or NULL (stale, free, or unknown). */
static molt__sock *lookup(molt__socks *t, molt_sock id)
{
	uint32_t idx = (uint32_t)(id & 0xffffffffu);
	molt__sock *s;

	if (!idx)
		return NULL;
	pthread_mutex_lock(&t->mu);
	s = idx <= t->cap ? t->slot[idx - 1] : NULL;
	pthread_mutex_unlock(&t->mu);
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->mu);
	if (s->fd < 0 || atomic_load_explicit(&s->gen, memory_order_relaxed) !=
				 (uint32_t)(id >> 32)) {
		pthread_mutex_unlock(&s->mu);
		return NULL;
	}
	return s;
}

static int grow(molt__socks *t)
{
	uint32_t cap = t->cap ? 2 * t->cap : 64;
	molt__sock **slot = molt_realloc(t->slot, cap * sizeof(*slot));

	if (!slot)
		return MOLT_ENOMEM;
	t->slot = slot;
	for (uint32_t i = t->cap; i < cap; i++) {
		molt__sock *s = molt_calloc(1, sizeof(*s));

		if (!s) {
			t->cap = i;
			return t->free_head ? MOLT_OK : MOLT_ENOMEM;
		}
		pthread_mutex_init(&s->mu, NULL);
		s->idx = i;
		s->fd = -1;
		molt_buf_init(&s->out);
		s->free_next = t->free_head;
		t->free_head = i + 1;
		t->slot[i] = s;
	}
	t->cap = cap;
	return MOLT_OK;
}

/* A free slot for fd, locked, with a new generation; NULL if out of
 * memory. */
static molt__sock *sock_new(molt_runtime *rt, int fd, int listener,
			    molt_pid owner)
{
	molt__socks *t = rt->socks;
	molt__sock *s;

	/* the first socket: an idle scheduler takes up the poll */
	if (!atomic_load_explicit(&t->used, memory_order_relaxed) &&
	    !atomic_exchange(&t->used, 1))
		molt__sched_wake_all(rt);
	pthread_mutex_lock(&t->mu);
	if (!t->free_head && grow(t) < 0) {
		pthread_mutex_unlock(&t->mu);
		return NULL;
	}
	s = t->slot[t->free_head - 1];
	t->free_head = s->free_next;
	t->n++;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_lock(&s->mu);
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_relaxed);
	s->fd = fd;
	s->listener = listener;
	s->connecting = 0;
	s->active = 0;
	s->refused = s->broken = 0;
	s->keep_open = s->peer_done = 0;
	s->owner = owner;
	s->out_off = 0;
	molt_buf_clear(&s->out);
	s->sendq_max = SENDQ_DFLT;
	s->charged = 0;
	s->bytes_in = s->bytes_out = 0;
	s->local[0] = s->peer[0] = 0;
	return s;
}

static void slot_release(molt__socks *t, molt__sock *s)
{
	pthread_mutex_lock(&t->mu);
	s->free_next = t->free_head;
	t->free_head = s->idx + 1;
	t->n--;
	pthread_mutex_unlock(&t->mu);
}

/* --- owners: their lists and their heap bytes --- */

/* Count what s holds in its owner's heap bytes (s->mu held). */
static void charge(molt_runtime *rt, molt__sock *s)
{
	size_t now = s->fd < 0 ? 0 : SOCK_CHARGE + s->out.asize;
	molt_proc *p = molt__proc_slot(rt, s->owner);

	if (p && now > s->charged)
		atomic_fetch_add_explicit(&p->heap_bytes, now - s->charged,
					  memory_order_relaxed);
	else if (p && now < s->charged)
		atomic_fetch_sub_explicit(&p->heap_bytes, s->charged - now,
					  memory_order_relaxed);
	s->charged = now;
}

/* Put s on pid's list; 0 if pid is gone or exiting (s->mu held). */
static int own(molt_runtime *rt, molt__sock *s, molt_pid pid)
{
	molt_proc *p = molt__proc_slot(rt, pid);
	int ok;

	if (!p)
		return 0;
	molt__spin_lock(&p->lock);
	ok = p->pid == pid && p->status != MOLT__P_EXITING &&
	     !molt__pf_has(p, MOLT__PF_NOSOCK);
	if (ok) {
		s->oprev = NULL;
		s->onext = p->socks;
		if (p->socks)
			p->socks->oprev = s;
		p->socks = s;
		s->owner = pid;
	}
	molt__spin_unlock(&p->lock);
	return ok;
}

/* Take s off its owner's list (s->mu held). */
static void disown(molt_runtime *rt, molt__sock *s)
{
	molt_proc *p = molt__proc_slot(rt, s->owner);

	if (!p)
		return;
	molt__spin_lock(&p->lock);
	if (p->pid == s->owner) {
		if (s->oprev)
			s->oprev->onext = s->onext;
		else if (p->socks == s)
			p->socks = s->onext;
		if (s->onext)
			s->onext->oprev = s->oprev;
	}
	s->onext = s->oprev = NULL;
	molt__spin_unlock(&p->lock);
}

size_t molt__socks_count(const molt_proc *p)
{
	size_t n = 0;

	for (const molt__sock *s = p->socks; s; s = s->onext)
		n++;
	return n;
}

/* --- closing, arming, delivering --- */

/* Close s (s->mu held; the caller unlocks it, then calls slot_release
 * if this returned 1). listed: s is still on its owner's list. */
static int sock_close(molt_runtime *rt, molt__sock *s, int listed)
{
	if (s->fd < 0)
		return 0;
	if (listed)
		disown(rt, s);
	epoll_ctl(rt->socks->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	charge(rt, s);
	molt_buf_release(&s->out);
	s->out_off = 0;
	/* every name of it is stale from here */
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_relaxed);
	return 1;
}

/* A MOLT_MSG_TCP message for s's owner (s->mu held). The event goes in
 * the message's flags, the socket in its ref, an ACCEPTED's listener in
 * its from (proc.c's dispatch makes a molt_msg of them). */
static void deliver(molt_runtime *rt, molt__sock *s, int event, molt_sock id,
		    molt_sock listener, const void *data, size_t len,
		    const char *reason)
{
	molt__msg *m =
		molt__msg_new(MOLT_MSG_TCP, listener, id, data, len, reason);

	if (!m) {
		molt_log(MOLT_LOG_ERROR, "sock",
			 "out of memory: a socket event for <%u.%u> is lost",
			 (unsigned)s->owner, (unsigned)(s->owner >> 32));
		return;
	}
	m->flags = (uint8_t)event;
	molt__proc_deliver(rt, s->owner, m, 0);
}

static void addr_text(char *out, size_t size, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)sa;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
		snprintf(out, size, "[%s]:%u", host, port);
	} else {
		snprintf(out, size, "?");
	}
}

static void names(molt__sock *s)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	if (getsockname(s->fd, (struct sockaddr *)&a, &len) == 0)
		addr_text(s->local, sizeof(s->local), (struct sockaddr *)&a);
	len = sizeof(a);
	if (!s->listener &&
	    getpeername(s->fd, (struct sockaddr *)&a, &len) == 0)
		addr_text(s->peer, sizeof(s->peer), (struct sockaddr *)&a);
}

/* Register a new socket with the poller, once for its life: edge-
 * triggered, so no event needs a system call to re-arm it (s->mu held).
 * Readiness nobody asked for yet is kept in rd_ready (sock.h). */
static int watch_fd(molt_runtime *rt, molt__sock *s)
{
	struct epoll_event ev = {0};

	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = name_of(s);
	s->rd_ready = s->rd_end = 0;
	return epoll_ctl(rt->socks->epfd, EPOLL_CTL_ADD, s->fd, &ev);
}

/* --- the poller --- */

/* Accept while the listener's owner wants connections (l->mu held). */
static void accept_some(molt_runtime *rt, molt__sock *l)
{
	while (l->active) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		molt__sock *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				molt_log(MOLT_LOG_WARN, "sock",
					 "accept on %s: %s", l->local,
					 strerror(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				l->rd_ready = 0; /* none left: an edge comes */
			return;
		}
		if (!(c = sock_new(rt, fd, 0, l->owner))) {
			close(fd);
			molt_log(MOLT_LOG_ERROR, "sock",
				 "out of memory: connection on %s dropped",
				 l->local);
			return;
		}
		names(c);
		if (watch_fd(rt, c) < 0 || !own(rt, c, l->owner)) {
			sock_close(rt, c, 0);
			pthread_mutex_unlock(&c->mu);
			slot_release(rt->socks, c);
			return; /* the owner is gone: its exit closes l */
		}
		charge(rt, c);
		deliver(rt, c, MOLT_TCP_ACCEPTED, name_of(c), name_of(l), NULL,
			0, NULL);
		pthread_mutex_unlock(&c->mu);
		l->active--;
	}
}

/* Send what the queue holds, as far as the kernel takes it. Returns 0,
 * or an errno when the connection is broken (s->mu held). */
static int flush(molt__sock *s)
{
	while (s->out.len > s->out_off) {
		ssize_t n = send(s->fd, s->out.ptr + s->out_off,
				 s->out.len - s->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : errno;
		}
		s->out_off += (size_t)n;
		s->bytes_out += (uint64_t)n;
	}
	/* drained: an idle connection keeps no buffer (nor its charge) */
	molt_buf_release(&s->out);
	s->out_off = 0;
	return 0;
}

/* Append len bytes to the queue (s->mu held). The bytes already sent are
 * dropped first when they are as many as those waiting, or when the
 * buffer would grow: it then never holds more than the queue's limit
 * needs, however long the queue stays non-empty. */
static int enqueue(molt__sock *s, const void *data, size_t len)
{
	size_t waiting = s->out.len - s->out_off;

	if (s->out_off &&
	    (s->out_off >= waiting || s->out.len + len >= s->out.asize)) {
		memmove(s->out.ptr, s->out.ptr + s->out_off, waiting);
		s->out.len = waiting;
		s->out.ptr[waiting] = '\0';
		s->out_off = 0;
	}
	return molt_buf_put(&s->out, data, len);
}

/* Send what the kernel takes of data at once, with nothing queued
 * before it (s->mu held); returns the bytes sent: 0 when it takes none,
 * or on an error (flush meets it again). */
static size_t send_now(molt__sock *s, const void *data, size_t len)
{
	ssize_t n;

	do
		n = send(s->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	s->bytes_out += (uint64_t)n;
	return (size_t)n;
}

/*
 * One read for s's owner, of at most size bytes into buf; 1 if s was
 * closed (s->mu held). With edge-triggered events, rd_ready may only be
 * cleared once the socket was seen empty: at EAGAIN, or at a short read
 * unless the peer's end was reported too (the end is read after the
 * data, and its edge has passed).
 */
static int read_some(molt_runtime *rt, molt__sock *s, char *buf, size_t size)
{
	ssize_t n = recv(s->fd, buf, size, MSG_DONTWAIT);

	if (n > 0) {
		s->bytes_in += (uint64_t)n;
		s->active--;
		if ((size_t)n < size && !s->rd_end)
			s->rd_ready = 0;
		deliver(rt, s, MOLT_TCP_DATA, name_of(s), 0, buf, (size_t)n,
			NULL);
	} else if (n == 0) {
		deliver(rt, s, MOLT_TCP_CLOSED, name_of(s), 0, NULL, 0, NULL);
		if (!s->keep_open)
			return sock_close(rt, s, 1);
		/* a half-close: the owner may still send, and closes it */
		s->peer_done = 1;
		s->active = 0;
		s->rd_ready = 0;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->rd_ready = 0;
	} else if (errno != EINTR) {
		deliver(rt, s, MOLT_TCP_ERROR, name_of(s), 0, NULL, 0,
			strerror(errno));
		return sock_close(rt, s, 1);
	}
	return 0;
}

/* A connect in progress: done, failed, or not yet (s->mu held); 1 if
 * the socket was closed. */
static int connect_ready(molt_runtime *rt, molt__sock *s, uint32_t ev)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return 0;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		e = errno;
	if (e) {
		deliver(rt, s, MOLT_TCP_ERROR, name_of(s), 0, NULL, 0,
			strerror(e));
		return sock_close(rt, s, 1);
	}
	s->connecting = 0;
	names(s);
	deliver(rt, s, MOLT_TCP_CONNECTED, name_of(s), 0, NULL, 0, NULL);
	return 0;
}

/* A connection's readiness; 1 if it was closed (s->mu held). */
static int conn_ready(molt_runtime *rt, molt__sock *s, uint32_t ev, char *buf)
{
	int e;

	if (s->connecting) {
		if (connect_ready(rt, s, ev))
			return 1; /* failed: closed */
		if (s->connecting)
			return 0; /* not yet */
	}

	if ((ev & EPOLLOUT) && (e = flush(s)) != 0) {
		s->broken = 1;
		deliver(rt, s, MOLT_TCP_ERROR, name_of(s), 0, NULL, 0,
			strerror(e));
		return sock_close(rt, s, 1);
	}
	if (s->refused && s->out.len == s->out_off) {
		s->refused = 0;
		deliver(rt, s, MOLT_TCP_SENT, name_of(s), 0, NULL, 0, NULL);
	}
	if (s->active && !s->peer_done && s->rd_ready &&
	    read_some(rt, s, buf, READ_CHUNK))
		return 1;
	charge(rt, s);
	return 0;
}

static void ready(molt_runtime *rt, molt_sock id, uint32_t ev, char *buf)
{
	molt__sock *s = lookup(rt->socks, id);
	int closed = 0;

	if (!s)
		return; /* closed since: a stale event */
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->rd_ready = 1;
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->rd_end = 1;
	if (s->listener)
		accept_some(rt, s);
	else
		closed = conn_ready(rt, s, ev, buf);
	pthread_mutex_unlock(&s->mu);
	if (closed)
		slot_release(rt->socks, s);
}

/* --- the poll, on scheduler threads (sock.h) --- */

int molt__socks_poll_try(molt_runtime *rt, int wait)
{
	molt__socks *t = rt->socks;

	if (!t || !atomic_load_explicit(&t->used, memory_order_relaxed) ||
	    atomic_load_explicit(&t->token, memory_order_relaxed) ||
	    atomic_exchange(&t->token, 1))
		return 0;
	if (wait)
		atomic_store(&rt->sched.polling,
			     1); /* seq_cst: see sched_push */
	return 1;
}

void molt__socks_poll_cancel(molt_runtime *rt)
{
	atomic_store(&rt->sched.polling, 0);
	atomic_store(&rt->socks->token, 0);
}

int molt__socks_unattended(molt_runtime *rt)
{
	return rt->socks && atomic_load(&rt->socks->used) &&
	       !atomic_load(&rt->socks->token);
}

void molt__socks_poke(molt_runtime *rt, int force)
{
	molt__socks *t = rt->socks;
	uint64_t one = 1;

	if (!t)
		return;
	if (!force && (!atomic_load(&rt->sched.polling) ||
		       atomic_load_explicit(&t->poked, memory_order_relaxed) ||
		       atomic_exchange(&t->poked, 1)))
		return; /* nobody waits, or it is poked already */
	if (write(t->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		molt_log(MOLT_LOG_WARN, "sock", "cannot wake the poller: %s",
			 strerror(errno));
}

int molt__socks_poll(molt_runtime *rt, int timeout_ms)
{
	molt__socks *t = rt->socks;
	struct epoll_event *ev = t->events;
	uint64_t count;
	int n;

	do
		n = epoll_wait(t->epfd, ev, POLL_EVENTS, timeout_ms);
	while (n < 0 && errno == EINTR && timeout_ms < 0);
	atomic_store(&rt->sched.polling, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == 0) { /* the eventfd: a poke */
			if (read(t->wake, &count, sizeof(count)) < 0 &&
			    errno != EAGAIN)
				molt_log(MOLT_LOG_WARN, "sock",
					 "cannot read the poller's eventfd: "
					 "%s",
					 strerror(errno));
			atomic_store(&t->poked, 0);
			continue;
		}
		ready(rt, ev[i].data.u64, ev[i].events, t->buf);
	}
	atomic_store(&t->token, 0);
	return n < 0 ? 0 : n;
}

int molt__socks_init(molt_runtime *rt)
{
	molt__socks *t = molt_calloc(1, sizeof(*t));
	struct epoll_event ev = {0};

	if (!t)
		return MOLT_ENOMEM;
	pthread_mutex_init(&t->mu, NULL);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->buf = molt_malloc(READ_CHUNK);
	t->events = molt_calloc(POLL_EVENTS, sizeof(struct epoll_event));
	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	if (t->epfd < 0 || t->wake < 0 || !t->buf || !t->events ||
	    epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake, &ev) < 0) {
		int rc = !t->buf || !t->events ? MOLT_ENOMEM : MOLT_EIO;

		if (t->epfd >= 0)
			close(t->epfd);
		if (t->wake >= 0)
			close(t->wake);
		molt_free(t->buf);
		molt_free(t->events);
		pthread_mutex_destroy(&t->mu);
		molt_free(t);
		return rc;
	}
	rt->socks = t;
	return MOLT_OK;
}

void molt__socks_free(molt_runtime *rt)
{
	molt__socks *t = rt->socks;

	if (!t)
		return;
	for (uint32_t i = 0; i < t->cap; i++) {
		molt__sock *s = t->slot[i];

		if (s->fd >= 0)
			close(s->fd); /* every owner has exited: unlisted */
		molt_buf_release(&s->out);
		pthread_mutex_destroy(&s->mu);
		molt_free(s);
	}
	molt_free(t->slot);
	close(t->epfd);
	close(t->wake);
	molt_free(t->buf);
	molt_free(t->events);
	pthread_mutex_destroy(&t->mu);
	molt_free(t);
	rt->socks = NULL;
}

#define EXIT_BATCH 64

/* Take up to EXIT_BATCH of p's sockets off its list, their links cleared
 * under p's lock (a disown racing with us then finds nothing to unlink);
 * returns how many. */
static size_t take_some(molt_proc *p, molt_sock *ids)
{
	size_t n = 0;

	molt__spin_lock(&p->lock);
	/* from here an accept or a give to p closes the socket instead */
	molt__pf_set(p, MOLT__PF_NOSOCK);
	while (p->socks && n < EXIT_BATCH) {
		molt__sock *s = p->socks;

		p->socks = s->onext;
		s->onext = s->oprev = NULL;
		/* the name may be stale by the time it is used: lookup checks
		 */
		ids[n++] = name_of(s);
	}
	if (p->socks)
		p->socks->oprev = NULL;
	molt__spin_unlock(&p->lock);
	return n;
}

void molt__socks_owner_exit(molt_runtime *rt, molt_proc *p)
{
	molt_sock ids[EXIT_BATCH];
	molt_pid pid = p->pid;
	size_t n;

	while ((n = take_some(p, ids)) > 0)
		for (size_t i = 0; i < n; i++) {
			molt__sock *s = lookup(rt->socks, ids[i]);
			int closed;

			if (!s)
				continue;
			closed = s->owner == pid && sock_close(rt, s, 0);
			pthread_mutex_unlock(&s->mu);
			if (closed)
				slot_release(rt->socks, s);
		}
}

/* --- module.h --- */

/* s named by id, locked, if the calling process owns it; else NULL with
 * *rc the error. */
static molt__sock *mine(molt_ctx *ctx, molt_sock id, int *rc)
{
	molt__sock *s;

	if (!ctx || !ctx->p) {
		*rc = MOLT_EINVAL; /* only a process owns sockets */
		return NULL;
	}
	if (!(s = lookup(ctx->rt->socks, id))) {
		*rc = MOLT_ECLOSED;
		return NULL;
	}
	if (s->owner != ctx->p->pid) {
		pthread_mutex_unlock(&s->mu);
		*rc = MOLT_EINVAL;
		return NULL;
	}
	return s;
}

static int parse_addr(struct sockaddr_storage *sa, socklen_t *len,
		      const char *addr, unsigned port)
{
	struct sockaddr_in *a4 = (void *)sa;
	struct sockaddr_in6 *a6 = (void *)sa;

	memset(sa, 0, sizeof(*sa));
	if (!addr || strcmp(addr, "localhost") == 0)
		addr = "127.0.0.1";
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return MOLT_OK;
	}
	if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return MOLT_OK;
	}
	return MOLT_EINVAL;
}

int molt_tcp_listen(molt_ctx *ctx, molt_sock *out, const char *addr,
		    unsigned port, int backlog)
{
	struct sockaddr_storage sa;
	socklen_t len;
	molt__sock *s;
	int fd, one = 1;

	if (!ctx || !ctx->p || !out || port > 65535)
		return MOLT_EINVAL;
	if (parse_addr(&sa, &len, addr, port) < 0)
		return MOLT_EINVAL;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return MOLT_EIO;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 ||
	    listen(fd, backlog > 0 ? backlog : BACKLOG_DFLT) < 0) {
		int e = errno;

		close(fd);
		return e == EADDRINUSE ? MOLT_EBUSY : MOLT_EIO;
	}
	if (!(s = sock_new(ctx->rt, fd, 1, ctx->p->pid))) {
		close(fd);
		return MOLT_ENOMEM;
	}
	names(s);
	if (watch_fd(ctx->rt, s) < 0 || !own(ctx->rt, s, ctx->p->pid)) {
		sock_close(ctx->rt, s, 0);
		pthread_mutex_unlock(&s->mu);
		slot_release(ctx->rt->socks, s);
		return MOLT_EIO;
	}
	charge(ctx->rt, s);
	*out = name_of(s);
	pthread_mutex_unlock(&s->mu);
	return MOLT_OK;
}

int molt_tcp_connect(molt_ctx *ctx, molt_sock *out, const char *addr,
		     unsigned port)
{
	struct sockaddr_storage sa;
	socklen_t len;
	molt__sock *s;
	int fd, rc;

	if (!ctx || !ctx->p || !out || port == 0 || port > 65535 ||
	    parse_addr(&sa, &len, addr, port) < 0)
		return MOLT_EINVAL;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return MOLT_EIO;
	rc = connect(fd, (struct sockaddr *)&sa, len);
	if (rc < 0 && errno != EINPROGRESS) {
		close(fd);
		return MOLT_ECLOSED;
	}
	if (!(s = sock_new(ctx->rt, fd, 0, ctx->p->pid))) {
		close(fd);
		return MOLT_ENOMEM;
	}
	if (watch_fd(ctx->rt, s) < 0 || !own(ctx->rt, s, ctx->p->pid)) {
		sock_close(ctx->rt, s, 0);
		pthread_mutex_unlock(&s->mu);
		slot_release(ctx->rt->socks, s);
		return MOLT_EIO;
	}
	/* up at once (loopback may be) or later: either way the poller sees
	 * it writable and says CONNECTED */
	s->connecting = 1;
	charge(ctx->rt, s);
	*out = name_of(s);
	pthread_mutex_unlock(&s->mu);
	return MOLT_OK;
}

int molt_sock_port(molt_ctx *ctx, molt_sock id)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int rc = MOLT_OK;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	if (getsockname(s->fd, (struct sockaddr *)&a, &len) < 0)
		rc = MOLT_EIO;
	else if (a.ss_family == AF_INET)
		rc = ntohs(((struct sockaddr_in *)&a)->sin_port);
	else
		rc = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/*
 * The owner asks for events: what the poller reported while nobody asked
 * (rd_ready) is read now, on the owner's thread, and arrives as the next
 * message; 1 if s was closed (s->mu held).
 */
static int pull(molt_runtime *rt, molt__sock *s)
{
	char buf[PULL_CHUNK];

	if (!s->rd_ready)
		return 0;
	if (s->listener) {
		accept_some(rt, s);
		return 0;
	}
	if (!s->active || s->peer_done || s->connecting)
		return 0;
	if (read_some(rt, s, buf, sizeof(buf)))
		return 1;
	charge(rt, s);
	return 0;
}

int molt_sock_active(molt_ctx *ctx, molt_sock id, unsigned n)
{
	int rc = MOLT_OK, closed;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	s->active = n;
	closed = pull(ctx->rt, s);
	pthread_mutex_unlock(&s->mu);
	if (closed)
		slot_release(ctx->rt->socks, s);
	return MOLT_OK;
}

int molt_sock_send(molt_ctx *ctx, molt_sock id, const void *data, size_t len)
{
	int rc = MOLT_OK, e;
	size_t n = 0;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	if (s->listener || s->broken) {
		pthread_mutex_unlock(&s->mu);
		return s->listener ? MOLT_EINVAL : MOLT_ECLOSED;
	}
	/* one send may pass the limit when nothing is queued, so a reply
	 * bigger than the limit still goes */
	if (s->out.len > s->out_off &&
	    s->out.len - s->out_off + len > s->sendq_max) {
		s->refused = 1; /* SENT when the queue drains (EPOLLOUT) */
		pthread_mutex_unlock(&s->mu);
		return MOLT_EBUSY;
	}
	if (s->out.len == s->out_off && !s->connecting) {
		/* nothing waits: the kernel first, the queue for the rest
		 * (all of it on an error: flush meets it again, and the
		 * poller then reports it and closes the socket) */
		n = send_now(s, data, len);
		data = (const char *)data + n;
		len -= n;
	}
	if (len && enqueue(s, data, len) < 0) {
		/* the peer got a part of data and never gets the rest */
		s->broken = n > 0;
		pthread_mutex_unlock(&s->mu);
		return MOLT_ENOMEM;
	}
	if (!s->connecting && (e = flush(s)) != 0) {
		s->broken = 1;
		rc = MOLT_ECLOSED;
	}
	charge(ctx->rt, s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Hand what s still has queued to the kernel before s is closed: its send
 * buffer grows to hold it (up to LINGER_MAX), and the kernel delivers it
 * after close() as it does any unsent data. What does not fit is dropped.
 * (s->mu held.) */
static void linger_queue(molt__sock *s)
{
	size_t left = s->out.len - s->out_off;
	int size;
	socklen_t len = sizeof(size);

	if (s->broken || s->listener || !left)
		return;
	if (getsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, &len) == 0 &&
	    size >= 0 && (size_t)size < left + (size_t)size / 2) {
		size = (int)(left + (size_t)size < LINGER_MAX
				     ? left + (size_t)size
				     : LINGER_MAX);
		setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	(void)flush(s);
}

int molt_sock_close(molt_ctx *ctx, molt_sock id)
{
	int rc = MOLT_OK, closed;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	linger_queue(s);
	closed = sock_close(ctx->rt, s, 1);
	pthread_mutex_unlock(&s->mu);
	if (closed)
		slot_release(ctx->rt->socks, s);
	return MOLT_OK;
}

int molt_sock_give(molt_ctx *ctx, molt_sock id, molt_pid to)
{
	int rc = MOLT_OK;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	if (to != s->owner) {
		/* the charge moves with the socket */
		atomic_fetch_sub_explicit(&ctx->p->heap_bytes, s->charged,
					  memory_order_relaxed);
		s->charged = 0;
		disown(ctx->rt, s);
		if (!own(ctx->rt, s, to)) {
			/* the receiver is gone: it stays ours */
			own(ctx->rt, s, ctx->p->pid);
			rc = MOLT_ECLOSED;
		}
		charge(ctx->rt, s);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int molt_sock_setopt(molt_ctx *ctx, molt_sock id, int opt, long value)
{
	int rc = MOLT_OK, v = (int)value;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	if (value < 0 || value > (1L << 30))
		rc = MOLT_EINVAL;
	else if (opt == MOLT_SO_NODELAY)
		rc = setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
	else if (opt == MOLT_SO_KEEPALIVE)
		rc = setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
	else if (opt == MOLT_SO_RCVBUF)
		rc = setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	else if (opt == MOLT_SO_SNDBUF)
		rc = setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	else if (opt == MOLT_SO_SENDQ)
		s->sendq_max = (size_t)value;
	else if (opt == MOLT_SO_EXIT_ON_CLOSE && value <= 1 && !s->listener)
		s->keep_open = !value;
	else
		rc = MOLT_EINVAL;
	pthread_mutex_unlock(&s->mu);
	return rc < 0 && rc != MOLT_EINVAL ? MOLT_EIO : rc;
}

int molt_sock_name(molt_ctx *ctx, molt_sock id, int local, char *buf,
		   size_t size)
{
	int rc = MOLT_OK;
	molt__sock *s = mine(ctx, id, &rc);

	if (!s)
		return rc;
	snprintf(buf, size, "%s", local ? s->local : s->peer);
	pthread_mutex_unlock(&s->mu);
	return MOLT_OK;
}

/* --- runtime.h --- */

size_t molt_runtime_sockets(molt_runtime *rt, molt_sock_info *out, size_t max)
{
	molt__socks *t = rt->socks;
	size_t n = 0;
	uint32_t cap;

	pthread_mutex_lock(&t->mu);
	cap = t->cap;
	pthread_mutex_unlock(&t->mu);
	for (uint32_t i = 0; i < cap; i++) {
		molt__sock *s;

		pthread_mutex_lock(&t->mu);
		s = t->slot[i];
		pthread_mutex_unlock(&t->mu);
		pthread_mutex_lock(&s->mu);
		if (s->fd >= 0 && n < max) {
			molt_sock_info *o = &out[n];

			o->sock = name_of(s);
			o->owner = s->owner;
			o->listener = s->listener;
			snprintf(o->local, sizeof(o->local), "%s", s->local);
			snprintf(o->peer, sizeof(o->peer), "%s", s->peer);
			o->active = s->active;
			o->queued = s->out.len - s->out_off;
			o->bytes_in = s->bytes_in;
			o->bytes_out = s->bytes_out;
		}
		n += s->fd >= 0;
		pthread_mutex_unlock(&s->mu);
	}
	return n;
}
