/* htab - an intrusive hash table keyed by strings (or any bytes).
 *
 * The caller embeds a struct htab_node in its own object and owns that
 * object; the table only links nodes. Lookups compare the stored hash
 * first, then call the caller's key function. The bucket array doubles
 * when the load passes 1 and never shrinks (the daemon's tables have a
 * steady size); growth failure keeps the table working, only slower.
 * Hash: 64-bit FNV-1a; fine for keys an attacker cannot choose freely
 * enough to matter (domains and addresses already through the grammar) --
 * callers that fear flooding bound the number of entries.
 * Ownership: htab_free() frees the buckets, never the nodes. No I/O. */
#ifndef RCPTD_CORE_HTAB_H
#define RCPTD_CORE_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct htab_node {
	struct htab_node *next;
	uint64_t hash;
};

/* Returns true when @node's key equals @key of @len octets. */
typedef bool (*htab_eq_fn)(const struct htab_node *node, const void *key,
			   size_t len);

struct htab {
	struct htab_node **bucket;
	size_t nbuckets; /* a power of two */
	size_t count;
	htab_eq_fn eq;
};

/* htab_init - an empty table; returns -1 when memory runs out. */
int htab_init(struct htab *t, htab_eq_fn eq);
void htab_free(struct htab *t);

uint64_t htab_hash(const void *key, size_t len);

struct htab_node *htab_find(const struct htab *t, const void *key, size_t len);

/* htab_insert - link @node under @key (which must not be present). */
void htab_insert(struct htab *t, struct htab_node *node, const void *key,
		 size_t len);

/* htab_remove - unlink @node (which must be linked). */
void htab_remove(struct htab *t, struct htab_node *node);

#define htab_entry(ptr, type, member)                                          \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
