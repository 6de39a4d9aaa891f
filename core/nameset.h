/* nameset - a compact set of lower-case ASCII names (domains or local
 * parts), loaded from the text of a list file.
 *
 * Text format: one name a line; '#' starts a comment that runs to the end
 * of the line; white space (space, tab, CR, VT, FF) around a name is
 * trimmed; blank and comment-only lines are ignored; names are lower-cased
 * (ASCII). A UTF-8 byte order mark at the very start is skipped. A line
 * whose name holds white space inside, a byte outside printable ASCII
 * (0x21..0x7e) or more than NAMESET_NAME_MAX octets is an error.
 *
 * Layout: open addressing with linear probing in a power-of-two table
 * whose load stays below NAMESET_LOAD_NUM/NAMESET_LOAD_DEN; the names live
 * in one arena (NUL-terminated, in insertion order), slots hold their
 * offset and hash. The set is filled from operator-controlled files only,
 * so a plain FNV-1a hash is enough: lookups never insert.
 *
 * Matching: nameset_has() is exact, ASCII case-insensitive;
 * nameset_has_domain() also matches any parent domain.
 *
 * Ownership: nameset_new() returns a set the caller owns and releases with
 * nameset_free(). Names returned by nameset_next() are borrowed until the
 * set is next loaded into or freed.
 * Limits: NAMESET_NAME_MAX octets a name, NAMESET_NAMES_MAX names a set.
 * Errors: nameset_load() returns -1 with "line N: why" (or "out of
 * memory", "more than N names") in the caller's buffer, and then the set
 * is unchanged: the text is checked and all memory reserved before the
 * first name is added. The limit counts the names of a text before
 * repeats are folded. Loop: none; no I/O, no globals. A set may be read
 * from several threads at once while nobody loads into it. */
#ifndef RCPTD_CORE_NAMESET_H
#define RCPTD_CORE_NAMESET_H

#include <stdbool.h>
#include <stddef.h>

/* A domain name in text form is at most 253 octets (RFC 1035 2.3.4 with
 * the final dot dropped); a local part is at most 64 (RFC 5321
 * 4.5.3.1.1). Anything longer cannot match an address, so it is an error
 * in the file rather than a silent no-op. */
#define NAMESET_NAME_MAX 253

/* Defend against a wrong file (a log, a dump) being loaded as a list: the
 * largest public disposable-domain lists hold about 150,000 names, so a
 * million is generous and still bounds the memory of one set to about
 * 16 MiB of slots plus the names. */
#define NAMESET_NAMES_MAX 1000000

/* Grow the table before it is 7/10 full: linear probing stays short. */
#define NAMESET_LOAD_NUM 7
#define NAMESET_LOAD_DEN 10

/* A caller's error buffer of this size holds every message in full. */
#define NAMESET_ERR_MAX 96

struct nameset;

/* nameset_new - an empty set; NULL when out of memory. */
struct nameset *nameset_new(void);

/* nameset_free - release @set and its names; NULL is a no-op. */
void nameset_free(struct nameset *set);

/* nameset_load - add the names in @len octets of @text (the format above;
 * @text need not be NUL-terminated). Returns the number of names added
 * (names already present are not counted), or -1 with a NUL-terminated
 * message in @err (@errlen octets; @err may be NULL when @errlen is 0). */
long nameset_load(struct nameset *set, const char *text, size_t len, char *err,
		  size_t errlen);

/* nameset_count - the number of distinct names in @set. */
size_t nameset_count(const struct nameset *set);

/* nameset_has - true when @name (NUL-terminated) is in @set, compared
 * exactly but for ASCII case. */
bool nameset_has(const struct nameset *set, const char *name);

/* nameset_has_domain - true when @domain or one of its parent domains is
 * in @set: "x.mailinator.com" matches "mailinator.com"; a bare top-level
 * domain matches only when it is listed itself. One final dot (the FQDN
 * form) is ignored. */
bool nameset_has_domain(const struct nameset *set, const char *domain);

/* nameset_next - iterate over the names in insertion order. Start with
 * *@cursor = 0; each call returns the next name (borrowed) and advances
 * *@cursor, or returns NULL when there is none left. */
const char *nameset_next(const struct nameset *set, size_t *cursor);

#endif
