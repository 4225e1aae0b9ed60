/* bench_proc: the module every molt benchmark process runs. Its spawn
 * args (bench_args) pick a role; see bench_proc.h. */
#include "bench_proc.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "molt/module.h"

#include "molt/banned.h"

/* Idle processes a SPAWNER spawns per turn before it yields. */
#define CHUNK 1000

/* The state of every role but IDLE (which has none). */
typedef struct bstate {
	bench_args args; /* what it was spawned with */
	molt_pid next;	 /* RING: where the token goes */
	molt_from from;	 /* the call to answer later */
	int waiting;	 /* from is set */
	uint64_t count;	 /* SPAWNER: spawned; SINK: casts; CALLER: calls */
	uint64_t t0;	 /* CALLER: when the call in flight started (ns) */
	uint64_t *lat;	 /* CALLER: b latencies (ns), process heap */
	/* CLIENT */
	molt_pid *pids;	   /* the counters */
	uint64_t npids;	   /* how many */
	uint64_t rng;	   /* xorshift64 state */
	molt_ref inflight; /* the call in flight, or 0 */
	uint64_t mark;	   /* record calls ending after this (ns); 0: none */
	int stopping;	   /* STOP arrived: answer after the call in flight */
	bench_calls calls; /* totals */
	bench_call *rec;   /* records, process heap */
	uint64_t cap;	   /* room in rec */
} bstate;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int msg_of(const molt_msg *m, bench_msg *out)
{
	if (m->len != sizeof(*out))
		return -1;
	memcpy(out, m->data, sizeof(*out));
	return 0;
}

static int send_tag(molt_ctx *ctx, molt_pid to, uint32_t tag, uint64_t v)
{
	bench_msg m = {tag, 0, v};

	return molt_send(ctx, to, &m, sizeof(m));
}

static int b_init(molt_ctx *ctx, const void *args, size_t len, void **state_out)
{
	bench_args a;
	bstate *s;

	if (len != sizeof(a))
		return -1;
	memcpy(&a, args, sizeof(a));
	if (a.role == BENCH_IDLE) {
		*state_out = NULL;
		return MOLT_CB_OK;
	}
	if (!(s = molt_proc_alloc(ctx, sizeof(*s))))
		return -1;
	memset(s, 0, sizeof(*s));
	s->args = a;
	s->next = a.a;
	*state_out = s;
	return MOLT_CB_OK;
}

/* SPAWNER: spawn up to CHUNK idle processes, then continue in a new turn
 * (so that the scheduler's budget applies) or answer. */
static int spawn_chunk(molt_ctx *ctx, bstate *s)
{
	bench_args idle = {BENCH_IDLE, 0, 0, 0};
	uint64_t want = s->args.b;
	molt_pid pid;
	int i;

	for (i = 0; i < CHUNK && s->count < want; i++, s->count++)
		if (molt_spawn(ctx, &pid, "bench_proc", &idle, sizeof(idle),
			       0) < 0) {
			molt_crash(ctx, "spawn %llu failed",
				   (unsigned long long)s->count);
			return MOLT_CB_OK;
		}
	if (s->count < want)
		return send_tag(ctx, molt_self(ctx), BENCH_T_CHUNK, 0);
	s->waiting = 0;
	return molt_reply(ctx, s->from, &s->count, sizeof(s->count));
}

static int caller_next(molt_ctx *ctx, bstate *s)
{
	bench_msg ping = {BENCH_T_PING, 0, 0};
	molt_ref ref;

	s->t0 = now_ns();
	return molt_call_async(ctx, &ref, s->args.a, &ping, sizeof(ping), 5000);
}

/* CLIENT: call a random counter. */
static int client_next(molt_ctx *ctx, bstate *s)
{
	uint64_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	s->t0 = now_ns();
	return molt_call_async(ctx, &s->inflight, s->pids[x % s->npids], "incr",
			       4, BENCH_CLIENT_TIMEOUT_MS);
}

/* CLIENT: answer STOP with the totals and the records. */
static int client_answer(molt_ctx *ctx, bstate *s)
{
	size_t len = sizeof(s->calls) + s->calls.nrec * sizeof(bench_call);
	char *buf = molt_proc_alloc(ctx, len);
	int rc;

	if (!buf)
		return -1;
	memcpy(buf, &s->calls, sizeof(s->calls));
	if (s->calls.nrec)
		memcpy(buf + sizeof(s->calls), s->rec,
		       s->calls.nrec * sizeof(bench_call));
	rc = molt_reply(ctx, s->from, buf, len);
	molt_proc_free(ctx, buf);
	s->waiting = 0;
	return rc;
}

/* CLIENT: the call in flight ended (ok = answered). */
static int client_done(molt_ctx *ctx, bstate *s, const molt_msg *msg, int ok)
{
	uint64_t end = now_ns();

	if (msg->ref != s->inflight)
		return MOLT_CB_OK; /* not ours (a late reply) */
	s->inflight = 0;
	s->calls.total++;
	if (s->mark && end >= s->mark) {
		if (s->calls.nrec == s->cap) {
			uint64_t cap = s->cap ? 2 * s->cap : 4096;
			bench_call *r = molt_proc_realloc(ctx, s->rec,
							  cap * sizeof(*r));

			if (!r)
				return -1;
			s->rec = r;
			s->cap = cap;
		}
		s->rec[s->calls.nrec++] =
			(bench_call){s->t0, end - s->t0, (uint64_t)ok};
	}
	if (s->stopping)
		return client_answer(ctx, s);
	return client_next(ctx, s);
}

/* CLIENT: the counters' pids arrived; start calling. */
static int client_pids(molt_ctx *ctx, bstate *s, const molt_msg *msg)
{
	bench_msg m;
	size_t bytes;

	memcpy(&m, msg->data, sizeof(m));
	bytes = (size_t)m.v * sizeof(molt_pid);
	if (m.v == 0 || msg->len != sizeof(m) + bytes)
		return -1;
	if (!(s->pids = molt_proc_alloc(ctx, bytes)))
		return -1;
	memcpy(s->pids, (const char *)msg->data + sizeof(m), bytes);
	s->npids = m.v;
	s->rng = s->args.b | 1;
	return client_next(ctx, s);
}

static int b_call(molt_ctx *ctx, const molt_msg *req, molt_from from,
		  void **state)
{
	bstate *s = *state;
	bench_msg m;

	if (!s || msg_of(req, &m) < 0)
		return -1;
	switch (m.tag) {
	case BENCH_T_SPAWN:
		s->args.b = m.v;
		s->count = 0;
		s->from = from;
		s->waiting = 1;
		return spawn_chunk(ctx, s);
	case BENCH_T_GO: /* RING: start the token, answer when it is back */
		s->from = from;
		s->waiting = 1;
		return send_tag(ctx, s->next, BENCH_T_TOKEN, m.v);
	case BENCH_T_WAIT:
		if (s->count >= s->args.a)
			return molt_reply(ctx, from, &s->count,
					  sizeof(s->count));
		s->from = from;
		s->waiting = 1;
		return MOLT_CB_OK;
	case BENCH_T_PING:
		return molt_reply(ctx, from, "pong", 4);
	case BENCH_T_RUN:
		s->lat = molt_proc_alloc(ctx, s->args.b * sizeof(*s->lat) + 1);
		if (!s->lat)
			return -1;
		s->count = 0;
		s->from = from;
		s->waiting = 1;
		return caller_next(ctx, s);
	case BENCH_T_STOP:
		s->from = from;
		s->waiting = 1;
		if (s->inflight == 0)
			return client_answer(ctx, s);
		s->stopping = 1;
		return MOLT_CB_OK;
	default:
		return -1;
	}
}

static int b_cast(molt_ctx *ctx, const molt_msg *msg, void **state)
{
	bstate *s = *state;

	if (!s) /* IDLE */
		return MOLT_CB_OK;
	if (++s->count == s->args.a && s->waiting) {
		s->waiting = 0;
		return molt_reply(ctx, s->from, &s->count, sizeof(s->count));
	}
	(void)msg;
	return MOLT_CB_OK;
}

/* CALLER: a reply arrived; time it, start the next or answer RUN. */
static int caller_reply(molt_ctx *ctx, bstate *s)
{
	uint64_t total = BENCH_CALL_WARMUP + s->args.b;
	uint64_t dt = now_ns() - s->t0;

	if (s->count >= BENCH_CALL_WARMUP)
		s->lat[s->count - BENCH_CALL_WARMUP] = dt;
	if (++s->count < total)
		return caller_next(ctx, s);
	s->waiting = 0;
	return molt_reply(ctx, s->from, s->lat, s->args.b * sizeof(*s->lat));
}

static int sender_go(molt_ctx *ctx, bstate *s)
{
	bench_msg incr = {BENCH_T_INCR, 0, 0};
	uint64_t i;

	for (i = 0; i < s->args.b; i++)
		if (molt_cast(ctx, s->args.a, &incr, sizeof(incr)) < 0)
			return -1;
	return MOLT_CB_OK;
}

static int b_info(molt_ctx *ctx, const molt_msg *msg, void **state)
{
	bstate *s = *state;
	bench_msg m;

	if (!s) /* IDLE */
		return MOLT_CB_OK;
	if (msg->kind == MOLT_MSG_REPLY && s->args.role == BENCH_CALLER)
		return caller_reply(ctx, s);
	if (s->args.role == BENCH_CLIENT) {
		if (msg->kind == MOLT_MSG_REPLY ||
		    msg->kind == MOLT_MSG_TIMEOUT)
			return client_done(ctx, s, msg,
					   msg->kind == MOLT_MSG_REPLY);
		if (msg->kind == MOLT_MSG_INFO && msg->len > sizeof(m))
			return client_pids(ctx, s, msg);
	}
	if (msg->kind != MOLT_MSG_INFO || msg_of(msg, &m) < 0)
		return -1;
	switch (m.tag) {
	case BENCH_T_TOKEN:
		if (m.v > 1)
			return send_tag(ctx, s->next, BENCH_T_TOKEN, m.v - 1);
		if (!s->waiting) /* hops not a multiple of the ring size */
			return -1;
		s->waiting = 0;
		return molt_reply(ctx, s->from, &m.v, sizeof(m.v));
	case BENCH_T_NEXT:
		s->next = m.v;
		return MOLT_CB_OK;
	case BENCH_T_CHUNK:
		return spawn_chunk(ctx, s);
	case BENCH_T_GO:
		return sender_go(ctx, s);
	case BENCH_T_MARK:
		s->mark = m.v;
		return MOLT_CB_OK;
	default:
		return -1;
	}
}

MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER, .name = "bench_proc",
		   .vsn = "1", .init = b_init, .handle_call = b_call,
		   .handle_cast = b_cast, .handle_info = b_info);
