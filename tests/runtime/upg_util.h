/* Helpers for the upgrade suites: scripts, evaluation with the fixture
 * directory as search path, many counters and their checks. */
#ifndef MOLT_TESTS_UPG_UTIL_H
#define MOLT_TESTS_UPG_UTIL_H

#include <stddef.h>

#include "molt/runtime.h"

/* counter 1.0.0 -> VSN (2.0.0 or 3.0.0): suspend, load, code_change up,
 * resume, purge. */
#define UPG_UP(vsn)                                                            \
	"[[\"load_object_code\",[\"counter\",\"" vsn "\",[\"counter\"]]],"     \
	"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"                  \
	"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"          \
	"[\"code_change\",\"up\",[[\"counter\",[]]]],"                         \
	"[\"resume\",[\"counter\"]],[\"purge\",[\"counter\"]]]"
/* back to 1.0.0: code_change down runs in the newer code first. */
#define UPG_DOWN                                                               \
	"[[\"load_object_code\",[\"counter\",\"1.0.0\",[\"counter\"]]],"       \
	"\"point_of_no_return\",[\"suspend\",[\"counter\"]],"                  \
	"[\"code_change\",\"down\",[[\"counter\",[]]]],"                       \
	"[\"load\",[\"counter\",\"brutal_purge\",\"brutal_purge\"]],"          \
	"[\"resume\",[\"counter\"]],[\"purge\",[\"counter\"]]]"

/* Evaluate script with BUILD/fixtures as search path; fills report (the
 * caller releases it) and err. */
int upg_eval(molt_runtime *rt, const char *script, int dry_run,
	     molt_eval_report *report, molt_err *err);
/* As upg_eval, with a typed script (no JSON). */
int upg_eval_script(molt_runtime *rt, const molt_script *script, int dry_run,
		    molt_eval_report *report, molt_err *err);
/* As upg_eval, asserting success; releases the report. */
void upg_eval_ok(molt_runtime *rt, const char *script);

/* The vsn pid runs ("" if dead). Static buffer. */
const char *upg_vsn(molt_runtime *rt, molt_pid pid);
/* The current vsn of module ("" if none). Static buffer. */
const char *upg_current(molt_runtime *rt, const char *module);
/* Processes on module's old version. */
unsigned upg_old_procs(molt_runtime *rt, const char *module);

/* Spawn n counters, counter i starting at counts[i]. */
void upg_spawn_counters(molt_runtime *rt, molt_pid *pids, const long *counts,
			size_t n);
/* Assert every counter runs vsn and answers "get" with counts[i]. */
void upg_check_counters(molt_runtime *rt, const molt_pid *pids,
			const long *counts, size_t n, const char *vsn);

#endif
