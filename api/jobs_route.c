/* jobs_route - POST/GET/DELETE /v1/jobs (see jobs_route.h).
 *
 * A POST body is read whole (routes.c keeps it, within --max-job-body)
 * and turned into rows here: CSV and plain lines through core/csv.h's
 * rows (the same as `rcptd bulk`: malformed lines become rows answered
 * invalid_syntax, never dropped), NDJSON and JSON through jansson. The
 * rows go to the job store, which runs them on this loop.
 * Results leave through libmicrohttpd's callback response: the store
 * formats a block at a time (32 KiB), so memory stays bounded whatever
 * the job's size.
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
#include "api/reqparse.h"
#include "api/verdict_json.h"
#include "core/csv.h"

#define JOBS_PREFIX	"/v1/jobs"
#define JOBS_PREFIX_LEN (sizeof(JOBS_PREFIX) - 1)
/* MHD asks the callback for at most this much at a time. */
#define JOBS_BLOCK (32 * 1024)
/* An owner: "k" and a key, or "i" and an address. */
#define JOBS_OWNER_MAX (1 + 1024 + 1)
/* Retry-After of 429 (a job takes minutes) and 503. */
#define JOBS_RETRY_BUSY_S 30
#define JOBS_RETRY_FULL_S 60

void jobs_route_bind(uv_loop_t *loop, struct jobs_binding *b,
		     struct jobstore *js, unsigned idx, size_t max_body)
{
	b->magic = JOBS_BINDING_MAGIC;
	b->js = js;
	b->idx = idx;
	b->max_body = max_body;
	loop->data = b;
}

static const struct jobs_binding *binding(const struct http_req *r)
{
	const struct jobs_binding *b = r->h->loop->data;

	return b && b->magic == JOBS_BINDING_MAGIC ? b : NULL;
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

/* media_is - @ct names @type (any case), alone or with parameters. */
static bool media_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

enum body_kind { BODY_CSV, BODY_PLAIN, BODY_NDJSON, BODY_JSON, BODY_NONE };

static enum body_kind body_kind(const char *ct)
{
	if (media_is(ct, "text/csv"))
		return BODY_CSV;
	if (media_is(ct, "text/plain"))
		return BODY_PLAIN;
	if (media_is(ct, "application/x-ndjson") ||
	    media_is(ct, "application/ndjson"))
		return BODY_NDJSON;
	if (reqparse_json_type(ct))
		return BODY_JSON;
	return BODY_NONE;
}

bool jobs__content_type(const char *ct)
{
	return body_kind(ct) != BODY_NONE;
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

/* ---- POST: the body as rows ------------------------------------------------ */

struct rows {
	struct jobstore_row *row;
	size_t n, cap, max;
	char *header; /* borrowed or owned (see own_header) */
	size_t headerlen;
	bool own_header;
};

static void rows_release(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free((char *)rs->row[i].prefix); /* input shares its block */
		free((struct verdict *)rs->row[i].verdict);
	}
	free(rs->row);
	if (rs->own_header)
		free(rs->header);
}

/* add - one row: @prefix (taken), its address copied behind it (NULL:
 * answered by @v, taken). Returns 0, 413 past the limit, or 500. */
static int add(struct rows *rs, char *prefix, size_t prefixlen,
	       const char *addr, size_t addrlen, struct verdict *v)
{
	struct jobstore_row *r;

	if (rs->n == rs->max) {
		free(prefix);
		free(v);
		return 413;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 256;
		r = realloc(rs->row, cap * sizeof(*r));
		if (r == NULL)
			goto nomem;
		rs->row = r;
		rs->cap = cap;
	}
	if (addr) {
		char *p = realloc(prefix, prefixlen + addrlen + 1);
		if (p == NULL)
			goto nomem;
		prefix = p;
		memcpy(prefix + prefixlen, addr, addrlen);
	}
	r = &rs->row[rs->n++];
	r->prefix = prefix;
	r->prefixlen = prefixlen;
	r->input = addr ? prefix + prefixlen : NULL;
	r->inputlen = addrlen;
	r->verdict = v;
	return 0;
nomem:
	free(prefix);
	free(v);
	return 500;
}

/* add_email - a row of an NDJSON or JSON body: its one column is the
 * address, quoted as CSV wants it. */
static int add_email(struct rows *rs, const char *s, size_t len)
{
	size_t q = csv_quote_size(s, len);
	char *p = malloc(q + 1);

	if (p == NULL)
		return 500;
	csv_quote(p, s, len);
	return add(rs, p, q, s, len, NULL);
}

static struct verdict *invalid(const char *echo, size_t len, const char *why)
{
	struct verdict *v = malloc(sizeof(*v));

	if (v == NULL)
		return NULL;
	verdict_init(v, echo, len);
	verdict_set(v, REASON_INVALID_SYNTAX);
	snprintf(v->message, sizeof(v->message), "%.*s",
		 (int)sizeof(v->message) - 1, why);
	v->checked_at = (int64_t)time(NULL);
	return v;
}

/* parse_csv - CSV or plain lines; 0, or an HTTP status with @msg. */
static int parse_csv(const char *body, size_t len, bool plain,
		     const char *column, struct rows *rs, struct csv_rows *cr,
		     char *msg, size_t msglen)
{
	struct csv *p = csv_new(NULL);
	struct csv_record rec;
	struct csv_row row;
	size_t off = 0;
	int rc = 0;
	char why[400];

	csv_rows_init(cr, column);
	if (p == NULL)
		return 500;
	if (plain)
		csv_set_plain(p, true);
	for (bool end = false; rc == 0;) {
		while (rc == 0 && csv_next(p, &rec) == 1) {
			int c = csv_rows_classify(cr, p, &rec, &row, why,
						  sizeof(why));
			if (c == -1) {
				snprintf(msg, msglen, "line %llu: %.180s",
					 (unsigned long long)rec.line, why);
				rc = 400;
				break;
			}
			if (c < 0) {
				rc = 500;
				break;
			}
			if (row.kind == CSV_ROW_ADDRESS)
				rc = add(rs, row.prefix, row.prefixlen,
					 row.addr, row.addrlen, NULL);
			else if (row.kind == CSV_ROW_INVALID) {
				struct verdict *v = invalid(
				    row.malformed ? rec.raw : "",
				    row.malformed ? rec.raw_len : 0, row.why);
				rc = v ? add(rs, row.prefix, row.prefixlen,
					     NULL, 0, v)
				       : (free(row.prefix), 500);
			}
		}
		if (rc || end)
			break;
		if (off < len)
			off += csv_feed(p, body + off, len - off);
		else {
			csv_finish(p);
			end = true;
		}
	}
	csv_free(p);
	if (rc == 413)
		snprintf(msg, msglen, "more than %zu rows (--max-job-size)",
			 rs->max);
	if (rc == 0 && cr->header) {
		rs->header = cr->header;
		rs->headerlen =
		    cr->header_len - 1 - sizeof(CSV_VERDICT_COLUMNS);
	}
	return rc;
}

/* email_of - the address of one NDJSON value: {"email": "..."} or a
 * bare string. */
static const char *email_of(json_t *v, size_t *len)
{
	if (json_is_object(v))
		v = json_object_get(v, "email");
	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* parse_ndjson - one JSON value a line; empty lines skipped. */
static int parse_ndjson(const char *body, size_t len, struct rows *rs,
			char *msg, size_t msglen)
{
	size_t line = 0, off = 0;
	int rc = 0;

	while (rc == 0 && off < len) {
		const char *s = body + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		json_error_t e;
		json_t *v;
		const char *addr;
		size_t alen;

		off += n + (nl != NULL);
		line++;
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' ||
			     s[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (reqparse_depth(s, n, REQPARSE_DEPTH_MAX) >
		    REQPARSE_DEPTH_MAX) {
			snprintf(msg, msglen, "line %zu: nested too deep",
				 line);
			return 400;
		}
		v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &e);
		addr = v ? email_of(v, &alen) : NULL;
		if (addr == NULL) {
			snprintf(
			    msg, msglen,
			    "line %zu: not a JSON object with an \"email\" "
			    "string%s%.120s",
			    line, v ? "" : ": ", v ? "" : e.text);
			json_decref(v);
			return 400;
		}
		rc = add_email(rs, addr, alen);
		json_decref(v);
	}
	if (rc == 413)
		snprintf(msg, msglen, "more than %zu rows (--max-job-size)",
			 rs->max);
	return rc;
}

/* parse_json - {"emails": ["...", ...]}. */
static int parse_json(const char *body, size_t len, struct rows *rs, char *msg,
		      size_t msglen)
{
	json_error_t e;
	json_t *root, *arr;
	int rc = 0;

	if (reqparse_depth(body, len, REQPARSE_DEPTH_MAX) >
	    REQPARSE_DEPTH_MAX) {
		snprintf(msg, msglen, "nested too deep");
		return 400;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	arr = json_object_get(root, "emails");
	if (!json_is_array(arr)) {
		snprintf(msg, msglen,
			 "the body must be {\"emails\": [...]}%s%s",
			 root ? "" : ": ", root ? "" : e.text);
		json_decref(root);
		return 400;
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_string(v)) {
			snprintf(msg, msglen, "emails[%zu] is not a string", i);
			rc = 400;
			break;
		}
		rc = add_email(rs, json_string_value(v), json_string_length(v));
	}
	json_decref(root);
	if (rc == 413)
		snprintf(msg, msglen, "more than %zu rows (--max-job-size)",
			 rs->max);
	return rc;
}

/* query - the query parameter @name, or NULL. */
static const char *query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, name);
}

static void create(struct http_req *r, const struct jobs_binding *b,
		   const char *own, size_t ownlen)
{
	const char *ct =
	    MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, "Content-Type");
	enum body_kind kind = body_kind(ct);
	const char *body = r->body ? r->body : "";
	struct rows rs = {.max = jobstore_max_rows(b->js)};
	struct csv_rows cr;
	char msg[HTTP_ERR_MSG_MAX] = "", id[JOBSTORE_ID_LEN + 1], loc[64];
	int rc;

	csv_rows_init(&cr, NULL);
	if (kind == BODY_CSV || kind == BODY_PLAIN)
		rc = parse_csv(body, r->body_len, kind == BODY_PLAIN,
			       query(r, "column"), &rs, &cr, msg, sizeof(msg));
	else if (kind == BODY_NDJSON)
		rc = parse_ndjson(body, r->body_len, &rs, msg, sizeof(msg));
	else
		rc = parse_json(body, r->body_len, &rs, msg, sizeof(msg));
	if (rc == 0 && rs.header == NULL) {
		rs.header = "email";
		rs.headerlen = 5;
	}
	if (rc == 0) {
		rc = jobstore_create(b->js, b->idx, own, ownlen, rs.header,
				     rs.headerlen, rs.row, rs.n, id);
		switch (rc) {
		case JOBSTORE_OK:
			break;
		case JOBSTORE_TOO_MANY:
			r->retry_after = JOBS_RETRY_BUSY_S;
			http__error(r, 429, "too_many_jobs",
				    "this key has as many jobs running as it "
				    "may (--max-jobs-per-key); retry when one "
				    "is done");
			goto out;
		case JOBSTORE_TOO_LARGE:
			rc = 413;
			snprintf(msg, sizeof(msg),
				 "more than %zu rows (--max-job-size)", rs.max);
			break;
		case JOBSTORE_FULL:
		case JOBSTORE_NO_LOOP:
			r->retry_after = JOBS_RETRY_FULL_S;
			http__error(r, 503, "unavailable",
				    "no room for another job now");
			goto out;
		default:
			rc = 500;
			break;
		}
	}
	if (rc == 400)
		http__error(r, 400, "bad_request", "%s", msg);
	else if (rc == 413)
		http__error(r, 413, "too_many_rows", "%s", msg);
	else if (rc != 0)
		http__error(r, 500, "internal", "out of memory");
	else if (http__respond_json(r, 202,
				    json_pack("{s:s,s:I}", "id", id, "total",
					      (json_int_t)rs.n)) == 0) {
		snprintf(loc, sizeof(loc), JOBS_PREFIX "/%s", id);
		MHD_add_response_header(r->resp, "Location", loc);
	}
out:
	r->addresses = (unsigned)rs.n;
	rows_release(&rs);
	csv_rows_release(&cr);
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

static void status(struct http_req *r, const struct jobs_binding *b,
		   const char *id, const char *own, size_t ownlen)
{
	struct jobstore_status st;
	json_t *doc;

	if (jobstore_status(b->js, id, own, ownlen, &st) < 0) {
		http__error(r, 404, "not_found", "no such job");
		return;
	}
	doc = json_pack(
	    "{s:s,s:s,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:f,s:o,s:o,s:o}", "id",
	    st.id, "state", jobstore_state_name(st.state), "total",
	    (json_int_t)st.total, "done", (json_int_t)st.done, "counts",
	    "deliverable", (json_int_t)st.counts[VERDICT_DELIVERABLE],
	    "undeliverable", (json_int_t)st.counts[VERDICT_UNDELIVERABLE],
	    "risky", (json_int_t)st.counts[VERDICT_RISKY], "unknown",
	    (json_int_t)st.counts[VERDICT_UNKNOWN], "duplicates",
	    (json_int_t)st.duplicates, "rate", st.rate, "eta_seconds",
	    st.eta_s >= 0 ? json_integer(st.eta_s) : json_null(), "created_at",
	    time_or_null(st.created_at), "finished_at",
	    time_or_null(st.finished_at));
	if (http__respond_json(r, 200, doc) < 0)
		http__error(r, 500, "internal", "out of memory");
}

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	long n = jobstore_read(cls, buf, max);

	(void)pos;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n;
}

static void read_free(void *cls)
{
	jobstore_reader_free(cls);
}

static void results(struct http_req *r, const struct jobs_binding *b,
		    const char *id, const char *own, size_t ownlen)
{
	const char *f = query(r, "format");
	enum jobstore_format format = JOBSTORE_CSV;
	struct jobstore_reader *rd;
	struct MHD_Response *resp;

	if (f && strcmp(f, "ndjson") == 0)
		format = JOBSTORE_NDJSON;
	else if (f && strcmp(f, "csv") != 0) {
		http__error(r, 400, "bad_request", "format= is csv or ndjson");
		return;
	}
	if (jobstore_reader_new(b->js, id, own, ownlen, format, &rd) < 0) {
		http__error(r, 404, "not_found", "no such job");
		return;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, JOBS_BLOCK,
						 read_cb, rd, read_free);
	if (resp == NULL) {
		jobstore_reader_free(rd);
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

static void cancel(struct http_req *r, const struct jobs_binding *b,
		   const char *id, const char *own, size_t ownlen)
{
	bool deleted = false;

	if (jobstore_cancel(b->js, id, own, ownlen, &deleted) < 0) {
		http__error(r, 404, "not_found", "no such job");
		return;
	}
	if (deleted)
		http__respond_raw(r, 204, NULL, 0, NULL);
	else
		http__respond_json(
		    r, 202,
		    json_pack("{s:s,s:s}", "id", id, "state", "cancelled"));
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
