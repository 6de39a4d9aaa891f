/* jobs_route - POST/GET/DELETE /v1/jobs (see jobs_route.h).
 *
 * A POST body is read whole (routes.c keeps it, within --max-job-body)
 * and turned into rows by api/jobs_parse. The rows go to the loop's job
 * store: in process (daemon/jobstore, answered at once) or on Redis
 * (daemon/jobq, with --redis: the request is suspended until Redis has
 * answered, and resumed by the reply's callback).
 * Results leave through libmicrohttpd's callback response, a block at a
 * time (32 KiB), so memory stays bounded whatever the job's size. From
 * Redis a block may not be there yet: the content reader then suspends
 * the connection (MHD allows it from the content reader) and the block's
 * arrival resumes it; the connection is "parked" with api/http.c so that
 * a daemon that stops resumes it before MHD stops (MHD_stop_daemon()
 * must not meet a suspended connection).
 * Owners: with API keys, the key (a job is its key's); without, the
 * client address. */
#include "api/jobs_route.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/http_int.h"
#include "api/jobs_parse.h"
#include "api/verdict_json.h"
#include "daemon/jobq.h"

#define JOBS_PREFIX	"/v1/jobs"
#define JOBS_PREFIX_LEN (sizeof(JOBS_PREFIX) - 1)
/* MHD asks the callback for at most this much at a time. */
#define JOBS_BLOCK (32 * 1024)
/* An owner: "k" and a key, or "i" and an address. */
#define JOBS_OWNER_MAX (1 + 1024 + 1)
/* Retry-After of 429 (a job takes minutes) and 503. */
#define JOBS_RETRY_BUSY_S 30
#define JOBS_RETRY_FULL_S 60

void jobs_route_bind(struct jobs_binding *b, struct jobstore *js,
		     struct jobq *q, unsigned idx, size_t max_body)
{
	b->js = js;
	b->q = q;
	b->idx = idx;
	b->max_body = max_body;
}

static const struct jobs_binding *binding(const struct http_req *r)
{
	return r->h->cfg.jobs;
}

bool jobs__enabled(const struct http_req *r)
{
	return binding(r) != NULL;
}

bool jobs__is(const struct http_req *r)
{
	return binding(r) != NULL &&
	       strncmp(r->path, JOBS_PREFIX, JOBS_PREFIX_LEN) == 0 &&
	       (r->path[JOBS_PREFIX_LEN] == '\0' ||
		r->path[JOBS_PREFIX_LEN] == '/' ||
		r->path[JOBS_PREFIX_LEN] == '?');
}

size_t jobs__max_body(const struct http_req *r)
{
	const struct jobs_binding *b = binding(r);

	return b ? b->max_body : r->h->cfg.max_body;
}

bool jobs__content_type(const char *ct)
{
	return jobs_body_kind(ct) != JOBS_BODY_NONE;
}

/* owner - who the request is for: its key, or its address. */
static size_t owner(const struct http_req *r, char *out)
{
	const char *v = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND,
						    "Authorization");
	size_t n;

	if (r->h->cfg.api_key_count && v && strncasecmp(v, "Bearer ", 7) == 0) {
		v += 7;
		while (*v == ' ')
			v++;
		n = strlen(v);
		while (n && v[n - 1] == ' ')
			n--;
		if (n > JOBS_OWNER_MAX - 2)
			n = JOBS_OWNER_MAX - 2;
		out[0] = 'k';
		memcpy(out + 1, v, n);
		return n + 1;
	}
	return (size_t)snprintf(out, JOBS_OWNER_MAX, "i%s",
				r->conn ? r->conn->ip : "?");
}

/* query - the query parameter @name, or NULL. */
static const char *query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, name);
}

/* store_error - the answer to a store's error @rc (negative). */
static void store_error(struct http_req *r, int rc, unsigned max_rows)
{
	switch (rc) {
	case JOBSTORE_NOT_FOUND:
		http__error(r, 404, "not_found", "no such job");
		break;
	case JOBSTORE_TOO_MANY:
		r->retry_after = JOBS_RETRY_BUSY_S;
		http__error(r, 429, "too_many_jobs",
			    "this key has as many jobs running as it may "
			    "(--max-jobs-per-key); retry when one is done");
		break;
	case JOBSTORE_TOO_LARGE:
		http__error(r, 413, "too_many_rows",
			    "more than %u rows (--max-job-size)", max_rows);
		break;
	case JOBSTORE_FULL:
	case JOBSTORE_NO_LOOP:
		r->retry_after = JOBS_RETRY_FULL_S;
		http__error(r, 503, "unavailable",
			    "no room for another job now");
		break;
	case JOBSTORE_UNAVAILABLE:
		r->retry_after = JOBS_RETRY_BUSY_S;
		http__error(r, 503, "unavailable",
			    "the job store (Redis) is not answering");
		break;
	default:
		http__error(r, 500, "internal", "out of memory");
		break;
	}
}

/* ---- waiting for Redis ------------------------------------------------------- */

/* wait_for - @rc is jobq's answer to a call made for @r: wait for its
 * callback, or answer the error now. */
static void wait_for(struct http_req *r, int rc, const struct jobs_binding *b)
{
	if (rc == 0) {
		http__wait(r);
		return;
	}
	r->jop = NULL;
	store_error(r, rc, jobq_max_rows(b->q));
}

/* done_waiting - the callback of r->jop has run: answer. */
static void done_waiting(struct http_req *r)
{
	r->jop = NULL;
	http__ready(r);
}

void jobs__expire(struct http_req *r)
{
	if (r->jop)
		jobq_op_cancel(r->jop);
	r->jop = NULL;
	r->retry_after = JOBS_RETRY_BUSY_S;
	http__error(r, 503, "unavailable", "the server is stopping");
	http__ready(r);
}

void jobs__free(struct http_req *r)
{
	if (r->jop)
		jobq_op_cancel(r->jop);
	r->jop = NULL;
}

/* ---- POST ------------------------------------------------------------------------ */

static void created(struct http_req *r, const char *id, size_t total)
{
	char loc[64];

	if (http__respond_json(r, 202,
			       json_pack("{s:s,s:I}", "id", id, "total",
					 (json_int_t)total)) == 0) {
		snprintf(loc, sizeof(loc), JOBS_PREFIX "/%s", id);
		MHD_add_response_header(r->resp, "Location", loc);
	}
}

static void on_created(void *data, int err, const char *id)
{
	struct http_req *r = data;

	if (err)
		store_error(r, err, jobq_max_rows(binding(r)->q));
	else
		created(r, id, r->addresses);
	done_waiting(r);
}

static void create(struct http_req *r, const struct jobs_binding *b,
		   const char *own, size_t ownlen)
{
	const char *ct =
	    MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, "Content-Type");
	unsigned max = b->q ? jobq_max_rows(b->q) : jobstore_max_rows(b->js);
	struct jobs_rows rs = {.max = max};
	char msg[HTTP_ERR_MSG_MAX] = "", id[JOBSTORE_ID_LEN + 1];
	int rc;

	rc = jobs_parse(jobs_body_kind(ct), r->body ? r->body : "", r->body_len,
			query(r, "column"), &rs, msg, sizeof(msg));
	r->addresses = (unsigned)rs.n;
	if (rc == 400)
		http__error(r, 400, "bad_request", "%s", msg);
	else if (rc == 413)
		http__error(r, 413, "too_many_rows", "%s", msg);
	else if (rc != 0)
		http__error(r, 500, "internal", "out of memory");
	else if (b->q)
		wait_for(r,
			 jobq_create(b->q, own, ownlen, rs.header, rs.headerlen,
				     rs.row, rs.n, on_created, r, &r->jop),
			 b);
	else if ((rc = jobstore_create(b->js, b->idx, own, ownlen, rs.header,
				       rs.headerlen, rs.row, rs.n, id)) < 0)
		store_error(r, rc, max);
	else
		created(r, id, rs.n);
	jobs_rows_release(&rs);
}

/* ---- GET and DELETE ---------------------------------------------------------- */

static json_t *time_or_null(int64_t t)
{
	char buf[21];

	if (t == 0)
		return json_null();
	verdict_json_time(t, buf);
	return json_string(buf);
}

static void status_answer(struct http_req *r, const struct jobstore_status *st)
{
	json_t *doc = json_pack(
	    "{s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:f,s:o,s:o,s:o}", "id",
	    st->id, "state", jobstore_state_name(st->state), "total",
	    (json_int_t)st->total, "done", (json_int_t)st->done, "counts",
	    "deliverable", (json_int_t)st->counts[VERDICT_DELIVERABLE],
	    "undeliverable", (json_int_t)st->counts[VERDICT_UNDELIVERABLE],
	    "risky", (json_int_t)st->counts[VERDICT_RISKY], "unknown",
	    (json_int_t)st->counts[VERDICT_UNKNOWN], "duplicates",
	    (json_int_t)st->duplicates, "rate", st->rate, "eta_seconds",
	    st->eta_s >= 0 ? json_integer(st->eta_s) : json_null(),
	    "created_at", time_or_null(st->created_at), "finished_at",
	    time_or_null(st->finished_at));

	if (http__respond_json(r, 200, doc) < 0)
		http__error(r, 500, "internal", "out of memory");
}

static void on_status(void *data, int err, const struct jobstore_status *st)
{
	struct http_req *r = data;

	if (err)
		store_error(r, err, 0);
	else
		status_answer(r, st);
	done_waiting(r);
}

static void status(struct http_req *r, const struct jobs_binding *b,
		   const char *id, const char *own, size_t ownlen)
{
	struct jobstore_status st;
	int rc;

	if (b->q) {
		wait_for(
		    r,
		    jobq_status(b->q, id, own, ownlen, on_status, r, &r->jop),
		    b);
		return;
	}
	rc = jobstore_status(b->js, id, own, ownlen, &st);
	if (rc < 0)
		store_error(r, rc, 0);
	else
		status_answer(r, &st);
}

static void cancel_answer(struct http_req *r, const char *id, bool deleted)
{
	if (deleted)
		http__respond_raw(r, 204, NULL, 0, NULL);
	else
		http__respond_json(
		    r, 202,
		    json_pack("{s:s,s:s}", "id", id, "state", "cancelled"));
}

static void on_cancelled(void *data, int err, bool deleted)
{
	struct http_req *r = data;

	if (err)
		store_error(r, err, 0);
	else
		cancel_answer(r, r->job_id, deleted);
	done_waiting(r);
}

static void cancel(struct http_req *r, const struct jobs_binding *b,
		   const char *id, const char *own, size_t ownlen)
{
	bool deleted = false;
	int rc;

	if (b->q) {
		memcpy(r->job_id, id, sizeof(r->job_id));
		wait_for(r,
			 jobq_cancel(b->q, id, own, ownlen, on_cancelled, r,
				     &r->jop),
			 b);
		return;
	}
	rc = jobstore_cancel(b->js, id, own, ownlen, &deleted);
	if (rc < 0)
		store_error(r, rc, 0);
	else
		cancel_answer(r, id, deleted);
}

/* ---- results ------------------------------------------------------------------ */

/* A results response: the reader of either store. */
struct results {
	struct jobstore_reader *local;
	struct jobq_reader *remote;
	struct http *h;
	struct MHD_Connection *mc;
	struct http_park park;
};

static void on_block(void *data)
{
	struct results *res = data;

	http__unpark(res->h, &res->park);
}

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct results *res = cls;
	long n;

	(void)pos;
	if (res->local)
		n = jobstore_read(res->local, buf, max);
	else if (res->park.closing || res->h->closing)
		n = -1; /* the daemon stops: cut the answer */
	else
		n = jobq_read(res->remote, buf, max, on_block, res);
	if (n == JOBQ_AGAIN) {
		http__park(res->h, &res->park, res->mc);
		return 0;
	}
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n;
}

static void read_free(void *cls)
{
	struct results *res = cls;

	http__unpark(res->h, &res->park);
	jobstore_reader_free(res->local);
	jobq_reader_free(res->remote);
	free(res);
}

static void respond_results(struct http_req *r, enum jobstore_format format,
			    struct jobstore_reader *local,
			    struct jobq_reader *remote)
{
	struct results *res = calloc(1, sizeof(*res));
	struct MHD_Response *resp = NULL;

	if (res) {
		res->local = local;
		res->remote = remote;
		res->h = r->h;
		res->mc = r->mc;
		resp = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, JOBS_BLOCK, read_cb, res, read_free);
	}
	if (resp == NULL) {
		free(res);
		jobstore_reader_free(local);
		jobq_reader_free(remote);
		http__error(r, 500, "internal", "out of memory");
		return;
	}
	MHD_add_response_header(resp, "Content-Type",
				format == JOBSTORE_CSV
				    ? "text/csv; charset=utf-8"
				    : "application/x-ndjson");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->cors_origin) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
					r->cors_origin);
		MHD_add_response_header(resp, "Vary", "Origin");
	}
	if (r->h->draining)
		MHD_add_response_header(resp, "Connection", "close");
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = 200;
}

static enum jobstore_format format_of(struct http_req *r)
{
	const char *f = query(r, "format");

	return f && strcmp(f, "ndjson") == 0 ? JOBSTORE_NDJSON : JOBSTORE_CSV;
}

static void on_reader(void *data, int err, struct jobq_reader *rd)
{
	struct http_req *r = data;

	if (err)
		store_error(r, err, 0);
	else
		respond_results(r, format_of(r), NULL, rd);
	done_waiting(r);
}

static void results(struct http_req *r, const struct jobs_binding *b,
		    const char *id, const char *own, size_t ownlen)
{
	const char *f = query(r, "format");
	enum jobstore_format format = format_of(r);
	struct jobstore_reader *rd;
	int rc;

	if (f && strcmp(f, "ndjson") != 0 && strcmp(f, "csv") != 0) {
		http__error(r, 400, "bad_request", "format= is csv or ndjson");
		return;
	}
	if (b->q) {
		wait_for(r,
			 jobq_reader_new(b->q, id, own, ownlen, format,
					 on_reader, r, &r->jop),
			 b);
		return;
	}
	rc = jobstore_reader_new(b->js, id, own, ownlen, format, &rd);
	if (rc < 0)
		store_error(r, rc, 0);
	else
		respond_results(r, format, rd, NULL);
}

void jobs__start(struct http_req *r)
{
	const struct jobs_binding *b = binding(r);
	const char *rest = r->path + JOBS_PREFIX_LEN;
	char own[JOBS_OWNER_MAX], id[JOBSTORE_ID_LEN + 1];
	size_t ownlen, idlen;
	bool get =
	    strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (b == NULL) {
		http__error(r, 404, "not_found", "no such route");
		return;
	}
	ownlen = owner(r, own);
	if (*rest == '\0' || *rest == '?') {
		create(r, b, own, ownlen);
		explicit_bzero(own, sizeof(own));
		return;
	}
	rest++; /* '/' */
	idlen = strcspn(rest, "/?");
	if (idlen != JOBSTORE_ID_LEN) {
		http__error(r, 404, "not_found", "no such job");
		goto out;
	}
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	rest += idlen;
	if (*rest == '\0' || *rest == '?') {
		if (get)
			status(r, b, id, own, ownlen);
		else
			cancel(r, b, id, own, ownlen);
	} else if ((strncmp(rest, "/results", 8) == 0 &&
		    (rest[8] == '\0' || rest[8] == '?')) &&
		   get) {
		results(r, b, id, own, ownlen);
	} else {
		http__error(r, 404, "not_found", "no such route");
	}
out:
	explicit_bzero(own, sizeof(own));
}
