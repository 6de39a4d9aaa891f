/* address - parse and normalise an SMTP envelope address (RFC 5321 4.1.2
 * Mailbox, as used in RCPT TO, extended by RFC 6531 for UTF-8).
 *
 * Grammar accepted (and nothing else):
 *   Mailbox       = Local-part "@" ( Domain / address-literal )
 *   Local-part    = Dot-string / Quoted-string      ; RFC 5321 4.1.2
 *   Dot-string    = Atom *("." Atom)                 ; atext, plus UTF-8
 *   Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP / UTF-8) DQUOTE
 *   Domain        = sub-domain *("." sub-domain)     ; LDH labels, or
 *                   U-labels converted to A-labels (UTS #46, libidn2)
 *   address-literal = "[" ( IPv4 / "IPv6:" IPv6 ) "]" ; RFC 5321 4.1.3
 * Input white space around the address (SP and HTAB only) is trimmed.
 * Comments, folding white space, display names, angle brackets, obsolete
 * RFC 5322 forms, General-address-literals, malformed UTF-8 (overlong
 * forms, surrogates, beyond U+10FFFF), any control character (C0 with
 * CR, LF and NUL, DEL, C1 U+0080..U+009F) and non-ASCII white space
 * (U+00A0, U+2028, ...) anywhere are refused.
 *
 * Choices where the RFCs leave room (each is tested):
 *  - a dotless domain (user@localhost) is valid syntax; policy decides;
 *  - a top-level domain of digits only (user@1.2.3.4, user@iana.123) is
 *    refused (RFC 3696 2): it would reach a resolver as an IP address and
 *    side-step the address-literal policy;
 *  - an IPv4 number with a leading zero ([010.0.0.1]) is refused: octal
 *    to some parsers, decimal to others, and inet_pton() refuses it too;
 *  - "::" in an IPv6 literal stands for at least two groups (RFC 5321
 *    4.1.3 prose), so [IPv6:1:2:3:4:5:6::7] is refused;
 *  - a domain with U-labels or "xn--" labels goes whole through libidn2
 *    (UTS #46 non-transitional: faß.de -> xn--fa-hia.de), which converts
 *    the U-labels and verifies the A-labels; every label of such a domain
 *    must then pass IDNA2008 (so no "--" in positions 3-4 but xn--), and
 *    the result must again be LDH. Plain ASCII domains skip libidn2.
 *
 * Normalisation: the domain is lower-cased and in A-label form; the local
 * part is kept exactly as written (RFC 5321 2.4: only the receiving host
 * may interpret it). An address literal is kept as written (its tag and
 * hex digits in their case), its IP parsed into @literal so the network
 * policy can refuse it. Parsing an address's normalised form again gives
 * the same address.
 *
 * Limits (octets, after IDN conversion): local part 64 (RFC 5321
 * 4.5.3.1.1), domain 253 in text form with 63 per label (RFC 1035 2.3.4),
 * whole address 254 (RFC 5321 4.5.3.1.3 path of 256 minus the brackets),
 * so in a valid address the domain is at most 252 octets.
 * Input beyond ADDRESS_INPUT_MAX is refused before any parsing.
 *
 * Errors: address_parse() returns 0, or -1 with a sentence in @why that a
 * person understands ("local part is longer than 64 octets"): lower case,
 * no final period, the first fault found from left to right (control
 * characters and bad UTF-8 are looked for first, over the whole input).
 * Ownership: everything is written into the caller's struct; no
 * allocation escapes. Loop: none. */
#ifndef RCPTD_CORE_ADDRESS_H
#define RCPTD_CORE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADDRESS_LOCAL_MAX  64
#define ADDRESS_DOMAIN_MAX 253
#define ADDRESS_LABEL_MAX  63
#define ADDRESS_MAX	   254
/* Defend against a caller handing us megabytes: nothing longer than this
 * (before trimming) can be a valid address even with generous white space
 * and U-labels, which are longer than their A-labels. */
#define ADDRESS_INPUT_MAX 1024
#define ADDRESS_WHY_MAX	  160

enum address_kind {
	ADDRESS_KIND_DOMAIN = 0,
	ADDRESS_KIND_IPV4, /* user@[192.0.2.1] */
	ADDRESS_KIND_IPV6  /* user@[IPv6:2001:db8::1] */
};

struct address {
	char local[ADDRESS_LOCAL_MAX + 1];   /* as written, quotes included */
	char domain[ADDRESS_DOMAIN_MAX + 3]; /* A-label, lower case; or the
					      * literal with its brackets */
	char address[ADDRESS_MAX + 1];	     /* local "@" domain */
	enum address_kind kind;
	unsigned char literal[16]; /* kind IPV4: 4 octets; IPV6: 16 */
	bool local_quoted;	   /* local part is a Quoted-string */
	bool local_utf8;	   /* local part has non-ASCII (SMTPUTF8) */
	bool domain_idn;	   /* input domain had U-labels */
};

/* address_parse - parse @len octets at @in into @out.
 * Returns 0 on success; -1 with a NUL-terminated explanation in @why
 * (ADDRESS_WHY_MAX octets is always enough) when the input is not a valid
 * envelope address. @out is fully written on success and unspecified on
 * failure. */
int address_parse(const char *in, size_t len, struct address *out,
		  char why[ADDRESS_WHY_MAX]);

/* address_local_lower - the local part lower-cased for role-account
 * matching (ASCII only; quotes and quoted pairs removed). Writes at most
 * @size octets including the NUL; returns false if it did not fit. */
bool address_local_lower(const struct address *a, char *dst, size_t size);

#endif
