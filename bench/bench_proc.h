/* The messages of the bench_proc module, shared with the driver
 * (molt_bench.c). Every payload is one of these structs, sent as bytes. */
#ifndef MOLT_BENCH_BENCH_PROC_H
#define MOLT_BENCH_BENCH_PROC_H

#include <stdint.h>

/* What a bench_proc process does, chosen by its spawn args. */
enum bench_role {
	BENCH_IDLE = 1,	   /* no state; ignores everything */
	BENCH_SPAWNER = 2, /* call SPAWN n: spawns n idle processes */
	BENCH_RING = 3,	   /* a ring node: forwards the token to next */
	BENCH_SINK = 4,	   /* counts casts; call WAIT answers at total */
	BENCH_SENDER = 5,  /* info GO: casts b messages to pid a */
	BENCH_CALLER = 6,  /* call RUN: b timed calls to pid a */
	BENCH_CLIENT = 7,  /* upgrade client: calls random counters */
};

/* Spawn args. */
typedef struct bench_args {
	uint32_t role; /* enum bench_role */
	uint32_t pad;
	uint64_t a; /* role parameter (a pid, a total) */
	uint64_t b; /* role parameter (a count) */
} bench_args;

/* Message tags. */
enum bench_tag {
	BENCH_T_SPAWN = 1, /* call to a SPAWNER: v = how many */
	BENCH_T_CHUNK,	   /* a SPAWNER to itself: spawn the next chunk */
	BENCH_T_NEXT,	   /* info to a RING node: v = its next pid */
	BENCH_T_GO,    /* call to a RING node (v = hops), info to a SENDER */
	BENCH_T_TOKEN, /* info between RING nodes: v = hops left */
	BENCH_T_WAIT,  /* call to a SINK: answered once total arrived */
	BENCH_T_PING,  /* call to a SINK: answered at once */
	BENCH_T_RUN,   /* call to a CALLER: answered with latencies */
	BENCH_T_INCR,  /* cast to a SINK */
	BENCH_T_PIDS,  /* info to a CLIENT: v = count, then v pids */
	BENCH_T_MARK,  /* info to a CLIENT: v = record calls ending after
			  this CLOCK_MONOTONIC time (ns) */
	BENCH_T_STOP,  /* call to a CLIENT: answered with bench_calls */
};

typedef struct bench_msg {
	uint32_t tag; /* enum bench_tag */
	uint32_t pad;
	uint64_t v; /* tag parameter */
} bench_msg;

/* A CLIENT's answer to STOP: this header, then nrec bench_call records. */
typedef struct bench_calls {
	uint64_t total; /* incr calls made (answered, failed or timed out) */
	uint64_t nrec;	/* records that follow */
} bench_calls;

typedef struct bench_call {
	uint64_t start; /* CLOCK_MONOTONIC ns when the call was made */
	uint64_t lat;	/* ns until its reply or timeout */
	uint64_t ok;	/* 1 answered, 0 timed out or failed */
} bench_call;

/* A CLIENT's call timeout (as gen_server:call's default). */
#define BENCH_CLIENT_TIMEOUT_MS 5000

/* Calls a CALLER makes before it starts timing. */
#define BENCH_CALL_WARMUP 1000

#endif
