/* cli_relay - `rcptd relay-test [options] HOST[:PORT]` (issue 8): the
 * open-relay audit of a mail server the operator is responsible for.
 *
 * It resolves HOST (an IP address, or a name: see relay_resolve()),
 * keeps only the addresses the network policy permits (the same policy as
 * verification: no loopback, private or other special-purpose target
 * unless --allow-net names its range), connects to the first of them (the
 * next one only when the connection fails), greets with --helo and runs
 * the RELAYTEST_FORMS tests of core/relaytest.h in that one session, one
 * transaction each: RSET (between tests; EHLO has just reset the first,
 * RFC 5321 4.1.4), MAIL FROM, RCPT TO, never DATA. Without pipelining:
 * the tests run one after the other and each refusal stays next to the
 * command it answers. A server that hangs up (closes, or says 421) once
 * the tests have begun gets one reconnection, for the tests still
 * unanswered.
 *
 * Output: a table (test, form, MAIL FROM, RCPT TO, result, reply), notes
 * on what was not conclusive, and the verdict line last; or with --json
 * one JSON object. Exit status (relaytest_exit_status()): 0 no form
 * accepted, 1 a form accepted (an open relay), 2 a usage, configuration
 * or connection error, or tests left unanswered.
 *
 * A command only: the HTTP API offers no relay test, so that a daemon
 * cannot be used to probe third parties' servers for relays. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "core/netpolicy.h"
#include "core/relaytest.h"
#include "core/verdict.h"
#include "daemon/cli.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/session.h"

/* Addresses of HOST tried in turn when a connection fails: a name has a
 * handful (an A and an AAAA or two); past 8 the audit is not the place
 * to wait for each. */
#define RELAY_TARGETS_MAX 8
#define RELAY_HOST_MAX	  RELAYTEST_HOST_MAX
/* One line describing a session failure: detail, stage, reply. */
#define RELAY_DETAIL_MAX (VERDICT_REPLY_MAX + 96)
/* A reply cell of the table: "MAIL FROM refused: " and the reply. */
#define RELAY_CELL_MAX (VERDICT_REPLY_MAX + 64)

struct relay_target {
	struct session_target t;
	char ip[INET6_ADDRSTRLEN];
};

/* One test's answer, copied out of the dialog's borrowed result. */
struct relay_test {
	bool have;		  /* a result came */
	struct dialog_result res; /* text -> text[], address -> the form */
	char text[VERDICT_REPLY_MAX + 1];
};

struct relay_run {
	uv_loop_t loop;
	const struct config *c;
	struct dialog_config dc;
	const char *host;
	const char *server_domain;
	struct relay_target targets[RELAY_TARGETS_MAX];
	unsigned ntargets;
	unsigned cur; /* the target in use */
	struct relaytest_form forms[RELAYTEST_FORMS];
	struct relay_test tests[RELAYTEST_FORMS];
	bool reconnected;
	char detail[RELAY_DETAIL_MAX]; /* the last session failure */
	char hangup[RELAY_DETAIL_MAX]; /* why we reconnected */
};

static void relay_usage(FILE *out)
{
	fprintf(out,
		"usage: rcptd relay-test [options] HOST[:PORT]\n\n"
		"Audit a mail server you are responsible for: try %d MAIL "
		"FROM / RCPT TO forms\nthat open relays accept (one "
		"session, RSET between tests, never DATA) and\nreport which "
		"were accepted. HOST is a name or an IP address ([IPv6]:PORT "
		"with\na port); PORT defaults to 25. --mail-from is the "
		"sender of the tests that vary\nthe recipient (default: the "
		"null sender). Exit status: 0 no form accepted, 1 an\nopen "
		"relay, 2 usage or connection errors.\n\n",
		RELAYTEST_FORMS);
	config_usage(out, SCOPE_RELAY);
}

/* add_target - keep @octets of @family when the policy permits it;
 * otherwise remember the first refusal for the error message. */
static void add_target(struct relay_run *run, const struct netpolicy *pol,
		       int family, const unsigned char *octets, uint16_t port,
		       char *refused, size_t rlen)
{
	size_t n = family == AF_INET ? 4 : 16;
	enum netpolicy_class cls = netpolicy_check(pol, family, octets);
	struct relay_target *t;
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family, octets, ip, sizeof(ip));
	if (cls != NETPOLICY_GLOBAL) {
		log_debug("relay-test: %s is %s: refused by the network policy",
			  ip, netpolicy_class_name(cls));
		if (refused[0] == '\0')
			snprintf(refused, rlen, "%s (%s)", ip,
				 netpolicy_class_name(cls));
		return;
	}
	for (unsigned i = 0; i < run->ntargets; i++)
		if (run->targets[i].t.family == family &&
		    memcmp(run->targets[i].t.octets, octets, n) == 0)
			return;
	if (run->ntargets == RELAY_TARGETS_MAX)
		return;
	t = &run->targets[run->ntargets++];
	memset(t, 0, sizeof(*t));
	t->t.family = family;
	memcpy(t->t.octets, octets, n);
	t->t.port = port;
	memcpy(t->ip, ip, sizeof(ip));
}

/* relay_resolve - the addresses of @host the policy permits, in the
 * resolver's order. An IP address is itself. A name goes through
 * getaddrinfo(), which blocks: the relay test is a one-shot command with
 * nothing else to do meanwhile, and the system resolver (with
 * /etc/hosts) is what an operator expects for a name typed on a command
 * line. The daemon's c-ares resolver answers MX questions, not this. */
static int relay_resolve(struct relay_run *run, const struct netpolicy *pol,
			 const char *host, uint16_t port, char *err,
			 size_t errlen)
{
	char refused[INET6_ADDRSTRLEN + 40] = "";
	unsigned char octets[16];
	int family, rc;

	if (netpolicy_parse_ip(host, &family, octets) == 0) {
		add_target(run, pol, family, octets, port, refused,
			   sizeof(refused));
	} else {
		struct addrinfo hints = {.ai_family = AF_UNSPEC,
					 .ai_socktype = SOCK_STREAM};
		struct addrinfo *res = NULL;

		rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc != 0) {
			snprintf(err, errlen, "cannot resolve %s: %s", host,
				 gai_strerror(rc));
			return -1;
		}
		for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
			if (a->ai_family == AF_INET)
				add_target(run, pol, AF_INET,
					   (const unsigned char *)&(
					       (struct sockaddr_in *)a->ai_addr)
					       ->sin_addr,
					   port, refused, sizeof(refused));
			else if (a->ai_family == AF_INET6)
				add_target(
				    run, pol, AF_INET6,
				    (const unsigned char *)&(
					(struct sockaddr_in6 *)a->ai_addr)
					->sin6_addr,
				    port, refused, sizeof(refused));
		}
		freeaddrinfo(res);
	}
	if (run->ntargets == 0) {
		if (refused[0] != '\0')
			snprintf(
			    err, errlen,
			    "refusing to connect to %s: the network policy "
			    "permits only globally routable addresses "
			    "(--allow-net CIDR permits a range)",
			    refused);
		else
			snprintf(err, errlen, "%s has no IPv4 or IPv6 address",
				 host);
		return -1;
	}
	return 0;
}

/* build_forms - the tests for the target in use (its address is in the
 * literal forms). */
static int build_forms(struct relay_run *run, char *err, size_t errlen)
{
	return relaytest_forms(run->forms, run->server_domain,
			       run->targets[run->cur].ip, run->c->outside,
			       run->c->mail_from, err, errlen) < 0
		   ? -1
		   : 0;
}

static enum relaytest_outcome outcome(const struct relay_test *t)
{
	return t->have ? relaytest_judge(&t->res) : RELAYTEST_NO_ANSWER;
}

static unsigned count_unanswered(const struct relay_run *run)
{
	unsigned n = 0;

	for (int i = 0; i < RELAYTEST_FORMS; i++)
		n += outcome(&run->tests[i]) == RELAYTEST_NO_ANSWER;
	return n;
}

/* describe_failure - one line for a session failure. */
static void describe_failure(const struct dialog_failure *f, char *buf,
			     size_t size)
{
	char text[VERDICT_REPLY_MAX + 1];

	verdict_copy_text(text, sizeof(text), f->text, strlen(f->text), false);
	if (f->code != 0)
		snprintf(buf, size, "%s at %s: %d%s%s %s", f->detail,
			 smtp_stage_name(f->stage), f->code,
			 f->enhanced[0] ? " " : "", f->enhanced, text);
	else if (f->stage == SMTP_STAGE_CONNECT)
		snprintf(buf, size, "%s", f->detail);
	else
		snprintf(buf, size, "%s at %s", f->detail,
			 smtp_stage_name(f->stage));
}

static void on_result(struct session *s, const struct dialog_result *res,
		      void *data)
{
	struct relay_run *run = data;
	uintptr_t i = (uintptr_t)res->tag - 1;
	struct relay_test *t;

	(void)s;
	if (i >= RELAYTEST_FORMS)
		abort(); /* a tag we never gave */
	t = &run->tests[i];
	t->have = true;
	t->res = *res;
	verdict_copy_text(t->text, sizeof(t->text), res->text,
			  strlen(res->text), false);
	t->res.text = t->text;
	t->res.address = run->forms[i].rcpt_to;
}

static void relay_start(struct relay_run *run, bool retry);

/* on_done - after each session: try the next address when this one could
 * not be reached and nothing was tested yet; reconnect once when the
 * server hung up in the middle of the tests. */
static void on_done(struct session *s, void *data)
{
	struct relay_run *run = data;
	const struct dialog_failure *f = dialog_failure(session_dialog(s));
	enum dialog_fail kind = f->kind;
	enum smtp_stage stage = f->stage;
	int code = f->code;
	char err[RELAYTEST_ERR_MAX];

	if (kind != DIALOG_FAIL_NONE)
		describe_failure(f, run->detail, sizeof(run->detail));
	session_free(s);
	if (kind == DIALOG_FAIL_NONE)
		return;
	if (stage == SMTP_STAGE_CONNECT &&
	    count_unanswered(run) == RELAYTEST_FORMS &&
	    run->cur + 1 < run->ntargets) {
		log_info("relay-test: %s: %s; trying %s",
			 run->targets[run->cur].ip, run->detail,
			 run->targets[run->cur + 1].ip);
		run->cur++;
		if (build_forms(run, err, sizeof(err)) < 0) {
			snprintf(run->detail, sizeof(run->detail), "%s", err);
			return;
		}
		memset(run->tests, 0, sizeof(run->tests));
		relay_start(run, false);
		return;
	}
	if (!run->reconnected &&
	    (kind == DIALOG_FAIL_CLOSED ||
	     (kind == DIALOG_FAIL_REJECTED && code == 421)) &&
	    (stage == SMTP_STAGE_MAIL || stage == SMTP_STAGE_RCPT) &&
	    count_unanswered(run) > 0) {
		run->reconnected = true;
		memcpy(run->hangup, run->detail, sizeof(run->hangup));
		log_info("relay-test: the server hung up (%s); reconnecting "
			 "once for %u tests",
			 run->detail, count_unanswered(run));
		relay_start(run, true);
	}
}

/* relay_start - a session to the target in use with every test, or with
 * @retry the tests still unanswered. */
static void relay_start(struct relay_run *run, bool retry)
{
	const struct relay_target *t = &run->targets[run->cur];
	struct session *s;
	int rc;

	rc = session_start(&run->loop, &t->t, &run->dc, run->c->connect_timeout,
			   NULL, NULL, 0, on_result, on_done, run, &s);
	if (rc < 0) {
		snprintf(run->detail, sizeof(run->detail),
			 "cannot connect to %s: %s", t->ip, uv_strerror(rc));
		if (!retry && run->cur + 1 < run->ntargets) {
			char err[RELAYTEST_ERR_MAX];
			run->cur++;
			if (build_forms(run, err, sizeof(err)) == 0)
				relay_start(run, false);
		}
		return;
	}
	for (uintptr_t i = 0; i < RELAYTEST_FORMS; i++) {
		struct relay_test *tt = &run->tests[i];
		if (retry && outcome(tt) != RELAYTEST_NO_ANSWER)
			continue;
		memset(tt, 0, sizeof(*tt));
		rc = session_add_txn(s, run->forms[i].mail_from,
				     run->forms[i].rcpt_to, (void *)(i + 1));
		if (rc < 0) {
			snprintf(run->detail, sizeof(run->detail),
				 "out of memory");
			session_abort(s);
			return;
		}
	}
}

/* reply_cell - what the table says about a test's reply. */
static void reply_cell(const struct relay_test *t, enum relaytest_outcome o,
		       char *buf, size_t size)
{
	const struct dialog_result *r = &t->res;
	const char *pre = o == RELAYTEST_MAIL_REFUSED ? "MAIL FROM refused: "
			  : o == RELAYTEST_NO_ANSWER  ? "no answer: "
						      : "";

	if (!t->have)
		snprintf(buf, size, "no answer");
	else if (r->code != 0)
		snprintf(buf, size, "%s%d%s%s %s", pre, r->code,
			 r->enhanced[0] ? " " : "", r->enhanced, r->text);
	else
		snprintf(buf, size, "%s%s", pre, r->text);
}

/* print_table - for people: the target, one row per test, the notes and
 * the verdict line last. */
static void print_table(const struct relay_run *run,
			const enum relaytest_outcome *o,
			const struct relaytest_summary *sum)
{
	const struct relay_target *t = &run->targets[run->cur];
	int wf = 4, wm = 9, wr = 7;
	char cell[RELAY_CELL_MAX], verdict[64];

	printf("relay test of %s (%s port %u), server domain %s, outside "
	       "domain %s\n\n",
	       run->host, t->ip, (unsigned)t->t.port, run->server_domain,
	       run->c->outside);
	for (int i = 0; i < RELAYTEST_FORMS; i++) {
		const struct relaytest_form *f = &run->forms[i];
		int n = (int)strlen(f->name);
		wf = n > wf ? n : wf;
		n = (int)strlen(f->mail_from) + 2;
		wm = n > wm ? n : wm;
		n = (int)strlen(f->rcpt_to) + 2;
		wr = n > wr ? n : wr;
	}
	printf("%2s  %-*s  %-*s  %-*s  %-12s  %s\n", "#", wf, "FORM", wm,
	       "MAIL FROM", wr, "RCPT TO", "RESULT", "REPLY");
	for (int i = 0; i < RELAYTEST_FORMS; i++) {
		const struct relaytest_form *f = &run->forms[i];
		char from[ADDRESS_MAX + 3], to[ADDRESS_MAX + 3];
		snprintf(from, sizeof(from), "<%s>", f->mail_from);
		snprintf(to, sizeof(to), "<%s>", f->rcpt_to);
		reply_cell(&run->tests[i], o[i], cell, sizeof(cell));
		printf("%2d  %-*s  %-*s  %-*s  %-12s  %s\n", i + 1, wf, f->name,
		       wm, from, wr, to, relaytest_outcome_word(o[i]), cell);
	}
	printf("\n");
	if (sum->count[RELAYTEST_ACCEPTED] > 0) {
		printf("accepted:");
		for (int i = 0, k = 0; i < RELAYTEST_FORMS; i++)
			if (o[i] == RELAYTEST_ACCEPTED)
				printf("%s %d %s", k++ ? "," : "", i + 1,
				       run->forms[i].name);
		printf("\n  the server took recipients outside its domains: "
		       "restrict relaying to your\n  own users and networks "
		       "before it is found and abused\n");
	}
	if (sum->count[RELAYTEST_UNRESOLVED] > 0)
		printf("%u inconclusive: refused because a domain does not "
		       "resolve, so the relay policy\n  was never asked; run "
		       "again with --outside set to a domain you control\n  "
		       "that resolves and whose mail this server does not "
		       "handle\n",
		       sum->count[RELAYTEST_UNRESOLVED]);
	if (sum->count[RELAYTEST_TEMPORARY] > 0)
		printf("%u inconclusive: temporary refusals (4yz); run again "
		       "later\n",
		       sum->count[RELAYTEST_TEMPORARY]);
	if (sum->count[RELAYTEST_MAIL_REFUSED] > 0)
		printf("%u not tested: the server refused the MAIL FROM, so "
		       "the RCPT TO was never asked\n",
		       sum->count[RELAYTEST_MAIL_REFUSED]);
	if (sum->count[RELAYTEST_NO_ANSWER] > 0)
		printf("%u not tested: no answer (%s)\n",
		       sum->count[RELAYTEST_NO_ANSWER], run->detail);
	if (run->reconnected)
		printf("the server hung up (%s); reconnected once\n",
		       run->hangup);
	printf("%s\n", relaytest_verdict(sum, verdict, sizeof(verdict)));
}

/* json_word - the outcome word with '_' for ' ' ("not_tested"). */
static json_t *json_word(enum relaytest_outcome o)
{
	char w[16];

	snprintf(w, sizeof(w), "%s", relaytest_outcome_word(o));
	for (char *p = w; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
	return json_string(w);
}

/* relay_json - the same as the table, as one object. */
static json_t *relay_json(const struct relay_run *run,
			  const enum relaytest_outcome *o,
			  const struct relaytest_summary *sum)
{
	const struct relay_target *t = &run->targets[run->cur];
	const unsigned *n = sum->count;
	json_t *tests = json_array(), *accepted = json_array();
	char verdict[64];

	for (int i = 0; tests && accepted && i < RELAYTEST_FORMS; i++) {
		const struct relay_test *tt = &run->tests[i];
		const struct relaytest_form *f = &run->forms[i];
		const struct dialog_result *r = &tt->res;
		bool stage = tt->have && r->stage != SMTP_STAGE_NONE;

		json_array_append_new(
		    tests,
		    json_pack("{s:i, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, "
			      "s:o, s:s}",
			      "n", i + 1, "form", f->key, "name", f->name,
			      "mail_from", f->mail_from, "rcpt_to", f->rcpt_to,
			      "result", json_word(o[i]), "reason",
			      relaytest_outcome_reason(o[i]), "stage",
			      stage ? json_string(smtp_stage_name(r->stage))
				    : json_null(),
			      "code",
			      tt->have && r->code ? json_integer(r->code)
						  : json_null(),
			      "enhanced",
			      tt->have && r->enhanced[0]
				  ? json_string(r->enhanced)
				  : json_null(),
			      "message", tt->have ? tt->text : ""));
		if (o[i] == RELAYTEST_ACCEPTED)
			json_array_append_new(accepted, json_string(f->key));
	}
	return json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:o, s:{s:i, s:i, s:i, s:i}, s:o, "
	    "s:b, s:b, s:o, s:s}",
	    "host", run->host, "ip", t->ip, "port", (int)t->t.port,
	    "server_domain", run->server_domain, "outside", run->c->outside,
	    "tests", tests, "counts", "accepted", (int)n[RELAYTEST_ACCEPTED],
	    "refused", (int)n[RELAYTEST_REFUSED], "inconclusive",
	    (int)(n[RELAYTEST_UNRESOLVED] + n[RELAYTEST_TEMPORARY]),
	    "not_tested",
	    (int)(n[RELAYTEST_MAIL_REFUSED] + n[RELAYTEST_NO_ANSWER]),
	    "accepted", accepted, "open_relay", n[RELAYTEST_ACCEPTED] > 0,
	    "reconnected", run->reconnected, "error",
	    n[RELAYTEST_NO_ANSWER] > 0 ? json_string(run->detail) : json_null(),
	    "verdict", relaytest_verdict(sum, verdict, sizeof(verdict)));
}

/* print_json - one line; 0, or -1 when out of memory. */
static int print_json(json_t *o)
{
	char *line =
	    o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	if (line == NULL)
		return -1;
	puts(line);
	free(line);
	return 0;
}

/* helo_warning - a HELO that is not a plausible FQDN gets clients
 * refused or distrusted, which would tell nothing about relaying. */
static void helo_warning(const char *helo)
{
	if (strchr(helo, '.') == NULL || strcmp(helo, "localhost") == 0)
		log_warn("--helo %s is not a fully qualified domain name; "
			 "the server may refuse this client before its relay "
			 "policy is tested",
			 helo);
}

/* relay_setup - everything before the first connection: the target, its
 * addresses, the server domain, the dialog and the forms. */
static int relay_setup(struct relay_run *run, struct config *c, const char *arg,
		       char host[RELAY_HOST_MAX + 1],
		       char domain[RELAY_HOST_MAX + 1], char *err,
		       size_t errlen)
{
	struct netpolicy pol;
	uint16_t port;
	const char *why;
	bool is_ip;

	if (relaytest_parse_target(arg, host, &port, &is_ip, &why) < 0) {
		snprintf(err, errlen, "'%s' %s", arg, why);
		return -1;
	}
	netpolicy_init(&pol);
	for (unsigned i = 0; i < c->allow_net.count; i++) {
		char sub[NETPOLICY_ERR_MAX];
		if (netpolicy_allow_cidr(&pol, c->allow_net.item[i], sub,
					 sizeof(sub)) < 0) {
			snprintf(err, errlen, "--allow-net: %s", sub);
			return -1;
		}
	}
	if (c->server_domain[0] != '\0') {
		snprintf(domain, RELAY_HOST_MAX + 1, "%s", c->server_domain);
	} else if (is_ip) {
		snprintf(err, errlen,
			 "%s is an address: name the mail domain the server "
			 "receives for with --server-domain",
			 host);
		return -1;
	} else {
		snprintf(domain, RELAY_HOST_MAX + 1, "%s", host);
	}
	if ((why = relaytest_check_domain(domain)) != NULL) {
		snprintf(err, errlen, "--server-domain: %s %s", domain, why);
		return -1;
	}
	if ((why = relaytest_check_domain(c->outside)) != NULL) {
		snprintf(err, errlen, "--outside: %s %s", c->outside, why);
		return -1;
	}
	run->c = c;
	run->host = host;
	run->server_domain = domain;
	if (relay_resolve(run, &pol, host, port, err, errlen) < 0)
		return -1;

	dialog_config_default(&run->dc);
	run->dc.helo = c->helo;
	run->dc.mail_from = ""; /* every test names its sender */
	run->dc.banner_ms = c->banner_timeout;
	run->dc.ehlo_ms = run->dc.mail_ms = run->dc.rcpt_ms = run->dc.rset_ms =
	    c->command_timeout;
	if (run->dc.quit_ms > c->command_timeout)
		run->dc.quit_ms = c->command_timeout;
	run->dc.rcpt_per_txn = 1; /* every test its own transaction */
	run->dc.rcpt_max = 0;
	/* The audit's tests are refused by design; the session's error
	 * budget is for verification. A server that hangs up at its own
	 * limit (Postfix: 20) gets the one reconnection. */
	run->dc.errors_max = 0;
	run->dc.pipelining = false;
	run->dc.transcript_max = 0;
	if ((why = dialog_config_check(&run->dc)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return build_forms(run, err, errlen);
}

int cli_relay_test(int argc, char **argv, char **envp)
{
	static struct relay_run run; /* 20 tests' replies: ~11 KiB */
	char host[RELAY_HOST_MAX + 1], domain[RELAY_HOST_MAX + 1];
	enum relaytest_outcome o[RELAYTEST_FORMS];
	struct relaytest_summary sum;
	struct config c;
	char err[512];
	int first, rc;

	rc = config_load(&c, SCOPE_RELAY, argc, argv, envp, &first, err,
			 sizeof(err));
	if (rc != 0) {
		if (rc > 0)
			relay_usage(stdout);
		else
			fprintf(stderr, "rcptd relay-test: %s\n", err);
		config_release(&c);
		return rc > 0 ? 0 : 2;
	}
	if (argc - first != 1) {
		fprintf(stderr,
			"rcptd relay-test: %s (usage: rcptd relay-test "
			"[options] HOST[:PORT])\n",
			first == argc ? "no server given" : "one server only");
		config_release(&c);
		return 2;
	}
	if (log_setup(c.log_format, c.log_level) < 0) {
		fprintf(stderr,
			"rcptd relay-test: --log-level: '%s' is not debug, "
			"info, warn or error\n",
			c.log_level);
		config_release(&c);
		return 2;
	}
	memset(&run, 0, sizeof(run));
	if (relay_setup(&run, &c, argv[first], host, domain, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "rcptd relay-test: %s\n", err);
		config_release(&c);
		return 2;
	}
	helo_warning(c.helo);
	if (uv_loop_init(&run.loop) < 0) {
		fprintf(stderr, "rcptd relay-test: cannot start an event "
				"loop\n");
		config_release(&c);
		return 2;
	}
	relay_start(&run, false);
	uv_run(&run.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&run.loop) != 0)
		log_error("event loop closed with handles still open");

	for (int i = 0; i < RELAYTEST_FORMS; i++)
		o[i] = outcome(&run.tests[i]);
	relaytest_summarize(o, RELAYTEST_FORMS, &sum);
	rc = relaytest_exit_status(&sum);
	if (sum.count[RELAYTEST_NO_ANSWER] == RELAYTEST_FORMS) {
		/* nothing was tested: a connection error, not a table */
		fprintf(stderr, "rcptd relay-test: %s (%s port %u): %s\n", host,
			run.targets[run.cur].ip,
			(unsigned)run.targets[run.cur].t.port, run.detail);
		if (c.json &&
		    print_json(json_pack("{s:s, s:s, s:i, s:s}", "host", host,
					 "ip", run.targets[run.cur].ip, "port",
					 (int)run.targets[run.cur].t.port,
					 "error", run.detail)) < 0)
			fprintf(stderr, "rcptd relay-test: out of memory\n");
	} else if (c.json) {
		if (print_json(relay_json(&run, o, &sum)) < 0) {
			fprintf(stderr, "rcptd relay-test: out of memory\n");
			rc = 2;
		}
	} else {
		print_table(&run, o, &sum);
	}
	fflush(stdout);
	config_release(&c);
	return rc;
}
