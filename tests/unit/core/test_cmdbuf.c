/* test_cmdbuf - the SMTP client's output queue: exact lines, the control
 * octet guard (one row per octet class), the bound, partial consumption,
 * and allocation failure. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdbuf.h"

Suite *cmdbuf_suite(void);

/* (parameter, accepted) */
static const struct {
	const char *param;
	size_t len;
	bool ok;
} params[] = {
    {"alice@example.net", 17, true},
    {"", 0, true},
    {"\"a b\"@example.net", 17, true},
    {"j\xc3\xb6rg@example.de", 16, true}, /* UTF-8 is not a control */
    {"@relay:user@outside", 19, true},
    {"a@b\r\nRSET", 9, false},
    {"a@b\nRSET", 8, false},
    {"a@b\rx", 5, false},
    {"a\0b", 3, false},
    {"tab\there", 8, false},
    {"del\x7f", 4, false},
    {"esc\x1b", 4, false},
    {"\x1f", 1, false},
};

START_TEST(param_guard)
{
	struct cmdbuf b;
	const char *line, *out;
	size_t len;
	int rc;

	cmdbuf_init(&b, 1024, NULL, NULL);
	rc = cmdbuf_line(&b, "RCPT TO:<", params[_i].param, params[_i].len, ">",
			 &line, &len);
	ck_assert_int_eq(cmdbuf_param_ok(params[_i].param, params[_i].len),
			 params[_i].ok);
	if (params[_i].ok) {
		ck_assert_int_eq(rc, CMDBUF_OK);
		ck_assert_uint_eq(len, 10 + params[_i].len);
		ck_assert(memcmp(line, "RCPT TO:<", 9) == 0);
		ck_assert(memcmp(line + 9, params[_i].param, params[_i].len) ==
			  0);
		ck_assert_uint_eq(cmdbuf_peek(&b, &out), len + 2);
		ck_assert(memcmp(out + len - 1, ">\r\n", 3) == 0);
	} else {
		ck_assert_int_eq(rc, CMDBUF_REFUSED);
		ck_assert_uint_eq(cmdbuf_peek(&b, &out), 0);
		ck_assert_str_eq(out, "");
		ck_assert_uint_eq(cmdbuf_memory(&b), 0);
	}
	cmdbuf_release(&b);
}
END_TEST

/* Lines queue in order; consuming part keeps the rest in order, and more
 * written behind it follows. */
START_TEST(order_and_partial_consume)
{
	struct cmdbuf b;
	const char *out, *line;
	size_t len;

	cmdbuf_init(&b, 1024, NULL, NULL);
	ck_assert_int_eq(
	    cmdbuf_line(&b, "EHLO ", "v.example.org", 13, "", &line, &len),
	    CMDBUF_OK);
	ck_assert_uint_eq(len, 18);
	ck_assert(memcmp(line, "EHLO v.example.org", 18) == 0);
	ck_assert_int_eq(cmdbuf_line(&b, "MAIL FROM:<", "", 0, ">", NULL, NULL),
			 CMDBUF_OK);
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 34);
	ck_assert(memcmp(out, "EHLO v.example.org\r\nMAIL FROM:<>\r\n", 34) ==
		  0);
	ck_assert_int_eq(cmdbuf_consume(&b, 5), 0);
	ck_assert_int_eq(cmdbuf_line(&b, "QUIT", "", 0, "", &line, &len),
			 CMDBUF_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert(memcmp(line, "QUIT", 4) == 0);
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 35);
	ck_assert(
	    memcmp(out, "v.example.org\r\nMAIL FROM:<>\r\nQUIT\r\n", 35) == 0);
	ck_assert_int_eq(cmdbuf_consume(&b, 36), -1); /* more than queued */
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 35);
	ck_assert_int_eq(cmdbuf_consume(&b, 35), 0);
	/* an empty queue holds no memory */
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 0);
	ck_assert_uint_eq(cmdbuf_memory(&b), 0);
	ck_assert_int_eq(cmdbuf_consume(&b, 0), 0);
	cmdbuf_release(&b);
}
END_TEST

/* The queue never passes its max: a line that does not fit is refused
 * whole, and fits again once the front was consumed. */
START_TEST(bounded)
{
	struct cmdbuf b;
	char param[600];
	const char *out;

	memset(param, 'p', sizeof(param));
	cmdbuf_init(&b, 1000, NULL, NULL);
	ck_assert_int_eq(cmdbuf_line(&b, "X ", param, 500, "", NULL, NULL),
			 CMDBUF_OK); /* 504 */
	ck_assert_uint_eq(cmdbuf_memory(&b), 512);
	ck_assert_int_eq(cmdbuf_line(&b, "X ", param, 493, "", NULL, NULL),
			 CMDBUF_NOROOM); /* 504 + 497 > 1000 */
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 504);
	ck_assert_int_eq(cmdbuf_line(&b, "X ", param, 492, "", NULL, NULL),
			 CMDBUF_OK); /* exactly 1000 */
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 1000);
	ck_assert_uint_eq(cmdbuf_memory(&b), 1024);
	ck_assert_int_eq(cmdbuf_line(&b, "", "", 0, "", NULL, NULL),
			 CMDBUF_NOROOM);
	ck_assert_int_eq(cmdbuf_consume(&b, 504), 0);
	ck_assert_int_eq(cmdbuf_line(&b, "X ", param, 500, "", NULL, NULL),
			 CMDBUF_OK);
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 1000);
	ck_assert(out[0] == 'X' && out[495] == '\n' && out[496] == 'X');
	ck_assert_int_eq(
	    cmdbuf_line(&b, "X ", param, sizeof(param), "", NULL, NULL),
	    CMDBUF_NOROOM);
	cmdbuf_release(&b);
	ck_assert_uint_eq(cmdbuf_memory(&b), 0);
}
END_TEST

struct fail_alloc {
	unsigned calls;
	unsigned fail_at;
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

/* Out of memory refuses the line and keeps what was queued. */
START_TEST(out_of_memory)
{
	struct fail_alloc f = {0, 2};
	struct cmdbuf b;
	char param[600];
	const char *out;

	memset(param, 'q', sizeof(param));
	cmdbuf_init(&b, 4096, failing_alloc, &f);
	ck_assert_int_eq(cmdbuf_line(&b, "RSET", "", 0, "", NULL, NULL),
			 CMDBUF_OK);
	ck_assert_int_eq(
	    cmdbuf_line(&b, "X ", param, sizeof(param), "", NULL, NULL),
	    CMDBUF_NOROOM);
	ck_assert_uint_eq(cmdbuf_peek(&b, &out), 6);
	ck_assert(memcmp(out, "RSET\r\n", 6) == 0);
	cmdbuf_release(&b);
}
END_TEST

Suite *cmdbuf_suite(void)
{
	Suite *s = suite_create("cmdbuf");
	TCase *tc;

	tc = tcase_create("control octets never reach the wire");
	tcase_add_loop_test(tc, param_guard, 0,
			    sizeof(params) / sizeof(params[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_add_test(tc, order_and_partial_consume);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, out_of_memory);
	suite_add_tcase(s, tc);
	return s;
}
