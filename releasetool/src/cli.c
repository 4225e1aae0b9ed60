/* Output helpers shared by the molt verbs. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "molt/banned.h"

int molt__cli_fail(const molt_cli *cli, const molt_err *err)
{
	const char *msg = err && err->msg[0] ? err->msg : "operation failed";
	int code = err ? err->code : MOLT_ERROR;

	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON *e;

		cJSON_AddFalseToObject(o, "ok");
		e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddStringToObject(e, "code", molt_status_name(code));
		cJSON_AddStringToObject(e, "message", msg);
		molt__cli_json_print(o);
	} else {
		fprintf(stderr, "%s %s: %s\n", cli->prog, cli->verb, msg);
	}
	return MOLT_EXIT_FAILED;
}

void molt__cli_json_print(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s)
		printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
}

int molt__cli_usage(const molt_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", cli->prog, cli->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see '%s help')\n", cli->prog);
	return MOLT_EXIT_USAGE;
}

void molt__cli_progress(const molt_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet || cli->json)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int molt__cli_need_root(const molt_cli *cli, const char **out)
{
	if (!cli->root) {
		molt__cli_usage(cli, "no root directory: give --root DIR or "
				     "set MOLT_ROOT");
		return MOLT_EXIT_USAGE;
	}
	*out = cli->root;
	return MOLT_EXIT_OK;
}

double molt__cli_num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *molt__cli_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}
