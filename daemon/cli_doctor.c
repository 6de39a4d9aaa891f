/* cli_doctor - `rcptd doctor`: is this host fit to run a verifier?
 *
 * Mail servers judge a verifier by where it comes from before they read
 * a word of what it says. The checks, in order of their dependencies,
 * each one line PASS, WARN, FAIL or SKIP, and for WARN and FAIL the fix
 * in plain words:
 *   dns       the resolver (--dns-server, or the system's) answers;
 *   port 25   a TCP connection to the target (--target-host HOST[:PORT],
 *             or the best MX hosts of --target-domain: one is required)
 *             gets its 220 greeting, then QUIT. Many clouds and ISPs
 *             block outbound port 25, and without it nothing works;
 *   source    the outgoing address: --source-ip, or the address the
 *             kernel picks for the target (a connected UDP socket: no
 *             packet is sent). Behind NAT only --source-ip can name it;
 *   helo      --helo is a fully qualified domain name whose A or AAAA
 *             records hold the outgoing address,
 *   ptr       and that address's PTR names it back: forward-confirmed
 *             reverse DNS (RFC 1912 2.1), which large receivers demand
 *             of every client and which matters more than anything else
 *             for not being blocked (DESIGN.md);
 *   mail from a non-null --mail-from's domain can receive mail (MX):
 *             receivers refuse senders whose bounces could not return;
 *   redis     --redis connects, logs in and answers PING;
 *   dnsbl     each --dnsbl ZONE answers its RFC 5782 test point and does
 *             not list the outgoing address.
 * A check that cannot run because an earlier one failed says SKIP.
 * Exit status: 0 when no check failed (warnings allowed), 1 when one
 * did, 2 on a usage or configuration error.
 *
 * Sequential by design: each check starts its I/O and runs the loop until
 * it has finished, so the report reads in the order above; every wait
 * has a timeout (--dns-timeout, --connect-timeout, --banner-timeout,
 * --command-timeout, DOCTOR_NET_REDIS_WAIT_MS). MX sets come from the
 * resolver (resolver.h), A, AAAA, PTR and TXT from a c-ares channel of
 * our own; never the hosts file. Port 25 is tried only on addresses the
 * network policy allows, as for a probe. The probes themselves (DNS, the
 * port-25 greeting, Redis PING, DNSBL questions, the source address) are
 * doctor_net.h's; the identity checks (source, helo, ptr, mail from,
 * dnsbl) doctor_id.h's. Here: the options, the DNS, port-25 and Redis
 * checks, the order of all and the report. */
#include <arpa/nameser.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <uv.h>

#include "core/netpolicy.h"
#include "core/redis_url.h"
#include "daemon/cli.h"
#include "daemon/config.h"
#include "daemon/doctor_id.h"
#include "daemon/doctor_net.h"
#include "daemon/log.h"
#include "daemon/resolver.h"

#define DOCTOR_NAME_MAX DOCTOR_NET_NAME_MAX
/* Port-25 targets tried: the first few MX addresses tell whether port 25
 * is open; more only lengthens the wait when it is blocked. */
#define DOCTOR_TARGETS_MAX 3
/* A check line; a greeting is cut to fit (doctor_id.h's lines too). */
#define DOCTOR_LINE_MAX DOCTOR_ID_LINE_MAX
/* A resolver slower than this makes every verification slow. */
#define DOCTOR_DNS_SLOW_MS 1000
/* The DNS servers, listed in the DNS check's line. */
#define DOCTOR_SERVERS_MAX 256

static const char *const check_name[DOCTOR_ID_CHECK_LAST] = {"PASS", "WARN",
							     "FAIL", "SKIP"};

struct target {
	struct doctor_net_ip ip;
	unsigned port;
	char host[DOCTOR_NAME_MAX + 1]; /* the MX host, or HOST as given */
};

struct doctor {
	uv_loop_t loop;
	const struct config *c;
	struct netpolicy policy;
	struct doctor_net net;
	unsigned count[DOCTOR_ID_CHECK_LAST];
	bool dns_ok;
	struct target targets[DOCTOR_TARGETS_MAX];
	unsigned ntargets;
	struct doctor_id id; /* the identity checks' (doctor_id.h) */
};

/* report_line - one check line, and the fix under it when @fix is not
 * NULL; counted. The doctor_id_report_fn of the identity checks. */
static void report_line(void *arg, enum doctor_id_check st, const char *fix,
			const char *line)
{
	struct doctor *d = arg;

	d->count[st]++;
	printf("%s  %s\n", check_name[st], line);
	if (fix)
		printf("      fix: %s\n", fix);
	fflush(stdout);
}

/* report - one check line of this file's checks, formatted. */
__attribute__((format(printf, 4, 5))) static void
report(struct doctor *d, enum doctor_id_check st, const char *fix,
       const char *fmt, ...)
{
	char line[DOCTOR_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	report_line(d, st, fix, line);
}

/* ---- the checks --------------------------------------------------------- */

/* parse_host_port - "HOST", "HOST:PORT", "[IPv6]:PORT" or a bare IPv6
 * address into @host and @port (25 by default). */
static int parse_host_port(const char *in, char *host, size_t hlen,
			   unsigned *port)
{
	const char *colon = strrchr(in, ':');
	const char *h = in;
	size_t len = strlen(in);
	char *end;

	*port = 25;
	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		if (close == NULL)
			return -1;
		h = in + 1;
		len = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return -1;
	} else if (colon && strchr(in, ':') != colon) {
		colon = NULL; /* a bare IPv6 address */
	} else if (colon) {
		len = (size_t)(colon - in);
	}
	if (colon) {
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
			return -1;
		*port = (unsigned)p;
	}
	if (len == 0 || len >= hlen)
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	return 0;
}

/* ---- the checks --------------------------------------------------------- */

/* check_dns - the resolver answers a question about a name we need
 * anyway. NOERROR, NODATA and NXDOMAIN are answers; anything else means
 * every later DNS check would fail the same way, so they are skipped. */
static void check_dns(struct doctor *d)
{
	const struct config *c = d->c;
	const char *name = c->target_domain[0] ? c->target_domain : c->helo;
	char host[DOCTOR_NAME_MAX + 1];
	unsigned char octets[16];
	unsigned port;
	int family;
	char list[DOCTOR_SERVERS_MAX];
	struct doctor_net_dq q;

	doctor_net_servers(&d->net, list, sizeof(list));
	/* A name --target-host gives is asked anyway; the HELO name else. */
	if (c->target_host[0] &&
	    parse_host_port(c->target_host, host, sizeof(host), &port) == 0 &&
	    netpolicy_parse_ip(host, &family, octets) < 0)
		name = host;
	doctor_net_ask(&d->net, ns_t_a, name, &q);
	if (q.status != ARES_SUCCESS && q.status != ARES_ENODATA &&
	    q.status != ARES_ENOTFOUND) {
		report(d, DOCTOR_ID_FAIL,
		       "name a DNS server that answers with --dns-server IP "
		       "(a local caching resolver such as unbound, not a "
		       "public one: DNS blocklists refuse public resolvers)",
		       "DNS: %s (%s) asked for %s: %s",
		       c->dns_server.count ? "--dns-server" : "system resolver",
		       list, name, doctor_net_dq_error(q.status));
		return;
	}
	d->dns_ok = true;
	if (q.ms > DOCTOR_DNS_SLOW_MS)
		report(d, DOCTOR_ID_WARN,
		       "use a resolver close to this host (a local unbound); "
		       "every verification waits for several lookups",
		       "DNS: %s (%s) answered, but slowly (%u ms)",
		       c->dns_server.count ? "--dns-server" : "system resolver",
		       list, q.ms);
	else
		report(d, DOCTOR_ID_PASS, NULL,
		       "DNS: %s (%s) answered in %u ms",
		       c->dns_server.count ? "--dns-server" : "system resolver",
		       list, q.ms);
}

/* target_add - keep @ip as a port-25 target when the policy allows it;
 * returns false (with the reason in @why) when it does not. */
static bool target_add(struct doctor *d, const char *host,
		       const struct doctor_net_ip *ip, unsigned port, char *why,
		       size_t wlen)
{
	enum netpolicy_class cls =
	    netpolicy_check(&d->policy, ip->family, ip->octets);
	struct target *t;

	if (cls != NETPOLICY_GLOBAL) {
		if (why[0] == '\0')
			snprintf(why, wlen, "%s is %s", ip->text,
				 netpolicy_class_name(cls));
		return false;
	}
	if (d->ntargets == DOCTOR_TARGETS_MAX)
		return true;
	t = &d->targets[d->ntargets++];
	t->ip = *ip;
	t->port = port;
	snprintf(t->host, sizeof(t->host), "%s", host);
	return true;
}

/* find_targets - the addresses port 25 is tried on: --target-host's, or
 * those of --target-domain's MX hosts in MX order. */
static void find_targets(struct doctor *d)
{
	const struct config *c = d->c;
	char host[DOCTOR_NAME_MAX + 1], why[128] = "";
	unsigned char octets[16];
	unsigned port;
	int family;
	struct doctor_net_ip ip;

	if (c->target_host[0]) {
		struct doctor_net_dq q;
		/* Checked by cli_doctor() before anything ran. */
		parse_host_port(c->target_host, host, sizeof(host), &port);
		if (netpolicy_parse_ip(host, &family, octets) == 0) {
			doctor_net_ip_set(&ip, family, octets);
			target_add(d, host, &ip, port, why, sizeof(why));
		} else if (!d->dns_ok) {
			report(d, DOCTOR_ID_SKIP, NULL,
			       "port 25: cannot resolve %s without DNS", host);
			return;
		} else {
			doctor_net_addrs(&d->net, host, &q);
			for (unsigned i = 0; i < q.count; i++)
				target_add(d, host, &q.addr[i], port, why,
					   sizeof(why));
			if (q.count == 0) {
				report(d, DOCTOR_ID_FAIL,
				       "name a mail server by an address or "
				       "a name that resolves",
				       "port 25: %s has no address (%s)", host,
				       q.status == ARES_ENOTFOUND
					   ? "NXDOMAIN"
					   : doctor_net_dq_error(q.status));
				return;
			}
		}
	} else {
		struct doctor_net_mx m;
		if (!d->dns_ok) {
			report(d, DOCTOR_ID_SKIP, NULL,
			       "port 25: cannot find the MX of %s without DNS",
			       c->target_domain);
			return;
		}
		if (doctor_net_mx(&d->net, c->target_domain, &m) < 0 ||
		    m.status != RESOLVER_OK) {
			report(d, DOCTOR_ID_FAIL,
			       "name a domain that receives mail "
			       "(--target-domain gmail.com) or a server "
			       "(--target-host)",
			       "port 25: no mail server found for %s (%s%s%s)",
			       c->target_domain,
			       resolver_status_name(m.status) ?: "invalid",
			       m.error[0] ? ": " : "", m.error);
			return;
		}
		for (unsigned i = 0; i < m.count; i++)
			for (unsigned j = 0; j < m.hosts[i].addr_count; j++) {
				doctor_net_ip_set(&ip,
						  m.hosts[i].addrs[j].family,
						  m.hosts[i].addrs[j].octets);
				target_add(d, m.hosts[i].name, &ip, 25, why,
					   sizeof(why));
			}
	}
	if (d->ntargets == 0)
		report(d, DOCTOR_ID_FAIL,
		       "rcptd never probes such addresses; name a public mail "
		       "server, or allow the range with --allow-net CIDR",
		       "port 25: refusing to connect: %s", why);
}

static void check_port25(struct doctor *d)
{
	char failures[DOCTOR_LINE_MAX / 2] = "";
	size_t n = 0;
	bool refused_only = true;

	for (unsigned i = 0; i < d->ntargets; i++) {
		const struct target *tg = &d->targets[i];
		struct doctor_net_smtp t;

		doctor_net_smtp(&d->net, &tg->ip, tg->port,
				d->c->connect_timeout, d->c->banner_timeout,
				&t);
		if (t.greeted && t.code == 220) {
			report(d, DOCTOR_ID_PASS, NULL,
			       "port 25: %s [%s]:%u greeted us in %u ms: "
			       "\"%d %s\"",
			       tg->host, tg->ip.text, tg->port, t.greet_ms,
			       t.code, t.text);
			return;
		}
		if (t.greeted) {
			/* A 554 at connect is mostly about the client: a
			 * blocklist, no PTR, a bad reputation. */
			report(d,
			       t.code >= 500 ? DOCTOR_ID_FAIL : DOCTOR_ID_WARN,
			       t.code >= 500
				   ? "the server refuses this host before it "
				     "says hello; its text says why (often a "
				     "blocklist or a missing PTR: see the "
				     "checks below)"
				   : "the server is busy or limits this "
				     "host; try again later",
			       "port 25: %s [%s]:%u reached, but it greets "
			       "with \"%d %s\"",
			       tg->host, tg->ip.text, tg->port, t.code, t.text);
			return;
		}
		if (t.err != UV_ECONNREFUSED)
			refused_only = false;
		if (n < sizeof(failures))
			n += (size_t)snprintf(
			    failures + n, sizeof(failures) - n, "%s[%s]:%u %s",
			    i ? "; " : "", tg->ip.text, tg->port,
			    t.timed_out ? (t.connected ? "no greeting in time"
						       : "connect timed out")
			    : t.err	? uv_strerror(t.err)
					: t.text);
	}
	if (d->ntargets == 0)
		return;
	report(d, DOCTOR_ID_FAIL,
	       refused_only
		   ? "the connection was refused: the server is down, or a "
		     "firewall on the way rejects port 25; try another "
		     "--target-domain to tell which"
		   : "outbound port 25 looks blocked: many clouds and ISPs "
		     "block it by default (AWS, Azure, GCP, home lines); ask "
		     "the provider to lift the block, or run rcptd where "
		     "port 25 is open",
	       "port 25: no greeting from %s (%s)", d->targets[0].host,
	       failures);
}

/* check_redis - --redis connects, logs in and answers PING. */
static void check_redis(struct doctor *d)
{
	struct redis_url url;
	struct doctor_net_pong pong;
	char err[REDIS_URL_MAX], shown[REDIS_URL_MAX];

	if (d->c->redis[0] == '\0') {
		report(d, DOCTOR_ID_SKIP, NULL,
		       "Redis: not configured (--redis URL; without it the "
		       "cache is in-process only)");
		return;
	}
	if (redis_url_parse(d->c->redis, &url, err, sizeof(err)) < 0) {
		report(d, DOCTOR_ID_FAIL,
		       "write it as redis://[:PASSWORD@]HOST[:PORT][/DB]",
		       "Redis: --redis: %s", err);
		return;
	}
	redis_url_display(&url, shown, sizeof(shown));
	doctor_net_redis_ping(&d->net, &url, d->c->redis_timeout, &pong);
	if (!pong.started)
		report(d, DOCTOR_ID_FAIL, NULL, "Redis %s: %s", shown,
		       pong.text);
	else if (pong.answered && strcmp(pong.text, "PONG") == 0)
		report(d, DOCTOR_ID_PASS, NULL, "Redis %s: PONG in %u ms",
		       shown, pong.ms);
	else
		report(d, DOCTOR_ID_FAIL,
		       "check the host, port and password of --redis, and "
		       "that Redis runs; rcptd works without it, on the "
		       "in-process cache, and /readyz reports not ready",
		       "Redis %s: %s", shown, pong.text);
}

/* ---- the command ----------------------------------------------------------
 */

static void doctor_usage(FILE *out)
{
	fprintf(out,
		"usage: rcptd doctor [options] (--target-domain DOMAIN | "
		"--target-host HOST[:PORT])\n\n"
		"Check what makes or breaks a verifier on this host: DNS, "
		"outbound port 25,\nthe HELO name and the outgoing "
		"address's reverse DNS, the MAIL FROM domain,\nRedis and "
		"DNS blocklists. Each line says PASS, WARN, FAIL or SKIP; "
		"each WARN\nand FAIL says how to fix it. Exit status: 0 no "
		"check failed, 1 one did,\n2 a usage or configuration "
		"error.\n\n");
	config_usage(out, SCOPE_DOCTOR);
}

static void doctor_run(struct doctor *d)
{
	const struct config *c = d->c;

	printf(
	    "rcptd doctor %s: HELO %s, MAIL FROM <%s>, port-25 target %s\n\n",
	    RCPTD_VERSION, c->helo, c->mail_from,
	    c->target_host[0] ? c->target_host : c->target_domain);
	check_dns(d);
	find_targets(d);
	check_port25(d);
	d->id.dns_ok = d->dns_ok;
	doctor_id_source(&d->id, d->ntargets ? &d->targets[0].ip : NULL);
	doctor_id_helo(&d->id);
	doctor_id_mail_from(&d->id);
	check_redis(d);
	if (c->dnsbl.count == 0)
		report(d, DOCTOR_ID_SKIP, NULL,
		       "DNS blocklists: none named (--dnsbl ZONE, repeatable)");
	for (unsigned i = 0; i < c->dnsbl.count; i++)
		doctor_id_dnsbl(&d->id, c->dnsbl.item[i]);
	printf("\ndoctor: %u passed, %u warnings, %u failed, %u skipped\n",
	       d->count[DOCTOR_ID_PASS], d->count[DOCTOR_ID_WARN],
	       d->count[DOCTOR_ID_FAIL], d->count[DOCTOR_ID_SKIP]);
}

int cli_doctor(int argc, char **argv, char **envp)
{
	struct config c;
	struct doctor d;
	char err[512], host[DOCTOR_NAME_MAX + 1];
	unsigned char octets[16];
	unsigned port;
	int first, rc, family;

	rc = config_load(&c, SCOPE_DOCTOR, argc, argv, envp, &first, err,
			 sizeof(err));
	if (rc != 0) {
		if (rc > 0)
			doctor_usage(stdout);
		else
			fprintf(stderr, "rcptd doctor: %s\n", err);
		config_release(&c);
		return rc > 0 ? 0 : 2;
	}
	rc = 2;
	if (first != argc) {
		fprintf(stderr, "rcptd doctor: unexpected argument '%s'\n",
			argv[first]);
		goto out_config;
	}
	if (!c.target_domain[0] == !c.target_host[0]) {
		fprintf(stderr,
			"rcptd doctor: name one port-25 target: "
			"--target-domain DOMAIN (a domain whose mail servers "
			"you expect to reach, e.g. gmail.com) or "
			"--target-host HOST[:PORT]\n");
		goto out_config;
	}
	if (c.target_host[0] &&
	    parse_host_port(c.target_host, host, sizeof(host), &port) < 0) {
		fprintf(stderr,
			"rcptd doctor: --target-host: '%s' is not HOST, "
			"HOST:PORT or [IPv6]:PORT\n",
			c.target_host);
		goto out_config;
	}
	if (c.source_ip[0] &&
	    netpolicy_parse_ip(c.source_ip, &family, octets) < 0) {
		fprintf(stderr,
			"rcptd doctor: --source-ip: '%s' is not an IPv4 or "
			"IPv6 address\n",
			c.source_ip);
		goto out_config;
	}
	if (log_setup(c.log_format, c.log_level) < 0) {
		fprintf(stderr,
			"rcptd doctor: --log-level: '%s' is not debug, "
			"info, warn or error\n",
			c.log_level);
		goto out_config;
	}
	memset(&d, 0, sizeof(d));
	d.c = &c;
	netpolicy_init(&d.policy);
	d.id.c = &c;
	d.id.net = &d.net;
	d.id.policy = &d.policy;
	d.id.report = report_line;
	d.id.arg = &d;
	for (unsigned i = 0; i < c.allow_net.count; i++)
		if (netpolicy_allow_cidr(&d.policy, c.allow_net.item[i], err,
					 sizeof(err)) < 0) {
			fprintf(stderr, "rcptd doctor: --allow-net: %s\n", err);
			goto out_config;
		}
	/* A peer that closes while we write QUIT, or Redis going away. */
	signal(SIGPIPE, SIG_IGN);
	if (uv_loop_init(&d.loop) < 0) {
		fprintf(stderr, "rcptd doctor: cannot start an event loop\n");
		rc = 1;
		goto out_config;
	}
	if (doctor_net_open(&d.net, &d.loop, &c, err, sizeof(err)) < 0)
		fprintf(stderr, "rcptd doctor: %s\n", err);
	else {
		doctor_run(&d);
		rc = d.count[DOCTOR_ID_FAIL] ? 1 : 0;
	}
	doctor_net_close(&d.net);
	uv_run(&d.loop, UV_RUN_DEFAULT); /* let the handles close */
	if (uv_loop_close(&d.loop) != 0)
		log_error("event loop closed with handles still open");
out_config:
	config_release(&c);
	return rc;
}
