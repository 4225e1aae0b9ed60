/* moltd: parse argv, boot, serve the control socket, stop on SIGTERM. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"
#include "molt/runtime.h"

#include "moltd_stop.h"

#include "molt/banned.h"

typedef struct opts {
	const char *root;	 /* --root */
	const char *boot;	 /* --boot, or NULL: the permanent release */
	const char *release;	 /* --release: boot this one instead */
	unsigned schedulers;	 /* --schedulers */
	int deterministic;	 /* --deterministic */
	unsigned long long seed; /* --seed */
	unsigned shutdown_s;	 /* --shutdown-timeout (0: 30) */
	int long_ms;		 /* --long-callback-ms (runtime option) */
	int hung_s;		 /* --hung-callback-s (runtime option) */
	long long long_queue;	 /* --long-queue (runtime option) */
	long long large_heap;	 /* --large-heap (runtime option) */
	long slow_upgrade_ms;	 /* --slow-upgrade-ms (-1: default) */
	const char *metrics;	 /* --metrics-port PORT|ADDR:PORT */
} opts;

static void usage(void)
{
	fprintf(stderr,
		"usage: moltd --root DIR [--boot SPEC.json | --release VSN]\n"
		"             [--schedulers N]\n"
		"             [--log-level error|warn|info|debug]\n"
		"             [--deterministic [--seed N]]\n"
		"             [--shutdown-timeout SECONDS]"
		" [--long-callback-ms MS]\n"
		"             [--hung-callback-s SECONDS]\n"
		"             [--metrics-port PORT|ADDR:PORT]"
		" [--long-queue N]\n"
		"             [--large-heap BYTES] [--slow-upgrade-ms MS]\n");
}

static int parse_uint(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (!*s || *end || errno || s[0] == '-') ? -1 : 0;
}

static int parse_args(opts *o, int argc, char **argv)
{
	unsigned long long v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--deterministic") == 0) {
			o->deterministic = 1;
			continue;
		}
		if (!val)
			return -1;
		i++;
		if (strcmp(a, "--root") == 0) {
			o->root = val;
		} else if (strcmp(a, "--boot") == 0) {
			o->boot = val;
		} else if (strcmp(a, "--release") == 0) {
			o->release = val;
		} else if (strcmp(a, "--schedulers") == 0) {
			if (parse_uint(val, &v) < 0 || v < 1 || v > 256)
				return -1;
			o->schedulers = (unsigned)v;
		} else if (strcmp(a, "--shutdown-timeout") == 0) {
			if (parse_uint(val, &v) < 0 || v < 1 || v > 86400)
				return -1;
			o->shutdown_s = (unsigned)v;
		} else if (strcmp(a, "--long-callback-ms") == 0) {
			if (parse_uint(val, &v) < 0 || v > 86400000)
				return -1;
			o->long_ms = v ? (int)v : -1; /* 0: off */
		} else if (strcmp(a, "--hung-callback-s") == 0) {
			if (parse_uint(val, &v) < 0 || v > 86400)
				return -1;
			o->hung_s = v ? (int)v : -1; /* 0: off */
		} else if (strcmp(a, "--long-queue") == 0) {
			if (parse_uint(val, &v) < 0 || v > UINT32_MAX - 1)
				return -1;
			o->long_queue = v ? (long long)v : -1; /* 0: off */
		} else if (strcmp(a, "--large-heap") == 0) {
			if (parse_uint(val, &v) < 0 || v > (1ull << 50))
				return -1;
			o->large_heap = v ? (long long)v : -1; /* 0: off */
		} else if (strcmp(a, "--slow-upgrade-ms") == 0) {
			if (parse_uint(val, &v) < 0 || v > 86400000)
				return -1;
			o->slow_upgrade_ms = (long)v; /* 0: off */
		} else if (strcmp(a, "--metrics-port") == 0) {
			o->metrics = val;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_uint(val, &o->seed) < 0)
				return -1;
		} else if (strcmp(a, "--log-level") == 0) {
			if (molt_log_parse_level(val) < 0)
				return -1;
			molt_log_set_level(molt_log_parse_level(val));
		} else {
			return -1;
		}
	}
	return o->root && !(o->boot && o->release) ? 0 : -1;
}

static void on_stop(void *payload)
{
	(void)payload;
	kill(getpid(), SIGTERM);
}

typedef struct watch {
	molt_runtime *rt; /* the runtime */
	molt_pid root;	  /* the root supervisor */
	char reason[128]; /* its exit reason */
} watch;

/* The root supervisor exiting on its own ends the node (SIGUSR1). */
static void *watch_root(void *arg)
{
	watch *w = arg;

	while (molt_runtime_wait(w->rt, w->root, 3600000, w->reason,
				 sizeof(w->reason)) == MOLT_ETIMEOUT)
		;
	kill(getpid(), SIGUSR1);
	return NULL;
}

/* serve() returns this when an install asked for a restart into a
 * release (restart_into has its version). */
#define SERVE_RESTART 100

static int serve(molt_runtime *rt, molt_ctl *ctl, molt_pid root,
		 unsigned shutdown_s, char *restart_into, size_t size)
{
	watch w = {rt, root, {0}};
	pthread_t th;
	sigset_t set;
	int sig = 0, rc = 0;

	pthread_create(&th, NULL, watch_root, &w);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigwait(&set, &sig);
	sd_notify(0, "STOPPING=1");
	/* from here one deadline covers the whole stop */
	molt__stop_guard_start(rt, shutdown_s);
	if (sig == SIGTERM && molt_ctl_restart_into(ctl, restart_into, size)) {
		molt_log(MOLT_LOG_INFO, "moltd",
			 "restarting into release %s (the relup asks for a "
			 "restart; process state is not carried over)",
			 restart_into);
		rc = SERVE_RESTART;
	}
	molt_ctl_close(ctl);
	if (sig == SIGUSR1) {
		pthread_join(th, NULL); /* then w.reason is ours to read */
		molt_log(MOLT_LOG_ERROR, "moltd",
			 "root supervisor exited (%s): stopping the node",
			 w.reason);
		rc = 1;
	} else {
		if (rc != SERVE_RESTART)
			molt_log(MOLT_LOG_INFO, "moltd", "%s: shutting down",
				 sig == SIGTERM ? "SIGTERM" : "SIGINT");
		molt_runtime_exit(rt, root, "shutdown");
		pthread_join(th, NULL);
	}
	return rc;
}

/* MOLT_EBUSY if a moltd already answers on root's socket. */
static int already_running(const char *root, molt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), up;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/moltd.sock", root);
	up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	if (up)
		return molt_err_set(err, MOLT_EBUSY,
				    "%s: another moltd is listening there",
				    sa.sun_path);
	return MOLT_OK;
}

/* Tell a service manager (systemd Type=notify: NOTIFY_SOCKET) that the
 * node serves: the tree runs and the control socket answers. Without
 * NOTIFY_SOCKET this does nothing. */
static void notify_ready(molt_runtime *rt)
{
	molt_release_info ri;

	if (molt_runtime_release(rt, &ri) == MOLT_OK)
		sd_notifyf(0, "READY=1\nSTATUS=running release %s %s", ri.name,
			   ri.vsn);
	else
		sd_notify(0, "READY=1\nSTATUS=running a boot spec");
}

/* Without --boot, the root's permanent release (rel/), or --release. */
static int boot(molt_runtime *rt, molt_pid *out, const opts *o, molt_err *err)
{
	if (o->boot)
		return molt_runtime_boot(rt, out, o->boot, err);
	if (o->release)
		return molt_runtime_boot_release_vsn(rt, out, o->root,
						     o->release, err);
	return molt_runtime_boot_release(rt, out, o->root, err);
}

static void log_booted(molt_runtime *rt, const opts *o)
{
	molt_release_info ri;
	char what[300];

	if (o->boot)
		snprintf(what, sizeof(what), "%s", o->boot);
	else if (molt_runtime_release(rt, &ri) == MOLT_OK)
		snprintf(what, sizeof(what), "release %s %s (%zu applications)",
			 ri.name, ri.vsn, ri.n_apps);
	else
		snprintf(what, sizeof(what), "?");
	molt_log(MOLT_LOG_INFO, "moltd",
		 "booted %s with %u schedulers; control socket "
		 "%s/run/moltd.sock",
		 what, molt_runtime_schedulers(rt), o->root);
}

static void log_modules(molt_runtime *rt)
{
	molt_module_info mi[64];
	size_t n = molt_runtime_modules(rt, mi, 64);

	for (size_t i = 0; i < n && i < 64; i++)
		if (!mi[i].builtin)
			molt_log(MOLT_LOG_INFO, "moltd", "module %s %s from %s",
				 mi[i].name, mi[i].current_vsn,
				 mi[i].current_path);
}

static void drain_signals(void)
{
	struct timespec zero = {0, 0};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

/* Execute moltd again with the same arguments, --release vsn instead of
 * any --release given before. Returns only on failure. */
static void reexec(int argc, char **argv, const char *vsn)
{
	static char release_opt[] = "--release";
	char **nv = molt_calloc((size_t)argc + 3, sizeof(*nv));
	int n = 0;

	if (!nv)
		return;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--release") == 0 && i + 1 < argc) {
			i++;
			continue;
		}
		nv[n++] = argv[i];
	}
	nv[n++] = release_opt;
	nv[n++] = (char *)vsn;
	nv[n] = NULL;
	/* pending signals survive execv: the stop's own SIGUSR1 (the root
	 * supervisor exited) would stop the new node at once */
	drain_signals();
	execv("/proc/self/exe", nv);
	molt_log(MOLT_LOG_ERROR, "moltd", "cannot restart: exec: %s",
		 strerror(errno));
	molt_free(nv);
}

int main(int argc, char **argv)
{
	molt_runtime_options ro = MOLT_RUNTIME_OPTIONS_INIT;
	molt_err err = MOLT_ERR_INIT;
	opts o = {0};
	molt_runtime *rt;
	molt_ctl *ctl = NULL;
	molt_metrics *metrics = NULL;
	molt_pid root;
	sigset_t set;
	char crash_dir[4096], restart_into[128];
	int rc;

	o.slow_upgrade_ms = -1;
	if (parse_args(&o, argc, argv) < 0) {
		usage();
		return 2;
	}
	/* block before any thread starts, so only sigwait sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2); /* ends the shutdown guard */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* before anything starts: a root others could write is refused */
	if (molt_ctl_prepare_root(o.root, &err) < 0) {
		fprintf(stderr, "moltd: %s\n", err.msg);
		return 1;
	}
	ro.schedulers = o.schedulers;
	ro.deterministic = o.deterministic;
	ro.seed = o.seed;
	ro.long_callback_ms = o.long_ms;
	ro.hung_callback_s = o.hung_s;
	ro.long_queue = o.long_queue;
	ro.large_heap = o.large_heap;
	/* crash reports go to ROOT/log too if ROOT exists already (else the
	 * boot's own errors come first; it is tried again after the boot) */
	snprintf(crash_dir, sizeof(crash_dir), "%s/log", o.root);
	if (molt_runtime_new(&rt, &ro, &err) < 0 ||
	    (molt_runtime_crash_handlers(rt, crash_dir, NULL) < 0 &&
	     molt_runtime_crash_handlers(rt, NULL, &err) < 0) ||
	    molt_runtime_start(rt, &err) < 0) {
		fprintf(stderr, "moltd: %s\n", err.msg);
		return 1;
	}
	/* a second moltd on this root stops here, before it starts anything;
	 * the socket itself opens once the tree runs, so a client that finds
	 * it finds the processes too */
	if (already_running(o.root, &err) < 0 ||
	    boot(rt, &root, &o, &err) < 0 ||
	    molt_ctl_open(&ctl, rt, o.root, on_stop, NULL, &err) < 0) {
		fprintf(stderr, "moltd: %s\n", err.msg);
		molt_runtime_free(rt);
		return 1;
	}
	if (o.slow_upgrade_ms >= 0)
		molt_ctl_set_slow_upgrade_ms(ctl, (unsigned)o.slow_upgrade_ms);
	if (o.metrics &&
	    molt_metrics_open(&metrics, rt, o.metrics, o.root, &err) < 0) {
		fprintf(stderr, "moltd: %s\n", err.msg);
		molt_ctl_close(ctl);
		molt_runtime_free(rt);
		return 1;
	}
	if (molt_runtime_crash_handlers(rt, crash_dir, &err) < 0)
		molt_log(MOLT_LOG_WARN, "moltd", "%s", err.msg);
	log_modules(rt);
	log_booted(rt, &o);
	notify_ready(rt);
	rc = serve(rt, ctl, root, o.shutdown_s ? o.shutdown_s : 30,
		   restart_into, sizeof(restart_into));
	molt_metrics_close(metrics);
	if (molt_runtime_shutdown(rt, molt__stop_guard_left_ms()) ==
	    MOLT_ETIMEOUT)
		molt_log(MOLT_LOG_WARN, "moltd",
			 "some processes had to be killed");
	molt__stop_guard_end(); /* before rt goes: the guard reads it */
	molt_runtime_free(rt);
	if (rc == SERVE_RESTART) {
		reexec(argc, argv, restart_into);
		return 1;
	}
	molt_log(MOLT_LOG_INFO, "moltd", "stopped");
	return rc;
}
