/* Helpers shared by the Check suites: sandboxes, fixtures, ../shared. */
#ifndef MOLT_TEST_UTIL_H
#define MOLT_TEST_UTIL_H

#include <stddef.h>

#include <check.h>

/* Every suite file defines this one function (see cmake/MoltTesting.cmake). */
#ifdef MOLT_SUITE_FN
Suite *MOLT_SUITE_FN(void);
#endif

/*
 * Make a fresh temporary directory (under $TMPDIR or /tmp) and return its
 * path in out (size outsz). Aborts the test on failure.
 */
void molt_test_mkdtemp(char *out, size_t outsz, const char *tag);

/* rm -rf path. Ignores errors. */
void molt_test_rmrf(const char *path);

/* Copy fixtures/<rel> (file or directory) into dir; aborts on failure. */
void molt_test_copy_fixture(const char *rel, const char *dir);

/*
 * Path of ../shared/<rel> beside the source tree, or NULL when that folder
 * is not there. Prints a visible "SKIP: ..." line naming what is skipped
 * when it returns NULL. Returns a static buffer.
 */
const char *molt_test_shared_path(const char *rel, const char *what);

/* Read a whole file; returns owned (free()) contents or NULL. */
char *molt_test_read_file(const char *path, size_t *len_out);

/* Run a shell command; returns its exit status (or -1). */
int molt_test_system(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
