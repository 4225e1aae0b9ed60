/* The node's side of a root's state: RELEASES.json and the root lock. */
#ifndef MOLT_RUNTIME_REL_RELEASES_H
#define MOLT_RUNTIME_REL_RELEASES_H

#include "molt/common.h"

/*
 * The release tool (molt unpack, init, remove) and moltd (install,
 * permanent, boot) both write ROOT/releases/RELEASES.json; the runtime
 * links nothing of the release tool (STYLE.md §1), so the file's format
 * (docs/formats-release.md) is the contract between them, and both take
 * the same lock, flock on ROOT/releases/.lock, around a read-change-write.
 * Here the file is kept as its cJSON tree: fields this code does not know
 * are written back unchanged.
 */
struct cJSON;

enum {
	MOLT__REL_UNPACKED,
	MOLT__REL_CURRENT,
	MOLT__REL_PERMANENT,
	MOLT__REL_OLD,
};

/* Take the root's exclusive lock (waits); *fd for molt__root_unlock. */
int molt__root_lock(int *fd, const char *root, molt_err *err);
void molt__root_unlock(int fd);

/* Read and check RELEASES.json (format, an array of releases, each with
 * a name, a vsn and a known status). *doc is owned (cJSON_Delete). */
int molt__rels_load(struct cJSON **doc, const char *root, molt_err *err);
/* The entry of release vsn, or NULL. */
struct cJSON *molt__rels_find(const struct cJSON *doc, const char *vsn);
/* Its status (enum above). */
int molt__rels_status(const struct cJSON *entry);
const char *molt__rels_status_name(int status);
/* "1.1.0 (unpacked), 1.0.0 (permanent)": for messages; owned. */
char *molt__rels_list(const struct cJSON *doc);
/* The version of the first release with status, or NULL (borrowed). */
const char *molt__rels_with(const struct cJSON *doc, int status);
/* Set entry's status, the one that had it before becoming old. */
void molt__rels_set(struct cJSON *doc, struct cJSON *entry, int status);
/* Write doc atomically (temporary file, fsync, rename, fsync of the
 * directory). Hold the lock. */
int molt__rels_save(const struct cJSON *doc, const char *root, molt_err *err);

#endif
