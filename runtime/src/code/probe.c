/* A module's descriptor read in a child process (molt-probe), for a dry
 * run: no code of the module runs in the node. */
#include "molt/probe.h"

#include <stdlib.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/log.h"

#include "core/version.h"
#include "modtab.h"

#include "molt/banned.h"

/* The descriptor a probe reported, owned by its version (free_desc). */
typedef struct probed {
	molt_module m;	      /* what the checks read (callbacks: traps) */
	molt_probe_desc d;    /* what molt-probe said: m's strings */
	molt_export *exports; /* m.exports, NULL-terminated */
} probed;

/*
 * A probed version is never run: the evaluator only reads descriptors in
 * a dry run. Should anything call one of its callbacks, the trap says so
 * and fails the call instead of jumping nowhere.
 */
static void trapped(const char *what)
{
	molt_log(MOLT_LOG_ERROR, "probe",
		 "%s of a probed (not loaded) module called", what);
}

static int trap_init(molt_ctx *c, const void *a, size_t l, void **s)
{
	(void)c, (void)a, (void)l, (void)s;
	trapped("init");
	return -1;
}

static int trap_call(molt_ctx *c, const molt_msg *m, molt_from f, void **s)
{
	(void)c, (void)m, (void)f, (void)s;
	trapped("handle_call");
	return -1;
}

static int trap_msg(molt_ctx *c, const molt_msg *m, void **s)
{
	(void)c, (void)m, (void)s;
	trapped("handle_cast/handle_info");
	return -1;
}

static void trap_terminate(molt_ctx *c, const char *r, void *s)
{
	(void)c, (void)r, (void)s;
	trapped("terminate");
}

static int trap_change(molt_ctx *c, const molt_vsn_change *v, const void *o,
		       const char *x, void **n)
{
	(void)c, (void)v, (void)o, (void)x, (void)n;
	trapped("code_change");
	return -1;
}

static void trap_free(molt_ctx *c, void *s)
{
	(void)c, (void)s;
	trapped("free_state");
}

static size_t trap_format(const void *s, char *b, size_t n)
{
	(void)s, (void)b, (void)n;
	trapped("format_state");
	return 0;
}

static int trap_export(molt_ctx *c, const char *a)
{
	(void)c, (void)a;
	trapped("an export");
	return -1;
}

static void set_callbacks(molt_module *m, unsigned cb)
{
	m->init = cb & MOLT_PROBE_INIT ? trap_init : NULL;
	m->handle_call = cb & MOLT_PROBE_HANDLE_CALL ? trap_call : NULL;
	m->handle_cast = cb & MOLT_PROBE_HANDLE_CAST ? trap_msg : NULL;
	m->handle_info = cb & MOLT_PROBE_HANDLE_INFO ? trap_msg : NULL;
	m->terminate = cb & MOLT_PROBE_TERMINATE ? trap_terminate : NULL;
	m->code_change = cb & MOLT_PROBE_CODE_CHANGE ? trap_change : NULL;
	m->free_state = cb & MOLT_PROBE_FREE_STATE ? trap_free : NULL;
	m->format_state = cb & MOLT_PROBE_FORMAT_STATE ? trap_format : NULL;
}

static void probed_free(const molt_module *m)
{
	probed *p = (probed *)m; /* m is p's first member */

	molt_probe_desc_release(&p->d);
	molt_free(p->exports);
	molt_free(p);
}

/* p->m from what the probe said (p->d). */
static int fill_module(probed *p)
{
	p->exports = molt_calloc(p->d.nexports + 1, sizeof(*p->exports));
	if (!p->exports)
		return MOLT_ENOMEM;
	for (size_t i = 0; i < p->d.nexports; i++) {
		p->exports[i].name = p->d.exports[i];
		p->exports[i].fn = trap_export;
	}
	p->m.abi = p->d.abi;
	p->m.behaviour = p->d.behaviour;
	p->m.state_vsn = p->d.state_vsn;
	p->m.name = p->d.name;
	p->m.vsn = p->d.vsn;
	p->m.exports = p->exports;
	set_callbacks(&p->m, p->d.callbacks);
	return MOLT_OK;
}

/* A dry run reports a file that would not load, as a load would. */
static int check_sum(const char *path, const char *want_sum, molt_err *err)
{
	int fd, rc = molt__file_verified(&fd, path, want_sum, err);

	if (fd >= 0)
		close(fd);
	return rc;
}

molt__version *molt__version_probe(const char *path, const char *expect,
				   const char *want_sum, molt_err *err)
{
	probed *p = molt_calloc(1, sizeof(*p));
	molt__version *v = NULL;

	if (!p) {
		molt_err_set(err, MOLT_ENOMEM, "out of memory");
		return NULL;
	}
	if (want_sum && check_sum(path, want_sum, err) < 0)
		goto fail;
	if (molt_probe_read(&p->d, path, err) < 0)
		goto fail;
	if (fill_module(p) < 0 ||
	    molt__desc_check(&p->m, path, expect, err) < 0 ||
	    !(v = molt_calloc(1, sizeof(*v))) ||
	    !(v->path = molt_strdup(path))) {
		if (!err || !err->code)
			molt_err_set(err, MOLT_ENOMEM, "out of memory");
		molt_free(v);
		v = NULL;
		goto fail;
	}
	atomic_init(&v->refs, 1);
	v->desc = &p->m;
	v->free_desc = probed_free;
	return v;
fail:
	probed_free(&p->m);
	return NULL;
}
