/* test_config - flags, environment, config file, precedence, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"

static int load(struct config *c, char **argv, int argc, char **envp,
		int *first, char *err)
{
	return config_load(c, SCOPE_VERIFY, argc, argv, envp, first, err, 256);
}

START_TEST(defaults)
{
	struct config c;
	char err[256];
	int first;
	char *argv[] = {"a@b.example", NULL};

	ck_assert_int_eq(load(&c, argv, 1, NULL, &first, err), 0);
	ck_assert_str_eq(c.helo, "localhost");
	ck_assert_str_eq(c.mail_from, "");
	ck_assert_uint_eq(c.connect_timeout, 10000);
	ck_assert_uint_eq(c.per_host_concurrency, 2);
	ck_assert_uint_eq(c.dns_server.count, 0);
	ck_assert(!c.offline);
	ck_assert_int_eq(first, 0);
	config_release(&c);
}
END_TEST

START_TEST(flags_and_positionals)
{
	struct config c;
	char err[256];
	int first;
	char *argv[] = {"x@y.example",
			"--helo",
			"v.example",
			"--offline",
			"--dns-server",
			"1.2.3.4",
			"--dns-server=[::1]:53",
			"--connect-timeout=250ms",
			"--",
			"--not-a-flag@z.example",
			NULL};

	ck_assert_int_eq(load(&c, argv, 10, NULL, &first, err), 0);
	ck_assert_str_eq(c.helo, "v.example");
	ck_assert(c.offline);
	ck_assert_uint_eq(c.dns_server.count, 2);
	ck_assert_str_eq(c.dns_server.item[0], "1.2.3.4");
	ck_assert_str_eq(c.dns_server.item[1], "[::1]:53");
	ck_assert_uint_eq(c.connect_timeout, 250);
	ck_assert_int_eq(10 - first, 2);
	ck_assert_str_eq(argv[first], "x@y.example");
	ck_assert_str_eq(argv[first + 1], "--not-a-flag@z.example");
	config_release(&c);
}
END_TEST

START_TEST(precedence_flag_env_file_default)
{
	struct config c;
	char err[256], path[] = "/tmp/rcptd-config-XXXXXX";
	int first, fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char text[] = "# comment\nhelo = file.example\n"
			    "command-timeout = 2m\n"
			    "dns-server = 10.0.0.1, 10.0.0.2\n"
			    "mail-from = bounce@file.example\n";
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);

	char cfg[64];
	snprintf(cfg, sizeof(cfg), "RCPTD_CONFIG=%s", path);
	char *envp[] = {cfg, "RCPTD_HELO=env.example",
			"RCPTD_DNS_SERVER=192.0.2.53", NULL};
	char *argv[] = {"--helo", "flag.example", "a@b.example", NULL};

	ck_assert_int_eq(load(&c, argv, 3, envp, &first, err), 0);
	ck_assert_str_eq(c.helo, "flag.example"); /* flag wins */
	ck_assert_uint_eq(c.dns_server.count, 1); /* env list wins */
	ck_assert_str_eq(c.dns_server.item[0], "192.0.2.53");
	ck_assert_uint_eq(c.command_timeout, 120000); /* file */
	ck_assert_str_eq(c.mail_from, "bounce@file.example");
	ck_assert_uint_eq(c.banner_timeout, 30000); /* default */
	config_release(&c);

	char *argv2[] = {"a@b.example", NULL};
	char *envp2[] = {cfg, NULL};
	ck_assert_int_eq(load(&c, argv2, 1, envp2, &first, err), 0);
	ck_assert_str_eq(c.helo, "file.example");
	ck_assert_uint_eq(c.dns_server.count, 2);
	ck_assert_str_eq(c.dns_server.item[1], "10.0.0.2");
	config_release(&c);
	unlink(path);
}
END_TEST

/* Bad values: (argv[0], argv[1] or NULL, words the error must contain) */
static const struct {
	const char *a, *b, *why;
} bad[] = {
    {"--connect-timeout", "soon",
     "--connect-timeout (command line): 'soon' "
     "is not a duration"},
    {"--connect-timeout", "20m", "out of range"},
    {"--concurrency", "0",
     "--concurrency (command line): '0' is not a "
     "number from 1"},
    {"--concurrency", "12x", "is not a number"},
    {"--concurrency", "-1", "is not a number"},
    {"--offline=maybe", NULL, "is not true or false"},
    {"--log-format", "xml", "is not text or json"},
    {"--frobnicate", NULL, "unknown option '--frobnicate'"},
    {"-x", NULL, "unknown option '-x'"},
    {"--helo", NULL, "--helo needs a value"},
    {"--helo", "", "length must be 1 to 253"},
    {"--helo", "a\r\nb", "control character"},
    {"--listen", "127.0.0.1:1", "unknown option '--listen'"}, /* serve only */
};

START_TEST(bad_values_name_the_option)
{
	struct config c;
	char err[256];
	int first;
	char *argv[] = {(char *)bad[_i].a, (char *)bad[_i].b, NULL};

	ck_assert_int_eq(load(&c, argv, bad[_i].b ? 2 : 1, NULL, &first, err),
			 -1);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL, "error '%s' lacks '%s'",
		      err, bad[_i].why);
	config_release(&c);
}
END_TEST

START_TEST(bad_env_and_file_name_their_source)
{
	struct config c;
	char err[256], path[] = "/tmp/rcptd-config-XXXXXX";
	int first;
	char *argv[] = {NULL};
	char *envp[] = {"RCPTD_COMMAND_TIMEOUT=forever", NULL};

	ck_assert_int_eq(load(&c, argv, 0, envp, &first, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "--command-timeout (environment)"));
	config_release(&c);

	int fd = mkstemp(path);
	const char text[] = "helo = ok.example\nbogus = 1\n";
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), sizeof(text) - 1);
	close(fd);
	char cfg[80];
	snprintf(cfg, sizeof(cfg), "--config=%s", path);
	char *argv2[] = {cfg, NULL};
	ck_assert_int_eq(load(&c, argv2, 1, NULL, &first, err), -1);
	ck_assert_ptr_nonnull(strstr(err, ":2: unknown option 'bogus'"));
	config_release(&c);
	unlink(path);

	char *argv3[] = {"--config", "/nonexistent/rcptd.conf", NULL};
	ck_assert_int_eq(load(&c, argv3, 2, NULL, &first, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open /nonexistent"));
	config_release(&c);
}
END_TEST

START_TEST(durations)
{
	unsigned ms;
	ck_assert_int_eq(config_parse_duration("5", &ms), 0);
	ck_assert_uint_eq(ms, 5000);
	ck_assert_int_eq(config_parse_duration("250ms", &ms), 0);
	ck_assert_uint_eq(ms, 250);
	ck_assert_int_eq(config_parse_duration("2m", &ms), 0);
	ck_assert_uint_eq(ms, 120000);
	ck_assert_int_eq(config_parse_duration("1h", &ms), 0);
	ck_assert_uint_eq(ms, 3600000);
	ck_assert_int_eq(config_parse_duration("7d", &ms), 0);
	ck_assert_uint_eq(ms, 7u * 86400000);
	ck_assert_int_eq(config_parse_duration("50d", &ms), -1);
	ck_assert_int_eq(config_parse_duration("1w", &ms), -1);
	ck_assert_int_eq(config_parse_duration("", &ms), -1);
	ck_assert_int_eq(config_parse_duration("-5s", &ms), -1);
	ck_assert_int_eq(config_parse_duration("99999999999h", &ms), -1);
}
END_TEST

START_TEST(help)
{
	struct config c;
	char err[256];
	int first;
	char *argv[] = {"a@b", "--help", NULL};
	ck_assert_int_eq(load(&c, argv, 2, NULL, &first, err), 1);
	config_release(&c);
}
END_TEST

/* The options of `rcptd serve`: their defaults, and a bad value of each
 * kind refused with the option's name and source. */
START_TEST(serve_options)
{
	struct config c;
	char err[256];
	int first;
	char *none[] = {NULL};
	char *argv[] = {"--cors-origin",
			"https://a.example",
			"--cors-origin",
			"https://b.example",
			"--threads=4",
			"--rate-limit=20",
			"--access-log=off",
			"--cache-ttl-unknown=90s",
			NULL};
	char *envp[] = {"RCPTD_MAX_BODY=2048", "RCPTD_RATE_LIMIT=5", NULL};

	ck_assert_int_eq(config_load(&c, SCOPE_SERVE, 0, none, NULL, &first,
				     err, sizeof(err)),
			 0);
	ck_assert_uint_eq(c.request_timeout, 5000);
	ck_assert_uint_eq(c.max_body, 1048576);
	ck_assert_uint_eq(c.max_batch, 100);
	ck_assert_uint_eq(c.max_connections, 4096);
	ck_assert_uint_eq(c.max_connections_per_ip, 1024);
	ck_assert_uint_eq(c.idle_timeout, 15000);
	ck_assert_uint_eq(c.rate_limit, 0);
	ck_assert_uint_eq(c.threads, 1);
	ck_assert_str_eq(c.user, "");
	ck_assert(c.access_log);
	ck_assert_uint_eq(c.shutdown_timeout, 10000);
	ck_assert_uint_eq(c.cache_size, 100000);
	ck_assert_uint_eq(c.cache_ttl_positive, 7u * 86400000);
	ck_assert_uint_eq(c.cache_ttl_negative, 3u * 86400000);
	ck_assert_uint_eq(c.cache_ttl_unknown, 300000);
	ck_assert_uint_eq(c.redis_timeout, 250);
	config_release(&c);

	ck_assert_int_eq(config_load(&c, SCOPE_SERVE, 8, argv, envp, &first,
				     err, sizeof(err)),
			 0);
	ck_assert_uint_eq(c.cors_origin.count, 2);
	ck_assert_str_eq(c.cors_origin.item[1], "https://b.example");
	ck_assert_uint_eq(c.threads, 4);
	ck_assert_uint_eq(c.rate_limit, 20); /* the flag beats the env */
	ck_assert_uint_eq(c.max_body, 2048);
	ck_assert(!c.access_log);
	ck_assert_uint_eq(c.cache_ttl_unknown, 90000);
	config_release(&c);

	char *bad1[] = {"--max-batch=0", NULL};
	ck_assert_int_eq(config_load(&c, SCOPE_SERVE, 1, bad1, NULL, &first,
				     err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "--max-batch (command line): '0' is not a "
			      "number from 1 to 10000");
	config_release(&c);
	char *env2[] = {"RCPTD_IDLE_TIMEOUT=0s", NULL};
	ck_assert_int_eq(config_load(&c, SCOPE_SERVE, 0, none, env2, &first,
				     err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "--idle-timeout (environment)"));
	config_release(&c);
	/* serve's options are not verify's */
	char *bad3[] = {"--threads=2", NULL};
	ck_assert_int_eq(load(&c, bad3, 1, NULL, &first, err), -1);
	ck_assert_str_eq(err, "unknown option '--threads'");
	config_release(&c);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *t = tcase_create("sources");
	tcase_add_test(t, defaults);
	tcase_add_test(t, flags_and_positionals);
	tcase_add_test(t, precedence_flag_env_file_default);
	tcase_add_test(t, help);
	tcase_add_test(t, serve_options);
	suite_add_tcase(s, t);
	t = tcase_create("errors");
	tcase_add_loop_test(t, bad_values_name_the_option, 0,
			    sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(t, bad_env_and_file_name_their_source);
	tcase_add_test(t, durations);
	suite_add_tcase(s, t);
	return s;
}
