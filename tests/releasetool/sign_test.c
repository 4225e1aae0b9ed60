/* Signed bundles and trusted keys: molt keygen, molt sign, ROOT/keys,
 * and every refusal of unpack and init in a root that trusts keys. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "molt/release.h"

#include "relfix.h"
#include "test_util.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

/* Made once for the suite: the repository, two bundles, two keys. */
static char base[4096], repo[4096], b100[4200], b110[4200];
static char key1[4200], key2[4200], id1[MOLT_KEY_ID_SIZE],
	id2[MOLT_KEY_ID_SIZE];
/* Per test. */
static char dir[4096], root[4200], path[4400];

static void suite_setup(void)
{
	molt_err err = MOLT_ERR_INIT;

	molt_test_mkdtemp(base, sizeof(base), "sign-suite");
	relfix_make_repo(repo, base);
	snprintf(b100, sizeof(b100), "%s", relfix_build(repo, "v1.0.0", base));
	snprintf(b110, sizeof(b110), "%s", relfix_build(repo, "v1.1.0", base));
	snprintf(key1, sizeof(key1), "%s/one", base);
	snprintf(key2, sizeof(key2), "%s/two", base);
	ck_assert_int_eq(molt_keygen(id1, key1, &err), MOLT_OK);
	ck_assert_int_eq(molt_keygen(id2, key2, &err), MOLT_OK);
}

static void suite_teardown(void)
{
	molt_test_rmrf(base);
}

static void setup(void)
{
	molt_test_mkdtemp(dir, sizeof(dir), "sign");
	snprintf(root, sizeof(root), "%s/root", dir);
}

static void teardown(void)
{
	molt_test_rmrf(dir);
}

/* dir/name: a copy of bundle, signed by the given keys (NULL-ended). */
static const char *signed_copy(const char *bundle, const char *name, ...)
{
	static char out[4400];
	molt_err err = MOLT_ERR_INIT;
	const char *key;
	va_list ap;

	snprintf(out, sizeof(out), "%s/%s", dir, name);
	ck_assert_int_eq(molt_test_system("cp '%s' '%s'", bundle, out), 0);
	va_start(ap, name);
	while ((key = va_arg(ap, const char *)))
		ck_assert_msg(molt_bundle_sign(NULL, out, key, &err) == MOLT_OK,
			      "%s", err.msg);
	va_end(ap);
	return out;
}

static void trust(const char *pub_of)
{
	molt_err err = MOLT_ERR_INIT;
	char pub[4400];

	snprintf(pub, sizeof(pub), "%s.pub", pub_of);
	ck_assert_msg(molt_trust_add(NULL, root, pub, &err) == MOLT_OK, "%s",
		      err.msg);
}

/* A root made by init with b100 signed by key1, trusting key1. */
static void trusted_root(void)
{
	molt_unpack_result r;
	molt_err err = MOLT_ERR_INIT;

	trust(key1);
	ck_assert_msg(
		molt_release_init(&r, root,
				  signed_copy(b100, "s100.tgz", key1, NULL),
				  NULL, &err) == MOLT_OK,
		"%s", err.msg);
	ck_assert_str_eq(r.signer, id1);
}

/* Extract bundle into dir/x, run change there (sh), pack it again into
 * dir/name. */
static const char *remade(const char *bundle, const char *name,
			  const char *change)
{
	static char out[4400];

	snprintf(out, sizeof(out), "%s/%s", dir, name);
	ck_assert_int_eq(molt_test_system("rm -rf '%s/x' && mkdir '%s/x' && "
					  "tar -xzf '%s' -C '%s/x' && cd "
					  "'%s/x' && %s && tar -czf '%s' *",
					  dir, dir, bundle, dir, dir, change,
					  out),
			 0);
	return out;
}

/* Unpack must fail with code and a message containing needle, naming the
 * bundle, and leave the root as it was. */
static void refused(const char *bundle, int code, const char *needle)
{
	molt_err err = MOLT_ERR_INIT;
	char *before = relfix_snapshot(root);
	int rc = molt_release_unpack(NULL, root, bundle, NULL, &err);

	ck_assert_msg(rc == code, "%s: rc %d (want %d): %s", bundle, rc, code,
		      err.msg);
	ck_assert_msg(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg,
		      needle);
	relfix_assert_same_root(before, root, "a refused unpack");
	ck_assert_int_eq(relfix_staging_left(root), 0);
	free(before);
}

/* A fresh unsigned copy of b100 signed with the key file key. */
static int sign_fresh_copy(const char *key, molt_err *err)
{
	return molt_bundle_sign(NULL, signed_copy(b100, "b.tgz", NULL), key,
				err);
}

START_TEST(test_keygen_writes_a_private_secret_key_and_a_public_key)
{
	molt_err err = MOLT_ERR_INIT;
	char id[MOLT_KEY_ID_SIZE], *text;
	struct stat st;

	snprintf(path, sizeof(path), "%s/k", dir);
	ck_assert_int_eq(molt_keygen(id, path, &err), MOLT_OK);
	ck_assert_int_eq(strlen(id), 16);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	text = molt_test_read_file(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "molt-secret-key 1\nid "));
	ck_assert_ptr_nonnull(strstr(text, id));
	free(text);
	snprintf(path, sizeof(path), "%s/k.pub", dir);
	text = molt_test_read_file(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "molt-public-key 1\nid "));
	ck_assert_ptr_nonnull(strstr(text, "\ned25519 "));
	free(text);
	/* never over a key */
	snprintf(path, sizeof(path), "%s/k", dir);
	ck_assert_int_eq(molt_keygen(id, path, &err), MOLT_EEXISTS);
	ck_assert_ptr_nonnull(strstr(err.msg, "already exists"));
	/* a secret key others can read is not used */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(sign_fresh_copy(path, &err), MOLT_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(err.msg, "chmod 600"));
	/* a public key is no secret key, and the reverse */
	snprintf(path, sizeof(path), "%s/k.pub", dir);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(sign_fresh_copy(path, &err), MOLT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected 'molt-secret-key 1'"));
	snprintf(path, sizeof(path), "%s/k", dir);
	ck_assert_int_eq(molt_trust_add(NULL, root, path, &err), MOLT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected 'molt-public-key 1'"));
}
END_TEST

START_TEST(test_signed_bundle_unpacks_into_a_root_that_trusts_its_key)
{
	molt_trusted_keys k;
	molt_unpack_result r;
	molt_err err = MOLT_ERR_INIT;
	size_t bad = 9;

	trusted_root();
	snprintf(path, sizeof(path), "%s/releases/1.0.0/" MOLT_SIG_FILE, root);
	ck_assert(access(path, F_OK) == 0); /* kept with the release */
	/* a second signer the root does not know does not matter */
	ck_assert_msg(molt_release_unpack(
			      &r, root,
			      signed_copy(b110, "s110.tgz", key2, key1, NULL),
			      NULL, &err) == MOLT_OK,
		      "%s", err.msg);
	ck_assert_str_eq(r.signer, id1);
	ck_assert_uint_eq(r.signatures, 2);
	ck_assert_uint_eq(r.trusted_keys, 1);
	ck_assert_int_eq(
		molt_release_verify_each(&bad, root, "1.1.0", NULL, NULL, &err),
		MOLT_OK);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(molt_trusted_keys_read(&k, root, &err), MOLT_OK);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_str_eq(k.ids[0], id1);
	molt_trusted_keys_release(&k);
}
END_TEST

START_TEST(test_root_with_keys_refuses_unsigned_and_untrusted_bundles)
{
	molt_err err = MOLT_ERR_INIT;
	char other[4400];

	trusted_root();
	refused(b110, MOLT_EUNSAFE, "is not signed (no MANIFEST.sig)");
	refused(signed_copy(b110, "k2.tgz", key2, NULL), MOLT_EUNSAFE,
		"is signed only by keys this root does not trust");
	refused(signed_copy(b110, "k2.tgz", key2, NULL), MOLT_EUNSAFE,
		"k2.tgz");
	/* init too: a directory holding only keys/ */
	snprintf(other, sizeof(other), "%s/fresh", dir);
	ck_assert_int_eq(molt_test_system("mkdir -m 700 '%s' && cp -a "
					  "'%s/keys' '%s/'",
					  other, root, other),
			 0);
	ck_assert_int_eq(molt_release_init(NULL, other, b100, NULL, &err),
			 MOLT_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not signed"));
	ck_assert_int_eq(
		molt_test_system("test \"$(ls -A '%s')\" = keys", other), 0);
	ck_assert_int_eq(
		molt_release_init(NULL, other,
				  signed_copy(b100, "ok.tgz", key1, NULL), NULL,
				  &err),
		MOLT_OK);
}
END_TEST

START_TEST(test_root_with_keys_refuses_any_change_after_signing)
{
	const char *good;

	trusted_root();
	good = signed_copy(b110, "good.tgz", key1, NULL);
	/* one byte of a module changed: the manifest catches it */
	refused(remade(good, "byte.tgz",
		       "printf x | dd of=lib/kvs-1.1.0/modules/kvs_util.so "
		       "bs=1 seek=200 conv=notrunc 2>/dev/null"),
		MOLT_EUNSAFE, "kvs_util.so': sha256 does not match");
	/* one byte of the manifest changed: the signature catches it */
	refused(remade(good, "mbyte.tgz",
		       "c=0; [ \"$(head -c1 MANIFEST.sha256)\" = 0 ] && c=1; "
		       "printf $c | dd of=MANIFEST.sha256 bs=1 conv=notrunc "
		       "2>/dev/null"),
		MOLT_EUNSAFE, "MANIFEST.sha256 changed after key");
	/* the signature of another manifest */
	refused(remade(good, "other.tgz",
		       "tar -xzOf ../s100.tgz MANIFEST.sig >MANIFEST.sig"),
		MOLT_EUNSAFE, "changed after key");
	/* the signature itself changed */
	refused(remade(good, "badsig.tgz",
		       "sed -i '2s/.........==$/AAAAAAAAA==/' MANIFEST.sig"),
		MOLT_EUNSAFE, "bad signature by key");
	/* the manifest and the sum the signature names both changed */
	refused(remade(good, "both.tgz",
		       "printf x >>lib/kvs-1.1.0/app.json && s=$(sha256sum "
		       "lib/kvs-1.1.0/app.json | cut -c1-64) && sed -i "
		       "\"s|^[0-9a-f]*  lib/kvs-1.1.0/app.json|$s  "
		       "lib/kvs-1.1.0/app.json|\" MANIFEST.sha256 && "
		       "m=$(sha256sum "
		       "MANIFEST.sha256 | cut -c1-64) && sed -i \"2s/ "
		       "[0-9a-f]\\{64\\} "
		       "/ $m /\" MANIFEST.sig"),
		MOLT_EUNSAFE, "bad signature by key");
	/* a second manifest smuggled in, beside a module */
	refused(remade(good, "second.tgz",
		       "cp MANIFEST.sha256 lib/kvs-1.1.0/MANIFEST.sha256"),
		MOLT_EUNSAFE,
		"'lib/kvs-1.1.0/MANIFEST.sha256' is in the bundle but not in "
		"MANIFEST.sha256");
	/* a malformed MANIFEST.sig */
	refused(remade(good, "garbled.tgz", "echo 'ed25519 x' >>MANIFEST.sig"),
		MOLT_EPARSE, "MANIFEST.sig:3: expected");
}
END_TEST

/* The archive-level duplicate: tar appends a second MANIFEST.sha256. */
START_TEST(test_a_second_manifest_entry_is_refused)
{
	char tar[4400], out[4400];

	trusted_root();
	snprintf(tar, sizeof(tar), "%s/dup.tar", dir);
	snprintf(out, sizeof(out), "%s/dup.tgz", dir);
	ck_assert_int_eq(
		molt_test_system("mkdir '%s/y' && cd '%s/y' && tar -xzf '%s' "
				 "&& tar -cf '%s' MANIFEST.sha256 MANIFEST.sig "
				 "lib releases && echo evil >MANIFEST.sha256 "
				 "&& tar -rf '%s' MANIFEST.sha256 && gzip -c "
				 "'%s' >'%s'",
				 dir, dir,
				 signed_copy(b110, "g.tgz", key1, NULL), tar,
				 tar, tar, out),
		0);
	refused(out, MOLT_EUNSAFE, "MANIFEST.sha256");
}
END_TEST

START_TEST(test_keyless_root_accepts_unsigned_bundles_and_says_so_once)
{
	molt_unpack_result r;
	molt_err err = MOLT_ERR_INIT;
	char log[4400], *text;

	ck_assert_int_eq(molt_release_init(&r, root, b100, NULL, &err),
			 MOLT_OK);
	ck_assert_uint_eq(r.trusted_keys, 0);
	ck_assert_str_eq(r.signer, "");
	snprintf(log, sizeof(log), "%s/log", dir);
	ck_assert_int_eq(molt_test_system("%s/releasetool/molt --root '%s' "
					  "unpack '%s' 2>'%s' >/dev/null",
					  MOLT_BUILD_DIR, root, b110, log),
			 0);
	text = molt_test_read_file(log, NULL);
	ck_assert_ptr_nonnull(strstr(text, "warning: "));
	ck_assert_ptr_nonnull(strstr(text, "trusts no keys"));
	ck_assert_ptr_null(strstr(strstr(text, "warning: ") + 1, "warning: "));
	free(text);
}
END_TEST

START_TEST(test_keys_others_can_write_are_refused)
{
	molt_trusted_keys k;
	molt_err err = MOLT_ERR_INIT;
	char keys[4400], file[4500];

	trusted_root();
	snprintf(keys, sizeof(keys), "%s/keys", root);
	snprintf(file, sizeof(file), "%s/%s.pub", keys, id1);
	ck_assert_int_eq(chmod(keys, 0777), 0);
	ck_assert_int_eq(molt_trusted_keys_read(&k, root, &err), MOLT_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(err.msg, "chmod go-w"));
	refused(signed_copy(b110, "s.tgz", key1, NULL), MOLT_EUNSAFE,
		"/keys': mode 0777 lets group or others write");
	ck_assert_int_eq(chmod(keys, 0755), 0);
	ck_assert_int_eq(chmod(file, 0666), 0);
	refused(signed_copy(b110, "s.tgz", key1, NULL), MOLT_EUNSAFE,
		".pub': mode 0666 lets group or others write");
	ck_assert_int_eq(chmod(file, 0644), 0);
	/* a stray file is no key: refused, not skipped */
	snprintf(file, sizeof(file), "%s/notes.txt", keys);
	ck_assert_int_eq(molt_test_system("echo hi >'%s'", file), 0);
	refused(signed_copy(b110, "s.tgz", key1, NULL), MOLT_EUNSAFE,
		"notes.txt' is not a trusted key file");
	unlink(file);
	/* a key file under another key's name */
	snprintf(file, sizeof(file), "%s/%s.pub", keys, id2);
	ck_assert_int_eq(
		molt_test_system("cp '%s/%s.pub' '%s'", keys, id1, file), 0);
	refused(signed_copy(b110, "s.tgz", key1, NULL), MOLT_EUNSAFE,
		"its name must be the key's id");
}
END_TEST

START_TEST(test_trust_remove_names_the_trusted_keys)
{
	molt_err err = MOLT_ERR_INIT;
	molt_unpack_result r;

	trusted_root();
	ck_assert_int_eq(molt_trust_remove(root, id2, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, id1));
	ck_assert_int_eq(molt_trust_remove(root, id1, &err), MOLT_OK);
	/* no keys left: unsigned bundles are accepted again */
	ck_assert_int_eq(molt_release_unpack(&r, root, b110, NULL, &err),
			 MOLT_OK);
	ck_assert_uint_eq(r.trusted_keys, 0);
}
END_TEST

/* Offsets of each member of a tar stream: header and data, by name. */
struct member {
	char name[101];
	size_t off, len; /* header start, header + padded data length */
};

static size_t members(const unsigned char *t, size_t n, struct member *m,
		      size_t max)
{
	size_t off = 0, k = 0;

	while (off + 512 <= n && t[off] && k < max) {
		size_t size = strtoul((const char *)t + off + 124, NULL, 8);

		memcpy(m[k].name, t + off, 100);
		m[k].name[100] = '\0';
		m[k].off = off;
		m[k].len = 512 + (size + 511) / 512 * 512;
		off += m[k++].len;
	}
	return k;
}

static unsigned char *gunzip(const char *bundle, size_t *len)
{
	char out[4400];

	snprintf(out, sizeof(out), "%s/raw.tar", dir);
	ck_assert_int_eq(molt_test_system("gzip -dc '%s' >'%s'", bundle, out),
			 0);
	return (unsigned char *)molt_test_read_file(out, len);
}

START_TEST(test_sign_leaves_every_other_member_byte_identical)
{
	const char *one = signed_copy(b110, "one.tgz", key1, NULL);
	const char *two = signed_copy(b110, "two.tgz", key1, key2, key1, NULL);
	struct member ma[64], mb[64];
	size_t la, lb, na, nb, j = 0;
	unsigned char *a = gunzip(b110, &la), *b;
	char *sig;

	b = gunzip(two, &lb);
	na = members(a, la, ma, 64);
	nb = members(b, lb, mb, 64);
	ck_assert_uint_eq(nb, na + 1);
	for (size_t i = 0; i < nb; i++) {
		if (strcmp(mb[i].name, MOLT_SIG_FILE) == 0) {
			ck_assert_uint_eq(i, 1); /* after the manifest */
			continue;
		}
		ck_assert_str_eq(mb[i].name, ma[j].name);
		ck_assert_uint_eq(mb[i].len, ma[j].len);
		ck_assert_msg(memcmp(a + ma[j].off, b + mb[i].off, ma[j].len) ==
				      0,
			      "member %s changed", ma[j].name);
		j++;
	}
	free(a);
	free(b);
	/* key1 signed twice: one line per key */
	ck_assert_int_eq(
		molt_test_system("tar -xzf '%s' -C '%s' " MOLT_SIG_FILE, two,
				 dir),
		0);
	snprintf(path, sizeof(path), "%s/" MOLT_SIG_FILE, dir);
	sig = molt_test_read_file(path, NULL);
	ck_assert_ptr_nonnull(strstr(sig, "molt-signatures 1\n"));
	ck_assert_ptr_nonnull(strstr(sig, id1));
	ck_assert_ptr_nonnull(strstr(sig, id2));
	ck_assert_ptr_null(strstr(strstr(sig, id1) + 1, id1));
	free(sig);
	(void)one;
}
END_TEST

START_TEST(test_sign_refuses_a_bundle_that_does_not_match_its_manifest)
{
	molt_err err = MOLT_ERR_INIT;
	const char *bad = remade(b110, "bad.tgz",
				 "printf x >>releases/1.1.0/release.json");
	char *before = molt_test_read_file(bad, NULL), *after;

	ck_assert_int_eq(molt_bundle_sign(NULL, bad, key1, &err), MOLT_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad.tgz"));
	ck_assert_ptr_nonnull(strstr(err.msg, "release.json': sha256 does not "
					      "match"));
	after = molt_test_read_file(bad, NULL);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	snprintf(path, sizeof(path), "%s/none.tgz", dir);
	ck_assert_int_eq(molt_bundle_sign(NULL, path, key1, &err),
			 MOLT_ENOTFOUND);
}
END_TEST

/* molt verify: every difference of a release, and exit 1. */
START_TEST(test_verify_lists_every_difference)
{
	char log[4400], *text;

	trusted_root();
	snprintf(log, sizeof(log), "%s/verify.log", dir);
	ck_assert_int_eq(molt_test_system("%s/releasetool/molt --root '%s' "
					  "verify >'%s'",
					  MOLT_BUILD_DIR, root, log),
			 0);
	ck_assert_int_eq(
		molt_test_system("cd '%s/lib/kvs-1.0.0' && printf x "
				 ">>modules/kvs_util.so && rm app.json && "
				 "echo hi >modules/extra.so",
				 root),
		0);
	ck_assert_int_ne(molt_test_system("%s/releasetool/molt --root '%s' "
					  "verify 1.0.0 >'%s'",
					  MOLT_BUILD_DIR, root, log),
			 0);
	text = molt_test_read_file(log, NULL);
	ck_assert_ptr_nonnull(strstr(text, "1.0.0: lib/kvs-1.0.0/app.json: "
					   "missing"));
	ck_assert_ptr_nonnull(strstr(text, "lib/kvs-1.0.0/modules/kvs_util.so: "
					   "sha256 "));
	ck_assert_ptr_nonnull(strstr(text, "does not match the manifest"));
	ck_assert_ptr_nonnull(strstr(text, "lib/kvs-1.0.0/modules/extra.so: "
					   "not in the manifest"));
	free(text);
	/* the kept manifest edited to cover the changed module: the kept
	 * signature no longer holds */
	ck_assert_int_eq(
		molt_test_system(
			"cd '%s' && m=lib/kvs-1.0.0/modules/kvs_util.so && "
			"s=$(sha256sum $m | cut -c1-64) && sed -i "
			"\"s|^[0-9a-f]*  $m\\$|$s  $m|\" "
			"releases/1.0.0/MANIFEST.sha256",
			root),
		0);
	ck_assert_int_ne(molt_test_system("%s/releasetool/molt --root '%s' "
					  "verify 1.0.0 >'%s'",
					  MOLT_BUILD_DIR, root, log),
			 0);
	text = molt_test_read_file(log, NULL);
	ck_assert_ptr_nonnull(strstr(text, "changed after key"));
	ck_assert_ptr_null(strstr(text, "kvs_util.so: sha256"));
	free(text);
}
END_TEST

Suite *sign_suite(void)
{
	Suite *s = suite_create("releasetool.sign");
	TCase *tc = tcase_create("sign");

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
		tc, test_keygen_writes_a_private_secret_key_and_a_public_key);
	tcase_add_test(
		tc, test_signed_bundle_unpacks_into_a_root_that_trusts_its_key);
	tcase_add_test(
		tc, test_root_with_keys_refuses_unsigned_and_untrusted_bundles);
	tcase_add_test(tc,
		       test_root_with_keys_refuses_any_change_after_signing);
	tcase_add_test(tc, test_a_second_manifest_entry_is_refused);
	tcase_add_test(
		tc,
		test_keyless_root_accepts_unsigned_bundles_and_says_so_once);
	tcase_add_test(tc, test_keys_others_can_write_are_refused);
	tcase_add_test(tc, test_trust_remove_names_the_trusted_keys);
	tcase_add_test(tc, test_sign_leaves_every_other_member_byte_identical);
	tcase_add_test(
		tc,
		test_sign_refuses_a_bundle_that_does_not_match_its_manifest);
	tcase_add_test(tc, test_verify_lists_every_difference);
	suite_add_tcase(s, tc);
	return s;
}
