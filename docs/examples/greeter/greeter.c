/* greeter: counts greetings; 2.0.0 also counts the letters greeted. */
#include <stdio.h>
#include <string.h>
#include <molt/module.h>

typedef struct {
	long n; /* greetings: first in every layout */
#if VSN == 2
	long letters; /* new in 2.0.0 (state_vsn 2) */
#endif
} state;

static int fresh(molt_ctx *c, void **out)
{
	return (*out = molt_proc_alloc(c, sizeof(state))) ? (memset(*out, 0, sizeof(state)), 0) : -1;
}

static int init(molt_ctx *c, const void *args, size_t len, void **s) { return (void)args, (void)len, fresh(c, s); }
static void free_state(molt_ctx *c, void *s) { molt_proc_free(c, s); }

static int greet(molt_ctx *c, const molt_msg *m, molt_from from, void **s)
{
	state *st = *s;
	char out[128];
	int n = snprintf(out, sizeof out, "hello %.*s #%ld", (int)m->len, (const char *)m->data, ++st->n);
#if VSN == 2
	n += snprintf(out + n, sizeof out - n, ", %ld letters", st->letters += (long)m->len);
#endif
	return molt_reply(c, from, out, (size_t)n);
}

static int code_change(molt_ctx *c, const molt_vsn_change *chg, const void *old, const char *extra, void **out)
{
	(void)chg, (void)extra; /* up from 1 or down to 1: a new state; the old one stays untouched */
	return fresh(c, out) ? -1 : (((state *)*out)->n = *(const long *)old, 0);
}

MOLT_DEFINE_MODULE(.behaviour = MOLT_BEHAVIOUR_SERVER, .name = "greeter", .vsn = VSN == 2 ? "2.0.0" : "1.0.0",
		   .state_vsn = VSN, .init = init, .handle_call = greet, .code_change = code_change, .free_state = free_state);
