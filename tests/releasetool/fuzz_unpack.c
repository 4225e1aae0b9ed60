/* libFuzzer target: molt_release_unpack on arbitrary bytes. Whatever the
 * input, unpack either succeeds or fails with a message; it never
 * crashes, leaks or writes outside its root. Built with -DMOLT_FUZZ=ON
 * (clang); see docs/releases.md. */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "molt/release.h"

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[4096];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* A fresh, empty root for every input. */
static void fresh_root(void)
{
	char p[4200];

	if (!root[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(root, sizeof(root), "%s/molt-fuzz-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(root))
			abort();
	}
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(root, 0755);
	snprintf(p, sizeof(p), "%s/releases", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/lib", root);
	mkdir(p, 0755);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	molt_unpack_options o = MOLT_UNPACK_OPTIONS_INIT;
	molt_err err = MOLT_ERR_INIT;
	char path[64];
	int fd = memfd_create("bundle", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o.limits.max_total = 1 << 22;
	o.limits.max_entries = 256;
	fresh_root();
	if (molt_release_unpack(NULL, root, path, &o, &err) < 0 &&
	    (!err.msg[0] || strchr(err.msg, '\n')))
		abort(); /* every failure has a one-line message */
	close(fd);
	return 0;
}
