/* Mailboxes and scheduling: FIFO per sender, fairness, suspend/resume. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"

#define SENDERS	   4
#define PER_SENDER 20000

typedef struct sender {
	molt_runtime *rt; /* the runtime */
	molt_pid to;	  /* the receiver */
	unsigned id;	  /* sender number */
} sender;

static void *send_seq(void *arg)
{
	sender *s = arg;
	char buf[64];

	for (long n = 1; n <= PER_SENDER; n++) {
		int len = snprintf(buf, sizeof(buf), "seq %u %ld", s->id, n);

		ck_assert_int_eq(
			molt_runtime_cast(s->rt, s->to, buf, (size_t)len),
			MOLT_OK);
	}
	return NULL;
}

static void fifo_per_sender(int deterministic, unsigned schedulers)
{
	molt_runtime *rt = rt_start(deterministic, schedulers);
	molt_pid p = rt_spawn(rt, "probe", NULL);
	pthread_t th[SENDERS];
	sender s[SENDERS];
	char want[64];

	for (unsigned i = 0; i < SENDERS; i++) {
		s[i] = (sender){rt, p, i};
		pthread_create(&th[i], NULL, send_seq, &s[i]);
	}
	for (unsigned i = 0; i < SENDERS; i++)
		pthread_join(th[i], NULL);
	snprintf(want, sizeof(want), "count=%d bad=0", SENDERS * PER_SENDER);
	ck_assert_str_eq(rt_call(rt, p, "stats"), want);
	rt_stop(rt);
}

START_TEST(test_mailbox_keeps_fifo_order_per_sender)
{
	fifo_per_sender(0, 2);
}
END_TEST

START_TEST(test_mailbox_keeps_fifo_order_deterministic)
{
	fifo_per_sender(1, 1);
}
END_TEST

/* Processes sending to each other keep per-pair order too. */
START_TEST(test_process_to_process_order)
{
	molt_runtime *rt = rt_start(1, 1);
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_spawn(rt, "probe", NULL);
	char c[96];
	const char *log;

	for (int i = 0; i < 50; i++) {
		snprintf(c, sizeof(c), "send %" PRIu64 " m%02d", b, i);
		ck_assert_str_eq(rt_call(rt, a, c), "ok");
	}
	log = rt_probe_log_until(rt, b, "m49", 2000);
	for (int i = 1; i < 50; i++) {
		char x[16], y[16];

		snprintf(x, sizeof(x), "m%02d", i - 1);
		snprintf(y, sizeof(y), "m%02d", i);
		ck_assert_ptr_nonnull(strstr(log, x));
		ck_assert(strstr(log, x) < strstr(log, y));
	}
	rt_stop(rt);
}
END_TEST

START_TEST(test_flooded_process_does_not_starve_others)
{
	molt_runtime *rt = rt_start(1, 1);
	molt_pid flooded = rt_spawn(rt, "probe", NULL);
	molt_pid other = rt_spawn(rt, "counter", NULL);
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	char buf[64];

	/* 200,000 messages wait (suspended) and then all become runnable */
	ck_assert_int_eq(molt_runtime_suspend(rt, flooded, 1000, &err),
			 MOLT_OK);
	for (long n = 1; n <= 200000; n++) {
		int len = snprintf(buf, sizeof(buf), "seq 0 %ld", n);

		molt_runtime_cast(rt, flooded, buf, (size_t)len);
	}
	ck_assert_int_eq(molt_runtime_resume(rt, flooded, &err), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, other, "incr"), "1");
	/* the other process was served while the flood was still queued */
	ck_assert_int_eq(molt_runtime_process_info(rt, flooded, &pi), MOLT_OK);
	fprintf(stderr, "flood left when the call returned: %zu\n",
		pi.queue_len);
	ck_assert_uint_gt(pi.queue_len, 100000);
	ck_assert_str_eq(rt_call(rt, flooded, "stats"), "count=200000 bad=0");
	rt_stop(rt);
}
END_TEST

START_TEST(test_suspend_queues_messages_and_resume_delivers_each_once)
{
	molt_runtime *rt = rt_start(0, 2);
	molt_pid c = rt_spawn(rt, "counter", NULL);
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	char *state = NULL;

	ck_assert_int_eq(molt_runtime_suspend(rt, c, 1000, &err), MOLT_OK);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(molt_runtime_cast(rt, c, "incr", 4), MOLT_OK);
	ck_assert_int_eq(molt_runtime_process_info(rt, c, &pi), MOLT_OK);
	ck_assert_int_eq(pi.suspended, 1);
	ck_assert_uint_eq(pi.queue_len, 1000);
	/* system operations still run while suspended */
	ck_assert_int_eq(molt_runtime_get_state(rt, c, &state, 1000, &err),
			 MOLT_OK);
	ck_assert_str_eq(state, "{\"count\":0}");
	molt_free(state);
	ck_assert_int_eq(molt_runtime_resume(rt, c, &err), MOLT_OK);
	ck_assert_str_eq(rt_call(rt, c, "get"), "1000");
	ck_assert_int_eq(molt_runtime_process_info(rt, c, &pi), MOLT_OK);
	ck_assert_int_eq(pi.suspended, 0);
	rt_stop(rt);
}
END_TEST

static void ignore_reply(int status, const void *data, size_t len,
			 void *payload)
{
	(void)data;
	(void)len;
	*(int *)payload = status == MOLT_OK ? 1 : -1;
}

START_TEST(test_suspend_times_out_on_a_busy_process)
{
	molt_runtime *rt = rt_start(0, 2);
	molt_pid s = rt_spawn(rt, "slow", NULL);
	molt_err err = MOLT_ERR_INIT;
	molt_proc_info pi;
	volatile int got = 0;

	ck_assert_int_eq(molt_runtime_call_async(rt, s, "sleep 600", 9, 5000,
						 ignore_reply, (void *)&got,
						 &err),
			 MOLT_OK);
	rt_sleep_ms(150); /* the callback is now running */
	ck_assert_int_eq(molt_runtime_suspend(rt, s, 50, &err), MOLT_ETIMEOUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
	ck_assert_str_eq(rt_call(rt, s, "ping"), "pong");
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(molt_runtime_process_info(rt, s, &pi), MOLT_OK);
	ck_assert_int_eq(pi.suspended, 0); /* the late suspend never happened */
	rt_stop(rt);
}
END_TEST

START_TEST(test_idle_schedulers_sleep)
{
	molt_runtime *rt = rt_start(0, 2);
	struct timespec a, b;
	double cpu;

	rt_spawn(rt, "counter", NULL);
	rt_sleep_ms(20);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	rt_sleep_ms(300);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	cpu = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	      (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	fprintf(stderr, "idle runtime used %.2f ms CPU in 300 ms\n", cpu);
	ck_assert(cpu < 15.0); /* < 5% of one core, in practice ~0 */
	rt_stop(rt);
}
END_TEST

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

START_TEST(test_push_onto_own_queue_wakes_a_sleeping_scheduler)
{
	molt_runtime *rt = rt_start(0, 2);
	molt_pid a = rt_spawn(rt, "probe", NULL);
	molt_pid b = rt_spawn(rt, "probe", NULL);
	molt_err err = MOLT_ERR_INIT;
	volatile int got[3] = {0, 0, 0};
	molt_proc_info pi = {0};
	char req[64];
	double t0, waited = -1;

	/* a runs "sleep 50"; meanwhile "send b x" and "sleep 500" queue up
	 * behind it, so a makes b runnable and then stays busy for 500 ms
	 * while the other scheduler has nothing to do */
	t0 = now_ms();
	ck_assert_int_eq(molt_runtime_call_async(rt, a, "sleep 50", 8, 5000,
						 ignore_reply, (void *)&got[0],
						 &err),
			 MOLT_OK);
	snprintf(req, sizeof(req), "send %" PRIu64 " x", b);
	ck_assert_int_eq(molt_runtime_call_async(rt, a, req, strlen(req), 5000,
						 ignore_reply, (void *)&got[1],
						 &err),
			 MOLT_OK);
	ck_assert_int_eq(molt_runtime_call_async(rt, a, "sleep 500", 9, 5000,
						 ignore_reply, (void *)&got[2],
						 &err),
			 MOLT_OK);
	/* watch b without a message (process_info makes nobody runnable) */
	while (now_ms() - t0 < 2000) {
		ck_assert_int_eq(molt_runtime_process_info(rt, b, &pi),
				 MOLT_OK);
		if (pi.reductions > 0) {
			waited = now_ms() - t0;
			break;
		}
		rt_sleep_ms(1);
	}
	fprintf(stderr, "b handled its message after %.1f ms\n", waited);
	ck_assert(waited >= 0);
	ck_assert_msg(waited < 300, "b waited %.1f ms behind a busy process",
		      waited);
	ck_assert_ptr_nonnull(
		strstr(rt_probe_log_until(rt, b, "data=x", 2000), "data=x"));
	rt_stop(rt);
}
END_TEST

/* The order in which 20 runnable processes run, in deterministic mode
 * with seed: they all forward a tag to one collector. */
static void run_order(const char *seed, char *out, size_t size)
{
	molt_runtime *rt;
	molt_pid coll, p;
	char cmd[2048];
	const char *log, *d;
	size_t n = 0, k;

	setenv("MOLT_SEED", seed, 1);
	rt = rt_start(1, 1);
	unsetenv("MOLT_SEED");
	ck_assert_uint_eq(molt_runtime_seed(rt), strtoull(seed, NULL, 10));
	coll = rt_spawn(rt, "probe", NULL);
	k = (size_t)snprintf(cmd, sizeof(cmd), "fan %" PRIu64, coll);
	for (int i = 0; i < 20; i++) {
		p = rt_spawn(rt, "probe", NULL);
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, " %" PRIu64, p);
	}
	ck_assert_str_eq(rt_call(rt, rt_spawn(rt, "probe", NULL), cmd), "ok");
	/* wait without touching any queue: the fan call, 20 forwards and
	 * 20 deliveries to the collector are 41 messages */
	for (int i = 0; i < 5000; i++) {
		molt_runtime_stats st;

		molt_runtime_get_stats(rt, &st);
		if (st.messages >= 41)
			break;
		rt_sleep_ms(1);
	}
	log = rt_call(rt, coll, "log");
	for (d = strstr(log, "data="); d; d = strstr(d + 1, "data=")) {
		int len = (int)strcspn(d + 5, "\n");

		n += (size_t)snprintf(out + n, size - n, "%.*s,", len, d + 5);
	}
	rt_stop(rt);
}

START_TEST(test_deterministic_mode_replays_an_order_from_its_seed)
{
	char a[512], b[512], c[512];

	run_order("42", a, sizeof(a));
	run_order("42", b, sizeof(b));
	run_order("4242", c, sizeof(c));
	fprintf(stderr, "seed 42: %s\nseed 4242: %s\n", a, c);
	ck_assert_ptr_nonnull(strstr(a, "t19,"));
	ck_assert_str_eq(a, b); /* same seed, same order */
	ck_assert_str_ne(a, c); /* another seed, another order */
}
END_TEST

Suite *mailbox_suite(void)
{
	Suite *s = suite_create("mailbox");
	TCase *tc = tcase_create("mailbox");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_mailbox_keeps_fifo_order_per_sender);
	tcase_add_test(tc, test_mailbox_keeps_fifo_order_deterministic);
	tcase_add_test(tc, test_process_to_process_order);
	tcase_add_test(tc, test_flooded_process_does_not_starve_others);
	tcase_add_test(
		tc, test_suspend_queues_messages_and_resume_delivers_each_once);
	tcase_add_test(tc, test_suspend_times_out_on_a_busy_process);
	tcase_add_test(tc, test_idle_schedulers_sleep);
	tcase_add_test(tc, test_push_onto_own_queue_wakes_a_sleeping_scheduler);
	tcase_add_test(tc,
		       test_deterministic_mode_replays_an_order_from_its_seed);
	suite_add_tcase(s, tc);
	return s;
}
