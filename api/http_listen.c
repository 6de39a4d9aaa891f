/* http_listen - the listening sockets of the HTTP API (see http.h):
 * bound before privileges are dropped, one per loop with SO_REUSEPORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/http.h"

/* The listen backlog: the kernel caps it at net.core.somaxconn. */
#define HTTP_BACKLOG 4096

/* parse_listen - "IP:PORT" or "[IPv6]:PORT" into @ss. */
static int parse_listen(const char *addr, struct sockaddr_storage *ss,
			socklen_t *sslen, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	char *end;
	unsigned long p;
	size_t hlen;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - addr - 1);
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, hlen);
		port = close + 2;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			goto bad;
		hlen = (size_t)(colon - addr);
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, addr, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end || errno || p > 65535)
		goto bad;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		*sslen = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*in6);
		return 0;
	}
bad:
	snprintf(err, errlen,
		 "--listen: '%s' is not IP:PORT or [IPv6]:PORT (e.g. "
		 "127.0.0.1:8025)",
		 addr);
	return -1;
}

unsigned http_listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int http_listen(const char *addr, unsigned count, int *fds, char *err,
		size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned i;

	if (parse_listen(addr, &ss, &sslen, err, errlen) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		int one = 1;
		int fd = socket(ss.ss_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		fds[i] = fd;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (count > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
					    sizeof(one)) < 0) {
			close(fd);
			goto fail;
		}
		if (ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				   sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 ||
		    listen(fd, HTTP_BACKLOG) < 0) {
			close(fd);
			goto fail;
		}
		/* Port 0: the first socket chose; the others join it. */
		if (i == 0 && count > 1) {
			unsigned port = http_listen_port(fd);
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port =
				    htons((uint16_t)port);
			else
				((struct sockaddr_in6 *)&ss)->sin6_port =
				    htons((uint16_t)port);
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "--listen %s: %s", addr, strerror(errno));
	while (i-- > 0)
		close(fds[i]);
	return -1;
}
