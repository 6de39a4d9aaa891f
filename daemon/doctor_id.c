/* doctor_id - `rcptd doctor`'s identity checks: the outgoing address,
 * the HELO name and reverse DNS, the MAIL FROM domain and DNS blocklists
 * (see doctor_id.h). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "daemon/dnsquery.h"
#include "daemon/doctor_id.h"
#include "daemon/resolver.h"

/* report - one check line, formatted, to the caller. */
__attribute__((format(printf, 4, 5))) static void
report(const struct doctor_id *id, enum doctor_id_check st, const char *fix,
       const char *fmt, ...)
{
	char line[DOCTOR_ID_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	id->report(id->arg, st, fix, line);
}

/* doctor_id_source - connect(2) on a UDP socket picks the route and
 * the source address towards @target; nothing is sent. */
void doctor_id_source(struct doctor_id *id, const struct doctor_net_ip *target)
{
	const struct config *c = id->c;
	enum netpolicy_class cls;
	unsigned char octets[16];
	int family;

	if (c->source_ip[0]) {
		/* Checked by cli_doctor() before anything ran. */
		netpolicy_parse_ip(c->source_ip, &family, octets);
		doctor_net_ip_set(&id->source, family, octets);
		id->source_usable = true;
		report(id, DOCTOR_ID_PASS, NULL,
		       "outgoing address: %s (--source-ip)", id->source.text);
		return;
	}
	if (target == NULL) {
		report(id, DOCTOR_ID_SKIP,
		       "name it with --source-ip, or a reachable target",
		       "outgoing address: unknown without a port-25 target");
		return;
	}
	if (doctor_net_source(target, &id->source) < 0) {
		report(id, DOCTOR_ID_FAIL, "name it with --source-ip",
		       "outgoing address: no route to %s", target->text);
		return;
	}
	cls = netpolicy_check(id->policy, id->source.family, id->source.octets);
	if (cls != NETPOLICY_GLOBAL) {
		report(id, DOCTOR_ID_FAIL,
		       "this host is behind NAT: mail servers see another "
		       "address; name that public address with --source-ip "
		       "so that its DNS can be checked",
		       "outgoing address: %s is %s (the kernel's choice for "
		       "%s)",
		       id->source.text, netpolicy_class_name(cls),
		       target->text);
		return;
	}
	id->source_usable = true;
	report(id, DOCTOR_ID_PASS, NULL,
	       "outgoing address: %s (the kernel's choice for %s)",
	       id->source.text, target->text);
}

/* helo_is_fqdn - a host name with at least two labels, not localhost. */
static bool helo_is_fqdn(const char *helo, char *norm)
{
	int family;
	unsigned char oct[16];

	size_t len;

	if (netpolicy_parse_ip(helo, &family, oct) == 0 ||
	    dnsquery_name_normalise(helo, norm) < 0 || !strchr(norm, '.'))
		return false;
	len = strlen(norm);
	return !(len >= 12 && strcmp(norm + len - 12, ".localdomain") == 0) &&
	       !(len >= 10 && strcmp(norm + len - 10, ".localhost") == 0);
}

/* doctor_id_helo - the HELO name first; then, with DNS and the outgoing
 * address, its A/AAAA records and the address's PTR; when the PTR names
 * another host, whether that one at least resolves back (the fix). */
void doctor_id_helo(struct doctor_id *id)
{
	const struct config *c = id->c;
	char helo[DOCTOR_NET_NAME_MAX + 1] = "", list[400];
	char fix[DOCTOR_ID_FIX_MAX];
	bool fqdn = helo_is_fqdn(c->helo, helo), forward = false;
	struct doctor_net_dq q, p;

	if (!fqdn) {
		report(id, DOCTOR_ID_FAIL,
		       "set --helo to this host's fully qualified name, e.g. "
		       "verifier.example.org, with an A record for the "
		       "outgoing address and that address's PTR set to it",
		       "HELO '%s' is not a fully qualified domain name",
		       c->helo);
	} else {
		report(id, DOCTOR_ID_PASS, NULL,
		       "HELO %s is a fully qualified domain name", helo);
	}
	if (!id->dns_ok || !id->source_usable) {
		report(id, DOCTOR_ID_SKIP, NULL,
		       "HELO and PTR of the outgoing address: %s",
		       !id->dns_ok ? "no DNS" : "the address is not known");
		return;
	}
	if (fqdn) {
		doctor_net_addrs(id->net, helo, &q);
		doctor_net_addr_list(&q, list, sizeof(list));
		for (unsigned i = 0; i < q.count; i++)
			forward |= doctor_net_ip_equal(&q.addr[i], &id->source);
		snprintf(fix, sizeof(fix),
			 "publish %s %s %s in DNS (or change --helo to the "
			 "name the address's PTR gives)",
			 helo, id->source.family == AF_INET ? "A" : "AAAA",
			 id->source.text);
		if (forward)
			report(id, DOCTOR_ID_PASS, NULL,
			       "HELO %s resolves to %s (the outgoing address)",
			       helo, id->source.text);
		else if (q.count)
			report(id, DOCTOR_ID_FAIL, fix,
			       "HELO %s resolves to %s, not to the outgoing "
			       "address %s",
			       helo, list, id->source.text);
		else
			report(id, DOCTOR_ID_FAIL, fix,
			       "HELO %s has no A or AAAA record (%s)", helo,
			       q.status == ARES_ENOTFOUND ? "NXDOMAIN"
			       : q.status == ARES_ENODATA
				   ? "NODATA"
				   : doctor_net_dq_error(q.status));
	}

	doctor_net_ptr(id->net, &id->source, &p);
	snprintf(fix, sizeof(fix),
		 "ask whoever owns %s (your hosting provider or ISP: the "
		 "reverse DNS or rDNS setting) to set its PTR to %s",
		 id->source.text, fqdn ? helo : "your HELO name");
	if (p.count == 0) {
		report(id, DOCTOR_ID_FAIL, fix, "PTR of %s: none (%s)",
		       id->source.text,
		       p.status == ARES_ENOTFOUND ? "NXDOMAIN"
		       : p.status == ARES_ENODATA
			   ? "NODATA"
			   : doctor_net_dq_error(p.status));
		return;
	}
	for (unsigned i = 0; fqdn && i < p.count; i++)
		if (strcasecmp(p.name[i], helo) == 0) {
			report(id, forward ? DOCTOR_ID_PASS : DOCTOR_ID_WARN,
			       forward ? NULL
				       : "publish the A/AAAA record above: "
					 "without it the PTR is not "
					 "confirmed",
			       "PTR of %s: %s, the HELO name%s",
			       id->source.text, p.name[i],
			       forward ? " (forward-confirmed)" : "");
			return;
		}
	/* The PTR names another host: does it at least confirm itself? */
	doctor_net_addrs(id->net, p.name[0], &q);
	forward = false;
	for (unsigned i = 0; i < q.count; i++)
		forward |= doctor_net_ip_equal(&q.addr[i], &id->source);
	if (forward)
		snprintf(fix, sizeof(fix),
			 "use --helo %s (it resolves back to %s), or set the "
			 "PTR of %s to %s",
			 p.name[0], id->source.text, id->source.text,
			 fqdn ? helo : "your HELO name");
	report(id, DOCTOR_ID_FAIL, fix, "PTR of %s: %s, not the HELO name %s%s",
	       id->source.text, p.name[0], c->helo,
	       forward ? "" : " (and it does not resolve back)");
}

/* doctor_id_mail_from - the sender's domain must be able to receive the
 * bounces that a real message from it would cause (RFC 5321 4.5.5 and
 * RFC 7505 4.2: receivers refuse a sender domain with no MX or a null
 * MX). The null sender needs nothing. */
void doctor_id_mail_from(struct doctor_id *id)
{
	const char *from = id->c->mail_from, *at = strrchr(from, '@');
	const char *fix = "use the null sender (--mail-from '') or an "
			  "address at a domain you run that receives mail";
	struct doctor_net_mx m;

	if (from[0] == '\0') {
		report(id, DOCTOR_ID_PASS, NULL,
		       "MAIL FROM: the null sender <> (needs no DNS)");
		return;
	}
	if (at == NULL || at[1] == '\0') {
		report(id, DOCTOR_ID_FAIL, fix, "MAIL FROM %s: not an address",
		       from);
		return;
	}
	if (!id->dns_ok) {
		report(id, DOCTOR_ID_SKIP, NULL, "MAIL FROM %s: no DNS", from);
		return;
	}
	if (doctor_net_mx(id->net, at + 1, &m) < 0) {
		report(id, DOCTOR_ID_FAIL, fix,
		       "MAIL FROM %s: '%s' is not a domain", from, at + 1);
		return;
	}
	if (m.status == RESOLVER_OK && !m.implicit)
		report(id, DOCTOR_ID_PASS, NULL,
		       "MAIL FROM %s: %s has an MX (%s, preference %u)", from,
		       at + 1, m.hosts[0].name, m.hosts[0].preference);
	else if (m.status == RESOLVER_OK)
		report(id, DOCTOR_ID_WARN,
		       "publish an MX record for the domain; some receivers "
		       "refuse senders without one",
		       "MAIL FROM %s: %s has no MX, only an address (the "
		       "implicit MX)",
		       from, at + 1);
	else
		report(id, DOCTOR_ID_FAIL, fix,
		       "MAIL FROM %s: %s cannot receive "
		       "mail (%s%s%s)",
		       from, at + 1, resolver_status_name(m.status) ?: "?",
		       m.error[0] ? ": " : "", m.error);
}

/* dnsbl_code - what an A answer of a DNSBL means (RFC 5782 2.3: any
 * 127.0.0.0/8 address but 127.0.0.1 lists; Spamhaus-style lists answer
 * 127.255.255.x when they refuse the query itself). */
static enum doctor_id_check dnsbl_code(const struct doctor_net_dq *q,
				       const char **why)
{
	const unsigned char *a = q->addr[0].octets;

	if (a[0] != 127) {
		*why = "an answer outside 127.0.0.0/8: the zone is not a "
		       "DNSBL (retired, or a wildcard)";
		return DOCTOR_ID_WARN;
	}
	if (a[1] == 255 && a[2] == 255) {
		*why = "the list refused the query (127.255.255.x: most often "
		       "a public or shared resolver, which many lists block)";
		return DOCTOR_ID_WARN;
	}
	if (a[1] == 0 && a[2] == 0 && a[3] == 1) {
		*why = "127.0.0.1 is not a listing (RFC 5782 2.3)";
		return DOCTOR_ID_WARN;
	}
	*why = NULL;
	return DOCTOR_ID_FAIL;
}

/* doctor_id_dnsbl - the test point first (a list that does not answer
 * it cannot be trusted), then the outgoing address, then the TXT of a
 * listing (its reason and how to be delisted). */
void doctor_id_dnsbl(struct doctor_id *id, const char *zone)
{
	char z[DOCTOR_NET_NAME_MAX + 1];
	const char *why;
	struct doctor_net_dq q, txt;
	enum doctor_id_check st;

	if (dnsquery_name_normalise(zone, z) < 0) {
		report(id, DOCTOR_ID_FAIL, "name the zone as a domain name",
		       "DNSBL '%s': not a DNS name", zone);
		return;
	}
	if (!id->dns_ok || !id->source_usable) {
		report(id, DOCTOR_ID_SKIP, NULL, "DNSBL %s: %s", z,
		       !id->dns_ok ? "no DNS" : "the address is not known");
		return;
	}
	/* RFC 5782 5: every IPv4 list lists 127.0.0.2; a zone that does
	 * not is misnamed, or does not answer this resolver. */
	if (id->source.family == AF_INET) {
		static const unsigned char test_point[4] = {127, 0, 0, 2};
		struct doctor_net_ip tp;

		doctor_net_ip_set(&tp, AF_INET, test_point);
		doctor_net_dnsbl(id->net, &tp, z, ns_t_a, &q);
	}
	if (id->source.family == AF_INET &&
	    (q.count == 0 || q.addr[0].octets[0] != 127 ||
	     dnsbl_code(&q, &why) != DOCTOR_ID_FAIL))
		report(id, DOCTOR_ID_WARN,
		       "check the zone's name, and query it through your own "
		       "resolver (lists refuse public ones)",
		       "DNSBL %s: its test address 127.0.0.2 is not listed "
		       "(%s): its answers cannot be trusted",
		       z,
		       q.count ? q.addr[0].text
		       : q.status == ARES_ENOTFOUND
			   ? "NXDOMAIN"
			   : doctor_net_dq_error(q.status));
	doctor_net_dnsbl(id->net, &id->source, z, ns_t_a, &q);
	if (q.status == ARES_ENOTFOUND || q.status == ARES_ENODATA) {
		report(id, DOCTOR_ID_PASS, NULL, "DNSBL %s: %s is not listed",
		       z, id->source.text);
		return;
	}
	if (q.count == 0) {
		report(id, DOCTOR_ID_WARN, "try again; check the zone's name",
		       "DNSBL %s: could not check %s: %s", z, id->source.text,
		       doctor_net_dq_error(q.status));
		return;
	}
	st = dnsbl_code(&q, &why);
	if (st != DOCTOR_ID_FAIL) {
		report(id, st, "see the list's usage policy",
		       "DNSBL %s: %s answers %s: %s", z, id->source.text,
		       q.addr[0].text, why);
		return;
	}
	doctor_net_dnsbl(id->net, &id->source, z, ns_t_txt, &txt);
	report(id, DOCTOR_ID_FAIL,
	       "receivers that use this list refuse this host: follow the "
	       "list's delisting procedure (its TXT record names it), and "
	       "find out why it was listed first",
	       "DNSBL %s: %s is listed (%s)%s%s%s", z, id->source.text,
	       q.addr[0].text, txt.count ? ": \"" : "", txt.txt,
	       txt.count ? "\"" : "");
}
