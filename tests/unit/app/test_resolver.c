/* test_resolver - MX resolution against a real unbound on loopback.
 *
 * Each TCase that needs DNS starts /usr/sbin/unbound once (an unchecked
 * fixture, in the runner's process) on 127.0.0.1 and a free port, from a
 * config and zone files written into a mkdtemp() directory:
 *   test.    an auth-zone (for-downstream) with one name per behaviour;
 *   broken.  an auth-zone without SOA: unbound answers SERVFAIL;
 *   .        a stub to a loopback port where nothing listens, so that no
 *            query ever leaves the machine (and those names SERVFAIL);
 *   localhost.  always_nxdomain: the name is in every /etc/hosts, so an
 *            NXDOMAIN proves DNS was asked, not the hosts file.
 * unbound logs every query it receives (log-queries), which lets a test
 * count the queries the resolver sent. The teardown kills unbound by its
 * PID; PR_SET_PDEATHSIG kills it if the runner dies first. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/resolver.h"

#define UNBOUND "/usr/sbin/unbound"

static const char zone_test[] =
    "$ORIGIN test.\n"
    "$TTL 300\n"
    "@ 3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n"
    "@ IN NS ns.test.\n"
    "ns IN A 127.0.0.1\n"
    /* ordering by preference, listed out of order */
    "order IN MX 30 mx3.order.test.\n"
    "order IN MX 10 mx1.order.test.\n"
    "order IN MX 20 mx2.order.test.\n"
    "mx1.order IN A 192.0.2.1\n"
    "mx1.order IN AAAA 2001:db8::1\n"
    "mx2.order IN A 192.0.2.2\n"
    "mx3.order IN A 192.0.2.3\n"
    /* equal preferences */
    "equal IN MX 10 a.equal.test.\n"
    "equal IN MX 10 b.equal.test.\n"
    "a.equal IN A 192.0.2.11\n"
    "b.equal IN A 192.0.2.12\n"
    /* no MX: the implicit MX */
    "implicit IN A 192.0.2.20\n"
    "implicit IN AAAA 2001:db8::20\n"
    "nomail IN TXT \"neither MX nor address\"\n"
    /* RFC 7505 */
    "nullmx IN MX 0 .\n"
    /* a host without address is skipped */
    "skip IN MX 10 noaddr.skip.test.\n"
    "skip IN MX 20 ok.skip.test.\n"
    "noaddr.skip IN TXT \"no address\"\n"
    "ok.skip IN A 192.0.2.30\n"
    /* no host has an address */
    "none IN MX 10 gone1.none.test.\n"
    "none IN MX 20 gone2.none.test.\n"
    /* CNAMEs on the path of the MX and of the host; the first CNAME's
     * TTL is the least. Every TTL is explicit from here on: unbound,
     * like BIND, reuses the last one written when a record has none. */
    "alias 40 IN CNAME real.test.\n"
    "real 300 IN MX 10 mx.real.test.\n"
    "mx.real 300 IN CNAME host.real.test.\n"
    "host.real 300 IN A 192.0.2.40\n"
    "host.real 300 IN AAAA 2001:db8::40\n"
    /* more than five MX */
    "many 300 IN MX 1 m1.many.test.\n"
    "many 300 IN MX 2 m2.many.test.\n"
    "many 300 IN MX 3 m3.many.test.\n"
    "many 300 IN MX 4 m4.many.test.\n"
    "many 300 IN MX 5 m5.many.test.\n"
    "many 300 IN MX 6 m6.many.test.\n"
    "many 300 IN MX 7 m7.many.test.\n"
    "many 300 IN MX 8 m8.many.test.\n"
    "m1.many 300 IN A 192.0.2.51\n"
    "m2.many 300 IN A 192.0.2.52\n"
    "m3.many 300 IN A 192.0.2.53\n"
    "m4.many 300 IN A 192.0.2.54\n"
    "m5.many 300 IN A 192.0.2.55\n"
    "m6.many 300 IN A 192.0.2.56\n"
    "m7.many 300 IN A 192.0.2.57\n"
    "m8.many 300 IN A 192.0.2.58\n"
    /* an MX written as an IP address */
    "ipmx 300 IN MX 10 192.0.2.7.\n"
    "ipmx 300 IN MX 20 mx.ipmx.test.\n"
    "mx.ipmx 300 IN A 192.0.2.70\n"
    "iponly 300 IN MX 10 192.0.2.8.\n"
    /* IPv6 only */
    "v6only 300 IN MX 10 mx.v6only.test.\n"
    "mx.v6only 300 IN AAAA 2001:db8::60\n"
    /* lifetimes */
    "ceiling 3600 IN MX 10 mx.ceiling.test.\n"
    "mx.ceiling 3600 IN A 192.0.2.80\n"
    "zero 0 IN MX 10 mx.zero.test.\n"
    "mx.zero 0 IN A 192.0.2.81\n"
    "coalesce 300 IN MX 10 mx.coalesce.test.\n"
    "mx.coalesce 300 IN A 192.0.2.90\n"
    "cancel 300 IN MX 10 mx.cancel.test.\n"
    "mx.cancel 300 IN A 192.0.2.91\n"
    /* more addresses than kept */
    "wide 300 IN MX 10 mx.wide.test.\n"
    "mx.wide 300 IN A 192.0.2.101\n"
    "mx.wide 300 IN A 192.0.2.102\n"
    "mx.wide 300 IN A 192.0.2.103\n"
    "mx.wide 300 IN A 192.0.2.104\n"
    "mx.wide 300 IN A 192.0.2.105\n"
    "mx.wide 300 IN A 192.0.2.106\n"
    "mx.wide 300 IN AAAA 2001:db8::101\n"
    "mx.wide 300 IN AAAA 2001:db8::102\n"
    "mx.wide 300 IN AAAA 2001:db8::103\n"
    "mx.wide 300 IN AAAA 2001:db8::104\n"
    "mx.wide 300 IN AAAA 2001:db8::105\n"
    /* address lookups that fail (SERVFAIL under broken.) */
    "partial 300 IN MX 10 mx.broken.\n"
    "partial 300 IN MX 20 ok.partial.test.\n"
    "ok.partial 300 IN A 192.0.2.110\n"
    "allfail 300 IN MX 10 mx.broken.\n"
    "allfail 300 IN MX 20 gone.allfail.test.\n";

/* A zone without SOA: unbound cannot serve it and answers SERVFAIL. */
static const char zone_broken[] = "$ORIGIN broken.\n"
				  "$TTL 300\n"
				  "x 300 IN A 192.0.2.99\n";

/* State of the unchecked fixture, inherited by each forked test. */
static char dir[64];
static char logpath[128];
static pid_t unbound_pid = -1;
static unsigned dns_port;
static bool unbound_ok;

/* ---- the DNS server ----------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* free_port - a loopback port free for UDP and TCP just now. */
static unsigned free_port(void)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t len = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		int t = socket(AF_INET, SOCK_STREAM, 0);
		unsigned port = 0;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (u >= 0 && bind(u, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(u, (struct sockaddr *)&a, &len) == 0 &&
		    t >= 0 && bind(t, (struct sockaddr *)&a, sizeof(a)) == 0)
			port = ntohs(a.sin_port);
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (port != 0)
			return port;
	}
	return 0;
}

/* dns_ready - whether the server at dns_port answers a query for
 * ns.test/A within 100 ms. */
static bool dns_ready(void)
{
	static const unsigned char query[] = {
	    0xab, 0xcd, 0x01, 0x00, 0,	 1,   0,   0, 0, 0, 0, 0, 2,
	    'n',  's',	4,    't',  'e', 's', 't', 0, 0, 1, 0, 1};
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {0, 100000};
	unsigned char buf[512];
	bool ok = false;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0)
		return false;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)dns_port);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(s, query, sizeof(query), 0, (struct sockaddr *)&a,
		   sizeof(a)) == (ssize_t)sizeof(query))
		ok = recv(s, buf, sizeof(buf), 0) > 12 && buf[0] == 0xab &&
		     (buf[3] & 0x0f) == 0;
	close(s);
	return ok;
}

static void unbound_start(void)
{
	char conf[128], path[128], text[2048];
	unsigned dead_port;
	pid_t parent = getpid();

	unbound_ok = false;
	snprintf(dir, sizeof(dir), "/tmp/rcptd-resolver-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/test.zone", dir);
	write_file(path, zone_test);
	snprintf(path, sizeof(path), "%s/broken.zone", dir);
	write_file(path, zone_broken);
	snprintf(logpath, sizeof(logpath), "%s/unbound.log", dir);
	dns_port = free_port();
	do
		dead_port = free_port();
	while (dead_port == dns_port && dns_port != 0);
	snprintf(text, sizeof(text),
		 "server:\n"
		 "  interface: 127.0.0.1\n"
		 "  port: %u\n"
		 "  do-ip6: no\n"
		 "  username: \"\"\n"
		 "  chroot: \"\"\n"
		 "  directory: \"%s\"\n"
		 "  pidfile: \"\"\n"
		 "  use-syslog: no\n"
		 "  logfile: \"%s\"\n"
		 "  verbosity: 1\n"
		 "  log-queries: yes\n"
		 "  num-threads: 1\n"
		 "  access-control: 127.0.0.0/8 allow\n"
		 "  do-not-query-localhost: no\n"
		 "  module-config: \"iterator\"\n"
		 "  qname-minimisation: no\n"
		 "  infra-cache-max-rtt: 200\n"
		 "  outbound-msg-retry: 1\n"
		 "  local-zone: \"test.\" nodefault\n"
		 "  local-zone: \"localhost.\" always_nxdomain\n"
		 "auth-zone:\n"
		 "  name: \"test.\"\n"
		 "  zonefile: \"%s/test.zone\"\n"
		 "  for-downstream: yes\n"
		 "  for-upstream: no\n"
		 "  fallback-enabled: no\n"
		 "auth-zone:\n"
		 "  name: \"broken.\"\n"
		 "  zonefile: \"%s/broken.zone\"\n"
		 "  for-downstream: yes\n"
		 "  for-upstream: no\n"
		 "  fallback-enabled: no\n"
		 "stub-zone:\n"
		 "  name: \".\"\n"
		 "  stub-addr: 127.0.0.1@%u\n"
		 "remote-control:\n"
		 "  control-enable: no\n",
		 dns_port, dir, logpath, dir, dir, dead_port);
	snprintf(conf, sizeof(conf), "%s/unbound.conf", dir);
	write_file(conf, text);
	if (dns_port == 0 || dead_port == 0)
		return;

	unbound_pid = fork();
	if (unbound_pid == 0) {
		int null = open("/dev/null", O_RDWR);
		/* Dies with the runner, whatever happens to the teardown. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execl(UNBOUND, "unbound", "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	if (unbound_pid < 0)
		return;
	for (int i = 0; i < 50 && !unbound_ok; i++)
		unbound_ok = dns_ready();
}

static void unbound_stop(void)
{
	char path[128];

	if (unbound_pid > 0) {
		kill(unbound_pid, SIGTERM);
		for (int i = 0; i < 100; i++) {
			if (waitpid(unbound_pid, NULL, WNOHANG) == unbound_pid)
				break;
			if (i == 50)
				kill(unbound_pid, SIGKILL);
			usleep(10000);
		}
		waitpid(unbound_pid, NULL, WNOHANG);
		unbound_pid = -1;
	}
	if (dir[0] == '\0')
		return;
	for (const char *const *f =
		 (const char *const[]){"test.zone", "broken.zone",
				       "unbound.conf", "unbound.log", NULL};
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
	dir[0] = '\0';
}

/* log_count - lines of unbound's log that name @what ("x.test. MX IN"). */
static int log_count(const char *what)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(logpath, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/* ---- the loop and the resolver ----------------------------------------- */

struct env {
	uv_loop_t loop;
	struct resolver *r;
	char server[32];
	const char *servers[1];
	bool closed;
};

struct got {
	int calls;
	struct resolver_mx_result res;
	char domain[RESOLVER_NAME_MAX + 1];
};

static bool inside_resolver_mx;

static void on_mx(const struct resolver_mx_result *res, void *data)
{
	struct got *g = data;

	ck_assert_msg(!inside_resolver_mx, "callback ran inside resolver_mx");
	g->calls++;
	g->res = *res;
	snprintf(g->domain, sizeof(g->domain), "%s", res->domain);
	g->res.domain = g->domain;
}

static void config_for(struct env *e, struct resolver_config *c, unsigned port)
{
	if (port == dns_port)
		ck_assert_msg(unbound_ok, "unbound did not start (see %s)",
			      logpath);
	resolver_config_defaults(c);
	snprintf(e->server, sizeof(e->server), "127.0.0.1:%u", port);
	e->servers[0] = e->server;
	c->servers = e->servers;
	c->server_count = 1;
	c->timeout_ms = 1000;
	c->tries = 2;
	c->seed = 42;
}

static void env_open(struct env *e, const struct resolver_config *c)
{
	char err[256];

	ck_assert_int_eq(uv_loop_init(&e->loop), 0);
	ck_assert_msg(resolver_new(&e->loop, c, &e->r, err, sizeof(err)) == 0,
		      "%s", err);
}

/* env_start - the resolver with the test defaults, asking unbound. */
static void env_start(struct env *e)
{
	struct resolver_config c;

	config_for(e, &c, dns_port);
	env_open(e, &c);
}

/* run_until - turn the loop until *@counter reaches @n (5 s at most). */
static void run_until(uv_loop_t *loop, const int *counter, int n)
{
	uint64_t start = uv_now(loop);

	while (*counter < n) {
		uv_run(loop, UV_RUN_ONCE);
		ck_assert_msg(uv_now(loop) - start < 5000, "no answer in 5 s");
	}
}

static void on_sleep(uv_timer_t *t)
{
	(*(int *)t->data)++;
}

static void on_timer_closed(uv_handle_t *h)
{
	(void)h;
}

/* sleep_loop - let @ms pass on the loop's clock. */
static void sleep_loop(struct env *e, unsigned ms)
{
	uv_timer_t t;
	int fired = 0;

	uv_timer_init(&e->loop, &t);
	t.data = &fired;
	uv_timer_start(&t, on_sleep, ms, 0);
	run_until(&e->loop, &fired, 1);
	uv_close((uv_handle_t *)&t, on_timer_closed);
	uv_run(&e->loop, UV_RUN_NOWAIT);
}

static void on_closed(void *data)
{
	((struct env *)data)->closed = true;
}

/* env_close - close the resolver; every handle must be gone after. */
static void env_close(struct env *e)
{
	resolver_close(e->r, on_closed, e);
	while (!e->closed)
		uv_run(&e->loop, UV_RUN_ONCE);
	ck_assert_int_eq(uv_run(&e->loop, UV_RUN_NOWAIT), 0);
	ck_assert_int_eq(uv_loop_close(&e->loop), 0);
}

/* lookup - resolver_mx() and wait for its one callback. */
static void lookup(struct env *e, const char *domain, struct got *g)
{
	int rc;

	memset(g, 0, sizeof(*g));
	inside_resolver_mx = true;
	rc = resolver_mx(e->r, domain, on_mx, g, NULL);
	inside_resolver_mx = false;
	ck_assert_msg(rc == 0, "resolver_mx(%s): %s", domain, uv_strerror(rc));
	ck_assert_int_eq(g->calls, 0);
	run_until(&e->loop, &g->calls, 1);
	uv_run(&e->loop, UV_RUN_NOWAIT);
	ck_assert_int_eq(g->calls, 1);
}

static struct resolver_stats stats(struct env *e)
{
	struct resolver_stats s;

	resolver_get_stats(e->r, &s);
	return s;
}

static void assert_addr(const struct resolver_addr *a, const char *text)
{
	unsigned char want[16];
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;

	ck_assert_int_eq(inet_pton(family, text, want), 1);
	ck_assert_msg(a->family == family, "%s: family %d", text, a->family);
	ck_assert_msg(memcmp(a->octets, want, family == AF_INET ? 4 : 16) == 0,
		      "address is not %s", text);
}

static void assert_status(const struct got *g, enum resolver_status want)
{
	ck_assert_msg(g->res.status == want, "%s: status %s (%s), want %s",
		      g->domain, resolver_status_name(g->res.status),
		      g->res.error, resolver_status_name(want));
}

/* ---- answers ---------------------------------------------------------- */

/* (domain, status, implicit, hosts "name/pref" in order) */
static const struct {
	const char *domain;
	enum resolver_status status;
	bool implicit;
	const char *hosts[6];
} answers[] = {
    {"order.test",
     RESOLVER_OK,
     false,
     {"mx1.order.test/10", "mx2.order.test/20", "mx3.order.test/30"}},
    {"ORDER.Test.",
     RESOLVER_OK,
     false,
     {"mx1.order.test/10", "mx2.order.test/20", "mx3.order.test/30"}},
    {"implicit.test", RESOLVER_OK, true, {"implicit.test/0"}},
    {"nomail.test", RESOLVER_NO_MAIL_SERVER, true, {NULL}},
    {"nullmx.test", RESOLVER_NULL_MX, false, {NULL}},
    {"nowhere.test", RESOLVER_NXDOMAIN, false, {NULL}},
    {"skip.test", RESOLVER_OK, false, {"ok.skip.test/20"}},
    {"none.test", RESOLVER_NO_MAIL_SERVER, false, {NULL}},
    {"alias.test", RESOLVER_OK, false, {"mx.real.test/10"}},
    {"many.test",
     RESOLVER_OK,
     false,
     {"m1.many.test/1", "m2.many.test/2", "m3.many.test/3", "m4.many.test/4",
      "m5.many.test/5"}},
    {"ipmx.test", RESOLVER_OK, false, {"mx.ipmx.test/20"}},
    {"iponly.test", RESOLVER_NO_MAIL_SERVER, false, {NULL}},
    {"v6only.test", RESOLVER_OK, false, {"mx.v6only.test/10"}},
    /* in every /etc/hosts; DNS says NXDOMAIN */
    {"localhost", RESOLVER_NXDOMAIN, false, {NULL}},
};

START_TEST(answer_table)
{
	struct env e = {0};
	struct got g;
	unsigned n = 0;

	env_start(&e);
	lookup(&e, answers[_i].domain, &g);
	assert_status(&g, answers[_i].status);
	ck_assert_int_eq(g.res.implicit, answers[_i].implicit);
	ck_assert(!g.res.cached);
	ck_assert(!g.res.partial);
	while (answers[_i].hosts[n] != NULL)
		n++;
	ck_assert_uint_eq(g.res.host_count, n);
	for (unsigned i = 0; i < n; i++) {
		char have[300];
		snprintf(have, sizeof(have), "%s/%u", g.res.hosts[i].name,
			 g.res.hosts[i].preference);
		ck_assert_str_eq(have, answers[_i].hosts[i]);
		ck_assert_uint_ge(g.res.hosts[i].addr_count, 1);
	}
	if (g.res.status != RESOLVER_DNS_ERROR)
		ck_assert_str_eq(g.res.error, "");
	env_close(&e);
}
END_TEST

START_TEST(addresses_of_each_host)
{
	struct env e = {0};
	struct got g;

	env_start(&e);
	lookup(&e, "order.test", &g);
	assert_status(&g, RESOLVER_OK);
	ck_assert_uint_eq(g.res.hosts[0].addr_count, 2); /* IPv4 first */
	assert_addr(&g.res.hosts[0].addrs[0], "192.0.2.1");
	assert_addr(&g.res.hosts[0].addrs[1], "2001:db8::1");
	ck_assert_uint_eq(g.res.hosts[1].addr_count, 1);
	assert_addr(&g.res.hosts[1].addrs[0], "192.0.2.2");
	assert_addr(&g.res.hosts[2].addrs[0], "192.0.2.3");

	lookup(&e, "implicit.test", &g);
	ck_assert_uint_eq(g.res.hosts[0].addr_count, 2);
	assert_addr(&g.res.hosts[0].addrs[0], "192.0.2.20");
	assert_addr(&g.res.hosts[0].addrs[1], "2001:db8::20");

	lookup(&e, "v6only.test", &g);
	ck_assert_uint_eq(g.res.hosts[0].addr_count, 1);
	assert_addr(&g.res.hosts[0].addrs[0], "2001:db8::60");

	/* at most RESOLVER_ADDRS_PER_FAMILY of each family */
	lookup(&e, "wide.test", &g);
	ck_assert_uint_eq(RESOLVER_ADDRS_PER_FAMILY, 4);
	ck_assert_uint_eq(g.res.hosts[0].addr_count, 8);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_eq(g.res.hosts[0].addrs[i].family, AF_INET);
		ck_assert_int_eq(g.res.hosts[0].addrs[4 + i].family, AF_INET6);
	}

	lookup(&e, "alias.test", &g);
	ck_assert_uint_eq(g.res.hosts[0].addr_count, 2);
	assert_addr(&g.res.hosts[0].addrs[0], "192.0.2.40");
	assert_addr(&g.res.hosts[0].addrs[1], "2001:db8::40");
	/* the CNAME's TTL of 40 s bounds the answer's */
	ck_assert_uint_le(g.res.ttl, 40);
	ck_assert_uint_ge(g.res.ttl, 38);
	/* idle: no socket, timer or idle handle keeps the loop alive */
	ck_assert(!uv_loop_alive(&e.loop));
	env_close(&e);
}
END_TEST

/* Equal preferences come in both orders, shuffled anew for every lookup
 * (the cached RRset is not ordered). unbound rotates the records it
 * sends, so two resolvers with one seed may see different orders. */
START_TEST(equal_preferences_shuffled)
{
	for (int run = 0; run < 2; run++) {
		struct env e = {0};
		struct got g;
		int a_first = 0, b_first = 0;

		env_start(&e);
		for (int i = 0; i < 32; i++) {
			lookup(&e, "equal.test", &g);
			assert_status(&g, RESOLVER_OK);
			ck_assert_uint_eq(g.res.host_count, 2);
			ck_assert_uint_eq(g.res.hosts[0].preference, 10);
			ck_assert_uint_eq(g.res.hosts[1].preference, 10);
			if (strcmp(g.res.hosts[0].name, "a.equal.test") == 0)
				a_first++;
			else
				b_first++;
			ck_assert_int_eq(g.res.cached, i > 0);
		}
		ck_assert_msg(a_first > 0 && b_first > 0,
			      "a first %d times, b first %d times", a_first,
			      b_first);
		env_close(&e);
	}
}
END_TEST

/* ---- failures ------------------------------------------------------------ */

START_TEST(servfail_is_dns_error_briefly_cached)
{
	struct env e = {0};
	struct resolver_config c;
	struct got g;
	uint64_t q;

	config_for(&e, &c, dns_port);
	c.error_ttl_s = 1;
	env_open(&e, &c);
	lookup(&e, "x.broken", &g);
	assert_status(&g, RESOLVER_DNS_ERROR);
	/* c-ares 1.18 says "refused" after SERVFAIL from every server */
	ck_assert_msg(strncmp(g.res.error, "MX x.broken: ", 13) == 0 &&
			  strstr(g.res.error, "SERVFAIL") != NULL,
		      "%s", g.res.error);
	ck_assert_uint_eq(g.res.host_count, 0);
	q = stats(&e).queries;

	lookup(&e, "x.broken", &g); /* from the cache, for 1 s */
	assert_status(&g, RESOLVER_DNS_ERROR);
	ck_assert(g.res.cached);
	ck_assert_uint_le(g.res.ttl, 1);
	ck_assert_uint_eq(stats(&e).queries, q);

	sleep_loop(&e, 1100);
	lookup(&e, "x.broken", &g); /* asked again */
	assert_status(&g, RESOLVER_DNS_ERROR);
	ck_assert(!g.res.cached);
	ck_assert_uint_eq(stats(&e).queries, q + 1);

	/* outside our zones: unbound's dead upstream, SERVFAIL too */
	lookup(&e, "nowhere.example", &g);
	assert_status(&g, RESOLVER_DNS_ERROR);
	env_close(&e);
}
END_TEST

/* A host whose address lookup fails is missing from an OK answer that
 * says so (partial); when no host is left the answer is dns_error, never
 * no_mail_server: the failed host might have had an address. */
START_TEST(host_lookup_failures)
{
	struct env e = {0};
	struct got g;

	env_start(&e);
	lookup(&e, "partial.test", &g);
	assert_status(&g, RESOLVER_OK);
	ck_assert(g.res.partial);
	ck_assert_uint_eq(g.res.host_count, 1);
	ck_assert_str_eq(g.res.hosts[0].name, "ok.partial.test");
	ck_assert_msg(strstr(g.res.error, " mx.broken: ") != NULL, "%s",
		      g.res.error);

	lookup(&e, "allfail.test", &g);
	assert_status(&g, RESOLVER_DNS_ERROR);
	ck_assert(!g.res.partial);
	ck_assert_uint_eq(g.res.host_count, 0);
	ck_assert_msg(strstr(g.res.error, " mx.broken: ") != NULL, "%s",
		      g.res.error);
	env_close(&e);
}
END_TEST

/* A server that never answers: dns_error within timeout_ms x tries,
 * and no implicit MX. */
START_TEST(timeout_is_dns_error)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	struct resolver_config c;
	struct env e = {0};
	struct got g;
	uint64_t t0, elapsed;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	config_for(&e, &c, ntohs(a.sin_port));
	c.timeout_ms = 200;
	c.tries = 1;
	env_open(&e, &c);
	uv_update_time(&e.loop);
	t0 = uv_now(&e.loop);
	lookup(&e, "order.test", &g);
	elapsed = uv_now(&e.loop) - t0;
	assert_status(&g, RESOLVER_DNS_ERROR);
	ck_assert_msg(strstr(g.res.error, "timeout") != NULL, "%s",
		      g.res.error);
	ck_assert(!g.res.implicit);
	ck_assert_msg(elapsed >= 190 && elapsed < 700, "took %llu ms",
		      (unsigned long long)elapsed);
	env_close(&e);
	close(s);
}
END_TEST

/* ---- the cache ------------------------------------------------------------ */

START_TEST(ttl_ceiling_then_asked_again)
{
	struct env e = {0};
	struct resolver_config c;
	struct got g;
	uint64_t q;

	config_for(&e, &c, dns_port);
	c.ttl_floor_s = 0;
	c.ttl_ceiling_s = 1; /* the records say 3600 */
	env_open(&e, &c);
	lookup(&e, "ceiling.test", &g);
	assert_status(&g, RESOLVER_OK);
	ck_assert(!g.res.cached);
	ck_assert_uint_le(g.res.ttl, 1);
	q = stats(&e).queries;
	ck_assert_uint_eq(q, 3); /* MX, A, AAAA */

	lookup(&e, "ceiling.test", &g);
	ck_assert(g.res.cached);
	ck_assert_uint_eq(stats(&e).queries, q);
	ck_assert_uint_eq(stats(&e).cache_hits, 3);

	sleep_loop(&e, 1100);
	lookup(&e, "ceiling.test", &g);
	assert_status(&g, RESOLVER_OK);
	ck_assert(!g.res.cached);
	ck_assert_uint_eq(stats(&e).queries, 2 * q);
	env_close(&e);
}
END_TEST

START_TEST(ttl_floor_caches_zero_ttl)
{
	struct env e = {0};
	struct resolver_config c;
	struct got g;

	config_for(&e, &c, dns_port);
	c.ttl_floor_s = 2; /* the records say 0 */
	env_open(&e, &c);
	lookup(&e, "zero.test", &g);
	assert_status(&g, RESOLVER_OK);
	ck_assert_uint_le(g.res.ttl, 2);
	ck_assert_uint_ge(g.res.ttl, 1);
	lookup(&e, "zero.test", &g);
	ck_assert(g.res.cached);
	ck_assert_uint_eq(stats(&e).queries, 3);
	env_close(&e);

	/* with no floor, a zero TTL caches nothing */
	memset(&e, 0, sizeof(e));
	config_for(&e, &c, dns_port);
	c.ttl_floor_s = 0;
	env_open(&e, &c);
	lookup(&e, "zero.test", &g);
	ck_assert_uint_eq(g.res.ttl, 0);
	lookup(&e, "zero.test", &g);
	ck_assert(!g.res.cached);
	/* MX and A asked twice; AAAA is NODATA, cached for the SOA's 60 s */
	ck_assert_uint_eq(stats(&e).queries, 5);
	ck_assert_uint_eq(stats(&e).entries, 1);
	env_close(&e);
}
END_TEST

/* NXDOMAIN and NODATA live min(SOA TTL, MINIMUM) = 60 s, bounded by
 * negative_ttl_s. */
START_TEST(negative_answers_cached_briefly)
{
	struct env e = {0};
	struct resolver_config c;
	struct got g;

	config_for(&e, &c, dns_port);
	c.ttl_floor_s = 0;
	env_open(&e, &c);
	lookup(&e, "nowhere.test", &g);
	assert_status(&g, RESOLVER_NXDOMAIN);
	ck_assert_uint_le(g.res.ttl, 60); /* the SOA MINIMUM */
	ck_assert_uint_ge(g.res.ttl, 59);
	env_close(&e);

	memset(&e, 0, sizeof(e));
	config_for(&e, &c, dns_port);
	c.ttl_floor_s = 0;
	c.negative_ttl_s = 1;
	env_open(&e, &c);
	lookup(&e, "nowhere.test", &g);
	ck_assert_uint_le(g.res.ttl, 1);
	lookup(&e, "nowhere.test", &g);
	assert_status(&g, RESOLVER_NXDOMAIN);
	ck_assert(g.res.cached);
	ck_assert_uint_eq(stats(&e).queries, 1);
	sleep_loop(&e, 1100);
	lookup(&e, "nowhere.test", &g);
	ck_assert(!g.res.cached);
	ck_assert_uint_eq(stats(&e).queries, 2);
	env_close(&e);
}
END_TEST

START_TEST(cache_bounded)
{
	static const char *const names[] = {"order.test", "implicit.test",
					    "v6only.test", "skip.test"};
	struct env e = {0};
	struct resolver_config c;
	struct got g;

	config_for(&e, &c, dns_port);
	c.cache_max = 4;
	env_open(&e, &c);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		lookup(&e, names[i], &g);
		assert_status(&g, RESOLVER_OK);
		ck_assert_uint_le(stats(&e).entries, 4);
	}
	ck_assert_uint_gt(stats(&e).evictions, 0);
	env_close(&e);
}
END_TEST

/* Two lookups at once share every query: one MX query reaches the
 * server. */
START_TEST(concurrent_lookups_coalesce)
{
	struct env e = {0};
	struct got g1, g2;

	env_start(&e);
	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	ck_assert_int_eq(resolver_mx(e.r, "coalesce.test", on_mx, &g1, NULL),
			 0);
	ck_assert_int_eq(resolver_mx(e.r, "Coalesce.test", on_mx, &g2, NULL),
			 0);
	run_until(&e.loop, &g2.calls, 1);
	run_until(&e.loop, &g1.calls, 1);
	assert_status(&g1, RESOLVER_OK);
	assert_status(&g2, RESOLVER_OK);
	ck_assert_str_eq(g2.res.hosts[0].name, "mx.coalesce.test");
	ck_assert(!g1.res.cached && !g2.res.cached);
	ck_assert_uint_eq(stats(&e).queries, 3);
	ck_assert_uint_eq(stats(&e).coalesced, 3); /* MX, A, AAAA */
	ck_assert_uint_eq(stats(&e).lookups, 2);
	env_close(&e);
	ck_assert_int_eq(log_count("coalesce.test. MX IN"), 1);
	ck_assert_int_eq(log_count("mx.coalesce.test. A IN"), 1);
}
END_TEST

/* The hosts file is never read: "localhost" goes to DNS. */
START_TEST(hosts_file_ignored)
{
	struct env e = {0};
	struct got g;

	env_start(&e);
	lookup(&e, "localhost", &g);
	assert_status(&g, RESOLVER_NXDOMAIN);
	ck_assert_uint_eq(g.res.host_count, 0);
	env_close(&e);
	ck_assert_int_eq(log_count("localhost. MX IN"), 1);
}
END_TEST

/* ---- the request's life ------------------------------------------------- */

static struct resolver_req *self_req;

/* on_mx_cancel_self - cancelling itself from its callback is harmless. */
static void on_mx_cancel_self(const struct resolver_mx_result *res, void *data)
{
	on_mx(res, data);
	resolver_cancel(self_req);
}

START_TEST(cancel_pending_and_cached)
{
	struct env e = {0};
	struct resolver_req *req;
	struct got g, never;

	env_start(&e);
	memset(&never, 0, sizeof(never));
	ck_assert_int_eq(resolver_mx(e.r, "cancel.test", on_mx, &never, &req),
			 0);
	ck_assert_ptr_nonnull(req);
	resolver_cancel(req); /* in flight */
	/* the query goes on and feeds the cache */
	sleep_loop(&e, 100);
	lookup(&e, "cancel.test", &g);
	assert_status(&g, RESOLVER_OK);

	ck_assert_int_eq(resolver_mx(e.r, "cancel.test", on_mx, &never, &req),
			 0);
	resolver_cancel(req); /* a cache hit queued for delivery */
	lookup(&e, "cancel.test", &g);
	ck_assert(g.res.cached);
	sleep_loop(&e, 20);
	ck_assert_int_eq(never.calls, 0);

	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(
	    resolver_mx(e.r, "cancel.test", on_mx_cancel_self, &g, &self_req),
	    0);
	run_until(&e.loop, &g.calls, 1);
	resolver_cancel(NULL);
	env_close(&e);
}
END_TEST

static struct env *reentry_env;

/* on_mx_reenter - asks again from the callback, then closes. */
static void on_mx_reenter(const struct resolver_mx_result *res, void *data)
{
	struct got *g = data;

	on_mx(res, data);
	if (g->calls == 1) {
		ck_assert_int_eq(
		    resolver_mx(reentry_env->r, "order.test", on_mx, g, NULL),
		    0);
		resolver_close(reentry_env->r, on_closed, reentry_env);
		ck_assert_int_eq(
		    resolver_mx(reentry_env->r, "order.test", on_mx, g, NULL),
		    UV_ECANCELED);
	}
}

/* Closing answers what is pending with CANCELED, delivers what is
 * answered, then runs closed_cb; every handle is closed. */
START_TEST(close_with_requests_pending)
{
	struct env e = {0};
	struct got pending, answered;

	env_start(&e);
	memset(&pending, 0, sizeof(pending));
	ck_assert_int_eq(resolver_mx(e.r, "order.test", on_mx, &pending, NULL),
			 0);
	resolver_close(e.r, on_closed, &e);
	ck_assert_int_eq(pending.calls, 0);
	while (!e.closed)
		uv_run(&e.loop, UV_RUN_ONCE);
	ck_assert_int_eq(pending.calls, 1);
	assert_status(&pending, RESOLVER_CANCELED);
	ck_assert_int_eq(uv_loop_close(&e.loop), 0);

	/* closing from a callback, with a new request pending */
	memset(&e, 0, sizeof(e));
	env_start(&e);
	reentry_env = &e;
	memset(&answered, 0, sizeof(answered));
	ck_assert_int_eq(
	    resolver_mx(e.r, "order.test", on_mx_reenter, &answered, NULL), 0);
	while (!e.closed)
		uv_run(&e.loop, UV_RUN_ONCE);
	ck_assert_int_eq(answered.calls, 2);
	/* the second was a cache hit, delivered before the close ended */
	assert_status(&answered, RESOLVER_OK);
	ck_assert(answered.res.cached);
	ck_assert_int_eq(uv_loop_close(&e.loop), 0);
}
END_TEST

/* ---- arguments and configuration (no DNS needed) ------------------------ */

static const struct {
	const char *text;
	int family; /* 0: refused */
	const char *addr;
	unsigned port;
} servers[] = {
    {"127.0.0.1", AF_INET, "127.0.0.1", 53},
    {"127.0.0.1:5353", AF_INET, "127.0.0.1", 5353},
    {"192.0.2.1:65535", AF_INET, "192.0.2.1", 65535},
    {"[::1]", AF_INET6, "::1", 53},
    {"[::1]:5353", AF_INET6, "::1", 5353},
    {"2001:db8::1", AF_INET6, "2001:db8::1", 53},
    {"", 0, NULL, 0},
    {"localhost", 0, NULL, 0},
    {"dns.example:53", 0, NULL, 0},
    {"127.0.0.1:", 0, NULL, 0},
    {"127.0.0.1:0", 0, NULL, 0},
    {"127.0.0.1:65536", 0, NULL, 0},
    {"127.0.0.1:53x", 0, NULL, 0},
    {"127.0.0.1:-53", 0, NULL, 0},
    {"1.2.3", 0, NULL, 0},
    {"[::1", 0, NULL, 0},
    {"[::1]x", 0, NULL, 0},
    {"[::1]:", 0, NULL, 0},
    {"[127.0.0.1]:53", 0, NULL, 0},
    {"[fe80::1%eth0]:53", 0, NULL, 0},
    {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd", 0,
     NULL, 0},
};

START_TEST(parse_server)
{
	unsigned char addr[16], want[16];
	unsigned port = 0;
	int family = 0;
	char err[200] = "";
	int rc = resolver_parse_server(servers[_i].text, &family, addr, &port,
				       err, sizeof(err));

	if (servers[_i].family == 0) {
		ck_assert_msg(rc == UV_EINVAL, "\"%s\" accepted",
			      servers[_i].text);
		ck_assert_msg(strstr(err, "DNS server") != NULL, "%s", err);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\": %s", servers[_i].text, err);
	ck_assert_int_eq(family, servers[_i].family);
	ck_assert_int_eq(inet_pton(family, servers[_i].addr, want), 1);
	ck_assert(memcmp(addr, want, family == AF_INET ? 4 : 16) == 0);
	ck_assert_uint_eq(port, servers[_i].port);
}
END_TEST

START_TEST(config_refused)
{
	uv_loop_t loop;
	struct resolver_config c;
	struct resolver *r = NULL;
	char err[256];
	const char *bad[] = {"127.0.0.1", "nope"};
	const char *nine[9];

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	resolver_config_defaults(&c);
	c.servers = bad;
	c.server_count = 2;
	ck_assert_int_eq(resolver_new(&loop, &c, &r, err, sizeof(err)),
			 UV_EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(err, "\"nope\"") != NULL, "%s", err);

	resolver_config_defaults(&c);
	c.ttl_floor_s = 100;
	c.ttl_ceiling_s = 10;
	ck_assert_int_eq(resolver_new(&loop, &c, &r, err, sizeof(err)),
			 UV_EINVAL);
	ck_assert_msg(strstr(err, "ttl_floor_s") != NULL, "%s", err);

	resolver_config_defaults(&c);
	c.tries = 0;
	ck_assert_int_eq(resolver_new(&loop, &c, &r, err, sizeof(err)),
			 UV_EINVAL);
	ck_assert_msg(strstr(err, "tries") != NULL, "%s", err);

	resolver_config_defaults(&c);
	c.cache_max = 0;
	ck_assert_int_eq(resolver_new(&loop, &c, &r, err, sizeof(err)),
			 UV_EINVAL);

	resolver_config_defaults(&c);
	c.error_ttl_s = RESOLVER_ERROR_TTL_LIMIT + 1;
	ck_assert_int_eq(resolver_new(&loop, &c, &r, err, sizeof(err)),
			 UV_EINVAL);

	resolver_config_defaults(&c);
	for (int i = 0; i < 9; i++)
		nine[i] = "127.0.0.1";
	c.servers = nine;
	c.server_count = 9;
	ck_assert_int_eq(resolver_new(&loop, &c, &r, err, sizeof(err)),
			 UV_EINVAL);
	ck_assert_msg(strstr(err, "DNS servers") != NULL, "%s", err);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static void on_mx_never(const struct resolver_mx_result *res, void *data)
{
	(void)res;
	(void)data;
	ck_abort_msg("callback of a refused call ran");
}

/* Bad domains are refused without a callback; the system resolver's
 * configuration is read without a query. */
START_TEST(bad_domains_refused)
{
	static const char *const bad[] = {
	    "",
	    ".",
	    "a..b",
	    ".a",
	    "bad domain",
	    "a/b",
	    "\xc3\xa9.example",
	    "a.b..",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "example"};
	struct env e = {0};
	struct resolver_config c;
	struct resolver_req *req = (void *)&e;
	char err[256], longname[300];

	ck_assert_int_eq(uv_loop_init(&e.loop), 0);
	resolver_config_defaults(&c); /* no servers: /etc/resolv.conf */
	ck_assert_msg(resolver_new(&e.loop, &c, &e.r, err, sizeof(err)) == 0,
		      "%s", err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(resolver_mx(e.r, bad[i], on_mx_never, NULL,
					  &req) == UV_EINVAL,
			      "\"%s\" accepted", bad[i]);
	ck_assert_ptr_null(req);
	ck_assert_int_eq(resolver_mx(e.r, NULL, on_mx_never, NULL, NULL),
			 UV_EINVAL);
	ck_assert_int_eq(resolver_mx(e.r, "a.example", NULL, NULL, NULL),
			 UV_EINVAL);
	/* 254 octets */
	memset(longname, 'a', 254);
	for (int i = 63; i < 254; i += 64)
		longname[i] = '.';
	longname[254] = '\0';
	ck_assert_int_eq(resolver_mx(e.r, longname, on_mx_never, NULL, NULL),
			 UV_EINVAL);
	ck_assert_uint_eq(stats(&e).queries, 0);
	ck_assert_uint_eq(stats(&e).lookups, 0);
	env_close(&e);
}
END_TEST

START_TEST(status_names_and_reasons)
{
	ck_assert_str_eq(resolver_status_name(RESOLVER_OK), "ok");
	ck_assert_str_eq(resolver_status_name(RESOLVER_CANCELED), "canceled");
	ck_assert_ptr_null(resolver_status_name(RESOLVER_STATUS_LAST));
	ck_assert_int_eq(resolver_status_reason(RESOLVER_NXDOMAIN),
			 REASON_NO_SUCH_DOMAIN);
	ck_assert_int_eq(resolver_status_reason(RESOLVER_NULL_MX),
			 REASON_NULL_MX);
	ck_assert_int_eq(resolver_status_reason(RESOLVER_NO_MAIL_SERVER),
			 REASON_NO_MAIL_SERVER);
	ck_assert_int_eq(resolver_status_reason(RESOLVER_DNS_ERROR),
			 REASON_DNS_ERROR);
	ck_assert_int_eq(resolver_status_reason(RESOLVER_OK), -1);
	ck_assert_int_eq(resolver_status_reason(RESOLVER_CANCELED), -1);
}
END_TEST

/* dns_tcase - a TCase whose tests share one unbound. */
static TCase *dns_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, unbound_start, unbound_stop);
	tcase_set_timeout(tc, 15);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *resolver_suite(void);
Suite *resolver_suite(void)
{
	Suite *s = suite_create("resolver");
	TCase *tc;

	tc = dns_tcase(s, "answers");
	tcase_add_loop_test(tc, answer_table, 0,
			    sizeof(answers) / sizeof(answers[0]));
	tcase_add_test(tc, addresses_of_each_host);
	tc = dns_tcase(s, "shuffle");
	tcase_add_test(tc, equal_preferences_shuffled);
	tc = dns_tcase(s, "servfail");
	tcase_add_test(tc, servfail_is_dns_error_briefly_cached);
	tcase_add_test(tc, host_lookup_failures);
	tc = tcase_create("timeout");
	tcase_add_test(tc, timeout_is_dns_error);
	suite_add_tcase(s, tc);
	tc = dns_tcase(s, "ttl");
	tcase_add_test(tc, ttl_ceiling_then_asked_again);
	tcase_add_test(tc, ttl_floor_caches_zero_ttl);
	tcase_add_test(tc, negative_answers_cached_briefly);
	tc = dns_tcase(s, "cache_bound");
	tcase_add_test(tc, cache_bounded);
	tc = dns_tcase(s, "coalescing");
	tcase_add_test(tc, concurrent_lookups_coalesce);
	tc = dns_tcase(s, "hosts_file");
	tcase_add_test(tc, hosts_file_ignored);
	tc = dns_tcase(s, "lifecycle");
	tcase_add_test(tc, cancel_pending_and_cached);
	tcase_add_test(tc, close_with_requests_pending);

	tc = tcase_create("arguments");
	tcase_add_loop_test(tc, parse_server, 0,
			    sizeof(servers) / sizeof(servers[0]));
	tcase_add_test(tc, config_refused);
	tcase_add_test(tc, bad_domains_refused);
	tcase_add_test(tc, status_names_and_reasons);
	suite_add_tcase(s, tc);
	return s;
}
