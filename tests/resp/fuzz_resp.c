/* libFuzzer target for fixtures/resp: the input's first byte sets the read
 * size, the rest is fed in reads of that size; every command returned must
 * have NUL-terminated arguments, and the parser may hold no more than one
 * command the limits allow (max_multibulk bulks) plus one read. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	resp_limits limits = {
		.max_bulk = 64, .max_multibulk = 8, .max_inline = 32};
	resp_parser p;
	resp_cmd cmd;
	size_t chunk, at = 1;
	int rc = RESP_OK;

	if (size == 0)
		return 0;
	chunk = 1 + data[0] % 16;
	resp_parser_init(&p, NULL, &limits);
	while (at < size && rc != RESP_EPROTO) {
		size_t n = size - at < chunk ? size - at : chunk;

		rc = resp_parser_feed(&p, data + at, n);
		at += n;
		while (rc == RESP_OK && (rc = resp_parser_next(&cmd, &p)) == 0)
			for (size_t i = 0; i < cmd.argc; i++)
				assert(resp_cmd_arg(&cmd, i)
					       .ptr[resp_cmd_arg(&cmd, i)
							    .len] == '\0');
		assert(resp_parser_buffered(&p) <=
		       24 + 8 * (24 + 64 + 2) + chunk);
	}
	resp_parser_release(&p);
	return 0;
}
