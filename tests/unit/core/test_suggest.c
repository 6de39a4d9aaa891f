/* test_suggest - typo suggestions for mail domains (core/suggest). The
 * table runs twice: with small sets written here, so that each rule is
 * seen on known data, and with the embedded lists rcptd ships. */
#include <check.h>
#include <string.h>

#include "core/lists.h"
#include "core/nameset.h"
#include "core/suggest.h"

static const char test_providers[] =
    "gmail.com\ngooglemail.com\nyahoo.com\nyahoo.ca\nyahoo.co.uk\n"
    "hotmail.com\nhotmail.co.uk\nhotmail.fr\nhotmail.de\noutlook.com\n"
    "live.com\nicloud.com\nme.com\nmac.com\naol.com\nymail.com\n"
    "gmx.com\ngmx.de\ngmx.net\nmail.com\nemail.com\nemail.cz\nweb.de\n"
    "yandex.ru\nprotonmail.com\n";

/* Real disposable services, and typo-squatting catch-alls as the public
 * lists hold them. */
static const char test_disposable[] = "mailinator.com\ngmial.com\nhotmial.com\n"
				      "hotmai.com\ngotmail.com\nlastmail.com\n"
				      "tmail.com\namail.com\n";

static const struct {
	const char *domain;
	const char *want; /* NULL: no suggestion */
} cases[] = {
    /* A provider name misspelt: swapped, missing, doubled, wrong key. */
    {"gmial.com", "gmail.com"},
    {"hotmial.com", "hotmail.com"},
    {"hotmai.com", "hotmail.com"},
    {"yaho.com", "yahoo.com"},
    {"outlok.com", "outlook.com"},
    {"gmai.com", "gmail.com"},
    {"gnail.com", "gmail.com"},
    {"gamil.com", "gmail.com"},
    {"gmaill.com", "gmail.com"},
    {"yahooo.com", "yahoo.com"},
    {"iclod.com", "icloud.com"},
    {"hotmial.fr", "hotmail.fr"},
    {"protnmial.com", "protonmail.com"}, /* long names allow two */
    /* A provider's name on the wrong, real suffix. */
    {"hotmail.cm", "hotmail.com"},
    {"hotmail.co", "hotmail.com"},
    {"icloud.co", "icloud.com"},
    {"outlook.co", "outlook.com"},
    {"yahoo.cm", "yahoo.com"}, /* yahoo.ca is as close: .com wins */
    {"web.dr", "web.de"},
    {"gmailcom", "gmail.com"},
    /* A TLD that does not exist, on any domain. */
    {"gmail.con", "gmail.com"},
    {"gmail.cmo", "gmail.com"},
    {"gmail.ocm", "gmail.com"},
    {"gmail.comm", "gmail.com"},
    {"gmial.con", "gmail.com"},
    {"example.con", "example.com"},
    {"example.c0m", "example.com"},
    {"example.nte", "example.net"},
    {"example.orgg", "example.org"},
    {"example.ogv", "example.gov"},
    {"yahoo.co.ukk", "yahoo.co.uk"},
    {"example.co.ku", "example.co.uk"},

    /* Providers, and real domains near them: never "fixed". */
    {"gmail.com", NULL},
    {"gmx.com", NULL},
    {"mail.com", NULL},
    {"email.com", NULL},
    {"me.com", NULL},
    {"mac.com", NULL},
    {"live.com", NULL},
    {"aol.com", NULL},
    {"ymail.com", NULL},
    {"outlook.com", NULL},
    {"yandex.ru", NULL},
    {"hotmail.co.uk", NULL},
    {"yahoo.ca", NULL},
    /* Unknown domains that are fine as typed. */
    {"company.com", NULL},
    {"unknown-startup.io", NULL},
    {"example.com", NULL},
    {"example.co", NULL},  /* .co is real */
    {"example.cm", NULL},  /* .cm is real */
    {"example.cam", NULL}, /* .cam is real */
    {"example.mom", NULL}, /* .mom is real */
    {"example.co.us", NULL},
    /* A provider's name on another real suffix may be another domain. */
    {"gmail.co.uk", NULL},
    {"gmail.de", NULL},
    {"gmail.cz", NULL},	  /* not respelt into email.cz either */
    {"me.co", NULL},	  /* too short to judge */
    {"hotmail.fe", NULL}, /* .fr or .de: a tie is silence */
    /* Disposable services, and typo-squats that are new words. */
    {"mailinator.com", NULL},
    {"x.mailinator.com", NULL},
    {"gotmail.com", NULL},
    {"lastmail.com", NULL},
    {"tmail.com", NULL},
    {"amail.com", NULL},
    /* Not a plain two-part domain, or not our input form. */
    {"sub.gmial.com", NULL},
    {"[192.0.2.1]", NULL},
    {"", NULL},
    {"GMIAL.COM", NULL},
    {"gmial..com", NULL},
    {".gmial.com", NULL},
};

static void check_case(const struct nameset *providers,
		       const struct nameset *disposable, int i)
{
	char out[SUGGEST_DOMAIN_MAX + 1] = "";
	bool got = suggest_domain(providers, disposable, cases[i].domain, out,
				  sizeof(out));

	if (cases[i].want == NULL) {
		ck_assert_msg(!got, "\"%s\": suggested \"%s\", want none",
			      cases[i].domain, out);
	} else {
		ck_assert_msg(got, "\"%s\": no suggestion, want \"%s\"",
			      cases[i].domain, cases[i].want);
		ck_assert_str_eq(out, cases[i].want);
	}
}

static struct nameset *load(const char *text)
{
	struct nameset *set = nameset_new();

	ck_assert_ptr_nonnull(set);
	ck_assert_int_gt(nameset_load(set, text, strlen(text), NULL, 0), 0);
	return set;
}

START_TEST(test_table_local)
{
	struct nameset *providers = load(test_providers);
	struct nameset *disposable = load(test_disposable);

	check_case(providers, disposable, _i);
	nameset_free(providers);
	nameset_free(disposable);
}
END_TEST

START_TEST(test_table_embedded)
{
	struct lists l;
	char err[LISTS_ERR_MAX];

	ck_assert_msg(lists_init_embedded(&l, err, sizeof(err)) == 0, "%s",
		      err);
	check_case(l.free_provider, l.disposable, _i);
	lists_release(&l);
}
END_TEST

START_TEST(test_table_size)
{
	size_t n = sizeof(cases) / sizeof(cases[0]), neg = 0;

	for (size_t i = 0; i < n; i++)
		neg += cases[i].want == NULL;
	ck_assert_uint_ge(n, 40);
	ck_assert_uint_ge(neg, 15);
}
END_TEST

/* Without sets the built-in popular table still drives the provider
 * rules; the disposable exception is then not known. */
START_TEST(test_no_sets)
{
	char out[SUGGEST_DOMAIN_MAX + 1];

	ck_assert(suggest_domain(NULL, NULL, "gmial.com", out, sizeof(out)));
	ck_assert_str_eq(out, "gmail.com");
	ck_assert(suggest_domain(NULL, NULL, "gotmail.com", out, sizeof(out)));
	ck_assert_str_eq(out, "hotmail.com");
	ck_assert(suggest_domain(NULL, NULL, "example.cmo", out, sizeof(out)));
	ck_assert_str_eq(out, "example.com");
	ck_assert(!suggest_domain(NULL, NULL, "gmx.de", out, sizeof(out)));
	/* A provider only in the set is unknown without it. */
	ck_assert(
	    !suggest_domain(NULL, NULL, "tutanotta.com", out, sizeof(out)));
}
END_TEST

/* The set adds providers beyond the built-in table. */
START_TEST(test_set_adds_targets)
{
	struct nameset *providers = load("tutanota.com\n");
	char out[SUGGEST_DOMAIN_MAX + 1];

	ck_assert(
	    suggest_domain(providers, NULL, "tutanotta.com", out, sizeof(out)));
	ck_assert_str_eq(out, "tutanota.com");
	ck_assert(
	    !suggest_domain(providers, NULL, "tutanota.com", out, sizeof(out)));
	nameset_free(providers);
}
END_TEST

START_TEST(test_out_too_small)
{
	char out[10];

	/* "gmail.com" and its NUL fit in 10 octets, not in 9. */
	ck_assert(suggest_domain(NULL, NULL, "gmial.com", out, 10));
	ck_assert_str_eq(out, "gmail.com");
	memset(out, 'x', sizeof(out));
	ck_assert(!suggest_domain(NULL, NULL, "gmial.com", out, 9));
	ck_assert_int_eq(out[0], 'x');
	ck_assert(!suggest_domain(NULL, NULL, "gmial.com", out, 0));
}
END_TEST

START_TEST(test_long_domain)
{
	char d[SUGGEST_DOMAIN_MAX + 2];
	char out[SUGGEST_DOMAIN_MAX + 1];

	/* 249 octets of labels + ".con": 253, fixed to ".com". */
	memset(d, 'a', 249);
	for (size_t i = 63; i < 249; i += 64)
		d[i] = '.';
	memcpy(d + 249, ".con", 5);
	ck_assert_uint_eq(strlen(d), SUGGEST_DOMAIN_MAX);
	ck_assert(suggest_domain(NULL, NULL, d, out, sizeof(out)));
	ck_assert_uint_eq(strlen(out), SUGGEST_DOMAIN_MAX);
	ck_assert_str_eq(out + 249, ".com");
	/* One more octet is no domain at all. */
	memset(d, 'a', 250);
	d[63] = d[127] = d[191] = '.';
	memcpy(d + 250, ".con", 5);
	ck_assert(!suggest_domain(NULL, NULL, d, out, sizeof(out)));
	/* ".ino" grows to ".info": at 253 octets that cannot fit. */
	memcpy(d + 249, ".ino", 5);
	ck_assert(!suggest_domain(NULL, NULL, d, out, sizeof(out)));
}
END_TEST

Suite *suggest_suite(void)
{
	Suite *s = suite_create("suggest");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));
	TCase *tc;

	tc = tcase_create("table");
	tcase_add_test(tc, test_table_size);
	tcase_add_loop_test(tc, test_table_local, 0, n);
	suite_add_tcase(s, tc);

	tc = tcase_create("table_embedded");
	tcase_add_loop_test(tc, test_table_embedded, 0, n);
	suite_add_tcase(s, tc);

	tc = tcase_create("sets");
	tcase_add_test(tc, test_no_sets);
	tcase_add_test(tc, test_set_adds_targets);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, test_out_too_small);
	tcase_add_test(tc, test_long_domain);
	suite_add_tcase(s, tc);
	return s;
}
