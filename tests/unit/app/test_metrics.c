/* test_metrics - the registry's counters, histograms, shards and page. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/metrics.h"

/* has_line - the page holds exactly this line. */
static bool has_line(const char *page, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = page; (p = strstr(p, line)) != NULL; p++)
		if ((p == page || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

START_TEST(counters_and_shards)
{
	struct metrics *m = metrics_new(2);
	size_t len;
	char *page;

	ck_assert_ptr_nonnull(m);
	metrics_request(m, 0, METRICS_ROUTE_VERIFY, 200, 300);
	metrics_request(m, 1, METRICS_ROUTE_VERIFY, 200, 2000);
	metrics_request(m, 1, METRICS_ROUTE_VERIFY, 429, 100);
	metrics_request(m, 0, METRICS_ROUTE_OTHER, 418, 100);
	metrics_verdict(m, 0, REASON_INVALID_SYNTAX);
	metrics_verdict(m, 1, REASON_INVALID_SYNTAX);
	metrics_verdict(m, 1, REASON_IN_PROGRESS);
	metrics_probe(m, 0, 1200);
	metrics_gauges(m, 0, 3, 1);
	metrics_gauges(m, 1, 4, 0);
	page = metrics_render(m, "1.2.3", &len);
	ck_assert_ptr_nonnull(page);
	ck_assert_uint_eq(strlen(page), len);
	ck_assert(has_line(page, "rcptd_http_requests_total{route=\"verify\","
				 "code=\"200\"} 2"));
	ck_assert(has_line(page, "rcptd_http_requests_total{route=\"verify\","
				 "code=\"429\"} 1"));
	ck_assert(has_line(page, "rcptd_http_requests_total{route=\"other\","
				 "code=\"other\"} 1"));
	ck_assert(has_line(page, "rcptd_http_request_duration_seconds_bucket{"
				 "route=\"verify\",le=\"0.0005\"} 2"));
	ck_assert(has_line(page, "rcptd_http_request_duration_seconds_bucket{"
				 "route=\"verify\",le=\"0.0025\"} 3"));
	ck_assert(has_line(page, "rcptd_http_request_duration_seconds_bucket{"
				 "route=\"verify\",le=\"+Inf\"} 3"));
	ck_assert(has_line(page, "rcptd_http_request_duration_seconds_sum{"
				 "route=\"verify\"} 0.002400"));
	ck_assert(has_line(page, "rcptd_http_request_duration_seconds_count{"
				 "route=\"verify\"} 3"));
	ck_assert(has_line(page, "rcptd_verdicts_total{status="
				 "\"undeliverable\",reason=\"invalid_syntax\"}"
				 " 2"));
	ck_assert(has_line(page, "rcptd_verdicts_total{status=\"unknown\","
				 "reason=\"in_progress\"} 1"));
	ck_assert(
	    has_line(page, "rcptd_probe_duration_seconds_bucket{le=\"1\"} 0"));
	ck_assert(has_line(
	    page, "rcptd_probe_duration_seconds_bucket{le=\"2.5\"} 1"));
	ck_assert(has_line(page, "rcptd_probe_duration_seconds_sum 1.200000"));
	ck_assert(has_line(page, "rcptd_http_connections 7"));
	ck_assert(has_line(page, "rcptd_http_requests_waiting 1"));
	ck_assert(has_line(page, "rcptd_build_info{version=\"1.2.3\"} 1"));
	/* No cache reported: no cache family. */
	ck_assert_ptr_null(strstr(page, "rcptd_cache_lookups_total"));
	free(page);
	metrics_free(m);
}
END_TEST

START_TEST(collected)
{
	struct metrics *m = metrics_new(2);
	struct metrics_collected c = {.smtp_sessions = 5,
				      .smtp_session_errors = 2,
				      .probes = 9,
				      .probes_coalesced = 1,
				      .smtp_sessions_active = 3,
				      .probes_pending = 4,
				      .cache = true,
				      .cache_hits = {10, 2},
				      .cache_misses = {7, 5}};
	size_t len;
	char *page;

	metrics_set_collected(m, 0, &c);
	c.cache = false;
	c.smtp_sessions = 1;
	metrics_set_collected(m, 1, &c);
	page = metrics_render(m, "x", &len);
	ck_assert(has_line(page, "rcptd_smtp_sessions_total 6"));
	ck_assert(has_line(page, "rcptd_smtp_session_errors_total 4"));
	ck_assert(has_line(page, "rcptd_probes_total 18"));
	ck_assert(has_line(page, "rcptd_probes_pending 8"));
	ck_assert(has_line(page, "rcptd_cache_lookups_total{tier=\"l1\","
				 "result=\"hit\"} 20"));
	ck_assert(has_line(page, "rcptd_cache_lookups_total{tier=\"l2\","
				 "result=\"miss\"} 10"));
	free(page);
	metrics_free(m);
}
END_TEST

/* promtool - the Prometheus project's own linter agrees with the page;
 * skipped (passing) when promtool is not installed. */
START_TEST(promtool_check)
{
	struct metrics *m = metrics_new(1);
	struct metrics_collected c = {.cache = true};
	char path[] = "/tmp/rcptd-metrics-XXXXXX", cmd[128];
	size_t len;
	char *page;
	int fd, rc;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		metrics_free(m);
		return;
	}
	metrics_request(m, 0, METRICS_ROUTE_HEALTHZ, 200, 50);
	metrics_set_collected(m, 0, &c);
	page = metrics_render(m, "0.1.0", &len);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, page, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/promtool check metrics < %s >/dev/null 2>&1", path);
	rc = system(cmd);
	unlink(path);
	ck_assert_int_eq(rc, 0);
	free(page);
	metrics_free(m);
}
END_TEST

START_TEST(bounds)
{
	ck_assert_ptr_null(metrics_new(0));
	ck_assert_ptr_null(metrics_new(METRICS_SHARDS_MAX + 1));
	metrics_free(NULL);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("registry");

	tcase_add_test(tc, counters_and_shards);
	tcase_add_test(tc, collected);
	tcase_add_test(tc, bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("promtool");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, promtool_check);
	suite_add_tcase(s, tc);
	return s;
}
