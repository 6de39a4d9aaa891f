/* test_csv - the CSV push parser (records, faults, resynchronisation,
 * bounds), the address column detection and the field writer.
 *
 * Every record sample is parsed whole, one octet at a time, and split at
 * every offset; each way must give the same records, written out as a
 * dump ("L<line>+<lines> <err> raw=<raw> [f1|f2]" per record, with
 * control octets as \r \n \xNN) that the table pins. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"

Suite *csv_suite(void);

#define DUMP_MAX 4096

/* esc - @s of @n octets, printable, into the dump. */
static void esc(char *out, size_t *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *o + 5 < DUMP_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			*o += (size_t)snprintf(out + *o, DUMP_MAX - *o, "\\n");
		else if (c == '\r')
			*o += (size_t)snprintf(out + *o, DUMP_MAX - *o, "\\r");
		else if (c < 0x20 || c >= 0x7f)
			*o += (size_t)snprintf(out + *o, DUMP_MAX - *o,
					       "\\x%02x", c);
		else
			out[(*o)++] = (char)c;
	}
	out[*o] = '\0';
}

static void dump_record(char *out, size_t *o, const struct csv_record *r)
{
	*o += (size_t)snprintf(
	    out + *o, DUMP_MAX - *o,
	    "L%llu+%llu %s raw=", (unsigned long long)r->line,
	    (unsigned long long)r->lines, csv_err_name(r->err));
	esc(out, o, r->raw, r->raw_len);
	*o += (size_t)snprintf(out + *o, DUMP_MAX - *o, " [");
	for (unsigned i = 0; i < r->nfields; i++) {
		if (i)
			out[(*o)++] = '|';
		esc(out, o, r->field[i].p, r->field[i].len);
	}
	*o += (size_t)snprintf(out + *o, DUMP_MAX - *o, "]\n");
	ck_assert_uint_lt(*o, DUMP_MAX - 8);
	/* A fault always comes with its sentence, and only then. */
	ck_assert_int_eq(r->err != CSV_OK, r->why[0] != '\0');
}

/* drain - every record csv_next() has now. */
static void drain(struct csv *p, char *out, size_t *o)
{
	struct csv_record r;

	while (csv_next(p, &r) == 1)
		dump_record(out, o, &r);
}

/* parse - @in (@n octets) fed in pieces of @step octets (0: whole), or
 * split once at @split when @step is SIZE_MAX. */
static void parse(const struct csv_limits *lim, const char *in, size_t n,
		  size_t step, size_t split, char *out, bool plain)
{
	struct csv *p = csv_new(lim);
	size_t o = 0, off = 0;

	ck_assert_ptr_nonnull(p);
	csv_set_plain(p, plain);
	out[0] = '\0';
	while (off < n) {
		size_t piece = n - off;
		if (step == SIZE_MAX)
			piece = off < split ? split - off : n - off;
		else if (step && piece > step)
			piece = step;
		size_t took = csv_feed(p, in + off, piece);
		off += took;
		drain(p, out, &o);
		if (took == 0)
			ck_assert_msg(csv_feed(p, in + off, piece) > 0,
				      "no progress at %zu", off);
	}
	csv_finish(p);
	drain(p, out, &o);
	ck_assert_uint_eq(csv_feed(p, "x", 1), 0); /* nothing after the end */
	csv_free(p);
}

/* (input, limits: record, field, fields (0: default), expected dump) */
static const struct sample {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen */
	size_t record_max, field_max;
	unsigned fields_max;
	const char *want;
	bool plain; /* csv_set_plain() from the start */
} samples[] = {
    {"plain", "a,b,c\n", 0, 0, 0, 0, "L1+1 ok raw=a,b,c [a|b|c]\n", false},
    {"crlf", "a,b\r\nc,d\r\n", 0, 0, 0, 0,
     "L1+1 ok raw=a,b [a|b]\nL2+1 ok raw=c,d [c|d]\n", false},
    {"no final break", "a,b\nc", 0, 0, 0, 0,
     "L1+1 ok raw=a,b [a|b]\nL2+1 ok raw=c [c]\n", false},
    {"lone cr", "a\rb\r", 0, 0, 0, 0, "L1+1 ok raw=a [a]\nL2+1 ok raw=b [b]\n",
     false},
    {"cr then lf is one break", "a\r\n\nb", 0, 0, 0, 0,
     "L1+1 ok raw=a [a]\nL2+1 ok raw= []\nL3+1 ok raw=b [b]\n", false},
    {"empty fields", ",,\n", 0, 0, 0, 0, "L1+1 ok raw=,, [||]\n", false},
    {"empty line", "\nx\n", 0, 0, 0, 0, "L1+1 ok raw= []\nL2+1 ok raw=x [x]\n",
     false},
    {"quoted comma", "\"x,y\",z\n", 0, 0, 0, 0,
     "L1+1 ok raw=\"x,y\",z [x,y|z]\n", false},
    {"doubled quotes", "\"he said \"\"hi\"\"\"\n", 0, 0, 0, 0,
     "L1+1 ok raw=\"he said \"\"hi\"\"\" [he said \"hi\"]\n", false},
    {"empty quoted", "\"\",\"\"\"\"\n", 0, 0, 0, 0,
     "L1+1 ok raw=\"\",\"\"\"\" [|\"]\n", false},
    {"quoted line break", "\"a\nb\",c\nd\n", 0, 0, 0, 0,
     "L1+2 ok raw=\"a\\nb\",c [a\\nb|c]\nL3+1 ok raw=d [d]\n", false},
    {"quoted crlf", "\"a\r\nb\"\r\nx\r\n", 0, 0, 0, 0,
     "L1+2 ok raw=\"a\\r\\nb\" [a\\r\\nb]\nL3+1 ok raw=x [x]\n", false},
    {"quote inside unquoted is data", "John \"J\" Doe,j@x.example\n", 0, 0, 0,
     0, "L1+1 ok raw=John \"J\" Doe,j@x.example [John \"J\" Doe|j@x.example]\n",
     false},
    {"text after closing quote", "\"ab\"c,d\n", 0, 0, 0, 0,
     "L1+1 quote raw=\"ab\"c,d [abc|d]\n", false},
    {"unterminated at the end", "a,\"bc", 0, 0, 0, 0,
     "L1+1 unterminated raw=a,\"bc [a|bc]\n", false},
    {"unterminated costs one line", "\"abc\nx@y.example\nz\n", 0, 0, 0, 0,
     "L1+1 unterminated raw=\"abc [abc]\n"
     "L2+1 ok raw=x@y.example [x@y.example]\nL3+1 ok raw=z [z]\n",
     false},
    {"bom dropped",
     "\xef\xbb\xbf"
     "email\nx\n",
     0, 0, 0, 0, "L1+1 ok raw=email [email]\nL2+1 ok raw=x [x]\n", false},
    {"half a bom is data", "\xef\xbbx\n", 0, 0, 0, 0,
     "L1+1 ok raw=\\xef\\xbbx [\\xef\\xbbx]\n", false},
    {"bom alone", "\xef\xbb\xbf", 0, 0, 0, 0, "", false},
    {"nul is data", "a\0b,c\n", 6, 0, 0, 0,
     "L1+1 ok raw=a\\x00b,c [a\\x00b|c]\n", false},
    {"line too long", "abcdefghijkl\nok\n", 0, 8, 0, 0,
     "L1+1 too_long raw=abcdefgh [abcdefgh]\nL2+1 ok raw=ok [ok]\n", false},
    {"line of exactly the limit", "abcdefgh\r\nok", 0, 8, 0, 0,
     "L1+1 ok raw=abcdefgh [abcdefgh]\nL2+1 ok raw=ok [ok]\n", false},
    {"too long at the end", "abcdefghijkl", 0, 8, 0, 0,
     "L1+1 too_long raw=abcdefgh [abcdefgh]\n", false},
    {"unterminated past the limit", "\"ab\ncdefghij\nok\n", 0, 8, 0, 0,
     "L1+1 unterminated raw=\"ab [ab]\n"
     "L2+1 ok raw=cdefghij [cdefghij]\nL3+1 ok raw=ok [ok]\n",
     false},
    {"field too long", "abcd,e\n", 0, 0, 3, 0,
     "L1+1 field_too_long raw=abcd,e [abc|e]\n", false},
    {"too many fields", "a,b,c\nd\n", 0, 0, 0, 2,
     "L1+1 too_many_fields raw=a,b,c [a|b]\nL2+1 ok raw=d [d]\n", false},
    {"first fault wins", "\"a\"b,cdef\n", 0, 0, 3, 0,
     "L1+1 quote raw=\"a\"b,cdef [ab|cde]\n", false},
    {"plain lines", "\"a,b\"@x.example\nc\"d@y\n", 0, 0, 0, 0,
     "L1+1 ok raw=\"a,b\"@x.example [\"a,b\"@x.example]\n"
     "L2+1 ok raw=c\"d@y [c\"d@y]\n",
     true},
    {"plain quote opens nothing", "\"x\r\ny,z\r\n", 0, 0, 0, 0,
     "L1+1 ok raw=\"x [\"x]\nL2+1 ok raw=y,z [y,z]\n", true},
    {"plain too long", "abcdefghij\nok", 0, 8, 0, 0,
     "L1+1 too_long raw=abcdefgh [abcdefgh]\nL2+1 ok raw=ok [ok]\n", true},
};

static void limits_of(const struct sample *s, struct csv_limits *l)
{
	csv_limits_default(l);
	if (s->record_max)
		l->record_max = s->record_max;
	if (s->field_max)
		l->field_max = s->field_max;
	if (s->fields_max)
		l->fields_max = s->fields_max;
}

START_TEST(records_whole)
{
	const struct sample *s = &samples[_i];
	size_t n = s->len ? s->len : strlen(s->in);
	struct csv_limits l;
	char out[DUMP_MAX];

	limits_of(s, &l);
	parse(&l, s->in, n, 0, 0, out, s->plain);
	ck_assert_msg(strcmp(out, s->want) == 0, "%s:\n got: %s\nwant: %s",
		      s->name, out, s->want);
}
END_TEST

START_TEST(records_bytewise)
{
	const struct sample *s = &samples[_i];
	size_t n = s->len ? s->len : strlen(s->in);
	struct csv_limits l;
	char out[DUMP_MAX];

	limits_of(s, &l);
	parse(&l, s->in, n, 1, 0, out, s->plain);
	ck_assert_msg(strcmp(out, s->want) == 0, "%s:\n got: %s\nwant: %s",
		      s->name, out, s->want);
}
END_TEST

START_TEST(records_every_split)
{
	const struct sample *s = &samples[_i];
	size_t n = s->len ? s->len : strlen(s->in);
	struct csv_limits l;
	char out[DUMP_MAX];

	limits_of(s, &l);
	for (size_t k = 0; k <= n; k++) {
		parse(&l, s->in, n, SIZE_MAX, k, out, s->plain);
		ck_assert_msg(strcmp(out, s->want) == 0,
			      "%s split at %zu:\n got: %s\nwant: %s", s->name,
			      k, out, s->want);
	}
}
END_TEST

/* A megabyte without a line break: the parser never holds more than its
 * bound, reports one over-long line, and reads the next line fine. */
START_TEST(bounded_memory)
{
	struct csv_limits l = {
	    .record_max = 1024, .field_max = 1024, .fields_max = 8};
	struct csv *p = csv_new(&l);
	struct csv_record r;
	char chunk[4096];
	size_t total = 0;
	unsigned records = 0;

	ck_assert_ptr_nonnull(p);
	memset(chunk, 'a', sizeof(chunk));
	while (total < 1024 * 1024) {
		size_t took = csv_feed(p, chunk, sizeof(chunk));
		total += took;
		while (csv_next(p, &r) == 1) {
			records++;
			ck_assert_int_eq(r.err, CSV_ERR_TOO_LONG);
			ck_assert_uint_eq(r.raw_len, 1024);
			ck_assert_uint_eq(r.line, 1);
			ck_assert_str_eq(r.why, "line longer than 1024 octets");
		}
	}
	ck_assert_uint_eq(records, 1);
	ck_assert_uint_eq(csv_feed(p, "\nx@y.example\n", 13), 13);
	ck_assert_int_eq(csv_next(p, &r), 1);
	ck_assert_int_eq(r.err, CSV_OK);
	ck_assert_uint_eq(r.line, 2);
	ck_assert_uint_eq(r.raw_len, 11);
	ck_assert_int_eq(csv_next(p, &r), 0);
	ck_assert_uint_eq(csv_lines(p), 2);
	csv_free(p);
}
END_TEST

START_TEST(limits_refused)
{
	struct csv_limits l;

	csv_limits_default(&l);
	ck_assert_uint_eq(l.record_max, CSV_RECORD_MAX);
	ck_assert_uint_eq(l.field_max, CSV_FIELD_MAX);
	ck_assert_uint_eq(l.fields_max, CSV_FIELDS_MAX);
	l.record_max = 0;
	ck_assert_ptr_null(csv_new(&l));
	csv_limits_default(&l);
	l.fields_max = 0;
	ck_assert_ptr_null(csv_new(&l));
	csv_free(NULL);
}
END_TEST

START_TEST(err_names)
{
	static const char *const want[] = {
	    "ok",	"quote",	  "unterminated",
	    "too_long", "field_too_long", "too_many_fields"};

	for (int e = 0; e < CSV_ERR_LAST; e++)
		ck_assert_str_eq(csv_err_name((enum csv_err)e), want[e]);
	ck_assert_ptr_null(csv_err_name(CSV_ERR_LAST));
}
END_TEST

/* ---- layout ---------------------------------------------------------------- */

/* (first line, --column, rc, header, column) */
static const struct layout_case {
	const char *first;
	const char *column;
	int rc;
	bool header;
	unsigned col;
} layouts[] = {
    {"email", NULL, 0, true, 0},
    {"Name,E-Mail,Phone", NULL, 0, true, 1},
    {" EMAIL ,x", NULL, 0, true, 0},
    {"id,Email Address", NULL, 0, true, 1},
    {"id,email_address", "", 0, true, 1},
    {"mail,address", NULL, 0, true, 0},
    {"x,address", NULL, 0, true, 1},
    {"alice@example.com", NULL, 0, false, 0},
    {"not an address", NULL, 0, false, 0},
    {"bob,bob@x.example,3", NULL, 0, false, 1},
    {"a,b", NULL, -1, false, 0},
    {"a@x.example,b@y.example", NULL, -1, false, 0},
    {"Name,contact", "Contact", 0, true, 1},
    {"Name,x", "Contact", -1, false, 0},
    {"email,x", "x", 0, true, 1},
    {"Name,Contact", "2", 0, true, 1},
    {"x,y@z.example", "2", 0, false, 1},
    {"x", "3", 0, false, 2},
    {"x", "0", -1, false, 0},
    {"x", "1025", -1, false, 0},
    {"x", "1024", 0, false, 1023},
};

/* first_record - parse @line as the first record. */
static struct csv *first_record(const char *line, struct csv_record *r)
{
	struct csv *p = csv_new(NULL);

	ck_assert_uint_eq(csv_feed(p, line, strlen(line)), strlen(line));
	csv_finish(p);
	ck_assert_int_eq(csv_next(p, r), 1);
	return p;
}

START_TEST(layout_table)
{
	const struct layout_case *c = &layouts[_i];
	struct csv_record r;
	struct csv_layout lay;
	char why[256] = "";
	struct csv *p = first_record(c->first, &r);
	int rc = csv_layout_detect(&r, c->column, &lay, why, sizeof(why));

	ck_assert_msg(rc == c->rc, "%s / %s: rc %d (%s)", c->first,
		      c->column ? c->column : "-", rc, why);
	if (rc == 0) {
		ck_assert_int_eq(lay.header, c->header);
		ck_assert_uint_eq(lay.column, c->col);
		ck_assert_uint_eq(lay.ncols, r.nfields);
	} else {
		ck_assert(why[0] != '\0');
	}
	csv_free(p);
}
END_TEST

START_TEST(layout_messages)
{
	struct csv_record r;
	struct csv_layout lay;
	char why[512];
	struct csv *p = first_record("a,b", &r);

	ck_assert_int_eq(csv_layout_detect(&r, NULL, &lay, why, sizeof(why)),
			 -1);
	ck_assert_str_eq(why,
			 "cannot tell which column holds the addresses: name "
			 "it with --column NAME or --column INDEX (a header "
			 "named one of: email, e-mail, mail, address, "
			 "email_address, email address is found alone)");
	ck_assert_int_eq(
	    csv_layout_detect(&r, "Contact", &lay, why, sizeof(why)), -1);
	ck_assert_str_eq(
	    why, "--column Contact: the first line has no column of that name");
	csv_free(p);
}
END_TEST

/* ---- writing ----------------------------------------------------------------- */

static const struct {
	const char *in, *out;
} quotes[] = {
    {"abc", "abc"},
    {"", ""},
    {"a,b", "\"a,b\""},
    {"a\"b", "\"a\"\"b\""},
    {"\"", "\"\"\"\""},
    {" lead", "\" lead\""},
    {"trail\t", "\"trail\t\""},
    {"in side", "in side"},
    {"a\nb", "\"a\nb\""},
    {"a\rb", "\"a\rb\""},
    {"550 5.1.1 <x@y>: Recipient address rejected",
     "550 5.1.1 <x@y>: Recipient address rejected"},
};

START_TEST(quote_table)
{
	char buf[128];
	size_t n = strlen(quotes[_i].in);
	size_t want = strlen(quotes[_i].out);

	ck_assert_uint_eq(csv_quote_size(quotes[_i].in, n), want);
	ck_assert_uint_eq(csv_quote(buf, quotes[_i].in, n), want);
	ck_assert(memcmp(buf, quotes[_i].out, want) == 0);
}
END_TEST

/* What the writer writes, the parser reads back as the same fields. */
START_TEST(quote_round_trip)
{
	char line[1024];
	size_t n = 0;
	struct csv *p = csv_new(NULL);
	struct csv_record r;
	unsigned count = sizeof(quotes) / sizeof(quotes[0]);

	for (unsigned i = 0; i < count; i++) {
		if (i)
			line[n++] = ',';
		n += csv_quote(line + n, quotes[i].in, strlen(quotes[i].in));
	}
	line[n++] = '\n';
	ck_assert_uint_eq(csv_feed(p, line, n), n);
	ck_assert_int_eq(csv_next(p, &r), 1);
	ck_assert_int_eq(r.err, CSV_OK);
	ck_assert_uint_eq(r.nfields, count);
	for (unsigned i = 0; i < count; i++) {
		ck_assert_uint_eq(r.field[i].len, strlen(quotes[i].in));
		ck_assert(memcmp(r.field[i].p, quotes[i].in, r.field[i].len) ==
			  0);
	}
	csv_free(p);
}
END_TEST

static const struct {
	const char *s;
	bool risk;
} formulas[] = {
    {"=HYPERLINK(\"x\")", true}, {"+1", true},	{"-1", true},
    {"@SUM(A1)", true},		 {"\tx", true}, {"\rx", true},
    {"550 user unknown", false}, {"", false},	{"a=b", false},
};

START_TEST(formula_table)
{
	ck_assert_int_eq(
	    csv_formula_risk(formulas[_i].s, strlen(formulas[_i].s)),
	    formulas[_i].risk);
}
END_TEST

/* ---- a verdict as columns ----------------------------------------------------- */

enum vkind { V_INVALID, V_DELIVERABLE, V_FORMULA, V_QUOTED, V_RISKY };

static void make_verdict(enum vkind k, struct verdict *v)
{
	verdict_init(v, "x", 1);
	switch (k) {
	case V_INVALID:
		verdict_set(v, REASON_INVALID_SYNTAX);
		snprintf(v->message, sizeof(v->message), "no @, at all");
		return;
	case V_DELIVERABLE:
		verdict_set(v, REASON_ACCEPTED);
		v->catch_all = TRI_FALSE;
		v->free_provider = true;
		v->smtp.present = true;
		v->smtp.code = 250;
		snprintf(v->smtp.enhanced, sizeof(v->smtp.enhanced), "2.1.5");
		snprintf(v->smtp.message, sizeof(v->smtp.message), "OK");
		return;
	case V_FORMULA:
		verdict_set(v, REASON_MAILBOX_NOT_FOUND);
		v->smtp.present = true;
		v->smtp.code = 550;
		snprintf(v->smtp.message, sizeof(v->smtp.message),
			 "=cmd|' /C calc'!A0");
		return;
	case V_QUOTED:
		verdict_set(v, REASON_MAILBOX_NOT_FOUND);
		v->catch_all = TRI_UNKNOWN;
		v->role_account = true;
		v->smtp.present = true;
		v->smtp.code = 550;
		snprintf(v->smtp.enhanced, sizeof(v->smtp.enhanced), "5.1.1");
		snprintf(v->smtp.message, sizeof(v->smtp.message),
			 "<a@b>: \"no\", sorry");
		return;
	case V_RISKY:
		verdict_set(v, REASON_CATCH_ALL);
		v->catch_all = TRI_TRUE;
		v->disposable = true;
		snprintf(v->suggestion, sizeof(v->suggestion), "x@gmail.com");
		return;
	}
}

static const struct {
	enum vkind kind;
	const char *want;
} vcols[] = {
    {V_INVALID, "undeliverable,invalid_syntax,\"no @, at all\",,false,false,"
		"false,,,,"},
    {V_DELIVERABLE, "deliverable,accepted,,false,false,true,false,,250,"
		    "2.1.5,OK"},
    {V_FORMULA, "undeliverable,mailbox_not_found,,,false,false,false,,550,,"
		"'=cmd|' /C calc'!A0"},
    {V_QUOTED, "undeliverable,mailbox_not_found,,,false,false,true,,550,"
	       "5.1.1,\"<a@b>: \"\"no\"\", sorry\""},
    {V_RISKY, "risky,catch_all,,true,true,false,false,x@gmail.com,,,"},
};

START_TEST(verdict_columns)
{
	struct verdict v;
	char buf[CSV_VERDICT_MAX];
	size_t n;

	make_verdict(vcols[_i].kind, &v);
	n = csv_verdict_fields(&v, buf);
	ck_assert_msg(n == strlen(vcols[_i].want) &&
			  memcmp(buf, vcols[_i].want, n) == 0,
		      "got %.*s", (int)n, buf);
}
END_TEST

/* The header names as many columns as a verdict writes, and the widest
 * verdict fits CSV_VERDICT_MAX. */
START_TEST(verdict_columns_bound)
{
	struct verdict v;
	static char buf[CSV_VERDICT_MAX + 1];
	struct csv *p = csv_new(NULL);
	struct csv_record r;
	size_t n;

	verdict_init(&v, "x", 1);
	verdict_set(&v, REASON_INVALID_SYNTAX);
	memset(v.message, '"', sizeof(v.message) - 1);
	memset(v.suggestion, '"', sizeof(v.suggestion) - 1);
	v.smtp.present = true;
	v.smtp.code = 599;
	memset(v.smtp.enhanced, '"', sizeof(v.smtp.enhanced) - 1);
	memset(v.smtp.message, '"', sizeof(v.smtp.message) - 1);
	v.smtp.message[0] = '=';
	n = csv_verdict_fields(&v, buf);
	ck_assert_uint_le(n, CSV_VERDICT_MAX);
	buf[n] = '\n';
	ck_assert_uint_eq(csv_feed(p, CSV_VERDICT_COLUMNS "\n",
				   strlen(CSV_VERDICT_COLUMNS) + 1),
			  strlen(CSV_VERDICT_COLUMNS) + 1);
	ck_assert_uint_eq(csv_feed(p, buf, n + 1), n + 1);
	ck_assert_int_eq(csv_next(p, &r), 1);
	ck_assert_uint_eq(r.nfields, 11);
	ck_assert_int_eq(csv_next(p, &r), 1);
	ck_assert_int_eq(r.err, CSV_OK);
	ck_assert_uint_eq(r.nfields, 11);
	ck_assert_uint_eq(r.field[10].len, VERDICT_REPLY_MAX + 1);
	ck_assert_int_eq(r.field[10].p[0], '\'');
	csv_free(p);
}
END_TEST

Suite *csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc;
	int nsamples = (int)(sizeof(samples) / sizeof(samples[0]));

	tc = tcase_create("records");
	tcase_add_loop_test(tc, records_whole, 0, nsamples);
	tcase_add_loop_test(tc, records_bytewise, 0, nsamples);
	tcase_add_loop_test(tc, records_every_split, 0, nsamples);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, bounded_memory);
	tcase_add_test(tc, limits_refused);
	tcase_add_test(tc, err_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout");
	tcase_add_loop_test(tc, layout_table, 0,
			    (int)(sizeof(layouts) / sizeof(layouts[0])));
	tcase_add_test(tc, layout_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("writing");
	tcase_add_loop_test(tc, quote_table, 0,
			    (int)(sizeof(quotes) / sizeof(quotes[0])));
	tcase_add_test(tc, quote_round_trip);
	tcase_add_loop_test(tc, formula_table, 0,
			    (int)(sizeof(formulas) / sizeof(formulas[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("verdict columns");
	tcase_add_loop_test(tc, verdict_columns, 0,
			    (int)(sizeof(vcols) / sizeof(vcols[0])));
	tcase_add_test(tc, verdict_columns_bound);
	suite_add_tcase(s, tc);
	return s;
}
