/* metrics - the fixed Prometheus registry (see metrics.h). */
#include "api/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The status codes rcptd's handlers answer with; anything else (a bug)
 * lands in "other" rather than creating a series. */
static const unsigned code_value[] = {200, 204, 400, 401, 404, 405,
				      413, 415, 429, 500, 503};
#define CODE_OTHER (sizeof(code_value) / sizeof(code_value[0]))
#define CODE_LAST  (CODE_OTHER + 1)

static const char *const route_name[METRICS_ROUTE_LAST] = {
    "verify", "healthz", "readyz", "metrics", "jobs", "other"};
static const char *const tier_name[METRICS_TIER_LAST] = {"l1", "l2"};

/* Request durations: a cache hit is answered in well under a
 * millisecond, a probe within --request-timeout (seconds). */
static const uint64_t req_bound_us[] = {
    500,    1000,   2500,    5000,    10000,   25000,	 50000,	  100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};
static const char *const req_bound_s[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",   "0.5",   "1",	 "2.5",	  "5",	  "10",	   "30"};
#define REQ_BUCKETS (sizeof(req_bound_us) / sizeof(req_bound_us[0]))

/* Probe durations: DNS plus an SMTP dialog, from tens of milliseconds to
 * the probe timeout (60 s by default) and beyond when it is raised. */
static const uint64_t probe_bound_us[] = {
    50000,   100000,   250000,	 500000,   1000000,  2500000,
    5000000, 10000000, 20000000, 30000000, 60000000, 120000000};
static const char *const probe_bound_s[] = {"0.05", "0.1", "0.25", "0.5",
					    "1",    "2.5", "5",	   "10",
					    "20",   "30",  "60",   "120"};
#define PROBE_BUCKETS (sizeof(probe_bound_us) / sizeof(probe_bound_us[0]))

/* A histogram whose buckets are not cumulative here (one add per
 * observation); the renderer accumulates. The last bucket is +Inf. */
struct hist {
	uint64_t bucket[REQ_BUCKETS + 1];
	uint64_t sum_us;
};

/* One loop's counters. Aligned so that two loops never write one cache
 * line. */
struct shard {
	uint64_t requests[METRICS_ROUTE_LAST][CODE_LAST];
	struct hist req[METRICS_ROUTE_LAST];
	uint64_t verdicts[REASON_LAST];
	struct hist probe;
	uint64_t connections, waiting;
	struct metrics_collected col;
} __attribute__((aligned(64)));

struct metrics {
	unsigned nshards;
	struct shard *shards;
};

_Static_assert(PROBE_BUCKETS <= REQ_BUCKETS, "struct hist is too small");

/* add - the single-writer increment: a relaxed load and store is free of
 * data races for the readers and needs no locked instruction. */
static inline void add(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static inline void set(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

struct metrics *metrics_new(unsigned shards)
{
	struct metrics *m;

	if (shards == 0 || shards > METRICS_SHARDS_MAX)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->shards = aligned_alloc(64, sizeof(struct shard) * shards);
	if (m->shards == NULL) {
		free(m);
		return NULL;
	}
	memset(m->shards, 0, sizeof(struct shard) * shards);
	m->nshards = shards;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->shards);
	free(m);
}

static struct shard *shard_of(struct metrics *m, unsigned shard)
{
	if (shard >= m->nshards)
		abort(); /* a loop without a shard is a set-up bug */
	return &m->shards[shard];
}

static void observe(struct hist *h, const uint64_t *bounds, size_t n,
		    uint64_t usec)
{
	size_t i = 0;

	while (i < n && usec > bounds[i])
		i++;
	add(&h->bucket[i], 1);
	add(&h->sum_us, usec);
}

void metrics_request(struct metrics *m, unsigned shard,
		     enum metrics_route route, unsigned code, uint64_t usec)
{
	struct shard *s = shard_of(m, shard);
	size_t c = 0;

	if ((unsigned)route >= METRICS_ROUTE_LAST)
		route = METRICS_ROUTE_OTHER;
	while (c < CODE_OTHER && code_value[c] != code)
		c++;
	add(&s->requests[route][c], 1);
	observe(&s->req[route], req_bound_us, REQ_BUCKETS, usec);
}

void metrics_verdict(struct metrics *m, unsigned shard,
		     enum verdict_reason reason)
{
	if ((unsigned)reason < REASON_LAST)
		add(&shard_of(m, shard)->verdicts[reason], 1);
}

void metrics_probe(struct metrics *m, unsigned shard, uint32_t ms)
{
	observe(&shard_of(m, shard)->probe, probe_bound_us, PROBE_BUCKETS,
		(uint64_t)ms * 1000);
}

void metrics_gauges(struct metrics *m, unsigned shard, uint64_t connections,
		    uint64_t waiting)
{
	struct shard *s = shard_of(m, shard);

	set(&s->connections, connections);
	set(&s->waiting, waiting);
}

void metrics_set_collected(struct metrics *m, unsigned shard,
			   const struct metrics_collected *c)
{
	struct metrics_collected *d = &shard_of(m, shard)->col;

	set(&d->smtp_sessions, c->smtp_sessions);
	set(&d->smtp_session_errors, c->smtp_session_errors);
	set(&d->probes, c->probes);
	set(&d->probes_coalesced, c->probes_coalesced);
	set(&d->smtp_sessions_active, c->smtp_sessions_active);
	set(&d->probes_pending, c->probes_pending);
	for (int t = 0; t < METRICS_TIER_LAST; t++) {
		set(&d->cache_hits[t], c->cache_hits[t]);
		set(&d->cache_misses[t], c->cache_misses[t]);
	}
	__atomic_store_n(&d->cache, c->cache, __ATOMIC_RELAXED);
	set(&d->job_chunks_taken, c->job_chunks_taken);
	set(&d->job_chunks_claimed, c->job_chunks_claimed);
	set(&d->job_chunks_done, c->job_chunks_done);
	set(&d->job_rows_stored, c->job_rows_stored);
	set(&d->job_chunks_held, c->job_chunks_held);
	__atomic_store_n(&d->jobs, c->jobs, __ATOMIC_RELAXED);
}

/* ---- rendering --------------------------------------------------------- */

/* A string builder with a ceiling; a failure is sticky and checked once. */
struct sb {
	char *p;
	size_t len, cap;
	bool fail;
};

__attribute__((format(printf, 2, 3))) static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->fail)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->fail = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2;
		if (cap > METRICS_TEXT_MAX) {
			b->fail = true;
			return;
		}
		char *np = realloc(b->p, cap);
		if (np == NULL) {
			b->fail = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static void family(struct sb *b, const char *name, const char *type,
		   const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* sum_of - a field of struct shard summed over every shard, by offset. */
static uint64_t sum_of(const struct metrics *m, size_t offset)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < m->nshards; i++)
		total += get(
		    (const uint64_t *)((const char *)&m->shards[i] + offset));
	return total;
}

#define SUM(field) sum_of(m, offsetof(struct shard, field))

/* render_hist - one histogram series; @label is "" or `route="x"`. The
 * _count is the +Inf bucket's value, read once, so that a concurrent
 * observation can never make the two disagree. */
static void render_hist(struct sb *b, const struct metrics *m, const char *name,
			const char *label, size_t offset,
			const char *const *bound_s, size_t nb)
{
	const char *sep = label[0] ? "," : "";
	const char *open = label[0] ? "{" : "";
	const char *close = label[0] ? "}" : "";
	uint64_t cum = 0, sum_us;

	for (size_t i = 0; i <= nb; i++) {
		cum += sum_of(m, offset + offsetof(struct hist, bucket) +
				     i * sizeof(uint64_t));
		sb_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, label,
			  sep, i < nb ? bound_s[i] : "+Inf",
			  (unsigned long long)cum);
	}
	sum_us = sum_of(m, offset + offsetof(struct hist, sum_us));
	sb_printf(b, "%s_sum%s%s%s %llu.%06llu\n", name, open, label, close,
		  (unsigned long long)(sum_us / 1000000),
		  (unsigned long long)(sum_us % 1000000));
	sb_printf(b, "%s_count%s%s%s %llu\n", name, open, label, close,
		  (unsigned long long)cum);
}

char *metrics_render(const struct metrics *m, const char *version, size_t *len)
{
	struct sb b = {.cap = 32 * 1024};
	char label[64];

	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;

	family(&b, "rcptd_http_requests_total", "counter",
	       "HTTP requests answered, by route and status code.");
	for (int r = 0; r < METRICS_ROUTE_LAST; r++)
		for (size_t c = 0; c < CODE_LAST; c++) {
			char code[16];
			if (c < CODE_OTHER)
				snprintf(code, sizeof(code), "%u",
					 code_value[c]);
			else
				snprintf(code, sizeof(code), "other");
			sb_printf(&b,
				  "rcptd_http_requests_total{route=\"%s\","
				  "code=\"%s\"} %llu\n",
				  route_name[r], code,
				  (unsigned long long)SUM(requests[r][c]));
		}

	family(&b, "rcptd_http_request_duration_seconds", "histogram",
	       "Time from a request's headers to its answer being sent.");
	for (int r = 0; r < METRICS_ROUTE_LAST; r++) {
		snprintf(label, sizeof(label), "route=\"%s\"", route_name[r]);
		render_hist(&b, m, "rcptd_http_request_duration_seconds", label,
			    offsetof(struct shard, req[r]), req_bound_s,
			    REQ_BUCKETS);
	}

	family(&b, "rcptd_http_connections", "gauge",
	       "HTTP connections open now.");
	sb_printf(&b, "rcptd_http_connections %llu\n",
		  (unsigned long long)SUM(connections));
	family(&b, "rcptd_http_requests_waiting", "gauge",
	       "HTTP requests waiting for a probe's verdict now.");
	sb_printf(&b, "rcptd_http_requests_waiting %llu\n",
		  (unsigned long long)SUM(waiting));

	family(&b, "rcptd_verdicts_total", "counter",
	       "Verdicts given in API answers, by status and reason.");
	for (int r = 0; r < REASON_LAST; r++)
		sb_printf(&b,
			  "rcptd_verdicts_total{status=\"%s\",reason=\"%s\"} "
			  "%llu\n",
			  verdict_status_name(
			      verdict_reason_status((enum verdict_reason)r)),
			  verdict_reason_name((enum verdict_reason)r),
			  (unsigned long long)SUM(verdicts[r]));

	family(&b, "rcptd_probe_duration_seconds", "histogram",
	       "Duration of the probes whose verdict an API request "
	       "received.");
	render_hist(&b, m, "rcptd_probe_duration_seconds", "",
		    offsetof(struct shard, probe), probe_bound_s,
		    PROBE_BUCKETS);

	family(&b, "rcptd_probes_total", "counter",
	       "Addresses handed to the probe engine.");
	sb_printf(&b, "rcptd_probes_total %llu\n",
		  (unsigned long long)SUM(col.probes));
	family(&b, "rcptd_probes_coalesced_total", "counter",
	       "Probe requests that joined a probe already in flight.");
	sb_printf(&b, "rcptd_probes_coalesced_total %llu\n",
		  (unsigned long long)SUM(col.probes_coalesced));
	family(&b, "rcptd_probes_pending", "gauge",
	       "Probe requests not yet answered.");
	sb_printf(&b, "rcptd_probes_pending %llu\n",
		  (unsigned long long)SUM(col.probes_pending));
	family(&b, "rcptd_smtp_sessions_total", "counter",
	       "SMTP sessions opened.");
	sb_printf(&b, "rcptd_smtp_sessions_total %llu\n",
		  (unsigned long long)SUM(col.smtp_sessions));
	family(&b, "rcptd_smtp_session_errors_total", "counter",
	       "SMTP sessions that failed (connect, timeout, protocol).");
	sb_printf(&b, "rcptd_smtp_session_errors_total %llu\n",
		  (unsigned long long)SUM(col.smtp_session_errors));
	family(&b, "rcptd_smtp_sessions_active", "gauge",
	       "SMTP sessions open now.");
	sb_printf(&b, "rcptd_smtp_sessions_active %llu\n",
		  (unsigned long long)SUM(col.smtp_sessions_active));

	bool cache = false;
	for (unsigned i = 0; i < m->nshards; i++)
		cache |=
		    __atomic_load_n(&m->shards[i].col.cache, __ATOMIC_RELAXED);
	if (cache) {
		family(&b, "rcptd_cache_lookups_total", "counter",
		       "Verdict cache lookups, by tier and result.");
		for (int t = 0; t < METRICS_TIER_LAST; t++) {
			sb_printf(&b,
				  "rcptd_cache_lookups_total{tier=\"%s\","
				  "result=\"hit\"} %llu\n",
				  tier_name[t],
				  (unsigned long long)SUM(col.cache_hits[t]));
			sb_printf(&b,
				  "rcptd_cache_lookups_total{tier=\"%s\","
				  "result=\"miss\"} %llu\n",
				  tier_name[t],
				  (unsigned long long)SUM(col.cache_misses[t]));
		}
	}

	bool jobs = false;
	for (unsigned i = 0; i < m->nshards; i++)
		jobs |=
		    __atomic_load_n(&m->shards[i].col.jobs, __ATOMIC_RELAXED);
	if (jobs) {
		family(&b, "rcptd_job_chunks_total", "counter",
		       "Chunks of jobs (Redis stream entries) this instance "
		       "took (claimed: from a silent worker) and finished.");
		sb_printf(&b, "rcptd_job_chunks_total{event=\"taken\"} %llu\n",
			  (unsigned long long)SUM(col.job_chunks_taken));
		sb_printf(&b,
			  "rcptd_job_chunks_total{event=\"claimed\"} %llu\n",
			  (unsigned long long)SUM(col.job_chunks_claimed));
		sb_printf(&b, "rcptd_job_chunks_total{event=\"done\"} %llu\n",
			  (unsigned long long)SUM(col.job_chunks_done));
		family(&b, "rcptd_job_rows_stored_total", "counter",
		       "Job rows whose result this instance stored.");
		sb_printf(&b, "rcptd_job_rows_stored_total %llu\n",
			  (unsigned long long)SUM(col.job_rows_stored));
		family(&b, "rcptd_job_chunks_held", "gauge",
		       "Chunks of jobs this instance works on now.");
		sb_printf(&b, "rcptd_job_chunks_held %llu\n",
			  (unsigned long long)SUM(col.job_chunks_held));
	}

	family(&b, "rcptd_build_info", "gauge",
	       "Always 1; the version is in the label.");
	sb_printf(&b, "rcptd_build_info{version=\"%s\"} 1\n", version);

	if (b.fail) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
