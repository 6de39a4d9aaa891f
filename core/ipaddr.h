/* ipaddr - the IP address literals of an SMTP address (RFC 5321 4.1.3),
 * strictly: the text between the brackets of user@[...].
 *
 * Grammar accepted (and nothing else):
 *   literal               = IPv4-address-literal / "IPv6:" IPv6-addr
 *   IPv4-address-literal  = Snum 3("." Snum)          ; 0..255 each
 *   IPv6-addr             = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp
 *   IPv6-hex              = 1*4HEXDIG
 * The tag "IPv6:" is matched ignoring case. A General-address-literal
 * (any other tag) names no transport a verifier could probe: refused.
 *
 * Choices where the RFC leaves room (each is tested):
 *  - an IPv4 number with a leading zero ("010") is refused: octal to
 *    some parsers, decimal to others, and inet_pton() refuses it too;
 *  - "::" stands for at least two groups (RFC 5321 4.1.3 prose): with it
 *    at most 6 hex groups may be written (4 before a dotted quad), so
 *    "1:2:3:4:5:6::7" is refused; without it exactly 8 (6 before a dotted
 *    quad);
 *  - no zone ("%eth0"), no prefix length ("/64"), no brackets inside.
 * The text is checked by the grammar above first, then converted with
 * inet_pton(); both must agree.
 *
 * Limits: an IPv6 text longer than IPADDR_TEXT_MAX is refused before
 * conversion. Errors: 0, or -1 with a sentence a person understands in
 * @why (IPADDR_WHY_MAX octets always suffice): lower case, no final
 * period, the first fault found from left to right, starting with
 * "invalid IPv4 address literal: " or "invalid IPv6 address literal: "
 * when the family is known (a dotted quad inside an IPv6 literal is
 * explained as IPv4). Ownership: reads @s (@n octets, no NUL needed),
 * writes the caller's buffers; no allocation. Loop: none; pure. */
#ifndef RCPTD_CORE_IPADDR_H
#define RCPTD_CORE_IPADDR_H

#include <stddef.h>

/* RFC 5321 4.1.3: the longest IPv6 text is 8 groups of 4 hex digits and 7
 * colons (39), or 6 groups, colons and a dotted quad (45); anything longer
 * is malformed, so a buffer of this size (with its NUL) always suffices. */
#define IPADDR_TEXT_MAX 45
/* The longest explanation is under 80 octets (the IPv4 prefix and "it
 * must be four numbers separated by dots"); the rest is headroom. */
#define IPADDR_WHY_MAX 128

enum ipaddr_family {
	IPADDR_NONE = 0,
	IPADDR_V4, /* 4 octets */
	IPADDR_V6  /* 16 octets */
};

/* ipaddr_parse_literal - the @n octets between the brackets of an
 * address literal ("192.0.2.1", "IPv6:2001:db8::1") into *@family and
 * @dst (4 or 16 octets, network order). *@family is set as soon as the
 * form is known, and stays IPADDR_NONE for an unknown tag. */
int ipaddr_parse_literal(const char *s, size_t n, enum ipaddr_family *family,
			 unsigned char dst[16], char why[IPADDR_WHY_MAX]);

/* ipaddr_parse_v4 - IPv4-address-literal, @n octets at @s, into @dst. */
int ipaddr_parse_v4(const char *s, size_t n, unsigned char dst[4],
		    char why[IPADDR_WHY_MAX]);

/* ipaddr_parse_v6 - IPv6-addr (after the tag), @n octets at @s, into
 * @dst. */
int ipaddr_parse_v6(const char *s, size_t n, unsigned char dst[16],
		    char why[IPADDR_WHY_MAX]);

#endif
