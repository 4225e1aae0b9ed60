/* One appup from several older versions of an application (appup_gen.h). */
#include "appup_gen.h"

#include <string.h>

#include "molt/relup.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* 1 if from[i]'s version is to's or that of an earlier from[j]. */
static int skip_from(const molt_appinfo *to, const molt_appinfo *const *from,
		     size_t i)
{
	if (strcmp(from[i]->vsn, to->vsn) == 0)
		return 1;
	for (size_t j = 0; j < i; j++)
		if (strcmp(from[j]->vsn, from[i]->vsn) == 0)
			return 1;
	return 0;
}

/* The merged appup's entries: parts[k]'s only up and down entry each. */
static int write_merged(molt_buf *out, molt_appup *const *parts, size_t n,
			int json, molt_err *err)
{
	molt_appup m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.up = molt_calloc(n, sizeof(*m.up));
	m.down = molt_calloc(n, sizeof(*m.down));
	if (!m.up || !m.down) {
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
		goto out;
	}
	m.vsn = parts[0]->vsn;
	m.file = parts[0]->file;
	for (size_t k = 0; k < n; k++) {
		m.up[m.nup++] = parts[k]->up[0];
		m.down[m.ndown++] = parts[k]->down[0];
	}
	rc = json ? molt_appup_to_json(out, &m) : molt_appup_to_terms(out, &m);
	if (rc < 0)
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
out:
	molt_free(m.up);
	molt_free(m.down);
	return rc;
}

int molt__appup_gen_many(molt_buf *out, size_t *nentries,
			 const molt_appinfo *to,
			 const molt_appinfo *const *from, size_t nfrom,
			 int json, molt_err *err)
{
	molt_appup **parts = molt_calloc(nfrom ? nfrom : 1, sizeof(*parts));
	size_t n = 0;
	int rc = MOLT_OK;

	if (!parts)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	for (size_t i = 0; rc == MOLT_OK && i < nfrom; i++)
		if (!skip_from(to, from, i))
			rc = molt_appup_gen(&parts[n++], from[i], to, err);
	if (rc == MOLT_OK && n)
		rc = write_merged(out, parts, n, json, err);
	if (nentries)
		*nentries = rc == MOLT_OK ? n : 0;
	for (size_t k = 0; k < n; k++)
		molt_appup_free(parts[k]);
	molt_free(parts);
	return rc;
}
