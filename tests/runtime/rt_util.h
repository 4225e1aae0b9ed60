/* Helpers for the runtime suites: a runtime with fixtures loaded, calls
 * that return text, waiting for conditions. */
#ifndef MOLT_TESTS_RT_UTIL_H
#define MOLT_TESTS_RT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "molt/runtime.h"

/* Path of a built fixture module, e.g. rt_fixture("counter") ->
 * BUILD/fixtures/counter-1.0.0/counter.so. Static buffer. */
const char *rt_fixture(const char *name);

/*
 * A started runtime with counter, crasher, slow and probe loaded.
 * deterministic: one scheduler, seeded; the seed is printed so a failing
 * run can be replayed with MOLT_SEED.
 */
molt_runtime *rt_start(int deterministic, unsigned schedulers);
void rt_stop(molt_runtime *rt);

molt_pid rt_spawn(molt_runtime *rt, const char *module, const char *args);
/* Call with a 5 s timeout; returns a static copy of the reply, or
 * "ERR:<code>" on failure. */
const char *rt_call(molt_runtime *rt, molt_pid pid, const char *req);
/* rt_call's reply parsed as a number (a pid or a ref). */
uint64_t rt_call_u(molt_runtime *rt, molt_pid pid, const char *req);
/* Wait up to ms for pid to exit; returns its reason (static) or NULL. */
const char *rt_wait_exit(molt_runtime *rt, molt_pid pid, uint32_t ms);
/* Poll (1 ms steps) until the registered name points at a live pid
 * different from not; 0 on timeout. */
molt_pid rt_wait_name(molt_runtime *rt, const char *name, molt_pid not,
		      uint32_t ms);
void rt_sleep_ms(unsigned ms);
/* A probe process that monitors pid (spawned once per call). Then
 * rt_watch_reason returns pid's exit reason (static) once it died, polling
 * up to ms, or NULL. */
molt_pid rt_watch(molt_runtime *rt, molt_pid pid);
const char *rt_watch_reason(molt_runtime *rt, molt_pid watcher, molt_pid pid,
			    uint32_t ms);
/* The probe's handle_info log (and clear it), polled until it contains
 * needle or ms pass. Static buffer. */
const char *rt_probe_log_until(molt_runtime *rt, molt_pid probe,
			       const char *needle, uint32_t ms);

#endif
