/* counter v2 (bench/erlang/counterapp-2/counter.erl in C). State: the
 * count and a ring of the last 8 increments. code_change up from v1 (a
 * count) and down to v1. Calls as in v1. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "molt/module.h"

#include "molt/banned.h"

#define RING 8

typedef struct cstate {
	uint64_t count;	     /* the count */
	uint32_t len;	     /* increments in ring (at most RING) */
	uint32_t head;	     /* where the next one goes */
	uint64_t ring[RING]; /* the last increments */
} cstate;

static cstate *new_state(molt_ctx *ctx, uint64_t count)
{
	cstate *s = molt_proc_alloc(ctx, sizeof(*s));

	if (s) {
		memset(s, 0, sizeof(*s));
		s->count = count;
	}
	return s;
}

static int c_init(molt_ctx *ctx, const void *args, size_t len, void **state_out)
{
	(void)args;
	(void)len;
	return (*state_out = new_state(ctx, 0)) ? MOLT_CB_OK : -1;
}

static int c_call(molt_ctx *ctx, const molt_msg *req, molt_from from,
		  void **state)
{
	cstate *s = *state;

	if (req->len == 4 && !memcmp(req->data, "incr", 4)) {
		s->count++;
		s->ring[s->head] = 1;
		s->head = (s->head + 1) % RING;
		if (s->len < RING)
			s->len++;
	} else if (!(req->len == 3 && !memcmp(req->data, "get", 3))) {
		return -1;
	}
	return molt_reply(ctx, from, &s->count, sizeof(s->count));
}

static int c_ignore(molt_ctx *ctx, const molt_msg *msg, void **state)
{
	(void)ctx;
	(void)msg;
	(void)state;
	return MOLT_CB_OK;
}

static int c_code_change(molt_ctx *ctx, const molt_vsn_change *chg,
			 const void *old_state, const char *extra_json,
			 void **new_state_out)
{
	(void)extra_json;
	if (chg->down) { /* to v1: keep the count */
		uint64_t *n = molt_proc_alloc(ctx, sizeof(*n));

		if (!n)
			return -1;
		*n = ((const cstate *)old_state)->count;
		*new_state_out = n;
		return MOLT_CB_OK;
	}
	/* up from v1: the count, an empty ring */
	return (*new_state_out = new_state(ctx, *(const uint64_t *)old_state))
		       ? MOLT_CB_OK
		       : -1;
}

static void c_free_state(molt_ctx *ctx, void *state)
{
	molt_proc_free(ctx, state);
}

static size_t c_format_state(const void *state, char *buf, size_t size)
{
	const cstate *s = state;
	int n = snprintf(buf, size, "{count: %llu, ring: %u}",
			 (unsigned long long)s->count, s->len);

	return n < 0 ? 0 : (size_t)n;
}

MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER, .name = "counter",
		   .vsn = "2", .state_vsn = 2, .init = c_init,
		   .handle_call = c_call, .handle_cast = c_ignore,
		   .handle_info = c_ignore, .code_change = c_code_change,
		   .free_state = c_free_state, .format_state = c_format_state);
