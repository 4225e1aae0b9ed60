#include <check.h>

#include "test_util.h"

Suite *mailbox_suite(void)
{
	return suite_create("mailbox");
}
