/* test_mx - MX set ordering (core/mx.h).
 *
 * Behaviours, one TCase each: ordering and normalisation of whole answers
 * (a table of answers and the exact set expected, with equal preferences
 * kept in answer order by a NULL random source); null MX and the other
 * statuses; the host name rules (a table of names); the bounds
 * MX_HOSTS_MAX and MX_INPUT_MAX; and the shuffle of equal preferences
 * (exact result for a scripted source, groups never mixed, every order
 * equally likely, no hang on a degenerate source). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/mx.h"

Suite *mx_suite(void);

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define MAXREC	 12

struct order_row {
	const char *name;
	struct mx_record in[MAXREC];
	size_t n;
	enum mx_status status;
	const char *hosts[MX_HOSTS_MAX]; /* expected, in order */
	uint16_t prefs[MX_HOSTS_MAX];
	unsigned dropped, cut;
};

static const struct order_row order_rows[] = {
    {"single",
     {{10, "mx.example.com"}},
     1,
     MX_OK,
     {"mx.example.com"},
     {10},
     0,
     0},
    {"sorted by preference",
     {{20, "b.example.net"}, {10, "a.example.net"}, {30, "c.example.net"}},
     3,
     MX_OK,
     {"a.example.net", "b.example.net", "c.example.net"},
     {10, 20, 30},
     0,
     0},
    {"equal preferences keep answer order without a source",
     {{10, "b.example.net"}, {10, "a.example.net"}, {5, "c.example.net"}},
     3,
     MX_OK,
     {"c.example.net", "b.example.net", "a.example.net"},
     {5, 10, 10},
     0,
     0},
    {"lower-cased, final dot removed",
     {{10, "MX1.Example.COM."}},
     1,
     MX_OK,
     {"mx1.example.com"},
     {10},
     0,
     0},
    {"preference extremes",
     {{65535, "last.example.org"}, {0, "first.example.org"}},
     2,
     MX_OK,
     {"first.example.org", "last.example.org"},
     {0, 65535},
     0,
     0},
    {"duplicate keeps the lowest preference",
     {{20, "mx.example.com"}, {10, "b.example.com"}, {5, "MX.example.com."}},
     3,
     MX_OK,
     {"mx.example.com", "b.example.com"},
     {5, 10},
     1,
     0},
    {"duplicate at a higher preference is dropped",
     {{10, "mx.example.com"}, {20, "mx.example.com"}},
     2,
     MX_OK,
     {"mx.example.com"},
     {10},
     1,
     0},
    {"address literals are not host names",
     {{1, "192.0.2.1"},
      {1, "[192.0.2.1]"},
      {1, "::1"},
      {1, "2001:db8::25"},
      {1, "127.1"},
      {1, "0x7f.0x0.0x0.0x1"},
      {1, "0x7f.0x1"},
      {1, "2130706433"},
      {1, "1.2.3.4."},
      {1, "[IPv6:2001:db8::1]"},
      {20, "mx.example.com"}},
     11,
     MX_OK,
     {"mx.example.com"},
     {20},
     10,
     0},
    {"invalid names are dropped",
     {{1, "-mx.example.com"},
      {1, "mx-.example.com"},
      {1, "mx..example.com"},
      {1, "mx_1.example.com"},
      {1, "mx example.com"},
      {1, ".mx.example.com"},
      {1, "mx.example.com.."},
      {1, "mail"},
      {1, "localhost."},
      {1, "*.example.com"},
      {1, NULL},
      {30, "good.example.com"}},
     12,
     MX_OK,
     {"good.example.com"},
     {30},
     11,
     0},
    {"a root among hosts is dropped, the hosts are used",
     {{0, "."}, {10, "mx.example.com"}},
     2,
     MX_OK,
     {"mx.example.com"},
     {10},
     1,
     0},
    {"more than MX_HOSTS_MAX: the lowest five",
     {{70, "g.example"},
      {10, "a.example"},
      {60, "f.example"},
      {20, "b.example"},
      {50, "e.example"},
      {30, "c.example"},
      {40, "d.example"}},
     7,
     MX_OK,
     {"a.example", "b.example", "c.example", "d.example", "e.example"},
     {10, 20, 30, 40, 50},
     0,
     2},
    {"null MX", {{0, "."}}, 1, MX_NULL, {NULL}, {0}, 1, 0},
    {"null MX as the resolver gives it",
     {{0, ""}},
     1,
     MX_NULL,
     {NULL},
     {0},
     1,
     0},
    {"null MX repeated", {{0, "."}, {0, ""}}, 2, MX_NULL, {NULL}, {0}, 2, 0},
    {"root with a non-zero preference is no null MX",
     {{10, "."}},
     1,
     MX_UNUSABLE,
     {NULL},
     {0},
     1,
     0},
    {"nothing usable",
     {{10, "192.0.2.25"}, {20, "mail"}, {30, NULL}},
     3,
     MX_UNUSABLE,
     {NULL},
     {0},
     3,
     0},
    {"no records", {{0, NULL}}, 0, MX_EMPTY, {NULL}, {0}, 0, 0},
};

START_TEST(test_order)
{
	const struct order_row *r = &order_rows[_i];
	struct mx_set s;
	unsigned want = 0;

	memset(&s, 0xa5, sizeof s);
	ck_assert_int_eq(mx_order(r->in, r->n, NULL, NULL, &s), r->status);
	ck_assert_int_eq(s.status, r->status);
	while (want < MX_HOSTS_MAX && r->hosts[want] != NULL)
		want++;
	ck_assert_msg(s.count == want, "%s: %u hosts, expected %u", r->name,
		      s.count, want);
	for (unsigned i = 0; i < want; i++) {
		ck_assert_str_eq(s.hosts[i].host, r->hosts[i]);
		ck_assert_uint_eq(s.hosts[i].preference, r->prefs[i]);
	}
	ck_assert_uint_eq(s.dropped, r->dropped);
	ck_assert_uint_eq(s.cut, r->cut);
	/* Every record is accounted for exactly once. */
	ck_assert_uint_eq(s.dropped + s.count + s.cut, r->n);
}
END_TEST

/* 253 octets: 63 + 1 + 63 + 1 + 63 + 1 + 61. */
#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L61 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct name_row {
	const char *name;
	bool valid;
};

static const struct name_row name_rows[] = {
    {"mx.example.com", true},
    {"MX.EXAMPLE.COM", true},
    {"mx.example.com.", true},
    {"a.b", true},
    {"1mx.example.com", true},
    {"123.example.com", true},
    {"mx.example.c0m", true},
    {"mx-1.example.com", true},
    {"xn--mnchen-3ya.de", true},
    {"alt1.gmail-smtp-in.l.google.com", true},
    {L63 ".example", true},
    {L63 "." L63 "." L63 "." L61, true},
    {L63 "." L63 "." L63 "." L61 ".", true},
    {L63 "a.example", false},
    {L63 "." L63 "." L63 "." L61 "b", false},
    {L63 "." L63 "." L63 "." L61 "..", false},
    {"", false},
    {".", false},
    {"mail", false},
    {"mail.", false},
    {"localhost", false},
    {"-mx.example.com", false},
    {"mx-.example.com", false},
    {"mx.-example.com", false},
    {"mx.example-", false},
    {"mx..example.com", false},
    {".mx.example.com", false},
    {"mx.example.com..", false},
    {"mx_1.example.com", false},
    {"_dmarc.example.com", false},
    {"*.example.com", false},
    {"mx example.com", false},
    {"mx.example.com\n", false},
    {"mx.example.com\r", false},
    {"ex\xc3\xa4mple.com", false},
    {"mx.example.com/24", false},
    {"mx.123", false},
    {"example.0", false},
    {"192.0.2.1", false},
    {"192.0.2.1.", false},
    {"[192.0.2.1]", false},
    {"::1", false},
    {"::ffff:192.0.2.1", false},
    {"fe80::1%eth0", false},
    {"127.1", false},
    {"0x7f.0x1", false},
    {"0X7F.0X1", false},
    {"0x7f.0x0.0x0.0x1", false},
    {"0x7f000001", false},
    {"2130706433", false},
    {"017700000001", false},
};

START_TEST(test_names)
{
	const struct name_row *r = &name_rows[_i];

	ck_assert_msg(mx_host_valid(r->name) == r->valid, "'%s' must be %s",
		      r->name, r->valid ? "valid" : "refused");
	/* mx_order() applies the same rule. */
	struct mx_record rec = {10, r->name};
	struct mx_set s;
	enum mx_status st = mx_order(&rec, 1, NULL, NULL, &s);
	if (r->valid) {
		ck_assert_int_eq(st, MX_OK);
		ck_assert_uint_eq(s.count, 1);
	} else {
		ck_assert_int_eq(st, MX_UNUSABLE);
		ck_assert_uint_eq(s.count, 0);
	}
}
END_TEST

START_TEST(test_name_null)
{
	ck_assert(!mx_host_valid(NULL));
}
END_TEST

/* Names over the input bound are judged without reading past it. */
START_TEST(test_name_long)
{
	char name[600];

	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	for (size_t i = 50; i < sizeof name - 1; i += 50)
		name[i] = '.';
	ck_assert(!mx_host_valid(name));
}
END_TEST

/* The records past MX_INPUT_MAX are ignored, even a better one. */
START_TEST(test_input_bound)
{
	struct mx_record in[MX_INPUT_MAX + 6];
	char names[MX_INPUT_MAX + 6][32];
	struct mx_set s;

	for (int i = 0; i < MX_INPUT_MAX + 6; i++) {
		snprintf(names[i], sizeof names[i], "mx%d.example.com", i);
		in[i].host = names[i];
		in[i].preference = (uint16_t)(100 + i);
	}
	in[MX_INPUT_MAX].preference = 1; /* first record past the bound */
	ck_assert_int_eq(mx_order(in, MX_INPUT_MAX + 6, NULL, NULL, &s), MX_OK);
	ck_assert_uint_eq(s.count, MX_HOSTS_MAX);
	ck_assert_str_eq(s.hosts[0].host, "mx0.example.com");
	ck_assert_uint_eq(s.hosts[0].preference, 100);
	ck_assert_str_eq(s.hosts[4].host, "mx4.example.com");
	ck_assert_uint_eq(s.dropped, 6);
	ck_assert_uint_eq(s.cut, MX_INPUT_MAX - MX_HOSTS_MAX);
}
END_TEST

/* A scripted source: returns seq[0], seq[1], ... then repeats the last. */
struct script {
	const uint64_t *seq;
	size_t n, at;
};

static uint64_t script_next(void *ctx)
{
	struct script *s = ctx;
	uint64_t v = s->seq[s->at < s->n ? s->at : s->n - 1];
	s->at++;
	return v;
}

/* splitmix64 (Steele, Lea, Flood 2014): a small, good generator. */
static uint64_t splitmix(void *ctx)
{
	uint64_t *x = ctx;
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const struct mx_record three[] = {
    {10, "a.example"}, {10, "b.example"}, {10, "c.example"}};

START_TEST(test_shuffle_scripted)
{
	/* Fisher-Yates from the end: 0 % 3 swaps c and a -> c b a; then
	 * 0 % 2 swaps b and c -> b c a. */
	static const uint64_t zeros[] = {0, 0};
	struct script sc = {zeros, 2, 0};
	struct mx_set s;

	ck_assert_int_eq(mx_order(three, 3, script_next, &sc, &s), MX_OK);
	ck_assert_uint_eq(sc.at, 2);
	ck_assert_str_eq(s.hosts[0].host, "b.example");
	ck_assert_str_eq(s.hosts[1].host, "c.example");
	ck_assert_str_eq(s.hosts[2].host, "a.example");

	/* 2 % 3 and 1 % 2 are the identity. */
	static const uint64_t ident[] = {2, 1};
	struct script id = {ident, 2, 0};
	mx_order(three, 3, script_next, &id, &s);
	ck_assert_str_eq(s.hosts[0].host, "a.example");
	ck_assert_str_eq(s.hosts[1].host, "b.example");
	ck_assert_str_eq(s.hosts[2].host, "c.example");
}
END_TEST

/* A group of one draws nothing; the source is asked once per swap. */
START_TEST(test_shuffle_draws)
{
	static const struct mx_record in[] = {{10, "a.example"},
					      {20, "b.example"},
					      {20, "c.example"},
					      {30, "d.example"}};
	static const uint64_t v[] = {8};
	struct script sc = {v, 1, 0};
	struct mx_set s;

	mx_order(in, 4, script_next, &sc, &s);
	ck_assert_uint_eq(sc.at, 1);
	ck_assert_str_eq(s.hosts[0].host, "a.example");
	ck_assert_str_eq(s.hosts[1].host, "c.example"); /* 8 % 2 = 0: swap */
	ck_assert_str_eq(s.hosts[2].host, "b.example");
	ck_assert_str_eq(s.hosts[3].host, "d.example");
}
END_TEST

START_TEST(test_shuffle_groups_apart)
{
	static const struct mx_record in[] = {{20, "c.example"},
					      {10, "a.example"},
					      {20, "d.example"},
					      {10, "b.example"},
					      {30, "e.example"}};
	uint64_t seed = 42;
	struct mx_set s;

	for (int run = 0; run < 500; run++) {
		ck_assert_int_eq(mx_order(in, 5, splitmix, &seed, &s), MX_OK);
		ck_assert_uint_eq(s.hosts[0].preference, 10);
		ck_assert_uint_eq(s.hosts[1].preference, 10);
		ck_assert_uint_eq(s.hosts[2].preference, 20);
		ck_assert_uint_eq(s.hosts[3].preference, 20);
		ck_assert_str_eq(s.hosts[4].host, "e.example");
		ck_assert_str_ne(s.hosts[0].host, s.hosts[1].host);
		ck_assert_str_ne(s.hosts[2].host, s.hosts[3].host);
	}
}
END_TEST

/* All 6 orders of three equal hosts, each about 1/6 of 6000 runs (the
 * standard deviation is 29; the bounds are 7 of them). */
START_TEST(test_shuffle_uniform)
{
	uint64_t seed = 0x5eed;
	int count[3][3][3] = {{{0}}};
	struct mx_set s;

	for (int run = 0; run < 6000; run++) {
		mx_order(three, 3, splitmix, &seed, &s);
		count[s.hosts[0].host[0] - 'a'][s.hosts[1].host[0] - 'a']
		     [s.hosts[2].host[0] - 'a']++;
	}
	static const char *const perms[6] = {"abc", "acb", "bac",
					     "bca", "cab", "cba"};
	for (int i = 0; i < 6; i++) {
		int c = count[perms[i][0] - 'a'][perms[i][1] - 'a']
			     [perms[i][2] - 'a'];
		ck_assert_msg(c > 800 && c < 1200, "order %s seen %d times",
			      perms[i], c);
	}
}
END_TEST

/* The cut falls inside a group of eight: every host is kept about 5/8 of
 * the time, so no host is starved by its place in the answer. */
START_TEST(test_shuffle_before_cut)
{
	static const struct mx_record in[] = {
	    {10, "a.example"}, {10, "b.example"}, {10, "c.example"},
	    {10, "d.example"}, {10, "e.example"}, {10, "f.example"},
	    {10, "g.example"}, {10, "h.example"}};
	uint64_t seed = 7;
	int kept[8] = {0};
	struct mx_set s;

	for (int run = 0; run < 4000; run++) {
		mx_order(in, 8, splitmix, &seed, &s);
		ck_assert_uint_eq(s.count, 5);
		ck_assert_uint_eq(s.cut, 3);
		for (unsigned i = 0; i < s.count; i++)
			kept[s.hosts[i].host[0] - 'a']++;
	}
	for (int i = 0; i < 8; i++)
		ck_assert_msg(kept[i] > 2300 && kept[i] < 2700,
			      "host %c kept %d times of 4000", 'a' + i,
			      kept[i]);
}
END_TEST

/* A source stuck at one value still yields a permutation, never a hang. */
START_TEST(test_shuffle_degenerate)
{
	static const uint64_t v[] = {UINT64_MAX};
	struct script sc = {v, 1, 0};
	struct mx_set s;
	int seen = 0;

	ck_assert_int_eq(mx_order(three, 3, script_next, &sc, &s), MX_OK);
	for (unsigned i = 0; i < 3; i++)
		seen |= 1 << (s.hosts[i].host[0] - 'a');
	ck_assert_int_eq(seen, 7);
}
END_TEST

Suite *mx_suite(void)
{
	Suite *s = suite_create("mx");
	TCase *tc;

	tc = tcase_create("order_and_status");
	tcase_add_loop_test(tc, test_order, 0, NROWS(order_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("host_names");
	tcase_add_loop_test(tc, test_names, 0, NROWS(name_rows));
	tcase_add_test(tc, test_name_null);
	tcase_add_test(tc, test_name_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, test_input_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("shuffle");
	tcase_add_test(tc, test_shuffle_scripted);
	tcase_add_test(tc, test_shuffle_draws);
	tcase_add_test(tc, test_shuffle_groups_apart);
	tcase_add_test(tc, test_shuffle_uniform);
	tcase_add_test(tc, test_shuffle_before_cut);
	tcase_add_test(tc, test_shuffle_degenerate);
	suite_add_tcase(s, tc);

	return s;
}
