/* test_address - the envelope address parser (core/address.h).
 *
 * Behaviours, one TCase each: valid addresses and their exact normalised
 * form; address literals and their parsed octets; invalid addresses and
 * the words used to explain them; exact length boundaries; trimming;
 * idempotence of the normal form; address_local_lower(); and the is_email
 * conformance suite (tests/data/isemail-tests.xml, see tests/data/README.md).
 * Every input is passed with its explicit length, so an embedded NUL is a
 * byte like any other and must be refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/address.h"

Suite *address_suite(void);

/* A string literal and its length, NULs included. */
#define IN(s) s, sizeof(s) - 1

/* Flags of a valid parse: local_quoted, local_utf8, domain_idn. */
#define Q 1
#define U 2
#define I 4

struct ok_case {
	const char *in;
	size_t len;
	const char *address; /* normalised local "@" domain */
	const char *domain;
	enum address_kind kind;
	int flags;
};

static const struct ok_case ok_cases[] = {
    /* plain dot-atoms */
    {IN("a@b.example"), "a@b.example", "b.example", ADDRESS_KIND_DOMAIN, 0},
    {IN("alice@example.com"), "alice@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("first.last@example.com"), "first.last@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("a.b.c.d@example.com"), "a.b.c.d@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("123@example.com"), "123@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("xn--test@example.com"), "xn--test@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    /* plus tags and every atext special */
    {IN("user+tag@example.com"), "user+tag@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("user+tag+more@example.com"), "user+tag+more@example.com",
     "example.com", ADDRESS_KIND_DOMAIN, 0},
    {IN("+@example.com"), "+@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("!#$%&'*+-/=?^_`{|}~@example.com"), "!#$%&'*+-/=?^_`{|}~@example.com",
     "example.com", ADDRESS_KIND_DOMAIN, 0},
    {IN("o'brien@example.ie"), "o'brien@example.ie", "example.ie",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("{x}@example.com"), "{x}@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("x|y@example.com"), "x|y@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("~tilde@example.com"), "~tilde@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("_under_@example.com"), "_under_@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("-dash-@example.com"), "-dash-@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("a=b@example.com"), "a=b@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("#hash@example.com"), "#hash@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("$@example.com"), "$@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("%percent%@example.com"), "%percent%@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("&@example.com"), "&@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("*@example.com"), "*@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("/slash/@example.com"), "/slash/@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("?@example.com"), "?@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("^@example.com"), "^@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("`@example.com"), "`@example.com", "example.com", ADDRESS_KIND_DOMAIN,
     0},
    {IN("a!b@example.com"), "a!b@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    /* the local part is kept as written, the domain lower-cased */
    {IN("Alice@Example.COM"), "Alice@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("ALICE@EXAMPLE.COM"), "ALICE@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("MiXeD.CaSe@Sub.Example.ORG"), "MiXeD.CaSe@sub.example.org",
     "sub.example.org", ADDRESS_KIND_DOMAIN, 0},
    /* quoted local parts */
    {IN("\"john doe\"@example.com"), "\"john doe\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"\"@example.com"), "\"\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"a@b\"@example.com"), "\"a@b\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"a\\\"b\"@example.com"), "\"a\\\"b\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"\\\\\"@example.com"), "\"\\\\\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"\\a\"@example.com"), "\"\\a\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"x\\ y\"@example.com"), "\"x\\ y\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"a..b\"@example.com"), "\"a..b\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\".a\"@example.com"), "\".a\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"a.\"@example.com"), "\"a.\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"(not a comment)\"@example.com"), "\"(not a comment)\"@example.com",
     "example.com", ADDRESS_KIND_DOMAIN, Q},
    {IN("\"<a>,[b];c:d\"@example.com"), "\"<a>,[b];c:d\"@example.com",
     "example.com", ADDRESS_KIND_DOMAIN, Q},
    {IN("\" \"@example.com"), "\" \"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"Big Box\"@Example.COM"), "\"Big Box\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    {IN("\"ünï cödé\"@example.com"), "\"ünï cödé\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q | U},
    /* UTF-8 local parts (RFC 6531) */
    {IN("josé@example.com"), "josé@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, U},
    {IN("ÄÖÜ@x.example"), "ÄÖÜ@x.example", "x.example", ADDRESS_KIND_DOMAIN, U},
    {IN("用户@example.com"), "用户@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, U},
    {IN("δοκιμή@example.com"), "δοκιμή@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, U},
    {IN("emoji😀@example.com"), "emoji😀@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, U},
    /* internationalised domains, converted to A-labels */
    {IN("user@bücher.example"), "user@xn--bcher-kva.example",
     "xn--bcher-kva.example", ADDRESS_KIND_DOMAIN, I},
    {IN("user@BÜCHER.Example"), "user@xn--bcher-kva.example",
     "xn--bcher-kva.example", ADDRESS_KIND_DOMAIN, I},
    {IN("user@münchen.de"), "user@xn--mnchen-3ya.de", "xn--mnchen-3ya.de",
     ADDRESS_KIND_DOMAIN, I},
    {IN("user@faß.de"), "user@xn--fa-hia.de", "xn--fa-hia.de",
     ADDRESS_KIND_DOMAIN, I},
    {IN("josé@münchen.de"), "josé@xn--mnchen-3ya.de", "xn--mnchen-3ya.de",
     ADDRESS_KIND_DOMAIN, U | I},
    {IN("用户@例子.广告"), "用户@xn--fsqu00a.xn--4rr70v",
     "xn--fsqu00a.xn--4rr70v", ADDRESS_KIND_DOMAIN, U | I},
    {IN("我買@屋企.香港"), "我買@xn--hoqu73a.xn--j6w193g",
     "xn--hoqu73a.xn--j6w193g", ADDRESS_KIND_DOMAIN, U | I},
    {IN("чебурашка@ящик-с-апельсинами.рф"),
     "чебурашка@xn-----8kcayoeblonkwzf2jqc1b.xn--p1ai",
     "xn-----8kcayoeblonkwzf2jqc1b.xn--p1ai", ADDRESS_KIND_DOMAIN, U | I},
    {IN("a@ΑΒΓ.example"), "a@xn--mxacd.example", "xn--mxacd.example",
     ADDRESS_KIND_DOMAIN, I},
    {IN("user@ＡＢ.com"), "user@ab.com", "ab.com", ADDRESS_KIND_DOMAIN, I},
    {IN("user@a。b.example"), "user@a.b.example", "a.b.example",
     ADDRESS_KIND_DOMAIN, I},
    /* A-labels in ASCII are verified and lower-cased, not flagged IDN */
    {IN("user@xn--bcher-kva.example"), "user@xn--bcher-kva.example",
     "xn--bcher-kva.example", ADDRESS_KIND_DOMAIN, 0},
    {IN("user@XN--BCHER-KVA.EXAMPLE"), "user@xn--bcher-kva.example",
     "xn--bcher-kva.example", ADDRESS_KIND_DOMAIN, 0},
    {IN("test@xn--hxajbheg2az3al.xn--jxalpdlp"),
     "test@xn--hxajbheg2az3al.xn--jxalpdlp", "xn--hxajbheg2az3al.xn--jxalpdlp",
     ADDRESS_KIND_DOMAIN, 0},
    /* domain shapes */
    {IN("user@localhost"), "user@localhost", "localhost", ADDRESS_KIND_DOMAIN,
     0},
    {IN("user@io"), "user@io", "io", ADDRESS_KIND_DOMAIN, 0},
    {IN("user@123.com"), "user@123.com", "123.com", ADDRESS_KIND_DOMAIN, 0},
    {IN("user@example.a1"), "user@example.a1", "example.a1",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("user@c--n.com"), "user@c--n.com", "c--n.com", ADDRESS_KIND_DOMAIN, 0},
    {IN("user@ab--cd.example"), "user@ab--cd.example", "ab--cd.example",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("user@a-b-c.example"), "user@a-b-c.example", "a-b-c.example",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("user@a.b.c.d.e.example"), "user@a.b.c.d.e.example",
     "a.b.c.d.e.example", ADDRESS_KIND_DOMAIN, 0},
    {IN("user@x1.example"), "user@x1.example", "x1.example",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("user@1x.example"), "user@1x.example", "1x.example",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("user@0.example"), "user@0.example", "0.example", ADDRESS_KIND_DOMAIN,
     0},
    {IN("user@mason-dixon.com"), "user@mason-dixon.com", "mason-dixon.com",
     ADDRESS_KIND_DOMAIN, 0},
    /* white space around the input is trimmed */
    {IN("  alice@example.com"), "alice@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN("alice@example.com\t"), "alice@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN(" \t alice@Example.com \t "), "alice@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, 0},
    {IN(" \"a b\"@example.com "), "\"a b\"@example.com", "example.com",
     ADDRESS_KIND_DOMAIN, Q},
    /* address literals, kept as written */
    {IN("user@[192.0.2.1]"), "user@[192.0.2.1]", "[192.0.2.1]",
     ADDRESS_KIND_IPV4, 0},
    {IN("user@[0.0.0.0]"), "user@[0.0.0.0]", "[0.0.0.0]", ADDRESS_KIND_IPV4, 0},
    {IN("user@[255.255.255.255]"), "user@[255.255.255.255]",
     "[255.255.255.255]", ADDRESS_KIND_IPV4, 0},
    {IN("user@[127.0.0.1]"), "user@[127.0.0.1]", "[127.0.0.1]",
     ADDRESS_KIND_IPV4, 0},
    {IN("user@[IPv6:2001:db8::1]"), "user@[IPv6:2001:db8::1]",
     "[IPv6:2001:db8::1]", ADDRESS_KIND_IPV6, 0},
    {IN("user@[ipv6:2001:DB8::1]"), "user@[ipv6:2001:DB8::1]",
     "[ipv6:2001:DB8::1]", ADDRESS_KIND_IPV6, 0},
    {IN("user@[IPV6:::]"), "user@[IPV6:::]", "[IPV6:::]", ADDRESS_KIND_IPV6, 0},
    {IN("user@[IPv6:::1]"), "user@[IPv6:::1]", "[IPv6:::1]", ADDRESS_KIND_IPV6,
     0},
    {IN("user@[IPv6:1::]"), "user@[IPv6:1::]", "[IPv6:1::]", ADDRESS_KIND_IPV6,
     0},
    {IN("user@[IPv6:1:2:3:4:5:6:7:8]"), "user@[IPv6:1:2:3:4:5:6:7:8]",
     "[IPv6:1:2:3:4:5:6:7:8]", ADDRESS_KIND_IPV6, 0},
    {IN("user@[IPv6:1:2:3:4:5::6]"), "user@[IPv6:1:2:3:4:5::6]",
     "[IPv6:1:2:3:4:5::6]", ADDRESS_KIND_IPV6, 0},
    {IN("user@[IPv6:1:2:3:4:5:6:192.0.2.1]"),
     "user@[IPv6:1:2:3:4:5:6:192.0.2.1]", "[IPv6:1:2:3:4:5:6:192.0.2.1]",
     ADDRESS_KIND_IPV6, 0},
    {IN("user@[IPv6:::ffff:192.0.2.1]"), "user@[IPv6:::ffff:192.0.2.1]",
     "[IPv6:::ffff:192.0.2.1]", ADDRESS_KIND_IPV6, 0},
    {IN("user@[IPv6:1:2:3:4::192.0.2.1]"), "user@[IPv6:1:2:3:4::192.0.2.1]",
     "[IPv6:1:2:3:4::192.0.2.1]", ADDRESS_KIND_IPV6, 0},
    {IN("\"q\"@[IPv6:fe80::abcd]"), "\"q\"@[IPv6:fe80::abcd]",
     "[IPv6:fe80::abcd]", ADDRESS_KIND_IPV6, Q},
};

struct literal_case {
	const char *in;
	enum address_kind kind;
	unsigned char octets[16];
};

static const struct literal_case literal_cases[] = {
    {"a@[192.0.2.1]", ADDRESS_KIND_IPV4, {192, 0, 2, 1}},
    {"a@[0.0.0.0]", ADDRESS_KIND_IPV4, {0}},
    {"a@[10.200.30.4]", ADDRESS_KIND_IPV4, {10, 200, 30, 4}},
    {"a@[255.255.255.255]", ADDRESS_KIND_IPV4, {255, 255, 255, 255}},
    {"a@[IPv6:2001:db8::1]",
     ADDRESS_KIND_IPV6,
     {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"a@[IPv6:::]", ADDRESS_KIND_IPV6, {0}},
    {"a@[IPv6:::1]",
     ADDRESS_KIND_IPV6,
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"a@[IPv6:1:2:3:4:5:6:7:8]",
     ADDRESS_KIND_IPV6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}},
    {"a@[IPv6:FFFF:0:0:0:0:0:0:abcd]",
     ADDRESS_KIND_IPV6,
     {0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd}},
    {"a@[IPv6:::ffff:192.0.2.1]",
     ADDRESS_KIND_IPV6,
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}},
    {"a@[IPv6:1:2:3:4:5:6:10.0.0.1]",
     ADDRESS_KIND_IPV6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 10, 0, 0, 1}},
};

struct bad_case {
	const char *in;
	size_t len;
	const char *why; /* a phrase the explanation must contain */
};

static const struct bad_case bad_cases[] = {
    /* empty parts */
    {IN(""), "address is empty"},
    {IN("   "), "address is empty"},
    {IN("\t \t"), "address is empty"},
    {IN("alice"), "address has no @"},
    {IN("alice.example.com"), "address has no @"},
    {IN("@"), "local part is empty"},
    {IN("@example.com"), "local part is empty"},
    {IN("alice@"), "domain is empty"},
    {IN("\"alice\"@"), "domain is empty"},
    {IN("\"a@b\""), "no @ after the local part"},
    {IN("\"alice\""), "address has no @"},
    /* more than one @ */
    {IN("a@b@example.com"), "more than one @"},
    {IN("alice@@example.com"), "more than one @"},
    {IN("a@b.example@"), "more than one @"},
    /* injection: CR, LF, NUL and other controls anywhere */
    {IN("\r\nRCPT TO:<x@y>"), "control character (CR)"},
    {IN("a@b.example\r\nRCPT TO:<evil@example.org>"), "control character (CR)"},
    {IN("a@b.example\r\n"), "control character (CR)"},
    {IN("a@b.example\r"), "control character (CR)"},
    {IN("a@b.example\n"), "control character (LF)"},
    {IN("a@b.example\nDATA"), "control character (LF)"},
    {IN("\na@b.example"), "control character (LF)"},
    {IN("\r a@b.example"), "control character (CR)"},
    {IN("a\0@b.example"), "control character (NUL)"},
    {IN("a@b.example\0"), "control character (NUL)"},
    {IN("a@b.ex\0ample"), "control character (NUL)"},
    {IN("\0"), "control character (NUL)"},
    {IN("\"a\0\"@b.example"), "control character (NUL)"},
    {IN("\"a\\\0\"@b.example"), "control character (NUL)"},
    {IN("\"a\rb\"@b.example"), "control character (CR)"},
    {IN("a\x01@b.example"), "control character (SOH)"},
    {IN("a\x1b[31m@b.example"), "control character (ESC)"},
    {IN("a\tb@b.example"), "control character (TAB)"},
    {IN("\"a\tb\"@b.example"), "control character (TAB)"},
    {IN("\va@b.example"), "control character (VT)"},
    {IN("a\x7f@b.example"), "control character (DEL)"},
    {IN("\"\\\x7f\"@b.example"), "control character (DEL)"},
    {IN("a\xc2\x85@b.example"), "control character (U+0085)"},
    {IN("a@b.example\xc2\x80"), "control character (U+0080)"},
    {IN("\"a\xc2\x9f\"@b.example"), "control character (U+009F)"},
    /* non-ASCII white space is not trimmed, and not allowed */
    {IN("\xc2\xa0"
	"a@b.example"),
     "white space (U+00A0)"},
    {IN("a@b.example\xe3\x80\x80"), "white space (U+3000)"},
    {IN("a\xe2\x80\xa8@b.example"), "white space (U+2028)"},
    /* malformed UTF-8 */
    {IN("a\xc0\xaf@b.example"), "overlong"},
    {IN("a\xc1\xbf@b.example"), "overlong"},
    {IN("a\xe0\x80\xaf@b.example"), "overlong"},
    {IN("a\xf0\x82\x82\xac@b.example"), "overlong"},
    {IN("a\xed\xa0\x80@b.example"), "surrogate"},
    {IN("a\xed\xbf\xbf@b.example"), "surrogate"},
    {IN("a\xf4\x90\x80\x80@b.example"), "above U+10FFFF"},
    {IN("a\xf5\x80\x80\x80@b.example"), "above U+10FFFF"},
    {IN("a\xff@b.example"), "not valid UTF-8"},
    {IN("a\x80@b.example"), "stray continuation"},
    {IN("a\xc3@b.example"), "truncated"},
    {IN("a@b.example\xe2\x82"), "truncated"},
    {IN("a\xe2\x28\xa1@b.example"), "truncated"},
    {IN("a@b\xc3.example"), "not valid UTF-8"},
    /* display names, angle brackets, comments */
    {IN("Alice <alice@example.com>"), "display names"},
    {IN("\"Alice\" <alice@example.com>"), "display names"},
    {IN("Alice Smith <alice@example.com>"), "display names"},
    {IN("<alice@example.com>"), "angle brackets"},
    {IN("Alice<alice@example.com>"), "angle brackets"},
    {IN("alice@example.com>"), "angle brackets"},
    {IN("(comment)alice@example.com"), "comments"},
    {IN("alice(comment)@example.com"), "comments"},
    {IN("alice@(comment)example.com"), "comments"},
    {IN("alice@example.com(comment)"), "comments"},
    {IN("\"alice\"(comment)@example.com"), "followed by @"},
    /* folding and other white space inside */
    {IN("alice @example.com"), "white space"},
    {IN("alice@ example.com"), "white space"},
    {IN("al ice@example.com"), "white space"},
    {IN("alice@exam ple.com"), "white space"},
    {IN("alice@example.com (comment)"), "white space"},
    {IN("alice@example.com\r\n "), "control character (CR)"},
    {IN(" \r\n alice@example.com"), "control character (CR)"},
    {IN("\"alice\" @example.com"), "followed by @"},
    /* dots */
    {IN(".alice@example.com"), "local part starts with a dot"},
    {IN("alice.@example.com"), "local part ends with a dot"},
    {IN("al..ice@example.com"), "consecutive dots in local part"},
    {IN(".@example.com"), "local part starts with a dot"},
    {IN("a...b@example.com"), "consecutive dots in local part"},
    {IN("alice@.example.com"), "domain starts with a dot"},
    {IN("alice@example.com."), "domain ends with a dot"},
    {IN("alice@example..com"), "consecutive dots in domain"},
    {IN("alice@."), "domain starts with a dot"},
    {IN("alice@bücher..example"), "consecutive dots in domain"},
    /* hyphens and labels */
    {IN("alice@-example.com"), "label starts with a hyphen"},
    {IN("alice@example-.com"), "label ends with a hyphen"},
    {IN("alice@example.-com"), "label starts with a hyphen"},
    {IN("alice@example.com-"), "label ends with a hyphen"},
    {IN("alice@-"), "label starts with a hyphen"},
    {IN("alice@-bücher.example"), "label starts with a hyphen"},
    {IN("alice@bücher-.example"), "label ends with a hyphen"},
    /* characters a host name cannot hold */
    {IN("alice@exa_mple.com"), "underscore"},
    {IN("alice@_dmarc.example.com"), "underscore"},
    {IN("alice@exa!mple.com"), "'!'"},
    {IN("alice@example.com/path"), "'/'"},
    {IN("alice@example,com"), "','"},
    {IN("alice@exa%mple.com"), "'%'"},
    {IN("alice@example.com;bob@example.org"), "';'"},
    {IN("alice@b.[192.0.2.1]"), "whole domain"},
    {IN("alice@iana/icann.org"), "'/'"},
    /* quoted strings */
    {IN("\"alice@example.com"), "unterminated quoted string"},
    {IN("\"alice\\\"@example.com"), "unterminated quoted string"},
    {IN("\"alice\\@"), "unterminated quoted string"},
    {IN("\"alice\"bob@example.com"), "whole local part"},
    {IN("\"a\".\"b\"@example.com"), "whole local part"},
    {IN("\"a\".b@example.com"), "whole local part"},
    {IN("a.\"b\"@example.com"), "whole local part"},
    {IN("a\"b\"@example.com"), "whole local part"},
    {IN("\"a\"\"b\"@example.com"), "whole local part"},
    {IN("\"\"\"@example.com"), "whole local part"},
    {IN("\"a\\\xc2\xa9\"@example.com"), "printable ASCII"},
    /* characters that need quoting */
    {IN("a,b@example.com"), "','"},
    {IN("a:b@example.com"), "':'"},
    {IN("a;b@example.com"), "';'"},
    {IN("a[b]@example.com"), "'['"},
    {IN("a\\@b@example.com"), "backslash"},
    {IN("a\\b@example.com"), "backslash"},
    /* address literals */
    {IN("a@[192.0.2.1"), "missing its closing ]"},
    {IN("a@[192.0.2.1]x"), "text after the address literal"},
    {IN("a@[192.0.2.1].example"), "text after the address literal"},
    {IN("a@[]"), "address literal is empty"},
    {IN("a@[192.0.2]"), "four numbers"},
    {IN("a@[192.0.2.1.5]"), "four numbers"},
    {IN("a@[192.0.2.]"), "four numbers"},
    {IN("a@[.192.0.2]"), "four numbers"},
    {IN("a@[192..0.2]"), "four numbers"},
    {IN("a@[192.0.2.256]"), "larger than 255"},
    {IN("a@[1922.0.2.1]"), "larger than 255"},
    {IN("a@[010.0.0.1]"), "leading zero"},
    {IN("a@[0.0.0.00]"), "leading zero"},
    {IN("a@[2001:db8::1]"), "tag IPv6:"},
    {IN("a@[IPv6:2001:db8::1::2]"), "more than one ::"},
    {IN("a@[IPv6:1:2:3:4:5:6:7]"), "needs 8 groups"},
    {IN("a@[IPv6:1:2:3:4:5:6:7:8:9]"), "needs 8 groups"},
    {IN("a@[IPv6:]"), "needs 8 groups"},
    {IN("a@[IPv6:1:2:3:4:5:6:7::]"), "too many groups"},
    {IN("a@[IPv6:1:2:3:4:5:6::7]"), "too many groups"},
    {IN("a@[IPv6:12345::1]"), "more than 4 hex digits"},
    {IN("a@[IPv6:2001:db8::g]"), "'g' is not a hex digit"},
    {IN("a@[IPv6::1]"), "stray colon"},
    {IN("a@[IPv6:1::2:]"), "stray colon"},
    {IN("a@[IPv6:1:::2]"), "stray colon"},
    {IN("a@[IPv6:1:2:3:4:5:192.0.2.1]"), "needs 6 groups"},
    {IN("a@[IPv6:1:2:3:4:5::192.0.2.1]"), "at most 4"},
    {IN("a@[IPv6:::256.0.0.1]"), "larger than 255"},
    {IN("a@[IPv6:1.2.3.4::1]"), "not a hex digit"},
    {IN("a@[IPv6 2001:db8::1]"), "general address literals"},
    {IN("a@[RFC-5322-domain-literal]"), "general address literals"},
    {IN("a@[x400:c=us]"), "general address literals"},
    /* numeric top-level domains */
    {IN("a@1.2.3.4"), "all digits"},
    {IN("a@127.0.0.1"), "all digits"},
    {IN("a@example.123"), "all digits"},
    {IN("a@123"), "all digits"},
    /* IDNA refusals */
    {IN("a@☃.net"), "IDNA does not allow"},
    {IN("a@\xef\xbf\xbe.example"), "IDNA does not allow"},
    {IN("a@xn--zz.example"), "invalid A-label"},
    {IN("a@xn--a.example"), "invalid A-label"},
    {IN("a@XN--ZZ.example"), "invalid A-label"},
    {IN("a@xn--bbc.example"), "invalid A-label"},
    {IN("a@xn----a.example"), "hyphen"},
    {IN("a@a\xe2\x80\x8d"
	"b.example"),
     "joiner"},
    {IN("a@\xcc\x81"
	"b.example"),
     "combining mark"},
    {IN("a@١٢٣.example"), "right-to-left"},
    {IN("a@ａ＠b.example"), "maps to '@'"},
    {IN("a@ａ＿b.example"), "maps to '_'"},
};

/* check_ok - one valid case: exact normal form, kind and flags. */
static void check_ok(const struct ok_case *t)
{
	struct address a;
	char why[ADDRESS_WHY_MAX];
	int rc = address_parse(t->in, t->len, &a, why);

	ck_assert_msg(rc == 0, "'%s': refused: %s", t->in, why);
	ck_assert_str_eq(a.address, t->address);
	ck_assert_str_eq(a.domain, t->domain);
	ck_assert_int_eq(a.kind, t->kind);
	ck_assert_int_eq(a.local_quoted, (t->flags & Q) != 0);
	ck_assert_int_eq(a.local_utf8, (t->flags & U) != 0);
	ck_assert_int_eq(a.domain_idn, (t->flags & I) != 0);
	/* address == local "@" domain */
	ck_assert_uint_eq(strlen(a.address),
			  strlen(a.local) + 1 + strlen(a.domain));
	ck_assert_int_eq(memcmp(a.address, a.local, strlen(a.local)), 0);
}

START_TEST(test_valid)
{
	check_ok(&ok_cases[_i]);
}
END_TEST

/* Parsing the normal form again gives the same normal form. */
START_TEST(test_idempotent)
{
	const struct ok_case *t = &ok_cases[_i];
	struct address a, b;
	char why[ADDRESS_WHY_MAX];

	ck_assert_int_eq(address_parse(t->in, t->len, &a, why), 0);
	ck_assert_msg(address_parse(a.address, strlen(a.address), &b, why) == 0,
		      "'%s' reparsed: %s", a.address, why);
	ck_assert_str_eq(b.address, a.address);
	ck_assert_int_eq(b.kind, a.kind);
}
END_TEST

START_TEST(test_literal)
{
	const struct literal_case *t = &literal_cases[_i];
	struct address a;
	char why[ADDRESS_WHY_MAX];
	size_t n = t->kind == ADDRESS_KIND_IPV4 ? 4 : 16;

	ck_assert_msg(address_parse(t->in, strlen(t->in), &a, why) == 0,
		      "'%s': %s", t->in, why);
	ck_assert_int_eq(a.kind, t->kind);
	ck_assert_int_eq(memcmp(a.literal, t->octets, n), 0);
}
END_TEST

/* check_why_form - an explanation a person can read: non-empty, within
 * its buffer, lower-case start, no final period. */
static void check_why_form(const char *in, const char *why)
{
	size_t n = strnlen(why, ADDRESS_WHY_MAX);

	ck_assert_msg(n > 0 && n < ADDRESS_WHY_MAX, "'%s': bad why length", in);
	ck_assert_msg(!(why[0] >= 'A' && why[0] <= 'Z'),
		      "'%s': why starts upper-case: %s", in, why);
	ck_assert_msg(why[n - 1] != '.', "'%s': why ends in a period: %s", in,
		      why);
}

START_TEST(test_invalid)
{
	const struct bad_case *t = &bad_cases[_i];
	struct address a;
	char why[ADDRESS_WHY_MAX];

	memset(why, 'x', sizeof(why));
	ck_assert_msg(address_parse(t->in, t->len, &a, why) == -1,
		      "case %d accepted as '%s'", _i, a.address);
	check_why_form(t->in, why);
	ck_assert_msg(strstr(why, t->why) != NULL,
		      "case %d: why '%s' does not say '%s'", _i, why, t->why);
}
END_TEST

/* The explicit length is what counts: bytes past it are never read, and
 * a NUL inside it is refused. */
START_TEST(test_explicit_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX];

	ck_assert_int_eq(address_parse("a@b.exampleXYZ", 11, &a, why), 0);
	ck_assert_str_eq(a.address, "a@b.example");
	ck_assert_int_eq(address_parse("a@b.example", 3, &a, why), 0);
	ck_assert_str_eq(a.address, "a@b");
	ck_assert_int_eq(address_parse("a@b.example", 2, &a, why), -1);
	ck_assert_str_eq(why, "domain is empty");
	ck_assert_int_eq(address_parse(NULL, 0, &a, why), -1);
	ck_assert_str_eq(why, "address is empty");
	ck_assert_int_eq(address_parse("a@b.example\0.evil", 17, &a, why), -1);
	ck_assert_str_eq(why, "address contains a control character (NUL)");
}
END_TEST

/* fill - @n copies of @ch at @dst, NUL-terminated; returns @dst. */
static char *fill(char *dst, int ch, size_t n)
{
	memset(dst, ch, n);
	dst[n] = '\0';
	return dst;
}

/* domain_of - a domain of exactly @n octets (n >= 3): labels of 63 with
 * a shorter last one, so only the total is at its limit. */
static char *domain_of(char *dst, size_t n)
{
	size_t o = 0;

	while (n - o > 64) {
		fill(dst + o, 'd', 63);
		dst[o + 63] = '.';
		o += 64;
	}
	fill(dst + o, 'e', n - o);
	return dst;
}

/* parse_parts - parse "local@domain" built at run time. */
static int parse_parts(const char *local, const char *domain, struct address *a,
		       char *why)
{
	char in[ADDRESS_INPUT_MAX + 1];
	int n = snprintf(in, sizeof(in), "%s@%s", local, domain);

	ck_assert(n > 0 && (size_t)n < sizeof(in));
	return address_parse(in, (size_t)n, a, why);
}

START_TEST(test_local_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], local[80];

	ck_assert_int_eq(
	    parse_parts(fill(local, 'l', 64), "x.example", &a, why), 0);
	ck_assert_uint_eq(strlen(a.local), 64);
	ck_assert_int_eq(
	    parse_parts(fill(local, 'l', 65), "x.example", &a, why), -1);
	ck_assert_str_eq(why, "local part is longer than 64 octets");
	/* quotes count: 62 octets inside, 64 with them */
	local[0] = '"';
	fill(local + 1, 'q', 62);
	memcpy(local + 63, "\"", 2);
	ck_assert_int_eq(parse_parts(local, "x.example", &a, why), 0);
	local[0] = '"';
	fill(local + 1, 'q', 63);
	memcpy(local + 64, "\"", 2);
	ck_assert_int_eq(parse_parts(local, "x.example", &a, why), -1);
	ck_assert_str_eq(why, "local part is longer than 64 octets");
	/* UTF-8 counts in octets: 32 two-octet characters are 64 */
	local[0] = '\0';
	for (int i = 0; i < 32; i++)
		memcpy(local + 2 * i, "\xc3\xa9", 3);
	ck_assert_int_eq(parse_parts(local, "x.example", &a, why), 0);
	memcpy(local + 64, "e", 2);
	ck_assert_int_eq(parse_parts(local, "x.example", &a, why), -1);
	ck_assert_str_eq(why, "local part is longer than 64 octets");
}
END_TEST

START_TEST(test_label_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], d[300];

	fill(d, 'l', 63);
	memcpy(d + 63, ".example", 9);
	ck_assert_int_eq(parse_parts("a", d, &a, why), 0);
	ck_assert_str_eq(a.domain, d);
	fill(d, 'l', 64);
	memcpy(d + 64, ".example", 9);
	ck_assert_int_eq(parse_parts("a", d, &a, why), -1);
	ck_assert_str_eq(why, "domain label is longer than 63 octets");
	/* the last label too */
	memcpy(d, "example.", 8);
	fill(d + 8, 'l', 63);
	ck_assert_int_eq(parse_parts("a", d, &a, why), 0);
	fill(d + 8, 'l', 64);
	ck_assert_int_eq(parse_parts("a", d, &a, why), -1);
	ck_assert_str_eq(why, "domain label is longer than 63 octets");
}
END_TEST

/* Limits apply to the A-label: 57 'ü' become 63 octets, 58 become 64. */
START_TEST(test_idn_label_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], d[300];
	size_t o = 0;

	for (int i = 0; i < 57; i++, o += 2)
		memcpy(d + o, "\xc3\xbc", 2);
	memcpy(d + o, ".example", 9);
	ck_assert_int_eq(parse_parts("a", d, &a, why), 0);
	ck_assert_uint_eq(strchr(a.domain, '.') - a.domain, 63);
	ck_assert_int_eq(strncmp(a.domain, "xn--", 4), 0);
	memcpy(d + o, "\xc3\xbc.example", 11);
	ck_assert_int_eq(parse_parts("a", d, &a, why), -1);
	ck_assert_str_eq(why, "domain label is longer than 63 octets");
	memcpy(d + o, "\xc3\xbc\xc3\xbc.example", 13);
	ck_assert_int_eq(parse_parts("a", d, &a, why), -1);
	ck_assert_str_eq(why, "domain label is longer than 63 octets");
}
END_TEST

/* The domain limit is 253 and the address limit 254, so a domain of 253
 * passes its own check and then fails the address's (one octet of local
 * part and the '@' make 255); 254 fails the domain's. */
START_TEST(test_domain_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], d[ADDRESS_INPUT_MAX];

	ck_assert_int_eq(parse_parts("a", domain_of(d, 252), &a, why), 0);
	ck_assert_uint_eq(strlen(a.domain), 252);
	ck_assert_uint_eq(strlen(a.address), 254);
	ck_assert_int_eq(parse_parts("a", domain_of(d, 253), &a, why), -1);
	ck_assert_str_eq(why, "address is longer than 254 octets");
	ck_assert_int_eq(parse_parts("a", domain_of(d, 254), &a, why), -1);
	ck_assert_str_eq(why, "domain is longer than 253 octets");
	ck_assert_int_eq(parse_parts("a", domain_of(d, 400), &a, why), -1);
	ck_assert_str_eq(why, "domain is longer than 253 octets");
}
END_TEST

START_TEST(test_address_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], local[80], d[300];

	fill(local, 'l', 64);
	ck_assert_int_eq(parse_parts(local, domain_of(d, 189), &a, why), 0);
	ck_assert_uint_eq(strlen(a.address), 254);
	ck_assert_int_eq(parse_parts(local, domain_of(d, 190), &a, why), -1);
	ck_assert_str_eq(why, "address is longer than 254 octets");
}

/* The limits count the A-label form, not the input: three labels of 57
 * 'u' with diaeresis and ".example" are 352 octets as typed and 199 as
 * A-labels. */
START_TEST(test_idn_address_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], local[80], d[400];
	size_t o = 0;

	for (int label = 0; label < 3; label++) {
		for (int i = 0; i < 57; i++, o += 2)
			memcpy(d + o, "\xc3\xbc", 2);
		d[o++] = '.';
	}
	memcpy(d + o, "example", 8);
	ck_assert_uint_eq(strlen(d), 352);
	ck_assert_int_eq(parse_parts("a", d, &a, why), 0);
	ck_assert_uint_eq(strlen(a.domain), 3 * 64 + 7);
	/* 64 + 1 + 199 = 264: the A-label form is what is too long */
	ck_assert_int_eq(parse_parts(fill(local, 'l', 64), d, &a, why), -1);
	ck_assert_str_eq(why, "address is longer than 254 octets");
	ck_assert_int_eq(parse_parts(fill(local, 'l', 54), d, &a, why), 0);
	ck_assert_uint_eq(strlen(a.address), 254);
}
END_TEST

START_TEST(test_input_length)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], in[ADDRESS_INPUT_MAX + 2];

	/* a short address padded with trimmed blanks to the input limit */
	fill(in, ' ', ADDRESS_INPUT_MAX);
	memcpy(in + 10, "a@b.example", 11);
	ck_assert_int_eq(address_parse(in, ADDRESS_INPUT_MAX, &a, why), 0);
	ck_assert_str_eq(a.address, "a@b.example");
	fill(in, ' ', ADDRESS_INPUT_MAX + 1);
	memcpy(in + 10, "a@b.example", 11);
	ck_assert_int_eq(address_parse(in, ADDRESS_INPUT_MAX + 1, &a, why), -1);
	ck_assert_str_eq(why, "address is longer than 1024 octets");
}
END_TEST

struct lower_case {
	const char *in;
	const char *lower;
};

static const struct lower_case lower_cases[] = {
    {"Info@x.example", "info"},	      {"POSTMASTER@x.example", "postmaster"},
    {"\"INFO\"@x.example", "info"},   {"\"A\\\"B\"@x.example", "a\"b"},
    {"\"a\\\\b\"@x.example", "a\\b"}, {"\"\"@x.example", ""},
    {"Ünï+Tag@x.example", "Ünï+tag"}, {"\"Big Box\"@x.example", "big box"},
};

START_TEST(test_local_lower)
{
	const struct lower_case *t = &lower_cases[_i];
	struct address a;
	char why[ADDRESS_WHY_MAX], dst[ADDRESS_LOCAL_MAX + 1];

	ck_assert_int_eq(address_parse(t->in, strlen(t->in), &a, why), 0);
	ck_assert(address_local_lower(&a, dst, sizeof(dst)));
	ck_assert_str_eq(dst, t->lower);
	/* exactly enough room, then one octet too little */
	ck_assert(address_local_lower(&a, dst, strlen(t->lower) + 1));
	ck_assert_str_eq(dst, t->lower);
	ck_assert(!address_local_lower(&a, dst, strlen(t->lower)));
}
END_TEST

START_TEST(test_local_lower_no_room)
{
	struct address a;
	char why[ADDRESS_WHY_MAX], dst[4] = "zzz";

	ck_assert_int_eq(address_parse(IN("Alice@x.example"), &a, why), 0);
	ck_assert(!address_local_lower(&a, dst, 0));
	ck_assert_str_eq(dst, "zzz");
	ck_assert(!address_local_lower(&a, NULL, 10));
	ck_assert(!address_local_lower(&a, dst, sizeof(dst)));
	ck_assert_str_eq(dst, "");
}
END_TEST

/* ---- is_email conformance (tests/data/README.md) ------------------------ */

/* The suite's file is 47 KiB; anything far larger is not that file. */
#define ISEMAIL_FILE_MAX (1024 * 1024)
/* The number of <test> elements in is_email 3.05's tests.xml. */
#define ISEMAIL_CASES 164
/* Room for the report of every mismatch. */
#define ISEMAIL_REPORT_MAX 8192

/* Where rcptd's contract, not the category, decides: address_parse()
 * trims surrounding SP and HTAB (address.h), so these CFWS cases are the
 * plain address test@iana.org to it. */
static const int isemail_trimmed[] = {157, 158};

/* slurp - the whole file at @path, NUL-terminated; caller frees. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(ISEMAIL_FILE_MAX + 1);
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert(buf != NULL);
	n = fread(buf, 1, ISEMAIL_FILE_MAX + 1, f);
	fclose(f);
	ck_assert_msg(n > 0 && n <= ISEMAIL_FILE_MAX, "%s: size %zu", path, n);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* put_utf8 - append code point @cp to @dst (room checked by the caller). */
static size_t put_utf8(char *dst, unsigned long cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* xml_decode - the text of @n octets at @s with XML entities resolved and
 * the suite's control pictures (U+2400 + code, U+2421 for DEL) turned
 * back into the control characters they stand for. Returns the length. */
static size_t xml_decode(const char *s, size_t n, char *dst, size_t size)
{
	static const struct {
		const char *name;
		char ch;
	} named[] = {{"amp;", '&'},
		     {"lt;", '<'},
		     {"gt;", '>'},
		     {"quot;", '"'},
		     {"apos;", '\''}};
	size_t i = 0, o = 0;

	while (i < n) {
		ck_assert(o + 4 < size);
		if (s[i] != '&') {
			dst[o++] = s[i++];
			continue;
		}
		i++;
		if (s[i] == '#') {
			char *end;
			int hex = s[i + 1] == 'x';
			unsigned long cp =
			    strtoul(s + i + 1 + hex, &end, hex ? 16 : 10);

			ck_assert_msg(*end == ';', "bad character reference");
			i = (size_t)(end - s) + 1;
			if (cp >= 0x2400 && cp <= 0x241f)
				dst[o++] = (char)(cp - 0x2400);
			else if (cp == 0x2421)
				dst[o++] = 0x7f;
			else
				o += put_utf8(dst + o, cp);
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
			if (strncmp(s + i, named[k].name,
				    strlen(named[k].name)) == 0)
				break;
		ck_assert_msg(k < sizeof(named) / sizeof(named[0]),
			      "unknown entity at '%.10s'", s + i - 1);
		dst[o++] = named[k].ch;
		i += strlen(named[k].name);
	}
	dst[o] = '\0';
	return o;
}

/* element - the text of <@tag>...</@tag> within [s, end), or "" for
 * <@tag/>; NULL when absent. @n gets its length. */
static const char *element(const char *s, const char *end, const char *tag,
			   size_t *n)
{
	char open[32], empty[32], close[32];
	const char *p, *q;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(empty, sizeof(empty), "<%s/>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	p = memmem(s, (size_t)(end - s), empty, strlen(empty));
	if (p != NULL) {
		*n = 0;
		return p;
	}
	p = memmem(s, (size_t)(end - s), open, strlen(open));
	if (p == NULL)
		return NULL;
	p += strlen(open);
	q = memmem(p, (size_t)(end - p), close, strlen(close));
	if (q == NULL)
		return NULL;
	*n = (size_t)(q - p);
	return p;
}

/* isemail_expect - 1 valid, 0 invalid, -1 either way (README.md). */
static int isemail_expect(const char *cat, size_t ncat, const char *diag,
			  size_t ndiag)
{
#define IS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)
	if (IS(diag, ndiag, "ISEMAIL_RFC5321_TLDNUMERIC") ||
	    IS(diag, ndiag, "ISEMAIL_RFC5321_IPV6DEPRECATED"))
		return -1;
	if (IS(cat, ncat, "ISEMAIL_VALID_CATEGORY") ||
	    IS(cat, ncat, "ISEMAIL_DNSWARN") ||
	    IS(cat, ncat, "ISEMAIL_RFC5321"))
		return 1;
	if (IS(cat, ncat, "ISEMAIL_CFWS") || IS(cat, ncat, "ISEMAIL_DEPREC") ||
	    IS(cat, ncat, "ISEMAIL_RFC5322") || IS(cat, ncat, "ISEMAIL_ERR"))
		return 0;
#undef IS
	ck_abort_msg("unknown category '%.*s'", (int)ncat, cat);
	return -1;
}

/* escape - @s (n octets) printable for a failure message. */
static const char *escape(const char *s, size_t n, char *dst, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", ch);
		else
			dst[o++] = (char)ch;
	}
	dst[o] = '\0';
	return dst;
}

START_TEST(test_isemail)
{
	size_t len, nreport = 0;
	char *xml = slurp(TEST_DATA_DIR "/isemail-tests.xml", &len);
	char *report = malloc(ISEMAIL_REPORT_MAX);
	const char *p = xml, *end = xml + len;
	int cases = 0, checked = 0, mismatches = 0;

	ck_assert(report != NULL);
	report[0] = '\0';
	while ((p = memmem(p, (size_t)(end - p), "<test id=\"", 10)) != NULL) {
		const char *stop = memmem(p, (size_t)(end - p), "</test>", 7);
		const char *addr, *cat, *diag;
		size_t naddr, ncat, ndiag, n;
		char in[ADDRESS_INPUT_MAX], shown[ADDRESS_INPUT_MAX];
		char why[ADDRESS_WHY_MAX];
		struct address a;
		long id = strtol(p + 10, NULL, 10);
		int expect, got;

		ck_assert_msg(stop != NULL, "test %ld is not closed", id);
		addr = element(p, stop, "address", &naddr);
		cat = element(p, stop, "category", &ncat);
		diag = element(p, stop, "diagnosis", &ndiag);
		ck_assert_msg(addr && cat && diag, "test %ld is incomplete",
			      id);
		n = xml_decode(addr, naddr, in, sizeof(in));
		cases++;
		p = stop;
		expect = isemail_expect(cat, ncat, diag, ndiag);
		for (size_t k = 0; k < sizeof(isemail_trimmed) / sizeof(int);
		     k++)
			if (isemail_trimmed[k] == id)
				expect = 1;
		if (expect == -1)
			continue;
		checked++;
		got = address_parse(in, n, &a, why) == 0;
		if (got == expect)
			continue;
		mismatches++;
		nreport += (size_t)snprintf(
		    report + nreport, ISEMAIL_REPORT_MAX - nreport,
		    "\n  id %ld '%s': expected %s, got %s (%s)", id,
		    escape(in, n, shown, sizeof(shown)),
		    expect ? "valid" : "invalid", got ? "valid" : "invalid",
		    got ? a.address : why);
		if (nreport >= ISEMAIL_REPORT_MAX)
			nreport = ISEMAIL_REPORT_MAX - 1;
	}
	ck_assert_msg(cases == ISEMAIL_CASES, "read %d cases, expected %d",
		      cases, ISEMAIL_CASES);
	ck_assert_int_eq(checked, ISEMAIL_CASES - 3);
	ck_assert_msg(mismatches == 0, "%d is_email cases disagree:%s",
		      mismatches, report);
	free(report);
	free(xml);
}
END_TEST

#define COUNT(t) ((int)(sizeof(t) / sizeof((t)[0])))

Suite *address_suite(void)
{
	Suite *s = suite_create("address");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_valid, 0, COUNT(ok_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("idempotent");
	tcase_add_loop_test(tc, test_idempotent, 0, COUNT(ok_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("literal");
	tcase_add_loop_test(tc, test_literal, 0, COUNT(literal_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_loop_test(tc, test_invalid, 0, COUNT(bad_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("explicit_length");
	tcase_add_test(tc, test_explicit_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_local_length);
	tcase_add_test(tc, test_label_length);
	tcase_add_test(tc, test_idn_label_length);
	tcase_add_test(tc, test_domain_length);
	tcase_add_test(tc, test_address_length);
	tcase_add_test(tc, test_idn_address_length);
	tcase_add_test(tc, test_input_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("local_lower");
	tcase_add_loop_test(tc, test_local_lower, 0, COUNT(lower_cases));
	tcase_add_test(tc, test_local_lower_no_room);
	suite_add_tcase(s, tc);

	tc = tcase_create("isemail");
	tcase_add_test(tc, test_isemail);
	suite_add_tcase(s, tc);

	return s;
}
