/* relaytest - the pure half of `rcptd relay-test` (issue 8), the open-
 * relay audit of a mail server the operator runs: the table of MAIL FROM
 * / RCPT TO forms to try, and what each reply says.
 *
 * An open relay accepts mail for outside domains from anyone, and is
 * blocklisted within hours. The classic audit (the relay testers of the
 * late 1990s, ORDB's among them) tries, one transaction each, a recipient
 * at a domain the server does not serve, written in every form that
 * badly configured servers have mistaken for a local address: the
 * percent hack (RFC 1123 5.2.16 still allowed it), source routes (RFC
 * 5321 4.1.1.3 and Appendix C: to be ignored, not followed), UUCP bang
 * paths, quoted local parts holding an @, a second @; and senders that
 * such servers trusted: their own domain and address, unqualified, null,
 * empty-domain. The forms are deliberately not valid addresses: they
 * never go through the address grammar, only through the dialog's line
 * writer guards (no control octet, at most ADDRESS_MAX octets).
 *
 * Judgement of one test (relaytest_judge(), from the dialog's result):
 *   accepted      2yz to RCPT: the server took a recipient outside its
 *                 domains (a relay hole);
 *   refused       5yz to RCPT, or a 4yz whose text names relaying
 *                 (Postfix's defer_unauth_destination answers "454 4.7.1
 *                 Relay access denied": a refusal kept temporary only as
 *                 a safety net);
 *   inconclusive  the refusal was about a domain that does not resolve
 *                 (X.1.2, X.1.8, X.4.4, or texts such as Postfix's
 *                 "Domain not found", Exim's "Unrouteable address"): the
 *                 relay policy was never reached; or any other 4yz,
 *                 which says "not now", not "no";
 *   not tested    the MAIL FROM (or the RSET before it) was refused, so
 *                 the RCPT was never asked; or no reply came (the
 *                 session ended).
 *
 * Ownership: plain data in caller memory; no allocation. Limits:
 * RELAYTEST_FORMS forms of at most ADDRESS_MAX octets each. Errors: -1
 * with a sentence in the caller's buffer. Loop: none; pure. */
#ifndef RCPTD_CORE_RELAYTEST_H
#define RCPTD_CORE_RELAYTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/address.h"
#include "core/dialog.h"

/* Twenty forms: the list, each recipient form also against the
 * server's address literal where servers treated that as local too. */
#define RELAYTEST_FORMS 20
/* The default outside domain: RFC 2606 reserves .invalid, so it can
 * never receive mail, whatever the server does with it. */
#define RELAYTEST_OUTSIDE_DEFAULT "relay-test.invalid"
/* The local parts: recognisable in the server's logs. */
#define RELAYTEST_RCPT_LOCAL   "relaytest"
#define RELAYTEST_SENDER_LOCAL "spamtest"
/* The command's HOST: a host name (RFC 1035 text, 253 octets); the text
 * of an IPv6 address is shorter. */
#define RELAYTEST_HOST_MAX 253
/* Room for a sentence about bad input (it quotes no input). */
#define RELAYTEST_ERR_MAX 160

enum relaytest_outcome {
	RELAYTEST_ACCEPTED = 0, /* accepted: a relay hole */
	RELAYTEST_REFUSED,	/* refused */
	RELAYTEST_UNRESOLVED,	/* inconclusive: a domain does not resolve */
	RELAYTEST_TEMPORARY,	/* inconclusive: another 4yz */
	RELAYTEST_MAIL_REFUSED, /* not tested: MAIL FROM refused */
	RELAYTEST_NO_ANSWER,	/* not tested: no reply came */
	RELAYTEST_OUTCOME_LAST
};

struct relaytest_form {
	const char *key;		 /* static: "percent_hack" */
	const char *name;		 /* static: "percent hack" */
	char mail_from[ADDRESS_MAX + 1]; /* without <>; "": null sender */
	char rcpt_to[ADDRESS_MAX + 1];	 /* without <> */
};

struct relaytest_summary {
	unsigned count[RELAYTEST_OUTCOME_LAST];
	unsigned total;
};

/* relaytest_parse_target - the command's HOST[:PORT]: a host name, an
 * IPv4 address, or an IPv6 address in brackets ("[2001:db8::25]:2525")
 * or bare (then without a port), each with an optional ":PORT" (1..65535;
 * default 25). Writes the host to @host (without brackets; a name without
 * its final dot) and whether it is an address to *@is_ip. Returns 0, or
 * -1 with a static sentence in *@why. */
int relaytest_parse_target(const char *arg, char host[RELAYTEST_HOST_MAX + 1],
			   uint16_t *port, bool *is_ip, const char **why);

/* relaytest_forms - fill @forms with the RELAYTEST_FORMS tests, in
 * order, from the server's domain @server_domain (e.g. "example.net"),
 * its address @server_ip ("192.0.2.25" or "2001:db8::25"; written as
 * the address literal [192.0.2.25] or [IPv6:2001:db8::25], RFC 5321
 * 4.1.3), the foreign domain @outside, and @sender, the sender of the
 * tests that vary the recipient ("" for the null sender). Domains are
 * host names: letters, digits, '-' and '.', labels of 1..63 octets, at
 * most 253 octets, no final dot. Returns RELAYTEST_FORMS, or -1 with a
 * sentence in @err when an input is not of that shape or a form would be
 * longer than ADDRESS_MAX octets. */
int relaytest_forms(struct relaytest_form forms[RELAYTEST_FORMS],
		    const char *server_domain, const char *server_ip,
		    const char *outside, const char *sender, char *err,
		    size_t errlen);

/* relaytest_check_domain - NULL when @name is a host name as above, else
 * a static sentence saying what is wrong with it. */
const char *relaytest_check_domain(const char *name);

/* relaytest_judge - the outcome of one test from the dialog's result for
 * its recipient. */
enum relaytest_outcome relaytest_judge(const struct dialog_result *res);

/* relaytest_reply_outcome - the outcome of the reply (@code, @enhanced
 * "" when none, @text) to a test's RCPT. */
enum relaytest_outcome relaytest_reply_outcome(int code, const char *enhanced,
					       const char *text);

/* relaytest_summarize - count @n outcomes into @s. */
void relaytest_summarize(const enum relaytest_outcome *outcomes, size_t n,
			 struct relaytest_summary *s);

/* relaytest_verdict - the verdict line into @buf: "no relay accepted" or
 * "OPEN RELAY: N forms accepted" ("1 form"). Returns @buf. */
const char *relaytest_verdict(const struct relaytest_summary *s, char *buf,
			      size_t size);

/* relaytest_exit_status - 1 when any form was accepted; else 2 when a
 * test got no answer (the audit is incomplete: the session failed); else
 * 0, the server is closed. */
int relaytest_exit_status(const struct relaytest_summary *s);

/* relaytest_outcome_word - "accepted", "refused", "inconclusive" or "not
 * tested", for people. relaytest_outcome_reason - a word per outcome for
 * JSON ("accepted", "refused", "domain_not_found", "temporary",
 * "mail_refused", "no_answer"). "?" for an out-of-range value. */
const char *relaytest_outcome_word(enum relaytest_outcome o);
const char *relaytest_outcome_reason(enum relaytest_outcome o);

#endif
