/* ratelimit - token buckets per client (API key or IP address), for 429.
 *
 * Each client has a bucket of @burst tokens refilled at @rate tokens a
 * second; a request takes one token or is refused with the seconds until
 * one is there (the Retry-After value).
 *
 * Bounded table: RATELIMIT_WAYS-way set-associative, @capacity entries in
 * all, keyed by a 64-bit hash of the client's key under a random seed (a
 * client cannot choose another's slot). When a set is full the entry to
 * drop is one whose bucket has refilled completely (forgetting it changes
 * nothing: an absent client starts full), else the one seen longest ago;
 * under a flood of distinct clients the cost is that an evicted client
 * starts again with a full bucket, never that a new one is refused.
 *
 * Threads: one table serves every loop (--threads N), so that a client is
 * held to its rate whichever loop its connection landed on. Each set has
 * its lock (striped over RATELIMIT_LOCKS mutexes), held for a few dozen
 * instructions; no allocation after ratelimit_new().
 * Ownership: ratelimit_new() returns a table freed by ratelimit_free(). */
#ifndef RCPTD_API_RATELIMIT_H
#define RCPTD_API_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_WAYS	8
#define RATELIMIT_LOCKS 64
/* The default and largest table: 65536 clients is 1.5 MiB, and a busier
 * service puts its limits in a proxy in front. */
#define RATELIMIT_CAPACITY_DEFAULT 65536
#define RATELIMIT_CAPACITY_MAX	   (1u << 24)

struct ratelimit;

/* ratelimit_new - @rate tokens a second (>= 1), @burst tokens at most
 * (>= 1), @capacity entries (rounded up to a power of two times
 * RATELIMIT_WAYS; 0: the default). @seed 0 takes one from the system.
 * NULL when memory runs out or an argument is out of range. */
struct ratelimit *ratelimit_new(unsigned rate, unsigned burst,
				unsigned capacity, uint64_t seed);
void ratelimit_free(struct ratelimit *rl); /* NULL is a no-op */

/* ratelimit_take - take a token for the client @key (@len octets) at
 * @now_ms (a monotonic clock). Returns 0 when the request may go on, or
 * the whole seconds (>= 1) until a token is there. */
unsigned ratelimit_take(struct ratelimit *rl, const void *key, size_t len,
			uint64_t now_ms);

#endif
