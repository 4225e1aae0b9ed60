/* Parse + compile time of a generated 1,000-instruction appup.
 * Run: build/appup/molt_appup_bench [INSTRUCTIONS] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "molt/appup.h"
#include "molt/buf.h"

/* last: bans unsafe functions (STYLE.md) */
#include "molt/banned.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* An appup with n instructions of every common kind and DepMods chains. */
static int make_appup(molt_buf *b, int n)
{
	int i, rc = molt_buf_puts(b, "{\"2.0\",\n [{\"1.0\",\n   [");

	for (i = 0; rc == 0 && i < n; i++) {
		const char *sep = i ? ",\n    " : "";

		switch (i % 5) {
		case 0:
			rc = molt_buf_printf(
				b, "%s{update, m%d, {advanced, []}}", sep, i);
			break;
		case 1:
			rc = molt_buf_printf(b, "%s{update, m%d, soft, [m%d]}",
					     sep, i, i - 1);
			break;
		case 2:
			rc = molt_buf_printf(b,
					     "%s{load_module, m%d, [m%d, m%d]}",
					     sep, i, i - 1, i - 2);
			break;
		case 3:
			rc = molt_buf_printf(b, "%s{load_module, m%d}", sep, i);
			break;
		default:
			rc = molt_buf_printf(b, "%s{update, m%d, supervisor}",
					     sep, i);
			break;
		}
	}
	return rc ? rc : molt_buf_puts(b, "]}],\n []}.\n");
}

static int one_round(const molt_buf *text, const molt_appinfo *apps,
		     const molt_appinfo *old)
{
	molt_rc_opts o = MOLT_RC_OPTS_INIT;
	molt_err err = MOLT_ERR_INIT;
	const molt_term *instrs;
	molt_term *script;
	molt_arena *a;
	molt_appup *ap;
	int rc;

	if (molt_appup_parse(&ap, "bench.appup", text->ptr, text->len, NULL,
			     &err) < 0 ||
	    molt_appup_search(&instrs, ap, 0, "1.0", &err) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return -1;
	}
	a = molt_arena_new();
	o.apps = apps;
	o.napps = 1;
	o.pre_apps = old;
	o.npre_apps = 1;
	rc = molt_rc_translate(&script, a, &o, &instrs, 1, NULL, NULL, &err);
	if (rc < 0)
		fprintf(stderr, "bench: %s\n", err.msg);
	molt_arena_free(a);
	molt_appup_free(ap);
	return rc;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int rounds = argc > 2 ? atoi(argv[2]) : 50, i;
	molt_modinfo *mods = calloc((size_t)n, sizeof(*mods));
	char(*names)[16] = calloc((size_t)n, 16);
	molt_appinfo app = {"bench", "2.0", "permanent", mods, (size_t)n, NULL};
	molt_appinfo old = {"bench", "1.0", "permanent", mods, (size_t)n, NULL};
	molt_buf text = MOLT_BUF_INIT;
	double t0, best = 1e9, total = 0;

	if (!mods || !names || n < 3 || rounds < 1 || make_appup(&text, n) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		snprintf(names[i], 16, "m%d", i);
		mods[i].name = names[i];
	}
	for (i = 0; i < rounds; i++) {
		double ms;

		t0 = now_ms();
		if (one_round(&text, &app, &old) < 0)
			return 1;
		ms = now_ms() - t0;
		total += ms;
		if (ms < best)
			best = ms;
	}
	printf("appup bench: %d instructions, %zu bytes: parse+compile "
	       "best %.3f ms, mean %.3f ms over %d rounds\n",
	       n, text.len, best, total / rounds, rounds);
	molt_buf_release(&text);
	free(mods);
	free(names);
	return 0;
}
