/* Dependency groups and their low-level form (systools_rc
 * translate_dependent_instrs). */
#include <string.h>

#include "rc.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

static molt_term *el(const molt_term *t, size_t i)
{
	return t->u.seq.items[i - 1];
}

/* ---- dependency graph ---- */

/* One vertex: a dependent instruction. */
typedef struct vtx {
	molt_term *ins; /* the instruction */
	molt_term *mod; /* its module (an atom) */
	size_t *deps;	/* indexes of the modules it depends on */
	size_t ndeps;	/* number of deps */
	size_t comp;	/* weak component (union-find parent first) */
	size_t scc;	/* strong component */
	size_t index;	/* Tarjan: discovery index + 1, 0 if unvisited */
	size_t low;	/* Tarjan: lowlink */
	int on_stack;	/* Tarjan */
	int done;	/* emitted */
} vtx;

/* One strong component. */
typedef struct scc {
	size_t first; /* its earliest vertex (script order) */
	size_t indeg; /* edges into it from other, remaining components */
	int done;     /* emitted */
} scc;

typedef struct graph {
	vtx *v;		 /* vertices in script order */
	size_t n;	 /* number of vertices */
	long *hash;	 /* open addressing: vertex index or -1 */
	size_t hsize;	 /* slots in hash (a power of two) */
	size_t *stack;	 /* Tarjan's stack */
	size_t sp;	 /* its depth */
	size_t next;	 /* next Tarjan index */
	scc *s;		 /* strong components */
	size_t nscc;	 /* strong components found */
	size_t *members; /* vertices grouped by weak component, script order */
	size_t *mstart;	 /* per component root: its first index in members */
	size_t *mcount;	 /* per component root: its number of members */
} graph;

static int is_dep_instr(const molt_term *i)
{
	return i->kind == MOLT_TERM_TUPLE && i->u.seq.n > 1 &&
	       (molt_term_is_atom(el(i, 1), "update") ||
		molt_term_is_atom(el(i, 1), "load_module") ||
		molt_term_is_atom(el(i, 1), "add_module") ||
		molt_term_is_atom(el(i, 1), "delete_module"));
}

size_t molt__rc_hash_atom(const molt_term *t)
{
	size_t h = 5381, i;

	for (i = 0; i < t->u.str.len; i++)
		h = h * 33 + (unsigned char)t->u.str.s[i];
	return h;
}

/* The slot of mod in the hash: its vertex, or an empty slot. */
static size_t slot_of(const graph *g, const molt_term *mod)
{
	size_t h = molt__rc_hash_atom(mod) & (g->hsize - 1);

	while (g->hash[h] >= 0 && !molt_term_equal(g->v[g->hash[h]].mod, mod))
		h = (h + 1) & (g->hsize - 1);
	return h;
}

static long find_vertex(const graph *g, const molt_term *mod)
{
	if (mod->kind != MOLT_TERM_ATOM)
		return -1;
	return g->hash[slot_of(g, mod)];
}

static int add_vertices(rc_ctx *c, graph *g, const vec *after)
{
	size_t i;

	g->v = molt_arena_alloc(c->tmp, (after->n + 1) * sizeof(vtx));
	for (g->hsize = 16; g->hsize < 2 * after->n + 2;)
		g->hsize *= 2;
	g->hash = molt_arena_alloc(c->tmp, g->hsize * sizeof(long));
	if (!g->v || !g->hash)
		return molt__rc_oom(c);
	memset(g->hash, 0xff, g->hsize * sizeof(long));
	for (i = 0; i < after->n; i++) {
		molt_term *ins = after->v[i], *mod;
		size_t h;

		if (!is_dep_instr(ins))
			continue;
		mod = el(ins, 2);
		h = slot_of(g, mod);
		if (g->hash[h] >= 0)
			return molt__rc_fail(
				c, mod->pos,
				molt_term_tuple(c->out, 2,
						molt__rc_atom(c,
							      "muldef_module",
							      mod->pos),
						mod),
				"module %s has more than one instruction",
				molt__rc_name(mod));
		g->hash[h] = (long)g->n;
		g->v[g->n].ins = ins;
		g->v[g->n].mod = mod;
		g->v[g->n].comp = g->n;
		g->n++;
	}
	return 0;
}

static int undef(rc_ctx *c, molt_term *d, const molt_term *mod)
{
	return molt__rc_fail(
		c, d->pos,
		molt_term_tuple(c->out, 2,
				molt__rc_atom(c, "undef_module", d->pos), d),
		"undefined module %s: named in DepMods of %s but has no "
		"instruction of its own",
		molt__rc_name(d), mod->u.str.s);
}

static size_t find_root(graph *g, size_t i)
{
	while (g->v[i].comp != i) {
		g->v[i].comp = g->v[g->v[i].comp].comp;
		i = g->v[i].comp;
	}
	return i;
}

static int add_edges(rc_ctx *c, graph *g)
{
	size_t i, k, n;

	for (i = 0; i < g->n; i++) {
		const molt_term *ins = g->v[i].ins;
		const molt_term *mods = el(ins, ins->u.seq.n);

		n = molt_term_list_len(mods);
		g->v[i].deps =
			molt_arena_alloc(c->tmp, (n + 1) * sizeof(size_t));
		if (!g->v[i].deps)
			return molt__rc_oom(c);
		for (k = 0; k < n; k++) {
			molt_term *d = molt_term_list_at(c->out, mods, k);
			long j;

			if (!d)
				return molt__rc_oom(c);
			if ((j = find_vertex(g, d)) < 0 && c->check_only &&
			    c->app_instrs)
				continue; /* may be a module of that app */
			if (j < 0)
				return undef(c, d, g->v[i].mod);
			g->v[i].deps[g->v[i].ndeps++] = (size_t)j;
			g->v[find_root(g, i)].comp = find_root(g, (size_t)j);
		}
	}
	for (i = 0; i < g->n; i++)
		g->v[i].comp = find_root(g, i);
	return 0;
}

/* Tarjan's strong components, iterative over deps. */
static void strong_connect(graph *g, size_t root, size_t *work)
{
	size_t top = 0, *pos = work + g->n;

	work[top] = root;
	pos[root] = 0;
	g->v[root].index = g->v[root].low = ++g->next;
	g->stack[g->sp++] = root;
	g->v[root].on_stack = 1;
	while (top != (size_t)-1) {
		size_t u = work[top];
		vtx *vu = &g->v[u];

		if (pos[u] < vu->ndeps) {
			size_t w = vu->deps[pos[u]++];

			if (!g->v[w].index) {
				g->v[w].index = g->v[w].low = ++g->next;
				g->stack[g->sp++] = w;
				g->v[w].on_stack = 1;
				pos[w] = 0;
				work[++top] = w;
			} else if (g->v[w].on_stack &&
				   g->v[w].index < vu->low) {
				vu->low = g->v[w].index;
			}
			continue;
		}
		if (vu->low == vu->index) {
			size_t w;

			do {
				w = g->stack[--g->sp];
				g->v[w].on_stack = 0;
				g->v[w].scc = g->nscc;
			} while (w != u);
			g->nscc++;
		}
		top--;
		if (top != (size_t)-1 && vu->low < g->v[work[top]].low)
			g->v[work[top]].low = vu->low;
	}
}

/* Components, their earliest vertex and their in-degrees. */
static int strong_components(rc_ctx *c, graph *g)
{
	size_t i, k, *work;

	g->stack = molt_arena_alloc(c->tmp, (g->n + 1) * sizeof(size_t));
	work = molt_arena_alloc(c->tmp, (2 * g->n + 1) * sizeof(size_t));
	g->s = molt_arena_alloc(c->tmp, (g->n + 1) * sizeof(scc));
	if (!g->stack || !work || !g->s)
		return molt__rc_oom(c);
	for (i = 0; i < g->n; i++)
		if (!g->v[i].index)
			strong_connect(g, i, work);
	for (i = g->n; i-- > 0;)
		g->s[g->v[i].scc].first = i;
	for (i = 0; i < g->n; i++)
		for (k = 0; k < g->v[i].ndeps; k++)
			if (g->v[g->v[i].deps[k]].scc != g->v[i].scc)
				g->s[g->v[g->v[i].deps[k]].scc].indeg++;
	return 0;
}

/* Emit strong component s: its vertices in script order. */
static int emit_scc(rc_ctx *c, graph *g, size_t comp, size_t s, vec *out,
		    vec *mods)
{
	size_t j, k, *m = g->members + g->mstart[comp];
	int rc;

	g->s[s].done = 1;
	for (j = 0; j < g->mcount[comp]; j++) {
		vtx *v = &g->v[m[j]];

		if (v->scc != s)
			continue;
		v->done = 1;
		if ((rc = molt__vec_push(c, out, v->ins)) < 0 ||
		    (rc = molt__vec_push(c, mods, v->mod)) < 0)
			return rc;
		for (k = 0; k < v->ndeps; k++)
			if (g->v[v->deps[k]].scc != s)
				g->s[g->v[v->deps[k]].scc].indeg--;
	}
	return 0;
}

/* Members of each weak component, in script order (a counting sort). */
static int group_members(rc_ctx *c, graph *g)
{
	size_t i, *fill;

	g->members = molt_arena_alloc(c->tmp, (g->n + 1) * sizeof(size_t));
	g->mstart = molt_arena_alloc(c->tmp, (g->n + 1) * sizeof(size_t));
	g->mcount = molt_arena_alloc(c->tmp, (g->n + 1) * sizeof(size_t));
	fill = molt_arena_alloc(c->tmp, (g->n + 1) * sizeof(size_t));
	if (!g->members || !g->mstart || !g->mcount || !fill)
		return molt__rc_oom(c);
	for (i = 0; i < g->n; i++)
		g->mcount[g->v[i].comp]++;
	for (i = 1; i < g->n; i++)
		g->mstart[i] = g->mstart[i - 1] + g->mcount[i - 1];
	for (i = 0; i < g->n; i++)
		g->members[g->mstart[g->v[i].comp] + fill[g->v[i].comp]++] = i;
	return 0;
}

/*
 * The group's instructions in dependency order (OTP's topsort of the
 * condensation), with molt's tie-break: of the components nothing left
 * depends on, the one holding the earliest instruction goes first.
 */
static int group_order(rc_ctx *c, graph *g, size_t comp, vec *out)
{
	vec sccs = VEC_INIT, members;
	size_t j, *m = g->members + g->mstart[comp];
	int rc;

	for (;;) {
		long pick = -1;

		for (j = 0; j < g->mcount[comp] && pick < 0; j++) {
			const scc *s = &g->s[g->v[m[j]].scc];

			if (!s->done && s->indeg == 0)
				pick = (long)g->v[m[j]].scc;
		}
		if (pick < 0)
			break;
		members = (vec)VEC_INIT;
		if ((rc = emit_scc(c, g, comp, (size_t)pick, out, &members)) <
			    0 ||
		    (rc = molt__vec_push(c, &sccs,
					 molt__vec_to_list(c, &members))) < 0)
			return rc;
	}
	return molt__vec_push(c, &c->groups, molt__vec_to_list(c, &sccs));
}

/* ---- translate_dep_to_low ---- */

static molt_term *load_of(rc_ctx *c, const molt_term *ins)
{
	molt_pos p = ins->pos;
	molt_term *pre, *post, *t;

	if (molt_term_is_atom(el(ins, 1), "update")) {
		pre = el(ins, 6);
		post = el(ins, 7);
	} else {
		pre = el(ins, 3);
		post = el(ins, 4);
	}
	t = molt_term_tuple(c->out, 3, el(ins, 2), pre, post);
	return t ? molt_term_tuple(c->out, 2, molt__rc_atom(c, "load", p), t)
		 : NULL;
}

/* L items of one instruction: load, or remove + purge. */
static int load_remove(rc_ctx *c, const molt_term *ins, vec *out)
{
	molt_pos p = ins->pos;
	molt_term *bp, *mod, *t, *l;
	int rc;

	if (!molt_term_is_atom(el(ins, 1), "delete_module"))
		return molt__vec_push(c, out, load_of(c, ins));
	bp = molt__rc_atom(c, "brutal_purge", p);
	mod = el(ins, 2);
	t = molt_term_tuple(c->out, 3, mod, bp, bp);
	if ((rc = molt__vec_push(
		     c, out,
		     t ? molt_term_tuple(c->out, 2,
					 molt__rc_atom(c, "remove", p), t)
		       : NULL)) < 0)
		return rc;
	l = molt_term_seq(c->out, MOLT_TERM_LIST, &mod, 1);
	return molt__vec_push(
		c, out,
		l ? molt_term_tuple(c->out, 2, molt__rc_atom(c, "purge", p), l)
		  : NULL);
}

static size_t hash_str(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* Slot value: app index << 20 | module index, or -1. */
static const molt_modinfo *slot_mod(const rc_ctx *c, long v)
{
	return &c->opts->apps[v >> 20].mods[v & 0xfffff];
}

/* Index every module of opts->apps by name (the first app wins). */
static int index_modules(rc_ctx *c)
{
	const molt_rc_opts *o = c->opts;
	size_t i, k, n = 0, h;

	for (i = 0; i < o->napps; i++)
		n += o->apps[i].nmods;
	for (c->modsize = 16; c->modsize < 2 * n + 2;)
		c->modsize *= 2;
	c->modidx = molt_arena_alloc(c->tmp, c->modsize * sizeof(long));
	if (!c->modidx)
		return molt__rc_oom(c);
	memset(c->modidx, 0xff, c->modsize * sizeof(long));
	for (i = 0; i < o->napps; i++) {
		for (k = 0; k < o->apps[i].nmods && k < 0xfffff; k++) {
			const char *m = o->apps[i].mods[k].name;

			h = hash_str(m) & (c->modsize - 1);
			while (c->modidx[h] >= 0 &&
			       strcmp(slot_mod(c, c->modidx[h])->name, m) != 0)
				h = (h + 1) & (c->modsize - 1);
			if (c->modidx[h] < 0)
				c->modidx[h] = (long)(i << 20 | k);
		}
	}
	return 0;
}

/* The application owning mod, or -1 (OTP's get_lib). */
static long app_of(rc_ctx *c, const molt_term *mod)
{
	size_t h;

	if (mod->kind != MOLT_TERM_ATOM)
		return -1;
	h = hash_str(mod->u.str.s) & (c->modsize - 1);
	while (c->modidx[h] >= 0) {
		if (strcmp(slot_mod(c, c->modidx[h])->name, mod->u.str.s) == 0)
			return c->modidx[h] >> 20;
		h = (h + 1) & (c->modsize - 1);
	}
	return -1;
}

static int get_lib(rc_ctx *c, molt_term *mod, molt_pos p, molt_term **loc)
{
	const molt_rc_opts *o = c->opts;
	molt_term *l, *t;
	long i;
	int rc;

	if (!c->modidx && (rc = index_modules(c)) < 0)
		return rc;
	if ((i = app_of(c, mod)) < 0)
		return molt__rc_fail(
			c, mod->pos,
			molt_term_tuple(
				c->out, 2,
				molt__rc_atom(c, "no_such_module", mod->pos),
				mod),
			"no such module %s in any application of the %s "
			"release",
			molt__rc_name(mod), o->mode == MOLT_UP ? "new" : "old");
	l = molt_term_seq(c->out, MOLT_TERM_LIST, &mod, 1);
	t = molt_term_tuple(c->out, 3, molt__rc_atom(c, o->apps[i].name, p),
			    molt_term_string(c->out, o->apps[i].vsn), l);
	*loc = t ? molt_term_tuple(c->out, 2,
				   molt__rc_atom(c, "load_object_code", p), t)
		 : NULL;
	if (!*loc)
		return molt__rc_oom(c);
	(*loc)->pos = p;
	return 0;
}

static int is_update(const molt_term *i)
{
	return molt_term_is_tagged(i, "update", 8);
}

/* {code_change, Mode, [{M, Extra}]} for the updates picked by kind. */
static int code_change(rc_ctx *c, const vec *ins, const char *mode,
		       const char *modtype, vec *out)
{
	vec items = VEC_INIT;
	size_t i;
	int rc;

	for (i = 0; i < ins->n; i++) {
		const molt_term *u = ins->v[i];

		if (!is_update(u) ||
		    !molt_term_is_tagged(el(u, 5), "advanced", 2))
			continue;
		if (modtype && !molt_term_is_atom(el(u, 3), modtype))
			continue;
		if ((rc = molt__vec_push(c, &items,
					 molt_term_tuple(c->out, 2, el(u, 2),
							 el(el(u, 5), 2)))) < 0)
			return rc;
	}
	if (items.n == 0)
		return 0;
	return molt__vec_push(
		c, out,
		molt_term_tuple(
			c->out, 3,
			molt__rc_atom(c, "code_change", items.v[0]->pos),
			molt__rc_atom(c, mode, (molt_pos){0}),
			molt__vec_to_list(c, &items)));
}

static int suspend_resume(rc_ctx *c, const vec *ins, vec *sus, vec *res)
{
	vec s = VEC_INIT, r = VEC_INIT;
	size_t i;
	int rc;

	for (i = 0; i < ins->n; i++) {
		const molt_term *u = ins->v[i];
		molt_term *m;

		if (!is_update(u))
			continue;
		m = molt_term_is_atom(el(u, 4), "default")
			    ? el(u, 2)
			    : molt_term_tuple(c->out, 2, el(u, 2), el(u, 4));
		if ((rc = molt__vec_push(c, &s, m)) < 0)
			return rc;
	}
	for (i = s.n; i-- > 0;)
		if ((rc = molt__vec_push(c, &r,
					 s.v[i]->kind == MOLT_TERM_TUPLE
						 ? el(s.v[i], 1)
						 : s.v[i])) < 0)
			return rc;
	if (s.n == 0)
		return 0;
	if ((rc = molt__vec_push(
		     c, sus,
		     molt_term_tuple(c->out, 2,
				     molt__rc_atom(c, "suspend", (molt_pos){0}),
				     molt__vec_to_list(c, &s)))) < 0)
		return rc;
	return molt__vec_push(
		c, res,
		molt_term_tuple(c->out, 2,
				molt__rc_atom(c, "resume", (molt_pos){0}),
				molt__vec_to_list(c, &r)));
}

/* L in dependency order, or reversed per instruction (up). */
static int loads(rc_ctx *c, const vec *ins, int reversed, vec *out)
{
	size_t i, k;
	int rc;

	for (k = 0; k < ins->n; k++) {
		i = reversed ? ins->n - 1 - k : k;
		if ((rc = load_remove(c, ins->v[i], out)) < 0)
			return rc;
	}
	return 0;
}

static int dep_to_low(rc_ctx *c, const vec *ins, vec *before, vec *after)
{
	vec sus = VEC_INIT, res = VEC_INIT, l = VEC_INIT;
	size_t i;
	int rc;

	if ((rc = suspend_resume(c, ins, &sus, &res)) < 0 ||
	    (rc = loads(c, ins, 0, &l)) < 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		molt_term *loc;

		if (!molt_term_is_tagged(l.v[i], "load", 2))
			continue;
		if ((rc = get_lib(c, el(el(l.v[i], 2), 1), l.v[i]->pos, &loc)) <
			    0 ||
		    (rc = molt__vec_push(c, before, loc)) < 0)
			return rc;
	}
	if ((rc = molt__vec_append(c, after, &sus)) < 0)
		return rc;
	if (c->opts->mode == MOLT_UP) {
		if ((rc = loads(c, ins, 1, after)) < 0 ||
		    (rc = code_change(c, ins, "up", NULL, after)) < 0)
			return rc;
	} else {
		if ((rc = code_change(c, ins, "down", "dynamic", after)) < 0 ||
		    (rc = molt__vec_append(c, after, &l)) < 0 ||
		    (rc = code_change(c, ins, "down", "static", after)) < 0)
			return rc;
	}
	return molt__vec_append(c, after, &res);
}

static int build_graph(rc_ctx *c, graph *g, const vec *after)
{
	int rc;

	memset(g, 0, sizeof(*g));
	if ((rc = add_vertices(c, g, after)) < 0 ||
	    (rc = add_edges(c, g)) < 0 || (rc = strong_components(c, g)) < 0)
		return rc;
	return group_members(c, g);
}

int molt__rc_dependent_instrs(rc_ctx *c, const vec *before, const vec *after,
			      vec *before_out, vec *after_out)
{
	graph g;
	size_t i;
	long j;
	int rc;

	if ((rc = build_graph(c, &g, after)) < 0 ||
	    (rc = molt__vec_append(c, before_out, before)) < 0)
		return rc;
	for (i = 0; i < after->n; i++) {
		molt_term *ins = after->v[i];
		vec group = VEC_INIT;

		if (!is_dep_instr(ins)) {
			if ((rc = molt__vec_push(c, after_out, ins)) < 0)
				return rc;
			continue;
		}
		j = find_vertex(&g, el(ins, 2));
		if (j < 0 || g.v[j].done)
			continue;
		if ((rc = group_order(c, &g, g.v[j].comp, &group)) < 0)
			return rc;
		if (c->check_only)
			continue;
		if ((rc = dep_to_low(c, &group, before_out, after_out)) < 0)
			return rc;
	}
	return 0;
}
