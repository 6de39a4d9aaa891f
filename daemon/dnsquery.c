/* dnsquery - one RRset at a time, through the cache and c-ares (see
 * dnsquery.h).
 *
 * A MISS in the cache sends one ares_query() whose callback argument is
 * the PENDING entry itself: the cache keeps a PENDING entry until it is
 * completed, and every asker of the same RRset waits on it meanwhile.
 * The answer is read into a struct dnscache_answer and handed to the
 * cache, which calls back here for each waiter. */
#include "daemon/dnsquery.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/dnsmsg.h"
#include "core/mx.h"
#include "daemon/cares_uv.h"

#define DNS_CLASS_IN 1

struct dnsquery {
	uv_loop_t *loop;
	struct cares_uv *ares;
	struct dnscache *cache;
	dnsquery_cb cb;
	void *data;
	bool closing;
	void (*closed_cb)(void *data);
	void *closed_data;
	uint64_t queries;
	unsigned in_flight;
};

/* ---- reading an answer ------------------------------------------------- */

/* fill_mx - the MX records of an answer, in answer order, at most
 * MX_INPUT_MAX (what mx_order() considers). */
static int fill_mx(struct dnscache_answer *a, const unsigned char *abuf,
		   int alen)
{
	struct ares_mx_reply *list = NULL;
	unsigned n = 0;
	int rc = ares_parse_mx_reply(abuf, alen, &list);

	if (rc != ARES_SUCCESS)
		return rc;
	for (struct ares_mx_reply *m = list; m && n < MX_INPUT_MAX; m = m->next)
		n++;
	if (n > 0)
		a->mx = calloc(n, sizeof(*a->mx));
	if (n > 0 && a->mx == NULL) {
		ares_free_data(list);
		return ARES_ENOMEM;
	}
	n = 0;
	for (struct ares_mx_reply *m = list; m && n < MX_INPUT_MAX;
	     m = m->next) {
		struct dnscache_mx *x = &a->mx[n++];
		size_t len = strlen(m->host);

		x->preference = m->priority;
		x->usable = len <= DNSCACHE_NAME_MAX;
		if (x->usable)
			memcpy(x->host, m->host, len + 1);
	}
	ares_free_data(list);
	a->count = n;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* fill_addr - the A or AAAA addresses of an answer, at most
 * DNSCACHE_ADDRS_MAX, in answer order. */
static int fill_addr(struct dnscache_answer *a, uint16_t qtype,
		     const unsigned char *abuf, int alen)
{
	int n = DNSCACHE_ADDRS_MAX, rc;

	if (qtype == DNSMSG_TYPE_A) {
		struct ares_addrttl v4[DNSCACHE_ADDRS_MAX];
		rc = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			memcpy(a->addr[i], &v4[i].ipaddr, 4);
	} else {
		struct ares_addr6ttl v6[DNSCACHE_ADDRS_MAX];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			memcpy(a->addr[i], &v6[i].ip6addr, 16);
	}
	if (rc != ARES_SUCCESS)
		return rc;
	a->count = (unsigned)n;
	return n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

/* read_answer - classify a response to a query of @qtype into @a (zeroed
 * by the caller); @info gets the parsed message, and the function
 * returns it, or NULL when the message was not parsed (the lifetime of
 * an error needs none). c-ares reports NXDOMAIN and NODATA with the
 * answer; the rcode and TTLs come from dnsmsg, the records from c-ares'
 * parsers. */
static const struct dnsmsg_info *read_answer(struct dnscache_answer *a,
					     uint16_t qtype, int status,
					     const unsigned char *abuf,
					     int alen, struct dnsmsg_info *info)
{
	int rc;

	a->kind = DNSCACHE_ERROR;
	a->error = status;
	if (status != ARES_SUCCESS && status != ARES_ENODATA &&
	    status != ARES_ENOTFOUND)
		return NULL;
	if (abuf == NULL || alen <= 0) {
		a->error = ARES_EBADRESP;
		return NULL;
	}
	rc = dnsmsg_parse(abuf, (size_t)alen, info);
	if (rc != DNSMSG_OK) {
		a->dnsmsg_error = rc;
		return NULL;
	}
	if (info->rcode == DNSMSG_NXDOMAIN) {
		a->kind = DNSCACHE_NXDOMAIN;
		return info;
	}
	if (info->rcode != DNSMSG_NOERROR) {
		a->error = ARES_EBADRESP;
		return info;
	}
	rc = ARES_ENODATA;
	if (info->answers > 0)
		rc = qtype == DNSMSG_TYPE_MX ? fill_mx(a, abuf, alen)
					     : fill_addr(a, qtype, abuf, alen);
	if (rc == ARES_ENODATA) {
		dnscache_answer_clear(a);
		a->kind = DNSCACHE_NODATA;
		return info;
	}
	if (rc != ARES_SUCCESS) {
		dnscache_answer_clear(a);
		a->kind = DNSCACHE_ERROR;
		a->error = rc;
		return info;
	}
	a->kind = DNSCACHE_DATA;
	return info;
}

static const char *type_name(uint16_t qtype)
{
	switch (qtype) {
	case DNSMSG_TYPE_MX:
		return "MX";
	case DNSMSG_TYPE_A:
		return "A";
	default:
		return "AAAA";
	}
}

void dnsquery_error_text(char *dst, size_t size, const struct dnscache_entry *e)
{
	const char *why;

	if (e->answer.dnsmsg_error != 0) {
		snprintf(dst, size, "%s %s: malformed answer (%s)",
			 type_name(e->qtype), e->name,
			 dnsmsg_strerror(e->answer.dnsmsg_error));
		return;
	}
	switch (e->answer.error) {
	case ARES_ETIMEOUT:
		why = "no answer from the DNS server (timeout)";
		break;
	case ARES_ESERVFAIL:
		why = "SERVFAIL";
		break;
	case ARES_EREFUSED:
		why = "REFUSED";
		break;
	case ARES_ENOTIMP:
		why = "NOTIMP";
		break;
	case ARES_EFORMERR:
		why = "FORMERR";
		break;
	case ARES_ECONNREFUSED:
		/* c-ares 1.18 reports this when every server answered
		 * SERVFAIL or REFUSED, or refused the connection. */
		why = "the DNS servers failed (SERVFAIL, REFUSED or "
		      "unreachable)";
		break;
	default:
		why = ares_strerror(e->answer.error);
		break;
	}
	snprintf(dst, size, "%s %s: %s", type_name(e->qtype), e->name, why);
}

/* ---- names and servers ------------------------------------------------ */

int dnsquery_name_normalise(const char *in, char out[DNSCACHE_NAME_MAX + 1])
{
	size_t len = in ? strnlen(in, DNSCACHE_NAME_MAX + 2) : 0;
	size_t label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSCACHE_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
			label++;
		} else {
			return -1;
		}
		if (label > 63)
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	return label == 0 ? -1 : 0;
}

/* parse_port - ":PORT" after an address: decimal 1..65535. */
static int parse_port(const char *s, unsigned *port)
{
	unsigned long v = 0;

	if (s[0] == '\0')
		return 0; /* no port: keep 53 */
	if (s[0] != ':' || s[1] == '\0' || strlen(s + 1) > 5)
		return -1;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int dnsquery_parse_server(const char *text, struct dnsquery_server *s,
			  char *err, size_t errlen)
{
	char host[DNSQUERY_SERVER_TEXT_MAX];
	const char *rest;
	size_t len = text ? strnlen(text, DNSQUERY_SERVER_TEXT_MAX) : 0;

	s->port = 53;
	if (len == 0 || len >= DNSQUERY_SERVER_TEXT_MAX) {
		snprintf(err, errlen, "DNS server \"%.64s\": %s",
			 text ? text : "", len == 0 ? "empty" : "too long");
		return UV_EINVAL;
	}
	if (text[0] == '[') { /* [IPv6] or [IPv6]:PORT */
		const char *rb = strchr(text, ']');
		if (rb == NULL) {
			snprintf(err, errlen, "DNS server \"%s\": no ']'",
				 text);
			return UV_EINVAL;
		}
		memcpy(host, text + 1, (size_t)(rb - text - 1));
		host[rb - text - 1] = '\0';
		rest = rb + 1;
		s->family = AF_INET6;
	} else if (strchr(text, ':') != strrchr(text, ':')) {
		/* two colons or more: a bare IPv6 address, port 53 */
		memcpy(host, text, len + 1);
		rest = "";
		s->family = AF_INET6;
	} else { /* IPv4 or IPv4:PORT */
		const char *colon = strchr(text, ':');
		size_t n = colon ? (size_t)(colon - text) : len;
		memcpy(host, text, n);
		host[n] = '\0';
		rest = text + n;
		s->family = AF_INET;
	}
	if (inet_pton(s->family, host, s->addr) != 1) {
		snprintf(err, errlen,
			 "DNS server \"%s\": \"%s\" is not an IP%s address",
			 text, host, s->family == AF_INET6 ? "v6" : "v4");
		return UV_EINVAL;
	}
	if (parse_port(rest, &s->port) != 0) {
		snprintf(err, errlen,
			 "DNS server \"%s\": the port must be 1..65535 after "
			 "':' (IPv6 as [IP]:PORT)",
			 text);
		return UV_EINVAL;
	}
	return 0;
}

/* ---- asking ------------------------------------------------------------- */

/* deliver - the cache hands a fresh answer to one waiter. */
static void deliver(struct dnscache_link *link, const struct dnscache_entry *e,
		    void *arg)
{
	struct dnsquery *d = arg;

	d->cb(link, e, false, d->data);
}

/* on_answer - c-ares is done with an entry's query: read the answer and
 * let the cache hand it to every waiter, then keep it (or not). */
static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	struct dnscache_entry *e = arg;
	struct dnsquery *d = e->tag;
	struct dnscache_answer a;
	struct dnsmsg_info info;
	const struct dnsmsg_info *parsed;

	(void)timeouts;
	if (d->closing)
		return; /* ares_destroy(): freed with the cache */
	d->in_flight--;
	memset(&a, 0, sizeof(a));
	parsed = read_answer(&a, e->qtype, status, abuf, alen, &info);
	dnscache_complete(d->cache, e, &a, parsed, uv_now(d->loop), deliver, d);
}

int dnsquery_ask(struct dnsquery *d, uint16_t qtype, const char *name,
		 struct dnscache_link *link)
{
	struct dnscache_entry *e;
	int found;

	if (d->closing)
		return UV_ECANCELED;
	found =
	    dnscache_lookup(d->cache, qtype, name, uv_now(d->loop), link, &e);
	switch (found) {
	case DNSCACHE_HIT:
	case DNSCACHE_SHARED:
		d->cb(link, e, found == DNSCACHE_HIT, d->data);
		return 0;
	case DNSCACHE_JOINED:
		return 0;
	case DNSCACHE_MISS:
		break;
	case DNSCACHE_EINVAL:
		return UV_EINVAL;
	default:
		return UV_ENOMEM;
	}
	e->tag = d;
	d->queries++;
	d->in_flight++;
	/* Never ares_search() or ares_gethostbyname(): no search list, no
	 * hosts file. May answer before it returns. */
	ares_query(cares_uv_channel(d->ares), name, DNS_CLASS_IN, qtype,
		   on_answer, e);
	cares_uv_update(d->ares);
	return 0;
}

/* ---- the dnsquery's life -------------------------------------------------- */

/* channel_new - the c-ares channel: no search list, no hosts file, EDNS,
 * the configured servers or the system's. */
static int channel_new(struct dnsquery *d, const struct dnsquery_config *c,
		       char *err, size_t errlen)
{
	static char lookups[] = "b"; /* DNS only, never /etc/hosts */
	struct ares_addr_port_node nodes[DNSQUERY_SERVERS_MAX];
	struct ares_options o;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		   ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_EDNSPSZ;

	if (c->server_count > DNSQUERY_SERVERS_MAX) {
		snprintf(err, errlen, "DNS servers: more than %d",
			 DNSQUERY_SERVERS_MAX);
		return UV_EINVAL;
	}
	memset(nodes, 0, sizeof(nodes));
	for (unsigned i = 0; i < c->server_count; i++) {
		const struct dnsquery_server *s = &c->servers[i];

		nodes[i].family = s->family;
		memcpy(s->family == AF_INET ? (void *)&nodes[i].addr.addr4
					    : (void *)&nodes[i].addr.addr6,
		       s->addr, s->family == AF_INET ? 4 : 16);
		nodes[i].udp_port = nodes[i].tcp_port = (int)s->port;
		nodes[i].next = i + 1 < c->server_count ? &nodes[i + 1] : NULL;
	}
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.timeout = (int)c->timeout_ms;
	o.tries = (int)c->tries;
	o.domains = NULL;
	o.ndomains = 0;
	o.lookups = lookups;
	o.ednspsz = DNSQUERY_EDNS_PAYLOAD;
	return cares_uv_new(d->loop, &o, mask,
			    c->server_count > 0 ? nodes : NULL, &d->ares, err,
			    errlen);
}

int dnsquery_new(uv_loop_t *loop, const struct dnsquery_config *c,
		 dnsquery_cb cb, void *data, struct dnsquery **out, char *err,
		 size_t errlen)
{
	struct dnsquery *d;
	int rc;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return UV_ENOMEM;
	}
	rc = dnscache_new(&c->cache, &d->cache);
	if (rc != 0) {
		snprintf(err, errlen, "%s",
			 rc == DNSCACHE_EINVAL ? "cache: bad configuration"
					       : "out of memory");
		free(d);
		return rc == DNSCACHE_EINVAL ? UV_EINVAL : UV_ENOMEM;
	}
	d->loop = loop;
	d->cb = cb;
	d->data = data;
	rc = channel_new(d, c, err, errlen);
	if (rc != 0) {
		dnscache_free(d->cache);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void dnsquery_get_stats(const struct dnsquery *d, struct dnsquery_stats *s)
{
	s->queries = d->queries;
	s->in_flight = d->in_flight;
	dnscache_get_stats(d->cache, &s->cache);
}

/* on_ares_closed - the adapter's handles are gone: free the rest. */
static void on_ares_closed(void *arg)
{
	struct dnsquery *d = arg;
	void (*cb)(void *) = d->closed_cb;
	void *data = d->closed_data;

	dnscache_free(d->cache);
	free(d);
	if (cb != NULL)
		cb(data);
}

void dnsquery_close(struct dnsquery *d, void (*closed_cb)(void *data),
		    void *data)
{
	if (d->closing)
		return;
	d->closing = true;
	d->closed_cb = closed_cb;
	d->closed_data = data;
	/* Calls on_answer (ignored: closing) for every query in flight. */
	cares_uv_close(d->ares, on_ares_closed, d);
}
