/*
 * molt-probe PATH.so: read a module's descriptor in a process of its own
 * and print it, one field per line, on file descriptor 3 (so that what
 * the module itself prints to stdout cannot be taken for it). moltd runs
 * it for a dry run and molt build to read what a built module declares
 * (molt_probe_read, common/src/probe.c), so that the module's
 * constructors, which dlopen runs, never run inside a live node before an
 * install commits, nor inside molt. Exit 0 with the descriptor, or 1
 * with one "error MESSAGE" line.
 *
 *   molt-probe 1
 *   abi 1
 *   behaviour 1
 *   name kvs_server
 *   vsn 1.1.0
 *   state_vsn 2
 *   callbacks init handle_call handle_cast code_change free_state
 *   export NAME            (one line per export)
 *   end
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "molt/module.h"

#include "molt/banned.h"

/* A string field, printable and on one line, or "" */
static const char *field(const char *s)
{
	if (!s || strlen(s) > 255 || strpbrk(s, "\n\r"))
		return "";
	return s;
}

static void print_callbacks(FILE *out, const molt_module *d)
{
	fprintf(out, "callbacks");
	if (d->init)
		fprintf(out, " init");
	if (d->handle_call)
		fprintf(out, " handle_call");
	if (d->handle_cast)
		fprintf(out, " handle_cast");
	if (d->handle_info)
		fprintf(out, " handle_info");
	if (d->terminate)
		fprintf(out, " terminate");
	if (d->code_change)
		fprintf(out, " code_change");
	if (d->free_state)
		fprintf(out, " free_state");
	if (d->format_state)
		fprintf(out, " format_state");
	fprintf(out, "\n");
}

int main(int argc, char **argv)
{
	FILE *out = fdopen(3, "w");
	const molt_module *d;
	void *h;

	if (!out)
		return 2; /* run by hand: 3>&1 shows the output */
	if (argc != 2) {
		fprintf(out, "error usage: molt-probe PATH.so\n");
		return 1;
	}
	if (!(h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL))) {
		fprintf(out, "error %s\n", field(dlerror()));
		return 1;
	}
	if (!(d = dlsym(h, MOLT_MODULE_SYMBOL))) {
		fprintf(out, "error %s: no %s symbol (not a molt module)\n",
			field(argv[1]), MOLT_MODULE_SYMBOL);
		return 1;
	}
	fprintf(out,
		"molt-probe 1\nabi %u\nbehaviour %u\nname %s\nvsn %s\n"
		"state_vsn %u\n",
		d->abi, d->behaviour, field(d->name), field(d->vsn),
		d->state_vsn);
	print_callbacks(out, d);
	for (size_t i = 0; d->exports && d->exports[i].name && i < 256; i++)
		fprintf(out, "export %s\n", field(d->exports[i].name));
	fprintf(out, "end\n");
	return fclose(out) == 0 ? 0 : 1;
}
