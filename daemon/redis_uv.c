/* redis_uv - hiredis' async events on a libuv loop (see redis_uv.h). */
#include "daemon/redis_uv.h"

#include <hiredis/async.h>
#include <stdlib.h>

struct redis_uv {
	redisAsyncContext *ac; /* NULL once hiredis let go of it */
	uv_poll_t poll;
	int events;
};

static void watch_poll(uv_poll_t *h, int status, int events)
{
	struct redis_uv *p = h->data;
	int ev = status < 0 ? p->events : events;

	if (p->ac && (ev & UV_READABLE))
		redisAsyncHandleRead(p->ac);
	if (p->ac && (ev & UV_WRITABLE))
		redisAsyncHandleWrite(p->ac);
}

static void watch_update(struct redis_uv *p)
{
	if (p->events)
		uv_poll_start(&p->poll, p->events, watch_poll);
	else
		uv_poll_stop(&p->poll);
}

static void watch_add_read(void *data)
{
	struct redis_uv *p = data;
	p->events |= UV_READABLE;
	watch_update(p);
}

static void watch_del_read(void *data)
{
	struct redis_uv *p = data;
	p->events &= ~UV_READABLE;
	watch_update(p);
}

static void watch_add_write(void *data)
{
	struct redis_uv *p = data;
	p->events |= UV_WRITABLE;
	watch_update(p);
}

static void watch_del_write(void *data)
{
	struct redis_uv *p = data;
	p->events &= ~UV_WRITABLE;
	watch_update(p);
}

static void watch_closed(uv_handle_t *h)
{
	free(h->data);
}

static void watch_cleanup(void *data)
{
	struct redis_uv *p = data;
	p->ac = NULL;
	uv_close((uv_handle_t *)&p->poll, watch_closed);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	struct redis_uv *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	if (uv_poll_init(loop, &p->poll, ac->c.fd) < 0) {
		free(p);
		return -1;
	}
	p->ac = ac;
	p->poll.data = p;
	ac->ev.data = p;
	ac->ev.addRead = watch_add_read;
	ac->ev.delRead = watch_del_read;
	ac->ev.addWrite = watch_add_write;
	ac->ev.delWrite = watch_del_write;
	ac->ev.cleanup = watch_cleanup;
	return 0;
}
