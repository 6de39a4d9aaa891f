/* fixture_stack - the verifier stack of the app suites that need real
 * verdicts without the network (test_http, test_jobs, test_jobq):
 * embedded lists, a network policy that allows nothing, a resolver whose
 * only server is a UDP socket of the test's own on loopback (one that
 * never answers, or a closed port so that every lookup fails at once),
 * the probe engine and a verifier without a cache. No packet leaves
 * loopback. Failures abort the running test. The caller closes the
 * parts (its teardown differs per suite). */
#ifndef RCPTD_TESTS_FIXTURE_STACK_H
#define RCPTD_TESTS_FIXTURE_STACK_H

#include <stdbool.h>
#include <uv.h>

#include "core/lists.h"
#include "core/netpolicy.h"
#include "daemon/engine.h"
#include "daemon/resolver.h"
#include "daemon/verifier.h"

struct fixture_stack {
	struct lists *lists;	  /* filled */
	struct netpolicy *policy; /* initialised */
	int *dns_fd;		  /* the DNS socket, or -1 (closed port) */
	struct resolver **res;
	struct engine **eng;
	struct verifier **ver;
};

/* fixture_stack_start - the stack on @loop into @f's places. @silent_dns:
 * the DNS socket stays open and never answers (lookups time out after
 * @dns_timeout_ms); else it is closed. @max_pending: the verifier's (0:
 * its default). */
void fixture_stack_start(const struct fixture_stack *f, uv_loop_t *loop,
			 bool silent_dns, unsigned dns_timeout_ms,
			 unsigned max_pending);

#endif
