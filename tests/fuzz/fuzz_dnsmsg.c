/* fuzz_dnsmsg - dnsmsg_parse() on arbitrary bytes: it must never read out
 * of bounds, never loop, and what it reports on success must agree with
 * itself. Built with libFuzzer for `make fuzz` and with the plain driver
 * (tests/fuzz/driver.c) that replays tests/fuzz/corpus/dnsmsg/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* consistent - the invariants of a successful parse (dnsmsg.h). */
static int consistent(const struct dnsmsg_info *i, size_t size)
{
	/* header, a root name, QTYPE and QCLASS at the very least */
	if (size < DNSMSG_HEADER_LEN + 5 || i->qdcount != 1)
		return 0;
	if (i->answers + i->cnames > i->ancount)
		return 0;
	if (i->answers + i->cnames == 0 && i->answer_ttl != 0)
		return 0;
	if (i->answer_ttl > DNSMSG_TTL_MAX || i->soa_ttl > DNSMSG_TTL_MAX ||
	    i->soa_minimum > DNSMSG_TTL_MAX)
		return 0;
	if (!i->soa)
		return i->soa_ttl == 0 && i->soa_minimum == 0 &&
		       i->negative_ttl == 0;
	return i->nscount > 0 && i->negative_ttl <= i->soa_ttl &&
	       i->negative_ttl <= i->soa_minimum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsmsg_info info;
	int rc = dnsmsg_parse(data, size, &info);

	if (rc < DNSMSG_ETOOBIG || rc > DNSMSG_OK)
		abort(); /* not an enum dnsmsg_err */
	if (rc == DNSMSG_OK && !consistent(&info, size))
		abort();
	return 0;
}
