/* test_verdict_json - the JSON shape of DESIGN.md, to the byte. */
#include <check.h>
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

Suite *verdict_json_suite(void)
{
	Suite *s = suite_create("verdict_json");
	TCase *t = tcase_create("shape");
	tcase_add_test(t, full_verdict_golden);
	tcase_add_test(t, invalid_verdict_has_message_and_nulls);
	tcase_add_test(t, retry_after_and_invalid_utf8_input);
	suite_add_tcase(s, t);
	return s;
}
