/* fixture_stack - a verifier stack on loopback (see fixture_stack.h). */
#include "tests/unit/app/fixture_stack.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

void fixture_stack_start(const struct fixture_stack *f, uv_loop_t *loop,
			 bool silent_dns, unsigned dns_timeout_ms,
			 unsigned max_pending)
{
	struct resolver_config rc;
	struct engine_config ec;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	char err[256], server[64];
	const char *servers[1] = {server};

	ck_assert_int_eq(lists_init_embedded(f->lists, err, sizeof(err)), 0);
	netpolicy_init(f->policy);
	*f->dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(*f->dns_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	getsockname(*f->dns_fd, (struct sockaddr *)&sa, &salen);
	snprintf(server, sizeof(server), "127.0.0.1:%u", ntohs(sa.sin_port));
	if (!silent_dns) { /* a closed port: every lookup fails at once */
		close(*f->dns_fd);
		*f->dns_fd = -1;
	}
	resolver_config_defaults(&rc);
	rc.servers = servers;
	rc.server_count = 1;
	rc.timeout_ms = dns_timeout_ms;
	rc.tries = 1;
	ck_assert_int_eq(resolver_new(loop, &rc, f->res, err, sizeof(err)), 0);
	engine_config_defaults(&ec);
	ec.dialog.helo = "verifier.test";
	ec.dialog.mail_from = "";
	ec.policy = f->policy;
	ec.resolver = *f->res;
	ck_assert_msg(engine_new(loop, &ec, f->eng, err, sizeof(err)) == 0,
		      "%s", err);
	*f->ver = verifier_new(*f->eng, NULL, f->lists, max_pending);
	ck_assert_ptr_nonnull(*f->ver);
}
