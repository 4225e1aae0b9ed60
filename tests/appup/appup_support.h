/* Helpers for the appup suites: app models written as terms. */
#ifndef MOLT_TESTS_APPUP_SUPPORT_H
#define MOLT_TESTS_APPUP_SUPPORT_H

#include "molt/appup.h"

/*
 * The text of a string (or a list of character codes, as ~w writes it) or
 * of an atom; NULL for anything else. In arena a when it is built.
 */
const char *appup_test_str(molt_arena *a, const molt_term *t);

/*
 * Fill apps (up to max) from a list of {Name, Vsn, Type, [Module]} terms.
 * Strings point into the terms' arena. Returns the count, or -1.
 */
int appup_test_apps(molt_arena *a, const molt_term *list, molt_appinfo *apps,
		    size_t max);

/* Read a whole file of terms (every term); NULL on failure (message on
 * stderr). */
molt_term *appup_test_read_terms(molt_arena *a, const char *path);

#endif
