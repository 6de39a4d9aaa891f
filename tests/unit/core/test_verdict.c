/* test_verdict - reasons, statuses and the UTF-8-safe text copy. */
#include <check.h>
#include <string.h>

#include "core/verdict.h"

/* Every reason of DESIGN.md's table with its status. */
static const struct {
	const char *reason;
	const char *status;
} taxonomy[] = {
    {"accepted", "deliverable"},
    {"invalid_syntax", "undeliverable"},
    {"no_such_domain", "undeliverable"},
    {"null_mx", "undeliverable"},
    {"no_mail_server", "undeliverable"},
    {"mailbox_not_found", "undeliverable"},
    {"mailbox_disabled", "undeliverable"},
    {"catch_all", "risky"},
    {"mailbox_full", "risky"},
    {"disposable", "risky"},
    {"greylisted", "unknown"},
    {"timeout", "unknown"},
    {"connect_failed", "unknown"},
    {"policy_rejected", "unknown"},
    {"tls_required", "unknown"},
    {"protocol_error", "unknown"},
    {"blocked_target", "unknown"},
    {"rate_limited", "unknown"},
    {"dns_error", "unknown"},
    {"in_progress", "unknown"},
    {"not_checked", "unknown"},
};

START_TEST(reason_belongs_to_its_status)
{
	int r = verdict_reason_from_name(taxonomy[_i].reason);
	ck_assert_int_ge(r, 0);
	ck_assert_str_eq(verdict_reason_name(r), taxonomy[_i].reason);
	ck_assert_str_eq(verdict_status_name(verdict_reason_status(r)),
			 taxonomy[_i].status);

	struct verdict v;
	verdict_init(&v, "a@b", 3);
	verdict_set(&v, r);
	ck_assert_int_eq(v.reason, r);
	ck_assert_str_eq(verdict_status_name(v.status), taxonomy[_i].status);
}
END_TEST

START_TEST(names_cover_every_value)
{
	ck_assert_int_eq(sizeof(taxonomy) / sizeof(taxonomy[0]), REASON_LAST);
	for (int s = 0; s < VERDICT_STATUS_LAST; s++)
		ck_assert_int_eq(
		    verdict_status_from_name(verdict_status_name(s)), s);
	ck_assert_ptr_null(verdict_reason_name(REASON_LAST));
	ck_assert_ptr_null(verdict_status_name(VERDICT_STATUS_LAST));
	ck_assert_int_eq(verdict_reason_from_name("nope"), -1);
	ck_assert_str_eq(smtp_stage_name(SMTP_STAGE_RCPT), "rcpt");
	ck_assert_str_eq(smtp_stage_name(SMTP_STAGE_CONNECT), "connect");
}
END_TEST

START_TEST(init_defaults)
{
	struct verdict v;
	verdict_init(&v, "Alice@Example.COM", 17);
	ck_assert_str_eq(v.email, "Alice@Example.COM");
	ck_assert(!v.email_truncated);
	ck_assert_int_eq(v.status, VERDICT_UNKNOWN);
	ck_assert_int_eq(v.reason, REASON_NOT_CHECKED);
	ck_assert_int_eq(v.catch_all, TRI_UNKNOWN);
	ck_assert(!v.smtp.present);
}
END_TEST

/* (input, keep_controls, expected) */
static const struct {
	const char *in;
	size_t len;
	bool keep;
	const char *out;
} copies[] = {
    {"plain", 5, true, "plain"},
    {"b\xC3\xBC"
     "cher",
     7, true,
     "b\xC3\xBC"
     "cher"},
    {"a\xFF"
     "b",
     3, true,
     "a\xEF\xBF\xBD"
     "b"},
    {"nul\0x", 5, true, "nul\xEF\xBF\xBDx"},
    {"cr\r\n", 4, true, "cr\r\n"},
    {"cr\r\n", 4, false, "cr\xEF\xBF\xBD\xEF\xBF\xBD"},
    {"tab\t", 4, false, "tab\t"},
    {"\xC0\xAF", 2, true, "\xEF\xBF\xBD\xEF\xBF\xBD"}, /* overlong */
    {"\xED\xA0\x80", 3, true,
     "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
    {"\xF4\x90\x80\x80", 4, true,
     "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* > U+10FFFF */
    {"\xE2\x82", 2, true, "\xEF\xBF\xBD\xEF\xBF\xBD"},	  /* truncated */
    {"\xF0\x9F\x98\x80", 4, true, "\xF0\x9F\x98\x80"},	  /* emoji */
};

START_TEST(copy_text_table)
{
	char out[64];
	bool all = verdict_copy_text(out, sizeof(out), copies[_i].in,
				     copies[_i].len, copies[_i].keep);
	ck_assert(all);
	ck_assert_str_eq(out, copies[_i].out);
}
END_TEST

START_TEST(copy_text_cuts_on_character_boundary)
{
	char out[6];
	/* "aü€" = 1 + 2 + 3 octets: only "aü" fits in 5 + NUL. */
	bool all = verdict_copy_text(out, sizeof(out), "a\xC3\xBC\xE2\x82\xAC",
				     6, true);
	ck_assert(!all);
	ck_assert_str_eq(out, "a\xC3\xBC");

	struct verdict v;
	char big[1000];
	memset(big, 'x', sizeof(big));
	verdict_init(&v, big, sizeof(big));
	ck_assert(v.email_truncated);
	ck_assert_uint_eq(strlen(v.email), VERDICT_EMAIL_MAX);
}
END_TEST

Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *t = tcase_create("taxonomy");
	tcase_add_loop_test(t, reason_belongs_to_its_status, 0,
			    sizeof(taxonomy) / sizeof(taxonomy[0]));
	tcase_add_test(t, names_cover_every_value);
	tcase_add_test(t, init_defaults);
	suite_add_tcase(s, t);
	t = tcase_create("copy_text");
	tcase_add_loop_test(t, copy_text_table, 0,
			    sizeof(copies) / sizeof(copies[0]));
	tcase_add_test(t, copy_text_cuts_on_character_boundary);
	suite_add_tcase(s, t);
	return s;
}
