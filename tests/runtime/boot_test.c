#include <check.h>

#include "test_util.h"

Suite *boot_suite(void)
{
	return suite_create("boot");
}
