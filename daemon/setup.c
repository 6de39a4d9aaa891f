/* setup - policy, resolver and engine from the configuration. */
#include "daemon/setup.h"

#include <stdio.h>
#include <string.h>

#include "daemon/log.h"

int setup_policy(struct netpolicy *policy, const struct config *c, char *err,
		 size_t errlen)
{
	netpolicy_init(policy);
	for (unsigned i = 0; i < c->allow_net.count; i++) {
		char sub[200];
		if (netpolicy_allow_cidr(policy, c->allow_net.item[i], sub,
					 sizeof(sub)) < 0) {
			snprintf(err, errlen, "--allow-net: %s", sub);
			return -1;
		}
	}
	return 0;
}

int setup_engine(uv_loop_t *loop, const struct config *c,
		 const struct netpolicy *policy, size_t transcript_max,
		 struct resolver **res, struct engine **eng, char *err,
		 size_t errlen)
{
	struct resolver_config rc;
	struct engine_config ec;

	resolver_config_defaults(&rc);
	rc.servers = (const char *const *)c->dns_server.item;
	rc.server_count = c->dns_server.count;
	rc.timeout_ms = c->dns_timeout;
	if (resolver_new(loop, &rc, res, err, errlen) < 0)
		return -1;

	engine_config_defaults(&ec);
	ec.dialog.helo = c->helo;
	ec.dialog.mail_from = c->mail_from;
	ec.dialog.banner_ms = c->banner_timeout;
	ec.dialog.ehlo_ms = ec.dialog.mail_ms = ec.dialog.rcpt_ms =
	    ec.dialog.rset_ms = c->command_timeout;
	if (ec.dialog.quit_ms > c->command_timeout)
		ec.dialog.quit_ms = c->command_timeout;
	ec.dialog.transcript_max = transcript_max;
	ec.connect_timeout_ms = c->connect_timeout;
	ec.probe_timeout_ms = c->probe_timeout;
	ec.concurrency = c->concurrency;
	ec.per_host_concurrency = c->per_host_concurrency;
	ec.per_domain_rate = c->per_domain_rate;
	ec.dialog.rcpt_max = c->rcpt_per_session;
	/* One transaction per session: RFC 5321 4.5.3.1.8 has every server
	 * take 100 recipients; the probe rides on top of the cap. */
	ec.dialog.rcpt_per_txn =
	    c->rcpt_per_session + 1 < DIALOG_RCPT_PER_TXN_MAX
		? c->rcpt_per_session + 1
		: DIALOG_RCPT_PER_TXN_MAX;
	ec.policy = policy;
	ec.resolver = *res;
	if (engine_new(loop, &ec, eng, err, errlen) < 0) {
		resolver_close(*res, NULL, NULL);
		*res = NULL;
		return -1;
	}
	return 0;
}

void setup_helo_warning(const char *helo)
{
	if (strchr(helo, '.') == NULL || strcmp(helo, "localhost") == 0)
		log_warn("--helo %s is not a fully qualified domain name; "
			 "many servers refuse or distrust such clients (see "
			 "rcptd doctor)",
			 helo);
}

void setup_job_config(const struct config *c, struct job_config *jc)
{
	job_config_defaults(jc);
	jc->window = c->job_window;
	jc->domain_window = c->per_host_concurrency * c->rcpt_per_session;
	jc->first_window = c->rcpt_per_session;
	jc->batch = c->rcpt_per_session;
	jc->greylist_retry_ms = c->greylist_retry;
	jc->deadline_ms = c->job_deadline;
}

void setup_cache_config(const struct config *c, unsigned shares,
			struct cache_config *cc)
{
	cache_config_defaults(cc);
	cc->l1_entries = (c->cache_size + shares - 1) / shares;
	cc->l1_bytes = (cc->l1_bytes + shares - 1) / shares;
	cc->redis_url = c->redis;
	cc->redis_timeout_ms = c->redis_timeout;
	cc->positive.ttl_s = c->cache_ttl_positive / 1000;
	cc->negative.ttl_s = c->cache_ttl_negative / 1000;
	cc->unknown.ttl_s = c->cache_ttl_unknown / 1000;
	if (cc->positive.refresh_s > cc->positive.ttl_s)
		cc->positive.refresh_s = cc->positive.ttl_s;
	if (cc->negative.refresh_s > cc->negative.ttl_s)
		cc->negative.refresh_s = cc->negative.ttl_s;
	if (cc->unknown.refresh_s > cc->unknown.ttl_s)
		cc->unknown.refresh_s = cc->unknown.ttl_s;
}
