/* `molt relup script`: one from/to script of a relup.json, ready for eval. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"

#include "cli.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#define SCRIPT_USAGE                                                           \
	"usage: molt relup script RELUP.json (--up-from VSN | --down-to "      \
	"VSN)\n"

/* The script of the entry of list (up or down) whose key (from or to) is
 * vsn; NULL with a message naming the file and what it has. */
static cJSON *find_script(const cJSON *relup, const char *file,
			  const char *list, const char *key, const char *vsn,
			  molt_err *err)
{
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(relup, list);
	const cJSON *e;
	molt_buf have = MOLT_BUF_INIT;

	if (!cJSON_IsArray(entries)) {
		molt_err_set(err, MOLT_EPARSE, "%s: no \"%s\" array", file,
			     list);
		return NULL;
	}
	cJSON_ArrayForEach(e, entries)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, key);
		cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "script");

		if (!cJSON_IsString(k) || !cJSON_IsArray(s))
			continue;
		if (strcmp(k->valuestring, vsn) == 0) {
			molt_buf_release(&have);
			return s;
		}
		molt_buf_printf(&have, "%s%s", have.len ? ", " : "",
				k->valuestring);
	}
	molt_err_set(err, MOLT_ENOTFOUND, "%s: no %s script %s %s (it has: %s)",
		     file, list, strcmp(list, "up") == 0 ? "from" : "to", vsn,
		     have.len ? have.ptr : "none");
	molt_buf_release(&have);
	return NULL;
}

/* Print the script, one instruction per line. */
static void print_script(const cJSON *script)
{
	const cJSON *ins;
	int first = 1;

	printf("[");
	cJSON_ArrayForEach(ins, script)
	{
		char *s = cJSON_PrintUnformatted(ins);

		printf("%s\n  %s", first ? "" : ",", s ? s : "null");
		cJSON_free(s);
		first = 0;
	}
	printf("\n]\n");
}

static int show(molt_cli *cli, const char *file, const char *list,
		const char *vsn)
{
	molt_buf text = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;
	const cJSON *fmt;
	cJSON *relup, *script;
	int rc = MOLT_EXIT_OK;

	if (molt_buf_read_file(&text, file, &err) < 0)
		return molt__cli_fail(cli, &err);
	relup = cJSON_ParseWithLength(text.ptr, text.len);
	molt_buf_release(&text);
	fmt = cJSON_GetObjectItemCaseSensitive(relup, "format");
	if (!relup || !cJSON_IsString(fmt) ||
	    strcmp(fmt->valuestring, "molt-relup/1") != 0) {
		molt_err_set(&err, relup ? MOLT_EVERSION : MOLT_EPARSE,
			     "%s: not a relup.json of format molt-relup/1",
			     file);
		rc = molt__cli_fail(cli, &err);
		goto out;
	}
	script =
		find_script(relup, file, list,
			    strcmp(list, "up") == 0 ? "from" : "to", vsn, &err);
	if (!script)
		rc = molt__cli_fail(cli, &err);
	else
		print_script(script);
out:
	cJSON_Delete(relup);
	return rc;
}

int molt__cmd_relup_script(molt_cli *cli, int argc, char **argv)
{
	const char *file = NULL, *list = NULL, *vsn = NULL;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--up-from") == 0 ||
		     strcmp(argv[i], "--down-to") == 0) &&
		    i + 1 < argc) {
			list = argv[i][2] == 'u' ? "up" : "down";
			vsn = argv[++i];
		} else if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else {
			return molt__cli_usage(cli, "unexpected '%s'\n%s",
					       argv[i], SCRIPT_USAGE);
		}
	}
	if (!file || !list)
		return molt__cli_usage(cli, "missing arguments\n%s",
				       SCRIPT_USAGE);
	return show(cli, file, list, vsn);
}
