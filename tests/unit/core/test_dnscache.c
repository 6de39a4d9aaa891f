/* test_dnscache - the RRset cache with plain data: lifetimes from TTLs
 * and SOA (RFC 2308 5), lookups and coalescing, expiry on the caller's
 * clock, LRU eviction, ownership of MX records (ASan checks the frees). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/dnscache.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct dnscache_config base = {
    .max_entries = 100,
    .ttl_floor_s = 30,
    .ttl_ceiling_s = 3600,
    .negative_ttl_s = 60,
    .error_ttl_s = 5,
};

/* ---- lifetimes ----------------------------------------------------------- */

static const struct {
	const char *what;
	unsigned floor, ceiling, negative; /* the rest as in base */
	enum dnscache_kind kind;
	uint32_t answer_ttl;
	bool soa;
	uint32_t negative_ttl; /* min(SOA TTL, MINIMUM), as dnsmsg gives it */
	unsigned want;
} lifetimes[] = {
    {"data within bounds", 30, 3600, 60, DNSCACHE_DATA, 300, false, 0, 300},
    {"data below the floor", 30, 3600, 60, DNSCACHE_DATA, 0, false, 0, 30},
    {"data above the ceiling", 30, 3600, 60, DNSCACHE_DATA, 86400, false, 0,
     3600},
    {"data, zero TTL, no floor", 0, 3600, 60, DNSCACHE_DATA, 0, false, 0, 0},
    {"data ignores the SOA", 30, 3600, 60, DNSCACHE_DATA, 100, true, 40, 100},
    {"NODATA from the SOA", 0, 3600, 600, DNSCACHE_NODATA, 300, true, 45, 45},
    {"NODATA at most negative_ttl_s", 0, 3600, 60, DNSCACHE_NODATA, 0, true,
     900, 60},
    {"NODATA at most the ceiling", 0, 100, 600, DNSCACHE_NODATA, 0, true, 900,
     100},
    {"NODATA at least the floor", 30, 3600, 60, DNSCACHE_NODATA, 0, true, 10,
     30},
    {"NODATA without SOA: the floor", 30, 3600, 60, DNSCACHE_NODATA, 0, false,
     50, 30},
    {"NODATA without SOA, no floor: 0", 0, 3600, 60, DNSCACHE_NODATA, 0, false,
     50, 0},
    {"NXDOMAIN from the SOA", 0, 3600, 600, DNSCACHE_NXDOMAIN, 0, true, 59, 59},
    {"NXDOMAIN at most negative_ttl_s", 0, 3600, 1, DNSCACHE_NXDOMAIN, 0, true,
     60, 1},
    {"an error: error_ttl_s", 30, 3600, 60, DNSCACHE_ERROR, 300, true, 60, 5},
};

START_TEST(lifetime_table)
{
	struct dnscache_config c = base;
	struct dnsmsg_info info;

	memset(&info, 0, sizeof(info));
	c.ttl_floor_s = lifetimes[_i].floor;
	c.ttl_ceiling_s = lifetimes[_i].ceiling;
	c.negative_ttl_s = lifetimes[_i].negative;
	info.answer_ttl = lifetimes[_i].answer_ttl;
	info.soa = lifetimes[_i].soa;
	info.negative_ttl = lifetimes[_i].negative_ttl;
	ck_assert_msg(dnscache_lifetime(&c, lifetimes[_i].kind, &info) ==
			  lifetimes[_i].want,
		      "%s: %u, want %u", lifetimes[_i].what,
		      dnscache_lifetime(&c, lifetimes[_i].kind, &info),
		      lifetimes[_i].want);
}
END_TEST

START_TEST(error_lifetime_needs_no_message)
{
	ck_assert_uint_eq(dnscache_lifetime(&base, DNSCACHE_ERROR, NULL), 5);
}
END_TEST

/* ---- helpers ------------------------------------------------------------- */

struct asker {
	struct dnscache_link link;
	int calls;
	int order; /* position among the deliveries of one completion */
	enum dnscache_kind kind;
	unsigned count;
	uint64_t expires;
};

struct delivery {
	int n;
	struct dnscache *c; /* for lookups from inside the callback */
	int inner;	    /* what that lookup found */
};

static void on_deliver(struct dnscache_link *w, const struct dnscache_entry *e,
		       void *arg)
{
	struct asker *a = (struct asker *)(void *)w; /* link is first */
	struct delivery *d = arg;
	struct dnscache_link late;
	struct dnscache_entry *again;

	ck_assert_int_eq(e->state, DNSCACHE_READY);
	ck_assert_ptr_eq(w->next, w); /* unlinked before the call */
	a->calls++;
	a->order = ++d->n;
	a->kind = e->answer.kind;
	a->count = e->answer.count;
	a->expires = e->expires;
	if (d->c != NULL) {
		dnscache_link_init(&late);
		d->inner =
		    dnscache_lookup(d->c, e->qtype, e->name, 0, &late, &again);
		ck_assert_ptr_eq(again, e);
		ck_assert_ptr_eq(late.next, &late); /* not linked */
	}
}

static struct dnscache *cache_new(const struct dnscache_config *cfg)
{
	struct dnscache *c = NULL;

	ck_assert_int_eq(dnscache_new(cfg, &c), 0);
	ck_assert_ptr_nonnull(c);
	return c;
}

static void asker_init(struct asker *a)
{
	memset(a, 0, sizeof(*a));
	dnscache_link_init(&a->link);
}

/* answer_a - an A answer of @n addresses 192.0.2.1.. and TTL @ttl. */
static void answer_a(struct dnscache_answer *a, struct dnsmsg_info *info,
		     unsigned n, uint32_t ttl)
{
	memset(a, 0, sizeof(*a));
	memset(info, 0, sizeof(*info));
	a->kind = DNSCACHE_DATA;
	a->count = n;
	for (unsigned i = 0; i < n; i++) {
		a->addr[i][0] = 192;
		a->addr[i][2] = 2;
		a->addr[i][3] = (unsigned char)(i + 1);
	}
	info->answers = n;
	info->answer_ttl = ttl;
}

/* fill - look up (A, @name) at @now and complete it with TTL @ttl. */
static void fill(struct dnscache *c, const char *name, uint64_t now,
		 uint32_t ttl)
{
	struct asker a;
	struct delivery d = {0};
	struct dnscache_entry *e;
	struct dnscache_answer ans;
	struct dnsmsg_info info;

	asker_init(&a);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, name, now, &a.link, &e),
	    DNSCACHE_MISS);
	answer_a(&ans, &info, 1, ttl);
	dnscache_complete(c, e, &ans, &info, now, on_deliver, &d);
	ck_assert_int_eq(a.calls, 1);
}

static int find(struct dnscache *c, const char *name, uint64_t now)
{
	struct asker a;
	struct dnscache_entry *e;
	int rc;

	asker_init(&a);
	rc = dnscache_lookup(c, DNSMSG_TYPE_A, name, now, &a.link, &e);
	dnscache_cancel(&a.link); /* a MISS leaves a PENDING entry */
	return rc;
}

static struct dnscache_stats stats(const struct dnscache *c)
{
	struct dnscache_stats s;

	dnscache_get_stats(c, &s);
	return s;
}

/* ---- lookups and coalescing ---------------------------------------------- */

START_TEST(miss_join_complete_hit)
{
	struct dnscache *c = cache_new(&base);
	struct asker a1, a2, a3;
	struct dnscache_entry *e1, *e2, *e3;
	struct dnscache_answer ans;
	struct dnsmsg_info info;
	struct delivery d = {0};

	asker_init(&a1);
	asker_init(&a2);
	asker_init(&a3);
	ck_assert_int_eq(dnscache_lookup(c, DNSMSG_TYPE_A, "mx.example", 1000,
					 &a1.link, &e1),
			 DNSCACHE_MISS);
	ck_assert_int_eq(e1->state, DNSCACHE_PENDING);
	ck_assert_str_eq(e1->name, "mx.example");
	ck_assert_uint_eq(e1->qtype, DNSMSG_TYPE_A);
	e1->tag = &d; /* the asker's; the cache keeps it */
	ck_assert_int_eq(dnscache_lookup(c, DNSMSG_TYPE_A, "mx.example", 1500,
					 &a2.link, &e2),
			 DNSCACHE_JOINED);
	ck_assert_ptr_eq(e2, e1);
	ck_assert_uint_eq(stats(c).entries, 1);
	ck_assert_uint_eq(stats(c).coalesced, 1);

	answer_a(&ans, &info, 3, 300);
	dnscache_complete(c, e1, &ans, &info, 2000, on_deliver, &d);
	/* both waiters, in the order they came, with the answer */
	ck_assert_int_eq(a1.calls, 1);
	ck_assert_int_eq(a2.calls, 1);
	ck_assert_int_eq(a1.order, 1);
	ck_assert_int_eq(a2.order, 2);
	ck_assert_int_eq(a2.kind, DNSCACHE_DATA);
	ck_assert_uint_eq(a2.count, 3);
	ck_assert_uint_eq(a1.expires, 2000 + 300 * 1000);
	ck_assert_ptr_eq(e1->tag, &d);
	ck_assert_int_eq(ans.kind, 0); /* taken over: zeroed */
	ck_assert_uint_eq(ans.count, 0);

	/* fresh until 302000 ms, not at it */
	ck_assert_int_eq(dnscache_lookup(c, DNSMSG_TYPE_A, "mx.example", 301999,
					 &a3.link, &e3),
			 DNSCACHE_HIT);
	ck_assert_ptr_eq(e3, e1);
	ck_assert_uint_eq(e3->answer.addr[2][3], 3);
	ck_assert_ptr_eq(a3.link.next, &a3.link); /* a HIT links nothing */
	ck_assert_uint_eq(stats(c).hits, 1);
	ck_assert_int_eq(find(c, "mx.example", 302000), DNSCACHE_MISS);
	ck_assert_uint_eq(stats(c).entries, 1); /* reused in place */
	dnscache_free(c);
}
END_TEST

/* Keys are (type, name) octet for octet. */
START_TEST(keys_are_type_and_name)
{
	struct dnscache *c = cache_new(&base);
	struct asker a;
	struct dnscache_entry *e;
	char longest[DNSCACHE_NAME_MAX + 2];

	fill(c, "mx.example", 0, 300);
	asker_init(&a);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_AAAA, "mx.example", 0, &a.link, &e),
	    DNSCACHE_MISS);
	dnscache_cancel(&a.link);
	ck_assert_int_eq(find(c, "MX.example", 0), DNSCACHE_MISS);
	ck_assert_int_eq(find(c, "mx.example.", 0), DNSCACHE_MISS);
	ck_assert_int_eq(find(c, "mx.exampl", 0), DNSCACHE_MISS);
	ck_assert_int_eq(find(c, "mx.example", 0), DNSCACHE_HIT);
	ck_assert_uint_eq(stats(c).entries, 5);

	memset(longest, 'a', sizeof(longest));
	longest[DNSCACHE_NAME_MAX] = '\0';
	ck_assert_int_eq(find(c, longest, 0), DNSCACHE_MISS);
	longest[DNSCACHE_NAME_MAX] = 'a';
	longest[DNSCACHE_NAME_MAX + 1] = '\0';
	asker_init(&a);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, longest, 0, &a.link, &e),
	    DNSCACHE_EINVAL);
	ck_assert_ptr_null(e);
	ck_assert_ptr_eq(a.link.next, &a.link);
	ck_assert_uint_eq(stats(c).entries, 6);
	dnscache_free(c);
}
END_TEST

/* A lookup from inside a delivery takes the answer being handed out:
 * SHARED, even when its lifetime is 0 and it is dropped right after. */
START_TEST(lookup_during_delivery_is_shared)
{
	struct dnscache_config cfg = base;
	struct dnscache *c;
	struct asker a;
	struct dnscache_entry *e;
	struct dnscache_answer ans;
	struct dnsmsg_info info;
	struct delivery d = {0};

	cfg.ttl_floor_s = 0;
	c = cache_new(&cfg);
	d.c = c;
	asker_init(&a);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, "zero.example", 0, &a.link, &e),
	    DNSCACHE_MISS);
	answer_a(&ans, &info, 1, 0);
	dnscache_complete(c, e, &ans, &info, 0, on_deliver, &d);
	ck_assert_int_eq(d.inner, DNSCACHE_SHARED);
	ck_assert_uint_eq(stats(c).coalesced, 1);
	ck_assert_uint_eq(stats(c).hits, 0);
	/* lifetime 0: nothing stays */
	ck_assert_uint_eq(stats(c).entries, 0);
	ck_assert_int_eq(find(c, "zero.example", 0), DNSCACHE_MISS);
	dnscache_free(c);
}
END_TEST

/* A cancelled waiter gets nothing; cancelling twice, or a link that
 * never waited, is harmless. */
START_TEST(cancel_waiter)
{
	struct dnscache *c = cache_new(&base);
	struct asker a1, a2, idle;
	struct dnscache_entry *e;
	struct dnscache_answer ans;
	struct dnsmsg_info info;
	struct delivery d = {0};

	asker_init(&a1);
	asker_init(&a2);
	asker_init(&idle);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, "x.example", 0, &a1.link, &e),
	    DNSCACHE_MISS);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, "x.example", 0, &a2.link, &e),
	    DNSCACHE_JOINED);
	dnscache_cancel(&a1.link);
	dnscache_cancel(&a1.link);
	dnscache_cancel(&idle.link);
	answer_a(&ans, &info, 1, 300);
	dnscache_complete(c, e, &ans, &info, 0, on_deliver, &d);
	ck_assert_int_eq(a1.calls, 0);
	ck_assert_int_eq(a2.calls, 1);
	ck_assert_int_eq(a2.order, 1);
	/* the answer was cached all the same */
	ck_assert_int_eq(find(c, "x.example", 0), DNSCACHE_HIT);
	dnscache_free(c);
}
END_TEST

/* ---- eviction -------------------------------------------------------------- */

START_TEST(least_recently_used_goes_first)
{
	struct dnscache_config cfg = base;
	struct dnscache *c;

	cfg.max_entries = 2;
	c = cache_new(&cfg);
	fill(c, "a.example", 0, 300);
	fill(c, "b.example", 0, 300);
	ck_assert_int_eq(find(c, "a.example", 0), DNSCACHE_HIT); /* b is LRU */
	fill(c, "c.example", 0, 300);
	ck_assert_uint_eq(stats(c).evictions, 1);
	ck_assert_uint_eq(stats(c).entries, 2);
	ck_assert_int_eq(find(c, "a.example", 0), DNSCACHE_HIT);
	ck_assert_int_eq(find(c, "c.example", 0), DNSCACHE_HIT);
	/* b is gone: asking again is a MISS, which evicts a (now LRU) */
	ck_assert_int_eq(find(c, "b.example", 0), DNSCACHE_MISS);
	ck_assert_uint_eq(stats(c).evictions, 2);
	dnscache_free(c);
}
END_TEST

/* Entries in flight are never evicted: the count may pass the limit,
 * and an answer that arrives over it is dropped once handed out. */
START_TEST(pending_entries_stay)
{
	struct dnscache_config cfg = base;
	struct dnscache *c;
	struct asker a1, a2;
	struct dnscache_entry *e1, *e2;
	struct dnscache_answer ans;
	struct dnsmsg_info info;
	struct delivery d = {0};

	cfg.max_entries = 1;
	c = cache_new(&cfg);
	asker_init(&a1);
	asker_init(&a2);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, "one.example", 0, &a1.link, &e1),
	    DNSCACHE_MISS);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_A, "two.example", 0, &a2.link, &e2),
	    DNSCACHE_MISS);
	ck_assert_uint_eq(stats(c).entries, 2);
	ck_assert_uint_eq(stats(c).evictions, 0);

	answer_a(&ans, &info, 1, 300);
	dnscache_complete(c, e1, &ans, &info, 0, on_deliver, &d);
	ck_assert_int_eq(a1.calls, 1);
	ck_assert_uint_eq(stats(c).entries, 1); /* one is over the limit */
	ck_assert_uint_eq(stats(c).evictions, 1);
	answer_a(&ans, &info, 1, 300);
	dnscache_complete(c, e2, &ans, &info, 0, on_deliver, &d);
	ck_assert_int_eq(a2.calls, 1);
	ck_assert_int_eq(find(c, "two.example", 0), DNSCACHE_HIT);
	dnscache_free(c);
}
END_TEST

/* ---- answers and ownership ------------------------------------------------- */

/* MX records are owned by the entry: freed on eviction, on expiry and by
 * dnscache_free() (ASan reports a leak otherwise). */
START_TEST(mx_records_owned)
{
	struct dnscache_config cfg = base;
	struct dnscache *c;
	struct asker a;
	struct dnscache_entry *e;
	struct dnscache_answer ans;
	struct dnsmsg_info info;
	struct delivery d = {0};
	static const char *const names[] = {"a.example", "b.example",
					    "c.example"};

	cfg.max_entries = 2;
	c = cache_new(&cfg);
	for (size_t i = 0; i < COUNT(names); i++) {
		asker_init(&a);
		ck_assert_int_eq(dnscache_lookup(c, DNSMSG_TYPE_MX, names[i], 0,
						 &a.link, &e),
				 DNSCACHE_MISS);
		memset(&ans, 0, sizeof(ans));
		memset(&info, 0, sizeof(info));
		ans.kind = DNSCACHE_DATA;
		ans.count = 2;
		ans.mx = calloc(2, sizeof(*ans.mx));
		ck_assert_ptr_nonnull(ans.mx);
		ans.mx[0].preference = 10;
		ans.mx[0].usable = true;
		memcpy(ans.mx[0].host, "mx1.example", 12);
		info.answer_ttl = 300;
		dnscache_complete(c, e, &ans, &info, 0, on_deliver, &d);
		ck_assert_ptr_null(ans.mx);
		ck_assert_uint_eq(a.count, 2);
	}
	ck_assert_uint_eq(stats(c).evictions, 1);
	/* expired: asked again in place, the old records freed */
	asker_init(&a);
	ck_assert_int_eq(dnscache_lookup(c, DNSMSG_TYPE_MX, "c.example", 400000,
					 &a.link, &e),
			 DNSCACHE_MISS);
	ck_assert_ptr_null(e->answer.mx);
	ck_assert_uint_eq(e->answer.count, 0);
	dnscache_free(c); /* with one entry still PENDING and a waiter */
}
END_TEST

/* Negative and error answers keep their kind and codes. */
START_TEST(negative_and_error_answers)
{
	struct dnscache *c = cache_new(&base);
	struct asker a;
	struct dnscache_entry *e;
	struct dnscache_answer ans;
	struct dnsmsg_info info;
	struct delivery d = {0};

	asker_init(&a);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_MX, "gone.example", 0, &a.link, &e),
	    DNSCACHE_MISS);
	memset(&ans, 0, sizeof(ans));
	memset(&info, 0, sizeof(info));
	ans.kind = DNSCACHE_NXDOMAIN;
	info.soa = true;
	info.negative_ttl = 45;
	dnscache_complete(c, e, &ans, &info, 0, on_deliver, &d);
	ck_assert_int_eq(a.kind, DNSCACHE_NXDOMAIN);
	ck_assert_uint_eq(a.expires, 45000);

	asker_init(&a);
	ck_assert_int_eq(
	    dnscache_lookup(c, DNSMSG_TYPE_MX, "fail.example", 10, &a.link, &e),
	    DNSCACHE_MISS);
	memset(&ans, 0, sizeof(ans));
	ans.kind = DNSCACHE_ERROR;
	ans.error = 11;
	ans.dnsmsg_error = DNSMSG_ENAME;
	dnscache_complete(c, e, &ans, NULL, 10, on_deliver, &d);
	ck_assert_int_eq(a.kind, DNSCACHE_ERROR);
	ck_assert_uint_eq(a.expires, 5010);
	ck_assert_int_eq(e->answer.error, 11);
	ck_assert_int_eq(e->answer.dnsmsg_error, DNSMSG_ENAME);
	dnscache_free(c);
}
END_TEST

/* ---- configuration --------------------------------------------------------- */

START_TEST(bad_configuration)
{
	struct dnscache_config cfg = base;
	struct dnscache *c = (void *)&cfg;

	cfg.max_entries = 0;
	ck_assert_int_eq(dnscache_new(&cfg, &c), DNSCACHE_EINVAL);
	ck_assert_ptr_null(c);
	cfg = base;
	cfg.ttl_floor_s = cfg.ttl_ceiling_s + 1;
	ck_assert_int_eq(dnscache_new(&cfg, &c), DNSCACHE_EINVAL);
	ck_assert_ptr_null(c);
	dnscache_free(NULL);
}
END_TEST

Suite *dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc;

	tc = tcase_create("lifetimes");
	tcase_add_loop_test(tc, lifetime_table, 0, COUNT(lifetimes));
	tcase_add_test(tc, error_lifetime_needs_no_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookups");
	tcase_add_test(tc, miss_join_complete_hit);
	tcase_add_test(tc, keys_are_type_and_name);
	tcase_add_test(tc, lookup_during_delivery_is_shared);
	tcase_add_test(tc, cancel_waiter);
	suite_add_tcase(s, tc);

	tc = tcase_create("eviction");
	tcase_add_test(tc, least_recently_used_goes_first);
	tcase_add_test(tc, pending_entries_stay);
	suite_add_tcase(s, tc);

	tc = tcase_create("answers");
	tcase_add_test(tc, mx_records_owned);
	tcase_add_test(tc, negative_and_error_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("configuration");
	tcase_add_test(tc, bad_configuration);
	suite_add_tcase(s, tc);
	return s;
}
