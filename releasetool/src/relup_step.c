/* The relup step of `molt build --relup-from` (see relup_step.h). */
#include "relup_step.h"

#ifdef MOLT_HAVE_APPUP
#include "molt/buf.h"
#include "molt/relup.h"

#include "appup_gen.h"
#endif

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#ifdef MOLT_HAVE_APPUP
/* Load each from-root; on failure free what was loaded. */
static int load_froms(molt_release **rels, const char *const *roots, size_t n,
		      molt_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = molt_release_load(&rels[i], roots[i], err);

		if (rc < 0) {
			while (i > 0)
				molt_release_free(rels[--i]);
			return rc;
		}
	}
	return MOLT_OK;
}

int molt__build_relup(char **out, const char *to_root, const char *to_vsn,
		      const char *const *from_roots,
		      const char *const *from_vsns, size_t nfrom, molt_err *err)
{
	molt_relup_opts opts = MOLT_RELUP_OPTS_INIT;
	molt_buf buf = MOLT_BUF_INIT;
	molt_release *to = NULL;
	molt_release **from;
	int rc;

	(void)to_vsn;
	(void)from_vsns;
	*out = NULL;
	from = molt_calloc(nfrom ? nfrom : 1, sizeof(*from));
	if (!from)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if ((rc = molt_release_load(&to, to_root, err)) < 0)
		goto out_free_array;
	if ((rc = load_froms(from, from_roots, nfrom, err)) < 0)
		goto out_free_to;
	opts.to = to;
	opts.from = (const molt_release *const *)from;
	opts.nfrom = nfrom;
	rc = molt_relup_build(&buf, &opts, err);
	if (rc == MOLT_OK && !(*out = molt_buf_detach(&buf)))
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	molt_buf_release(&buf);
	for (size_t i = 0; i < nfrom; i++)
		molt_release_free(from[i]);
out_free_to:
	molt_release_free(to);
out_free_array:
	molt_free(from);
	return rc;
}

int molt__build_gen_appup(molt_buf *out, size_t *nentries, const char *to_app,
			  const char *const *from_apps, size_t nfrom,
			  molt_err *err)
{
	molt_arena *a = molt_arena_new();
	molt_appinfo *apps = molt_calloc(nfrom + 1, sizeof(*apps));
	const molt_appinfo **from = molt_calloc(nfrom + 1, sizeof(*from));
	int rc = a && apps && from
			 ? MOLT_OK
			 : molt_err_set(err, MOLT_ENOMEM, "out of memory");

	*nentries = 0;
	if (rc == MOLT_OK)
		rc = molt_app_load(&apps[nfrom], a, to_app, err);
	for (size_t i = 0; rc == MOLT_OK && i < nfrom; i++) {
		rc = molt_app_load(&apps[i], a, from_apps[i], err);
		from[i] = &apps[i];
	}
	if (rc == MOLT_OK)
		rc = molt__appup_gen_many(out, nentries, &apps[nfrom], from,
					  nfrom, 0, err);
	molt_free(from);
	molt_free(apps);
	molt_arena_free(a);
	return rc;
}
#else
int molt__build_gen_appup(molt_buf *out, size_t *nentries, const char *to_app,
			  const char *const *from_apps, size_t nfrom,
			  molt_err *err)
{
	(void)out;
	(void)to_app;
	(void)from_apps;
	(void)nfrom;
	*nentries = 0;
	return molt_err_set(err, MOLT_ERROR,
			    "appup generation needs the appup library "
			    "(issue 4)");
}

int molt__build_relup(char **out, const char *to_root, const char *to_vsn,
		      const char *const *from_roots,
		      const char *const *from_vsns, size_t nfrom, molt_err *err)
{
	(void)to_root;
	(void)to_vsn;
	(void)from_roots;
	(void)from_vsns;
	(void)nfrom;
	*out = NULL;
	return molt_err_set(err, MOLT_ERROR,
			    "relup compilation needs the appup library "
			    "(issue 4)");
}
#endif
