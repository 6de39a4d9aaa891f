/* metrics - rcptd's Prometheus registry and its text exposition.
 *
 * A fixed registry, not a general one: every family, label and label value
 * is known at compile time (routes, status codes, verdict reasons, cache
 * tiers), so a series can never be created by a caller's input and the
 * page has a bounded size (METRICS_TEXT_MAX).
 *
 * Families (rendered by metrics_render(), Prometheus text format 0.0.4):
 *   rcptd_http_requests_total{route,code}          counter
 *   rcptd_http_request_duration_seconds{route}     histogram
 *   rcptd_http_connections                          gauge
 *   rcptd_http_requests_waiting                     gauge
 *   rcptd_verdicts_total{status,reason}             counter (API answers)
 *   rcptd_probe_duration_seconds                    histogram
 *   rcptd_smtp_sessions_total, rcptd_smtp_session_errors_total,
 *   rcptd_probes_total, rcptd_probes_coalesced_total  counters (engine)
 *   rcptd_smtp_sessions_active, rcptd_probes_pending   gauges (engine)
 *   rcptd_cache_lookups_total{tier,result}          counter (when a cache
 *                                                    reported, see below)
 *   rcptd_build_info{version}                       gauge, always 1
 *
 * Threads: one shard per event loop. A shard is written by its loop's
 * thread only (single writer: a relaxed atomic load and store, no lock and
 * no read-modify-write instruction); metrics_render() may run on any
 * thread and sums the shards with relaxed atomic loads. Counters are
 * therefore monotonic but a page may mix values a few nanoseconds apart.
 * Ownership: metrics_new() returns a registry the caller frees with
 * metrics_free(); metrics_render() returns a malloc'd page. */
#ifndef RCPTD_API_METRICS_H
#define RCPTD_API_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/verdict.h"

/* The page is ~25 KiB with every series; 256 KiB is a ceiling that only a
 * bug could reach. */
#define METRICS_TEXT_MAX (256 * 1024)
/* One shard per loop; --threads is bounded by the same number. */
#define METRICS_SHARDS_MAX 256

enum metrics_route {
	METRICS_ROUTE_VERIFY = 0,
	METRICS_ROUTE_HEALTHZ,
	METRICS_ROUTE_READYZ,
	METRICS_ROUTE_METRICS,
	METRICS_ROUTE_JOBS,  /* /v1/jobs and /v1/jobs/... */
	METRICS_ROUTE_OTHER, /* unknown paths (404) */
	METRICS_ROUTE_LAST
};

enum metrics_tier { METRICS_TIER_L1 = 0, METRICS_TIER_L2, METRICS_TIER_LAST };

/* What other modules know, copied into a shard by its own loop (the
 * engine's, verifier's and cache's statistics are not thread-safe, so
 * each loop collects its own; see http_hooks.collect). */
struct metrics_collected {
	uint64_t smtp_sessions;	      /* sessions opened */
	uint64_t smtp_session_errors; /* sessions that failed */
	uint64_t probes;	      /* requests handed to the engine */
	uint64_t probes_coalesced;    /* requests that joined a probe */
	uint64_t smtp_sessions_active;
	uint64_t probes_pending;
	bool cache; /* a cache reported its counters */
	uint64_t cache_hits[METRICS_TIER_LAST];	  /* l1, l2 */
	uint64_t cache_misses[METRICS_TIER_LAST]; /* l1, l2 */
	bool jobs; /* a job queue on Redis reported (daemon/jobq.h) */
	uint64_t job_chunks_taken, job_chunks_claimed, job_chunks_done;
	uint64_t job_rows_stored;
	uint64_t job_chunks_held;
};

struct metrics;

/* metrics_new - a registry of @shards shards (1..METRICS_SHARDS_MAX), all
 * zero. NULL when memory runs out or @shards is out of range. */
struct metrics *metrics_new(unsigned shards);
void metrics_free(struct metrics *m); /* NULL is a no-op */

/* metrics_request - one answered request: the counter of (@route, @code)
 * and the duration histogram of @route. A code outside the set rcptd
 * answers with is counted as code="other". */
void metrics_request(struct metrics *m, unsigned shard,
		     enum metrics_route route, unsigned code, uint64_t usec);

/* metrics_verdict - one verdict given in an answer. */
void metrics_verdict(struct metrics *m, unsigned shard,
		     enum verdict_reason reason);

/* metrics_probe - the duration of one probe whose verdict came back. */
void metrics_probe(struct metrics *m, unsigned shard, uint32_t ms);

/* metrics_gauges - the HTTP gauges of a shard: open connections and
 * requests waiting for a verdict. */
void metrics_gauges(struct metrics *m, unsigned shard, uint64_t connections,
		    uint64_t waiting);

/* metrics_collected - replace a shard's copy of the other modules'
 * statistics. */
void metrics_set_collected(struct metrics *m, unsigned shard,
			   const struct metrics_collected *c);

/* metrics_render - the page, NUL-terminated, @len octets (without the
 * NUL). NULL when memory runs out. @version is the build_info label. */
char *metrics_render(const struct metrics *m, const char *version, size_t *len);

#endif
