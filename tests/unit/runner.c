/* runner - the Check runner of one layer's unit tests.
 * The list of suites comes from the file names (see the Makefile's
 * suites_%.h rule); each suite runs every test in its own process (Check's
 * fork mode, as libuv's runner), so a crash fails one test, not the run.
 * Exit status: 0 when every test passed. */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name##_suite(void);
#include SUITES
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, name##_suite());
#include SUITES
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
