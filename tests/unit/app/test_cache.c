/* test_cache - the verdict cache: L1 with a clock the test moves, and L2
 * against a real redis-server on loopback.
 *
 * L1 tests give the cache a fake clock (cache_config.clock_ms) and need
 * no Redis. Redis tests start /usr/bin/redis-server per test (a checked
 * fixture, so in the test's own process) on 127.0.0.1 (and ::1 when the
 * host has it) at a free high port and on a unix socket in a mkdtemp()
 * directory (one per TCase, made and removed by the runner), without
 * persistence; the teardown kills it by PID and
 * PR_SET_PDEATHSIG kills it should the test die first. A hung server is
 * the test's own listener (a forked child): it accepts, reads, and answers
 * PONG to the handshake or nothing at all. A sync hiredis client checks
 * what landed in Redis (keys, TTLs, values). SIGPIPE is ignored, as the
 * daemon does. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/cache.h"
#include "daemon/log.h"
#include "tests/unit/app/fixture_redis.h"

#define REDIS_SERVER "/usr/bin/redis-server"
#define DAY	     86400u

/* ---- helpers ------------------------------------------------------------ */

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* mk - a verdict for @addr with @reason, checked now. */
static void mk(struct verdict *v, const char *addr, enum verdict_reason r)
{
	const char *at = strrchr(addr, '@');

	verdict_init(v, addr, strlen(addr));
	snprintf(v->address, sizeof(v->address), "%s", addr);
	snprintf(v->domain, sizeof(v->domain), "%s", at ? at + 1 : "");
	verdict_set(v, r);
	v->checked_at = (int64_t)time(NULL);
	v->duration_ms = 42;
}

static void on_closed(void *data)
{
	*(int *)data += 1;
}

/* close_cache - close @c, run the loop dry, and check that nothing was
 * left open on it (hiredis' poll handles included). */
static void close_cache(uv_loop_t *loop, struct cache *c)
{
	int closed = 0;

	cache_close(c, on_closed, &closed);
	ck_assert_int_eq(closed, 0); /* never from inside cache_close() */
	uv_run(loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(closed, 1);
	ck_assert_int_eq(uv_loop_close(loop), 0);
}

static struct cache *new_l1(uv_loop_t *loop, size_t entries, size_t bytes)
{
	struct cache_config cfg;
	struct cache *c;
	char err[256];

	cache_config_defaults(&cfg);
	cfg.l1_entries = entries;
	cfg.l1_bytes = bytes;
	cfg.clock_ms = fake_clock;
	fake_now = 1000000;
	ck_assert_msg(cache_new(loop, &cfg, &c, err, sizeof(err)) == 0, "%s",
		      err);
	return c;
}

/* ---- L1: lifetimes ---------------------------------------------------------- */

static const struct life {
	enum verdict_reason reason;
	unsigned retry_after;
	unsigned ttl_s, refresh_s; /* expected, from the defaults */
} lives[] = {
    {REASON_ACCEPTED, 0, 7 * DAY, DAY},
    {REASON_CATCH_ALL, 0, 7 * DAY, DAY},
    {REASON_MAILBOX_FULL, 0, 7 * DAY, DAY},
    {REASON_MAILBOX_NOT_FOUND, 0, 3 * DAY, 3 * 3600},
    {REASON_NO_SUCH_DOMAIN, 0, 3 * DAY, 3 * 3600},
    {REASON_NULL_MX, 0, 3 * DAY, 3 * 3600},
    {REASON_TIMEOUT, 0, 300, 60},
    {REASON_POLICY_REJECTED, 0, 300, 60},
    {REASON_GREYLISTED, 120, 300, 120}, /* retry_after lifts refresh */
    {REASON_GREYLISTED, 30, 300, 60},	/* ... never lowers it */
    {REASON_GREYLISTED, 900, 300, 300}, /* ... within the expiry */
};

START_TEST(lifetime_per_status)
{
	const struct life *l = &lives[_i];
	uv_loop_t loop;
	struct verdict v, out;
	struct cache_stats st;
	uv_loop_init(&loop);
	struct cache *c = new_l1(&loop, 10, 1 << 20);
	uint64_t t0 = fake_now;

	mk(&v, "a@example.com", l->reason);
	v.retry_after = l->retry_after;
	v.checked_at = 1795341600;
	cache_store(c, &v);
	ck_assert_int_eq(cache_lookup(c, "a@example.com", &out), CACHE_FRESH);
	ck_assert_int_eq(out.cached, true);
	ck_assert_int_eq(out.checked_at, 1795341600);
	ck_assert_int_eq(out.reason, l->reason);
	ck_assert_uint_eq(out.duration_ms, 42);
	fake_now = t0 + l->refresh_s * 1000ull - 1;
	ck_assert_int_eq(cache_lookup(c, "a@example.com", &out), CACHE_FRESH);
	fake_now = t0 + l->refresh_s * 1000ull;
	ck_assert_int_eq(cache_lookup(c, "a@example.com", &out),
			 l->refresh_s == l->ttl_s ? CACHE_MISS : CACHE_STALE);
	if (l->refresh_s < l->ttl_s) {
		fake_now = t0 + l->ttl_s * 1000ull - 1;
		ck_assert_int_eq(cache_lookup(c, "a@example.com", &out),
				 CACHE_STALE);
		ck_assert_int_eq(out.cached, true);
		fake_now = t0 + l->ttl_s * 1000ull;
		ck_assert_int_eq(cache_lookup(c, "a@example.com", &out),
				 CACHE_MISS);
	}
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_misses, 1);
	ck_assert_uint_eq(st.l1_expired, 1);
	ck_assert_uint_eq(st.l1_entries, 0);
	ck_assert_uint_eq(st.l1_bytes, 0);
	close_cache(&loop, c);
}
END_TEST

/* Verdicts that are never cached. */
static const struct uncached {
	const char *addr;
	enum verdict_reason reason;
	bool cached_hit;
} uncached[] = {
    {"a@example.com", REASON_IN_PROGRESS, false},
    {"a@example.com", REASON_NOT_CHECKED, false},
    {"a@example.com", REASON_INVALID_SYNTAX, false},
    {"", REASON_ACCEPTED, false},
    {"a@example.com", REASON_ACCEPTED, true}, /* a hit, stored again */
};

START_TEST(not_cached)
{
	uv_loop_t loop;
	struct verdict v, out;
	struct cache_stats st;
	uv_loop_init(&loop);
	struct cache *c = new_l1(&loop, 10, 1 << 20);

	mk(&v, uncached[_i].addr, uncached[_i].reason);
	v.cached = uncached[_i].cached_hit;
	cache_store(c, &v);
	ck_assert_int_eq(cache_lookup(c, uncached[_i].addr, &out), CACHE_MISS);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_entries, 0);
	close_cache(&loop, c);
}
END_TEST

/* ---- L1: bounds ------------------------------------------------------------- */

static void store(struct cache *c, const char *addr, enum verdict_reason r)
{
	struct verdict v;
	mk(&v, addr, r);
	cache_store(c, &v);
}

static bool present(struct cache *c, const char *addr)
{
	struct verdict out;
	/* a lookup touches the LRU: callers check in a chosen order */
	return cache_lookup(c, addr, &out) != CACHE_MISS;
}

START_TEST(lru_eviction_order)
{
	uv_loop_t loop;
	struct cache_stats st;
	uv_loop_init(&loop);
	struct cache *c = new_l1(&loop, 3, 1 << 20);

	store(c, "a@x.test", REASON_ACCEPTED);
	store(c, "b@x.test", REASON_ACCEPTED);
	store(c, "c@x.test", REASON_ACCEPTED);
	ck_assert(present(c, "a@x.test"));     /* a is now the most recent */
	store(c, "d@x.test", REASON_ACCEPTED); /* evicts b, the least */
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_entries, 3);
	ck_assert_uint_eq(st.l1_evictions, 1);
	ck_assert(!present(c, "b@x.test"));
	/* order now (most recent first): d a c; re-storing c refreshes it */
	store(c, "c@x.test", REASON_MAILBOX_NOT_FOUND);
	store(c, "e@x.test", REASON_ACCEPTED); /* evicts a */
	ck_assert(!present(c, "a@x.test"));
	ck_assert(present(c, "c@x.test"));
	ck_assert(present(c, "d@x.test"));
	ck_assert(present(c, "e@x.test"));
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_evictions, 2);
	ck_assert_uint_eq(st.l1_entries, 3);
	struct verdict out;
	ck_assert_int_eq(cache_lookup(c, "c@x.test", &out), CACHE_FRESH);
	ck_assert_int_eq(out.reason, REASON_MAILBOX_NOT_FOUND);
	close_cache(&loop, c);
}
END_TEST

START_TEST(byte_bound)
{
	uv_loop_t loop;
	struct cache_stats st;
	uv_loop_init(&loop);
	struct cache *c = new_l1(&loop, 1000, 1 << 20);

	store(c, "a@x.test", REASON_ACCEPTED);
	cache_get_stats(c, &st);
	size_t one = st.l1_bytes;
	ck_assert_uint_gt(one, 100);
	ck_assert_uint_lt(one, 600); /* packed, not a 3.4 KB struct */
	close_cache(&loop, c);

	/* room for two and a half entries of that size */
	uv_loop_init(&loop);
	c = new_l1(&loop, 1000, one * 5 / 2);
	store(c, "a@x.test", REASON_ACCEPTED);
	store(c, "b@x.test", REASON_ACCEPTED);
	store(c, "c@x.test", REASON_ACCEPTED);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_entries, 2);
	ck_assert_uint_eq(st.l1_bytes, 2 * one);
	ck_assert_uint_eq(st.l1_evictions, 1);
	ck_assert(!present(c, "a@x.test"));
	ck_assert(present(c, "b@x.test"));
	ck_assert(present(c, "c@x.test"));
	close_cache(&loop, c);

	/* an entry bigger than the whole bound is not kept */
	uv_loop_init(&loop);
	c = new_l1(&loop, 1000, one - 1);
	store(c, "a@x.test", REASON_ACCEPTED);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_entries, 0);
	ck_assert_uint_eq(st.l1_bytes, 0);
	close_cache(&loop, c);

	/* no L1 at all */
	uv_loop_init(&loop);
	c = new_l1(&loop, 0, 1 << 20);
	store(c, "a@x.test", REASON_ACCEPTED);
	ck_assert(!present(c, "a@x.test"));
	close_cache(&loop, c);
}
END_TEST

/* ---- L1: the no-overwrite rule ------------------------------------------------ */

/* One row: what is stored first, what comes next, what a lookup gives. */
static const struct overwrite {
	enum verdict_reason first, then;
	enum verdict_reason expect;
	uint64_t after_ms; /* the second store this long after the first */
} overwrites[] = {
    {REASON_ACCEPTED, REASON_TIMEOUT, REASON_ACCEPTED, 0},
    {REASON_ACCEPTED, REASON_GREYLISTED, REASON_ACCEPTED, 2 * DAY * 1000ull},
    {REASON_MAILBOX_NOT_FOUND, REASON_CONNECT_FAILED, REASON_MAILBOX_NOT_FOUND,
     0},
    {REASON_CATCH_ALL, REASON_DNS_ERROR, REASON_CATCH_ALL, 0},
    /* the good entry expired: the unknown one is stored */
    {REASON_ACCEPTED, REASON_TIMEOUT, REASON_TIMEOUT, 7 * DAY * 1000ull},
    /* everything else replaces */
    {REASON_TIMEOUT, REASON_GREYLISTED, REASON_GREYLISTED, 0},
    {REASON_TIMEOUT, REASON_ACCEPTED, REASON_ACCEPTED, 0},
    {REASON_ACCEPTED, REASON_MAILBOX_NOT_FOUND, REASON_MAILBOX_NOT_FOUND, 0},
    {REASON_MAILBOX_NOT_FOUND, REASON_ACCEPTED, REASON_ACCEPTED, 0},
};

START_TEST(no_overwrite_rule)
{
	const struct overwrite *o = &overwrites[_i];
	uv_loop_t loop;
	struct verdict out;
	struct cache_stats st;
	uv_loop_init(&loop);
	struct cache *c = new_l1(&loop, 10, 1 << 20);

	store(c, "a@x.test", o->first);
	fake_now += o->after_ms;
	store(c, "a@x.test", o->then);
	ck_assert_int_ne(cache_lookup(c, "a@x.test", &out), CACHE_MISS);
	ck_assert_int_eq(out.reason, o->expect);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l1_kept,
			  o->expect == o->first && o->first != o->then ? 1 : 0);
	close_cache(&loop, c);
}
END_TEST

/* A stale good entry that a failed refresh did not replace is fresh again
 * for the unknown refresh time: no probe storm against a failing server. */
START_TEST(failed_refresh_defers_next)
{
	uv_loop_t loop;
	struct verdict out;
	uv_loop_init(&loop);
	struct cache *c = new_l1(&loop, 10, 1 << 20);
	uint64_t t0 = fake_now;

	store(c, "a@x.test", REASON_ACCEPTED);
	fake_now = t0 + DAY * 1000ull; /* refresh due */
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_STALE);
	store(c, "a@x.test", REASON_TIMEOUT); /* the refresh failed */
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_FRESH);
	ck_assert_int_eq(out.reason, REASON_ACCEPTED);
	fake_now += 60 * 1000 - 1;
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_FRESH);
	fake_now += 1;
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_STALE);
	/* near the end of its life the deferral stops at the expiry */
	fake_now = t0 + 7 * DAY * 1000ull - 1000;
	store(c, "a@x.test", REASON_TIMEOUT);
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_FRESH);
	fake_now += 1000;
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_MISS);
	close_cache(&loop, c);
}
END_TEST

/* ---- configuration ------------------------------------------------------------ */

static const struct badcfg {
	const char *url;
	unsigned ttl; /* positive ttl */
	const char *prefix;
	const char *err;
} badcfgs[] = {
    {"http://127.0.0.1", 100, "p:", "redis URL: "},
    {"redis://127.0.0.1:0", 100, "p:", "port"},
    {"rediss://h", 100, "p:", "TLS"},
    {NULL, 0, "p:", "at least 1 s"},
    {NULL, 100,
     "0123456789012345678901234567890123456789012345678901234567890123456789",
     "prefix"},
};

START_TEST(bad_config)
{
	const struct badcfg *b = &badcfgs[_i];
	struct cache_config cfg;
	struct cache *c = NULL;
	char err[256] = "";
	uv_loop_t loop;
	uv_loop_init(&loop);

	cache_config_defaults(&cfg);
	cfg.redis_url = b->url;
	cfg.positive.ttl_s = b->ttl;
	cfg.key_prefix = b->prefix;
	ck_assert_int_eq(cache_new(&loop, &cfg, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, b->err) != NULL, "'%s' lacks '%s'", err,
		      b->err);
	ck_assert_ptr_null(strchr(err, '\n')); /* one line */
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(refresh_above_ttl_is_cut)
{
	struct cache_config cfg;
	struct cache *c;
	struct verdict out;
	char err[256];
	uv_loop_t loop;
	uv_loop_init(&loop);

	cache_config_defaults(&cfg);
	cfg.positive = (struct cache_lifetime){3600, DAY};
	cfg.clock_ms = fake_clock;
	fake_now = 5;
	ck_assert_int_eq(cache_new(&loop, &cfg, &c, err, sizeof(err)), 0);
	ck_assert(!cache_redis_configured(c));
	ck_assert(!cache_redis_ready(c));
	store(c, "a@x.test", REASON_ACCEPTED);
	fake_now = 5 + 3600 * 1000 - 1;
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_FRESH);
	fake_now += 1;
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_MISS);
	/* without Redis, L2 answers "no L2" and never calls back */
	ck_assert_int_eq(cache_fetch(c, "a@x.test", NULL, NULL, NULL),
			 CACHE_NO_L2);
	close_cache(&loop, c);
}
END_TEST

/* ---- Redis fixture ---------------------------------------------------------------- */

static char dir[64];
static char sock_path[128];
static unsigned port;
static pid_t server_pid = -1;

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	server_pid = -1;
}

/* dir_setup, dir_teardown - one directory per TCase, made and removed in
 * the runner's own process (an unchecked fixture), so that it goes away
 * even when a test fails (Check skips a failed test's checked teardown). */
static void dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/rcptd-cache-XXXXXX");
	if (mkdtemp(dir) == NULL)
		dir[0] = '\0';
}

static void dir_teardown(void)
{
	DIR *d = dir[0] ? opendir(dir) : NULL;
	struct dirent *e;
	char path[sizeof(dir) + 256 + 2];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_setup(LOG_FORMAT_TEXT, "error"); /* state changes are expected */
	ck_assert_msg(dir[0] != '\0', "mkdtemp failed");
	port = fixture_free_port();
	snprintf(sock_path, sizeof(sock_path), "%s/redis-%u.sock", dir, port);
	server_pid = -1;
}

static void teardown(void)
{
	stop_server();
	unlink(sock_path);
}

/* sync_open - a blocking client for checks, with AUTH and SELECT. */
static redisContext *sync_open(const char *password, int db)
{
	struct timeval tv = {2, 0};
	redisContext *r = redisConnectWithTimeout("127.0.0.1", (int)port, tv);
	redisReply *rep;

	if (r == NULL || r->err) {
		if (r)
			redisFree(r);
		return NULL;
	}
	redisSetTimeout(r, tv);
	if (password) {
		rep = redisCommand(r, "AUTH %s", password);
		ck_assert_ptr_nonnull(rep);
		freeReplyObject(rep);
	}
	rep = redisCommand(r, "SELECT %d", db);
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	return r;
}

/* sync_int - an integer command's answer, or -100 on anything else. */
static long long sync_int(redisContext *r, const char *cmd, const char *key)
{
	redisReply *rep = redisCommand(r, "%s %s", cmd, key);
	long long n = -100;

	if (rep && rep->type == REDIS_REPLY_INTEGER)
		n = rep->integer;
	if (rep)
		freeReplyObject(rep);
	return n;
}

/* start_redis - redis-server on @port and the unix socket, no
 * persistence; returns when it answers PING. */
static void start_redis(const char *password)
{
	char p[16];
	snprintf(p, sizeof(p), "%u", port);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		const char *argv[24] = {
		    REDIS_SERVER,   "--port",	 p,
		    "--bind",	    "127.0.0.1", "-::1",
		    "--save",	    "",		 "--appendonly",
		    "no",	    "--dir",	 dir,
		    "--unixsocket", sock_path,	 "--unixsocketperm",
		    "700"};
		int n = 16;
		if (password) {
			argv[n++] = "--requirepass";
			argv[n++] = password;
		}
		argv[n] = NULL;
		execv(REDIS_SERVER, (char **)(uintptr_t)argv);
		_exit(127);
	}
	server_pid = pid;
	/* wait for it: the unix socket appears once it listens */
	for (int i = 0; i < 300; i++) {
		if (access(sock_path, F_OK) == 0) {
			redisContext *r = sync_open(password, 0);
			if (r) {
				redisReply *rep = redisCommand(r, "PING");
				bool ok =
				    rep && rep->type == REDIS_REPLY_STATUS;
				if (rep)
					freeReplyObject(rep);
				redisFree(r);
				if (ok)
					return;
			}
		}
		usleep(10000);
	}
	ck_abort_msg("redis-server did not start");
}

/* start_listener - a server of our own on @port that accepts and reads
 * and, with @pong, answers the handshake's PING once per connection:
 * after that it never says a word. */
static void start_listener(bool pong)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pollfd pfd[33] = {{.fd = fd, .events = POLLIN}};
		bool answered[33] = {false};
		nfds_t n = 1;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			if (poll(pfd, n, -1) < 0)
				continue;
			if ((pfd[0].revents & POLLIN) && n < 33) {
				int c = accept(fd, NULL, NULL);
				if (c >= 0) {
					pfd[n].fd = c;
					pfd[n].events = POLLIN;
					answered[n] = false;
					n++;
				}
			}
			for (nfds_t i = 1; i < n; i++) {
				char buf[4096];
				if (!(pfd[i].revents & (POLLIN | POLLHUP)))
					continue;
				ssize_t got =
				    read(pfd[i].fd, buf, sizeof(buf) - 1);
				if (got <= 0) {
					close(pfd[i].fd);
					pfd[i] = pfd[n - 1];
					answered[i] = answered[n - 1];
					n--;
					i--;
					continue;
				}
				buf[got] = '\0';
				if (pong && !answered[i] &&
				    memmem(buf, (size_t)got, "PING", 4)) {
					answered[i] = true;
					if (write(pfd[i].fd, "+PONG\r\n", 7) <
					    0)
						_exit(1);
				}
			}
		}
	}
	close(fd);
	server_pid = pid;
}

/* ---- the loop ---------------------------------------------------------------- */

static void tick(uv_timer_t *t)
{
	(void)t;
}

/* run_until - turn @loop until @pred holds or @ms pass. */
static bool run_until(uv_loop_t *loop, bool (*pred)(void *), void *arg,
		      unsigned ms)
{
	uv_timer_t t;
	uint64_t end;
	bool ok;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, tick, 5, 5);
	while (!(ok = pred(arg)) && uv_now(loop) < end)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return ok;
}

static bool is_ready(void *c)
{
	return cache_redis_ready(c);
}

static bool is_down(void *c)
{
	return !cache_redis_ready(c);
}

static bool never(void *c)
{
	(void)c;
	return false;
}

static struct cache *new_l2(uv_loop_t *loop, const char *url,
			    unsigned timeout_ms)
{
	struct cache_config cfg;
	struct cache *c;
	char err[256];

	cache_config_defaults(&cfg);
	cfg.redis_url = url;
	cfg.redis_timeout_ms = timeout_ms;
	cfg.redis_connect_timeout_ms = 500;
	ck_assert_msg(cache_new(loop, &cfg, &c, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert(cache_redis_configured(c));
	return c;
}

static char *tcp_url(const char *auth, int db)
{
	static char url[256];
	snprintf(url, sizeof(url), "redis://%s127.0.0.1:%u/%d",
		 auth ? auth : "", port, db);
	return url;
}

struct fetched {
	bool done;
	enum cache_hit hit;
	bool has_v, has_fact;
	struct verdict v;
	struct cache_fact fact;
	uint64_t at_ns;
	int order; /* for close ordering */
};

static int sequence;

static void on_fetched(void *data, enum cache_hit hit, const struct verdict *v,
		       const struct cache_fact *f)
{
	struct fetched *r = data;

	ck_assert(!r->done); /* exactly once */
	r->done = true;
	r->hit = hit;
	r->has_v = v != NULL;
	if (v)
		r->v = *v;
	r->has_fact = f != NULL;
	if (f)
		r->fact = *f;
	r->at_ns = uv_hrtime();
	r->order = ++sequence;
}

static bool fetched_done(void *r)
{
	return ((struct fetched *)r)->done;
}

/* fetch - ask L2; CACHE_NO_L2, or the callback's answer in *@r. Returns
 * the elapsed milliseconds in *@ms. */
static int fetch(uv_loop_t *loop, struct cache *c, const char *addr,
		 struct fetched *r, unsigned *ms)
{
	uint64_t t0 = uv_hrtime();
	memset(r, 0, sizeof(*r));
	int rc = cache_fetch(c, addr, on_fetched, r, NULL);
	if (rc == CACHE_NO_L2) {
		ck_assert(!r->done);
		if (ms)
			*ms = (unsigned)((uv_hrtime() - t0) / 1000000);
		return rc;
	}
	ck_assert_int_eq(rc, CACHE_PENDING);
	ck_assert(!r->done); /* never from inside cache_fetch() */
	ck_assert(run_until(loop, fetched_done, r, 3000));
	if (ms)
		*ms = (unsigned)((r->at_ns - t0) / 1000000);
	return rc;
}

struct landed {
	redisContext *r;
	const char *key;
};

static bool key_landed(void *arg)
{
	struct landed *l = arg;
	return sync_int(l->r, "EXISTS", l->key) == 1;
}

/* wait_key - run the loop until Redis has @key. */
static void wait_key(uv_loop_t *loop, redisContext *r, const char *key)
{
	struct landed l = {r, key};
	ck_assert_msg(run_until(loop, key_landed, &l, 2000), "%s", key);
}

/* barrier - return once Redis has processed every command @c sent so
 * far: replies on one connection come in order, so a fetch's reply is
 * one. (Two caches are two connections: no order between them.) */
static void barrier(uv_loop_t *loop, struct cache *c)
{
	struct fetched r;
	ck_assert_int_eq(fetch(loop, c, "barrier@x.test", &r, NULL),
			 CACHE_PENDING);
}

/* ---- L2 against redis-server --------------------------------------------------- */

START_TEST(store_then_fetch_from_l2)
{
	uv_loop_t loop;
	struct verdict v, out;
	struct fetched r;
	struct cache_stats st;
	uv_loop_init(&loop);
	start_redis(NULL);
	struct cache *c1 = new_l2(&loop, tcp_url(NULL, 0), 500);
	struct cache *c2 = new_l2(&loop, tcp_url(NULL, 0), 500);
	ck_assert(run_until(&loop, is_ready, c1, 2000));
	ck_assert(run_until(&loop, is_ready, c2, 2000));

	mk(&v, "Alice@example.com", REASON_ACCEPTED);
	v.checked_at -= 10;
	v.mx_count = 1;
	snprintf(v.mx[0].host, sizeof(v.mx[0].host), "mx1.example.com");
	v.mx[0].preference = 10;
	v.smtp.present = true;
	v.smtp.code = 250;
	v.smtp.stage = SMTP_STAGE_RCPT;
	v.catch_all = TRI_FALSE;
	cache_store(c1, &v);
	struct cache_fact f = {.catch_all = TRI_FALSE, .mx_count = 1};
	f.mx[0] = v.mx[0];
	cache_fact_store(c1, "example.com", &f);
	redisContext *sc = sync_open(NULL, 0);
	wait_key(&loop, sc, "rcptd:v1:verdict:Alice@example.com");
	wait_key(&loop, sc, "rcptd:v1:domain:example.com");

	/* c2 has an empty L1: the answer comes from Redis */
	ck_assert_int_eq(cache_lookup(c2, "Alice@example.com", &out),
			 CACHE_MISS);
	fetch(&loop, c2, "Alice@example.com", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);
	ck_assert(r.has_v);
	ck_assert_int_eq(r.v.cached, true);
	ck_assert_int_eq(r.v.checked_at, v.checked_at);
	ck_assert_str_eq(r.v.address, "Alice@example.com");
	ck_assert_int_eq(r.v.reason, REASON_ACCEPTED);
	ck_assert_str_eq(r.v.mx[0].host, "mx1.example.com");
	ck_assert_int_eq(r.v.smtp.code, 250);
	ck_assert(r.has_fact);
	ck_assert_int_eq(r.fact.catch_all, TRI_FALSE);
	ck_assert_uint_eq(r.fact.mx_count, 1);
	ck_assert_str_eq(r.fact.mx[0].host, "mx1.example.com");
	ck_assert_uint_eq(r.fact.mx[0].preference, 10);
	/* ... and is now in c2's L1 */
	ck_assert_int_eq(cache_lookup(c2, "Alice@example.com", &out),
			 CACHE_FRESH);
	ck_assert_int_eq(out.checked_at, v.checked_at);

	/* an absent address of the same domain: a miss with the fact; of
	 * another domain: a miss without */
	fetch(&loop, c2, "bob@example.com", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	ck_assert(!r.has_v);
	ck_assert(r.has_fact);
	fetch(&loop, c2, "bob@example.org", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	ck_assert(!r.has_fact);
	/* local parts are case-sensitive keys: alice is not Alice */
	fetch(&loop, c2, "alice@example.com", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);

	cache_get_stats(c2, &st);
	ck_assert_uint_eq(st.l2_hits, 1);
	ck_assert_uint_eq(st.l2_misses, 3);
	ck_assert_uint_eq(st.l2_errors, 0);
	ck_assert_uint_eq(st.l2_timeouts, 0);
	ck_assert(st.redis_up);
	ck_assert_uint_eq(st.redis_connects, 1);
	redisFree(sc);
	cache_close(c1, NULL, NULL);
	close_cache(&loop, c2);
}
END_TEST

/* TTLs in Redis, by status: the defaults. */
static const struct ttlrow {
	const char *addr;
	enum verdict_reason reason;
	long long ttl; /* -2: no key */
} ttlrows[] = {
    {"a@x.test", REASON_ACCEPTED, 7 * DAY},
    {"b@x.test", REASON_CATCH_ALL, 7 * DAY},
    {"c@x.test", REASON_MAILBOX_FULL, 7 * DAY},
    {"d@x.test", REASON_MAILBOX_NOT_FOUND, 3 * DAY},
    {"e@x.test", REASON_NO_MAIL_SERVER, 3 * DAY},
    {"f@x.test", REASON_TIMEOUT, 300},
    {"g@x.test", REASON_GREYLISTED, 300},
    {"h@x.test", REASON_BLOCKED_TARGET, 300},
    {"i@x.test", REASON_IN_PROGRESS, -2},
    {"j@x.test", REASON_NOT_CHECKED, -2},
    {"k@x.test", REASON_INVALID_SYNTAX, -2},
};

START_TEST(ttl_per_status)
{
	uv_loop_t loop;
	char key[128];
	uv_loop_init(&loop);
	start_redis(NULL);
	struct cache *c = new_l2(&loop, tcp_url(NULL, 0), 500);
	ck_assert(run_until(&loop, is_ready, c, 2000));
	redisContext *sc = sync_open(NULL, 0);
	size_t n = sizeof(ttlrows) / sizeof(ttlrows[0]);

	for (size_t i = 0; i < n; i++)
		store(c, ttlrows[i].addr, ttlrows[i].reason);
	struct cache_fact f = {.catch_all = TRI_TRUE};
	cache_fact_store(c, "x.test", &f);
	struct cache_fact nothing = {.catch_all = TRI_UNKNOWN};
	cache_fact_store(c, "y.test", &nothing);
	wait_key(&loop, sc, "rcptd:v1:domain:x.test");
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "rcptd:v1:verdict:%s",
			 ttlrows[i].addr);
		long long ttl = sync_int(sc, "TTL", key);
		if (ttlrows[i].ttl < 0)
			ck_assert_int_eq(ttl, ttlrows[i].ttl);
		else
			ck_assert_msg(ttl <= ttlrows[i].ttl &&
					  ttl >= ttlrows[i].ttl - 2,
				      "%s: TTL %lld, want %lld", key, ttl,
				      ttlrows[i].ttl);
	}
	ck_assert_int_eq(sync_int(sc, "TTL", "rcptd:v1:domain:x.test"), DAY);
	ck_assert_int_eq(sync_int(sc, "EXISTS", "rcptd:v1:domain:y.test"), 0);
	/* the value is the API JSON, stored as not cached */
	redisReply *rep = redisCommand(sc, "GET rcptd:v1:verdict:a@x.test");
	ck_assert_int_eq(rep->type, REDIS_REPLY_STRING);
	ck_assert_ptr_nonnull(strstr(rep->str, "\"status\":\"deliverable\""));
	ck_assert_ptr_nonnull(strstr(rep->str, "\"cached\":false"));
	freeReplyObject(rep);
	rep = redisCommand(sc, "GET rcptd:v1:domain:x.test");
	ck_assert_str_eq(rep->str, "{\"catch_all\":true,\"mx\":[]}");
	freeReplyObject(rep);
	/* every key we wrote has a TTL */
	rep = redisCommand(sc, "KEYS *");
	for (size_t i = 0; i < rep->elements; i++)
		ck_assert_int_gt(sync_int(sc, "TTL", rep->element[i]->str), 0);
	freeReplyObject(rep);
	redisFree(sc);
	close_cache(&loop, c);
}
END_TEST

/* The no-overwrite rule in Redis (SET NX for unknown verdicts), seen by
 * another instance that has nothing in L1. */
START_TEST(no_overwrite_in_redis)
{
	uv_loop_t loop;
	struct fetched r;
	uv_loop_init(&loop);
	start_redis(NULL);
	struct cache *c1 = new_l2(&loop, tcp_url(NULL, 0), 500);
	struct cache *c2 = new_l2(&loop, tcp_url(NULL, 0), 500);
	ck_assert(run_until(&loop, is_ready, c1, 2000));
	ck_assert(run_until(&loop, is_ready, c2, 2000));
	redisContext *sc = sync_open(NULL, 0);

	store(c1, "good@x.test", REASON_ACCEPTED);
	store(c2, "good@x.test", REASON_TIMEOUT); /* another instance fails */
	store(c1, "bad@x.test", REASON_MAILBOX_NOT_FOUND);
	store(c2, "bad@x.test", REASON_GREYLISTED);
	store(c1, "then@x.test", REASON_TIMEOUT);
	store(c2, "then@x.test", REASON_ACCEPTED);
	barrier(&loop, c1);
	barrier(&loop, c2);

	struct cache *c3 = new_l2(&loop, tcp_url(NULL, 0), 500);
	ck_assert(run_until(&loop, is_ready, c3, 2000));
	fetch(&loop, c3, "good@x.test", &r, NULL);
	ck_assert_int_eq(r.v.reason, REASON_ACCEPTED);
	fetch(&loop, c3, "bad@x.test", &r, NULL);
	ck_assert_int_eq(r.v.reason, REASON_MAILBOX_NOT_FOUND);
	fetch(&loop, c3, "then@x.test", &r, NULL);
	ck_assert_int_eq(r.v.reason, REASON_ACCEPTED);
	ck_assert_int_gt(sync_int(sc, "TTL", "rcptd:v1:verdict:then@x.test"),
			 300);
	redisFree(sc);
	cache_close(c1, NULL, NULL);
	cache_close(c2, NULL, NULL);
	close_cache(&loop, c3);
}
END_TEST

/* Lifetimes of an L2 hit count from its checked_at. */
START_TEST(stale_and_expired_from_l2)
{
	uv_loop_t loop;
	struct verdict v, out;
	struct fetched r;
	uv_loop_init(&loop);
	start_redis(NULL);
	struct cache *c1 = new_l2(&loop, tcp_url(NULL, 0), 500);
	struct cache *c2 = new_l2(&loop, tcp_url(NULL, 0), 500);
	ck_assert(run_until(&loop, is_ready, c1, 2000));
	ck_assert(run_until(&loop, is_ready, c2, 2000));
	redisContext *sc = sync_open(NULL, 0);

	mk(&v, "old@x.test", REASON_ACCEPTED);
	v.checked_at -= 2 * DAY; /* past its 1 d refresh */
	cache_store(c1, &v);
	mk(&v, "older@x.test", REASON_ACCEPTED);
	v.checked_at -= 8 * DAY; /* past its 7 d expiry */
	cache_store(c1, &v);
	mk(&v, "neg@x.test", REASON_MAILBOX_NOT_FOUND);
	v.checked_at -= 3600; /* within its 3 h refresh */
	cache_store(c1, &v);
	wait_key(&loop, sc, "rcptd:v1:verdict:neg@x.test");

	fetch(&loop, c2, "old@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_STALE);
	ck_assert_int_eq(r.v.cached, true);
	ck_assert_int_eq(cache_lookup(c2, "old@x.test", &out), CACHE_STALE);
	fetch(&loop, c2, "older@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	ck_assert(!r.has_v);
	fetch(&loop, c2, "neg@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);
	ck_assert_int_eq(cache_lookup(c2, "neg@x.test", &out), CACHE_FRESH);

	/* a value that is not ours is a miss (and an error), not a crash */
	redisReply *rep =
	    redisCommand(sc, "SET rcptd:v1:verdict:junk@x.test {\"a\":1}");
	freeReplyObject(rep);
	rep = redisCommand(sc, "SET rcptd:v1:verdict:other@x.test %s",
			   "{\"email\":1}");
	freeReplyObject(rep);
	fetch(&loop, c2, "junk@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	struct cache_stats st;
	cache_get_stats(c2, &st);
	ck_assert_uint_eq(st.l2_errors, 1);
	redisFree(sc);
	cache_close(c1, NULL, NULL);
	close_cache(&loop, c2);
}
END_TEST

START_TEST(down_at_start_then_up)
{
	uv_loop_t loop;
	struct verdict out;
	struct fetched r;
	struct cache_stats st;
	unsigned ms;
	uv_loop_init(&loop);
	struct cache *c = new_l2(&loop, tcp_url(NULL, 0), 300);

	ck_assert(!cache_redis_ready(c));
	ck_assert_int_eq(fetch(&loop, c, "a@x.test", &r, &ms), CACHE_NO_L2);
	ck_assert_uint_lt(ms, 50);
	store(c, "a@x.test", REASON_ACCEPTED); /* L1 still works */
	ck_assert_int_eq(cache_lookup(c, "a@x.test", &out), CACHE_FRESH);
	run_until(&loop, never, NULL, 300); /* a few attempts fail */
	cache_get_stats(c, &st);
	ck_assert(!st.redis_up);
	ck_assert_msg(st.redis_reconnects >= 1, "%s", st.redis_error);
	ck_assert_msg(strstr(st.redis_error, "refused") != NULL, "%s",
		      st.redis_error);
	ck_assert_uint_ge(st.l2_unavailable, 1);

	start_redis(NULL);
	ck_assert(run_until(&loop, is_ready, c, 6000));
	store(c, "b@x.test", REASON_MAILBOX_NOT_FOUND);
	fetch(&loop, c, "b@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);
	ck_assert_int_eq(r.v.reason, REASON_MAILBOX_NOT_FOUND);
	/* what was stored while down never reached Redis */
	fetch(&loop, c, "a@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	cache_get_stats(c, &st);
	ck_assert(st.redis_up);
	ck_assert_uint_eq(st.redis_connects, 1);
	close_cache(&loop, c);
}
END_TEST

START_TEST(killed_mid_run_then_restarted)
{
	uv_loop_t loop;
	struct fetched r;
	struct cache_stats st;
	unsigned ms;
	uv_loop_init(&loop);
	start_redis(NULL);
	struct cache *c = new_l2(&loop, tcp_url(NULL, 0), 200);
	ck_assert(run_until(&loop, is_ready, c, 2000));
	store(c, "a@x.test", REASON_ACCEPTED);
	fetch(&loop, c, "a@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);

	stop_server(); /* SIGKILL */
	/* in flight when it died: a miss within the deadline */
	int rc = fetch(&loop, c, "a@x.test", &r, &ms);
	if (rc == CACHE_PENDING) {
		ck_assert_int_eq(r.hit, CACHE_MISS);
		ck_assert_uint_lt(ms, 200 + 150);
	}
	ck_assert(run_until(&loop, is_down, c, 1000));
	/* known down: "no L2" at once; stores are dropped quietly */
	ck_assert_int_eq(fetch(&loop, c, "a@x.test", &r, &ms), CACHE_NO_L2);
	ck_assert_uint_lt(ms, 50);
	store(c, "b@x.test", REASON_ACCEPTED);

	start_redis(NULL); /* empty: no persistence */
	ck_assert(run_until(&loop, is_ready, c, 6000));
	fetch(&loop, c, "a@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	store(c, "c@x.test", REASON_ACCEPTED);
	fetch(&loop, c, "c@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.redis_connects, 2);
	ck_assert_uint_ge(st.redis_reconnects, 1);
	ck_assert(st.redis_up);
	close_cache(&loop, c);
}
END_TEST

/* A server that completes the handshake, then never answers again. */
START_TEST(hung_server_deadline)
{
	uv_loop_t loop;
	struct fetched r;
	struct cache_stats st;
	unsigned ms;
	uv_loop_init(&loop);
	start_listener(true);
	struct cache *c = new_l2(&loop, tcp_url(NULL, 0), 150);
	ck_assert(run_until(&loop, is_ready, c, 2000));

	ck_assert_int_eq(fetch(&loop, c, "a@x.test", &r, &ms), CACHE_PENDING);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	ck_assert_uint_ge(ms, 140);
	ck_assert_uint_lt(ms, 150 + 200);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l2_timeouts, 1);
	ck_assert(st.redis_up); /* one deadline is not a dead server */

	/* two more in a row: the connection is dropped and redone */
	fetch(&loop, c, "b@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	fetch(&loop, c, "c@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_MISS);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.l2_timeouts, 3);
	ck_assert(!st.redis_up);
	ck_assert_msg(strstr(st.redis_error, "unanswered") != NULL, "%s",
		      st.redis_error);
	ck_assert(run_until(&loop, is_ready, c, 2000));
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.redis_connects, 2);
	close_cache(&loop, c);
}
END_TEST

/* A server that accepts and never says a word: never ready, every fetch
 * is "no L2" at once, the handshake deadline keeps retrying. */
START_TEST(silent_server_never_ready)
{
	uv_loop_t loop;
	struct fetched r;
	struct cache_stats st;
	unsigned ms;
	uv_loop_init(&loop);
	start_listener(false);
	struct cache *c = new_l2(&loop, tcp_url(NULL, 0), 150);

	ck_assert(!run_until(&loop, is_ready, c, 1300));
	ck_assert_int_eq(fetch(&loop, c, "a@x.test", &r, &ms), CACHE_NO_L2);
	ck_assert_uint_lt(ms, 50);
	cache_get_stats(c, &st);
	ck_assert_msg(strstr(st.redis_error, "no answer to PING within 500") !=
			  NULL,
		      "%s", st.redis_error);
	ck_assert_uint_ge(st.redis_reconnects, 1);
	ck_assert_uint_eq(st.redis_connects, 0);
	close_cache(&loop, c);
}
END_TEST

START_TEST(auth_and_select)
{
	uv_loop_t loop;
	struct fetched r;
	struct cache_stats st;
	uv_loop_init(&loop);
	start_redis("s3cret");

	struct cache *c = new_l2(&loop, tcp_url(":s3cret@", 3), 500);
	struct cache *acl = new_l2(&loop, tcp_url("default:s3cret@", 2), 500);
	struct cache *bad = new_l2(&loop, tcp_url(":wrong@", 0), 500);
	ck_assert(run_until(&loop, is_ready, c, 2000));
	ck_assert(run_until(&loop, is_ready, acl, 2000));
	store(c, "a@x.test", REASON_ACCEPTED);
	store(acl, "b@x.test", REASON_ACCEPTED);

	redisContext *s3 = sync_open("s3cret", 3);
	wait_key(&loop, s3, "rcptd:v1:verdict:a@x.test");
	ck_assert_int_eq(sync_int(s3, "EXISTS", "rcptd:v1:verdict:b@x.test"),
			 0);
	redisContext *s0 = sync_open("s3cret", 0);
	ck_assert_int_eq(sync_int(s0, "EXISTS", "rcptd:v1:verdict:a@x.test"),
			 0);
	redisContext *s2 = sync_open("s3cret", 2);
	wait_key(&loop, s2, "rcptd:v1:verdict:b@x.test");
	fetch(&loop, c, "a@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);

	ck_assert(!run_until(&loop, is_ready, bad, 300));
	cache_get_stats(bad, &st);
	ck_assert_msg(strstr(st.redis_error, "AUTH refused") != NULL, "%s",
		      st.redis_error);
	redisFree(s0);
	redisFree(s2);
	redisFree(s3);
	cache_close(bad, NULL, NULL);
	cache_close(acl, NULL, NULL);
	close_cache(&loop, c);
}
END_TEST

START_TEST(unix_socket_and_hostname)
{
	uv_loop_t loop;
	struct fetched r;
	char url[256];
	uv_loop_init(&loop);
	start_redis(NULL);

	snprintf(url, sizeof(url), "unix://%s?db=1", sock_path);
	struct cache *c = new_l2(&loop, url, 500);
	/* a name goes through the thread pool's resolver ("localhost" is in
	 * /etc/hosts: no DNS traffic) */
	snprintf(url, sizeof(url), "redis://localhost:%u/1", port);
	struct cache *h = new_l2(&loop, url, 500);
	ck_assert(run_until(&loop, is_ready, c, 2000));
	ck_assert(run_until(&loop, is_ready, h, 2000));
	store(c, "a@x.test", REASON_ACCEPTED);
	barrier(&loop, c);
	fetch(&loop, h, "a@x.test", &r, NULL);
	ck_assert_int_eq(r.hit, CACHE_FRESH);
	cache_close(h, NULL, NULL);
	close_cache(&loop, c);
}
END_TEST

static int closed_order;

static void on_closed_order(void *data)
{
	(void)data;
	closed_order = ++sequence;
}

START_TEST(cancel_and_close)
{
	uv_loop_t loop;
	struct fetched r1, r2;
	struct cache_req *req;
	uv_loop_init(&loop);
	start_redis(NULL);
	struct cache *c = new_l2(&loop, tcp_url(NULL, 0), 500);
	ck_assert(run_until(&loop, is_ready, c, 2000));
	store(c, "a@x.test", REASON_ACCEPTED);

	/* cancelled: the callback never runs, the late reply is harmless */
	memset(&r1, 0, sizeof(r1));
	ck_assert_int_eq(cache_fetch(c, "a@x.test", on_fetched, &r1, &req),
			 CACHE_PENDING);
	cache_cancel(req);
	run_until(&loop, never, NULL, 100);
	ck_assert(!r1.done);

	/* pending at close: a miss, on a later turn, before the close
	 * callback */
	memset(&r2, 0, sizeof(r2));
	sequence = 0;
	ck_assert_int_eq(cache_fetch(c, "a@x.test", on_fetched, &r2, NULL),
			 CACHE_PENDING);
	cache_close(c, on_closed_order, NULL);
	ck_assert(!r2.done);
	ck_assert_int_eq(closed_order, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert(r2.done);
	ck_assert_int_eq(r2.hit, CACHE_MISS);
	ck_assert_int_eq(r2.order, 1);
	ck_assert_int_eq(closed_order, 2);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *t = tcase_create("l1_lifetimes");
	tcase_add_loop_test(t, lifetime_per_status, 0,
			    sizeof(lives) / sizeof(lives[0]));
	tcase_add_loop_test(t, not_cached, 0,
			    sizeof(uncached) / sizeof(uncached[0]));
	suite_add_tcase(s, t);
	t = tcase_create("l1_bounds");
	tcase_add_test(t, lru_eviction_order);
	tcase_add_test(t, byte_bound);
	suite_add_tcase(s, t);
	t = tcase_create("l1_no_overwrite");
	tcase_add_loop_test(t, no_overwrite_rule, 0,
			    sizeof(overwrites) / sizeof(overwrites[0]));
	tcase_add_test(t, failed_refresh_defers_next);
	suite_add_tcase(s, t);
	t = tcase_create("config");
	tcase_add_loop_test(t, bad_config, 0,
			    sizeof(badcfgs) / sizeof(badcfgs[0]));
	tcase_add_test(t, refresh_above_ttl_is_cut);
	suite_add_tcase(s, t);

	t = tcase_create("redis");
	tcase_add_unchecked_fixture(t, dir_setup, dir_teardown);
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, store_then_fetch_from_l2);
	tcase_add_test(t, ttl_per_status);
	tcase_add_test(t, no_overwrite_in_redis);
	tcase_add_test(t, stale_and_expired_from_l2);
	tcase_add_test(t, auth_and_select);
	tcase_add_test(t, unix_socket_and_hostname);
	tcase_add_test(t, cancel_and_close);
	suite_add_tcase(s, t);
	t = tcase_create("redis_failures");
	tcase_add_unchecked_fixture(t, dir_setup, dir_teardown);
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, down_at_start_then_up);
	tcase_add_test(t, killed_mid_run_then_restarted);
	tcase_add_test(t, hung_server_deadline);
	tcase_add_test(t, silent_server_never_ready);
	suite_add_tcase(s, t);
	return s;
}
