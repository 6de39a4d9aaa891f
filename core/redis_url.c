/* redis_url - parse the --redis URL (see redis_url.h). */
#include "core/redis_url.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A span of the input: the parser never copies before it has checked. */
struct span {
	const char *p;
	size_t len;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fail - write one sentence into @err and return -1. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decode - @s with its %XX escapes decoded into @dst of @size octets.
 * A decoded control character or NUL is refused: it could not travel in
 * a C string, and no real password or path holds one. */
static int decode(struct span s, char *dst, size_t size, const char *what,
		  char *err, size_t errlen)
{
	size_t o = 0;

	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '%') {
			bool room = i + 2 < s.len;
			int hi = room ? hexval(s.p[i + 1]) : -1;
			int lo = room ? hexval(s.p[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return fail(err, errlen,
					    "redis URL: malformed %%-escape in "
					    "the %s",
					    what);
			c = (unsigned char)(hi * 16 + lo);
			if (c < 0x20 || c == 0x7f)
				return fail(err, errlen,
					    "redis URL: the %s holds an "
					    "escaped control character",
					    what);
			i += 2;
		}
		if (o + 1 >= size)
			return fail(err, errlen,
				    "redis URL: the %s is too long", what);
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

/* parse_uint - decimal digits only (no sign, no space), at most @max. */
static int parse_uint(struct span s, unsigned long max, unsigned *out)
{
	unsigned long v = 0;

	if (s.len == 0 || s.len > 10)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s.p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* parse_userinfo - "[USER]:PASSWORD" (the part before '@'). */
static int parse_userinfo(struct span s, struct redis_url *u, char *err,
			  size_t errlen)
{
	const char *colon = memchr(s.p, ':', s.len);
	struct span user, pass;

	if (colon == NULL)
		return fail(err, errlen,
			    "redis URL: credentials are written "
			    "[USER]:PASSWORD@ (a lone word before '@' is "
			    "ambiguous)");
	user = (struct span){s.p, (size_t)(colon - s.p)};
	pass = (struct span){colon + 1, s.len - user.len - 1};
	if (decode(user, u->user, sizeof(u->user), "user name", err, errlen) <
	    0)
		return -1;
	if (decode(pass, u->password, sizeof(u->password), "password", err,
		   errlen) < 0)
		return -1;
	u->has_password = true;
	return 0;
}

/* valid_hostname - letters, digits, '-' and '_' in dot-separated labels
 * of 1..63 octets ('_' because container names use it). */
static bool valid_hostname(struct span s)
{
	size_t label = 0;

	if (s.len == 0 || s.len > REDIS_URL_HOST_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* parse_hostport - "HOST[:PORT]" or "[IPV6][:PORT]". */
static int parse_hostport(struct span s, struct redis_url *u, char *err,
			  size_t errlen)
{
	struct span host, port = {NULL, 0};
	bool has_port = false;
	unsigned char addr[16];

	if (s.len > 0 && s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.len);
		if (close == NULL)
			return fail(err, errlen,
				    "redis URL: '[' without ']' in the host");
		host = (struct span){s.p + 1, (size_t)(close - s.p - 1)};
		size_t rest = s.len - (size_t)(close - s.p) - 1;
		if (rest > 0) {
			if (close[1] != ':')
				return fail(err, errlen,
					    "redis URL: unexpected text after "
					    "the IPv6 address");
			port = (struct span){close + 2, rest - 1};
			has_port = true;
		}
		if (host.len == 0 || host.len >= 46)
			return fail(err, errlen,
				    "redis URL: malformed IPv6 address");
		memcpy(u->host, host.p, host.len);
		u->host[host.len] = '\0';
		if (inet_pton(AF_INET6, u->host, addr) != 1)
			return fail(err, errlen,
				    "redis URL: malformed IPv6 address '%s'",
				    u->host);
		u->host_is_ip = true;
	} else {
		const char *colon = memchr(s.p, ':', s.len);
		host =
		    (struct span){s.p, colon ? (size_t)(colon - s.p) : s.len};
		if (colon) {
			port = (struct span){colon + 1, s.len - host.len - 1};
			has_port = true;
		}
		if (host.len == 0)
			return fail(err, errlen,
				    "redis URL: the host is empty");
		if (!valid_hostname(host))
			return fail(
			    err, errlen, "redis URL: '%.*s' is not a host name",
			    (int)(host.len > 64 ? 64 : host.len), host.p);
		memcpy(u->host, host.p, host.len);
		u->host[host.len] = '\0';
		/* All digits and dots: it must be an IPv4 address, never a
		 * name ("127.1" is refused rather than guessed). */
		if (strspn(u->host, "0123456789.") == host.len) {
			if (inet_pton(AF_INET, u->host, addr) != 1)
				return fail(err, errlen,
					    "redis URL: malformed IPv4 "
					    "address '%s'",
					    u->host);
			u->host_is_ip = true;
		}
	}
	u->port = REDIS_URL_PORT_DEFAULT;
	if (has_port && parse_uint(port, 65535, &u->port) < 0)
		return fail(err, errlen,
			    "redis URL: the port must be a number 1..65535");
	if (u->port == 0)
		return fail(err, errlen,
			    "redis URL: the port must be a number 1..65535");
	return 0;
}

static int parse_db(struct span s, struct redis_url *u, char *err,
		    size_t errlen)
{
	if (parse_uint(s, REDIS_URL_DB_MAX, &u->db) < 0)
		return fail(err, errlen,
			    "redis URL: the database must be a number "
			    "0..%u",
			    REDIS_URL_DB_MAX);
	return 0;
}

/* split_userinfo - cut "[USER]:PASSWORD@" off the front of @auth (at the
 * last '@', so that an unescaped '@' in a password still works). */
static int split_userinfo(struct span *auth, struct redis_url *u, char *err,
			  size_t errlen)
{
	const char *at = NULL;

	for (size_t i = 0; i < auth->len; i++)
		if (auth->p[i] == '@')
			at = auth->p + i;
	if (at == NULL)
		return 0;
	if (parse_userinfo((struct span){auth->p, (size_t)(at - auth->p)}, u,
			   err, errlen) < 0)
		return -1;
	auth->len -= (size_t)(at - auth->p) + 1;
	auth->p = at + 1;
	return 0;
}

static int parse_tcp(struct span s, struct redis_url *u, char *err,
		     size_t errlen)
{
	size_t n = strcspn(s.p, "/?");
	struct span auth = {s.p, n}, path = {s.p + n, s.len - n};

	u->kind = REDIS_URL_TCP;
	if (split_userinfo(&auth, u, err, errlen) < 0 ||
	    parse_hostport(auth, u, err, errlen) < 0)
		return -1;
	if (path.len > 0 && path.p[0] == '?')
		return fail(err, errlen,
			    "redis URL: no query is understood after "
			    "redis://HOST (write the database as /DB)");
	if (path.len > 1)
		return parse_db((struct span){path.p + 1, path.len - 1}, u, err,
				errlen);
	return 0;
}

static int parse_unix(struct span s, struct redis_url *u, char *err,
		      size_t errlen)
{
	size_t n = strcspn(s.p, "/");
	struct span auth = {s.p, n};
	const char *q;

	u->kind = REDIS_URL_UNIX;
	if (n == s.len)
		return fail(err, errlen,
			    "redis URL: unix:// needs an absolute path "
			    "(unix:///run/redis.sock)");
	if (n > 0) {
		if (auth.p[n - 1] != '@')
			return fail(err, errlen,
				    "redis URL: unix:// takes no host "
				    "(unix:///PATH)");
		if (split_userinfo(&auth, u, err, errlen) < 0)
			return -1;
	}
	s.p += n;
	s.len -= n;
	q = memchr(s.p, '?', s.len);
	struct span path = {s.p, q ? (size_t)(q - s.p) : s.len};
	if (decode(path, u->path, sizeof(u->path), "socket path", err, errlen) <
	    0)
		return -1;
	if (strlen(u->path) < 2)
		return fail(err, errlen, "redis URL: the socket path is empty");
	if (q) {
		struct span query = {q + 1, s.len - path.len - 1};
		if (query.len < 3 || memcmp(query.p, "db=", 3) != 0)
			return fail(err, errlen,
				    "redis URL: the only query understood "
				    "after unix:///PATH is ?db=DB");
		return parse_db((struct span){query.p + 3, query.len - 3}, u,
				err, errlen);
	}
	return 0;
}

int redis_url_parse(const char *text, struct redis_url *u, char *err,
		    size_t errlen)
{
	static const char tcp[] = "redis://", unx[] = "unix://";
	size_t len = strnlen(text, REDIS_URL_MAX + 1);

	memset(u, 0, sizeof(*u));
	if (len > REDIS_URL_MAX)
		return fail(err, errlen, "redis URL: longer than %d octets",
			    REDIS_URL_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c <= 0x20 || c >= 0x7f)
			return fail(err, errlen,
				    "redis URL: white space, control or "
				    "non-ASCII octet at offset %zu (use "
				    "%%XX escapes)",
				    i);
	}
	if (memchr(text, '#', len))
		return fail(err, errlen,
			    "redis URL: '#' is not allowed "
			    "(escape it as %%23)");
	if (strncmp(text, "rediss://", 9) == 0)
		return fail(err, errlen,
			    "redis URL: rediss:// (TLS) is not supported; "
			    "use redis:// or unix://");
	if (strncmp(text, tcp, sizeof(tcp) - 1) == 0)
		return parse_tcp((struct span){text + sizeof(tcp) - 1,
					       len - (sizeof(tcp) - 1)},
				 u, err, errlen);
	if (strncmp(text, unx, sizeof(unx) - 1) == 0)
		return parse_unix((struct span){text + sizeof(unx) - 1,
						len - (sizeof(unx) - 1)},
				  u, err, errlen);
	return fail(err, errlen,
		    "redis URL: '%.*s' is neither "
		    "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] nor "
		    "unix:///PATH",
		    (int)(len > 64 ? 64 : len), text);
}

void redis_url_display(const struct redis_url *u, char *buf, size_t size)
{
	char db[24] = "";

	if (size == 0)
		return;
	if (u->kind == REDIS_URL_UNIX) {
		if (u->db)
			snprintf(db, sizeof(db), "?db=%u", u->db);
		snprintf(buf, size, "unix://%s%s", u->path, db);
		return;
	}
	if (u->db)
		snprintf(db, sizeof(db), "/%u", u->db);
	if (strchr(u->host, ':'))
		snprintf(buf, size, "redis://[%s]:%u%s", u->host, u->port, db);
	else
		snprintf(buf, size, "redis://%s:%u%s", u->host, u->port, db);
}
