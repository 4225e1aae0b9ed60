/* main() for one Check suite: runs MOLT_SUITE_FN() in fork mode. */
#include <stdlib.h>

#include <check.h>

Suite *MOLT_SUITE_FN(void);

int main(void)
{
	SRunner *sr = srunner_create(MOLT_SUITE_FN());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
