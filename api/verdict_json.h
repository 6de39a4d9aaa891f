/* verdict_json - a verdict as the JSON object of DESIGN.md: as a jansson
 * tree, or written directly into a buffer (the answers' hot path), the
 * same bytes either way; and back from that JSON, with jansson.
 *
 * Field order and presence are part of the interface contract: "email",
 * "address", "status", "reason", then "message" (invalid_syntax only),
 * "domain", "mx", the flags, "suggestion", "smtp" (null when no SMTP
 * conversation took place), "retry_after" (when set), "cached",
 * "checked_at" (RFC 3339, UTC), "duration_ms".
 * Ownership: verdict_to_json() returns a new reference the caller owns
 * (json_decref); verdict_json_dumps() returns a malloc'd string the caller
 * frees. Both return NULL only when memory runs out. The direct writer's
 * buffer: see struct verdict_json_buf.
 * verdict_from_json() reads that JSON back (the verdict cache stores it in
 * Redis; one format, pinned to the byte by the tests, serves both). */
#ifndef RCPTD_API_VERDICT_JSON_H
#define RCPTD_API_VERDICT_JSON_H

#include <jansson.h>

#include "core/verdict.h"

json_t *verdict_to_json(const struct verdict *v);

/* One line of compact JSON, no trailing newline: the text of
 * json_dumps(verdict_to_json(v), JSON_COMPACT | JSON_PRESERVE_ORDER) to
 * the byte, written by verdict_json_write() without building the tree. */
char *verdict_json_dumps(const struct verdict *v);

/* The direct writer. An answer's JSON is written into a growing buffer,
 * not built as a jansson tree and then dumped: on a cache hit that tree
 * (about 20 allocated nodes, walked, then freed) was 22 % of the server's
 * CPU (BENCHMARKS.md "HTTP"). The bytes are jansson's: compact, members
 * in the order above, strings escaped as json_dumps() does without
 * JSON_ENSURE_ASCII (", \ and \b \f \n \r \t by name, the other C0
 * controls as \u00XX in upper-case hex, everything else as is), and a
 * string jansson would refuse (not UTF-8) becomes what the tree would
 * give: null where str_or_null() is used, the member left out elsewhere.
 *
 * Ownership: the buffer owns .data (malloc'd) until
 * verdict_json_buf_take() hands it over or verdict_json_buf_release()
 * frees it. Limits: VERDICT_JSON_BUF_MAX; past it, or when memory runs
 * out, the buffer is marked failed and every later write is a no-op, so a
 * caller checks once, at the end. */
struct verdict_json_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

/* The largest answer the writer builds. The worst real one, a batch of
 * 100 verdicts (the API's ceiling) with transcripts, each verdict at most
 * ~21 KiB (see VERDICT_JSON_MAX) and each transcript at most 8 KiB
 * (DIALOG_TRANSCRIPT_MAX), 48 KiB escaped, is about 7 MiB; anything past
 * 64 MiB is a bug, not an answer. */
#define VERDICT_JSON_BUF_MAX (64u * 1024 * 1024)

/* verdict_json_buf_init - an empty buffer with room for @hint octets
 * (0: none yet); allocation is deferred to the first write. */
void verdict_json_buf_init(struct verdict_json_buf *b, size_t hint);

/* verdict_json_buf_put - append @n raw octets (JSON punctuation, keys). */
void verdict_json_buf_put(struct verdict_json_buf *b, const char *s, size_t n);

/* verdict_json_buf_string - append @s as a JSON string, escaped as above.
 * Returns 0, or -1 with nothing written when @s is not valid UTF-8 (or
 * the buffer has failed). */
int verdict_json_buf_string(struct verdict_json_buf *b, const char *s);

/* verdict_json_write - append the verdict object of @v. When @extra_name
 * is not NULL, one more member closes the object: "@extra_name": the
 * string @extra_value, or null when it is NULL (a value that is not
 * UTF-8 leaves the member out, as json_object_set_new() does with the
 * NULL json_string() gives). @extra_name is written as is: a literal key
 * that needs no escaping. */
void verdict_json_write(struct verdict_json_buf *b, const struct verdict *v,
			const char *extra_name, const char *extra_value);

/* verdict_json_buf_take - the text (NUL-terminated, *@len octets without
 * the NUL when @len is not NULL), now the caller's to free(); NULL when
 * the buffer failed (its memory is then freed). The buffer is empty
 * afterwards. */
char *verdict_json_buf_take(struct verdict_json_buf *b, size_t *len);

/* verdict_json_buf_release - free what the buffer holds; it is empty. */
void verdict_json_buf_release(struct verdict_json_buf *b);

/* verdict_json_time - @t (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ" in @buf
 * of at least 21 octets. */
void verdict_json_time(int64_t t, char buf[21]);

/* Ceiling of the text verdict_from_json() reads. A real verdict encodes in
 * under 8 KiB (the echo's controls escaped as \u00XX, six octets each;
 * the other fields are grammar-checked or sanitised). The worst any struct
 * verdict can give, every text field at its ceiling of control
 * characters, is about 21 KiB (a test pins it below this ceiling); 32 KiB
 * holds it and refuses anything that cannot be one of ours. */
#define VERDICT_JSON_MAX 32768

/* verdict_from_json - the inverse of verdict_to_json(): @text (@len
 * octets, no NUL needed) into *@out. Strict: the object must have exactly
 * the members the encoder writes ("message" and "retry_after" optional),
 * each of its type; names of status, reason and stage must be known and
 * the status must be the reason's (verdict_set() derives it); strings must
 * fit their fields (no truncation), integers their ranges; "checked_at"
 * must be the encoder's RFC 3339 form of a real instant; a string that
 * the encoder writes as null ("address": "") is refused. email_truncated
 * is not in the JSON and comes back false.
 * Returns 0, or -1 (input longer than VERDICT_JSON_MAX, not JSON, any rule
 * broken, memory exhausted) with *@out untouched. */
int verdict_from_json(const char *text, size_t len, struct verdict *out);

#endif
