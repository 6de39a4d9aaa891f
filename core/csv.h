/* csv - records of a CSV file (RFC 4180), pushed in any chunking, and the
 * few things bulk list cleaning needs around them: finding the address
 * column and writing fields back.
 *
 * Grammar read (RFC 4180 2, with the usual liberties of real files):
 *   - records end with CRLF, LF, or a lone CR (old Mac exports); the last
 *     record may lack its terminator;
 *   - fields are separated by ','; a field that starts with '"' is
 *     quoted: it ends at the next lone '"', a doubled '""' is one quote,
 *     and commas and line breaks inside it are data;
 *   - a '"' inside an unquoted field is kept as data (as Excel and
 *     Python's csv module do: `John "J" Doe` is common and harmless);
 *   - a UTF-8 byte order mark at the very start of the input is dropped
 *     (Excel writes one);
 *   - octets are not interpreted otherwise: NUL and invalid UTF-8 are
 *     data (the address grammar refuses them later, as a verdict).
 * Malformed records are not dropped: csv_next() yields them with `err`
 * set and a sentence in `why`, and the caller passes them through. The
 * faults: text after a closing quote (CSV_ERR_QUOTE), a quoted field
 * still open at the end of the input or after record_max octets
 * (CSV_ERR_UNTERMINATED: the record is then its first physical line
 * alone, and parsing starts again on the next line, so one stray quote
 * costs one row, not the rest of the file), a physical line longer than
 * record_max (CSV_ERR_TOO_LONG: `raw` holds its first record_max octets,
 * the rest of the line is skipped), a field longer than field_max
 * (CSV_ERR_FIELD_TOO_LONG: the field is cut), more than fields_max fields
 * (CSV_ERR_TOO_MANY_FIELDS: the rest are dropped). The first fault of a
 * record is the one reported.
 *
 * Use: csv_feed() as many octets as csv_feed() takes (it returns how many
 * it took; it takes none only when records wait to be read), then
 * csv_next() until it returns 0; at the end of the input csv_finish()
 * once and csv_next() until it returns 0 again.
 *
 * Ownership: a record from csv_next() and everything it points to are
 * borrowed until the next csv_feed(), csv_next() or csv_free().
 * Limits: the parser holds at most record_max + CSV_CHUNK octets of
 * input and record_max of decoded fields, whatever it is fed.
 * Errors: csv_new() returns NULL when memory runs out or a limit is 0.
 * Loop: none; pure. */
#ifndef RCPTD_CORE_CSV_H
#define RCPTD_CORE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/verdict.h"

/* Defaults. A row of a mailing list export is a few hundred octets;
 * exports with notes columns reach a few KiB. 64 KiB a record and 16 KiB
 * a field hold every real file we know of, and bound what one bad line
 * (a binary file given by mistake, an unclosed quote) can make us hold.
 * 1024 fields: spreadsheets stop at 16384 columns, lists at a few dozen. */
#define CSV_RECORD_MAX 65536
#define CSV_FIELD_MAX  16384
#define CSV_FIELDS_MAX 1024
/* Octets csv_feed() takes beyond a full record: room to read ahead. */
#define CSV_CHUNK 65536
/* A fault explained in a sentence. */
#define CSV_WHY_MAX 128

enum csv_err {
	CSV_OK = 0,
	CSV_ERR_QUOTE,		 /* text after a closing quote */
	CSV_ERR_UNTERMINATED,	 /* a quoted field never closed */
	CSV_ERR_TOO_LONG,	 /* a line over record_max octets */
	CSV_ERR_FIELD_TOO_LONG,	 /* a field over field_max octets */
	CSV_ERR_TOO_MANY_FIELDS, /* over fields_max fields */
	CSV_ERR_LAST
};

struct csv_limits {
	size_t record_max;   /* octets of one record, terminator excluded */
	size_t field_max;    /* octets of one decoded field */
	unsigned fields_max; /* fields of one record */
};

struct csv_field {
	const char *p; /* decoded: quotes removed, "" made " */
	size_t len;
};

struct csv_record {
	uint64_t line;	  /* first physical line, from 1 */
	uint64_t lines;	  /* physical lines it spans (quoted line breaks) */
	const char *raw;  /* the record as it was in the input, without its */
	size_t raw_len;	  /* terminator (cut at record_max: CSV_ERR_TOO_LONG) */
	unsigned nfields; /* at least 1: an empty line is one empty field */
	const struct csv_field *field;
	enum csv_err err;
	char why[CSV_WHY_MAX]; /* "" when err is CSV_OK */
};

struct csv;

/* csv_limits_default - CSV_RECORD_MAX, CSV_FIELD_MAX, CSV_FIELDS_MAX. */
void csv_limits_default(struct csv_limits *l);

/* csv_new - a parser with @l (NULL: the defaults); field_max is cut to
 * record_max. */
struct csv *csv_new(const struct csv_limits *l);
void csv_free(struct csv *p); /* NULL is a no-op */

/* csv_feed - take up to @len octets of input; returns how many were
 * taken. Fewer than @len (possibly 0) when the buffer is full: read the
 * records (csv_next) and feed the rest. Nothing is taken after
 * csv_finish(). */
size_t csv_feed(struct csv *p, const char *data, size_t len);

/* csv_finish - the input has ended: what is left becomes the last
 * record(s). */
void csv_finish(struct csv *p);

/* csv_next - the next complete record into *@r: 1, or 0 when more input
 * is needed (or, after csv_finish(), when there is none left). */
int csv_next(struct csv *p, struct csv_record *r);

/* csv_set_plain - from the next record on, read plain lines: ',' and
 * '"' are data, each line is one field (its raw octets). A file of one
 * address a line is not CSV: `"a,b"@example.com` is one valid address. */
void csv_set_plain(struct csv *p, bool plain);

/* csv_lines - physical lines consumed so far (for messages about input
 * that yields no record, e.g. a skipped over-long line). */
uint64_t csv_lines(const struct csv *p);

/* csv_err_name - "quote", "unterminated", "too_long", "field_too_long",
 * "too_many_fields", "ok"; NULL out of range. */
const char *csv_err_name(enum csv_err e);

/* ---- the address column -------------------------------------------------- */

/* Names taken for the address column when no --column is given, compared
 * without case and surrounding blanks. */
#define CSV_COLUMN_NAMES                                                       \
	"email, e-mail, mail, address, email_address, "                        \
	"email address"
/* A column named by --column: a header name, or an index from 1. */
#define CSV_COLUMN_ARG_MAX 256

struct csv_layout {
	bool header;	 /* the first record names the columns */
	unsigned column; /* the address column, from 0 */
	unsigned ncols;	 /* fields of the first record */
};

/* csv_layout_detect - where the addresses are, from the first record
 * @first of the input and @column (NULL or "": none given):
 *   - @column all digits: that column (from 1); the first record is a
 *     header when its field there holds no '@';
 *   - @column a name: the first record is a header and has a column of
 *     that name (case-insensitive), else an error;
 *   - none: a first record with a column of one of CSV_COLUMN_NAMES is a
 *     header and that column holds the addresses; else a first record of
 *     one field is plain lines without header (column 1); else the one
 *     field of the first record that holds an '@' is the column (no
 *     header); else an error asking for --column.
 * Returns 0, or -1 with a sentence in @why. */
int csv_layout_detect(const struct csv_record *first, const char *column,
		      struct csv_layout *out, char *why, size_t whylen);

/* ---- writing ----------------------------------------------------------------- */

/* csv_quote_size - octets csv_quote() writes for @s of @len octets: the
 * field as is, or quoted (when it holds ',', '"', CR or LF, or starts or
 * ends with a blank) with every '"' doubled. */
size_t csv_quote_size(const char *s, size_t len);

/* csv_quote - write @s as one field into @dst, which has room for
 * csv_quote_size() octets (no NUL is added); returns that size. */
size_t csv_quote(char *dst, const char *s, size_t len);

/* csv_formula_risk - whether a field's text would be taken as a formula
 * by a spreadsheet (it starts with '=', '+', '-', '@', TAB or CR: OWASP's
 * CSV injection advice). Text that came from a remote server (an SMTP
 * reply) gets a leading "'" when this is true. */
bool csv_formula_risk(const char *s, size_t len);

/* ---- a verdict as columns ----------------------------------------------------- */

/* The columns a verdict adds to a row of bulk output, in this order (a
 * stable interface: scripts read them by name or position):
 *   status         deliverable | undeliverable | risky | unknown
 *   reason         the verdict reason (DESIGN.md "Verdicts")
 *   message        why an invalid_syntax verdict (or a malformed line)
 *   catch_all      true | false | "" (not determined)
 *   disposable, free_provider, role_account   true | false
 *   suggestion     a likely fix of a typo, or ""
 *   smtp_code      the reply code that decided, or ""
 *   smtp_enhanced  its enhanced status code (RFC 3463), or ""
 *   smtp_message   its text; a leading "'" when a spreadsheet would take
 *                  it for a formula (it comes from a remote server)
 * Nothing that changes from run to run (check time, duration, cache
 * state) is written, so that the same list gives the same file. */
#define CSV_VERDICT_COLUMNS                                                    \
	"status,reason,message,catch_all,disposable,free_provider,"            \
	"role_account,suggestion,smtp_code,smtp_enhanced,smtp_message"
/* The columns of the widest verdict: every text at its bound, quoted
 * with every octet a doubled quote. */
#define CSV_VERDICT_MAX                                                        \
	(64 +                                                                  \
	 2 * (VERDICT_MESSAGE_MAX + VERDICT_ADDRESS_MAX + VERDICT_REPLY_MAX +  \
	      16) +                                                            \
	 16)

/* csv_verdict_fields - the columns of @v, comma-separated, without a
 * leading comma or line end, into @dst (CSV_VERDICT_MAX octets is always
 * enough; no NUL is added). Returns the length. */
size_t csv_verdict_fields(const struct verdict *v, char *dst);

/* ---- rows: records as bulk input -------------------------------------------------- */

/* What bulk list cleaning makes of each record (`rcptd bulk`, POST
 * /v1/jobs): the first record decides the layout (csv_layout_detect);
 * a file of one column without header is read as plain lines from then
 * on (csv_set_plain). Each row keeps its original columns, as they were
 * written, for the output ("prefix"), and the output header is the
 * input's header (or one made up: "email" for plain lines, column1..N
 * with "email" for the address column) followed by CSV_VERDICT_COLUMNS.
 *   empty line           CSV_ROW_SKIP: not a row
 *   the header           CSV_ROW_HEADER: not a row
 *   malformed (csv.h)    CSV_ROW_INVALID, `malformed`: the prefix is the
 *                        line as one quoted field, padded to the width
 *   no address column    CSV_ROW_INVALID: the prefix is the line, padded
 *   else                 CSV_ROW_ADDRESS: the prefix is the line padded
 *                        to the header's width; plain lines: the line as
 *                        one field (quoted when it must be) */
enum csv_row_kind {
	CSV_ROW_SKIP = 0,
	CSV_ROW_HEADER,
	CSV_ROW_ADDRESS,
	CSV_ROW_INVALID
};

struct csv_rows {
	const char *column; /* --column; borrowed */
	bool known;	    /* the first record was seen */
	bool plain;
	struct csv_layout lay;
	char *header; /* the output header line, "\n" included */
	size_t header_len;
};

#define CSV_ROW_WHY_MAX (CSV_WHY_MAX + 32)

struct csv_row {
	enum csv_row_kind kind;
	const char *addr; /* ADDRESS: borrowed like the record */
	size_t addrlen;
	bool malformed;		   /* INVALID for a csv.h fault */
	char why[CSV_ROW_WHY_MAX]; /* INVALID: the verdict's message */
	char *prefix;		   /* ADDRESS, INVALID: the caller frees */
	size_t prefixlen;
};

/* csv_rows_init - before the first record; @column as for
 * csv_layout_detect(). */
void csv_rows_init(struct csv_rows *rs, const char *column);
void csv_rows_release(struct csv_rows *rs);

/* csv_rows_classify - @rec (read by @p) as a row into *@row. Returns 0;
 * -1 when the first record gives no layout (a sentence in @why); -2 when
 * memory runs out. */
int csv_rows_classify(struct csv_rows *rs, struct csv *p,
		      const struct csv_record *rec, struct csv_row *row,
		      char *why, size_t whylen);

#endif
