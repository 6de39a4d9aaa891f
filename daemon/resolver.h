/* resolver - MX resolution for the probe engine: c-ares driven by a libuv
 * loop, with an in-process DNS cache (RFC 5321 5.1, RFC 7505, RFC 2308).
 *
 * resolver_mx(domain) answers with the mail exchangers to try, in order,
 * each with its addresses:
 *   - MX records ordered by preference, equal preferences shuffled anew
 *     for every lookup (RFC 5321 5.1), at most RESOLVER_MX_HOSTS_MAX hosts
 *     (core/mx.h does the ordering, lower-casing, null-MX detection and
 *     drops targets written as IP addresses);
 *   - no MX (NOERROR, no MX record; a CNAME chain that ends without one
 *     counts): the implicit MX, the domain itself (RFC 5321 5.1);
 *   - a null MX (RFC 7505): RESOLVER_NULL_MX;
 *   - NXDOMAIN: RESOLVER_NXDOMAIN;
 *   - each host is asked for A and AAAA; a host with no address is
 *     skipped and none left is RESOLVER_NO_MAIL_SERVER;
 *   - SERVFAIL, REFUSED, timeouts and malformed answers are
 *     RESOLVER_DNS_ERROR, never an undeliverable answer, and a temporary
 *     failure of the MX query never falls back to the implicit MX.
 * Only DNS is asked (ares_query, an absolute name, no search list, no
 * hosts file): a container's /etc/hosts must not turn user@redis into a
 * probe of the Redis sidecar.
 *
 * Cache: one entry per (type, name) RRset, holding data, NODATA,
 * NXDOMAIN or an error. Lifetimes (uv_now(loop), milliseconds):
 *   data      the least TTL of the answer's RRs of the type and its
 *             CNAMEs, clamped to [ttl_floor_s, ttl_ceiling_s];
 *   negative  min(SOA TTL, SOA MINIMUM) of the authority section (RFC
 *             2308 5; 0 without SOA), at least ttl_floor_s, at most
 *             negative_ttl_s and ttl_ceiling_s;
 *   error     error_ttl_s (a few seconds: it spares a failing server the
 *             thousands of lookups of a bulk job, and heals quickly).
 * A lifetime of 0 caches nothing. At most cache_max entries; the least
 * recently used answered entry goes first. Lookups of an RRset that is
 * already being asked join that query (coalescing): a bulk job asking
 * for one domain thousands of times sends one MX query.
 * Parts: the cache is core/dnscache.h; asking DNS and reading answers,
 * daemon/dnsquery.h; c-ares on the loop, daemon/cares_uv.h.
 *
 * Loop: everything runs on the loop given to resolver_new(), from its
 * thread; no call blocks (the system resolver configuration is read once,
 * in resolver_new()). Callbacks never run from inside resolver_mx() nor
 * from inside c-ares: answers, cache hits included, are delivered from an
 * idle handle on a later turn of the loop. resolver_new() and
 * resolver_close() call ares_library_init()/cleanup() (counted, not
 * thread-safe): with one loop per thread, start and stop them one at a
 * time.
 * c-ares 1.18 keeps no socket open while no query is in flight, so an
 * idle resolver keeps no loop alive.
 * c-ares 1.18 retries a SERVFAIL or REFUSED on the next try or server and
 * then reports ARES_ECONNREFUSED; the error text says so.
 * Errors: functions return 0 or a negative libuv error code (UV_EINVAL,
 * UV_ENOMEM, ...); resolver_new() also writes one line into @err.
 * Ownership: results are borrowed, valid only during the callback. */
#ifndef RCPTD_DAEMON_RESOLVER_H
#define RCPTD_DAEMON_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/mx.h"
#include "core/verdict.h"

/* c-ares asks the servers in order, each for every try; a longer list only
 * lengthens the wait for a failure (resolv.conf itself allows 3). */
#define RESOLVER_SERVERS_MAX 8
/* "IP:PORT" text: "[" INET6_ADDRSTRLEN "]:65535" fits. */
#define RESOLVER_SERVER_TEXT_MAX 64
/* MX hosts tried (MTAs try 5; core/mx.h keeps that many). */
#define RESOLVER_MX_HOSTS_MAX MX_HOSTS_MAX
/* Addresses kept per host and family: more adds nothing a prober tries
 * within one verification's time budget. */
#define RESOLVER_ADDRS_PER_FAMILY 4
#define RESOLVER_HOST_ADDRS_MAX	  (2 * RESOLVER_ADDRS_PER_FAMILY)
/* MX records kept from one answer (the most preferred): a domain with
 * more is not running mail, it is testing us. */
#define RESOLVER_MX_RECORDS_MAX 32
/* A host name in text form, without the final dot (RFC 1035 2.3.4). */
#define RESOLVER_NAME_MAX  253
#define RESOLVER_ERROR_MAX 320 /* "AAAA " + a name + a reason */
/* Ceilings of the configuration (resolver_new() refuses more). */
#define RESOLVER_CACHE_LIMIT	 1000000 /* ~0.4 KiB each, MX +0.26 a record */
#define RESOLVER_TTL_LIMIT	 604800	 /* a week: nothing deserves more */
#define RESOLVER_ERROR_TTL_LIMIT 60	 /* a failure is forgotten quickly */
#define RESOLVER_TIMEOUT_LIMIT	 60000	 /* ms, one try */
#define RESOLVER_TRIES_LIMIT	 10

/* Defaults and their reasons: a 5 s try as `--dns-timeout`; 2 tries
 * rides over one lost UDP datagram; floor 30 s so that a zero-TTL domain
 * is not asked once per address of a bulk job; ceiling 1 h so that a
 * changed MX is seen within the hour whatever its TTL; negative 60 s as
 * a domain that is being set up should start working soon; errors 5 s. */
#define RESOLVER_DEFAULT_TIMEOUT_MS   5000
#define RESOLVER_DEFAULT_TRIES	      2
#define RESOLVER_DEFAULT_CACHE_MAX    20000
#define RESOLVER_DEFAULT_TTL_FLOOR    30
#define RESOLVER_DEFAULT_TTL_CEILING  3600
#define RESOLVER_DEFAULT_NEGATIVE_TTL 60
#define RESOLVER_DEFAULT_ERROR_TTL    5

struct resolver_config {
	/* "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT" (port 53 by
	 * default); none: the system resolver (/etc/resolv.conf). The
	 * strings are read by resolver_new() only. */
	const char *const *servers;
	unsigned server_count;
	unsigned timeout_ms; /* one try; c-ares doubles it on each round
			      * over the server list */
	unsigned tries;
	unsigned cache_max;	 /* RRsets cached, >= 1 */
	unsigned ttl_floor_s;	 /* least lifetime of an answer */
	unsigned ttl_ceiling_s;	 /* greatest lifetime of an answer */
	unsigned negative_ttl_s; /* greatest lifetime of NXDOMAIN/NODATA */
	unsigned error_ttl_s;	 /* lifetime of SERVFAIL, timeouts, ... */
	/* Seed of the shuffle of equal preferences; 0: from the system. A
	 * fixed seed makes the orders of a run reproducible (tests). */
	uint64_t seed;
};

enum resolver_status {
	RESOLVER_OK = 0,	 /* hosts[] holds at least one host */
	RESOLVER_NXDOMAIN,	 /* no_such_domain */
	RESOLVER_NULL_MX,	 /* null_mx: RFC 7505 */
	RESOLVER_NO_MAIL_SERVER, /* no_mail_server: no host has an address */
	RESOLVER_DNS_ERROR,	 /* dns_error: temporary, ask again later */
	RESOLVER_CANCELED,	 /* the resolver was closed first */
	RESOLVER_STATUS_LAST
};

struct resolver_addr {
	int family;		  /* AF_INET or AF_INET6 */
	unsigned char octets[16]; /* network order; 4 used for AF_INET */
};

struct resolver_host {
	char name[RESOLVER_NAME_MAX + 1]; /* lower case, no final dot */
	unsigned preference;		  /* 0 for the implicit MX */
	struct resolver_addr addrs[RESOLVER_HOST_ADDRS_MAX]; /* IPv4 first */
	unsigned addr_count;				     /* >= 1 */
};

struct resolver_mx_result {
	enum resolver_status status;
	const char *domain; /* as asked, lower case, no final dot */
	bool implicit;	    /* no MX: hosts[0] is the domain itself */
	bool partial;	    /* OK, but some MX host's address lookup failed and
		       * that host is missing from hosts[] */
	bool cached;	    /* every RRset came from the cache */
	uint32_t ttl;	    /* seconds this answer stays valid in the cache */
	struct resolver_host hosts[RESOLVER_MX_HOSTS_MAX]; /* in order */
	unsigned host_count;
	char error[RESOLVER_ERROR_MAX]; /* DNS_ERROR (and partial): why */
};

/* Runs exactly once for a resolver_mx() that returned 0, unless
 * resolver_cancel() came first. @res is valid only during the call. */
typedef void (*resolver_mx_cb)(const struct resolver_mx_result *res,
			       void *data);

struct resolver;
struct resolver_req; /* one pending resolver_mx() */

struct resolver_stats {
	uint64_t lookups;    /* resolver_mx() calls accepted */
	uint64_t queries;    /* DNS queries sent (each may be retried) */
	uint64_t cache_hits; /* RRsets answered from the cache */
	uint64_t coalesced;  /* RRsets that joined a query in flight */
	uint64_t evictions;  /* entries dropped to stay under cache_max */
	unsigned entries;    /* RRsets in the cache, in flight included */
	unsigned in_flight;  /* queries waiting for an answer */
};

/* resolver_config_defaults - every field at its RESOLVER_DEFAULT_*, no
 * servers (the system resolver), seed 0. */
void resolver_config_defaults(struct resolver_config *c);

/* resolver_parse_server - "IP[:PORT]" or "[IPv6][:PORT]" into @family,
 * @addr (4 or 16 octets) and @port. Returns 0, or UV_EINVAL with the
 * reason in @err. */
int resolver_parse_server(const char *text, int *family, unsigned char addr[16],
			  unsigned *port, char *err, size_t errlen);

/* resolver_new - a resolver on @loop configured by @c (copied). Returns 0
 * and *@out, or a negative error with one line in @err (a bad server
 * string, a value outside its range, c-ares failing to start). The
 * caller owns the resolver and ends it with resolver_close(). */
int resolver_new(uv_loop_t *loop, const struct resolver_config *c,
		 struct resolver **out, char *err, size_t errlen);

/* resolver_close - stop the resolver. Requests still pending are
 * answered RESOLVER_CANCELED (and answers already made are delivered),
 * on later turns of the loop; then its handles close and @closed_cb runs
 * (may be NULL) once the memory is freed. resolver_mx() refuses from the
 * moment resolver_close() is called. Call it once. */
void resolver_close(struct resolver *r, void (*closed_cb)(void *data),
		    void *data);

/* resolver_mx - look up the mail exchangers of @domain (an A-label,
 * case-insensitive, without or with one final dot). Returns 0 and runs
 * @cb exactly once later, or a negative error and never runs it:
 * UV_EINVAL (not a host name, empty, too long), UV_ECANCELED (the
 * resolver is closing), UV_ENOMEM. When @req is not NULL it receives a
 * handle for resolver_cancel(), valid until @cb starts. */
int resolver_mx(struct resolver *r, const char *domain, resolver_mx_cb cb,
		void *data, struct resolver_req **req);

/* resolver_cancel - forget a pending request: its callback will not run
 * and the caller may free what @data points to. The queries it started
 * go on and feed the cache. From inside the request's own callback it
 * does nothing; after that callback has returned the handle is gone and
 * must not be passed. NULL is a no-op. */
void resolver_cancel(struct resolver_req *req);

/* resolver_get_stats - counters since resolver_new(). */
void resolver_get_stats(const struct resolver *r, struct resolver_stats *s);

/* resolver_status_name - "ok", "nxdomain", "null_mx", "no_mail_server",
 * "dns_error", "canceled"; NULL when out of range. */
const char *resolver_status_name(enum resolver_status status);

/* resolver_status_reason - the verdict reason a status stands for:
 * no_such_domain, null_mx, no_mail_server, dns_error; -1 for OK and
 * CANCELED, which decide nothing. */
int resolver_status_reason(enum resolver_status status);

#endif
