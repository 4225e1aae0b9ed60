/* The script evaluator (release handler core) and its control op. */
#ifndef MOLT_RUNTIME_EVAL_H
#define MOLT_RUNTIME_EVAL_H

/*
 * molt_runtime_eval (runtime.h) runs a low-level script in three phases:
 *
 * 1. check: parse every instruction, dlopen and verify every module of
 *    load_object_code, check PrePurge soft_purge, that each load has its
 *    object code, each code_change a suspend, each apply an export. A
 *    failure here changes nothing.
 * 2. run: instructions before point_of_no_return (apply), then after it,
 *    each recorded in a journal: the module slots it changed, the
 *    processes it suspended or changed. `resume`, `purge` and PostPurge
 *    take effect at commit, so that a later failure can still undo
 *    everything (a killed process cannot be brought back).
 * 3. commit (free old states, resume, purge) or roll back (restore the
 *    slots, revert every changed process, resume).
 *
 * One evaluation at a time per program (a static mutex).
 */

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/runtime.h"

/*
 * The control op "eval" (ctl_eval.c): req {"op":"eval","script":[...],
 * "dry_run":bool,"lib_dir":"...","path":["dir",...],"suspend_timeout":ms}
 * fills reply with the report (docs/upgrades.md). Returns MOLT_OK or the
 * evaluation's error (the report is then in reply too).
 */
int molt__ctl_eval(molt_runtime *rt, const cJSON *req, cJSON *reply,
		   molt_err *err);

#endif
