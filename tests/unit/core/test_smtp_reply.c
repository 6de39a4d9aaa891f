/* test_smtp_reply - the SMTP reply parser: good and hostile replies, each
 * fed whole, byte by byte and split at every offset; the bounds. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/smtp_reply.h"

Suite *smtp_reply_suite(void);

#define ALL_EXT                                                                \
	(SMTP_EXT_PIPELINING | SMTP_EXT_STARTTLS | SMTP_EXT_SIZE |             \
	 SMTP_EXT_SMTPUTF8 | SMTP_EXT_8BITMIME |                               \
	 SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_CHUNKING)

/* A reply as copied out of the parser (its text is borrowed). */
struct got {
	int code;
	char enhanced[SMTP_REPLY_ENHANCED_MAX];
	char text[SMTP_REPLY_TEXT_MAX + 1];
	size_t text_len;
	bool truncated;
	unsigned lines;
	unsigned ext;
	uint64_t size;
};

#define GOT_MAX 8

/* collect - feed @in in the pieces that @cuts (ascending offsets) make,
 * pulling replies after each; returns the final return value (0 or an
 * error) and the replies in @g / @n. */
static int collect(const char *in, size_t len, const size_t *cuts, size_t ncuts,
		   struct got *g, size_t *n)
{
	struct smtp_reply_parser p;
	size_t start = 0;
	int rc = 0;

	smtp_reply_init(&p);
	*n = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;
		smtp_reply_feed(&p, in + start, end - start);
		start = end;
		for (;;) {
			struct smtp_reply r;
			rc = smtp_reply_next(&p, &r);
			if (rc != SMTP_REPLY_READY)
				break;
			ck_assert_uint_lt(*n, GOT_MAX);
			ck_assert_uint_eq(strlen(r.text), r.text_len);
			g[*n].code = r.code;
			memcpy(g[*n].enhanced, r.enhanced, sizeof(r.enhanced));
			memcpy(g[*n].text, r.text, r.text_len + 1);
			g[*n].text_len = r.text_len;
			g[*n].truncated = r.truncated;
			g[*n].lines = r.lines;
			g[*n].ext = r.ext;
			g[*n].size = r.size;
			(*n)++;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static void got_eq(const struct got *a, const struct got *b)
{
	ck_assert_int_eq(a->code, b->code);
	ck_assert_str_eq(a->enhanced, b->enhanced);
	ck_assert_str_eq(a->text, b->text);
	ck_assert_int_eq(a->truncated, b->truncated);
	ck_assert_uint_eq(a->lines, b->lines);
	ck_assert_uint_eq(a->ext, b->ext);
	ck_assert(a->size == b->size);
}

/* check_all_splits - whole, byte by byte, and at every single offset:
 * each chunking gives the same replies and the same final value. */
static void check_all_splits(const char *in, size_t len, int want_rc,
			     const struct got *want, size_t want_n)
{
	struct got g[GOT_MAX];
	size_t n, *cuts;

	ck_assert_int_eq(collect(in, len, NULL, 0, g, &n), want_rc);
	ck_assert_uint_eq(n, want_n);
	for (size_t i = 0; i < n; i++)
		got_eq(&g[i], &want[i]);

	cuts = malloc((len + 1) * sizeof(*cuts));
	ck_assert_ptr_nonnull(cuts);
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	ck_assert_int_eq(collect(in, len, cuts, len ? len - 1 : 0, g, &n),
			 want_rc);
	ck_assert_uint_eq(n, want_n);
	for (size_t i = 0; i < n; i++)
		got_eq(&g[i], &want[i]);

	for (size_t off = 0; off <= len; off++) {
		cuts[0] = off;
		ck_assert_int_eq(collect(in, len, cuts, 1, g, &n), want_rc);
		ck_assert_uint_eq(n, want_n);
		for (size_t i = 0; i < n; i++)
			got_eq(&g[i], &want[i]);
	}
	free(cuts);
}

/* (input, one expected reply) */
static const struct {
	const char *in;
	size_t len; /* 0: strlen */
	struct got want;
} good[] = {
    {"220 mx.example.net ESMTP Postfix\r\n",
     0,
     {220, "", "mx.example.net ESMTP Postfix", 0, false, 1, 0, 0}},
    {"250 2.1.5 Ok\r\n", 0, {250, "2.1.5", "Ok", 0, false, 1, 0, 0}},
    /* Gmail's 550 repeats the enhanced code on every line. */
    {"550-5.1.1 The email account that you tried to reach does not exist. "
     "Please try\r\n"
     "550-5.1.1 double-checking the recipient's email address for typos "
     "or\r\n"
     "550-5.1.1 unnecessary spaces. Learn more at\r\n"
     "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1 - gsmtp\r\n",
     0,
     {550, "5.1.1",
      "The email account that you tried to reach does not exist. Please "
      "try double-checking the recipient's email address for typos or "
      "unnecessary spaces. Learn more at "
      "https://support.google.com/mail/?p=NoSuchUser a1 - gsmtp",
      0, false, 4, 0, 0}},
    {"250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
     "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
     "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
     0,
     {250, "",
      "mx.example.net PIPELINING SIZE 10240000 VRFY ETRN STARTTLS "
      "ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING",
      0, false, 11, ALL_EXT, 10240000}},
    /* keywords are case-insensitive; SIZE without a number */
    {"250-mx\r\n250-pipelining\r\n250 size\r\n",
     0,
     {250, "", "mx pipelining size", 0, false, 3,
      SMTP_EXT_PIPELINING | SMTP_EXT_SIZE, 0}},
    /* line 1 is the server's name, never a keyword */
    {"250-PIPELINING\r\n250 STARTTLS\r\n",
     0,
     {250, "", "PIPELINING STARTTLS", 0, false, 2, SMTP_EXT_STARTTLS, 0}},
    /* keywords only in 250 replies */
    {"220-mx\r\n220 PIPELINING\r\n",
     0,
     {220, "", "mx PIPELINING", 0, false, 2, 0, 0}},
    {"250-mx\r\n250-PIPELININGX\r\n250 SIZE 12a\r\n",
     0,
     {250, "", "mx PIPELININGX SIZE 12a", 0, false, 3, SMTP_EXT_SIZE, 0}},
    {"250-mx\r\n250 SIZE 18446744073709551615\r\n",
     0,
     {250, "", "mx SIZE 18446744073709551615", 0, false, 2, SMTP_EXT_SIZE,
      UINT64_MAX}},
    {"250-mx\r\n250 SIZE 18446744073709551616\r\n",
     0,
     {250, "", "mx SIZE 18446744073709551616", 0, false, 2, SMTP_EXT_SIZE, 0}},
    {"250-mx\r\n250 SIZE\t35882577 \r\n",
     0,
     {250, "", "mx SIZE\t35882577 ", 0, false, 2, SMTP_EXT_SIZE, 35882577}},
    /* "250" alone is a last line */
    {"250\r\n", 0, {250, "", "", 0, false, 1, 0, 0}},
    {"250\n", 0, {250, "", "", 0, false, 1, 0, 0}},
    {"250 \r\n", 0, {250, "", "", 0, false, 1, 0, 0}},
    {"250-\r\n250 ok\r\n", 0, {250, "", "ok", 0, false, 2, 0, 0}},
    {"250-first\r\n250\r\n", 0, {250, "", "first", 0, false, 2, 0, 0}},
    /* Robustness: bare LF */
    {"250-a\n250 b\n", 0, {250, "", "a b", 0, false, 2, 0, 0}},
    {"250-a\r\n250 b\n", 0, {250, "", "a b", 0, false, 2, 0, 0}},
    /* enhanced code: class must match, shape must be exact */
    {"550 4.1.1 text\r\n", 0, {550, "", "4.1.1 text", 0, false, 1, 0, 0}},
    {"250 2.0.0\r\n", 0, {250, "2.0.0", "", 0, false, 1, 0, 0}},
    {"550 5.7.606 Access denied\r\n",
     0,
     {550, "5.7.606", "Access denied", 0, false, 1, 0, 0}},
    {"550 5.1234.1 x\r\n", 0, {550, "", "5.1234.1 x", 0, false, 1, 0, 0}},
    {"550 5.1.1x y\r\n", 0, {550, "", "5.1.1x y", 0, false, 1, 0, 0}},
    {"550 5.1.1: no\r\n", 0, {550, "", "5.1.1: no", 0, false, 1, 0, 0}},
    {"550 5.1.\r\n", 0, {550, "", "5.1.", 0, false, 1, 0, 0}},
    {"550 5..1 x\r\n", 0, {550, "", "5..1 x", 0, false, 1, 0, 0}},
    {"354 3.0.0 go\r\n", 0, {354, "", "3.0.0 go", 0, false, 1, 0, 0}},
    {"451-4.7.1 Greylisted\r\n451 try later\r\n",
     0,
     {451, "4.7.1", "Greylisted try later", 0, false, 2, 0, 0}},
    {"550-5.1.1 a\r\n550-5.1.2 b\r\n550 5.1.1\r\n",
     0,
     {550, "5.1.1", "a 5.1.2 b", 0, false, 3, 0, 0}},
    /* hostile text: NUL, controls, DEL become '?'; HT and UTF-8 stay */
    {"550 bad\0user\x01\x7f\r\n",
     16,
     {550, "", "bad?user??", 0, false, 1, 0, 0}},
    {"250 a\tb\r\n", 0, {250, "", "a\tb", 0, false, 1, 0, 0}},
    {"550 5.1.1 Benutzer unbekannt: j\xc3\xb6rg\r\n",
     0,
     {550, "5.1.1", "Benutzer unbekannt: j\xc3\xb6rg", 0, false, 1, 0, 0}},
};

START_TEST(good_replies)
{
	const char *in = good[_i].in;
	size_t len = good[_i].len ? good[_i].len : strlen(in);

	check_all_splits(in, len, SMTP_REPLY_NEED_MORE, &good[_i].want, 1);
}
END_TEST

/* (input, error, replies before the error) */
static const struct {
	const char *in;
	int err;
	unsigned before;
} hostile[] = {
    {"25O ok\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"\n", SMTP_REPLY_ERR_CODE, 0},
    {" 250 ok\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"150 ok\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"650 ok\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"25\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"garbage\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"2500 ok\r\n", SMTP_REPLY_ERR_SEPARATOR, 0},
    {"250x\r\n", SMTP_REPLY_ERR_SEPARATOR, 0},
    {"452\t4.5.3 x\r\n", SMTP_REPLY_ERR_SEPARATOR, 0},
    {"250-a\r\n251 b\r\n", SMTP_REPLY_ERR_MISMATCH, 0},
    {"250-a\r\n550 b\r\n", SMTP_REPLY_ERR_MISMATCH, 0},
    {"250-a\r\n25", SMTP_REPLY_NEED_MORE, 0},
    {"250-a\r\n\r\n", SMTP_REPLY_ERR_CODE, 0},
    {"250 a\rb\r\n", SMTP_REPLY_ERR_BARE_CR, 0},
    {"250 ok\r\r\n", SMTP_REPLY_ERR_BARE_CR, 0},
    {"250\r250\r\n", SMTP_REPLY_ERR_BARE_CR, 0},
    {"250 ok\r\nxyz\r\n", SMTP_REPLY_ERR_CODE, 1},
    {"220 a\r\n250 b\r\n550 c", SMTP_REPLY_NEED_MORE, 2},
};

START_TEST(hostile_replies)
{
	struct got g[GOT_MAX];
	const char *in = hostile[_i].in;
	size_t len = strlen(in), n;

	ck_assert_int_eq(collect(in, len, NULL, 0, g, &n), hostile[_i].err);
	ck_assert_uint_eq(n, hostile[_i].before);
	/* the same at every split */
	for (size_t off = 0; off <= len; off++) {
		ck_assert_int_eq(collect(in, len, &off, 1, g, &n),
				 hostile[_i].err);
		ck_assert_uint_eq(n, hostile[_i].before);
	}
}
END_TEST

/* make - @lines lines "CODE-" + @width x's, the last with SP; caller
 * frees. */
static char *make(const char *code, unsigned lines, size_t width, size_t *len)
{
	size_t line = 4 + width + 2;
	char *s = malloc(lines * line + 1);

	ck_assert_ptr_nonnull(s);
	for (unsigned i = 0; i < lines; i++) {
		char *l = s + i * line;
		memcpy(l, code, 3);
		l[3] = i + 1 == lines ? ' ' : '-';
		memset(l + 4, 'x', width);
		memcpy(l + 4 + width, "\r\n", 2);
	}
	*len = lines * line;
	s[*len] = '\0';
	return s;
}

/* (lines, width, error) at and past each bound */
static const struct {
	unsigned lines;
	size_t width;
	int err;
} bounds[] = {
    {1, SMTP_REPLY_LINE_MAX - 6, SMTP_REPLY_NEED_MORE},
    {1, SMTP_REPLY_LINE_MAX - 5, SMTP_REPLY_ERR_LINE_TOO_LONG},
    {1, 100000, SMTP_REPLY_ERR_LINE_TOO_LONG},
    {SMTP_REPLY_LINES_MAX, 1, SMTP_REPLY_NEED_MORE},
    {SMTP_REPLY_LINES_MAX + 1, 1, SMTP_REPLY_ERR_TOO_MANY_LINES},
    {10000, 1, SMTP_REPLY_ERR_TOO_MANY_LINES}, /* endless continuation */
    /* 32 lines of 2048 = 64 KiB exactly */
    {32, SMTP_REPLY_LINE_MAX - 6, SMTP_REPLY_NEED_MORE},
    {33, SMTP_REPLY_LINE_MAX - 6, SMTP_REPLY_ERR_TOO_LONG},
};

START_TEST(limits)
{
	struct got g[GOT_MAX];
	size_t len, n;
	char *s = make("250", bounds[_i].lines, bounds[_i].width, &len);

	ck_assert_int_eq(collect(s, len, NULL, 0, g, &n), bounds[_i].err);
	ck_assert_uint_eq(n, bounds[_i].err == 0 ? 1 : 0);
	if (n == 1) {
		ck_assert_uint_eq(g[0].lines, bounds[_i].lines);
		ck_assert_uint_le(g[0].text_len, SMTP_REPLY_TEXT_MAX);
		/* the text: lines x's joined by spaces */
		size_t full = bounds[_i].lines * (bounds[_i].width + 1) - 1;
		ck_assert_int_eq(g[0].truncated, full > SMTP_REPLY_TEXT_MAX);
		ck_assert_uint_eq(g[0].text_len, full > SMTP_REPLY_TEXT_MAX
						     ? SMTP_REPLY_TEXT_MAX
						     : full);
	}
	free(s);
}
END_TEST

START_TEST(text_is_cut)
{
	struct got g[GOT_MAX];
	size_t len, n;
	char *s = make("550", 3, 300, &len);

	ck_assert_int_eq(collect(s, len, NULL, 0, g, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(g[0].text_len, SMTP_REPLY_TEXT_MAX);
	ck_assert(g[0].truncated);
	ck_assert_uint_eq(g[0].lines, 3);
	ck_assert_int_eq(g[0].text[300], ' '); /* the join */
	ck_assert_int_eq(g[0].text[511], 'x');
	free(s);
}
END_TEST

START_TEST(errors_are_sticky)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;

	smtp_reply_init(&p);
	smtp_reply_feed(&p, "25O\r\n", 5);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_ERR_CODE);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_ERR_CODE);
	smtp_reply_feed(&p, "250 ok\r\n", 8);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_ERR_CODE);
	smtp_reply_init(&p);
	smtp_reply_feed(&p, "250 ok\r\n", 8);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_READY);
	ck_assert_int_eq(r.code, 250);
}
END_TEST

/* A second reply in the same input starts from a clean state. */
START_TEST(replies_do_not_leak_into_each_other)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	const char *in = "250-mx\r\n250 SIZE 100\r\n550 5.1.1 no\r\n250\r\n";

	smtp_reply_init(&p);
	smtp_reply_feed(&p, in, strlen(in));
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_READY);
	ck_assert_uint_eq(r.ext, SMTP_EXT_SIZE);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_READY);
	ck_assert_int_eq(r.code, 550);
	ck_assert_uint_eq(r.ext, 0);
	ck_assert(r.size == 0);
	ck_assert_str_eq(r.text, "no");
	ck_assert_uint_eq(r.lines, 1);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_READY);
	ck_assert_str_eq(r.enhanced, "");
	ck_assert_str_eq(r.text, "");
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_NEED_MORE);
	ck_assert_int_eq(smtp_reply_next(&p, &r), SMTP_REPLY_NEED_MORE);
}
END_TEST

START_TEST(names)
{
	for (int rc = SMTP_REPLY_ERR_LAST + 1; rc < 0; rc++) {
		ck_assert_ptr_nonnull(smtp_reply_strerror(rc));
		ck_assert_str_ne(smtp_reply_strerror(rc),
				 "unknown smtp_reply error");
	}
	ck_assert_str_eq(smtp_reply_strerror(SMTP_REPLY_ERR_LAST),
			 "unknown smtp_reply error");
	ck_assert_str_eq(smtp_reply_strerror(SMTP_REPLY_ERR_TOO_MANY_LINES),
			 "reply has too many lines");
	ck_assert_str_eq(smtp_reply_ext_name(SMTP_EXT_SMTPUTF8), "SMTPUTF8");
	ck_assert_ptr_null(smtp_reply_ext_name(0x80));
}
END_TEST

Suite *smtp_reply_suite(void)
{
	Suite *s = suite_create("smtp_reply");
	TCase *tc;

	tc = tcase_create("good replies, every chunking");
	tcase_add_loop_test(tc, good_replies, 0,
			    sizeof(good) / sizeof(good[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile replies, every chunking");
	tcase_add_loop_test(tc, hostile_replies, 0,
			    sizeof(hostile) / sizeof(hostile[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_loop_test(tc, limits, 0, sizeof(bounds) / sizeof(bounds[0]));
	tcase_add_test(tc, text_is_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("parser state");
	tcase_add_test(tc, errors_are_sticky);
	tcase_add_test(tc, replies_do_not_leak_into_each_other);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
