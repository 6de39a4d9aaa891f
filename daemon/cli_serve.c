/* cli_serve - `rcptd serve`: the HTTP API daemon.
 *
 * Start-up, in order, each failure one line naming the option and exit 2:
 * configuration, log, --user looked up, domain lists, network policy,
 * the listening sockets bound (one per loop, SO_REUSEPORT), privileges
 * dropped (--user, when started as root), then per loop: resolver,
 * engine, verdict cache, verifier and HTTP. Everything is built on the
 * main thread; with --threads N the loops 1..N-1 then run on threads of
 * their own (libuv allows a loop to be set up on one thread and run on
 * another), loop 0 on the main thread, which also owns the signals.
 *
 * Signals (uv_signal_t on loop 0):
 *   SIGTERM, SIGINT  stop accepting, let requests in flight finish for up
 *                    to --shutdown-timeout (those still waiting then are
 *                    answered in_progress), then close and exit 0.
 *   SIGHUP           reload the domain lists; on a bad file the old lists
 *                    stay and the error is logged.
 * Commands reach the other loops through a uv_async_t and a word of
 * flags; a loop tells the main thread it is done (drained, or the new
 * lists are in place) through another uv_async_t. The only state the
 * loops share is read-only (configuration, policy, lists until every loop
 * has swapped them) or built for it (metrics shards, the rate limiter).
 *
 * Teardown runs on the main thread once every loop has stopped, one loop
 * after another: c-ares' library init/cleanup counter is not thread-safe
 * (resolver.h), so resolvers are closed one at a time.
 *
 * Exit statuses: 0 after a signal, 1 a run-time failure, 2 a usage or
 * configuration error. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "api/http.h"
#include "api/jobs_route.h"
#include "api/metrics.h"
#include "api/ratelimit.h"
#include "core/lists.h"
#include "daemon/cache.h"
#include "daemon/cli.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/hostgate.h"
#include "daemon/jobq.h"
#include "daemon/jobstore.h"
#include "daemon/listfiles.h"
#include "daemon/log.h"
#include "daemon/setup.h"
#include "daemon/verifier.h"

/* Commands to a loop (bits of worker.cmd). */
#define CMD_DRAIN  0x1u
#define CMD_RELOAD 0x2u

/* How often a loop copies its statistics for /metrics served by another
 * loop: a scrape is rarely more often than every 10 s. */
#define COLLECT_INTERVAL_MS 1000

/* Descriptors a loop needs beyond its HTTP connections: SMTP sessions
 * (--concurrency), DNS, Redis, epoll and timers. */
#define FDS_PER_LOOP_EXTRA 64

struct serve;

struct worker {
	struct serve *s;
	unsigned idx;
	uv_loop_t loop;
	uv_async_t async;   /* main -> this loop */
	uv_timer_t collect; /* statistics for the metrics shard */
	pthread_t tid;
	bool thread;  /* runs on a thread of its own */
	unsigned cmd; /* CMD_*, atomic */
	struct resolver *res;
	struct engine *eng;
	struct cache *cache;
	struct hostgate *gate; /* per-host slots shared through Redis */
	struct verifier *ver;
	struct http *http;
	struct jobs_binding jobs; /* the loop's data: its job store */
	struct jobq *jq;	  /* with --redis: jobs on Redis Streams */
	bool jobs_attached;
	int listen_fd;
	bool handles; /* async and collect initialised */
	bool drained, torn_down;
};

struct serve {
	struct config c;
	struct netpolicy policy;
	struct lists *lists;	  /* in use by every loop */
	struct lists *lists_next; /* being installed */
	unsigned reload_acks;	  /* loops yet to swap, atomic */
	struct metrics *metrics;
	struct ratelimit *rl;
	struct jobstore *jobs; /* shared by the loops (jobstore.h) */
	unsigned n;
	struct worker *w;
	uv_loop_t *main_loop; /* w[0].loop */
	uv_signal_t sigterm, sigint, sighup;
	uv_async_t main_async; /* loops -> main */
	unsigned running;      /* loops not yet drained, atomic */
	bool stopping;
};

static void serve_usage(FILE *out)
{
	fprintf(out, "usage: rcptd serve [options]\n\n"
		     "Serve the HTTP API (GET/POST /v1/verify, /v1/jobs, "
		     "/healthz, /readyz, /metrics).\n\n");
	config_usage(out, SCOPE_SERVE);
}

/* ---- per-loop hooks --------------------------------------------------- */

static bool hook_ready(void *data, char *why, size_t len)
{
	struct worker *w = data;

	if (w->cache && cache_redis_configured(w->cache) &&
	    !cache_redis_ready(w->cache)) {
		snprintf(why, len, "redis is not answering");
		return false;
	}
	return true;
}

static void hook_collect(void *data, struct metrics_collected *c)
{
	struct worker *w = data;
	struct engine_stats es;

	engine_get_stats(w->eng, &es);
	c->probes = es.requests;
	c->probes_coalesced = es.coalesced;
	c->smtp_sessions = es.sessions;
	c->smtp_session_errors = es.session_failures;
	c->smtp_sessions_active = es.active_sessions;
	c->probes_pending = es.pending;
	if (w->cache) {
		struct cache_stats cs;
		cache_get_stats(w->cache, &cs);
		c->cache = true;
		c->cache_hits[METRICS_TIER_L1] = cs.l1_hits + cs.l1_stale;
		c->cache_misses[METRICS_TIER_L1] = cs.l1_misses;
		c->cache_hits[METRICS_TIER_L2] = cs.l2_hits;
		c->cache_misses[METRICS_TIER_L2] = cs.l2_misses + cs.l2_errors +
						   cs.l2_timeouts +
						   cs.l2_unavailable;
	}
	if (w->jq) {
		struct jobq_stats js;
		jobq_get_stats(w->jq, &js);
		c->jobs = true;
		c->job_chunks_taken = js.chunks_taken;
		c->job_chunks_claimed = js.chunks_claimed;
		c->job_chunks_done = js.chunks_done;
		c->job_rows_stored = js.rows_stored;
		c->job_chunks_held = js.chunks_held;
	}
}

static void on_collect(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct metrics_collected c = {0};

	hook_collect(w, &c);
	metrics_set_collected(w->s->metrics, w->idx, &c);
}

/* ---- commands between loops ------------------------------------------- */

static void post(struct worker *w, unsigned cmd)
{
	__atomic_fetch_or(&w->cmd, cmd, __ATOMIC_RELEASE);
	uv_async_send(&w->async);
}

/* on_drained - this loop has no request left: stop it (its engine may
 * still have probes running; they end at teardown). */
static void on_drained(void *data)
{
	struct worker *w = data;
	struct serve *s = w->s;

	w->drained = true;
	uv_timer_stop(&w->collect);
	__atomic_fetch_sub(&s->running, 1, __ATOMIC_ACQ_REL);
	if (w->thread)
		uv_stop(&w->loop);
	uv_async_send(&s->main_async);
}

static void worker_drain(struct worker *w)
{
	http_drain(w->http, w->s->c.shutdown_timeout, on_drained, w);
}

static void worker_reload(struct worker *w)
{
	struct serve *s = w->s;
	struct lists *next = __atomic_load_n(&s->lists_next, __ATOMIC_ACQUIRE);

	verifier_set_lists(w->ver, next);
	__atomic_fetch_sub(&s->reload_acks, 1, __ATOMIC_ACQ_REL);
	uv_async_send(&s->main_async);
}

static void on_worker_async(uv_async_t *a)
{
	struct worker *w = a->data;
	unsigned cmd = __atomic_exchange_n(&w->cmd, 0, __ATOMIC_ACQUIRE);

	if (cmd & CMD_RELOAD)
		worker_reload(w);
	if (cmd & CMD_DRAIN)
		worker_drain(w);
}

/* on_main_async - a loop finished its reload or its drain. */
static void on_main_async(uv_async_t *a)
{
	struct serve *s = a->data;

	if (s->lists_next &&
	    __atomic_load_n(&s->reload_acks, __ATOMIC_ACQUIRE) == 0) {
		lists_release(s->lists);
		free(s->lists);
		s->lists = s->lists_next;
		s->lists_next = NULL;
		log_info("domain lists reloaded");
	}
	if (s->stopping && __atomic_load_n(&s->running, __ATOMIC_ACQUIRE) == 0)
		uv_stop(s->main_loop);
}

static void on_stop_signal(uv_signal_t *sig, int signum)
{
	struct serve *s = sig->data;

	if (s->stopping) {
		log_warn("%s again: still finishing requests (at most %u ms)",
			 strsignal(signum), s->c.shutdown_timeout);
		return;
	}
	s->stopping = true;
	log_info("%s: no new connections; finishing requests in flight",
		 strsignal(signum));
	for (unsigned i = 0; i < s->n; i++) {
		if (s->w[i].thread)
			post(&s->w[i], CMD_DRAIN);
		else
			worker_drain(&s->w[i]);
	}
}

static void on_hup(uv_signal_t *sig, int signum)
{
	struct serve *s = sig->data;
	struct lists *next;
	char err[512];

	(void)signum;
	if (s->stopping)
		return;
	if (s->lists_next) {
		log_warn("SIGHUP: the previous reload is not finished; "
			 "ignored");
		return;
	}
	next = calloc(1, sizeof(*next));
	if (next == NULL) {
		log_error("SIGHUP: out of memory; the lists are unchanged");
		return;
	}
	/* Reading the files blocks this loop for as long as it takes
	 * (milliseconds for the public lists); reloads are rare. */
	if (listfiles_load(next, &s->c, err, sizeof(err)) < 0) {
		log_error("SIGHUP: %s; the lists are unchanged", err);
		free(next);
		return;
	}
	__atomic_store_n(&s->reload_acks, s->n, __ATOMIC_RELEASE);
	__atomic_store_n(&s->lists_next, next, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < s->n; i++) {
		if (s->w[i].thread)
			post(&s->w[i], CMD_RELOAD);
		else
			worker_reload(&s->w[i]);
	}
}

/* ---- start-up ----------------------------------------------------------- */

/* raise_nofile - the soft descriptor limit up to the hard one: every
 * connection and SMTP session is a descriptor. Warns when even that is
 * short of what the limits allow. */
static void raise_nofile(const struct config *c, unsigned n)
{
	struct rlimit rl;
	unsigned long long need =
	    (unsigned long long)c->max_connections +
	    (unsigned long long)n * (c->concurrency + FDS_PER_LOOP_EXTRA);

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("the descriptor limit (%llu) is below what "
			 "--max-connections and --concurrency may need "
			 "(%llu): raise it (ulimit -n, LimitNOFILE=)",
			 (unsigned long long)rl.rlim_cur, need);
}

/* drop_privileges - become @pw after binding (setgroups first: it needs
 * root; then the group, then the user, which is the point of no
 * return). */
static int drop_privileges(const struct passwd *pw, char *err, size_t len)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(err, len, "--user %s: cannot switch: %s", pw->pw_name,
			 strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, len, "--user %s: root privileges came back",
			 pw->pw_name);
		return -1;
	}
	return 0;
}

/* cache_setup - the loop's verdict cache: --cache-size is the total
 * over all loops, each loop holding its share. */
static int cache_setup(struct worker *w, char *err, size_t len)
{
	const struct config *c = &w->s->c;
	struct cache_config cc;

	setup_cache_config(c, w->s->n, &cc);
	return cache_new(&w->loop, &cc, &w->cache, err, len);
}

/* jobs_new - the job store of every loop: in process (lost on a
 * restart; see jobstore.h). */
static struct jobstore *jobs_new(const struct config *c, unsigned loops)
{
	struct jobstore_config jc = {
	    .max_rows = c->max_job_size,
	    .max_jobs_per_owner = c->max_jobs_per_key,
	    .retention_ms = c->job_retention,
	};

	setup_job_config(c, &jc.job);
	return jobstore_new(&jc, loops);
}

/* worker_setup - everything of one loop, on the main thread. */
static int worker_setup(struct worker *w, char *err, size_t len)
{
	struct serve *s = w->s;
	const struct config *c = &s->c;
	struct http_config hc = {
	    .request_timeout_ms = c->request_timeout,
	    .wait_max_ms = c->probe_timeout > c->request_timeout
			       ? c->probe_timeout
			       : c->request_timeout,
	    .max_body = c->max_body,
	    .max_batch = c->max_batch,
	    .max_connections = (c->max_connections + s->n - 1) / s->n,
	    /* Not divided: the kernel spreads one client's connections
	     * unevenly over the loops, and a client within its limit must
	     * never be refused; with N loops it may hold up to N times. */
	    .max_connections_per_ip = c->max_connections_per_ip,
	    .idle_timeout_ms = c->idle_timeout,
	    .api_keys = (const char *const *)c->api_key.item,
	    .api_key_count = c->api_key.count,
	    .cors_origins = (const char *const *)c->cors_origin.item,
	    .cors_origin_count = c->cors_origin.count,
	    .access_log = c->access_log,
	    .version = RCPTD_VERSION,
	};
	struct http_hooks hooks = {hook_ready, hook_collect, w};
	int fd = w->listen_fd;

	w->listen_fd = -1;
	if (setup_engine(&w->loop, c, &s->policy, DIALOG_TRANSCRIPT_MAX,
			 &w->res, &w->eng, err, len) < 0) {
		close(fd);
		return -1;
	}
	if (cache_setup(w, err, len) < 0) {
		close(fd);
		return -1;
	}
	/* With Redis, --per-host-concurrency holds across every instance
	 * that shares it. */
	if (c->redis && c->redis[0]) {
		struct engine_gate eg;
		if (hostgate_new(&w->loop, c->redis, c->redis_timeout,
				 HOSTGATE_LEASE_MS, &w->gate, err, len) < 0) {
			close(fd);
			return -1;
		}
		hostgate_engine_gate(w->gate, &eg);
		engine_set_gate(w->eng, &eg);
	}
	w->ver = verifier_new(w->eng, w->cache, s->lists, 0);
	if (w->ver == NULL) {
		snprintf(err, len, "out of memory");
		close(fd);
		return -1;
	}
	if (jobstore_attach(s->jobs, w->idx, &w->loop, w->ver) < 0) {
		snprintf(err, len, "out of memory");
		close(fd);
		return -1;
	}
	w->jobs_attached = true;
	/* With Redis, jobs live there (any instance takes their rows); the
	 * in-process store stays for nothing but a job route's fallback. */
	if (c->redis && c->redis[0]) {
		struct jobq_config qc = {
		    .redis_url = c->redis,
		    .timeout_ms = c->redis_timeout,
		    .max_rows = c->max_job_size,
		    .max_jobs_per_owner = c->max_jobs_per_key,
		    .retention_ms = c->job_retention,
		    .claim_timeout_ms = c->job_claim_timeout,
		};
		setup_job_config(c, &qc.job);
		if (jobq_new(&w->loop, &qc, w->ver, &w->jq, err, len) < 0) {
			close(fd);
			return -1;
		}
	}
	jobs_route_bind(&w->jobs, s->jobs, w->jq, w->idx, c->max_job_body);
	hc.jobs = &w->jobs;
	if (http_new(&w->loop, &hc, fd, w->ver, s->metrics, w->idx, s->rl,
		     &hooks, &w->http, err, len) < 0)
		return -1;
	uv_async_init(&w->loop, &w->async, on_worker_async);
	w->async.data = w;
	uv_timer_init(&w->loop, &w->collect);
	w->collect.data = w;
	w->handles = true;
	if (s->n > 1)
		uv_timer_start(&w->collect, on_collect, COLLECT_INTERVAL_MS,
			       COLLECT_INTERVAL_MS);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ---- teardown ------------------------------------------------------------ */

static void on_resolver_closed(void *data)
{
	(void)data;
}

static void on_cache_closed(void *data)
{
	struct worker *w = data;

	w->cache = NULL;
	if (w->ver)
		verifier_free(w->ver);
	w->ver = NULL;
	if (w->res)
		resolver_close(w->res, on_resolver_closed, w);
	w->res = NULL;
}

/* on_engine_closed - the engine's last requests have reached the
 * verifier (and through it the cache); the cache goes next. */
static void on_engine_closed(void *data)
{
	struct worker *w = data;

	w->eng = NULL;
	if (w->gate) /* the engine asks it nothing more */
		hostgate_close(w->gate, NULL, NULL);
	w->gate = NULL;
	if (w->cache)
		cache_close(w->cache, on_cache_closed, w);
	else
		on_cache_closed(w);
}

/* worker_teardown - close one loop's parts in dependency order and run
 * the loop until the last handle is gone. Main thread, after the loop's
 * own thread (if any) has returned. */
static void worker_teardown(struct worker *w)
{
	if (w->torn_down)
		return;
	w->torn_down = true;
	if (w->http)
		http_free(w->http, NULL, NULL);
	w->http = NULL;
	if (w->jobs_attached)
		jobstore_detach(w->s->jobs, w->idx); /* before the verifier */
	w->jobs_attached = false;
	if (w->jq) /* its chunks let go, before the verifier closes */
		jobq_close(w->jq, NULL, NULL);
	w->jq = NULL;
	if (w->ver)
		verifier_close(w->ver);
	if (w->eng)
		engine_close(w->eng, on_engine_closed, w);
	else if (w->cache)
		cache_close(w->cache, on_cache_closed, w);
	else
		on_cache_closed(w);
	if (w->handles) {
		uv_close((uv_handle_t *)&w->async, NULL);
		uv_close((uv_handle_t *)&w->collect, NULL);
	}
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w->loop) != 0)
		log_error("loop %u closed with handles still open", w->idx);
}

/* ---- the command ---------------------------------------------------------
 */

static int serve_run(struct serve *s, int *fds, const struct passwd *pw)
{
	char err[512];
	unsigned i, started = 0;
	int rc = 1;

	s->w = calloc(s->n, sizeof(*s->w));
	s->metrics = metrics_new(s->n);
	s->jobs = jobs_new(&s->c, s->n);
	if (s->w == NULL || s->metrics == NULL || s->jobs == NULL) {
		fprintf(stderr, "rcptd serve: out of memory\n");
		goto out_fds;
	}
	if (s->c.rate_limit) {
		s->rl = ratelimit_new(s->c.rate_limit, s->c.rate_burst, 0, 0);
		if (s->rl == NULL) {
			fprintf(stderr, "rcptd serve: out of memory\n");
			goto out_fds;
		}
	}
	if (pw && drop_privileges(pw, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd serve: %s\n", err);
		rc = 2;
		goto out_fds;
	}
	for (i = 0; i < s->n; i++) {
		struct worker *w = &s->w[i];
		w->s = s;
		w->idx = i;
		w->listen_fd = fds[i];
		fds[i] = -1;
		if (uv_loop_init(&w->loop) < 0) {
			fprintf(stderr, "rcptd serve: cannot start an event "
					"loop\n");
			goto out_workers;
		}
		started = i + 1;
		if (worker_setup(w, err, sizeof(err)) < 0) {
			fprintf(stderr, "rcptd serve: %s\n", err);
			rc = 2;
			goto out_workers;
		}
	}
	s->main_loop = &s->w[0].loop;
	uv_signal_init(s->main_loop, &s->sigterm);
	uv_signal_init(s->main_loop, &s->sigint);
	uv_signal_init(s->main_loop, &s->sighup);
	uv_async_init(s->main_loop, &s->main_async, on_main_async);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	s->main_async.data = s;
	uv_signal_start(&s->sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_stop_signal, SIGINT);
	uv_signal_start(&s->sighup, on_hup, SIGHUP);
	s->running = s->n;
	for (i = 1; i < s->n; i++) {
		int e;
		s->w[i].thread = true;
		e = pthread_create(&s->w[i].tid, NULL, worker_main, &s->w[i]);
		if (e != 0) {
			/* The loops started serve; the rest close now. */
			log_error("cannot start loop %u: %s", i, strerror(e));
			for (unsigned j = i; j < s->n; j++) {
				s->w[j].thread = false;
				worker_teardown(&s->w[j]);
			}
			s->running = i;
			s->n = i;
			break;
		}
	}
	log_info("rcptd %s serving http://%s (%u loop%s, cache %u entries%s, "
		 "request timeout %u ms)",
		 RCPTD_VERSION, s->c.listen, s->n, s->n > 1 ? "s" : "",
		 s->c.cache_size, s->c.redis[0] ? " + redis" : "",
		 s->c.request_timeout);
	uv_run(s->main_loop, UV_RUN_DEFAULT);
	rc = 0;
	log_info("no request left; closing");

	for (i = 1; i < started; i++)
		if (s->w[i].thread)
			pthread_join(s->w[i].tid, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);
	uv_close((uv_handle_t *)&s->main_async, NULL);
out_workers:
	for (i = 0; i < started; i++)
		worker_teardown(&s->w[i]);
out_fds:
	for (i = 0; i < s->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	ratelimit_free(s->rl);
	metrics_free(s->metrics);
	jobstore_free(s->jobs);
	free(s->w);
	return rc;
}

int cli_serve(int argc, char **argv, char **envp)
{
	struct serve s = {0};
	struct passwd *pw = NULL;
	int fds[256], first, rc;
	char err[512];

	rc = config_load(&s.c, SCOPE_SERVE, argc, argv, envp, &first, err,
			 sizeof(err));
	if (rc != 0) {
		if (rc > 0)
			serve_usage(stdout);
		else
			fprintf(stderr, "rcptd serve: %s\n", err);
		config_release(&s.c);
		return rc > 0 ? 0 : 2;
	}
	rc = 2;
	if (first != argc) {
		fprintf(stderr, "rcptd serve: unexpected argument '%s'\n",
			argv[first]);
		goto out_config;
	}
	if (log_setup(s.c.log_format, s.c.log_level) < 0) {
		fprintf(stderr,
			"rcptd serve: --log-level: '%s' is not debug, info, "
			"warn or error\n",
			s.c.log_level);
		goto out_config;
	}
	s.n = s.c.threads;
	if (s.n > sizeof(fds) / sizeof(fds[0]) || s.n > METRICS_SHARDS_MAX) {
		fprintf(stderr, "rcptd serve: --threads: at most %zu\n",
			sizeof(fds) / sizeof(fds[0]));
		goto out_config;
	}
	if (s.c.user[0]) {
		errno = 0;
		pw = getpwnam(s.c.user);
		if (pw == NULL) {
			fprintf(stderr, "rcptd serve: --user: no user '%s'\n",
				s.c.user);
			goto out_config;
		}
		if (geteuid() != 0) {
			log_warn("--user %s ignored: not started as root",
				 s.c.user);
			pw = NULL;
		}
	}
	s.lists = calloc(1, sizeof(*s.lists));
	if (s.lists == NULL) {
		fprintf(stderr, "rcptd serve: out of memory\n");
		goto out_config;
	}
	if (listfiles_load(s.lists, &s.c, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd serve: %s\n", err);
		free(s.lists);
		goto out_config;
	}
	if (setup_policy(&s.policy, &s.c, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd serve: %s\n", err);
		goto out_lists;
	}
	setup_helo_warning(s.c.helo);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&s.c, s.n);
	if (http_listen(s.c.listen, s.n, fds, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd serve: %s\n", err);
		goto out_lists;
	}
	rc = serve_run(&s, fds, pw);
out_lists:
	lists_release(s.lists);
	free(s.lists);
	if (s.lists_next) {
		lists_release(s.lists_next);
		free(s.lists_next);
	}
out_config:
	config_release(&s.c);
	return rc;
}
