/* What a built module declares: its descriptor, read by dlopen. */
#ifndef MOLT_RELEASETOOL_MODINFO_H
#define MOLT_RELEASETOOL_MODINFO_H

#include "molt/common.h"

#include "manifest.h"

/*
 * dlopen path (RTLD_LAZY | RTLD_LOCAL), read its molt_module_descriptor
 * and check the ABI version, the behaviour and that its name is name.
 * Fills out, with the SHA-256 of the file. The module's callbacks are
 * never called; its references to the runtime stay unresolved.
 */
int molt__modinfo_read(struct molt__modinfo *out, const char *path,
		       const char *name, molt_err *err);

#endif
