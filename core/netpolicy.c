/* netpolicy - which IP addresses rcptd may probe (see netpolicy.h). */
#include "core/netpolicy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const class_name[NETPOLICY_CLASS_LAST] = {
    [NETPOLICY_GLOBAL] = "global",
    [NETPOLICY_UNSPECIFIED] = "unspecified",
    [NETPOLICY_THIS_NETWORK] = "this-network",
    [NETPOLICY_LOOPBACK] = "loopback",
    [NETPOLICY_PRIVATE] = "private",
    [NETPOLICY_SHARED] = "shared",
    [NETPOLICY_LINK_LOCAL] = "link-local",
    [NETPOLICY_IETF_PROTOCOL] = "ietf-protocol",
    [NETPOLICY_DOCUMENTATION] = "documentation",
    [NETPOLICY_BENCHMARKING] = "benchmarking",
    [NETPOLICY_MULTICAST] = "multicast",
    [NETPOLICY_RESERVED] = "reserved",
    [NETPOLICY_BROADCAST] = "broadcast",
    [NETPOLICY_UNIQUE_LOCAL] = "unique-local",
    [NETPOLICY_SITE_LOCAL] = "site-local",
    [NETPOLICY_DISCARD] = "discard-only",
    [NETPOLICY_ORCHID] = "orchid",
    [NETPOLICY_ANYCAST] = "anycast",
    [NETPOLICY_AS112] = "as112",
    [NETPOLICY_TEREDO] = "teredo",
    [NETPOLICY_NAT64_LOCAL] = "nat64-local",
    [NETPOLICY_IPV4_COMPATIBLE] = "ipv4-compatible",
    [NETPOLICY_IPV4_TRANSLATED] = "ipv4-translated",
};

/* A registry block: network octets (only the first prefix bits matter),
 * prefix length and class. Tables are searched in order, first match
 * wins, so a more specific block comes before the block that holds it. */
struct block {
	unsigned char net[16];
	unsigned prefix;
	enum netpolicy_class cls;
};

/* IANA IPv4 Special-Purpose Address Registry, plus multicast (RFC 5771)
 * and the former class E (RFC 1112), which the registry leaves to the
 * IPv4 Address Space registry. */
static const struct block v4_blocks[] = {
    {{255, 255, 255, 255}, 32, NETPOLICY_BROADCAST}, /* RFC 919 */
    {{0}, 8, NETPOLICY_THIS_NETWORK},		     /* RFC 791 */
    {{10}, 8, NETPOLICY_PRIVATE},		     /* RFC 1918 */
    {{100, 64}, 10, NETPOLICY_SHARED},		     /* RFC 6598 */
    {{127}, 8, NETPOLICY_LOOPBACK},		     /* RFC 1122 */
    {{169, 254}, 16, NETPOLICY_LINK_LOCAL},	     /* RFC 3927 */
    {{172, 16}, 12, NETPOLICY_PRIVATE},		     /* RFC 1918 */
    {{192, 0, 0}, 24, NETPOLICY_IETF_PROTOCOL},	     /* RFC 6890 */
    {{192, 0, 2}, 24, NETPOLICY_DOCUMENTATION},	     /* RFC 5737 */
    {{192, 31, 196}, 24, NETPOLICY_AS112},	     /* RFC 7535 */
    {{192, 52, 193}, 24, NETPOLICY_ANYCAST},	     /* AMT, RFC 7450 */
    {{192, 88, 99}, 24, NETPOLICY_ANYCAST},	     /* 6to4 relay, 7526 */
    {{192, 168}, 16, NETPOLICY_PRIVATE},	     /* RFC 1918 */
    {{192, 175, 48}, 24, NETPOLICY_AS112},	     /* RFC 7534 */
    {{198, 18}, 15, NETPOLICY_BENCHMARKING},	     /* RFC 2544 */
    {{198, 51, 100}, 24, NETPOLICY_DOCUMENTATION},   /* RFC 5737 */
    {{203, 0, 113}, 24, NETPOLICY_DOCUMENTATION},    /* RFC 5737 */
    {{224}, 4, NETPOLICY_MULTICAST},		     /* RFC 5771 */
    {{240}, 4, NETPOLICY_RESERVED},		     /* RFC 1112 */
};

/* IANA IPv6 Special-Purpose Address Registry and the IPv6 Address Space
 * registry. The forms that embed IPv4 (::/96, ::ffff:0:0/96,
 * ::ffff:0:0:0/96, 64:ff9b::/96, 2002::/16) are handled in code before
 * this table; anything that matches nothing here and lies outside
 * 2000::/3 is reserved. */
static const struct block v6_blocks[] = {
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, NETPOLICY_NAT64_LOCAL},
    {{0x01, 0x00}, 64, NETPOLICY_DISCARD},	      /* RFC 6666 */
    {{0x20, 0x01, 0x00, 0x00}, 32, NETPOLICY_TEREDO}, /* RFC 4380 */
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, NETPOLICY_BENCHMARKING},
    {{0x20, 0x01, 0x00, 0x03}, 32, NETPOLICY_ANYCAST},		 /* AMT */
    {{0x20, 0x01, 0x00, 0x04, 0x01, 0x12}, 48, NETPOLICY_AS112}, /* 7535 */
    {{0x20, 0x01, 0x00, 0x10}, 28, NETPOLICY_ORCHID},		 /* RFC 4843 */
    {{0x20, 0x01, 0x00, 0x20}, 28, NETPOLICY_ORCHID},		 /* RFC 7343 */
    {{0x20, 0x01, 0x00, 0x00}, 23, NETPOLICY_IETF_PROTOCOL},	 /* 2928 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, NETPOLICY_DOCUMENTATION},	 /* 3849 */
    {{0x26, 0x20, 0x00, 0x4f, 0x80, 0x00}, 48, NETPOLICY_AS112}, /* 7534 */
    {{0x3f, 0xff, 0x00}, 20, NETPOLICY_DOCUMENTATION},		 /* 9637 */
    {{0xfc}, 7, NETPOLICY_UNIQUE_LOCAL},			 /* RFC 4193 */
    {{0xfe, 0x80}, 10, NETPOLICY_LINK_LOCAL},			 /* RFC 4291 */
    {{0xfe, 0xc0}, 10, NETPOLICY_SITE_LOCAL},			 /* RFC 3879 */
    {{0xff}, 8, NETPOLICY_MULTICAST},				 /* RFC 4291 */
};

/* prefix_match - whether the first @prefix bits of @a and @net agree. */
static bool prefix_match(const unsigned char *a, const unsigned char *net,
			 unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff00u >> rest);
	return ((a[whole] ^ net[whole]) & mask) == 0;
}

/* lookup - the class of the first block of @tab holding @a, or @dflt. */
static enum netpolicy_class lookup(const struct block *tab, size_t n,
				   const unsigned char *a,
				   enum netpolicy_class dflt)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_match(a, tab[i].net, tab[i].prefix))
			return tab[i].cls;
	return dflt;
}

/* all_zero - whether @n octets at @a are all zero. */
static bool all_zero(const unsigned char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != 0)
			return false;
	return true;
}

/* is_v4_mapped - ::ffff:0:0/96 (RFC 4291 2.5.5.2). */
static bool is_v4_mapped(const unsigned char *a)
{
	return all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff;
}

static enum netpolicy_class classify_v4(const unsigned char *a)
{
	return lookup(v4_blocks, sizeof v4_blocks / sizeof v4_blocks[0], a,
		      NETPOLICY_GLOBAL);
}

/* classify_v6 - the IPv6 rules of netpolicy.h, in order: the exact
 * addresses, the forms that embed IPv4, the registry table, and finally
 * "not 2000::/3 is not global unicast". */
static enum netpolicy_class classify_v6(const unsigned char *a)
{
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (all_zero(a, 15))
		return a[15] == 0   ? NETPOLICY_UNSPECIFIED
		       : a[15] == 1 ? NETPOLICY_LOOPBACK
				    : NETPOLICY_IPV4_COMPATIBLE;
	if (is_v4_mapped(a))
		return classify_v4(a + 12);
	/* ::ffff:0:a.b.c.d, the SIIT form RFC 6145 dropped. */
	if (all_zero(a, 8) && a[8] == 0xff && a[9] == 0xff && a[10] == 0 &&
	    a[11] == 0)
		return NETPOLICY_IPV4_TRANSLATED;
	if (all_zero(a, 12))
		return NETPOLICY_IPV4_COMPATIBLE;
	/* RFC 6052 2.2: with the /96 well-known prefix the IPv4 address is
	 * the last 32 bits; the local NAT64 sends the packet there. */
	if (memcmp(a, nat64, sizeof nat64) == 0)
		return classify_v4(a + 12);
	/* RFC 3056 2: 2002:V4ADDR::/48, the relay sends it to V4ADDR. */
	if (a[0] == 0x20 && a[1] == 0x02)
		return classify_v4(a + 2);
	enum netpolicy_class c =
	    lookup(v6_blocks, sizeof v6_blocks / sizeof v6_blocks[0], a,
		   NETPOLICY_GLOBAL);
	if (c == NETPOLICY_GLOBAL && (a[0] & 0xe0) != 0x20)
		return NETPOLICY_RESERVED;
	return c;
}

enum netpolicy_class netpolicy_classify(int family, const unsigned char *octets)
{
	if (family == AF_INET)
		return classify_v4(octets);
	if (family == AF_INET6)
		return classify_v6(octets);
	return NETPOLICY_RESERVED;
}

/* never_unicast - classes no allow entry can permit: they are never a
 * unicast SMTP peer, and 0.0.0.0 would quietly reach loopback. */
static bool never_unicast(enum netpolicy_class c)
{
	return c == NETPOLICY_UNSPECIFIED || c == NETPOLICY_THIS_NETWORK ||
	       c == NETPOLICY_MULTICAST || c == NETPOLICY_BROADCAST;
}

enum netpolicy_class netpolicy_check(const struct netpolicy *p, int family,
				     const unsigned char *octets)
{
	/* An IPv4-mapped address is IPv4 on the wire, so it is IPv4 for the
	 * allow list too. */
	if (family == AF_INET6 && is_v4_mapped(octets)) {
		family = AF_INET;
		octets += 12;
	}
	enum netpolicy_class c = netpolicy_classify(family, octets);
	if (c == NETPOLICY_GLOBAL || never_unicast(c))
		return c;
	for (unsigned i = 0; i < p->allow_count; i++) {
		const struct netpolicy_cidr *e = &p->allow[i];
		if (e->family == family &&
		    prefix_match(octets, e->addr, e->prefix))
			return NETPOLICY_GLOBAL;
	}
	return c;
}

int netpolicy_parse_ip(const char *text, int *family, unsigned char octets[16])
{
	if (inet_pton(AF_INET, text, octets) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, octets) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

void netpolicy_init(struct netpolicy *p)
{
	memset(p, 0, sizeof *p);
}

/* printable - a copy of @s for an error message: at most @size - 1
 * octets, anything but printable ASCII shown as '?', so that a control
 * character in a configuration value cannot reach a terminal or log. */
static const char *printable(char *dst, size_t size, const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < size; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* parse_prefix - a prefix length: 1 to 3 decimal digits, no sign, no
 * leading zero, at most @max. Returns it, or -1. */
static int parse_prefix(const char *s, unsigned max)
{
	size_t n = strlen(s);
	unsigned v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= max ? (int)v : -1;
}

int netpolicy_allow_cidr(struct netpolicy *p, const char *cidr, char *err,
			 size_t errlen)
{
	char text[NETPOLICY_CIDR_MAX + 1], shown[NETPOLICY_CIDR_MAX + 1];
	char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	struct netpolicy_cidr e = {0};
	unsigned width;
	int prefix;

	if (errlen > 0)
		err[0] = '\0';
	size_t len = strnlen(cidr, NETPOLICY_CIDR_MAX + 1);
	if (len == 0) {
		snprintf(err, errlen,
			 "empty network: expected CIDR such as "
			 "198.18.0.0/15");
		return -1;
	}
	if (len > NETPOLICY_CIDR_MAX) {
		snprintf(err, errlen,
			 "network is longer than %d characters: expected CIDR "
			 "such as 198.18.0.0/15",
			 NETPOLICY_CIDR_MAX);
		return -1;
	}
	if (p->allow_count >= NETPOLICY_ALLOW_MAX) {
		snprintf(err, errlen, "too many allowed networks (at most %d)",
			 NETPOLICY_ALLOW_MAX);
		return -1;
	}
	memcpy(text, cidr, len + 1);
	printable(shown, sizeof shown, text);

	char *slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	if (netpolicy_parse_ip(text, &e.family, e.addr) != 0) {
		snprintf(err, errlen,
			 "'%s' is not a network: '%s' is not an IPv4 or IPv6 "
			 "address",
			 shown, printable(addr, sizeof addr, text));
		return -1;
	}
	width = e.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		prefix = (int)width;
	} else if ((prefix = parse_prefix(slash + 1, width)) < 0) {
		snprintf(err, errlen,
			 "'%s' is not a network: the prefix length must be a "
			 "number from 0 to %u",
			 shown, width);
		return -1;
	}
	e.prefix = (unsigned)prefix;
	/* A mapped network is IPv4 for matching (see netpolicy_check). */
	if (e.family == AF_INET6 && e.prefix >= 96 && is_v4_mapped(e.addr)) {
		memmove(e.addr, e.addr + 12, 4);
		memset(e.addr + 4, 0, 12);
		e.family = AF_INET;
		e.prefix -= 96;
		width = 32;
	}

	/* Host bits set usually means a typo in the prefix length or the
	 * address; guessing either could open a wider range than meant. */
	unsigned char masked[16] = {0};
	memcpy(masked, e.addr, e.prefix / 8);
	if (e.prefix % 8 != 0)
		masked[e.prefix / 8] =
		    e.addr[e.prefix / 8] &
		    (unsigned char)(0xff00u >> (e.prefix % 8));
	if (memcmp(masked, e.addr, width / 8) != 0) {
		if (inet_ntop(e.family, masked, net, sizeof net) == NULL)
			net[0] = '\0';
		snprintf(err, errlen,
			 "'%s' has host bits set after the prefix length; the "
			 "network is %s/%u",
			 shown, net, e.prefix);
		return -1;
	}
	p->allow[p->allow_count++] = e;
	return 0;
}

const char *netpolicy_class_name(enum netpolicy_class c)
{
	if ((unsigned)c >= NETPOLICY_CLASS_LAST)
		return NULL;
	return class_name[c];
}
