/* jobs_route - the bulk job routes of the HTTP API (issue 6):
 *
 *   POST   /v1/jobs[?column=NAME|INDEX]   202 {"id": ..., "total": N}
 *          body: text/csv (a header naming the address column, or
 *          column=), text/plain (one address a line),
 *          application/x-ndjson ({"email": ...} a line) or
 *          application/json ({"emails": [...]})
 *   GET    /v1/jobs/ID                    200 progress (see jobs_route.c)
 *   GET    /v1/jobs/ID/results[?format=csv|ndjson]   200, streamed
 *   DELETE /v1/jobs/ID                    202 cancelling a running job,
 *                                         204 forgetting a finished one
 * Errors: 400 (a body that cannot be read, no address column), 404 (no
 * such job for this key), 413 (over --max-job-size rows or
 * --max-job-body octets), 415 (another Content-Type), 429 (over
 * --max-jobs-per-key jobs queued or running, with Retry-After), 503 (the
 * store is full, with Retry-After).
 *
 * The job store of a loop is the struct jobs_binding its HTTP
 * configuration names (http_config.jobs); a loop without one answers
 * every /v1/jobs path 404.
 * Loop: the HTTP loop's thread (api/http.h). */
#ifndef RCPTD_API_JOBS_ROUTE_H
#define RCPTD_API_JOBS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/jobstore.h"

/* A job's body: 100 000 rows of a wide export are tens of MiB; the
 * default --max-job-body is 64 MiB (config.c). */

struct jobq;

struct jobs_binding {
	struct jobstore *js; /* in process, or */
	struct jobq *q;	     /* on Redis (--redis): used when not NULL */
	unsigned idx;	     /* the loop's index in the store */
	size_t max_body;     /* --max-job-body */
};

/* jobs_route_bind - fill @b (which must outlive the loop's HTTP; give it
 * as http_config.jobs). Jobs go to @q when it is not NULL (then @js may
 * be NULL), else to @js. */
void jobs_route_bind(struct jobs_binding *b, struct jobstore *js,
		     struct jobq *q, unsigned idx, size_t max_body);

struct http_req;

/* What api/routes.c asks (prefix jobs__, as verify__). */

/* jobs__enabled - whether this request's loop has a job store. */
bool jobs__enabled(const struct http_req *r);
/* jobs__is - whether @r took a /v1/jobs route. */
bool jobs__is(const struct http_req *r);
/* jobs__content_type - a Content-Type POST /v1/jobs reads. */
bool jobs__content_type(const char *ct);
/* jobs__max_body - the body limit of a jobs request. */
size_t jobs__max_body(const struct http_req *r);
/* jobs__start - answer @r (the body, if any, is in). */
void jobs__start(struct http_req *r);

#endif
