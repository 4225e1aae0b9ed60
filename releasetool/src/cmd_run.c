/* molt run: start moltd on a root and restart it when it dies abnormally
 * (OTP's heart, for machines without systemd). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"

#include "cli.h"
#include "fsutil.h"

#include "molt/banned.h"

#define BACKOFF_MIN_MS 100u   /* first restart delay ($MOLT_RUN_BACKOFF_MS) */
#define BACKOFF_MAX_MS 5000u  /* the delay doubles up to this */
#define STABLE_MS      30000. /* up this long: the delay starts over */
#define MAX_RESTARTS   5u     /* default --max-restarts */
#define WITHIN_S       60u    /* default --within */
#define MOLTD_USAGE    2      /* moltd's exit status for a bad command line */
#define LOG	       "molt run"

typedef struct run_opts {
	const char *root;      /* --root */
	const char *moltd;     /* --moltd, or NULL: look for it */
	unsigned max_restarts; /* --max-restarts */
	unsigned within_s;     /* --within */
	char **extra;	       /* the arguments after "--" (borrowed argv) */
	int n_extra;	       /* how many */
} run_opts;

typedef struct runner {
	const run_opts *o;	    /* the command line */
	char moltd[MOLT__PATH_MAX]; /* the moltd executable */
	const char **argv;	    /* moltd --root DIR EXTRA..., owned */
	sigset_t oldmask;	    /* our mask before blocking; the child's */
	int sigfd;	      /* signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP */
	int notify_fd;	      /* the child's NOTIFY_SOCKET, or -1 */
	pid_t child;	      /* the moltd running, or 0 */
	double started_ms;    /* when it started (molt__now_ms) */
	double restart_ms;    /* with no child: when to start it */
	double *deaths;	      /* ring: the last max_restarts+1 deaths */
	unsigned n_deaths;    /* abnormal exits so far */
	unsigned backoff_min; /* the first delay, ms */
	unsigned backoff;     /* the next delay, ms */
	int stopping;	      /* a signal asked us to stop */
} runner;

static int parse_count(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_args(const molt_cli *cli, run_opts *o, int argc, char **argv)
{
	int bad;

	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(a, "--") == 0) {
			o->extra = argv + i + 1;
			o->n_extra = argc - i - 1;
			return MOLT_EXIT_OK;
		}
		if (strcmp(a, "--moltd") == 0)
			bad = !*val;
		else if (strcmp(a, "--max-restarts") == 0)
			bad = parse_count(val, 1000, &o->max_restarts) < 0;
		else if (strcmp(a, "--within") == 0)
			bad = parse_count(val, 86400, &o->within_s) < 0 ||
			      o->within_s == 0;
		else
			bad = 1;
		if (bad)
			return molt__cli_usage(
				cli,
				"usage: run [--moltd PATH] [--max-restarts "
				"N --within SECONDS] [-- MOLTD ARGS...]");
		if (strcmp(a, "--moltd") == 0)
			o->moltd = val;
	}
	return MOLT_EXIT_OK;
}

/* out = the real path of dir/name, if we may execute it. */
static int executable(char *out, size_t size, const char *dir, const char *name)
{
	char path[MOLT__PATH_MAX], real[PATH_MAX];

	if (molt__path(path, sizeof(path), NULL, "%s/%s", dir, name) < 0 ||
	    access(path, X_OK) != 0)
		return 0;
	return molt__path(out, size, NULL, "%s",
			  realpath(path, real) ? real : path) == MOLT_OK;
}

/* moltd in a directory of $PATH. */
static int in_path(char *out, size_t size)
{
	const char *p = getenv("PATH");
	char dir[MOLT__PATH_MAX];

	while (p && *p) {
		size_t n = strcspn(p, ":");

		if (n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (executable(out, size, n ? dir : ".", "moltd"))
				return 1;
		}
		p += n + (p[n] == ':');
	}
	return 0;
}

/*
 * The moltd to run: --moltd, $MOLT_MOLTD, the one beside this molt
 * (installed: the same bin directory; build tree: releasetool/molt and
 * runtime/moltd), else $PATH. *how says which, for the log.
 */
static int find_moltd(char *out, size_t size, const char *given,
		      const char **how, molt_err *err)
{
	const char *env = getenv("MOLT_MOLTD");
	char self[MOLT__PATH_MAX], *slash;
	ssize_t n;

	if (given || (env && *env)) {
		*how = given ? "--moltd" : "$MOLT_MOLTD";
		return molt__path(out, size, err, "%s", given ? given : env);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(self, '/')) != NULL) {
		*slash = '\0';
		*how = "next to molt";
		if (executable(out, size, self, "moltd"))
			return MOLT_OK;
		*how = "build tree of molt";
		if (executable(out, size, self, "../runtime/moltd"))
			return MOLT_OK;
	}
	*how = "PATH";
	if (in_path(out, size))
		return MOLT_OK;
	return molt_err_set(err, MOLT_ENOTFOUND,
			    "no moltd next to %s or in PATH: give --moltd PATH "
			    "or set MOLT_MOLTD",
			    n > 0 ? self : "molt");
}

/* argv of moltd: moltd --root DIR EXTRA... NULL. */
static int make_argv(runner *r)
{
	int n = 0;

	r->argv = molt_calloc((size_t)r->o->n_extra + 4, sizeof(*r->argv));
	if (!r->argv)
		return MOLT_ENOMEM;
	r->argv[n++] = r->moltd;
	r->argv[n++] = "--root";
	r->argv[n++] = r->o->root;
	for (int i = 0; i < r->o->n_extra; i++)
		r->argv[n++] = r->o->extra[i];
	return MOLT_OK;
}

/* Block the signals we wait for and read them from a signalfd. */
static int open_signals(runner *r, molt_err *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &r->oldmask) < 0 ||
	    (r->sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		return molt_err_set(err, MOLT_EIO, "signalfd: %s",
				    strerror(errno));
	return MOLT_OK;
}

/*
 * A datagram socket in the abstract namespace for moltd's sd_notify
 * (READY=1), named in NOTIFY_SOCKET for the children; SO_PASSCRED tells
 * who sent a datagram. Optional: without it we only do not log "ready".
 */
static void open_notify(runner *r)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char name[64];
	struct timespec ts;
	socklen_t len;
	int one = 1;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* sd_notify spells an abstract name with a leading '@' */
	snprintf(name, sizeof(name), "@molt-run-%ld-%lx", (long)getpid(),
		 (unsigned long)ts.tv_nsec);
	memcpy(sa.sun_path + 1, name + 1, strlen(name + 1));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(name));
	r->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->notify_fd >= 0 &&
	    setsockopt(r->notify_fd, SOL_SOCKET, SO_PASSCRED, &one,
		       sizeof(one)) == 0 &&
	    bind(r->notify_fd, (struct sockaddr *)&sa, len) == 0) {
		setenv("NOTIFY_SOCKET", name, 1);
		return;
	}
	if (r->notify_fd >= 0)
		close(r->notify_fd);
	r->notify_fd = -1;
	unsetenv("NOTIFY_SOCKET"); /* not our service manager's */
}

/* In the child: back to the old mask, own process group (a terminal's
 * ^C reaches molt run alone, which forwards it once), SIGTERM when molt
 * run dies, then moltd. */
static void exec_moltd(const runner *r, pid_t parent)
{
	sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(126); /* molt run died before the prctl */
	execv(r->moltd, (char *const *)r->argv);
	fprintf(stderr, "molt run: cannot run '%s': %s\n", r->moltd,
		strerror(errno));
	_exit(127);
}

static int spawn(runner *r)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		molt_log(MOLT_LOG_ERROR, LOG, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		exec_moltd(r, parent);
	r->child = pid;
	r->started_ms = molt__now_ms();
	molt_log(MOLT_LOG_INFO, LOG, "started moltd pid %ld", (long)r->child);
	return 0;
}

/* Count one abnormal exit; 1 if that makes more than max_restarts
 * within within_s seconds. */
static int too_many(runner *r, double now)
{
	unsigned size = r->o->max_restarts + 1;
	double oldest;

	r->deaths[r->n_deaths++ % size] = now;
	if (r->n_deaths < size)
		return 0;
	oldest = r->deaths[r->n_deaths % size];
	return now - oldest <= r->o->within_s * 1000.;
}

/* moltd died abnormally: schedule the restart, or give up (exit 1). */
static int on_crash(runner *r, const char *what)
{
	double now = molt__now_ms();

	if (too_many(r, now)) {
		molt_log(MOLT_LOG_ERROR, LOG,
			 "moltd died %u times within %u s, last %s: giving up",
			 r->o->max_restarts + 1, r->o->within_s, what);
		return MOLT_EXIT_FAILED;
	}
	if (now - r->started_ms >= STABLE_MS)
		r->backoff = r->backoff_min;
	r->restart_ms = now + r->backoff;
	molt_log(MOLT_LOG_INFO, LOG, "restarting in %u ms", r->backoff);
	r->backoff = r->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
						     : r->backoff * 2;
	return -1;
}

/* Our moltd ended with wait status st: an exit code, or -1 to go on. */
static int on_exit_status(runner *r, int st)
{
	char what[64];
	pid_t pid = r->child;

	r->child = 0;
	molt__wait_status(what, sizeof(what), st);
	molt_log(MOLT_LOG_INFO, LOG, "moltd pid %ld %s", (long)pid, what);
	if (r->stopping || st == 0)
		return st == 0 ? MOLT_EXIT_OK : MOLT_EXIT_FAILED;
	if (WIFEXITED(st) && WEXITSTATUS(st) == MOLTD_USAGE) {
		molt_log(MOLT_LOG_ERROR, LOG,
			 "moltd refused its command line: not restarting");
		return MOLT_EXIT_USAGE;
	}
	return on_crash(r, what);
}

static const char *signame(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGHUP";
}

/* SIGTERM, SIGINT, SIGHUP: stop moltd (SIGHUP, which moltd does not
 * handle, as SIGTERM) and wait for it; a second one is forwarded too
 * and makes moltd end its stop at once (exit 3). */
static int on_stop_signal(runner *r, int sig)
{
	int fwd = sig == SIGHUP ? SIGTERM : sig;

	r->stopping = 1;
	if (!r->child) {
		molt_log(MOLT_LOG_INFO, LOG, "%s: not restarting moltd",
			 signame(sig));
		return MOLT_EXIT_OK;
	}
	molt_log(MOLT_LOG_INFO, LOG, "%s: sending %s to moltd pid %ld",
		 signame(sig), signame(fwd), (long)r->child);
	kill(r->child, fwd);
	return -1;
}

/* One signal from the signalfd: an exit code, or -1 to go on. */
static int on_signal(runner *r)
{
	struct signalfd_siginfo si;
	int st;

	if (read(r->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return -1;
	if (si.ssi_signo != SIGCHLD)
		return on_stop_signal(r, (int)si.ssi_signo);
	if (r->child && waitpid(r->child, &st, WNOHANG) == r->child)
		return on_exit_status(r, st);
	return -1;
}

/* The pid that sent the datagram in msg (SO_PASSCRED), or 0. */
static pid_t sender(struct msghdr *msg)
{
	struct cmsghdr *c;
	struct ucred cred;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_CREDENTIALS)
			continue;
		memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		return cred.pid;
	}
	return 0;
}

/* A datagram from our moltd's sd_notify (from anyone else: dropped):
 * log READY=1 with its STATUS. */
static void on_notify(runner *r)
{
	char buf[1024], ctl[CMSG_SPACE(sizeof(struct ucred))], *status;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(r->notify_fd, &msg, MSG_DONTWAIT);

	if (n <= 0 || !r->child || sender(&msg) != r->child)
		return;
	buf[n] = '\0';
	if (strncmp(buf, "READY=1", 7) != 0 && !strstr(buf, "\nREADY=1"))
		return;
	status = strstr(buf, "STATUS=");
	if (status)
		status[strcspn(status, "\n")] = '\0';
	molt_log(MOLT_LOG_INFO, LOG, "moltd pid %ld is ready%s%s",
		 (long)r->child, status ? ": " : "", status ? status + 7 : "");
}

/* Milliseconds poll() may sleep: forever while moltd runs, else until
 * its restart is due. */
static int poll_timeout(const runner *r)
{
	double left;

	if (r->child)
		return -1;
	left = r->restart_ms - molt__now_ms();
	return left <= 0 ? 0 : (int)left + 1;
}

/* Start moltd, then wait for signals and restart it until it exits
 * cleanly, a signal stops it, or it dies too often. */
static int supervise(runner *r)
{
	struct pollfd pf[2] = {{r->sigfd, POLLIN, 0},
			       {r->notify_fd, POLLIN, 0}};
	int rc = -1;

	if (spawn(r) < 0)
		return MOLT_EXIT_FAILED;
	while (rc < 0) {
		int timeout = poll_timeout(r);

		if (timeout == 0) {
			if (spawn(r) < 0)
				return MOLT_EXIT_FAILED;
			continue;
		}
		if (poll(pf, r->notify_fd >= 0 ? 2 : 1, timeout) < 0 &&
		    errno != EINTR)
			return MOLT_EXIT_FAILED;
		if (r->notify_fd >= 0 && (pf[1].revents & POLLIN))
			on_notify(r);
		if (pf[0].revents & POLLIN)
			rc = on_signal(r);
	}
	return rc;
}

/* $MOLT_RUN_BACKOFF_MS, for tests: the first restart delay. */
static unsigned backoff_min(void)
{
	const char *s = getenv("MOLT_RUN_BACKOFF_MS");
	unsigned v;

	if (s && parse_count(s, BACKOFF_MAX_MS, &v) == 0 && v > 0)
		return v;
	return BACKOFF_MIN_MS;
}

static int runner_open(runner *r, const run_opts *o, molt_err *err)
{
	const char *how;
	int rc;

	r->o = o;
	r->sigfd = r->notify_fd = -1;
	r->backoff = r->backoff_min = backoff_min();
	if ((rc = molt__root_private(o->root, err)) < 0 ||
	    (rc = find_moltd(r->moltd, sizeof(r->moltd), o->moltd, &how, err)) <
		    0)
		return rc;
	molt_log(MOLT_LOG_INFO, LOG,
		 "root %s: moltd %s (%s); at most %u restarts within %u s",
		 o->root, r->moltd, how, o->max_restarts, o->within_s);
	r->deaths = molt_calloc(o->max_restarts + 1, sizeof(*r->deaths));
	if (!r->deaths || make_argv(r) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if ((rc = open_signals(r, err)) < 0)
		return rc;
	open_notify(r);
	return MOLT_OK;
}

static void runner_close(runner *r)
{
	if (r->notify_fd >= 0)
		close(r->notify_fd);
	if (r->sigfd >= 0)
		close(r->sigfd);
	molt_free(r->deaths);
	molt_free(r->argv);
}

int molt__cmd_run(molt_cli *cli, int argc, char **argv)
{
	run_opts o = {.max_restarts = MAX_RESTARTS, .within_s = WITHIN_S};
	molt_err err = MOLT_ERR_INIT;
	runner r = {0};
	int rc;

	if ((rc = molt__cli_need_root(cli, &o.root)) != MOLT_EXIT_OK ||
	    (rc = parse_args(cli, &o, argc, argv)) != MOLT_EXIT_OK)
		return rc;
	if (runner_open(&r, &o, &err) < 0) {
		runner_close(&r);
		return molt__cli_fail(cli, &err);
	}
	rc = supervise(&r);
	runner_close(&r);
	return rc;
}
