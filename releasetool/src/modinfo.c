/* What a built module declares: its descriptor, read by molt-probe in a
 * child process, so that no code of the module runs in molt. */
#include "modinfo.h"

#include <stdio.h>
#include <string.h>

#include "molt/module.h"
#include "molt/probe.h"

#include "sha256.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

static int copy_str(char *out, size_t size, const char *s, const char *name,
		    const char *field, molt_err *err)
{
	if (!s || !*s || strlen(s) >= size)
		return molt_err_set(err, MOLT_EPARSE,
				    "module '%s': descriptor field '%s' is "
				    "missing or longer than %zu bytes",
				    name, field, size - 1);
	memcpy(out, s, strlen(s) + 1);
	return MOLT_OK;
}

static int read_exports(struct molt__modinfo *out, const molt_probe_desc *d,
			const char *name, molt_err *err)
{
	int rc;

	out->nexports = 0;
	for (size_t i = 0; i < d->nexports; i++) {
		if (i >= MOLT__MAX_EXPORTS)
			return molt_err_set(err, MOLT_EPARSE,
					    "module '%s': more than %d exports",
					    name, MOLT__MAX_EXPORTS);
		if ((rc = copy_str(out->exports[i], sizeof(out->exports[i]),
				   d->exports[i], name, "exports", err)) < 0)
			return rc;
		out->nexports++;
	}
	return MOLT_OK;
}

static int read_descriptor(struct molt__modinfo *out, const molt_probe_desc *d,
			   const char *name, molt_err *err)
{
	int rc;

	if (d->abi != MOLT_MODULE_ABI)
		return molt_err_set(err, MOLT_EVERSION,
				    "module '%s': ABI version %u, expected %d",
				    name, d->abi, MOLT_MODULE_ABI);
	if (d->behaviour != MOLT_BEHAVIOUR_SERVER)
		return molt_err_set(err, MOLT_EPARSE,
				    "module '%s': unknown behaviour %u", name,
				    d->behaviour);
	if ((rc = copy_str(out->name, sizeof(out->name), d->name, name, "name",
			   err)) < 0 ||
	    (rc = copy_str(out->vsn, sizeof(out->vsn), d->vsn, name, "vsn",
			   err)) < 0)
		return rc;
	if (strcmp(out->name, name) != 0)
		return molt_err_set(err, MOLT_EPARSE,
				    "module '%s': its descriptor is named '%s'",
				    name, out->name);
	if ((d->callbacks & MOLT_PROBE_CODE_CHANGE) &&
	    !(d->callbacks & MOLT_PROBE_FREE_STATE))
		return molt_err_set(err, MOLT_EPARSE,
				    "module '%s': code_change without "
				    "free_state",
				    name);
	out->behaviour = d->behaviour;
	out->state_vsn = d->state_vsn;
	out->code_change = (d->callbacks & MOLT_PROBE_CODE_CHANGE) != 0;
	return read_exports(out, d, name, err);
}

int molt__modinfo_read(struct molt__modinfo *out, const char *path,
		       const char *name, molt_err *err)
{
	molt_probe_desc d;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = molt__sha256_file(out->sha256, path, err)) < 0)
		return rc;
	if ((rc = molt_probe_read(&d, path, err)) < 0)
		molt_err_prefix(err, "module '%s'", name);
	else
		rc = read_descriptor(out, &d, name, err);
	molt_probe_desc_release(&d);
	return rc;
}
