/* RELEASES.json as moltd reads and changes it, under the root lock. */
#include "releases.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "molt/buf.h"

#include "molt/banned.h"

#define RELS_FILE   "releases/RELEASES.json"
#define LOCK_FILE   "releases/.lock"
#define RELS_FORMAT 1

static const char *const status_names[] = {"unpacked", "current", "permanent",
					   "old"};

const char *molt__rels_status_name(int status)
{
	if (status < MOLT__REL_UNPACKED || status > MOLT__REL_OLD)
		return "?";
	return status_names[status];
}

int molt__rels_status(const cJSON *entry)
{
	const char *s =
		cJSON_GetStringValue(cJSON_GetObjectItem(entry, "status"));

	for (int i = MOLT__REL_UNPACKED; s && i <= MOLT__REL_OLD; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

int molt__root_lock(int *fd, const char *root, molt_err *err)
{
	molt_buf path = MOLT_BUF_INIT;
	int f;

	if (molt_buf_printf(&path, "%s/" LOCK_FILE, root) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	f = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	while (f >= 0 && flock(f, LOCK_EX) < 0 && errno == EINTR)
		;
	if (f < 0) {
		molt_err_set(err, MOLT_EIO, "cannot lock '%s': %s", path.ptr,
			     strerror(errno));
		molt_buf_release(&path);
		return MOLT_EIO;
	}
	molt_buf_release(&path);
	*fd = f;
	return MOLT_OK;
}

void molt__root_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* Each entry names a release and has a status this code knows. */
static int check(const cJSON *doc, const char *file, molt_err *err)
{
	const cJSON *fmt = cJSON_GetObjectItem(doc, "format"), *e;
	size_t i = 0;

	if (!cJSON_IsNumber(fmt) || fmt->valuedouble != RELS_FORMAT)
		return molt_err_set(err, MOLT_EVERSION,
				    "%s: field 'format': expected %d", file,
				    RELS_FORMAT);
	if (!cJSON_IsArray(cJSON_GetObjectItem(doc, "releases")))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s: field 'releases': expected an array",
				    file);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "releases"))
	{
		if (!cJSON_IsString(cJSON_GetObjectItem(e, "name")) ||
		    !cJSON_IsString(cJSON_GetObjectItem(e, "vsn")) ||
		    molt__rels_status(e) < 0)
			return molt_err_set(err, MOLT_EINVAL,
					    "%s: releases[%zu]: expected a "
					    "name, a vsn and a status "
					    "(unpacked, current, permanent "
					    "or old)",
					    file, i);
		i++;
	}
	return MOLT_OK;
}

int molt__rels_load(cJSON **doc, const char *root, molt_err *err)
{
	molt_buf path = MOLT_BUF_INIT, text = MOLT_BUF_INIT;
	int rc;

	*doc = NULL;
	if (molt_buf_printf(&path, "%s/" RELS_FILE, root) < 0)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if ((rc = molt_buf_read_file(&text, path.ptr, err)) == MOLT_OK) {
		*doc = cJSON_ParseWithLength(text.ptr, text.len);
		if (!*doc)
			rc = molt_err_set(err, MOLT_EPARSE,
					  "%s: malformed JSON", path.ptr);
		else if ((rc = check(*doc, path.ptr, err)) < 0) {
			cJSON_Delete(*doc);
			*doc = NULL;
		}
	}
	molt_buf_release(&text);
	molt_buf_release(&path);
	return rc;
}

cJSON *molt__rels_find(const cJSON *doc, const char *vsn)
{
	cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "releases"))
	{
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "vsn")),
			   vsn) == 0)
			return e;
	}
	return NULL;
}

const char *molt__rels_with(const cJSON *doc, int status)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "releases"))
	{
		if (molt__rels_status(e) == status)
			return cJSON_GetStringValue(
				cJSON_GetObjectItem(e, "vsn"));
	}
	return NULL;
}

char *molt__rels_list(const cJSON *doc)
{
	molt_buf b = MOLT_BUF_INIT;
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "releases"))
	{
		molt_buf_printf(
			&b, "%s%s (%s)", b.len ? ", " : "",
			cJSON_GetStringValue(cJSON_GetObjectItem(e, "vsn")),
			molt__rels_status_name(molt__rels_status(e)));
	}
	if (!b.len)
		molt_buf_printf(&b, "none");
	return b.ptr; /* NULL only when out of memory */
}

void molt__rels_set(cJSON *doc, cJSON *entry, int status)
{
	cJSON *e;

	if (status == MOLT__REL_CURRENT || status == MOLT__REL_PERMANENT)
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "releases"))
		{
			if (e != entry && molt__rels_status(e) == status)
				cJSON_ReplaceItemInObject(
					e, "status",
					cJSON_CreateString(
						status_names[MOLT__REL_OLD]));
		}
	cJSON_ReplaceItemInObject(entry, "status",
				  cJSON_CreateString(status_names[status]));
}

int molt__rels_save(const cJSON *doc, const char *root, molt_err *err)
{
	molt_buf path = MOLT_BUF_INIT, text = MOLT_BUF_INIT;
	char *json = cJSON_Print(doc);
	int rc;

	if (!json || molt_buf_printf(&path, "%s/" RELS_FILE, root) < 0 ||
	    molt_buf_printf(&text, "%s\n", json) < 0)
		rc = molt_err_set(err, MOLT_ENOMEM, "out of memory");
	else
		rc = molt_write_file_atomic(path.ptr, text.ptr, text.len, err);
	cJSON_free(json);
	molt_buf_release(&text);
	molt_buf_release(&path);
	return rc;
}
