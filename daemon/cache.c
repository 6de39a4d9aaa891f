/* cache - the verdict cache, L1 and L2 (see cache.h). */
#include "daemon/cache.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/verdict_json.h"
#include "core/htab.h"
#include "core/redis_url.h"
#include "core/vpack.h"

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

/* ---- L1 -------------------------------------------------------------- */

struct entry {
	struct htab_node node;
	struct entry *prev, *next; /* LRU list, most recent first */
	uint64_t expires, refresh; /* clock milliseconds */
	size_t bytes;		   /* what it counts against l1_bytes */
	enum verdict_status status;
	size_t keylen, packlen;
	char data[]; /* key, NUL, the verdict in core/vpack form */
};

/* An entry costs its allocation, the allocator's header and a bucket. */
#define ENTRY_OVERHEAD (16 + sizeof(void *))

struct cache {
	uv_loop_t *loop;
	struct cache_config c;
	char prefix[CACHE_KEY_PREFIX_MAX + 1];
	struct redis_conn *rc; /* NULL: no L2 */

	struct htab l1;
	struct entry *lru_head, *lru_tail;
	size_t l1_bytes;

	bool closing;
	uv_idle_t closer; /* a handle to close, for a later turn */
	void (*closed_cb)(void *);
	void *closed_data;

	struct cache_stats stats;
};

struct cache_req {
	struct cache *c;
	struct redis_conn_cmd *cmd;
	cache_fetch_cb cb;
	void *data;
	char address[VERDICT_ADDRESS_MAX + 1];
};

static uint64_t now_ms(const struct cache *c)
{
	return c->c.clock_ms ? c->c.clock_ms(c->c.clock_arg) : uv_now(c->loop);
}

static bool entry_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct entry *e = container_of(n, struct entry, node);
	return e->keylen == len && memcmp(e->data, key, len) == 0;
}

static void lru_unlink(struct cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = e;
	else
		c->lru_tail = e;
	c->lru_head = e;
}

static void l1_remove(struct cache *c, struct entry *e)
{
	htab_remove(&c->l1, &e->node);
	lru_unlink(c, e);
	c->l1_bytes -= e->bytes;
	free(e);
}

static struct entry *l1_find(struct cache *c, const char *key)
{
	struct htab_node *n;

	if (c->c.l1_entries == 0)
		return NULL;
	n = htab_find(&c->l1, key, strlen(key));
	return n ? container_of(n, struct entry, node) : NULL;
}

/* l1_put - keep @v until @expires, fresh until @refresh. With @if_absent
 * (an L2 hit), an entry already there is newer and wins. */
static void l1_put(struct cache *c, const struct verdict *v, uint64_t now,
		   uint64_t expires, uint64_t refresh, bool if_absent)
{
	struct entry *old = l1_find(c, v->address), *e;
	size_t keylen = strlen(v->address), plen;

	if (c->c.l1_entries == 0)
		return;
	if (old && now < old->expires) {
		if (if_absent)
			return;
		if (v->status == VERDICT_UNKNOWN &&
		    old->status != VERDICT_UNKNOWN) {
			/* The no-overwrite rule; a failed refresh waits the
			 * unknown refresh time before the next one. */
			uint64_t later = now + c->c.unknown.refresh_s * 1000ull;
			if (now >= old->refresh)
				old->refresh =
				    later < old->expires ? later : old->expires;
			c->stats.l1_kept++;
			return;
		}
	}
	if (old)
		l1_remove(c, old);
	plen = vpack_size(v);
	e = malloc(sizeof(*e) + keylen + 1 + plen);
	if (e == NULL)
		return; /* a cache may forget */
	e->bytes = sizeof(*e) + keylen + 1 + plen + ENTRY_OVERHEAD;
	if (e->bytes > c->c.l1_bytes) {
		free(e);
		return;
	}
	e->expires = expires;
	e->refresh = refresh;
	e->status = v->status;
	e->keylen = keylen;
	e->packlen = plen;
	memcpy(e->data, v->address, keylen + 1);
	vpack_encode(v, e->data + keylen + 1);
	htab_insert(&c->l1, &e->node, v->address, keylen);
	lru_push(c, e);
	c->l1_bytes += e->bytes;
	while (c->l1.count > c->c.l1_entries || c->l1_bytes > c->c.l1_bytes) {
		c->stats.l1_evictions++;
		l1_remove(c, c->lru_tail);
	}
}

enum cache_hit cache_lookup(struct cache *c, const char *address,
			    struct verdict *out)
{
	struct entry *e = l1_find(c, address);
	uint64_t now = now_ms(c);

	if (e && now >= e->expires) {
		l1_remove(c, e);
		c->stats.l1_expired++;
		e = NULL;
	}
	if (e == NULL) {
		c->stats.l1_misses++;
		return CACHE_MISS;
	}
	if (vpack_decode(e->data + e->keylen + 1, e->packlen, out) < 0)
		abort(); /* cache_lookup: L1 entry damaged: memory bug */
	lru_unlink(c, e);
	lru_push(c, e);
	out->cached = true;
	if (now >= e->refresh) {
		c->stats.l1_stale++;
		return CACHE_STALE;
	}
	c->stats.l1_hits++;
	return CACHE_FRESH;
}

/* ---- policy ------------------------------------------------------------ */

/* cacheable - see cache.h "What is cached". */
static bool cacheable(const struct verdict *v)
{
	return v->address[0] != '\0' && !v->cached &&
	       v->reason != REASON_INVALID_SYNTAX &&
	       v->reason != REASON_IN_PROGRESS &&
	       v->reason != REASON_NOT_CHECKED &&
	       (unsigned)v->reason < REASON_LAST;
}

/* lifetime - the ttl and refresh of @v, in seconds. */
static struct cache_lifetime lifetime(const struct cache *c,
				      const struct verdict *v)
{
	struct cache_lifetime lt;

	switch (v->status) {
	case VERDICT_DELIVERABLE:
	case VERDICT_RISKY:
		return c->c.positive;
	case VERDICT_UNDELIVERABLE:
		return c->c.negative;
	default:
		lt = c->c.unknown;
		/* A greylisting server told us when to come back. */
		if (v->retry_after > lt.refresh_s)
			lt.refresh_s = v->retry_after < lt.ttl_s
					   ? v->retry_after
					   : lt.ttl_s;
		return lt;
	}
}

/* ---- L2 ---------------------------------------------------------------- */

/* key - PREFIX KIND NAME into @buf; false when it does not fit. */
static bool key(const struct cache *c, const char *kind, const char *name,
		char buf[CACHE_KEY_MAX], size_t *len)
{
	int n = snprintf(buf, CACHE_KEY_MAX, "%s%s%s", c->prefix, kind, name);

	if (n < 0 || (size_t)n >= CACHE_KEY_MAX)
		return false;
	*len = (size_t)n;
	return true;
}

/* on_store - the reply to a SET nobody waits for: counted, nothing more. */
static void on_store(void *data, enum redis_conn_status st,
		     const redisReply *reply)
{
	struct cache *c = data;

	if (st == REDIS_CONN_TIMEOUT)
		c->stats.l2_timeouts++;
	else if (st == REDIS_CONN_LOST ||
		 (st == REDIS_CONN_OK && reply->type == REDIS_REPLY_ERROR))
		c->stats.l2_errors++;
}

/* l2_set - SET @k @value EX @ttl [NX], fire and forget. */
static void l2_set(struct cache *c, const char *k, size_t klen,
		   const char *value, unsigned ttl_s, bool nx)
{
	char ttl[16];
	const char *argv[6] = {"SET", k, value, "EX", ttl, "NX"};
	size_t len[6] = {3, klen, strlen(value), 2, 0, 2};

	if (c->rc == NULL || !redis_conn_ready(c->rc))
		return;
	len[4] = (size_t)snprintf(ttl, sizeof(ttl), "%u", ttl_s);
	if (redis_conn_command(c->rc, nx ? 6 : 5, argv, len, on_store, c,
			       NULL) == 0)
		c->stats.l2_stores++;
}

void cache_store(struct cache *c, const struct verdict *v)
{
	struct cache_lifetime lt;
	uint64_t now;
	char k[CACHE_KEY_MAX];
	size_t klen;

	if (c->closing || !cacheable(v))
		return;
	lt = lifetime(c, v);
	now = now_ms(c);
	l1_put(c, v, now, now + lt.ttl_s * 1000ull,
	       now + lt.refresh_s * 1000ull, false);
	if (c->rc && redis_conn_ready(c->rc) &&
	    key(c, "verdict:", v->address, k, &klen)) {
		char *json = verdict_json_dumps(v);
		if (json) {
			l2_set(c, k, klen, json, lt.ttl_s,
			       v->status == VERDICT_UNKNOWN);
			free(json);
		}
	}
}

/* fact_to_json - {"catch_all":..,"mx":[["host",pref],..]} or NULL. */
static char *fact_to_json(const struct cache_fact *f)
{
	json_t *o = json_object(), *mx = json_array();
	char *s = NULL;

	if (o == NULL || mx == NULL)
		goto done;
	json_object_set_new(o, "catch_all",
			    f->catch_all == TRI_UNKNOWN
				? json_null()
				: json_boolean(f->catch_all == TRI_TRUE));
	for (unsigned i = 0; i < f->mx_count && i < VERDICT_MX_MAX; i++)
		json_array_append_new(
		    mx, json_pack("[s,I]", f->mx[i].host,
				  (json_int_t)f->mx[i].preference));
	json_object_set(o, "mx", mx);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
	json_decref(mx);
	json_decref(o);
	return s;
}

/* fact_from_json - strict inverse of fact_to_json(); -1 on any doubt. */
static int fact_from_json(const char *s, size_t len, struct cache_fact *f)
{
	json_error_t jerr;
	json_t *o, *ca, *mx, *item;
	size_t i;
	int rc = -1;

	if (len > CACHE_FACT_JSON_MAX)
		return -1;
	o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	memset(f, 0, sizeof(*f));
	ca = json_object_get(o, "catch_all");
	mx = json_object_get(o, "mx");
	if (!json_is_object(o) || json_object_size(o) != 2 || ca == NULL ||
	    !json_is_array(mx) || json_array_size(mx) > VERDICT_MX_MAX)
		goto done;
	if (json_is_boolean(ca))
		f->catch_all = json_is_true(ca) ? TRI_TRUE : TRI_FALSE;
	else if (!json_is_null(ca))
		goto done;
	json_array_foreach(mx, i, item)
	{
		json_t *h = json_array_get(item, 0),
		       *p = json_array_get(item, 1);
		if (!json_is_array(item) || json_array_size(item) != 2 ||
		    !json_is_string(h) || !json_is_integer(p) ||
		    json_string_length(h) > VERDICT_HOST_MAX ||
		    json_integer_value(p) < 0 || json_integer_value(p) > 65535)
			goto done;
		memcpy(f->mx[i].host, json_string_value(h),
		       json_string_length(h) + 1);
		f->mx[i].preference = (unsigned)json_integer_value(p);
	}
	f->mx_count = (unsigned)json_array_size(mx);
	rc = 0;
done:
	json_decref(o);
	return rc;
}

void cache_fact_store(struct cache *c, const char *domain,
		      const struct cache_fact *f)
{
	char k[CACHE_KEY_MAX], *json;
	size_t klen;

	if (c->closing || (f->catch_all == TRI_UNKNOWN && f->mx_count == 0) ||
	    c->rc == NULL || !redis_conn_ready(c->rc) ||
	    !key(c, "domain:", domain, k, &klen))
		return;
	json = fact_to_json(f);
	if (json) {
		l2_set(c, k, klen, json, c->c.fact_ttl_s, false);
		free(json);
	}
}

/* l2_verdict - an MGET element to a verdict hit, or CACHE_MISS. */
static enum cache_hit l2_verdict(struct cache *c, struct cache_req *req,
				 const redisReply *r, struct verdict *v)
{
	struct cache_lifetime lt;
	int64_t age;
	uint64_t now;

	if (r->type == REDIS_REPLY_NIL) {
		c->stats.l2_misses++;
		return CACHE_MISS;
	}
	if (r->type != REDIS_REPLY_STRING ||
	    verdict_from_json(r->str, r->len, v) < 0 ||
	    strcmp(v->address, req->address) != 0 || !cacheable(v)) {
		c->stats.l2_errors++; /* not ours, or damaged: a miss */
		return CACHE_MISS;
	}
	/* What is left of its life, counted from checked_at on the wall
	 * clock (instances share Redis, not a monotonic clock). */
	lt = lifetime(c, v);
	age = (int64_t)time(NULL) - v->checked_at;
	if (age < 0)
		age = 0;
	if (age >= (int64_t)lt.ttl_s) {
		c->stats.l2_misses++;
		return CACHE_MISS;
	}
	now = now_ms(c);
	l1_put(c, v, now, now + ((uint64_t)lt.ttl_s - (uint64_t)age) * 1000,
	       age >= (int64_t)lt.refresh_s
		   ? now
		   : now + ((uint64_t)lt.refresh_s - (uint64_t)age) * 1000,
	       true);
	v->cached = true;
	c->stats.l2_hits++;
	return age >= (int64_t)lt.refresh_s ? CACHE_STALE : CACHE_FRESH;
}

/* on_fetch - the MGET reply (or its absence) for one cache_fetch(). */
static void on_fetch(void *data, enum redis_conn_status st, const redisReply *r)
{
	struct cache_req *req = data;
	struct cache *c = req->c;
	enum cache_hit hit = CACHE_MISS;
	struct verdict v;
	struct cache_fact fact;
	bool has_fact = false;

	if (st == REDIS_CONN_TIMEOUT)
		c->stats.l2_timeouts++;
	else if (st == REDIS_CONN_CLOSED)
		; /* cache_close(): a miss, not a fault */
	else if (st != REDIS_CONN_OK || r->type != REDIS_REPLY_ARRAY ||
		 r->elements != 2)
		c->stats.l2_errors++;
	else {
		hit = l2_verdict(c, req, r->element[0], &v);
		if (r->element[1]->type == REDIS_REPLY_STRING)
			has_fact =
			    fact_from_json(r->element[1]->str,
					   r->element[1]->len, &fact) == 0;
	}
	req->cb(req->data, hit, hit == CACHE_MISS ? NULL : &v,
		has_fact ? &fact : NULL);
	free(req);
}

int cache_fetch(struct cache *c, const char *address, cache_fetch_cb cb,
		void *data, struct cache_req **out)
{
	char vk[CACHE_KEY_MAX], dk[CACHE_KEY_MAX];
	size_t vlen, dlen, alen = strlen(address);
	const char *at = strrchr(address, '@');
	struct cache_req *req;

	if (c->rc == NULL || c->closing)
		return CACHE_NO_L2;
	if (!redis_conn_ready(c->rc) || alen > VERDICT_ADDRESS_MAX ||
	    at == NULL || !key(c, "verdict:", address, vk, &vlen) ||
	    !key(c, "domain:", at + 1, dk, &dlen) ||
	    (req = calloc(1, sizeof(*req))) == NULL) {
		c->stats.l2_unavailable++;
		return CACHE_NO_L2;
	}
	req->c = c;
	req->cb = cb;
	req->data = data;
	memcpy(req->address, address, alen + 1);
	const char *argv[3] = {"MGET", vk, dk};
	size_t len[3] = {4, vlen, dlen};
	if (redis_conn_command(c->rc, 3, argv, len, on_fetch, req, &req->cmd) <
	    0) {
		free(req);
		c->stats.l2_unavailable++;
		return CACHE_NO_L2;
	}
	if (out)
		*out = req;
	return CACHE_PENDING;
}

void cache_cancel(struct cache_req *req)
{
	redis_conn_cancel(req->cmd);
	free(req);
}

/* ---- life cycle ------------------------------------------------------------ */

void cache_config_defaults(struct cache_config *c)
{
	memset(c, 0, sizeof(*c));
	c->l1_entries = 100000;
	c->l1_bytes = 64u << 20;
	c->redis_timeout_ms = 250;
	c->redis_connect_timeout_ms = 1000;
	c->positive = (struct cache_lifetime){7 * 86400, 86400};
	c->negative = (struct cache_lifetime){3 * 86400, 3 * 3600};
	c->unknown = (struct cache_lifetime){300, 60};
	c->fact_ttl_s = 86400;
	c->key_prefix = "rcptd:v1:";
}

int cache_new(uv_loop_t *loop, const struct cache_config *cfg,
	      struct cache **out, char *err, size_t errlen)
{
	struct redis_conn_config rcfg;
	const char *prefix = cfg->key_prefix ? cfg->key_prefix : "";
	struct cache_lifetime *lts[3];
	struct cache *c;

	if (strlen(prefix) > CACHE_KEY_PREFIX_MAX) {
		snprintf(err, errlen, "cache: key prefix longer than %d octets",
			 CACHE_KEY_PREFIX_MAX);
		return -1;
	}
	if (cfg->positive.ttl_s == 0 || cfg->negative.ttl_s == 0 ||
	    cfg->unknown.ttl_s == 0 || cfg->fact_ttl_s == 0) {
		snprintf(err, errlen,
			 "cache: every lifetime must be at least "
			 "1 s (Redis keys need a TTL)");
		return -1;
	}
	redis_conn_config_defaults(&rcfg);
	rcfg.timeout_ms = cfg->redis_timeout_ms;
	rcfg.connect_timeout_ms = cfg->redis_connect_timeout_ms;
	if (cfg->redis_url && cfg->redis_url[0] &&
	    redis_url_parse(cfg->redis_url, &rcfg.url, err, errlen) < 0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL || htab_init(&c->l1, entry_eq) < 0) {
		free(c);
		snprintf(err, errlen, "cache: out of memory");
		return -1;
	}
	c->loop = loop;
	c->c = *cfg;
	c->c.redis_url = NULL; /* not kept: the parsed form is */
	c->c.key_prefix = NULL;
	memcpy(c->prefix, prefix, strlen(prefix) + 1);
	lts[0] = &c->c.positive;
	lts[1] = &c->c.negative;
	lts[2] = &c->c.unknown;
	for (int i = 0; i < 3; i++)
		if (lts[i]->refresh_s > lts[i]->ttl_s)
			lts[i]->refresh_s = lts[i]->ttl_s;
	if (cfg->redis_url && cfg->redis_url[0] &&
	    redis_conn_new(loop, &rcfg, &c->rc, err, errlen) < 0) {
		htab_free(&c->l1);
		free(c);
		return -1;
	}
	c->stats.redis_configured = c->rc != NULL;
	*out = c;
	return 0;
}

bool cache_redis_configured(const struct cache *c)
{
	return c->rc != NULL;
}

bool cache_redis_ready(const struct cache *c)
{
	return c->rc != NULL && !c->closing && redis_conn_ready(c->rc);
}

void cache_get_stats(const struct cache *c, struct cache_stats *s)
{
	*s = c->stats;
	s->l1_entries = c->l1.count;
	s->l1_bytes = c->l1_bytes;
	if (c->rc) {
		struct redis_conn_stats r;
		redis_conn_get_stats(c->rc, &r);
		s->redis_connects = r.connects;
		s->redis_reconnects = r.attempts > 0 ? r.attempts - 1 : 0;
		s->redis_up = r.up && !c->closing;
		memcpy(s->redis_error, r.last_error, sizeof(s->redis_error));
	}
}

/* finish - the last step of cache_close(). */
static void finish(struct cache *c)
{
	while (c->lru_head)
		l1_remove(c, c->lru_head);
	htab_free(&c->l1);
	if (c->closed_cb)
		c->closed_cb(c->closed_data);
	free(c);
}

static void on_redis_closed(void *data)
{
	finish(data);
}

static void on_closer_closed(uv_handle_t *h)
{
	finish(h->data);
}

void cache_close(struct cache *c, void (*closed_cb)(void *), void *data)
{
	if (c->closing)
		abort(); /* cache_close: called twice: caller bug */
	c->closing = true;
	c->closed_cb = closed_cb;
	c->closed_data = data;
	if (c->rc) {
		struct redis_conn *rc = c->rc;
		redis_conn_close(rc, on_redis_closed, c);
		return;
	}
	uv_idle_init(c->loop, &c->closer);
	c->closer.data = c;
	uv_close((uv_handle_t *)&c->closer, on_closer_closed);
}
