/* cares_uv - a c-ares channel driven by a libuv loop (STYLE.md 13).
 *
 * ARES_OPT_SOCK_STATE_CB tells us of every socket c-ares opens, changes
 * or closes: each gets one uv_poll_t, whose events go to
 * ares_process_fd(). One uv_timer_t follows ares_timeout(), so that
 * retries and timeouts happen without traffic. The adapter decides
 * nothing: queries, answers and their meaning are the caller's, through
 * the channel and c-ares' own callbacks. (The prefix is cares_uv_, not
 * ares_: c-ares owns that namespace.)
 *
 * Use: cares_uv_new(), then ares_query(cares_uv_channel(g), ...) and
 * cares_uv_update(g) after it, as c-ares' next timeout may have changed.
 * Answers arrive in the query callbacks, from inside the loop's poll and
 * timer callbacks, or from inside ares_query() itself.
 *
 * Loop: everything runs on the loop given to cares_uv_new(), from its
 * thread. c-ares 1.18 keeps no socket open while no query is in flight
 * and the timer stops when c-ares has no timeout, so an idle channel
 * keeps no loop alive. cares_uv_new() and the end of cares_uv_close() call
 * ares_library_init()/ares_library_cleanup() (counted, not thread-safe):
 * with one loop per thread, start and stop them one at a time.
 * Errors: cares_uv_new() returns 0 or a negative libuv error code
 * (UV_ENOMEM, UV_EINVAL) with one line in @err. A socket the adapter
 * fails to watch leaves its queries to time out: c-ares reports them.
 * Ownership: the caller owns the adapter and ends it with
 * cares_uv_close(), which frees it; the channel is the adapter's. */
#ifndef RCPTD_DAEMON_CARES_UV_H
#define RCPTD_DAEMON_CARES_UV_H

#include <ares.h>
#include <stddef.h>
#include <uv.h>

struct cares_uv;

/* cares_uv_new - ares_library_init() and a channel on @loop made with
 * @o and @optmask plus ARES_OPT_SOCK_STATE_CB (the adapter's: @o's
 * sock_state_cb fields are overwritten), then asked to use @servers when
 * not NULL (otherwise c-ares' own, from /etc/resolv.conf). Returns 0 and
 * *@out, or a negative error with nothing left behind and one line in
 * @err ("c-ares: ..." or "DNS servers: ..."). */
int cares_uv_new(uv_loop_t *loop, struct ares_options *o, int optmask,
		 struct ares_addr_port_node *servers, struct cares_uv **out,
		 char *err, size_t errlen);

/* cares_uv_channel - the channel, for ares_query() and friends; valid
 * until cares_uv_close(). */
ares_channel cares_uv_channel(const struct cares_uv *g);

/* cares_uv_update - arm the timer for c-ares' next timeout; call it
 * after every call that may start a query. */
void cares_uv_update(struct cares_uv *g);

/* cares_uv_close - ares_destroy() the channel: c-ares runs every pending
 * query's callback with ARES_EDESTRUCTION from inside this call. Then
 * the polls and the timer close on later turns of the loop; once the
 * last has closed, ares_library_cleanup(), the adapter is freed and
 * @closed_cb runs (may be NULL). Call it once. */
void cares_uv_close(struct cares_uv *g, void (*closed_cb)(void *data),
		    void *data);

#endif
