/* nameset - a compact hash set of lower-case ASCII names (see nameset.h).
 */
#include "core/nameset.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first table: big enough for the short lists (role accounts) without
 * a regrowth, small enough not to matter. */
#define NAMESET_MIN_SLOTS 64
/* The arena grows at least this much at a time. */
#define NAMESET_MIN_ARENA 4096

struct nameset_slot {
	uint32_t hash; /* FNV-1a of the lower-cased name */
	uint32_t ref;  /* offset of the name in the arena + 1; 0: empty */
};

struct nameset {
	struct nameset_slot *slots;
	size_t cap;   /* slots; a power of two, 0 before the first name */
	size_t count; /* names in the set */
	char *arena;  /* the names, NUL-terminated, in insertion order */
	size_t arena_len;
	size_t arena_cap;
};

/* What is wrong with one line of a list file. */
enum nameset_line {
	NAMESET_LINE_OK = 0, /* a name, or nothing (blank or comment) */
	NAMESET_LINE_SPACE,  /* white space inside the name */
	NAMESET_LINE_BYTE,   /* a byte outside printable ASCII */
	NAMESET_LINE_LONG    /* longer than NAMESET_NAME_MAX */
};

static inline unsigned char nameset_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static inline bool nameset_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* nameset_hash - 32-bit FNV-1a of @name lower-cased, so that a lookup
 * needs no copy to fold its case. */
static uint32_t nameset_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= nameset_lower((unsigned char)name[i]);
		h *= 16777619u;
	}
	return h;
}

static void nameset_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void nameset_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct nameset *nameset_new(void)
{
	return calloc(1, sizeof(struct nameset));
}

void nameset_free(struct nameset *set)
{
	if (set == NULL)
		return;
	free(set->slots);
	free(set->arena);
	free(set);
}

size_t nameset_count(const struct nameset *set)
{
	return set->count;
}

/* nameset_find - probe for @name (@len octets, hash @h). Returns true with
 * its slot in *@pos when present; false with the empty slot where it
 * would go otherwise. The table is never full (load < 7/10), so the probe
 * ends. Requires set->cap > 0. */
static bool nameset_find(const struct nameset *set, const char *name,
			 size_t len, uint32_t h, size_t *pos)
{
	size_t mask = set->cap - 1;
	size_t i = h & mask;

	for (;;) {
		const struct nameset_slot *s = &set->slots[i];
		if (s->ref == 0) {
			*pos = i;
			return false;
		}
		if (s->hash == h) {
			const char *n = set->arena + (s->ref - 1);
			size_t k = 0;
			while (k < len && n[k] == (char)nameset_lower(
						      (unsigned char)name[k]))
				k++;
			if (k == len && n[len] == '\0') {
				*pos = i;
				return true;
			}
		}
		i = (i + 1) & mask;
	}
}

/* nameset_contains - @name of @len octets is in @set (any case). */
static bool nameset_contains(const struct nameset *set, const char *name,
			     size_t len)
{
	size_t pos;

	if (set->cap == 0 || len == 0 || len > NAMESET_NAME_MAX)
		return false;
	return nameset_find(set, name, len, nameset_hash(name, len), &pos);
}

bool nameset_has(const struct nameset *set, const char *name)
{
	return nameset_contains(set, name, strlen(name));
}

/* nameset_has_domain - try the domain, then each parent: the text after
 * each dot. */
bool nameset_has_domain(const struct nameset *set, const char *domain)
{
	const char *p = domain;
	size_t len = strlen(domain);

	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (;;) {
		if (nameset_contains(set, p, len))
			return true;
		const char *dot = memchr(p, '.', len);
		if (dot == NULL)
			return false;
		len -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
}

const char *nameset_next(const struct nameset *set, size_t *cursor)
{
	if (*cursor >= set->arena_len)
		return NULL;
	const char *name = set->arena + *cursor;
	*cursor += strlen(name) + 1;
	return name;
}

/* nameset_reserve - make room for @names more names holding @octets more
 * octets (NULs included), so that the inserts that follow cannot fail.
 * On failure the set is as it was. */
static bool nameset_reserve(struct nameset *set, size_t names, size_t octets)
{
	size_t want = set->count + names;
	size_t cap = set->cap ? set->cap : NAMESET_MIN_SLOTS;

	while (want * NAMESET_LOAD_DEN >= cap * NAMESET_LOAD_NUM)
		cap *= 2;
	if (cap != set->cap) {
		struct nameset_slot *slots = calloc(cap, sizeof(*slots));
		if (slots == NULL)
			return false;
		/* Rehash with the stored hashes: no name is read again. */
		for (size_t i = 0; i < set->cap; i++) {
			struct nameset_slot s = set->slots[i];
			if (s.ref == 0)
				continue;
			size_t j = s.hash & (cap - 1);
			while (slots[j].ref != 0)
				j = (j + 1) & (cap - 1);
			slots[j] = s;
		}
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	if (set->arena_len + octets > set->arena_cap) {
		size_t acap =
		    set->arena_cap ? set->arena_cap * 2 : NAMESET_MIN_ARENA;
		while (acap < set->arena_len + octets)
			acap *= 2;
		char *arena = realloc(set->arena, acap);
		if (arena == NULL)
			return false;
		set->arena = arena;
		set->arena_cap = acap;
	}
	return true;
}

/* nameset_insert - add @name (@len octets, already checked) in lower case
 * unless present; room was reserved. Returns true when it was added. */
static bool nameset_insert(struct nameset *set, const char *name, size_t len)
{
	uint32_t h = nameset_hash(name, len);
	size_t pos;

	if (nameset_find(set, name, len, h, &pos))
		return false;
	char *dst = set->arena + set->arena_len;
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)nameset_lower((unsigned char)name[i]);
	dst[len] = '\0';
	/* The arena stays below 4 GiB: NAMESET_NAMES_MAX names of at most
	 * NAMESET_NAME_MAX + 1 octets. */
	set->slots[pos].hash = h;
	set->slots[pos].ref = (uint32_t)(set->arena_len + 1);
	set->arena_len += len + 1;
	set->count++;
	return true;
}

/* nameset_parse_line - find the name on one line of @len octets: cut the
 * comment, trim white space, check what is left. *@name and *@nlen are the
 * name (*@nlen 0: none); *@bad is the offending byte for LINE_BYTE. */
static enum nameset_line nameset_parse_line(const char *line, size_t len,
					    const char **name, size_t *nlen,
					    unsigned char *bad)
{
	const char *hash = memchr(line, '#', len);
	size_t b = 0, e = hash ? (size_t)(hash - line) : len;

	while (b < e && nameset_space((unsigned char)line[b]))
		b++;
	while (e > b && nameset_space((unsigned char)line[e - 1]))
		e--;
	*name = line + b;
	*nlen = e - b;
	for (size_t i = b; i < e; i++) {
		unsigned char c = (unsigned char)line[i];
		if (nameset_space(c))
			return NAMESET_LINE_SPACE;
		if (c < 0x21 || c > 0x7e) {
			*bad = c;
			return NAMESET_LINE_BYTE;
		}
	}
	if (e - b > NAMESET_NAME_MAX)
		return NAMESET_LINE_LONG;
	return NAMESET_LINE_OK;
}

/* nameset_walk - run over the lines of @text. With @set NULL only check
 * them, counting names and their octets into *@names and *@octets; with
 * @set insert them (they were checked) and return how many were new.
 * Returns -1 with a message in @err on the first bad line. */
static long nameset_walk(struct nameset *set, const char *text, size_t len,
			 size_t *names, size_t *octets, char *err,
			 size_t errlen)
{
	static const char bom[] = "\xef\xbb\xbf";
	size_t off = 0;
	unsigned long lineno = 0;
	long added = 0;

	/* Robustness: editors on some systems start a UTF-8 file with a
	 * byte order mark; it is no part of the first name. */
	if (len >= 3 && memcmp(text, bom, 3) == 0)
		off = 3;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *name;
		size_t nlen;
		unsigned char bad = 0;

		lineno++;
		switch (nameset_parse_line(text + off, end - off, &name, &nlen,
					   &bad)) {
		case NAMESET_LINE_OK:
			break;
		case NAMESET_LINE_SPACE:
			nameset_err(err, errlen,
				    "line %lu: white space inside a name",
				    lineno);
			return -1;
		case NAMESET_LINE_BYTE:
			nameset_err(err, errlen,
				    "line %lu: byte 0x%02x is not printable "
				    "ASCII",
				    lineno, bad);
			return -1;
		case NAMESET_LINE_LONG:
			nameset_err(err, errlen,
				    "line %lu: name longer than %d octets",
				    lineno, NAMESET_NAME_MAX);
			return -1;
		}
		if (nlen > 0) {
			if (set != NULL) {
				added += nameset_insert(set, name, nlen);
			} else {
				(*names)++;
				*octets += nlen + 1;
			}
		}
		off = end + 1;
	}
	return added;
}

/* nameset_load - check the whole text and reserve room first, so that a
 * bad line or a failed allocation leaves the set as it was. */
long nameset_load(struct nameset *set, const char *text, size_t len, char *err,
		  size_t errlen)
{
	size_t names = 0, octets = 0;

	if (nameset_walk(NULL, text, len, &names, &octets, err, errlen) < 0)
		return -1;
	if (names > NAMESET_NAMES_MAX - set->count) {
		nameset_err(err, errlen, "more than %d names",
			    NAMESET_NAMES_MAX);
		return -1;
	}
	if (!nameset_reserve(set, names, octets)) {
		nameset_err(err, errlen, "out of memory");
		return -1;
	}
	return nameset_walk(set, text, len, NULL, NULL, err, errlen);
}
