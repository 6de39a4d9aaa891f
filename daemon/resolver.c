/* resolver - MX resolution for the probe engine (see resolver.h).
 *
 * Three modules below do the DNS work:
 *   core/dnscache    the RRset cache: one entry per (type, name),
 *                    lifetimes, LRU eviction, coalescing of queries;
 *   daemon/dnsquery  one RRset at a time, from that cache or asked of
 *                    DNS through c-ares, the answer read and classified;
 *   daemon/cares_uv  c-ares' sockets and timeouts on the loop.
 * What is left here is the MX logic of RFC 5321 5.1: one struct
 * resolver_req per resolver_mx(), which asks for the MX RRset, then for
 * A and AAAA of each host in parallel, then assembles the answer and
 * queues it for the idle handle that runs the callbacks.
 * A request counts its unanswered slots in `outstanding`, plus one hold
 * while it starts a phase: an answer may come from inside dnsquery_ask()
 * (a cache hit always does, c-ares sometimes), and the hold keeps the
 * phase from ending before all its slots are started. */
#include "daemon/resolver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/dnscache.h"
#include "core/dnsmsg.h"
#include "daemon/dnsquery.h"

/* The cache and the query layer keep what resolver.h promises. */
_Static_assert(RESOLVER_ADDRS_PER_FAMILY == DNSCACHE_ADDRS_MAX,
	       "addresses per family");
_Static_assert(RESOLVER_NAME_MAX == DNSCACHE_NAME_MAX, "host name length");
_Static_assert(RESOLVER_SERVERS_MAX == DNSQUERY_SERVERS_MAX, "DNS servers");
_Static_assert(RESOLVER_SERVER_TEXT_MAX == DNSQUERY_SERVER_TEXT_MAX,
	       "DNS server text");

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

/* ---- intrusive circular lists of requests (libuv's QUEUE) ------------ */

struct link {
	struct link *prev, *next;
};

static void list_init(struct link *h)
{
	h->prev = h->next = h;
}

static bool list_empty(const struct link *h)
{
	return h->next == h;
}

static void list_add_tail(struct link *h, struct link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

/* list_remove - unlink @n; it becomes an empty list, so removing twice
 * is harmless. */
static void list_remove(struct link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* ---- types ------------------------------------------------------------ */

/* One RRset a request waits for. */
struct slot {
	struct dnscache_link link; /* in the entry's waiters while waiting */
	struct resolver_req *req;
	unsigned host; /* index of the host in req->work[] */
};

/* One MX host (or the implicit MX) being resolved. */
struct hostwork {
	char name[RESOLVER_NAME_MAX + 1];
	uint16_t preference;
	struct resolver_addr v4[RESOLVER_ADDRS_PER_FAMILY];
	struct resolver_addr v6[RESOLVER_ADDRS_PER_FAMILY];
	unsigned n4, n6;
	unsigned failed; /* its A or AAAA lookups that failed */
};

enum req_phase { PHASE_MX = 0, PHASE_HOSTS, PHASE_DONE };

struct resolver_req {
	struct resolver *r;
	struct link link; /* r->pending, then r->ready */
	resolver_mx_cb cb;
	void *data;
	enum req_phase phase;
	bool delivering;      /* its callback is running */
	unsigned outstanding; /* slots unanswered, + 1 while starting */
	bool all_cached;
	uint64_t expires; /* least expiry of the RRsets used */
	struct slot mx_slot;
	struct slot slots[RESOLVER_MX_HOSTS_MAX][2]; /* A, AAAA */
	struct hostwork work[RESOLVER_MX_HOSTS_MAX];
	unsigned nwork;
	struct resolver_mx_result res;
	char domain[RESOLVER_NAME_MAX + 1];
};

struct resolver {
	uv_loop_t *loop;
	struct dnsquery *dq; /* NULL once closing */
	uv_idle_t idle;	     /* runs callbacks from r->ready */
	struct link pending; /* requests not answered yet */
	struct link ready;   /* answered, callback not run yet */
	unsigned handles;    /* the idle handle and dq, until closed */
	bool closing;
	void (*closed_cb)(void *data);
	void *closed_data;
	uint64_t rng; /* splitmix64 state */
	uint64_t lookups;
	struct dnsquery_stats final; /* dq's counters when it closed */
};

static void req_release(struct resolver_req *q);

/* next_random - splitmix64: the shuffle needs spread, not secrecy. */
static uint64_t next_random(void *ctx)
{
	struct resolver *r = ctx;
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- requests --------------------------------------------------------- */

/* mx_answer - the MX RRset decides the request's course. */
static void mx_answer(struct resolver_req *q, const struct dnscache_entry *e)
{
	const struct dnscache_answer *a = &e->answer;
	struct mx_record in[MX_INPUT_MAX];
	struct mx_set set;
	enum mx_status st = MX_EMPTY;

	switch (a->kind) {
	case DNSCACHE_ERROR:
		/* RFC 5321 5.1: a temporary failure is not "no MX". */
		q->res.status = RESOLVER_DNS_ERROR;
		dnsquery_error_text(q->res.error, sizeof(q->res.error), e);
		return;
	case DNSCACHE_NXDOMAIN:
		q->res.status = RESOLVER_NXDOMAIN;
		return;
	case DNSCACHE_DATA:
		for (unsigned i = 0; i < a->count; i++) {
			in[i].preference = a->mx[i].preference;
			in[i].host = a->mx[i].usable ? a->mx[i].host : NULL;
		}
		st = mx_order(in, a->count, next_random, q->r, &set);
		break;
	case DNSCACHE_NODATA:
		break;
	}
	switch (st) {
	case MX_OK:
		for (unsigned i = 0; i < set.count; i++) {
			struct hostwork *w = &q->work[i];
			memcpy(w->name, set.hosts[i].host,
			       strlen(set.hosts[i].host) + 1);
			w->preference = set.hosts[i].preference;
		}
		q->nwork = set.count;
		break;
	case MX_EMPTY: /* RFC 5321 5.1: the domain is its own MX */
		q->res.implicit = true;
		memcpy(q->work[0].name, q->domain, strlen(q->domain) + 1);
		q->nwork = 1;
		break;
	case MX_NULL:
		q->res.status = RESOLVER_NULL_MX;
		break;
	case MX_UNUSABLE:
		q->res.status = RESOLVER_NO_MAIL_SERVER;
		break;
	}
}

/* host_answer - an A or AAAA RRset of one host. */
static void host_answer(struct resolver_req *q, const struct slot *s,
			const struct dnscache_entry *e)
{
	struct hostwork *w = &q->work[s->host];
	bool v4 = e->qtype == DNSMSG_TYPE_A;
	struct resolver_addr *dst = v4 ? w->v4 : w->v6;

	if (e->answer.kind == DNSCACHE_ERROR) {
		w->failed++;
		if (q->res.error[0] == '\0')
			dnsquery_error_text(q->res.error, sizeof(q->res.error),
					    e);
		return;
	}
	if (e->answer.kind != DNSCACHE_DATA)
		return;
	for (unsigned i = 0; i < e->answer.count; i++) {
		dst[i].family = v4 ? AF_INET : AF_INET6;
		memcpy(dst[i].octets, e->answer.addr[i], sizeof(dst[i].octets));
	}
	*(v4 ? &w->n4 : &w->n6) = e->answer.count;
}

/* slot_answer - an RRset is ready for a slot (from the cache or just
 * answered; dnsquery's callback): take what the request needs from it
 * now, as the entry may be evicted once this returns. */
static void slot_answer(struct dnscache_link *link,
			const struct dnscache_entry *e, bool cached, void *data)
{
	struct slot *s = container_of(link, struct slot, link);
	struct resolver_req *q = s->req;

	(void)data;
	if (!cached)
		q->all_cached = false;
	if (e->expires < q->expires)
		q->expires = e->expires;
	if (s == &q->mx_slot)
		mx_answer(q, e);
	else
		host_answer(q, s, e);
	req_release(q);
}

/* slot_start - ask for (@qtype, @name) on behalf of @s: from the cache,
 * joining the query in flight, or a query of its own. Returns 0, or
 * UV_ENOMEM with nothing started. */
static int slot_start(struct resolver_req *q, struct slot *s, uint16_t qtype,
		      const char *name, unsigned host)
{
	int rc;

	s->req = q;
	s->host = host;
	q->outstanding++; /* the answer may come before dnsquery_ask returns */
	rc = dnsquery_ask(q->r->dq, qtype, name, &s->link);
	if (rc != 0)
		q->outstanding--;
	return rc;
}

static void on_idle(uv_idle_t *h);
static void on_idle_closed(uv_handle_t *h);

/* req_finish - the answer is complete: queue it for the idle handle. */
static void req_finish(struct resolver_req *q)
{
	struct resolver *r = q->r;
	uint64_t now = uv_now(r->loop);

	q->phase = PHASE_DONE;
	q->res.cached = q->all_cached;
	q->res.ttl = 0;
	if (q->expires != UINT64_MAX && q->expires > now)
		q->res.ttl = (uint32_t)((q->expires - now) / 1000);
	list_remove(&q->link);
	list_add_tail(&r->ready, &q->link);
	uv_idle_start(&r->idle, on_idle);
}

/* hosts_assemble - the hosts with an address, in order; IPv4 first. */
static void hosts_assemble(struct resolver_req *q)
{
	unsigned n = 0, failed = 0;

	for (unsigned i = 0; i < q->nwork; i++) {
		const struct hostwork *w = &q->work[i];
		struct resolver_host *h = &q->res.hosts[n];

		if (w->n4 + w->n6 == 0) {
			failed += w->failed > 0;
			continue;
		}
		memcpy(h->name, w->name, strlen(w->name) + 1);
		h->preference = w->preference;
		memcpy(h->addrs, w->v4, w->n4 * sizeof(w->v4[0]));
		memcpy(h->addrs + w->n4, w->v6, w->n6 * sizeof(w->v6[0]));
		h->addr_count = w->n4 + w->n6;
		n++;
	}
	q->res.host_count = n;
	q->res.partial = n > 0 && failed > 0;
	if (n == 0) /* a failed lookup might have found an address */
		q->res.status =
		    failed > 0 ? RESOLVER_DNS_ERROR : RESOLVER_NO_MAIL_SERVER;
	else if (!q->res.partial)
		q->res.error[0] = '\0';
}

/* req_advance - every slot of the phase is answered: start the next. */
static void req_advance(struct resolver_req *q)
{
	static const uint16_t types[2] = {DNSMSG_TYPE_A, DNSMSG_TYPE_AAAA};

	if (q->phase == PHASE_MX && q->res.status == RESOLVER_OK) {
		q->phase = PHASE_HOSTS;
		q->outstanding = 1; /* the hold */
		for (unsigned i = 0; i < q->nwork; i++)
			for (unsigned f = 0; f < 2; f++)
				if (slot_start(q, &q->slots[i][f], types[f],
					       q->work[i].name, i) != 0) {
					q->work[i].failed++;
					snprintf(q->res.error,
						 sizeof(q->res.error),
						 "out of memory");
				}
		req_release(q);
		return;
	}
	if (q->phase == PHASE_HOSTS)
		hosts_assemble(q);
	req_finish(q);
}

static void req_release(struct resolver_req *q)
{
	if (--q->outstanding == 0)
		req_advance(q);
}

/* req_detach - take every slot of @q off the RRsets it waits on. */
static void req_detach(struct resolver_req *q)
{
	dnscache_cancel(&q->mx_slot.link);
	for (unsigned i = 0; i < RESOLVER_MX_HOSTS_MAX; i++) {
		dnscache_cancel(&q->slots[i][0].link);
		dnscache_cancel(&q->slots[i][1].link);
	}
}

/* on_idle - run the callbacks of the answers queued so far. Answers
 * queued by these callbacks wait for the next turn, so a caller that
 * asks again from its callback cannot starve the loop. */
static void on_idle(uv_idle_t *h)
{
	struct resolver *r = h->data;
	struct link batch;

	if (list_empty(&r->ready)) {
		list_init(&batch);
	} else {
		batch.next = r->ready.next;
		batch.prev = r->ready.prev;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		list_init(&r->ready);
	}
	while (!list_empty(&batch)) {
		struct resolver_req *q =
		    container_of(batch.next, struct resolver_req, link);
		list_remove(&q->link);
		q->delivering = true;
		q->cb(&q->res, q->data);
		free(q);
	}
	if (!list_empty(&r->ready))
		return;
	uv_idle_stop(&r->idle);
	if (r->closing && !uv_is_closing((uv_handle_t *)&r->idle))
		uv_close((uv_handle_t *)&r->idle, on_idle_closed);
}

/* ---- the public functions ------------------------------------------- */

void resolver_config_defaults(struct resolver_config *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = RESOLVER_DEFAULT_TIMEOUT_MS;
	c->tries = RESOLVER_DEFAULT_TRIES;
	c->cache_max = RESOLVER_DEFAULT_CACHE_MAX;
	c->ttl_floor_s = RESOLVER_DEFAULT_TTL_FLOOR;
	c->ttl_ceiling_s = RESOLVER_DEFAULT_TTL_CEILING;
	c->negative_ttl_s = RESOLVER_DEFAULT_NEGATIVE_TTL;
	c->error_ttl_s = RESOLVER_DEFAULT_ERROR_TTL;
}

int resolver_parse_server(const char *text, int *family, unsigned char addr[16],
			  unsigned *port, char *err, size_t errlen)
{
	struct dnsquery_server s;
	int rc = dnsquery_parse_server(text, &s, err, errlen);

	if (rc != 0)
		return rc;
	*family = s.family;
	memcpy(addr, s.addr, sizeof(s.addr));
	*port = s.port;
	return 0;
}

/* config_check - every value inside its range, with a line that says
 * which is not. */
static int config_check(const struct resolver_config *c, char *err,
			size_t errlen)
{
	const struct {
		const char *name;
		unsigned value, min, max;
	} range[] = {
	    {"timeout_ms", c->timeout_ms, 1, RESOLVER_TIMEOUT_LIMIT},
	    {"tries", c->tries, 1, RESOLVER_TRIES_LIMIT},
	    {"cache_max", c->cache_max, 1, RESOLVER_CACHE_LIMIT},
	    {"ttl_floor_s", c->ttl_floor_s, 0, c->ttl_ceiling_s},
	    {"ttl_ceiling_s", c->ttl_ceiling_s, 0, RESOLVER_TTL_LIMIT},
	    {"negative_ttl_s", c->negative_ttl_s, 0, RESOLVER_TTL_LIMIT},
	    {"error_ttl_s", c->error_ttl_s, 0, RESOLVER_ERROR_TTL_LIMIT},
	    {"DNS servers", c->server_count, 0, RESOLVER_SERVERS_MAX},
	};

	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		if (range[i].value < range[i].min ||
		    range[i].value > range[i].max) {
			snprintf(err, errlen,
				 "resolver: %s is %u, outside %u..%u",
				 range[i].name, range[i].value, range[i].min,
				 range[i].max);
			return UV_EINVAL;
		}
	if (c->server_count > 0 && c->servers == NULL) {
		snprintf(err, errlen, "resolver: DNS server list missing");
		return UV_EINVAL;
	}
	return 0;
}

int resolver_new(uv_loop_t *loop, const struct resolver_config *c,
		 struct resolver **out, char *err, size_t errlen)
{
	struct dnsquery_server servers[RESOLVER_SERVERS_MAX];
	struct dnsquery_config dc;
	struct resolver *r;
	char why[RESOLVER_ERROR_MAX];
	int rc;

	*out = NULL;
	rc = config_check(c, err, errlen);
	if (rc != 0)
		return rc;
	memset(&dc, 0, sizeof(dc));
	for (unsigned i = 0; i < c->server_count; i++) {
		rc = dnsquery_parse_server(c->servers[i], &servers[i], err,
					   errlen);
		if (rc != 0)
			return rc;
	}
	dc.servers = servers;
	dc.server_count = c->server_count;
	dc.timeout_ms = c->timeout_ms;
	dc.tries = c->tries;
	dc.cache.max_entries = c->cache_max;
	dc.cache.ttl_floor_s = c->ttl_floor_s;
	dc.cache.ttl_ceiling_s = c->ttl_ceiling_s;
	dc.cache.negative_ttl_s = c->negative_ttl_s;
	dc.cache.error_ttl_s = c->error_ttl_s;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "resolver: out of memory");
		return UV_ENOMEM;
	}
	rc = dnsquery_new(loop, &dc, slot_answer, r, &r->dq, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "resolver: %s", why);
		free(r);
		return rc;
	}
	r->loop = loop;
	list_init(&r->pending);
	list_init(&r->ready);
	r->rng = c->seed;
	if (r->rng == 0 && getrandom(&r->rng, sizeof(r->rng), GRND_NONBLOCK) !=
			       (ssize_t)sizeof(r->rng))
		r->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)r;
	/* Cannot fail on Unix; it comes last so that every error above
	 * frees synchronously. */
	uv_idle_init(loop, &r->idle);
	r->idle.data = r;
	r->handles = 2; /* the idle handle and dq */
	*out = r;
	return 0;
}

/* handle_gone - the idle handle or dq has closed: the last frees @r. */
static void handle_gone(struct resolver *r)
{
	void (*cb)(void *) = r->closed_cb;
	void *data = r->closed_data;

	if (--r->handles > 0)
		return;
	free(r);
	if (cb != NULL)
		cb(data);
}

static void on_idle_closed(uv_handle_t *h)
{
	handle_gone(h->data);
}

static void on_dq_closed(void *data)
{
	handle_gone(data);
}

void resolver_close(struct resolver *r, void (*closed_cb)(void *data),
		    void *data)
{
	struct dnsquery *dq = r->dq;

	if (r->closing)
		return;
	r->closing = true;
	r->closed_cb = closed_cb;
	r->closed_data = data;
	while (!list_empty(&r->pending)) {
		struct resolver_req *q =
		    container_of(r->pending.next, struct resolver_req, link);
		req_detach(q);
		memset(&q->res, 0, sizeof(q->res));
		q->res.status = RESOLVER_CANCELED;
		q->res.domain = q->domain;
		snprintf(q->res.error, sizeof(q->res.error), "resolver closed");
		q->phase = PHASE_DONE;
		list_remove(&q->link);
		list_add_tail(&r->ready, &q->link);
	}
	/* The counters stay readable until @r is freed. */
	dnsquery_get_stats(dq, &r->final);
	r->dq = NULL;
	dnsquery_close(dq, on_dq_closed, r);
	uv_idle_start(&r->idle, on_idle); /* delivers, then closes itself */
}

int resolver_mx(struct resolver *r, const char *domain, resolver_mx_cb cb,
		void *data, struct resolver_req **req)
{
	char name[RESOLVER_NAME_MAX + 1];
	struct resolver_req *q;
	int rc;

	if (req != NULL)
		*req = NULL;
	if (r->closing)
		return UV_ECANCELED;
	if (cb == NULL || dnsquery_name_normalise(domain, name) != 0)
		return UV_EINVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return UV_ENOMEM;
	q->r = r;
	q->cb = cb;
	q->data = data;
	q->all_cached = true;
	q->expires = UINT64_MAX;
	memcpy(q->domain, name, strlen(name) + 1);
	q->res.domain = q->domain;
	q->res.status = RESOLVER_OK;
	dnscache_link_init(&q->mx_slot.link);
	for (unsigned i = 0; i < RESOLVER_MX_HOSTS_MAX; i++) {
		dnscache_link_init(&q->slots[i][0].link);
		dnscache_link_init(&q->slots[i][1].link);
	}
	list_add_tail(&r->pending, &q->link);
	q->outstanding = 1; /* the hold */
	rc = slot_start(q, &q->mx_slot, DNSMSG_TYPE_MX, name, 0);
	if (rc != 0) {
		list_remove(&q->link);
		free(q);
		return rc;
	}
	r->lookups++;
	if (req != NULL)
		*req = q;
	req_release(q);
	return 0;
}

void resolver_cancel(struct resolver_req *q)
{
	if (q == NULL || q->delivering)
		return; /* freed when its callback returns */
	req_detach(q);
	list_remove(&q->link);
	free(q);
}

void resolver_get_stats(const struct resolver *r, struct resolver_stats *s)
{
	struct dnsquery_stats q;

	if (r->dq != NULL)
		dnsquery_get_stats(r->dq, &q);
	else
		q = r->final;
	memset(s, 0, sizeof(*s));
	s->lookups = r->lookups;
	s->queries = q.queries;
	s->cache_hits = q.cache.hits;
	s->coalesced = q.cache.coalesced;
	s->evictions = q.cache.evictions;
	s->entries = (unsigned)q.cache.entries;
	s->in_flight = q.in_flight;
}

const char *resolver_status_name(enum resolver_status status)
{
	static const char *const names[RESOLVER_STATUS_LAST] = {
	    [RESOLVER_OK] = "ok",
	    [RESOLVER_NXDOMAIN] = "nxdomain",
	    [RESOLVER_NULL_MX] = "null_mx",
	    [RESOLVER_NO_MAIL_SERVER] = "no_mail_server",
	    [RESOLVER_DNS_ERROR] = "dns_error",
	    [RESOLVER_CANCELED] = "canceled",
	};

	if ((unsigned)status >= RESOLVER_STATUS_LAST)
		return NULL;
	return names[status];
}

int resolver_status_reason(enum resolver_status status)
{
	switch (status) {
	case RESOLVER_NXDOMAIN:
		return REASON_NO_SUCH_DOMAIN;
	case RESOLVER_NULL_MX:
		return REASON_NULL_MX;
	case RESOLVER_NO_MAIL_SERVER:
		return REASON_NO_MAIL_SERVER;
	case RESOLVER_DNS_ERROR:
		return REASON_DNS_ERROR;
	default:
		return -1;
	}
}
