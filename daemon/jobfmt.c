/* jobfmt - a job's results as CSV or NDJSON lines (see jobfmt.h). */
#include "daemon/jobfmt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"
#include "core/csv.h"

static int reserve(struct jobfmt_buf *b, size_t more)
{
	size_t need = b->len + more, cap;
	char *p;

	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (p == NULL)
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

int jobfmt_header(struct jobfmt_buf *b, const char *header, size_t headerlen)
{
	if (reserve(b, headerlen + sizeof(CSV_VERDICT_COLUMNS) + 2) < 0)
		return -1;
	memcpy(b->buf + b->len, header, headerlen);
	b->len += headerlen;
	b->buf[b->len++] = ',';
	memcpy(b->buf + b->len, CSV_VERDICT_COLUMNS,
	       sizeof(CSV_VERDICT_COLUMNS) - 1);
	b->len += sizeof(CSV_VERDICT_COLUMNS) - 1;
	b->buf[b->len++] = '\n';
	return 0;
}

int jobfmt_row(struct jobfmt_buf *b, enum jobstore_format format,
	       uint64_t index, const char *prefix, size_t prefixlen,
	       const char *input, size_t inputlen, struct verdict *v)
{
	json_t *row, *o;
	char *text = NULL;
	size_t n;
	int rc;

	if (format == JOBSTORE_CSV) {
		if (reserve(b, prefixlen + CSV_VERDICT_MAX + 2) < 0)
			return -1;
		memcpy(b->buf + b->len, prefix, prefixlen);
		b->len += prefixlen;
		b->buf[b->len++] = ',';
		b->len += csv_verdict_fields(v, b->buf + b->len);
		b->buf[b->len++] = '\n';
		return 0;
	}
	if (input) { /* its own echo: a repeat carries the first's */
		struct verdict echo;
		verdict_init(&echo, input, inputlen);
		memcpy(v->email, echo.email, sizeof(v->email));
		v->email_truncated = echo.email_truncated;
	}
	row = json_pack("{s:I}", "row", (json_int_t)index);
	o = verdict_to_json(v);
	if (row && o && json_object_update(row, o) == 0)
		text = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(row);
	json_decref(o);
	if (text == NULL)
		return -1;
	n = strlen(text);
	rc = reserve(b, n + 1);
	if (rc == 0) {
		memcpy(b->buf + b->len, text, n);
		b->len += n;
		b->buf[b->len++] = '\n';
	}
	free(text);
	return rc;
}
