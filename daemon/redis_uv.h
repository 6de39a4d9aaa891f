/* redis_uv - hiredis' async events on a libuv loop.
 *
 * This is hiredis 0.14.1's adapters/libuv.h with the fix hiredis 1.0
 * made to it. 0.14's poll callback returns at once on an error status,
 * and libuv reports POLLERR (a refused connect, a connection reset) as
 * UV_EBADF after stopping the handle: hiredis never learns of the error
 * and the context waits forever (a Redis that is down at start would
 * never be reported as down). Here an error runs the handlers of the
 * events that were asked for, so hiredis reads the socket's error and
 * fails the context the usual way. Also unlike 0.14, a failed
 * uv_poll_init() frees what was allocated.
 *
 * Ownership: the watcher belongs to the context; hiredis' cleanup hook
 * closes it and it frees itself in the close callback, whenever hiredis
 * frees the context. Loop: @loop's thread only. */
#ifndef RCPTD_DAEMON_REDIS_UV_H
#define RCPTD_DAEMON_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* redis_uv_attach - watch @ac's socket on @loop. Returns 0, or -1 (out
 * of memory, a bad socket) with @ac untouched: the caller frees it. */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
