/* libFuzzer target: the appup.json reader and the JSON writers. */
#include <stddef.h>
#include <stdint.h>

#include "molt/appup.h"
#include "molt/buf.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL, *back = NULL;
	molt_buf b = MOLT_BUF_INIT;

	o.json = 1;
	if (molt_appup_parse(&ap, "fuzz.json", (const char *)data, size, &o,
			     &err) < 0)
		return 0;
	molt_appup_check(ap, NULL, NULL, &err);
	/* what we write, we must read back as the same term */
	if (molt_appup_to_json(&b, ap) == 0 &&
	    molt_appup_parse(&back, "back.json", b.ptr, b.len, &o, &err) == 0 &&
	    !molt_term_equal(ap->term, back->term))
		__builtin_trap();
	molt_appup_free(back);
	molt_buf_release(&b);
	molt_appup_free(ap);
	return 0;
}
