/* Helpers for suites that boot a real moltd and use the real molt CLI. */
#ifndef MOLT_TESTS_NODE_UTIL_H
#define MOLT_TESTS_NODE_UTIL_H

#include <stddef.h>
#include <sys/types.h>

typedef struct rt_node {
	pid_t pid;	/* moltd */
	char root[256]; /* its --root */
	char boot[320]; /* its boot spec */
	char log[320];	/* its stderr */
} rt_node;

/* BUILD/runtime/moltd and BUILD/releasetool/molt. Static buffers. */
const char *rt_moltd_path(void);
const char *rt_molt_path(void);

/* Write root/boot.json loading every fixture, with root_json as the
 * supervision tree. */
void rt_node_write_boot(rt_node *n, const char *root_json);
/* Make a root, write the boot spec, start moltd and wait for its socket. */
void rt_node_boot(rt_node *n, const char *root_json);
/* The same, with more fixtures loaded (mods, NULL-terminated, may be
 * NULL) and more moltd arguments (args, NULL-terminated, may be NULL). */
void rt_node_boot_ex(rt_node *n, const char *root_json, const char *const *mods,
		     const char *const *args);
/* SIGTERM and wait; returns moltd's exit status (or -1 if signalled). */
int rt_node_stop(rt_node *n);
/* Wait for moltd to exit by itself; returns its status, -2 on timeout. */
int rt_node_wait(rt_node *n, unsigned ms);
void rt_node_clean(rt_node *n);
/* A test's end: stop moltd, which must exit 0 (in the sanitizer build this
 * also means no leak; otherwise the tail of its log is printed), then
 * clean. */
void rt_node_finish(rt_node *n);

/* Connect to the node's socket; -1 on failure. */
int rt_ctl_connect(const char *root);
/* Send line (a newline is added) and read one reply line into out.
 * Returns 0, or -1 if the connection closed first. */
int rt_ctl_line(int fd, const char *line, char *out, size_t size);
/* One request on a fresh connection. */
int rt_ctl(const char *root, const char *line, char *out, size_t size);

/* Run a shell command; stdout and stderr go to out. Returns its exit
 * status. */
int rt_run(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
