/* mhd_ref - the plain-libmicrohttpd reference of the HTTP benchmark.
 *
 * Answers every request with the same bytes (a file read once at start,
 * its Content-Type given on the command line, plus "Cache-Control:
 * no-store" as rcptd sends), doing nothing else: the ceiling of
 * libmicrohttpd on this machine, against which rcptd serve is compared
 * (tests/bench/http/run, BENCHMARKS.md).
 *
 * Usage: mhd_ref PORT MODE THREADS BODYFILE CONTENT-TYPE
 * Listens on 127.0.0.1:PORT only. MODE is one of MHD's arrangements:
 *   epoll     internal polling thread, epoll (THREADS 1), or a pool of
 *             THREADS such threads (MHD_OPTION_THREAD_POOL_SIZE)
 *   poll      the same with poll(2)
 *   tpc       a thread per connection (poll(2) for accept; THREADS 1:
 *             MHD has no pool of those)
 *   external  rcptd's arrangement: MHD_USE_EPOLL without an internal
 *             thread, MHD's epoll descriptor waited on by our own loop
 *             with MHD_get_timeout(), then MHD_run(); THREADS such loops,
 *             each with its own daemon on its own SO_REUSEPORT socket
 * and the same with "-turbo" appended (MHD_USE_TURBO: read, write and
 * accept before asking the event loop).
 *
 * Keep-alive: the handler queues its answer on the second call for a
 * request, never the first (MHD 0.9.75 closes the connection after an
 * answer queued on the first call; see api/http.c).
 * Runs until SIGTERM or SIGINT (sigwait in main; every thread blocks
 * them). Errors: a message on stderr, exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The answer is one verdict (~300 octets); anything past 1 MiB is not
 * what the bench meant to serve. */
#define REF_BODY_MAX (1024 * 1024)
/* rcptd serve's own limit (--max-connections): the sweep reaches 1024,
 * and MHD's default (FD_SETSIZE - 4) would refuse the last few. */
#define REF_CONN_LIMIT 4096
/* Per-connection memory of MHD (request line, headers, buffers): the
 * value of api/http.c HTTP_CONN_MEMORY, so that both pay the same for it
 * (MHD clears the pool for every request: its size is a per-request
 * cost, and with 1024 connections a cache footprint). Keep in step. */
#define REF_CONN_MEMORY (8 * 1024)
/* One loop per core is the point; more is a configuration mistake. */
#define REF_THREADS_MAX 64

static struct MHD_Response *ref_resp;
/* Set once by main after sigwait(); read by the external loops, which
 * look at it at least once a second. */
static volatile sig_atomic_t ref_stop;

/* A marker for the first call of a request: its address is never a
 * real request context. */
static int ref_first_call;

/* ref_handler - the access handler: note the request on the first call,
 * answer on the second (keep-alive, see the top of this file). */
static enum MHD_Result ref_handler(void *cls, struct MHD_Connection *c,
				   const char *url, const char *method,
				   const char *version, const char *data,
				   size_t *data_size, void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (*con_cls == NULL) {
		*con_cls = &ref_first_call;
		return MHD_YES;
	}
	if (*data_size != 0) { /* a body is read and ignored */
		*data_size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(c, MHD_HTTP_OK, ref_resp);
}

/* ref_listen - a non-blocking loopback socket with SO_REUSEPORT, one
 * per external loop (as api/http_listen.c does). */
static int ref_listen(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ref_external_loop - rcptd's arrangement without libuv: wait on MHD's
 * epoll descriptor for at most MHD's timeout, then let MHD run. */
static void *ref_external_loop(void *arg)
{
	struct MHD_Daemon *d = arg;
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd p;

	if (info == NULL) {
		fprintf(stderr, "mhd_ref: no epoll descriptor\n");
		exit(1);
	}
	p.fd = info->epoll_fd;
	p.events = POLLIN;
	while (!ref_stop) {
		MHD_UNSIGNED_LONG_LONG ms;
		int timeout = 1000; /* to notice ref_stop */

		if (MHD_get_timeout(d, &ms) == MHD_YES && ms < 1000)
			timeout = (int)ms;
		if (poll(&p, 1, timeout) < 0 && errno != EINTR)
			break;
		MHD_run(d);
	}
	return NULL;
}

static int read_body(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *b;

	if (f == NULL || fstat(fileno(f), &st) < 0 || st.st_size <= 0 ||
	    st.st_size > REF_BODY_MAX) {
		if (f)
			fclose(f);
		return -1;
	}
	b = malloc((size_t)st.st_size);
	if (b == NULL ||
	    fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	*out = b;
	*len = (size_t)st.st_size;
	return 0;
}

static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

/* start - a daemon on the listening socket @fd; a pool of @threads when
 * there is more than one. */
static struct MHD_Daemon *start(unsigned flags, unsigned threads, int fd)
{
	if (threads > 1)
		return MHD_start_daemon(
		    flags, 0, NULL, NULL, ref_handler, NULL,
		    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
		    threads, MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)REF_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		    30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)REF_CONN_MEMORY, MHD_OPTION_END);
	return MHD_start_daemon(
	    flags, 0, NULL, NULL, ref_handler, NULL, MHD_OPTION_LISTEN_SOCKET,
	    fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)REF_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REF_CONN_MEMORY,
	    MHD_OPTION_END);
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d[REF_THREADS_MAX];
	pthread_t tid[REF_THREADS_MAX];
	char mode[32];
	char *body, *dash;
	size_t len;
	long port, threads;
	unsigned flags = 0;
	bool external = false;
	sigset_t stop;
	unsigned nd;
	int sig;

	if (argc != 6) {
		fprintf(stderr, "usage: mhd_ref PORT epoll|poll|tpc|external"
				"[-turbo] THREADS BODYFILE CONTENT-TYPE\n");
		return 1;
	}
	port = parse_num(argv[1], 1, 65535);
	threads = parse_num(argv[3], 1, REF_THREADS_MAX);
	if (port < 0 || threads < 0 || strlen(argv[2]) >= sizeof(mode)) {
		fprintf(stderr, "mhd_ref: bad port, mode or thread count\n");
		return 1;
	}
	memcpy(mode, argv[2], strlen(argv[2]) + 1);
	dash = strchr(mode, '-');
	if (dash != NULL) {
		if (strcmp(dash, "-turbo") != 0) {
			fprintf(stderr, "mhd_ref: unknown mode %s\n", argv[2]);
			return 1;
		}
		*dash = '\0';
		flags |= MHD_USE_TURBO;
	}
	if (strcmp(mode, "epoll") == 0)
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
	else if (strcmp(mode, "poll") == 0)
		flags |= MHD_USE_POLL_INTERNAL_THREAD;
	else if (strcmp(mode, "tpc") == 0 && threads == 1)
		flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			 MHD_USE_INTERNAL_POLLING_THREAD;
	else if (strcmp(mode, "external") == 0) {
		flags |= MHD_USE_EPOLL;
		external = true;
	} else {
		fprintf(stderr,
			"mhd_ref: unknown mode %s (or tpc with "
			"THREADS > 1)\n",
			argv[2]);
		return 1;
	}
	if (read_body(argv[4], &body, &len) < 0) {
		fprintf(stderr, "mhd_ref: cannot read %s (1..%d octets)\n",
			argv[4], REF_BODY_MAX);
		return 1;
	}
	ref_resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (ref_resp == NULL ||
	    MHD_add_response_header(ref_resp, "Content-Type", argv[5]) !=
		MHD_YES ||
	    MHD_add_response_header(ref_resp, "Cache-Control", "no-store") !=
		MHD_YES) {
		fprintf(stderr, "mhd_ref: cannot make the response\n");
		return 1;
	}
	/* Every thread blocks the stop signals; main waits for them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	nd = external ? (unsigned)threads : 1;
	for (unsigned i = 0; i < nd; i++) {
		/* Given a socket, MHD listens where we say: loopback. */
		int fd = ref_listen((unsigned)port);
		d[i] = fd < 0
			   ? NULL
			   : start(flags, external ? 1 : (unsigned)threads, fd);
		if (d[i] == NULL) {
			fprintf(stderr, "mhd_ref: cannot start %s on %ld\n",
				argv[2], port);
			return 1;
		}
		if (external && pthread_create(&tid[i], NULL, ref_external_loop,
					       d[i]) != 0) {
			fprintf(stderr, "mhd_ref: cannot start a thread\n");
			return 1;
		}
	}
	sigwait(&stop, &sig);
	ref_stop = 1;
	for (unsigned i = 0; i < nd; i++) {
		if (external)
			pthread_join(tid[i], NULL);
		MHD_stop_daemon(d[i]);
	}
	MHD_destroy_response(ref_resp);
	return 0;
}
