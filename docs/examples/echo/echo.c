/*
 * echo: a TCP echo server, one process per connection.
 *
 * Spawned with args "listen PORT" it is the listener: it listens on
 * 127.0.0.1:PORT (0: any free port), registers as "echo", answers the
 * call "port", and for each connection spawns another echo process and
 * gives it the socket. Spawned with args "conn" it serves one connection:
 * it sends back every byte it receives, and exits when the peer closes.
 */
#include <molt/common.h>
#include <molt/module.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct echo_state {
	int listener;	/* 1: the listener, 0: a connection */
	molt_sock sock; /* the listening socket, or the connection */
	long bytes;	/* bytes echoed (a connection) */
	char *held;	/* bytes the send queue refused, to send again */
	size_t held_len;
} echo_state;

static int init(molt_ctx *ctx, const void *args, size_t len, void **state)
{
	echo_state *st = molt_proc_alloc(ctx, sizeof(*st));
	char text[32];

	if (!st)
		return -1;
	memset(st, 0, sizeof(*st));
	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)args);
	if (strncmp(text, "listen ", 7) == 0) {
		st->listener = 1;
		if (molt_tcp_listen(ctx, &st->sock, "127.0.0.1",
				    (unsigned)atoi(text + 7), 0) < 0 ||
		    molt_register(ctx, "echo") < 0)
			return -1;
		/* ask for connections: each one comes as MOLT_TCP_ACCEPTED */
		molt_sock_active(ctx, st->sock, 16);
	}
	*state = st;
	return MOLT_CB_OK;
}

static int handle_call(molt_ctx *ctx, const molt_msg *req, molt_from from,
		       void **state)
{
	echo_state *st = *state;
	char port[16];
	int n;

	if (!st->listener || req->len != 4 || memcmp(req->data, "port", 4) != 0)
		return molt_reply(ctx, from, "unknown request", 15);
	n = snprintf(port, sizeof(port), "%d", molt_sock_port(ctx, st->sock));
	return molt_reply(ctx, from, port, (size_t)n);
}

/* The listener: a new connection goes to a process of its own. */
static int accepted(molt_ctx *ctx, echo_state *st, molt_sock conn)
{
	molt_pid pid;

	if (molt_spawn(ctx, &pid, "echo", "conn", 4, 0) < 0 ||
	    molt_sock_give(ctx, conn, pid) < 0) {
		molt_sock_close(ctx, conn);
		return MOLT_CB_OK; /* that client is dropped; others go on */
	}
	/* tell the new process which socket is now its own */
	molt_send(ctx, pid, &conn, sizeof(conn));
	/* and keep accepting */
	return molt_sock_active(ctx, st->sock, 16) < 0 ? -1 : MOLT_CB_OK;
}

/* A connection: echo the bytes, then ask for the next ones. When the send
 * queue is full, keep them, and do not ask for more until they went. */
static int echo_back(molt_ctx *ctx, echo_state *st, const char *data,
		     size_t len)
{
	int rc = molt_sock_send(ctx, st->sock, data, len);

	if (rc == MOLT_EBUSY) {
		st->held = molt_proc_alloc(ctx, len);
		if (!st->held)
			return -1;
		memcpy(st->held, data, len);
		st->held_len = len;
		return MOLT_CB_OK; /* MOLT_TCP_SENT will say when to go on */
	}
	if (rc < 0) {
		molt_stop(ctx, "normal");
		return MOLT_CB_OK;
	}
	st->bytes += (long)len;
	return molt_sock_active(ctx, st->sock, 1);
}

/* The queue drained: the held bytes go now. */
static int drained(molt_ctx *ctx, echo_state *st)
{
	char *held = st->held;
	int rc;

	if (!held)
		return molt_sock_active(ctx, st->sock, 1);
	st->held = NULL;
	rc = echo_back(ctx, st, held, st->held_len);
	molt_proc_free(ctx, held);
	return rc;
}

static int handle_info(molt_ctx *ctx, const molt_msg *m, void **state)
{
	echo_state *st = *state;

	if (m->kind == MOLT_MSG_INFO && m->len == sizeof(molt_sock)) {
		/* from the listener: our connection */
		memcpy(&st->sock, m->data, sizeof(st->sock));
		return molt_sock_active(ctx, st->sock, 1);
	}
	if (m->kind != MOLT_MSG_TCP)
		return MOLT_CB_OK;
	switch (m->tcp) {
	case MOLT_TCP_ACCEPTED:
		return accepted(ctx, st, m->sock);
	case MOLT_TCP_DATA:
		return echo_back(ctx, st, m->data, m->len);
	case MOLT_TCP_SENT:
		return drained(ctx, st);
	default: /* closed by the peer, or an error: the socket is gone */
		molt_stop(ctx, "normal");
		return MOLT_CB_OK;
	}
}

static void free_state(molt_ctx *ctx, void *state)
{
	echo_state *st = state;

	molt_proc_free(ctx, st->held);
	molt_proc_free(ctx, st);
}

static size_t format_state(const void *state, char *buf, size_t size)
{
	const echo_state *st = state;
	int n = snprintf(buf, size, "{%s, bytes %ld}",
			 st->listener ? "listener" : "connection", st->bytes);

	return n < 0 ? 0 : (size_t)n;
}

MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER, .name = "echo",
		   .vsn = "1.0.0", .init = init, .handle_call = handle_call,
		   .handle_info = handle_info, .free_state = free_state,
		   .format_state = format_state);
