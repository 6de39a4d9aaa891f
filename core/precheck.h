/* precheck - everything rcptd can say about an address without the
 * network: syntax, normalisation, domain facts and a typo suggestion.
 *
 * This is the first step of every verification (offline, CLI, HTTP, bulk)
 * and the whole of `rcptd verify --offline`.
 * Result: @v is initialised from the input; an invalid address gets
 * undeliverable/invalid_syntax with the parser's explanation in
 * v->message; a valid one keeps unknown/not_checked with address, domain
 * and the flags set, and @a (when not NULL) holds the parsed address for
 * the probe. Returns true when the address is valid.
 * Ownership: all output goes into the caller's structs. Loop: none. */
#ifndef RCPTD_CORE_PRECHECK_H
#define RCPTD_CORE_PRECHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/address.h"
#include "core/lists.h"
#include "core/verdict.h"

bool precheck(const struct lists *lists, const char *input, size_t len,
	      struct verdict *v, struct address *a);

/* precheck_fast - the same without the typo suggestion (see
 * lists_apply_flags()); the caller adds it with lists_apply_suggestion()
 * when the verdict will not come from the cache. */
bool precheck_fast(const struct lists *lists, const char *input, size_t len,
		   struct verdict *v, struct address *a);

#endif
