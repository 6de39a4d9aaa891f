/* ipaddr - the IP address literals of RFC 5321 4.1.3 (see ipaddr.h).
 *
 * Shape: the grammar is checked by hand first, so that the explanation
 * names the mistake ("a number has a leading zero", "more than one ::");
 * inet_pton() then converts what the grammar let through. The two sides
 * of an IPv6 "::" are checked by one function, ipv6_groups(), which also
 * takes a dotted quad at the end. Errors go through a sticky recorder:
 * the first one found is the one reported, later ones are ignored. */
#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Explanations of a malformed literal start alike, so that a person sees
 * which part of the address is wrong before what is wrong with it. */
#define V4 "invalid IPv4 address literal: "
#define V6 "invalid IPv6 address literal: "

/* The IPv6 address literal tag of RFC 5321 4.1.3, matched ignoring case. */
#define IPV6_TAG     "IPv6:"
#define IPV6_TAG_LEN (sizeof(IPV6_TAG) - 1)

struct ipparse {
	bool err;  /* sticky: once set, later faults are not recorded */
	char *why; /* the caller's IPADDR_WHY_MAX buffer */
};

/* fail - record the first error; later ones are ignored because the
 * first is the one a person can act on. */
static void fail(struct ipparse *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct ipparse *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return;
	c->err = true;
	va_start(ap, fmt);
	vsnprintf(c->why, IPADDR_WHY_MAX, fmt, ap);
	va_end(ap);
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_hex(int ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

/* span - how many of the @n octets at @s are in @set (strspn bounded by
 * @n: the input need not end with a NUL). */
static size_t span(const char *s, size_t n, const char *set)
{
	size_t i = 0;

	while (i < n && s[i] != '\0' && strchr(set, s[i]) != NULL)
		i++;
	return i;
}

/* parse_ipv4 - RFC 5321 IPv4-address-literal = Snum 3("." Snum), in
 * @n octets at @s, into 4 octets at @dst. Leading zeros are refused even
 * though Snum allows them: "010" is 8 to some parsers and 10 to others,
 * and inet_pton() itself refuses them. */
static void parse_ipv4(struct ipparse *c, const char *s, size_t n,
		       unsigned char *dst)
{
	char text[IPADDR_TEXT_MAX + 1];
	size_t i, digits = 0, dots = 0;
	unsigned value = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (digits == 0) {
				fail(c, V4 "it must be four numbers "
					   "separated by dots");
				return;
			}
			if (i < n)
				dots++;
			digits = 0;
			value = 0;
			continue;
		}
		if (!is_digit(s[i])) {
			fail(c, V4 "it contains '%c'", s[i]);
			return;
		}
		if (digits == 1 && value == 0) {
			fail(c, V4 "a number has a leading zero");
			return;
		}
		value = value * 10 + (unsigned)(s[i] - '0');
		if (++digits > 3 || value > 255) {
			fail(c, V4 "a number is larger than 255");
			return;
		}
	}
	if (dots != 3 || n > IPADDR_TEXT_MAX) {
		fail(c, V4 "it must be four numbers separated by dots");
		return;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, dst) != 1)
		fail(c, V4 "not an address");
}

/* ipv6_groups - check one side of an IPv6 literal (the text before or
 * after "::", or all of it) as 1*4HEXDIG groups joined by single colons,
 * the last one possibly a dotted quad when @v4_ok. Returns the number of
 * hex groups; sets *@v4 when the side ends in a dotted quad. */
static size_t ipv6_groups(struct ipparse *c, const char *s, size_t n,
			  bool v4_ok, bool *v4)
{
	size_t i = 0, groups = 0, start, end;
	unsigned char ignored[4];

	if (n == 0)
		return 0;
	while (!c->err && i <= n) {
		start = i;
		while (i < n && s[i] != ':')
			i++;
		end = i;
		if (end == start) {
			fail(c, V6 "an empty group (a stray colon)");
			break;
		}
		if (end == n && v4_ok && memchr(s + start, '.', end - start)) {
			parse_ipv4(c, s + start, end - start, ignored);
			*v4 = true;
			break;
		}
		for (size_t k = start; k < end; k++)
			if (!is_hex(s[k])) {
				fail(c, V6 "'%c' is not a hex digit", s[k]);
				return groups;
			}
		if (end - start > 4) {
			fail(c, V6 "a group has more than 4 hex digits");
			break;
		}
		groups++;
		i++; /* past the colon, or past the end */
	}
	return groups;
}

/* parse_ipv6 - RFC 5321 4.1.3 IPv6-addr (full, comp, v4-full, v4-comp)
 * into 16 octets at @dst. As the RFC says, "::" stands for at least two
 * groups of zeros: with it, at most 6 hex groups (4 before a dotted quad)
 * may be written; without it, exactly 8 (6 before a dotted quad). */
static void parse_ipv6(struct ipparse *c, const char *s, size_t n,
		       unsigned char *dst)
{
	char text[IPADDR_TEXT_MAX + 1];
	const char *gap = NULL;
	size_t groups, max;
	bool v4 = false;

	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == ':' && s[i + 1] == ':') {
			if (gap != NULL) {
				fail(c, V6 "more than one ::");
				return;
			}
			gap = s + i;
			i++;
		}
	if (n > IPADDR_TEXT_MAX) {
		fail(c, V6 "too long");
		return;
	}
	if (gap == NULL) {
		groups = ipv6_groups(c, s, n, true, &v4);
		max = v4 ? 6 : 8;
		if (!c->err && groups != max)
			fail(c, V6 "it needs %zu groups (or ::), not %zu", max,
			     groups);
	} else {
		size_t left = (size_t)(gap - s);

		groups = ipv6_groups(c, s, left, false, &v4);
		groups += ipv6_groups(c, gap + 2, n - left - 2, true, &v4);
		max = v4 ? 4 : 6;
		if (!c->err && groups > max)
			fail(c, V6 "too many groups for :: (at most %zu)", max);
	}
	if (c->err)
		return;
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, dst) != 1)
		fail(c, V6 "not an address");
}

int ipaddr_parse_v4(const char *s, size_t n, unsigned char dst[4],
		    char why[IPADDR_WHY_MAX])
{
	struct ipparse c = {.why = why};

	why[0] = '\0';
	parse_ipv4(&c, s, n, dst);
	return c.err ? -1 : 0;
}

int ipaddr_parse_v6(const char *s, size_t n, unsigned char dst[16],
		    char why[IPADDR_WHY_MAX])
{
	struct ipparse c = {.why = why};

	why[0] = '\0';
	parse_ipv6(&c, s, n, dst);
	return c.err ? -1 : 0;
}

/* ipaddr_parse_literal - the form is chosen by the tag, else by the
 * alphabet, so that a missing tag or an unknown one gets its own words. */
int ipaddr_parse_literal(const char *s, size_t n, enum ipaddr_family *family,
			 unsigned char dst[16], char why[IPADDR_WHY_MAX])
{
	*family = IPADDR_NONE;
	if (n >= IPV6_TAG_LEN && strncasecmp(s, IPV6_TAG, IPV6_TAG_LEN) == 0) {
		*family = IPADDR_V6;
		return ipaddr_parse_v6(s + IPV6_TAG_LEN, n - IPV6_TAG_LEN, dst,
				       why);
	}
	if (span(s, n, "0123456789.") >= n) {
		*family = IPADDR_V4;
		return ipaddr_parse_v4(s, n, dst, why);
	}
	if (span(s, n, "0123456789abcdefABCDEF:.") >= n)
		snprintf(why, IPADDR_WHY_MAX,
			 "an IPv6 address literal must start with the tag "
			 "IPv6:");
	else
		snprintf(why, IPADDR_WHY_MAX,
			 "address literal must be IPv4 or IPv6 (general "
			 "address literals are not supported)");
	return -1;
}
