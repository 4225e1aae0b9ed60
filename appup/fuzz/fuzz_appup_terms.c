/* libFuzzer target: the term-syntax appup reader, check and translation. */
#include <stddef.h>
#include <stdint.h>

#include "molt/appup.h"
#include "molt/buf.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const molt_modinfo mods[] = {{"m", NULL, 0, 0, NULL},
				    {"a", NULL, 0, 0, NULL},
				    {"b", NULL, 0, 0, NULL}};
static const molt_appinfo app = {"x", "2", "permanent", mods, 3, NULL};

/* Both writers' output must read back as the same term. */
static void round_trip(const molt_appup *ap)
{
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *back = NULL;
	molt_buf b = MOLT_BUF_INIT;
	int json;

	for (json = 0; json < 2; json++) {
		o.json = json;
		molt_buf_clear(&b);
		if ((json ? molt_appup_to_json(&b, ap)
			  : molt_appup_to_terms(&b, ap)) < 0)
			continue;
		if (molt_appup_parse(&back, "back", b.ptr, b.len, &o, &err) <
			    0 ||
		    !molt_term_equal(ap->term, back->term))
			__builtin_trap();
		molt_appup_free(back);
		back = NULL;
	}
	molt_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	molt_appup_load_opts o = MOLT_APPUP_LOAD_OPTS_INIT;
	molt_rc_opts ro = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	molt_appup *ap = NULL;
	molt_arena *a;
	molt_term *out;
	size_t i;

	o.json = 0;
	o.vsn = "1.0";
	if (molt_appup_parse(&ap, "fuzz.appup", (const char *)data, size, &o,
			     &err) < 0)
		return 0;
	molt_appup_check(ap, NULL, NULL, &err);
	a = molt_arena_new();
	ro.apps = ro.pre_apps = &app;
	ro.napps = ro.npre_apps = 1;
	for (i = 0; a && i < ap->nup; i++)
		molt_rc_translate(&out, a, &ro, &ap->up[i].instrs, 1, NULL,
				  NULL, &err);
	for (i = 0; i < ap->nup; i++)
		molt_vsn_match(ap->up[i].key, "1.0", &err);
	round_trip(ap);
	molt_arena_free(a);
	molt_appup_free(ap);
	return 0;
}
