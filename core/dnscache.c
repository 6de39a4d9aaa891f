/* dnscache - the resolver's RRset cache (see dnscache.h).
 *
 * Entries live in a core/htab keyed by the type in two octets followed by
 * the name. READY entries sit on one LRU list, least recently used first;
 * PENDING entries keep their askers' links in a list of waiters instead
 * and are on no LRU list, so eviction never takes an entry someone waits
 * for. The lists are circular with a head (libuv's QUEUE, spelled out). */
#include "core/dnscache.h"

#include <stdlib.h>
#include <string.h>

/* An entry's key: the type in two octets, then the name. */
#define KEY_MAX (2 + DNSCACHE_NAME_MAX)

struct dnscache {
	struct htab table;
	struct dnscache_link lru; /* least recently used first */
	struct dnscache_config cfg;
	struct dnscache_stats stats;
};

/* ---- lists ------------------------------------------------------------- */

void dnscache_link_init(struct dnscache_link *l)
{
	l->prev = l->next = l;
}

static bool list_empty(const struct dnscache_link *h)
{
	return h->next == h;
}

static void list_add_tail(struct dnscache_link *h, struct dnscache_link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

/* list_remove - unlink @n; it becomes an empty list, so removing twice
 * is harmless. */
static void list_remove(struct dnscache_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	dnscache_link_init(n);
}

void dnscache_cancel(struct dnscache_link *waiter)
{
	list_remove(waiter);
}

/* ---- entries ------------------------------------------------------------ */

static size_t make_key(unsigned char key[KEY_MAX], uint16_t qtype,
		       const char *name, size_t len)
{
	key[0] = (unsigned char)(qtype >> 8);
	key[1] = (unsigned char)qtype;
	memcpy(key + 2, name, len);
	return 2 + len;
}

static bool entry_eq(const struct htab_node *node, const void *key, size_t len)
{
	const struct dnscache_entry *e =
	    htab_entry(node, struct dnscache_entry, node);
	const unsigned char *k = key;

	return len >= 2 && e->qtype == (uint16_t)(k[0] << 8 | k[1]) &&
	       strlen(e->name) == len - 2 &&
	       memcmp(e->name, k + 2, len - 2) == 0;
}

void dnscache_answer_clear(struct dnscache_answer *a)
{
	free(a->mx);
	memset(a, 0, sizeof(*a));
}

/* entry_drop - unlink and free an answered entry nobody waits on. */
static void entry_drop(struct dnscache *c, struct dnscache_entry *e)
{
	list_remove(&e->lru);
	htab_remove(&c->table, &e->node);
	dnscache_answer_clear(&e->answer);
	free(e);
}

/* trim - evict least recently used answers until @room more entries fit
 * under max_entries. Entries in flight or being handed out are not on
 * the LRU list and stay: askers wait on them. */
static void trim(struct dnscache *c, unsigned room)
{
	while (c->table.count + room > c->cfg.max_entries &&
	       !list_empty(&c->lru)) {
		entry_drop(c,
			   htab_entry(c->lru.next, struct dnscache_entry, lru));
		c->stats.evictions++;
	}
}

/* entry_new - a PENDING entry for (@qtype, @name), after making room. */
static struct dnscache_entry *entry_new(struct dnscache *c, uint16_t qtype,
					const char *name, size_t len,
					const unsigned char *key, size_t klen)
{
	struct dnscache_entry *e;

	trim(c, 1);
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->qtype = qtype;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	dnscache_link_init(&e->lru);
	dnscache_link_init(&e->waiters);
	htab_insert(&c->table, &e->node, key, klen);
	return e;
}

/* ---- the cache ---------------------------------------------------------- */

int dnscache_new(const struct dnscache_config *cfg, struct dnscache **out)
{
	struct dnscache *c;

	*out = NULL;
	if (cfg->max_entries == 0 || cfg->ttl_floor_s > cfg->ttl_ceiling_s)
		return DNSCACHE_EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return DNSCACHE_ENOMEM;
	if (htab_init(&c->table, entry_eq) != 0) {
		free(c);
		return DNSCACHE_ENOMEM;
	}
	dnscache_link_init(&c->lru);
	c->cfg = *cfg;
	*out = c;
	return 0;
}

void dnscache_free(struct dnscache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->table.nbuckets; i++) {
		struct htab_node *n = c->table.bucket[i], *next;
		for (; n != NULL; n = next) {
			struct dnscache_entry *e =
			    htab_entry(n, struct dnscache_entry, node);
			next = n->next;
			dnscache_answer_clear(&e->answer);
			free(e);
		}
	}
	htab_free(&c->table);
	free(c);
}

int dnscache_lookup(struct dnscache *c, uint16_t qtype, const char *name,
		    uint64_t now, struct dnscache_link *waiter,
		    struct dnscache_entry **out)
{
	unsigned char key[KEY_MAX];
	size_t len = strnlen(name, DNSCACHE_NAME_MAX + 1);
	size_t klen;
	struct htab_node *n;
	struct dnscache_entry *e;

	*out = NULL;
	if (len > DNSCACHE_NAME_MAX)
		return DNSCACHE_EINVAL;
	klen = make_key(key, qtype, name, len);
	n = htab_find(&c->table, key, klen);
	e = n ? htab_entry(n, struct dnscache_entry, node) : NULL;
	if (e != NULL && e->state == DNSCACHE_READY &&
	    (e->handing_out || e->expires > now)) {
		/* An answer being handed out serves late askers too, even
		 * with a lifetime of 0: it is as fresh as can be. */
		*out = e;
		if (e->handing_out) {
			c->stats.coalesced++;
			return DNSCACHE_SHARED;
		}
		c->stats.hits++;
		list_remove(&e->lru);
		list_add_tail(&c->lru, &e->lru);
		return DNSCACHE_HIT;
	}
	if (e != NULL && e->state == DNSCACHE_PENDING) {
		c->stats.coalesced++;
		list_add_tail(&e->waiters, waiter);
		*out = e;
		return DNSCACHE_JOINED;
	}
	if (e != NULL) { /* expired: ask again in place */
		list_remove(&e->lru);
		dnscache_answer_clear(&e->answer);
		e->state = DNSCACHE_PENDING;
	} else {
		e = entry_new(c, qtype, name, len, key, klen);
		if (e == NULL)
			return DNSCACHE_ENOMEM;
	}
	list_add_tail(&e->waiters, waiter);
	*out = e;
	return DNSCACHE_MISS;
}

/* clamp - a TTL into [lo, hi] seconds. */
static unsigned clamp(uint32_t ttl, unsigned lo, unsigned hi)
{
	if (ttl < lo)
		ttl = lo;
	return ttl > hi ? hi : ttl;
}

unsigned dnscache_lifetime(const struct dnscache_config *c,
			   enum dnscache_kind kind,
			   const struct dnsmsg_info *info)
{
	unsigned negative_max = c->negative_ttl_s < c->ttl_ceiling_s
				    ? c->negative_ttl_s
				    : c->ttl_ceiling_s;

	switch (kind) {
	case DNSCACHE_DATA:
		return clamp(info->answer_ttl, c->ttl_floor_s,
			     c->ttl_ceiling_s);
	case DNSCACHE_NODATA:
	case DNSCACHE_NXDOMAIN: /* RFC 2308 5 */
		return clamp(info->soa ? info->negative_ttl : 0, c->ttl_floor_s,
			     negative_max);
	default:
		return c->error_ttl_s;
	}
}

void dnscache_complete(struct dnscache *c, struct dnscache_entry *e,
		       struct dnscache_answer *a,
		       const struct dnsmsg_info *info, uint64_t now,
		       dnscache_deliver_fn deliver, void *arg)
{
	unsigned life = dnscache_lifetime(&c->cfg, a->kind, info);

	dnscache_answer_clear(&e->answer);
	e->answer = *a;
	memset(a, 0, sizeof(*a));
	e->state = DNSCACHE_READY;
	e->expires = now + (uint64_t)life * 1000;
	e->handing_out = true; /* off the LRU: no eviction meanwhile */
	while (!list_empty(&e->waiters)) {
		struct dnscache_link *w = e->waiters.next;
		list_remove(w);
		deliver(w, e, arg);
	}
	e->handing_out = false;
	if (life == 0) {
		entry_drop(c, e);
		return;
	}
	list_add_tail(&c->lru, &e->lru);
	trim(c, 0);
}

void dnscache_get_stats(const struct dnscache *c, struct dnscache_stats *s)
{
	*s = c->stats;
	s->entries = c->table.count;
}
