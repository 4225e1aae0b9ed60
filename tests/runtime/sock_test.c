/* TCP sockets: the echo server and sockprobe on real loopback sockets;
 * flow control, the send queue, ownership, upgrades, idle cost. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "rt_util.h"
#include "sock_util.h"
#include "test_util.h"
#include "upg_util.h"

#include "molt/banned.h"

#define SEED 20261207u /* every test's random data; printed */

static molt_runtime *rt;
static uint64_t rng;

static void load(const char *path)
{
	molt_err err = MOLT_ERR_INIT;

	ck_assert_msg(molt_runtime_load(rt, path, NULL, 0, NULL, 0, &err) ==
			      MOLT_OK,
		      "load %s: %s", path, err.msg);
}

static void setup(void)
{
	rt = rt_start(0, 2);
	load(rt_fixture("echo"));
	load(rt_fixture("sockprobe"));
	rng = SEED;
}

static void teardown(void)
{
	rt_stop(rt);
}

static uint32_t rnd(void)
{
	/* xorshift64 */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void fill_random(unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)rnd();
}

/* --- the node's side --- */

/* echo "listen 0": its pid in *pid, its port returned. */
static unsigned echo_listen(molt_pid *pid)
{
	*pid = rt_spawn(rt, "echo", "listen 0");
	return (unsigned)rt_call_u(rt, *pid, "port");
}

/* sockprobe "listen ADDR 0 MODE", or 0 when it cannot listen there. */
static molt_pid probe_listen(const char *addr, const char *mode, unsigned *port)
{
	molt_err err = MOLT_ERR_INIT;
	char args[128];
	molt_pid pid = 0;
	int n = snprintf(args, sizeof(args), "listen %s 0 %s", addr, mode);

	if (molt_runtime_spawn(rt, &pid, "sockprobe", args, (size_t)n, &err) <
	    0)
		return 0;
	*port = (unsigned)rt_call_u(rt, pid, "port");
	return pid;
}

/* The process serving sockprobe listener's n-th connection. */
static molt_pid probe_conn(molt_pid listener, uint64_t n)
{
	for (int t = 0; t < 2000; t++) {
		if (rt_call_u(rt, listener, "conns") >= n)
			return rt_call_u(rt, listener, "last");
		rt_sleep_ms(1);
	}
	ck_abort_msg("no connection %" PRIu64 " reached the listener", n);
	return 0;
}

/* A client connected to a sockprobe listener on 127.0.0.1 in *fd; returns
 * the process serving it ("conn MODE"). */
static molt_pid probe_pair(const char *mode, int *fd)
{
	unsigned port = 0;
	molt_pid l = probe_listen("127.0.0.1", mode, &port);

	ck_assert(l != 0);
	*fd = sk_connect("127.0.0.1", port);
	ck_assert_msg(*fd >= 0, "connect: %s", strerror(errno));
	return probe_conn(l, 1);
}

/* Echo processes other than the listener, once there are n of them. */
static size_t echo_conns(molt_pid listener, molt_pid *out, size_t n)
{
	molt_pid pids[512];
	size_t got = 0;

	ck_assert(n < 512);
	for (int t = 0; t < 5000 && got < n; t++) {
		size_t all = molt_runtime_module_pids(rt, "echo", MOLT_PIDS_ANY,
						      pids, 512);

		got = 0;
		for (size_t i = 0; i < all && i < 512; i++)
			if (pids[i] != listener)
				out[got++] = pids[i];
		if (got < n)
			rt_sleep_ms(1);
	}
	ck_assert_msg(got == n, "%zu echo connections, want %zu", got, n);
	return got;
}

static size_t heap_of(molt_pid pid)
{
	molt_proc_info pi;

	ck_assert_int_eq(molt_runtime_process_info(rt, pid, &pi), MOLT_OK);
	return pi.heap_bytes;
}

/* The number after "key=" in sockprobe's "stat". */
static uint64_t stat_of(molt_pid pid, const char *key)
{
	const char *s = rt_call(rt, pid, "stat");
	char want[32];
	const char *at;

	snprintf(want, sizeof(want), "%s=", key);
	at = strstr(s, want);
	ck_assert_msg(at != NULL, "stat: %s", s);
	return strtoull(at + strlen(want), NULL, strcmp(key, "hash") ? 10 : 16);
}

/* Wait until sockprobe pid's stat key reaches at least v. */
static uint64_t wait_stat(molt_pid pid, const char *key, uint64_t v,
			  unsigned ms)
{
	uint64_t got = stat_of(pid, key);

	for (unsigned t = 0; t < ms && got < v; t += 2) {
		rt_sleep_ms(2);
		got = stat_of(pid, key);
	}
	return got;
}

/* --- 1. round trips --- */

static void round_trips(int fd, int n)
{
	unsigned char out[4096], in[4096];

	for (int i = 0; i < n; i++) {
		size_t len = 1 + rnd() % sizeof(out);

		fill_random(out, len);
		sk_write_all(fd, out, len, 2000);
		ck_assert_uint_eq(sk_read_n(fd, in, len, 2000), len);
		ck_assert_msg(memcmp(in, out, len) == 0,
			      "round trip %d (%zu bytes) differs", i, len);
	}
}

START_TEST(test_echo_round_trips_over_ipv4)
{
	molt_pid l;
	unsigned port = echo_listen(&l);
	int fd = sk_connect("127.0.0.1", port);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	round_trips(fd, 200);
	close(fd);
}
END_TEST

/*
 * The schedulers poll the sockets themselves (sock.h). Two processes that
 * cast to themselves forever keep both schedulers busy with short turns,
 * so neither ever waits in epoll_wait: the sockets are still served, by
 * the look a busy scheduler takes every few turns.
 */
START_TEST(test_sockets_are_served_while_every_scheduler_is_busy)
{
	molt_pid l, churn[2];
	unsigned port = echo_listen(&l);
	int fd = sk_connect("127.0.0.1", port);

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	round_trips(fd, 1);
	load(rt_fixture("looper"));
	for (int i = 0; i < 2; i++) {
		churn[i] = rt_spawn(rt, "looper", "");
		ck_assert_int_eq(molt_runtime_cast(rt, churn[i], "churn", 5),
				 MOLT_OK);
	}
	round_trips(fd, 50); /* each within 2 s */
	close(fd);
}
END_TEST

/*
 * A callback that runs long on the scheduler that just polled must not
 * leave the sockets unwatched while another scheduler sleeps: it takes up
 * the poll within a few milliseconds (sched.c's kick), and a second
 * connection is answered while the first one's process naps.
 */
START_TEST(test_a_long_callback_after_a_poll_does_not_stall_other_sockets)
{
	molt_pid l;
	unsigned port = echo_listen(&l);
	int fast = sk_connect("127.0.0.1", port), slow;
	molt_pid napper = probe_pair("nap 600", &slow);
	unsigned char c = 'x';
	uint64_t t0;

	ck_assert_msg(fast >= 0, "connect: %s", strerror(errno));
	(void)napper;
	round_trips(fast, 1);
	rt_sleep_ms(20); /* both schedulers idle again */
	sk_write_all(slow, &c, 1, 2000);
	rt_sleep_ms(50); /* its process naps on the scheduler that polled */
	t0 = molt_now_ms();
	round_trips(fast, 1);
	ck_assert_msg(molt_now_ms() - t0 < 300,
		      "a round trip took %" PRIu64
		      " ms while another connection's callback napped",
		      molt_now_ms() - t0);
	ck_assert_uint_eq(sk_read_n(slow, &c, 1, 2000), 1);
	close(fast);
	close(slow);
}
END_TEST

START_TEST(test_echo_round_trips_over_ipv6)
{
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	unsigned port = 0;
	molt_pid l, c;
	int fd;

	if (probe < 0) {
		fprintf(stderr, "SKIP: no IPv6 sockets here\n");
		return;
	}
	close(probe);
	l = probe_listen("::1", "echo", &port);
	if (!l) {
		fprintf(stderr, "SKIP: cannot listen on ::1\n");
		return;
	}
	fd = sk_connect("::1", port);
	ck_assert_msg(fd >= 0, "connect [::1]:%u: %s", port, strerror(errno));
	round_trips(fd, 200);
	c = probe_conn(l, 1);
	ck_assert_uint_gt(stat_of(c, "bytes"), 0);
	close(fd);
}
END_TEST

/* --- 2. many connections, a big transfer --- */

#define NCONN  200
#define PERCON (16 * 1024)

START_TEST(test_200_concurrent_connections_echo_distinct_data)
{
	static unsigned char out[NCONN][PERCON], in[NCONN][PERCON];
	size_t sent[NCONN] = {0}, got[NCONN] = {0};
	int fd[NCONN];
	molt_pid l;
	unsigned port = echo_listen(&l);
	size_t done = 0;

	fprintf(stderr, "sock: seed %u\n", SEED);
	for (int i = 0; i < NCONN; i++) {
		fill_random(out[i], PERCON);
		out[i][0] = (unsigned char)i; /* distinct even by chance */
		fd[i] = sk_connect("127.0.0.1", port);
		ck_assert_msg(fd[i] >= 0, "connect %d: %s", i, strerror(errno));
		sk_nonblock(fd[i]);
	}
	for (int round = 0; done < NCONN && round < 20000; round++) {
		done = 0;
		for (int i = 0; i < NCONN; i++) {
			ssize_t n;

			if (sent[i] < PERCON) {
				n = send(fd[i], out[i] + sent[i],
					 PERCON - sent[i], MSG_NOSIGNAL);
				sent[i] += n > 0 ? (size_t)n : 0;
			}
			n = recv(fd[i], in[i] + got[i], PERCON - got[i], 0);
			got[i] += n > 0 ? (size_t)n : 0;
			done += got[i] == PERCON;
		}
		if (done < NCONN)
			rt_sleep_ms(1);
	}
	for (int i = 0; i < NCONN; i++) {
		ck_assert_msg(got[i] == PERCON, "connection %d: %zu of %d", i,
			      got[i], PERCON);
		ck_assert_msg(memcmp(in[i], out[i], PERCON) == 0,
			      "connection %d got another's data", i);
		close(fd[i]);
	}
}
END_TEST

#define BIG (5u * 1024 * 1024)

START_TEST(test_5mb_are_echoed_intact_while_the_client_reads)
{
	unsigned char *out = malloc(BIG), *in = malloc(BIG);
	molt_pid l, c;
	unsigned port = echo_listen(&l);
	int fd = sk_connect("127.0.0.1", port);
	size_t sent = 0, got = 0, peak = 0;

	ck_assert(out && in && fd >= 0);
	fill_random(out, BIG);
	sk_nonblock(fd);
	echo_conns(l, &c, 1);
	for (int t = 0; got < BIG && t < 200000; t++) {
		ssize_t n = sent < BIG ? send(fd, out + sent, BIG - sent,
					      MSG_NOSIGNAL)
				       : 0;
		size_t h;

		sent += n > 0 ? (size_t)n : 0;
		n = recv(fd, in + got, BIG - got, 0);
		got += n > 0 ? (size_t)n : 0;
		if ((t & 63) == 0 && (h = heap_of(c)) > peak)
			peak = h;
		if (n <= 0)
			sk_readable(fd, 1);
	}
	ck_assert_msg(got == BIG, "echoed %zu of %u bytes", got, BIG);
	ck_assert_msg(memcmp(in, out, BIG) == 0, "5 MB came back changed");
	fprintf(stderr, "sock: 5 MB echo, connection heap peak %zu bytes\n",
		peak);
	close(fd);
	free(out);
	free(in);
}
END_TEST

/* A client that writes until everything is full, and only then reads:
 * the echo's send queue refuses a chunk (MOLT_EBUSY), and the echo must
 * keep it and send it at MOLT_TCP_SENT (docs/examples/echo/echo.c). */
START_TEST(test_echo_keeps_what_a_full_send_queue_refused)
{
	molt_pid l;
	unsigned port = echo_listen(&l);
	int fd = sk_connect("127.0.0.1", port);
	uint64_t woff = 0, roff = 0;
	size_t sent;

	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	sk_nonblock(fd);
	sent = sk_fill_until_blocked(fd, &woff, 300);
	ck_assert_msg(sent > 4u * 1024 * 1024,
		      "only %zu bytes went before the client blocked", sent);
	sk_expect_pattern(fd, &roff, sent, 5000);
	fprintf(stderr,
		"sock: echo held and sent its refused bytes: %zu "
		"bytes back intact\n",
		sent);
	close(fd);
}
END_TEST

/* --- 3. flow control --- */

START_TEST(test_a_process_that_stops_asking_pushes_back_on_the_client)
{
	int fd;
	molt_pid c = probe_pair("sink 4", &fd);
	uint64_t off = 0;
	size_t blocked, heap;

	/* the sink takes 4 chunks, then the kernel's buffers fill */
	blocked = sk_fill_until_blocked(fd, &off, 300);
	ck_assert_uint_eq(stat_of(c, "events"), 4);
	heap = heap_of(c);
	fprintf(stderr,
		"sock: a reader that stopped asking holds its client at %zu "
		"bytes; its heap: %zu bytes\n",
		blocked, heap);
	ck_assert_msg(heap < 16 * 1024, "stopped reader's heap: %zu", heap);
	ck_assert_uint_le(stat_of(c, "bytes"), 4 * 64 * 1024);
	/* asking again drains everything, in order, and more flows */
	ck_assert_str_eq(rt_call(rt, c, "ask"), "0");
	sk_send_pattern(fd, &off, 2u * 1024 * 1024);
	ck_assert_uint_eq(wait_stat(c, "bytes", off, 5000), off);
	ck_assert_uint_eq(stat_of(c, "hash"), sk_pattern_hash(off));
	close(fd);
}
END_TEST

/* --- 4. the send queue --- */

#define SENDQ (1024 * 1024)

/* A connection to a "blast" process with a send queue of SENDQ. */
static molt_pid blaster(int *fd)
{
	molt_pid c = probe_pair("blast", fd);

	ck_assert_str_eq(rt_call(rt, c, "sendq 1048576"), "0");
	return c;
}

START_TEST(test_the_send_queue_refuses_past_its_limit_then_says_sent)
{
	int fd;
	molt_pid c = blaster(&fd);
	uint64_t off = 0, total = 16u * 1024 * 1024;
	char req[64];
	size_t heap;

	/* the client reads nothing: the kernel fills, then the queue */
	snprintf(req, sizeof(req), "blast %" PRIu64, total);
	ck_assert_str_eq(rt_call(rt, c, req), "-6"); /* MOLT_EBUSY */
	ck_assert_uint_ge(stat_of(c, "busy"), 1);
	ck_assert_uint_lt(stat_of(c, "sent"), total);
	ck_assert_uint_eq(stat_of(c, "sentev"), 0);
	heap = heap_of(c);
	fprintf(stderr, "sock: a full send queue (limit %d): heap %zu bytes\n",
		SENDQ, heap);
	ck_assert_msg(heap <= 2 * SENDQ + 128 * 1024,
		      "heap %zu bytes past a %d-byte send queue", heap, SENDQ);
	/* reading drains it: MOLT_TCP_SENT, and the rest follows */
	sk_expect_pattern(fd, &off, total, 10000);
	ck_assert_uint_ge(stat_of(c, "sentev"), 1);
	ck_assert_uint_eq(stat_of(c, "sent"), total);
	close(fd);
}
END_TEST

START_TEST(test_a_drained_send_queue_gives_its_memory_back)
{
	int fd;
	molt_pid c = blaster(&fd);
	uint64_t off = 0;
	size_t before = heap_of(c), after = 0;

	ck_assert_str_eq(rt_call(rt, c, "blast 16777216"), "-6");
	sk_expect_pattern(fd, &off, 16u * 1024 * 1024, 10000);
	ck_assert_uint_ge(wait_stat(c, "sentev", 1, 2000), 1);
	for (int t = 0; t < 500; t++) {
		after = heap_of(c);
		if (after <= before + 1024)
			break;
		rt_sleep_ms(2);
	}
	fprintf(stderr,
		"sock: heap before a 16 MiB burst %zu bytes, after %zu\n",
		before, after);
	ck_assert_msg(after <= before + 1024,
		      "an idle connection keeps %zu bytes of its drained queue",
		      after - before);
	close(fd);
}
END_TEST

START_TEST(test_the_send_queue_stays_bounded_while_the_peer_reads_slowly)
{
	int fd;
	molt_pid c = probe_pair("drip 32768", &fd);
	uint64_t off = 0;
	size_t peak = 0;

	ck_assert_str_eq(rt_call(rt, c, "sendq 262144"), "0");
	ck_assert_str_eq(rt_call(rt, c, "sndbuf 32768"), "0");
	/* the process sends 32 KiB a millisecond, the client reads about 8
	 * MiB a second: the queue is never empty, never past its limit */
	for (int t = 0; t < 1000; t++) {
		size_t h;

		sk_expect_pattern(fd, &off, 8192, 2000);
		if ((h = heap_of(c)) > peak)
			peak = h;
		rt_sleep_ms(1);
	}
	ck_assert_str_eq(rt_call(rt, c, "stop"), "0");
	fprintf(stderr,
		"sock: a 256 KiB send queue read slowly: %" PRIu64
		" bytes through, heap peak %zu bytes\n",
		off, peak);
	ck_assert_msg(peak <= 2 * 262144 + 128 * 1024,
		      "heap %zu bytes past a 262144-byte send queue", peak);
	close(fd);
}
END_TEST

/* --- 5. owners --- */

START_TEST(test_an_owner_exit_closes_its_sockets)
{
	size_t base = sk_count_socket_fds();
	molt_pid l, c[2];
	unsigned port = echo_listen(&l);
	int a = sk_connect("127.0.0.1", port);
	int b = sk_connect("127.0.0.1", port);
	int fd;

	ck_assert(a >= 0 && b >= 0);
	echo_conns(l, c, 2);
	ck_assert_uint_eq(sk_count_socket_fds(), base + 1 + 2 + 2);
	/* a killed connection process: its client reads EOF */
	ck_assert_int_eq(molt_runtime_exit(rt, c[0], "kill"), MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, c[0], 2000));
	ck_assert_msg(sk_wait_eof(a, 2000) || sk_wait_eof(b, 2000),
		      "no client saw its connection close");
	/* a killed listener: new connections are refused, old ones live */
	ck_assert_int_eq(molt_runtime_exit(rt, l, "kill"), MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, l, 2000));
	fd = sk_connect("127.0.0.1", port);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED,
		      "connect after the listener died: %s",
		      fd < 0 ? strerror(errno) : "accepted");
	ck_assert_int_eq(molt_runtime_exit(rt, c[1], "kill"), MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, c[1], 2000));
	close(a);
	close(b);
	ck_assert_uint_eq(sk_count_socket_fds(), base);
}
END_TEST

START_TEST(test_a_peer_close_ends_the_connection_process)
{
	size_t base = sk_count_socket_fds();
	molt_pid l, c;
	unsigned port = echo_listen(&l);
	int fd = sk_connect("127.0.0.1", port);

	ck_assert(fd >= 0);
	echo_conns(l, &c, 1);
	round_trips(fd, 3);
	close(fd);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, c, 2000));
	ck_assert_uint_eq(sk_count_socket_fds(), base + 1);
}
END_TEST

/*
 * Bytes and the peer's end that arrive together: the end is read after
 * the bytes, and its edge-triggered event has passed by then, so the
 * socket must not be taken for empty at the short read (sock.h). Each
 * connection gets its bytes back, then the end.
 */
START_TEST(test_bytes_then_the_end_arriving_together_are_both_seen)
{
	unsigned char out[300], in[300];
	molt_pid l;
	unsigned port = echo_listen(&l);

	for (int i = 0; i < 100; i++) {
		int fd = sk_connect("127.0.0.1", port);
		size_t len = 1 + rnd() % sizeof(out);

		ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
		fill_random(out, len);
		sk_write_all(fd, out, len, 2000);
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		ck_assert_uint_eq(sk_read_n(fd, in, len, 2000), len);
		ck_assert(memcmp(in, out, len) == 0);
		ck_assert_msg(sk_wait_eof(fd, 2000),
			      "connection %d: no end after its echo", i);
		close(fd);
	}
}
END_TEST

/* --- 6. suspend, resume, upgrade --- */

START_TEST(test_a_suspended_connection_loses_nothing)
{
	molt_err err = MOLT_ERR_INIT;
	molt_pid l, c;
	unsigned port = echo_listen(&l);
	int fd = sk_connect("127.0.0.1", port);
	char line[64], want[64 * 200], got[64 * 200];
	size_t len = 0;

	ck_assert(fd >= 0);
	echo_conns(l, &c, 1);
	round_trips(fd, 1);
	ck_assert_int_eq(molt_runtime_suspend(rt, c, 2000, &err), MOLT_OK);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(line, sizeof(line), "line %d\n", i);

		sk_write_all(fd, line, (size_t)n, 2000);
		memcpy(want + len, line, (size_t)n);
		len += (size_t)n;
		if (i % 50 == 0)
			rt_sleep_ms(5);
	}
	ck_assert_msg(!sk_readable(fd, 200), "a suspended process echoed");
	ck_assert_int_eq(molt_runtime_resume(rt, c, &err), MOLT_OK);
	ck_assert_uint_eq(sk_read_n(fd, got, len, 3000), len);
	ck_assert_msg(memcmp(got, want, len) == 0, "echo out of order");
	close(fd);
}
END_TEST

#define ECHO_UP(vsn)                                                           \
	"[[\"load_object_code\",[\"echo\",\"" vsn "\",[\"echo\"]]],"           \
	"\"point_of_no_return\",[\"suspend\",[\"echo\"]],"                     \
	"[\"load\",[\"echo\",\"brutal_purge\",\"brutal_purge\"]],"             \
	"[\"code_change\",\"up\",[[\"echo\",[]]]],"                            \
	"[\"resume\",[\"echo\"]],[\"purge\",[\"echo\"]]]"
#define ECHO_DOWN                                                              \
	"[[\"load_object_code\",[\"echo\",\"1.0.0\",[\"echo\"]]],"             \
	"\"point_of_no_return\",[\"suspend\",[\"echo\"]],"                     \
	"[\"code_change\",\"down\",[[\"echo\",[]]]],"                          \
	"[\"load\",[\"echo\",\"brutal_purge\",\"brutal_purge\"]],"             \
	"[\"resume\",[\"echo\"]],[\"purge\",[\"echo\"]]]"

#define NUPG 20

/* Every client sends a line and reads it back. */
static void all_echo(const int *fd, size_t n, const char *text)
{
	char got[64];
	size_t len = strlen(text);

	for (size_t i = 0; i < n; i++) {
		sk_write_all(fd[i], text, len, 2000);
		ck_assert_msg(sk_read_n(fd[i], got, len, 3000) == len &&
				      memcmp(got, text, len) == 0,
			      "connection %zu: no echo of %s", i, text);
	}
}

START_TEST(test_an_upgrade_keeps_every_connection_open)
{
	molt_pid l, c[NUPG];
	unsigned port = echo_listen(&l);
	int fd[NUPG], late;
	char got[16];

	for (int i = 0; i < NUPG; i++)
		ck_assert((fd[i] = sk_connect("127.0.0.1", port)) >= 0);
	echo_conns(l, c, NUPG);
	all_echo(fd, NUPG, "before ");
	/* bytes in flight while the processes are suspended */
	for (int i = 0; i < NUPG; i++)
		sk_write_all(fd[i], "during ", 7, 2000);
	upg_eval_ok(rt, ECHO_UP("2.0.0"));
	for (int i = 0; i < NUPG; i++) {
		ck_assert_uint_eq(sk_read_n(fd[i], got, 7, 3000), 7);
		ck_assert(memcmp(got, "during ", 7) == 0);
		ck_assert_str_eq(upg_vsn(rt, c[i]), "2.0.0");
	}
	ck_assert_str_eq(upg_vsn(rt, l), "2.0.0");
	all_echo(fd, NUPG, "one\ntwo\n");
	for (int i = 0; i < NUPG; i++)
		ck_assert_str_eq(rt_call(rt, c[i], "lines"), "2");
	/* the listener's socket survived too */
	ck_assert_uint_eq(rt_call_u(rt, l, "port"), port);
	late = sk_connect("127.0.0.1", port);
	ck_assert(late >= 0);
	all_echo(&late, 1, "late\n");
	/* and back down */
	upg_eval_ok(rt, ECHO_DOWN);
	ck_assert_str_eq(upg_vsn(rt, c[0]), "1.0.0");
	all_echo(fd, NUPG, "after ");
	all_echo(&late, 1, "after ");
	for (int i = 0; i < NUPG; i++)
		close(fd[i]);
	close(late);
}
END_TEST

/* --- 7. give --- */

START_TEST(test_a_given_socket_delivers_its_events_to_the_new_owner)
{
	unsigned port = 0;
	molt_pid l = probe_listen("127.0.0.1", "echo", &port), a, b, dead;
	int fd = sk_connect("127.0.0.1", port);
	uint64_t a_bytes;
	char req[64];

	ck_assert(l && fd >= 0);
	a = probe_conn(l, 1);
	round_trips(fd, 1);
	b = rt_spawn(rt, "sockprobe", "conn echo");
	snprintf(req, sizeof(req), "give %" PRIu64, b);
	ck_assert_str_eq(rt_call(rt, a, req), "0");
	a_bytes = stat_of(a, "bytes");
	all_echo(&fd, 1, "to b");
	ck_assert_uint_eq(stat_of(b, "bytes"), 4);
	ck_assert_uint_eq(stat_of(a, "bytes"), a_bytes);
	/* the old owner's exit does not touch it */
	ck_assert_int_eq(molt_runtime_exit(rt, a, "kill"), MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, a, 2000));
	all_echo(&fd, 1, "still b");
	/* a give to a dead process fails; the socket stays */
	dead = rt_spawn(rt, "sockprobe", "conn echo");
	ck_assert_int_eq(molt_runtime_exit(rt, dead, "kill"), MOLT_OK);
	ck_assert_ptr_nonnull(rt_wait_exit(rt, dead, 2000));
	snprintf(req, sizeof(req), "give %" PRIu64, dead);
	ck_assert_str_eq(rt_call(rt, b, req), "-11"); /* MOLT_ECLOSED */
	all_echo(&fd, 1, "b again");
	ck_assert_uint_eq(stat_of(b, "bytes"), 4 + 7 + 7);
	/* and it is still b's: b's exit closes it */
	ck_assert_int_eq(molt_runtime_exit(rt, b, "kill"), MOLT_OK);
	ck_assert(sk_wait_eof(fd, 2000));
	close(fd);
}
END_TEST

/* --- 8. names --- */

static molt_sock ops_accepted(molt_pid ops, molt_sock not )
{
	for (int t = 0; t < 2000; t++) {
		molt_sock s = rt_call_u(rt, ops, "accepted");

		if (s && s != not )
			return s;
		rt_sleep_ms(1);
	}
	ck_abort_msg("no connection accepted");
	return 0;
}

static const char *ops(molt_pid pid, const char *verb, molt_sock s,
		       const char *arg)
{
	char req[128];

	snprintf(req, sizeof(req), "%s %" PRIu64 "%s%s", verb, s,
		 arg ? " " : "", arg ? arg : "");
	return rt_call(rt, pid, req);
}

/* A process connects out: CONNECTED, then data both ways, queued bytes
 * sent once it is up; a connect to a closed port ends in an error. */
START_TEST(test_a_process_connects_out)
{
	molt_pid l, o = rt_spawn(rt, "sockprobe", "ops");
	unsigned port = echo_listen(&l);
	char req[64];
	molt_sock s;
	uint64_t closed;

	snprintf(req, sizeof(req), "connect %u", port);
	s = rt_call_u(rt, o, req);
	ck_assert_msg((int64_t)s > 0, "connect: %" PRId64, (int64_t)s);
	/* sent before it is up: queued, then delivered */
	ck_assert_str_eq(ops(o, "send", s, "hello"), "0");
	for (int t = 0; t < 2000 && rt_call_u(rt, o, "connected") != s; t++)
		rt_sleep_ms(1);
	ck_assert_uint_eq(rt_call_u(rt, o, "connected"), s);
	ck_assert_str_eq(ops(o, "active", s, "10"), "0");
	ck_assert_uint_eq(wait_stat(o, "bytes", 5, 2000), 5); /* the echo */
	ck_assert_str_eq(ops(o, "close", s, NULL), "0");
	/* nothing listens on the echo's port once it is closed */
	closed = rt_call_u(rt, o, "closed");
	ck_assert_int_eq(molt_runtime_exit(rt, l, "kill"), MOLT_OK);
	for (int t = 0; t < 2000 && molt_runtime_alive(rt, l); t++)
		rt_sleep_ms(1);
	s = rt_call_u(rt, o, req);
	if ((int64_t)s > 0) /* refused later, as an error event */
		for (int t = 0;
		     t < 2000 && rt_call_u(rt, o, "closed") == closed; t++)
			rt_sleep_ms(1);
	ck_assert_msg((int64_t)s < 0 || rt_call_u(rt, o, "closed") > closed,
		      "a connect to a closed port did not fail");
}
END_TEST

START_TEST(test_a_closed_socket_name_stays_closed_when_its_slot_is_reused)
{
	molt_pid o = rt_spawn(rt, "sockprobe", "ops");
	molt_sock l = rt_call_u(rt, o, "listen 127.0.0.1"), s1, s2, s3;
	unsigned port = (unsigned)strtoul(ops(o, "port", l, NULL), NULL, 10);
	int a = sk_connect("127.0.0.1", port), b, c;
	char got[8];

	ck_assert(a >= 0);
	s1 = ops_accepted(o, 0);
	ck_assert_str_eq(ops(o, "close", s1, NULL), "0");
	ck_assert(sk_wait_eof(a, 2000));
	b = sk_connect("127.0.0.1", port);
	s2 = ops_accepted(o, s1);
	ck_assert_msg((s2 & 0xffffffffu) == (s1 & 0xffffffffu),
		      "slot not reused: %" PRIx64 " then %" PRIx64, s1, s2);
	/* every call on the old name: closed, and nothing reaches b */
	ck_assert_str_eq(ops(o, "send", s1, "x"), "-11");
	ck_assert_str_eq(ops(o, "port", s1, NULL), "-11");
	ck_assert_str_eq(ops(o, "active", s1, "1"), "-11");
	ck_assert_str_eq(ops(o, "close", s1, NULL), "-11");
	ck_assert_str_eq(ops(o, "name", s1, NULL), "-11");
	ck_assert(!sk_readable(b, 50));
	ck_assert_str_eq(ops(o, "send", s2, "hi"), "0");
	ck_assert_uint_eq(sk_read_n(b, got, 2, 2000), 2);
	/* closed by the peer this time */
	ck_assert_str_eq(ops(o, "active", s2, "1"), "0");
	close(b);
	for (int t = 0; t < 2000 && rt_call_u(rt, o, "closed") < 1; t++)
		rt_sleep_ms(1);
	ck_assert_uint_eq(rt_call_u(rt, o, "closed"), 1);
	c = sk_connect("127.0.0.1", port);
	s3 = ops_accepted(o, s2);
	ck_assert((s3 & 0xffffffffu) == (s2 & 0xffffffffu));
	ck_assert_str_eq(ops(o, "send", s2, "x"), "-11");
	ck_assert_str_eq(ops(o, "send", s3, "ok"), "0");
	ck_assert_uint_eq(sk_read_n(c, got, 2, 2000), 2);
	ck_assert(memcmp(got, "ok", 2) == 0);
	close(a);
	close(c);
}
END_TEST

/* --- 9. idle cost --- */

#define NIDLE  10000

#define NBATCH 100 /* below the listen backlog (128): no SYN is dropped */

/* The client side, in a child process (its descriptors do not count
 * against ours): for each byte read from go, connect NBATCH more times
 * and write a byte to done; hold them until go closes. Only system
 * calls after fork. */
static void idle_clients(unsigned port, int go, int done)
{
	static int fds[NIDLE];
	int n = 0;
	char c;

	while (read(go, &c, 1) == 1) {
		for (int i = 0; i < NBATCH && n < NIDLE; i++)
			if ((fds[n++] = sk_connect("127.0.0.1", port)) < 0)
				_exit(1);
		if (write(done, &c, 1) != 1)
			_exit(2);
	}
	_exit(0);
}

/* Wait until the echo module has n processes; returns how many it has. */
static size_t wait_echo_procs(size_t n, unsigned ms)
{
	size_t procs = 0;

	for (unsigned t = 0; t < ms; t++) {
		procs = molt_runtime_module_pids(rt, "echo", MOLT_PIDS_ANY,
						 NULL, 0);
		if (procs == n)
			break;
		rt_sleep_ms(1);
	}
	return procs;
}

static size_t heap_total(void)
{
	static molt_proc_info pi[NIDLE + 64];
	size_t n = molt_runtime_processes(rt, pi, NIDLE + 64), sum = 0;

	for (size_t i = 0; i < n && i < NIDLE + 64; i++)
		sum += pi[i].heap_bytes;
	return sum;
}

START_TEST(test_10k_idle_connections_cost_little)
{
	int go[2], done[2], status = 0;
	size_t rss0, heap0, rss1, heap1;
	molt_runtime_stats st;
	molt_pid l;
	unsigned port;
	pid_t child;
	char c;

	if (!sk_raise_nofile(NIDLE + 256)) {
		fprintf(stderr,
			"SKIP: sock: RLIMIT_NOFILE's hard limit is "
			"below %d: no 10k idle connections\n",
			NIDLE + 256);
		return;
	}
	port = echo_listen(&l);
	rss0 = sk_rss_bytes();
	heap0 = heap_total();
	ck_assert(pipe(go) == 0 && pipe(done) == 0);
	child = fork();
	ck_assert(child >= 0);
	if (child == 0) {
		close(go[1]);
		close(done[0]);
		idle_clients(port, go[0], done[1]);
	}
	close(go[0]);
	close(done[1]);
	for (int n = NBATCH; n <= NIDLE; n += NBATCH) {
		ck_assert(write(go[1], "g", 1) == 1);
		ck_assert_msg(read(done[0], &c, 1) == 1, "the clients failed");
		ck_assert_uint_eq(wait_echo_procs((size_t)n + 1, 5000),
				  (size_t)n + 1);
	}
	rt_sleep_ms(200); /* every connection has taken its socket */
	rss1 = sk_rss_bytes();
	heap1 = heap_total();
	molt_runtime_get_stats(rt, &st);
	fprintf(stderr,
		"sock: idle connection costs %zu bytes (resident; heap %zu, "
		"process struct %zu; kernel buffers not counted)\n",
		(rss1 - rss0) / NIDLE, (heap1 - heap0) / NIDLE,
		st.proc_struct_bytes);
	ck_assert_uint_lt((rss1 - rss0) / NIDLE, 16 * 1024);
	/* the clients go: every connection process ends */
	close(go[1]);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	ck_assert_uint_eq(wait_echo_procs(1, 20000), 1);
	close(done[0]);
}
END_TEST

Suite *sock_suite(void)
{
	Suite *s = suite_create("sock");
	TCase *tc = tcase_create("sock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_echo_round_trips_over_ipv4);
	tcase_add_test(tc, test_echo_round_trips_over_ipv6);
	tcase_add_test(tc,
		       test_sockets_are_served_while_every_scheduler_is_busy);
	tcase_add_test(
		tc,
		test_a_long_callback_after_a_poll_does_not_stall_other_sockets);
	tcase_add_test(tc, test_200_concurrent_connections_echo_distinct_data);
	tcase_add_test(tc, test_5mb_are_echoed_intact_while_the_client_reads);
	tcase_add_test(tc, test_echo_keeps_what_a_full_send_queue_refused);
	tcase_add_test(tc, test_a_process_connects_out);
	tcase_add_test(
		tc, test_a_process_that_stops_asking_pushes_back_on_the_client);
	tcase_add_test(
		tc, test_the_send_queue_refuses_past_its_limit_then_says_sent);
	tcase_add_test(tc, test_a_drained_send_queue_gives_its_memory_back);
	tcase_add_test(
		tc,
		test_the_send_queue_stays_bounded_while_the_peer_reads_slowly);
	tcase_add_test(tc, test_an_owner_exit_closes_its_sockets);
	tcase_add_test(tc, test_a_peer_close_ends_the_connection_process);
	tcase_add_test(tc,
		       test_bytes_then_the_end_arriving_together_are_both_seen);
	tcase_add_test(tc, test_a_suspended_connection_loses_nothing);
	tcase_add_test(tc, test_an_upgrade_keeps_every_connection_open);
	tcase_add_test(
		tc, test_a_given_socket_delivers_its_events_to_the_new_owner);
	tcase_add_test(
		tc,
		test_a_closed_socket_name_stays_closed_when_its_slot_is_reused);
	tcase_add_test(tc, test_10k_idle_connections_cost_little);
	suite_add_tcase(s, tc);
	return s;
}
