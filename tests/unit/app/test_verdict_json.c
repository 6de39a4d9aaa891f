/* test_verdict_json - the JSON shape of DESIGN.md, to the byte. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"

START_TEST(full_verdict_golden)
{
	struct verdict v;
	verdict_init(&v, "Alice@Example.COM", 17);
	snprintf(v.address, sizeof(v.address), "Alice@example.com");
	snprintf(v.domain, sizeof(v.domain), "example.com");
	verdict_set(&v, REASON_ACCEPTED);
	v.mx_count = 1;
	snprintf(v.mx[0].host, sizeof(v.mx[0].host), "mx1.example.com");
	v.mx[0].preference = 10;
	v.catch_all = TRI_FALSE;
	v.smtp.present = true;
	snprintf(v.smtp.host, sizeof(v.smtp.host), "mx1.example.com");
	snprintf(v.smtp.ip, sizeof(v.smtp.ip), "192.0.2.10");
	v.smtp.stage = SMTP_STAGE_RCPT;
	v.smtp.code = 250;
	snprintf(v.smtp.enhanced, sizeof(v.smtp.enhanced), "2.1.5");
	snprintf(v.smtp.message, sizeof(v.smtp.message), "OK");
	v.smtp.tls = true;
	v.checked_at = 1795341600; /* 2026-11-22T10:00:00Z */
	v.duration_ms = 182;

	char *s = verdict_json_dumps(&v);
	ck_assert_str_eq(
	    s, "{\"email\":\"Alice@Example.COM\",\"address\":\"Alice@example."
	       "com\",\"status\":\"deliverable\",\"reason\":\"accepted\","
	       "\"domain\":\"example.com\",\"mx\":[{\"host\":\"mx1.example."
	       "com\",\"preference\":10}],\"catch_all\":false,\"disposable\":"
	       "false,\"free_provider\":false,\"role_account\":false,"
	       "\"suggestion\":null,\"smtp\":{\"host\":\"mx1.example.com\","
	       "\"ip\":\"192.0.2.10\",\"stage\":\"rcpt\",\"code\":250,"
	       "\"enhanced\":\"2.1.5\",\"message\":\"OK\",\"tls\":true},"
	       "\"cached\":false,\"checked_at\":\"2026-11-22T10:00:00Z\","
	       "\"duration_ms\":182}");
	free(s);
}
END_TEST

START_TEST(invalid_verdict_has_message_and_nulls)
{
	struct verdict v;
	verdict_init(&v, "a\r\nb@x", 6);
	verdict_set(&v, REASON_INVALID_SYNTAX);
	snprintf(v.message, sizeof(v.message),
		 "address contains a control "
		 "character (CR)");
	v.retry_after = 0;
	char *s = verdict_json_dumps(&v);
	ck_assert_str_eq(
	    s, "{\"email\":\"a\\r\\nb@x\",\"address\":null,\"status\":"
	       "\"undeliverable\",\"reason\":\"invalid_syntax\",\"message\":"
	       "\"address contains a control character (CR)\",\"domain\":null,"
	       "\"mx\":[],\"catch_all\":null,\"disposable\":false,"
	       "\"free_provider\":false,\"role_account\":false,\"suggestion\":"
	       "null,\"smtp\":null,\"cached\":false,\"checked_at\":\"1970-01-"
	       "01T00:00:00Z\",\"duration_ms\":0}");
	free(s);
}
END_TEST

START_TEST(retry_after_and_invalid_utf8_input)
{
	struct verdict v;
	verdict_init(&v, "\xFF@x", 3);
	verdict_set(&v, REASON_GREYLISTED);
	v.retry_after = 300;
	json_t *o = verdict_to_json(&v);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "email")),
			 "\xEF\xBF\xBD@x");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "retry_after")),
			 300);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")),
			 "unknown");
	json_decref(o);
}
END_TEST

/* ---- the direct writer against jansson's tree ---------------------- */

/* tree_text - what the tree and json_dumps() make of @v (with the
 * "transcript" member verify_route.c adds when @extra is set). */
static char *tree_text(const struct verdict *v, const char *extra,
		       const char *extra_value)
{
	json_t *o = verdict_to_json(v);
	ck_assert_ptr_nonnull(o);
	if (extra)
		json_object_set_new(o, extra,
				    extra_value ? json_string(extra_value)
						: json_null());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* write_text - the direct writer's text of the same. */
static char *write_text(const struct verdict *v, const char *extra,
			const char *extra_value, size_t hint)
{
	struct verdict_json_buf b;
	size_t len = 0;

	verdict_json_buf_init(&b, hint);
	verdict_json_write(&b, v, extra, extra_value);
	char *s = verdict_json_buf_take(&b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_ptr_null(b.data);
	return s;
}

/* same_as_tree - the writer's bytes are the tree's, at every first
 * capacity (growth at every point of the text). */
static void same_as_tree(const struct verdict *v, const char *extra,
			 const char *extra_value)
{
	char *want = tree_text(v, extra, extra_value);
	static const size_t hints[] = {0, 1, 2, 7, 64, 333, 4096};

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		char *got = write_text(v, extra, extra_value, hints[i]);
		ck_assert_str_eq(got, want);
		free(got);
	}
	if (extra == NULL) {
		char *d = verdict_json_dumps(v);
		ck_assert_str_eq(d, want);
		free(d);
	}
	free(want);
}

/* golden - the verdict of full_verdict_golden. */
static void golden(struct verdict *v)
{
	verdict_init(v, "Alice@Example.COM", 17);
	snprintf(v->address, sizeof(v->address), "Alice@example.com");
	snprintf(v->domain, sizeof(v->domain), "example.com");
	verdict_set(v, REASON_ACCEPTED);
	v->mx_count = 1;
	snprintf(v->mx[0].host, sizeof(v->mx[0].host), "mx1.example.com");
	v->mx[0].preference = 10;
	v->catch_all = TRI_FALSE;
	v->smtp.present = true;
	snprintf(v->smtp.host, sizeof(v->smtp.host), "mx1.example.com");
	snprintf(v->smtp.ip, sizeof(v->smtp.ip), "192.0.2.10");
	v->smtp.stage = SMTP_STAGE_RCPT;
	v->smtp.code = 250;
	snprintf(v->smtp.enhanced, sizeof(v->smtp.enhanced), "2.1.5");
	snprintf(v->smtp.message, sizeof(v->smtp.message), "OK");
	v->smtp.tls = true;
	v->checked_at = 1795341600;
	v->duration_ms = 182;
}

/* Where a test string goes. */
enum field {
	F_EMAIL,
	F_ADDRESS,
	F_MESSAGE,
	F_DOMAIN,
	F_MX_HOST,
	F_SUGGESTION,
	F_SMTP_HOST,
	F_SMTP_IP,
	F_SMTP_ENHANCED,
	F_SMTP_MESSAGE,
	F_LAST
};

static void set_field(struct verdict *v, enum field f, const char *s)
{
	struct {
		char *dst;
		size_t size;
	} t[F_LAST] = {
	    {v->email, sizeof(v->email)},
	    {v->address, sizeof(v->address)},
	    {v->message, sizeof(v->message)},
	    {v->domain, sizeof(v->domain)},
	    {v->mx[0].host, sizeof(v->mx[0].host)},
	    {v->suggestion, sizeof(v->suggestion)},
	    {v->smtp.host, sizeof(v->smtp.host)},
	    {v->smtp.ip, sizeof(v->smtp.ip)},
	    {v->smtp.enhanced, sizeof(v->smtp.enhanced)},
	    {v->smtp.message, sizeof(v->smtp.message)},
	};
	snprintf(t[f].dst, t[f].size, "%s", s);
}

/* Strings for every field: empty, escapes, non-ASCII, and what jansson
 * refuses (not UTF-8: the member becomes null or is left out). */
static const char *const texts[] = {
    "",
    "x",
    "a\"b\\c/d",
    "\x01\x02\x03\x04\x05\x06\x07\b\t\n\x0b\f\r\x0e\x0f",
    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd",
    "\xf4\x8f\xbf\xbf",	      /* U+10FFFF */
    "\xff@x",		      /* invalid lead */
    "\xc0\x80",		      /* overlong NUL */
    "\xc1\xbf",		      /* overlong */
    "\xe0\x9f\xbf",	      /* overlong 3 */
    "\xf0\x8f\xbf\xbf",	      /* overlong 4 */
    "\xed\xa0\x80",	      /* surrogate */
    "\xf4\x90\x80\x80",	      /* above U+10FFFF */
    "\xf5\x80\x80\x80",	      /* lead F5 */
    "ab\xc3",		      /* cut short */
    "\xe2\x82",		      /* cut short */
    "\x80",		      /* stray continuation */
    "\xc3\x28",		      /* bad continuation */
    "a\r\nRCPT TO:<x@y>\r\n", /* CR LF */
};

START_TEST(writer_equals_tree_per_field)
{
	struct verdict v;

	golden(&v);
	v.mx_count = 2;
	snprintf(v.mx[1].host, sizeof(v.mx[1].host), "mx2.example.com");
	v.mx[1].preference = 20;
	set_field(&v, (enum field)_i, texts[0]);
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		set_field(&v, (enum field)_i, texts[k]);
		same_as_tree(&v, NULL, NULL);
		same_as_tree(&v, "transcript", texts[k]);
		/* and with the SMTP object absent */
		v.smtp.present = !v.smtp.present;
		same_as_tree(&v, NULL, NULL);
		v.smtp.present = !v.smtp.present;
	}
}
END_TEST

/* Enumerations and numbers at and past their ends. */
START_TEST(writer_equals_tree_values)
{
	static const int64_t times[] = {0,
					1,
					-1,
					951782400 /* 2000-02-29 */,
					4107542399LL,
					4107542400LL,
					68169600,
					94694399,
					253402300799LL,
					253402300800LL,
					-62167219200LL,
					INT64_MAX,
					INT64_MIN,
					1795341600};
	struct verdict v;

	for (int r = 0; r <= REASON_LAST + 1; r++) {
		golden(&v);
		verdict_set(&v, (enum verdict_reason)r);
		same_as_tree(&v, NULL, NULL);
	}
	golden(&v);
	v.status = VERDICT_STATUS_LAST + 3; /* out of range: no name */
	same_as_tree(&v, NULL, NULL);
	for (int st = 0; st <= SMTP_STAGE_LAST + 1; st++) {
		golden(&v);
		v.smtp.stage = (enum smtp_stage)st;
		same_as_tree(&v, NULL, NULL);
	}
	for (int c = 0; c < 5; c++) {
		golden(&v);
		v.catch_all = (enum tristate)c;
		v.disposable = c & 1;
		v.free_provider = c & 2;
		v.role_account = c & 4;
		v.smtp.tls = c & 1;
		v.cached = c & 2;
		same_as_tree(&v, NULL, NULL);
	}
	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		golden(&v);
		v.checked_at = times[t];
		same_as_tree(&v, NULL, NULL);
	}
	golden(&v);
	v.duration_ms = UINT32_MAX;
	v.retry_after = UINT_MAX;
	v.smtp.code = INT_MIN;
	v.mx[0].preference = UINT_MAX;
	same_as_tree(&v, NULL, NULL);
	v.smtp.code = -1;
	v.retry_after = 1;
	v.mx_count = VERDICT_MX_MAX + 7; /* only VERDICT_MX_MAX are read */
	for (unsigned i = 0; i < VERDICT_MX_MAX; i++) {
		snprintf(v.mx[i].host, sizeof(v.mx[i].host), "mx%u.example", i);
		v.mx[i].preference = i;
	}
	same_as_tree(&v, NULL, NULL);
	/* an MX host jansson refuses drops that entry alone */
	snprintf(v.mx[0].host, sizeof(v.mx[0].host), "\xff");
	snprintf(v.mx[3].host, sizeof(v.mx[3].host), "\xed\xa0\x80");
	same_as_tree(&v, NULL, NULL);
	for (unsigned i = 0; i < VERDICT_MX_MAX; i++)
		snprintf(v.mx[i].host, sizeof(v.mx[i].host), "\xff");
	same_as_tree(&v, NULL, NULL);
}
END_TEST

/* Every instant's text equals gmtime_r() and strftime()'s: one a day
 * at a moving second of it, over the fast path's range and past it. */
START_TEST(writer_time_sweep)
{
	struct verdict v;
	char want[21];

	golden(&v);
	for (int64_t t = -86400LL * 3; t < 253402300799LL + 86400LL * 400;
	     t += 86400LL * 37 + 4567) {
		v.checked_at = t;
		char *s = verdict_json_dumps(&v);
		verdict_json_time(t, want);
		const char *p = strstr(s, "\"checked_at\":\"");
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(strncmp(p + 14, want, 20) == 0 && p[34] == '"',
			      "t=%lld: %.22s, want %s", (long long)t, p + 14,
			      want);
		free(s);
	}
}
END_TEST

/* The escapes, pinned to the byte (not only against jansson). */
START_TEST(writer_escapes_pinned)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
	    {"", "\"\""},
	    {"\x01\x1f", "\"\\u0001\\u001F\""},
	    {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
	    {"\x0b\x1a", "\"\\u000B\\u001A\""},
	    {"\"\\/", "\"\\\"\\\\/\""},
	    {"\x7f\xc3\xa9", "\"\x7f\xc3\xa9\""},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct verdict_json_buf b;
		verdict_json_buf_init(&b, 0);
		ck_assert_int_eq(verdict_json_buf_string(&b, rows[i].in), 0);
		char *s = verdict_json_buf_take(&b, NULL);
		ck_assert_str_eq(s, rows[i].out);
		free(s);
	}
	struct verdict_json_buf b;
	verdict_json_buf_init(&b, 0);
	verdict_json_buf_put(&b, "[", 1);
	ck_assert_int_eq(verdict_json_buf_string(&b, "a\xff"), -1);
	ck_assert_uint_eq(b.len, 1); /* nothing written */
	verdict_json_buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

/* Past VERDICT_JSON_BUF_MAX the buffer fails, and stays failed. */
START_TEST(writer_ceiling)
{
	struct verdict_json_buf b;
	struct verdict v;

	golden(&v);
	verdict_json_buf_init(&b, 0);
	/* 1 MiB of controls escapes to 6 MiB: 11 of them pass the ceiling */
	char *ctl = malloc(1024 * 1024 + 1);
	ck_assert_ptr_nonnull(ctl);
	memset(ctl, '\x01', 1024 * 1024);
	ctl[1024 * 1024] = '\0';
	unsigned n = 0;
	while (!b.failed && n < 20) {
		ck_assert_int_eq(verdict_json_buf_string(&b, ctl), 0);
		ck_assert_uint_le(b.len, VERDICT_JSON_BUF_MAX);
		n++;
		if (b.len + 6 * 1024 * 1024 + 2 >= VERDICT_JSON_BUF_MAX)
			break;
	}
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(verdict_json_buf_string(&b, ctl), -1);
	free(ctl);
	ck_assert(b.failed);
	verdict_json_write(&b, &v, NULL, NULL);
	ck_assert_int_eq(verdict_json_buf_string(&b, "a"), -1);
	ck_assert_ptr_null(verdict_json_buf_take(&b, NULL));
	ck_assert_ptr_null(b.data);
}
END_TEST

Suite *verdict_json_suite(void)
{
	Suite *s = suite_create("verdict_json");
	TCase *t = tcase_create("shape");
	tcase_add_test(t, full_verdict_golden);
	tcase_add_test(t, invalid_verdict_has_message_and_nulls);
	tcase_add_test(t, retry_after_and_invalid_utf8_input);
	suite_add_tcase(s, t);
	t = tcase_create("writer");
	tcase_add_loop_test(t, writer_equals_tree_per_field, 0, F_LAST);
	tcase_add_test(t, writer_equals_tree_values);
	tcase_add_test(t, writer_escapes_pinned);
	tcase_add_test(t, writer_ceiling);
	suite_add_tcase(s, t);
	t = tcase_create("time");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, writer_time_sweep);
	suite_add_tcase(s, t);
	return s;
}
