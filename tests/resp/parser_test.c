/* fixtures/resp: the RESP2 request parser (resp_parser_*, resp_cmd_*). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "resp.h"
#include "test_util.h"

#define MIB ((size_t)1024 * 1024)

/* A pipeline of every kind of request, with the transcript it gives. */
static const char pipeline[] =
	"*1\r\n$4\r\nPING\r\n"
	"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nb\0\r\n"
	"\r\n"
	"get k\r\n"
	"*0\r\n"
	"  ECHO  \"x y\\x41\" 'it\\'s'  \n"
	"*-1\r\n"
	"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
	"PING";
static const char pipeline_says[] = "[PING]\n"
				    "[SET|k|a\\x0d\\x0ab\\x00]\n"
				    "[get|k]\n"
				    "[ECHO|x yA|it's]\n"
				    "[ECHO|]\n"
				    "EAGAIN\n";

/* --- helpers --- */

static void put_arg(FILE *f, resp_str a)
{
	for (size_t i = 0; i < a.len; i++) {
		unsigned char c = (unsigned char)a.ptr[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
	ck_assert_int_eq(a.ptr[a.len], '\0'); /* arguments end in a NUL */
}

/* Take every command out of p, writing one line each to f ("[a|b]"),
 * then how it stopped. Returns the last status. */
static int drain(FILE *f, resp_parser *p)
{
	resp_cmd cmd;
	int rc;

	while ((rc = resp_parser_next(&cmd, p)) == RESP_OK) {
		fputc('[', f);
		for (size_t i = 0; i < cmd.argc; i++) {
			if (i > 0)
				fputc('|', f);
			put_arg(f, resp_cmd_arg(&cmd, i));
		}
		fputs("]\n", f);
	}
	return rc;
}

/* Feed n bytes at in, cut at the ascending offsets cuts[0..ncuts), taking
 * the commands out after each piece. Returns the transcript (free()):
 * the commands, then "EAGAIN" or the error reply. */
static char *transcript(const char *in, size_t n, const size_t *cuts,
			size_t ncuts, const resp_limits *limits)
{
	resp_parser p;
	char *text = NULL;
	size_t text_len, from = 0;
	FILE *f = open_memstream(&text, &text_len);
	int rc = RESP_EAGAIN;

	ck_assert_ptr_nonnull(f);
	resp_parser_init(&p, NULL, limits);
	for (size_t k = 0; k <= ncuts && rc != RESP_EPROTO; k++) {
		size_t to = k < ncuts ? cuts[k] : n;

		rc = resp_parser_feed(&p, in + from, to - from);
		if (rc == RESP_OK)
			rc = drain(f, &p);
		from = to;
	}
	if (rc == RESP_EPROTO)
		fprintf(f, "-%s\n", resp_parser_error(&p));
	else
		fprintf(f, "%s\n", rc == RESP_EAGAIN ? "EAGAIN" : "ENOMEM");
	resp_parser_release(&p);
	fclose(f);
	return text;
}

/* The transcript of in fed whole. */
static char *parse_all(const char *in, size_t n, const resp_limits *limits)
{
	return transcript(in, n, NULL, 0, limits);
}

static void assert_parses_with(const resp_limits *limits, const char *in,
			       const char *says)
{
	char *text = parse_all(in, strlen(in), limits);

	ck_assert_str_eq(text, says);
	free(text);
}

static void assert_parses(const char *in, const char *says)
{
	assert_parses_with(NULL, in, says);
}

/* A small xorshift PRNG, so every run cuts the same way. */
static unsigned long long next_random(unsigned long long *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* --- commands --- */

START_TEST(test_parser_returns_a_multibulk_command)
{
	assert_parses("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
		      "[GET|key]\nEAGAIN\n");
}
END_TEST

START_TEST(test_parser_returns_inline_commands)
{
	assert_parses("PING\r\nPING\n  set\tk  v \r\n",
		      "[PING]\n[PING]\n[set|k|v]\nEAGAIN\n");
}
END_TEST

START_TEST(test_parser_returns_a_pipeline_in_order)
{
	char *text = parse_all(pipeline, sizeof(pipeline) - 1, NULL);

	ck_assert_str_eq(text, pipeline_says);
	free(text);
}
END_TEST

START_TEST(test_parser_gives_the_same_commands_fed_byte_by_byte)
{
	size_t n = sizeof(pipeline) - 1, cuts[sizeof(pipeline)];
	char *text;

	for (size_t i = 0; i + 1 < n; i++)
		cuts[i] = i + 1;
	text = transcript(pipeline, n, cuts, n - 1, NULL);
	ck_assert_str_eq(text, pipeline_says);
	free(text);
}
END_TEST

START_TEST(test_parser_gives_the_same_commands_for_every_one_or_two_cuts)
{
	size_t n = sizeof(pipeline) - 1, cuts[2];
	char *text;

	for (cuts[0] = 0; cuts[0] <= n; cuts[0]++) {
		for (cuts[1] = cuts[0]; cuts[1] <= n; cuts[1]++) {
			text = transcript(pipeline, n, cuts, 2, NULL);
			ck_assert_msg(strcmp(text, pipeline_says) == 0,
				      "cut at %zu and %zu: %s", cuts[0],
				      cuts[1], text);
			free(text);
		}
	}
}
END_TEST

START_TEST(test_parser_gives_the_same_commands_for_random_chunks)
{
	size_t n = sizeof(pipeline) - 1, cuts[sizeof(pipeline)], ncuts;
	unsigned long long seed = 0x5eed;
	char *text;

	for (int round = 0; round < 2000; round++) {
		size_t at = 0;

		for (ncuts = 0; at < n; ncuts++) {
			at += 1 + next_random(&seed) % 24;
			cuts[ncuts] = at < n ? at : n;
		}
		text = transcript(pipeline, n, cuts, ncuts, NULL);
		ck_assert_msg(strcmp(text, pipeline_says) == 0,
			      "round %d (seed 0x5eed): %s", round, text);
		free(text);
	}
}
END_TEST

START_TEST(test_parser_skips_empty_lines_and_empty_multibulks)
{
	resp_parser p;
	resp_cmd cmd;
	const char in[] = "\r\n\n   \r\n*0\r\n*-1\r\n*-5\r\n";

	assert_parses(in, "EAGAIN\n");
	resp_parser_init(&p, NULL, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, in, sizeof(in) - 1), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EAGAIN);
	ck_assert_int_eq(resp_parser_state(&p), RESP_STATE_IDLE);
	ck_assert_uint_eq(resp_parser_memory(&p), 0);
	resp_parser_release(&p);
}
END_TEST

START_TEST(test_parser_keeps_bulks_binary_safe)
{
	static const char in[] = "*2\r\n$4\r\n\r\n\r\n\r\n$3\r\n\0\0\0\r\n";
	char *text = parse_all(in, sizeof(in) - 1, NULL);

	ck_assert_str_eq(text, "[\\x0d\\x0a\\x0d\\x0a|\\x00\\x00\\x00]\n"
			       "EAGAIN\n");
	free(text);
}
END_TEST

START_TEST(test_parser_splits_inline_quotes_as_redis_does)
{
	assert_parses("SET \"a b\" 'c d'\r\n", "[SET|a b|c d]\nEAGAIN\n");
	assert_parses("ECHO \"x\\x41\\n\\t\\\"\"\r\n",
		      "[ECHO|xA\\x0a\\x09\"]\nEAGAIN\n");
	assert_parses("ECHO 'a\\nb' 'it\\'s'\r\n",
		      "[ECHO|a\\x5cnb|it's]\nEAGAIN\n");
	assert_parses("ECHO \"\" ''\r\n", "[ECHO||]\nEAGAIN\n");
	assert_parses("ECHO a\"b c\"\r\n", "[ECHO|ab c]\nEAGAIN\n");
}
END_TEST

START_TEST(test_parser_refuses_unbalanced_quotes)
{
	const char *msg = "-ERR Protocol error: unbalanced quotes in request\n";

	assert_parses("SET \"a b\r\nPING\r\n", msg);
	assert_parses("ECHO \"a\"b\r\n", msg);
	assert_parses("ECHO 'a'b\r\n", msg);
	assert_parses("ECHO 'abc\r\n", msg);
	assert_parses("ECHO \"abc\\\"\r\n", msg);
}
END_TEST

START_TEST(test_parser_returns_ten_thousand_pipelined_commands_in_order)
{
	resp_parser p;
	resp_cmd cmd;
	char *in = NULL, want[32];
	size_t len = 0;
	FILE *f = open_memstream(&in, &len);
	int i;

	for (i = 0; i < 10000; i++) {
		if (i % 2)
			fprintf(f, "*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n",
				snprintf(want, sizeof(want), "%d", i), i);
		else
			fprintf(f, "ECHO %d\r\n", i);
	}
	fclose(f);
	resp_parser_init(&p, NULL, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, in, len), RESP_OK);
	for (i = 0; resp_parser_next(&cmd, &p) == RESP_OK; i++) {
		snprintf(want, sizeof(want), "%d", i);
		ck_assert(resp_cmd_is(&cmd, "echo"));
		ck_assert_str_eq(resp_cmd_arg(&cmd, 1).ptr, want);
	}
	ck_assert_int_eq(i, 10000);
	ck_assert_int_eq(resp_parser_state(&p), RESP_STATE_IDLE);
	resp_parser_release(&p);
	free(in);
}
END_TEST

/* --- errors and limits --- */

START_TEST(test_parser_refuses_bad_lengths_with_redis_messages)
{
	const char *bulk = "-ERR Protocol error: invalid bulk length\n";
	const char *mbulk = "-ERR Protocol error: invalid multibulk length\n";

	assert_parses("*1\r\n$2147483648\r\n", bulk);
	assert_parses("*1\r\n$9223372036854775808\r\n", bulk);
	assert_parses("*1\r\n$9223372036854775807\r\n", bulk);
	assert_parses("*1\r\n$-1\r\n", bulk);
	assert_parses("*1\r\n$x\r\n", bulk);
	assert_parses("*1\r\n$04\r\nPING\r\n", bulk);
	assert_parses("*1\r\n$+4\r\nPING\r\n", bulk);
	assert_parses("*1\r\n$\r\n", bulk);
	assert_parses("*1\r\n$4\rxPING\r\n", bulk);
	assert_parses("*x\r\n", mbulk);
	assert_parses("*\r\n", mbulk);
	assert_parses("*1 \r\n", mbulk);
	assert_parses("*1048577\r\n", mbulk);
	assert_parses("*9223372036854775808\r\n", mbulk);
	assert_parses("*1\rx", mbulk);
}
END_TEST

START_TEST(test_parser_refuses_what_redis_refuses_between_bulks)
{
	assert_parses("*1\r\nPING\r\n",
		      "-ERR Protocol error: expected '$', got 'P'\n");
	assert_parses("*2\r\n$1\r\na\r\n\r\n",
		      "-ERR Protocol error: expected '$', got '\\x0d'\n");
	assert_parses("*1\r\n$4\r\nPINGxx",
		      "-ERR Protocol error: expected CRLF after bulk data\n");
	assert_parses("*1\r\n$4\r\nPING\rx",
		      "-ERR Protocol error: expected CRLF after bulk data\n");
}
END_TEST

START_TEST(test_parser_returns_commands_before_the_error)
{
	assert_parses("PING\r\n*1\r\n$x\r\nPING\r\n",
		      "[PING]\n-ERR Protocol error: invalid bulk length\n");
}
END_TEST

START_TEST(test_parser_limits_lines_to_64_kib)
{
	size_t max = RESP_DEFAULT_MAX_INLINE;
	char *in = malloc(max + 16), *text;

	memset(in, 'A', max + 16);
	text = parse_all(in, max, NULL);
	ck_assert_str_eq(text, "EAGAIN\n");
	free(text);
	text = parse_all(in, max + 1, NULL);
	ck_assert_str_eq(text, "-ERR Protocol error: too big inline request\n");
	free(text);
	memcpy(in + max, "\r\n", 2); /* 64 KiB and its "\r\n" */
	text = parse_all(in, max + 2, NULL);
	ck_assert_uint_eq(strlen(text), max + 3 + 7);
	free(text);
	memset(in, 'A', max + 16);
	memcpy(in, "*", 1);
	text = parse_all(in, max + 16, NULL);
	ck_assert_str_eq(text,
			 "-ERR Protocol error: too big mbulk count string\n");
	free(text);
	memcpy(in, "*1\r\n$", 5);
	text = parse_all(in, max + 16, NULL);
	ck_assert_str_eq(text,
			 "-ERR Protocol error: too big bulk count string\n");
	free(text);
	free(in);
}
END_TEST

START_TEST(test_parser_applies_configured_limits)
{
	resp_limits lim = {.max_bulk = 3, .max_multibulk = 2, .max_inline = 8};

	assert_parses_with(&lim, "*2\r\n$3\r\nabc\r\n$4\r\nabcd\r\n",
			   "-ERR Protocol error: invalid bulk length\n");
	assert_parses_with(&lim, "*3\r\n",
			   "-ERR Protocol error: invalid multibulk length\n");
	assert_parses_with(&lim, "ECHO abc\r\nECHO abcd\r\n",
			   "[ECHO|abc]\n"
			   "-ERR Protocol error: too big inline request\n");
}
END_TEST

START_TEST(test_parser_closes_after_a_protocol_error)
{
	resp_parser p;
	resp_cmd cmd;

	resp_parser_init(&p, NULL, NULL);
	ck_assert_str_eq(resp_parser_error(&p), "");
	ck_assert_int_eq(resp_parser_feed(&p, "*1\r\n$x\r\n", 8), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EPROTO);
	ck_assert_int_eq(resp_parser_state(&p), RESP_STATE_CLOSING);
	ck_assert_str_eq(resp_parser_error(&p),
			 "ERR Protocol error: invalid bulk length");
	ck_assert_int_eq(resp_parser_feed(&p, "PING\r\n", 6), RESP_EPROTO);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EPROTO);
	ck_assert_uint_eq(resp_parser_buffered(&p), 0);
	ck_assert_uint_eq(resp_parser_memory(&p), 0);
	resp_parser_release(&p);
}
END_TEST

START_TEST(test_parser_survives_garbage)
{
	unsigned long long seed = 0x9a4bae;
	char in[512];

	for (int round = 0; round < 3000; round++) {
		size_t n = 1 + next_random(&seed) % sizeof(in);
		char *text;

		for (size_t i = 0; i < n; i++) {
			unsigned long long r = next_random(&seed);

			/* bias towards the bytes the grammar cares about */
			in[i] = r % 4 ? "*$\r\n0123-\" '\\x"[r % 15] : (char)r;
		}
		text = parse_all(in, n, NULL);
		ck_assert(strstr(text, "EAGAIN") ||
			  strstr(text, "-ERR Protocol error: "));
		free(text);
	}
}
END_TEST

/* --- bounded memory --- */

START_TEST(test_parser_refuses_a_gib_line_after_64_kib_in_small_reads)
{
	resp_parser p;
	resp_cmd cmd;
	char chunk[4096];
	size_t fed = 0;
	int rc = RESP_OK;

	memset(chunk, 'x', sizeof(chunk));
	resp_parser_init(&p, NULL, NULL);
	while (rc != RESP_EPROTO && fed < 1024 * MIB) {
		ck_assert_int_eq(resp_parser_feed(&p, chunk, sizeof(chunk)),
				 RESP_OK);
		fed += sizeof(chunk);
		rc = resp_parser_next(&cmd, &p);
		ck_assert_uint_le(resp_parser_memory(&p), 128 * 1024);
	}
	ck_assert_int_eq(rc, RESP_EPROTO);
	ck_assert_uint_le(fed, RESP_DEFAULT_MAX_INLINE + sizeof(chunk));
	ck_assert_str_eq(resp_parser_error(&p),
			 "ERR Protocol error: too big inline request");
	resp_parser_release(&p);
}
END_TEST

START_TEST(test_parser_holds_one_read_of_a_gib_line_in_mib_reads)
{
	resp_parser p;
	resp_cmd cmd;
	char *chunk = malloc(MIB);
	int rc = RESP_OK, reads;

	memset(chunk, 'x', MIB);
	resp_parser_init(&p, NULL, NULL);
	for (reads = 0; reads < 1024; reads++) {
		rc = resp_parser_feed(&p, chunk, MIB);
		if (rc == RESP_OK)
			rc = resp_parser_next(&cmd, &p);
		ck_assert_uint_le(resp_parser_buffered(&p), MIB);
		ck_assert_uint_le(resp_parser_memory(&p), MIB + 4096);
	}
	ck_assert_int_eq(rc, RESP_EPROTO);
	ck_assert_uint_eq(resp_parser_memory(&p), 0);
	resp_parser_release(&p);
	free(chunk);
}
END_TEST

START_TEST(test_parser_grows_a_big_bulk_only_as_its_bytes_arrive)
{
	resp_parser p;
	resp_cmd cmd;
	const char head[] = "*2\r\n$3\r\nSET\r\n$536870912\r\n";
	char data[1000];

	memset(data, 'v', sizeof(data));
	resp_parser_init(&p, NULL, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, head, sizeof(head) - 1), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EAGAIN);
	ck_assert_int_eq(resp_parser_feed(&p, data, sizeof(data)), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EAGAIN);
	ck_assert_int_eq(resp_parser_state(&p), RESP_STATE_PARTIAL);
	ck_assert_uint_le(resp_parser_memory(&p), 4096);
	resp_parser_release(&p);
}
END_TEST

START_TEST(test_parser_allocates_nothing_for_a_huge_count)
{
	resp_parser p;
	resp_cmd cmd;

	resp_parser_init(&p, NULL, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, "*1048576\r\n$1\r\na\r\n", 17),
			 RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EAGAIN);
	ck_assert_uint_le(resp_parser_memory(&p), 1024);
	resp_parser_release(&p);
}
END_TEST

START_TEST(test_parser_gives_memory_back_when_drained)
{
	resp_parser p;
	resp_cmd cmd;

	resp_parser_init(&p, NULL, NULL);
	ck_assert_uint_eq(resp_parser_memory(&p), 0);
	ck_assert_int_eq(resp_parser_feed(&p, "PING\r\nPI", 8), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EAGAIN);
	ck_assert_int_eq(resp_parser_state(&p), RESP_STATE_PARTIAL);
	ck_assert_uint_eq(resp_parser_buffered(&p), 2);
	ck_assert_int_eq(resp_parser_feed(&p, "NG\r\n", 4), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_OK);
	ck_assert(resp_cmd_is(&cmd, "PING"));
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_EAGAIN);
	ck_assert_int_eq(resp_parser_state(&p), RESP_STATE_IDLE);
	ck_assert_uint_eq(resp_parser_memory(&p), 0);
	resp_parser_release(&p);
}
END_TEST

/* --- the allocator --- */

struct budget {
	int calls_left; /* allocations that succeed before they fail */
	int live;	/* blocks allocated and not freed */
};

static void *budget_realloc(void *ptr, size_t size, void *payload)
{
	struct budget *b = payload;

	if (b->calls_left-- <= 0)
		return NULL;
	b->live += ptr == NULL;
	return realloc(ptr, size);
}

static void budget_free(void *ptr, void *payload)
{
	struct budget *b = payload;

	b->live--;
	free(ptr);
}

START_TEST(test_parser_is_unchanged_when_memory_runs_out)
{
	struct budget b = {0, 0};
	resp_allocator alloc = {budget_realloc, budget_free, &b};
	resp_parser p;
	resp_cmd cmd;

	resp_parser_init(&p, &alloc, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, "ECHO a\r\n", 8), RESP_ENOMEM);
	ck_assert_uint_eq(resp_parser_buffered(&p), 0);
	b.calls_left = 1; /* the buffer, not the argument table */
	ck_assert_int_eq(resp_parser_feed(&p, "ECHO a\r\n", 8), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_ENOMEM);
	b.calls_left = 1;
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_OK);
	ck_assert_str_eq(resp_cmd_arg(&cmd, 1).ptr, "a");
	b.calls_left = 0;
	ck_assert_int_eq(resp_parser_feed(&p, "*1\r\n$1\r\nb\r\n", 11),
			 RESP_ENOMEM);
	b.calls_left = 2; /* the buffer and the argument table */
	ck_assert_int_eq(resp_parser_feed(&p, "*1\r\n$1\r\nb\r\n", 11),
			 RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_OK);
	ck_assert(resp_cmd_is(&cmd, "b"));
	resp_parser_release(&p);
	ck_assert_int_eq(b.live, 0);
}
END_TEST

/* --- command accessors --- */

START_TEST(test_cmd_accessors_ignore_case_and_check_numbers)
{
	resp_parser p;
	resp_cmd cmd;
	long long n = 7;
	const char in[] = "sEt k 10 ex -5 01 9223372036854775808 x\r\n";

	resp_parser_init(&p, NULL, NULL);
	ck_assert_int_eq(resp_parser_feed(&p, in, sizeof(in) - 1), RESP_OK);
	ck_assert_int_eq(resp_parser_next(&cmd, &p), RESP_OK);
	ck_assert(resp_cmd_is(&cmd, "SET"));
	ck_assert(!resp_cmd_is(&cmd, "SE"));
	ck_assert(!resp_cmd_is(&cmd, "SETX"));
	ck_assert(resp_cmd_arg_is(&cmd, 3, "EX"));
	ck_assert(!resp_cmd_arg_is(&cmd, 99, "EX"));
	ck_assert_int_eq(resp_cmd_arg_ll(&n, &cmd, 2), RESP_OK);
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(resp_cmd_arg_ll(&n, &cmd, 4), RESP_OK);
	ck_assert_int_eq(n, -5);
	ck_assert_int_eq(resp_cmd_arg_ll(&n, &cmd, 5), RESP_EINVAL);
	ck_assert_int_eq(resp_cmd_arg_ll(&n, &cmd, 6), RESP_EINVAL);
	ck_assert_int_eq(resp_cmd_arg_ll(&n, &cmd, 7), RESP_EINVAL);
	ck_assert_int_eq(resp_cmd_arg_ll(&n, &cmd, 8), RESP_EINVAL);
	ck_assert_int_eq(n, -5);
	ck_assert_ptr_null(resp_cmd_arg(&cmd, 8).ptr);
	resp_parser_release(&p);
}
END_TEST

START_TEST(test_parse_ll_takes_what_redis_takes)
{
	long long n;

	ck_assert_int_eq(resp_parse_ll(&n, "0", 1), RESP_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(resp_parse_ll(&n, "9223372036854775807", 19), RESP_OK);
	ck_assert(n == 9223372036854775807LL);
	ck_assert_int_eq(resp_parse_ll(&n, "-9223372036854775808", 20),
			 RESP_OK);
	ck_assert(n == -9223372036854775807LL - 1);
	ck_assert_int_eq(resp_parse_ll(&n, "-9223372036854775809", 20),
			 RESP_EINVAL);
	ck_assert_int_eq(resp_parse_ll(&n, "-0", 2), RESP_EINVAL);
	ck_assert_int_eq(resp_parse_ll(&n, "-", 1), RESP_EINVAL);
	ck_assert_int_eq(resp_parse_ll(&n, "", 0), RESP_EINVAL);
	ck_assert_int_eq(resp_parse_ll(&n, " 1", 2), RESP_EINVAL);
	ck_assert_int_eq(resp_parse_ll(&n, "1 ", 2), RESP_EINVAL);
}
END_TEST

Suite *parser_suite(void)
{
	Suite *s = suite_create("resp.parser");
	TCase *tc = tcase_create("parser");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_parser_returns_a_multibulk_command);
	tcase_add_test(tc, test_parser_returns_inline_commands);
	tcase_add_test(tc, test_parser_returns_a_pipeline_in_order);
	tcase_add_test(tc,
		       test_parser_gives_the_same_commands_fed_byte_by_byte);
	tcase_add_test(
		tc,
		test_parser_gives_the_same_commands_for_every_one_or_two_cuts);
	tcase_add_test(tc,
		       test_parser_gives_the_same_commands_for_random_chunks);
	tcase_add_test(tc, test_parser_skips_empty_lines_and_empty_multibulks);
	tcase_add_test(tc, test_parser_keeps_bulks_binary_safe);
	tcase_add_test(tc, test_parser_splits_inline_quotes_as_redis_does);
	tcase_add_test(tc, test_parser_refuses_unbalanced_quotes);
	tcase_add_test(
		tc,
		test_parser_returns_ten_thousand_pipelined_commands_in_order);
	tcase_add_test(tc, test_parser_refuses_bad_lengths_with_redis_messages);
	tcase_add_test(tc,
		       test_parser_refuses_what_redis_refuses_between_bulks);
	tcase_add_test(tc, test_parser_returns_commands_before_the_error);
	tcase_add_test(tc, test_parser_limits_lines_to_64_kib);
	tcase_add_test(tc, test_parser_applies_configured_limits);
	tcase_add_test(tc, test_parser_closes_after_a_protocol_error);
	tcase_add_test(tc, test_parser_survives_garbage);
	tcase_add_test(
		tc, test_parser_refuses_a_gib_line_after_64_kib_in_small_reads);
	tcase_add_test(tc,
		       test_parser_holds_one_read_of_a_gib_line_in_mib_reads);
	tcase_add_test(tc,
		       test_parser_grows_a_big_bulk_only_as_its_bytes_arrive);
	tcase_add_test(tc, test_parser_allocates_nothing_for_a_huge_count);
	tcase_add_test(tc, test_parser_gives_memory_back_when_drained);
	tcase_add_test(tc, test_parser_is_unchanged_when_memory_runs_out);
	tcase_add_test(tc, test_cmd_accessors_ignore_case_and_check_numbers);
	tcase_add_test(tc, test_parse_ll_takes_what_redis_takes);
	suite_add_tcase(s, tc);
	return s;
}
