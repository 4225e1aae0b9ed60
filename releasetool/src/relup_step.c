/* The relup step of `molt build --relup-from` (see relup_step.h). */
#include "relup_step.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

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
#ifdef MOLT_HAVE_APPUP
	/* NEEDSWORK: call the appup library's relup compiler here (release
	 * and app.json of each root are in place); it was not on main when
	 * this was written. */
	return molt_err_set(err, MOLT_ERROR,
			    "relup compilation: the appup library is linked "
			    "but not wired yet (releasetool/src/relup_step.c)");
#else
	return molt_err_set(err, MOLT_ERROR,
			    "relup compilation needs the appup library "
			    "(issue 4)");
#endif
}
