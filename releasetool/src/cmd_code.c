/* NEEDSWORK: placeholder until issue 3 lands; replace this file. */
#include "cli.h"

#include "molt/banned.h"

static int not_yet(molt_cli *cli)
{
	molt_err err;

	molt_err_set(&err, MOLT_ERROR, "'%s' is not implemented yet (issue 3)", cli->verb);
	return molt__cli_fail(cli, &err);
}

int molt__cmd_load(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}

int molt__cmd_purge(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}

int molt__cmd_soft_purge(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}

int molt__cmd_delete(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}

int molt__cmd_modules(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}

int molt__cmd_eval(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}
