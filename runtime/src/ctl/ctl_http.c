/* The metrics endpoint: a tiny HTTP/1.1 responder for GET /metrics.
 *
 * One thread polls the listening socket, a wake pipe and at most
 * MAX_CLIENTS connections. Every connection is bounded: its request
 * (line and headers) must fit in REQ_MAX bytes and arrive, and its reply
 * be read, within CLIENT_MS; then it is closed whatever it did. A reply
 * is built whole before it is sent, so a slow reader costs one buffer,
 * never a wait. Only GET and HEAD of /metrics are served (anything else:
 * 400, 404, 405 or 431, then close); one request per connection. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "molt/buf.h"
#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "ctl.h"

#include "molt/banned.h"

#define MAX_CLIENTS 16
#define REQ_MAX	    8192
#define CLIENT_MS   5000u
#define TICK_MS	    100

typedef struct hclient {
	int fd;		   /* connection, -1 if the slot is free */
	uint64_t start_ms; /* accepted at (monotonic) */
	char in[REQ_MAX];  /* the request so far */
	size_t n;	   /* bytes in in */
	molt_buf out;	   /* the reply, once built */
	size_t sent;	   /* bytes of out written */
	int replying;	   /* out is built: write it, then close */
} hclient;

struct molt_metrics {
	molt_runtime *rt;	      /* the runtime */
	int lfd;		      /* listening socket */
	int wake[2];		      /* pipe: stop */
	pthread_t thread;	      /* the responder */
	char addr[128];		      /* what it is bound to */
	hclient clients[MAX_CLIENTS]; /* connections */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void client_close(hclient *c)
{
	close(c->fd);
	c->fd = -1;
	c->n = 0;
	c->sent = 0;
	c->replying = 0;
	molt_buf_release(&c->out);
}

static void reply(molt_metrics *m, hclient *c, int status, const char *reason,
		  int head)
{
	molt_buf body = MOLT_BUF_INIT;

	if (status == 200)
		molt__ctl_metrics_text(m->rt, &body);
	else
		molt_buf_printf(&body, "%d %s\n", status, reason);
	molt_buf_init(&c->out);
	molt_buf_printf(&c->out,
			"HTTP/1.1 %d %s\r\n"
			"Content-Type: %s\r\n"
			"Content-Length: %zu\r\n"
			"Connection: close\r\n\r\n",
			status, reason,
			status == 200 ? "text/plain; version=0.0.4; "
					"charset=utf-8"
				      : "text/plain; charset=utf-8",
			body.len);
	if (!head)
		molt_buf_put(&c->out, body.ptr, body.len);
	molt_buf_release(&body);
	c->replying = 1;
	c->sent = 0;
}

/* The request's end (an empty line) is in c->in: answer it. */
static void handle_request(molt_metrics *m, hclient *c)
{
	char method[8], target[256], version[16];
	char *sp1, *sp2, *eol;
	size_t len;
	int head;

	c->in[c->n < REQ_MAX ? c->n : REQ_MAX - 1] = '\0';
	eol = strpbrk(c->in, "\r\n");
	sp1 = memchr(c->in, ' ', eol ? (size_t)(eol - c->in) : 0);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!eol || !sp1 || !sp2 || (size_t)(sp1 - c->in) >= sizeof(method) ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof(target) ||
	    (size_t)(eol - sp2 - 1) >= sizeof(version))
		return reply(m, c, 400, "Bad Request", 0);
	memcpy(method, c->in, (size_t)(sp1 - c->in));
	method[sp1 - c->in] = '\0';
	len = (size_t)(sp2 - sp1 - 1);
	memcpy(target, sp1 + 1, len);
	target[len] = '\0';
	memcpy(version, sp2 + 1, (size_t)(eol - sp2 - 1));
	version[eol - sp2 - 1] = '\0';
	if (strncmp(version, "HTTP/1.", 7) != 0)
		return reply(m, c, 400, "Bad Request", 0);
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0)
		return reply(m, c, 405, "Method Not Allowed", 0);
	target[strcspn(target, "?")] = '\0';
	if (strcmp(target, "/metrics") != 0)
		return reply(m, c, 404, "Not Found", head);
	reply(m, c, 200, "OK", head);
}

static int request_done(const hclient *c)
{
	for (size_t i = 0; i + 1 < c->n; i++) {
		if (c->in[i] == '\n' && c->in[i + 1] == '\n')
			return 1;
		if (i + 3 < c->n && memcmp(c->in + i, "\r\n\r\n", 4) == 0)
			return 1;
	}
	return 0;
}

static void client_read(molt_metrics *m, hclient *c)
{
	ssize_t r = recv(c->fd, c->in + c->n, REQ_MAX - 1 - c->n, 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0)
		return client_close(c);
	c->n += (size_t)r;
	if (request_done(c))
		handle_request(m, c);
	else if (c->n >= REQ_MAX - 1)
		reply(m, c, 431, "Request Header Fields Too Large", 0);
}

static void client_write(hclient *c)
{
	ssize_t w = send(c->fd, c->out.ptr + c->sent, c->out.len - c->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w < 0)
		return client_close(c);
	c->sent += (size_t)w;
	if (c->sent == c->out.len) {
		shutdown(c->fd, SHUT_WR);
		client_close(c);
	}
}

static void accept_one(molt_metrics *m)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
				   "Content-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	char drain[512];

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		hclient *c = &m->clients[i];

		if (c->fd < 0) {
			c->fd = fd;
			c->start_ms = mono_ms();
			c->n = 0;
			c->replying = 0;
			return;
		}
	}
	/* full: say so if the socket takes it now, and go (what the
	 * client sent already is read first, so the close is not a reset) */
	while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
		;
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0;
	close(fd);
}

static void *http_main(void *arg)
{
	molt_metrics *m = arg;
	struct pollfd pfd[MAX_CLIENTS + 2];
	int map[MAX_CLIENTS + 2];

	for (;;) {
		nfds_t n = 0;
		uint64_t now = mono_ms();

		pfd[n++] = (struct pollfd){m->wake[0], POLLIN, 0};
		pfd[n++] = (struct pollfd){m->lfd, POLLIN, 0};
		for (int i = 0; i < MAX_CLIENTS; i++) {
			hclient *c = &m->clients[i];

			if (c->fd < 0)
				continue;
			if (now - c->start_ms > CLIENT_MS) {
				client_close(c); /* too slow: gone */
				continue;
			}
			map[n] = i;
			pfd[n++] = (struct pollfd){
				c->fd, c->replying ? POLLOUT : POLLIN, 0};
		}
		if (poll(pfd, n, TICK_MS) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			accept_one(m);
		for (nfds_t k = 2; k < n; k++) {
			hclient *c = &m->clients[map[k]];

			if (c->fd < 0 || !pfd[k].revents)
				continue;
			if (c->replying)
				client_write(c);
			else if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(m, c);
		}
	}
	return NULL;
}

/* addr into host and port: "PORT", "HOST:PORT" or "[HOST6]:PORT". */
static int split_addr(const char *addr, char *host, size_t hsize, char *port,
		      size_t psize)
{
	const char *colon = strrchr(addr, ':');
	size_t hl;

	if (!colon) {
		snprintf(host, hsize, "127.0.0.1");
		return snprintf(port, psize, "%s", addr) < (int)psize ? 0 : -1;
	}
	hl = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hl < 2 || addr[hl - 1] != ']')
			return -1;
		addr++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hsize)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	return snprintf(port, psize, "%s", colon + 1) < (int)psize ? 0 : -1;
}

static int bind_addr(molt_metrics *m, const char *addr, molt_err *err)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
					     AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64], port[16], h[64], p[16];
	int one = 1;

	if (split_addr(addr, host, sizeof(host), port, sizeof(port)) < 0 ||
	    !port[0] || getaddrinfo(host, port, &hints, &ai) != 0)
		return molt_err_set(
			err, MOLT_EINVAL,
			"metrics address '%s': give PORT, ADDR:PORT "
			"or [ADDR6]:PORT, numeric",
			addr);
	m->lfd = socket(ai->ai_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 ||
	    setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(m->lfd, 64) != 0 ||
	    getsockname(m->lfd, (struct sockaddr *)&ss, &sl) != 0) {
		int e = errno;

		freeaddrinfo(ai);
		if (m->lfd >= 0)
			close(m->lfd);
		return molt_err_set(err, MOLT_EIO,
				    "metrics: cannot listen on %s: %s", addr,
				    strerror(e));
	}
	freeaddrinfo(ai);
	if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(h, sizeof(h), "?");
	snprintf(m->addr, sizeof(m->addr),
		 ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
	return MOLT_OK;
}

/* root/run/metrics.addr: the address, for scripts (and tests). */
static void write_addr_file(const molt_metrics *m, const char *root)
{
	char path[4096], tmp[4200];
	FILE *f;

	if (!root || snprintf(path, sizeof(path), "%s/run/metrics.addr",
			      root) >= (int)sizeof(path))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", m->addr);
	if (fclose(f) == 0)
		rename(tmp, path);
}

int molt_metrics_open(molt_metrics **out, molt_runtime *rt, const char *addr,
		      const char *root, molt_err *err)
{
	molt_metrics *m = molt_calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	m->rt = rt;
	for (int i = 0; i < MAX_CLIENTS; i++)
		m->clients[i].fd = -1;
	if ((rc = bind_addr(m, addr, err)) < 0) {
		molt_free(m);
		return rc;
	}
	if (pipe2(m->wake, O_CLOEXEC) != 0) {
		close(m->lfd);
		molt_free(m);
		return molt_err_set(err, MOLT_EIO, "metrics: no pipe");
	}
	if (pthread_create(&m->thread, NULL, http_main, m) != 0) {
		close(m->lfd);
		close(m->wake[0]);
		close(m->wake[1]);
		molt_free(m);
		return molt_err_set(err, MOLT_EIO, "metrics: no thread");
	}
	write_addr_file(m, root);
	molt_log(MOLT_LOG_INFO, "metrics", "serving /metrics on http://%s",
		 m->addr);
	*out = m;
	return MOLT_OK;
}

void molt_metrics_close(molt_metrics *m)
{
	if (!m)
		return;
	if (write(m->wake[1], "x", 1) < 0)
		(void)0; /* the thread also stops on a closed pipe */
	pthread_join(m->thread, NULL);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (m->clients[i].fd >= 0)
			client_close(&m->clients[i]);
	close(m->lfd);
	close(m->wake[0]);
	close(m->wake[1]);
	molt_free(m);
}
