/* config - the option table and its four sources (see config.h). */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum opt_type {
	OPT_STRING,
	OPT_LIST,
	OPT_DURATION,
	OPT_COUNT,
	OPT_BOOL,
	OPT_LOGFMT
};

enum source { SRC_DEFAULT = 0, SRC_FILE, SRC_ENV, SRC_FLAG };

static const char *const source_name[] = {"default", "config file",
					  "environment", "command line"};

struct opt {
	const char *name; /* flag without "--"; env and file key derive */
	enum opt_type type;
	size_t offset;
	unsigned scope;
	const char *def; /* default, parsed like any other value */
	unsigned long min, max;
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define NET    (SCOPE_SERVE | SCOPE_VERIFY | SCOPE_BULK | SCOPE_DOCTOR)
#define PROBE  (SCOPE_SERVE | SCOPE_VERIFY | SCOPE_BULK)

/* The table. Defaults and their reasons:
 * - connect 10 s, command 30 s, banner 30 s: RFC 5321 4.5.3.2 asks MTAs for
 *   minutes, but a verifier answers a person; 30 s still outlasts the
 *   deliberate banner delays of most anti-spam setups (Postfix postscreen
 *   greets within 6 s).
 * - probe 60 s: the whole conversation with one address, all MX hosts.
 * - per-host concurrency 2: Postfix's default destination concurrency is
 *   20 for real mail; verification traffic must stay far below that.
 * - concurrency 256: in-flight probes per process; memory is ~10 KiB each. */
static const struct opt opts[] = {
    {"helo", OPT_STRING, OFF(helo), SCOPE_ALL, "localhost", 1, 253,
     "NAME: the EHLO/HELO name; use an FQDN that resolves to this host"},
    {"mail-from", OPT_STRING, OFF(mail_from), SCOPE_ALL, "", 0, 254,
     "ADDR: the MAIL FROM address; empty means the null sender <>"},
    {"dns-server", OPT_LIST, OFF(dns_server), NET, "", 0, 64,
     "IP[:PORT]: DNS server to ask (repeatable; default: system resolver)"},
    {"allow-net", OPT_LIST, OFF(allow_net), SCOPE_ALL, "", 0, 64,
     "CIDR: permit probing MX addresses in this otherwise blocked range"},
    {"connect-timeout", OPT_DURATION, OFF(connect_timeout), SCOPE_ALL, "10s",
     100, 300000, "DURATION: TCP connect timeout per address"},
    {"command-timeout", OPT_DURATION, OFF(command_timeout), SCOPE_ALL, "30s",
     100, 600000, "DURATION: wait for each SMTP reply"},
    {"banner-timeout", OPT_DURATION, OFF(banner_timeout), SCOPE_ALL, "30s", 100,
     600000, "DURATION: wait for the 220 greeting"},
    {"probe-timeout", OPT_DURATION, OFF(probe_timeout), PROBE, "60s", 1000,
     3600000, "DURATION: whole verification of one address, all MX hosts"},
    {"dns-timeout", OPT_DURATION, OFF(dns_timeout), NET, "5s", 100, 60000,
     "DURATION: wait for one DNS answer"},
    {"concurrency", OPT_COUNT, OFF(concurrency), PROBE, "256", 1, 100000,
     "N: SMTP sessions in flight at once"},
    {"per-host-concurrency", OPT_COUNT, OFF(per_host_concurrency), PROBE, "2",
     1, 100, "N: SMTP sessions in flight to one MX host"},
    {"rcpt-per-session", OPT_COUNT, OFF(rcpt_per_session), PROBE, "50", 1, 1000,
     "N: recipients asked in one SMTP session before a new one"},
    {"per-domain-rate", OPT_COUNT, OFF(per_domain_rate), PROBE, "10", 0, 1000,
     "N: new SMTP sessions a second to one domain (0: no limit)"},
    {"redis", OPT_STRING, OFF(redis), SCOPE_SERVE | SCOPE_BULK | SCOPE_DOCTOR,
     "", 0, 1024,
     "URL: redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH; "
     "absent: in-process cache only"},
    {"api-key", OPT_LIST, OFF(api_key), SCOPE_SERVE, "", 0, 1024,
     "KEY: accept this bearer key (repeatable; absent: no auth)"},
    {"listen", OPT_STRING, OFF(listen), SCOPE_SERVE, "127.0.0.1:8025", 1, 300,
     "ADDR:PORT: where the HTTP API listens"},
    /* serve. The request timeout is 5 s: Postfix's smtpd waits about as
     * long for verify(8) (3 polls 3 s apart) before it answers "try
     * again", most probes of a responsive server end within 1-3 s, and a
     * person at a sign-up form should not wait longer; the probe goes on
     * and its verdict waits in the cache for the retry. Bodies: 100
     * addresses in JSON are ~10 KiB, so 1 MiB is generous and bounded.
     * Connections: 4096 at most, 1024 per client address (a proxy or
     * the app beside a sidecar is one address; one host still cannot
     * take the whole table); 15 s idle, which is also the time a request
     * has to arrive whole. No rate limit by default: the common client is
     * one back end on localhost; set one for a public listener. */
    {"request-timeout", OPT_DURATION, OFF(request_timeout), SCOPE_SERVE, "5s",
     0, 300000,
     "DURATION: wait this long for a probe, then answer in_progress "
     "(wait= per request, up to --probe-timeout)"},
    {"max-body", OPT_COUNT, OFF(max_body), SCOPE_SERVE, "1048576", 1024,
     64 * 1024 * 1024, "OCTETS: the largest request body"},
    {"max-batch", OPT_COUNT, OFF(max_batch), SCOPE_SERVE, "100", 1, 10000,
     "N: addresses in one POST /v1/verify"},
    {"max-connections", OPT_COUNT, OFF(max_connections), SCOPE_SERVE, "4096", 1,
     1000000, "N: HTTP connections open at once"},
    {"max-connections-per-ip", OPT_COUNT, OFF(max_connections_per_ip),
     SCOPE_SERVE, "1024", 1, 1000000,
     "N: HTTP connections open at once from one client address "
     "(per loop with --threads)"},
    {"idle-timeout", OPT_DURATION, OFF(idle_timeout), SCOPE_SERVE, "15s", 1000,
     3600000,
     "DURATION: close a connection idle this long, or whose request has "
     "not arrived whole within it"},
    {"rate-limit", OPT_COUNT, OFF(rate_limit), SCOPE_SERVE, "0", 0, 1000000,
     "N: requests a second per API key (or client IP without one); 0: no "
     "limit"},
    {"rate-burst", OPT_COUNT, OFF(rate_burst), SCOPE_SERVE, "100", 1, 1000000,
     "N: requests a client may make at once before --rate-limit applies"},
    {"cors-origin", OPT_LIST, OFF(cors_origin), SCOPE_SERVE, "", 0, 300,
     "ORIGIN: let browser pages of ORIGIN (or *) call the API "
     "(repeatable)"},
    {"threads", OPT_COUNT, OFF(threads), SCOPE_SERVE, "1", 1, 256,
     "N: event loops, one per core (SO_REUSEPORT)"},
    {"user", OPT_STRING, OFF(user), SCOPE_SERVE, "", 0, 64,
     "NAME: started as root, run as this user once the socket is bound"},
    {"access-log", OPT_BOOL, OFF(access_log), SCOPE_SERVE, "true", 0, 0,
     "log one line per HTTP request (method, path, status, latency)"},
    {"shutdown-timeout", OPT_DURATION, OFF(shutdown_timeout), SCOPE_SERVE,
     "10s", 0, 600000,
     "DURATION: on SIGTERM, time for requests in flight to finish"},
    /* The verdict cache; daemon/cache.h gives the reasons. */
    {"cache-size", OPT_COUNT, OFF(cache_size), SCOPE_SERVE | SCOPE_BULK,
     "100000", 0, 100000000, "N: verdicts kept in process (0: none)"},
    {"cache-ttl-positive", OPT_DURATION, OFF(cache_ttl_positive),
     SCOPE_SERVE | SCOPE_BULK, "7d", 1000, 4233600000u,
     "DURATION: keep deliverable and risky verdicts"},
    {"cache-ttl-negative", OPT_DURATION, OFF(cache_ttl_negative),
     SCOPE_SERVE | SCOPE_BULK, "3d", 1000, 4233600000u,
     "DURATION: keep undeliverable verdicts"},
    {"cache-ttl-unknown", OPT_DURATION, OFF(cache_ttl_unknown),
     SCOPE_SERVE | SCOPE_BULK, "5m", 1000, 4233600000u,
     "DURATION: keep unknown verdicts (timeouts, greylisting, blocks)"},
    {"redis-timeout", OPT_DURATION, OFF(redis_timeout),
     SCOPE_SERVE | SCOPE_BULK, "250ms", 10, 60000,
     "DURATION: wait for one Redis reply before treating it as a miss"},
    {"disposable-list", OPT_STRING, OFF(disposable_list), SCOPE_ALL, "", 0,
     4096, "FILE: disposable domains, replacing the built-in list"},
    {"free-provider-list", OPT_STRING, OFF(free_provider_list), SCOPE_ALL, "",
     0, 4096, "FILE: free mailbox providers, replacing the built-in list"},
    {"role-list", OPT_STRING, OFF(role_list), SCOPE_ALL, "", 0, 4096,
     "FILE: role local parts, replacing the built-in list"},
    {"log-format", OPT_LOGFMT, OFF(log_format), SCOPE_ALL, "text", 0, 0,
     "text|json: the format of log lines on stderr"},
    {"log-level", OPT_STRING, OFF(log_level), SCOPE_ALL, "info", 1, 16,
     "debug|info|warn|error: the least severe level logged"},
    {"offline", OPT_BOOL, OFF(offline), SCOPE_VERIFY | SCOPE_BULK, "false", 0,
     0, "run only the checks that need no network"},
    {"transcript", OPT_BOOL, OFF(transcript), SCOPE_VERIFY, "false", 0, 0,
     "include the SMTP transcript in each verdict"},
    {"table", OPT_BOOL, OFF(table), SCOPE_VERIFY, "false", 0, 0,
     "print a table for people instead of JSON lines"},
    /* Bulk jobs (daemon/job.h gives the reasons of the defaults). */
    {"output", OPT_STRING, OFF(output), SCOPE_BULK, "", 0, 4096,
     "FILE (or -o FILE): write the CSV here instead of stdout"},
    {"column", OPT_STRING, OFF(column), SCOPE_BULK, "", 0, 256,
     "NAME|INDEX: the column of the addresses (default: a header named "
     "email, e-mail, mail or address, or the one column, or the one "
     "with an @)"},
    {"resume", OPT_BOOL, OFF(resume), SCOPE_BULK, "false", 0, 0,
     "skip the rows already in --output and append the rest"},
    {"progress", OPT_STRING, OFF(progress), SCOPE_BULK, "auto", 1, 8,
     "auto|bar|lines|none: progress on stderr (auto: a bar on a "
     "terminal, a line every 5 s otherwise)"},
    {"greylist-retry", OPT_DURATION, OFF(greylist_retry),
     SCOPE_BULK | SCOPE_SERVE, "5m", 0, 86400000,
     "DURATION: ask a greylisted address again after this (0: do not)"},
    {"job-deadline", OPT_DURATION, OFF(job_deadline), SCOPE_BULK | SCOPE_SERVE,
     "2h", 0, 604800000,
     "DURATION: no greylisting retry later than this after a job starts"},
    /* Jobs of the API: 100 000 rows is a large list cleaned in about
     * an hour at the default concurrency, and ~60 MiB in process;
     * bigger lists belong to `rcptd bulk` or several jobs. Four jobs per
     * key keep one client from taking the engine. A day's retention
     * lets a client come back for its results the next morning. */
    {"max-job-size", OPT_COUNT, OFF(max_job_size), SCOPE_SERVE, "100000", 1,
     10000000, "N: rows in one POST /v1/jobs"},
    {"max-job-body", OPT_COUNT, OFF(max_job_body), SCOPE_SERVE, "67108864",
     1024, 1073741824, "OCTETS: the largest POST /v1/jobs body"},
    {"max-jobs-per-key", OPT_COUNT, OFF(max_jobs_per_key), SCOPE_SERVE, "4", 1,
     1000, "N: jobs queued or running at once per API key (or client)"},
    {"job-retention", OPT_DURATION, OFF(job_retention), SCOPE_SERVE, "24h",
     1000, 604800000, "DURATION: keep a finished job's results this long"},
    /* With --redis, a chunk of a job whose worker has been silent this
     * long is taken over by another (the worker refreshes its claim
     * every third of it). A minute: a worker that died costs a minute,
     * and a pause of the process (a slow Redis, a stopped container)
     * shorter than that costs nothing. */
    {"job-claim-timeout", OPT_DURATION, OFF(job_claim_timeout), SCOPE_SERVE,
     "60s", 300, 3600000,
     "DURATION: with --redis, another worker takes over a silent one's "
     "rows after this"},
    {"job-window", OPT_COUNT, OFF(job_window), SCOPE_BULK | SCOPE_SERVE, "1000",
     1, 100000, "N: addresses of one job being verified at once"},
    /* relay-test: the default outside domain is under .invalid (RFC
     * 2606), so that no test recipient can ever receive mail. */
    {"outside", OPT_STRING, OFF(outside), SCOPE_RELAY, "relay-test.invalid", 1,
     253, "DOMAIN: the foreign domain of the relay tests"},
    {"server-domain", OPT_STRING, OFF(server_domain), SCOPE_RELAY, "", 0, 253,
     "DOMAIN: the mail domain the server receives for (default: HOST "
     "when it is a name; required when HOST is an address)"},
    {"json", OPT_BOOL, OFF(json), SCOPE_RELAY, "false", 0, 0,
     "print one JSON object instead of a table"},
    /* doctor: where port 25 is tried, and what the outgoing address is
     * checked against. */
    {"target-domain", OPT_STRING, OFF(target_domain), SCOPE_DOCTOR, "", 0, 253,
     "DOMAIN: try port 25 on the MX hosts of DOMAIN (e.g. gmail.com)"},
    {"target-host", OPT_STRING, OFF(target_host), SCOPE_DOCTOR, "", 0, 300,
     "HOST[:PORT]: try port 25 on this mail server instead"},
    {"source-ip", OPT_STRING, OFF(source_ip), SCOPE_DOCTOR, "", 0, 45,
     "IP: the address mail servers see this host connect from (behind "
     "NAT: the public one); default: the kernel's choice for the target"},
    {"dnsbl", OPT_LIST, OFF(dnsbl), SCOPE_DOCTOR, "", 0, 253,
     "ZONE: check the outgoing address against this DNS blocklist "
     "(repeatable)"},
    {"config", OPT_STRING, OFF(config_file), SCOPE_ALL, "", 0, 4096,
     "FILE: read options from FILE (key = value lines)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Defend against a runaway config file: nothing reasonable is longer. */
#define CONFIG_FILE_MAX (256 * 1024)
#define CONFIG_LINE_MAX 4096

static void *field(struct config *c, const struct opt *o)
{
	return (char *)c + o->offset;
}

int config_parse_duration(const char *s, unsigned *ms)
{
	char *end;
	unsigned long v, mult;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mult = 86400 * 1000;
	else
		return -1;
	if (v > UINT_MAX / mult)
		return -1;
	*ms = (unsigned)(v * mult);
	return 0;
}

static int parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *b = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *b = false, 0;
	}
	return -1;
}

static void list_clear(struct config_list *l)
{
	for (unsigned i = 0; i < l->count; i++)
		free(l->item[i]);
	l->count = 0;
}

/* list_add - append the comma-separated items of @s (empty items skipped).
 * From the command line each flag is one item: @split false. */
static int list_add(struct config_list *l, const char *s, bool split,
		    const struct opt *o, char *err, size_t errlen)
{
	const char *p = s;

	while (*p) {
		size_t n = split ? strcspn(p, ",") : strlen(p);
		const char *q = p;
		size_t m = n;

		while (m && isspace((unsigned char)*q))
			q++, m--;
		while (m && isspace((unsigned char)q[m - 1]))
			m--;
		if (m > o->max) {
			snprintf(err, errlen, "--%s: value longer than %lu",
				 o->name, o->max);
			return -1;
		}
		if (m) {
			if (l->count == CONFIG_LIST_MAX) {
				snprintf(err, errlen,
					 "--%s: more than %d values", o->name,
					 CONFIG_LIST_MAX);
				return -1;
			}
			l->item[l->count] = strndup(q, m);
			if (l->item[l->count] == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			l->count++;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* set_value - parse @val for option @o from source @src into @c. */
static int set_value(struct config *c, const struct opt *o, const char *val,
		     enum source src, bool append, char *err, size_t errlen)
{
	void *f = field(c, o);
	unsigned ms;
	unsigned long n;
	char *end;

	switch (o->type) {
	case OPT_STRING: {
		size_t len = strlen(val);
		if (len < o->min || len > o->max) {
			snprintf(err, errlen,
				 "--%s (%s): length must be %lu to %lu",
				 o->name, source_name[src], o->min, o->max);
			return -1;
		}
		for (const char *p = val; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(err, errlen,
					 "--%s (%s): control character in "
					 "value",
					 o->name, source_name[src]);
				return -1;
			}
		char *dup = strdup(val);
		if (dup == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)f);
		*(char **)f = dup;
		return 0;
	}
	case OPT_LIST:
		if (!append)
			list_clear(f);
		return list_add(f, val, src != SRC_FLAG, o, err, errlen);
	case OPT_DURATION:
		if (config_parse_duration(val, &ms) < 0) {
			snprintf(err, errlen,
				 "--%s (%s): '%s' is not a duration (e.g. "
				 "500ms, 10s, 2m)",
				 o->name, source_name[src], val);
			return -1;
		}
		if (ms < o->min || ms > o->max) {
			snprintf(err, errlen,
				 "--%s (%s): %s is out of range (%lums to "
				 "%lus)",
				 o->name, source_name[src], val, o->min,
				 o->max / 1000);
			return -1;
		}
		*(unsigned *)f = ms;
		return 0;
	case OPT_COUNT:
		errno = 0;
		n = isdigit((unsigned char)val[0]) ? strtoul(val, &end, 10) : 0;
		if (!isdigit((unsigned char)val[0]) || errno || *end ||
		    n < o->min || n > o->max) {
			snprintf(err, errlen,
				 "--%s (%s): '%s' is not a number from %lu to "
				 "%lu",
				 o->name, source_name[src], val, o->min,
				 o->max);
			return -1;
		}
		*(unsigned *)f = (unsigned)n;
		return 0;
	case OPT_BOOL:
		if (parse_bool(val, f) < 0) {
			snprintf(err, errlen,
				 "--%s (%s): '%s' is not true or false",
				 o->name, source_name[src], val);
			return -1;
		}
		return 0;
	case OPT_LOGFMT:
		if (strcmp(val, "text") == 0)
			*(enum log_format *)f = LOG_FORMAT_TEXT;
		else if (strcmp(val, "json") == 0)
			*(enum log_format *)f = LOG_FORMAT_JSON;
		else {
			snprintf(err, errlen,
				 "--%s (%s): '%s' is not text or json", o->name,
				 source_name[src], val);
			return -1;
		}
		return 0;
	}
	abort(); /* unreachable: every type is handled above */
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* env_name - "RCPTD_" + upper-cased name with '-' as '_'. */
static void env_name(const struct opt *o, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "RCPTD_");
	for (const char *p = o->name; *p && n + 1 < size; p++)
		buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[n] = '\0';
}

static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* load_file - apply "key = value" lines of @path. '#' starts a comment. */
static int load_file(struct config *c, const char *path, enum source *set,
		     unsigned scope, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[CONFIG_LINE_MAX];
	unsigned lineno = 0;
	size_t total = 0;
	int rc = -1;

	if (f == NULL) {
		snprintf(err, errlen, "--config: cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		char *k, *v, *eq;

		lineno++;
		total += len;
		if (total > CONFIG_FILE_MAX) {
			snprintf(err, errlen, "%s: larger than %d octets", path,
				 CONFIG_FILE_MAX);
			goto done;
		}
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line too long", path,
				 lineno);
			goto done;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		k = line;
		while (isspace((unsigned char)*k))
			k++;
		if (*k == '\0')
			continue;
		eq = strchr(k, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
				 path, lineno);
			goto done;
		}
		v = eq + 1;
		while (eq > k && isspace((unsigned char)eq[-1]))
			eq--;
		*eq = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (size_t n = strlen(v);
		     n && isspace((unsigned char)v[n - 1]);)
			v[--n] = '\0';
		const struct opt *o = find_opt(k, strlen(k));
		if (o == NULL) {
			snprintf(err, errlen, "%s:%u: unknown option '%s'",
				 path, lineno, k);
			goto done;
		}
		if (!(o->scope & scope) || strcmp(o->name, "config") == 0)
			continue;
		char sub[200];
		if (set_value(c, o, v, SRC_FILE, set[o - opts] == SRC_FILE, sub,
			      sizeof(sub)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, sub);
			goto done;
		}
		set[o - opts] = SRC_FILE;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto done;
	}
	rc = 0;
done:
	fclose(f);
	return rc;
}

int config_load(struct config *c, enum config_scope scope, int argc,
		char **argv, char **envp, int *pos_first, char *err,
		size_t errlen)
{
	enum source set[NOPTS];
	char **pos;
	int npos = 0, rc = -1;
	char name[64];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++) {
		set[i] = SRC_DEFAULT;
		if (set_value(c, &opts[i], opts[i].def, SRC_DEFAULT, false, err,
			      errlen) < 0)
			abort(); /* a default the table cannot parse is a bug */
	}

	/* The config file is named by a flag or the environment. */
	const char *file = env_get(envp, "RCPTD_CONFIG");
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	if (file && *file && load_file(c, file, set, scope, err, errlen) < 0)
		return -1;

	for (size_t i = 0; i < NOPTS; i++) {
		if (!(opts[i].scope & scope))
			continue;
		env_name(&opts[i], name, sizeof(name));
		const char *v = env_get(envp, name);
		if (v == NULL)
			continue;
		if (set_value(c, &opts[i], v, SRC_ENV, false, err, errlen) < 0)
			return -1;
		set[i] = SRC_ENV;
	}

	/* Flags, permuted before the positional arguments. */
	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			while (++i < argc)
				pos[npos++] = argv[i];
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			rc = 1;
			goto done;
		}
		if (a[0] != '-' || a[1] == '\0') {
			pos[npos++] = a;
			continue;
		}
		if (a[1] != '-') {
			snprintf(err, errlen, "unknown option '%s'", a);
			goto done;
		}
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		const struct opt *o = find_opt(a + 2, len);
		if (o == NULL || !(o->scope & scope)) {
			snprintf(err, errlen, "unknown option '--%.*s'",
				 (int)len, a + 2);
			goto done;
		}
		const char *v;
		if (o->type == OPT_BOOL && eq == NULL)
			v = "true";
		else if (eq)
			v = eq + 1;
		else if (i + 1 < argc)
			v = argv[++i];
		else {
			snprintf(err, errlen, "--%s needs a value", o->name);
			goto done;
		}
		if (set_value(c, o, v, SRC_FLAG, set[o - opts] == SRC_FLAG, err,
			      errlen) < 0)
			goto done;
		set[o - opts] = SRC_FLAG;
	}
	for (int i = 0; i < npos; i++)
		argv[argc - npos + i] = pos[i];
	*pos_first = argc - npos;
	rc = 0;
done:
	free(pos);
	return rc;
}

void config_release(struct config *c)
{
	for (size_t i = 0; i < NOPTS; i++) {
		void *f = field(c, &opts[i]);
		if (opts[i].type == OPT_STRING) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (opts[i].type == OPT_LIST)
			list_clear(f);
	}
}

void config_usage(FILE *out, enum config_scope scope)
{
	char env[64];

	fprintf(out, "Options (each also RCPTD_NAME in the environment and "
		     "'name = value' in --config FILE):\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		if (!(o->scope & scope))
			continue;
		env_name(o, env, sizeof(env));
		fprintf(out, "  --%-22s %s\n", o->name, o->help);
		if (o->def[0] && o->type != OPT_BOOL)
			fprintf(out, "  %-24s default: %s; env %s\n", "",
				o->def, env);
		else
			fprintf(out, "  %-24s env %s\n", "", env);
	}
}
