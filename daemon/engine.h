/* engine - the probe engine: from a prechecked address to a verdict.
 *
 * For each address: the domain's MX set (resolver, cached), the network
 * policy on every address (refused ones are never connected to), then an
 * SMTP session with the first permitted address; on a failure that says
 * nothing about the mailbox (connect failed, timeout, 421, a refused
 * greeting, garbage) the next address, then the next MX host, within
 * ENGINE_TARGETS_MAX. Replies are classified (core/classify) into the
 * verdict taxonomy of DESIGN.md.
 *
 * Scheduling: requests are grouped by domain. Addresses of one domain
 * share sessions (several RCPTs per transaction, pipelined when offered,
 * up to rcpt_per_session). A domain's first session also asks RCPT for
 * one random local part; its answer (the domain is catch-all or not) is
 * kept per domain for ENGINE_FACT_TTL_MS, so later addresses skip it.
 * At most `concurrency` sessions run at once and at most
 * `per_host_concurrency` to one MX address; the rest wait their turn.
 * Politeness: a domain gets at most per_domain_rate new sessions a second;
 * an MX address that pushes back (refused connection, 421, "too many
 * connections", a burst of 4xx) is given a backoff, doubling from 1 s to
 * 5 min, and one session at a time until clean sessions earn it back.
 * A server's 452 "too many recipients" and its error budget (Postfix's
 * smtpd_hard_error_limit) are the dialog's: the rest of the recipients
 * go on in a new session with a smaller batch.
 * Requests for an address already in flight join that probe.
 *
 * Deadlines: each request ends at probe_timeout_ms at the latest, with
 * unknown/timeout, whatever its session is still doing.
 *
 * Callbacks: engine_verify()'s callback runs exactly once, never from
 * inside engine_verify(), with the verdict and (when the config asked for
 * transcripts) the session's transcript, both borrowed for the call.
 * Ownership: the engine copies everything it is given; it owns its
 * requests, sessions and tables and frees them in engine_close().
 * Loop: one libuv loop, its thread only. */
#ifndef RCPTD_DAEMON_ENGINE_H
#define RCPTD_DAEMON_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/address.h"
#include "core/dialog.h"
#include "core/netpolicy.h"
#include "core/verdict.h"
#include "daemon/resolver.h"

/* Addresses tried for one verification, over all MX hosts (Postfix's
 * smtp_mx_address_limit is 5). */
#define ENGINE_TARGETS_MAX 5
/* Sessions a request may go through when a server defers it (452 too
 * many recipients, error budgets): enough to get through, bounded. */
#define ENGINE_ATTEMPTS_MAX 4
/* A domain's catch-all answer is kept a day (Exim's callout domain cache
 * keeps positive answers 7 d; a day is conservative for a fact that
 * changes with a server's configuration). Bounded in entries. */
#define ENGINE_FACT_TTL_MS (24u * 3600 * 1000)
#define ENGINE_FACTS_MAX   100000

struct engine_config {
	struct dialog_config dialog; /* helo, sender, waits, batch sizes */
	unsigned connect_timeout_ms;
	unsigned probe_timeout_ms;
	unsigned concurrency;
	unsigned per_host_concurrency;
	double per_domain_rate; /* session starts a second per domain (as
				 * many in a burst); 0: no limit */
	bool catch_all_probe;	/* ask one random local part per domain */
	uint16_t port;		/* 25; tests may use another */
	const struct netpolicy *policy; /* borrowed for the engine's life */
	struct resolver *resolver;	/* borrowed for the engine's life */
};

struct engine_stats {
	uint64_t requests, coalesced, sessions, session_failures;
	uint64_t backoffs; /* hosts slowed down after pushing back */
	unsigned active_sessions, pending;
};

typedef void (*engine_cb)(void *data, const struct verdict *v,
			  const char *transcript);

struct engine;

/* engine_config_defaults - the dialog's defaults, connect 10 s, probe
 * 60 s, concurrency 256, per host 2, per domain 10 sessions a second,
 * catch-all probe on, port 25. The
 * policy and resolver must be set by the caller. */
void engine_config_defaults(struct engine_config *c);

/* engine_new - an engine on @loop. Returns 0 and *@out, or -1 with one
 * line in @err. */
int engine_new(uv_loop_t *loop, const struct engine_config *c,
	       struct engine **out, char *err, size_t errlen);

/* engine_verify - verify @a, starting from @pre (the precheck verdict of
 * the same address: email, address, domain, flags). Returns 0 and runs
 * @cb once later; -1 (no callback) when the engine is closing or memory
 * runs out. */
int engine_verify(struct engine *e, const struct verdict *pre,
		  const struct address *a, engine_cb cb, void *data);

/* engine_close - end every session and request now (requests still
 * pending get unknown/timeout), then free the engine and run @closed_cb
 * (may be NULL) on a later turn. */
void engine_close(struct engine *e, void (*closed_cb)(void *), void *data);

void engine_get_stats(const struct engine *e, struct engine_stats *s);

/* engine_set_catch_all - a domain's catch-all answer learned elsewhere
 * (another instance, through Redis); kept like one of the engine's own
 * unless the engine already has one. */
void engine_set_catch_all(struct engine *e, const char *domain,
			  enum tristate catch_all);

/* The hook the engine calls when it learns a domain's catch-all answer,
 * with the domain's MX hosts (borrowed for the call). */
typedef void (*engine_fact_fn)(void *arg, const char *domain,
			       enum tristate catch_all,
			       const struct verdict_mx *mx, unsigned mx_count);
void engine_set_fact_hook(struct engine *e, engine_fact_fn fn, void *arg);

/* A gate shared by several rcptd instances (daemon/hostgate.h, on Redis)
 * so that --per-host-concurrency holds across them, not only in one
 * process. Before a session to @host (an IP address in text) the engine
 * asks acquire(); the gate answers done(ctx, granted, token) later, never
 * from inside acquire(), or returns -1 when it cannot ask (no Redis): the
 * engine then goes by its own count alone. A granted token is given back
 * with release() when the session ends. */
struct engine_gate {
	int (*acquire)(void *gate, const char *host, unsigned cap,
		       void (*done)(void *ctx, bool granted, uint64_t token),
		       void *ctx);
	void (*release)(void *gate, const char *host, uint64_t token);
	void *gate;
};

/* engine_set_gate - use @g (copied; NULL: none) from now on. */
void engine_set_gate(struct engine *e, const struct engine_gate *g);

#endif
