/* resolver - MX resolution with c-ares on a libuv loop, and its RRset
 * cache (see resolver.h).
 *
 * Three layers, bottom up:
 *   glue      ARES_OPT_SOCK_STATE_CB opens one uv_poll_t per c-ares
 *             socket; one uv_timer_t follows ares_timeout(); both call
 *             ares_process_fd(). Decides nothing.
 *   rrsets    one struct rrset per (type, name): PENDING while its query
 *             is in flight (slots of requests wait on it: coalescing),
 *             then READY with data, NODATA, NXDOMAIN or an error until it
 *             expires. READY entries sit on an LRU list.
 *   requests  one struct resolver_req per resolver_mx(): the MX RRset,
 *             then A and AAAA of each host in parallel, then the answer,
 *             queued for the idle handle that runs the callbacks.
 * A request counts its unanswered slots in `outstanding`, plus one hold
 * while it starts a phase: c-ares may answer inside ares_query() (a
 * cache hit always does), and the hold keeps the phase from ending before
 * all its slots are started. */
#include "daemon/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/dnsmsg.h"
#include "core/htab.h"

#define DNS_CLASS_IN 1
/* Larger UDP answers come truncated and are asked again over TCP; 1232
 * avoids IP fragmentation on any path (DNS flag day 2020). */
#define EDNS_PAYLOAD 1232
/* An rrset's key: the type in two octets, then the name. */
#define KEY_MAX (2 + RESOLVER_NAME_MAX)

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

/* ---- intrusive circular lists (libuv's QUEUE, spelled out) ---------- */

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

enum rr_state { RR_PENDING = 0, RR_READY };
enum rr_kind { RR_DATA = 0, RR_NODATA, RR_NXDOMAIN, RR_ERROR };

struct mx_rr {
	uint16_t preference;
	bool usable; /* false: longer than any host name, dropped */
	char host[RESOLVER_NAME_MAX + 1];
};

struct rrset {
	struct htab_node node;
	struct resolver *r;
	struct link lru;     /* READY and not being handed out: r->lru */
	struct link waiters; /* PENDING: struct slot */
	enum rr_state state;
	enum rr_kind kind;
	bool handing_out; /* its answer is being given to its waiters */
	uint16_t qtype;
	int ares_status;  /* RR_ERROR: ARES_E*, or */
	int dnsmsg_error; /* ... a malformed answer (enum dnsmsg_err) */
	uint64_t expires; /* uv_now() milliseconds */
	unsigned count;	  /* RR_DATA: records in addr[] or mx[] */
	struct resolver_addr addr[RESOLVER_ADDRS_PER_FAMILY];
	struct mx_rr *mx; /* type MX: owned */
	char name[RESOLVER_NAME_MAX + 1];
};

struct slot {
	struct link link; /* in rrset->waiters while waiting */
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

struct rpoll {
	uv_poll_t handle;
	struct resolver *r;
	ares_socket_t fd;
	struct link link; /* r->polls while open */
};

struct resolver {
	uv_loop_t *loop;
	ares_channel channel;
	uv_timer_t timer; /* follows ares_timeout() */
	uv_idle_t idle;	  /* runs callbacks from r->ready */
	struct link polls;
	struct link pending; /* requests not answered yet */
	struct link ready;   /* answered, callback not run yet */
	struct htab cache;
	struct link lru;  /* least recently used first */
	unsigned handles; /* libuv handles not closed yet */
	bool closing;
	void (*closed_cb)(void *data);
	void *closed_data;
	uint64_t rng; /* splitmix64 state */
	struct resolver_config cfg;
	struct resolver_stats stats;
};

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen);
static void req_release(struct resolver_req *q);

/* ---- small helpers ------------------------------------------------------ */

/* next_random - splitmix64: the shuffle needs spread, not secrecy. */
static uint64_t next_random(void *ctx)
{
	struct resolver *r = ctx;
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* name_normalise - @in as a lower-case host name without its final dot.
 * Letters, digits, '-' and '_' (DNS has underscore labels; asking for
 * their MX harms nothing), labels of 1..63 octets, 253 in all. A single
 * label is allowed: it is asked as an absolute name, never searched. */
static int name_normalise(const char *in, char out[RESOLVER_NAME_MAX + 1])
{
	size_t len = in ? strnlen(in, RESOLVER_NAME_MAX + 2) : 0;
	size_t label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > RESOLVER_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
			label++;
		} else {
			return -1;
		}
		if (label > 63)
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	return label == 0 ? -1 : 0;
}

static const char *type_name(uint16_t qtype)
{
	switch (qtype) {
	case DNSMSG_TYPE_MX:
		return "MX";
	case DNSMSG_TYPE_A:
		return "A";
	default:
		return "AAAA";
	}
}

/* error_text - why an RRset failed, in words an operator searches for. */
static void error_text(char *dst, size_t size, const struct rrset *rs)
{
	const char *why;

	if (rs->dnsmsg_error != 0) {
		snprintf(dst, size, "%s %s: malformed answer (%s)",
			 type_name(rs->qtype), rs->name,
			 dnsmsg_strerror(rs->dnsmsg_error));
		return;
	}
	switch (rs->ares_status) {
	case ARES_ETIMEOUT:
		why = "no answer from the DNS server (timeout)";
		break;
	case ARES_ESERVFAIL:
		why = "SERVFAIL";
		break;
	case ARES_EREFUSED:
		why = "REFUSED";
		break;
	case ARES_ENOTIMP:
		why = "NOTIMP";
		break;
	case ARES_EFORMERR:
		why = "FORMERR";
		break;
	case ARES_ECONNREFUSED:
		/* c-ares 1.18 reports this when every server answered
		 * SERVFAIL or REFUSED, or refused the connection. */
		why = "the DNS servers failed (SERVFAIL, REFUSED or "
		      "unreachable)";
		break;
	default:
		why = ares_strerror(rs->ares_status);
		break;
	}
	snprintf(dst, size, "%s %s: %s", type_name(rs->qtype), rs->name, why);
}

/* ---- the glue: c-ares sockets and timeouts on the loop --------------- */

/* timer_update - arm the timer for c-ares' next timeout, rounded up so
 * that it never fires before c-ares considers the time come. */
static void on_timer(uv_timer_t *t);
static void timer_update(struct resolver *r)
{
	struct timeval tv, *tvp;
	uint64_t ms;

	if (r->closing)
		return;
	tvp = ares_timeout(r->channel, NULL, &tv);
	if (tvp == NULL) {
		uv_timer_stop(&r->timer);
		return;
	}
	ms = (uint64_t)tvp->tv_sec * 1000 +
	     ((uint64_t)tvp->tv_usec + 999) / 1000;
	uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct resolver *r = t->data;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_update(r);
}

/* on_poll - a c-ares socket is ready; on a poll error let c-ares try
 * both directions so that it sees the error and closes the socket. */
static void on_poll(uv_poll_t *h, int status, int events)
{
	struct rpoll *p = container_of(h, struct rpoll, handle);
	struct resolver *r = p->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (status < 0 || (events & UV_READABLE))
		rfd = p->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = p->fd;
	ares_process_fd(r->channel, rfd, wfd); /* may close p */
	timer_update(r);
}

static void resolver_free(struct resolver *r);

static void on_handle_closed(uv_handle_t *h)
{
	struct resolver *r = h->data;

	if (--r->handles == 0 && r->closing)
		resolver_free(r);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct rpoll *p = container_of(h, struct rpoll, handle);
	struct resolver *r = p->r;

	free(p);
	if (--r->handles == 0 && r->closing)
		resolver_free(r);
}

static void poll_close(struct rpoll *p)
{
	list_remove(&p->link);
	uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

/* on_sock_state - c-ares opened, changed or closed a socket. c-ares calls
 * this before it closes the descriptor, so the poll stops first. A socket
 * we fail to watch leaves its queries to time out into dns_error. */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct resolver *r = data;
	struct rpoll *p = NULL;
	int events =
	    (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

	for (struct link *l = r->polls.next; l != &r->polls; l = l->next) {
		struct rpoll *it = container_of(l, struct rpoll, link);
		if (it->fd == fd) {
			p = it;
			break;
		}
	}
	if (events == 0) {
		if (p != NULL)
			poll_close(p);
		return;
	}
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return;
		if (uv_poll_init_socket(r->loop, &p->handle, fd) != 0) {
			free(p);
			return;
		}
		p->r = r;
		p->fd = fd;
		p->handle.data = p;
		list_add_tail(&r->polls, &p->link);
		r->handles++;
	}
	uv_poll_start(&p->handle, events, on_poll);
}

/* ---- the cache -------------------------------------------------------- */

static size_t make_key(unsigned char key[KEY_MAX], uint16_t qtype,
		       const char *name)
{
	size_t n = strlen(name);

	key[0] = (unsigned char)(qtype >> 8);
	key[1] = (unsigned char)qtype;
	memcpy(key + 2, name, n);
	return 2 + n;
}

static bool rrset_eq(const struct htab_node *node, const void *key, size_t len)
{
	const struct rrset *rs = container_of(node, struct rrset, node);
	const unsigned char *k = key;

	return len >= 2 && rs->qtype == (uint16_t)(k[0] << 8 | k[1]) &&
	       strlen(rs->name) == len - 2 &&
	       memcmp(rs->name, k + 2, len - 2) == 0;
}

static struct rrset *cache_find(struct resolver *r, uint16_t qtype,
				const char *name)
{
	unsigned char key[KEY_MAX];
	size_t len = make_key(key, qtype, name);
	struct htab_node *n = htab_find(&r->cache, key, len);

	return n ? container_of(n, struct rrset, node) : NULL;
}

/* rrset_clear - forget an entry's data (not its key or waiters). */
static void rrset_clear(struct rrset *rs)
{
	free(rs->mx);
	rs->mx = NULL;
	rs->count = 0;
	rs->ares_status = 0;
	rs->dnsmsg_error = 0;
}

/* rrset_drop - unlink and free an answered entry nobody waits on. */
static void rrset_drop(struct resolver *r, struct rrset *rs)
{
	list_remove(&rs->lru);
	htab_remove(&r->cache, &rs->node);
	rrset_clear(rs);
	free(rs);
}

/* cache_trim - evict least recently used answers until @room more
 * entries fit under cache_max. Entries in flight or being handed out are
 * not on the LRU list and stay: requests wait on them. */
static void cache_trim(struct resolver *r, unsigned room)
{
	while (r->cache.count + room > r->cfg.cache_max &&
	       !list_empty(&r->lru)) {
		rrset_drop(r, container_of(r->lru.next, struct rrset, lru));
		r->stats.evictions++;
	}
}

static struct rrset *rrset_new(struct resolver *r, uint16_t qtype,
			       const char *name)
{
	unsigned char key[KEY_MAX];
	struct rrset *rs;

	cache_trim(r, 1);
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return NULL;
	rs->r = r;
	rs->qtype = qtype;
	memcpy(rs->name, name, strlen(name) + 1);
	list_init(&rs->lru);
	list_init(&rs->waiters);
	htab_insert(&r->cache, &rs->node, key, make_key(key, qtype, name));
	return rs;
}

/* clamp - a TTL into [lo, hi] seconds. */
static unsigned clamp(uint32_t ttl, unsigned lo, unsigned hi)
{
	if (ttl < lo)
		ttl = lo;
	return ttl > hi ? hi : ttl;
}

/* fill_mx - the MX records of an answer, in answer order, at most
 * MX_INPUT_MAX (what mx_order() considers). */
static int fill_mx(struct rrset *rs, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *list = NULL;
	unsigned n = 0;
	int rc = ares_parse_mx_reply(abuf, alen, &list);

	if (rc != ARES_SUCCESS)
		return rc;
	for (struct ares_mx_reply *m = list; m && n < MX_INPUT_MAX; m = m->next)
		n++;
	if (n > 0)
		rs->mx = calloc(n, sizeof(*rs->mx));
	if (n > 0 && rs->mx == NULL) {
		ares_free_data(list);
		return ARES_ENOMEM;
	}
	n = 0;
	for (struct ares_mx_reply *m = list; m && n < MX_INPUT_MAX;
	     m = m->next) {
		struct mx_rr *x = &rs->mx[n++];
		size_t len = strlen(m->host);

		x->preference = m->priority;
		x->usable = len <= RESOLVER_NAME_MAX;
		if (x->usable)
			memcpy(x->host, m->host, len + 1);
	}
	ares_free_data(list);
	rs->count = n;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* fill_addr - the A or AAAA addresses of an answer, at most
 * RESOLVER_ADDRS_PER_FAMILY, in answer order. */
static int fill_addr(struct rrset *rs, const unsigned char *abuf, int alen)
{
	int n = RESOLVER_ADDRS_PER_FAMILY, rc;

	if (rs->qtype == DNSMSG_TYPE_A) {
		struct ares_addrttl a[RESOLVER_ADDRS_PER_FAMILY];
		rc = ares_parse_a_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			rs->addr[i].family = AF_INET;
			memcpy(rs->addr[i].octets, &a[i].ipaddr, 4);
		}
	} else {
		struct ares_addr6ttl a[RESOLVER_ADDRS_PER_FAMILY];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			rs->addr[i].family = AF_INET6;
			memcpy(rs->addr[i].octets, &a[i].ip6addr, 16);
		}
	}
	if (rc != ARES_SUCCESS)
		return rc;
	rs->count = (unsigned)n;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* rrset_fill - classify an answer and keep its data; returns the
 * lifetime in seconds (resolver.h "Cache"). c-ares reports NXDOMAIN and
 * NODATA with the answer; the rcode and TTLs come from dnsmsg, the
 * records from c-ares' parsers. */
static unsigned rrset_fill(struct resolver *r, struct rrset *rs, int status,
			   const unsigned char *abuf, int alen)
{
	const struct resolver_config *c = &r->cfg;
	struct dnsmsg_info info;
	unsigned negative;
	int rc;

	rrset_clear(rs);
	rs->kind = RR_ERROR;
	rs->ares_status = status;
	if (status != ARES_SUCCESS && status != ARES_ENODATA &&
	    status != ARES_ENOTFOUND)
		return c->error_ttl_s;
	if (abuf == NULL || alen <= 0) {
		rs->ares_status = ARES_EBADRESP;
		return c->error_ttl_s;
	}
	rc = dnsmsg_parse(abuf, (size_t)alen, &info);
	if (rc != DNSMSG_OK) {
		rs->dnsmsg_error = rc;
		return c->error_ttl_s;
	}
	negative =
	    clamp(info.soa ? info.negative_ttl : 0, c->ttl_floor_s,
		  c->negative_ttl_s < c->ttl_ceiling_s ? c->negative_ttl_s
						       : c->ttl_ceiling_s);
	if (info.rcode == DNSMSG_NXDOMAIN) {
		rs->kind = RR_NXDOMAIN;
		return negative;
	}
	if (info.rcode != DNSMSG_NOERROR) {
		rs->ares_status = ARES_EBADRESP;
		return c->error_ttl_s;
	}
	rc = ARES_ENODATA;
	if (info.answers > 0)
		rc = rs->qtype == DNSMSG_TYPE_MX ? fill_mx(rs, abuf, alen)
						 : fill_addr(rs, abuf, alen);
	if (rc == ARES_ENODATA) {
		rrset_clear(rs);
		rs->kind = RR_NODATA;
		return negative;
	}
	if (rc != ARES_SUCCESS) {
		rrset_clear(rs);
		rs->ares_status = rc;
		return c->error_ttl_s;
	}
	rs->kind = RR_DATA;
	return clamp(info.answer_ttl, c->ttl_floor_s, c->ttl_ceiling_s);
}

/* ---- requests --------------------------------------------------------- */

/* mx_answer - the MX RRset decides the request's course. */
static void mx_answer(struct resolver_req *q, const struct rrset *rs)
{
	struct mx_record in[MX_INPUT_MAX];
	struct mx_set set;
	enum mx_status st = MX_EMPTY;

	switch (rs->kind) {
	case RR_ERROR:
		/* RFC 5321 5.1: a temporary failure is not "no MX". */
		q->res.status = RESOLVER_DNS_ERROR;
		error_text(q->res.error, sizeof(q->res.error), rs);
		return;
	case RR_NXDOMAIN:
		q->res.status = RESOLVER_NXDOMAIN;
		return;
	case RR_DATA:
		for (unsigned i = 0; i < rs->count; i++) {
			in[i].preference = rs->mx[i].preference;
			in[i].host = rs->mx[i].usable ? rs->mx[i].host : NULL;
		}
		st = mx_order(in, rs->count, next_random, q->r, &set);
		break;
	case RR_NODATA:
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
			const struct rrset *rs)
{
	struct hostwork *w = &q->work[s->host];
	bool v4 = rs->qtype == DNSMSG_TYPE_A;

	if (rs->kind == RR_ERROR) {
		w->failed++;
		if (q->res.error[0] == '\0')
			error_text(q->res.error, sizeof(q->res.error), rs);
		return;
	}
	if (rs->kind != RR_DATA)
		return;
	memcpy(v4 ? w->v4 : w->v6, rs->addr, rs->count * sizeof(rs->addr[0]));
	*(v4 ? &w->n4 : &w->n6) = rs->count;
}

/* slot_answer - an RRset is ready for a slot (from the cache or just
 * answered): take what the request needs from it now, as the entry may
 * be evicted once this returns. */
static void slot_answer(struct slot *s, const struct rrset *rs, bool hit)
{
	struct resolver_req *q = s->req;

	if (!hit)
		q->all_cached = false;
	if (rs->expires < q->expires)
		q->expires = rs->expires;
	if (s == &q->mx_slot)
		mx_answer(q, rs);
	else
		host_answer(q, s, rs);
	req_release(q);
}

/* slot_start - ask for (@qtype, @name) on behalf of @s: answer from the
 * cache, join the query in flight, or send one. Returns 0, or UV_ENOMEM
 * with nothing started. */
static int slot_start(struct resolver_req *q, struct slot *s, uint16_t qtype,
		      const char *name, unsigned host)
{
	struct resolver *r = q->r;
	struct rrset *rs = cache_find(r, qtype, name);

	s->req = q;
	s->host = host;
	if (rs != NULL && rs->state == RR_READY &&
	    (rs->handing_out || rs->expires > uv_now(r->loop))) {
		/* An answer being handed out serves late askers too, even
		 * with a lifetime of 0: it is as fresh as can be. */
		if (rs->handing_out) {
			r->stats.coalesced++;
		} else {
			r->stats.cache_hits++;
			list_remove(&rs->lru);
			list_add_tail(&r->lru, &rs->lru);
		}
		q->outstanding++;
		slot_answer(s, rs, !rs->handing_out);
		return 0;
	}
	if (rs != NULL && rs->state == RR_PENDING) {
		r->stats.coalesced++;
		list_add_tail(&rs->waiters, &s->link);
		q->outstanding++;
		return 0;
	}
	if (rs != NULL) { /* expired: ask again in place */
		list_remove(&rs->lru);
		rrset_clear(rs);
		rs->state = RR_PENDING;
	} else {
		rs = rrset_new(r, qtype, name);
		if (rs == NULL)
			return UV_ENOMEM;
	}
	list_add_tail(&rs->waiters, &s->link);
	q->outstanding++;
	r->stats.queries++;
	r->stats.in_flight++;
	/* Never ares_search() or ares_gethostbyname(): no search list, no
	 * hosts file. May answer before it returns. */
	ares_query(r->channel, name, DNS_CLASS_IN, qtype, on_answer, rs);
	timer_update(r);
	return 0;
}

/* on_answer - c-ares is done with an RRset's query: classify, hand the
 * answer to every waiting slot, then cache it (or not, lifetime 0). */
static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	struct rrset *rs = arg;
	struct resolver *r = rs->r;
	unsigned life;

	(void)timeouts;
	if (r->closing)
		return; /* ares_destroy(): freed with the cache */
	r->stats.in_flight--;
	life = rrset_fill(r, rs, status, abuf, alen);
	rs->state = RR_READY;
	rs->expires = uv_now(r->loop) + (uint64_t)life * 1000;
	rs->handing_out = true; /* off the LRU: no eviction meanwhile */
	while (!list_empty(&rs->waiters)) {
		struct slot *s =
		    container_of(rs->waiters.next, struct slot, link);
		list_remove(&s->link);
		slot_answer(s, rs, false);
	}
	rs->handing_out = false;
	if (life == 0) {
		rrset_drop(r, rs);
		return;
	}
	list_add_tail(&r->lru, &rs->lru);
	cache_trim(r, 0);
}

static void on_idle(uv_idle_t *h);

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
	list_remove(&q->mx_slot.link);
	for (unsigned i = 0; i < RESOLVER_MX_HOSTS_MAX; i++) {
		list_remove(&q->slots[i][0].link);
		list_remove(&q->slots[i][1].link);
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
		uv_close((uv_handle_t *)&r->idle, on_handle_closed);
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

/* parse_port - ":PORT" after an address: decimal 1..65535. */
static int parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (s[0] == '\0')
		return 0; /* no port: keep 53 */
	if (s[0] != ':' || s[1] == '\0' || strlen(s + 1) > 5)
		return -1;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int resolver_parse_server(const char *text, int *family, unsigned char addr[16],
			  unsigned *port, char *err, size_t errlen)
{
	char host[RESOLVER_SERVER_TEXT_MAX];
	const char *rest;
	size_t len = text ? strnlen(text, RESOLVER_SERVER_TEXT_MAX) : 0;

	*port = 53;
	if (len == 0 || len >= RESOLVER_SERVER_TEXT_MAX) {
		snprintf(err, errlen, "DNS server \"%.64s\": %s",
			 text ? text : "", len == 0 ? "empty" : "too long");
		return UV_EINVAL;
	}
	if (text[0] == '[') { /* [IPv6] or [IPv6]:PORT */
		const char *rb = strchr(text, ']');
		if (rb == NULL) {
			snprintf(err, errlen, "DNS server \"%s\": no ']'",
				 text);
			return UV_EINVAL;
		}
		memcpy(host, text + 1, (size_t)(rb - text - 1));
		host[rb - text - 1] = '\0';
		rest = rb + 1;
		*family = AF_INET6;
	} else if (strchr(text, ':') != strrchr(text, ':')) {
		/* two colons or more: a bare IPv6 address, port 53 */
		memcpy(host, text, len + 1);
		rest = "";
		*family = AF_INET6;
	} else { /* IPv4 or IPv4:PORT */
		const char *colon = strchr(text, ':');
		size_t n = colon ? (size_t)(colon - text) : len;
		memcpy(host, text, n);
		host[n] = '\0';
		rest = text + n;
		*family = AF_INET;
	}
	if (inet_pton(*family, host, addr) != 1) {
		snprintf(err, errlen,
			 "DNS server \"%s\": \"%s\" is not an IP%s address",
			 text, host, *family == AF_INET6 ? "v6" : "v4");
		return UV_EINVAL;
	}
	if (parse_port(rest, port) != 0) {
		snprintf(err, errlen,
			 "DNS server \"%s\": the port must be 1..65535 after "
			 "':' (IPv6 as [IP]:PORT)",
			 text);
		return UV_EINVAL;
	}
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

/* channel_new - the c-ares channel: our sockets callback, no search list,
 * no hosts file, EDNS, the configured servers or the system's. */
static int channel_new(struct resolver *r, const struct resolver_config *c,
		       char *err, size_t errlen)
{
	static char lookups[] = "b"; /* DNS only, never /etc/hosts */
	struct ares_addr_port_node nodes[RESOLVER_SERVERS_MAX];
	struct ares_options o;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		   ARES_OPT_SOCK_STATE_CB | ARES_OPT_DOMAINS |
		   ARES_OPT_LOOKUPS | ARES_OPT_EDNSPSZ;
	int rc;

	memset(nodes, 0, sizeof(nodes));
	for (unsigned i = 0; i < c->server_count; i++) {
		unsigned char addr[16];
		unsigned port;
		rc = resolver_parse_server(c->servers[i], &nodes[i].family,
					   addr, &port, err, errlen);
		if (rc != 0)
			return rc;
		memcpy(nodes[i].family == AF_INET
			   ? (void *)&nodes[i].addr.addr4
			   : (void *)&nodes[i].addr.addr6,
		       addr, nodes[i].family == AF_INET ? 4 : 16);
		nodes[i].udp_port = nodes[i].tcp_port = (int)port;
		nodes[i].next = i + 1 < c->server_count ? &nodes[i + 1] : NULL;
	}

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.timeout = (int)c->timeout_ms;
	o.tries = (int)c->tries;
	o.sock_state_cb = on_sock_state;
	o.sock_state_cb_data = r;
	o.domains = NULL;
	o.ndomains = 0;
	o.lookups = lookups;
	o.ednspsz = EDNS_PAYLOAD;
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc == ARES_SUCCESS) {
		rc = ares_init_options(&r->channel, &o, mask);
		if (rc != ARES_SUCCESS)
			ares_library_cleanup();
	}
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: c-ares: %s",
			 ares_strerror(rc));
		return rc == ARES_ENOMEM ? UV_ENOMEM : UV_EINVAL;
	}
	if (c->server_count > 0) {
		rc = ares_set_servers_ports(r->channel, nodes);
		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "resolver: DNS servers: %s",
				 ares_strerror(rc));
			ares_destroy(r->channel);
			ares_library_cleanup();
			return rc == ARES_ENOMEM ? UV_ENOMEM : UV_EINVAL;
		}
	}
	return 0;
}

int resolver_new(uv_loop_t *loop, const struct resolver_config *c,
		 struct resolver **out, char *err, size_t errlen)
{
	struct resolver *r;
	int rc;

	*out = NULL;
	rc = config_check(c, err, errlen);
	if (rc != 0)
		return rc;
	r = calloc(1, sizeof(*r));
	if (r == NULL || htab_init(&r->cache, rrset_eq) != 0) {
		free(r);
		snprintf(err, errlen, "resolver: out of memory");
		return UV_ENOMEM;
	}
	r->loop = loop;
	r->cfg = *c;
	r->cfg.servers = NULL; /* read here only */
	list_init(&r->polls);
	list_init(&r->pending);
	list_init(&r->ready);
	list_init(&r->lru);
	r->rng = c->seed;
	if (r->rng == 0 && getrandom(&r->rng, sizeof(r->rng), GRND_NONBLOCK) !=
			       (ssize_t)sizeof(r->rng))
		r->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)r;

	rc = channel_new(r, c, err, errlen);
	if (rc != 0) {
		htab_free(&r->cache);
		free(r);
		return rc;
	}
	/* Neither can fail on Unix; they come last so that every error
	 * above frees synchronously. */
	uv_timer_init(loop, &r->timer);
	uv_idle_init(loop, &r->idle);
	r->timer.data = r->idle.data = r;
	r->handles = 2;
	*out = r;
	return 0;
}

/* resolver_free - the last handle closed: free the cache and @r. */
static void resolver_free(struct resolver *r)
{
	void (*cb)(void *) = r->closed_cb;
	void *data = r->closed_data;

	for (size_t i = 0; i < r->cache.nbuckets; i++) {
		struct htab_node *n = r->cache.bucket[i], *next;
		for (; n != NULL; n = next) {
			struct rrset *rs = container_of(n, struct rrset, node);
			next = n->next;
			rrset_clear(rs);
			free(rs);
		}
	}
	htab_free(&r->cache);
	ares_library_cleanup();
	free(r);
	if (cb != NULL)
		cb(data);
}

void resolver_close(struct resolver *r, void (*closed_cb)(void *data),
		    void *data)
{
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
	/* Calls on_answer (ignored: closing) and on_sock_state (closes the
	 * polls) for what is still open. */
	ares_destroy(r->channel);
	while (!list_empty(&r->polls))
		poll_close(container_of(r->polls.next, struct rpoll, link));
	uv_close((uv_handle_t *)&r->timer, on_handle_closed);
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
	if (cb == NULL || name_normalise(domain, name) != 0)
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
	list_init(&q->mx_slot.link);
	for (unsigned i = 0; i < RESOLVER_MX_HOSTS_MAX; i++) {
		list_init(&q->slots[i][0].link);
		list_init(&q->slots[i][1].link);
	}
	list_add_tail(&r->pending, &q->link);
	q->outstanding = 1; /* the hold */
	rc = slot_start(q, &q->mx_slot, DNSMSG_TYPE_MX, name, 0);
	if (rc != 0) {
		list_remove(&q->link);
		free(q);
		return rc;
	}
	r->stats.lookups++;
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
	*s = r->stats;
	s->entries = (unsigned)r->cache.count;
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
