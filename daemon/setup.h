/* setup - the probe machinery every subcommand builds from its config:
 * the network policy, a resolver and an engine on a loop.
 *
 * Ownership: the policy is the caller's plain data and must outlive the
 * engine; the resolver and engine are the caller's to close
 * (engine_close() first: the engine borrows the resolver). Errors: -1
 * with one line in @err naming the option at fault. */
#ifndef RCPTD_DAEMON_SETUP_H
#define RCPTD_DAEMON_SETUP_H

#include <stddef.h>
#include <uv.h>

#include "core/netpolicy.h"
#include "daemon/cache.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/job.h"
#include "daemon/resolver.h"

/* setup_policy - the built-in refusals plus every --allow-net. */
int setup_policy(struct netpolicy *policy, const struct config *c, char *err,
		 size_t errlen);

/* setup_engine - a resolver and an engine on @loop for @c, probing under
 * @policy; @transcript_max is the transcript kept per session (0: none;
 * at most DIALOG_TRANSCRIPT_MAX). On error the resolver, if it was
 * made, is closing: the loop must run for its handles to close. */
int setup_engine(uv_loop_t *loop, const struct config *c,
		 const struct netpolicy *policy, size_t transcript_max,
		 struct resolver **res, struct engine **eng, char *err,
		 size_t errlen);

/* setup_helo_warning - log a warning when @helo is not a plausible FQDN:
 * such a HELO gets verifiers blocked (DESIGN.md "Being a good citizen on
 * port 25"). */
void setup_helo_warning(const char *helo);

/* setup_cache_config - the verdict cache's settings from @c, its L1
 * bounds divided among @shares loops (1 for a single loop); a TTL
 * shorter than the default refresh time cuts the refresh. */
void setup_cache_config(const struct config *c, unsigned shares,
			struct cache_config *cc);

/* setup_job_config - a bulk job's settings from @c (rcptd bulk and the
 * jobs of rcptd serve alike): its window, greylisting retry and deadline,
 * and per domain as many addresses as the MX host's sessions take
 * (--per-host-concurrency x --rcpt-per-session), sent a session's worth
 * at a time, from the first session on. */
void setup_job_config(const struct config *c, struct job_config *jc);

#endif
