/* molt keygen, molt sign, molt trust, molt verify: who may make the
 * releases a root accepts, and whether a release is still what it was. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/release.h"

#include "cli.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

static void print_id(const molt_cli *cli, const char *key, const char *id,
		     const char *text)
{
	cJSON *o;

	if (!cli->json) {
		if (!cli->quiet)
			printf("%s\n", text);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, key, id);
	molt__cli_json_print(o);
}

int molt__cmd_keygen(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	char id[MOLT_KEY_ID_SIZE], text[4200];

	if (argc != 3 || strcmp(argv[1], "-o") != 0)
		return molt__cli_usage(cli, "usage: molt keygen -o KEY");
	if (molt_keygen(id, argv[2], &err) < 0)
		return molt__cli_fail(cli, &err);
	snprintf(text, sizeof(text),
		 "key %s: secret key in %.2000s (keep it private), public key "
		 "in %.2000s.pub",
		 id, argv[2], argv[2]);
	print_id(cli, "id", id, text);
	return MOLT_EXIT_OK;
}

int molt__cmd_sign(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	const char *bundle = NULL, *key = NULL;
	char id[MOLT_KEY_ID_SIZE], text[4200];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (argv[i][0] != '-' && !bundle)
			bundle = argv[i];
		else
			return molt__cli_usage(cli, "usage: molt sign BUNDLE "
						    "--key KEY");
	}
	if (!bundle || !key)
		return molt__cli_usage(cli,
				       "usage: molt sign BUNDLE --key KEY");
	if (molt_bundle_sign(id, bundle, key, &err) < 0)
		return molt__cli_fail(cli, &err);
	snprintf(text, sizeof(text), "%.4000s: signed by key %s", bundle, id);
	print_id(cli, "id", id, text);
	return MOLT_EXIT_OK;
}

static int trust_list(molt_cli *cli, const char *root)
{
	molt_trusted_keys k;
	molt_err err = MOLT_ERR_INIT;
	cJSON *o, *arr;

	if (molt_trusted_keys_read(&k, root, &err) < 0)
		return molt__cli_fail(cli, &err);
	if (cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddTrueToObject(o, "ok");
		arr = cJSON_AddArrayToObject(o, "keys");
		for (size_t i = 0; i < k.n; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(k.ids[i]));
		molt__cli_json_print(o);
	} else {
		for (size_t i = 0; i < k.n; i++)
			printf("%s  %s/" MOLT_ROOT_KEYS_DIR "/%s.pub\n",
			       k.ids[i], root, k.ids[i]);
		if (!k.n && !cli->quiet)
			fprintf(stderr,
				"molt trust: '%s' trusts no keys: it accepts "
				"unsigned bundles\n",
				root);
	}
	molt_trusted_keys_release(&k);
	return MOLT_EXIT_OK;
}

int molt__cmd_trust(molt_cli *cli, int argc, char **argv)
{
	molt_err err = MOLT_ERR_INIT;
	char id[MOLT_KEY_ID_SIZE], text[200];
	const char *root;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "list") == 0 ? argc != 2 : argc != 3))
		return molt__cli_usage(cli, "usage: molt trust add PUBKEY | "
					    "list | remove ID (with --root "
					    "DIR)");
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	if (strcmp(argv[1], "list") == 0)
		return trust_list(cli, root);
	if (strcmp(argv[1], "add") == 0) {
		if (molt_trust_add(id, root, argv[2], &err) < 0)
			return molt__cli_fail(cli, &err);
		snprintf(text, sizeof(text), "trusted key %s", id);
		print_id(cli, "id", id, text);
		return MOLT_EXIT_OK;
	}
	if (strcmp(argv[1], "remove") == 0) {
		if (molt_trust_remove(root, argv[2], &err) < 0)
			return molt__cli_fail(cli, &err);
		snprintf(text, sizeof(text), "removed key %.20s", argv[2]);
		print_id(cli, "id", argv[2], text);
		return MOLT_EXIT_OK;
	}
	return molt__cli_usage(cli, "unknown 'trust %s': add, list or remove",
			       argv[1]);
}

/* ---- molt verify ---- */

struct shown {
	const molt_cli *cli; /* output mode */
	const char *vsn;     /* the release being verified */
	cJSON *list;	     /* --json: the differences */
};

static void on_diff(const char *path, const char *problem, void *payload)
{
	struct shown *s = payload;
	cJSON *o;

	if (!s->cli->json) {
		printf("%s: %s: %s\n", s->vsn, path, problem);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "vsn", s->vsn);
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "problem", problem);
	cJSON_AddItemToArray(s->list, o);
}

static int verify_one(struct shown *s, const char *root, const char *vsn,
		      size_t *bad)
{
	molt_err err = MOLT_ERR_INIT;
	size_t n = 0;

	s->vsn = vsn;
	if (molt_release_verify_each(&n, root, vsn, on_diff, s, &err) < 0) {
		on_diff(MOLT_MANIFEST_FILE, err.msg, s);
		n = 1;
	} else if (!n && !s->cli->json && !s->cli->quiet) {
		printf("%s: ok\n", vsn);
	}
	*bad += n;
	return MOLT_OK;
}

int molt__cmd_verify(molt_cli *cli, int argc, char **argv)
{
	struct shown s = {cli, NULL, NULL};
	molt_releases rels;
	molt_err err = MOLT_ERR_INIT;
	const char *root;
	size_t bad = 0;
	cJSON *o;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return molt__cli_usage(cli, "usage: molt verify --root DIR "
					    "[VSN]");
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK)
		return rc;
	if (molt_releases_read(&rels, root, &err) < 0)
		return molt__cli_fail(cli, &err);
	if (argc == 2 && !molt_releases_find(&rels, argv[1])) {
		molt_err_set(&err, MOLT_ENOTFOUND, "no release %.100s in '%s'",
			     argv[1], root);
		molt_releases_release(&rels);
		return molt__cli_fail(cli, &err);
	}
	s.list = cJSON_CreateArray();
	for (size_t i = 0; i < rels.n; i++)
		if (argc == 1 || strcmp(rels.rels[i].vsn, argv[1]) == 0)
			verify_one(&s, root, rels.rels[i].vsn, &bad);
	molt_releases_release(&rels);
	if (cli->json) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", bad == 0);
		cJSON_AddItemToObject(o, "differences", s.list);
		molt__cli_json_print(o);
	} else {
		cJSON_Delete(s.list);
	}
	return bad ? MOLT_EXIT_FAILED : MOLT_EXIT_OK;
}
