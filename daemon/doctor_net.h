/* doctor_net - the network probes of `rcptd doctor` (daemon/cli_doctor.c).
 *
 * Each probe starts its I/O and turns the loop until it has finished, so
 * the caller reads its outcome on return; every wait has a timeout of its
 * own (the c-ares channel's --dns-timeout, the resolver's, the connect and
 * banner timeouts given, DOCTOR_NET_REDIS_WAIT_MS), so every call ends.
 *   DNS      A, AAAA, PTR and TXT from a c-ares channel of our own (no
 *            search list, never the hosts file: RFC 1035, RFC 3596);
 *            MX sets through the resolver (daemon/resolver.h);
 *   port 25  connect, read the greeting (RFC 5321 4.2), QUIT;
 *   Redis    connect, log in, PING;
 *   DNSBL    a question about an address under a zone (RFC 5782 2.1);
 *   source   the address the kernel picks towards a target (a connected
 *            UDP socket: no packet is sent).
 * The probes judge nothing: which outcome is PASS, WARN or FAIL is the
 * checks' business (cli_doctor.c). Whether an address may be connected to
 * (core/netpolicy.h) is the caller's to decide before doctor_net_smtp().
 * Ownership: struct doctor_net is the caller's; doctor_net_open() fills
 * it, doctor_net_close() starts closing its handles (the caller then runs
 * the loop until they are gone). Results are the caller's structures.
 * Errors: doctor_net_open() and doctor_net_mx() return 0 or -1; lookups
 * report a c-ares status in the result. Not thread-safe: one loop. */
#ifndef RCPTD_DAEMON_DOCTOR_NET_H
#define RCPTD_DAEMON_DOCTOR_NET_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/redis_url.h"
#include "core/smtp_reply.h"
#include "daemon/config.h"
#include "daemon/resolver.h"

/* Records kept of one RRset: a HELO name or a PTR with more than this is
 * not one an operator needs listed in full. */
#define DOCTOR_NET_RR_MAX   8
#define DOCTOR_NET_NAME_MAX RESOLVER_NAME_MAX
/* A DNSBL's TXT is cut to fit. */
#define DOCTOR_NET_TXT_MAX 256
/* Redis: connect, AUTH, SELECT and PING within this, as /readyz would
 * expect of a healthy one. */
#define DOCTOR_NET_REDIS_WAIT_MS 3000
/* A Redis reply or error shown in a report line. */
#define DOCTOR_NET_REDIS_TEXT_MAX REDIS_URL_MAX

struct doctor_net_ip {
	int family; /* AF_INET, AF_INET6; 0: none */
	unsigned char octets[16];
	char text[INET6_ADDRSTRLEN];
};

/* The c-ares channel and the resolver, on the caller's loop. */
struct doctor_net {
	uv_loop_t *loop;
	struct cares_uv *dns;
	struct resolver *res;
};

/* One DNS question and its answer (A, AAAA, PTR or TXT). */
struct doctor_net_dq {
	bool done;
	int type;
	int status; /* ARES_SUCCESS, ARES_ENODATA (NODATA), ARES_ENOTFOUND
		     * (NXDOMAIN), or an error */
	uint64_t t0;
	unsigned ms; /* question to answer */
	unsigned count;
	struct doctor_net_ip addr[DOCTOR_NET_RR_MAX];	       /* A, AAAA */
	char name[DOCTOR_NET_RR_MAX][DOCTOR_NET_NAME_MAX + 1]; /* PTR */
	char txt[DOCTOR_NET_TXT_MAX]; /* TXT: the first */
};

/* An MX set through the resolver. */
struct doctor_net_mx {
	bool done;
	enum resolver_status status;
	bool implicit;
	struct resolver_host hosts[RESOLVER_MX_HOSTS_MAX];
	unsigned count;
	char error[RESOLVER_ERROR_MAX];
};

/* One port-25 attempt's outcome. */
struct doctor_net_smtp {
	bool connected, greeted;
	bool timed_out;	   /* connecting or waiting for the greeting */
	int err;	   /* libuv error of connect or read; 0 none */
	unsigned greet_ms; /* connect to greeting */
	int code;	   /* the greeting's */
	char text[SMTP_REPLY_TEXT_MAX + 1]; /* its text, or why not SMTP */
};

/* A Redis PING's outcome. */
struct doctor_net_pong {
	bool started;  /* false: no connection could be set up (text) */
	bool answered; /* text: the reply */
	unsigned ms;   /* start to answer */
	char text[DOCTOR_NET_REDIS_TEXT_MAX]; /* reply, or the error */
};

/* doctor_net_now_ms - a monotonic clock in milliseconds. */
uint64_t doctor_net_now_ms(void);

/* doctor_net_open - the c-ares channel (--dns-server or the system's,
 * --dns-timeout) and the resolver for MX sets, on @loop. Returns 0, or -1
 * with @err. On -1, whatever was opened is in @n: close it. */
int doctor_net_open(struct doctor_net *n, uv_loop_t *loop,
		    const struct config *c, char *err, size_t errlen);
/* doctor_net_close - start closing what doctor_net_open() opened. */
void doctor_net_close(struct doctor_net *n);

/* doctor_net_servers - the channel's DNS servers, "IP, IP", into @out. */
void doctor_net_servers(const struct doctor_net *n, char *out, size_t size);

void doctor_net_ip_set(struct doctor_net_ip *ip, int family,
		       const void *octets);
bool doctor_net_ip_equal(const struct doctor_net_ip *a,
			 const struct doctor_net_ip *b);

/* doctor_net_ask - ask (@type: ns_t_a, ns_t_aaaa, ns_t_ptr, ns_t_txt,
 * @name) and wait for the answer into @q. */
void doctor_net_ask(struct doctor_net *n, int type, const char *name,
		    struct doctor_net_dq *q);
/* doctor_net_addrs - the A and AAAA records of @name into @q (AAAA
 * appended); the status is the A query's unless it failed where AAAA
 * did not. */
void doctor_net_addrs(struct doctor_net *n, const char *name,
		      struct doctor_net_dq *q);
/* doctor_net_ptr - the PTR names of @ip (in-addr.arpa or ip6.arpa). */
void doctor_net_ptr(struct doctor_net *n, const struct doctor_net_ip *ip,
		    struct doctor_net_dq *q);
/* doctor_net_dnsbl - ask @type (A, or TXT for a listing's reason) about
 * @ip under DNSBL @zone (RFC 5782 2.1: reversed octets or nibbles). */
void doctor_net_dnsbl(struct doctor_net *n, const struct doctor_net_ip *ip,
		      const char *zone, int type, struct doctor_net_dq *q);
/* doctor_net_dq_error - an answer that is not NOERROR/NXDOMAIN, in
 * words (static). */
const char *doctor_net_dq_error(int status);
/* doctor_net_addr_list - @q's addresses as "IP, IP" into @out. */
void doctor_net_addr_list(const struct doctor_net_dq *q, char *out,
			  size_t size);

/* doctor_net_mx - the MX set of @domain. Returns 0, or -1 when @domain is
 * not one the resolver takes (nothing asked). */
int doctor_net_mx(struct doctor_net *n, const char *domain,
		  struct doctor_net_mx *m);

/* doctor_net_smtp - connect to [@ip]:@port within @connect_ms, read the
 * greeting within @banner_ms, send QUIT and wait for the 221 a short
 * while; the outcome into @out. */
void doctor_net_smtp(struct doctor_net *n, const struct doctor_net_ip *ip,
		     unsigned port, unsigned connect_ms, unsigned banner_ms,
		     struct doctor_net_smtp *out);

/* doctor_net_redis_ping - connect to @url (commands within @timeout_ms),
 * PING, within DOCTOR_NET_REDIS_WAIT_MS in all; closes what it opened. */
void doctor_net_redis_ping(struct doctor_net *n, const struct redis_url *url,
			   unsigned timeout_ms, struct doctor_net_pong *out);

/* doctor_net_source - the address the kernel picks towards @to (port 25)
 * into @out. Returns 0, or -1 when there is no route. */
int doctor_net_source(const struct doctor_net_ip *to,
		      struct doctor_net_ip *out);

#endif
