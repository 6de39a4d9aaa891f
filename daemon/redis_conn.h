/* redis_conn - one asynchronous Redis connection that heals itself
 * (hiredis 0.14's async API on libuv, through a copy of hiredis'
 * adapters/libuv.h that carries hiredis 1.0's fix for socket errors: see
 * redis_conn.c).
 *
 * Redis is optional for rcptd, never a single point of failure: this
 * module keeps one connection to it when it can and says so when it
 * cannot, and whatever Redis does, nothing here blocks the loop, crashes
 * or waits without a deadline.
 *
 * Connecting: a host name is resolved with uv_getaddrinfo() (the thread
 * pool: hiredis' own getaddrinfo() would block the loop on a slow DNS),
 * an IP literal or unix:// socket is connected at once. Then AUTH (when
 * the URL has a password), SELECT (when it names a database other than 0)
 * and PING are pipelined; the connection is ready when PING answers PONG.
 * Connect plus this handshake must finish within connect_timeout_ms. An
 * error reply (wrong password, LOADING, a replica refusing SELECT) or
 * any failure closes the connection.
 * Reconnecting: after a failure or a loss the next attempt waits a
 * backoff that starts at backoff_min_ms, doubles per failed attempt up
 * to backoff_max_ms and returns to the minimum once a handshake succeeds.
 * One log line per change of state: "connected", "unavailable (reason)"
 * once until it is connected again; the attempts in between log at debug.
 *
 * Deadlines: hiredis has no command timeout, so every command gets one,
 * now + timeout_ms (uv_now), kept in a FIFO (replies come in order) that
 * one timer sweeps. A command past its deadline is answered
 * REDIS_CONN_TIMEOUT at once; its late reply, which hiredis still
 * delivers, is dropped. After REDIS_CONN_TIMEOUTS_DROP deadlines in a row
 * with no reply between them the server is taken as hung: the connection
 * is dropped and the backoff starts.
 *
 * Callbacks: redis_conn_command()'s callback runs exactly once, never from
 * inside redis_conn_command() nor redis_conn_close(), unless
 * redis_conn_cancel() comes first: with the reply (REDIS_CONN_OK; it may
 * be an error reply), on the deadline (REDIS_CONN_TIMEOUT), when the
 * connection is lost (REDIS_CONN_LOST) or closed (REDIS_CONN_CLOSED, on
 * a later turn, before the close callback). A failed call runs no
 * callback (libuv's rule).
 * Ownership: argv is copied by hiredis at the call. The reply is hiredis'
 * and valid only during the callback. A command handle is valid until its
 * callback has run or it was cancelled.
 * Signals: hiredis writes with write(2); a Redis that goes away mid-write
 * raises SIGPIPE, which the process must ignore (cli_serve.c does; so must
 * any other subcommand that uses --redis).
 * Loop: one libuv loop, its thread only. */
#ifndef RCPTD_DAEMON_REDIS_CONN_H
#define RCPTD_DAEMON_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/redis_url.h"

/* Deadlines missed in a row before the connection is taken as hung: one
 * can be a slow command or a fork for BGSAVE; three are a server that
 * stopped answering. */
#define REDIS_CONN_TIMEOUTS_DROP 3
/* Commands in flight at most: past this the caller hears "not now" (the
 * cache treats it as a miss), so a stalled server cannot make hiredis'
 * output buffer and our bookkeeping grow without bound. */
#define REDIS_CONN_PENDING_MAX 10000
/* Error text kept for logs and /readyz: a host name (253) and a reason. */
#define REDIS_CONN_ERROR_MAX 384

struct redis_conn_config {
	struct redis_url url;
	unsigned timeout_ms;	     /* per command; default 250 */
	unsigned connect_timeout_ms; /* connect + handshake; default 1000 */
	unsigned backoff_min_ms;     /* default 100 */
	unsigned backoff_max_ms;     /* default 5000 */
};

enum redis_conn_status {
	REDIS_CONN_OK = 0, /* a reply, possibly REDIS_REPLY_ERROR */
	REDIS_CONN_TIMEOUT,
	REDIS_CONN_LOST,
	REDIS_CONN_CLOSED
};

struct redis_conn_stats {
	uint64_t commands; /* sent */
	uint64_t replies;  /* answered in time */
	uint64_t timeouts; /* deadline passed */
	uint64_t lost;	   /* in flight when a connection was lost */
	uint64_t attempts; /* connection attempts */
	uint64_t connects; /* handshakes that succeeded */
	uint64_t drops;	   /* connections ended by us (hung, errors) */
	bool up;	   /* ready now */
	char last_error[REDIS_CONN_ERROR_MAX]; /* "" when none yet */
};

struct redis_conn;
struct redis_conn_cmd;

typedef void (*redis_conn_cb)(void *data, enum redis_conn_status status,
			      const redisReply *reply);

/* redis_conn_config_defaults - the timings above; url zeroed. */
void redis_conn_config_defaults(struct redis_conn_config *c);

/* redis_conn_new - start connecting (asynchronously) to @c->url. An
 * unreachable Redis is not an error: it is retried with backoff. Returns
 * 0 and *@out, or -1 (a timing of 0, out of memory) with one line in
 * @err. */
int redis_conn_new(uv_loop_t *loop, const struct redis_conn_config *c,
		   struct redis_conn **out, char *err, size_t errlen);

/* redis_conn_ready - connected and through the handshake. */
bool redis_conn_ready(const struct redis_conn *rc);

/* redis_conn_command - send one command (binary-safe argv). Returns 0
 * and, when @cmd is not NULL, a handle for redis_conn_cancel(); or -1,
 * with no callback, when not ready, closing, at REDIS_CONN_PENDING_MAX,
 * or out of memory. */
int redis_conn_command(struct redis_conn *rc, int argc, const char **argv,
		       const size_t *argvlen, redis_conn_cb cb, void *data,
		       struct redis_conn_cmd **cmd);

/* redis_conn_cancel - the callback of @cmd will not run. */
void redis_conn_cancel(struct redis_conn_cmd *cmd);

void redis_conn_get_stats(const struct redis_conn *rc,
			  struct redis_conn_stats *s);

/* redis_conn_close - drop the connection, stop retrying; the commands in
 * flight are answered REDIS_CONN_CLOSED, then @closed_cb (may be NULL)
 * runs and the object is freed, all on later turns of the loop. */
void redis_conn_close(struct redis_conn *rc, void (*closed_cb)(void *),
		      void *data);

#endif
