/* session - one SMTP connection to one MX address, driven by a dialog.
 *
 * The glue between libuv and core/dialog: it connects to exactly the IP it
 * is given (never a name: no DNS-rebinding window), feeds the dialog the
 * socket's events, writes what the dialog returns and keeps one timer at
 * the dialog's current wait (the connect timeout before that). It decides
 * nothing: every choice is the dialog's or the caller's.
 *
 * Callbacks: @result_cb runs for each recipient as it finishes (the
 * dialog_result is borrowed for the call). @done_cb runs once, after the
 * dialog finished and both handles closed; the dialog (failure,
 * transcript, extensions) can still be read then, and the callee must
 * call session_free() (inside the callback is fine: nothing of the
 * session is used after it returns). A session_start() that fails runs
 * neither callback.
 * Memory: the struct (handles included, ~0.5 KiB) plus the dialog;
 * socket reads go through one buffer per loop thread, consumed before the
 * read callback returns; each write copies only what the dialog produced.
 * Loop: all calls from the loop's thread. */
#ifndef RCPTD_DAEMON_SESSION_H
#define RCPTD_DAEMON_SESSION_H

#include <stdint.h>
#include <uv.h>

#include "core/dialog.h"

struct session;

struct session_target {
	int family; /* AF_INET or AF_INET6 */
	unsigned char octets[16];
	uint16_t port;
};

typedef void (*session_result_cb)(struct session *s,
				  const struct dialog_result *res, void *data);
typedef void (*session_done_cb)(struct session *s, void *data);

/* session_start - connect to @t and run a dialog configured by @cfg.
 * @rcpts recipients (with their tags) are queued before connecting.
 * Returns 0 and *@out, or a negative libuv error (no callback runs). */
int session_start(uv_loop_t *loop, const struct session_target *t,
		  const struct dialog_config *cfg, unsigned connect_timeout_ms,
		  const char *const *rcpts, void *const *tags, unsigned n,
		  session_result_cb result_cb, session_done_cb done_cb,
		  void *data, struct session **out);

/* session_add_txn - queue one more recipient, with its own sender as
 * dialog_add_txn() takes it (NULL: the config's), before the session
 * connects or while it is open. A recipient the dialog refuses at once (a
 * control octet, too long) gets its result_cb before this returns.
 * Returns 0 or a negative enum dialog_err (DIALOG_ERR_CLOSED once the
 * session is ending). */
int session_add_txn(struct session *s, const char *sender, const char *rcpt,
		    void *tag);

/* session_abort - end the session now, as if the peer had closed: the
 * unfinished recipients end NOT_ATTEMPTED or UNANSWERED, then done_cb. */
void session_abort(struct session *s);

/* session_dialog - the session's dialog, borrowed until session_free(). */
const struct dialog *session_dialog(const struct session *s);

/* session_free - after done_cb only. NULL is a no-op. */
void session_free(struct session *s);

#endif
