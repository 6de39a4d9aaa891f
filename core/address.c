/* address - parse and normalise an SMTP envelope address.
 * The contract, the grammar and the limits are in address.h.
 *
 * Security stance: the parsed address is later written into an SMTP
 * command ("RCPT TO:<...>"), so nothing that could end or extend a command
 * line may pass: every control character (C0, DEL, C1) is refused before
 * the grammar runs, and the grammar admits only what RFC 5321 and RFC 6531
 * admit. All work happens in fixed buffers on the stack; the one
 * allocation (libidn2's result) is freed before returning.
 *
 * Shape: the trimmed input is read through a sticky-error cursor (STYLE.md
 * example 11). Each production is a small function that does nothing once
 * an error is recorded, so address_parse() reads as the grammar and checks
 * for failure once; the first error found is the one reported. */
#include "core/address.h"

#include <idn2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ipaddr.h"

/* An explanation from core/ipaddr fits an address's unchanged. */
_Static_assert(IPADDR_WHY_MAX <= ADDRESS_WHY_MAX, "explanation size");

struct cursor {
	const char *p; /* the trimmed input, borrowed from the caller */
	size_t len;    /* octets at p */
	size_t off;    /* next octet to read */
	bool err;      /* sticky: once set, every reader does nothing */
	char *why;     /* the caller's ADDRESS_WHY_MAX buffer */
};

/* cur_fail - record the first error; later ones are ignored because the
 * first is the one a person can act on. */
static void cur_fail(struct cursor *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cur_fail(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return;
	c->err = true;
	va_start(ap, fmt);
	vsnprintf(c->why, ADDRESS_WHY_MAX, fmt, ap);
	va_end(ap);
}

/* cur_peek - the next octet, or -1 at the end (or after an error). */
static int cur_peek(const struct cursor *c)
{
	if (c->err || c->off >= c->len)
		return -1;
	return (unsigned char)c->p[c->off];
}

static bool is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int to_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* is_atext - RFC 5322 3.2.3 atext, extended by RFC 6531 3.3 with every
 * non-ASCII octet (their UTF-8 form is checked once, up front). */
static bool is_atext(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch >= 0x80 ||
	       (ch != 0 && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* is_qtext - RFC 5321 4.1.2 qtextSMTP (printable ASCII but '"' and '\'),
 * plus UTF-8 per RFC 6531 3.3. */
static bool is_qtext(int ch)
{
	return (ch >= 32 && ch <= 126 && ch != '"' && ch != '\\') || ch >= 0x80;
}

/* The names people know control characters by (ASCII, RFC 20). */
static const char *const control_name[32] = {
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS",  "TAB", "LF",
    "VT",  "FF",  "CR",	 "SO",	"SI",  "DLE", "DC1", "DC2", "DC3", "DC4", "NAK",
    "SYN", "ETB", "CAN", "EM",	"SUB", "ESC", "FS",  "GS",  "RS",  "US"};

/* utf8_check - length of the strictly valid UTF-8 sequence at @s (at most
 * @n octets), or 0 with @what naming the fault. Strict means RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF; @cp gets the
 * code point so the caller can refuse C1 controls. */
static size_t utf8_check(const unsigned char *s, size_t n, uint32_t *cp,
			 const char **what)
{
	unsigned char b = s[0];
	size_t need, i;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second octet */

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b < 0xc0) {
		*what = "stray continuation byte";
		return 0;
	}
	if (b < 0xc2) {
		*what = "overlong encoding";
		return 0;
	}
	if (b < 0xe0) {
		need = 1;
		*cp = b & 0x1f;
	} else if (b < 0xf0) {
		need = 2;
		*cp = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0; /* below is an overlong 2-octet form */
		else if (b == 0xed)
			hi = 0x9f; /* above are U+D800..U+DFFF */
	} else if (b < 0xf5) {
		need = 3;
		*cp = b & 0x07;
		if (b == 0xf0)
			lo = 0x90; /* below is an overlong 3-octet form */
		else if (b == 0xf4)
			hi = 0x8f; /* above is beyond U+10FFFF */
	} else {
		*what = b < 0xf8 ? "code point above U+10FFFF"
				 : "byte that never appears in UTF-8";
		return 0;
	}
	if (n < need + 1) {
		*what = "truncated sequence";
		return 0;
	}
	for (i = 1; i <= need; i++) {
		unsigned char t = s[i];

		if (t < 0x80 || t > 0xbf) {
			*what = "truncated sequence";
			return 0;
		}
		if (i == 1 && (t < lo || t > hi)) {
			*what = b == 0xed   ? "surrogate code point"
				: b == 0xf4 ? "code point above U+10FFFF"
					    : "overlong encoding";
			return 0;
		}
		*cp = (*cp << 6) | (t & 0x3f);
	}
	return need + 1;
}

/* is_unicode_space - Unicode white space (Zs, Zl, Zp) beyond ASCII. Not
 * trimmed and not a legal part of anything: a no-break space pasted from
 * a web page would otherwise become part of the local part, and the probe
 * would report a missing mailbox instead of a typing mistake. */
static bool is_unicode_space(uint32_t cp)
{
	return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	       cp == 0x3000;
}

/* scan_octets - refuse control characters and malformed UTF-8 anywhere in
 * the input, before any grammar: this is the guard that keeps CR, LF and
 * NUL out of SMTP commands, whatever the grammar below might allow. */
static void scan_octets(struct cursor *c)
{
	const unsigned char *s = (const unsigned char *)c->p;
	size_t i = 0, n;
	uint32_t cp;
	const char *what = NULL;

	while (!c->err && i < c->len) {
		if (s[i] < 0x20) {
			cur_fail(c, "address contains a control character (%s)",
				 control_name[s[i]]);
			return;
		}
		if (s[i] == 0x7f) {
			cur_fail(c,
				 "address contains a control character (DEL)");
			return;
		}
		n = utf8_check(s + i, c->len - i, &cp, &what);
		if (n == 0) {
			cur_fail(c, "address is not valid UTF-8 (%s)", what);
			return;
		}
		if (is_unicode_space(cp)) {
			cur_fail(
			    c,
			    "address contains non-ASCII white space (U+%04X)",
			    (unsigned)cp);
			return;
		}
		if (cp >= 0x80 && cp <= 0x9f) {
			cur_fail(
			    c, "address contains a control character (U+%04X)",
			    (unsigned)cp);
			return;
		}
		i += n;
	}
}

/* has_octet - whether @ch occurs at or after the cursor; used only to
 * choose a clearer explanation, never to decide validity. */
static bool has_octet(const struct cursor *c, int ch)
{
	return c->off < c->len &&
	       memchr(c->p + c->off, ch, c->len - c->off) != NULL;
}

/* fail_local_char - explain an octet that cannot appear unquoted in a
 * local part, naming the mistake people actually make. */
static void fail_local_char(struct cursor *c, int ch)
{
	if ((ch == ' ' || ch == '\t') && has_octet(c, '<'))
		cur_fail(
		    c, "display names are not allowed, give the bare address");
	else if (ch == ' ' || ch == '\t')
		cur_fail(c, "local part contains white space, which is only "
			    "allowed inside quotes");
	else if (ch == '<' || ch == '>')
		cur_fail(
		    c, "angle brackets are not allowed, give the bare address");
	else if (ch == '(' || ch == ')')
		cur_fail(c, "comments are not allowed");
	else if (ch == '"')
		cur_fail(c, "a quoted string must be the whole local part");
	else if (ch == '\\')
		cur_fail(c, "backslash is only allowed inside a quoted string");
	else
		cur_fail(c,
			 "local part contains '%c', which is only allowed "
			 "inside quotes",
			 ch);
}

/* parse_dot_string - RFC 5321 Dot-string = Atom *("." Atom), up to the
 * '@' (or the first octet that cannot belong to it). */
static void parse_dot_string(struct cursor *c)
{
	int ch;
	bool atom_empty = true;

	while ((ch = cur_peek(c)) != -1 && ch != '@') {
		if (ch == '.') {
			if (c->off == 0)
				cur_fail(c, "local part starts with a dot");
			else if (atom_empty)
				cur_fail(c, "consecutive dots in local part");
			atom_empty = true;
		} else if (is_atext(ch)) {
			atom_empty = false;
		} else {
			fail_local_char(c, ch);
			return;
		}
		c->off++;
	}
	if (c->err)
		return;
	if (c->off == 0)
		cur_fail(c, "local part is empty");
	else if (atom_empty)
		cur_fail(c, "local part ends with a dot");
}

/* parse_quoted_string - RFC 5321 Quoted-string = DQUOTE *QcontentSMTP
 * DQUOTE, where a quoted pair is '\' and one printable ASCII octet
 * (quoted-pairSMTP: RFC 6531 does not extend it to UTF-8). */
static void parse_quoted_string(struct cursor *c)
{
	int ch;

	c->off++; /* the opening DQUOTE */
	while ((ch = cur_peek(c)) != -1 && ch != '"') {
		if (ch == '\\') {
			c->off++;
			ch = cur_peek(c);
			if (ch == -1)
				break;
			if (ch < 32 || ch > 126) {
				cur_fail(c, "backslash in a quoted string must "
					    "be followed by printable ASCII");
				return;
			}
		} else if (!is_qtext(ch)) {
			/* Controls were refused up front; nothing else of
			 * the alphabet is left, but keep the grammar whole. */
			cur_fail(c, "quoted string contains a character that "
				    "is not allowed");
			return;
		}
		c->off++;
	}
	if (cur_peek(c) != '"') {
		cur_fail(c, "unterminated quoted string");
		return;
	}
	c->off++; /* the closing DQUOTE */
	ch = cur_peek(c);
	if (ch == -1 || ch == '@')
		return;
	if ((ch == ' ' || ch == '\t') && has_octet(c, '<'))
		cur_fail(
		    c, "display names are not allowed, give the bare address");
	else if (ch == '.' || ch == '"' || is_atext(ch))
		cur_fail(c, "a quoted string must be the whole local part");
	else
		cur_fail(c, "quoted string must be followed by @");
}

/* parse_local - RFC 5321 Local-part = Dot-string / Quoted-string; the
 * text is kept as written (RFC 5321 2.4) and measured with its quotes
 * (RFC 5321 4.5.3.1.1 counts the octets of the local part as sent). */
static void parse_local(struct cursor *c, struct address *out)
{
	size_t start = c->off, n, i;

	if (cur_peek(c) == '"') {
		parse_quoted_string(c);
		out->local_quoted = true;
	} else {
		parse_dot_string(c);
	}
	if (c->err)
		return;
	n = c->off - start;
	if (n > ADDRESS_LOCAL_MAX) {
		cur_fail(c, "local part is longer than %d octets",
			 ADDRESS_LOCAL_MAX);
		return;
	}
	memcpy(out->local, c->p + start, n);
	out->local[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)out->local[i] >= 0x80)
			out->local_utf8 = true;
}

/* parse_at - the '@' between local part and domain. */
static void parse_at(struct cursor *c)
{
	if (c->err)
		return;
	if (cur_peek(c) != '@') {
		cur_fail(c, "address has no @ after the local part");
		return;
	}
	c->off++;
}

/* parse_literal - RFC 5321 4.1.3 address-literal = "[" ( IPv4 / "IPv6:"
 * IPv6 ) "]", kept as written in out->domain; the text between the
 * brackets is core/ipaddr's to judge. */
static void parse_literal(struct cursor *c, struct address *out)
{
	const char *body = c->p + c->off + 1;
	size_t avail = c->len - c->off - 1, n;
	const char *close = memchr(body, ']', avail);
	enum ipaddr_family family;
	char why[IPADDR_WHY_MAX];

	if (close == NULL) {
		cur_fail(c, "address literal is missing its closing ]");
		return;
	}
	n = (size_t)(close - body);
	if (n + 1 < avail) {
		cur_fail(c, "text after the address literal");
		return;
	}
	if (n == 0) {
		cur_fail(c, "address literal is empty");
		return;
	}
	if (ipaddr_parse_literal(body, n, &family, out->literal, why) != 0) {
		cur_fail(c, "%s", why);
		return;
	}
	out->kind = family == IPADDR_V6 ? ADDRESS_KIND_IPV6 : ADDRESS_KIND_IPV4;
	/* n + 2 octets with the brackets; the whole-address limit checked by
	 * the caller is far below the size of out->domain. */
	if (n + 2 >= sizeof(out->domain)) {
		cur_fail(c, "address literal is too long");
		return;
	}
	memcpy(out->domain, c->p + c->off, n + 2);
	out->domain[n + 2] = '\0';
	c->off = c->len;
}

/* fail_domain_char - explain an octet that a host name cannot hold. */
static void fail_domain_char(struct cursor *c, int ch)
{
	if (ch == '@')
		cur_fail(c, "address has more than one @ (quote the local part "
			    "if it contains @)");
	else if (ch == ' ' || ch == '\t')
		cur_fail(c, "domain contains white space");
	else if (ch == '<' || ch == '>')
		cur_fail(
		    c, "angle brackets are not allowed, give the bare address");
	else if (ch == '(' || ch == ')')
		cur_fail(c, "comments are not allowed");
	else if (ch == '[' || ch == ']')
		cur_fail(c, "an address literal must be the whole domain");
	else if (ch == '_')
		cur_fail(c, "domain contains an underscore, which host names "
			    "do not allow");
	else
		cur_fail(c,
			 "domain contains '%c', which host names do not allow",
			 ch);
}

/* check_labels - RFC 5321 Domain = sub-domain *("." sub-domain) with
 * sub-domain = Let-dig [Ldh-str], over @n octets at @s. With @raw the text
 * is the input before IDNA: non-ASCII octets are label content and only
 * the structure is checked (lengths depend on the conversion). Without
 * it, @s is the final A-label form and every limit applies. */
static void check_labels(struct cursor *c, const char *s, size_t n, bool raw)
{
	size_t i, start = 0;
	bool digits_only = true;

	if (n == 0) {
		cur_fail(c, "domain is empty");
		return;
	}
	if (s[0] == '.') {
		cur_fail(c, "domain starts with a dot");
		return;
	}
	for (i = 0; i <= n && !c->err; i++) {
		int ch = i < n ? (unsigned char)s[i] : '.';

		if (ch != '.') {
			if (ch == '-' && i == start)
				cur_fail(c,
					 "domain label starts with a hyphen");
			else if (!is_alpha(ch) && !is_digit(ch) && ch != '-' &&
				 !(raw && ch >= 0x80))
				fail_domain_char(c, ch);
			if (!is_digit(ch))
				digits_only = false;
			continue;
		}
		if (i == start)
			cur_fail(c, i == n ? "domain ends with a dot"
					   : "consecutive dots in domain");
		else if (s[i - 1] == '-')
			cur_fail(c, "domain label ends with a hyphen");
		else if (!raw && i - start > ADDRESS_LABEL_MAX)
			cur_fail(c, "domain label is longer than %d octets",
				 ADDRESS_LABEL_MAX);
		start = i + 1;
		if (i < n)
			digits_only = true;
	}
	if (c->err || raw)
		return;
	if (n > ADDRESS_DOMAIN_MAX)
		cur_fail(c, "domain is longer than %d octets",
			 ADDRESS_DOMAIN_MAX);
	/* RFC 3696 2: a top-level domain is never all digits. Refusing it
	 * also keeps "user@127.0.0.1" from reaching a resolver that would
	 * take it for an IP address and bypass the literal policy. */
	else if (digits_only)
		cur_fail(c, "top-level domain is all digits (an IP address "
			    "must be written as [192.0.2.1])");
}

/* idn_why - a plain-words explanation of a libidn2 refusal. */
static const char *idn_why(int rc)
{
	switch (rc) {
	case IDN2_DISALLOWED:
	case IDN2_UNASSIGNED:
		return "domain contains a character that IDNA does not allow";
	case IDN2_BIDI:
		return "domain mixes right-to-left and left-to-right text in a "
		       "way IDNA does not allow";
	case IDN2_CONTEXTJ:
	case IDN2_CONTEXTJ_NO_RULE:
	case IDN2_CONTEXTO:
	case IDN2_CONTEXTO_NO_RULE:
		return "domain uses a joiner or context character where IDNA "
		       "does not allow it";
	case IDN2_LEADING_COMBINING:
		return "domain label starts with a combining mark";
	case IDN2_2HYPHEN:
		return "domain label has hyphens in the third and fourth "
		       "positions";
	case IDN2_HYPHEN_STARTEND:
		return "domain label starts or ends with a hyphen";
	case IDN2_TOO_BIG_LABEL:
	case IDN2_PUNYCODE_BIG_OUTPUT: /* the A-label would be too long */
		return "domain label is longer than 63 octets";
	case IDN2_TOO_BIG_DOMAIN:
		return "domain is longer than 253 octets";
	case IDN2_NOT_NFC: /* only an A-label can decode to non-NFC text */
	case IDN2_INVALID_ALABEL:
	case IDN2_UALABEL_MISMATCH:
	case IDN2_PUNYCODE_BAD_INPUT:
	case IDN2_PUNYCODE_OVERFLOW:
	case IDN2_ALABEL_ROUNDTRIP_FAILED:
	case IDN2_INVALID_TRANSITIONAL:
	case IDN2_INVALID_NONTRANSITIONAL:
		return "domain has an invalid A-label (xn--)";
	default:
		return "domain is not a valid internationalised domain name";
	}
}

/* needs_idna - whether @s holds U-labels (non-ASCII) or A-labels ("xn--"
 * prefix): both go through libidn2, the first to be converted, the
 * second to be verified (a fake A-label is not a host name). */
static bool needs_idna(const char *s, size_t n, bool *utf8)
{
	size_t i;
	bool idna = false;

	*utf8 = false;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			*utf8 = idna = true;
		if ((i == 0 || s[i - 1] == '.') && n - i >= 4 &&
		    strncasecmp(s + i, "xn--", 4) == 0)
			idna = true;
	}
	return idna;
}

/* parse_domain_name - a host name, lower-cased, with U-labels converted to
 * A-labels by UTS #46 non-transitional processing (libidn2). The result
 * is checked again as LDH because the mapping may produce characters
 * (full-width '@' becomes '@') that a host name cannot hold. */
static void parse_domain_name(struct cursor *c, struct address *out)
{
	char raw[ADDRESS_INPUT_MAX + 1];
	const char *s = c->p + c->off;
	size_t n = c->len - c->off, i;
	uint8_t *idn = NULL;
	int rc;

	check_labels(c, s, n, true);
	if (c->err)
		return;
	/* The input is at most ADDRESS_INPUT_MAX octets. */
	for (i = 0; i < n; i++)
		raw[i] = (char)to_lower((unsigned char)s[i]);
	raw[n] = '\0';
	if (needs_idna(raw, n, &out->domain_idn)) {
		rc = idn2_lookup_u8((const uint8_t *)raw, &idn,
				    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK) {
			cur_fail(c, "%s", idn_why(rc));
			return;
		}
		n = strlen((const char *)idn);
		if (n > ADDRESS_DOMAIN_MAX) {
			cur_fail(c, "domain is longer than %d octets",
				 ADDRESS_DOMAIN_MAX);
		} else {
			memcpy(raw, idn, n);
			raw[n] = '\0';
		}
		idn2_free(idn);
		for (i = 0; i < n && !c->err; i++)
			if (!is_alpha(raw[i]) && !is_digit(raw[i]) &&
			    raw[i] != '-' && raw[i] != '.')
				cur_fail(c,
					 "domain maps to '%c' under IDNA, "
					 "which host names do not allow",
					 raw[i]);
		if (c->err)
			return;
	}
	check_labels(c, raw, n, false);
	if (c->err)
		return;
	memcpy(out->domain, raw, n + 1);
	out->kind = ADDRESS_KIND_DOMAIN;
	c->off = c->len;
}

/* parse_domain - RFC 5321 ( Domain / address-literal ). */
static void parse_domain(struct cursor *c, struct address *out)
{
	if (c->err)
		return;
	if (c->off >= c->len)
		cur_fail(c, "domain is empty");
	else if (c->p[c->off] == '[')
		parse_literal(c, out);
	else
		parse_domain_name(c, out);
}

/* join_address - out->address = local "@" domain, within ADDRESS_MAX. */
static void join_address(struct cursor *c, struct address *out)
{
	size_t nl, nd;

	if (c->err)
		return;
	nl = strlen(out->local);
	nd = strlen(out->domain);
	if (nl + 1 + nd > ADDRESS_MAX) {
		cur_fail(c, "address is longer than %d octets", ADDRESS_MAX);
		return;
	}
	memcpy(out->address, out->local, nl);
	out->address[nl] = '@';
	memcpy(out->address + nl + 1, out->domain, nd + 1);
}

/* address_parse - see address.h. */
int address_parse(const char *in, size_t len, struct address *out,
		  char why[ADDRESS_WHY_MAX])
{
	struct cursor c = {.why = why};

	why[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (in == NULL)
		len = 0;
	if (len > ADDRESS_INPUT_MAX) {
		cur_fail(&c, "address is longer than %d octets",
			 ADDRESS_INPUT_MAX);
		return -1;
	}
	/* Trim SP and HTAB only: CR and LF are never white space here, they
	 * are refused below wherever they stand. */
	while (len > 0 && (in[0] == ' ' || in[0] == '\t')) {
		in++;
		len--;
	}
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	c.p = in;
	c.len = len;
	if (len == 0) {
		cur_fail(&c, "address is empty");
		return -1;
	}
	scan_octets(&c);
	if (!c.err && memchr(in, '@', len) == NULL)
		cur_fail(&c, "address has no @");
	parse_local(&c, out);
	parse_at(&c);
	parse_domain(&c, out);
	join_address(&c, out);
	return c.err ? -1 : 0;
}

/* address_local_lower - see address.h. Role accounts (RFC 2142) are
 * matched on this form, so "Info", "INFO" and "\"info\"" all match. */
bool address_local_lower(const struct address *a, char *dst, size_t size)
{
	const char *s = a->local;
	size_t n = strnlen(s, sizeof(a->local)), i, o = 0;

	if (dst == NULL || size == 0)
		return false;
	if (a->local_quoted && n >= 2) {
		s++;
		n -= 2;
	}
	for (i = 0; i < n; i++) {
		if (a->local_quoted && s[i] == '\\' && i + 1 < n)
			i++;
		if (o + 1 >= size) {
			dst[0] = '\0';
			return false;
		}
		dst[o++] = (char)to_lower((unsigned char)s[i]);
	}
	dst[o] = '\0';
	return true;
}
