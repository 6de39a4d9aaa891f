/* test_ratelimit - token buckets: burst, refill, Retry-After, eviction. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "api/ratelimit.h"

START_TEST(burst_then_refill)
{
	struct ratelimit *rl = ratelimit_new(2, 3, 0, 42);

	ck_assert_ptr_nonnull(rl);
	/* Three at once, the fourth waits half a second: Retry-After 1. */
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1000), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1000), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1000), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1000), 1);
	/* Another client has its own bucket. */
	ck_assert_uint_eq(ratelimit_take(rl, "b", 1, 1000), 0);
	/* 499 ms later: still empty; at 500 ms one token. */
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1499), 1);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1500), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 1500), 1);
	/* A long pause refills to the burst, not beyond. */
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 100000), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 100000), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 100000), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "a", 1, 100000), 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(slow_rate_retry_after)
{
	/* One token a second... and a burst of one: an empty bucket waits
	 * a whole second. With 1/s the wait is rounded up, never 0. */
	struct ratelimit *rl = ratelimit_new(1, 1, 0, 7);

	ck_assert_uint_eq(ratelimit_take(rl, "k", 1, 0), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "k", 1, 0), 1);
	ck_assert_uint_eq(ratelimit_take(rl, "k", 1, 999), 1);
	ck_assert_uint_eq(ratelimit_take(rl, "k", 1, 1000), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(bounded_table)
{
	/* 8 entries: a flood of clients evicts, and an evicted client
	 * comes back with a full bucket rather than being refused. */
	struct ratelimit *rl = ratelimit_new(1, 1, 8, 3);
	char key[32];

	ck_assert_uint_eq(ratelimit_take(rl, "victim", 6, 0), 0);
	ck_assert_uint_eq(ratelimit_take(rl, "victim", 6, 0), 1);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "flood%d", i);
		ck_assert_uint_eq(ratelimit_take(rl, key, strlen(key), 1), 0);
	}
	ck_assert_uint_eq(ratelimit_take(rl, "victim", 6, 2), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(bad_arguments)
{
	ck_assert_ptr_null(ratelimit_new(0, 1, 0, 0));
	ck_assert_ptr_null(ratelimit_new(1, 0, 0, 0));
	ck_assert_ptr_null(ratelimit_new(1, 1, RATELIMIT_CAPACITY_MAX + 1, 0));
	ratelimit_free(NULL);
}
END_TEST

Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("bucket");

	tcase_add_test(tc, burst_then_refill);
	tcase_add_test(tc, slow_rate_retry_after);
	tcase_add_test(tc, bounded_table);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}
