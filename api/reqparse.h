/* reqparse - the checks of an HTTP verify request that need no socket:
 * the JSON body, the query parameters and the Content-Type.
 *
 * A POST /v1/verify body is one JSON object (RFC 8259, UTF-8) with either
 *   "email":  a string                       (one address), or
 *   "emails": an array of 1..max_batch strings (a batch),
 * and optionally "fresh" and "transcript" (booleans); other members are
 * ignored, so that clients may send more in later versions.
 * Refused with 400: not JSON, invalid UTF-8 anywhere, nesting deeper than
 * REQPARSE_DEPTH_MAX, not an object, both or neither of "email" and
 * "emails", a non-string address, "\u0000" in a string, a duplicate
 * member. Refused with 413: more than max_batch addresses.
 *
 * Ownership: a struct reqparse_body owns its JSON document; the address
 * pointers are borrowed from it until reqparse_release().
 * Errors: a negative enum reqparse_err and one sentence in the caller's
 * buffer (REQPARSE_MSG_MAX is enough). Loop: none; no I/O. */
#ifndef RCPTD_API_REQPARSE_H
#define RCPTD_API_REQPARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Our documents are two levels deep ({"emails": [...]}); 8 leaves room
 * for clients that wrap more, and is checked before jansson parses, whose
 * parser recurses once per level (a body of a million '[' would otherwise
 * be a million stack frames). */
#define REQPARSE_DEPTH_MAX 8
/* The batch limit's ceiling, whatever --max-batch says. */
#define REQPARSE_BATCH_MAX 10000
#define REQPARSE_MSG_MAX   160

enum reqparse_err {
	REQPARSE_OK = 0,
	REQPARSE_BAD = -1,	/* 400 */
	REQPARSE_TOO_MANY = -2, /* 413 */
	REQPARSE_NOMEM = -3	/* 500 */
};

struct reqparse_body {
	json_t *root;	     /* owned */
	const char **emails; /* borrowed from root */
	size_t *lens;	     /* octets of each address */
	unsigned count;	     /* 1..max_batch */
	bool batch;	     /* "emails" (answer {"results": [...]}) */
	int fresh;	     /* -1 absent, else 0 or 1 */
	int transcript;	     /* -1 absent, else 0 or 1 */
};

/* reqparse_json - check and decode @len octets of @body. */
int reqparse_json(const char *body, size_t len, unsigned max_batch,
		  struct reqparse_body *out, char *msg, size_t msglen);

void reqparse_release(struct reqparse_body *b);

/* reqparse_depth - the deepest nesting of [ and { in @s (strings and
 * their escapes skipped), counting at most up to @limit + 1. */
unsigned reqparse_depth(const char *s, size_t len, unsigned limit);

/* reqparse_utf8 - whether @s is valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool reqparse_utf8(const char *s, size_t len);

/* reqparse_flag - a query flag: "1", "true", "yes", "on" and the empty
 * value ("?fresh") are true; "0", "false", "no", "off" false. Returns 0,
 * or -1 for anything else. */
int reqparse_flag(const char *value, bool *out);

/* reqparse_wait - "wait=": milliseconds ("250ms", "2s", or a bare number
 * of seconds, as the configuration's durations), clamped to @max_ms.
 * Returns 0, or -1 when it is not a duration. */
int reqparse_wait(const char *value, unsigned max_ms, unsigned *ms);

/* reqparse_json_type - whether a Content-Type header names JSON:
 * "application/json", any case, optional parameters, and when a charset
 * is given it is utf-8 (RFC 8259 8.1 knows no other). */
bool reqparse_json_type(const char *content_type);

#endif
