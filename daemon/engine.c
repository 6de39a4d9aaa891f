/* engine - scheduler of probes: requests, domains, the pump and the
 * public API (see engine.h; sessions are in engine_session.c, politeness
 * in engine_polite.c, the shared structs in engine_int.h).
 *
 * Objects and who owns them:
 *   struct ereq     one address being verified, with the callers waiting
 *                   for it; owned by the engine; linked in its domain's
 *                   queue or referenced by one session. Freed in its
 *                   deadline timer's close callback.
 *   struct edomain  one domain with work: its MX targets and queue.
 *                   Freed when it has neither queued requests, sessions
 *                   nor a DNS lookup in flight.
 *   struct esess    one session and the requests it carries.
 *   struct ehost    per-MX-address session count (the politeness cap).
 *   struct efact    a domain's catch-all answer, kept after the domain.
 * Every callback into a caller is made from a loop callback of the
 * engine's own (pump timer, resolver, session), never from a call the
 * caller made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/classify.h"
#include "daemon/engine_int.h"
#include "daemon/log.h"
#include "daemon/session.h"

static void maybe_finish_close(struct engine *e);
static void dns_next(struct engine *e);

/* engine__copy_str - @src into @dst of @size octets, cut when longer. */
void engine__copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- tables -------------------------------------------------------- */

static bool req_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct ereq *r = htab_entry(n, struct ereq, node);
	return strlen(r->v.address) == len &&
	       memcmp(r->v.address, key, len) == 0;
}

static bool dom_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct edomain *d = htab_entry(n, struct edomain, node);
	return strlen(d->name) == len && memcmp(d->name, key, len) == 0;
}

static bool host_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct ehost *h = htab_entry(n, struct ehost, node);
	return len == sizeof(h->key) && memcmp(h->key, key, len) == 0;
}

static bool fact_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct efact *f = htab_entry(n, struct efact, node);
	return strlen(f->name) == len && memcmp(f->name, key, len) == 0;
}

/* ---- requests -------------------------------------------------------- */

static void req_closed(uv_handle_t *h)
{
	struct ereq *r = h->data;
	struct engine *e = r->e;

	free(r);
	e->nreqs--;
	maybe_finish_close(e);
}

/* engine__req_release - free @r once it is done and no session holds it. */
void engine__req_release(struct ereq *r)
{
	if (!r->done || r->in_session || r->queued)
		return;
	for (struct waiter *w = r->waiters, *next; w; w = next) {
		next = w->next;
		if (w != &r->first)
			free(w);
	}
	r->waiters = NULL;
	uv_close((uv_handle_t *)&r->deadline, req_closed);
}

void engine__dom_release(struct edomain *d);

void engine__req_unqueue(struct ereq *r)
{
	if (r->queued) {
		TAILQ_REMOVE(&r->d->queue, r, link);
		r->queued = false;
	}
}

void engine__fill_smtp_target(struct ereq *r, unsigned ti)
{
	struct edomain *d = r->d;
	const struct target *t;

	if (ti >= d->ntargets)
		return;
	t = &d->targets[ti];
	r->v.smtp.present = true;
	engine__copy_str(r->v.smtp.host, sizeof(r->v.smtp.host),
			 t->mx < d->mx_count ? d->mx[t->mx].host : d->name);
	uv_inet_ntop(t->family, t->octets, r->v.smtp.ip, sizeof(r->v.smtp.ip));
}

/* engine__req_finish - give @r its verdict (@reason) and run its callbacks. */
void engine__req_finish(struct ereq *r, enum verdict_reason reason,
			const char *transcript)
{
	struct engine *e = r->e;
	struct edomain *d = r->d;

	if (r->done)
		return;
	r->done = true;
	engine__req_unqueue(r);
	uv_timer_stop(&r->deadline);
	htab_remove(&e->inflight, &r->node);
	if (d && d->mx_count) {
		memcpy(r->v.mx, d->mx, d->mx_count * sizeof(*d->mx));
		r->v.mx_count = d->mx_count;
	}
	if (reason == REASON_ACCEPTED && r->v.catch_all == TRI_TRUE)
		reason = REASON_CATCH_ALL;
	verdict_set(&r->v, reason);
	if (r->v.status == VERDICT_DELIVERABLE && r->v.disposable)
		verdict_set(&r->v, REASON_DISPOSABLE);
	if (reason == REASON_GREYLISTED)
		r->v.retry_after =
		    r->retry_after ? r->retry_after : CLASSIFY_RETRY_DEFAULT;
	else
		r->v.retry_after = 0;
	r->v.checked_at = (int64_t)time(NULL);
	r->v.duration_ms = (uint32_t)(uv_now(e->loop) - r->started);
	for (struct waiter *w = r->waiters; w; w = w->next)
		w->cb(w->data, &r->v, transcript);
	engine__req_release(r);
}

static void on_deadline(uv_timer_t *t)
{
	struct ereq *r = t->data;
	struct edomain *d = r->d;

	r->v.smtp.present = r->v.smtp.present || r->in_session;
	engine__req_finish(r, REASON_TIMEOUT, NULL);
	if (d)
		engine__dom_release(d);
}

/* ---- domains ---------------------------------------------------------- */

void engine__dom_release(struct edomain *d)
{
	struct engine *e = d->e;

	if (!TAILQ_EMPTY(&d->queue) || d->active || d->rreq || d->gating)
		return;
	if (d->gate_held)
		engine__gate_release(e, &d->targets[d->gate_target],
				     d->gate_token);
	if (d->dns_waiting)
		TAILQ_REMOVE(&e->dns_wait, d, dns_link);
	if (d->in_ready)
		TAILQ_REMOVE(&e->ready, d, ready_link);
	htab_remove(&e->domains, &d->node);
	free(d->mx);
	free(d);
	maybe_finish_close(e);
}

/* engine__ready_insert - @d into the ready list: a domain with a full
 * session's work queued goes first (the biggest domains are the longest
 * to finish under the per-host cap and the per-domain rate: starting
 * them early shortens a bulk run; BENCHMARKS.md "Bulk"), others behind in
 * arrival order. */
void engine__ready_insert(struct engine *e, struct edomain *d)
{
	unsigned cap = e->c.dialog.rcpt_max ? e->c.dialog.rcpt_max
					    : DIALOG_RCPT_PER_TXN_MAX,
		 n = 0;
	struct ereq *r;

	TAILQ_FOREACH(r, &d->queue, link)
	{
		if (++n >= cap)
			break;
	}
	if (n >= cap)
		TAILQ_INSERT_HEAD(&e->ready, d, ready_link);
	else
		TAILQ_INSERT_TAIL(&e->ready, d, ready_link);
	d->in_ready = true;
}

static void dom_ready(struct edomain *d)
{
	struct engine *e = d->e;

	d->state = DOM_READY;
	if (d->in_ready && TAILQ_FIRST(&e->ready) != d) {
		TAILQ_REMOVE(&e->ready, d, ready_link); /* full now? */
		d->in_ready = false;
	}
	if (!d->in_ready)
		engine__ready_insert(e, d);
	engine__pump_soon(e);
}

/* add_target - one probe address, unless the policy refuses it. */
static void add_target(struct edomain *d, int family,
		       const unsigned char *octets, unsigned mx,
		       unsigned *refused)
{
	struct engine *e = d->e;
	enum netpolicy_class cls;

	if (d->ntargets == ENGINE_TARGETS_MAX)
		return;
	cls = netpolicy_check(e->c.policy, family, octets);
	if (cls != NETPOLICY_GLOBAL) {
		char ip[VERDICT_IP_MAX];
		uv_inet_ntop(family, octets, ip, sizeof(ip));
		log_info("refusing to probe %s for %s: %s address", ip, d->name,
			 netpolicy_class_name(cls));
		(*refused)++;
		return;
	}
	d->targets[d->ntargets].family = family;
	memcpy(d->targets[d->ntargets].octets, octets,
	       family == AF_INET ? 4 : 16);
	d->targets[d->ntargets].mx = mx;
	d->ntargets++;
}

static void on_mx(const struct resolver_mx_result *res, void *data)
{
	struct edomain *d = data;
	unsigned refused = 0;

	d->rreq = NULL;
	d->e->resolving--;
	dns_next(d->e);
	if (res->status != RESOLVER_OK) {
		int reason = resolver_status_reason(res->status);
		d->fail = reason < 0 ? REASON_DNS_ERROR : reason;
		if (res->status == RESOLVER_DNS_ERROR)
			log_info("DNS for %s: %s", d->name, res->error);
		dom_ready(d);
		return;
	}
	d->mx = calloc(res->host_count ? res->host_count : 1, sizeof(*d->mx));
	if (d->mx == NULL) { /* no verdict from a lack of memory */
		d->fail = REASON_DNS_ERROR;
		dom_ready(d);
		return;
	}
	for (unsigned i = 0; i < res->host_count && i < VERDICT_MX_MAX; i++) {
		engine__copy_str(d->mx[i].host, sizeof(d->mx[i].host),
				 res->hosts[i].name);
		d->mx[i].preference = res->hosts[i].preference;
		d->mx_count = i + 1;
	}
	/* Up to two addresses per host (its first IPv4 and first IPv6) so
	 * that a host with many dead addresses cannot use up the bound
	 * before the next host gets its turn. */
	for (unsigned i = 0; i < d->mx_count; i++) {
		const struct resolver_host *h = &res->hosts[i];
		bool v4 = false, v6 = false;
		for (unsigned j = 0; j < h->addr_count; j++) {
			const struct resolver_addr *a = &h->addrs[j];
			bool *seen = a->family == AF_INET ? &v4 : &v6;
			if (*seen)
				continue;
			*seen = true;
			add_target(d, a->family, a->octets, i, &refused);
		}
	}
	if (d->ntargets == 0)
		d->fail =
		    refused ? REASON_BLOCKED_TARGET : REASON_NO_MAIL_SERVER;
	dom_ready(d);
}

/* dom_resolve - ask for @d's mail exchangers. */
static void dom_resolve(struct edomain *d)
{
	struct engine *e = d->e;
	int rc = resolver_mx(e->c.resolver, d->name, on_mx, d, &d->rreq);

	if (rc < 0) {
		d->rreq = NULL;
		d->fail =
		    rc == UV_EINVAL ? REASON_NO_SUCH_DOMAIN : REASON_DNS_ERROR;
		dom_ready(d);
		return;
	}
	e->resolving++;
}

/* dns_next - start the lookups that waited for a slot. */
static void dns_next(struct engine *e)
{
	struct edomain *d;

	while (e->resolving < ENGINE_DNS_INFLIGHT && !e->closing &&
	       (d = TAILQ_FIRST(&e->dns_wait)) != NULL) {
		TAILQ_REMOVE(&e->dns_wait, d, dns_link);
		d->dns_waiting = false;
		dom_resolve(d);
	}
}

static struct edomain *dom_get(struct engine *e, const struct address *a)
{
	struct htab_node *n =
	    htab_find(&e->domains, a->domain, strlen(a->domain));
	struct edomain *d;
	unsigned refused = 0;

	if (n)
		return htab_entry(n, struct edomain, node);
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->e = e;
	d->fail = REASON_LAST;
	d->probe_reason = REASON_TIMEOUT;
	TAILQ_INIT(&d->queue);
	snprintf(d->name, sizeof(d->name), "%s", a->domain);
	htab_insert(&e->domains, &d->node, d->name, strlen(d->name));

	if (a->kind != ADDRESS_KIND_DOMAIN) {
		/* An address literal names its host: the same policy as any
		 * MX address, no DNS. */
		d->literal = true;
		add_target(d, a->kind == ADDRESS_KIND_IPV4 ? AF_INET : AF_INET6,
			   a->literal, VERDICT_MX_MAX, &refused);
		if (d->ntargets == 0)
			d->fail = REASON_BLOCKED_TARGET;
		dom_ready(d);
		return d;
	}
	d->state = DOM_RESOLVING;
	if (e->resolving >= ENGINE_DNS_INFLIGHT) {
		TAILQ_INSERT_TAIL(&e->dns_wait, d, dns_link);
		d->dns_waiting = true;
	} else
		dom_resolve(d);
	return d;
}

/* ---- the pump: start what the limits allow ---------------------------- */

static void pump(uv_timer_t *t)
{
	struct engine *e = t->data;
	struct edomain *d, *next;

	e->pump_armed = false;
	for (d = TAILQ_FIRST(&e->ready); d; d = next) {
		next = TAILQ_NEXT(d, ready_link);
		if (d->state != DOM_READY)
			continue;
		if (d->fail != REASON_LAST) {
			struct ereq *r;
			while ((r = TAILQ_FIRST(&d->queue)) != NULL)
				engine__req_finish(r, d->fail, NULL);
		}
		while (!TAILQ_EMPTY(&d->queue) &&
		       e->active < e->c.concurrency && !e->closing)
			if (!engine__start_session(e, d))
				break;
		if (TAILQ_EMPTY(&d->queue)) {
			TAILQ_REMOVE(&e->ready, d, ready_link);
			d->in_ready = false;
			engine__dom_release(d);
		}
		if (e->active >= e->c.concurrency)
			break;
	}
}

void engine__pump_soon(struct engine *e)
{
	if (e->pump_armed || e->closing)
		return;
	e->pump_armed = true;
	uv_timer_start(&e->pump, pump, 0, 0);
}

/* ---- public ----------------------------------------------------------- */

void engine_config_defaults(struct engine_config *c)
{
	memset(c, 0, sizeof(*c));
	dialog_config_default(&c->dialog);
	c->connect_timeout_ms = 10000;
	c->probe_timeout_ms = 60000;
	c->concurrency = 256;
	c->per_host_concurrency = 2;
	c->per_domain_rate = 10;
	c->catch_all_probe = true;
	c->port = 25;
}

int engine_new(uv_loop_t *loop, const struct engine_config *c,
	       struct engine **out, char *err, size_t errlen)
{
	struct engine *e;
	const char *why = dialog_config_check(&c->dialog);

	if (why) {
		snprintf(err, errlen, "SMTP settings: %s", why);
		return -1;
	}
	if (c->policy == NULL || c->resolver == NULL || c->concurrency == 0 ||
	    c->per_host_concurrency == 0) {
		snprintf(err, errlen, "engine: incomplete configuration");
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || htab_init(&e->inflight, req_eq) < 0 ||
	    htab_init(&e->domains, dom_eq) < 0 ||
	    htab_init(&e->hosts, host_eq) < 0 ||
	    htab_init(&e->facts, fact_eq) < 0) {
		if (e) {
			htab_free(&e->inflight), htab_free(&e->domains);
			htab_free(&e->hosts), htab_free(&e->facts);
		}
		free(e);
		snprintf(err, errlen, "engine: out of memory");
		return -1;
	}
	e->loop = loop;
	e->c = *c;
	TAILQ_INIT(&e->ready);
	TAILQ_INIT(&e->sessions);
	TAILQ_INIT(&e->dns_wait);
	TAILQ_INIT(&e->fact_fifo);
	uv_timer_init(loop, &e->pump);
	e->pump.data = e;
	uv_timer_init(loop, &e->wake);
	e->wake.data = e;
	if (uv_random(NULL, NULL, &e->rnd, sizeof(e->rnd), 0, NULL) < 0 ||
	    e->rnd == 0)
		e->rnd = uv_hrtime() | 1;
	e->probe_key = engine__next_random(e);
	*out = e;
	return 0;
}

int engine_verify(struct engine *e, const struct verdict *pre,
		  const struct address *a, engine_cb cb, void *data)
{
	struct htab_node *n;
	struct ereq *r;

	if (e->closing)
		return -1;
	e->stats.requests++;
	n = htab_find(&e->inflight, pre->address, strlen(pre->address));
	if (n) {
		struct waiter *w = malloc(sizeof(*w));
		if (w == NULL)
			return -1;
		r = htab_entry(n, struct ereq, node);
		w->cb = cb;
		w->data = data;
		w->next = r->waiters;
		r->waiters = w;
		e->stats.coalesced++;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->e = e;
	r->v = *pre;
	r->first.cb = cb;
	r->first.data = data;
	r->waiters = &r->first;
	r->started = uv_now(e->loop);
	r->d = dom_get(e, a);
	if (r->d == NULL) {
		free(r);
		return -1;
	}
	uv_timer_init(e->loop, &r->deadline);
	r->deadline.data = r;
	uv_timer_start(&r->deadline, on_deadline, e->c.probe_timeout_ms, 0);
	htab_insert(&e->inflight, &r->node, r->v.address, strlen(r->v.address));
	TAILQ_INSERT_TAIL(&r->d->queue, r, link);
	r->queued = true;
	e->nreqs++;
	if (r->d->state == DOM_READY)
		dom_ready(r->d);
	return 0;
}

static void engine_closed(uv_handle_t *h)
{
	struct engine *e = h->data;
	void (*cb)(void *) = e->closed_cb;
	void *data = e->closed_data;

	if (--e->closing_handles > 0)
		return;
	/* Hosts kept only for their backoff. */
	for (size_t b = 0; b < e->hosts.nbuckets; b++) {
		struct htab_node *n = e->hosts.bucket[b], *next;
		for (; n; n = next) {
			next = n->next;
			free(htab_entry(n, struct ehost, node));
		}
	}

	htab_free(&e->inflight);
	htab_free(&e->domains);
	htab_free(&e->hosts);
	while (!TAILQ_EMPTY(&e->fact_fifo)) {
		struct efact *f = TAILQ_FIRST(&e->fact_fifo);
		TAILQ_REMOVE(&e->fact_fifo, f, fifo);
		free(f);
	}
	htab_free(&e->facts);
	free(e);
	if (cb)
		cb(data);
}

static void maybe_finish_close(struct engine *e)
{
	if (!e->closing || e->nreqs || e->domains.count || e->active ||
	    e->closing_handles)
		return;
	e->closing_handles = 2;
	uv_close((uv_handle_t *)&e->wake, engine_closed);
	uv_close((uv_handle_t *)&e->pump, engine_closed);
}

void engine_close(struct engine *e, void (*closed_cb)(void *), void *data)
{
	e->closing = true;
	e->closed_cb = closed_cb;
	e->closed_data = data;
	uv_timer_stop(&e->pump);
	uv_timer_stop(&e->wake);
	e->pump_armed = e->wake_armed = false;

	/* Walk every domain: cancel lookups, finish queued requests. */
	for (size_t b = 0; b < e->domains.nbuckets; b++) {
		struct htab_node *n = e->domains.bucket[b], *next;
		for (; n; n = next) {
			struct edomain *d = htab_entry(n, struct edomain, node);
			struct ereq *r;
			next = n->next;
			if (d->rreq) {
				resolver_cancel(d->rreq);
				d->rreq = NULL;
				e->resolving--;
			}
			while ((r = TAILQ_FIRST(&d->queue)) != NULL)
				engine__req_finish(r, REASON_TIMEOUT, NULL);
			engine__dom_release(d); /* unless sessions still run */
		}
	}
	/* Running sessions are ended now (as if the servers had hung up);
	 * their done callbacks, on later turns, settle the requests without
	 * retrying (e->closing) and the last one completes the close. */
	struct esess *x;
	TAILQ_FOREACH(x, &e->sessions, link)
	session_abort(x->s);
	maybe_finish_close(e);
}

void engine_set_catch_all(struct engine *e, const char *domain,
			  enum tristate catch_all)
{
	if (catch_all != TRI_UNKNOWN &&
	    engine__fact_get(e, domain) == TRI_UNKNOWN)
		engine__fact_set(e, domain, catch_all);
}

void engine_set_gate(struct engine *e, const struct engine_gate *g)
{
	if (g)
		e->gate = *g;
	else
		memset(&e->gate, 0, sizeof(e->gate));
}

void engine_set_fact_hook(struct engine *e, engine_fact_fn fn, void *arg)
{
	e->fact_fn = fn;
	e->fact_arg = arg;
}

void engine_get_stats(const struct engine *e, struct engine_stats *s)
{
	*s = e->stats;
	s->active_sessions = e->active;
	s->pending = (unsigned)e->inflight.count;
}
