/* csv - RFC 4180 push parser, address column detection, field quoting
 * (see csv.h).
 *
 * The parser keeps the input of the record being read in one buffer
 * (raw octets, so that a record can be passed through as it was) and
 * decodes its fields into a second one as it scans. The scan is
 * resumable: its state survives between csv_feed() calls, so a record
 * arriving one octet at a time costs no rescanning. */
#include "core/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum scan_state {
	ST_FIELD_START = 0, /* nothing of the field read yet */
	ST_UNQUOTED,
	ST_QUOTED,
	ST_QUOTE_IN_QUOTED, /* a '"' inside a quoted field: "" or the end */
	ST_AFTER_CLOSE	    /* the closing quote was read */
};

struct csv {
	struct csv_limits lim;
	char *buf; /* raw input: [start, len) unconsumed */
	size_t cap, start, len;
	size_t pos; /* the scan, within [start, len] */
	enum scan_state st;
	bool skipping;	    /* dropping the rest of an over-long line */
	bool finished;	    /* csv_finish() was called */
	bool bom_done;	    /* the start of input was checked for a BOM */
	bool plain;	    /* lines, not CSV (csv_set_plain) */
	uint64_t line;	    /* physical line where the record starts */
	unsigned breaks;    /* line breaks inside the record (quoted) */
	size_t first_break; /* where the first of them starts; 0: none */
	size_t first_break_end;
	unsigned fb_nf; /* the decoding as it was at that break */
	size_t fb_flen, fb_field_start;
	/* the record's decoded fields */
	char *fbuf;
	size_t flen, field_start;
	struct csv_field *fields;
	unsigned nf;
	enum csv_err err;
	char why[CSV_WHY_MAX];
};

static const char *const err_names[CSV_ERR_LAST] = {
    "ok",	"quote",	  "unterminated",
    "too_long", "field_too_long", "too_many_fields"};

const char *csv_err_name(enum csv_err e)
{
	return (unsigned)e < CSV_ERR_LAST ? err_names[e] : NULL;
}

void csv_limits_default(struct csv_limits *l)
{
	l->record_max = CSV_RECORD_MAX;
	l->field_max = CSV_FIELD_MAX;
	l->fields_max = CSV_FIELDS_MAX;
}

struct csv *csv_new(const struct csv_limits *l)
{
	struct csv *p;
	struct csv_limits d;

	if (l == NULL) {
		csv_limits_default(&d);
		l = &d;
	}
	if (l->record_max == 0 || l->field_max == 0 || l->fields_max == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->lim = *l;
	if (p->lim.field_max > p->lim.record_max)
		p->lim.field_max = p->lim.record_max;
	p->cap = p->lim.record_max + CSV_CHUNK;
	p->buf = malloc(p->cap);
	p->fbuf = malloc(p->lim.record_max);
	p->fields = calloc(p->lim.fields_max, sizeof(*p->fields));
	if (p->buf == NULL || p->fbuf == NULL || p->fields == NULL) {
		csv_free(p);
		return NULL;
	}
	p->line = 1;
	return p;
}

void csv_free(struct csv *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	free(p->fbuf);
	free(p->fields);
	free(p);
}

size_t csv_feed(struct csv *p, const char *data, size_t len)
{
	size_t room;

	if (p->finished)
		return 0;
	/* Compact: what was consumed goes; the record being read moves to
	 * the front (borrowed records die here, as the header says). */
	if (p->start > 0) {
		memmove(p->buf, p->buf + p->start, p->len - p->start);
		p->len -= p->start;
		p->pos -= p->start;
		if (p->first_break) {
			p->first_break -= p->start;
			p->first_break_end -= p->start;
		}
		p->start = 0;
	}
	room = p->cap - p->len;
	if (len > room)
		len = room;
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	return len;
}

void csv_finish(struct csv *p)
{
	p->finished = true;
}

void csv_set_plain(struct csv *p, bool plain)
{
	p->plain = plain;
}

uint64_t csv_lines(const struct csv *p)
{
	return p->line - 1;
}

static void set_err(struct csv *p, enum csv_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* set_err - remember the record's first fault. */
static void set_err(struct csv *p, enum csv_err e, const char *fmt, ...)
{
	va_list ap;

	if (p->err != CSV_OK)
		return;
	p->err = e;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* put - one decoded octet of the current field, within field_max. */
static void put(struct csv *p, char c)
{
	if (p->flen - p->field_start >= p->lim.field_max) {
		set_err(p, CSV_ERR_FIELD_TOO_LONG,
			"field %u is longer than %zu octets", p->nf + 1,
			p->lim.field_max);
		return;
	}
	p->fbuf[p->flen++] = c;
}

/* end_field - the current field is complete. */
static void end_field(struct csv *p)
{
	if (p->nf < p->lim.fields_max) {
		p->fields[p->nf].p = p->fbuf + p->field_start;
		p->fields[p->nf].len = p->flen - p->field_start;
		p->nf++;
	} else {
		set_err(p, CSV_ERR_TOO_MANY_FIELDS, "more than %u fields",
			p->lim.fields_max);
		p->flen = p->field_start; /* a dropped field holds no room */
	}
	p->field_start = p->flen;
	p->st = ST_FIELD_START;
}

/* reset_record - ready for the record starting at @at. */
static void reset_record(struct csv *p, size_t at)
{
	p->start = p->pos = at;
	p->st = ST_FIELD_START;
	p->breaks = 0;
	p->first_break = p->first_break_end = 0;
	p->flen = p->field_start = 0;
	p->nf = 0;
	p->err = CSV_OK;
	p->why[0] = '\0';
}

/* emit - fill @r with the record of @raw_len octets at p->start, spanning
 * @lines physical lines. The decoded data stays in place until the next
 * call; the scan state is reset by the caller. */
static void emit(struct csv *p, struct csv_record *r, size_t raw_len,
		 uint64_t lines)
{
	if (p->nf == 0) { /* an empty line: one empty field */
		p->fields[0].p = p->fbuf;
		p->fields[0].len = 0;
		p->nf = 1;
	}
	r->line = p->line;
	r->lines = lines;
	r->raw = p->buf + p->start;
	r->raw_len = raw_len;
	r->nfields = p->nf;
	r->field = p->fields;
	r->err = p->err;
	memcpy(r->why, p->why, sizeof(r->why));
	p->line += lines;
}

/* term_len - the length of the line break at @i (CRLF 2, LF or CR 1), 0
 * when @i holds none, -1 when a CR is the last octet so far and the
 * input goes on (it may be the first half of CRLF). */
static int term_len(const struct csv *p, size_t i)
{
	char c = p->buf[i];

	if (c == '\n')
		return 1;
	if (c != '\r')
		return 0;
	if (i + 1 < p->len)
		return p->buf[i + 1] == '\n' ? 2 : 1;
	return p->finished ? 1 : -1;
}

/* skip_line - drop octets up to and including the next line break.
 * Returns true when the break was found. */
static bool skip_line(struct csv *p)
{
	for (size_t i = p->start; i < p->len; i++) {
		int t = term_len(p, i);
		if (t < 0) {
			p->start = p->pos = i;
			return false;
		}
		if (t > 0) {
			reset_record(p, i + (size_t)t);
			p->skipping = false;
			return true;
		}
	}
	p->start = p->pos = p->len;
	return false;
}

/* unterminated - a quoted field that runs past the end of its first
 * line and is never closed (or not within record_max): the record is
 * that first line alone, and the scan starts again after it. */
static void unterminated(struct csv *p, struct csv_record *r)
{
	size_t again = p->first_break_end;

	p->err = CSV_OK; /* this fault explains the record best */
	set_err(p, CSV_ERR_UNTERMINATED,
		"a quoted field opened on this line is not closed");
	/* The fields are those of the first line, the open one cut there. */
	p->nf = p->fb_nf;
	p->flen = p->fb_flen;
	p->field_start = p->fb_field_start;
	end_field(p);
	emit(p, r, p->first_break - p->start, 1);
	reset_record(p, again);
}

/* check_bom - drop a UTF-8 BOM at the start of the input. Returns false
 * while too few octets are in to tell. */
static bool check_bom(struct csv *p)
{
	static const char bom[3] = {'\xef', '\xbb', '\xbf'};
	size_t have = p->len - p->start;

	if (have < 3 && !p->finished &&
	    memcmp(p->buf + p->start, bom, have) == 0)
		return false;
	if (have >= 3 && memcmp(p->buf + p->start, bom, 3) == 0)
		reset_record(p, p->start + 3);
	p->bom_done = true;
	return true;
}

int csv_next(struct csv *p, struct csv_record *r)
{
	if (!p->bom_done && !check_bom(p))
		return 0;
	if (p->skipping && !skip_line(p)) {
		if (p->finished)
			p->skipping = false;
		return 0;
	}
	while (p->pos < p->len) {
		size_t i = p->pos;
		char c = p->buf[i];
		int t;

		/* Past record_max octets only a line break may come: the
		 * one that ends the record. */
		bool ends = p->st != ST_QUOTED && (c == '\n' || c == '\r');

		if (!ends && i - p->start >= p->lim.record_max) {
			if (p->first_break) {
				unterminated(p, r);
				return 1;
			}
			p->err = CSV_OK;
			set_err(p, CSV_ERR_TOO_LONG,
				"line longer than %zu octets",
				p->lim.record_max);
			end_field(p);
			emit(p, r, p->lim.record_max, 1);
			reset_record(p, i);
			p->skipping = true;
			return 1;
		}
		switch (p->st) {
		case ST_QUOTED:
			if (c == '"') {
				p->st = ST_QUOTE_IN_QUOTED;
				p->pos++;
				continue;
			}
			t = term_len(p, i);
			if (t < 0)
				return 0;
			if (t > 0) { /* a line break inside the field */
				if (p->breaks++ == 0) {
					p->first_break = i;
					p->first_break_end = i + (size_t)t;
					p->fb_nf = p->nf;
					p->fb_flen = p->flen;
					p->fb_field_start = p->field_start;
				}
				put(p, c);
				if (t == 2)
					put(p, '\n');
				p->pos += (size_t)t;
				continue;
			}
			put(p, c);
			p->pos++;
			continue;
		case ST_QUOTE_IN_QUOTED:
			if (c == '"') { /* "" is one quote */
				put(p, '"');
				p->st = ST_QUOTED;
				p->pos++;
				continue;
			}
			p->st = ST_AFTER_CLOSE;
			continue; /* this octet again, after the field */
		case ST_FIELD_START:
			if (c == '"' && !p->plain) {
				p->st = ST_QUOTED;
				p->pos++;
				continue;
			}
			__attribute__((fallthrough)); /* unquoted */
		case ST_UNQUOTED:
		case ST_AFTER_CLOSE:
			if (c == ',' && !p->plain) {
				end_field(p);
				p->pos++;
				continue;
			}
			t = term_len(p, i);
			if (t < 0)
				return 0;
			if (t > 0) {
				end_field(p);
				emit(p, r, i - p->start, 1 + p->breaks);
				reset_record(p, i + (size_t)t);
				return 1;
			}
			if (p->st == ST_AFTER_CLOSE)
				set_err(p, CSV_ERR_QUOTE,
					"text after the closing quote of "
					"field %u",
					p->nf + 1);
			p->st = ST_UNQUOTED;
			put(p, c);
			p->pos++;
			continue;
		}
	}
	if (!p->finished || p->start == p->len)
		return 0;
	/* The end of the input ends the last record. */
	if (p->st == ST_QUOTED && p->first_break) {
		unterminated(p, r);
		return 1;
	}
	if (p->st == ST_QUOTED)
		set_err(p, CSV_ERR_UNTERMINATED,
			"a quoted field opened on this line is not closed");
	end_field(p);
	emit(p, r, p->len - p->start, 1 + p->breaks);
	reset_record(p, p->len);
	return 1;
}

/* ---- the address column -------------------------------------------------- */

static const char *const column_names[] = {
    "email", "e-mail", "mail", "address", "email_address", "email address"};

/* trimmed - @f without surrounding blanks (SP, HTAB). */
static void trimmed(const struct csv_field *f, const char **s, size_t *len)
{
	const char *p = f->p;
	size_t n = f->len;

	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*s = p;
	*len = n;
}

static bool name_is(const struct csv_field *f, const char *name)
{
	const char *s;
	size_t n;

	trimmed(f, &s, &n);
	return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

int csv_layout_detect(const struct csv_record *first, const char *column,
		      struct csv_layout *out, char *why, size_t whylen)
{
	unsigned at = 0, found = 0;

	memset(out, 0, sizeof(*out));
	out->ncols = first->nfields;
	if (column && *column) {
		size_t n = strspn(column, "0123456789");
		if (column[n] == '\0') {
			char *end;
			unsigned long idx = strtoul(column, &end, 10);
			if (idx == 0 || idx > CSV_FIELDS_MAX) {
				snprintf(why, whylen,
					 "--column %s: columns count from 1 "
					 "to %d",
					 column, CSV_FIELDS_MAX);
				return -1;
			}
			out->column = (unsigned)idx - 1;
			out->header =
			    out->column < first->nfields &&
			    memchr(first->field[out->column].p, '@',
				   first->field[out->column].len) == NULL;
			return 0;
		}
		for (unsigned i = 0; i < first->nfields; i++)
			if (name_is(&first->field[i], column)) {
				out->header = true;
				out->column = i;
				return 0;
			}
		snprintf(why, whylen,
			 "--column %s: the first line has no column of that "
			 "name",
			 column);
		return -1;
	}
	for (size_t k = 0; k < sizeof(column_names) / sizeof(*column_names);
	     k++)
		for (unsigned i = 0; i < first->nfields; i++)
			if (name_is(&first->field[i], column_names[k])) {
				out->header = true;
				out->column = i;
				return 0;
			}
	if (first->nfields == 1)
		return 0; /* plain lines */
	for (unsigned i = 0; i < first->nfields; i++)
		if (memchr(first->field[i].p, '@', first->field[i].len)) {
			at = i;
			found++;
		}
	if (found == 1) {
		out->column = at;
		return 0;
	}
	snprintf(why, whylen,
		 "cannot tell which column holds the addresses: name it with "
		 "--column NAME or --column INDEX (a header named one of: %s "
		 "is found alone)",
		 CSV_COLUMN_NAMES);
	return -1;
}

/* ---- writing ----------------------------------------------------------------- */

static bool needs_quotes(const char *s, size_t len)
{
	if (len == 0)
		return false;
	if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' ||
	    s[len - 1] == '\t')
		return true;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

size_t csv_quote_size(const char *s, size_t len)
{
	size_t n = len;

	if (!needs_quotes(s, len))
		return len;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '"';
	return n + 2;
}

size_t csv_quote(char *dst, const char *s, size_t len)
{
	size_t n = 0;

	if (!needs_quotes(s, len)) {
		memcpy(dst, s, len);
		return len;
	}
	dst[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			dst[n++] = '"';
		dst[n++] = s[i];
	}
	dst[n++] = '"';
	return n;
}

bool csv_formula_risk(const char *s, size_t len)
{
	return len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' ||
			   s[0] == '@' || s[0] == '\t' || s[0] == '\r');
}

/* ---- a verdict as columns ----------------------------------------------------- */

/* add - a comma and one field. */
static size_t add(char *dst, size_t n, const char *s, size_t len)
{
	dst[n++] = ',';
	return n + csv_quote(dst + n, s, len);
}

static size_t add_str(char *dst, size_t n, const char *s)
{
	return add(dst, n, s, strlen(s));
}

static const char *boolean(bool b)
{
	return b ? "true" : "false";
}

size_t csv_verdict_fields(const struct verdict *v, char *dst)
{
	const char *st = verdict_status_name(v->status);
	const char *re = verdict_reason_name(v->reason);
	const char *msg = v->smtp.present ? v->smtp.message : "";
	char code[16] = "";
	size_t n;

	st = st ? st : "unknown";
	n = strlen(st);
	memcpy(dst, st, n);
	n = add_str(dst, n, re ? re : "");
	n = add_str(dst, n, v->message);
	n = add_str(dst, n,
		    v->catch_all == TRI_TRUE	? "true"
		    : v->catch_all == TRI_FALSE ? "false"
						: "");
	n = add_str(dst, n, boolean(v->disposable));
	n = add_str(dst, n, boolean(v->free_provider));
	n = add_str(dst, n, boolean(v->role_account));
	n = add_str(dst, n, v->suggestion);
	if (v->smtp.present && v->smtp.code > 0)
		snprintf(code, sizeof(code), "%d", v->smtp.code);
	n = add_str(dst, n, code);
	n = add_str(dst, n, v->smtp.present ? v->smtp.enhanced : "");
	if (csv_formula_risk(msg, strlen(msg))) {
		/* "'" and the text: one octet more than the reply bound. */
		char guarded[VERDICT_REPLY_MAX + 2];
		size_t len = strnlen(msg, VERDICT_REPLY_MAX);
		guarded[0] = '\'';
		memcpy(guarded + 1, msg, len);
		n = add(dst, n, guarded, len + 1);
	} else {
		n = add_str(dst, n, msg);
	}
	return n;
}

/* ---- rows: records as bulk input -------------------------------------------------- */

void csv_rows_init(struct csv_rows *rs, const char *column)
{
	memset(rs, 0, sizeof(*rs));
	rs->column = column;
}

void csv_rows_release(struct csv_rows *rs)
{
	free(rs->header);
	rs->header = NULL;
}

/* set_header - the output header line (see csv.h). */
static int set_header(struct csv_rows *rs, const struct csv_record *rec)
{
	unsigned cols = rs->plain ? 1 : rs->lay.ncols;
	size_t cap =
	    rec->raw_len + (size_t)cols * 20 + sizeof(CSV_VERDICT_COLUMNS) + 4;
	char *h = malloc(cap);
	size_t n = 0;

	if (h == NULL)
		return -1;
	if (rs->lay.header) {
		memcpy(h, rec->raw, rec->raw_len);
		n = rec->raw_len;
	} else {
		for (unsigned i = 0; i < cols; i++) {
			if (i)
				h[n++] = ',';
			if (i == rs->lay.column)
				n += (size_t)snprintf(h + n, cap - n, "email");
			else
				n += (size_t)snprintf(h + n, cap - n,
						      "column%u", i + 1);
		}
	}
	n += (size_t)snprintf(h + n, cap - n, ",%s\n", CSV_VERDICT_COLUMNS);
	rs->header = h;
	rs->header_len = n;
	return 0;
}

/* prefix - @raw, quoted as one field when @quote, then @pad commas. */
static int prefix(struct csv_row *row, const char *raw, size_t len, bool quote,
		  unsigned pad)
{
	size_t q = quote ? csv_quote_size(raw, len) : len;
	char *p = malloc(q + pad + 1);

	if (p == NULL)
		return -2;
	if (quote)
		csv_quote(p, raw, len);
	else
		memcpy(p, raw, len);
	memset(p + q, ',', pad);
	row->prefix = p;
	row->prefixlen = q + pad;
	return 0;
}

int csv_rows_classify(struct csv_rows *rs, struct csv *p,
		      const struct csv_record *rec, struct csv_row *row,
		      char *why, size_t whylen)
{
	unsigned pad;

	memset(row, 0, sizeof(*row));
	if (rec->raw_len == 0 && rec->err == CSV_OK)
		return 0; /* CSV_ROW_SKIP */
	if (!rs->known) {
		if (csv_layout_detect(rec, rs->column, &rs->lay, why, whylen) <
		    0)
			return -1;
		rs->known = true;
		rs->plain = !rs->lay.header && rs->lay.ncols == 1 &&
			    rs->lay.column == 0;
		if (rs->plain)
			csv_set_plain(p, true);
		if (set_header(rs, rec) < 0)
			return -2;
		if (rs->lay.header) {
			row->kind = CSV_ROW_HEADER;
			return 0;
		}
	}
	/* Plain lines have one fault only: a line too long. The first
	 * line was read as CSV, its quotes are data all the same. */
	if (rec->err != CSV_OK &&
	    (!rs->plain || rec->err == CSV_ERR_TOO_LONG)) {
		row->kind = CSV_ROW_INVALID;
		row->malformed = true;
		snprintf(row->why, sizeof(row->why), "malformed CSV line: %s",
			 rec->why);
		return prefix(
		    row, rec->raw, rec->raw_len, true,
		    rs->plain || rs->lay.ncols < 1 ? 0 : rs->lay.ncols - 1);
	}
	if (rs->plain) {
		row->kind = CSV_ROW_ADDRESS;
		row->addr = rec->raw;
		row->addrlen = rec->raw_len;
		return prefix(row, rec->raw, rec->raw_len, true, 0);
	}
	pad = rec->nfields < rs->lay.ncols ? rs->lay.ncols - rec->nfields : 0;
	if (rs->lay.column >= rec->nfields) {
		row->kind = CSV_ROW_INVALID;
		snprintf(row->why, sizeof(row->why),
			 "the line has no column %u", rs->lay.column + 1);
	} else {
		row->kind = CSV_ROW_ADDRESS;
		row->addr = rec->field[rs->lay.column].p;
		row->addrlen = rec->field[rs->lay.column].len;
	}
	return prefix(row, rec->raw, rec->raw_len, false, pad);
}
