/* engine_polite - how the engine stays welcome on port 25: a backoff per
 * MX address that pushed back, a session rate per domain, and the
 * catch-all facts that spare a domain repeated probes (see engine.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/classify.h"
#include "daemon/engine_int.h"
#include "daemon/log.h"
#include "daemon/session.h"

static void on_wake(uv_timer_t *t);

uint64_t engine__next_random(struct engine *e)
{
	/* xorshift64*: seeded from uv_random(); for probe local parts and
	 * MX shuffles, not for secrets. */
	e->rnd ^= e->rnd >> 12;
	e->rnd ^= e->rnd << 25;
	e->rnd ^= e->rnd >> 27;
	return e->rnd * 0x2545F4914F6CDD1Dull;
}

enum tristate engine__fact_get(struct engine *e, const char *domain)
{
	struct htab_node *n = htab_find(&e->facts, domain, strlen(domain));
	struct efact *f;

	if (n == NULL)
		return TRI_UNKNOWN;
	f = htab_entry(n, struct efact, node);
	if (f->expires <= uv_now(e->loop)) {
		htab_remove(&e->facts, &f->node);
		TAILQ_REMOVE(&e->fact_fifo, f, fifo);
		free(f);
		return TRI_UNKNOWN;
	}
	return f->catch_all;
}

void engine__fact_set(struct engine *e, const char *domain, enum tristate t)
{
	struct htab_node *n = htab_find(&e->facts, domain, strlen(domain));
	struct efact *f;

	if (n) {
		f = htab_entry(n, struct efact, node);
		TAILQ_REMOVE(&e->fact_fifo, f, fifo);
	} else {
		if (e->facts.count >= ENGINE_FACTS_MAX) {
			struct efact *old = TAILQ_FIRST(&e->fact_fifo);
			htab_remove(&e->facts, &old->node);
			TAILQ_REMOVE(&e->fact_fifo, old, fifo);
			free(old);
		}
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return; /* a fact we fail to keep is asked again */
		snprintf(f->name, sizeof(f->name), "%s", domain);
		htab_insert(&e->facts, &f->node, f->name, strlen(f->name));
	}
	f->catch_all = t;
	f->expires = uv_now(e->loop) + ENGINE_FACT_TTL_MS;
	TAILQ_INSERT_TAIL(&e->fact_fifo, f, fifo);
}

struct ehost *engine__host_get(struct engine *e, const struct target *t)
{
	unsigned char key[17] = {0};
	struct htab_node *n;
	struct ehost *h;

	key[0] = (unsigned char)t->family;
	memcpy(key + 1, t->octets, t->family == AF_INET ? 4 : 16);
	n = htab_find(&e->hosts, key, sizeof(key));
	if (n)
		return htab_entry(n, struct ehost, node);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	memcpy(h->key, key, sizeof(key));
	htab_insert(&e->hosts, &h->node, h->key, sizeof(h->key));
	return h;
}

/* engine__host_maybe_free - drop @h when nothing needs it any more. */
void engine__host_maybe_free(struct engine *e, struct ehost *h)
{
	if (h->active == 0 && h->penalty_ms == 0) {
		htab_remove(&e->hosts, &h->node);
		free(h);
	}
}

void engine__host_put(struct engine *e, struct ehost *h)
{
	h->active--;
	engine__host_maybe_free(e, h);
}

/* engine__host_judge - adjust @h's backoff after a session: @trouble when the
 * server pushed back. */
void engine__host_judge(struct engine *e, struct ehost *h, bool trouble)
{
	if (trouble) {
		h->penalty_ms =
		    h->penalty_ms ? h->penalty_ms * 2 : ENGINE_BACKOFF_MIN_MS;
		if (h->penalty_ms > ENGINE_BACKOFF_MAX_MS)
			h->penalty_ms = ENGINE_BACKOFF_MAX_MS;
		h->backoff_until = uv_now(e->loop) + h->penalty_ms;
		e->stats.backoffs++;
	} else if (h->penalty_ms) {
		h->penalty_ms /= 2;
		if (h->penalty_ms < ENGINE_BACKOFF_MIN_MS)
			h->penalty_ms = 0;
	}
}

/* engine__host_cap - the sessions @h may have now. */
unsigned engine__host_cap(const struct engine *e, const struct ehost *h)
{
	return h->penalty_ms ? 1 : e->c.per_host_concurrency;
}

/* engine__wake_at - run the pump again at @when (uv_now), for a backoff or a
 * rate limit that holds work back now. */
void engine__wake_at(struct engine *e, uint64_t when)
{
	uint64_t now = uv_now(e->loop);

	if (e->wake_armed && e->wake_when <= when)
		return;
	e->wake_armed = true;
	e->wake_when = when;
	uv_timer_start(&e->wake, on_wake, when > now ? when - now : 0, 0);
}

/* engine__rate_take - take one session start from @d's token bucket
 * (per_domain_rate a second, a burst of as many); false, with a wake-up
 * set, when the bucket is empty. */
bool engine__rate_take(struct engine *e, struct edomain *d)
{
	double rate = e->c.per_domain_rate;
	uint64_t now = uv_now(e->loop);

	if (rate <= 0)
		return true;
	if (d->tokens_at == 0)
		d->tokens = rate;
	else
		d->tokens += (double)(now - d->tokens_at) * rate / 1000.0;
	if (d->tokens > rate)
		d->tokens = rate;
	d->tokens_at = now;
	if (d->tokens >= 1.0) {
		d->tokens -= 1.0;
		return true;
	}
	engine__wake_at(e, now + (uint64_t)((1.0 - d->tokens) * 1000.0 / rate) +
			       1);
	return false;
}

static void on_wake(uv_timer_t *t)
{
	struct engine *e = t->data;

	e->wake_armed = false;
	engine__pump_soon(e);
}
