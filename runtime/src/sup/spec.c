/* The supervisor spec: JSON into the supervisor's state. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/common.h"

#include "sup_int.h"

#include "molt/banned.h"

void molt__sup_child_clear(child *c)
{
	molt_free(c->id);
	molt_free(c->module);
	molt_free(c->args);
	molt_free(c->name);
	memset(c, 0, sizeof(*c));
}

static int lookup(const char *const *names, int n, const char *v)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

const char *const molt__sup_strategies[] = {
	"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"};
const char *const molt__sup_restarts[] = {"permanent", "transient",
					  "temporary"};

static char *dup_or_null(const cJSON *s)
{
	return cJSON_IsString(s) ? molt_strdup(s->valuestring) : NULL;
}

static int parse_args(child *c, const cJSON *a, molt_err *err)
{
	char *text;

	if (!a) {
		c->args = NULL;
		c->args_len = 0;
		return MOLT_OK;
	}
	text = cJSON_IsString(a) ? molt_strdup(a->valuestring)
				 : cJSON_PrintUnformatted(a);
	if (!text)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if (!cJSON_IsString(a)) { /* cJSON's allocator is not ours */
		char *mine = molt_strdup(text);

		cJSON_free(text);
		if (!mine)
			return molt_err_set(err, MOLT_ENOMEM, "out of memory");
		text = mine;
	}
	c->args = text;
	c->args_len = strlen(text);
	return MOLT_OK;
}

static int parse_child(child *c, const cJSON *j, size_t idx, molt_err *err)
{
	const cJSON *id = cJSON_GetObjectItem(j, "id");
	const cJSON *mod = cJSON_GetObjectItem(j, "module");
	const cJSON *subspec = cJSON_GetObjectItem(j, "supervisor");
	const cJSON *rs = cJSON_GetObjectItem(j, "restart");
	const cJSON *sd = cJSON_GetObjectItem(j, "shutdown");
	char label[96];

	if (!cJSON_IsObject(j))
		return molt_err_set(err, MOLT_EINVAL,
				    "children[%zu] is not an object", idx);
	snprintf(label, sizeof(label), "child '%s'",
		 cJSON_IsString(id) ? id->valuestring : "?");
	if (!cJSON_IsString(id) || !*id->valuestring)
		return molt_err_set(err, MOLT_EINVAL,
				    "children[%zu] has no \"id\" string", idx);
	if (!cJSON_IsString(mod) && !cJSON_IsObject(subspec))
		return molt_err_set(
			err, MOLT_EINVAL,
			"%s has neither \"module\" nor \"supervisor\"", label);
	c->restart = PERMANENT;
	if (rs &&
	    (!cJSON_IsString(rs) ||
	     (c->restart = lookup(molt__sup_restarts, 3, rs->valuestring)) < 0))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: restart must be permanent, transient "
				    "or temporary",
				    label);
	c->shutdown = subspec ? INFINITE : 5000;
	if (cJSON_IsString(sd) && strcmp(sd->valuestring, "brutal_kill") == 0)
		c->shutdown = BRUTAL;
	else if (cJSON_IsString(sd) && strcmp(sd->valuestring, "infinity") == 0)
		c->shutdown = INFINITE;
	else if (cJSON_IsNumber(sd) && sd->valuedouble >= 1 &&
		 sd->valuedouble < 86400000)
		c->shutdown = (int)sd->valuedouble;
	else if (sd)
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: shutdown must be ms >= 1, "
				    "\"brutal_kill\" or \"infinity\"",
				    label);
	c->id = molt_strdup(id->valuestring);
	c->module = subspec ? molt_strdup("supervisor")
			    : molt_strdup(mod->valuestring);
	c->name = dup_or_null(cJSON_GetObjectItem(j, "name"));
	if (!c->id || !c->module)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	return parse_args(c, subspec ? subspec : cJSON_GetObjectItem(j, "args"),
			  err);
}

static int parse_head(sup *s, const cJSON *j, molt_err *err)
{
	const cJSON *st = cJSON_GetObjectItem(j, "strategy");
	const cJSON *in = cJSON_GetObjectItem(j, "intensity");
	const cJSON *pe = cJSON_GetObjectItem(j, "period");

	if (!cJSON_IsObject(j))
		return molt_err_set(err, MOLT_EINVAL,
				    "supervisor spec is not an object");
	s->strategy = ONE_FOR_ONE;
	if (st && (!cJSON_IsString(st) ||
		   (s->strategy = lookup(molt__sup_strategies, 4,
					 st->valuestring)) < 0))
		return molt_err_set(err, MOLT_EINVAL,
				    "unknown strategy (one_for_one, "
				    "one_for_all, rest_for_one, "
				    "simple_one_for_one)");
	s->intensity = 3;
	if (in && (!cJSON_IsNumber(in) || in->valuedouble < 0 ||
		   in->valuedouble > 100000))
		return molt_err_set(err, MOLT_EINVAL,
				    "intensity must be a number >= 0");
	if (in)
		s->intensity = (int)in->valuedouble;
	s->period_ms = 5000;
	if (pe && (!cJSON_IsNumber(pe) || pe->valuedouble <= 0 ||
		   pe->valuedouble > 86400))
		return molt_err_set(err, MOLT_EINVAL,
				    "period must be seconds > 0");
	if (pe)
		s->period_ms = (uint64_t)(pe->valuedouble * 1000);
	s->name = dup_or_null(cJSON_GetObjectItem(j, "name"));
	s->times = molt_calloc((size_t)s->intensity + 1, sizeof(*s->times));
	return s->times ? MOLT_OK
			: molt_err_set(err, MOLT_ENOMEM, "out of memory");
}

static int parse_children(sup *s, const cJSON *kids, molt_err *err)
{
	size_t n = (size_t)cJSON_GetArraySize(kids), i = 0;
	const cJSON *k;

	if (kids && !cJSON_IsArray(kids))
		return molt_err_set(err, MOLT_EINVAL,
				    "\"children\" must be an array");
	if (s->strategy == SIMPLE_ONE_FOR_ONE && n != 1)
		return molt_err_set(err, MOLT_EINVAL,
				    "simple_one_for_one needs exactly one "
				    "child spec");
	if (s->strategy == SIMPLE_ONE_FOR_ONE)
		return parse_child(&s->tmpl, cJSON_GetArrayItem(kids, 0), 0,
				   err);
	s->kids = molt_calloc(n ? n : 1, sizeof(*s->kids));
	if (!s->kids)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	s->cap = n ? n : 1;
	cJSON_ArrayForEach(k, kids)
	{
		int rc = parse_child(&s->kids[i], k, i, err);

		s->n = ++i;
		if (rc < 0)
			return rc;
		for (size_t j = 0; j + 1 < i; j++)
			if (strcmp(s->kids[j].id, s->kids[i - 1].id) == 0)
				return molt_err_set(err, MOLT_EINVAL,
						    "duplicate child id '%s'",
						    s->kids[j].id);
	}
	return MOLT_OK;
}

int molt__sup_spec_parse(sup **out, const char *text, size_t len, molt_err *err)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	sup *s = molt_calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		cJSON_Delete(j);
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	}
	if (!j) {
		molt__sup_free(s);
		return molt_err_set(err, MOLT_EPARSE,
				    "supervisor spec is not valid JSON");
	}
	rc = parse_head(s, j, err);
	if (rc == MOLT_OK)
		rc = parse_children(s, cJSON_GetObjectItem(j, "children"), err);
	cJSON_Delete(j);
	if (rc < 0) {
		molt__sup_free(s);
		return rc;
	}
	*out = s;
	return MOLT_OK;
}
