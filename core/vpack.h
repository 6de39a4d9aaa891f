/* vpack - a verdict in a compact byte form, for in-process caches.
 *
 * A struct verdict is about 3.4 KB of fixed arrays, mostly empty; the
 * verdict cache's L1 keeps this packed copy instead (a fixed head, then
 * the text fields back to back: about 250 octets for a typical verdict),
 * so that its byte bound counts what is really used. The form lives only
 * in this process's memory (host byte order, no version): never write it
 * to disk or the network (the Redis cache uses the API JSON).
 * Every member of struct verdict round-trips, email_truncated and cached
 * included.
 *
 * Ownership: the caller owns both buffers. Limits: the packed size of any
 * verdict is at most VPACK_MAX. Errors: vpack_decode() checks lengths and
 * names and returns -1 on a form it did not write. Loop: none; pure. */
#ifndef RCPTD_CORE_VPACK_H
#define RCPTD_CORE_VPACK_H

#include <stddef.h>

#include "core/verdict.h"

/* The head and every text field full; struct verdict bounds it. */
#define VPACK_MAX sizeof(struct verdict)

/* vpack_size - the octets vpack_encode() writes for @v. */
size_t vpack_size(const struct verdict *v);

/* vpack_encode - @v into @dst of at least vpack_size(@v) octets; returns
 * that size. */
size_t vpack_encode(const struct verdict *v, char *dst);

/* vpack_decode - @src of @len octets back into *@v. */
int vpack_decode(const char *src, size_t len, struct verdict *v);

#endif
