/* molt appup check|compile|gen|convert and molt relup. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "molt/appup.h"
#include "molt/buf.h"
#include "molt/relup.h"

#include "appup_gen.h"
#include "build.h"
#include "cli.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

#define APPUP_USAGE                                                            \
	"usage: molt appup check FILE... [--vsn V]\n"                          \
	"       molt appup compile FILE --app APP.json --from V [--to V]\n"    \
	"                 [--old-app APP.json] [--down] [--vsn V] [--terms]\n" \
	"       molt appup gen --from DIR|APP.json --to DIR|APP.json\n"        \
	"                 [--format terms|json] [-o FILE]\n"                   \
	"       molt appup gen --repo DIR --from-tag TAG [--from-tag "         \
	"TAG...]\n"                                                            \
	"                 --to-tag TAG [--app NAME] [--format terms|json] "    \
	"[-o "                                                                 \
	"FILE]\n"                                                              \
	"       molt appup convert FILE [--format terms|json] [--vsn V] [-o "  \
	"FILE]\n"

#define RELUP_USAGE                                                            \
	"usage: molt relup --from DIR [--from DIR...] --to DIR [-o FILE]\n"    \
	"                  [--allow-untouched] [--terms]\n"                    \
	"       molt relup script RELUP.json (--up-from VSN | --down-to "      \
	"VSN)\n"

#define MAX_ARGS 64

/* Options shared by the subcommands. */
typedef struct appup_args {
	const char *files[MAX_ARGS];	/* positional arguments */
	int nfiles;			/* how many */
	const char *from[MAX_ARGS];	/* --from, may repeat */
	int nfrom;			/* how many */
	const char *to;			/* --to */
	const char *repo;		/* --repo */
	const char *from_tag[MAX_ARGS]; /* --from-tag, may repeat */
	int nfrom_tag;			/* how many */
	const char *to_tag;		/* --to-tag */
	const char *app;		/* --app */
	const char *old_app;		/* --old-app */
	const char *vsn;		/* --vsn */
	const char *format;		/* --format */
	const char *out;		/* -o */
	int down;			/* --down */
	int terms;			/* --terms */
	int allow_untouched;		/* --allow-untouched */
} appup_args;

static int value_opt(const char *opt, const char *name, const char **slot,
		     int *i, int argc, char **argv)
{
	if (strcmp(opt, name) != 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*slot = argv[++*i];
	return 1;
}

static int parse_one(appup_args *a, int *i, int argc, char **argv)
{
	const char *s = argv[*i];
	int rc;

	if (strcmp(s, "--from") == 0) {
		if (*i + 1 >= argc || a->nfrom >= MAX_ARGS)
			return -1;
		a->from[a->nfrom++] = argv[++*i];
		return 0;
	}
	if (strcmp(s, "--from-tag") == 0) {
		if (*i + 1 >= argc || a->nfrom_tag >= MAX_ARGS)
			return -1;
		a->from_tag[a->nfrom_tag++] = argv[++*i];
		return 0;
	}
	if ((rc = value_opt(s, "--to", &a->to, i, argc, argv)) ||
	    (rc = value_opt(s, "--repo", &a->repo, i, argc, argv)) ||
	    (rc = value_opt(s, "--to-tag", &a->to_tag, i, argc, argv)) ||
	    (rc = value_opt(s, "--app", &a->app, i, argc, argv)) ||
	    (rc = value_opt(s, "--old-app", &a->old_app, i, argc, argv)) ||
	    (rc = value_opt(s, "--vsn", &a->vsn, i, argc, argv)) ||
	    (rc = value_opt(s, "--format", &a->format, i, argc, argv)) ||
	    (rc = value_opt(s, "-o", &a->out, i, argc, argv)))
		return rc < 0 ? -1 : 0;
	if (strcmp(s, "--down") == 0)
		a->down = 1;
	else if (strcmp(s, "--terms") == 0)
		a->terms = 1;
	else if (strcmp(s, "--allow-untouched") == 0)
		a->allow_untouched = 1;
	else if (s[0] == '-' && s[1] != '\0')
		return -2;
	else if (a->nfiles < MAX_ARGS)
		a->files[a->nfiles++] = s;
	else
		return -1;
	return 0;
}

static int parse_args(const molt_cli *cli, appup_args *a, int first, int argc,
		      char **argv)
{
	int i, rc;

	memset(a, 0, sizeof(*a));
	for (i = first; i < argc; i++) {
		rc = parse_one(a, &i, argc, argv);
		if (rc == -2)
			return molt__cli_usage(cli, "unknown option '%s'",
					       argv[i]);
		if (rc < 0)
			return molt__cli_usage(cli, "option '%s' needs a value",
					       argv[i]);
	}
	return MOLT_EXIT_OK;
}

/* Write text to path (atomically) or stdout. */
static int emit(const molt_cli *cli, const char *path, const molt_buf *b)
{
	molt_err err = MOLT_ERR_INIT;

	if (!path || strcmp(path, "-") == 0) {
		fwrite(b->ptr, 1, b->len, stdout);
		return MOLT_EXIT_OK;
	}
	if (molt_write_file_atomic(path, b->ptr, b->len, &err) < 0)
		return molt__cli_fail(cli, &err);
	molt__cli_progress(cli, "wrote %s", path);
	return MOLT_EXIT_OK;
}

static int load_appup(const molt_cli *cli, const char *path, const char *vsn,
		      molt_appup **out)
{
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;

	o.vsn = vsn;
	if (molt_appup_load(out, path, &o, &err) < 0)
		return molt__cli_fail(cli, &err);
	return MOLT_EXIT_OK;
}

/* ---- check ---- */

typedef struct check_state {
	const molt_cli *cli; /* for --json */
	int errors;	     /* error diagnostics so far */
	int warnings;	     /* warnings so far */
	molt_buf json;	     /* diagnostics as JSON array items */
} check_state;

static void json_str(molt_buf *b, const char *s)
{
	molt_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			molt_buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			molt_buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			molt_buf_putc(b, *s);
	}
	molt_buf_putc(b, '"');
}

static void on_diag(int level, const char *msg, void *payload)
{
	check_state *st = payload;

	if (level == MOLT_DIAG_ERROR)
		st->errors++;
	else
		st->warnings++;
	if (!st->cli->json) {
		fprintf(stderr, "%s%s\n",
			level == MOLT_DIAG_ERROR ? "error: " : "", msg);
		return;
	}
	molt_buf_puts(&st->json, st->json.len ? "," : "");
	molt_buf_printf(&st->json, "{\"level\":\"%s\",\"message\":",
			level == MOLT_DIAG_ERROR ? "error" : "warning");
	json_str(&st->json, msg);
	molt_buf_putc(&st->json, '}');
}

static void check_file(check_state *st, const char *path, const char *vsn)
{
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap;
	int before = st->errors;

	o.vsn = vsn;
	if (molt_appup_load(&ap, path, &o, &err) < 0) {
		on_diag(MOLT_DIAG_ERROR, err.msg, st);
		return;
	}
	molt_appup_check(ap, on_diag, st, NULL);
	if (st->errors == before)
		molt__cli_progress(st->cli, "%s: ok (%zu up, %zu down entries)",
				   path, ap->nup, ap->ndown);
	molt_appup_free(ap);
}

static int cmd_check(molt_cli *cli, const appup_args *a)
{
	check_state st = {cli, 0, 0, MOLT_BUF_INIT};
	int i;

	if (a->nfiles == 0)
		return molt__cli_usage(cli, "appup check needs a file\n%s",
				       APPUP_USAGE);
	for (i = 0; i < a->nfiles; i++)
		check_file(&st, a->files[i], a->vsn);
	if (cli->json)
		printf("{\"ok\":%s,\"errors\":%d,\"warnings\":%d,"
		       "\"diagnostics\":[%s]}\n",
		       st.errors ? "false" : "true", st.errors, st.warnings,
		       st.json.ptr);
	molt_buf_release(&st.json);
	return st.errors ? MOLT_EXIT_FAILED : MOLT_EXIT_OK;
}

/* ---- compile ---- */

/* The old application: --old-app, or the new one's modules at vsn. */
static int old_app(const molt_cli *cli, const appup_args *a, molt_arena *ar,
		   const molt_appinfo *new_app, molt_appinfo *out)
{
	molt_err err = MOLT_ERR_INIT;

	if (a->old_app) {
		if (molt_app_load(out, ar, a->old_app, &err) < 0)
			return molt__cli_fail(cli, &err);
		return MOLT_EXIT_OK;
	}
	*out = *new_app;
	out->vsn = a->from[0];
	return MOLT_EXIT_OK;
}

static int print_script(const molt_cli *cli, const appup_args *a,
			const molt_term *script)
{
	molt_buf b = MOLT_BUF_INIT;
	int rc;

	if (a->terms) {
		molt_term_print(&b, script);
		molt_buf_puts(&b, ".\n");
	} else {
		molt_script_to_json(&b, script, 0);
		molt_buf_putc(&b, '\n');
	}
	rc = emit(cli, a->out, &b);
	molt_buf_release(&b);
	return rc;
}

static int compile(const molt_cli *cli, const appup_args *a, molt_appup *ap,
		   molt_arena *ar)
{
	molt_appinfo new_app, old;
	molt_rc_opts o = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	const molt_term *instrs;
	molt_term *script;
	int rc;

	if (molt_app_load(&new_app, ar, a->app, &err) < 0)
		return molt__cli_fail(cli, &err);
	if (a->to && strcmp(a->to, new_app.vsn) != 0)
		new_app.vsn = a->to;
	if ((rc = old_app(cli, a, ar, &new_app, &old)) != MOLT_EXIT_OK)
		return rc;
	if (molt_appup_search(&instrs, ap, a->down, a->from[0], &err) < 0)
		return molt__cli_fail(cli, &err);
	o.mode = a->down ? MOLT_DOWN : MOLT_UP;
	o.apps = a->down ? &old : &new_app;
	o.pre_apps = a->down ? &new_app : &old;
	o.napps = o.npre_apps = 1;
	if (molt_rc_translate(&script, ar, &o, &instrs, 1, NULL, NULL, &err) <
	    0)
		return molt__cli_fail(cli, &err);
	return print_script(cli, a, script);
}

static int cmd_compile(molt_cli *cli, const appup_args *a)
{
	molt_appup *ap;
	molt_arena *ar;
	int rc;

	if (a->nfiles != 1 || !a->app || a->nfrom != 1)
		return molt__cli_usage(cli,
				       "appup compile needs FILE, --app "
				       "and --from\n%s",
				       APPUP_USAGE);
	if ((rc = load_appup(cli, a->files[0], a->vsn ? a->vsn : a->to, &ap)) !=
	    MOLT_EXIT_OK)
		return rc;
	ar = molt_arena_new();
	rc = ar ? compile(cli, a, ap, ar) : MOLT_EXIT_FAILED;
	molt_arena_free(ar);
	molt_appup_free(ap);
	return rc;
}

/* ---- gen and convert ---- */

/* --format, else JSON when -o names a .json file; -1 if --format is bad. */
static int want_json(const appup_args *a)
{
	if (!a->format)
		return a->out && strstr(a->out, ".json") != NULL;
	if (strcmp(a->format, "json") == 0)
		return 1;
	return strcmp(a->format, "terms") == 0 ? 0 : -1;
}

static int write_appup(const molt_cli *cli, const appup_args *a,
		       const molt_appup *ap)
{
	molt_buf b = MOLT_BUF_INIT;
	int json = want_json(a), rc;

	if (json < 0)
		return molt__cli_usage(cli, "--format is terms or json");
	rc = json ? molt_appup_to_json(&b, ap) : molt_appup_to_terms(&b, ap);
	if (rc < 0) {
		molt_buf_release(&b);
		return MOLT_EXIT_FAILED;
	}
	rc = emit(cli, a->out, &b);
	molt_buf_release(&b);
	return rc;
}

/* app.json itself, or DIR/app.json. */
static int load_app_arg(const molt_cli *cli, const char *arg, molt_arena *ar,
			molt_appinfo *out)
{
	molt_err err = MOLT_ERR_INIT;
	char path[1200];
	struct stat st;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(path, sizeof(path), "%s/app.json", arg);
	else
		snprintf(path, sizeof(path), "%s", arg);
	if (molt_app_load(out, ar, path, &err) < 0)
		return molt__cli_fail(cli, &err);
	return MOLT_EXIT_OK;
}

/* ---- gen from git tags ---- */

/* What molt appup gen --repo works on. */
typedef struct gen_tags {
	const appup_args *a; /* the options */
	const char **tags;   /* the from-tags, then the to-tag */
	size_t ntags;	     /* number of tags */
	int json;	     /* write appup.json */
	molt_buf out;	     /* the appup text */
} gen_tags;

/* The application to generate for: --app, or the only one at the to-tag. */
static int pick_app(const molt_appinfo **out, const molt_release *rel,
		    const char *name, const char *tag, molt_err *err)
{
	molt_buf names = MOLT_BUF_INIT;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < rel->napps; i++) {
		if (name && strcmp(rel->apps[i].name, name) == 0)
			*out = &rel->apps[i];
		molt_buf_printf(&names, "%s%s", i ? ", " : "",
				rel->apps[i].name);
	}
	if (!name && rel->napps == 1)
		*out = &rel->apps[0];
	if (*out)
		rc = MOLT_OK;
	else if (name)
		rc = molt_err_set(err, MOLT_ENOTFOUND,
				  "no application '%s' in the release at %s "
				  "(it has %s)",
				  name, tag, names.ptr ? names.ptr : "none");
	else
		rc = molt_err_set(err, MOLT_EINVAL,
				  "the release at %s has applications %s: "
				  "name one with --app",
				  tag, names.ptr ? names.ptr : "none");
	molt_buf_release(&names);
	return rc;
}

/* Generate from the loaded releases: rels[n - 1] is the to-release. */
static int gen_rels(gen_tags *g, molt_release *const *rels, size_t n,
		    molt_err *err)
{
	const molt_appinfo *to, **from = molt_calloc(n, sizeof(*from));
	size_t nentries = 0;
	int rc;

	if (!from)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	rc = pick_app(&to, rels[n - 1], g->a->app, g->tags[n - 1], err);
	for (size_t i = 0; rc == MOLT_OK && i + 1 < n; i++)
		rc = pick_app(&from[i], rels[i], to->name, g->tags[i], err);
	if (rc == MOLT_OK)
		rc = molt__appup_gen_many(&g->out, &nentries, to, from, n - 1,
					  g->json, err);
	if (rc == MOLT_OK && nentries == 0)
		rc = molt_err_set(err, MOLT_EINVAL,
				  "application '%s' is version %s at %s and "
				  "at every from-tag: no appup to generate",
				  to->name, to->vsn, g->tags[n - 1]);
	molt_free(from);
	return rc;
}

/* molt__staged_fn: load each staged release and generate. */
static int gen_staged(const char *const *roots, size_t n, void *payload,
		      molt_err *err)
{
	molt_release **rels = molt_calloc(n, sizeof(*rels));
	int rc = rels ? MOLT_OK
		      : molt_err_set(err, MOLT_ENOMEM, "out of memory");

	for (size_t i = 0; rc == MOLT_OK && i < n; i++)
		rc = molt_release_load(&rels[i], roots[i], err);
	if (rc == MOLT_OK)
		rc = gen_rels(payload, rels, n, err);
	for (size_t i = 0; rels && i < n; i++)
		molt_release_free(rels[i]);
	molt_free(rels);
	return rc;
}

static void on_build_progress(const char *step, double ms, void *payload)
{
	const molt_cli *cli = payload;

	molt__cli_progress(cli, "build: %s (%.0f ms)", step, ms);
}

static int cmd_gen_tags(molt_cli *cli, const appup_args *a)
{
	molt_build_options o = MOLT_BUILD_OPTIONS_INIT;
	const char *tags[MAX_ARGS + 1];
	gen_tags g = {a, tags, 0, want_json(a), MOLT_BUF_INIT};
	molt_err err = MOLT_ERR_INIT;
	int rc;

	if (!a->repo || a->nfrom_tag == 0 || !a->to_tag || a->nfrom || a->to)
		return molt__cli_usage(cli,
				       "appup gen from tags needs --repo, "
				       "--from-tag and --to-tag (not --from "
				       "or --to)\n%s",
				       APPUP_USAGE);
	if (g.json < 0)
		return molt__cli_usage(cli, "--format is terms or json");
	for (int i = 0; i < a->nfrom_tag; i++)
		tags[g.ntags++] = a->from_tag[i];
	tags[g.ntags++] = a->to_tag;
	o.repo = a->repo;
	o.progress = on_build_progress;
	o.payload = cli;
	if (molt__build_stage_tags(&o, tags, g.ntags, gen_staged, &g, &err) < 0)
		rc = molt__cli_fail(cli, &err);
	else
		rc = emit(cli, a->out, &g.out);
	molt_buf_release(&g.out);
	return rc;
}

/* ---- gen from two directories ---- */

static int cmd_gen(molt_cli *cli, const appup_args *a)
{
	molt_appinfo from, to;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL;
	molt_arena *ar;
	int rc;

	if (a->repo || a->nfrom_tag || a->to_tag)
		return cmd_gen_tags(cli, a);
	if (a->nfrom != 1 || !a->to)
		return molt__cli_usage(cli,
				       "appup gen needs --from and --to\n%s",
				       APPUP_USAGE);
	if (!(ar = molt_arena_new()))
		return MOLT_EXIT_FAILED;
	rc = load_app_arg(cli, a->from[0], ar, &from);
	if (rc == MOLT_EXIT_OK)
		rc = load_app_arg(cli, a->to, ar, &to);
	if (rc == MOLT_EXIT_OK && molt_appup_gen(&ap, &from, &to, &err) < 0)
		rc = molt__cli_fail(cli, &err);
	if (rc == MOLT_EXIT_OK)
		rc = write_appup(cli, a, ap);
	molt_appup_free(ap);
	molt_arena_free(ar);
	return rc;
}

static int cmd_convert(molt_cli *cli, const appup_args *a)
{
	molt_appup *ap;
	int rc;

	if (a->nfiles != 1)
		return molt__cli_usage(cli, "appup convert needs one FILE\n%s",
				       APPUP_USAGE);
	if ((rc = load_appup(cli, a->files[0], a->vsn, &ap)) != MOLT_EXIT_OK)
		return rc;
	rc = write_appup(cli, a, ap);
	molt_appup_free(ap);
	return rc;
}

int molt__cmd_appup(molt_cli *cli, int argc, char **argv)
{
	appup_args a;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!sub)
		return molt__cli_usage(cli, "missing subcommand\n%s",
				       APPUP_USAGE);
	if ((rc = parse_args(cli, &a, 2, argc, argv)) != MOLT_EXIT_OK)
		return rc;
	if (strcmp(sub, "check") == 0)
		return cmd_check(cli, &a);
	if (strcmp(sub, "compile") == 0)
		return cmd_compile(cli, &a);
	if (strcmp(sub, "gen") == 0)
		return cmd_gen(cli, &a);
	if (strcmp(sub, "convert") == 0)
		return cmd_convert(cli, &a);
	return molt__cli_usage(cli, "unknown subcommand '%s'\n%s", sub,
			       APPUP_USAGE);
}

/* ---- relup ---- */

static void relup_warn(int level, const char *msg, void *payload)
{
	(void)level;
	if (!((molt_cli *)payload)->quiet)
		fprintf(stderr, "%s\n", msg);
}

static int build_relup(molt_cli *cli, const appup_args *a, molt_release **rels)
{
	molt_relup_opts o = MOLT_RELUP_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_buf b = MOLT_BUF_INIT;
	int rc;

	o.to = rels[a->nfrom];
	o.from = (const molt_release *const *)rels;
	o.nfrom = (size_t)a->nfrom;
	o.allow_untouched = a->allow_untouched;
	o.terms = a->terms;
	o.warn = relup_warn;
	o.payload = cli;
	if (molt_relup_build(&b, &o, &err) < 0)
		rc = molt__cli_fail(cli, &err);
	else
		rc = emit(cli, a->out, &b);
	molt_buf_release(&b);
	return rc;
}

int molt__cmd_relup(molt_cli *cli, int argc, char **argv)
{
	molt_release *rels[MAX_ARGS + 1] = {NULL};
	molt_err err = MOLT_ERR_INIT;
	appup_args a;
	int i, rc;

	if (argc > 1 && strcmp(argv[1], "script") == 0)
		return molt__cmd_relup_script(cli, argc - 1, argv + 1);
	if ((rc = parse_args(cli, &a, 1, argc, argv)) != MOLT_EXIT_OK)
		return rc;
	if (a.nfrom == 0 || !a.to || a.nfiles)
		return molt__cli_usage(cli, "relup needs --from and --to\n%s",
				       RELUP_USAGE);
	for (i = 0; i <= a.nfrom && rc == MOLT_EXIT_OK; i++)
		if (molt_release_load(&rels[i], i < a.nfrom ? a.from[i] : a.to,
				      &err) < 0)
			rc = molt__cli_fail(cli, &err);
	if (rc == MOLT_EXIT_OK)
		rc = build_relup(cli, &a, rels);
	for (i = 0; i <= a.nfrom; i++)
		molt_release_free(rels[i]);
	return rc;
}
