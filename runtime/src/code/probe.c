/* A module's descriptor read in a child process (molt-probe), for a dry
 * run: no code of the module runs in the node. */
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
#include "molt/common.h"
#include "molt/log.h"

#include "core/version.h"
#include "modtab.h"

#include "molt/banned.h"

extern char **environ;

#define PROBE_TIMEOUT_MS  10000
#define PROBE_MAX_OUT	  (64 * 1024)
#define PROBE_MAX_EXPORTS 256

/* The descriptor a probe reported, owned by its version (free_desc). */
typedef struct probed {
	molt_module m;	      /* what the checks read (callbacks: traps) */
	char name[64];	      /* m.name */
	char vsn[64];	      /* m.vsn */
	molt_export *exports; /* m.exports, NULL-terminated */
	char (*enames)[64];   /* the exports' names */
	size_t n_exports;
} probed;

/*
 * A probed version is never run: the evaluator only reads descriptors in
 * a dry run. Should anything call one of its callbacks, the trap says so
 * and fails the call instead of jumping nowhere.
 */
static void trapped(const char *what)
{
	molt_log(MOLT_LOG_ERROR, "probe",
		 "%s of a probed (not loaded) module called", what);
}

static int trap_init(molt_ctx *c, const void *a, size_t l, void **s)
{
	(void)c, (void)a, (void)l, (void)s;
	trapped("init");
	return -1;
}

static int trap_call(molt_ctx *c, const molt_msg *m, molt_from f, void **s)
{
	(void)c, (void)m, (void)f, (void)s;
	trapped("handle_call");
	return -1;
}

static int trap_msg(molt_ctx *c, const molt_msg *m, void **s)
{
	(void)c, (void)m, (void)s;
	trapped("handle_cast/handle_info");
	return -1;
}

static void trap_terminate(molt_ctx *c, const char *r, void *s)
{
	(void)c, (void)r, (void)s;
	trapped("terminate");
}

static int trap_change(molt_ctx *c, const molt_vsn_change *v, const void *o,
		       const char *x, void **n)
{
	(void)c, (void)v, (void)o, (void)x, (void)n;
	trapped("code_change");
	return -1;
}

static void trap_free(molt_ctx *c, void *s)
{
	(void)c, (void)s;
	trapped("free_state");
}

static size_t trap_format(const void *s, char *b, size_t n)
{
	(void)s, (void)b, (void)n;
	trapped("format_state");
	return 0;
}

static int trap_export(molt_ctx *c, const char *a)
{
	(void)c, (void)a;
	trapped("an export");
	return -1;
}

/* list: "init handle_call ...", the callbacks the module has */
static void set_callbacks(molt_module *m, const char *names)
{
	char list[512];

	snprintf(list, sizeof(list), " %s ", names);
	m->init = strstr(list, " init ") ? trap_init : NULL;
	m->handle_call = strstr(list, " handle_call ") ? trap_call : NULL;
	m->handle_cast = strstr(list, " handle_cast ") ? trap_msg : NULL;
	m->handle_info = strstr(list, " handle_info ") ? trap_msg : NULL;
	m->terminate = strstr(list, " terminate ") ? trap_terminate : NULL;
	m->code_change = strstr(list, " code_change ") ? trap_change : NULL;
	m->free_state = strstr(list, " free_state ") ? trap_free : NULL;
	m->format_state = strstr(list, " format_state ") ? trap_format : NULL;
}

static void probed_free(const molt_module *m)
{
	probed *p = (probed *)m; /* m is p's first member */

	molt_free(p->exports);
	molt_free(p->enames);
	molt_free(p);
}

static int add_export(probed *p, const char *name)
{
	if (p->n_exports == PROBE_MAX_EXPORTS)
		return -1;
	snprintf(p->enames[p->n_exports], 64, "%s", name);
	p->exports[p->n_exports].name = p->enames[p->n_exports];
	p->exports[p->n_exports].fn = trap_export;
	p->n_exports++;
	return 0;
}

/* One "key value" line of the probe's output. */
static int parse_line(probed *p, const char *key, const char *val,
		      unsigned long num)
{
	if (strcmp(key, "abi") == 0)
		p->m.abi = (uint32_t)num;
	else if (strcmp(key, "behaviour") == 0)
		p->m.behaviour = (uint32_t)num;
	else if (strcmp(key, "state_vsn") == 0)
		p->m.state_vsn = (uint32_t)num;
	else if (strcmp(key, "name") == 0)
		snprintf(p->name, sizeof(p->name), "%s", val);
	else if (strcmp(key, "vsn") == 0)
		snprintf(p->vsn, sizeof(p->vsn), "%s", val);
	else if (strcmp(key, "callbacks") == 0)
		set_callbacks(&p->m, val);
	else if (strcmp(key, "export") == 0)
		return add_export(p, val);
	return 0;
}

/* The probe's output into p; 1 once "end" is seen, else 0 (-1 bad). */
static int parse(probed *p, char *text, const char *path, molt_err *err)
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
		if (parse_line(p, line, sp + 1, strtoul(sp + 1, NULL, 10)) <
		    0) {
			molt_err_set(err, MOLT_EINVAL,
				     "%s: more than %d exports", path,
				     PROBE_MAX_EXPORTS);
			return -1;
		}
		*sp = ' ';
	}
	return 0;
}

/* The probe program: $MOLT_PROBE, else the installed one, else the one
 * in the build tree. */
static const char *probe_program(void)
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

/* Run the probe on path; its output (fd 3) into out. */
static int run_probe(const char *path, molt_buf *out, molt_err *err)
{
	const char *prog = probe_program();
	char *argv[] = {(char *)prog, (char *)path, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], rc, st = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return molt_err_set(err, MOLT_EIO, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 3);
	rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return molt_err_set(err, MOLT_EIO, "cannot run %s: %s", prog,
				    strerror(rc));
	}
	rc = read_all(fds[0], out, mono_ms() + PROBE_TIMEOUT_MS);
	close(fds[0]);
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

molt__version *molt__version_probe(const char *path, const char *expect,
				   molt_err *err)
{
	molt_buf out = MOLT_BUF_INIT;
	probed *p = molt_calloc(1, sizeof(*p));
	molt__version *v = NULL;
	int rc;

	if (p) {
		p->exports =
			molt_calloc(PROBE_MAX_EXPORTS + 1, sizeof(*p->exports));
		p->enames = molt_calloc(PROBE_MAX_EXPORTS, sizeof(*p->enames));
	}
	if (!p || !p->exports || !p->enames) {
		molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto fail;
	}
	if (run_probe(path, &out, err) < 0)
		goto fail;
	if ((rc = parse(p, out.ptr, path, err)) <= 0) {
		if (rc == 0)
			molt_err_set(err, MOLT_EINVAL,
				     "%s: molt-probe gave no descriptor", path);
		goto fail;
	}
	p->m.name = p->name;
	p->m.vsn = p->vsn;
	p->m.exports = p->exports;
	if (molt__desc_check(&p->m, path, expect, err) < 0 ||
	    !(v = molt_calloc(1, sizeof(*v))) ||
	    !(v->path = molt_strdup(path))) {
		if (!err || !err->code)
			molt_err_set(err, MOLT_ENOMEM, "out of memory");
		molt_free(v);
		v = NULL;
		goto fail;
	}
	atomic_init(&v->refs, 1);
	v->desc = &p->m;
	v->free_desc = probed_free;
	molt_buf_release(&out);
	return v;
fail:
	molt_buf_release(&out);
	if (p)
		probed_free(&p->m);
	return NULL;
}
