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
 * --command-timeout, DOCTOR_REDIS_WAIT_MS). MX sets come from the
 * resolver (resolver.h), A, AAAA, PTR and TXT from a c-ares channel of
 * our own (cares_uv.h); never the hosts file. Port 25 is tried only on
 * addresses the network policy allows, as for a probe. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ares.h>
#include <uv.h>

#include "core/netpolicy.h"
#include "core/redis_url.h"
#include "core/smtp_reply.h"
#include "daemon/cares_uv.h"
#include "daemon/cli.h"
#include "daemon/config.h"
#include "daemon/dnsquery.h"
#include "daemon/log.h"
#include "daemon/redis_conn.h"
#include "daemon/resolver.h"

/* Records kept of one RRset: a HELO name or a PTR with more than this is
 * not one an operator needs listed in full. */
#define DOCTOR_RR_MAX	8
#define DOCTOR_NAME_MAX RESOLVER_NAME_MAX
/* Port-25 targets tried: the first few MX addresses tell whether port 25
 * is open; more only lengthens the wait when it is blocked. */
#define DOCTOR_TARGETS_MAX 3
/* A check line; a greeting or a DNSBL's TXT is cut to fit. */
#define DOCTOR_LINE_MAX 1024
#define DOCTOR_TXT_MAX	256
/* A fix: a sentence naming up to two host names (253 octets each) and two
 * addresses. */
#define DOCTOR_FIX_MAX 768
/* Redis: connect, AUTH, SELECT and PING within this, as /readyz would
 * expect of a healthy one. */
#define DOCTOR_REDIS_WAIT_MS 3000
#define DOCTOR_REDIS_POLL_MS 20
/* A resolver slower than this makes every verification slow. */
#define DOCTOR_DNS_SLOW_MS 1000
/* QUIT is politeness: wait for 221 at most this long. */
#define DOCTOR_QUIT_MS 2000
/* Socket reads: a greeting line is at most SMTP_REPLY_LINE_MAX. */
#define DOCTOR_READ_MAX 4096

enum check { CHECK_PASS = 0, CHECK_WARN, CHECK_FAIL, CHECK_SKIP, CHECK_LAST };

static const char *const check_name[CHECK_LAST] = {"PASS", "WARN", "FAIL",
						   "SKIP"};

struct ip {
	int family; /* AF_INET, AF_INET6; 0: none */
	unsigned char octets[16];
	char text[INET6_ADDRSTRLEN];
};

struct target {
	struct ip ip;
	unsigned port;
	char host[DOCTOR_NAME_MAX + 1]; /* the MX host, or HOST as given */
};

/* One DNS question and its answer (A, AAAA, PTR or TXT). */
struct dq {
	bool done;
	int type;
	int status; /* ARES_SUCCESS, ARES_ENODATA (NODATA), ARES_ENOTFOUND
		     * (NXDOMAIN), or an error */
	uint64_t t0;
	unsigned ms;
	unsigned count;
	struct ip addr[DOCTOR_RR_MAX];		       /* A, AAAA */
	char name[DOCTOR_RR_MAX][DOCTOR_NAME_MAX + 1]; /* PTR */
	char txt[DOCTOR_TXT_MAX];		       /* TXT: the first */
};

struct doctor {
	uv_loop_t loop;
	const struct config *c;
	struct netpolicy policy;
	struct cares_uv *dns;
	struct resolver *res;
	unsigned count[CHECK_LAST];
	bool dns_ok;
	struct target targets[DOCTOR_TARGETS_MAX];
	unsigned ntargets;
	struct ip source;
	bool source_usable;
};

/* report - one check line, and the fix under it when @fix is not NULL. */
__attribute__((format(printf, 4, 5))) static void
report(struct doctor *d, enum check st, const char *fix, const char *fmt, ...)
{
	char line[DOCTOR_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->count[st]++;
	printf("%s  %s\n", check_name[st], line);
	if (fix)
		printf("      fix: %s\n", fix);
	fflush(stdout);
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* run_until - turn the loop until *@done; every operation that sets it
 * has a timeout of its own, so this ends. */
static void run_until(struct doctor *d, const bool *done)
{
	while (!*done)
		if (uv_run(&d->loop, UV_RUN_ONCE) == 0 && !*done)
			abort(); /* nothing left that could set it: a bug */
}

static void ip_set(struct ip *ip, int family, const void *octets)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	memcpy(ip->octets, octets, family == AF_INET ? 4 : 16);
	inet_ntop(family, octets, ip->text, sizeof(ip->text));
}

static bool ip_equal(const struct ip *a, const struct ip *b)
{
	return a->family == b->family &&
	       memcmp(a->octets, b->octets, a->family == AF_INET ? 4 : 16) == 0;
}

/* reverse_name - @ip as a name under @zone: "4.3.2.1.ZONE" for IPv4, the
 * 32 nibbles for IPv6 (RFC 1035 3.5, RFC 3596 2.5, RFC 5782 2.1). */
static void reverse_name(const struct ip *ip, const char *zone, char *out,
			 size_t size)
{
	size_t n = 0;

	if (ip->family == AF_INET)
		n = (size_t)snprintf(out, size, "%u.%u.%u.%u.", ip->octets[3],
				     ip->octets[2], ip->octets[1],
				     ip->octets[0]);
	else
		for (int i = 15; i >= 0 && n < size; i--)
			n += (size_t)snprintf(out + n, size - n, "%x.%x.",
					      ip->octets[i] & 0xf,
					      ip->octets[i] >> 4);
	if (n < size)
		snprintf(out + n, size - n, "%s", zone);
}

/* ---- DNS: one question at a time ------------------------------------- */

/* name_add - one PTR name into @q, once. */
static void name_add(struct dq *q, const char *name)
{
	for (unsigned i = 0; i < q->count; i++)
		if (strcasecmp(q->name[i], name) == 0)
			return;
	if (q->count < DOCTOR_RR_MAX)
		snprintf(q->name[q->count++], DOCTOR_NAME_MAX + 1, "%s", name);
}

static void dq_parse(struct dq *q, const unsigned char *abuf, int alen)
{
	int rc = ARES_ENODATA, n = DOCTOR_RR_MAX;

	if (q->type == ns_t_a) {
		struct ares_addrttl v4[DOCTOR_RR_MAX];
		rc = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			ip_set(&q->addr[q->count++], AF_INET, &v4[i].ipaddr);
	} else if (q->type == ns_t_aaaa) {
		struct ares_addr6ttl v6[DOCTOR_RR_MAX];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			ip_set(&q->addr[q->count++], AF_INET6, &v6[i].ip6addr);
	} else if (q->type == ns_t_ptr) {
		struct hostent *h = NULL;
		unsigned char any[16] = {0};
		rc = ares_parse_ptr_reply(abuf, alen, any, 4, AF_INET, &h);
		if (rc == ARES_SUCCESS) {
			/* c-ares 1.18 gives the last PTR as h_name and
			 * every one of them as an alias. */
			name_add(q, h->h_name);
			for (char **a = h->h_aliases; a && *a; a++)
				name_add(q, *a);
			ares_free_hostent(h);
		}
	} else if (q->type == ns_t_txt) {
		struct ares_txt_reply *t = NULL;
		rc = ares_parse_txt_reply(abuf, alen, &t);
		if (rc == ARES_SUCCESS && t) {
			int len = t->length < sizeof(q->txt) - 1
				      ? (int)t->length
				      : (int)sizeof(q->txt) - 1;
			snprintf(q->txt, sizeof(q->txt), "%.*s", len,
				 (const char *)t->txt);
			q->count = 1;
		}
		ares_free_data(t);
	}
	q->status = rc == ARES_SUCCESS && q->count == 0 ? ARES_ENODATA : rc;
}

static void on_dq(void *arg, int status, int timeouts, unsigned char *abuf,
		  int alen)
{
	struct dq *q = arg;

	(void)timeouts;
	q->ms = (unsigned)(now_ms() - q->t0);
	q->status = status;
	if (status == ARES_SUCCESS)
		dq_parse(q, abuf, alen);
	q->done = true;
}

/* dq_ask - ask (@type, @name) and wait for the answer. */
static void dq_ask(struct doctor *d, int type, const char *name, struct dq *q)
{
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->t0 = now_ms();
	ares_query(cares_uv_channel(d->dns), name, ns_c_in, type, on_dq, q);
	cares_uv_update(d->dns);
	run_until(d, &q->done);
}

/* dq_error - an answer that is not NOERROR/NXDOMAIN, in words. */
static const char *dq_error(int status)
{
	switch (status) {
	case ARES_ETIMEOUT:
		return "no answer (timeout)";
	case ARES_ESERVFAIL:
		return "SERVFAIL";
	case ARES_EREFUSED:
		return "REFUSED";
	case ARES_ECONNREFUSED:
		/* c-ares 1.18: every server failed or refused. */
		return "the DNS servers failed (SERVFAIL, REFUSED or "
		       "unreachable)";
	default:
		return ares_strerror(status);
	}
}

/* dq_addrs - the A and AAAA records of @name into @q (AAAA appended);
 * the status is the A query's unless it failed where AAAA did not. */
static void dq_addrs(struct doctor *d, const char *name, struct dq *q)
{
	struct dq six;

	dq_ask(d, ns_t_a, name, q);
	dq_ask(d, ns_t_aaaa, name, &six);
	for (unsigned i = 0; i < six.count && q->count < DOCTOR_RR_MAX; i++)
		q->addr[q->count++] = six.addr[i];
	if (q->count > 0)
		q->status = ARES_SUCCESS;
	else if (q->status == ARES_ENOTFOUND || six.status == ARES_ENOTFOUND)
		q->status = ARES_ENOTFOUND;
	else if (q->status == ARES_ENODATA)
		q->status = six.status;
}

static void addr_list(const struct dq *q, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < q->count && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "",
				      q->addr[i].text);
}

/* ---- MX through the resolver ------------------------------------------ */

struct mxq {
	bool done;
	enum resolver_status status;
	bool implicit;
	struct resolver_host hosts[RESOLVER_MX_HOSTS_MAX];
	unsigned count;
	char error[RESOLVER_ERROR_MAX];
};

static void on_mx(const struct resolver_mx_result *r, void *data)
{
	struct mxq *m = data;

	m->status = r->status;
	m->implicit = r->implicit;
	m->count = r->host_count;
	memcpy(m->hosts, r->hosts, r->host_count * sizeof(r->hosts[0]));
	snprintf(m->error, sizeof(m->error), "%s", r->error);
	m->done = true;
}

static int mx_ask(struct doctor *d, const char *domain, struct mxq *m)
{
	memset(m, 0, sizeof(*m));
	if (resolver_mx(d->res, domain, on_mx, m, NULL) < 0)
		return -1;
	run_until(d, &m->done);
	return 0;
}

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
	struct ares_addr_port_node *servers = NULL;
	char host[DOCTOR_NAME_MAX + 1];
	unsigned char octets[16];
	unsigned port;
	int family;
	char list[256] = "";
	size_t n = 0;
	struct dq q;

	if (ares_get_servers_ports(cares_uv_channel(d->dns), &servers) ==
	    ARES_SUCCESS) {
		for (struct ares_addr_port_node *s = servers; s && n < 200;
		     s = s->next) {
			char ip[INET6_ADDRSTRLEN] = "?";
			inet_ntop(s->family, &s->addr, ip, sizeof(ip));
			n += (size_t)snprintf(list + n, sizeof(list) - n,
					      "%s%s", n ? ", " : "", ip);
		}
		ares_free_data(servers);
	}
	/* A name --target-host gives is asked anyway; the HELO name else. */
	if (c->target_host[0] &&
	    parse_host_port(c->target_host, host, sizeof(host), &port) == 0 &&
	    netpolicy_parse_ip(host, &family, octets) < 0)
		name = host;
	dq_ask(d, ns_t_a, name, &q);
	if (q.status != ARES_SUCCESS && q.status != ARES_ENODATA &&
	    q.status != ARES_ENOTFOUND) {
		report(d, CHECK_FAIL,
		       "name a DNS server that answers with --dns-server IP "
		       "(a local caching resolver such as unbound, not a "
		       "public one: DNS blocklists refuse public resolvers)",
		       "DNS: %s (%s) asked for %s: %s",
		       c->dns_server.count ? "--dns-server" : "system resolver",
		       list, name, dq_error(q.status));
		return;
	}
	d->dns_ok = true;
	if (q.ms > DOCTOR_DNS_SLOW_MS)
		report(d, CHECK_WARN,
		       "use a resolver close to this host (a local unbound); "
		       "every verification waits for several lookups",
		       "DNS: %s (%s) answered, but slowly (%u ms)",
		       c->dns_server.count ? "--dns-server" : "system resolver",
		       list, q.ms);
	else
		report(d, CHECK_PASS, NULL, "DNS: %s (%s) answered in %u ms",
		       c->dns_server.count ? "--dns-server" : "system resolver",
		       list, q.ms);
}

/* target_add - keep @ip as a port-25 target when the policy allows it;
 * returns false (with the reason in @why) when it does not. */
static bool target_add(struct doctor *d, const char *host, const struct ip *ip,
		       unsigned port, char *why, size_t wlen)
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
	struct ip ip;

	if (c->target_host[0]) {
		struct dq q;
		/* Checked by cli_doctor() before anything ran. */
		parse_host_port(c->target_host, host, sizeof(host), &port);
		if (netpolicy_parse_ip(host, &family, octets) == 0) {
			ip_set(&ip, family, octets);
			target_add(d, host, &ip, port, why, sizeof(why));
		} else if (!d->dns_ok) {
			report(d, CHECK_SKIP, NULL,
			       "port 25: cannot resolve %s without DNS", host);
			return;
		} else {
			dq_addrs(d, host, &q);
			for (unsigned i = 0; i < q.count; i++)
				target_add(d, host, &q.addr[i], port, why,
					   sizeof(why));
			if (q.count == 0) {
				report(d, CHECK_FAIL,
				       "name a mail server by an address or "
				       "a name that resolves",
				       "port 25: %s has no address (%s)", host,
				       q.status == ARES_ENOTFOUND
					   ? "NXDOMAIN"
					   : dq_error(q.status));
				return;
			}
		}
	} else {
		struct mxq m;
		if (!d->dns_ok) {
			report(d, CHECK_SKIP, NULL,
			       "port 25: cannot find the MX of %s without DNS",
			       c->target_domain);
			return;
		}
		if (mx_ask(d, c->target_domain, &m) < 0 ||
		    m.status != RESOLVER_OK) {
			report(d, CHECK_FAIL,
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
				ip_set(&ip, m.hosts[i].addrs[j].family,
				       m.hosts[i].addrs[j].octets);
				target_add(d, m.hosts[i].name, &ip, 25, why,
					   sizeof(why));
			}
	}
	if (d->ntargets == 0)
		report(d, CHECK_FAIL,
		       "rcptd never probes such addresses; name a public mail "
		       "server, or allow the range with --allow-net CIDR",
		       "port 25: refusing to connect: %s", why);
}

/* One port-25 attempt: connect, read the greeting, QUIT. */
struct smtp_try {
	struct doctor *d;
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	uv_timer_t timer;
	struct smtp_reply_parser parser;
	bool connected, greeted, quitting, done;
	int err;	  /* libuv error of connect or read; 0 none */
	bool timed_out;	  /* waiting for the greeting */
	unsigned closing; /* handles not closed yet */
	uint64_t t0;
	unsigned greet_ms; /* connect to greeting */
	int code;
	char text[SMTP_REPLY_TEXT_MAX + 1];
	char buf[DOCTOR_READ_MAX];
};

static void on_try_closed(uv_handle_t *h)
{
	struct smtp_try *t = h->data;

	if (--t->closing == 0)
		t->done = true;
}

static void try_end(struct smtp_try *t)
{
	if (t->closing)
		return;
	t->closing = 2;
	uv_close((uv_handle_t *)&t->tcp, on_try_closed);
	uv_close((uv_handle_t *)&t->timer, on_try_closed);
}

static void on_try_timer(uv_timer_t *tm)
{
	struct smtp_try *t = tm->data;

	if (!t->greeted)
		t->timed_out = true;
	try_end(t);
}

static void on_quit_written(uv_write_t *w, int status)
{
	(void)w;
	(void)status;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct smtp_try *t = h->data;

	(void)hint;
	*b = uv_buf_init(t->buf, sizeof(t->buf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct smtp_try *t = s->data;
	struct smtp_reply r;
	int rc;

	if (n < 0) {
		if (!t->greeted)
			t->err = (int)n;
		try_end(t);
		return;
	}
	if (n == 0)
		return;
	if (t->quitting) {
		try_end(t); /* the 221, or whatever: we are leaving */
		return;
	}
	smtp_reply_feed(&t->parser, b->base, (size_t)n);
	while ((rc = smtp_reply_next(&t->parser, &r)) == SMTP_REPLY_READY &&
	       !t->greeted) {
		static char quit[] = "QUIT\r\n";
		uv_buf_t q = uv_buf_init(quit, sizeof(quit) - 1);

		t->greeted = true;
		t->greet_ms = (unsigned)(now_ms() - t->t0);
		t->code = r.code;
		snprintf(t->text, sizeof(t->text), "%s%s%s", r.enhanced,
			 r.enhanced[0] ? " " : "", r.text);
		t->quitting = true;
		if (uv_write(&t->wr, s, &q, 1, on_quit_written) < 0) {
			try_end(t);
			return;
		}
		uv_timer_start(&t->timer, on_try_timer, DOCTOR_QUIT_MS, 0);
	}
	if (rc < 0 && !t->greeted) {
		snprintf(t->text, sizeof(t->text), "not SMTP: %s",
			 smtp_reply_strerror(rc));
		try_end(t);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct smtp_try *t = req->data;

	if (status < 0) {
		t->err = status;
		try_end(t);
		return;
	}
	t->connected = true;
	uv_timer_start(&t->timer, on_try_timer, t->d->c->banner_timeout, 0);
	if (uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read) < 0)
		try_end(t);
}

/* smtp_try - one attempt on @tg; the caller's @t holds the outcome. */
static void smtp_try(struct doctor *d, const struct target *tg,
		     struct smtp_try *t)
{
	struct sockaddr_storage ss;
	int rc;

	memset(t, 0, sizeof(*t));
	memset(&ss, 0, sizeof(ss));
	t->d = d;
	smtp_reply_init(&t->parser);
	if (tg->ip.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)tg->port);
		memcpy(&s4->sin_addr, tg->ip.octets, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)tg->port);
		memcpy(&s6->sin6_addr, tg->ip.octets, 16);
	}
	uv_tcp_init(&d->loop, &t->tcp);
	uv_timer_init(&d->loop, &t->timer);
	t->tcp.data = t->timer.data = t->conn.data = t;
	t->t0 = now_ms();
	rc = uv_tcp_connect(&t->conn, &t->tcp, (struct sockaddr *)&ss,
			    on_connect);
	if (rc < 0) {
		t->err = rc;
		try_end(t);
	} else {
		/* The connect timeout; the greeting's replaces it. */
		uv_timer_start(&t->timer, on_try_timer, d->c->connect_timeout,
			       0);
	}
	run_until(d, &t->done);
}

static void check_port25(struct doctor *d)
{
	char failures[DOCTOR_LINE_MAX / 2] = "";
	size_t n = 0;
	bool refused_only = true;

	for (unsigned i = 0; i < d->ntargets; i++) {
		const struct target *tg = &d->targets[i];
		struct smtp_try t;

		smtp_try(d, tg, &t);
		if (t.greeted && t.code == 220) {
			report(d, CHECK_PASS, NULL,
			       "port 25: %s [%s]:%u greeted us in %u ms: "
			       "\"%d %s\"",
			       tg->host, tg->ip.text, tg->port, t.greet_ms,
			       t.code, t.text);
			return;
		}
		if (t.greeted) {
			/* A 554 at connect is mostly about the client: a
			 * blocklist, no PTR, a bad reputation. */
			report(d, t.code >= 500 ? CHECK_FAIL : CHECK_WARN,
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
	report(d, CHECK_FAIL,
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

/* find_source - the outgoing address: --source-ip, else the kernel's
 * choice towards the first target (connect(2) on a UDP socket picks the
 * route and the source address; nothing is sent). */
static void find_source(struct doctor *d)
{
	const struct config *c = d->c;
	enum netpolicy_class cls;
	unsigned char octets[16];
	int family;

	if (c->source_ip[0]) {
		/* Checked by cli_doctor() before anything ran. */
		netpolicy_parse_ip(c->source_ip, &family, octets);
		ip_set(&d->source, family, octets);
		d->source_usable = true;
		report(d, CHECK_PASS, NULL,
		       "outgoing address: %s (--source-ip)", d->source.text);
		return;
	}
	if (d->ntargets == 0) {
		report(d, CHECK_SKIP,
		       "name it with --source-ip, or a reachable target",
		       "outgoing address: unknown without a port-25 target");
		return;
	}
	const struct target *tg = &d->targets[0];
	struct sockaddr_storage ss = {0}, me = {0};
	socklen_t len = sizeof(me);
	int fd = socket(tg->ip.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ss.ss_family = (sa_family_t)tg->ip.family;
	if (tg->ip.family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons(25);
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, tg->ip.octets,
		       4);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(25);
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, tg->ip.octets,
		       16);
	}
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&ss,
		    tg->ip.family == AF_INET
			? sizeof(struct sockaddr_in)
			: sizeof(struct sockaddr_in6)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) < 0) {
		report(d, CHECK_FAIL, "name it with --source-ip",
		       "outgoing address: no route to %s", tg->ip.text);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if (me.ss_family == AF_INET)
		ip_set(&d->source, AF_INET,
		       &((struct sockaddr_in *)&me)->sin_addr);
	else
		ip_set(&d->source, AF_INET6,
		       &((struct sockaddr_in6 *)&me)->sin6_addr);
	cls = netpolicy_check(&d->policy, d->source.family, d->source.octets);
	if (cls != NETPOLICY_GLOBAL) {
		report(d, CHECK_FAIL,
		       "this host is behind NAT: mail servers see another "
		       "address; name that public address with --source-ip "
		       "so that its DNS can be checked",
		       "outgoing address: %s is %s (the kernel's choice for "
		       "%s)",
		       d->source.text, netpolicy_class_name(cls), tg->ip.text);
		return;
	}
	d->source_usable = true;
	report(d, CHECK_PASS, NULL,
	       "outgoing address: %s (the kernel's choice for %s)",
	       d->source.text, tg->ip.text);
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

/* check_identity - HELO an FQDN resolving to the outgoing address, whose
 * PTR names it back (forward-confirmed reverse DNS). */
static void check_identity(struct doctor *d)
{
	const struct config *c = d->c;
	char helo[DOCTOR_NAME_MAX + 1] = "", rev[80], list[400];
	char fix[DOCTOR_FIX_MAX];
	bool fqdn = helo_is_fqdn(c->helo, helo), forward = false;
	struct dq q, p;

	if (!fqdn) {
		report(d, CHECK_FAIL,
		       "set --helo to this host's fully qualified name, e.g. "
		       "verifier.example.org, with an A record for the "
		       "outgoing address and that address's PTR set to it",
		       "HELO '%s' is not a fully qualified domain name",
		       c->helo);
	} else {
		report(d, CHECK_PASS, NULL,
		       "HELO %s is a fully qualified domain name", helo);
	}
	if (!d->dns_ok || !d->source_usable) {
		report(d, CHECK_SKIP, NULL,
		       "HELO and PTR of the outgoing address: %s",
		       !d->dns_ok ? "no DNS" : "the address is not known");
		return;
	}
	if (fqdn) {
		dq_addrs(d, helo, &q);
		addr_list(&q, list, sizeof(list));
		for (unsigned i = 0; i < q.count; i++)
			forward |= ip_equal(&q.addr[i], &d->source);
		snprintf(fix, sizeof(fix),
			 "publish %s %s %s in DNS (or change --helo to the "
			 "name the address's PTR gives)",
			 helo, d->source.family == AF_INET ? "A" : "AAAA",
			 d->source.text);
		if (forward)
			report(d, CHECK_PASS, NULL,
			       "HELO %s resolves to %s (the outgoing address)",
			       helo, d->source.text);
		else if (q.count)
			report(d, CHECK_FAIL, fix,
			       "HELO %s resolves to %s, not to the outgoing "
			       "address %s",
			       helo, list, d->source.text);
		else
			report(d, CHECK_FAIL, fix,
			       "HELO %s has no A or AAAA record (%s)", helo,
			       q.status == ARES_ENOTFOUND ? "NXDOMAIN"
			       : q.status == ARES_ENODATA ? "NODATA"
							  : dq_error(q.status));
	}

	reverse_name(&d->source,
		     d->source.family == AF_INET ? "in-addr.arpa" : "ip6.arpa",
		     rev, sizeof(rev));
	dq_ask(d, ns_t_ptr, rev, &p);
	snprintf(fix, sizeof(fix),
		 "ask whoever owns %s (your hosting provider or ISP: the "
		 "reverse DNS or rDNS setting) to set its PTR to %s",
		 d->source.text, fqdn ? helo : "your HELO name");
	if (p.count == 0) {
		report(d, CHECK_FAIL, fix, "PTR of %s: none (%s)",
		       d->source.text,
		       p.status == ARES_ENOTFOUND ? "NXDOMAIN"
		       : p.status == ARES_ENODATA ? "NODATA"
						  : dq_error(p.status));
		return;
	}
	for (unsigned i = 0; fqdn && i < p.count; i++)
		if (strcasecmp(p.name[i], helo) == 0) {
			report(d, forward ? CHECK_PASS : CHECK_WARN,
			       forward ? NULL
				       : "publish the A/AAAA record above: "
					 "without it the PTR is not "
					 "confirmed",
			       "PTR of %s: %s, the HELO name%s", d->source.text,
			       p.name[i],
			       forward ? " (forward-confirmed)" : "");
			return;
		}
	/* The PTR names another host: does it at least confirm itself? */
	dq_addrs(d, p.name[0], &q);
	forward = false;
	for (unsigned i = 0; i < q.count; i++)
		forward |= ip_equal(&q.addr[i], &d->source);
	if (forward)
		snprintf(fix, sizeof(fix),
			 "use --helo %s (it resolves back to %s), or set the "
			 "PTR of %s to %s",
			 p.name[0], d->source.text, d->source.text,
			 fqdn ? helo : "your HELO name");
	report(d, CHECK_FAIL, fix, "PTR of %s: %s, not the HELO name %s%s",
	       d->source.text, p.name[0], c->helo,
	       forward ? "" : " (and it does not resolve back)");
}

/* check_mail_from - the sender's domain must be able to receive the
 * bounces that a real message from it would cause (RFC 5321 4.5.5 and
 * RFC 7505 4.2: receivers refuse a sender domain with no MX or a null
 * MX). The null sender needs nothing. */
static void check_mail_from(struct doctor *d)
{
	const char *from = d->c->mail_from, *at = strrchr(from, '@');
	const char *fix = "use the null sender (--mail-from '') or an "
			  "address at a domain you run that receives mail";
	struct mxq m;

	if (from[0] == '\0') {
		report(d, CHECK_PASS, NULL,
		       "MAIL FROM: the null sender <> (needs no DNS)");
		return;
	}
	if (at == NULL || at[1] == '\0') {
		report(d, CHECK_FAIL, fix, "MAIL FROM %s: not an address",
		       from);
		return;
	}
	if (!d->dns_ok) {
		report(d, CHECK_SKIP, NULL, "MAIL FROM %s: no DNS", from);
		return;
	}
	if (mx_ask(d, at + 1, &m) < 0) {
		report(d, CHECK_FAIL, fix, "MAIL FROM %s: '%s' is not a domain",
		       from, at + 1);
		return;
	}
	if (m.status == RESOLVER_OK && !m.implicit)
		report(d, CHECK_PASS, NULL,
		       "MAIL FROM %s: %s has an MX (%s, preference %u)", from,
		       at + 1, m.hosts[0].name, m.hosts[0].preference);
	else if (m.status == RESOLVER_OK)
		report(d, CHECK_WARN,
		       "publish an MX record for the domain; some receivers "
		       "refuse senders without one",
		       "MAIL FROM %s: %s has no MX, only an address (the "
		       "implicit MX)",
		       from, at + 1);
	else
		report(d, CHECK_FAIL, fix,
		       "MAIL FROM %s: %s cannot receive "
		       "mail (%s%s%s)",
		       from, at + 1, resolver_status_name(m.status) ?: "?",
		       m.error[0] ? ": " : "", m.error);
}

struct redis_wait {
	struct redis_conn *rc;
	uv_timer_t timer;
	uint64_t deadline;
	bool pinged, answered, closed, timer_closed;
	char reply[64];
};

static void on_pong(void *data, enum redis_conn_status st, const redisReply *r)
{
	struct redis_wait *w = data;

	w->answered = true;
	if (st == REDIS_CONN_OK && r &&
	    (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR))
		snprintf(w->reply, sizeof(w->reply), "%s", r->str);
	else
		snprintf(w->reply, sizeof(w->reply), "%s",
			 st == REDIS_CONN_TIMEOUT ? "(timeout)" : "(no reply)");
}

static void on_redis_poll(uv_timer_t *t)
{
	struct redis_wait *w = t->data;
	static const char *argv[] = {"PING"};
	static const size_t argvlen[] = {4};

	if (!w->pinged && redis_conn_ready(w->rc)) {
		w->pinged = redis_conn_command(w->rc, 1, argv, argvlen, on_pong,
					       w, NULL) == 0;
	}
	if (w->answered || now_ms() >= w->deadline)
		uv_timer_stop(t);
}

static void on_redis_closed(void *data)
{
	((struct redis_wait *)data)->closed = true;
}

static void on_redis_timer_closed(uv_handle_t *h)
{
	((struct redis_wait *)h->data)->timer_closed = true;
}

static void check_redis(struct doctor *d)
{
	struct redis_conn_config rc;
	struct redis_conn_stats st;
	struct redis_wait w;
	char err[REDIS_URL_MAX], shown[REDIS_URL_MAX];
	uint64_t t0 = now_ms();

	if (d->c->redis[0] == '\0') {
		report(d, CHECK_SKIP, NULL,
		       "Redis: not configured (--redis URL; without it the "
		       "cache is in-process only)");
		return;
	}
	redis_conn_config_defaults(&rc);
	if (redis_url_parse(d->c->redis, &rc.url, err, sizeof(err)) < 0) {
		report(d, CHECK_FAIL,
		       "write it as redis://[:PASSWORD@]HOST[:PORT][/DB]",
		       "Redis: --redis: %s", err);
		return;
	}
	redis_url_display(&rc.url, shown, sizeof(shown));
	rc.timeout_ms = d->c->redis_timeout;
	rc.connect_timeout_ms = DOCTOR_REDIS_WAIT_MS;
	memset(&w, 0, sizeof(w));
	if (redis_conn_new(&d->loop, &rc, &w.rc, err, sizeof(err)) < 0) {
		report(d, CHECK_FAIL, NULL, "Redis %s: %s", shown, err);
		return;
	}
	w.deadline = t0 + DOCTOR_REDIS_WAIT_MS;
	uv_timer_init(&d->loop, &w.timer);
	w.timer.data = &w;
	uv_timer_start(&w.timer, on_redis_poll, 0, DOCTOR_REDIS_POLL_MS);
	while (uv_is_active((uv_handle_t *)&w.timer))
		uv_run(&d->loop, UV_RUN_ONCE);
	redis_conn_get_stats(w.rc, &st);
	if (w.answered && strcmp(w.reply, "PONG") == 0)
		report(d, CHECK_PASS, NULL, "Redis %s: PONG in %u ms", shown,
		       (unsigned)(now_ms() - t0));
	else
		report(d, CHECK_FAIL,
		       "check the host, port and password of --redis, and "
		       "that Redis runs; rcptd works without it, on the "
		       "in-process cache, and /readyz reports not ready",
		       "Redis %s: %s", shown,
		       w.answered	  ? w.reply
		       : st.last_error[0] ? st.last_error
					  : "no answer in time");
	uv_close((uv_handle_t *)&w.timer, on_redis_timer_closed);
	redis_conn_close(w.rc, on_redis_closed, &w);
	while (!w.closed || !w.timer_closed)
		uv_run(&d->loop, UV_RUN_ONCE);
}

/* dnsbl_code - what an A answer of a DNSBL means (RFC 5782 2.3: any
 * 127.0.0.0/8 address but 127.0.0.1 lists; Spamhaus-style lists answer
 * 127.255.255.x when they refuse the query itself). */
static enum check dnsbl_code(const struct dq *q, const char **why)
{
	const unsigned char *a = q->addr[0].octets;

	if (a[0] != 127) {
		*why = "an answer outside 127.0.0.0/8: the zone is not a "
		       "DNSBL (retired, or a wildcard)";
		return CHECK_WARN;
	}
	if (a[1] == 255 && a[2] == 255) {
		*why = "the list refused the query (127.255.255.x: most often "
		       "a public or shared resolver, which many lists block)";
		return CHECK_WARN;
	}
	if (a[1] == 0 && a[2] == 0 && a[3] == 1) {
		*why = "127.0.0.1 is not a listing (RFC 5782 2.3)";
		return CHECK_WARN;
	}
	*why = NULL;
	return CHECK_FAIL;
}

static void check_dnsbl(struct doctor *d, const char *zone)
{
	char name[DOCTOR_NAME_MAX + 80], z[DOCTOR_NAME_MAX + 1];
	const char *why;
	struct dq q, txt;
	enum check st;

	if (dnsquery_name_normalise(zone, z) < 0) {
		report(d, CHECK_FAIL, "name the zone as a domain name",
		       "DNSBL '%s': not a DNS name", zone);
		return;
	}
	if (!d->dns_ok || !d->source_usable) {
		report(d, CHECK_SKIP, NULL, "DNSBL %s: %s", z,
		       !d->dns_ok ? "no DNS" : "the address is not known");
		return;
	}
	/* RFC 5782 5: every IPv4 list lists 127.0.0.2; a zone that does
	 * not is misnamed, or does not answer this resolver. */
	snprintf(name, sizeof(name), "2.0.0.127.%s", z);
	if (d->source.family == AF_INET)
		dq_ask(d, ns_t_a, name, &q);
	if (d->source.family == AF_INET &&
	    (q.count == 0 || q.addr[0].octets[0] != 127 ||
	     dnsbl_code(&q, &why) != CHECK_FAIL))
		report(d, CHECK_WARN,
		       "check the zone's name, and query it through your own "
		       "resolver (lists refuse public ones)",
		       "DNSBL %s: its test address 127.0.0.2 is not listed "
		       "(%s): its answers cannot be trusted",
		       z,
		       q.count			    ? q.addr[0].text
		       : q.status == ARES_ENOTFOUND ? "NXDOMAIN"
						    : dq_error(q.status));
	reverse_name(&d->source, z, name, sizeof(name));
	dq_ask(d, ns_t_a, name, &q);
	if (q.status == ARES_ENOTFOUND || q.status == ARES_ENODATA) {
		report(d, CHECK_PASS, NULL, "DNSBL %s: %s is not listed", z,
		       d->source.text);
		return;
	}
	if (q.count == 0) {
		report(d, CHECK_WARN, "try again; check the zone's name",
		       "DNSBL %s: could not check %s: %s", z, d->source.text,
		       dq_error(q.status));
		return;
	}
	st = dnsbl_code(&q, &why);
	if (st != CHECK_FAIL) {
		report(d, st, "see the list's usage policy",
		       "DNSBL %s: %s answers %s: %s", z, d->source.text,
		       q.addr[0].text, why);
		return;
	}
	dq_ask(d, ns_t_txt, name, &txt);
	report(d, CHECK_FAIL,
	       "receivers that use this list refuse this host: follow the "
	       "list's delisting procedure (its TXT record names it), and "
	       "find out why it was listed first",
	       "DNSBL %s: %s is listed (%s)%s%s%s", z, d->source.text,
	       q.addr[0].text, txt.count ? ": \"" : "", txt.txt,
	       txt.count ? "\"" : "");
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

/* doctor_start - the c-ares channel (no search list, no hosts file, the
 * configured servers) and the resolver for MX sets. */
static int doctor_start(struct doctor *d, char *err, size_t errlen)
{
	static char lookups[] = "b";
	struct ares_addr_port_node nodes[DNSQUERY_SERVERS_MAX];
	struct resolver_config rc;
	struct ares_options o;
	const struct config *c = d->c;

	if (c->dns_server.count > DNSQUERY_SERVERS_MAX) {
		snprintf(err, errlen, "--dns-server: more than %d",
			 DNSQUERY_SERVERS_MAX);
		return -1;
	}
	memset(nodes, 0, sizeof(nodes));
	for (unsigned i = 0; i < c->dns_server.count; i++) {
		struct dnsquery_server s;
		if (dnsquery_parse_server(c->dns_server.item[i], &s, err,
					  errlen) < 0)
			return -1;
		nodes[i].family = s.family;
		memcpy(s.family == AF_INET ? (void *)&nodes[i].addr.addr4
					   : (void *)&nodes[i].addr.addr6,
		       s.addr, s.family == AF_INET ? 4 : 16);
		nodes[i].udp_port = nodes[i].tcp_port = (int)s.port;
		nodes[i].next =
		    i + 1 < c->dns_server.count ? &nodes[i + 1] : NULL;
	}
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
	o.timeout = (int)c->dns_timeout;
	o.tries = RESOLVER_DEFAULT_TRIES;
	o.lookups = lookups;
	o.ednspsz = DNSQUERY_EDNS_PAYLOAD;
	if (cares_uv_new(&d->loop, &o,
			 ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			     ARES_OPT_LOOKUPS | ARES_OPT_EDNSPSZ,
			 c->dns_server.count ? nodes : NULL, &d->dns, err,
			 errlen) < 0)
		return -1;
	resolver_config_defaults(&rc);
	rc.servers = (const char *const *)c->dns_server.item;
	rc.server_count = c->dns_server.count;
	rc.timeout_ms = c->dns_timeout;
	return resolver_new(&d->loop, &rc, &d->res, err, errlen) < 0 ? -1 : 0;
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
	find_source(d);
	check_identity(d);
	check_mail_from(d);
	check_redis(d);
	if (c->dnsbl.count == 0)
		report(d, CHECK_SKIP, NULL,
		       "DNS blocklists: none named (--dnsbl ZONE, repeatable)");
	for (unsigned i = 0; i < c->dnsbl.count; i++)
		check_dnsbl(d, c->dnsbl.item[i]);
	printf("\ndoctor: %u passed, %u warnings, %u failed, %u skipped\n",
	       d->count[CHECK_PASS], d->count[CHECK_WARN], d->count[CHECK_FAIL],
	       d->count[CHECK_SKIP]);
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
	if (doctor_start(&d, err, sizeof(err)) < 0)
		fprintf(stderr, "rcptd doctor: %s\n", err);
	else {
		doctor_run(&d);
		rc = d.count[CHECK_FAIL] ? 1 : 0;
	}
	if (d.res)
		resolver_close(d.res, NULL, NULL);
	if (d.dns)
		cares_uv_close(d.dns, NULL, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT); /* let the handles close */
	if (uv_loop_close(&d.loop) != 0)
		log_error("event loop closed with handles still open");
out_config:
	config_release(&c);
	return rc;
}
