/* The JSON form of a low-level script: molt_script_parse builds the
 * typed script the evaluator takes (molt/script.h), and the convenience
 * molt_runtime_eval parses, then evaluates. */
#include "molt/script.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "molt/banned.h"

static const char *const names[] = {
	[MOLT_INS_LOAD_OBJECT_CODE] = "load_object_code",
	[MOLT_INS_POINT_OF_NO_RETURN] = "point_of_no_return",
	[MOLT_INS_LOAD] = "load",
	[MOLT_INS_REMOVE] = "remove",
	[MOLT_INS_PURGE] = "purge",
	[MOLT_INS_SUSPEND] = "suspend",
	[MOLT_INS_RESUME] = "resume",
	[MOLT_INS_CODE_CHANGE] = "code_change",
	[MOLT_INS_STOP] = "stop",
	[MOLT_INS_START] = "start",
	[MOLT_INS_APPLY] = "apply",
	[MOLT_INS_SYNC_NODES] = "sync_nodes",
	[MOLT_INS_RESTART_NEW_EMULATOR] = "restart_new_emulator",
	[MOLT_INS_RESTART_EMULATOR] = "restart_emulator",
};

#define N_KINDS (sizeof(names) / sizeof(names[0]))

const char *molt_ins_name(molt_ins_kind kind)
{
	return (unsigned)kind < N_KINDS ? names[kind] : "?";
}

/* The parse of one script: where errors go, what the script owns. */
typedef struct parser {
	molt_ins *ins;		  /* the instructions being built (owned) */
	size_t n;		  /* instructions so far */
	size_t i;		  /* the one being parsed */
	const char *name;	  /* its name, for messages */
	molt_script_where *where; /* may be NULL */
	molt_err *err;		  /* the error */
} parser;

/* Fail the instruction being parsed: "instruction I (NAME): msg". */
MOLT_PRINTF(3, 4)
static int fail(parser *ps, int code, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->where) {
		ps->where->index = (int)ps->i;
		snprintf(ps->where->name, sizeof(ps->where->name), "%s",
			 ps->name);
	}
	return molt_err_set(ps->err, code, "instruction %zu (%s): %s", ps->i,
			    ps->name, msg);
}

static int oom(parser *ps)
{
	return fail(ps, MOLT_ENOMEM, "out of memory");
}

/* --- shapes --- */

static int is_name(const cJSON *j)
{
	return cJSON_IsString(j) && *j->valuestring &&
	       strlen(j->valuestring) < 64;
}

/* An array of n elements? */
static int arr_n(const cJSON *j, int n)
{
	return cJSON_IsArray(j) && cJSON_GetArraySize(j) == n;
}

static int purge_opt(const cJSON *j, molt_purge_opt *out)
{
	if (!cJSON_IsString(j))
		return 0;
	if (strcmp(j->valuestring, "soft_purge") == 0)
		*out = MOLT_SOFT_PURGE;
	else if (strcmp(j->valuestring, "brutal_purge") == 0)
		*out = MOLT_BRUTAL_PURGE;
	else
		return 0;
	return 1;
}

/* Copy s into *out (owned by the script). */
static int dup(parser *ps, const char **out, const char *s)
{
	if (!(*out = molt_strdup(s)))
		return oom(ps);
	return MOLT_OK;
}

/* j as JSON text into *out (owned by the script). */
static int dup_json(parser *ps, const char **out, const cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);

	*out = text ? molt_strdup(text) : NULL;
	cJSON_free(text);
	return *out ? MOLT_OK : oom(ps);
}

static int mods_alloc(parser *ps, molt_ins *in, const cJSON *arr)
{
	size_t n = (size_t)cJSON_GetArraySize(arr);

	in->mods = molt_calloc(n + 1, sizeof(*in->mods));
	return in->mods ? MOLT_OK : oom(ps);
}

/* The list [Mod, ...] of purge, resume, stop, start and the module list
 * of load_object_code. */
static int mod_names(parser *ps, molt_ins *in, const cJSON *arr)
{
	molt_ins_mod *mods;
	const cJSON *m;

	if (mods_alloc(ps, in, arr) < 0)
		return MOLT_ENOMEM;
	mods = (molt_ins_mod *)in->mods;
	cJSON_ArrayForEach(m, arr)
	{
		if (!is_name(m))
			return fail(ps, MOLT_EINVAL,
				    "module names must be strings");
		if (dup(ps, &mods[in->n_mods].name, m->valuestring) < 0)
			return MOLT_ENOMEM;
		in->n_mods++;
	}
	return MOLT_OK;
}

/* --- one parser per instruction --- */

static int p_load_object_code(parser *ps, molt_ins *in, const cJSON *a)
{
	const cJSON *app, *vsn, *mods;

	if (!arr_n(a, 3) || !is_name(app = a->child) ||
	    !is_name(vsn = app->next) || !cJSON_IsArray(mods = vsn->next))
		return fail(ps, MOLT_EINVAL,
			    "expected [\"load_object_code\", [App, Vsn, "
			    "[Mod, ...]]]");
	if (dup(ps, &in->app, app->valuestring) < 0 ||
	    dup(ps, &in->vsn, vsn->valuestring) < 0)
		return MOLT_ENOMEM;
	return mod_names(ps, in, mods);
}

static int p_load(parser *ps, molt_ins *in, const cJSON *a)
{
	const cJSON *m;

	if (!arr_n(a, 3) || !is_name(m = a->child) ||
	    !purge_opt(m->next, &in->pre_purge) ||
	    !purge_opt(m->next->next, &in->post_purge))
		return fail(ps, MOLT_EINVAL,
			    "expected [\"%s\", [Mod, PrePurge, PostPurge]] "
			    "with soft_purge or brutal_purge",
			    ps->name);
	return dup(ps, &in->module, m->valuestring);
}

static int p_names(parser *ps, molt_ins *in, const cJSON *a)
{
	if (!cJSON_IsArray(a))
		return fail(ps, MOLT_EINVAL, "expected [\"%s\", [Mod, ...]]",
			    ps->name);
	return mod_names(ps, in, a);
}

/* Mod or [Mod, Timeout]: Timeout ms (0 to a day) or "infinity". */
static int suspend_item(const cJSON *it, molt_ins_mod *out)
{
	const cJSON *t;

	out->timeout_ms = MOLT_INS_TIMEOUT_DEFAULT;
	if (is_name(it)) {
		out->name = it->valuestring;
		return 1;
	}
	if (!arr_n(it, 2) || !is_name(it->child))
		return 0;
	out->name = it->child->valuestring;
	t = it->child->next;
	if (cJSON_IsString(t) && strcmp(t->valuestring, "infinity") == 0)
		out->timeout_ms = MOLT_INS_TIMEOUT_INFINITY;
	else if (cJSON_IsNumber(t) && t->valuedouble >= 0 &&
		 t->valuedouble < 86400000.0)
		out->timeout_ms = (uint32_t)t->valuedouble;
	else
		return 0;
	if (out->timeout_ms == 0)
		out->timeout_ms = MOLT_INS_TIMEOUT_NOW;
	return 1;
}

static int p_suspend(parser *ps, molt_ins *in, const cJSON *a)
{
	molt_ins_mod *mods;
	const cJSON *it;

	if (!cJSON_IsArray(a))
		return fail(ps, MOLT_EINVAL,
			    "expected [\"suspend\", [Mod | [Mod, Timeout]]]");
	if (mods_alloc(ps, in, a) < 0)
		return MOLT_ENOMEM;
	mods = (molt_ins_mod *)in->mods;
	cJSON_ArrayForEach(it, a)
	{
		molt_ins_mod *m = &mods[in->n_mods];

		if (!suspend_item(it, m))
			return fail(ps, MOLT_EINVAL,
				    "expected Mod or [Mod, Timeout] with "
				    "Timeout ms or \"infinity\"");
		if (dup(ps, &m->name, m->name) < 0)
			return MOLT_ENOMEM;
		in->n_mods++;
	}
	return MOLT_OK;
}

/* ["code_change", [[M, Extra]]] or ["code_change", "up"|"down", [...]] */
static const cJSON *cc_list(const cJSON *a, int *down)
{
	*down = 0;
	if (cJSON_IsString(a) && a->next && !a->next->next) {
		if (strcmp(a->valuestring, "down") == 0)
			*down = 1;
		else if (strcmp(a->valuestring, "up") != 0)
			return NULL;
		a = a->next;
	} else if (a && a->next) {
		return NULL;
	}
	return cJSON_IsArray(a) ? a : NULL;
}

static int p_code_change(parser *ps, molt_ins *in, const cJSON *a)
{
	const cJSON *list = cc_list(a, &in->down), *it;
	molt_ins_mod *mods;

	if (!list)
		return fail(ps, MOLT_EINVAL,
			    "expected [\"code_change\", [\"up\"|\"down\",] "
			    "[[Mod, Extra], ...]]");
	if (mods_alloc(ps, in, list) < 0)
		return MOLT_ENOMEM;
	mods = (molt_ins_mod *)in->mods;
	cJSON_ArrayForEach(it, list)
	{
		molt_ins_mod *m = &mods[in->n_mods];

		if (!arr_n(it, 2) || !is_name(it->child))
			return fail(ps, MOLT_EINVAL, "expected [Mod, Extra]");
		in->n_mods++; /* counted first: freed if half copied */
		if (dup(ps, &m->name, it->child->valuestring) < 0 ||
		    dup_json(ps, &m->extra, it->child->next) < 0)
			return MOLT_ENOMEM;
	}
	return MOLT_OK;
}

static int p_apply(parser *ps, molt_ins *in, const cJSON *a)
{
	const cJSON *m, *f;

	if (!arr_n(a, 3) || !is_name(m = a->child) || !is_name(f = m->next))
		return fail(ps, MOLT_EINVAL,
			    "expected [\"apply\", [Mod, Fun, Args]]");
	if (dup(ps, &in->module, m->valuestring) < 0 ||
	    dup(ps, &in->fn, f->valuestring) < 0)
		return MOLT_ENOMEM;
	return dup_json(ps, &in->args, f->next);
}

static int kind_of(const char *name, molt_ins_kind *out)
{
	for (size_t k = 0; k < N_KINDS; k++)
		if (strcmp(names[k], name) == 0) {
			*out = (molt_ins_kind)k;
			return 1;
		}
	return 0;
}

/* The instruction's name; *args the element after it (NULL if none). */
static const char *ins_name(const cJSON *ins, const cJSON **args)
{
	*args = NULL;
	if (cJSON_IsString(ins))
		return ins->valuestring;
	if (cJSON_IsArray(ins) && cJSON_IsString(ins->child)) {
		*args = ins->child->next;
		return ins->child->valuestring;
	}
	return NULL;
}

static int parse_one(parser *ps, molt_ins *in, const cJSON *j)
{
	const cJSON *a;

	ps->name = ins_name(j, &a);
	if (!ps->name) {
		ps->name = "?";
		return fail(ps, MOLT_EINVAL,
			    "an instruction is a string or an array "
			    "starting with a string");
	}
	if (strcmp(ps->name, "restart") == 0 || strcmp(ps->name, "reboot") == 0)
		return fail(ps, MOLT_EINVAL, "illegal_instruction: %s",
			    ps->name);
	if (!kind_of(ps->name, &in->kind))
		return fail(ps, MOLT_EINVAL, "unknown instruction '%.40s'",
			    ps->name);
	switch (in->kind) {
	case MOLT_INS_LOAD_OBJECT_CODE:
		return p_load_object_code(ps, in, a);
	case MOLT_INS_LOAD:
	case MOLT_INS_REMOVE:
		return p_load(ps, in, a);
	case MOLT_INS_PURGE:
	case MOLT_INS_RESUME:
	case MOLT_INS_STOP:
	case MOLT_INS_START:
		return p_names(ps, in, a);
	case MOLT_INS_SUSPEND:
		return p_suspend(ps, in, a);
	case MOLT_INS_CODE_CHANGE:
		return p_code_change(ps, in, a);
	case MOLT_INS_APPLY:
		return p_apply(ps, in, a);
	default:
		return MOLT_OK; /* no arguments, or ignored ones */
	}
}

/* --- the script --- */

static int syntax_error(const char *json, const char *end, molt_err *err)
{
	int line = 1, col = 1;

	for (const char *p = json; end && p < end; p++, col++)
		if (*p == '\n') {
			line++;
			col = 0;
		}
	return molt_err_set(err, MOLT_EPARSE, "script:%d:%d: JSON syntax error",
			    line, col);
}

static void ins_release(molt_ins *in)
{
	for (size_t k = 0; in->mods && k < in->n_mods; k++) {
		molt_free((char *)in->mods[k].name);
		molt_free((char *)in->mods[k].extra);
	}
	molt_free((molt_ins_mod *)in->mods);
	molt_free((char *)in->module);
	molt_free((char *)in->app);
	molt_free((char *)in->vsn);
	molt_free((char *)in->fn);
	molt_free((char *)in->args);
}

void molt_script_free(molt_script *script)
{
	if (!script)
		return;
	for (size_t i = 0; i < script->n; i++)
		ins_release((molt_ins *)&script->ins[i]);
	molt_free((molt_ins *)script->ins);
	molt_free(script);
}

static int parse_all(parser *ps, const cJSON *doc)
{
	const cJSON *j;
	int rc;

	ps->ins = molt_calloc((size_t)cJSON_GetArraySize(doc) + 1,
			      sizeof(*ps->ins));
	if (!ps->ins)
		return molt_err_set(ps->err, MOLT_ENOMEM, "out of memory");
	cJSON_ArrayForEach(j, doc)
	{
		ps->i = ps->n++; /* counted first: released even if half done */
		if ((rc = parse_one(ps, &ps->ins[ps->i], j)) < 0)
			return rc;
	}
	return MOLT_OK;
}

int molt_script_parse(molt_script **out, const char *json,
		      molt_script_where *where, molt_err *err)
{
	parser ps = {NULL, 0, 0, "", where, err};
	const char *end = NULL;
	molt_script *s;
	cJSON *doc;
	int rc;

	*out = NULL;
	if (where) {
		where->index = -1;
		where->name[0] = '\0';
	}
	if (!(doc = cJSON_ParseWithOpts(json, &end, 1)))
		return syntax_error(json, end, err);
	if (!cJSON_IsArray(doc)) {
		cJSON_Delete(doc);
		return molt_err_set(err, MOLT_EPARSE,
				    "script: expected a JSON array of "
				    "instructions");
	}
	rc = parse_all(&ps, doc);
	cJSON_Delete(doc);
	s = rc == MOLT_OK ? molt_malloc(sizeof(*s)) : NULL;
	if (rc == MOLT_OK && !s)
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if (rc < 0) {
		for (size_t i = 0; i < ps.n; i++)
			ins_release(&ps.ins[i]);
		molt_free(ps.ins);
		return rc;
	}
	s->ins = ps.ins;
	s->n = ps.n;
	*out = s;
	return MOLT_OK;
}

/* --- the convenience: parse, then evaluate --- */

/* A script that does not parse fails as the evaluator reports a check. */
static void report_parse_error(molt_eval_report *r, const molt_script_where *w)
{
	memset(r, 0, sizeof(*r));
	r->failed_index = w->index;
	snprintf(r->failed_instr, sizeof(r->failed_instr), "%s", w->name);
}

int molt_runtime_eval(molt_runtime *rt, const char *script_json,
		      const molt_eval_options *opts, molt_eval_report *report,
		      molt_err *err)
{
	molt_script_where w;
	molt_script *s;
	int rc;

	if (!rt || !script_json || !report)
		return molt_runtime_eval_script(rt, NULL, opts, report, err);
	if ((rc = molt_script_parse(&s, script_json, &w, err)) < 0) {
		report_parse_error(report, &w);
		return rc;
	}
	rc = molt_runtime_eval_script(rt, s, opts, report, err);
	molt_script_free(s);
	return rc;
}
