/* jobs_parse - the body of POST /v1/jobs as the rows of a job (issue 6).
 *
 * Bodies: text/csv (a header naming the address column, or column=),
 * text/plain (one address a line), application/x-ndjson ({"email": ...}
 * or a bare string a line) and application/json ({"emails": [...]}).
 * A CSV or plain line that is not an address is kept as a row already
 * answered (undeliverable / invalid_syntax, its line number in the
 * message), never dropped; a JSON body that does not have the shape
 * above is refused whole (400).
 * Ownership: the rows (and the header, when read from the body) belong
 * to the struct jobs_rows until jobs_rows_release(). Limits: at most
 * rs->max rows (413 beyond); JSON nesting is bounded by
 * api/reqparse.h before jansson sees it. Loop: none. */
#ifndef RCPTD_API_JOBS_PARSE_H
#define RCPTD_API_JOBS_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/csv.h"
#include "daemon/jobstore.h"

enum jobs_body {
	JOBS_BODY_CSV,
	JOBS_BODY_PLAIN,
	JOBS_BODY_NDJSON,
	JOBS_BODY_JSON,
	JOBS_BODY_NONE /* a Content-Type we do not read: 415 */
};

/* Zero it and set max before jobs_parse(). */
struct jobs_rows {
	struct jobstore_row *row;
	size_t n, cap, max;
	const char *header; /* the CSV header line, or "email" */
	size_t headerlen;
	struct csv_rows cr; /* owns a header read from the body */
};

/* jobs_body_kind - what a Content-Type names. */
enum jobs_body jobs_body_kind(const char *ct);

/* jobs_parse - @body (@len octets) as @kind into @rs; @column as
 * column= (may be NULL). Returns 0, or the HTTP status to answer (400,
 * 413, 500) with a sentence in @msg. */
int jobs_parse(enum jobs_body kind, const char *body, size_t len,
	       const char *column, struct jobs_rows *rs, char *msg,
	       size_t msglen);

void jobs_rows_release(struct jobs_rows *rs);

#endif
