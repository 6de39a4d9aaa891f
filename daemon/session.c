/* session - one SMTP connection driven by a dialog (see session.h). */
#include "daemon/session.h"

#include <stdlib.h>
#include <string.h>

/* Reads are consumed by the dialog before the read callback returns, so
 * one buffer per loop thread serves every session: no per-connection
 * read memory. 16 KiB takes a whole ordinary reply in one read. */
#define SESSION_READ_MAX (16 * 1024)
static _Thread_local char read_buf[SESSION_READ_MAX];

struct session {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect;
	uv_shutdown_t shutdown;
	struct dialog *dialog;
	session_result_cb result_cb;
	session_done_cb done_cb;
	void *data;
	int open_handles; /* closed in the close callbacks */
	unsigned connecting : 1;
	unsigned connected : 1;
	unsigned ending : 1; /* dialog DONE: shutting down and closing */
};

struct session_write {
	uv_write_t req;
	size_t len;
	char buf[]; /* owned until the write callback */
};

static void step(struct session *s, enum dialog_rc rc);

static void on_timer(uv_timer_t *t)
{
	struct session *s = t->data;
	step(s, dialog_on_timeout(s->dialog));
}

/* arm - one timer for every wait: @ms 0 means none. */
static void arm(struct session *s, unsigned ms)
{
	if (ms)
		uv_timer_start(&s->timer, on_timer, ms, 0);
	else
		uv_timer_stop(&s->timer);
}

static void on_close(uv_handle_t *h)
{
	struct session *s = h->data;

	if (--s->open_handles == 0)
		s->done_cb(s, s->data);
}

static void close_all(struct session *s)
{
	uv_close((uv_handle_t *)&s->timer, on_close);
	uv_close((uv_handle_t *)&s->tcp, on_close);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status; /* closing either way */
	close_all(req->data);
}

/* end - the dialog is done: let queued writes (QUIT) drain, then close. */
static void end(struct session *s)
{
	if (s->ending)
		return;
	s->ending = 1;
	uv_timer_stop(&s->timer);
	if (s->connected) {
		uv_read_stop((uv_stream_t *)&s->tcp);
		s->shutdown.data = s;
		if (uv_shutdown(&s->shutdown, (uv_stream_t *)&s->tcp,
				on_shutdown) == 0)
			return;
	}
	close_all(s);
}

static void on_write(uv_write_t *req, int status)
{
	struct session_write *w = (struct session_write *)req;
	struct session *s = req->data;

	free(w);
	/* A failed write (peer gone) shows up as a read error or EOF too;
	 * tell the dialog now in case the read side stays quiet. */
	if (status < 0 && status != UV_ECANCELED && !s->ending)
		step(s, dialog_on_closed(s->dialog));
}

/* flush - copy the dialog's output into a write request. */
static int flush(struct session *s)
{
	const char *out;
	size_t n = dialog_output(s->dialog, &out);
	struct session_write *w;
	uv_buf_t b;

	if (n == 0)
		return 0;
	if (!s->connected) { /* nothing can be sent: drop it */
		dialog_output_consumed(s->dialog, n);
		return 0;
	}
	w = malloc(sizeof(*w) + n);
	if (w == NULL)
		return UV_ENOMEM;
	memcpy(w->buf, out, n);
	w->len = n;
	w->req.data = s;
	dialog_output_consumed(s->dialog, n);
	b = uv_buf_init(w->buf, (unsigned)n);
	int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);
	if (rc < 0)
		free(w);
	return rc;
}

/* step - carry out what the dialog asked for after an event. */
static void step(struct session *s, enum dialog_rc rc)
{
	struct dialog_result res;

	if (s->ending)
		return;
	if (flush(s) < 0 && rc != DIALOG_RC_DONE) {
		rc = dialog_on_closed(s->dialog);
		flush(s);
	}
	while (dialog_next_result(s->dialog, &res))
		s->result_cb(s, &res, s->data);
	if (rc == DIALOG_RC_DONE || dialog_finished(s->dialog)) {
		end(s);
		return;
	}
	if (rc == DIALOG_RC_REARM)
		arm(s, dialog_timeout_ms(s->dialog));
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	*buf = uv_buf_init(read_buf, sizeof(read_buf));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct session *s = st->data;

	if (s->ending)
		return;
	if (nread > 0)
		step(s, dialog_on_bytes(s->dialog, buf->base, (size_t)nread));
	else if (nread < 0)
		step(s, dialog_on_closed(s->dialog));
}

static void on_connect(uv_connect_t *req, int status)
{
	struct session *s = req->data;

	s->connecting = 0;
	if (s->ending)
		return;
	if (status < 0) {
		step(s, dialog_on_connect_failed(s->dialog));
		return;
	}
	s->connected = 1;
	uv_timer_stop(&s->timer);
	if (uv_read_start((uv_stream_t *)&s->tcp, alloc_cb, on_read) < 0) {
		step(s, dialog_on_closed(s->dialog));
		return;
	}
	step(s, dialog_on_connected(s->dialog));
}

static void free_quietly(struct session *s, void *data)
{
	(void)data;
	session_free(s);
}

int session_start(uv_loop_t *loop, const struct session_target *t,
		  const struct dialog_config *cfg, unsigned connect_timeout_ms,
		  const char *const *rcpts, void *const *tags, unsigned n,
		  session_result_cb result_cb, session_done_cb done_cb,
		  void *data, struct session **out)
{
	struct sockaddr_storage ss;
	struct session *s;
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (t->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(t->port);
		memcpy(&sin->sin_addr, t->octets, 4);
	} else if (t->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(t->port);
		memcpy(&sin6->sin6_addr, t->octets, 16);
	} else
		return UV_EAFNOSUPPORT;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return UV_ENOMEM;
	s->dialog = dialog_new(cfg);
	if (s->dialog == NULL) {
		free(s);
		return UV_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		if (dialog_add_rcpt(s->dialog, rcpts[i], tags[i]) < 0) {
			dialog_free(s->dialog);
			free(s);
			return UV_ENOMEM;
		}
	s->result_cb = result_cb;
	s->done_cb = done_cb;
	s->data = data;
	uv_tcp_init(loop, &s->tcp);
	uv_timer_init(loop, &s->timer);
	s->tcp.data = s->timer.data = s->connect.data = s;
	s->open_handles = 2;
	rc = uv_tcp_connect(&s->connect, &s->tcp, (struct sockaddr *)&ss,
			    on_connect);
	if (rc < 0) {
		/* No callback may run: close quietly and free afterwards. */
		s->done_cb = free_quietly;
		s->data = NULL;
		s->ending = 1;
		close_all(s);
		return rc;
	}
	s->connecting = 1;
	arm(s, connect_timeout_ms);
	*out = s;
	return 0;
}

int session_add_txn(struct session *s, const char *sender, const char *rcpt,
		    void *tag)
{
	int rc;

	if (s->ending)
		return DIALOG_ERR_CLOSED;
	rc = dialog_add_txn(s->dialog, sender, rcpt, tag);
	if (rc < 0)
		return rc;
	step(s, (enum dialog_rc)rc); /* an idle dialog may have started */
	return 0;
}

void session_abort(struct session *s)
{
	if (s->ending)
		return;
	step(s, dialog_on_closed(s->dialog));
}

const struct dialog *session_dialog(const struct session *s)
{
	return s->dialog;
}

void session_free(struct session *s)
{
	if (s == NULL)
		return;
	dialog_free(s->dialog);
	free(s);
}
