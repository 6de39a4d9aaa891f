/* doctor_id - `rcptd doctor`'s identity checks: who this host is to the
 * mail servers it talks to (daemon/cli_doctor.c).
 *
 * Receivers judge a verifier by its address and its names before its
 * words. The checks, in the order the caller runs them:
 *   source    the outgoing address: --source-ip, or the address the
 *             kernel picks towards the first port-25 target (a connected
 *             UDP socket: no packet is sent); behind NAT only --source-ip
 *             can name it;
 *   helo      --helo is a fully qualified domain name whose A or AAAA
 *             records hold the outgoing address,
 *   ptr       and that address's PTR names it back: forward-confirmed
 *             reverse DNS (RFC 1912 2.1);
 *   mail from a non-null --mail-from's domain can receive mail (MX;
 *             RFC 5321 4.5.5, RFC 7505 4.2);
 *   dnsbl     a --dnsbl ZONE answers its test point (RFC 5782 5) and does
 *             not list the outgoing address (RFC 5782 2.3).
 * Each check reports one or more lines through the caller's
 * doctor_id_report_fn: a status (PASS, WARN, FAIL, SKIP), the line, and
 * for WARN and FAIL the fix in plain words. A check that needs DNS (or
 * the outgoing address) when it is not there says SKIP. The questions
 * go through doctor_net.h; whether an address is public is
 * core/netpolicy.h's.
 * Ownership: struct doctor_id is the caller's; its inputs (c, net,
 * policy, report, arg, dns_ok) are borrowed and set before the first
 * check; doctor_id_source() fills source and source_usable, which the
 * later checks read. The strings given to report are valid only during
 * the call.
 * Limits: a line at most DOCTOR_ID_LINE_MAX (cut to fit, as a greeting
 * or a DNSBL's TXT may be), a fix DOCTOR_ID_FIX_MAX.
 * Errors: none returned; every outcome is a report line. Loop: each
 * check turns the caller's loop through doctor_net.h until its answers
 * are in, so it has finished on return. */
#ifndef RCPTD_DAEMON_DOCTOR_ID_H
#define RCPTD_DAEMON_DOCTOR_ID_H

#include <stdbool.h>

#include "core/netpolicy.h"
#include "daemon/config.h"
#include "daemon/doctor_net.h"

/* A check line; a greeting or a DNSBL's TXT is cut to fit. */
#define DOCTOR_ID_LINE_MAX 1024
/* A fix: a sentence naming up to two host names (253 octets each) and two
 * addresses. */
#define DOCTOR_ID_FIX_MAX 768

/* How a check came out: the scale every `rcptd doctor` line is on
 * (cli_doctor.c's own checks use it too). */
enum doctor_id_check {
	DOCTOR_ID_PASS = 0,
	DOCTOR_ID_WARN,
	DOCTOR_ID_FAIL,
	DOCTOR_ID_SKIP,
	DOCTOR_ID_CHECK_LAST
};

/* doctor_id_report_fn - one check's line (without its status) and its
 * fix (NULL for none); the caller prints and counts it. */
typedef void doctor_id_report_fn(void *arg, enum doctor_id_check st,
				 const char *fix, const char *line);

struct doctor_id {
	/* the caller's, set before the first check */
	const struct config *c;		/* --helo, --mail-from, --source-ip */
	struct doctor_net *net;		/* the DNS channel and resolver */
	const struct netpolicy *policy; /* which addresses are public */
	doctor_id_report_fn *report;
	void *arg;   /* report's */
	bool dns_ok; /* the resolver answered: DNS checks may run */
	/* doctor_id_source()'s */
	struct doctor_net_ip source; /* the outgoing address */
	bool source_usable;	     /* known, and public */
};

/* doctor_id_source - find the outgoing address: --source-ip, else the
 * kernel's choice towards @target (the first port-25 target; NULL when
 * there is none, and then it is unknown). */
void doctor_id_source(struct doctor_id *id, const struct doctor_net_ip *target);
/* doctor_id_helo - HELO an FQDN resolving to the outgoing address, whose
 * PTR names it back (forward-confirmed reverse DNS). */
void doctor_id_helo(struct doctor_id *id);
/* doctor_id_mail_from - --mail-from's domain can receive the bounces a
 * real message from it would cause; the null sender needs nothing. */
void doctor_id_mail_from(struct doctor_id *id);
/* doctor_id_dnsbl - DNSBL @zone answers its test point and does not list
 * the outgoing address. */
void doctor_id_dnsbl(struct doctor_id *id, const char *zone);

#endif
