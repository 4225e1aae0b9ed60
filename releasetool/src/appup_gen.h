/* Appups generated for the release tool: one appup for an application from
 * several older versions of it (molt build --relup-from, molt appup gen
 * --repo). */
#ifndef MOLT_RELEASETOOL_APPUP_GEN_H
#define MOLT_RELEASETOOL_APPUP_GEN_H

#include <stddef.h>

#include "molt/appup.h"
#include "molt/buf.h"
#include "molt/common.h"

/*
 * Append to out the appup taking to up from each from[i] and down to it:
 * molt_appup_gen for every from-version, its one up and one down entry
 * merged in the order given. A from-version equal to to's, or met before,
 * adds nothing. json: appup.json, else OTP's term syntax. *nentries (may
 * be NULL) gets the number of entries in each direction; with 0 nothing
 * is appended. Borrows to and from. MOLT_EINVAL if an application is not
 * to's; MOLT_ENOMEM.
 */
int molt__appup_gen_many(molt_buf *out, size_t *nentries,
			 const molt_appinfo *to,
			 const molt_appinfo *const *from, size_t nfrom,
			 int json, molt_err *err);

#endif
