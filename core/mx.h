/* mx - order a domain's MX set for delivery attempts (RFC 5321 5.1,
 * RFC 7505).
 *
 * Input: the MX records of one DNS answer, (preference, exchange name) as
 * the resolver decoded them. Output: at most MX_HOSTS_MAX host names,
 * lowest preference first, hosts of equal preference in random order
 * (RFC 5321 5.1: the client "MUST randomize them to spread the load").
 *
 * What is done to each exchange name, in order:
 *  - one trailing dot is removed and ASCII letters are lower-cased;
 *  - the root ("" or ".") is a null MX when it is the only record (every
 *    record, if the answer repeats it) and has preference 0 (RFC 7505 3):
 *    the domain accepts no mail, MX_NULL. A root name in any other answer
 *    (mixed with real hosts, or with a preference other than 0) is not
 *    usable and is dropped; the other hosts are used. RFC 7505 forbids the
 *    mix, so a domain that publishes one is misconfigured; delivering to
 *    its real hosts is what the major MTAs do and answers the question
 *    the caller asked;
 *  - an IP address written as a name is dropped: "192.0.2.1", "[192.0.2.1]",
 *    "::1", and the loose forms a resolver's inet_aton() would accept
 *    ("127.1", "0x7f.0.0.1", "2130706433"). An MX names a host, never an
 *    address (RFC 5321 5.1; RFC 7505 warns of such records);
 *  - a name that is not an LDH host name is dropped: labels of 1..63
 *    letters, digits and hyphens, no hyphen first or last, at most 253
 *    octets in all (RFC 1035 2.3.1, RFC 1123 2.1), at least two labels (a
 *    single label would go through the resolver's search list and could
 *    name a host of the local network), and a last label that is not all
 *    digits (RFC 3696 2);
 *  - a name seen twice is kept once, with its lowest preference.
 *
 * Randomness comes from the caller (core/ holds no random state): @rnd
 * returns 64 random bits each call. A NULL @rnd keeps equal preferences in
 * answer order, for callers that only display the set.
 *
 * Limits: MX_INPUT_MAX records are considered; later ones are ignored
 * (counted in `dropped`). MX_HOSTS_MAX hosts are kept after ordering.
 * Ownership: @in and its strings are borrowed for the call only; the
 * result is plain data in the caller's struct mx_set.
 * Errors: none; the status says what the set is. Loop: none; pure. */
#ifndef RCPTD_CORE_MX_H
#define RCPTD_CORE_MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MTAs try about five MX hosts before giving up (Postfix smtp_mx_address_
 * limit and Exim's hosts_max_try are 5); probing more only adds load on
 * domains whose first five do not answer. Matches VERDICT_MX_MAX. */
#define MX_HOSTS_MAX 5
/* Defend against a hostile zone: an answer with more MX records than this
 * is cut in answer order. The largest providers publish about ten. */
#define MX_INPUT_MAX 64
/* A host name in text form without the final dot (RFC 1035 2.3.4). */
#define MX_NAME_MAX 253

/* One MX record as decoded from DNS. */
struct mx_record {
	uint16_t preference;
	const char *host; /* exchange name; NULL is dropped */
};

struct mx_host {
	char host[MX_NAME_MAX + 1]; /* lower case, no final dot */
	uint16_t preference;
};

enum mx_status {
	MX_OK = 0,  /* count >= 1 hosts to try, in order */
	MX_EMPTY,   /* no records: RFC 5321 5.1 implicit MX, the caller uses
		    * the domain's own A/AAAA records */
	MX_NULL,    /* null MX: the domain accepts no mail (null_mx) */
	MX_UNUSABLE /* records, but none usable (no_mail_server) */
};

struct mx_set {
	enum mx_status status;
	struct mx_host hosts[MX_HOSTS_MAX];
	unsigned count;	  /* hosts used, 0..MX_HOSTS_MAX */
	unsigned dropped; /* records dropped: invalid, literal, root,
			   * duplicate, or past MX_INPUT_MAX */
	unsigned cut;	  /* usable hosts past MX_HOSTS_MAX, not kept */
};

/* A source of 64 random bits; @ctx is the caller's. */
typedef uint64_t (*mx_random_fn)(void *ctx);

/* mx_order - order the @n records at @in into @out (fully written).
 * Returns out->status. */
enum mx_status mx_order(const struct mx_record *in, size_t n, mx_random_fn rnd,
			void *ctx, struct mx_set *out);

/* mx_host_valid - whether @name (NUL-terminated; one final dot allowed,
 * any letter case) passes the host name rules above: LDH labels, two or
 * more, not all-digit at the end, not an IP address in any form. The same
 * test mx_order() applies to every exchange name. */
bool mx_host_valid(const char *name);

#endif
