/* test_htab - insert, find, remove and growth of the intrusive table. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/htab.h"

struct item {
	struct htab_node node;
	char key[16];
};

static bool item_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct item *it = htab_entry(n, struct item, node);
	return strlen(it->key) == len && memcmp(it->key, key, len) == 0;
}

START_TEST(many_keys_survive_growth_and_removal)
{
	static struct item items[5000];
	struct htab t;

	ck_assert_int_eq(htab_init(&t, item_eq), 0);
	for (int i = 0; i < 5000; i++) {
		snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
		htab_insert(&t, &items[i].node, items[i].key,
			    strlen(items[i].key));
	}
	ck_assert_uint_eq(t.count, 5000);
	ck_assert_uint_ge(t.nbuckets, 4096);
	for (int i = 0; i < 5000; i += 2)
		htab_remove(&t, &items[i].node);
	ck_assert_uint_eq(t.count, 2500);
	for (int i = 0; i < 5000; i++) {
		struct htab_node *n =
		    htab_find(&t, items[i].key, strlen(items[i].key));
		if (i % 2)
			ck_assert_ptr_eq(n, &items[i].node);
		else
			ck_assert_ptr_null(n);
	}
	ck_assert_ptr_null(htab_find(&t, "k", 1));
	htab_free(&t);
}
END_TEST

START_TEST(fnv1a_reference_values)
{
	/* FNV-1a 64 test vectors from the reference implementation. */
	ck_assert_uint_eq(htab_hash("", 0), 0xcbf29ce484222325ull);
	ck_assert_uint_eq(htab_hash("a", 1), 0xaf63dc4c8601ec8cull);
	ck_assert_uint_eq(htab_hash("foobar", 6), 0x85944171f73967e8ull);
}
END_TEST

Suite *htab_suite(void)
{
	Suite *s = suite_create("htab");
	TCase *t = tcase_create("table");
	tcase_add_test(t, many_keys_survive_growth_and_removal);
	tcase_add_test(t, fnv1a_reference_values);
	suite_add_tcase(s, t);
	return s;
}
