/* test_hostgate - per-host slots shared through a real redis-server on
 * loopback (started per test, killed by PID; PR_SET_PDEATHSIG as a net). */
#include <check.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/hostgate.h"
#include "daemon/log.h"
#include "tests/unit/app/fixture_redis.h"

static unsigned port;
static pid_t server_pid = -1;

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_setup(LOG_FORMAT_TEXT, "error");
	port = fixture_free_port();
	server_pid = -1;
}

static void teardown(void)
{
	fixture_redis_stop(&server_pid);
}

/* ---- driving the loop ------------------------------------------------ */

struct answer {
	int n;
	bool granted;
	uint64_t token;
};

static void on_answer(void *ctx, bool granted, uint64_t token)
{
	struct answer *a = ctx;
	a->n++;
	a->granted = granted;
	a->token = token;
}

static void tick(uv_timer_t *t)
{
	(void)t;
}

/* spin - turn @loop until *@n reaches @want or @ms pass. */
static void spin(uv_loop_t *loop, int *n, int want, unsigned ms)
{
	uv_timer_t t;
	uint64_t end;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, tick, 5, 5);
	while ((n == NULL || *n < want) && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

static struct hostgate *gate_new(uv_loop_t *loop, unsigned lease_ms)
{
	struct hostgate *g;
	char url[64], err[256];

	snprintf(url, sizeof(url), "redis://127.0.0.1:%u", port);
	ck_assert_int_eq(
	    hostgate_new(loop, url, 500, lease_ms, &g, err, sizeof(err)), 0);
	return g;
}

/* ask - one acquire, answered; the answer. Waits for the connection. */
static struct answer ask(uv_loop_t *loop, struct hostgate *g, const char *host,
			 unsigned cap)
{
	struct answer a = {0};
	int rc = -1;

	for (int i = 0; i < 200 && rc < 0; i++) {
		rc = hostgate_acquire(g, host, cap, on_answer, &a);
		if (rc < 0)
			spin(loop, NULL, 0, 10);
	}
	ck_assert_int_eq(rc, 0);
	spin(loop, &a.n, 1, 2000);
	ck_assert_int_eq(a.n, 1);
	return a;
}

static void gate_close(uv_loop_t *loop, struct hostgate *g)
{
	hostgate_close(g, NULL, NULL);
	spin(loop, NULL, 0, 100);
}

START_TEST(cap_holds_and_release_frees_a_slot)
{
	uv_loop_t loop;
	struct answer a1, a2, a3, a4;
	struct hostgate_stats st;

	server_pid = fixture_redis_start(port);
	uv_loop_init(&loop);
	struct hostgate *g = gate_new(&loop, 60000);
	a1 = ask(&loop, g, "198.18.2.1", 2);
	a2 = ask(&loop, g, "198.18.2.1", 2);
	a3 = ask(&loop, g, "198.18.2.1", 2);
	ck_assert(a1.granted && a2.granted && !a3.granted);
	ck_assert(a1.token != 0 && a2.token != 0 && a1.token != a2.token);
	ck_assert(ask(&loop, g, "198.18.2.2", 2).granted); /* other host */
	hostgate_release(g, "198.18.2.1", a1.token);
	a4 = ask(&loop, g, "198.18.2.1", 2);
	ck_assert(a4.granted);
	hostgate_get_stats(g, &st);
	ck_assert_uint_eq(st.granted, 4);
	ck_assert_uint_eq(st.denied, 1);

	/* the set expires with its leases */
	redisContext *r = fixture_redis_open(port);
	redisReply *rep = redisCommand(r, "PTTL rcptd:v1:host:198.18.2.1");
	ck_assert(rep && rep->type == REDIS_REPLY_INTEGER);
	ck_assert_int_gt(rep->integer, 0);
	ck_assert_int_le(rep->integer, 60000);
	freeReplyObject(rep);
	redisFree(r);
	gate_close(&loop, g);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(two_instances_share_one_cap)
{
	uv_loop_t loop;

	server_pid = fixture_redis_start(port);
	uv_loop_init(&loop);
	struct hostgate *a = gate_new(&loop, 60000);
	struct hostgate *b = gate_new(&loop, 60000);
	struct answer ga = ask(&loop, a, "2001:2::2:1", 1);
	struct answer gb = ask(&loop, b, "2001:2::2:1", 1);
	ck_assert(ga.granted);
	ck_assert(!gb.granted);
	hostgate_release(a, "2001:2::2:1", ga.token);
	spin(&loop, NULL, 0, 100); /* a's ZREM goes out on a's connection */
	ck_assert(ask(&loop, b, "2001:2::2:1", 1).granted);
	gate_close(&loop, a);
	gate_close(&loop, b);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(a_crashed_holder_s_lease_expires)
{
	uv_loop_t loop;

	server_pid = fixture_redis_start(port);
	uv_loop_init(&loop);
	struct hostgate *g = gate_new(&loop, 300);
	ck_assert(ask(&loop, g, "198.18.2.3", 1).granted); /* never released */
	ck_assert(!ask(&loop, g, "198.18.2.3", 1).granted);
	usleep(400000);
	ck_assert(ask(&loop, g, "198.18.2.3", 1).granted);
	gate_close(&loop, g);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(a_live_holder_s_lease_is_renewed)
{
	uv_loop_t loop;

	server_pid = fixture_redis_start(port);
	uv_loop_init(&loop);
	struct hostgate *g = gate_new(&loop, 300),
			*other = gate_new(&loop, 300);
	struct answer a = ask(&loop, g, "198.18.2.5", 1);
	ck_assert(a.granted);
	spin(&loop, NULL, 0, 900); /* three leases long: renewed meanwhile */
	ck_assert(!ask(&loop, other, "198.18.2.5", 1).granted);
	hostgate_release(g, "198.18.2.5", a.token);
	spin(&loop, NULL, 0, 50);
	ck_assert(ask(&loop, other, "198.18.2.5", 1).granted);
	gate_close(&loop, g);
	gate_close(&loop, other);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(no_redis_means_the_local_count_alone)
{
	uv_loop_t loop;
	struct answer a = {0};

	uv_loop_init(&loop);
	struct hostgate *g = gate_new(&loop, 1000); /* nothing listens */
	spin(&loop, NULL, 0, 200);
	ck_assert_int_eq(hostgate_acquire(g, "198.18.2.4", 1, on_answer, &a),
			 -1);
	ck_assert_int_eq(a.n, 0);
	hostgate_release(g, "198.18.2.4", 0); /* token 0: a no-op */
	gate_close(&loop, g);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(bad_url_is_refused)
{
	uv_loop_t loop;
	struct hostgate *g;
	char err[256];

	uv_loop_init(&loop);
	ck_assert_int_eq(
	    hostgate_new(&loop, "http://x", 500, 1000, &g, err, sizeof(err)),
	    -1);
	ck_assert_int_gt(strlen(err), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

Suite *hostgate_suite(void)
{
	Suite *s = suite_create("hostgate");
	TCase *t = tcase_create("redis");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, cap_holds_and_release_frees_a_slot);
	tcase_add_test(t, a_live_holder_s_lease_is_renewed);
	tcase_add_test(t, two_instances_share_one_cap);
	tcase_add_test(t, a_crashed_holder_s_lease_expires);
	tcase_add_test(t, no_redis_means_the_local_count_alone);
	tcase_add_test(t, bad_url_is_refused);
	suite_add_tcase(s, t);
	return s;
}
