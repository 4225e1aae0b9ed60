/* Supervisors, built in: a server-behaviour module named "supervisor". */
#ifndef MOLT_RUNTIME_SUP_H
#define MOLT_RUNTIME_SUP_H

#include <stddef.h>
#include <stdint.h>

#include "molt/common.h"
#include "molt/module.h"
#include "molt/runtime.h"

/*
 * The supervisor is an ordinary process running this built-in module: it
 * traps exits, starts its children linked (init runs synchronously, so a
 * failing start is seen at once), restarts them by strategy and restart
 * type within intensity/period, and terminates them one at a time in
 * reverse start order: "shutdown", then "kill" after the child's shutdown
 * timeout. Spawn args: the spec as JSON text (runtime.h). Calls it
 * answers (any process may send them): "which_children" (JSON), "count",
 * "start_child ARGS" (simple_one_for_one; replies with the pid); any
 * other call gets "error: unknown request".
 *
 * The upgrade instructions stop and start do not use calls: the
 * evaluator (upgrade/eval_stop.c) posts typed system requests with the
 * functions below, which run in the supervisor's own turn between
 * callbacks (even while it is suspended) and act only on a process
 * running this module.
 */
extern const molt_module molt__sup_module;

/*
 * Terminate every running child of supervisor pid whose module is mod,
 * as terminate_child does, in reverse start order; return once they have
 * exited, with their number in *n_out (may be NULL). They are remembered
 * for molt__sup_start_module. Errors: MOLT_EINVAL "not a supervisor",
 * MOLT_ENOTFOUND/MOLT_ECLOSED when pid is gone or exits first, MOLT_EBUSY
 * while it restarts children, MOLT_ETIMEOUT after timeout_ms (the stop
 * goes on). Messages start with "supervisor <pid>: ". Blocks: never call
 * from a callback.
 */
int molt__sup_stop_module(molt_runtime *rt, molt_pid pid, const char *mod,
			  uint32_t timeout_ms, size_t *n_out, molt_err *err);
/*
 * Start again, in start order, the children of mod the stop terminated,
 * on the code current now; *n_out the number started. A child that fails
 * to start fails the request, naming it (the others are still started).
 */
int molt__sup_start_module(molt_runtime *rt, molt_pid pid, const char *mod,
			   uint32_t timeout_ms, size_t *n_out, molt_err *err);
/* The upgrade committed: children of mod the stop terminated stay
 * terminated (simple_one_for_one entries are removed). */
int molt__sup_forget_stopped(molt_runtime *rt, molt_pid pid, const char *mod,
			     uint32_t timeout_ms, molt_err *err);

/*
 * Give supervisor pid a new spec (JSON text, as its spawn args), as OTP's
 * supervisor code_change does: children the spec no longer has are
 * terminated (reverse order) and removed, new ones are started in the
 * spec's order, kept ones (same id) keep running and take their changed
 * spec at their next restart; strategy, intensity and period change at
 * once (a simple_one_for_one supervisor changes its template; it cannot
 * become another strategy, nor the reverse). *n_out (may be NULL) gets
 * the children started. A new child that fails to start fails the
 * request, naming it; the others stay. Blocks: never from a callback.
 */
int molt__sup_update(molt_runtime *rt, molt_pid pid, const char *spec_json,
		     uint32_t timeout_ms, size_t *n_out, molt_err *err);

#endif
