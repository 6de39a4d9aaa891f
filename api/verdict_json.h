/* verdict_json - a verdict as the JSON object of DESIGN.md, with jansson.
 *
 * Field order and presence are part of the interface contract: "email",
 * "address", "status", "reason", then "message" (invalid_syntax only),
 * "domain", "mx", the flags, "suggestion", "smtp" (null when no SMTP
 * conversation took place), "retry_after" (when set), "cached",
 * "checked_at" (RFC 3339, UTC), "duration_ms".
 * Ownership: verdict_to_json() returns a new reference the caller owns
 * (json_decref); verdict_json_dumps() returns a malloc'd string the caller
 * frees. Both return NULL only when memory runs out.
 * verdict_from_json() reads that JSON back (the verdict cache stores it in
 * Redis; one format, pinned to the byte by the tests, serves both). */
#ifndef RCPTD_API_VERDICT_JSON_H
#define RCPTD_API_VERDICT_JSON_H

#include <jansson.h>

#include "core/verdict.h"

json_t *verdict_to_json(const struct verdict *v);

/* One line of compact JSON, no trailing newline. */
char *verdict_json_dumps(const struct verdict *v);

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
