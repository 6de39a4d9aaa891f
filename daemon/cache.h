/* cache - the verdict cache: L1 in process, L2 in Redis (DESIGN.md
 * "Cache semantics", issue 5).
 *
 * L1 is an LRU of verdicts bounded in entries and in (approximate) bytes,
 * answered synchronously: a hit needs no other turn of the loop. L2 is
 * Redis (--redis URL, daemon/redis_conn), shared by every rcptd that
 * names it, asked asynchronously after an L1 miss; an L2 hit is copied
 * into L1. Redis is optional and never a single point of failure: while
 * it is down or slow, every L2 question is a miss (at once when the
 * connection is known down, at the per-command deadline otherwise) and
 * stores to it are dropped; requests go on from L1 and fresh probes.
 *
 * Lifetimes. Each cached verdict has an expiry (then it is gone) and a
 * refresh time before it (then it is still served, as CACHE_STALE, and
 * the caller probes again in the background, as Postfix's verify(8) and
 * Exim's callout cache do). The defaults and why (ttl / refresh):
 *   positive  deliverable, risky    7 d / 1 d
 *     Mailboxes rarely vanish within a week; Postfix keeps positives 31 d
 *     (refresh 7 d) to spare its own MTA, Exim 24 h. rcptd answers sign-up
 *     forms and list cleaning, where a dead address accepted is the costly
 *     error, so a week at most, and an address asked daily is re-probed
 *     daily -- never more, which also keeps us polite on port 25.
 *   negative  undeliverable         3 d / 3 h
 *     Postfix's numbers: a mailbox created after a failed check is found
 *     within 3 h when asked for, and a typo entered again and again is
 *     not probed more than every 3 h.
 *   unknown   timeouts, greylisting, policy blocks, ...   5 min / 1 min
 *     Cached only briefly, and never as a negative: greylisting delays
 *     are 1..5 min (postgrey's default 300 s), blocks and outages heal in
 *     minutes; five minutes spare a struggling server (and our IP's
 *     reputation) a retry storm from impatient callers without hiding an
 *     answer for long. A greylisted verdict's refresh is at least its
 *     retry_after (within the expiry).
 *   domain facts (catch-all, MX set)   1 d
 *     As the engine's own ENGINE_FACT_TTL_MS: a catch-all setting changes
 *     with a server's configuration; Exim keeps domain results 7 d
 *     positive, 3 h negative; a day is the conservative middle.
 * A refresh above its expiry is cut to the expiry (never stale).
 * Lifetimes count from cache_store(); an L2 hit keeps what is left of
 * them, counted from the verdict's checked_at.
 *
 * What is cached: verdicts with an address, except invalid_syntax (the
 * precheck answers it for free), in_progress and not_checked (no answer
 * yet), and verdicts that are themselves cached hits (storing one again
 * would extend its life). The no-overwrite rule: an unknown verdict never
 * replaces a deliverable, undeliverable or risky entry before that one
 * expires. In L1 the good entry stays, and when it was already due for
 * refresh its refresh is pushed back by the unknown refresh time, so a
 * server that keeps failing is not probed on every request. In Redis the
 * unknown verdict is written with SET ... NX: atomic across instances,
 * no scripting needed (managed Redis often forbids EVAL); the cost is
 * that an older unknown entry is not replaced by a newer unknown one,
 * which lives at most the unknown expiry anyway.
 *
 * Redis keys (every one with a TTL, SET ... EX):
 *   PREFIX "verdict:" ADDRESS   the API JSON of the verdict, "cached":
 *                               false (api/verdict_json; one format,
 *                               pinned to the byte, for both uses)
 *   PREFIX "domain:" DOMAIN     {"catch_all":true|false|null,
 *                                "mx":[["host",pref],...]}
 * PREFIX is "rcptd:v1:" by default: bump the version when the value
 * format changes. ADDRESS is the normalised address (domain lower-case,
 * local part as written), sent binary-safe.
 *
 * A hit is a copy with cached = true and the original checked_at,
 * duration_ms and email echo: the caller puts its own echo back.
 *
 * Callbacks: cache_fetch()'s runs exactly once, never from inside
 * cache_fetch(), unless cache_cancel() comes first; a fetch still pending
 * at cache_close() is answered CACHE_MISS on a later turn, before the
 * close callback. Ownership: verdicts and facts given to callbacks are
 * borrowed for the call; the cache copies what it is given.
 * Errors: cache_new() returns -1 with one line in @err (a malformed URL,
 * a bad lifetime); an unreachable Redis is not an error. Loop: one libuv
 * loop, its thread only; nothing here blocks it. */
#ifndef RCPTD_DAEMON_CACHE_H
#define RCPTD_DAEMON_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/verdict.h"
#include "daemon/redis_conn.h"

/* A prefix is a namespace and a version, not data. */
#define CACHE_KEY_PREFIX_MAX 64
/* prefix + "verdict:" + an address, or + "domain:" + a domain. */
#define CACHE_KEY_MAX (CACHE_KEY_PREFIX_MAX + 8 + VERDICT_ADDRESS_MAX + 1)
/* A domain fact's JSON: five MX hosts at 253 octets and change. */
#define CACHE_FACT_JSON_MAX 2048

/* Seconds. */
struct cache_lifetime {
	unsigned ttl_s;	    /* expiry; at least 1 */
	unsigned refresh_s; /* served stale from here on; at most ttl_s */
};

struct cache_config {
	size_t l1_entries;	   /* 100000; 0: no L1 */
	size_t l1_bytes;	   /* 64 MiB: ~300 B an entry, room to spare */
	const char *redis_url;	   /* NULL or "": no L2 */
	unsigned redis_timeout_ms; /* per command; 250 */
	unsigned redis_connect_timeout_ms; /* connect + handshake; 1000 */
	struct cache_lifetime positive;	   /* 7 d / 1 d */
	struct cache_lifetime negative;	   /* 3 d / 3 h */
	struct cache_lifetime unknown;	   /* 300 s / 60 s */
	unsigned fact_ttl_s;		   /* 1 d */
	const char *key_prefix;		   /* "rcptd:v1:" */
	/* The clock of L1 lifetimes, milliseconds, monotonic; NULL:
	 * uv_now(loop). Tests pass their own. */
	uint64_t (*clock_ms)(void *arg);
	void *clock_arg;
};

enum cache_hit { CACHE_MISS = 0, CACHE_FRESH, CACHE_STALE };

/* What the cache keeps per domain (L2 only: the engine keeps its own
 * in-process facts; these let other rcptd instances skip the catch-all
 * probe). */
struct cache_fact {
	enum tristate catch_all;
	unsigned mx_count;
	struct verdict_mx mx[VERDICT_MX_MAX];
};

struct cache_stats {
	uint64_t l1_hits;      /* fresh */
	uint64_t l1_stale;     /* served, refresh due */
	uint64_t l1_misses;    /* absent or expired */
	uint64_t l1_expired;   /* of the misses: found expired */
	uint64_t l1_evictions; /* pushed out by the bounds */
	uint64_t l1_kept;      /* unknown not stored over a good entry */
	size_t l1_entries, l1_bytes;
	uint64_t l2_hits;	   /* fresh or stale */
	uint64_t l2_misses;	   /* absent or expired */
	uint64_t l2_errors;	   /* error replies, bad values, lost */
	uint64_t l2_timeouts;	   /* deadline passed */
	uint64_t l2_unavailable;   /* fetches answered "no L2": Redis down */
	uint64_t l2_stores;	   /* SETs sent */
	uint64_t redis_connects;   /* handshakes that succeeded */
	uint64_t redis_reconnects; /* attempts after the first */
	bool redis_configured, redis_up;
	char redis_error[REDIS_CONN_ERROR_MAX]; /* the last, "" if none */
};

struct cache;
struct cache_req;

/* @v is NULL on a miss; @fact is NULL when the domain has none in L2. */
typedef void (*cache_fetch_cb)(void *data, enum cache_hit hit,
			       const struct verdict *v,
			       const struct cache_fact *fact);

#define CACHE_PENDING 0	 /* the callback will run */
#define CACHE_NO_L2   -1 /* no callback: go on to the engine */

/* cache_config_defaults - the defaults above, no Redis. */
void cache_config_defaults(struct cache_config *c);

/* cache_new - a cache on @loop; strings of @cfg are copied. */
int cache_new(uv_loop_t *loop, const struct cache_config *cfg,
	      struct cache **out, char *err, size_t errlen);

/* cache_lookup - L1 only, synchronous. On a hit the verdict is copied to
 * *@out with cached = true. */
enum cache_hit cache_lookup(struct cache *c, const char *address,
			    struct verdict *out);

/* cache_fetch - ask L2 (Redis) for @address and its domain's facts, in
 * one MGET. Returns CACHE_PENDING (and *@req for cache_cancel(), when
 * @req is not NULL), or CACHE_NO_L2 when Redis is not configured, not
 * connected, saturated, or memory ran out: no callback then. An error or
 * a deadline is a miss. A hit is copied into L1 unless L1 got an entry
 * for the address meanwhile (that one is newer). */
int cache_fetch(struct cache *c, const char *address, cache_fetch_cb cb,
		void *data, struct cache_req **req);

/* cache_cancel - the callback of @req will not run; @req is freed. */
void cache_cancel(struct cache_req *req);

/* cache_store - keep @v in L1 and (fire and forget) in L2, by the rules
 * above; a verdict that is not cached is ignored. */
void cache_store(struct cache *c, const struct verdict *v);

/* cache_fact_store - keep @f for @domain in L2 for fact_ttl_s; nothing
 * when Redis is not connected or @f says nothing (catch-all unknown and
 * no MX). */
void cache_fact_store(struct cache *c, const char *domain,
		      const struct cache_fact *f);

bool cache_redis_configured(const struct cache *c);
bool cache_redis_ready(const struct cache *c);

void cache_get_stats(const struct cache *c, struct cache_stats *s);

/* cache_close - answer pending fetches (misses), drop Redis, free
 * everything, then run @closed_cb (may be NULL): all on later turns. */
void cache_close(struct cache *c, void (*closed_cb)(void *), void *data);

#endif
