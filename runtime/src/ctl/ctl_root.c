/* The node's root and ROOT/run: made private when missing, checked when
 * present, never chmod-ed. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molt/common.h"
#include "molt/runtime.h"

#include "molt/banned.h"

/* dir must be a directory owned by us that group and others cannot
 * write: the control socket's directory is trusted as its owner. */
static int check_dir(const char *dir, const struct stat *st, molt_err *err)
{
	if (!S_ISDIR(st->st_mode))
		return molt_err_set(err, MOLT_EUNSAFE, "%s: not a directory",
				    dir);
	if (st->st_uid != geteuid())
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: owned by uid %u, not by moltd's uid "
				    "%u: start moltd as its owner or chown it",
				    dir, (unsigned)st->st_uid,
				    (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return molt_err_set(err, MOLT_EUNSAFE,
				    "%s: mode %04o lets group or others write "
				    "it; moltd changes no modes: chmod 0700 %s",
				    dir, (unsigned)(st->st_mode & 07777), dir);
	return MOLT_OK;
}

/* Make dir 0700 if it is missing, then check it. */
static int private_dir(const char *dir, molt_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return molt_err_set(err, MOLT_EIO, "%s: %s", dir,
				    strerror(errno));
	if (stat(dir, &st) != 0)
		return molt_err_set(err, MOLT_EIO, "%s: %s", dir,
				    strerror(errno));
	return check_dir(dir, &st, err);
}

int molt_ctl_prepare_root(const char *root, molt_err *err)
{
	char run[PATH_MAX];
	int rc;

	if (snprintf(run, sizeof(run), "%s/run", root) >= (int)sizeof(run))
		return molt_err_set(err, MOLT_EINVAL, "%s/run: path too long",
				    root);
	if ((rc = private_dir(root, err)) < 0)
		return rc;
	return private_dir(run, err);
}
