/* dnscache - the resolver's RRset cache: one entry per (type, name), with
 * lifetimes from the answer's TTLs (RFC 2181 8, RFC 2308 5), LRU eviction
 * and coalescing of queries in flight.
 *
 * An entry is PENDING while its query is in flight and READY once
 * answered: data, NODATA, NXDOMAIN or an error. Askers wait on a PENDING
 * entry through a struct dnscache_link embedded in their own object
 * (coalescing: a bulk job asking for one domain thousands of times sends
 * one MX query); dnscache_complete() hands the answer to each of them.
 *
 * Lifetimes, seconds (dnscache_lifetime()):
 *   data      the least TTL of the answer's RRs of the type and its
 *             CNAMEs, clamped to [ttl_floor_s, ttl_ceiling_s];
 *   negative  min(SOA TTL, SOA MINIMUM) of the authority section (RFC
 *             2308 5; 0 without SOA), at least ttl_floor_s, at most
 *             negative_ttl_s and ttl_ceiling_s;
 *   error     error_ttl_s (a few seconds: it spares a failing server the
 *             thousands of lookups of a bulk job, and heals quickly).
 * A lifetime of 0 caches nothing. Expiry is in the caller's clock: every
 * call that needs the time takes @now in milliseconds (core/ reads no
 * clock), and the caller must pass a clock that never goes back.
 *
 * Limits: at most max_entries entries; making room drops the least
 * recently used READY entry. PENDING entries and the one being handed out
 * are never dropped (askers wait on them), so the count can exceed the
 * limit while more queries than max_entries are in flight. A name is at
 * most DNSCACHE_NAME_MAX octets; an answer keeps at most
 * DNSCACHE_ADDRS_MAX addresses, and MX records in an array it owns.
 *
 * Ownership: the cache owns its entries; an entry pointer given to the
 * caller is borrowed until the caller's next call into the cache (any
 * call may drop READY entries); a PENDING entry stays until its
 * dnscache_complete() or dnscache_free(), so the asker that got a MISS
 * may keep it as the tag of its query. The links are the caller's;
 * dnscache_free() forgets links still waiting.
 * Errors: a negative enum dnscache_found (DNSCACHE_EINVAL, DNSCACHE_ENOMEM)
 * from dnscache_new() and dnscache_lookup(), with nothing linked and
 * nothing created.
 * Loop: none; pure (no clock, no I/O, no globals). Not thread-safe. */
#ifndef RCPTD_CORE_DNSCACHE_H
#define RCPTD_CORE_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dnsmsg.h"
#include "core/htab.h"

/* A host name in text form, without the final dot (RFC 1035 2.3.4). */
#define DNSCACHE_NAME_MAX 253
/* Addresses kept per A or AAAA RRset: more adds nothing a prober tries
 * within one verification's time budget (RESOLVER_ADDRS_PER_FAMILY). */
#define DNSCACHE_ADDRS_MAX 4

/* Two-way link: in an entry's waiters, or on the LRU list. */
struct dnscache_link {
	struct dnscache_link *prev, *next;
};

enum dnscache_state { DNSCACHE_PENDING = 0, DNSCACHE_READY };

enum dnscache_kind {
	DNSCACHE_DATA = 0, /* count records */
	DNSCACHE_NODATA,   /* the name exists, without the type */
	DNSCACHE_NXDOMAIN, /* the name does not exist */
	DNSCACHE_ERROR	   /* no answer to trust: error, dnsmsg_error */
};

struct dnscache_mx {
	uint16_t preference;
	bool usable; /* false: longer than any host name, dropped */
	char host[DNSCACHE_NAME_MAX + 1];
};

/* What the asker learnt from one response. */
struct dnscache_answer {
	enum dnscache_kind kind;
	int error;	  /* ERROR: the asker's code (a c-ares status) */
	int dnsmsg_error; /* ERROR: a malformed answer (enum dnsmsg_err) */
	unsigned count;	  /* DATA: records in addr[] or mx[] */
	/* type A: 4 octets each, AAAA: 16; network order, answer order */
	unsigned char addr[DNSCACHE_ADDRS_MAX][16];
	struct dnscache_mx *mx; /* type MX: count records, malloc()ed */
};

struct dnscache_entry {
	/* Read-only for the caller. */
	uint16_t qtype;
	char name[DNSCACHE_NAME_MAX + 1];
	enum dnscache_state state;
	uint64_t expires;	       /* READY: the caller's clock, ms */
	struct dnscache_answer answer; /* READY */
	/* The asker's, never read by the cache: set it on a MISS to find
	 * its own context when the query answers (libuv's `data`). */
	void *tag;
	/* The cache's own. */
	struct htab_node node;
	struct dnscache_link lru;     /* READY, not handing out: c->lru */
	struct dnscache_link waiters; /* PENDING: the askers' links */
	bool handing_out;	      /* inside dnscache_complete() */
};

struct dnscache_config {
	unsigned max_entries;	 /* >= 1 */
	unsigned ttl_floor_s;	 /* least lifetime of an answer */
	unsigned ttl_ceiling_s;	 /* greatest lifetime of an answer */
	unsigned negative_ttl_s; /* greatest lifetime of NXDOMAIN/NODATA */
	unsigned error_ttl_s;	 /* lifetime of SERVFAIL, timeouts, ... */
};

struct dnscache_stats {
	uint64_t hits;	    /* lookups answered from a READY entry */
	uint64_t coalesced; /* lookups that joined a query in flight, or
			     * took the answer being handed out */
	uint64_t evictions; /* entries dropped to stay under max_entries */
	size_t entries;	    /* entries, PENDING included */
};

/* What dnscache_lookup() found; a negative value is an error. */
enum dnscache_found {
	DNSCACHE_EINVAL = -2, /* a name longer than DNSCACHE_NAME_MAX, or
			       * a bad configuration */
	DNSCACHE_ENOMEM = -1, /* nothing linked, nothing created */
	DNSCACHE_HIT = 0,     /* READY and fresh: use (*e)->answer now */
	DNSCACHE_SHARED,      /* the answer being handed out: use it now; as
			       * fresh as can be, but not from the cache */
	DNSCACHE_JOINED,      /* a query in flight: @waiter waits on it */
	DNSCACHE_MISS	      /* @waiter waits on the PENDING *e: send its
			       * query, then call dnscache_complete() */
};

struct dnscache;

/* Runs once for each waiter of an entry being completed; @waiter is no
 * longer linked. @e is READY and valid only during the call. */
typedef void (*dnscache_deliver_fn)(struct dnscache_link *waiter,
				    const struct dnscache_entry *e, void *arg);

/* dnscache_new - an empty cache configured by @c (copied). Returns 0 and
 * *@out, DNSCACHE_EINVAL (max_entries is 0, ttl_floor_s > ttl_ceiling_s)
 * or DNSCACHE_ENOMEM. The caller owns the cache and ends it with
 * dnscache_free(). */
int dnscache_new(const struct dnscache_config *c, struct dnscache **out);

/* dnscache_free - free every entry and the cache; links still waiting
 * are forgotten, not touched. NULL is a no-op. */
void dnscache_free(struct dnscache *c);

/* dnscache_link_init - a link that waits on nothing. */
void dnscache_link_init(struct dnscache_link *l);

/* dnscache_lookup - find (@qtype, @name) at @now (ms). @name must be as
 * it will be asked (the cache compares octets: lower-case it first).
 * Returns an enum dnscache_found and sets *@e (NULL on error). On HIT the
 * entry becomes the most recently used. On MISS an expired entry is
 * reused in place; a new one first makes room. */
int dnscache_lookup(struct dnscache *c, uint16_t qtype, const char *name,
		    uint64_t now, struct dnscache_link *waiter,
		    struct dnscache_entry **e);

/* dnscache_cancel - stop @waiter waiting; its entry's query goes on and
 * feeds the cache. A link that waits on nothing is left alone. */
void dnscache_cancel(struct dnscache_link *waiter);

/* dnscache_lifetime - seconds an answer of @kind lives under @c (see the
 * table above). @info is the parsed response: required for DATA, NODATA
 * and NXDOMAIN; not read for DNSCACHE_ERROR, so NULL will do. */
unsigned dnscache_lifetime(const struct dnscache_config *c,
			   enum dnscache_kind kind,
			   const struct dnsmsg_info *info);

/* dnscache_complete - the query of the PENDING @e is answered with @a,
 * which the entry takes over (a->mx included; *@a is zeroed). @e becomes
 * READY for dnscache_lifetime(@kind, @info) seconds from @now; @deliver
 * runs for every waiter in the order they came, and a lookup of @e from
 * inside it is SHARED. Then @e stays cached, or is dropped when its
 * lifetime is 0, and the cache is trimmed to max_entries. */
void dnscache_complete(struct dnscache *c, struct dnscache_entry *e,
		       struct dnscache_answer *a,
		       const struct dnsmsg_info *info, uint64_t now,
		       dnscache_deliver_fn deliver, void *arg);

/* dnscache_answer_clear - free what @a owns and zero it. */
void dnscache_answer_clear(struct dnscache_answer *a);

/* dnscache_get_stats - counters since dnscache_new(). */
void dnscache_get_stats(const struct dnscache *c, struct dnscache_stats *s);

#endif
