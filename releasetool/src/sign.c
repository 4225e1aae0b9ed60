/* Ed25519 keys and manifest signatures, by libsodium. */
#include "sign.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

#define PUB_HEADER "molt-public-key"
#define SEC_HEADER "molt-secret-key"
#define SIG_HEADER "molt-signatures"
#define FORMAT	   1
#define MAX_WORDS  4
#define MAX_LINE   512

/* What the signature covers: a context string, then the manifest's sum,
 * so a molt signature means nothing to any other ed25519 verifier. */
#define SIG_CONTEXT "molt-manifest-signature 1\n"

/* One line cut into words at single spaces. */
struct line {
	char buf[MAX_LINE];	  /* the line, NULs between words */
	const char *w[MAX_WORDS]; /* the words */
	size_t n;		  /* their number */
	int lineno;		  /* 1-based */
};

/* A text walked line by line; '#' lines and empty lines are skipped. */
struct reader {
	const char *p, *end; /* what is left */
	const char *file;    /* for errors */
	int lineno;	     /* of the last line read */
	molt_err *err;	     /* where errors go */
};

/* The next line into l: 1, 0 at the end, or a negative error. */
static int next_line(struct reader *r, struct line *l)
{
	for (;;) {
		const char *nl;
		size_t len;

		if (r->p >= r->end)
			return 0;
		nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
		r->lineno++;
		if (!nl)
			return molt_err_set(r->err, MOLT_EPARSE,
					    "%s:%d: line does not end", r->file,
					    r->lineno);
		len = (size_t)(nl - r->p);
		if (len >= MAX_LINE || memchr(r->p, '\0', len))
			return molt_err_set(r->err, MOLT_EPARSE,
					    "%s:%d: line too long or not text",
					    r->file, r->lineno);
		memcpy(l->buf, r->p, len);
		l->buf[len] = '\0';
		r->p = nl + 1;
		if (len == 0 || l->buf[0] == '#')
			continue;
		l->lineno = r->lineno;
		break;
	}
	l->n = 0;
	for (char *s = l->buf; s;) {
		char *sp = strchr(s, ' ');

		if (l->n == MAX_WORDS || !*s)
			return molt_err_set(r->err, MOLT_EPARSE,
					    "%s:%d: expected words separated "
					    "by one space",
					    r->file, l->lineno);
		l->w[l->n++] = s;
		if (sp)
			*sp++ = '\0';
		s = sp;
	}
	return 1;
}

static int bad(const struct reader *r, const struct line *l, const char *want)
{
	return molt_err_set(r->err, MOLT_EPARSE, "%s:%d: expected %s", r->file,
			    l->lineno, want);
}

/* The header line "NAME 1". */
static int header(struct reader *r, const char *name)
{
	struct line l;
	int rc = next_line(r, &l);

	if (rc < 0)
		return rc;
	if (rc == 0 || l.n != 2 || strcmp(l.w[0], name) != 0)
		return molt_err_set(r->err, MOLT_EPARSE,
				    "%s:%d: expected '%s %d' first", r->file,
				    rc ? l.lineno : 1, name, FORMAT);
	if (strcmp(l.w[1], "1") != 0)
		return molt_err_set(r->err, MOLT_EVERSION,
				    "%s:%d: %s version '%s' is not supported "
				    "(expected %d)",
				    r->file, l.lineno, name, l.w[1], FORMAT);
	return MOLT_OK;
}

/* Exactly len bytes of standard base64 (with padding) into out. */
static int b64(unsigned char *out, size_t len, const char *s)
{
	size_t got = 0;

	if (sodium_base642bin(out, len, s, strlen(s), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == len ? 0 : -1;
}

static int hex_ok(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static void key_id(char out[MOLT__KEYID_HEX], const unsigned char *pk)
{
	unsigned char sum[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(sum, pk, crypto_sign_PUBLICKEYBYTES);
	sodium_bin2hex(out, MOLT__KEYID_HEX, sum, 8);
}

/* "id ID" then "ed25519 BASE64" (len bytes into key), then the end. */
static int key_body(struct reader *r, char id[MOLT__KEYID_HEX],
		    unsigned char *key, size_t len)
{
	struct line l;
	int rc;

	if ((rc = next_line(r, &l)) < 0)
		return rc;
	if (rc == 0 || l.n != 2 || strcmp(l.w[0], "id") != 0 ||
	    !hex_ok(l.w[1], MOLT__KEYID_HEX - 1))
		return rc ? bad(r, &l, "'id' and 16 hex digits")
			  : molt_err_set(r->err, MOLT_EPARSE,
					 "%s: no 'id' line", r->file);
	memcpy(id, l.w[1], MOLT__KEYID_HEX);
	if ((rc = next_line(r, &l)) < 0)
		return rc;
	if (rc == 0 || l.n != 2 || strcmp(l.w[0], "ed25519") != 0 ||
	    b64(key, len, l.w[1]) < 0)
		return rc ? bad(r, &l, "'ed25519' and the key in base64")
			  : molt_err_set(r->err, MOLT_EPARSE,
					 "%s: no 'ed25519' line", r->file);
	if ((rc = next_line(r, &l)) != 0)
		return rc < 0 ? rc : bad(r, &l, "the end of the file");
	return MOLT_OK;
}

int molt__pubkey_parse(struct molt__pubkey *out, const char *text, size_t len,
		       const char *file, molt_err *err)
{
	struct reader r = {text, text + len, file, 0, err};
	char id[MOLT__KEYID_HEX];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = header(&r, PUB_HEADER)) < 0 ||
	    (rc = key_body(&r, out->id, out->pk, sizeof(out->pk))) < 0)
		return rc;
	key_id(id, out->pk);
	if (strcmp(id, out->id) != 0)
		return molt_err_set(err, MOLT_EPARSE,
				    "%s: id %s is not the key's id (%s)", file,
				    out->id, id);
	return MOLT_OK;
}

/* sk is a seed and the public key that seed makes. */
static int seed_matches(const unsigned char *sk, const unsigned char *pk)
{
	unsigned char seed[crypto_sign_SEEDBYTES],
		pk2[crypto_sign_PUBLICKEYBYTES],
		sk2[crypto_sign_SECRETKEYBYTES];
	int ok;

	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_seed_keypair(pk2, sk2, seed);
	ok = sodium_memcmp(pk, pk2, sizeof(pk2)) == 0;
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk2, sizeof(sk2));
	return ok;
}

int molt__seckey_parse(struct molt__seckey *out, const char *text, size_t len,
		       const char *file, molt_err *err)
{
	struct reader r = {text, text + len, file, 0, err};
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char id[MOLT__KEYID_HEX];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = header(&r, SEC_HEADER)) < 0 ||
	    (rc = key_body(&r, out->id, out->sk, sizeof(out->sk))) < 0)
		return rc;
	crypto_sign_ed25519_sk_to_pk(pk, out->sk);
	if (!seed_matches(out->sk, pk))
		return molt_err_set(err, MOLT_EPARSE,
				    "%s: the secret key does not match its "
				    "public half",
				    file);
	key_id(id, pk);
	if (strcmp(id, out->id) != 0)
		return molt_err_set(err, MOLT_EPARSE,
				    "%s: id %s is not the key's id (%s)", file,
				    out->id, id);
	return MOLT_OK;
}

int molt__pubkey_read(struct molt__pubkey *out, const char *path, molt_err *err)
{
	molt_buf b = MOLT_BUF_INIT;
	int rc;

	if ((rc = molt_buf_read_file(&b, path, err)) == MOLT_OK)
		rc = molt__pubkey_parse(out, b.ptr, b.len, path, err);
	molt_buf_release(&b);
	return rc;
}

int molt__seckey_read(struct molt__seckey *out, const char *path, molt_err *err)
{
	molt_buf b = MOLT_BUF_INIT;
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return molt_err_set(err,
				    errno == ENOENT ? MOLT_ENOTFOUND : MOLT_EIO,
				    "key '%s': %s", path, strerror(errno));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return molt_err_set(err, MOLT_EUNSAFE,
				    "secret key '%s' has mode %04o: group or "
				    "others can read it; chmod 600 '%s'",
				    path, (unsigned)(st.st_mode & 07777), path);
	if ((rc = molt_buf_read_file(&b, path, err)) == MOLT_OK)
		rc = molt__seckey_parse(out, b.ptr, b.len, path, err);
	sodium_memzero(b.ptr, b.len);
	molt_buf_release(&b);
	return rc;
}

static int key_format(molt_buf *out, const char *header, const char *id,
		      const unsigned char *key, size_t len)
{
	char text[sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES,
					    sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(text, sizeof(text), key, len,
			  sodium_base64_VARIANT_ORIGINAL);
	return molt_buf_printf(out, "%s %d\nid %s\ned25519 %s\n", header,
			       FORMAT, id, text) < 0
		       ? MOLT_ENOMEM
		       : MOLT_OK;
}

int molt__pubkey_format(molt_buf *out, const struct molt__pubkey *k)
{
	return key_format(out, PUB_HEADER, k->id, k->pk, sizeof(k->pk));
}

int molt__seckey_format(molt_buf *out, const struct molt__seckey *k)
{
	return key_format(out, SEC_HEADER, k->id, k->sk, sizeof(k->sk));
}

/* ---- MANIFEST.sig ---- */

static int sig_line(struct molt__sig *s, const struct reader *r,
		    const struct line *l)
{
	if (l->n != 4 || strcmp(l->w[0], "ed25519") != 0)
		return bad(r, l, "'ed25519 KEYID MANIFEST-SHA256 SIGNATURE'");
	if (!hex_ok(l->w[1], MOLT__KEYID_HEX - 1))
		return bad(r, l, "a key id of 16 hex digits");
	if (!hex_ok(l->w[2], MOLT__SHA256_HEX - 1))
		return bad(r, l, "the manifest's sha256 in 64 hex digits");
	if (b64(s->sig, sizeof(s->sig), l->w[3]) < 0)
		return bad(r, l, "a 64-byte signature in base64");
	memcpy(s->id, l->w[1], MOLT__KEYID_HEX);
	memcpy(s->manifest, l->w[2], MOLT__SHA256_HEX);
	return MOLT_OK;
}

static int sigs_parse(struct molt__sigs *out, struct reader *r)
{
	struct molt__sig s;
	struct line l;
	int rc;

	if ((rc = header(r, SIG_HEADER)) < 0)
		return rc;
	while ((rc = next_line(r, &l)) > 0) {
		if ((rc = sig_line(&s, r, &l)) < 0)
			return rc;
		for (size_t i = 0; i < out->n; i++)
			if (strcmp(out->v[i].id, s.id) == 0)
				return molt_err_set(r->err, MOLT_EPARSE,
						    "%s:%d: key %s signs twice",
						    r->file, l.lineno, s.id);
		if (molt__sigs_put(out, &s) < 0)
			return molt_err_set(r->err, MOLT_ENOMEM,
					    "out of memory");
	}
	return rc;
}

int molt__sigs_parse(struct molt__sigs *out, const char *text, size_t len,
		     const char *file, molt_err *err)
{
	struct reader r = {text, text + len, file, 0, err};
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sigs_parse(out, &r)) < 0)
		molt__sigs_release(out);
	return rc;
}

int molt__sigs_format(molt_buf *out, const struct molt__sigs *s)
{
	char text[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
					    sodium_base64_VARIANT_ORIGINAL)];

	if (molt_buf_printf(out, SIG_HEADER " %d\n", FORMAT) < 0)
		return MOLT_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		sodium_bin2base64(text, sizeof(text), s->v[i].sig,
				  sizeof(s->v[i].sig),
				  sodium_base64_VARIANT_ORIGINAL);
		if (molt_buf_printf(out, "ed25519 %s %s %s\n", s->v[i].id,
				    s->v[i].manifest, text) < 0)
			return MOLT_ENOMEM;
	}
	return MOLT_OK;
}

int molt__sigs_put(struct molt__sigs *s, const struct molt__sig *sig)
{
	struct molt__sig *v;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, sig->id) == 0) {
			s->v[i] = *sig;
			return MOLT_OK;
		}
	if (!(v = molt_realloc(s->v, (s->n + 1) * sizeof(*v))))
		return MOLT_ENOMEM;
	s->v = v;
	s->v[s->n++] = *sig;
	return MOLT_OK;
}

void molt__sigs_release(struct molt__sigs *s)
{
	molt_free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* The bytes a signature covers. */
static size_t message(unsigned char *out, size_t size, const char *sum)
{
	size_t n = strlen(SIG_CONTEXT);

	if (size < n + MOLT__SHA256_HEX)
		return 0;
	memcpy(out, SIG_CONTEXT, n);
	memcpy(out + n, sum, MOLT__SHA256_HEX - 1);
	out[n + MOLT__SHA256_HEX - 1] = '\n';
	return n + MOLT__SHA256_HEX;
}

void molt__sig_make(struct molt__sig *out, const struct molt__seckey *k,
		    const char *manifest_sum)
{
	unsigned char m[128];
	size_t n = message(m, sizeof(m), manifest_sum);

	memset(out, 0, sizeof(*out));
	memcpy(out->id, k->id, MOLT__KEYID_HEX);
	memcpy(out->manifest, manifest_sum, MOLT__SHA256_HEX);
	crypto_sign_detached(out->sig, NULL, m, n, k->sk);
}

int molt__sig_valid(const struct molt__sig *s, const struct molt__pubkey *k)
{
	unsigned char m[128];
	size_t n = message(m, sizeof(m), s->manifest);

	return strcmp(s->id, k->id) == 0 &&
	       crypto_sign_verify_detached(s->sig, m, n, k->pk) == 0;
}

void molt__key_pair(struct molt__pubkey *pub, struct molt__seckey *sec)
{
	crypto_sign_keypair(pub->pk, sec->sk);
	key_id(pub->id, pub->pk);
	memcpy(sec->id, pub->id, MOLT__KEYID_HEX);
}
