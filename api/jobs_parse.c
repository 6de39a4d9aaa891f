/* jobs_parse - a POST /v1/jobs body as rows (see jobs_parse.h).
 *
 * CSV and plain lines go through core/csv.h's rows (the same as `rcptd
 * bulk`: malformed lines become rows answered invalid_syntax, never
 * dropped), NDJSON and JSON through jansson. */
#include "api/jobs_parse.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/reqparse.h"

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

enum jobs_body jobs_body_kind(const char *ct)
{
	if (media_is(ct, "text/csv"))
		return JOBS_BODY_CSV;
	if (media_is(ct, "text/plain"))
		return JOBS_BODY_PLAIN;
	if (media_is(ct, "application/x-ndjson") ||
	    media_is(ct, "application/ndjson"))
		return JOBS_BODY_NDJSON;
	if (reqparse_json_type(ct))
		return JOBS_BODY_JSON;
	return JOBS_BODY_NONE;
}

/* ---- POST: the body as rows ------------------------------------------------ */

void jobs_rows_release(struct jobs_rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free((char *)rs->row[i].prefix); /* input shares its block */
		free((struct verdict *)rs->row[i].verdict);
	}
	free(rs->row);
	csv_rows_release(&rs->cr);
}

/* add - one row: @prefix (taken), its address copied behind it (NULL:
 * answered by @v, taken). Returns 0, 413 past the limit, or 500. */
static int add(struct jobs_rows *rs, char *prefix, size_t prefixlen,
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
static int add_email(struct jobs_rows *rs, const char *s, size_t len)
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
		     const char *column, struct jobs_rows *rs,
		     struct csv_rows *cr, char *msg, size_t msglen)
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
static int parse_ndjson(const char *body, size_t len, struct jobs_rows *rs,
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
static int parse_json(const char *body, size_t len, struct jobs_rows *rs,
		      char *msg, size_t msglen)
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

int jobs_parse(enum jobs_body kind, const char *body, size_t len,
	       const char *column, struct jobs_rows *rs, char *msg,
	       size_t msglen)
{
	int rc;

	if (kind == JOBS_BODY_CSV || kind == JOBS_BODY_PLAIN)
		rc = parse_csv(body, len, kind == JOBS_BODY_PLAIN, column, rs,
			       &rs->cr, msg, msglen);
	else if (kind == JOBS_BODY_NDJSON)
		rc = parse_ndjson(body, len, rs, msg, msglen);
	else
		rc = parse_json(body, len, rs, msg, msglen);
	if (rc == 0 && rs->header == NULL) {
		rs->header = "email";
		rs->headerlen = 5;
	}
	return rc;
}
