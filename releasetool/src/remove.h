/* Removing a release from a root (remove.c), and the one question both
 * remove and unpack ask of RELEASES.json: who uses this lib dir. */
#ifndef MOLT_RELEASETOOL_REMOVE_H
#define MOLT_RELEASETOOL_REMOVE_H

#include "molt/release.h"

/* A release of rels other than the one with version except (NULL: none)
 * whose applications include lib ("lib/kvs-1.1.0"), or NULL. Borrowed:
 * valid until rels changes. */
const molt_release_info *molt__lib_user(const molt_releases *rels,
					const char *lib, const char *except);

#endif
