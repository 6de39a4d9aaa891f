/* fuzz_address - libFuzzer target for address_parse() (core/address.h).
 *
 * Any input is parsed; the result must keep the promises of address.h or
 * the target aborts (a broken invariant is a bug, STYLE.md example 8):
 *  - success: address == local "@" domain; every part within its limit
 *    and NUL-terminated in its field; no control octet anywhere; a domain
 *    is lower-case LDH ASCII, a literal is "[...]" with its kind; parsing
 *    the normal form again gives the same normal form; the lower-cased
 *    local part fits the local part's room;
 *  - failure: @why is a non-empty, NUL-terminated sentence within
 *    ADDRESS_WHY_MAX, not capitalised, without a final period.
 * Built with libFuzzer by `make fuzz`, and with tests/fuzz/driver.c as a
 * regression test over tests/fuzz/corpus/address by `make fuzz-regress`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* broken - report the broken invariant and abort, so the fuzzer keeps the
 * input and the regression driver fails. */
static void broken(const char *what, const struct address *a)
{
	fprintf(stderr, "fuzz_address: %s (address '%.*s')\n", what,
		(int)sizeof(a->address), a->address);
	abort();
}

/* field_len - length of a NUL-terminated field, or abort if it has none. */
static size_t field_len(const char *s, size_t size, const struct address *a)
{
	const char *nul = memchr(s, '\0', size);

	if (nul == NULL)
		broken("field not NUL-terminated", a);
	return (size_t)(nul - s);
}

/* check_text - no control octet (C0, DEL) in @n octets at @s. */
static void check_text(const char *s, size_t n, const struct address *a)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			broken("control octet in result", a);
	}
}

static void check_domain(const struct address *a, size_t nd)
{
	if (a->kind == ADDRESS_KIND_DOMAIN) {
		if (nd == 0 || nd > ADDRESS_DOMAIN_MAX)
			broken("domain length", a);
		for (size_t i = 0; i < nd; i++) {
			char ch = a->domain[i];

			if (!((ch >= 'a' && ch <= 'z') ||
			      (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '.'))
				broken("domain not lower-case LDH", a);
		}
		if (a->domain[0] == '.' || a->domain[0] == '-' ||
		    a->domain[nd - 1] == '.' || a->domain[nd - 1] == '-' ||
		    strstr(a->domain, "..") != NULL)
			broken("domain structure", a);
		return;
	}
	if (a->kind != ADDRESS_KIND_IPV4 && a->kind != ADDRESS_KIND_IPV6)
		broken("unknown kind", a);
	if (nd < 3 || a->domain[0] != '[' || a->domain[nd - 1] != ']')
		broken("literal without brackets", a);
	if (a->domain_idn)
		broken("literal flagged as IDN", a);
}

static void check_success(const struct address *a)
{
	size_t nl = field_len(a->local, sizeof(a->local), a);
	size_t nd = field_len(a->domain, sizeof(a->domain), a);
	size_t na = field_len(a->address, sizeof(a->address), a);
	char lower[ADDRESS_LOCAL_MAX + 1], why[ADDRESS_WHY_MAX];
	struct address again;

	if (nl == 0 || nl > ADDRESS_LOCAL_MAX)
		broken("local part length", a);
	if (na > ADDRESS_MAX || na != nl + 1 + nd)
		broken("address length", a);
	if (memcmp(a->address, a->local, nl) != 0 || a->address[nl] != '@' ||
	    memcmp(a->address + nl + 1, a->domain, nd) != 0)
		broken("address is not local @ domain", a);
	check_text(a->address, na, a);
	check_domain(a, nd);
	if (a->local_quoted != (a->local[0] == '"'))
		broken("local_quoted disagrees with the local part", a);
	if (!address_local_lower(a, lower, sizeof(lower)) || strlen(lower) > nl)
		broken("address_local_lower", a);
	if (address_parse(a->address, na, &again, why) != 0)
		broken("normal form does not parse again", a);
	if (strcmp(again.address, a->address) != 0 || again.kind != a->kind ||
	    memcmp(again.literal, a->literal, sizeof(a->literal)) != 0)
		broken("normal form is not stable", a);
}

static void check_failure(const char *why, const struct address *a)
{
	size_t n = field_len(why, ADDRESS_WHY_MAX, a);

	if (n == 0)
		broken("failure without explanation", a);
	if ((why[0] >= 'A' && why[0] <= 'Z') || why[n - 1] == '.')
		broken("explanation not in the house style", a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address a;
	char why[ADDRESS_WHY_MAX];

	/* Poison the outputs so that a missing terminator shows. */
	memset(&a, 0x5a, sizeof(a));
	memset(why, 0x5a, sizeof(why));
	if (address_parse((const char *)data, size, &a, why) == 0)
		check_success(&a);
	else
		check_failure(why, &a);
	return 0;
}
