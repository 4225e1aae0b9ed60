/* libFuzzer target: the parsers of key files and MANIFEST.sig on arbitrary
 * bytes. The first byte picks the parser (0: public key, 1: secret key,
 * 2: MANIFEST.sig); the rest is the file. Whatever the input, a parser
 * either succeeds or fails with a message naming the file; what parses
 * prints back to text that parses to the same value, and a signature is
 * checked without crashing. Built with -DMOLT_FUZZ=ON (clang). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "molt/buf.h"

#include "sign.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const molt_err *err)
{
	if (rc < 0 && (err->code != rc || !strstr(err->msg, "fuzz")))
		abort(); /* a failure names the file */
}

static void pubkey(const char *text, size_t len)
{
	struct molt__pubkey k, again;
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;
	int rc = molt__pubkey_parse(&k, text, len, "fuzz.pub", &err);

	check_err(rc, &err);
	if (rc < 0)
		return;
	if (molt__pubkey_format(&b, &k) < 0 ||
	    molt__pubkey_parse(&again, b.ptr, b.len, "fuzz.pub", &err) < 0 ||
	    memcmp(&k, &again, sizeof(k)) != 0)
		abort();
	molt_buf_release(&b);
}

static void seckey(const char *text, size_t len)
{
	struct molt__seckey k;
	struct molt__pubkey pub;
	struct molt__sig s;
	molt_err err = MOLT_ERR_INIT;
	int rc = molt__seckey_parse(&k, text, len, "fuzz", &err);

	check_err(rc, &err);
	if (rc < 0)
		return;
	/* a parsed secret key signs what its public key accepts */
	crypto_sign_ed25519_sk_to_pk(pub.pk, k.sk);
	memcpy(pub.id, k.id, sizeof(pub.id));
	molt__sig_make(&s, &k,
		       "0000000000000000000000000000000000000000"
		       "000000000000000000000000");
	if (!molt__sig_valid(&s, &pub))
		abort();
}

static void sigs(const char *text, size_t len)
{
	static struct molt__pubkey key; /* all zero: never a valid signer */
	struct molt__sigs s, again;
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;
	int rc = molt__sigs_parse(&s, text, len, "fuzz.sig", &err);

	check_err(rc, &err);
	if (rc < 0)
		return;
	for (size_t i = 0; i < s.n; i++) {
		memcpy(key.id, s.v[i].id, sizeof(key.id));
		(void)molt__sig_valid(&s.v[i], &key);
	}
	if (molt__sigs_format(&b, &s) < 0 ||
	    molt__sigs_parse(&again, b.ptr, b.len, "fuzz.sig", &err) < 0 ||
	    again.n != s.n ||
	    (s.n && memcmp(s.v, again.v, s.n * sizeof(*s.v)) != 0))
		abort();
	molt_buf_release(&b);
	molt__sigs_release(&again);
	molt__sigs_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;

	if (size < 1)
		return 0;
	if (sodium_init() < 0)
		abort();
	switch (data[0] % 3) {
	case 0:
		pubkey(text, size - 1);
		break;
	case 1:
		seckey(text, size - 1);
		break;
	default:
		sigs(text, size - 1);
		break;
	}
	return 0;
}
