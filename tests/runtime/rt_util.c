/* Helpers for the runtime suites. */
#include "rt_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "molt/common.h"
#include "molt/log.h"

#include "molt/banned.h"

const char *rt_fixture(const char *name)
{
	static char path[4096];
	const char *b = getenv("MOLT_BUILD_DIR");

	if (!b || !*b)
		b = MOLT_BUILD_DIR;
	if (strcmp(name, "badabi") == 0 || strcmp(name, "nodesc") == 0)
		snprintf(path, sizeof(path), "%s/fixtures/%s.so", b, name);
	else
		snprintf(path, sizeof(path), "%s/fixtures/%s-1.0.0/%s.so", b,
			 name, name);
	return path;
}

molt_runtime *rt_start(int deterministic, unsigned schedulers)
{
	molt_runtime_options o = MOLT_RUNTIME_OPTIONS_INIT;
	static const char *const mods[] = {"counter", "crasher", "slow",
					   "probe"};
	molt_err err = MOLT_ERR_INIT;
	molt_runtime *rt;

	o.deterministic = deterministic;
	o.schedulers = schedulers;
	molt_log_set_level(getenv("MOLT_TEST_LOG") ? MOLT_LOG_DEBUG
						   : MOLT_LOG_WARN);
	ck_assert_int_eq(molt_runtime_new(&rt, &o, &err), MOLT_OK);
	if (deterministic)
		fprintf(stderr,
			"deterministic seed %" PRIu64
			" (replay: MOLT_SEED=%" PRIu64 ")\n",
			molt_runtime_seed(rt), molt_runtime_seed(rt));
	ck_assert_int_eq(molt_runtime_start(rt, &err), MOLT_OK);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		ck_assert_msg(molt_runtime_load(rt, rt_fixture(mods[i]), NULL,
						0, NULL, 0, &err) == MOLT_OK,
			      "load %s: %s", mods[i], err.msg);
	return rt;
}

void rt_stop(molt_runtime *rt)
{
	molt_runtime_free(rt);
}

molt_pid rt_spawn(molt_runtime *rt, const char *module, const char *args)
{
	molt_err err = MOLT_ERR_INIT;
	molt_pid pid = 0;

	ck_assert_msg(molt_runtime_spawn(rt, &pid, module, args,
					 args ? strlen(args) : 0,
					 &err) == MOLT_OK,
		      "spawn %s: %s", module, err.msg);
	return pid;
}

const char *rt_call(molt_runtime *rt, molt_pid pid, const char *req)
{
	static char out[65536];
	molt_reply_buf r = {0};
	molt_err err = MOLT_ERR_INIT;
	int rc = molt_runtime_call(rt, &r, pid, req, strlen(req), 5000, &err);

	if (rc < 0) {
		snprintf(out, sizeof(out), "ERR:%s", molt_status_name(rc));
		return out;
	}
	snprintf(out, sizeof(out), "%s", r.data);
	molt_free(r.data);
	return out;
}

uint64_t rt_call_u(molt_runtime *rt, molt_pid pid, const char *req)
{
	const char *r = rt_call(rt, pid, req);

	ck_assert_msg(r[0] >= '0' && r[0] <= '9', "%s -> %s", req, r);
	return strtoull(r, NULL, 10);
}

const char *rt_wait_exit(molt_runtime *rt, molt_pid pid, uint32_t ms)
{
	static char reason[128];

	if (molt_runtime_wait(rt, pid, ms, reason, sizeof(reason)) < 0)
		return NULL;
	return reason;
}

void rt_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

molt_pid rt_wait_name(molt_runtime *rt, const char *name, molt_pid not,
		      uint32_t ms)
{
	for (uint32_t t = 0; t < ms; t++) {
		molt_pid p = molt_runtime_whereis(rt, name);

		if (p && p != not &&molt_runtime_alive(rt, p))
			return p;
		rt_sleep_ms(1);
	}
	return 0;
}

const char *rt_probe_log_until(molt_runtime *rt, molt_pid probe,
			       const char *needle, uint32_t ms)
{
	static char acc[65536];
	size_t n = 0;

	acc[0] = '\0';
	for (uint32_t t = 0; t <= ms; t += 2) {
		const char *l = rt_call(rt, probe, "log");

		n += (size_t)snprintf(acc + n, sizeof(acc) - n, "%s", l);
		if (n >= sizeof(acc))
			n = sizeof(acc) - 1;
		if (strstr(acc, needle))
			break;
		rt_sleep_ms(2);
	}
	return acc;
}

molt_pid rt_watch(molt_runtime *rt, molt_pid pid)
{
	molt_pid w = rt_spawn(rt, "probe", NULL);
	char c[64];

	snprintf(c, sizeof(c), "monitor %" PRIu64, pid);
	rt_call_u(rt, w, c);
	return w;
}

const char *rt_watch_reason(molt_runtime *rt, molt_pid watcher, molt_pid pid,
			    uint32_t ms)
{
	static char reason[128];
	char want[64];
	const char *log, *r, *end;

	snprintf(want, sizeof(want), "down from=%" PRIu64, pid);
	log = rt_probe_log_until(rt, watcher, want, ms);
	if (!(log = strstr(log, want)) || !(r = strstr(log, "reason=")))
		return NULL;
	r += 7;
	end = strstr(r, " data=");
	snprintf(reason, sizeof(reason), "%.*s", (int)(end ? end - r : 0), r);
	return reason;
}
