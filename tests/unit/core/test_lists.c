/* test_lists - the embedded lists and their flags on a verdict
 * (core/lists). */
#include <check.h>
#include <string.h>

#include "core/lists.h"

static void init(struct lists *l)
{
	char err[LISTS_ERR_MAX] = "";

	ck_assert_msg(lists_init_embedded(l, err, sizeof(err)) == 0, "%s", err);
}

/* addr - an address as address_parse() would leave it; the lists read
 * only the local part, the domain and the kind. */
static struct address addr(const char *local, const char *domain,
			   enum address_kind kind)
{
	struct address a;

	memset(&a, 0, sizeof(a));
	ck_assert_uint_lt(strlen(local), sizeof(a.local));
	ck_assert_uint_lt(strlen(domain), sizeof(a.domain));
	memcpy(a.local, local, strlen(local) + 1);
	memcpy(a.domain, domain, strlen(domain) + 1);
	a.kind = kind;
	a.local_quoted = local[0] == '"';
	return a;
}

/* ---- the embedded lists --------------------------------------------- */

START_TEST(test_embedded_counts)
{
	struct lists l;

	init(&l);
	ck_assert_uint_ge(nameset_count(l.disposable), 3000);
	ck_assert_uint_ge(nameset_count(l.free_provider), 50);
	ck_assert_uint_ge(nameset_count(l.role), 30);
	lists_release(&l);
}
END_TEST

static const struct {
	enum lists_kind kind;
	const char *name;
	bool domain; /* parent match (has_domain) rather than exact */
	bool want;
} embedded_cases[] = {
    {LISTS_DISPOSABLE, "mailinator.com", true, true},
    {LISTS_DISPOSABLE, "sub.mailinator.com", true, true},
    {LISTS_DISPOSABLE, "guerrillamail.com", true, true},
    {LISTS_DISPOSABLE, "yopmail.com", true, true},
    {LISTS_DISPOSABLE, "gmail.com", true, false},
    {LISTS_DISPOSABLE, "com", true, false},
    {LISTS_FREE_PROVIDER, "gmail.com", false, true},
    {LISTS_FREE_PROVIDER, "googlemail.com", false, true},
    {LISTS_FREE_PROVIDER, "yahoo.co.uk", false, true},
    {LISTS_FREE_PROVIDER, "hotmail.com", false, true},
    {LISTS_FREE_PROVIDER, "outlook.com", false, true},
    {LISTS_FREE_PROVIDER, "icloud.com", false, true},
    {LISTS_FREE_PROVIDER, "gmx.de", false, true},
    {LISTS_FREE_PROVIDER, "proton.me", false, true},
    {LISTS_FREE_PROVIDER, "qq.com", false, true},
    {LISTS_FREE_PROVIDER, "mailinator.com", false, false},
    {LISTS_FREE_PROVIDER, "example.com", false, false},
    {LISTS_ROLE, "postmaster", false, true},
    {LISTS_ROLE, "abuse", false, true},
    {LISTS_ROLE, "info", false, true},
    {LISTS_ROLE, "no-reply", false, true},
    {LISTS_ROLE, "mailer-daemon", false, true},
    {LISTS_ROLE, "alice", false, false},
};

START_TEST(test_embedded_names)
{
	struct lists l;
	const struct nameset *sets[LISTS_KIND_LAST];

	init(&l);
	sets[LISTS_DISPOSABLE] = l.disposable;
	sets[LISTS_FREE_PROVIDER] = l.free_provider;
	sets[LISTS_ROLE] = l.role;
	const struct nameset *set = sets[embedded_cases[_i].kind];
	const char *name = embedded_cases[_i].name;
	bool got = embedded_cases[_i].domain ? nameset_has_domain(set, name)
					     : nameset_has(set, name);
	ck_assert_msg(got == embedded_cases[_i].want, "%s list, %s: %d",
		      lists_kind_name(embedded_cases[_i].kind), name, got);
	lists_release(&l);
}
END_TEST

/* A provider listed as disposable would flag half the world's addresses:
 * the two files must never overlap, whatever a refresh brings. */
START_TEST(test_embedded_disjoint)
{
	struct lists l;
	size_t cursor = 0;
	const char *name;

	init(&l);
	while ((name = nameset_next(l.free_provider, &cursor)) != NULL)
		ck_assert_msg(!nameset_has_domain(l.disposable, name),
			      "%s is both free and disposable", name);
	lists_release(&l);
}
END_TEST

/* ---- lists_apply ---------------------------------------------------- */

static const struct {
	const char *local;
	const char *domain;
	bool disposable, free_provider, role;
	const char *suggestion; /* "" for none */
} apply_cases[] = {
    {"alice", "example.com", false, false, false, ""},
    {"alice", "gmail.com", false, true, false, ""},
    {"alice", "mail.gmail.com", false, false, false, ""},
    {"alice", "mailinator.com", true, false, false, ""},
    {"alice", "x.mailinator.com", true, false, false, ""},
    {"info", "example.com", false, false, true, ""},
    {"Info", "example.com", false, false, true, ""},
    {"INFO+shop", "example.com", false, false, true, ""},
    {"info+a+b", "example.com", false, false, true, ""},
    {"\"Info\"", "example.com", false, false, true, ""},
    {"+info", "example.com", false, false, false, ""},
    {"information", "example.com", false, false, false, ""},
    {"alice+info", "example.com", false, false, false, ""},
    {"postmaster", "mailinator.com", true, false, true, ""},
    {"support", "yahoo.com", false, true, true, ""},
    {"alice", "gmial.com", true, false, false, "alice@gmail.com"},
    {"Bob.Smith", "hotmail.co", false, false, false, "Bob.Smith@hotmail.com"},
    {"\"john doe\"", "yaho.com", false, false, false, "\"john doe\"@yahoo.com"},
    {"noreply", "example.con", false, false, true, "noreply@example.com"},
};

START_TEST(test_apply)
{
	struct lists l;
	struct verdict v;
	struct address a = addr(apply_cases[_i].local, apply_cases[_i].domain,
				ADDRESS_KIND_DOMAIN);

	init(&l);
	verdict_init(&v, "x", 1);
	verdict_set(&v, REASON_ACCEPTED);
	/* Stale values from an earlier use of @v are overwritten. */
	v.disposable = v.free_provider = v.role_account = true;
	memcpy(v.suggestion, "stale", 6);
	lists_apply(&l, &a, &v);
	ck_assert_msg(v.disposable == apply_cases[_i].disposable,
		      "%s@%s disposable", a.local, a.domain);
	ck_assert_msg(v.free_provider == apply_cases[_i].free_provider,
		      "%s@%s free_provider", a.local, a.domain);
	ck_assert_msg(v.role_account == apply_cases[_i].role,
		      "%s@%s role_account", a.local, a.domain);
	ck_assert_str_eq(v.suggestion, apply_cases[_i].suggestion);
	/* The lists never decide the status. */
	ck_assert_int_eq(v.reason, REASON_ACCEPTED);
	ck_assert_int_eq(v.status, VERDICT_DELIVERABLE);
	lists_release(&l);
}
END_TEST

START_TEST(test_apply_literal)
{
	struct lists l;
	struct verdict v;
	struct address a4 = addr("info", "[192.0.2.1]", ADDRESS_KIND_IPV4);
	struct address a6 =
	    addr("postmaster", "[IPv6:2001:db8::1]", ADDRESS_KIND_IPV6);

	init(&l);
	verdict_init(&v, "x", 1);
	v.role_account = v.disposable = v.free_provider = true;
	lists_apply(&l, &a4, &v);
	ck_assert(!v.role_account && !v.disposable && !v.free_provider);
	ck_assert_str_eq(v.suggestion, "");
	lists_apply(&l, &a6, &v);
	ck_assert(!v.role_account);
	ck_assert_int_eq(v.reason, REASON_NOT_CHECKED);
	lists_release(&l);
}
END_TEST

/* A suggestion that would not fit an address is none, not a cut one. */
START_TEST(test_apply_long_suggestion)
{
	struct lists l;
	struct verdict v;
	char local[ADDRESS_LOCAL_MAX + 1], domain[200];

	memset(local, 'a', ADDRESS_LOCAL_MAX);
	local[ADDRESS_LOCAL_MAX] = '\0';
	/* 63 + 1 + 63 + 1 + 57 + ".ino" = 189; 64 + 1 + 189 = 254. */
	memset(domain, 'b', 185);
	domain[63] = domain[127] = '.';
	memcpy(domain + 185, ".ino", 5);
	struct address a = addr(local, domain, ADDRESS_KIND_DOMAIN);

	init(&l);
	verdict_init(&v, "x", 1);
	lists_apply(&l, &a, &v);
	ck_assert_str_eq(v.suggestion, "");
	/* One octet shorter, and ".info" fits exactly. */
	a.local[ADDRESS_LOCAL_MAX - 1] = '\0';
	lists_apply(&l, &a, &v);
	ck_assert_uint_eq(strlen(v.suggestion), VERDICT_ADDRESS_MAX);
	ck_assert_str_eq(v.suggestion + VERDICT_ADDRESS_MAX - 5, ".info");
	lists_release(&l);
}
END_TEST

START_TEST(test_apply_parsed)
{
	struct lists l;
	struct verdict v;
	struct address a;
	char why[ADDRESS_WHY_MAX];
	static const char in[] = "Info+News@X.Mailinator.COM";

	init(&l);
	ck_assert_msg(address_parse(in, strlen(in), &a, why) == 0, "%s", why);
	verdict_init(&v, in, strlen(in));
	lists_apply(&l, &a, &v);
	ck_assert(v.disposable);
	ck_assert(v.role_account);
	ck_assert(!v.free_provider);
	ck_assert_str_eq(v.suggestion, "");
	lists_release(&l);
}
END_TEST

/* ---- replacing a list at run time ----------------------------------- */

START_TEST(test_replace)
{
	struct lists l;
	struct verdict v;
	char err[LISTS_ERR_MAX] = "";
	struct address a = addr("alice", "only.test", ADDRESS_KIND_DOMAIN);
	struct address m = addr("alice", "mailinator.com", ADDRESS_KIND_DOMAIN);
	static const char good[] = "# ours\nonly.test\nONLY.test\n";

	init(&l);
	ck_assert_int_eq(lists_replace(&l, LISTS_DISPOSABLE, good, strlen(good),
				       err, sizeof(err)),
			 1);
	verdict_init(&v, "x", 1);
	lists_apply(&l, &a, &v);
	ck_assert(v.disposable);
	lists_apply(&l, &m, &v);
	ck_assert(!v.disposable);

	/* A bad text is refused whole; the list in force stays. */
	static const char bad[] = "fine.test\n\nbad name.test\n";
	ck_assert_int_eq(lists_replace(&l, LISTS_DISPOSABLE, bad, strlen(bad),
				       err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err,
			 "disposable list: line 3: white space inside a name");
	ck_assert_uint_eq(nameset_count(l.disposable), 1);
	lists_apply(&l, &a, &v);
	ck_assert(v.disposable);

	/* The role and free-provider lists likewise. */
	ck_assert_int_eq(
	    lists_replace(&l, LISTS_ROLE, "alice\n", 6, err, sizeof(err)), 1);
	lists_apply(&l, &a, &v);
	ck_assert(v.role_account);
	ck_assert_int_eq(lists_replace(&l, LISTS_FREE_PROVIDER, "x\xff\n", 3,
				       err, sizeof(err)),
			 -1);
	ck_assert_str_eq(
	    err,
	    "free_provider list: line 1: byte 0xff is not printable ASCII");
	ck_assert_int_eq(lists_replace(&l, LISTS_FREE_PROVIDER, "only.test\n",
				       10, err, sizeof(err)),
			 1);
	lists_apply(&l, &a, &v);
	ck_assert(v.free_provider);

	/* An empty file empties a list: detection off, on purpose. */
	ck_assert_int_eq(
	    lists_replace(&l, LISTS_DISPOSABLE, "", 0, err, sizeof(err)), 0);
	lists_apply(&l, &a, &v);
	ck_assert(!v.disposable);

	ck_assert_int_eq(lists_replace(&l, LISTS_KIND_LAST, good, strlen(good),
				       err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "no list of kind 3");
	lists_release(&l);
}
END_TEST

START_TEST(test_release_and_names)
{
	struct lists l;
	struct verdict v;
	struct address a = addr("info", "gmial.com", ADDRESS_KIND_DOMAIN);

	init(&l);
	lists_release(&l);
	ck_assert_ptr_null(l.disposable);
	ck_assert_ptr_null(l.free_provider);
	ck_assert_ptr_null(l.role);
	lists_release(&l);
	/* Released lists match nothing; the built-in typo table remains. */
	verdict_init(&v, "x", 1);
	lists_apply(&l, &a, &v);
	ck_assert(!v.disposable && !v.free_provider && !v.role_account);
	ck_assert_str_eq(v.suggestion, "info@gmail.com");

	ck_assert_str_eq(lists_kind_name(LISTS_DISPOSABLE), "disposable");
	ck_assert_str_eq(lists_kind_name(LISTS_FREE_PROVIDER), "free_provider");
	ck_assert_str_eq(lists_kind_name(LISTS_ROLE), "role");
	ck_assert_ptr_null(lists_kind_name(LISTS_KIND_LAST));
}
END_TEST

Suite *lists_suite(void)
{
	Suite *s = suite_create("lists");
	TCase *tc;

	tc = tcase_create("embedded");
	tcase_add_test(tc, test_embedded_counts);
	tcase_add_loop_test(tc, test_embedded_names, 0,
			    sizeof(embedded_cases) / sizeof(embedded_cases[0]));
	tcase_add_test(tc, test_embedded_disjoint);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_loop_test(tc, test_apply, 0,
			    sizeof(apply_cases) / sizeof(apply_cases[0]));
	tcase_add_test(tc, test_apply_literal);
	tcase_add_test(tc, test_apply_long_suggestion);
	tcase_add_test(tc, test_apply_parsed);
	suite_add_tcase(s, tc);

	tc = tcase_create("replace");
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_release_and_names);
	suite_add_tcase(s, tc);
	return s;
}
