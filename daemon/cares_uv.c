/* cares_uv - a c-ares channel driven by a libuv loop (see cares_uv.h).
 *
 * The polls are kept on a singly linked list: c-ares opens a socket or two
 * per server (UDP, TCP after a truncated answer), RESOLVER_SERVERS_MAX of
 * them at most, so a walk to find a descriptor costs nothing. The
 * adapter counts its open handles (the timer and the polls) and frees
 * itself from the close callback of the last one (libuv: memory is freed
 * only in the close callback). */
#include "daemon/cares_uv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p)-offsetof(type, member)))

struct cares_poll {
	uv_poll_t handle;
	struct cares_uv *g;
	ares_socket_t fd;
	struct cares_poll *next; /* g->polls while open */
};

struct cares_uv {
	uv_loop_t *loop;
	ares_channel channel;
	uv_timer_t timer; /* follows ares_timeout() */
	struct cares_poll *polls;
	unsigned handles; /* libuv handles not closed yet */
	bool closing;
	void (*closed_cb)(void *data);
	void *closed_data;
};

static void on_timer(uv_timer_t *t);

/* cares_uv_update - arm the timer for c-ares' next timeout, rounded up so
 * that it never fires before c-ares considers the time come. */
void cares_uv_update(struct cares_uv *g)
{
	struct timeval tv, *tvp;
	uint64_t ms;

	if (g->closing)
		return;
	tvp = ares_timeout(g->channel, NULL, &tv);
	if (tvp == NULL) {
		uv_timer_stop(&g->timer);
		return;
	}
	ms = (uint64_t)tvp->tv_sec * 1000 +
	     ((uint64_t)tvp->tv_usec + 999) / 1000;
	uv_timer_start(&g->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct cares_uv *g = t->data;

	ares_process_fd(g->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	cares_uv_update(g);
}

/* on_poll - a c-ares socket is ready; on a poll error let c-ares try
 * both directions so that it sees the error and closes the socket. */
static void on_poll(uv_poll_t *h, int status, int events)
{
	struct cares_poll *p = container_of(h, struct cares_poll, handle);
	struct cares_uv *g = p->g;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (status < 0 || (events & UV_READABLE))
		rfd = p->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = p->fd;
	ares_process_fd(g->channel, rfd, wfd); /* may close p */
	cares_uv_update(g);
}

/* handle_gone - one handle has closed: the last frees the adapter. */
static void handle_gone(struct cares_uv *g)
{
	void (*cb)(void *);
	void *data;

	if (--g->handles > 0 || !g->closing)
		return;
	cb = g->closed_cb;
	data = g->closed_data;
	ares_library_cleanup();
	free(g);
	if (cb != NULL)
		cb(data);
}

static void on_timer_closed(uv_handle_t *h)
{
	handle_gone(h->data);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct cares_poll *p = container_of(h, struct cares_poll, handle);
	struct cares_uv *g = p->g;

	free(p);
	handle_gone(g);
}

/* poll_close - unlink @p and close its handle; freed when closed. */
static void poll_close(struct cares_uv *g, struct cares_poll *p)
{
	struct cares_poll **pp = &g->polls;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

/* on_sock_state - c-ares opened, changed or closed a socket. c-ares calls
 * this before it closes the descriptor, so the poll stops first. A socket
 * we fail to watch leaves its queries to time out into an error. */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct cares_uv *g = data;
	struct cares_poll *p = g->polls;
	int events =
	    (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

	while (p != NULL && p->fd != fd)
		p = p->next;
	if (events == 0) {
		if (p != NULL)
			poll_close(g, p);
		return;
	}
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return;
		if (uv_poll_init_socket(g->loop, &p->handle, fd) != 0) {
			free(p);
			return;
		}
		p->g = g;
		p->fd = fd;
		p->handle.data = p;
		p->next = g->polls;
		g->polls = p;
		g->handles++;
	}
	uv_poll_start(&p->handle, events, on_poll);
}

int cares_uv_new(uv_loop_t *loop, struct ares_options *o, int optmask,
		 struct ares_addr_port_node *servers, struct cares_uv **out,
		 char *err, size_t errlen)
{
	struct cares_uv *g;
	int rc;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(err, errlen, "c-ares: out of memory");
		return UV_ENOMEM;
	}
	g->loop = loop;
	o->sock_state_cb = on_sock_state;
	o->sock_state_cb_data = g;
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc == ARES_SUCCESS) {
		rc = ares_init_options(&g->channel, o,
				       optmask | ARES_OPT_SOCK_STATE_CB);
		if (rc != ARES_SUCCESS)
			ares_library_cleanup();
	}
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(g);
		return rc == ARES_ENOMEM ? UV_ENOMEM : UV_EINVAL;
	}
	if (servers != NULL) {
		rc = ares_set_servers_ports(g->channel, servers);
		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "DNS servers: %s",
				 ares_strerror(rc));
			ares_destroy(g->channel);
			ares_library_cleanup();
			free(g);
			return rc == ARES_ENOMEM ? UV_ENOMEM : UV_EINVAL;
		}
	}
	/* Cannot fail on Unix; it comes last so that every error above
	 * frees synchronously. */
	uv_timer_init(loop, &g->timer);
	g->timer.data = g;
	g->handles = 1;
	*out = g;
	return 0;
}

ares_channel cares_uv_channel(const struct cares_uv *g)
{
	return g->channel;
}

void cares_uv_close(struct cares_uv *g, void (*closed_cb)(void *data),
		    void *data)
{
	if (g->closing)
		return;
	g->closing = true;
	g->closed_cb = closed_cb;
	g->closed_data = data;
	/* Runs the query callbacks (ARES_EDESTRUCTION) and on_sock_state
	 * (which closes the polls) for what is still open. */
	ares_destroy(g->channel);
	while (g->polls != NULL)
		poll_close(g, g->polls);
	uv_close((uv_handle_t *)&g->timer, on_timer_closed);
}
