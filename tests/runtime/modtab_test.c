#include <check.h>

#include "test_util.h"

Suite *modtab_suite(void)
{
	return suite_create("modtab");
}
