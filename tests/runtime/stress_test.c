/* Stress: cycles of upgrade, failed upgrade (rolled back) and downgrade of
 * the bank module while other threads spawn and kill processes of it,
 * send to and call its accounts, and poke the code server. Oracles: no
 * unit of money created or lost, every deposit handled exactly once, every
 * account alive with its state carried through every cycle.
 *
 * Scale with STRESS_PROCS (accounts, default 2000) and STRESS_CYCLES
 * (default 20). Three parts found runtime bugs of issue 8 (each now has
 * its own test in engine_test.c); they run by default and can be turned
 * off one by one with =0: STRESS_LINKED (linked processes that die in the
 * middle of a code_change), STRESS_GET_STATE (get_state requests during
 * the cycles) and STRESS_CODE_OPS (the code_server case: purges at any
 * time). Delete and load --force are left to engine_test.c, which shows
 * them refused during an evaluation deterministically: from another
 * thread, "the evaluation still runs" cannot be checked and acted on
 * atomically, and one that lands just after it rightly changes the
 * module's slots under the next cycle. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "molt/runtime.h"

#include "rt_util.h"
#include "test_util.h"
#include "upg_util.h"

#include "molt/banned.h"

#define FUNDS	 100 /* units each account starts with */
#define CHURN	 64  /* processes the churn thread keeps at most */
#define PAUSE_MS 10  /* the `apply bank:pause` inside every script */

/* What the threads share. The counters are written by one thread each and
 * read by the test once the threads are joined. */
typedef struct stress {
	molt_runtime *rt;      /* the runtime */
	molt_pid *acct;	       /* the accounts; acct[i] has tag i + 1 */
	long *sent;	       /* deposits cast to acct[i] (accepted casts) */
	size_t n;	       /* accounts */
	int linked;	       /* spawn linked pairs that die in code_change */
	int code_ops;	       /* run the code-server thread */
	int get_state;	       /* call_main also asks for get_state */
	atomic_int stop;       /* set by the test: threads return */
	pthread_mutex_t mu;    /* guards fail */
	char fail[512];	       /* the first failure a thread saw, or "" */
	long transfers;	       /* transfer casts accepted */
	long calls;	       /* get and get_state answered */
	long timeouts;	       /* calls that timed out */
	long spawned;	       /* churn processes spawned */
	long ops_ok;	       /* code-server operations that succeeded */
	long ops_refused;      /* and those refused with an error */
	atomic_long unsafe_ok; /* delete/load --force accepted during eval */
} stress;

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* The parts that found runtime bugs: on unless STRESS_KNOWN_BUGS=0. */
static long known_bugs(void)
{
	return env_long("STRESS_KNOWN_BUGS", 1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64: each thread has its own. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Record the first failure (the test asserts on it once the threads are
 * joined) and stop the threads. */
MOLT_PRINTF(2, 3)
static void report(stress *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->mu);
	if (!s->fail[0]) {
		va_start(ap, fmt);
		vsnprintf(s->fail, sizeof(s->fail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->mu);
	atomic_store(&s->stop, 1);
}

/* --- the threads --- */

/* Deposits (one unit each, counted) and transfers between accounts. */
static void *cast_main(void *arg)
{
	stress *s = arg;
	uint64_t seed = 0x9e3779b97f4a7c15u;
	char buf[64];

	for (unsigned k = 1; !atomic_load(&s->stop); k++) {
		size_t i = rnd(&seed) % s->n;
		size_t j = rnd(&seed) % s->n;
		int len;

		if (molt_runtime_cast(s->rt, s->acct[i], "deposit", 7) ==
		    MOLT_OK)
			s->sent[i]++;
		len = snprintf(buf, sizeof(buf), "transfer %u %" PRIu64,
			       (unsigned)(rnd(&seed) % 20), s->acct[j]);
		if (molt_runtime_cast(s->rt, s->acct[i], buf, (size_t)len) ==
		    MOLT_OK)
			s->transfers++;
		if (k % 32 == 0) /* let the calls through the queues */
			rt_sleep_ms(1);
	}
	return NULL;
}

/* One account answers "get" with its own tag, or fails s. */
static void call_one(stress *s, size_t i)
{
	molt_reply_buf r = {0};
	molt_err err = MOLT_ERR_INIT;
	long tag = 0;
	int rc = molt_runtime_call(s->rt, &r, s->acct[i], "get", 3, 2000, &err);

	if (rc == MOLT_ETIMEOUT) {
		s->timeouts++;
		return;
	}
	if (rc != MOLT_OK) {
		report(s, "call get account %zu: %s (rc %d)", i + 1, err.msg,
		       rc);
		return;
	}
	if (sscanf(r.data, "%ld", &tag) != 1 || tag != (long)i + 1)
		report(s, "account %zu answered get with \"%s\"", i + 1,
		       r.data);
	molt_free(r.data);
	s->calls++;
}

/* get_state of one account names its own tag, or fails s. */
static void state_one(stress *s, size_t i)
{
	molt_err err = MOLT_ERR_INIT;
	char want[32];
	char *st = NULL;
	int rc = molt_runtime_get_state(s->rt, s->acct[i], &st, 2000, &err);

	if (rc == MOLT_ETIMEOUT) {
		s->timeouts++;
		return;
	}
	if (rc != MOLT_OK) {
		report(s, "get_state account %zu: %s (rc %d)", i + 1, err.msg,
		       rc);
		return;
	}
	snprintf(want, sizeof(want), "{\"tag\":%zu,", i + 1);
	if (strncmp(st, want, strlen(want)) != 0)
		report(s, "account %zu: state %s", i + 1, st);
	molt_free(st);
	s->calls++;
}

/* Outside calls and get_state requests on random accounts. */
static void *call_main(void *arg)
{
	stress *s = arg;
	uint64_t seed = 0x2545f4914f6cdd1du;

	while (!atomic_load(&s->stop)) {
		size_t i = rnd(&seed) % s->n;

		if (!s->get_state || rnd(&seed) & 1)
			call_one(s, i);
		else
			state_one(s, i);
	}
	return NULL;
}

/* Spawn a bank process (args as text); 0 if refused (no current code,
 * a peer already dead: both fine while upgrades run). */
static molt_pid spawn(stress *s, const char *args)
{
	molt_err err = MOLT_ERR_INIT;
	molt_pid pid = 0;

	if (molt_runtime_spawn(s->rt, &pid, "bank", args, strlen(args), &err) !=
	    MOLT_OK)
		return 0;
	s->spawned++;
	return pid;
}

/* Replace churn slot k: kill what is there, spawn a bare process or, with
 * s->linked, a pair whose second kills the first in its code_change. */
static void churn_one(stress *s, molt_pid *slot, uint64_t *seed)
{
	char args[48];

	if (*slot)
		molt_runtime_exit(s->rt, *slot,
				  rnd(seed) & 1 ? "kill" : "shutdown");
	*slot = spawn(s, "");
	if (s->linked && *slot && rnd(seed) % 2) {
		snprintf(args, sizeof(args), "link %" PRIu64, *slot);
		*slot = spawn(s, args);
	}
}

static void *churn_main(void *arg)
{
	stress *s = arg;
	molt_pid slots[CHURN] = {0};
	uint64_t seed = 0x853c49e6748fea9bu;

	for (unsigned k = 1; !atomic_load(&s->stop); k++) {
		churn_one(s, &slots[rnd(&seed) % CHURN], &seed);
		if (k % 8 == 0)
			rt_sleep_ms(1);
	}
	for (size_t k = 0; k < CHURN; k++)
		if (slots[k])
			molt_runtime_exit(s->rt, slots[k], "kill");
	return NULL;
}

/* Is an evaluation holding the accounts? (Only evaluations suspend.) */
static int in_eval(stress *s)
{
	molt_proc_info pi;

	return molt_runtime_process_info(s->rt, s->acct[0], &pi) == MOLT_OK &&
	       pi.suspended;
}

/* One code-server operation on bank; purge and soft purge at any time,
 * delete and load --force only while an evaluation holds the accounts
 * (between evaluations they would, rightly, leave them on old code). */
static void code_op(stress *s, unsigned op)
{
	molt_err err = MOLT_ERR_INIT;
	unsigned killed = 0;
	int rc;

	if (op >= 2 && !in_eval(s))
		return;
	if (op == 0)
		rc = molt_runtime_purge(s->rt, "bank", &killed, &err);
	else if (op == 1)
		rc = molt_runtime_soft_purge(s->rt, "bank", &err);
	else if (op == 2)
		rc = molt_runtime_delete(s->rt, "bank", &err);
	else
		rc = molt_runtime_load(s->rt, rt_fixture("bank"), "bank",
				       MOLT_LOAD_FORCE, NULL, 0, &err);
	if (rc != MOLT_OK) {
		s->ops_refused++;
		return;
	}
	s->ops_ok++;
	if (op >= 2)
		atomic_fetch_add(&s->unsafe_ok, 1);
}

static void *code_main(void *arg)
{
	stress *s = arg;
	uint64_t seed = 0xda3e39cb94b95bdbu;

	while (!atomic_load(&s->stop)) {
		code_op(s, (unsigned)(rnd(&seed) % 2));
		rt_sleep_ms(1);
	}
	return NULL;
}

/* --- the upgrade cycles --- */

#define SCRIPT_HEAD(vsn)                                                       \
	"[[\"load_object_code\",[\"bank\",\"" vsn "\",[\"bank\"]]],"           \
	"\"point_of_no_return\",[\"suspend\",[\"bank\"]],"
#define PAUSE "[\"apply\",[\"bank\",\"pause\",[%d]]],"
#define LOAD  "[\"load\",[\"bank\",\"brutal_purge\",\"brutal_purge\"]],"
#define TAIL  "[\"resume\",[\"bank\"]],[\"purge\",[\"bank\"]]]"

/* 1.0.0 -> 2.0.0 */
static const char up_fmt[] = SCRIPT_HEAD("2.0.0") LOAD
	"[\"code_change\",\"up\",[[\"bank\",[]]]]," PAUSE TAIL;
/* 2.0.0 -> 3.0.0, which refuses account %ld after point_of_no_return */
static const char fail_fmt[] = SCRIPT_HEAD("3.0.0") LOAD
	"[\"code_change\",\"up\",[[\"bank\",%ld]]]," PAUSE TAIL;
/* 2.0.0 -> 1.0.0: the newer code converts its state down first */
static const char down_fmt[] = SCRIPT_HEAD(
	"1.0.0") "[\"code_change\",\"down\",[[\"bank\",[]]]]," PAUSE LOAD TAIL;

/* Evaluate a script made from fmt; want_rc is what it must return and
 * vsn the version current after it. A failure is reported to s (the
 * threads stop, the test joins them, then fails) and returns -1. */
static int eval_step(stress *s, const char *what, int want_rc, const char *vsn,
		     const char *script, long refused)
{
	molt_eval_report r;
	molt_err err = MOLT_ERR_INIT;
	int rc = upg_eval(s->rt, script, 0, &r, &err);
	int ok = rc == want_rc && r.rolled_back == (want_rc != MOLT_OK);

	if (ok && refused)
		ok = r.failed_pid == s->acct[refused - 1];
	if (!ok)
		report(s,
		       "%s: rc %d, rolled back %d, failed on %" PRIu64 ": %s",
		       what, rc, r.rolled_back, r.failed_pid, err.msg);
	molt_eval_report_release(&r);
	if (ok && strcmp(upg_current(s->rt, "bank"), vsn) != 0) {
		report(s, "%s: bank is at %s, not %s", what,
		       upg_current(s->rt, "bank"), vsn);
		ok = 0;
	}
	return ok ? 0 : -1;
}

/* One cycle: up, a failed up refusing account tag, down. */
static int cycle_one(stress *s, int cycle, long tag)
{
	char script[1024], what[64];

	snprintf(what, sizeof(what), "cycle %d: up", cycle);
	snprintf(script, sizeof(script), up_fmt, PAUSE_MS);
	if (eval_step(s, what, MOLT_OK, "2.0.0", script, 0) < 0)
		return -1;
	snprintf(what, sizeof(what), "cycle %d: up refusing account %ld", cycle,
		 tag);
	snprintf(script, sizeof(script), fail_fmt, tag, PAUSE_MS);
	if (eval_step(s, what, MOLT_ERROR, "2.0.0", script, tag) < 0)
		return -1;
	snprintf(what, sizeof(what), "cycle %d: down", cycle);
	snprintf(script, sizeof(script), down_fmt, PAUSE_MS);
	return eval_step(s, what, MOLT_OK, "1.0.0", script, 0);
}

/* --- the checks --- */

/* The numbers an account answers "get" with. */
typedef struct account {
	long tag, balance, deposits, in, out, ups, downs;
} account;

static void get_account(stress *s, size_t i, account *a)
{
	const char *got = rt_call(s->rt, s->acct[i], "get");

	ck_assert_msg(sscanf(got, "%ld %ld %ld %ld %ld %ld %ld", &a->tag,
			     &a->balance, &a->deposits, &a->in, &a->out,
			     &a->ups, &a->downs) == 7,
		      "account %zu: get answered \"%s\"", i + 1, got);
}

/* Units moved by all transfers: *in received, *out sent. */
static void sum_moved(stress *s, long *in, long *out)
{
	account a;

	*in = 0;
	*out = 0;
	for (size_t i = 0; i < s->n; i++) {
		get_account(s, i, &a);
		*in += a.in;
		*out += a.out;
	}
}

/* Units moved by transfers are in flight until their credit is handled:
 * wait (up to 30 s) until every unit sent has arrived. */
static void wait_quiet(stress *s)
{
	uint64_t end = now_ms() + 30000;
	long in, out;

	sum_moved(s, &in, &out);
	while (in != out && now_ms() < end) {
		rt_sleep_ms(10);
		sum_moved(s, &in, &out);
	}
	ck_assert_msg(in == out, "units sent %ld, received %ld", out, in);
}

static void check_accounts(stress *s, long ups, long downs)
{
	long total = 0, want = (long)s->n * FUNDS;
	account a;

	for (size_t i = 0; i < s->n; i++) {
		ck_assert_msg(molt_runtime_alive(s->rt, s->acct[i]),
			      "account %zu is dead", i + 1);
		get_account(s, i, &a);
		ck_assert_int_eq(a.tag, (long)i + 1);
		ck_assert_msg(a.deposits == s->sent[i],
			      "account %zu handled %ld deposits, %ld were sent",
			      i + 1, a.deposits, s->sent[i]);
		ck_assert_msg(a.ups == ups && a.downs == downs,
			      "account %zu: %ld ups, %ld downs; want %ld, %ld",
			      i + 1, a.ups, a.downs, ups, downs);
		ck_assert_str_eq(upg_vsn(s->rt, s->acct[i]), "1.0.0");
		total += a.balance;
		want += s->sent[i];
	}
	ck_assert_msg(total == want, "the accounts hold %ld units, want %ld",
		      total, want);
}

/* --- the test --- */

static void load_bank(molt_runtime *rt)
{
	molt_err err = MOLT_ERR_INIT;

	ck_assert_msg(molt_runtime_load(rt, rt_fixture("bank"), NULL, 0, NULL,
					0, &err) == MOLT_OK,
		      "load bank: %s", err.msg);
}

static void spawn_accounts(stress *s)
{
	char args[48];

	for (size_t i = 0; i < s->n; i++) {
		snprintf(args, sizeof(args), "acct %zu %d", i + 1, FUNDS);
		s->acct[i] = rt_spawn(s->rt, "bank", args);
		s->sent[i] = 0;
	}
}

static void run_cycles(stress *s, int cycles)
{
	for (int c = 0; c < cycles && !atomic_load(&s->stop); c++)
		if (cycle_one(s, c, 1 + (long)(((size_t)c * 7919u) % s->n)) < 0)
			return;
}

static void stress_run(int code_ops)
{
	static stress s;
	pthread_t th[4];
	void *(*mains[4])(void *) = {cast_main, call_main, churn_main,
				     code_main};
	int cycles = (int)env_long("STRESS_CYCLES", 20);
	size_t nth = code_ops ? 4 : 3;
	uint64_t t0 = now_ms();

	memset(&s, 0, sizeof(s));
	s.n = (size_t)env_long("STRESS_PROCS", 2000);
	s.linked = env_long("STRESS_LINKED", known_bugs()) != 0;
	s.get_state = env_long("STRESS_GET_STATE", known_bugs()) != 0;
	s.code_ops = code_ops;
	s.rt = rt_start(0, 2);
	ck_assert(s.n > 0 && cycles > 0);
	s.acct = calloc(s.n, sizeof(*s.acct));
	s.sent = calloc(s.n, sizeof(*s.sent));
	ck_assert(s.acct && s.sent);
	pthread_mutex_init(&s.mu, NULL);
	load_bank(s.rt);
	spawn_accounts(&s);
	for (size_t k = 0; k < nth; k++)
		ck_assert_int_eq(pthread_create(&th[k], NULL, mains[k], &s), 0);
	run_cycles(&s, cycles);
	atomic_store(&s.stop, 1);
	for (size_t k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	ck_assert_msg(!s.fail[0], "%s", s.fail);
	ck_assert_msg(atomic_load(&s.unsafe_ok) == 0,
		      "delete or load --force of bank accepted %ld times "
		      "while an evaluation held its processes",
		      atomic_load(&s.unsafe_ok));
	wait_quiet(&s);
	check_accounts(&s, cycles, cycles);
	fprintf(stderr,
		"stress: %zu accounts, %d cycles in %" PRIu64 " ms; %ld "
		"transfers, %ld calls (%ld timed out), %ld spawned, code "
		"server %ld ok / %ld refused\n",
		s.n, cycles, now_ms() - t0, s.transfers, s.calls, s.timeouts,
		s.spawned, s.ops_ok, s.ops_refused);
	free(s.acct);
	free(s.sent);
	rt_stop(s.rt);
}

START_TEST(test_upgrade_cycles_keep_every_unit_and_state)
{
	stress_run(0);
}
END_TEST

START_TEST(test_code_server_ops_during_upgrades_harm_nothing)
{
	if (!env_long("STRESS_CODE_OPS", known_bugs())) {
		fprintf(stderr, "stress: code_server case off "
				"(STRESS_CODE_OPS=1 runs it)\n");
		return;
	}
	stress_run(1);
}
END_TEST

Suite *stress_suite(void)
{
	Suite *s = suite_create("runtime.stress");
	TCase *tc = tcase_create("cycles");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_upgrade_cycles_keep_every_unit_and_state);
	suite_add_tcase(s, tc);
	tc = tcase_create("code_server");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_code_server_ops_during_upgrades_harm_nothing);
	suite_add_tcase(s, tc);
	return s;
}
