/* The control socket's limits against a real moltd: output back-pressure,
 * idle clients, the reserved slot and the modes of --root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "node_util.h"
#include "rt_util.h"
#include "test_util.h"

#define TREE                                                                   \
	"{\"strategy\":\"one_for_one\",\"intensity\":10,\"period\":10,"        \
	"\"children\":[{\"id\":\"c\",\"module\":\"counter\",\"name\":\"c\"},"  \
	"{\"id\":\"s\",\"module\":\"slow\",\"name\":\"s\"}]}"

#define OUT_CAP	    (4u * 1024 * 1024) /* runtime/src/ctl/ctl.h */
#define MAX_CLIENTS 64		       /* MOLT__CTL_MAX_CLIENTS */
#define IDLE_MS	    300		       /* what the idle tests run with */

static rt_node n;
static char out[65536];

static void setup(void)
{
	rt_node_boot(&n, TREE);
}

static void teardown(void)
{
	rt_node_finish(&n);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int molt(const char *args)
{
	return rt_run(out, sizeof(out), "'%s' --root '%s' %s", rt_molt_path(),
		      n.root, args);
}

/* A number from the status reply; -1 if it has no such field. */
static double status_num(const char *field)
{
	cJSON *j;
	const cJSON *v;
	double d = -1;

	ck_assert_int_eq(
		rt_ctl(n.root, "{\"op\":\"status\"}", out, sizeof(out)), 0);
	j = cJSON_Parse(out);
	v = cJSON_GetObjectItem(j, field);
	if (cJSON_IsNumber(v))
		d = v->valuedouble;
	cJSON_Delete(j);
	return d;
}

/* --- output back-pressure --- */

#define PIPELINED 30000 /* ps requests: over 16 MiB of replies */
#define PAD	  200	/* bytes of padding per request */

typedef struct pipeliner {
	int fd;		 /* the connection, non-blocking */
	const char *req; /* one request line */
	size_t len;	 /* its length */
	size_t sent;	 /* bytes of all requests sent */
	size_t replies;	 /* reply lines read */
	size_t bad;	 /* replies not starting {"ok":true */
	char head[16];	 /* the start of the current reply */
	size_t headlen;	 /* bytes in head */
} pipeliner;

/* Send what the socket takes now; 0, or -1 if moltd hung up. */
static int pipe_send(pipeliner *p)
{
	size_t total = p->len * PIPELINED;

	while (p->sent < total) {
		size_t off = p->sent % p->len;
		ssize_t w = send(p->fd, p->req + off, p->len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		p->sent += (size_t)w;
	}
	return 0;
}

/* Read what there is, counting reply lines; 0, or -1 at EOF. */
static int pipe_read(pipeliner *p)
{
	char buf[65536];
	ssize_t r = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (r == 0 || (r < 0 && errno != EAGAIN))
		return -1;
	for (ssize_t i = 0; i < r; i++) {
		if (buf[i] != '\n') {
			if (p->headlen < sizeof(p->head) - 1)
				p->head[p->headlen++] = buf[i];
			continue;
		}
		p->head[p->headlen] = '\0';
		p->bad += strncmp(p->head, "{\"ok\":true", 10) != 0;
		p->replies++;
		p->headlen = 0;
	}
	return 0;
}

START_TEST(test_ctl_caps_output_of_a_pipelining_client)
{
	char *req = malloc(PAD + 64);
	pipeliner p = {.fd = rt_ctl_connect(n.root), .req = req};
	double high, t0;

	ck_assert_int_ge(p.fd, 0);
	snprintf(req, PAD + 64, "{\"op\":\"ps\",\"pad\":\"%0*d\"}\n", PAD, 0);
	p.len = strlen(req);
	/* send without reading: moltd must stop reading from us once our
	 * replies pile up, so the sending stalls well before the end */
	for (;;) {
		struct pollfd pfd = {p.fd, POLLOUT, 0};

		ck_assert_msg(pipe_send(&p) == 0,
			      "moltd hung up after %zu requests",
			      p.sent / p.len);
		if (p.sent == p.len * PIPELINED || poll(&pfd, 1, 500) == 0)
			break;
	}
	ck_assert_msg(p.sent < p.len * PIPELINED,
		      "moltd read all %d requests of a client that reads "
		      "nothing",
		      PIPELINED);
	high = status_num("ctl_out_max");
	ck_assert_msg(high >= OUT_CAP && high < OUT_CAP + 64 * 1024,
		      "queued output peaked at %.0f bytes", high);
	/* no disconnect: reading drains the queue and moltd goes on */
	t0 = now_ms();
	while (p.replies < PIPELINED && now_ms() - t0 < 15000) {
		struct pollfd pfd = {
			p.fd,
			(short)(POLLIN |
				(p.sent < p.len * PIPELINED ? POLLOUT : 0)),
			0};

		poll(&pfd, 1, 1000);
		ck_assert_msg(pipe_read(&p) == 0,
			      "moltd closed the connection after %zu replies",
			      p.replies);
		ck_assert_int_eq(pipe_send(&p), 0);
	}
	ck_assert_int_eq(p.replies, PIPELINED);
	ck_assert_int_eq(p.bad, 0);
	high = status_num("ctl_out_max");
	ck_assert_msg(high < OUT_CAP + 64 * 1024, "peak %.0f", high);
	close(p.fd);
	free(req);
}
END_TEST

/* --- idle clients --- */

/* Wait up to ms for EOF on fd, skipping any data (an error line);
 * returns the ms it took, or -1 if the connection stayed open. */
static double wait_eof(int fd, unsigned ms)
{
	double t0 = now_ms();
	char buf[4096];

	while (now_ms() - t0 < ms) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			return now_ms() - t0;
	}
	return -1;
}

START_TEST(test_ctl_closes_idle_clients)
{
	char ms[16];
	int quiet, busy, chatty;
	double took;

	/* a node with a short idle time: moltd inherits the variable */
	snprintf(ms, sizeof(ms), "%d", IDLE_MS);
	setenv("MOLT_CTL_IDLE_MS", ms, 1);
	rt_node_stop(&n);
	rt_node_clean(&n);
	rt_node_boot(&n, TREE);
	quiet = rt_ctl_connect(n.root);
	ck_assert_int_ge(quiet, 0);
	/* a client in a long call is not idle, however long it takes */
	busy = rt_ctl_connect(n.root);
	ck_assert_int_ge(busy, 0);
	ck_assert_int_eq(rt_ctl_line(busy,
				     "{\"op\":\"call\",\"to\":\"s\","
				     "\"payload\":\"sleep 900\"}",
				     out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "{\"ok\":true,\"reply\":\"slept 900\"}");
	/* the quiet one went long ago, and now the busy one goes too */
	ck_assert_msg(wait_eof(quiet, 1000) >= 0, "an idle client stayed");
	took = wait_eof(busy, 5000);
	ck_assert_msg(took >= 0, "an idle client stayed 5 s");
	ck_assert_msg(took > IDLE_MS / 2, "closed %.0f ms after its reply",
		      took);
	close(quiet);
	close(busy);
	/* one that keeps talking stays */
	chatty = rt_ctl_connect(n.root);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(rt_ctl_line(chatty, "{\"op\":\"status\"}", out,
					     sizeof(out)),
				 0);
		rt_sleep_ms(IDLE_MS / 3);
	}
	close(chatty);
}
END_TEST

/* --- the reserved slot --- */

static double cpu_ticks(pid_t pid)
{
	char path[64];
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	/* pid (comm) state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	ck_assert_int_eq(fscanf(f,
				"%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu",
				&ut, &st),
			 2);
	fclose(f);
	return (double)(ut + st);
}

/* Connect and get a status reply; the fd, or -1 if refused. */
static int connect_ok(void)
{
	int fd = rt_ctl_connect(n.root);

	ck_assert_int_ge(fd, 0);
	if (rt_ctl_line(fd, "{\"op\":\"status\"}", out, sizeof(out)) == 0 &&
	    strstr(out, "\"ok\":true"))
		return fd;
	close(fd);
	return -1;
}

START_TEST(test_ctl_keeps_a_slot_for_status_and_stop)
{
	int fds[MAX_CLIENTS], extra;
	double t0;

	for (int i = 0; i < MAX_CLIENTS - 1; i++) {
		fds[i] = connect_ok();
		ck_assert_msg(fds[i] >= 0, "connection %d refused: %s", i, out);
	}
	/* the last slot answers status and nothing else */
	fds[MAX_CLIENTS - 1] = connect_ok();
	ck_assert_int_ge(fds[MAX_CLIENTS - 1], 0);
	ck_assert_int_eq(rt_ctl_line(fds[MAX_CLIENTS - 1], "{\"op\":\"ps\"}",
				     out, sizeof(out)),
			 0);
	ck_assert_msg(strstr(out, "\"code\":\"ebusy\"") &&
			      strstr(out, "only status and stop"),
		      "%s", out);
	close(fds[MAX_CLIENTS - 1]);
	/* so the owner's CLI still sees the node */
	ck_assert_int_eq(molt("status"), 0);
	ck_assert_int_eq(molt("ps"), 1);
	ck_assert_msg(strstr(out, "only status and stop"), "%s", out);
	/* with every slot taken, one more gets an error line and EOF, and
	 * moltd does not spin on its listening socket */
	fds[MAX_CLIENTS - 1] = connect_ok();
	ck_assert_int_ge(fds[MAX_CLIENTS - 1], 0);
	extra = rt_ctl_connect(n.root);
	ck_assert_int_ge(extra, 0);
	ck_assert_int_eq(rt_ctl_line(extra, NULL, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "\"code\":\"ebusy\""), "%s", out);
	ck_assert_int_eq(rt_ctl_line(extra, NULL, out, sizeof(out)), -1);
	close(extra);
	t0 = cpu_ticks(n.pid);
	rt_sleep_ms(500);
	ck_assert_msg(cpu_ticks(n.pid) - t0 < 20, "moltd used %.0f ticks",
		      cpu_ticks(n.pid) - t0);
	/* and stop gets through the reserved slot */
	close(fds[MAX_CLIENTS - 1]);
	ck_assert_int_eq(molt("stop"), 0);
	ck_assert_int_eq(rt_node_wait(&n, 10000), 0);
	for (int i = 0; i < MAX_CLIENTS - 1; i++)
		close(fds[i]);
}
END_TEST

/* --- the modes of --root --- */

/* Start moltd on root (its boot spec inside); exit status, 124 if it
 * was still running after 5 s. Its stderr is in out. */
static int moltd_on(rt_node *nd)
{
	return rt_run(out, sizeof(out),
		      "timeout -s KILL 5 '%s' --root '%s' "
		      "--boot '%s'",
		      rt_moltd_path(), nd->root, nd->boot);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_ctl_refuses_a_world_writable_root)
{
	rt_node nd = {0};
	char run[512], want[600];

	molt_test_mkdtemp(nd.root, sizeof(nd.root), "root");
	rt_node_write_boot(&nd, TREE);
	snprintf(run, sizeof(run), "%s/run", nd.root);
	/* ROOT writable by others: refused, and left as it was */
	ck_assert_int_eq(chmod(nd.root, 0777), 0);
	ck_assert_int_eq(moltd_on(&nd), 1);
	snprintf(want, sizeof(want), "%s: mode 0777", nd.root);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_msg(strstr(out, "chmod 0700"), "%s", out);
	ck_assert_uint_eq(mode_of(nd.root), 0777);
	/* ROOT/run writable by its group: the same */
	ck_assert_int_eq(chmod(nd.root, 0755), 0);
	ck_assert_int_eq(mkdir(run, 0700), 0);
	ck_assert_int_eq(chmod(run, 0770), 0);
	ck_assert_int_eq(moltd_on(&nd), 1);
	snprintf(want, sizeof(want), "%s: mode 0770", run);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_uint_eq(mode_of(run), 0770);
	/* owned by someone else (root can make that happen) */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");

		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(chmod(run, 0700), 0);
		ck_assert_int_eq(chown(run, pw->pw_uid, (gid_t)-1), 0);
		ck_assert_int_eq(moltd_on(&nd), 1);
		ck_assert_msg(strstr(out, "owned by uid"), "%s", out);
	}
	molt_test_rmrf(nd.root);
}
END_TEST

/* Start moltd on nd->root (made or not) with nd->boot; wait for its
 * socket. Its stderr goes to log. */
static void start_on(rt_node *nd, const char *log)
{
	nd->pid = fork();
	ck_assert_int_ge(nd->pid, 0);
	if (nd->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 2);
		execl(rt_moltd_path(), "moltd", "--root", nd->root, "--boot",
		      nd->boot, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 5000; i++) {
		int fd = rt_ctl_connect(nd->root);

		if (fd >= 0) {
			close(fd);
			return;
		}
		rt_sleep_ms(1);
	}
	ck_abort_msg("moltd did not start on %s (see %s)", nd->root, log);
}

START_TEST(test_ctl_makes_a_missing_root_private)
{
	rt_node nd = {0};
	char top[200], log[320], path[600];

	molt_test_mkdtemp(top, sizeof(top), "root");
	snprintf(log, sizeof(log), "%s/moltd.log", top);
	snprintf(nd.root, sizeof(nd.root), "%s", top);
	rt_node_write_boot(&nd, TREE);
	/* a safe mode is left as it is; the missing run/ is made 0700 */
	ck_assert_int_eq(chmod(top, 0750), 0);
	start_on(&nd, log);
	ck_assert_int_eq(rt_node_stop(&nd), 0);
	ck_assert_uint_eq(mode_of(top), 0750);
	snprintf(path, sizeof(path), "%s/run", top);
	ck_assert_uint_eq(mode_of(path), 0700);
	/* a root that does not exist yet is made 0700 */
	snprintf(nd.root, sizeof(nd.root), "%s/node", top);
	start_on(&nd, log);
	ck_assert_int_eq(rt_node_stop(&nd), 0);
	ck_assert_uint_eq(mode_of(nd.root), 0700);
	snprintf(path, sizeof(path), "%s/run", nd.root);
	ck_assert_uint_eq(mode_of(path), 0700);
	molt_test_rmrf(top);
}
END_TEST

Suite *ctl_limits_suite(void)
{
	Suite *s = suite_create("ctl_limits");
	TCase *tc = tcase_create("node");
	TCase *root = tcase_create("root");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, test_ctl_caps_output_of_a_pipelining_client);
	tcase_add_test(tc, test_ctl_closes_idle_clients);
	tcase_add_test(tc, test_ctl_keeps_a_slot_for_status_and_stop);
	suite_add_tcase(s, tc);
	tcase_set_timeout(root, 40);
	tcase_add_test(root, test_ctl_refuses_a_world_writable_root);
	tcase_add_test(root, test_ctl_makes_a_missing_root_private);
	suite_add_tcase(s, root);
	return s;
}
