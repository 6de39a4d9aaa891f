/* test_dnsmsg - rcode and TTLs of hand-built DNS responses, honest and
 * hostile (pointer loops, forward pointers, truncation, oversize names). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/dnsmsg.h"

/* Packet pieces. HDR: id 0x1234, QR|RD / RA, the rcode and the counts. */
#define HDR(rcode, qd, an, ns, ar)                                             \
	0x12, 0x34, 0x81, 0x80 | (rcode), 0, (qd), 0, (an), 0, (ns), 0, (ar)
/* "example.com." at offset 12 (13 octets): 0xc0 0x0c points at it and
 * 0xc0 0x14 at "com.". */
#define NAME_EXAMPLE   7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0
#define PTR(off)       0xc0 | ((off) >> 8), (off)&0xff
#define U16(v)	       ((v) >> 8) & 0xff, (v)&0xff
#define U32(v)	       ((v) >> 24) & 0xff, ((v) >> 16) & 0xff, U16(v)
#define QUESTION(type) NAME_EXAMPLE, U16(type), 0, 1
/* An RR owned by "example.com." (a pointer), class IN. */
#define RR(type, ttl, rdlen) PTR(12), U16(type), 0, 1, U32(ttl), U16(rdlen)
/* MX RDATA: preference and "mxN.example.com." as label + pointer. */
#define MX_RDATA(pref, n) U16(pref), 3, 'm', 'x', (n), PTR(12)
#define MX_RDLEN	  8
/* SOA RDATA: "ns.example.com." "h.example.com." and five numbers. */
#define SOA_RDATA(minimum)                                                     \
	2, 'n', 's', PTR(12), 1, 'h', PTR(12), U32(1), U32(3600), U32(600),    \
	    U32(86400), U32(minimum)
#define SOA_RDLEN 29

#define PKT(...)                                                               \
	.msg = {__VA_ARGS__}, .len = sizeof((unsigned char[]){__VA_ARGS__})

#define TYPE_RRSIG 46

struct row {
	const char *what;
	unsigned char msg[600];
	size_t len;
	int rc;
	unsigned rcode;
	unsigned qtype;
	unsigned answers, cnames;
	unsigned answer_ttl;
	bool soa;
	unsigned soa_ttl, soa_minimum, negative_ttl;
};

/* Honest responses: the values a resolver caches by. */
static const struct row honest[] = {
    {"two MX, the least TTL wins",
     PKT(HDR(0, 1, 2, 0, 0), QUESTION(15), RR(15, 300, MX_RDLEN),
	 MX_RDATA(10, '1'), RR(15, 200, MX_RDLEN), MX_RDATA(20, '2')),
     0, 0, 15, 2, 0, 200, false, 0, 0, 0},
    {"a CNAME on the path counts",
     PKT(HDR(0, 1, 2, 0, 0), QUESTION(15), RR(5, 50, 6), 3, 'f', 'o', 'o',
	 PTR(12), RR(15, 300, MX_RDLEN), MX_RDATA(10, '1')),
     0, 0, 15, 1, 1, 50, false, 0, 0, 0},
    {"other types do not count",
     PKT(HDR(0, 1, 2, 0, 0), QUESTION(15), RR(TYPE_RRSIG, 5, 2), 0, 0,
	 RR(15, 300, MX_RDLEN), MX_RDATA(10, '1')),
     0, 0, 15, 1, 0, 300, false, 0, 0, 0},
    {"a TTL with the top bit set is 0 (RFC 2181 8)",
     PKT(HDR(0, 1, 1, 0, 0), QUESTION(1), RR(1, 0x80000000u, 4), 192, 0, 2, 1),
     0, 0, 1, 1, 0, 0, false, 0, 0, 0},
    {"the largest TTL stands",
     PKT(HDR(0, 1, 1, 0, 0), QUESTION(28), RR(28, 0x7fffffffu, 16), 0x20, 1,
	 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
     0, 0, 28, 1, 0, 0x7fffffffu, false, 0, 0, 0},
    {"NXDOMAIN: SOA MINIMUM below its TTL",
     PKT(HDR(3, 1, 0, 1, 0), QUESTION(15), RR(6, 900, SOA_RDLEN),
	 SOA_RDATA(60)),
     0, 3, 15, 0, 0, 0, true, 900, 60, 60},
    {"NODATA: SOA TTL below its MINIMUM",
     PKT(HDR(0, 1, 0, 1, 0), QUESTION(15), RR(6, 30, SOA_RDLEN),
	 SOA_RDATA(3600)),
     0, 0, 15, 0, 0, 0, true, 30, 3600, 30},
    {"two SOAs: the least negative TTL",
     PKT(HDR(3, 1, 0, 2, 0), QUESTION(1), RR(6, 900, SOA_RDLEN), SOA_RDATA(300),
	 RR(6, 100, SOA_RDLEN), SOA_RDATA(200)),
     0, 3, 1, 0, 0, 0, true, 100, 200, 100},
    {"NS in authority, no SOA",
     PKT(HDR(0, 1, 0, 1, 0), QUESTION(15), RR(2, 600, 5), 2, 'n', 's', PTR(12)),
     0, 0, 15, 0, 0, 0, false, 0, 0, 0},
    {"SERVFAIL with nothing else", PKT(HDR(2, 1, 0, 0, 0), QUESTION(15)), 0, 2,
     15, 0, 0, 0, false, 0, 0, 0},
    {"a pointer to a pointer (chain of earlier names)",
     PKT(HDR(0, 1, 2, 0, 0), QUESTION(15), RR(15, 70, 9), U16(5), 4, 'm', 'a',
	 'i', 'l', PTR(12),
	 /* owner: "x." + pointer to "mail." at offset 43 */
	 1, 'x', PTR(43), U16(15), 0, 1, U32(80), U16(MX_RDLEN),
	 MX_RDATA(5, '9')),
     0, 0, 15, 2, 0, 70, false, 0, 0, 0},
    {"the additional section is not walked",
     PKT(HDR(0, 1, 1, 0, 5), QUESTION(15), RR(15, 10, MX_RDLEN),
	 MX_RDATA(0, '0'), 0xff),
     0, 0, 15, 1, 0, 10, false, 0, 0, 0},
};

static void check_row(const struct row *t)
{
	struct dnsmsg_info info;
	int rc = dnsmsg_parse(t->msg, t->len, &info);

	ck_assert_msg(rc == t->rc, "%s: rc %d (%s), expected %d", t->what, rc,
		      dnsmsg_strerror(rc), t->rc);
	if (rc != 0)
		return;
	ck_assert_msg(info.id == 0x1234 && info.qr, "%s: header", t->what);
	ck_assert_uint_eq(info.rcode, t->rcode);
	ck_assert_uint_eq(info.qtype, t->qtype);
	ck_assert_uint_eq(info.qclass, 1);
	ck_assert_uint_eq(info.answers, t->answers);
	ck_assert_uint_eq(info.cnames, t->cnames);
	ck_assert_uint_eq(info.answer_ttl, t->answer_ttl);
	ck_assert_int_eq(info.soa, t->soa);
	ck_assert_uint_eq(info.soa_ttl, t->soa_ttl);
	ck_assert_uint_eq(info.soa_minimum, t->soa_minimum);
	ck_assert_uint_eq(info.negative_ttl, t->negative_ttl);
}

START_TEST(honest_responses)
{
	check_row(&honest[_i]);
}
END_TEST

/* Every proper prefix of an honest response (none has an additional
 * section that could be cut unnoticed) is refused. */
START_TEST(every_prefix_is_refused)
{
	const struct row *t = &honest[_i];
	struct dnsmsg_info info;

	if (t->msg[11] != 0)
		return; /* arcount: additional octets are not walked */
	for (size_t n = 0; n < t->len; n++) {
		/* A copy of exactly n octets, so ASan sees any overread. */
		unsigned char *p = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, t->msg, n);
		int rc = dnsmsg_parse(p, n, &info);
		free(p);
		ck_assert_msg(rc < 0, "%s: prefix %zu accepted", t->what, n);
	}
}
END_TEST

/* Hostile responses: each must be refused with its own error. */
static const struct row hostile[] = {
    {"header of 11 octets", .msg = {HDR(0, 1, 0, 0, 0)},
     .len = DNSMSG_HEADER_LEN - 1, .rc = DNSMSG_ETRUNC},
    {"no question", PKT(HDR(0, 0, 0, 0, 0)), DNSMSG_EQUESTION},
    {"two questions", PKT(HDR(0, 2, 0, 0, 0), QUESTION(15), QUESTION(15)),
     DNSMSG_EQUESTION},
    {"label runs past the end", PKT(HDR(0, 1, 0, 0, 0), 7, 'e', 'x'),
     DNSMSG_ETRUNC},
    {"no terminating label", PKT(HDR(0, 1, 0, 0, 0), 1, 'a', 1, 'b'),
     DNSMSG_ETRUNC},
    {"question without type and class",
     PKT(HDR(0, 1, 0, 0, 0), NAME_EXAMPLE, 0, 15), DNSMSG_ETRUNC},
    {"pointer to itself", PKT(HDR(0, 1, 0, 0, 0), PTR(12), 0, 15, 0, 1),
     DNSMSG_ENAME},
    {"pointer forward",
     PKT(HDR(0, 1, 0, 0, 0), 1, 'a', PTR(16), 0, 0, 15, 0, 1), DNSMSG_ENAME},
    {"loop through an earlier label run",
     PKT(HDR(0, 1, 1, 0, 0), QUESTION(15),
	 /* at 29: "b" then a pointer back to 29 */
	 1, 'b', PTR(29), U16(15), 0, 1, U32(1), U16(0)),
     DNSMSG_ENAME},
    {"two names pointing at each other",
     PKT(HDR(0, 1, 2, 0, 0), QUESTION(15),
	 /* at 29: pointer to 45 (forward); at 45: pointer to 29 */
	 PTR(45), U16(99), 0, 1, U32(1), U16(4), 0, 0, 0, 0, PTR(29), U16(99),
	 0, 1, U32(1), U16(0)),
     DNSMSG_ENAME},
    {"pointer cut in half", PKT(HDR(0, 1, 0, 0, 0), 0xc0), DNSMSG_ETRUNC},
    {"label type 01 (extended)", PKT(HDR(0, 1, 0, 0, 0), 0x41, 0, 0, 15, 0, 1),
     DNSMSG_ENAME},
    {"label type 10", PKT(HDR(0, 1, 0, 0, 0), 0x80, 0, 0, 15, 0, 1),
     DNSMSG_ENAME},
    {"RR fixed part cut",
     PKT(HDR(0, 1, 1, 0, 0), QUESTION(15), PTR(12), U16(15), 0, 1, 0),
     DNSMSG_ETRUNC},
    {"RDLENGTH past the end",
     PKT(HDR(0, 1, 1, 0, 0), QUESTION(15), RR(15, 1, 200), MX_RDATA(1, '1')),
     DNSMSG_ETRUNC},
    {"more answers counted than present",
     PKT(HDR(0, 1, 3, 0, 0), QUESTION(15), RR(15, 1, MX_RDLEN),
	 MX_RDATA(1, '1')),
     DNSMSG_ETRUNC},
    {"authority counted, absent", PKT(HDR(3, 1, 0, 1, 0), QUESTION(15)),
     DNSMSG_ETRUNC},
    {"SOA longer than its RDLENGTH",
     PKT(HDR(3, 1, 0, 1, 0), QUESTION(15), RR(6, 900, SOA_RDLEN - 2),
	 SOA_RDATA(60)),
     DNSMSG_ERDATA},
    {"SOA shorter than its RDLENGTH",
     PKT(HDR(3, 1, 0, 1, 0), QUESTION(15), RR(6, 900, SOA_RDLEN + 2),
	 SOA_RDATA(60), 0, 0),
     DNSMSG_ERDATA},
    {"SOA name runs out of its RDATA",
     PKT(HDR(3, 1, 0, 1, 0), QUESTION(15), RR(6, 900, 3), 5, 'a', 'b', 'c', 'd',
	 'e', 0),
     DNSMSG_ERDATA},
    {"SOA name loops",
     PKT(HDR(3, 1, 0, 1, 0), QUESTION(15), RR(6, 900, 22), PTR(41), U32(1),
	 U32(2), U32(3), U32(4), U32(5)),
     DNSMSG_ENAME},
};

START_TEST(hostile_responses)
{
	check_row(&hostile[_i]);
}
END_TEST

START_TEST(too_big)
{
	static unsigned char big[DNSMSG_MAX + 1];
	struct dnsmsg_info info;

	ck_assert_int_eq(dnsmsg_parse(big, sizeof(big), &info), DNSMSG_ETOOBIG);
	ck_assert_int_eq(dnsmsg_parse(big, 0, &info), DNSMSG_ETRUNC);
}
END_TEST

/* A name of @labels labels of 63 octets plus @extra, to cross 255. */
static size_t long_name(unsigned char *p, unsigned labels, unsigned extra)
{
	size_t n = 0;

	for (unsigned i = 0; i < labels; i++) {
		p[n++] = 63;
		memset(p + n, 'a', 63);
		n += 63;
	}
	if (extra > 0) {
		p[n++] = (unsigned char)extra;
		memset(p + n, 'b', extra);
		n += extra;
	}
	p[n++] = 0;
	return n;
}

/* Boundary of DNSMSG_NAME_MAX: three labels of 63 and one of 61 make 255
 * octets and pass; one more octet, or a fourth label of 63, is refused. */
START_TEST(name_length_bound)
{
	unsigned char msg[600] = {HDR(0, 1, 0, 0, 0)};
	struct dnsmsg_info info;
	size_t n;

	n = DNSMSG_HEADER_LEN + long_name(msg + DNSMSG_HEADER_LEN, 3, 61);
	ck_assert_uint_eq(n - DNSMSG_HEADER_LEN, 255);
	memcpy(msg + n, (unsigned char[]){0, 1, 0, 1}, 4);
	ck_assert_int_eq(dnsmsg_parse(msg, n + 4, &info), DNSMSG_OK);

	n = DNSMSG_HEADER_LEN + long_name(msg + DNSMSG_HEADER_LEN, 3, 62);
	ck_assert_uint_eq(n - DNSMSG_HEADER_LEN, 256);
	memcpy(msg + n, (unsigned char[]){0, 1, 0, 1}, 4);
	ck_assert_int_eq(dnsmsg_parse(msg, n + 4, &info), DNSMSG_ENAME);

	n = DNSMSG_HEADER_LEN + long_name(msg + DNSMSG_HEADER_LEN, 4, 0);
	memcpy(msg + n, (unsigned char[]){0, 1, 0, 1}, 4);
	ck_assert_int_eq(dnsmsg_parse(msg, n + 4, &info), DNSMSG_ENAME);
}
END_TEST

/* A chain of @links pointers, each to the one before, inside the RDATA
 * of an unknown RR; the next RR's owner points at the last one. The
 * owner's name then takes links + 2 pointers to reach the root name of
 * the question. */
static size_t pointer_chain(unsigned char *msg, unsigned links)
{
	size_t n = 0, base;
	const unsigned char head[] = {
	    HDR(0, 1, 2, 0, 0),	 0, 0, 1, 0, 1, 0, U16(99), 0, 1, U32(1),
	    U16(2 * (links + 1))};

	memcpy(msg, head, sizeof(head));
	n = sizeof(head);
	base = n;
	msg[n++] = 0xc0;
	msg[n++] = 12; /* the root name of the question */
	for (unsigned i = 1; i <= links; i++) {
		size_t prev = base + 2 * (i - 1);
		msg[n++] = (unsigned char)(0xc0 | prev >> 8);
		msg[n++] = (unsigned char)(prev & 0xff);
	}
	size_t last = base + 2 * links;
	const unsigned char tail[] = {(unsigned char)(0xc0 | last >> 8),
				      (unsigned char)(last & 0xff),
				      U16(1),
				      0,
				      1,
				      U32(7),
				      U16(4),
				      192,
				      0,
				      2,
				      1};
	memcpy(msg + n, tail, sizeof(tail));
	return n + sizeof(tail);
}

START_TEST(pointer_hops_bound)
{
	unsigned char msg[1024];
	struct dnsmsg_info info;
	size_t n;

	n = pointer_chain(msg, DNSMSG_HOPS_MAX - 2);
	ck_assert_int_eq(dnsmsg_parse(msg, n, &info), DNSMSG_OK);
	ck_assert_uint_eq(info.answers, 1);
	ck_assert_uint_eq(info.answer_ttl, 7);
	n = pointer_chain(msg, DNSMSG_HOPS_MAX - 1);
	ck_assert_int_eq(dnsmsg_parse(msg, n, &info), DNSMSG_ENAME);
}
END_TEST

START_TEST(strerror_names_every_error)
{
	static const int errs[] = {DNSMSG_OK,	  DNSMSG_ETRUNC,
				   DNSMSG_ENAME,  DNSMSG_EQUESTION,
				   DNSMSG_ERDATA, DNSMSG_ETOOBIG};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		ck_assert_str_ne(dnsmsg_strerror(errs[i]),
				 "unknown dnsmsg error");
	ck_assert_str_eq(dnsmsg_strerror(-99), "unknown dnsmsg error");
}
END_TEST

Suite *dnsmsg_suite(void);
Suite *dnsmsg_suite(void)
{
	Suite *s = suite_create("dnsmsg");
	TCase *tc;
	int nh = sizeof(honest) / sizeof(honest[0]);

	tc = tcase_create("honest");
	tcase_add_loop_test(tc, honest_responses, 0, nh);
	suite_add_tcase(s, tc);

	tc = tcase_create("prefixes");
	tcase_add_loop_test(tc, every_prefix_is_refused, 0, nh);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_loop_test(tc, hostile_responses, 0,
			    sizeof(hostile) / sizeof(hostile[0]));
	tcase_add_test(tc, too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, name_length_bound);
	tcase_add_test(tc, pointer_hops_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, strerror_names_every_error);
	suite_add_tcase(s, tc);
	return s;
}
