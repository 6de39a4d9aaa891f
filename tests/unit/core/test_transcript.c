/* test_transcript - the bounded session record: exact text for each
 * (writes, expected) row, whole and with the server's octets split at
 * every offset; the cut, the bound on memory, and allocation failure. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/transcript.h"

Suite *transcript_suite(void);

/* One write: 'C' a client line (without CRLF), 'S' server octets. */
struct op {
	char who;
	const char *data;
	size_t len; /* 0: strlen(data) */
};

struct ttest {
	const char *name;
	size_t max;
	struct op ops[6];
	const char *want;
};

static const struct ttest tests[] = {
    {"a client line",
     256,
     {{'C', "EHLO verifier.example.org", 0}},
     "C: EHLO verifier.example.org\n"},
    {"server lines: CR dropped",
     256,
     {{'S', "220 mx ESMTP\r\n250-mx\r\n250 SIZE 1\r\n", 0}},
     "S: 220 mx ESMTP\nS: 250-mx\nS: 250 SIZE 1\n"},
    {"bare LF and an open last line",
     256,
     {{'S', "220 mx\n250 o", 0}},
     "S: 220 mx\nS: 250 o"},
    {"controls as \\xNN, NUL and DEL included",
     256,
     {{'S',
       "220 a\x01"
       "b\x7f\x1b\0c\tz\r\n",
       15}},
     "S: 220 a\\x01b\\x7F\\x1B\\x00c\\x09z\n"},
    {"octets >= 0x80 are kept",
     256,
     {{'S', "250 J\xc3\xb6rg\r\n", 0}},
     "S: 250 J\xc3\xb6rg\n"},
    {"a client line closes an open server line",
     256,
     {{'S', "220 mx\r\n4", 0}, {'C', "QUIT", 0}, {'S', "21 bye\r\n", 0}},
     "S: 220 mx\nS: 4\nC: QUIT\nS: 21 bye\n"},
    {"a server line goes on across writes",
     256,
     {{'S', "250-mx", 0}, {'S', ".example", 0}, {'S', ".net\r\n", 0}},
     "S: 250-mx.example.net\n"},
    {"a lone CR still opens a line",
     256,
     {{'S', "\r", 0}, {'C', "QUIT", 0}},
     "S: \nC: QUIT\n"},
    {"cut at max with the mark",
     64,
     {{'S', "220 mx.example.net ESMTP Postfix (Debian)\r\n", 0},
      {'C', "EHLO verifier.example.org", 0},
      {'S', "250 mx\r\n", 0}},
     "S: 220 mx.example.net ESMTP Postfix (Debian)\n"
     "C: EHLO[truncated]\n"},
    {"exactly full: no mark yet",
     64,
     {{'C', "012345678901234567890123456789012345678901234567", 0}},
     "C: 012345678901234567890123456789012345678901234567\n"},
    {"one octet more: the mark",
     64,
     {{'C', "0123456789012345678901234567890123456789012345678", 0}},
     "C: 0123456789012345678901234567890123456789012345678[truncated]\n"},
    {"disabled", 0, {{'C', "EHLO x", 0}, {'S', "250 ok\r\n", 0}}, ""},
};

#define NTESTS (sizeof(tests) / sizeof(tests[0]))

/* play - run @t's writes; @split cuts every server write at that offset
 * (0: whole). */
static void play(struct transcript *ts, const struct ttest *t, size_t split)
{
	for (size_t i = 0; i < 6 && t->ops[i].data != NULL; i++) {
		const struct op *o = &t->ops[i];
		size_t n = o->len ? o->len : strlen(o->data);
		if (o->who == 'C') {
			transcript_client(ts, o->data, n);
		} else if (split == 0 || split >= n) {
			transcript_server(ts, o->data, n);
		} else {
			transcript_server(ts, o->data, split);
			transcript_server(ts, o->data + split, n - split);
		}
	}
}

START_TEST(exact_rows)
{
	const struct ttest *t = &tests[_i];

	for (size_t split = 0; split < 48; split++) {
		struct transcript ts;
		const char *text;

		ck_assert_int_eq(transcript_init(&ts, t->max, NULL, NULL), 0);
		play(&ts, t, split);
		ck_assert_uint_eq(transcript_text(&ts, &text), strlen(t->want));
		ck_assert_msg(strcmp(text, t->want) == 0,
			      "%s (split %zu): got \"%s\"", t->name, split,
			      text);
		ck_assert_uint_le(transcript_memory(&ts), t->max + 1);
		transcript_release(&ts);
		ck_assert_uint_eq(transcript_text(&ts, &text), 0);
		ck_assert_str_eq(text, "");
	}
}
END_TEST

/* (max, transcript_init's answer) */
START_TEST(init_bounds)
{
	static const struct {
		size_t max;
		int rc;
	} rows[] = {{0, 0},
		    {1, -1},
		    {TRANSCRIPT_MIN - 1, -1},
		    {TRANSCRIPT_MIN, 0},
		    {8192, 0}};
	struct transcript ts;
	const char *text;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_int_eq(transcript_init(&ts, rows[i].max, NULL, NULL),
				 rows[i].rc);
		transcript_client(&ts, "QUIT", 4);
		ck_assert_uint_eq(transcript_text(&ts, &text),
				  rows[i].rc == 0 && rows[i].max ? 8 : 0);
		transcript_release(&ts);
	}
}
END_TEST

/* Many server octets at once: escapes cross the internal buffer's edge
 * intact, and the record stops at max whatever the input's size. */
START_TEST(long_input_is_bounded)
{
	struct transcript ts;
	char in[3000], want[4096];
	const char *text;
	size_t k = 0;

	memset(in, 1, sizeof(in));
	transcript_init(&ts, 4096, NULL, NULL);
	transcript_server(&ts, in, 300);
	k += (size_t)snprintf(want, sizeof(want), "S: ");
	for (int i = 0; i < 300; i++)
		k += (size_t)snprintf(want + k, sizeof(want) - k, "\\x01");
	ck_assert_uint_eq(transcript_text(&ts, &text), k);
	ck_assert_str_eq(text, want);
	transcript_server(&ts, in, sizeof(in));
	ck_assert_uint_eq(transcript_text(&ts, &text), 4096);
	ck_assert_str_eq(text + 4096 - TRANSCRIPT_MARK_LEN, TRANSCRIPT_MARK);
	ck_assert_uint_eq(transcript_memory(&ts), 4097);
	transcript_client(&ts, "QUIT", 4); /* nothing more goes in */
	ck_assert_uint_eq(transcript_text(&ts, &text), 4096);
	transcript_release(&ts);
}
END_TEST

/* The buffer doubles from TRANSCRIPT_INITIAL: a short record holds a
 * short buffer. */
START_TEST(grows_by_doubling)
{
	struct transcript ts;
	char line[100];

	memset(line, 'x', sizeof(line));
	transcript_init(&ts, 8192, NULL, NULL);
	ck_assert_uint_eq(transcript_memory(&ts), 0);
	transcript_client(&ts, line, 10);
	ck_assert_uint_eq(transcript_memory(&ts), TRANSCRIPT_INITIAL);
	for (int i = 0; i < 3; i++)
		transcript_client(&ts, line, sizeof(line));
	ck_assert_uint_eq(transcript_memory(&ts), 2 * TRANSCRIPT_INITIAL);
	transcript_release(&ts);
}
END_TEST

struct fail_alloc {
	unsigned calls;
	unsigned fail_at; /* this call and all after it fail */
};

static void *failing_alloc(void *ud, void *ptr, size_t size)
{
	struct fail_alloc *f = ud;

	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (++f->calls >= f->fail_at)
		return NULL;
	return realloc(ptr, size);
}

/* Out of memory keeps what is there, without the mark, and takes no
 * more. */
START_TEST(out_of_memory)
{
	struct fail_alloc f = {0, 2};
	struct transcript ts;
	char line[300];
	const char *text;

	memset(line, 'y', sizeof(line));
	transcript_init(&ts, 4096, failing_alloc, &f);
	transcript_client(&ts, "EHLO x", 6);
	ck_assert_uint_eq(transcript_text(&ts, &text), 10);
	transcript_client(&ts, line, sizeof(line)); /* needs a realloc */
	ck_assert_uint_eq(transcript_text(&ts, &text), 13);
	ck_assert_str_eq(text, "C: EHLO x\nC: ");
	ck_assert(ts.full);
	transcript_server(&ts, "250 ok\r\n", 8);
	ck_assert_uint_eq(transcript_text(&ts, &text), 13);
	transcript_release(&ts);

	f = (struct fail_alloc){0, 1};
	transcript_init(&ts, 4096, failing_alloc, &f);
	transcript_server(&ts, "220 mx\r\n", 8);
	ck_assert_uint_eq(transcript_text(&ts, &text), 0);
	ck_assert_str_eq(text, "");
	transcript_release(&ts);
}
END_TEST

Suite *transcript_suite(void)
{
	Suite *s = suite_create("transcript");
	TCase *tc;

	tc = tcase_create("exact text, whole and split");
	tcase_add_loop_test(tc, exact_rows, 0, NTESTS);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, init_bounds);
	tcase_add_test(tc, long_input_is_bounded);
	tcase_add_test(tc, grows_by_doubling);
	tcase_add_test(tc, out_of_memory);
	suite_add_tcase(s, tc);
	return s;
}
