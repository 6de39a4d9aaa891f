/* test_reqparse - request body, query and Content-Type checks. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/reqparse.h"

static const struct {
	const char *body;
	int rc;
	unsigned count;
	bool batch;
} bodies[] = {
    {"{\"email\":\"a@b.example\"}", REQPARSE_OK, 1, false},
    {"{\"emails\":[\"a@b.example\",\"c@d.example\"]}", REQPARSE_OK, 2, true},
    {"{\"email\":\"a@b.example\",\"extra\":{\"x\":[1]}}", REQPARSE_OK, 1,
     false},
    {"{\"email\":\"a\\r\\nb@c.example\"}", REQPARSE_OK, 1, false},
    {"  {\"email\":\"\"}  ", REQPARSE_OK, 1, false},
    {"{\"email\":\"a@b.example\",\"fresh\":true}", REQPARSE_OK, 1, false},
    {"", REQPARSE_BAD, 0, false},
    {"{", REQPARSE_BAD, 0, false},
    {"{\"email\":\"a@b.example\"", REQPARSE_BAD, 0, false},
    {"[\"a@b.example\"]", REQPARSE_BAD, 0, false},
    {"\"a@b.example\"", REQPARSE_BAD, 0, false},
    {"{}", REQPARSE_BAD, 0, false},
    {"{\"email\":1}", REQPARSE_BAD, 0, false},
    {"{\"email\":null}", REQPARSE_BAD, 0, false},
    {"{\"email\":[\"a@b.example\"]}", REQPARSE_BAD, 0, false},
    {"{\"emails\":\"a@b.example\"}", REQPARSE_BAD, 0, false},
    {"{\"emails\":[]}", REQPARSE_BAD, 0, false},
    {"{\"emails\":[\"a@b.example\",2]}", REQPARSE_BAD, 0, false},
    {"{\"email\":\"a\",\"emails\":[\"b\"]}", REQPARSE_BAD, 0, false},
    {"{\"email\":\"a\",\"email\":\"b\"}", REQPARSE_BAD, 0, false},
    {"{\"email\":\"a\\u0000b@c.example\"}", REQPARSE_BAD, 0, false},
    {"{\"email\":\"a\xff@b.example\"}", REQPARSE_BAD, 0, false},
    {"{\"email\":\"a@b.example\",\"fresh\":\"yes\"}", REQPARSE_BAD, 0, false},
    {"{\"a\":[[[[[[[[[1]]]]]]]]],\"email\":\"x\"}", REQPARSE_BAD, 0, false},
    {"{\"emails\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}", REQPARSE_TOO_MANY, 0,
     false},
};

START_TEST(body_table)
{
	struct reqparse_body b;
	char msg[REQPARSE_MSG_MAX];
	int rc = reqparse_json(bodies[_i].body, strlen(bodies[_i].body), 4, &b,
			       msg, sizeof(msg));

	ck_assert_msg(rc == bodies[_i].rc, "%s: rc %d, want %d (%s)",
		      bodies[_i].body, rc, bodies[_i].rc, msg);
	if (rc == REQPARSE_OK) {
		ck_assert_uint_eq(b.count, bodies[_i].count);
		ck_assert(b.batch == bodies[_i].batch);
		reqparse_release(&b);
	} else
		ck_assert(msg[0] != '\0');
}
END_TEST

START_TEST(body_values)
{
	const char body[] = "{\"emails\":[\"a@b.example\",\"x\\u00e9@y\"],"
			    "\"fresh\":false,\"transcript\":true}";
	struct reqparse_body b;
	char msg[REQPARSE_MSG_MAX];

	ck_assert_int_eq(
	    reqparse_json(body, sizeof(body) - 1, 100, &b, msg, sizeof(msg)),
	    REQPARSE_OK);
	ck_assert_str_eq(b.emails[0], "a@b.example");
	ck_assert_uint_eq(b.lens[0], 11);
	ck_assert_str_eq(b.emails[1], "x\xc3\xa9@y");
	ck_assert_uint_eq(b.lens[1], 5);
	ck_assert_int_eq(b.fresh, 0);
	ck_assert_int_eq(b.transcript, 1);
	reqparse_release(&b);
}
END_TEST

START_TEST(depth)
{
	char deep[100000];

	memset(deep, '[', sizeof(deep));
	ck_assert_uint_eq(reqparse_depth("{\"a\":[1,{\"b\":2}]}", 17, 8), 3);
	ck_assert_uint_eq(reqparse_depth("\"[[[[\"", 6, 8), 0);
	ck_assert_uint_eq(reqparse_depth("[\"\\\"[[\"]", 8, 8), 1);
	/* Counting stops one past the limit. */
	ck_assert_uint_eq(reqparse_depth(deep, sizeof(deep), 8), 9);
}
END_TEST

static const struct {
	const char *s;
	bool ok;
} utf8[] = {
    {"plain", true},
    {"\xc3\xa9", true},
    {"\xe2\x82\xac", true},
    {"\xf0\x9f\x98\x80", true},
    {"\xc3", false},
    {"\xc0\xaf", false},	 /* overlong '/' */
    {"\xe0\x80\xaf", false},	 /* overlong */
    {"\xed\xa0\x80", false},	 /* surrogate */
    {"\xf4\x90\x80\x80", false}, /* above U+10FFFF */
    {"\x80", false},
    {"\xff", false},
};

START_TEST(utf8_table)
{
	ck_assert_msg(reqparse_utf8(utf8[_i].s, strlen(utf8[_i].s)) ==
			  utf8[_i].ok,
		      "row %d", _i);
}
END_TEST

START_TEST(flags_and_wait)
{
	bool b;
	unsigned ms;

	ck_assert_int_eq(reqparse_flag("1", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(reqparse_flag("TRUE", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(reqparse_flag("", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(reqparse_flag(NULL, &b), 0);
	ck_assert(b);
	ck_assert_int_eq(reqparse_flag("0", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(reqparse_flag("off", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(reqparse_flag("2", &b), -1);

	ck_assert_int_eq(reqparse_wait("250ms", 5000, &ms), 0);
	ck_assert_uint_eq(ms, 250);
	ck_assert_int_eq(reqparse_wait("2", 5000, &ms), 0);
	ck_assert_uint_eq(ms, 2000);
	ck_assert_int_eq(reqparse_wait("1h", 5000, &ms), 0);
	ck_assert_uint_eq(ms, 5000);
	ck_assert_int_eq(reqparse_wait("0", 5000, &ms), 0);
	ck_assert_uint_eq(ms, 0);
	ck_assert_int_eq(reqparse_wait("-1", 5000, &ms), -1);
	ck_assert_int_eq(reqparse_wait("soon", 5000, &ms), -1);
	ck_assert_int_eq(reqparse_wait(NULL, 5000, &ms), -1);
}
END_TEST

static const struct {
	const char *ct;
	bool ok;
} types[] = {
    {"application/json", true},
    {"Application/JSON", true},
    {"application/json; charset=utf-8", true},
    {"application/json;charset=\"UTF-8\"", true},
    {"application/json ; charset=utf8", true},
    {"application/json; charset=iso-8859-1", false},
    {"application/jsonx", false},
    {"application/json-patch+json", false},
    {"text/plain", false},
    {"application/x-www-form-urlencoded", false},
    {"", false},
    {"application/json; charset", false},
};

START_TEST(content_types)
{
	ck_assert_msg(reqparse_json_type(types[_i].ct) == types[_i].ok, "%s",
		      types[_i].ct);
}
END_TEST

Suite *reqparse_suite(void)
{
	Suite *s = suite_create("reqparse");
	TCase *tc;

	tc = tcase_create("body");
	tcase_add_loop_test(tc, body_table, 0,
			    sizeof(bodies) / sizeof(bodies[0]));
	tcase_add_test(tc, body_values);
	tcase_add_test(tc, depth);
	suite_add_tcase(s, tc);
	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, utf8_table, 0, sizeof(utf8) / sizeof(utf8[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("query");
	tcase_add_test(tc, flags_and_wait);
	tcase_add_loop_test(tc, content_types, 0,
			    sizeof(types) / sizeof(types[0]));
	suite_add_tcase(s, tc);
	return s;
}
