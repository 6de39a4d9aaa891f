/* verifier - one address in, one verdict out: precheck, cache, probe.
 *
 * The front door that the HTTP API and bulk jobs use. For an input
 * string it runs the precheck (core/precheck: syntax, lists, suggestion);
 * an invalid address is answered at once. A valid one is looked up in the
 * cache (L1 in-process, then L2 Redis when configured) unless the caller
 * asks for a fresh answer; a miss goes to the probe engine, whose verdict
 * is stored in the cache before the caller hears of it. Concurrent
 * requests for one address share one probe (the engine coalesces).
 *
 * Two deadlines, as Postfix's verify(8) has: the caller may stop waiting
 * (verifier_cancel) while the probe goes on; its verdict still lands in
 * the cache, so a retry finds it.
 *
 * Answers: verifier_check() returns VERIFIER_DONE when the verdict was
 * known at once (invalid syntax, an L1 hit) and written to @out: no
 * callback runs, and the caller answers within the same turn of the loop.
 * It returns VERIFIER_PENDING when the callback will run later, exactly
 * once, unless verifier_cancel() comes first; VERIFIER_BUSY when more
 * than max_pending probes wait already, VERIFIER_ERROR when the engine
 * refused the work (closing, out of memory); with nothing to cancel.
 * Ownership: the verdict and transcript given to the callback are
 * borrowed for the call. Loop: one libuv loop, its thread only. */
#ifndef RCPTD_DAEMON_VERIFIER_H
#define RCPTD_DAEMON_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/lists.h"
#include "core/verdict.h"

struct cache;
struct engine;
struct verifier;
struct verifier_req;

#define VERIFIER_PENDING 0
#define VERIFIER_DONE	 1
#define VERIFIER_ERROR	 -1 /* closing or out of memory: answer 503 */
#define VERIFIER_BUSY	 -2 /* probe queue full: 503 with Retry-After */

/* Flags of verifier_check(). */
#define VERIFIER_FRESH 0x1u /* skip the cache lookup (still store) */

typedef void (*verifier_cb)(void *data, const struct verdict *v,
			    const char *transcript);

struct verifier_stats {
	unsigned long long checks;    /* verifier_check() calls */
	unsigned long long invalid;   /* answered by the precheck */
	unsigned long long probes;    /* handed to the engine */
	unsigned long long in_flight; /* pending requests now */
};

/* The probe backlog past which new work is refused (VERIFIER_BUSY): at
 * the default concurrency of 256 sessions, 10000 waiting addresses are
 * minutes of work; a caller is better told to come back. */
#define VERIFIER_DEFAULT_MAX_PENDING 10000

/* verifier_new - @engine, @cache (NULL: no cache at all) and @lists are
 * borrowed for the verifier's life; the lists pointer is read on every
 * check, so a reload swaps it with verifier_set_lists(). @max_pending 0
 * means VERIFIER_DEFAULT_MAX_PENDING. NULL when memory runs out. */
struct verifier *verifier_new(struct engine *engine, struct cache *cache,
			      const struct lists *lists, unsigned max_pending);
/* verifier_close - call first when shutting down: from now on no answer
 * goes to the cache or the engine (they are closing too); requests still
 * walking end as they are told. */
void verifier_close(struct verifier *v);
void verifier_free(struct verifier *v); /* after every request ended */

void verifier_set_lists(struct verifier *v, const struct lists *lists);

int verifier_check(struct verifier *v, const char *input, size_t len,
		   unsigned flags, struct verdict *out, verifier_cb cb,
		   void *data, struct verifier_req **req);

/* verifier_cancel - the caller stops waiting; the probe goes on and its
 * verdict is cached. Only for a request whose callback has not run. */
void verifier_cancel(struct verifier_req *req);

void verifier_get_stats(const struct verifier *v, struct verifier_stats *s);

#endif
