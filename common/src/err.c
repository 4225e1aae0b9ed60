/* Error records: molt_err and status names. */
#include <stdio.h>
#include <string.h>

#include "molt/common.h"

#include "molt/banned.h"

int molt_err_vset(molt_err *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	/* a message is one line: fold any newline the caller let in */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

int molt_err_set(molt_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	molt_err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int molt_err_prefix(molt_err *err, const char *fmt, ...)
{
	char prefix[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return MOLT_ERROR;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* truncation keeps the prefix, which names what failed */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	return err->code;
}

void molt_err_clear(molt_err *err)
{
	if (!err)
		return;
	err->code = MOLT_OK;
	err->msg[0] = '\0';
}

const char *molt_status_name(int code)
{
	switch (code) {
	case MOLT_OK:
		return "ok";
	case MOLT_ERROR:
		return "error";
	case MOLT_ENOMEM:
		return "enomem";
	case MOLT_EINVAL:
		return "einval";
	case MOLT_ENOTFOUND:
		return "enotfound";
	case MOLT_EEXISTS:
		return "eexists";
	case MOLT_EBUSY:
		return "ebusy";
	case MOLT_EVERSION:
		return "eversion";
	case MOLT_ETIMEOUT:
		return "etimeout";
	case MOLT_EPARSE:
		return "eparse";
	case MOLT_EIO:
		return "eio";
	case MOLT_ECLOSED:
		return "eclosed";
	case MOLT_EUNSAFE:
		return "eunsafe";
	default:
		return "unknown";
	}
}
