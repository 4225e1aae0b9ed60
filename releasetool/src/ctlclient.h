/* Client side of the control socket: connect, one request, one reply. */
#ifndef MOLT_RELEASETOOL_CTLCLIENT_H
#define MOLT_RELEASETOOL_CTLCLIENT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "molt/common.h"

/*
 * Send req (borrowed) to the moltd serving root (root/run/moltd.sock) and
 * wait up to timeout_ms for its one-line reply. Returns MOLT_OK and
 * *out (owned: cJSON_Delete) whether the reply says ok or not; *raw_out
 * (owned: molt_free; may be NULL) gets the line as sent. Errors:
 * MOLT_ECLOSED no moltd there or it hung up, MOLT_ETIMEOUT, MOLT_EPARSE a
 * reply that is not JSON, MOLT_EIO.
 */
int molt__ctlclient_request(cJSON **out, char **raw_out, const char *root,
			    const cJSON *req, uint32_t timeout_ms,
			    molt_err *err);

/* The error of a reply {"ok":false,"error":{...}} into err; returns
 * MOLT_ERROR (or the mapped code), or MOLT_OK if the reply is ok. */
int molt__ctlclient_reply_error(const cJSON *reply, molt_err *err);

struct molt_cli;

/*
 * One request for a CLI verb: needs --root; prints the raw reply line in
 * --json mode, the error in either mode. Returns an enum molt_exit value;
 * on MOLT_EXIT_OK in human mode *out (owned, cJSON_Delete) is the reply
 * to print, else *out is NULL. Takes req.
 */
int molt__ctlclient_verb(struct molt_cli *cli, cJSON *req, cJSON **out,
			 uint32_t timeout_ms);

#endif
