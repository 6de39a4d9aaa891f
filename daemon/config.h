/* config - every option of rcptd, from one table (STYLE.md example 12).
 *
 * Each option is a command-line flag (--foo-bar), an environment variable
 * (RCPTD_FOO_BAR) and a key of the optional config file (foo-bar = value,
 * named by --config FILE or RCPTD_CONFIG). Precedence: flag > environment
 * > file > the embedded default. A repeatable option (--dns-server, ...)
 * takes the whole list from the strongest source that sets it: a flag list
 * replaces the environment's, which replaces the file's. In the
 * environment and the file a list is written comma-separated.
 *
 * Values: durations take a unit (250ms, 5s, 2m, 1h, 7d; a bare number
 * is seconds; at most 49 days, the range of milliseconds in 32 bits), counts are decimal, booleans are true/false/yes/no/on/off/1/0.
 * Every value is checked against the option's range when read; a bad one
 * is refused with one line that names the option and its source.
 *
 * Ownership: config_load() fills a struct config that owns its strings;
 * config_release() frees them. No globals. */
#ifndef RCPTD_DAEMON_CONFIG_H
#define RCPTD_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Which subcommands an option applies to. */
enum config_scope {
	SCOPE_SERVE = 1 << 0,
	SCOPE_VERIFY = 1 << 1,
	SCOPE_BULK = 1 << 2,
	SCOPE_DOCTOR = 1 << 3,
	SCOPE_RELAY = 1 << 4,
	SCOPE_ALL = 0x1f
};

/* A bounded list of strings (repeatable options). */
#define CONFIG_LIST_MAX 64
struct config_list {
	char *item[CONFIG_LIST_MAX];
	unsigned count;
};

enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

struct config {
	/* identity on port 25 */
	char *helo;
	char *mail_from; /* "" = the null sender <> */
	/* DNS and network policy */
	struct config_list dns_server;
	struct config_list allow_net;
	/* timeouts, milliseconds */
	unsigned connect_timeout;
	unsigned command_timeout;
	unsigned banner_timeout;
	unsigned probe_timeout;
	unsigned dns_timeout;
	/* politeness */
	unsigned concurrency;
	unsigned per_host_concurrency;
	unsigned per_domain_rate;
	unsigned rcpt_per_session;
	/* cache and API */
	char *redis;
	struct config_list api_key;
	char *listen;
	/* serve: HTTP (durations in milliseconds, sizes in octets) */
	unsigned request_timeout;
	unsigned max_body;
	unsigned max_batch;
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned idle_timeout;
	unsigned rate_limit; /* requests a second per client; 0: none */
	unsigned rate_burst;
	struct config_list cors_origin;
	unsigned threads;
	char *user;
	bool access_log;
	unsigned shutdown_timeout;
	/* serve: verdict cache (durations in milliseconds) */
	unsigned cache_size;
	unsigned cache_ttl_positive;
	unsigned cache_ttl_negative;
	unsigned cache_ttl_unknown;
	unsigned redis_timeout;
	/* domain lists: files replacing the embedded defaults */
	char *disposable_list;
	char *free_provider_list;
	char *role_list;
	/* logging */
	enum log_format log_format;
	char *log_level;
	/* verify */
	bool offline;
	bool transcript;
	bool table;
	/* bulk jobs: `rcptd bulk` and the jobs of the API (durations in
	 * milliseconds) */
	char *output;		 /* bulk: -o FILE; "": stdout */
	char *column;		 /* bulk: the address column, name or index */
	bool resume;		 /* bulk: skip the rows already in --output */
	char *progress;		 /* bulk: auto|bar|lines|none */
	unsigned greylist_retry; /* 0: a greylisted answer is final */
	unsigned job_deadline;
	unsigned job_window;	    /* addresses of one job at the verifier */
	unsigned max_job_size;	    /* serve: rows of one job */
	unsigned max_job_body;	    /* serve: octets of a POST /v1/jobs */
	unsigned max_jobs_per_key;  /* serve: queued or running */
	unsigned job_retention;	    /* serve: a finished job is kept */
	unsigned job_claim_timeout; /* serve --redis: a silent worker's rows */
	/* relay-test */
	char *outside;	     /* the foreign domain of the tests */
	char *server_domain; /* "": HOST when it is a name */
	bool json;
	/* doctor */
	char *target_domain;	  /* port 25: the MX of this domain, */
	char *target_host;	  /* or this HOST[:PORT] */
	char *source_ip;	  /* "": the kernel's choice */
	struct config_list dnsbl; /* DNSBL zones */
	char *config_file;
};

/* config_load - read defaults, the config file, the environment (@envp,
 * NULL-terminated "NAME=value" strings) and the flags of @argv for
 * subcommand @scope. @argv[0] is the first argument after the subcommand.
 * Positional arguments (and everything after "--") are moved, in their
 * order, to the end of @argv: they are argv[*pos_first .. argc-1].
 * Returns 0, 1 when --help was asked (usage printed to @out), or -1 with
 * one line in @err naming the bad option. */
int config_load(struct config *c, enum config_scope scope, int argc,
		char **argv, char **envp, int *pos_first, char *err,
		size_t errlen);

void config_release(struct config *c);

/* config_usage - the options of @scope with defaults, for --help. */
void config_usage(FILE *out, enum config_scope scope);

/* config_parse_duration - "250ms", "5s", "2m", "1h", "7d" or a bare number
 * of seconds into milliseconds. Returns 0 or -1. Exposed for tests. */
int config_parse_duration(const char *s, unsigned *ms);

#endif
