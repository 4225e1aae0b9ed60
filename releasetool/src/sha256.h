/* SHA-256 sums as lower-case hex, by libsodium. */
#ifndef MOLT_RELEASETOOL_SHA256_H
#define MOLT_RELEASETOOL_SHA256_H

#include <stddef.h>

#include <sodium.h>

#include "molt/common.h"

#define MOLT__SHA256_HEX 65 /* 64 hex digits and a NUL */

typedef struct molt__sha256 {
	crypto_hash_sha256_state st; /* libsodium's running state */
} molt__sha256;

void molt__sha256_init(molt__sha256 *h);
void molt__sha256_update(molt__sha256 *h, const void *data, size_t len);
/* Finish h and write the hex sum to out. */
void molt__sha256_final(molt__sha256 *h, char out[MOLT__SHA256_HEX]);

/* Sum of data. */
void molt__sha256_hex(char out[MOLT__SHA256_HEX], const void *data, size_t len);

/* Sum of the file at path; MOLT_EIO naming path on failure. */
int molt__sha256_file(char out[MOLT__SHA256_HEX], const char *path,
		      molt_err *err);

#endif
