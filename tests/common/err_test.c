/* molt_err messages and status names. */
#include <string.h>

#include <check.h>

#include "molt/common.h"

#include "test_util.h"

START_TEST(test_err_set_returns_code_and_keeps_one_line)
{
	molt_err err = MOLT_ERR_INIT;

	ck_assert_int_eq(
		molt_err_set(&err, MOLT_ENOTFOUND, "no %s\nhere", "module"),
		MOLT_ENOTFOUND);
	ck_assert_str_eq(err.msg, "no module here");
	ck_assert_int_eq(molt_err_set(NULL, MOLT_EBUSY, "ignored"), MOLT_EBUSY);
}
END_TEST

START_TEST(test_err_prefix_adds_context)
{
	molt_err err = MOLT_ERR_INIT;

	molt_err_set(&err, MOLT_EPARSE, "expected ','");
	ck_assert_int_eq(molt_err_prefix(&err, "%s:%d", "a.appup", 3),
			 MOLT_EPARSE);
	ck_assert_str_eq(err.msg, "a.appup:3: expected ','");
	ck_assert_str_eq(molt_status_name(MOLT_EVERSION), "eversion");
}
END_TEST

START_TEST(test_failing_allocator_fails_from_nth_call)
{
	void *a, *b;

	molt_alloc_fail_after(2);
	a = molt_malloc(8);
	b = molt_malloc(8);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(molt_alloc_failures(), 1);
	molt_alloc_fail_after(0);
	b = molt_malloc(8);
	ck_assert_ptr_nonnull(b);
	molt_free(a);
	molt_free(b);
}
END_TEST

Suite *err_suite(void)
{
	Suite *s = suite_create("common.err");
	TCase *tc = tcase_create("err");

	tcase_add_test(tc, test_err_set_returns_code_and_keeps_one_line);
	tcase_add_test(tc, test_err_prefix_adds_context);
	tcase_add_test(tc, test_failing_allocator_fails_from_nth_call);
	suite_add_tcase(s, tc);
	return s;
}
