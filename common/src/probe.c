/* A module's descriptor read by molt-probe in a child process. */
#include "molt/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "molt/buf.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

extern char **environ;

#define PROBE_TIMEOUT_MS 10000
#define PROBE_MAX_OUT	 (128 * 1024)

const char *molt_probe_program(void)
{
	const char *env = getenv("MOLT_PROBE");

	if (env && *env)
		return env;
	if (access(MOLT_PROBE_INSTALLED, X_OK) == 0)
		return MOLT_PROBE_INSTALLED;
	return MOLT_PROBE_BUILT;
}

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Read fd to its end (or the limit, or the deadline) into out. */
static int read_all(int fd, molt_buf *out, uint64_t deadline)
{
	char chunk[4096];

	for (;;) {
		struct pollfd pf = {fd, POLLIN, 0};
		uint64_t now = mono_ms();
		ssize_t n;

		if (now >= deadline)
			return MOLT_ETIMEOUT;
		if (poll(&pf, 1, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			return MOLT_EIO;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? MOLT_OK : MOLT_EIO;
		if (out->len + (size_t)n > PROBE_MAX_OUT)
			return MOLT_EINVAL;
		if (molt_buf_put(out, chunk, (size_t)n) < 0)
			return MOLT_ENOMEM;
	}
}

/* Start the probe on path, its fd 3 the write end of a pipe; *rfd is the
 * read end. stdin, stdout and stderr are /dev/null. */
static int spawn_probe(pid_t *pid, int *rfd, const char *prog, const char *path,
		       molt_err *err)
{
	char *argv[] = {(char *)prog, (char *)path, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return molt_err_set(err, MOLT_EIO, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 3);
	rc = posix_spawn(pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return molt_err_set(err, MOLT_EIO, "cannot run %s: %s", prog,
				    strerror(rc));
	}
	*rfd = fds[0];
	return MOLT_OK;
}

/* Run the probe on path; its output (fd 3), NUL-terminated, into out. */
static int run_probe(const char *path, molt_buf *out, molt_err *err)
{
	const char *prog = molt_probe_program();
	int fd = -1, rc, st = 0;
	pid_t pid;

	if ((rc = spawn_probe(&pid, &fd, prog, path, err)) < 0)
		return rc;
	rc = read_all(fd, out, mono_ms() + PROBE_TIMEOUT_MS);
	close(fd);
	if (rc != MOLT_OK)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc == MOLT_ETIMEOUT)
		return molt_err_set(err, rc, "%s: %s did not answer in %d ms",
				    path, prog, PROBE_TIMEOUT_MS);
	if (rc < 0)
		return molt_err_set(err, rc, "%s: cannot read %s's answer",
				    path, prog);
	if (WIFSIGNALED(st))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: the module killed %s (signal %d) "
				    "while it was opened",
				    path, prog, WTERMSIG(st));
	return molt_buf_putc(out, 0) < 0
		       ? molt_err_set(err, MOLT_ENOMEM, "out of memory")
		       : MOLT_OK;
}

/* list: "init handle_call ...", the callbacks the module has */
static unsigned parse_callbacks(const char *names)
{
	static const char *const cb[] = {
		"init",	     "handle_call", "handle_cast", "handle_info",
		"terminate", "code_change", "free_state",  "format_state",
	};
	char list[512], word[40];
	unsigned bits = 0;

	snprintf(list, sizeof(list), " %s ", names);
	for (size_t i = 0; i < sizeof(cb) / sizeof(*cb); i++) {
		snprintf(word, sizeof(word), " %s ", cb[i]);
		if (strstr(list, word))
			bits |= 1u << i;
	}
	return bits;
}

/* One "key value" line of the probe's output; -1: too many exports. */
static int parse_line(molt_probe_desc *d, const char *key, const char *val)
{
	unsigned long num = strtoul(val, NULL, 10);

	if (strcmp(key, "abi") == 0)
		d->abi = (uint32_t)num;
	else if (strcmp(key, "behaviour") == 0)
		d->behaviour = (uint32_t)num;
	else if (strcmp(key, "state_vsn") == 0)
		d->state_vsn = (uint32_t)num;
	else if (strcmp(key, "name") == 0)
		snprintf(d->name, sizeof(d->name), "%s", val);
	else if (strcmp(key, "vsn") == 0)
		snprintf(d->vsn, sizeof(d->vsn), "%s", val);
	else if (strcmp(key, "callbacks") == 0)
		d->callbacks = parse_callbacks(val);
	else if (strcmp(key, "export") == 0) {
		if (d->nexports == MOLT_PROBE_MAX_EXPORTS)
			return -1;
		snprintf(d->exports[d->nexports++], MOLT_PROBE_FIELD, "%s",
			 val);
	}
	return 0;
}

/* The probe's output into d; 1 once "end" is seen, else 0 (-1 bad). */
static int parse(molt_probe_desc *d, char *text, const char *path,
		 molt_err *err)
{
	char *line = text, *nl, *sp;
	int started = 0;

	for (; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = 0;
		if (strncmp(line, "error ", 6) == 0) {
			molt_err_set(err, MOLT_EINVAL, "%s", line + 6);
			return -1;
		}
		if (strcmp(line, "molt-probe 1") == 0) {
			started = 1;
			continue;
		}
		if (strcmp(line, "end") == 0)
			return started;
		if (!started || !(sp = strchr(line, ' ')))
			continue;
		*sp = 0;
		if (parse_line(d, line, sp + 1) < 0) {
			molt_err_set(err, MOLT_EINVAL,
				     "%s: more than %d exports", path,
				     MOLT_PROBE_MAX_EXPORTS);
			return -1;
		}
	}
	return 0;
}

int molt_probe_read(molt_probe_desc *out, const char *path, molt_err *err)
{
	molt_buf text = MOLT_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	out->exports =
		molt_calloc(MOLT_PROBE_MAX_EXPORTS, sizeof(*out->exports));
	if (!out->exports)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if ((rc = run_probe(path, &text, err)) < 0)
		goto out;
	if ((rc = parse(out, text.ptr, path, err)) <= 0)
		rc = rc == 0 ? molt_err_set(err, MOLT_EINVAL,
					    "%s: molt-probe gave no "
					    "descriptor",
					    path)
			     : MOLT_EINVAL;
	else
		rc = MOLT_OK;
out:
	molt_buf_release(&text);
	return rc;
}

void molt_probe_desc_release(molt_probe_desc *out)
{
	molt_free(out->exports);
	memset(out, 0, sizeof(*out));
}
