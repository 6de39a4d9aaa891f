/* test_verdict_decode - verdict_from_json(): round trips through the
 * encoder, and one row per rule it enforces. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"

/* full - the golden verdict of test_verdict_json, every member present. */
static void full(struct verdict *v)
{
	verdict_init(v, "Alice@Example.COM", 17);
	snprintf(v->address, sizeof(v->address), "Alice@example.com");
	snprintf(v->domain, sizeof(v->domain), "example.com");
	verdict_set(v, REASON_ACCEPTED);
	v->mx_count = 2;
	snprintf(v->mx[0].host, sizeof(v->mx[0].host), "mx1.example.com");
	v->mx[0].preference = 10;
	snprintf(v->mx[1].host, sizeof(v->mx[1].host), "mx2.example.com");
	v->mx[1].preference = 65535;
	v->catch_all = TRI_FALSE;
	v->free_provider = true;
	v->smtp.present = true;
	snprintf(v->smtp.host, sizeof(v->smtp.host), "mx1.example.com");
	snprintf(v->smtp.ip, sizeof(v->smtp.ip), "2001:db8::10");
	v->smtp.stage = SMTP_STAGE_RCPT;
	v->smtp.code = 250;
	snprintf(v->smtp.enhanced, sizeof(v->smtp.enhanced), "2.1.5");
	snprintf(v->smtp.message, sizeof(v->smtp.message), "OK \"quoted\"");
	v->smtp.tls = true;
	v->checked_at = 1795341600; /* 2026-11-22T10:00:00Z */
	v->duration_ms = 4294967295u;
}

/* same - @a and @b agree on every member the JSON carries. */
static void same(const struct verdict *a, const struct verdict *b)
{
	ck_assert_str_eq(a->email, b->email);
	ck_assert_str_eq(a->address, b->address);
	ck_assert_str_eq(a->domain, b->domain);
	ck_assert_int_eq(a->status, b->status);
	ck_assert_int_eq(a->reason, b->reason);
	ck_assert_str_eq(a->message, b->message);
	ck_assert_uint_eq(a->mx_count, b->mx_count);
	for (unsigned i = 0; i < a->mx_count; i++) {
		ck_assert_str_eq(a->mx[i].host, b->mx[i].host);
		ck_assert_uint_eq(a->mx[i].preference, b->mx[i].preference);
	}
	ck_assert_int_eq(a->catch_all, b->catch_all);
	ck_assert_int_eq(a->disposable, b->disposable);
	ck_assert_int_eq(a->free_provider, b->free_provider);
	ck_assert_int_eq(a->role_account, b->role_account);
	ck_assert_str_eq(a->suggestion, b->suggestion);
	ck_assert_int_eq(a->smtp.present, b->smtp.present);
	if (!a->smtp.present) {
		/* "smtp": null carries nothing of the struct's smtp */
		ck_assert_str_eq(b->smtp.host, "");
		ck_assert_int_eq(b->smtp.code, 0);
		goto tail;
	}
	ck_assert_str_eq(a->smtp.host, b->smtp.host);
	ck_assert_str_eq(a->smtp.ip, b->smtp.ip);
	ck_assert_int_eq(a->smtp.stage, b->smtp.stage);
	ck_assert_int_eq(a->smtp.code, b->smtp.code);
	ck_assert_str_eq(a->smtp.enhanced, b->smtp.enhanced);
	ck_assert_str_eq(a->smtp.message, b->smtp.message);
	ck_assert_int_eq(a->smtp.tls, b->smtp.tls);
tail:
	ck_assert_uint_eq(a->retry_after, b->retry_after);
	ck_assert_int_eq(a->cached, b->cached);
	ck_assert_int_eq(a->checked_at, b->checked_at);
	ck_assert_uint_eq(a->duration_ms, b->duration_ms);
}

/* round_trip - encode @v, decode, compare, and encode again: the second
 * text must equal the first to the byte. */
static void round_trip(const struct verdict *v)
{
	struct verdict back;
	char *s = verdict_json_dumps(v);

	ck_assert_ptr_nonnull(s);
	ck_assert_msg(verdict_from_json(s, strlen(s), &back) == 0, "%s", s);
	same(v, &back);
	ck_assert_int_eq(back.email_truncated, false);
	char *again = verdict_json_dumps(&back);
	ck_assert_str_eq(again, s);
	free(again);
	free(s);
}

START_TEST(full_round_trip)
{
	struct verdict v;
	full(&v);
	round_trip(&v);
	v.cached = true;
	v.catch_all = TRI_TRUE;
	v.retry_after = 300;
	v.smtp.code = 0; /* null */
	v.smtp.enhanced[0] = '\0';
	v.smtp.stage = SMTP_STAGE_NONE;
	round_trip(&v);
	v.catch_all = TRI_UNKNOWN;
	v.smtp.present = false;
	v.mx_count = 0;
	v.checked_at = 0;
	round_trip(&v);
}
END_TEST

START_TEST(invalid_syntax_round_trip)
{
	struct verdict v;
	verdict_init(&v, "a\r\n\x01\"b\\@x", 10);
	verdict_set(&v, REASON_INVALID_SYNTAX);
	snprintf(v.message, sizeof(v.message),
		 "address contains a control "
		 "character (CR)");
	snprintf(v.suggestion, sizeof(v.suggestion), "ab@x.com");
	round_trip(&v);
}
END_TEST

/* Every reason comes back with its status. */
START_TEST(every_reason)
{
	struct verdict v, back;
	full(&v);
	verdict_set(&v, (enum verdict_reason)_i);
	char *s = verdict_json_dumps(&v);
	ck_assert_int_eq(verdict_from_json(s, strlen(s), &back), 0);
	ck_assert_int_eq(back.reason, _i);
	ck_assert_int_eq(back.status,
			 verdict_reason_status((enum verdict_reason)_i));
	free(s);
}
END_TEST

/* fill - @n octets of @c into @dst (then NUL). */
static void fill(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

/* The worst any struct verdict can encode to fits VERDICT_JSON_MAX and
 * comes back whole: every text field at its ceiling of a control
 * character, which the encoder writes as \u0001 (six octets). */
START_TEST(worst_case_fits)
{
	struct verdict v;
	full(&v);
	fill(v.email, VERDICT_EMAIL_MAX, '\x01');
	fill(v.address, VERDICT_ADDRESS_MAX, '\x01');
	fill(v.domain, sizeof(v.domain) - 1, '\x01');
	fill(v.message, VERDICT_MESSAGE_MAX, '\x01');
	fill(v.suggestion, VERDICT_ADDRESS_MAX, '\x01');
	v.mx_count = VERDICT_MX_MAX;
	for (int i = 0; i < VERDICT_MX_MAX; i++) {
		fill(v.mx[i].host, VERDICT_HOST_MAX, '\x01');
		v.mx[i].preference = 65535;
	}
	fill(v.smtp.host, VERDICT_HOST_MAX, '\x01');
	fill(v.smtp.ip, VERDICT_IP_MAX - 1, '\x01');
	fill(v.smtp.enhanced, sizeof(v.smtp.enhanced) - 1, '\x01');
	fill(v.smtp.message, VERDICT_REPLY_MAX, '\x01');
	v.retry_after = 4294967295u;
	v.smtp.code = 999;
	char *s = verdict_json_dumps(&v);
	ck_assert_uint_le(strlen(s), VERDICT_JSON_MAX);
	ck_assert_uint_gt(strlen(s), 20000); /* the estimate in the header */
	free(s);
	round_trip(&v);
}
END_TEST

/* One mutation of the full verdict's JSON object. @where is "" (the top
 * object), "smtp" or "mx0"; @value is JSON text, or NULL to delete. */
static const struct mutation {
	const char *where, *key, *value;
} mutations[] = {
    /* members: unknown ones, missing required ones */
    {"", "extra", "1"},
    {"", "email", NULL},
    {"", "address", NULL},
    {"", "status", NULL},
    {"", "reason", NULL},
    {"", "domain", NULL},
    {"", "mx", NULL},
    {"", "catch_all", NULL},
    {"", "disposable", NULL},
    {"", "free_provider", NULL},
    {"", "role_account", NULL},
    {"", "suggestion", NULL},
    {"", "smtp", NULL},
    {"", "cached", NULL},
    {"", "checked_at", NULL},
    {"", "duration_ms", NULL},
    {"smtp", "extra", "1"},
    {"smtp", "host", NULL},
    {"smtp", "ip", NULL},
    {"smtp", "stage", NULL},
    {"smtp", "code", NULL},
    {"smtp", "enhanced", NULL},
    {"smtp", "message", NULL},
    {"smtp", "tls", NULL},
    {"mx0", "extra", "1"},
    {"mx0", "host", NULL},
    {"mx0", "preference", NULL},
    /* names */
    {"", "status", "\"fine\""},
    {"", "reason", "\"maybe\""},
    {"", "status", "\"undeliverable\""}, /* not accepted's status */
    {"", "status", "\"Deliverable\""},
    {"smtp", "stage", "\"data\""},
    /* types */
    {"", "email", "null"},
    {"", "email", "1"},
    {"", "address", "[]"},
    {"", "status", "null"},
    {"", "reason", "1"},
    {"", "mx", "null"},
    {"", "mx", "{}"},
    {"", "mx", "[1]"},
    {"", "catch_all", "\"yes\""},
    {"", "catch_all", "0"},
    {"", "disposable", "null"},
    {"", "disposable", "1"},
    {"", "cached", "\"true\""},
    {"", "smtp", "[]"},
    {"", "smtp", "true"},
    {"", "checked_at", "1795341600"},
    {"", "duration_ms", "\"1\""},
    {"", "duration_ms", "1.5"},
    {"smtp", "tls", "null"},
    {"smtp", "code", "\"250\""},
    {"mx0", "preference", "\"10\""},
    {"mx0", "host", "null"},
    /* ranges */
    {"", "duration_ms", "-1"},
    {"", "duration_ms", "4294967296"},
    {"", "retry_after", "0"},
    {"", "retry_after", "-5"},
    {"", "retry_after", "4294967296"},
    {"smtp", "code", "99"},
    {"smtp", "code", "1000"},
    {"smtp", "code", "0"},
    {"mx0", "preference", "65536"},
    {"mx0", "preference", "-1"},
    {"", "mx",
     "[{\"host\":\"a\",\"preference\":1},{\"host\":\"a\",\"preference\":1},"
     "{\"host\":\"a\",\"preference\":1},{\"host\":\"a\",\"preference\":1},"
     "{\"host\":\"a\",\"preference\":1},{\"host\":\"a\",\"preference\":1}]"},
    /* strings the encoder writes as null or leaves out */
    {"", "address", "\"\""},
    {"", "domain", "\"\""},
    {"", "suggestion", "\"\""},
    {"", "message", "\"\""},
    {"smtp", "enhanced", "\"\""},
    /* instants */
    {"", "checked_at", "\"2026-02-30T10:00:00Z\""},
    {"", "checked_at", "\"2026-11-22T24:00:00Z\""},
    {"", "checked_at", "\"2026-11-22 10:00:00Z\""},
    {"", "checked_at", "\"2026-11-22T10:00:00+00:00\""},
    {"", "checked_at", "\"2026-11-22T10:00:00.5Z\""},
    {"", "checked_at", "\"2026-11-22T10:00:0xZ\""},
    {"", "checked_at", "\"\""},
};

/* mutated - the full verdict's JSON with @m applied, as text. */
static char *mutated(const struct mutation *m)
{
	struct verdict v;
	full(&v);
	json_t *o = verdict_to_json(&v), *target = o;

	if (strcmp(m->where, "smtp") == 0)
		target = json_object_get(o, "smtp");
	else if (strcmp(m->where, "mx0") == 0)
		target = json_array_get(json_object_get(o, "mx"), 0);
	ck_assert_ptr_nonnull(target);
	if (m->value == NULL)
		ck_assert_int_eq(json_object_del(target, m->key), 0);
	else {
		json_error_t err;
		json_t *val = json_loads(m->value, JSON_DECODE_ANY, &err);
		ck_assert_ptr_nonnull(val);
		json_object_set_new(target, m->key, val);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

START_TEST(refuses_mutation)
{
	const struct mutation *m = &mutations[_i];
	struct verdict out;
	memset(&out, 0x5a, sizeof(out));
	char *s = mutated(m);

	ck_assert_msg(verdict_from_json(s, strlen(s), &out) == -1,
		      "accepted %s.%s=%s: %s", m->where, m->key,
		      m->value ? m->value : "(deleted)", s);
	/* *out untouched on failure */
	ck_assert_int_eq(((unsigned char *)&out)[0], 0x5a);
	ck_assert_int_eq(((unsigned char *)&out)[sizeof(out) - 1], 0x5a);
	free(s);
}
END_TEST

/* The unmutated text is accepted: the mutations above are what fails. */
START_TEST(control_is_accepted)
{
	struct mutation keep = {"", "cached", "false"};
	struct verdict out;
	char *s = mutated(&keep);
	ck_assert_int_eq(verdict_from_json(s, strlen(s), &out), 0);
	ck_assert_str_eq(out.smtp.message, "OK \"quoted\"");
	free(s);
}
END_TEST

/* field_overflow - a string one octet past its field. */
static const struct overflow {
	const char *where, *key;
	size_t fits; /* longest accepted */
} overflows[] = {
    {"", "email", VERDICT_EMAIL_MAX},
    {"", "address", VERDICT_ADDRESS_MAX},
    {"", "domain", VERDICT_DOMAIN_MAX + 2},
    {"", "message", VERDICT_MESSAGE_MAX},
    {"", "suggestion", VERDICT_ADDRESS_MAX},
    {"mx0", "host", VERDICT_HOST_MAX},
    {"smtp", "host", VERDICT_HOST_MAX},
    {"smtp", "ip", VERDICT_IP_MAX - 1},
    {"smtp", "enhanced", 15},
    {"smtp", "message", VERDICT_REPLY_MAX},
};

START_TEST(refuses_overflow)
{
	const struct overflow *f = &overflows[_i];
	char value[VERDICT_REPLY_MAX + 8];
	struct verdict out;

	for (size_t n = f->fits; n <= f->fits + 1; n++) {
		value[0] = '"';
		memset(value + 1, 'x', n);
		snprintf(value + 1 + n, 2 + 1, "\"");
		struct mutation m = {f->where, f->key, value};
		char *s = mutated(&m);
		ck_assert_int_eq(verdict_from_json(s, strlen(s), &out),
				 n == f->fits ? 0 : -1);
		free(s);
	}
}
END_TEST

static const struct raw {
	const char *text;
	size_t len; /* 0: strlen */
} raws[] = {
    {"", 0},
    {"null", 0},
    {"[]", 0},
    {"\"x\"", 0},
    {"{", 0},
    {"{}", 0},
    {"{\"email\":\"a\\u0000b\"}", 0},
    {"{\"email\":\"\xff\"}", 0},
};

START_TEST(refuses_raw)
{
	struct verdict out;
	const char *t = raws[_i].text;
	ck_assert_int_eq(
	    verdict_from_json(t, raws[_i].len ? raws[_i].len : strlen(t), &out),
	    -1);
}
END_TEST

START_TEST(refuses_text_around)
{
	struct verdict v, out;
	full(&v);
	char *s = verdict_json_dumps(&v);
	size_t n = strlen(s);
	char *buf = malloc(n + 64);

	/* trailing garbage, and a duplicated member */
	snprintf(buf, n + 64, "%s x", s);
	ck_assert_int_eq(verdict_from_json(buf, strlen(buf), &out), -1);
	snprintf(buf, n + 64, "{\"cached\":true,%s", s + 1);
	ck_assert_int_eq(verdict_from_json(buf, strlen(buf), &out), -1);
	/* a prefix is not the whole */
	ck_assert_int_eq(verdict_from_json(s, n - 1, &out), -1);
	/* white space around is JSON's own business: accepted */
	snprintf(buf, n + 64, " \n%s\n", s);
	ck_assert_int_eq(verdict_from_json(buf, strlen(buf), &out), 0);
	ck_assert_int_eq(verdict_from_json(NULL, 0, &out), -1);
	free(buf);
	free(s);

	/* over the ceiling, even if it were valid JSON */
	buf = malloc(VERDICT_JSON_MAX + 2);
	memset(buf, ' ', VERDICT_JSON_MAX + 1);
	n = strlen("{}");
	memcpy(buf, "{}", n);
	ck_assert_int_eq(verdict_from_json(buf, VERDICT_JSON_MAX + 1, &out),
			 -1);
	free(buf);
}
END_TEST

Suite *verdict_decode_suite(void)
{
	Suite *s = suite_create("verdict_decode");
	TCase *t = tcase_create("round_trip");
	tcase_add_test(t, full_round_trip);
	tcase_add_test(t, invalid_syntax_round_trip);
	tcase_add_loop_test(t, every_reason, 0, REASON_LAST);
	tcase_add_test(t, worst_case_fits);
	suite_add_tcase(s, t);
	t = tcase_create("refuses");
	tcase_add_loop_test(t, refuses_mutation, 0,
			    sizeof(mutations) / sizeof(mutations[0]));
	tcase_add_test(t, control_is_accepted);
	tcase_add_loop_test(t, refuses_overflow, 0,
			    sizeof(overflows) / sizeof(overflows[0]));
	tcase_add_loop_test(t, refuses_raw, 0, sizeof(raws) / sizeof(raws[0]));
	tcase_add_test(t, refuses_text_around);
	suite_add_tcase(s, t);
	return s;
}
