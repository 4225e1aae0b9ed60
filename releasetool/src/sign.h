/* Ed25519 keys and manifest signatures, by libsodium: the key files
 * (molt keygen), the lines of MANIFEST.sig, making and checking one
 * signature (docs/formats-release.md, "Signatures"). The parsers take
 * text, not files, so that a fuzzer can drive them. */
#ifndef MOLT_RELEASETOOL_SIGN_H
#define MOLT_RELEASETOOL_SIGN_H

#include <stddef.h>

#include <sodium.h>

#include "molt/buf.h"
#include "molt/common.h"

#include "sha256.h"

#define MOLT__KEYID_HEX 17 /* 16 hex digits and a NUL */

/* A public key, as KEY.pub and ROOT/keys/ID.pub hold it. */
struct molt__pubkey {
	char id[MOLT__KEYID_HEX]; /* key id: hex of sha256(pk)[0..8) */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES]; /* the ed25519 key */
};

/* A secret key, as KEY holds it (mode 0600). */
struct molt__seckey {
	char id[MOLT__KEYID_HEX];		      /* id of its public key */
	unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* libsodium's sk */
};

/* One line of MANIFEST.sig: who signed which manifest. */
struct molt__sig {
	char id[MOLT__KEYID_HEX];	 /* the signer's key id */
	char manifest[MOLT__SHA256_HEX]; /* sha256 of the signed manifest */
	unsigned char sig[crypto_sign_BYTES]; /* ed25519 signature */
};

/* The whole of MANIFEST.sig. */
struct molt__sigs {
	struct molt__sig *v; /* signatures, file order (owned) */
	size_t n;	     /* their number */
};

/* Parse a public or secret key file's text; file names it in errors
 * ("FILE:LINE: ..."). MOLT_EPARSE or MOLT_EVERSION. */
int molt__pubkey_parse(struct molt__pubkey *out, const char *text, size_t len,
		       const char *file, molt_err *err);
int molt__seckey_parse(struct molt__seckey *out, const char *text, size_t len,
		       const char *file, molt_err *err);

/* Read a key file. A secret key file readable by group or others is
 * refused (MOLT_EUNSAFE: chmod 600). */
int molt__pubkey_read(struct molt__pubkey *out, const char *path,
		      molt_err *err);
int molt__seckey_read(struct molt__seckey *out, const char *path,
		      molt_err *err);

/* Append a key file's text to out. MOLT_ENOMEM. */
int molt__pubkey_format(molt_buf *out, const struct molt__pubkey *k);
int molt__seckey_format(molt_buf *out, const struct molt__seckey *k);

/* Parse MANIFEST.sig text (file names it in errors). Returns owned *out
 * (molt__sigs_release), empty on failure. */
int molt__sigs_parse(struct molt__sigs *out, const char *text, size_t len,
		     const char *file, molt_err *err);
/* Append MANIFEST.sig's text for s to out. MOLT_ENOMEM. */
int molt__sigs_format(molt_buf *out, const struct molt__sigs *s);
/* Add sig to s, replacing a signature by the same key. MOLT_ENOMEM. */
int molt__sigs_put(struct molt__sigs *s, const struct molt__sig *sig);
void molt__sigs_release(struct molt__sigs *s);

/* Sign the manifest whose sha256 is manifest_sum with k. */
void molt__sig_make(struct molt__sig *out, const struct molt__seckey *k,
		    const char *manifest_sum);
/* 1 if s is k's valid signature of the manifest s names, else 0 (the
 * caller compares s->manifest with the manifest it has). */
int molt__sig_valid(const struct molt__sig *s, const struct molt__pubkey *k);

/* A fresh key pair. */
void molt__key_pair(struct molt__pubkey *pub, struct molt__seckey *sec);

#endif
