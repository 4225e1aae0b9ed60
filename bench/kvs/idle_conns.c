/*
 * idle_conns: hold N idle TCP connections to a Redis-protocol server on
 * 127.0.0.1, for the memory-per-idle-connection figure of
 * bench/kvs/run.sh (docs/benchmarks.md, issue 10).
 *
 *   idle_conns PORT N
 *
 * Raises RLIMIT_NOFILE to its hard limit, opens N connections with
 * nonblocking connects (at most INFLIGHT at a time, so the server's
 * listen backlog does not overflow), then prints "connected C failed F"
 * on stdout and sends nothing. Each line read from stdin afterwards is a
 * command: "ping" sends one PING on every connection and prints
 * "answered A" once A connections have answered +PONG (or after
 * PING_TIMEOUT_MS). End of stdin closes everything and exits (0, or 1 if a
 * step failed). A connection the client has finished connecting may still
 * sit in the server's accept queue: the caller counts the server's side.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "molt/banned.h"

#define INFLIGHT	   256	 /* connects in progress at once */
#define CONNECT_TIMEOUT_MS 30000 /* for all N connects */
#define PING_TIMEOUT_MS	   30000 /* for all N replies */

static const char ping[] = "*1\r\n$4\r\nPING\r\n";
static const char pong[] = "+PONG\r\n";

typedef struct conn {
	int fd;	    /* -1 once failed */
	int state;  /* CONNECTING, IDLE, WAITING, ANSWERED */
	size_t got; /* bytes of the reply read so far */
} conn;

enum { CONNECTING, IDLE, WAITING, ANSWERED };

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int raise_nofile(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < n + 16) {
		fprintf(stderr, "idle_conns: RLIMIT_NOFILE %ld < %ld\n",
			(long)rl.rlim_cur, n + 16);
		return -1;
	}
	return 0;
}

/* Start one nonblocking connect; the conn's index is the epoll data. */
static int start_connect(int ep, conn *c, long i, unsigned short port)
{
	struct sockaddr_in sa;
	struct epoll_event ev;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	c->state = CONNECTING;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS)
		goto out_close;
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t)i;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		goto out_close;
	return 0;
out_close:
	close(c->fd);
	c->fd = -1;
	return -1;
}

/* A connect finished (or failed): the conn becomes IDLE or is dropped. */
static int finish_connect(int ep, conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
	    soerr != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->state = IDLE;
	return 0;
}

/* Open n connections; returns how many are up, *failed the others. */
static long connect_all(conn *cs, long n, unsigned short port, long *failed)
{
	struct epoll_event evs[64];
	long next = 0, pending = 0, up = 0,
	     deadline = now_ms() + CONNECT_TIMEOUT_MS;
	int ep = epoll_create1(0), k, i;

	*failed = 0;
	while ((next < n || pending > 0) && now_ms() < deadline && ep >= 0) {
		for (; next < n && pending < INFLIGHT; next++) {
			if (start_connect(ep, &cs[next], next, port) == 0)
				pending++;
			else
				++*failed;
		}
		k = epoll_wait(ep, evs, 64, 100);
		for (i = 0; i < k; i++, pending--) {
			if (finish_connect(ep, &cs[evs[i].data.u64]) == 0)
				up++;
			else
				++*failed;
		}
	}
	*failed = n - up;
	if (ep >= 0)
		close(ep);
	return up;
}

/* Read what one WAITING conn has; 1 when its +PONG is complete. */
static int read_reply(conn *c)
{
	char buf[64];
	ssize_t r = read(c->fd, buf, sizeof(buf));

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0 || c->got + (size_t)r > sizeof(pong) - 1 ||
	    memcmp(buf, pong + c->got, (size_t)r) != 0)
		return -1;
	c->got += (size_t)r;
	if (c->got < sizeof(pong) - 1)
		return 0;
	c->state = ANSWERED;
	return 1;
}

/* Send PING on every IDLE conn; returns how many answered +PONG. */
static long ping_all(conn *cs, long n)
{
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	long i, sent = 0, answered = 0, deadline = now_ms() + PING_TIMEOUT_MS;
	int ep = epoll_create1(0), k, j;

	for (i = 0; i < n && ep >= 0; i++) {
		if (cs[i].state != IDLE)
			continue;
		ev.data.u64 = (uint64_t)i;
		if (write(cs[i].fd, ping, sizeof(ping) - 1) !=
			    (ssize_t)sizeof(ping) - 1 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) != 0)
			continue;
		cs[i].state = WAITING;
		cs[i].got = 0;
		sent++;
	}
	while (answered < sent && now_ms() < deadline && ep >= 0) {
		k = epoll_wait(ep, evs, 64, 100);
		for (j = 0; j < k; j++) {
			conn *c = &cs[evs[j].data.u64];
			int r = read_reply(c);

			if (r != 0)
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			answered += r > 0;
			sent -= r < 0;
		}
	}
	for (i = 0; i < n; i++)
		if (cs[i].state == ANSWERED || cs[i].state == WAITING)
			cs[i].state = IDLE;
	if (ep >= 0)
		close(ep);
	return answered;
}

int main(int argc, char **argv)
{
	char line[64];
	long n, up, failed, answered, i;
	int rc = 0;
	conn *cs;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: idle_conns PORT N\n");
		return 2;
	}
	if (raise_nofile(n) != 0 || !(cs = calloc((size_t)n, sizeof(*cs)))) {
		perror("idle_conns");
		return 1;
	}
	for (i = 0; i < n; i++)
		cs[i].fd = -1;
	up = connect_all(cs, n, (unsigned short)atoi(argv[1]), &failed);
	printf("connected %ld failed %ld\n", up, failed);
	fflush(stdout);
	rc |= failed != 0;
	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "ping\n") != 0)
			continue;
		answered = ping_all(cs, n);
		printf("answered %ld\n", answered);
		fflush(stdout);
		rc |= answered != up;
	}
	for (i = 0; i < n; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	free(cs);
	return rc;
}
