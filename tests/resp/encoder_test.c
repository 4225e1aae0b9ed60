/* fixtures/resp: the RESP2 reply encoder (resp_out_*). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "resp.h"
#include "test_util.h"

/* The bytes in out are exactly want (which may hold NULs: wlen bytes). */
static void assert_bytes(const resp_out *out, const char *want, size_t wlen)
{
	ck_assert_uint_eq(out->len, wlen);
	ck_assert_int_eq(memcmp(out->data, want, wlen), 0);
}

#define assert_out(out, lit) assert_bytes((out), (lit), sizeof(lit) - 1)

START_TEST(test_out_encodes_each_reply_type)
{
	resp_out out;

	resp_out_init(&out, NULL);
	ck_assert_int_eq(resp_out_simple(&out, "OK"), RESP_OK);
	ck_assert_int_eq(resp_out_error(&out, "ERR no such key"), RESP_OK);
	ck_assert_int_eq(resp_out_integer(&out, 42), RESP_OK);
	ck_assert_int_eq(resp_out_integer(&out, LLONG_MIN), RESP_OK);
	ck_assert_int_eq(resp_out_bulk(&out, "VXK", 3), RESP_OK);
	ck_assert_int_eq(resp_out_bulk(&out, "", 0), RESP_OK);
	ck_assert_int_eq(resp_out_null(&out), RESP_OK);
	ck_assert_int_eq(resp_out_array(&out, 2), RESP_OK);
	ck_assert_int_eq(resp_out_bulk_str(&out, "save"), RESP_OK);
	ck_assert_int_eq(resp_out_bulk_str(&out, ""), RESP_OK);
	ck_assert_int_eq(resp_out_array(&out, 0), RESP_OK);
	ck_assert_int_eq(resp_out_null_array(&out), RESP_OK);
	assert_out(&out, "+OK\r\n"
			 "-ERR no such key\r\n"
			 ":42\r\n"
			 ":-9223372036854775808\r\n"
			 "$3\r\nVXK\r\n"
			 "$0\r\n\r\n"
			 "$-1\r\n"
			 "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
			 "*0\r\n"
			 "*-1\r\n");
	ck_assert(!out.failed);
	resp_out_release(&out);
}
END_TEST

START_TEST(test_out_keeps_bulks_binary_safe)
{
	resp_out out;

	resp_out_init(&out, NULL);
	ck_assert_int_eq(resp_out_bulk(&out, "a\r\nb\0c", 6), RESP_OK);
	assert_out(&out, "$6\r\na\r\nb\0c\r\n");
	resp_out_release(&out);
}
END_TEST

START_TEST(test_out_never_puts_a_line_break_in_a_line_reply)
{
	resp_out out;

	resp_out_init(&out, NULL);
	ck_assert_int_eq(resp_out_error(&out, "ERR bad\r\n+OK"), RESP_OK);
	ck_assert_int_eq(resp_out_simple(&out, "a\nb\rc"), RESP_OK);
	ck_assert_int_eq(
		resp_out_errorf(&out, "ERR unknown command '%s'", "x\r\ny"),
		RESP_OK);
	assert_out(&out, "-ERR bad  +OK\r\n"
			 "+a b c\r\n"
			 "-ERR unknown command 'x  y'\r\n");
	resp_out_release(&out);
}
END_TEST

START_TEST(test_out_formats_long_errors)
{
	resp_out out;
	char arg[1001];

	memset(arg, 'k', 1000);
	arg[1000] = '\0';
	resp_out_init(&out, NULL);
	ck_assert_int_eq(resp_out_errorf(&out, "ERR key %s too long", arg),
			 RESP_OK);
	ck_assert_uint_eq(out.len, 1 + 8 + 1000 + 9 + 2);
	ck_assert_int_eq(memcmp(out.data + out.len - 11, " too long\r\n", 11),
			 0);
	resp_out_release(&out);
}
END_TEST

START_TEST(test_out_grows_and_resets)
{
	resp_out out;
	size_t cap;

	resp_out_init(&out, NULL);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(resp_out_simple(&out, "OK"), RESP_OK);
	ck_assert_uint_eq(out.len, 50000);
	cap = out.cap;
	resp_out_reset(&out);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(out.cap, cap);
	resp_out_release(&out);
	ck_assert_ptr_null(out.data);
}
END_TEST

struct budget {
	int calls_left; /* allocations that succeed before they fail */
};

static void *budget_realloc(void *ptr, size_t size, void *payload)
{
	struct budget *b = payload;

	if (b->calls_left-- <= 0)
		return NULL;
	return realloc(ptr, size);
}

static void budget_free(void *ptr, void *payload)
{
	(void)payload;
	free(ptr);
}

START_TEST(test_out_is_unchanged_when_memory_runs_out)
{
	struct budget b = {1};
	resp_allocator alloc = {budget_realloc, budget_free, &b};
	resp_out out;
	char big[1000];

	memset(big, 'v', sizeof(big));
	resp_out_init(&out, &alloc);
	ck_assert_int_eq(resp_out_simple(&out, "OK"), RESP_OK);
	ck_assert_int_eq(resp_out_bulk(&out, big, sizeof(big)), RESP_ENOMEM);
	ck_assert_int_eq(resp_out_errorf(&out, "ERR %s", "x"), RESP_OK);
	assert_out(&out, "+OK\r\n-ERR x\r\n");
	ck_assert(out.failed);
	resp_out_release(&out);
}
END_TEST

/* The encoder writes requests too: a command encoded as an array of bulks
 * parses back to the same arguments. */
START_TEST(test_out_array_of_bulks_parses_back)
{
	resp_out out;
	resp_parser p;
	resp_cmd cmd;

	resp_out_init(&out, NULL);
	resp_out_array(&out, 3);
	resp_out_bulk_str(&out, "SET");
	resp_out_bulk(&out, "k\r\n", 3);
	resp_out_bulk(&out, "", 0);
	resp_parser_init(&p, NULL, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, out.data, out.len), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_OK);
	ck_assert_uint_eq(cmd.argc, 3);
	ck_assert(resp_cmd_is(&cmd, "set"));
	ck_assert_uint_eq(resp_cmd_arg(&cmd, 1).len, 3);
	ck_assert_int_eq(memcmp(resp_cmd_arg(&cmd, 1).ptr, "k\r\n", 3), 0);
	ck_assert_uint_eq(resp_cmd_arg(&cmd, 2).len, 0);
	resp_parser_release(&p);
	resp_out_release(&out);
}
END_TEST

Suite *encoder_suite(void)
{
	Suite *s = suite_create("resp.encoder");
	TCase *tc = tcase_create("encoder");

	tcase_add_test(tc, test_out_encodes_each_reply_type);
	tcase_add_test(tc, test_out_keeps_bulks_binary_safe);
	tcase_add_test(tc, test_out_never_puts_a_line_break_in_a_line_reply);
	tcase_add_test(tc, test_out_formats_long_errors);
	tcase_add_test(tc, test_out_grows_and_resets);
	tcase_add_test(tc, test_out_is_unchanged_when_memory_runs_out);
	tcase_add_test(tc, test_out_array_of_bulks_parses_back);
	suite_add_tcase(s, tc);
	return s;
}
