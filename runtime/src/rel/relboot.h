/* What booting a release and installing one share (relboot.c). */
#ifndef MOLT_RUNTIME_REL_RELBOOT_H
#define MOLT_RUNTIME_REL_RELBOOT_H

#include <stddef.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "apps.h"
#include "relspec.h"

/*
 * The spec of the node's root supervisor for release rs (order: its start
 * order): one child per application with a tree, id the application's
 * name, permanent, intensity 0 (an application whose supervisor gives up
 * stops the node, as a permanent application does in OTP). Owned JSON
 * text (cJSON_free), NULL when out of memory.
 */
char *molt__rel_root_spec(const molt__relspec *rs, const size_t *order);

/* Record each application's top supervisor from the root supervisor's
 * which_children. */
int molt__rel_record_sups(molt_runtime *rt, molt__apps *apps, molt_pid root,
			  molt_err *err);

#endif
