/* redis_url - the --redis URL: where the shared cache lives and how to
 * log in.
 *
 * Accepted forms (the redis-cli / redis-py conventions, RFC 3986 syntax):
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
 *   unix://[[USER]:PASSWORD@]/PATH[?db=DB]
 * HOST is a DNS name (letters, digits, '-', '_', '.'), a dotted-quad IPv4
 * address or an IPv6 address in brackets ("[::1]"); PORT is 1..65535,
 * 6379 when absent; DB is a decimal index, 0 when absent (no SELECT is
 * sent for 0). USER and PASSWORD may use %XX escapes (a password holding
 * '@', ':' or '/' must); a PASSWORD without USER is sent as "AUTH PASSWORD",
 * with USER as "AUTH USER PASSWORD" (Redis 6 ACLs). A trailing '/' after
 * HOST[:PORT] is allowed ("redis://h/"). PATH is absolute.
 * Refused, with one sentence: any other scheme (rediss:// says that TLS
 * is not supported), an empty or malformed host, a port or DB out of
 * range, an escape that is malformed or decodes to a control character
 * or NUL, a query other than db= on unix://, a fragment, white space or
 * control characters anywhere, and anything longer than its ceiling.
 *
 * Ownership: struct redis_url is plain data owned by the caller; it owns
 * no pointers. Limits: the constants below. Errors: 0, or -1 with a
 * sentence in the caller's buffer. Loop: none; pure functions. */
#ifndef RCPTD_CORE_REDIS_URL_H
#define RCPTD_CORE_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

/* A URL is one line of configuration; 1 KiB holds the longest host,
 * credentials and path below with their escapes. */
#define REDIS_URL_MAX	   1024
#define REDIS_URL_HOST_MAX 253 /* RFC 1035 text form, no final dot */
/* sun_path is 108 octets on Linux, NUL included. */
#define REDIS_URL_PATH_MAX 107
/* Redis ACL user names and passwords are arbitrary strings; 256 octets
 * covers generated secrets (redis-cli ACL GENPASS gives 64 hex digits). */
#define REDIS_URL_USER_MAX     128
#define REDIS_URL_PASSWORD_MAX 256
/* Redis' "databases" setting is an int; nobody runs more than this. */
#define REDIS_URL_DB_MAX       1000000
#define REDIS_URL_PORT_DEFAULT 6379

enum redis_url_kind { REDIS_URL_TCP = 0, REDIS_URL_UNIX };

struct redis_url {
	enum redis_url_kind kind;
	char host[REDIS_URL_HOST_MAX + 1]; /* TCP: name or address, no [] */
	bool host_is_ip;		   /* host is an IPv4/IPv6 literal */
	unsigned port;			   /* TCP */
	char path[REDIS_URL_PATH_MAX + 1]; /* UNIX */
	char user[REDIS_URL_USER_MAX + 1]; /* empty: none */
	char password[REDIS_URL_PASSWORD_MAX + 1];
	bool has_password; /* ":@" gives an empty password, sent as such */
	unsigned db;
};

/* redis_url_parse - parse the NUL-terminated @text into @u. */
int redis_url_parse(const char *text, struct redis_url *u, char *err,
		    size_t errlen);

/* redis_url_display - @u without its credentials, for logs and /readyz:
 * "redis://HOST:PORT/DB" (IPv6 in brackets) or "unix:///PATH?db=DB" (the
 * db part only when not 0), cut to fit @size. */
void redis_url_display(const struct redis_url *u, char *buf, size_t size);

#endif
