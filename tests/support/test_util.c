/* Sandboxes, fixture copies and the optional ../shared folder for tests. */
#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "molt/banned.h"

void molt_test_mkdtemp(char *out, size_t outsz, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	ck_assert_int_lt(snprintf(out, outsz, "%s/molt-%s-XXXXXX", tmp, tag),
			 (int)outsz);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

int molt_test_system(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

void molt_test_rmrf(const char *path)
{
	if (path && *path && strcmp(path, "/") != 0)
		molt_test_system("rm -rf '%s'", path);
}

void molt_test_copy_fixture(const char *rel, const char *dir)
{
	ck_assert_int_eq(molt_test_system("cp -R '%s/%s' '%s/'",
					  MOLT_FIXTURES_DIR, rel, dir),
			 0);
}

const char *molt_test_shared_path(const char *rel, const char *what)
{
	static char path[4096];
	const char *base = getenv("MOLT_SHARED_DIR");
	struct stat st;

	if (!base || !*base)
		base = MOLT_SHARED_DIR;
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	if (stat(path, &st) == 0)
		return path;
	fprintf(stderr,
		"SKIP: %s: '%s' is not there (clone ../shared beside "
		"the project to run it)\n",
		what, path);
	return NULL;
}

char *molt_test_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
		goto out;
	}
	if (p) {
		p[n] = '\0';
		if (len_out)
			*len_out = (size_t)n;
	}
out:
	fclose(f);
	return p;
}
