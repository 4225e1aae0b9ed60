/* molt: argv parsing and dispatch to the verbs (cmd_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/common.h"

#include "cli.h"

#include "molt/banned.h"

struct verb {
	const char *name;
	molt_cmd_fn fn;
	const char *help;
};

static const struct verb verbs[] = {
	{"status", molt__cmd_status, "show the node: release, uptime, counts"},
	{"ps", molt__cmd_ps, "list processes"},
	{"sockets", molt__cmd_sockets, "list TCP sockets and their owners"},
	{"call", molt__cmd_call, "call NAME|PID PAYLOAD and print the reply"},
	{"cast", molt__cmd_cast, "cast NAME|PID PAYLOAD"},
	{"stop", molt__cmd_stop, "stop the node cleanly"},
	{"top", molt__cmd_top,
	 "top [--once] [--sort callback|messages|memory|queue]: busiest "
	 "processes"},
	{"metrics", molt__cmd_metrics, "print the node's Prometheus metrics"},
	{"events", molt__cmd_events,
	 "events [--follow]: the system monitor's events"},
	{"history", molt__cmd_history, "list past installs, rollbacks, evals"},
	{"trace", molt__cmd_trace,
	 "trace NAME|PID | --module MOD [--limit N]: messages and callbacks"},
	{"load", molt__cmd_load, "load PATH.so [--force] as a new version"},
	{"purge", molt__cmd_purge,
	 "purge MOD: kill old-code processes, unload"},
	{"soft-purge", molt__cmd_soft_purge,
	 "soft-purge MOD: unload old if unused"},
	{"delete", molt__cmd_delete, "delete MOD: make current code old"},
	{"modules", molt__cmd_modules, "list modules, versions, processes"},
	{"eval", molt__cmd_eval, "eval SCRIPT.json [--dry-run]: run a script"},
	{"appup", molt__cmd_appup,
	 "appup check|compile|gen: upgrade instructions"},
	{"relup", molt__cmd_relup, "relup --from DIR --to DIR -o relup.json"},
	{"build", molt__cmd_build,
	 "build --repo DIR --tag TAG: make a bundle; --check BUNDLE: rebuild "
	 "and compare"},
	{"unpack", molt__cmd_unpack,
	 "unpack BUNDLE: add a release to the root"},
	{"init", molt__cmd_init, "init BUNDLE: make a fresh root"},
	{"releases", molt__cmd_releases, "list releases and their status"},
	{"install", molt__cmd_install,
	 "install VSN [--dry-run]: run the relup into VSN live"},
	{"permanent", molt__cmd_permanent,
	 "permanent VSN: the node boots VSN from now on"},
	{"upgrade", molt__cmd_upgrade,
	 "upgrade BUNDLE [--health ..] [--permanent]: deploy, watch, "
	 "keep or roll back"},
	{"rollback", molt__cmd_rollback,
	 "rollback [--dry-run]: back to the permanent release"},
	{"run", molt__cmd_run,
	 "run moltd on the root, restart it when it dies (heart)"},
	{"remove", molt__cmd_remove,
	 "remove VSN: delete a release and its unused libs"},
	{"verify", molt__cmd_verify,
	 "verify [VSN]: check a release's files against its manifest"},
	{"keygen", molt__cmd_keygen, "keygen -o KEY: make a signing key pair"},
	{"sign", molt__cmd_sign, "sign BUNDLE --key KEY: add a signature"},
	{"trust", molt__cmd_trust,
	 "trust add PUBKEY | list | remove ID: keys the root trusts"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: molt [--root DIR] [--json] [--quiet] COMMAND "
		   "[ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\nexit codes: 0 ok, 1 operation failed, 2 usage\n");
}

/* Take the global options out of argv, wherever they are. */
static int take_globals(molt_cli *cli, int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			cli->json = 1;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			cli->quiet = 1;
		} else if (strcmp(a, "--root") == 0) {
			if (i + 1 >= *argc)
				return -1;
			cli->root = argv[++i];
		} else if (strncmp(a, "--root=", 7) == 0) {
			cli->root = a + 7;
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	return 0;
}

int main(int argc, char **argv)
{
	molt_cli cli = {0};
	const char *slash = strrchr(argv[0], '/');

	cli.prog = slash ? slash + 1 : argv[0];
	cli.root = getenv("MOLT_ROOT");
	if (cli.root && !*cli.root)
		cli.root = NULL;
	if (take_globals(&cli, &argc, argv) < 0) {
		fprintf(stderr, "molt: --root needs a directory\n");
		return MOLT_EXIT_USAGE;
	}
	if (argc < 2 || strcmp(argv[1], "help") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? MOLT_EXIT_USAGE : MOLT_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("molt %s\n", MOLT_VERSION);
		return MOLT_EXIT_OK;
	}
	for (size_t i = 0; i < NVERBS; i++) {
		if (strcmp(argv[1], verbs[i].name) == 0) {
			cli.verb = verbs[i].name;
			return verbs[i].fn(&cli, argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "molt: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return MOLT_EXIT_USAGE;
}
