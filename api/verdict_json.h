/* verdict_json - a verdict as the JSON object of DESIGN.md, with jansson.
 *
 * Field order and presence are part of the interface contract: "email",
 * "address", "status", "reason", then "message" (invalid_syntax only),
 * "domain", "mx", the flags, "suggestion", "smtp" (null when no SMTP
 * conversation took place), "retry_after" (when set), "cached",
 * "checked_at" (RFC 3339, UTC), "duration_ms".
 * Ownership: verdict_to_json() returns a new reference the caller owns
 * (json_decref); verdict_json_dumps() returns a malloc'd string the caller
 * frees. Both return NULL only when memory runs out. */
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

#endif
