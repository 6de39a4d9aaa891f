/* engine - scheduler of probes: domains, sessions, limits (see engine.h).
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
#include "daemon/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "core/classify.h"
#include "core/htab.h"
#include "daemon/log.h"
#include "daemon/session.h"

/* MX lookups in flight at once. A bulk job over 10^5 domains must not
 * throw 10^5 queries at the resolver together (unbound, for one, drops
 * what passes its 1024 queries a thread); each lookup is one MX query and
 * up to ten address queries. */
#define ENGINE_DNS_INFLIGHT 128

struct waiter {
	struct waiter *next;
	engine_cb cb;
	void *data;
};

struct ereq {
	struct htab_node node;	/* e->inflight, by address (not for probes) */
	TAILQ_ENTRY(ereq) link; /* d->queue */
	struct engine *e;
	struct edomain *d;
	struct waiter first, *waiters;
	uv_timer_t deadline;
	uint64_t started; /* uv_now() */
	unsigned next_target;
	unsigned attempts;
	bool queued;	 /* in d->queue */
	bool in_session; /* referenced by a session */
	bool done;	 /* callbacks ran */
	/* The result of the last session, read when it ends. */
	enum dialog_rcpt_status rstatus;
	enum verdict_reason reply_reason;
	unsigned retry_after;
	struct verdict v;
};

TAILQ_HEAD(ereq_queue, ereq);

struct target {
	int family;
	unsigned char octets[16];
	unsigned mx; /* index into d->v_mx; VERDICT_MX_MAX for a literal */
};

enum dom_state { DOM_RESOLVING, DOM_READY };

struct edomain {
	struct htab_node node;
	TAILQ_ENTRY(edomain) ready_link;
	TAILQ_ENTRY(edomain) dns_link; /* e->dns_wait */
	bool dns_waiting;
	struct engine *e;
	enum dom_state state;
	bool in_ready;
	bool literal;
	enum verdict_reason fail; /* REASON_LAST: none */
	struct resolver_req *rreq;
	struct verdict_mx *mx; /* mx_count of them; most domains have 1-2 */
	unsigned mx_count;
	struct target targets[ENGINE_TARGETS_MAX];
	unsigned ntargets;
	struct ereq_queue queue;
	unsigned active;     /* sessions */
	bool probing;	     /* a catch-all probe is in a session */
	unsigned probe_runs; /* bounded: an unanswered probe is retried once */
	enum verdict_reason probe_reason; /* why the probe said nothing */
	double tokens;			  /* session starts available */
	uint64_t tokens_at;		  /* uv_now() of the last refill */
	unsigned probe_retry_after;
	char name[VERDICT_DOMAIN_MAX + 3];
};

/* Per MX address: sessions running, and the backoff that trouble from
 * it earns (421, "too many connections", refused connections, bursts of
 * 4xx). While penalised it gets one session at a time, and none before
 * backoff_until. A clean session halves the penalty. Kept while it has
 * sessions or a penalty; freed when both are gone. */
struct ehost {
	struct htab_node node;
	unsigned char key[17]; /* family octet + 16 address octets */
	unsigned active;
	unsigned penalty_ms;
	uint64_t backoff_until; /* uv_now() */
};

/* The first penalty and the most there is. A host that said "too many
 * connections" is given a second; repeated trouble doubles it up to five
 * minutes, Postfix's minimal_backoff_time. */
#define ENGINE_BACKOFF_MIN_MS 1000u
#define ENGINE_BACKOFF_MAX_MS 300000u
/* RCPT replies in 4xx in one session that count as a burst. */
#define ENGINE_4XX_BURST 3

struct efact {
	struct htab_node node;
	TAILQ_ENTRY(efact) fifo;
	enum tristate catch_all;
	uint64_t expires;
	char name[VERDICT_DOMAIN_MAX + 3];
};

struct esess {
	struct engine *e;
	struct edomain *d;
	struct ehost *h;
	unsigned target;
	unsigned n4xx;	   /* RCPT replies in 4xx */
	unsigned nreplied; /* RCPT replies of any kind */
	bool pushback;	   /* a reply said "slow down" */
	unsigned n;
	struct probe *probe; /* the catch-all probe, when it rides along */
	struct ereq *reqs[]; /* n of them */
};

/* The catch-all probe: a random local part at the domain. Only what the
 * session's answer needs: no verdict, no caller. */
struct probe {
	enum dialog_rcpt_status rstatus;
	enum verdict_reason reply_reason;
	unsigned retry_after;
	char address[ADDRESS_MAX + 1];
};

struct engine {
	uv_loop_t *loop;
	struct engine_config c;
	struct htab inflight, domains, hosts, facts;
	TAILQ_HEAD(, edomain) ready;
	TAILQ_HEAD(, edomain) dns_wait; /* domains waiting for a lookup slot */
	unsigned resolving;		/* MX lookups in flight */
	TAILQ_HEAD(, efact) fact_fifo;
	uv_timer_t pump;
	bool pump_armed;
	uv_timer_t wake; /* the earliest end of a backoff or rate wait */
	bool wake_armed;
	uint64_t wake_when;
	int closing_handles; /* pump and wake, in engine_close */
	bool closing;
	unsigned active; /* sessions */
	unsigned nreqs;	 /* live ereq objects, timers included */
	uint64_t rnd;
	void (*closed_cb)(void *);
	void *closed_data;
	engine_fact_fn fact_fn;
	void *fact_arg;
	struct engine_stats stats;
};

static void pump_soon(struct engine *e);
static void maybe_finish_close(struct engine *e);
static void on_wake(uv_timer_t *t);
static void dns_next(struct engine *e);

/* copy_str - @src into @dst of @size octets, cut when longer. */
static void copy_str(char *dst, size_t size, const char *src)
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

static uint64_t next_random(struct engine *e)
{
	/* xorshift64*: seeded from uv_random(); for probe local parts and
	 * MX shuffles, not for secrets. */
	e->rnd ^= e->rnd >> 12;
	e->rnd ^= e->rnd << 25;
	e->rnd ^= e->rnd >> 27;
	return e->rnd * 0x2545F4914F6CDD1Dull;
}

static enum tristate fact_get(struct engine *e, const char *domain)
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

static void fact_set(struct engine *e, const char *domain, enum tristate t)
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

static struct ehost *host_get(struct engine *e, const struct target *t)
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

/* host_maybe_free - drop @h when nothing needs it any more. */
static void host_maybe_free(struct engine *e, struct ehost *h)
{
	if (h->active == 0 && h->penalty_ms == 0) {
		htab_remove(&e->hosts, &h->node);
		free(h);
	}
}

static void host_put(struct engine *e, struct ehost *h)
{
	h->active--;
	host_maybe_free(e, h);
}

/* host_judge - adjust @h's backoff after a session: @trouble when the
 * server pushed back. */
static void host_judge(struct engine *e, struct ehost *h, bool trouble)
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

/* host_cap - the sessions @h may have now. */
static unsigned host_cap(const struct engine *e, const struct ehost *h)
{
	return h->penalty_ms ? 1 : e->c.per_host_concurrency;
}

/* wake_at - run the pump again at @when (uv_now), for a backoff or a
 * rate limit that holds work back now. */
static void wake_at(struct engine *e, uint64_t when)
{
	uint64_t now = uv_now(e->loop);

	if (e->wake_armed && e->wake_when <= when)
		return;
	e->wake_armed = true;
	e->wake_when = when;
	uv_timer_start(&e->wake, on_wake, when > now ? when - now : 0, 0);
}

/* rate_take - take one session start from @d's token bucket
 * (per_domain_rate a second, a burst of as many); false, with a wake-up
 * set, when the bucket is empty. */
static bool rate_take(struct engine *e, struct edomain *d)
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
	wake_at(e, now + (uint64_t)((1.0 - d->tokens) * 1000.0 / rate) + 1);
	return false;
}

static void on_wake(uv_timer_t *t)
{
	struct engine *e = t->data;

	e->wake_armed = false;
	pump_soon(e);
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

/* req_release - free @r once it is done and no session holds it. */
static void req_release(struct ereq *r)
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

static void dom_release(struct edomain *d);

static void req_unqueue(struct ereq *r)
{
	if (r->queued) {
		TAILQ_REMOVE(&r->d->queue, r, link);
		r->queued = false;
	}
}

static void fill_smtp_target(struct ereq *r, unsigned ti)
{
	struct edomain *d = r->d;
	const struct target *t;

	if (ti >= d->ntargets)
		return;
	t = &d->targets[ti];
	r->v.smtp.present = true;
	copy_str(r->v.smtp.host, sizeof(r->v.smtp.host),
		 t->mx < d->mx_count ? d->mx[t->mx].host : d->name);
	uv_inet_ntop(t->family, t->octets, r->v.smtp.ip, sizeof(r->v.smtp.ip));
}

/* req_finish - give @r its verdict (@reason) and run its callbacks. */
static void req_finish(struct ereq *r, enum verdict_reason reason,
		       const char *transcript)
{
	struct engine *e = r->e;
	struct edomain *d = r->d;

	if (r->done)
		return;
	r->done = true;
	req_unqueue(r);
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
	req_release(r);
}

static void on_deadline(uv_timer_t *t)
{
	struct ereq *r = t->data;
	struct edomain *d = r->d;

	r->v.smtp.present = r->v.smtp.present || r->in_session;
	req_finish(r, REASON_TIMEOUT, NULL);
	if (d)
		dom_release(d);
}

/* ---- domains ---------------------------------------------------------- */

static void dom_release(struct edomain *d)
{
	struct engine *e = d->e;

	if (!TAILQ_EMPTY(&d->queue) || d->active || d->rreq)
		return;
	if (d->dns_waiting)
		TAILQ_REMOVE(&e->dns_wait, d, dns_link);
	if (d->in_ready)
		TAILQ_REMOVE(&e->ready, d, ready_link);
	htab_remove(&e->domains, &d->node);
	free(d->mx);
	free(d);
	maybe_finish_close(e);
}

static void dom_ready(struct edomain *d)
{
	struct engine *e = d->e;

	d->state = DOM_READY;
	if (!d->in_ready) {
		TAILQ_INSERT_TAIL(&e->ready, d, ready_link);
		d->in_ready = true;
	}
	pump_soon(e);
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
		copy_str(d->mx[i].host, sizeof(d->mx[i].host),
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

/* ---- sessions --------------------------------------------------------- */

static void on_result(struct session *s, const struct dialog_result *res,
		      void *data)
{
	struct esess *x = data;
	struct ereq *r;

	(void)s;
	if (x->probe && res->tag == x->probe) {
		x->probe->rstatus = res->status;
		if (res->status == DIALOG_RCPT_REPLIED)
			x->probe->reply_reason =
			    classify_reply(res->stage, res->code, res->enhanced,
					   res->text, &x->probe->retry_after);
		return;
	}
	r = res->tag;
	r->rstatus = res->status;
	if (res->stage != SMTP_STAGE_NONE && res->code) {
		r->v.smtp.stage = res->stage;
		r->v.smtp.code = res->code;
		snprintf(r->v.smtp.enhanced, sizeof(r->v.smtp.enhanced), "%s",
			 res->enhanced);
		verdict_copy_text(r->v.smtp.message, sizeof(r->v.smtp.message),
				  res->text, strlen(res->text), false);
	}
	if (res->status == DIALOG_RCPT_REPLIED) {
		x->nreplied++;
		r->reply_reason =
		    classify_reply(res->stage, res->code, res->enhanced,
				   res->text, &r->retry_after);
		if (res->code >= 400 && res->code < 500)
			x->n4xx++;
		if (r->reply_reason == REASON_RATE_LIMITED)
			x->pushback = true;
	}
}

/* failure_reason - what a session failure says about its recipients. */
static enum verdict_reason failure_reason(const struct dialog_failure *f,
					  unsigned *retry_after)
{
	switch (f->kind) {
	case DIALOG_FAIL_CONNECT:
	case DIALOG_FAIL_CLOSED:
	case DIALOG_FAIL_LOCAL:
		return REASON_CONNECT_FAILED;
	case DIALOG_FAIL_TIMEOUT:
		return REASON_TIMEOUT;
	case DIALOG_FAIL_PROTOCOL:
		return REASON_PROTOCOL_ERROR;
	case DIALOG_FAIL_REJECTED:
		return classify_reply(f->stage, f->code, f->enhanced, f->text,
				      retry_after);
	case DIALOG_FAIL_NONE:
	case DIALOG_FAIL_LAST:
		break;
	}
	return REASON_CONNECT_FAILED;
}

/* settle_probe - record what the catch-all probe learned. A session that
 * never connected did not ask: that run does not count against the
 * domain's bound. */
static void settle_probe(struct edomain *d, struct probe *p,
			 const struct dialog_failure *f)
{
	enum tristate t = TRI_UNKNOWN;

	d->probing = false;
	if (f->kind == DIALOG_FAIL_CONNECT && d->probe_runs > 0)
		d->probe_runs--;
	if (p->rstatus == DIALOG_RCPT_REPLIED) {
		if (p->reply_reason == REASON_ACCEPTED)
			t = TRI_TRUE;
		else if (p->reply_reason == REASON_MAILBOX_NOT_FOUND ||
			 p->reply_reason == REASON_MAILBOX_DISABLED)
			t = TRI_FALSE;
	}
	if (t != TRI_UNKNOWN) {
		fact_set(d->e, d->name, t);
		if (d->e->fact_fn)
			d->e->fact_fn(d->e->fact_arg, d->name, t, d->mx,
				      d->mx_count);
	} else if (p->rstatus == DIALOG_RCPT_REPLIED) {
		d->probe_reason = p->reply_reason;
		d->probe_retry_after = p->retry_after;
	} else if (f->kind != DIALOG_FAIL_NONE)
		d->probe_reason = failure_reason(f, &d->probe_retry_after);
	free(p);
}

/* settle - decide what becomes of @r after its session ended. */
static void settle(struct esess *x, struct ereq *r,
		   const struct dialog_failure *f, bool tls,
		   const char *transcript)
{
	struct engine *e = x->e;
	struct edomain *d = x->d;
	enum verdict_reason reason;
	bool retry_same = false, retry_next = false;

	r->in_session = false;
	if (r->done) { /* its deadline passed while the session ran */
		req_release(r);
		return;
	}
	fill_smtp_target(r, x->target);
	r->v.smtp.tls = tls;
	switch (r->rstatus) {
	case DIALOG_RCPT_REPLIED:
		reason = r->reply_reason;
		if (reason == REASON_IN_PROGRESS) /* too many recipients */
			retry_same = true;
		break;
	case DIALOG_RCPT_REFUSED:
		/* The address grammar already refuses what the line writer
		 * refuses; should they ever differ, the writer wins. */
		reason = REASON_INVALID_SYNTAX;
		snprintf(r->v.message, sizeof(r->v.message),
			 "address cannot be sent in an SMTP command");
		break;
	case DIALOG_RCPT_NEEDS_SMTPUTF8:
		reason = REASON_PROTOCOL_ERROR;
		r->v.smtp.stage = SMTP_STAGE_EHLO;
		snprintf(r->v.smtp.message, sizeof(r->v.smtp.message),
			 "the server does not offer SMTPUTF8, needed for "
			 "this address");
		break;
	case DIALOG_RCPT_NOT_ATTEMPTED:
	case DIALOG_RCPT_UNANSWERED:
	default:
		if (f->kind == DIALOG_FAIL_NONE) {
			/* The server is fine but stopped taking recipients
			 * (error budget, 452): a new session. */
			retry_same = true;
			reason = REASON_RATE_LIMITED;
		} else {
			/* A server that answered some recipients and then
			 * hung up (an error limit, as Postfix's
			 * smtpd_hard_error_limit) is alive: the rest go on in
			 * a new session there. One that answered none is
			 * tried at the next address. */
			if (x->nreplied > 0)
				retry_same = true;
			else
				retry_next = true;
			reason = failure_reason(f, &r->retry_after);
			r->v.smtp.stage = f->stage;
			r->v.smtp.code = f->code;
			snprintf(r->v.smtp.enhanced, sizeof(r->v.smtp.enhanced),
				 "%s", f->enhanced);
			verdict_copy_text(
			    r->v.smtp.message, sizeof(r->v.smtp.message),
			    f->code ? f->text : f->detail,
			    strlen(f->code ? f->text : f->detail), false);
		}
		break;
	}
	if (reason == REASON_ACCEPTED && !d->literal) {
		enum tristate t = fact_get(e, d->name);
		r->v.catch_all = t;
		if (t == TRI_UNKNOWN && e->c.catch_all_probe) {
			/* Accepted, but whether anything would be is not
			 * known: never deliverable on doubt. Ask again in a
			 * new session with the probe, once. */
			if (d->probe_runs < 2 && !e->closing &&
			    r->attempts + 1 < ENGINE_ATTEMPTS_MAX)
				retry_same = true;
			else {
				/* Say why: the probe was greylisted, timed
				 * out, ... */
				reason = d->probe_reason;
				r->retry_after = d->probe_retry_after;
			}
		}
	} else if (!d->literal)
		r->v.catch_all = fact_get(e, d->name);

	if (retry_next && x->target + 1 < d->ntargets && !e->closing) {
		r->next_target = x->target + 1;
		r->attempts++;
		TAILQ_INSERT_HEAD(&d->queue, r, link);
		r->queued = true;
		return;
	}
	if (retry_same && !e->closing && ++r->attempts < ENGINE_ATTEMPTS_MAX) {
		TAILQ_INSERT_HEAD(&d->queue, r, link);
		r->queued = true;
		return;
	}
	if (reason == REASON_IN_PROGRESS)
		reason = REASON_RATE_LIMITED;
	req_finish(r, reason, transcript);
}

/* session_pushed_back - whether the server asked us to slow down: a
 * refused connection, 421, "too many connections" and the like, or a
 * burst of 4xx to RCPT. */
static bool session_pushed_back(const struct esess *x,
				const struct dialog_failure *f)
{
	unsigned retry;

	if (x->pushback || x->n4xx >= ENGINE_4XX_BURST)
		return true;
	if (f->kind == DIALOG_FAIL_CONNECT)
		return true;
	if (f->kind == DIALOG_FAIL_REJECTED &&
	    (f->code == 421 ||
	     classify_reply(f->stage, f->code, f->enhanced, f->text, &retry) ==
		 REASON_RATE_LIMITED))
		return true;
	return false;
}

static void on_session_done(struct session *s, void *data)
{
	struct esess *x = data;
	struct engine *e = x->e;
	struct edomain *d = x->d;
	const struct dialog *dg = session_dialog(s);
	const struct dialog_failure *f = dialog_failure(dg);
	bool tls = (dialog_extensions(dg) & SMTP_EXT_STARTTLS) != 0;
	const char *transcript = NULL;

	if (e->c.dialog.transcript_max)
		dialog_transcript(dg, &transcript);
	if (f->kind != DIALOG_FAIL_NONE)
		e->stats.session_failures++;
	/* The probe first: the real recipients' verdicts depend on it. */
	if (x->probe)
		settle_probe(d, x->probe, f); /* frees it */
	for (unsigned i = 0; i < x->n; i++)
		settle(x, x->reqs[i], f, tls, transcript);
	host_judge(e, x->h, session_pushed_back(x, f));
	session_free(s);
	host_put(e, x->h);
	d->active--;
	e->active--;
	free(x);
	if (!TAILQ_EMPTY(&d->queue) && !d->in_ready) {
		TAILQ_INSERT_TAIL(&e->ready, d, ready_link);
		d->in_ready = true;
	}
	pump_soon(e);
	dom_release(d);
}

static struct probe *probe_new(struct engine *e, struct edomain *d)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t dlen = strlen(d->name);
	struct probe *p;
	char local[24];

	/* "rcptd-" + 12 characters + "@" + domain must fit an address. */
	if (18 + 1 + dlen > ADDRESS_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	memcpy(local, "rcptd-", 6);
	for (int i = 6; i < 18; i++)
		local[i] = alnum[next_random(e) % (sizeof(alnum) - 1)];
	local[18] = '\0';
	p->rstatus = DIALOG_RCPT_NOT_ATTEMPTED;
	memcpy(p->address, local, 18);
	p->address[18] = '@';
	memcpy(p->address + 19, d->name, dlen + 1);
	return p;
}

/* start_session - one session for the head of @d's queue; false when a
 * limit stops it (the domain waits for a session to end). */
static bool start_session(struct engine *e, struct edomain *d)
{
	struct ereq *head = TAILQ_FIRST(&d->queue), *r, *next;
	unsigned ti = head->next_target, cap, n = 0;
	struct ehost *h;
	struct esess *x;
	struct session *s;
	struct session_target t;
	const char **rcpts;
	void **tags;

	h = host_get(e, &d->targets[ti]);
	if (h == NULL)
		return false;
	if (h->backoff_until > uv_now(e->loop)) {
		wake_at(e, h->backoff_until);
		host_maybe_free(e, h);
		return false;
	}
	if (h->active >= host_cap(e, h))
		return false;
	if (!rate_take(e, d)) {
		host_maybe_free(e, h);
		return false;
	}
	cap = e->c.dialog.rcpt_max ? e->c.dialog.rcpt_max : 50;
	x = calloc(1, sizeof(*x) + (cap + 1) * sizeof(x->reqs[0]));
	rcpts = calloc(cap + 1, sizeof(*rcpts));
	tags = calloc(cap + 1, sizeof(*tags));
	if (x == NULL || rcpts == NULL || tags == NULL) {
		free(x), free(rcpts), free(tags);
		host_maybe_free(e, h);
		return false;
	}
	for (r = head; r && n < cap; r = next) {
		next = TAILQ_NEXT(r, link);
		if (r->next_target != ti)
			continue;
		req_unqueue(r);
		r->in_session = true;
		x->reqs[n++] = r;
	}
	if (e->c.catch_all_probe && !d->literal && !d->probing &&
	    d->probe_runs < 2 && fact_get(e, d->name) == TRI_UNKNOWN) {
		x->probe = probe_new(e, d);
		if (x->probe) {
			d->probing = true;
			d->probe_runs++;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		rcpts[i] = x->reqs[i]->v.address;
		tags[i] = x->reqs[i];
		x->reqs[i]->rstatus = DIALOG_RCPT_NOT_ATTEMPTED;
	}
	if (x->probe) { /* last: the real recipients go first */
		rcpts[n] = x->probe->address;
		tags[n] = x->probe;
	}
	x->e = e;
	x->d = d;
	x->h = h;
	x->target = ti;
	x->n = n;
	t.family = d->targets[ti].family;
	memcpy(t.octets, d->targets[ti].octets, 16);
	t.port = e->c.port;
	h->active++;
	d->active++;
	e->active++;
	e->stats.sessions++;
	int rc =
	    session_start(e->loop, &t, &e->c.dialog, e->c.connect_timeout_ms,
			  rcpts, (void *const *)tags, n + (x->probe != NULL),
			  on_result, on_session_done, x, &s);
	free(rcpts);
	free(tags);
	if (rc < 0) {
		/* As if the connection had failed at once. */
		static const struct dialog_failure fail = {
		    DIALOG_FAIL_CONNECT,
		    SMTP_STAGE_CONNECT,
		    0,
		    "",
		    "",
		    "could not start a connection"};
		log_warn("session to %s: %s", d->name, uv_strerror(rc));
		if (x->probe)
			settle_probe(d, x->probe, &fail);
		for (unsigned i = 0; i < n; i++)
			settle(x, x->reqs[i], &fail, false, NULL);
		host_put(e, h);
		d->active--;
		e->active--;
		free(x);
	}
	return true;
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
				req_finish(r, d->fail, NULL);
		}
		while (!TAILQ_EMPTY(&d->queue) &&
		       e->active < e->c.concurrency && !e->closing)
			if (!start_session(e, d))
				break;
		if (TAILQ_EMPTY(&d->queue)) {
			TAILQ_REMOVE(&e->ready, d, ready_link);
			d->in_ready = false;
			dom_release(d);
		}
		if (e->active >= e->c.concurrency)
			break;
	}
}

static void pump_soon(struct engine *e)
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
	TAILQ_INIT(&e->dns_wait);
	TAILQ_INIT(&e->fact_fifo);
	uv_timer_init(loop, &e->pump);
	e->pump.data = e;
	uv_timer_init(loop, &e->wake);
	e->wake.data = e;
	if (uv_random(NULL, NULL, &e->rnd, sizeof(e->rnd), 0, NULL) < 0 ||
	    e->rnd == 0)
		e->rnd = uv_hrtime() | 1;
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
				req_finish(r, REASON_TIMEOUT, NULL);
			dom_release(d); /* unless sessions still run */
		}
	}
	/* Running sessions end by themselves, bounded by their waits; their
	 * done callbacks settle the requests without retrying (e->closing)
	 * and the last one completes the close. */
	maybe_finish_close(e);
}

void engine_set_catch_all(struct engine *e, const char *domain,
			  enum tristate catch_all)
{
	if (catch_all != TRI_UNKNOWN && fact_get(e, domain) == TRI_UNKNOWN)
		fact_set(e, domain, catch_all);
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
