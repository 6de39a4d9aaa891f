/* test_redis_url - the --redis URL grammar: one row per form accepted or
 * refused, with the exact fields expected. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/redis_url.h"

static const struct good {
	const char *url;
	enum redis_url_kind kind;
	const char *host; /* or the path for unix:// */
	bool host_is_ip;
	unsigned port;
	const char *user;
	const char *password;
	bool has_password;
	unsigned db;
	const char *display;
} good[] = {
    {"redis://127.0.0.1", REDIS_URL_TCP, "127.0.0.1", true, 6379, "", "", false,
     0, "redis://127.0.0.1:6379"},
    {"redis://127.0.0.1:6380/", REDIS_URL_TCP, "127.0.0.1", true, 6380, "", "",
     false, 0, "redis://127.0.0.1:6380"},
    {"redis://localhost:6379/2", REDIS_URL_TCP, "localhost", false, 6379, "",
     "", false, 2, "redis://localhost:6379/2"},
    {"redis://:s3cret@redis:6379/0", REDIS_URL_TCP, "redis", false, 6379, "",
     "s3cret", true, 0, "redis://redis:6379"},
    {"redis://app:pw@cache.example.net:7000/15", REDIS_URL_TCP,
     "cache.example.net", false, 7000, "app", "pw", true, 15,
     "redis://cache.example.net:7000/15"},
    {"redis://:p%40ss%3Aw%2Fd@h", REDIS_URL_TCP, "h", false, 6379, "",
     "p@ss:w/d", true, 0, "redis://h:6379"},
    {"redis://:a@b@h", REDIS_URL_TCP, "h", false, 6379, "", "a@b", true, 0,
     "redis://h:6379"},
    {"redis://:@h", REDIS_URL_TCP, "h", false, 6379, "", "", true, 0,
     "redis://h:6379"},
    {"redis://[::1]:6390/1", REDIS_URL_TCP, "::1", true, 6390, "", "", false, 1,
     "redis://[::1]:6390/1"},
    {"redis://[2001:db8::5]", REDIS_URL_TCP, "2001:db8::5", true, 6379, "", "",
     false, 0, "redis://[2001:db8::5]:6379"},
    {"redis://my_redis-1", REDIS_URL_TCP, "my_redis-1", false, 6379, "", "",
     false, 0, "redis://my_redis-1:6379"},
    {"redis://h:65535/1000000", REDIS_URL_TCP, "h", false, 65535, "", "", false,
     1000000, "redis://h:65535/1000000"},
    {"unix:///run/redis/redis.sock", REDIS_URL_UNIX, "/run/redis/redis.sock",
     false, 0, "", "", false, 0, "unix:///run/redis/redis.sock"},
    {"unix:///tmp/r.sock?db=3", REDIS_URL_UNIX, "/tmp/r.sock", false, 0, "", "",
     false, 3, "unix:///tmp/r.sock?db=3"},
    {"unix://:pw@/tmp/r.sock", REDIS_URL_UNIX, "/tmp/r.sock", false, 0, "",
     "pw", true, 0, "unix:///tmp/r.sock"},
    {"unix:///tmp/a%20b.sock", REDIS_URL_UNIX, "/tmp/a b.sock", false, 0, "",
     "", false, 0, "unix:///tmp/a b.sock"},
};

START_TEST(accepts)
{
	const struct good *g = &good[_i];
	struct redis_url u;
	char err[256] = "", disp[300];

	ck_assert_msg(redis_url_parse(g->url, &u, err, sizeof(err)) == 0,
		      "%s: %s", g->url, err);
	ck_assert_int_eq(u.kind, g->kind);
	if (g->kind == REDIS_URL_TCP) {
		ck_assert_str_eq(u.host, g->host);
		ck_assert_int_eq(u.host_is_ip, g->host_is_ip);
		ck_assert_uint_eq(u.port, g->port);
	} else
		ck_assert_str_eq(u.path, g->host);
	ck_assert_str_eq(u.user, g->user);
	ck_assert_str_eq(u.password, g->password);
	ck_assert_int_eq(u.has_password, g->has_password);
	ck_assert_uint_eq(u.db, g->db);
	redis_url_display(&u, disp, sizeof(disp));
	ck_assert_str_eq(disp, g->display);
}
END_TEST

static const struct bad {
	const char *url;
	const char *err; /* a substring of the sentence */
} bad[] = {
    {"", "neither"},
    {"localhost:6379", "neither"},
    {"http://h", "neither"},
    {"rediss://h", "TLS"},
    {"redis://", "host is empty"},
    {"redis://:6379", "host is empty"},
    {"redis://h:", "port"},
    {"redis://h:0", "port"},
    {"redis://h:65536", "port"},
    {"redis://h:-1", "port"},
    {"redis://h:63x", "port"},
    {"redis://h/x", "database"},
    {"redis://h/-1", "database"},
    {"redis://h/1000001", "database"},
    {"redis://h/1/2", "database"},
    {"redis://h?db=1", "query"},
    {"redis://h#frag", "'#'"},
    {"redis://h o", "white space"},
    {"redis://h\r\n", "control"},
    {"redis://h\xc3\xa9", "non-ASCII"},
    {"redis://bad..name", "not a host name"},
    {"redis://-x.", "not a host name"},
    {"redis://a/b@c", "database"},
    {"redis://h!x", "not a host name"},
    {"redis://127.1", "IPv4"},
    {"redis://999.0.0.1", "IPv4"},
    {"redis://[::1", "without ']'"},
    {"redis://[::1]x", "after the IPv6"},
    {"redis://[zz::1]", "IPv6"},
    {"redis://[]", "IPv6"},
    {"redis://secret@h", "ambiguous"},
    {"redis://:a%2@h", "escape"},
    {"redis://:a%zz@h", "escape"},
    {"redis://:a%00b@h", "control"},
    {"redis://:a%0d%0aFLUSHALL@h", "control"},
    {"unix://", "absolute path"},
    {"unix://host/path", "no host"},
    {"unix:///", "empty"},
    {"unix:///tmp/s?x=1", "?db="},
    {"unix:///tmp/s?db=a", "database"},
    {"unix:///tmp/"
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "01234567890123456789012345678901234567890",
     "too long"},
};

START_TEST(refuses)
{
	const struct bad *b = &bad[_i];
	struct redis_url u;
	char err[256] = "";

	ck_assert_msg(redis_url_parse(b->url, &u, err, sizeof(err)) == -1,
		      "accepted: %s", b->url);
	ck_assert_msg(strstr(err, b->err) != NULL, "%s: '%s' lacks '%s'",
		      b->url, err, b->err);
	ck_assert_msg(strncmp(err, "redis URL: ", 11) == 0, "%s", err);
}
END_TEST

START_TEST(ceilings)
{
	char url[REDIS_URL_MAX + 2], err[256];
	struct redis_url u;

	/* One octet over the URL ceiling. */
	memset(url, 'a', sizeof(url) - 1);
	memcpy(url, "redis://", 8);
	url[sizeof(url) - 1] = '\0';
	ck_assert_int_eq(redis_url_parse(url, &u, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));

	/* A password of exactly the ceiling fits; one more does not. */
	int n = snprintf(url, sizeof(url), "redis://:");
	memset(url + n, 'p', REDIS_URL_PASSWORD_MAX);
	snprintf(url + n + REDIS_URL_PASSWORD_MAX, 4, "@h");
	ck_assert_int_eq(redis_url_parse(url, &u, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(u.password), REDIS_URL_PASSWORD_MAX);
	memset(url + n, 'p', REDIS_URL_PASSWORD_MAX + 1);
	snprintf(url + n + REDIS_URL_PASSWORD_MAX + 1, 4, "@h");
	ck_assert_int_eq(redis_url_parse(url, &u, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "password is too long"));

	/* A 64-octet label is not a host name; 63 is. */
	char label[80];
	memset(label, 'x', 63);
	snprintf(label + 63, sizeof(label) - 63, ".y");
	snprintf(url, sizeof(url), "redis://%s", label);
	ck_assert_int_eq(redis_url_parse(url, &u, err, sizeof(err)), 0);
	memset(label, 'x', 64);
	snprintf(label + 64, sizeof(label) - 64, ".y");
	snprintf(url, sizeof(url), "redis://%s", label);
	ck_assert_int_eq(redis_url_parse(url, &u, err, sizeof(err)), -1);
}
END_TEST

Suite *redis_url_suite(void)
{
	Suite *s = suite_create("redis_url");
	TCase *t = tcase_create("accepts");
	tcase_add_loop_test(t, accepts, 0, sizeof(good) / sizeof(good[0]));
	suite_add_tcase(s, t);
	t = tcase_create("refuses");
	tcase_add_loop_test(t, refuses, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, t);
	t = tcase_create("ceilings");
	tcase_add_test(t, ceilings);
	suite_add_tcase(s, t);
	return s;
}
