/* Supervisors, built in: a server-behaviour module named "supervisor". */
#ifndef MOLT_RUNTIME_SUP_H
#define MOLT_RUNTIME_SUP_H

#include "molt/module.h"

/*
 * The supervisor is an ordinary process running this built-in module: it
 * traps exits, starts its children linked (init runs synchronously, so a
 * failing start is seen at once), restarts them by strategy and restart
 * type within intensity/period, and terminates them one at a time in
 * reverse start order: "shutdown", then "kill" after the child's shutdown
 * timeout. Spawn args: the spec as JSON text (runtime.h). Calls it
 * answers: "which_children" (JSON), "count", "start_child ARGS"
 * (simple_one_for_one; replies with the pid), and for the upgrade
 * instructions stop and start: "stop_module M" (terminate every running
 * child of module M as terminate_child does, in reverse start order;
 * replies "ok N" once they have exited), "start_module M" (start again
 * the children stop_module terminated; "ok N" or "error: ...") and
 * "forget_stopped M" (they stay terminated; simple_one_for_one entries
 * are removed).
 */
extern const molt_module molt__sup_module;

#endif
