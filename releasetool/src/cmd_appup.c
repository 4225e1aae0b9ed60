/* NEEDSWORK: placeholder until issue 4 lands; replace this file. */
#include "cli.h"

#include "molt/banned.h"

static int not_yet(molt_cli *cli)
{
	molt_err err;

	molt_err_set(&err, MOLT_ERROR, "'%s' is not implemented yet (issue 4)", cli->verb);
	return molt__cli_fail(cli, &err);
}

int molt__cmd_appup(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}

int molt__cmd_relup(molt_cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet(cli);
}
