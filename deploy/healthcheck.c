/* healthcheck - `rcptd-healthcheck [PATH]`: is the rcptd in this
 * container answering? For Docker's HEALTHCHECK and Kubernetes' exec
 * probes, in an image that has no shell, curl or wget.
 *
 * It sends "GET PATH HTTP/1.0" (PATH /healthz by default; /readyz for a
 * readiness probe) to the address rcptd listens on, taken from the same
 * RCPTD_LISTEN variable rcptd reads (default 127.0.0.1:8025; a wildcard
 * address 0.0.0.0 or [::] is reached through loopback), and exits 0 when
 * the status line says 200, 1 otherwise, printing one line either way
 * (Docker keeps it in `docker inspect`). Kubernetes runs exec probes
 * inside the pod's network namespace, so this also reaches a sidecar
 * that listens on 127.0.0.1 only, which an httpGet probe (sent to the pod
 * IP) cannot.
 *
 * Bounds: the whole exchange within HC_TIMEOUT_MS; the status line read
 * is at most HC_LINE_MAX octets. Built static (glibc without NSS: only
 * numeric addresses are used), so it needs nothing in the image. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Docker's default probe timeout is 30 s and ours 3 s; a loop that does
 * not answer /healthz within 2 s is not healthy. */
#define HC_TIMEOUT_MS 2000
/* "HTTP/1.1 200 OK" and then some: only the status line is read. */
#define HC_LINE_MAX 256
/* RCPTD_LISTEN is "IP:PORT" or "[IPv6]:PORT" (config.c caps it at 300). */
#define HC_ADDR_MAX 300
/* A path of our own routes, or a short one of the operator's. */
#define HC_PATH_MAX 512

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* parse_listen - RCPTD_LISTEN into a socket address; a wildcard becomes
 * the loopback address of its family. Returns 0 or -1. */
static int parse_listen(const char *text, struct sockaddr_storage *ss,
			socklen_t *len)
{
	char host[HC_ADDR_MAX + 1];
	const char *colon = strrchr(text, ':');
	const char *h = text;
	size_t hlen;
	unsigned long port;
	char *end;

	if (colon == NULL || strlen(text) > HC_ADDR_MAX)
		return -1;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 2 || text[hlen - 1] != ']')
			return -1;
		h = text + 1;
		hlen -= 2;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || port == 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (text[0] != '[') {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			s6->sin6_addr = in6addr_loopback;
		*len = sizeof(*s6);
	}
	return 0;
}

/* wait_fd - poll @fd for @events until @deadline; 0 ready, -1 not. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	long long left;
	int rc;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc == 1 ? 0 : -1;
}

/* check - one request; returns 0 when the answer's status is 200. The
 * verdict, in a few words, goes to @why. */
static int check(const struct sockaddr_storage *ss, socklen_t sslen,
		 const char *path, char *why, size_t wlen)
{
	long long deadline = now_ms() + HC_TIMEOUT_MS;
	char req[HC_PATH_MAX + 64], line[HC_LINE_MAX + 1];
	size_t got = 0, sent = 0, reqlen;
	int fd, err = 0, status;
	socklen_t elen = sizeof(err);
	ssize_t n;

	reqlen = (size_t)snprintf(req, sizeof(req),
				  "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n",
				  path);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		snprintf(why, wlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, sslen) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(why, wlen, "connect: %s", strerror(errno));
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, deadline) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		snprintf(why, wlen, "connect: %s",
			 err ? strerror(err) : "timed out");
		goto fail;
	}
	while (sent < reqlen) {
		n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN &&
		    wait_fd(fd, POLLOUT, deadline) == 0)
			continue;
		if (n <= 0) {
			snprintf(why, wlen, "send: %s",
				 n < 0 ? strerror(errno) : "closed");
			goto fail;
		}
		sent += (size_t)n;
	}
	while (got < HC_LINE_MAX && memchr(line, '\n', got) == NULL) {
		if (wait_fd(fd, POLLIN, deadline) < 0) {
			snprintf(why, wlen, "no answer within %d ms",
				 HC_TIMEOUT_MS);
			goto fail;
		}
		n = recv(fd, line + got, HC_LINE_MAX - got, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	line[got] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (sscanf(line, "HTTP/1.%*1[01] %3d", &status) != 1) {
		snprintf(why, wlen, "not an HTTP answer: '%.60s'", line);
		return -1;
	}
	snprintf(why, wlen, "%s", line);
	return status == 200 ? 0 : -1;
fail:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	const char *listen = getenv("RCPTD_LISTEN");
	const char *path = argc > 1 ? argv[1] : "/healthz";
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char why[HC_LINE_MAX + 64];

	if (listen == NULL || *listen == '\0')
		listen = "127.0.0.1:8025";
	if (argc > 2 || path[0] != '/' || strlen(path) > HC_PATH_MAX ||
	    strpbrk(path, " \r\n") != NULL) {
		fprintf(stderr, "usage: rcptd-healthcheck [/PATH]\n");
		return 2;
	}
	if (parse_listen(listen, &ss, &sslen) < 0) {
		printf("unhealthy: RCPTD_LISTEN '%s' is not IP:PORT or "
		       "[IPv6]:PORT\n",
		       listen);
		return 1;
	}
	if (check(&ss, sslen, path, why, sizeof(why)) < 0) {
		printf("unhealthy: %s %s: %s\n", listen, path, why);
		return 1;
	}
	printf("healthy: %s %s: %s\n", listen, path, why);
	return 0;
}
