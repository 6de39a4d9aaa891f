/* test_relaytest - the open-relay audit's pure half: the exact table of
 * forms, the inputs it refuses, one judgement row per kind of reply real
 * servers give, and the verdict and exit status. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/relaytest.h"

Suite *relaytest_suite(void);

/* (key, MAIL FROM, RCPT TO) for server example.net at 192.0.2.25,
 * outside relay-test.invalid, null sender for the recipient forms. */
static const struct {
	const char *key, *from, *to;
} want_forms[RELAYTEST_FORMS] = {
    {"plain", "spamtest@relay-test.invalid", "relaytest@relay-test.invalid"},
    {"unqualified_sender", "spamtest", "relaytest@relay-test.invalid"},
    {"null_sender", "", "relaytest@relay-test.invalid"},
    {"sender_server_domain", "spamtest@example.net",
     "relaytest@relay-test.invalid"},
    {"sender_server_ip", "spamtest@[192.0.2.25]",
     "relaytest@relay-test.invalid"},
    {"empty_domain_sender", "spamtest@", "relaytest@relay-test.invalid"},
    {"percent_hack", "", "relaytest%relay-test.invalid@example.net"},
    {"percent_hack_ip", "", "relaytest%relay-test.invalid@[192.0.2.25]"},
    {"percent_unqualified", "", "relaytest%relay-test.invalid"},
    {"double_at", "", "relaytest@relay-test.invalid@example.net"},
    {"double_at_ip", "", "relaytest@relay-test.invalid@[192.0.2.25]"},
    {"quoted", "", "\"relaytest@relay-test.invalid\""},
    {"quoted_percent", "", "\"relaytest%relay-test.invalid\""},
    {"quoted_server_domain", "",
     "\"relaytest@relay-test.invalid\"@example.net"},
    {"quoted_server_ip", "", "\"relaytest@relay-test.invalid\"@[192.0.2.25]"},
    {"source_route", "", "@example.net:relaytest@relay-test.invalid"},
    {"source_route_ip", "", "@[192.0.2.25]:relaytest@relay-test.invalid"},
    {"bang_path", "", "relay-test.invalid!relaytest"},
    {"bang_path_server_domain", "", "relay-test.invalid!relaytest@example.net"},
    {"bang_path_server_ip", "", "relay-test.invalid!relaytest@[192.0.2.25]"},
};

START_TEST(forms_exact)
{
	struct relaytest_form f[RELAYTEST_FORMS];
	char err[RELAYTEST_ERR_MAX];

	ck_assert_int_eq(relaytest_forms(f, "example.net", "192.0.2.25",
					 RELAYTEST_OUTSIDE_DEFAULT, "", err,
					 sizeof(err)),
			 RELAYTEST_FORMS);
	for (int i = 0; i < RELAYTEST_FORMS; i++) {
		ck_assert_str_eq(f[i].key, want_forms[i].key);
		ck_assert_str_eq(f[i].mail_from, want_forms[i].from);
		ck_assert_str_eq(f[i].rcpt_to, want_forms[i].to);
		ck_assert(f[i].name[0] != '\0');
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(f[i].name, f[j].name);
	}
	ck_assert_str_eq(f[6].name, "percent hack");
	ck_assert_str_eq(f[17].name, "bang path");
}
END_TEST

/* An IPv6 server is written [IPv6:...] (RFC 5321 4.1.3); the configured
 * sender goes into the recipient forms as given. */
START_TEST(forms_ipv6_and_sender)
{
	struct relaytest_form f[RELAYTEST_FORMS];
	char err[RELAYTEST_ERR_MAX];

	ck_assert_int_eq(relaytest_forms(f, "mx.example.net", "2001:db8::25",
					 "outside.example.org",
					 "audit@example.net", err, sizeof(err)),
			 RELAYTEST_FORMS);
	ck_assert_str_eq(f[4].mail_from, "spamtest@[IPv6:2001:db8::25]");
	ck_assert_str_eq(f[7].mail_from, "audit@example.net");
	ck_assert_str_eq(f[7].rcpt_to,
			 "relaytest%outside.example.org@[IPv6:2001:db8::25]");
	ck_assert_str_eq(f[16].rcpt_to,
			 "@[IPv6:2001:db8::25]:relaytest@outside.example.org");
	ck_assert_str_eq(f[2].mail_from, ""); /* the null sender test */
}
END_TEST

/* (server domain, server ip, outside, sender, the error) */
START_TEST(forms_refused)
{
	static char long_domain[260];
	static const char *label63 =
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc";
	static const struct {
		const char *s, *ip, *o, *f, *err;
	} rows[] = {
	    {"", "192.0.2.25", "x.example", "", "the server domain is empty"},
	    {"a..b", "192.0.2.25", "x.example", "",
	     "the server domain has an empty label"},
	    {"example.net.", "192.0.2.25", "x.example", "",
	     "the server domain ends with a dot"},
	    {"exa mple.net", "192.0.2.25", "x.example", "",
	     "the server domain holds a character other than letters, "
	     "digits, '-' and '.'"},
	    {"example.net", "192.0.2.25", "x@example", "",
	     "the outside domain holds a character other than letters, "
	     "digits, '-' and '.'"},
	    {"example.net", "192.0.2.25", "x.example\r\n", "",
	     "the outside domain holds a character other than letters, "
	     "digits, '-' and '.'"},
	    {"example.net", "mx.example.net", "x.example", "",
	     "the server address is not an IP address"},
	    {"example.net", "[192.0.2.25]", "x.example", "",
	     "the server address is not an IP address"},
	    {"example.net", "192.0.2.25", "x.example", "a\rb",
	     "the sender holds a control character"},
	    {"example.net", "192.0.2.25", long_domain, "",
	     "the outside domain is longer than 253 octets"},
	    {"example.net", "192.0.2.25", NULL, "",
	     "the outside domain has a label longer than 63 octets"},
	    {"example.net", "192.0.2.25", "", "",
	     "the outside domain is empty"},
	};
	struct relaytest_form f[RELAYTEST_FORMS];
	char err[RELAYTEST_ERR_MAX], label64[80];

	memset(long_domain, 'a', 255);
	for (int i = 1; i < 255; i += 2)
		long_domain[i] = '.';
	snprintf(label64, sizeof(label64), "%sd.example", label63);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(
		    relaytest_forms(f, rows[i].s, rows[i].ip,
				    rows[i].o ? rows[i].o : label64, rows[i].f,
				    err, sizeof(err)),
		    -1);
		ck_assert_str_eq(err, rows[i].err);
	}
	/* 63 octets is a label, and a form that would pass 254 octets is
	 * refused by name */
	snprintf(label64, sizeof(label64), "%s.example", label63);
	ck_assert_int_eq(relaytest_forms(f, "example.net", "192.0.2.25",
					 label64, "", err, sizeof(err)),
			 RELAYTEST_FORMS);
	memset(long_domain, 'b', 253);
	for (int i = 50; i < 253; i += 50)
		long_domain[i] = '.';
	long_domain[253] = '\0';
	ck_assert_int_eq(relaytest_forms(f, "example.net", "192.0.2.25",
					 long_domain, "", err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "the plain form would be longer than 254 "
			      "octets: use shorter domains");
}
END_TEST

/* (argument, host, port, is an address) or (argument, NULL, the error) */
START_TEST(parse_target)
{
	static const struct {
		const char *arg, *host;
		unsigned port;
		bool ip;
		const char *why;
	} rows[] = {
	    {"mx.example.net", "mx.example.net", 25, false, NULL},
	    {"mx.example.net.", "mx.example.net", 25, false, NULL},
	    {"mx.example.net:2525", "mx.example.net", 2525, false, NULL},
	    {"192.0.2.25", "192.0.2.25", 25, true, NULL},
	    {"192.0.2.25:587", "192.0.2.25", 587, true, NULL},
	    {"[2001:db8::25]", "2001:db8::25", 25, true, NULL},
	    {"[2001:db8::25]:65535", "2001:db8::25", 65535, true, NULL},
	    {"2001:db8::25", "2001:db8::25", 25, true, NULL},
	    {"::1", "::1", 25, true, NULL},
	    {"localhost", "localhost", 25, false, NULL},
	    {"", NULL, 0, false, "is not HOST[:PORT]"},
	    {":25", NULL, 0, false, "is not HOST[:PORT]"},
	    {"[]:25", NULL, 0, false, "is not HOST[:PORT]"},
	    {"mx.example.net:", NULL, 0, false,
	     "has a port that is not 1..65535"},
	    {"mx.example.net:0", NULL, 0, false,
	     "has a port that is not 1..65535"},
	    {"mx.example.net:65536", NULL, 0, false,
	     "has a port that is not 1..65535"},
	    {"mx.example.net:25x", NULL, 0, false,
	     "has a port that is not 1..65535"},
	    {"mx.example.net:+25", NULL, 0, false,
	     "has a port that is not 1..65535"},
	    {"[2001:db8::25]x", NULL, 0, false,
	     "is not HOST[:PORT] ([IPv6]:PORT with a port)"},
	    {"[192.0.2.25]:25", NULL, 0, false,
	     "is not HOST[:PORT] ([IPv6]:PORT with a port)"},
	    {"[mx.example.net]", NULL, 0, false, "is not an IPv6 address"},
	    {"2001:db8::zz", NULL, 0, false, "is not an IPv6 address"},
	    {"mx_1.example.net", NULL, 0, false,
	     "is neither an IP address nor a host name"},
	    {"mx.example.net\r\n", NULL, 0, false,
	     "is neither an IP address nor a host name"},
	    {"127.1", "127.1", 25, false, NULL}, /* a name, never 127.0.0.1 */
	};
	char host[RELAYTEST_HOST_MAX + 1];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *why = NULL;
		uint16_t port = 0;
		bool ip = !rows[i].ip;
		int rc =
		    relaytest_parse_target(rows[i].arg, host, &port, &ip, &why);
		if (rows[i].host == NULL) {
			ck_assert_msg(rc == -1, "%s accepted", rows[i].arg);
			ck_assert_str_eq(why, rows[i].why);
			continue;
		}
		ck_assert_msg(rc == 0, "%s: %s", rows[i].arg, why);
		ck_assert_str_eq(host, rows[i].host);
		ck_assert_uint_eq(port, rows[i].port);
		ck_assert_int_eq(ip, rows[i].ip);
	}
}
END_TEST

struct jrow {
	enum dialog_rcpt_status status;
	enum dialog_fail fail;
	enum smtp_stage stage;
	int code;
	const char *enhanced;
	const char *text;
	enum relaytest_outcome want;
};

#define RCPT(code, enh, text, want)                                            \
	{                                                                      \
		DIALOG_RCPT_REPLIED, DIALOG_FAIL_NONE, SMTP_STAGE_RCPT, code,  \
		    enh, text, want                                            \
	}

static const struct jrow jrows[] = {
    RCPT(250, "2.1.5", "Ok", RELAYTEST_ACCEPTED),
    RCPT(251, "2.1.5", "User not local; will forward", RELAYTEST_ACCEPTED),
    /* Postfix reject_unauth_destination and defer_unauth_destination */
    RCPT(554, "5.7.1", "<relaytest@relay-test.invalid>: Relay access denied",
	 RELAYTEST_REFUSED),
    RCPT(454, "4.7.1", "<relaytest@relay-test.invalid>: Relay access denied",
	 RELAYTEST_REFUSED),
    /* Sendmail, Exim, Exchange */
    RCPT(550, "5.7.1", "<x>... Relaying denied", RELAYTEST_REFUSED),
    RCPT(550, "", "relay not permitted", RELAYTEST_REFUSED),
    RCPT(550, "5.7.54",
	 "SMTP; Unable to relay recipient in non-accepted "
	 "domain",
	 RELAYTEST_REFUSED),
    RCPT(550, "5.1.1", "<x>: Recipient address rejected: User unknown",
	 RELAYTEST_REFUSED),
    RCPT(501, "5.1.3", "Bad recipient address syntax", RELAYTEST_REFUSED),
    RCPT(451, "", "Relaying temporarily denied. Cannot resolve PTR record",
	 RELAYTEST_REFUSED),
    RCPT(450, "4.7.1", "\"relay\" is not for you.", RELAYTEST_REFUSED),
    /* "relay" inside an address or a domain is not the word */
    RCPT(450, "4.7.1", "<relaytest@relay.example>: try later (relay.example)",
	 RELAYTEST_TEMPORARY),
    /* the relay policy was never reached: a domain does not resolve */
    RCPT(450, "4.1.2",
	 "<relaytest@relay-test.invalid>: Recipient address rejected: "
	 "Domain not found",
	 RELAYTEST_UNRESOLVED),
    RCPT(550, "5.1.2", "Recipient address rejected: Domain not found",
	 RELAYTEST_UNRESOLVED),
    RCPT(450, "4.1.8",
	 "<spamtest@relay-test.invalid>: Sender address rejected: Domain not "
	 "found",
	 RELAYTEST_UNRESOLVED),
    RCPT(550, "", "Unrouteable address", RELAYTEST_UNRESOLVED),
    RCPT(553, "5.1.8", "Domain of sender address x does not exist",
	 RELAYTEST_UNRESOLVED),
    RCPT(550, "5.4.4", "Unable to route", RELAYTEST_UNRESOLVED),
    RCPT(550, "", "Host unknown (Name server: x: host not found)",
	 RELAYTEST_UNRESOLVED),
    RCPT(550, "5.1.2", "anything at all", RELAYTEST_UNRESOLVED),
    /* "not now" is not "no" */
    RCPT(451, "4.3.0", "Temporary lookup failure", RELAYTEST_TEMPORARY),
    RCPT(450, "4.2.0", "Recipient address rejected: Greylisted",
	 RELAYTEST_TEMPORARY),
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_NONE, SMTP_STAGE_RCPT, 452, "4.5.3",
     "Too many recipients", RELAYTEST_TEMPORARY},
    /* the MAIL was refused: the RCPT was never asked */
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_NONE, SMTP_STAGE_MAIL, 501, "5.1.7",
     "Bad sender address syntax", RELAYTEST_MAIL_REFUSED},
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_REJECTED, SMTP_STAGE_MAIL, 553,
     "5.7.1", "Sender address rejected", RELAYTEST_MAIL_REFUSED},
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_NONE, SMTP_STAGE_MAIL, 450, "4.1.8",
     "Sender address rejected: Domain not found", RELAYTEST_MAIL_REFUSED},
    /* no answer: the session ended */
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_REJECTED, SMTP_STAGE_MAIL, 421,
     "4.7.0", "closing", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_UNANSWERED, DIALOG_FAIL_REJECTED, SMTP_STAGE_RCPT, 421,
     "4.7.0", "too many errors", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_UNANSWERED, DIALOG_FAIL_CLOSED, SMTP_STAGE_RCPT, 0, "",
     "connection closed by the server", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_REJECTED, SMTP_STAGE_BANNER, 554,
     "5.7.1", "no service", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_CONNECT, SMTP_STAGE_CONNECT, 0, "",
     "connect failed", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_NOT_ATTEMPTED, DIALOG_FAIL_PROTOCOL, SMTP_STAGE_RCPT, 0, "",
     "garbage", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_REFUSED, DIALOG_FAIL_NONE, SMTP_STAGE_NONE, 0, "",
     "refused: control character", RELAYTEST_NO_ANSWER},
    {DIALOG_RCPT_NEEDS_SMTPUTF8, DIALOG_FAIL_NONE, SMTP_STAGE_NONE, 0, "",
     "not attempted: needs SMTPUTF8", RELAYTEST_NO_ANSWER},
};

START_TEST(judge)
{
	const struct jrow *r = &jrows[_i];
	struct dialog_result res = {
	    .status = r->status,
	    .fail = r->fail,
	    .stage = r->stage,
	    .code = r->code,
	    .text = r->text,
	    .address = "x",
	};

	snprintf(res.enhanced, sizeof(res.enhanced), "%s", r->enhanced);
	ck_assert_msg(relaytest_judge(&res) == r->want, "row %d (%d %s): %s",
		      _i, r->code, r->text,
		      relaytest_outcome_reason(relaytest_judge(&res)));
}
END_TEST

START_TEST(summary_verdict_exit)
{
	static const struct {
		enum relaytest_outcome o[4];
		size_t n;
		const char *verdict;
		int exit;
	} rows[] = {
	    {{RELAYTEST_REFUSED, RELAYTEST_UNRESOLVED, RELAYTEST_MAIL_REFUSED},
	     3,
	     "no relay accepted",
	     0},
	    {{RELAYTEST_REFUSED, RELAYTEST_ACCEPTED},
	     2,
	     "OPEN RELAY: 1 form accepted",
	     1},
	    {{RELAYTEST_ACCEPTED, RELAYTEST_NO_ANSWER, RELAYTEST_ACCEPTED},
	     3,
	     "OPEN RELAY: 2 forms accepted",
	     1},
	    {{RELAYTEST_REFUSED, RELAYTEST_NO_ANSWER},
	     2,
	     "no relay accepted",
	     2},
	    {{RELAYTEST_TEMPORARY}, 1, "no relay accepted", 0},
	    {{0}, 0, "no relay accepted", 0},
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct relaytest_summary s;
		relaytest_summarize(rows[i].o, rows[i].n, &s);
		ck_assert_uint_eq(s.total, rows[i].n);
		ck_assert_str_eq(relaytest_verdict(&s, buf, sizeof(buf)),
				 rows[i].verdict);
		ck_assert_int_eq(relaytest_exit_status(&s), rows[i].exit);
	}
}
END_TEST

START_TEST(names)
{
	static const char *const words[] = {"accepted",	    "refused",
					    "inconclusive", "inconclusive",
					    "not tested",   "not tested"};
	static const char *const reasons[] = {"accepted",	  "refused",
					      "domain_not_found", "temporary",
					      "mail_refused",	  "no_answer"};

	for (int o = 0; o < RELAYTEST_OUTCOME_LAST; o++) {
		ck_assert_str_eq(relaytest_outcome_word(o), words[o]);
		ck_assert_str_eq(relaytest_outcome_reason(o), reasons[o]);
	}
	ck_assert_str_eq(relaytest_outcome_word(RELAYTEST_OUTCOME_LAST), "?");
	ck_assert_str_eq(relaytest_outcome_reason(-1), "?");
}
END_TEST

Suite *relaytest_suite(void)
{
	Suite *s = suite_create("relaytest");
	TCase *tc;

	tc = tcase_create("forms");
	tcase_add_test(tc, forms_exact);
	tcase_add_test(tc, forms_ipv6_and_sender);
	tcase_add_test(tc, forms_refused);
	tcase_add_test(tc, parse_target);
	suite_add_tcase(s, tc);

	tc = tcase_create("judgement, one row per kind of reply");
	tcase_add_loop_test(tc, judge, 0, sizeof(jrows) / sizeof(jrows[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("verdict");
	tcase_add_test(tc, summary_verdict_exit);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}
