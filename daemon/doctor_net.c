/* doctor_net - the network probes of `rcptd doctor`: DNS over c-ares, MX
 * through the resolver, the port-25 greeting, Redis PING, DNSBL questions
 * and the kernel's source address (doctor_net.h). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ares.h>
#include <uv.h>

#include "daemon/cares_uv.h"
#include "daemon/dnsquery.h"
#include "daemon/doctor_net.h"
#include "daemon/redis_conn.h"

/* How often the Redis wait looks whether the connection is ready. */
#define DOCTOR_NET_REDIS_POLL_MS 20
/* QUIT is politeness: wait for 221 at most this long. */
#define DOCTOR_NET_QUIT_MS 2000
/* Socket reads: a greeting line is at most SMTP_REPLY_LINE_MAX. */
#define DOCTOR_NET_READ_MAX 4096
/* The server list stops once less than this is left: room for one more
 * address (INET6_ADDRSTRLEN) and its comma, with a margin. */
#define DOCTOR_NET_SERVERS_SLACK 56
/* A reverse name: 32 nibbles and dots (64), "ip6.arpa" or a zone. */
#define DOCTOR_NET_REV_MAX (64 + DOCTOR_NET_NAME_MAX + 1)

uint64_t doctor_net_now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* run_until - turn the loop until *@done; every operation that sets it
 * has a timeout of its own, so this ends. */
static void run_until(struct doctor_net *n, const bool *done)
{
	while (!*done)
		if (uv_run(n->loop, UV_RUN_ONCE) == 0 && !*done)
			abort(); /* nothing left that could set it: a bug */
}

void doctor_net_ip_set(struct doctor_net_ip *ip, int family, const void *octets)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	memcpy(ip->octets, octets, family == AF_INET ? 4 : 16);
	inet_ntop(family, octets, ip->text, sizeof(ip->text));
}

bool doctor_net_ip_equal(const struct doctor_net_ip *a,
			 const struct doctor_net_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->octets, b->octets, a->family == AF_INET ? 4 : 16) == 0;
}

/* reverse_name - @ip as a name under @zone: "4.3.2.1.ZONE" for IPv4, the
 * 32 nibbles for IPv6 (RFC 1035 3.5, RFC 3596 2.5, RFC 5782 2.1). */
static void reverse_name(const struct doctor_net_ip *ip, const char *zone,
			 char *out, size_t size)
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

/* ---- the channel ------------------------------------------------------ */

int doctor_net_open(struct doctor_net *n, uv_loop_t *loop,
		    const struct config *c, char *err, size_t errlen)
{
	static char lookups[] = "b";
	struct ares_addr_port_node nodes[DNSQUERY_SERVERS_MAX];
	struct resolver_config rc;
	struct ares_options o;

	memset(n, 0, sizeof(*n));
	n->loop = loop;
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
	if (cares_uv_new(loop, &o,
			 ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			     ARES_OPT_LOOKUPS | ARES_OPT_EDNSPSZ,
			 c->dns_server.count ? nodes : NULL, &n->dns, err,
			 errlen) < 0)
		return -1;
	resolver_config_defaults(&rc);
	rc.servers = (const char *const *)c->dns_server.item;
	rc.server_count = c->dns_server.count;
	rc.timeout_ms = c->dns_timeout;
	return resolver_new(loop, &rc, &n->res, err, errlen) < 0 ? -1 : 0;
}

void doctor_net_close(struct doctor_net *n)
{
	if (n->res)
		resolver_close(n->res, NULL, NULL);
	if (n->dns)
		cares_uv_close(n->dns, NULL, NULL);
	n->res = NULL;
	n->dns = NULL;
}

void doctor_net_servers(const struct doctor_net *n, char *out, size_t size)
{
	struct ares_addr_port_node *servers = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (ares_get_servers_ports(cares_uv_channel(n->dns), &servers) !=
	    ARES_SUCCESS)
		return;
	for (struct ares_addr_port_node *s = servers;
	     s && len + DOCTOR_NET_SERVERS_SLACK < size; s = s->next) {
		char ip[INET6_ADDRSTRLEN] = "?";
		inet_ntop(s->family, &s->addr, ip, sizeof(ip));
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					len ? ", " : "", ip);
	}
	ares_free_data(servers);
}

/* ---- DNS: one question at a time ------------------------------------- */

/* name_add - one PTR name into @q, once. */
static void name_add(struct doctor_net_dq *q, const char *name)
{
	for (unsigned i = 0; i < q->count; i++)
		if (strcasecmp(q->name[i], name) == 0)
			return;
	if (q->count < DOCTOR_NET_RR_MAX)
		snprintf(q->name[q->count++], DOCTOR_NET_NAME_MAX + 1, "%s",
			 name);
}

/* dq_parse - the records of answer @abuf that @q asked for. */
static void dq_parse(struct doctor_net_dq *q, const unsigned char *abuf,
		     int alen)
{
	int rc = ARES_ENODATA, n = DOCTOR_NET_RR_MAX;

	if (q->type == ns_t_a) {
		struct ares_addrttl v4[DOCTOR_NET_RR_MAX];
		rc = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			doctor_net_ip_set(&q->addr[q->count++], AF_INET,
					  &v4[i].ipaddr);
	} else if (q->type == ns_t_aaaa) {
		struct ares_addr6ttl v6[DOCTOR_NET_RR_MAX];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++)
			doctor_net_ip_set(&q->addr[q->count++], AF_INET6,
					  &v6[i].ip6addr);
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
	struct doctor_net_dq *q = arg;

	(void)timeouts;
	q->ms = (unsigned)(doctor_net_now_ms() - q->t0);
	q->status = status;
	if (status == ARES_SUCCESS)
		dq_parse(q, abuf, alen);
	q->done = true;
}

void doctor_net_ask(struct doctor_net *n, int type, const char *name,
		    struct doctor_net_dq *q)
{
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->t0 = doctor_net_now_ms();
	ares_query(cares_uv_channel(n->dns), name, ns_c_in, type, on_dq, q);
	cares_uv_update(n->dns);
	run_until(n, &q->done);
}

const char *doctor_net_dq_error(int status)
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

void doctor_net_addrs(struct doctor_net *n, const char *name,
		      struct doctor_net_dq *q)
{
	struct doctor_net_dq six;

	doctor_net_ask(n, ns_t_a, name, q);
	doctor_net_ask(n, ns_t_aaaa, name, &six);
	for (unsigned i = 0; i < six.count && q->count < DOCTOR_NET_RR_MAX; i++)
		q->addr[q->count++] = six.addr[i];
	if (q->count > 0)
		q->status = ARES_SUCCESS;
	else if (q->status == ARES_ENOTFOUND || six.status == ARES_ENOTFOUND)
		q->status = ARES_ENOTFOUND;
	else if (q->status == ARES_ENODATA)
		q->status = six.status;
}

void doctor_net_ptr(struct doctor_net *n, const struct doctor_net_ip *ip,
		    struct doctor_net_dq *q)
{
	char rev[DOCTOR_NET_REV_MAX];

	reverse_name(ip, ip->family == AF_INET ? "in-addr.arpa" : "ip6.arpa",
		     rev, sizeof(rev));
	doctor_net_ask(n, ns_t_ptr, rev, q);
}

void doctor_net_dnsbl(struct doctor_net *n, const struct doctor_net_ip *ip,
		      const char *zone, int type, struct doctor_net_dq *q)
{
	char name[DOCTOR_NET_REV_MAX];

	reverse_name(ip, zone, name, sizeof(name));
	doctor_net_ask(n, type, name, q);
}

void doctor_net_addr_list(const struct doctor_net_dq *q, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < q->count && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "",
				      q->addr[i].text);
}

/* ---- MX through the resolver ------------------------------------------ */

static void on_mx(const struct resolver_mx_result *r, void *data)
{
	struct doctor_net_mx *m = data;

	m->status = r->status;
	m->implicit = r->implicit;
	m->count = r->host_count;
	memcpy(m->hosts, r->hosts, r->host_count * sizeof(r->hosts[0]));
	snprintf(m->error, sizeof(m->error), "%s", r->error);
	m->done = true;
}

int doctor_net_mx(struct doctor_net *n, const char *domain,
		  struct doctor_net_mx *m)
{
	memset(m, 0, sizeof(*m));
	if (resolver_mx(n->res, domain, on_mx, m, NULL) < 0)
		return -1;
	run_until(n, &m->done);
	return 0;
}

/* ---- port 25: connect, read the greeting, QUIT -------------------------- */

struct smtp_try {
	struct doctor_net_smtp *out;
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	uv_timer_t timer;
	struct smtp_reply_parser parser;
	bool quitting, done;
	unsigned banner_ms;
	unsigned closing; /* handles not closed yet */
	uint64_t t0;
	char buf[DOCTOR_NET_READ_MAX];
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

	if (!t->out->greeted)
		t->out->timed_out = true;
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

/* on_read - the greeting, then QUIT; whatever comes after it ends the
 * attempt. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct smtp_try *t = s->data;
	struct doctor_net_smtp *o = t->out;
	struct smtp_reply r;
	int rc;

	if (n < 0) {
		if (!o->greeted)
			o->err = (int)n;
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
	       !o->greeted) {
		static char quit[] = "QUIT\r\n";
		uv_buf_t q = uv_buf_init(quit, sizeof(quit) - 1);

		o->greeted = true;
		o->greet_ms = (unsigned)(doctor_net_now_ms() - t->t0);
		o->code = r.code;
		snprintf(o->text, sizeof(o->text), "%s%s%s", r.enhanced,
			 r.enhanced[0] ? " " : "", r.text);
		t->quitting = true;
		if (uv_write(&t->wr, s, &q, 1, on_quit_written) < 0) {
			try_end(t);
			return;
		}
		uv_timer_start(&t->timer, on_try_timer, DOCTOR_NET_QUIT_MS, 0);
	}
	if (rc < 0 && !o->greeted) {
		snprintf(o->text, sizeof(o->text), "not SMTP: %s",
			 smtp_reply_strerror(rc));
		try_end(t);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct smtp_try *t = req->data;

	if (status < 0) {
		t->out->err = status;
		try_end(t);
		return;
	}
	t->out->connected = true;
	uv_timer_start(&t->timer, on_try_timer, t->banner_ms, 0);
	if (uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read) < 0)
		try_end(t);
}

void doctor_net_smtp(struct doctor_net *n, const struct doctor_net_ip *ip,
		     unsigned port, unsigned connect_ms, unsigned banner_ms,
		     struct doctor_net_smtp *out)
{
	struct sockaddr_storage ss;
	struct smtp_try try, *t = &try;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(t, 0, sizeof(*t));
	memset(&ss, 0, sizeof(ss));
	t->out = out;
	t->banner_ms = banner_ms;
	smtp_reply_init(&t->parser);
	if (ip->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, ip->octets, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, ip->octets, 16);
	}
	uv_tcp_init(n->loop, &t->tcp);
	uv_timer_init(n->loop, &t->timer);
	t->tcp.data = t->timer.data = t->conn.data = t;
	t->t0 = doctor_net_now_ms();
	rc = uv_tcp_connect(&t->conn, &t->tcp, (struct sockaddr *)&ss,
			    on_connect);
	if (rc < 0) {
		out->err = rc;
		try_end(t);
	} else {
		/* The connect timeout; the greeting's replaces it. */
		uv_timer_start(&t->timer, on_try_timer, connect_ms, 0);
	}
	run_until(n, &t->done);
}

/* ---- Redis: connect, log in, PING ------------------------------------- */

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

/* on_redis_poll - PING once the connection is ready; stop waiting at the
 * answer or the deadline. */
static void on_redis_poll(uv_timer_t *t)
{
	struct redis_wait *w = t->data;
	static const char *argv[] = {"PING"};
	static const size_t argvlen[] = {4};

	if (!w->pinged && redis_conn_ready(w->rc)) {
		w->pinged = redis_conn_command(w->rc, 1, argv, argvlen, on_pong,
					       w, NULL) == 0;
	}
	if (w->answered || doctor_net_now_ms() >= w->deadline)
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

void doctor_net_redis_ping(struct doctor_net *n, const struct redis_url *url,
			   unsigned timeout_ms, struct doctor_net_pong *out)
{
	struct redis_conn_config rc;
	struct redis_conn_stats st;
	struct redis_wait w;
	uint64_t t0 = doctor_net_now_ms();

	memset(out, 0, sizeof(*out));
	redis_conn_config_defaults(&rc);
	rc.url = *url;
	rc.timeout_ms = timeout_ms;
	rc.connect_timeout_ms = DOCTOR_NET_REDIS_WAIT_MS;
	memset(&w, 0, sizeof(w));
	if (redis_conn_new(n->loop, &rc, &w.rc, out->text, sizeof(out->text)) <
	    0)
		return;
	out->started = true;
	w.deadline = t0 + DOCTOR_NET_REDIS_WAIT_MS;
	uv_timer_init(n->loop, &w.timer);
	w.timer.data = &w;
	uv_timer_start(&w.timer, on_redis_poll, 0, DOCTOR_NET_REDIS_POLL_MS);
	while (uv_is_active((uv_handle_t *)&w.timer))
		uv_run(n->loop, UV_RUN_ONCE);
	redis_conn_get_stats(w.rc, &st);
	out->answered = w.answered;
	out->ms = (unsigned)(doctor_net_now_ms() - t0);
	snprintf(out->text, sizeof(out->text), "%s",
		 w.answered	    ? w.reply
		 : st.last_error[0] ? st.last_error
				    : "no answer in time");
	uv_close((uv_handle_t *)&w.timer, on_redis_timer_closed);
	redis_conn_close(w.rc, on_redis_closed, &w);
	while (!w.closed || !w.timer_closed)
		uv_run(n->loop, UV_RUN_ONCE);
}

/* ---- the source address ------------------------------------------------ */

int doctor_net_source(const struct doctor_net_ip *to, struct doctor_net_ip *out)
{
	struct sockaddr_storage ss = {0}, me = {0};
	socklen_t len = sizeof(me);
	int fd = socket(to->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ss.ss_family = (sa_family_t)to->family;
	if (to->family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_port = htons(25);
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, to->octets, 4);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(25);
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, to->octets,
		       16);
	}
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&ss,
		    to->family == AF_INET ? sizeof(struct sockaddr_in)
					  : sizeof(struct sockaddr_in6)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (me.ss_family == AF_INET)
		doctor_net_ip_set(out, AF_INET,
				  &((struct sockaddr_in *)&me)->sin_addr);
	else
		doctor_net_ip_set(out, AF_INET6,
				  &((struct sockaddr_in6 *)&me)->sin6_addr);
	return 0;
}
