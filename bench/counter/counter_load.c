/* counter_load: the install benchmark's load inside moltd (bench/install/).
 *
 * The counters live in the counter application's own tree, as on the BEAM:
 * its top supervisor is the simple_one_for_one counter_sup (template
 * counter). This module is the counter_load application's one child, and
 * does what release_bench.erl does from outside the node. Its spawn args
 * pick a role:
 *
 *   "" (the pool): registers as counter_load, starts the env's "counters"
 *      counters under counter_sup (start_child calls, WINDOW in flight),
 *      then the env's "clients" clients.
 *   "client SEED": calls random counters ("incr", 5 s timeout) one at a
 *      time until stopped, counting calls, failures and the slowest one.
 *
 * Calls to the pool (text): "ready" answers "ready N" once every counter
 * and client runs; "stop" stops the clients, sums every counter's count
 * and answers "calls T failed F max_ms M sum S" (S must equal T: every
 * incr made was handled once).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "molt/module.h"

#include "molt/banned.h"

#define WINDOW	   256	/* start_child / get calls in flight */
#define CALL_MS	   5000 /* a client's call timeout (gen_server's) */
#define MAX_CLIENT 64

enum phase { STARTING, RUNNING, STOPPING, SUMMING, DONE };

typedef struct pool {
	enum phase phase;		 /* what the pool is doing */
	uint64_t n;			 /* counters wanted */
	uint64_t next, got;		 /* calls made, answered */
	molt_pid sup;			 /* counter_sup */
	molt_pid *pids;			 /* the counters, in start order */
	molt_pid clients[MAX_CLIENT];	 /* the clients */
	unsigned nclients;		 /* clients wanted */
	unsigned stopped;		 /* clients that answered stop */
	uint64_t calls, failed, sum;	 /* totals over the clients, counters */
	uint64_t max_ms;		 /* the slowest client call */
	int ready_wait;			 /* a ready call waits */
	molt_from ready_from, stop_from; /* whom to answer */
} pool;

typedef struct client {
	molt_pid *pids;			/* the counters */
	uint64_t npids;			/* how many */
	uint64_t rng;			/* xorshift state */
	molt_ref inflight;		/* the call in flight, or 0 */
	uint64_t t0;			/* when it was made (ms) */
	uint64_t calls, failed, max_ms; /* so far */
	int stopping;			/* answer stop after this call */
	molt_from from;			/* the stop call */
} client;

typedef struct lstate {
	int is_client; /* which of the two */
	pool p;	       /* is_client == 0 */
	client c;      /* is_client == 1 */
} lstate;

static uint64_t env_u64(molt_ctx *ctx, const char *key, uint64_t dflt)
{
	char *v = molt_app_env(ctx, key);
	uint64_t n = v ? strtoull(v, NULL, 10) : 0;

	molt_proc_free(ctx, v);
	return n ? n : dflt;
}

/* start_child answers the pid as text, "<index.generation>"
 * (docs/formats.md), and a pid is generation << 32 | index
 * (docs/architecture.md, Processes), as molt_runtime_resolve reads it.
 * NEEDSWORK: module.h has no call that turns that text into a molt_pid,
 * so this repeats the documented layout. */
static molt_pid parse_pid(const void *data, size_t len)
{
	char buf[48];
	unsigned long idx, gen;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (sscanf(buf, "<%lu.%lu>", &idx, &gen) != 2)
		return 0;
	return ((molt_pid)gen << 32) | idx;
}

static int reply_text(molt_ctx *ctx, molt_from from, const char *s)
{
	return molt_reply(ctx, from, s, strlen(s));
}

/* --- the client --- */

static int client_next(molt_ctx *ctx, client *c)
{
	uint64_t x = c->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->rng = x;
	c->t0 = molt_now_ms();
	return molt_call_async(ctx, &c->inflight, c->pids[x % c->npids], "incr",
			       4, CALL_MS);
}

static int client_answer(molt_ctx *ctx, client *c)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 " %" PRIu64, c->calls,
		 c->failed, c->max_ms);
	return reply_text(ctx, c->from, buf);
}

static int client_done(molt_ctx *ctx, client *c, const molt_msg *msg)
{
	uint64_t lat = molt_now_ms() - c->t0;

	if (msg->ref != c->inflight)
		return MOLT_CB_OK; /* a late reply */
	c->inflight = 0;
	c->calls++;
	c->failed += msg->kind != MOLT_MSG_REPLY;
	if (lat > c->max_ms)
		c->max_ms = lat;
	if (c->stopping)
		return client_answer(ctx, c);
	return client_next(ctx, c);
}

/* The pool's list of counters: an info message of molt_pids. */
static int client_pids(molt_ctx *ctx, client *c, const molt_msg *msg)
{
	if (msg->len == 0 || msg->len % sizeof(molt_pid) || c->pids)
		return -1;
	if (!(c->pids = molt_proc_alloc(ctx, msg->len)))
		return -1;
	memcpy(c->pids, msg->data, msg->len);
	c->npids = msg->len / sizeof(molt_pid);
	return client_next(ctx, c);
}

/* --- the pool --- */

static int pool_call_next(molt_ctx *ctx, pool *p)
{
	molt_ref ref;

	while (p->next < p->n && p->next - p->got < WINDOW) {
		int rc = p->phase == STARTING
				 ? molt_call_async(ctx, &ref, p->sup,
						   "start_child x", 13, 0)
				 : molt_call_async(ctx, &ref, p->pids[p->next],
						   "get", 3, CALL_MS);

		if (rc < 0)
			return rc;
		p->next++;
	}
	return MOLT_CB_OK;
}

static int pool_start_clients(molt_ctx *ctx, pool *p)
{
	char args[32];

	for (unsigned i = 0; i < p->nclients; i++) {
		snprintf(args, sizeof(args), "client %u", 7919u * (i + 1));
		if (molt_spawn(ctx, &p->clients[i], "counter_load", args,
			       strlen(args), MOLT_SPAWN_LINK) < 0 ||
		    molt_send(ctx, p->clients[i], p->pids,
			      p->n * sizeof(molt_pid)) < 0)
			return -1;
	}
	p->phase = RUNNING;
	molt_logf(ctx, 2, "%" PRIu64 " counters and %u clients running", p->n,
		  p->nclients);
	if (p->ready_wait) {
		char buf[48];

		p->ready_wait = 0;
		snprintf(buf, sizeof(buf), "ready %" PRIu64, p->n);
		return reply_text(ctx, p->ready_from, buf);
	}
	return MOLT_CB_OK;
}

static int pool_answer_stop(molt_ctx *ctx, pool *p)
{
	char buf[160];

	p->phase = DONE;
	snprintf(buf, sizeof(buf),
		 "calls %" PRIu64 " failed %" PRIu64 " max_ms %" PRIu64
		 " sum %" PRIu64,
		 p->calls, p->failed, p->max_ms, p->sum);
	return reply_text(ctx, p->stop_from, buf);
}

/* A client's answer to stop: "CALLS FAILED MAX_MS". */
static int pool_client_stopped(molt_ctx *ctx, pool *p, const molt_msg *msg)
{
	char buf[96];
	unsigned long long calls, failed, max_ms;

	if (msg->len >= sizeof(buf))
		return -1;
	memcpy(buf, msg->data, msg->len);
	buf[msg->len] = '\0';
	if (sscanf(buf, "%llu %llu %llu", &calls, &failed, &max_ms) != 3)
		return -1;
	p->calls += calls;
	p->failed += failed;
	if (max_ms > p->max_ms)
		p->max_ms = max_ms;
	if (++p->stopped < p->nclients)
		return MOLT_CB_OK;
	p->phase = SUMMING;
	p->next = p->got = 0;
	return pool_call_next(ctx, p);
}

static int pool_reply(molt_ctx *ctx, pool *p, const molt_msg *msg)
{
	uint64_t v;

	switch (p->phase) {
	case STARTING:
		if (msg->kind != MOLT_MSG_REPLY ||
		    !(p->pids[p->got++] = parse_pid(msg->data, msg->len)))
			return -1; /* start_child failed */
		if (p->got == p->n)
			return pool_start_clients(ctx, p);
		return pool_call_next(ctx, p);
	case STOPPING:
		if (msg->kind != MOLT_MSG_REPLY)
			return -1;
		return pool_client_stopped(ctx, p, msg);
	case SUMMING:
		if (msg->kind != MOLT_MSG_REPLY || msg->len != sizeof(v))
			return -1;
		memcpy(&v, msg->data, sizeof(v));
		p->sum += v;
		if (++p->got == p->n)
			return pool_answer_stop(ctx, p);
		return pool_call_next(ctx, p);
	default:
		return -1;
	}
}

static int pool_stop(molt_ctx *ctx, pool *p, molt_from from)
{
	molt_ref ref;

	if (p->phase != RUNNING)
		return reply_text(ctx, from, "error: not running");
	p->phase = STOPPING;
	p->stop_from = from;
	for (unsigned i = 0; i < p->nclients; i++)
		if (molt_call_async(ctx, &ref, p->clients[i], "stop", 4, 0) < 0)
			return -1;
	return MOLT_CB_OK;
}

static int pool_init(molt_ctx *ctx, pool *p)
{
	p->n = env_u64(ctx, "counters", 100000);
	p->nclients = (unsigned)env_u64(ctx, "clients", 8);
	if (p->nclients > MAX_CLIENT)
		p->nclients = MAX_CLIENT;
	if (!(p->pids = molt_proc_alloc(ctx, p->n * sizeof(molt_pid))))
		return -1;
	/* the counter application starts first (a dependency) */
	if (!(p->sup = molt_whereis(ctx, "counter_sup"))) {
		molt_logf(ctx, 0, "no process registered as counter_sup");
		return -1;
	}
	if (molt_register(ctx, "counter_load") < 0)
		return -1;
	/* start the counters once init has returned */
	return molt_send(ctx, molt_self(ctx), "go", 2);
}

/* --- callbacks --- */

static int l_init(molt_ctx *ctx, const void *args, size_t len, void **state_out)
{
	lstate *s = molt_proc_alloc(ctx, sizeof(*s));

	if (!s)
		return -1;
	memset(s, 0, sizeof(*s));
	*state_out = s;
	if (len > 7 && !memcmp(args, "client ", 7)) {
		char seed[24] = "";

		memcpy(seed, (const char *)args + 7,
		       len - 7 < sizeof(seed) - 1 ? len - 7 : sizeof(seed) - 1);
		s->is_client = 1;
		s->c.rng = strtoull(seed, NULL, 10) | 1;
		return MOLT_CB_OK;
	}
	return pool_init(ctx, &s->p);
}

static int l_call(molt_ctx *ctx, const molt_msg *req, molt_from from,
		  void **state)
{
	lstate *s = *state;

	if (s->is_client) {
		if (!(req->len == 4 && !memcmp(req->data, "stop", 4)))
			return -1;
		s->c.from = from;
		if (!s->c.inflight)
			return client_answer(ctx, &s->c);
		s->c.stopping = 1;
		return MOLT_CB_OK;
	}
	if (req->len == 5 && !memcmp(req->data, "ready", 5)) {
		if (s->p.phase == STARTING) {
			s->p.ready_wait = 1;
			s->p.ready_from = from;
			return MOLT_CB_OK;
		}
		return reply_text(ctx, from,
				  s->p.phase == RUNNING ? "ready" : "stopped");
	}
	if (req->len == 4 && !memcmp(req->data, "stop", 4))
		return pool_stop(ctx, &s->p, from);
	return reply_text(ctx, from, "error: unknown request");
}

static int l_cast(molt_ctx *ctx, const molt_msg *msg, void **state)
{
	(void)ctx;
	(void)msg;
	(void)state;
	return MOLT_CB_OK;
}

static int l_info(molt_ctx *ctx, const molt_msg *msg, void **state)
{
	lstate *s = *state;
	int reply =
		msg->kind == MOLT_MSG_REPLY || msg->kind == MOLT_MSG_TIMEOUT;

	if (s->is_client) {
		if (reply)
			return client_done(ctx, &s->c, msg);
		if (msg->kind == MOLT_MSG_INFO)
			return client_pids(ctx, &s->c, msg);
		return MOLT_CB_OK;
	}
	if (reply)
		return pool_reply(ctx, &s->p, msg);
	if (msg->kind == MOLT_MSG_INFO && s->p.phase == STARTING)
		return pool_call_next(ctx, &s->p); /* "go" */
	return MOLT_CB_OK;
}

MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER, .name = "counter_load",
		   .vsn = "1", .init = l_init, .handle_call = l_call,
		   .handle_cast = l_cast, .handle_info = l_info);
