#include <check.h>

#include "test_util.h"

Suite *sup_suite(void)
{
	return suite_create("sup");
}
