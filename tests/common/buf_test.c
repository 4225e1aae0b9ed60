/* molt_buf, atomic writes and the failing allocator. */
#include "molt/buf.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "test_util.h"

START_TEST(test_buf_appends_and_stays_terminated)
{
	molt_buf b = MOLT_BUF_INIT;

	ck_assert_str_eq(b.ptr, "");
	ck_assert_int_eq(molt_buf_puts(&b, "hello"), MOLT_OK);
	ck_assert_int_eq(molt_buf_printf(&b, " %d %s", 42, "x"), MOLT_OK);
	ck_assert_str_eq(b.ptr, "hello 42 x");
	ck_assert_uint_eq(b.len, 10);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(molt_buf_putc(&b, 'a'), MOLT_OK);
	ck_assert_uint_eq(b.len, 1010);
	ck_assert_int_eq(b.ptr[1010], '\0');
	molt_buf_release(&b);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_buf_keeps_contents_when_growth_fails)
{
	molt_buf b = MOLT_BUF_INIT;

	ck_assert_int_eq(molt_buf_puts(&b, "keep"), MOLT_OK);
	molt_alloc_fail_after(1);
	ck_assert_int_eq(molt_buf_grow(&b, 1u << 20), MOLT_ENOMEM);
	molt_alloc_fail_after(0);
	ck_assert_str_eq(b.ptr, "keep");
	molt_buf_release(&b);
}
END_TEST

START_TEST(test_write_file_atomic_replaces_whole_file)
{
	char dir[256], path[512];
	molt_buf b = MOLT_BUF_INIT;
	molt_err err = MOLT_ERR_INIT;

	molt_test_mkdtemp(dir, sizeof(dir), "buf");
	snprintf(path, sizeof(path), "%s/f.json", dir);
	ck_assert_int_eq(molt_write_file_atomic(path, "one", 3, &err), 0);
	ck_assert_int_eq(molt_write_file_atomic(path, "second", 6, &err), 0);
	ck_assert_int_eq(molt_buf_read_file(&b, path, &err), MOLT_OK);
	ck_assert_str_eq(b.ptr, "second");
	molt_buf_release(&b);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(molt_buf_read_file(&b, path, &err), MOLT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
	molt_test_rmrf(dir);
}
END_TEST

Suite *buf_suite(void)
{
	Suite *s = suite_create("common.buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_buf_appends_and_stays_terminated);
	tcase_add_test(tc, test_buf_keeps_contents_when_growth_fails);
	tcase_add_test(tc, test_write_file_atomic_replaces_whole_file);
	suite_add_tcase(s, tc);
	return s;
}
