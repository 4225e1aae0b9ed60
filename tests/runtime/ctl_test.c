#include <check.h>

#include "test_util.h"

Suite *ctl_suite(void)
{
	return suite_create("ctl");
}
