/* htab - intrusive string-keyed hash table (see htab.h). */
#include "core/htab.h"

#include <stdlib.h>

#define HTAB_INITIAL 64

int htab_init(struct htab *t, htab_eq_fn eq)
{
	t->bucket = calloc(HTAB_INITIAL, sizeof(*t->bucket));
	if (t->bucket == NULL)
		return -1;
	t->nbuckets = HTAB_INITIAL;
	t->count = 0;
	t->eq = eq;
	return 0;
}

void htab_free(struct htab *t)
{
	free(t->bucket);
	t->bucket = NULL;
	t->nbuckets = t->count = 0;
}

uint64_t htab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct htab_node *htab_find(const struct htab *t, const void *key, size_t len)
{
	uint64_t h = htab_hash(key, len);

	for (struct htab_node *n = t->bucket[h & (t->nbuckets - 1)]; n;
	     n = n->next)
		if (n->hash == h && t->eq(n, key, len))
			return n;
	return NULL;
}

/* grow - double the buckets; on allocation failure keep the old ones. */
static void grow(struct htab *t)
{
	size_t n = t->nbuckets * 2;
	struct htab_node **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct htab_node *node = t->bucket[i], *next;
		for (; node; node = next) {
			next = node->next;
			node->next = b[node->hash & (n - 1)];
			b[node->hash & (n - 1)] = node;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->nbuckets = n;
}

void htab_insert(struct htab *t, struct htab_node *node, const void *key,
		 size_t len)
{
	if (t->count >= t->nbuckets)
		grow(t);
	node->hash = htab_hash(key, len);
	node->next = t->bucket[node->hash & (t->nbuckets - 1)];
	t->bucket[node->hash & (t->nbuckets - 1)] = node;
	t->count++;
}

void htab_remove(struct htab *t, struct htab_node *node)
{
	struct htab_node **pp = &t->bucket[node->hash & (t->nbuckets - 1)];

	while (*pp && *pp != node)
		pp = &(*pp)->next;
	if (*pp == NULL)
		abort(); /* htab_remove: node not in table: caller bug */
	*pp = node->next;
	t->count--;
}
