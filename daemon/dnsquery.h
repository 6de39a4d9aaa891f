/* dnsquery - one RRset (type, name) at a time for the resolver: answered
 * from the cache (core/dnscache.h), joined to the query in flight, or
 * asked of DNS through c-ares on the loop (daemon/cares_uv.h).
 *
 * How it asks: ares_query() only, class IN, the name as absolute (no
 * search list, ARES_FLAG_NOSEARCH) and never the hosts file (lookups
 * "b"): a container's /etc/hosts must not turn user@redis into a probe of
 * the Redis sidecar. EDNS with a payload of DNSQUERY_EDNS_PAYLOAD.
 *
 * How it reads an answer (core/dnsmsg for the rcode and the TTLs that
 * c-ares 1.18 does not give, c-ares' parsers for the records):
 *   - NXDOMAIN: DNSCACHE_NXDOMAIN;
 *   - NOERROR with records of the type: DNSCACHE_DATA, MX records in
 *     answer order (at most MX_INPUT_MAX, a host name longer than
 *     DNSCACHE_NAME_MAX marked unusable), A or AAAA addresses in answer
 *     order (at most DNSCACHE_ADDRS_MAX);
 *   - NOERROR without (a CNAME chain that ends without one counts):
 *     DNSCACHE_NODATA;
 *   - anything else (SERVFAIL, REFUSED, a timeout, a malformed answer):
 *     DNSCACHE_ERROR with the c-ares status, or the dnsmsg error of a
 *     malformed answer; dnsquery_error_text() puts it in words.
 * Lifetimes are the cache's (dnscache_lifetime()), in uv_now() time.
 *
 * Callbacks: @cb runs once for each dnsquery_ask() that returned 0,
 * unless dnscache_cancel() on its link came first: from inside
 * dnsquery_ask() for an answer the cache holds (or one being handed
 * out), from inside c-ares when the answer comes (on a later turn of
 * the loop, or inside ares_query() itself, hence also from inside
 * dnsquery_ask()). The entry is valid only during the call.
 * Loop: the loop given to dnsquery_new(), from its thread.
 * Errors: 0 or a negative libuv error code; dnsquery_new() also writes
 * one line into @err. Ownership: the caller owns the dnsquery and ends
 * it with dnsquery_close(); the links are the caller's. */
#ifndef RCPTD_DAEMON_DNSQUERY_H
#define RCPTD_DAEMON_DNSQUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/dnscache.h"

/* Larger UDP answers come truncated and are asked again over TCP; 1232
 * avoids IP fragmentation on any path (DNS flag day 2020). */
#define DNSQUERY_EDNS_PAYLOAD 1232
/* c-ares asks the servers in order, each for every try; a longer list
 * only lengthens the wait for a failure (RESOLVER_SERVERS_MAX). */
#define DNSQUERY_SERVERS_MAX 8
/* "IP:PORT" text: "[" INET6_ADDRSTRLEN "]:65535" fits. */
#define DNSQUERY_SERVER_TEXT_MAX 64

struct dnsquery_server {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; 4 used for AF_INET */
	unsigned port;
};

struct dnsquery_config {
	/* none: the system resolver (/etc/resolv.conf), read once in
	 * dnsquery_new(); at most DNSQUERY_SERVERS_MAX */
	const struct dnsquery_server *servers;
	unsigned server_count;
	unsigned timeout_ms; /* one try; c-ares doubles it on each round */
	unsigned tries;
	struct dnscache_config cache;
};

struct dnsquery_stats {
	uint64_t queries;   /* DNS queries sent (each may be retried) */
	unsigned in_flight; /* queries waiting for an answer */
	struct dnscache_stats cache;
};

/* An answer for @link: @cached when it came from the cache rather than
 * from a query (sent by this ask, or joined). */
typedef void (*dnsquery_cb)(struct dnscache_link *link,
			    const struct dnscache_entry *e, bool cached,
			    void *data);

struct dnsquery;

/* dnsquery_name_normalise - @in as a lower-case host name without its
 * final dot, into @out. Letters, digits, '-' and '_' (DNS has underscore
 * labels; asking for their MX harms nothing), labels of 1..63 octets,
 * DNSCACHE_NAME_MAX in all. A single label is allowed: it is asked as an
 * absolute name, never searched. Returns 0, or -1 for anything else. */
int dnsquery_name_normalise(const char *in, char out[DNSCACHE_NAME_MAX + 1]);

/* dnsquery_parse_server - "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT" or a
 * bare IPv6 address into @s, port 53 by default. Returns 0, or UV_EINVAL
 * with one line in @err: DNS server "TEXT": why. */
int dnsquery_parse_server(const char *text, struct dnsquery_server *s,
			  char *err, size_t errlen);

/* dnsquery_new - a dnsquery on @loop configured by @c (copied), whose
 * answers go to @cb with @data. Returns 0 and *@out, or a negative error
 * with one line in @err ("c-ares: ...", "DNS servers: ...", "out of
 * memory", "cache: bad configuration"). */
int dnsquery_new(uv_loop_t *loop, const struct dnsquery_config *c,
		 dnsquery_cb cb, void *data, struct dnsquery **out, char *err,
		 size_t errlen);

/* dnsquery_ask - the RRset (@qtype, @name) for @link; @name lower case,
 * without the final dot, at most DNSCACHE_NAME_MAX octets. Returns 0
 * (and @cb runs, perhaps already), UV_EINVAL (a name too long) or
 * UV_ENOMEM, with nothing started. UV_ECANCELED once closing. */
int dnsquery_ask(struct dnsquery *d, uint16_t qtype, const char *name,
		 struct dnscache_link *link);

/* dnsquery_error_text - why an RRset of kind DNSCACHE_ERROR failed, in
 * words an operator searches for: "MX example.com: SERVFAIL". */
void dnsquery_error_text(char *dst, size_t size,
			 const struct dnscache_entry *e);

/* dnsquery_get_stats - counters since dnsquery_new(). */
void dnsquery_get_stats(const struct dnsquery *d, struct dnsquery_stats *s);

/* dnsquery_close - stop: queries in flight are dropped and their links
 * forgotten (@cb does not run again); the handles close on later turns
 * of the loop, then the cache and @d are freed and @closed_cb runs (may
 * be NULL). Call it once. */
void dnsquery_close(struct dnsquery *d, void (*closed_cb)(void *data),
		    void *data);

#endif
