/* counter v1, the upgrade benchmark's module (bench/erlang/counterapp-1/
 * counter.erl in C). State: the count. Call "incr" answers the new count,
 * "get" the count, each as a uint64_t. */
#include <stdint.h>
#include <string.h>

#include "molt/module.h"

#include "molt/banned.h"

static int c_init(molt_ctx *ctx, const void *args, size_t len, void **state_out)
{
	uint64_t *n = molt_proc_alloc(ctx, sizeof(*n));

	(void)args;
	(void)len;
	if (!n)
		return -1;
	*n = 0;
	*state_out = n;
	return MOLT_CB_OK;
}

static int c_call(molt_ctx *ctx, const molt_msg *req, molt_from from,
		  void **state)
{
	uint64_t *n = *state;

	if (req->len == 4 && !memcmp(req->data, "incr", 4))
		++*n;
	else if (!(req->len == 3 && !memcmp(req->data, "get", 3)))
		return -1;
	return molt_reply(ctx, from, n, sizeof(*n));
}

static int c_ignore(molt_ctx *ctx, const molt_msg *msg, void **state)
{
	(void)ctx;
	(void)msg;
	(void)state;
	return MOLT_CB_OK;
}

/* v2 converts its own state down (a dynamic module, as in OTP); v1 only
 * ever sees its own layout here, which it copies. */
static int c_code_change(molt_ctx *ctx, const molt_vsn_change *chg,
			 const void *old_state, const char *extra_json,
			 void **new_state_out)
{
	uint64_t *n = molt_proc_alloc(ctx, sizeof(*n));

	(void)chg;
	(void)extra_json;
	if (!n)
		return -1;
	memcpy(n, old_state, sizeof(*n));
	*new_state_out = n;
	return MOLT_CB_OK;
}

static void c_free_state(molt_ctx *ctx, void *state)
{
	molt_proc_free(ctx, state);
}

MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER, .name = "counter",
		   .vsn = "1", .state_vsn = 1, .init = c_init,
		   .handle_call = c_call, .handle_cast = c_ignore,
		   .handle_info = c_ignore, .code_change = c_code_change,
		   .free_state = c_free_state);
