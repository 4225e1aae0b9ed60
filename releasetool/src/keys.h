/* The keys a root trusts (ROOT/keys/ID.pub) and the check of a manifest's
 * signatures against them. */
#ifndef MOLT_RELEASETOOL_KEYS_H
#define MOLT_RELEASETOOL_KEYS_H

#include <stddef.h>

#include "molt/common.h"

#include "sign.h"

/* The public keys of ROOT/keys/. */
struct molt__trust {
	struct molt__pubkey *keys; /* sorted by id (owned) */
	size_t n;		   /* their number; 0: the root checks none */
};

/*
 * Read ROOT/keys/ into out (caller storage; free with
 * molt__trust_release). A missing keys/ is no keys. Refuses
 * (MOLT_EUNSAFE) a keys/ or key file that is not the user's alone (as
 * molt__root_private), and any entry that is not a valid ID.pub
 * (dot files are skipped).
 */
int molt__trust_load(struct molt__trust *out, const char *root, molt_err *err);
void molt__trust_release(struct molt__trust *t);

/*
 * Check the signatures in the MANIFEST.sig at sig_path against t for the
 * manifest whose sha256 is manifest_sum; what names the bundle or release
 * in errors. MOLT_OK with the first trusted signer's id in signer (size
 * MOLT__KEYID_HEX); else MOLT_EUNSAFE saying why: unsigned, signed only by
 * keys the root does not trust, manifest changed after signing, bad
 * signature; MOLT_EPARSE for a malformed MANIFEST.sig. t must have keys.
 * *nsigs (may be NULL) gets the number of signatures.
 */
int molt__trust_check(char *signer, size_t *nsigs, const struct molt__trust *t,
		      const char *sig_path, const char *manifest_sum,
		      const char *what, molt_err *err);

#endif
