/* fixture_redis - a redis-server of a test's own, for the app suites that
 * talk to a real Redis (test_hostgate, test_jobq, test_cache): on a
 * loopback port nothing listens on, without persistence, killed by its
 * PID (and by the kernel if the test process dies: PR_SET_PDEATHSIG).
 * Failures abort the running test (Check's ck_abort). */
#ifndef RCPTD_TESTS_FIXTURE_REDIS_H
#define RCPTD_TESTS_FIXTURE_REDIS_H

#include <hiredis/hiredis.h>
#include <sys/types.h>

#define FIXTURE_REDIS_SERVER "/usr/bin/redis-server"

/* fixture_free_port - a loopback TCP port nothing listens on now. */
unsigned fixture_free_port(void);

/* fixture_redis_start - redis-server on 127.0.0.1:@port, answering PING
 * (within 3 s); its PID. */
pid_t fixture_redis_start(unsigned port);

/* fixture_redis_stop - SIGKILL *@pid and reap it; *@pid = -1. */
void fixture_redis_stop(pid_t *pid);

/* fixture_redis_open - a blocking client (2 s timeout), or NULL. */
redisContext *fixture_redis_open(unsigned port);

#endif
