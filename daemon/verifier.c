/* verifier - precheck, cache, probe, store (see verifier.h).
 *
 * A request walks: precheck -> L1 (synchronous) -> L2 (Redis, async) ->
 * engine -> cache store -> caller. A request the caller cancelled walks
 * on silently, so that its verdict still reaches the cache. A stale L1
 * entry is answered at once and refreshed by a request with no caller. */
#include "daemon/verifier.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/precheck.h"
#include "daemon/cache.h"
#include "daemon/engine.h"
#include "daemon/log.h"

struct verifier {
	struct engine *engine;
	struct cache *cache;
	const struct lists *lists;
	unsigned max_pending;
	bool closing; /* engine and cache are going: touch neither */
	struct verifier_stats stats;
};

struct verifier_req {
	struct verifier *v;
	verifier_cb cb; /* NULL: cancelled, or a background refresh */
	void *data;
	struct cache_req *creq; /* L2 lookup in flight */
	struct address addr;
	struct verdict pre; /* this request's precheck: its email echo */
};

/* on_fact - the engine learned a domain's catch-all answer: share it
 * with the other instances through L2. */
static void on_fact(void *arg, const char *domain, enum tristate catch_all,
		    const struct verdict_mx *mx, unsigned mx_count)
{
	struct verifier *v = arg;
	struct cache_fact f = {.catch_all = catch_all};

	f.mx_count = mx_count < VERDICT_MX_MAX ? mx_count : VERDICT_MX_MAX;
	memcpy(f.mx, mx, f.mx_count * sizeof(*mx));
	cache_fact_store(v->cache, domain, &f);
}

struct verifier *verifier_new(struct engine *engine, struct cache *cache,
			      const struct lists *lists, unsigned max_pending)
{
	struct verifier *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if (cache)
		engine_set_fact_hook(engine, on_fact, v);
	v->engine = engine;
	v->cache = cache;
	v->lists = lists;
	v->max_pending =
	    max_pending ? max_pending : VERIFIER_DEFAULT_MAX_PENDING;
	return v;
}

void verifier_close(struct verifier *v)
{
	v->closing = true;
}

void verifier_free(struct verifier *v)
{
	free(v);
}

void verifier_set_lists(struct verifier *v, const struct lists *lists)
{
	v->lists = lists;
}

/* merge - a verdict from the cache or a shared probe, told as the answer
 * to this request: its own input echo, and the domain facts of the lists
 * as they are now (a reload applies to cached verdicts too). */
static void merge(struct verdict *out, const struct verdict *got,
		  const struct verdict *pre)
{
	*out = *got;
	memcpy(out->email, pre->email, sizeof(out->email));
	out->email_truncated = pre->email_truncated;
	out->disposable = pre->disposable;
	out->free_provider = pre->free_provider;
	out->role_account = pre->role_account;
	if (pre->suggestion[0])
		memcpy(out->suggestion, pre->suggestion,
		       sizeof(out->suggestion));
	if (out->status == VERDICT_DELIVERABLE && out->disposable)
		verdict_set(out, REASON_DISPOSABLE);
}

static void req_done(struct verifier_req *r, const struct verdict *got,
		     const char *transcript)
{
	struct verifier *v = r->v;

	v->stats.in_flight--;
	if (r->cb) {
		struct verdict out;
		merge(&out, got, &r->pre);
		r->cb(r->data, &out, transcript);
	}
	free(r);
}

static void on_engine(void *data, const struct verdict *got,
		      const char *transcript)
{
	struct verifier_req *r = data;

	if (r->v->cache && !r->v->closing)
		cache_store(r->v->cache, got);
	req_done(r, got, transcript);
}

/* to_engine - the last step of a miss; -1 when the engine refuses the
 * work (closing, out of memory). */
static int to_engine(struct verifier_req *r)
{
	/* The typo suggestion is left out for the caches' sake (an L1 or
	 * L2 hit carries its own): a probe's verdict gets it here. */
	if (r->pre.suggestion[0] == '\0')
		lists_apply_suggestion(r->v->lists, &r->addr, &r->pre);
	r->v->stats.probes++;
	return engine_verify(r->v->engine, &r->pre, &r->addr, on_engine, r);
}

/* no_answer - end @r without a verdict from anyone: unknown/timeout, the
 * honest "no answer" (only on a later turn, never inside a call). */
static void no_answer(struct verifier_req *r)
{
	struct verdict out = r->pre;

	verdict_set(&out, REASON_TIMEOUT);
	out.checked_at = (int64_t)time(NULL);
	req_done(r, &out, NULL);
}

static void refresh(struct verifier *v, const struct verdict *pre,
		    const struct address *a);

static void on_l2(void *data, enum cache_hit hit, const struct verdict *got,
		  const struct cache_fact *fact)
{
	struct verifier_req *r = data;

	r->creq = NULL;
	if (r->v->closing) {
		if (got)
			req_done(r, got, NULL);
		else
			no_answer(r);
		return;
	}
	/* Another instance's catch-all answer spares this one the probe. */
	if (fact && fact->catch_all != TRI_UNKNOWN)
		engine_set_catch_all(r->v->engine, r->addr.domain,
				     fact->catch_all);
	if (got) {
		if (hit == CACHE_STALE)
			refresh(r->v, &r->pre, &r->addr);
		req_done(r, got, NULL);
		return;
	}
	if (to_engine(r) < 0)
		no_answer(r);
}

/* refresh - re-verify a stale entry in the background. */
static void refresh(struct verifier *v, const struct verdict *pre,
		    const struct address *a)
{
	struct verifier_req *r;

	if (v->closing)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return; /* the stale entry is still served; try next time */
	r->v = v;
	r->pre = *pre;
	r->addr = *a;
	if (r->pre.suggestion[0] == '\0')
		lists_apply_suggestion(v->lists, a, &r->pre);
	v->stats.in_flight++;
	if (to_engine(r) < 0) {
		v->stats.in_flight--;
		free(r);
	}
}

int verifier_check(struct verifier *v, const char *input, size_t len,
		   unsigned flags, struct verdict *out, verifier_cb cb,
		   void *data, struct verifier_req **req)
{
	struct verifier_req *r;
	struct engine_stats es;
	struct address a;

	v->stats.checks++;
	if (!precheck_fast(v->lists, input, len, out, &a)) {
		out->checked_at = (int64_t)time(NULL);
		v->stats.invalid++;
		return VERIFIER_DONE;
	}
	if (v->cache && !(flags & VERIFIER_FRESH)) {
		struct verdict hit;
		enum cache_hit h = cache_lookup(v->cache, out->address, &hit);
		if (h != CACHE_MISS) {
			struct verdict pre = *out;
			if (h == CACHE_STALE)
				refresh(v, &pre, &a);
			merge(out, &hit, &pre);
			return VERIFIER_DONE;
		}
	}
	engine_get_stats(v->engine, &es);
	if (es.pending >= v->max_pending)
		return VERIFIER_BUSY;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return VERIFIER_ERROR;
	r->v = v;
	r->cb = cb;
	r->data = data;
	r->pre = *out;
	r->addr = a;
	if (!(v->cache && !(flags & VERIFIER_FRESH) &&
	      cache_fetch(v->cache, out->address, on_l2, r, &r->creq) ==
		  CACHE_PENDING)) {
		r->creq = NULL;
		if (to_engine(r) < 0) {
			free(r);
			return VERIFIER_ERROR;
		}
	}
	v->stats.in_flight++;
	if (req)
		*req = r;
	return VERIFIER_PENDING;
}

void verifier_cancel(struct verifier_req *r)
{
	/* The walk goes on without a caller: an L2 answer or a probe still
	 * ends in the cache. */
	r->cb = NULL;
	r->data = NULL;
}

void verifier_get_stats(const struct verifier *v, struct verifier_stats *s)
{
	*s = v->stats;
}
