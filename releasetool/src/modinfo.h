/* What a built module declares: its descriptor, read in a child process. */
#ifndef MOLT_RELEASETOOL_MODINFO_H
#define MOLT_RELEASETOOL_MODINFO_H

#include "molt/common.h"

#include "manifest.h"

/*
 * Read the molt_module_descriptor of the shared object at path with
 * molt-probe, in a child process (molt_probe_read: the module's
 * constructors run there, never in molt), and check the ABI version, the
 * behaviour and that its name is name. Fills out, with the SHA-256 of the
 * file.
 */
int molt__modinfo_read(struct molt__modinfo *out, const char *path,
		       const char *name, molt_err *err);

#endif
