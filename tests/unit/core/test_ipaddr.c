/* test_ipaddr - the IP address literals of RFC 5321 4.1.3 (core/ipaddr.h).
 *
 * Behaviours, one TCase each: literals accepted and their exact octets;
 * literals refused and their exact explanation; the IPv4 and IPv6
 * grammars called directly; input read only within its length (no NUL
 * needed). test_address checks the same grammar through address_parse(). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipaddr.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define V4	 "invalid IPv4 address literal: "
#define V6	 "invalid IPv6 address literal: "

/* parse - ipaddr_parse_literal() on a heap copy of exactly @n octets
 * without a NUL, so that ASan reports any read past the length. */
static int parse(const char *text, size_t n, enum ipaddr_family *family,
		 unsigned char octets[16], char why[IPADDR_WHY_MAX])
{
	char *copy = malloc(n > 0 ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, n);
	rc = ipaddr_parse_literal(copy, n, family, octets, why);
	free(copy);
	return rc;
}

static const struct {
	const char *text;
	enum ipaddr_family family;
	unsigned char octets[16];
} good[] = {
    {"192.0.2.1", IPADDR_V4, {192, 0, 2, 1}},
    {"0.0.0.0", IPADDR_V4, {0}},
    {"255.255.255.255", IPADDR_V4, {255, 255, 255, 255}},
    {"IPv6:2001:db8::1",
     IPADDR_V6,
     {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"ipv6:::", IPADDR_V6, {0}}, /* the tag in any case */
    {"IPV6:::1", IPADDR_V6, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"IPv6:1::", IPADDR_V6, {0, 1}},
    {"IPv6:1:2:3:4:5:6:7:8",
     IPADDR_V6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}},
    {"IPv6:1:2:3:4:5:6::", /* "::" as two groups: at most 6 written */
     IPADDR_V6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 0, 0, 0}},
    {"IPv6:FFFF:0:0:0:0:0:0:abcd",
     IPADDR_V6,
     {0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd}},
    {"IPv6:::ffff:192.0.2.1",
     IPADDR_V6,
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}},
    {"IPv6:1:2:3:4:5:6:10.0.0.1",
     IPADDR_V6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 10, 0, 0, 1}},
    {"IPv6:1:2:3:4::10.0.0.1",
     IPADDR_V6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 10, 0, 0, 1}},
};

START_TEST(literals_accepted)
{
	unsigned char octets[16];
	enum ipaddr_family family = IPADDR_NONE;
	char why[IPADDR_WHY_MAX] = "x";
	const char *t = good[_i].text;
	size_t n = good[_i].family == IPADDR_V4 ? 4 : 16;

	memset(octets, 0xee, sizeof(octets));
	ck_assert_msg(parse(t, strlen(t), &family, octets, why) == 0, "%s: %s",
		      t, why);
	ck_assert_int_eq(family, good[_i].family);
	ck_assert_str_eq(why, "");
	ck_assert_msg(memcmp(octets, good[_i].octets, n) == 0, "%s: octets", t);
}
END_TEST

static const struct {
	const char *text;
	enum ipaddr_family family; /* as far as it was recognised */
	const char *why;	   /* the exact explanation */
} bad[] = {
    /* IPv4 */
    {"", IPADDR_V4, V4 "it must be four numbers separated by dots"},
    {"192.0.2", IPADDR_V4, V4 "it must be four numbers separated by dots"},
    {"192.0.2.1.5", IPADDR_V4, V4 "it must be four numbers separated by dots"},
    {"192.0.2.", IPADDR_V4, V4 "it must be four numbers separated by dots"},
    {".192.0.2", IPADDR_V4, V4 "it must be four numbers separated by dots"},
    {"192..0.2", IPADDR_V4, V4 "it must be four numbers separated by dots"},
    {"192.0.2.256", IPADDR_V4, V4 "a number is larger than 255"},
    {"1922.0.2.1", IPADDR_V4, V4 "a number is larger than 255"},
    {"0001.0.0.1", IPADDR_V4, V4 "a number has a leading zero"},
    {"010.0.0.1", IPADDR_V4, V4 "a number has a leading zero"},
    {"0.0.0.00", IPADDR_V4, V4 "a number has a leading zero"},
    /* the tag */
    {"2001:db8::1", IPADDR_NONE,
     "an IPv6 address literal must start with the tag IPv6:"},
    {"::1", IPADDR_NONE,
     "an IPv6 address literal must start with the tag IPv6:"},
    {"IPv6 2001:db8::1", IPADDR_NONE,
     "address literal must be IPv4 or IPv6 (general address literals are "
     "not supported)"},
    {"x400:c=us", IPADDR_NONE,
     "address literal must be IPv4 or IPv6 (general address literals are "
     "not supported)"},
    {"IPv6", IPADDR_NONE,
     "address literal must be IPv4 or IPv6 (general address literals are "
     "not supported)"},
    /* IPv6 groups */
    {"IPv6:", IPADDR_V6, V6 "it needs 8 groups (or ::), not 0"},
    {"IPv6:1:2:3:4:5:6:7", IPADDR_V6, V6 "it needs 8 groups (or ::), not 7"},
    {"IPv6:1:2:3:4:5:6:7:8:9", IPADDR_V6,
     V6 "it needs 8 groups (or ::), not 9"},
    {"IPv6:1:2:3:4:5:192.0.2.1", IPADDR_V6,
     V6 "it needs 6 groups (or ::), not 5"},
    {"IPv6:1:2:3:4:5:6::7", IPADDR_V6, V6 "too many groups for :: (at most 6)"},
    {"IPv6:1:2:3:4:5:6:7::", IPADDR_V6,
     V6 "too many groups for :: (at most 6)"},
    {"IPv6:1:2:3:4:5::192.0.2.1", IPADDR_V6,
     V6 "too many groups for :: (at most 4)"},
    {"IPv6:2001:db8::1::2", IPADDR_V6, V6 "more than one ::"},
    {"IPv6:12345::1", IPADDR_V6, V6 "a group has more than 4 hex digits"},
    {"IPv6:2001:db8::g", IPADDR_V6, V6 "'g' is not a hex digit"},
    {"IPv6:fe80::1%eth0", IPADDR_V6, V6 "'%' is not a hex digit"},
    {"IPv6:2001:db8::/32", IPADDR_V6, V6 "'/' is not a hex digit"},
    {"IPv6::1", IPADDR_V6, V6 "an empty group (a stray colon)"},
    {"IPv6:1::2:", IPADDR_V6, V6 "an empty group (a stray colon)"},
    {"IPv6:1:::2", IPADDR_V6, V6 "an empty group (a stray colon)"},
    {"IPv6:1.2.3.4::1", IPADDR_V6, V6 "'.' is not a hex digit"},
    /* 46 octets after the tag: longer than any IPv6 text */
    {"IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000:0", IPADDR_V6,
     V6 "too long"},
    /* a dotted quad inside IPv6 is explained as IPv4 */
    {"IPv6:::256.0.0.1", IPADDR_V6, V4 "a number is larger than 255"},
    {"IPv6:::1.2.3.04", IPADDR_V6, V4 "a number has a leading zero"},
    {"IPv6:::1.2.3", IPADDR_V6, V4 "it must be four numbers separated by dots"},
    {"IPv6:::1.2.3.x", IPADDR_V6, V4 "it contains 'x'"},
};

START_TEST(literals_refused)
{
	unsigned char octets[16];
	enum ipaddr_family family = IPADDR_V4;
	char why[IPADDR_WHY_MAX] = "";
	const char *t = bad[_i].text;

	ck_assert_msg(parse(t, strlen(t), &family, octets, why) == -1,
		      "\"%s\" accepted", t);
	ck_assert_int_eq(family, bad[_i].family);
	ck_assert_str_eq(why, bad[_i].why);
}
END_TEST

/* The grammars called directly: no tag for IPv6, no dispatch. */
START_TEST(direct_calls)
{
	unsigned char o[16];
	char why[IPADDR_WHY_MAX];

	ck_assert_int_eq(ipaddr_parse_v4("10.1.2.3", 8, o, why), 0);
	ck_assert_str_eq(why, "");
	ck_assert(memcmp(o, "\x0a\x01\x02\x03", 4) == 0);
	ck_assert_int_eq(ipaddr_parse_v4("10.1.2.a", 8, o, why), -1);
	ck_assert_str_eq(why, V4 "it contains 'a'");

	ck_assert_int_eq(ipaddr_parse_v6("::2", 3, o, why), 0);
	ck_assert_str_eq(why, "");
	ck_assert(memcmp(o, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16) == 0);
	ck_assert_int_eq(ipaddr_parse_v6("IPv6:::2", 8, o, why), -1);
	ck_assert_str_eq(why, V6 "'I' is not a hex digit");
}
END_TEST

/* Only @n octets are read: what follows (the "]" of an address, or
 * anything) is not part of the literal, and no NUL is needed. */
START_TEST(reads_within_length)
{
	static const char v4[] = {'1', '.', '2', '.', '3', '.', '4', '5'};
	static const char v6[] = "IPv6:1::2:3]junk";
	static const char tagless[] = {':', ':', '1', 'z'};
	unsigned char o[16];
	enum ipaddr_family family;
	char why[IPADDR_WHY_MAX];

	ck_assert_int_eq(parse(v4, 7, &family, o, why), 0);
	ck_assert(memcmp(o, "\x01\x02\x03\x04", 4) == 0);
	ck_assert_int_eq(parse(v6, 9, &family, o, why), 0);
	ck_assert_int_eq(family, IPADDR_V6);
	ck_assert(memcmp(o, "\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16) == 0);
	ck_assert_int_eq(parse(tagless, 3, &family, o, why), -1);
	ck_assert_str_eq(why, "an IPv6 address literal must start with the tag "
			      "IPv6:");
	/* a NUL inside is not part of any alphabet */
	ck_assert_int_eq(parse("1.2\0.3.4", 8, &family, o, why), -1);
	ck_assert_int_eq(family, IPADDR_NONE);
}
END_TEST

Suite *ipaddr_suite(void)
{
	Suite *s = suite_create("ipaddr");
	TCase *tc;

	tc = tcase_create("accepted");
	tcase_add_loop_test(tc, literals_accepted, 0, COUNT(good));
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_loop_test(tc, literals_refused, 0, COUNT(bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("direct");
	tcase_add_test(tc, direct_calls);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, reads_within_length);
	suite_add_tcase(s, tc);
	return s;
}
