/* hostgate - per-MX-host session slots shared by every rcptd instance
 * that uses one Redis, so that --per-host-concurrency holds across
 * instances: adding workers never multiplies the load on one MX.
 *
 * A slot is a lease: a member of the sorted set rcptd:v1:host:<IP> whose
 * score is its expiry (Redis' own clock, TIME, so instances' clocks do not
 * matter). Acquiring runs one Lua script: drop the expired leases, and if
 * fewer than `cap` remain, add one and answer 1, else 0. Releasing removes
 * the lease (ZREM). A lease held is renewed every lease_ms/3 (its expiry
 * moved to now + lease_ms), so it outlives any session while a crashed
 * instance's leases expire by themselves within lease_ms; the key itself
 * expires with its last lease.
 *
 * Redis is never a single point of failure: when it is not connected,
 * hostgate_acquire() says so at once (-1) and the engine goes by its own
 * count; an acquire that errs or passes its deadline is granted locally
 * (token 0: nothing to release). The politeness that matters most (the
 * per-process cap, backoff) never depends on Redis.
 *
 * Plugs into the engine as a struct engine_gate (hostgate_engine_gate()).
 * Ownership: the caller owns the gate; hostgate_close() answers pending
 * requests (not granted), closes the connection and frees it on a later
 * turn. Loop: one libuv loop, its thread only. */
#ifndef RCPTD_DAEMON_HOSTGATE_H
#define RCPTD_DAEMON_HOSTGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/engine.h"

/* How long a dead instance's slots stay taken: short enough that the
 * others soon have their slots back (a probe waiting for one has its
 * probe deadline running), long enough for three renewals to fail on a
 * slow Redis before a live session's lease lapses. */
#define HOSTGATE_LEASE_MS 15000

struct hostgate;

struct hostgate_stats {
	uint64_t granted, denied, local; /* local: granted without Redis */
	uint64_t released;
};

/* hostgate_new - a gate on the Redis at @url (the --redis URL), with
 * @timeout_ms per command and leases of @lease_ms (HOSTGATE_LEASE_MS;
 * renewed while held, see above). Returns 0, or -1 with one line
 * in @err (a bad URL). An unreachable Redis is not an error. */
int hostgate_new(uv_loop_t *loop, const char *url, unsigned timeout_ms,
		 unsigned lease_ms, struct hostgate **out, char *err,
		 size_t errlen);

/* hostgate_acquire - ask for a slot at @host under @cap. Returns 0 and
 * answers @done(@ctx, granted, token) later, or -1 (Redis not connected,
 * out of memory) with no callback. */
int hostgate_acquire(void *gate, const char *host, unsigned cap,
		     void (*done)(void *ctx, bool granted, uint64_t token),
		     void *ctx);

/* hostgate_release - give back a granted slot (token 0: nothing). */
void hostgate_release(void *gate, const char *host, uint64_t token);

/* hostgate_engine_gate - the gate as the engine wants it. */
void hostgate_engine_gate(struct hostgate *g, struct engine_gate *out);

void hostgate_get_stats(const struct hostgate *g, struct hostgate_stats *s);

void hostgate_close(struct hostgate *g, void (*closed_cb)(void *), void *data);

#endif
