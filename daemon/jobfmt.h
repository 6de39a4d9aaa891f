/* jobfmt - a bulk job's results as they leave: CSV (the row's original
 * columns, then core/csv.h's verdict columns) or NDJSON (DESIGN.md's
 * verdict with "row", its index from 0). One formatter for both job
 * stores (daemon/jobstore.h in process, daemon/jobq.h on Redis), so the
 * two give the same bytes.
 *
 * Ownership: the output goes into a caller's growing buffer (*@buf of
 * *@cap octets, realloc'd as needed; the caller frees it). Errors: -1
 * when memory runs out. Loop: none. */
#ifndef RCPTD_DAEMON_JOBFMT_H
#define RCPTD_DAEMON_JOBFMT_H

#include <stddef.h>

#include "core/verdict.h"
#include "daemon/jobstore.h"

struct jobfmt_buf {
	char *buf;
	size_t len, cap;
};

/* jobfmt_header - the CSV header line: @header (the input's, without
 * its line end), a comma, the verdict columns, "\n"; appended. */
int jobfmt_header(struct jobfmt_buf *b, const char *header, size_t headerlen);

/* jobfmt_row - row @index, appended as one line. @prefix is its original
 * columns; @input its address as given (NULL for a row that had none):
 * NDJSON echoes it as "email", since a repeated address carries the
 * verdict of its first copy. @v may be changed. */
int jobfmt_row(struct jobfmt_buf *b, enum jobstore_format format,
	       uint64_t index, const char *prefix, size_t prefixlen,
	       const char *input, size_t inputlen, struct verdict *v);

#endif
