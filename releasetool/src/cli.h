/* The molt command line: global options, output helpers, the verbs. */
#ifndef MOLT_RELEASETOOL_CLI_H
#define MOLT_RELEASETOOL_CLI_H

#include "molt/common.h"

/* Exit codes of every molt command. */
enum molt_exit {
	MOLT_EXIT_OK = 0,     /* the operation succeeded */
	MOLT_EXIT_FAILED = 1, /* the operation failed; a message says why */
	MOLT_EXIT_USAGE = 2,  /* bad command line */
};

/* Global options, parsed by main.c from anywhere on the command line. */
typedef struct molt_cli {
	const char *prog; /* argv[0] basename, for messages */
	const char *verb; /* the command being run, e.g. "status" */
	const char *root; /* --root DIR or $MOLT_ROOT; NULL if neither */
	int json;	  /* --json: machine-readable output on stdout */
	int quiet;	  /* --quiet: no progress lines */
} molt_cli;

/*
 * Report err and return MOLT_EXIT_FAILED. Human mode: "molt VERB: msg" on
 * stderr. JSON mode: {"ok":false,"error":{"code":..,"message":..}} on
 * stdout.
 */
int molt__cli_fail(const molt_cli *cli, const molt_err *err);

/* Print "molt VERB: <msg>" and the verb's usage on stderr; returns 2. */
MOLT_PRINTF(2, 3)
int molt__cli_usage(const molt_cli *cli, const char *fmt, ...);

/* Print o on one line on stdout (the --json output) and free it. Takes
 * o. */
struct cJSON;
void molt__cli_json_print(struct cJSON *o);

/* Progress line on stderr unless --quiet or --json. */
MOLT_PRINTF(2, 3)
void molt__cli_progress(const molt_cli *cli, const char *fmt, ...);

/* o[k] as a number (0 if absent) or a string ("" if absent): reading
 * moltd's replies. */
double molt__cli_num(const struct cJSON *o, const char *k);
const char *molt__cli_str(const struct cJSON *o, const char *k);

/* The root directory, or a usage error if none was given. */
int molt__cli_need_root(const molt_cli *cli, const char **out);

/*
 * The verbs. Each gets the arguments after the verb, with the global
 * options already removed, and returns an enum molt_exit value.
 */
typedef int (*molt_cmd_fn)(molt_cli *cli, int argc, char **argv);

/* control socket (cmd_ctl.c) */
int molt__cmd_status(molt_cli *cli, int argc, char **argv);
int molt__cmd_ps(molt_cli *cli, int argc, char **argv);
int molt__cmd_sockets(molt_cli *cli, int argc, char **argv);
int molt__cmd_call(molt_cli *cli, int argc, char **argv);
int molt__cmd_cast(molt_cli *cli, int argc, char **argv);
int molt__cmd_stop(molt_cli *cli, int argc, char **argv);
/* watching a node (cmd_obs.c) */
int molt__cmd_top(molt_cli *cli, int argc, char **argv);
int molt__cmd_metrics(molt_cli *cli, int argc, char **argv);
int molt__cmd_events(molt_cli *cli, int argc, char **argv);
int molt__cmd_history(molt_cli *cli, int argc, char **argv);
int molt__cmd_trace(molt_cli *cli, int argc, char **argv);
/* code server and script evaluator (cmd_code.c) */
int molt__cmd_load(molt_cli *cli, int argc, char **argv);
int molt__cmd_purge(molt_cli *cli, int argc, char **argv);
int molt__cmd_soft_purge(molt_cli *cli, int argc, char **argv);
int molt__cmd_delete(molt_cli *cli, int argc, char **argv);
int molt__cmd_modules(molt_cli *cli, int argc, char **argv);
int molt__cmd_eval(molt_cli *cli, int argc, char **argv);
/* Print an eval reply's report (or a failed one's "report") as a table of
 * steps and a summary line. */
void molt__eval_print(const struct cJSON *reply);
/* the release handler on a live node (cmd_release.c) */
int molt__cmd_install(molt_cli *cli, int argc, char **argv);
int molt__cmd_rollback(molt_cli *cli, int argc, char **argv);
int molt__cmd_permanent(molt_cli *cli, int argc, char **argv);
/* unpack + install + watch + permanent or roll back (cmd_upgrade.c) */
int molt__cmd_upgrade(molt_cli *cli, int argc, char **argv);
/* appups and relups (cmd_appup.c) */
int molt__cmd_appup(molt_cli *cli, int argc, char **argv);
int molt__cmd_relup(molt_cli *cli, int argc, char **argv);
/* `molt relup script`: print one script of a relup.json */
int molt__cmd_relup_script(molt_cli *cli, int argc, char **argv);
/* bundles and the release directory (cmd_build.c, cmd_unpack.c) */
int molt__cmd_build(molt_cli *cli, int argc, char **argv);
int molt__cmd_unpack(molt_cli *cli, int argc, char **argv);
int molt__cmd_init(molt_cli *cli, int argc, char **argv);
int molt__cmd_releases(molt_cli *cli, int argc, char **argv);
/* `molt run`: supervise a moltd on the root, without systemd (cmd_run.c) */
int molt__cmd_run(molt_cli *cli, int argc, char **argv);
/* keys, signatures, trust and verify (cmd_trust.c) */
int molt__cmd_keygen(molt_cli *cli, int argc, char **argv);
int molt__cmd_sign(molt_cli *cli, int argc, char **argv);
int molt__cmd_trust(molt_cli *cli, int argc, char **argv);
int molt__cmd_verify(molt_cli *cli, int argc, char **argv);
/* The warning of an unpack into a root that trusts no keys (cmd_unpack.c) */
struct molt_unpack_result;
void molt__cli_unpack_note(const molt_cli *cli, const char *root,
			   const char *bundle,
			   const struct molt_unpack_result *r);
/* a release out of the root (cmd_remove.c) */
int molt__cmd_remove(molt_cli *cli, int argc, char **argv);

#endif
