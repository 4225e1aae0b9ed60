/* Booting real moltd processes for tests. */
#include "node_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "rt_util.h"
#include "test_util.h"

#include "molt/banned.h"

static const char *build_dir(void)
{
	const char *b = getenv("MOLT_BUILD_DIR");

	return b && *b ? b : MOLT_BUILD_DIR;
}

const char *rt_moltd_path(void)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/runtime/moltd", build_dir());
	return p;
}

const char *rt_molt_path(void)
{
	static char p[4096];

	snprintf(p, sizeof(p), "%s/releasetool/molt", build_dir());
	return p;
}

static void write_boot(rt_node *n, const char *root_json,
		       const char *const *more)
{
	static const char *const mods[] = {"counter", "crasher", "slow",
					   "probe"};
	FILE *f;

	snprintf(n->boot, sizeof(n->boot), "%s/boot.json", n->root);
	f = fopen(n->boot, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\"format\": 1,\n \"modules\": [");
	for (int i = 0; i < 4; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", rt_fixture(mods[i]));
	for (int i = 0; more && more[i]; i++)
		fprintf(f, ", \"%s\"", rt_fixture(more[i]));
	fprintf(f, "],\n \"root\": %s}\n", root_json);
	fclose(f);
}

void rt_node_write_boot(rt_node *n, const char *root_json)
{
	write_boot(n, root_json, NULL);
}

static int socket_ready(const char *root)
{
	int fd = rt_ctl_connect(root);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

void rt_node_boot(rt_node *n, const char *root_json)
{
	rt_node_boot_ex(n, root_json, NULL, NULL);
}

void rt_node_boot_ex(rt_node *n, const char *root_json, const char *const *mods,
		     const char *const *args)
{
	const char *argv[32] = {"moltd", "--root",	 NULL, "--boot",
				NULL,	 "--schedulers", "2"};
	int fd, k = 7;

	memset(n, 0, sizeof(*n));
	molt_test_mkdtemp(n->root, sizeof(n->root), "node");
	write_boot(n, root_json, mods);
	snprintf(n->log, sizeof(n->log), "%s/moltd.log", n->root);
	argv[2] = n->root;
	argv[4] = n->boot;
	for (int i = 0; args && args[i] && k < 31; i++)
		argv[k++] = args[i];
	n->pid = fork();
	ck_assert_int_ge(n->pid, 0);
	if (n->pid == 0) {
		/* a test that fails leaves no moltd behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(n->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		execv(rt_moltd_path(), (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 5000 && !socket_ready(n->root); i++)
		rt_sleep_ms(1);
	ck_assert_msg(socket_ready(n->root), "moltd did not start (see %s)",
		      n->log);
}

int rt_node_wait(rt_node *n, unsigned ms)
{
	int st;

	for (unsigned i = 0; i < ms; i++) {
		pid_t r = waitpid(n->pid, &st, WNOHANG);

		if (r == n->pid) {
			n->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		rt_sleep_ms(1);
	}
	return -2;
}

int rt_node_stop(rt_node *n)
{
	int rc;

	if (!n->pid)
		return -3;
	kill(n->pid, SIGTERM);
	rc = rt_node_wait(n, 10000);
	if (rc == -2) {
		kill(n->pid, SIGKILL);
		waitpid(n->pid, NULL, 0);
		n->pid = 0;
	}
	return rc;
}

void rt_node_clean(rt_node *n)
{
	if (n->pid)
		rt_node_stop(n);
	molt_test_rmrf(n->root);
}

void rt_node_finish(rt_node *n)
{
	char out[4096];

	if (n->pid) {
		int rc = rt_node_stop(n);

		if (rc != 0) /* keep the evidence: print moltd's log */
			rt_run(out, sizeof(out), "tail -20 '%s' >&2", n->log);
		ck_assert_msg(rc == 0, "moltd exited %d (log: %s)", rc, n->log);
	}
	rt_node_clean(n);
}

int rt_ctl_connect(const char *root)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/moltd.sock", root);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int rt_ctl_line(int fd, const char *line, char *out, size_t size)
{
	size_t n = 0;

	/* MSG_NOSIGNAL: a peer that refused us must not SIGPIPE the test */
	if (line && (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 ||
		     send(fd, "\n", 1, MSG_NOSIGNAL) < 0))
		return -1;
	while (n + 1 < size) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		r = read(fd, out + n, 1);
		if (r <= 0)
			return -1;
		if (out[n] == '\n')
			break;
		n++;
	}
	out[n] = '\0';
	return 0;
}

int rt_ctl(const char *root, const char *line, char *out, size_t size)
{
	int fd = rt_ctl_connect(root), rc;

	if (fd < 0)
		return -1;
	rc = rt_ctl_line(fd, line, out, size);
	close(fd);
	return rc;
}

int rt_run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(strlen(cmd) + 6, sizeof(cmd));
	memcpy(cmd + strlen(cmd), " 2>&1", 6);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (n + 1 < size) {
		size_t r = fread(out + n, 1, size - n - 1, p);

		if (r == 0)
			break;
		n += r;
	}
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
