/* test_nameset - the list-file format, lookups, growth and errors of
 * core/nameset. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nameset.h"

/* nameset_from - a set loaded from @text, which must load. */
static struct nameset *nameset_from(const char *text, long want_added)
{
	char err[NAMESET_ERR_MAX] = "";
	struct nameset *set = nameset_new();

	ck_assert_ptr_nonnull(set);
	long n = nameset_load(set, text, strlen(text), err, sizeof(err));
	ck_assert_msg(n == want_added, "load of \"%s\": %ld (want %ld) %s",
		      text, n, want_added, err);
	return set;
}

/* ---- the text format ------------------------------------------------ */

static const struct {
	const char *text;
	long added;	      /* distinct names */
	const char *has[4];   /* present (looked up as written here) */
	const char * not [3]; /* absent */
} format_cases[] = {
    {"", 0, {NULL}, {"", "a"}},
    {"\n\n   \n\t\n", 0, {NULL}, {"", " "}},
    {"# only a comment\n", 0, {NULL}, {"#", "only"}},
    {"example.com", 1, {"example.com"}, {"example"}},
    {"example.com\n", 1, {"example.com"}, {"example.com\n"}},
    {"  example.com \t\n", 1, {"example.com"}, {" example.com"}},
    {"a.example\r\nb.example\r\n", 2, {"a.example", "b.example"}, {"a"}},
    {"Example.COM\n", 1, {"example.com", "EXAMPLE.com"}, {"example.co"}},
    {"x.test # a trailing comment\n", 1, {"x.test"}, {"x.test #"}},
    {"x.test#glued comment\n", 1, {"x.test"}, {"glued"}},
    {"one\ntwo\nONE\n one \n", 2, {"one", "two"}, {"three"}},
    {"\xef\xbb\xbfwith-bom.test\n", 1, {"with-bom.test"}, {NULL}},
    {"# caf\xc3\xa9 in a comment is fine\nok.test\n", 1, {"ok.test"}, {0}},
    {"no-reply\ninfo+x\nfirst_last\n",
     3,
     {"no-reply", "info+x", "first_last"},
     {"info"}},
};

START_TEST(test_format)
{
	struct nameset *set =
	    nameset_from(format_cases[_i].text, format_cases[_i].added);

	ck_assert_uint_eq(nameset_count(set), (size_t)format_cases[_i].added);
	for (size_t k = 0; k < 4 && format_cases[_i].has[k]; k++)
		ck_assert_msg(nameset_has(set, format_cases[_i].has[k]),
			      "case %d: \"%s\" missing", _i,
			      format_cases[_i].has[k]);
	for (size_t k = 0; k < 3 && format_cases[_i].not [k]; k++)
		ck_assert_msg(!nameset_has(set, format_cases[_i].not [k]),
			      "case %d: \"%s\" found", _i,
			      format_cases[_i].not [k]);
	nameset_free(set);
}
END_TEST

/* ---- errors name the line, and leave the set as it was -------------- */

static const struct {
	const char *text;
	size_t len; /* 0: strlen */
	const char *err;
} error_cases[] = {
    {"ok.test\nbad name.test\n", 0, "line 2: white space inside a name"},
    {"a\tb\n", 0, "line 1: white space inside a name"},
    {"a\n\n# c\nb\n caf\xc3\xa9.test\n", 0,
     "line 5: byte 0xc3 is not printable ASCII"},
    {"nul\0here\n", 9, "line 1: byte 0x00 is not printable ASCII"},
    {"ctl\x01.test\n", 0, "line 1: byte 0x01 is not printable ASCII"},
    {"del\x7f.test\n", 0, "line 1: byte 0x7f is not printable ASCII"},
    {"a\nb\nc\n\xef\xbb\xbf"
     "bom.not.first\n",
     0, "line 4: byte 0xef is not printable ASCII"},
};

START_TEST(test_errors)
{
	char err[NAMESET_ERR_MAX] = "";
	struct nameset *set = nameset_from("kept.test\n", 1);
	const char *text = error_cases[_i].text;
	size_t len = error_cases[_i].len ? error_cases[_i].len : strlen(text);

	ck_assert_int_eq(nameset_load(set, text, len, err, sizeof(err)), -1);
	ck_assert_str_eq(err, error_cases[_i].err);
	/* Nothing of the bad text was taken, even its good lines. */
	ck_assert_uint_eq(nameset_count(set), 1);
	ck_assert(nameset_has(set, "kept.test"));
	ck_assert(!nameset_has(set, "ok.test"));
	ck_assert(!nameset_has(set, "a"));
	nameset_free(set);
}
END_TEST

START_TEST(test_too_long)
{
	char line[NAMESET_NAME_MAX + 3];
	char err[NAMESET_ERR_MAX] = "";
	struct nameset *set = nameset_new();

	/* Exactly NAMESET_NAME_MAX octets is a name... */
	memset(line, 'a', NAMESET_NAME_MAX);
	line[NAMESET_NAME_MAX] = '\n';
	ck_assert_int_eq(
	    nameset_load(set, line, NAMESET_NAME_MAX + 1, err, sizeof(err)), 1);
	line[NAMESET_NAME_MAX] = '\0';
	ck_assert(nameset_has(set, line));
	/* ...one more is an error naming the line. */
	memset(line, 'b', NAMESET_NAME_MAX + 1);
	line[NAMESET_NAME_MAX + 1] = '\n';
	char text[NAMESET_NAME_MAX + 16] = "ok\n";
	memcpy(text + 3, line, NAMESET_NAME_MAX + 2);
	ck_assert_int_eq(
	    nameset_load(set, text, NAMESET_NAME_MAX + 5, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "line 2: name longer than 253 octets");
	ck_assert_uint_eq(nameset_count(set), 1);
	/* The lookup of an over-long name is a plain miss. */
	line[NAMESET_NAME_MAX + 1] = '\0';
	ck_assert(!nameset_has(set, line));
	nameset_free(set);
}
END_TEST

START_TEST(test_too_many)
{
	size_t lines = NAMESET_NAMES_MAX + 1;
	char *text = malloc(lines * 2);
	char err[NAMESET_ERR_MAX] = "";
	struct nameset *set = nameset_new();

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < lines; i++)
		memcpy(text + 2 * i, "a\n", 2);
	ck_assert_int_eq(nameset_load(set, text, lines * 2, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "more than 1000000 names");
	ck_assert_uint_eq(nameset_count(set), 0);
	/* One line fewer is within the limit (and folds to one name). */
	ck_assert_int_eq(
	    nameset_load(set, text, (lines - 1) * 2, err, sizeof(err)), 1);
	ck_assert_uint_eq(nameset_count(set), 1);
	free(text);
	nameset_free(set);
}
END_TEST

START_TEST(test_error_buffer)
{
	char err[8];
	struct nameset *set = nameset_new();

	/* A short buffer gets a cut, terminated message; none at all is
	 * fine too. */
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(nameset_load(set, "a b", 3, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "line 1:");
	ck_assert_int_eq(nameset_load(set, "a b", 3, NULL, 0), -1);
	nameset_free(set);
}
END_TEST

/* ---- parent-domain matching ----------------------------------------- */

static const struct {
	const char *domain;
	bool has_domain;
	bool has;
} domain_cases[] = {
    {"mailinator.com", true, true},
    {"x.mailinator.com", true, false},
    {"a.b.c.mailinator.com", true, false},
    {"MAILINATOR.com", true, true},
    {"mailinator.com.", true, false},
    {"xmailinator.com", false, false},
    {"mailinator.co", false, false},
    {"com", false, false},
    {"example.com", false, false},
    {"anything.tk", true, false}, /* "tk" itself is listed */
    {"tk", true, true},
    {"", false, false},
    {".", false, false},
    {"mailinator.com.evil.test", false, false},
};

START_TEST(test_has_domain)
{
	struct nameset *set = nameset_from(
	    "mailinator.com\n# a whole TLD, listed on purpose\ntk\n", 2);

	ck_assert_msg(nameset_has_domain(set, domain_cases[_i].domain) ==
			  domain_cases[_i].has_domain,
		      "has_domain(%s)", domain_cases[_i].domain);
	ck_assert_msg(nameset_has(set, domain_cases[_i].domain) ==
			  domain_cases[_i].has,
		      "has(%s)", domain_cases[_i].domain);
	nameset_free(set);
}
END_TEST

/* ---- growth, iteration, lifetime ------------------------------------ */

START_TEST(test_growth_and_next)
{
	enum { N = 20000 };
	char *text = malloc((size_t)N * 16);
	size_t len = 0;
	char name[32];

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, 16, "d%d.test\n", i);
	struct nameset *set = nameset_from(text, N);
	ck_assert_uint_eq(nameset_count(set), N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d%d.test", i);
		ck_assert_msg(nameset_has(set, name), "%s missing", name);
	}
	ck_assert(!nameset_has(set, "d20000.test"));
	/* Loading again adds nothing; a second text adds to the first. */
	ck_assert_int_eq(nameset_load(set, text, len, NULL, 0), 0);
	ck_assert_int_eq(nameset_load(set, "new.test\nd1.test\n", 17, NULL, 0),
			 1);
	ck_assert_uint_eq(nameset_count(set), N + 1);

	/* nameset_next visits every name once, in insertion order. */
	size_t cursor = 0, seen = 0;
	const char *n;
	while ((n = nameset_next(set, &cursor)) != NULL) {
		if (seen < N) {
			snprintf(name, sizeof(name), "d%zu.test", seen);
			ck_assert_str_eq(n, name);
		} else {
			ck_assert_str_eq(n, "new.test");
		}
		seen++;
	}
	ck_assert_uint_eq(seen, N + 1);
	ck_assert_ptr_null(nameset_next(set, &cursor));
	free(text);
	nameset_free(set);
}
END_TEST

START_TEST(test_empty_and_free)
{
	struct nameset *set = nameset_new();
	size_t cursor = 0;

	ck_assert_uint_eq(nameset_count(set), 0);
	ck_assert(!nameset_has(set, "a"));
	ck_assert(!nameset_has_domain(set, "a.b"));
	ck_assert_ptr_null(nameset_next(set, &cursor));
	nameset_free(set);
	nameset_free(NULL);
}
END_TEST

Suite *nameset_suite(void)
{
	Suite *s = suite_create("nameset");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_format, 0,
			    sizeof(format_cases) / sizeof(format_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_errors, 0,
			    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_error_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("has_domain");
	tcase_add_loop_test(tc, test_has_domain, 0,
			    sizeof(domain_cases) / sizeof(domain_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("growth");
	tcase_add_test(tc, test_growth_and_next);
	tcase_add_test(tc, test_empty_and_free);
	suite_add_tcase(s, tc);
	return s;
}
