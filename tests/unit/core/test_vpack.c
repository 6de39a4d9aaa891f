/* test_vpack - the compact in-process form of a verdict: every member
 * round-trips, and a form it did not write is refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vpack.h"

static void sample(struct verdict *v)
{
	verdict_init(v, "A\r\"b\"@Example.COM", 18);
	v->email_truncated = true;
	snprintf(v->address, sizeof(v->address), "A\"b\"@example.com");
	snprintf(v->domain, sizeof(v->domain), "example.com");
	verdict_set(v, REASON_GREYLISTED);
	snprintf(v->message, sizeof(v->message), "why");
	v->mx_count = 2;
	snprintf(v->mx[0].host, sizeof(v->mx[0].host), "mx1.example.com");
	v->mx[0].preference = 10;
	snprintf(v->mx[1].host, sizeof(v->mx[1].host), "mx2.example.com");
	v->mx[1].preference = 70000;
	v->catch_all = TRI_TRUE;
	v->disposable = v->free_provider = v->role_account = true;
	snprintf(v->suggestion, sizeof(v->suggestion), "ab@example.com");
	v->smtp.present = true;
	snprintf(v->smtp.host, sizeof(v->smtp.host), "mx1.example.com");
	snprintf(v->smtp.ip, sizeof(v->smtp.ip), "2001:db8::1");
	v->smtp.stage = SMTP_STAGE_RCPT;
	v->smtp.code = 451;
	snprintf(v->smtp.enhanced, sizeof(v->smtp.enhanced), "4.7.1");
	snprintf(v->smtp.message, sizeof(v->smtp.message), "try later");
	v->smtp.tls = true;
	v->retry_after = 300;
	v->cached = true;
	v->checked_at = -5;
	v->duration_ms = 4294967295u;
}

/* equal - every member, the text fields as strings. */
static void equal(const struct verdict *a, const struct verdict *b)
{
	ck_assert_str_eq(a->email, b->email);
	ck_assert_int_eq(a->email_truncated, b->email_truncated);
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
	ck_assert_str_eq(a->smtp.host, b->smtp.host);
	ck_assert_str_eq(a->smtp.ip, b->smtp.ip);
	ck_assert_int_eq(a->smtp.stage, b->smtp.stage);
	ck_assert_int_eq(a->smtp.code, b->smtp.code);
	ck_assert_str_eq(a->smtp.enhanced, b->smtp.enhanced);
	ck_assert_str_eq(a->smtp.message, b->smtp.message);
	ck_assert_int_eq(a->smtp.tls, b->smtp.tls);
	ck_assert_uint_eq(a->retry_after, b->retry_after);
	ck_assert_int_eq(a->cached, b->cached);
	ck_assert_int_eq(a->checked_at, b->checked_at);
	ck_assert_uint_eq(a->duration_ms, b->duration_ms);
}

START_TEST(round_trip)
{
	struct verdict v, back;
	char buf[VPACK_MAX];
	sample(&v);
	size_t n = vpack_encode(&v, buf);
	ck_assert_uint_eq(n, vpack_size(&v));
	ck_assert_uint_lt(n, 400); /* the point of packing */
	ck_assert_int_eq(vpack_decode(buf, n, &back), 0);
	equal(&v, &back);

	verdict_init(&v, "", 0); /* the empty verdict */
	n = vpack_encode(&v, buf);
	ck_assert_int_eq(vpack_decode(buf, n, &back), 0);
	equal(&v, &back);
}
END_TEST

START_TEST(every_field_full)
{
	struct verdict v, back;
	char *buf = malloc(VPACK_MAX);
	sample(&v);
	memset(v.email, 'e', VERDICT_EMAIL_MAX);
	memset(v.address, 'a', VERDICT_ADDRESS_MAX);
	memset(v.domain, 'd', sizeof(v.domain) - 1);
	memset(v.message, 'm', VERDICT_MESSAGE_MAX);
	memset(v.suggestion, 's', VERDICT_ADDRESS_MAX);
	v.mx_count = VERDICT_MX_MAX;
	for (int i = 0; i < VERDICT_MX_MAX; i++)
		memset(v.mx[i].host, 'h', VERDICT_HOST_MAX);
	memset(v.smtp.host, 'H', VERDICT_HOST_MAX);
	memset(v.smtp.ip, 'i', VERDICT_IP_MAX - 1);
	memset(v.smtp.enhanced, 'x', sizeof(v.smtp.enhanced) - 1);
	memset(v.smtp.message, 'M', VERDICT_REPLY_MAX);
	size_t n = vpack_encode(&v, buf);
	ck_assert_uint_le(n, VPACK_MAX);
	ck_assert_int_eq(vpack_decode(buf, n, &back), 0);
	equal(&v, &back);
	ck_assert_uint_eq(strlen(back.smtp.message), VERDICT_REPLY_MAX);
	free(buf);
}
END_TEST

START_TEST(refuses_foreign_forms)
{
	struct verdict v, back;
	char buf[VPACK_MAX];
	sample(&v);
	size_t n = vpack_encode(&v, buf);

	memset(&back, 0x5a, sizeof(back));
	/* every truncation, and one octet too many */
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(vpack_decode(buf, i, &back), -1);
	ck_assert_int_eq(vpack_decode(buf, n + 1, &back), -1);
	ck_assert_int_eq(((unsigned char *)&back)[0], 0x5a); /* untouched */
	/* a damaged head: the reason octet is the one after the lengths;
	 * find it by flipping each head octet and expecting no crash, and
	 * at least one refusal */
	int refused = 0;
	for (size_t i = 0; i < 64 && i < n; i++) {
		char copy[VPACK_MAX];
		memcpy(copy, buf, n);
		copy[i] = (char)0xff;
		refused += vpack_decode(copy, n, &back) == -1;
	}
	ck_assert_int_gt(refused, 0);
}
END_TEST

Suite *vpack_suite(void)
{
	Suite *s = suite_create("vpack");
	TCase *t = tcase_create("vpack");
	tcase_add_test(t, round_trip);
	tcase_add_test(t, every_field_full);
	tcase_add_test(t, refuses_foreign_forms);
	suite_add_tcase(s, t);
	return s;
}
