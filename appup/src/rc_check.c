/* Instruction syntax and value domains (systools_rc check_op). */
#include <string.h>

#include "rc.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

const char *molt__rc_name(const molt_term *t)
{
	static _Thread_local char name[96];
	molt_buf b = MOLT_BUF_INIT;

	if (molt_term_print(&b, t) < 0) {
		molt_buf_release(&b);
		return "?";
	}
	if (b.len >= sizeof(name)) {
		memcpy(name, b.ptr, sizeof(name) - 4);
		memcpy(name + sizeof(name) - 4, "...", 4);
	} else {
		memcpy(name, b.ptr, b.len + 1);
	}
	molt_buf_release(&b);
	return name;
}

static molt_term *el(const molt_term *t, size_t i)
{
	return t->u.seq.items[i - 1];
}

/* {Tag, X} as the reason, with a message "bad ...: X (expected ...)". */
static int bad(rc_ctx *c, const char *tag, const molt_term *x, const char *what,
	       const char *expect)
{
	molt_term *r = molt_term_tuple(c->out, 2, molt__rc_atom(c, tag, x->pos),
				       (molt_term *)x);

	if (!r)
		return molt__rc_oom(c);
	return molt__rc_fail(c, x->pos, r, "bad %s %s (expected %s)", what,
			     molt__rc_name(x), expect);
}

static int check_atom(rc_ctx *c, const molt_term *x, const char *tag,
		      const char *what)
{
	if (x->kind == MOLT_TERM_ATOM)
		return 0;
	return bad(c, tag, x, what, "an atom");
}

static int check_mod(rc_ctx *c, const molt_term *x)
{
	return check_atom(c, x, "bad_module", "module");
}

static int check_list(rc_ctx *c, const molt_term *x)
{
	if (molt_term_is_list(x))
		return 0;
	return bad(c, "bad_list", x, "list", "a list");
}

static int check_mods(rc_ctx *c, const molt_term *list)
{
	size_t i, n;
	int rc;

	if ((rc = check_list(c, list)) < 0)
		return rc;
	n = molt_term_list_len(list);
	for (i = 0; i < n; i++) {
		molt_term *m = molt_term_list_at(c->out, list, i);

		if (!m)
			return molt__rc_oom(c);
		if ((rc = check_mod(c, m)) < 0)
			return rc;
	}
	return 0;
}

static int check_change(rc_ctx *c, const molt_term *x)
{
	if (molt_term_is_atom(x, "soft") ||
	    molt_term_is_tagged(x, "advanced", 2))
		return 0;
	return bad(c, "bad_change", x, "change", "soft or {advanced, Extra}");
}

static int check_purge(rc_ctx *c, const molt_term *x)
{
	if (molt_term_is_atom(x, "soft_purge") ||
	    molt_term_is_atom(x, "brutal_purge"))
		return 0;
	return bad(c, "bad_purge_method", x, "purge method",
		   "soft_purge or brutal_purge");
}

static int check_timeout(rc_ctx *c, const molt_term *x)
{
	if (molt_term_is_atom(x, "default") ||
	    molt_term_is_atom(x, "infinity") ||
	    (x->kind == MOLT_TERM_INT && x->u.i > 0))
		return 0;
	return bad(c, "bad_timeout", x, "timeout",
		   "default, infinity or an integer > 0");
}

static int check_mod_type(rc_ctx *c, const molt_term *x)
{
	if (molt_term_is_atom(x, "static") || molt_term_is_atom(x, "dynamic"))
		return 0;
	return bad(c, "bad_mod_type", x, "module type", "static or dynamic");
}

static int check_start_type(rc_ctx *c, const molt_term *x)
{
	static const char *const types[] = {"none", "load", "temporary",
					    "transient", "permanent"};
	size_t i;

	for (i = 0; i < 5; i++)
		if (molt_term_is_atom(x, types[i]))
			return 0;
	return bad(c, "bad_start_type", x, "start type",
		   "permanent, transient, temporary, load or none");
}

/* update in its 6-, 7- and 8-element forms. */
static int check_update(rc_ctx *c, const molt_term *i)
{
	size_t n = i->u.seq.n, k = 3;
	int rc;

	if ((rc = check_mod(c, el(i, 2))) < 0)
		return rc;
	if (n == 8 && (rc = check_mod_type(c, el(i, k++))) < 0)
		return rc;
	if (n >= 7 && (rc = check_timeout(c, el(i, k++))) < 0)
		return rc;
	if ((rc = check_change(c, el(i, k))) < 0 ||
	    (rc = check_purge(c, el(i, k + 1))) < 0 ||
	    (rc = check_purge(c, el(i, k + 2))) < 0)
		return rc;
	return check_mods(c, el(i, k + 3));
}

static int check_mfa(rc_ctx *c, const molt_term *mfa)
{
	int rc;

	if ((rc = check_mod(c, el(mfa, 1))) < 0 ||
	    (rc = check_atom(c, el(mfa, 2), "bad_func", "function")) < 0)
		return rc;
	if (molt_term_is_list(el(mfa, 3)))
		return 0;
	return bad(c, "bad_args_list", el(mfa, 3), "argument list", "a list");
}

static int check_suspend(rc_ctx *c, const molt_term *list)
{
	size_t i, n;
	int rc;

	if ((rc = check_list(c, list)) < 0)
		return rc;
	n = molt_term_list_len(list);
	for (i = 0; i < n; i++) {
		molt_term *m = molt_term_list_at(c->out, list, i);

		if (!m)
			return molt__rc_oom(c);
		if (m->kind == MOLT_TERM_TUPLE && m->u.seq.n == 2)
			rc = check_mod(c, el(m, 1)) < 0
				     ? -1
				     : check_timeout(c, el(m, 2));
		else
			rc = check_mod(c, m);
		if (rc < 0)
			return c->err ? c->err->code : MOLT_EPARSE;
	}
	return 0;
}

static int check_code_change(rc_ctx *c, const molt_term *list)
{
	size_t i, n;
	int rc;

	if ((rc = check_list(c, list)) < 0)
		return rc;
	n = molt_term_list_len(list);
	for (i = 0; i < n; i++) {
		molt_term *m = molt_term_list_at(c->out, list, i);

		if (!m)
			return molt__rc_oom(c);
		if (m->kind == MOLT_TERM_TUPLE && m->u.seq.n == 2)
			rc = check_mod(c, el(m, 1));
		else
			rc = bad(c, "bad_code_change", m, "code_change item",
				 "{Mod, Extra}");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_lib(rc_ctx *c, const molt_term *x)
{
	int rc;

	if (x->kind != MOLT_TERM_TUPLE || x->u.seq.n != 3)
		return 1;
	if ((rc = check_atom(c, el(x, 1), "bad_lib", "library")) < 0)
		return rc;
	if (!molt_term_is_list(el(x, 2)))
		return bad(c, "bad_lib_vsn", el(x, 2), "library version",
			   "a string");
	return check_mods(c, el(x, 3));
}

static int check_purge_triple(rc_ctx *c, const molt_term *x)
{
	int rc;

	if (x->kind != MOLT_TERM_TUPLE || x->u.seq.n != 3)
		return 1;
	if ((rc = check_mod(c, el(x, 1))) < 0 ||
	    (rc = check_purge(c, el(x, 2))) < 0)
		return rc;
	return check_purge(c, el(x, 3));
}

static int is_mfa(const molt_term *x)
{
	return x->kind == MOLT_TERM_TUPLE && x->u.seq.n == 3;
}

/* Instructions that are atoms. 1: not one of them. */
static int check_atom_op(rc_ctx *c, const molt_term *i)
{
	static const char *const ok[] = {
		"restart", "reboot", "point_of_no_return",
		"restart_new_emulator", "restart_emulator"};
	size_t k;

	if (molt_term_is_atom(i, "mnesia_backup"))
		return molt__rc_fail(
			c, i->pos,
			molt_term_tuple(
				c->out, 2,
				molt__rc_atom(c, "not_yet_implemented", i->pos),
				(molt_term *)i),
			"mnesia_backup is not implemented");
	for (k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
		if (molt_term_is_atom(i, ok[k]))
			return 0;
	return 1;
}

/* Module-level and application instructions. 1: not one of them. */
static int check_high_op(rc_ctx *c, const molt_term *i, size_t n)
{
	if (molt_term_is_tagged(i, "update", n) && n >= 6 && n <= 8)
		return check_update(c, i);
	if (molt_term_is_tagged(i, "load_module", 5)) {
		int rc;

		if ((rc = check_mod(c, el(i, 2))) < 0 ||
		    (rc = check_purge(c, el(i, 3))) < 0 ||
		    (rc = check_purge(c, el(i, 4))) < 0)
			return rc;
		return check_mods(c, el(i, 5));
	}
	if ((molt_term_is_tagged(i, "add_module", n) ||
	     molt_term_is_tagged(i, "delete_module", n)) &&
	    (n == 2 || n == 3)) {
		int rc = check_mod(c, el(i, 2));

		return rc < 0 || n == 2 ? rc : check_mods(c, el(i, 3));
	}
	if (molt_term_is_tagged(i, "remove_application", 2) ||
	    molt_term_is_tagged(i, "restart_application", 2))
		return check_atom(c, el(i, 2), "bad_application",
				  "application");
	if (molt_term_is_tagged(i, "add_application", 3)) {
		int rc = check_atom(c, el(i, 2), "bad_application",
				    "application");

		return rc < 0 ? rc : check_start_type(c, el(i, 3));
	}
	return 1;
}

static int check_sync_nodes(rc_ctx *c, const molt_term *x)
{
	size_t k, n;
	int rc;

	if (is_mfa(x))
		return check_mfa(c, x);
	if ((rc = check_list(c, x)) < 0)
		return rc;
	n = molt_term_list_len(x);
	for (k = 0; k < n; k++) {
		molt_term *node = molt_term_list_at(c->out, x, k);

		if (!node)
			return molt__rc_oom(c);
		if ((rc = check_atom(c, node, "bad_node", "node")) < 0)
			return rc;
	}
	return 0;
}

/* Low-level instructions. 1: not one of them. */
static int check_low_op(rc_ctx *c, const molt_term *i, size_t n)
{
	if (molt_term_is_tagged(i, "load_object_code", 2))
		return check_lib(c, el(i, 2));
	if (molt_term_is_tagged(i, "load", 2) ||
	    molt_term_is_tagged(i, "remove", 2))
		return check_purge_triple(c, el(i, 2));
	if (molt_term_is_tagged(i, "purge", 2) ||
	    molt_term_is_tagged(i, "resume", 2) ||
	    molt_term_is_tagged(i, "stop", 2) ||
	    molt_term_is_tagged(i, "start", 2))
		return check_mods(c, el(i, 2));
	if (molt_term_is_tagged(i, "suspend", 2))
		return check_suspend(c, el(i, 2));
	if (molt_term_is_tagged(i, "code_change", 2))
		return check_code_change(c, el(i, 2));
	if (molt_term_is_tagged(i, "code_change", 3)) {
		int rc = check_list(c, el(i, 3));

		if (rc < 0)
			return rc;
		if (!molt_term_is_atom(el(i, 2), "up") &&
		    !molt_term_is_atom(el(i, 2), "down"))
			return bad(c, "bad_mode", el(i, 2), "mode",
				   "up or down");
		return check_code_change(c, el(i, 3));
	}
	if (molt_term_is_tagged(i, "sync_nodes", 3))
		return check_sync_nodes(c, el(i, 3));
	if (molt_term_is_tagged(i, "apply", 2) && is_mfa(el(i, 2)))
		return check_mfa(c, el(i, 2));
	(void)n;
	return 1;
}

int molt__rc_check_op(rc_ctx *c, const molt_term *ins)
{
	size_t n = ins->kind == MOLT_TERM_TUPLE ? ins->u.seq.n : 0;
	int rc;

	if (ins->kind == MOLT_TERM_ATOM)
		rc = check_atom_op(c, ins);
	else if ((rc = check_high_op(c, ins, n)) == 1)
		rc = check_low_op(c, ins, n);
	if (rc <= 0)
		return rc;
	return molt__rc_fail(
		c, ins->pos,
		molt_term_tuple(c->out, 2,
				molt__rc_atom(c, "bad_instruction", ins->pos),
				(molt_term *)ins),
		"unknown instruction or bad arity: %s", molt__rc_name(ins));
}

int molt__rc_check_syntax(rc_ctx *c, const vec *script)
{
	size_t i;
	int rc;

	for (i = 0; i < script->n; i++)
		if ((rc = molt__rc_check_op(c, script->v[i])) < 0)
			return rc;
	return 0;
}
