/* redis_conn - a self-healing async Redis connection (see redis_conn.h).
 *
 * hiredis 0.14 facts this file is built on (async.c):
 *  - every command's callback runs exactly once: with the reply, or with
 *    a NULL reply while the context is being freed, whether we freed it
 *    or hiredis did after a read/write error or EOF;
 *  - a connect that fails calls the connect callback with REDIS_ERR and
 *    then frees the context itself; the disconnect callback runs only for
 *    a context that had connected;
 *  - redisAsyncFree() inside a reply callback is deferred until that
 *    callback returns (REDIS_IN_CALLBACK), but inside the connect and
 *    disconnect callbacks it is not: we never free from those two;
 *  - redisAsyncDisconnect() waits for the replies still due, forever if
 *    the server hangs, so dropping a connection uses redisAsyncFree();
 *  - its adapters/libuv.h loses socket errors: daemon/redis_uv.c is the
 *    adapter we use instead.
 * By the first point a command structure has two holders: hiredis (until
 * its callback) and the caller (until its callback or a cancel); it is
 * freed when neither holds it, so a late reply never touches freed
 * memory. */
#include "daemon/redis_conn.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/redis_uv.h"

/* "redis://[IPv6]:65535/1000000" and unix paths fit. */
#define DISPLAY_MAX (REDIS_URL_HOST_MAX + REDIS_URL_PATH_MAX + 32)

enum conn_state {
	CONN_DOWN = 0,	 /* waiting for the backoff timer */
	CONN_CONNECTING, /* resolving, connecting or in the handshake */
	CONN_READY
};

enum cmd_list { CMD_UNLISTED = 0, CMD_FIFO, CMD_CLOSING };

struct redis_conn_cmd {
	struct redis_conn_cmd *prev, *next;
	struct redis_conn *rc;
	redis_conn_cb cb; /* NULL: nobody waits any more */
	void *data;
	uint64_t deadline; /* uv_now() milliseconds */
	uint64_t gen;	   /* the connection it was sent on */
	enum cmd_list list;
	bool in_hiredis;  /* hiredis holds it as privdata */
	bool delivering;  /* inside its callback: not freed under our feet */
	const char *step; /* handshake commands: "AUTH", "SELECT", "PING" */
};

struct cmd_list_head {
	struct redis_conn_cmd *head, *tail;
};

struct redis_conn {
	uv_loop_t *loop;
	struct redis_conn_config c;
	char display[DISPLAY_MAX];

	redisAsyncContext *ac; /* NULL while down or resolving */
	uint64_t gen;	       /* bumped whenever ac is given up */
	enum conn_state state;
	bool resolving; /* rc->gai is in the thread pool */
	uv_getaddrinfo_t gai;

	struct cmd_list_head fifo;	  /* waiting for a reply, by deadline */
	struct cmd_list_head closed_cmds; /* answered CLOSED at the end */
	size_t live;			  /* command structures allocated */
	unsigned timeouts_in_row;

	uv_timer_t deadline; /* the FIFO head's deadline */
	uint64_t armed_for;  /* when it is due (uv_now ms) */
	uv_timer_t retry;    /* the backoff */
	unsigned backoff_ms;
	bool down_logged; /* "unavailable" said since the last "connected" */

	bool closing;
	unsigned handles_open;
	void (*closed_cb)(void *);
	void *closed_data;

	struct redis_conn_stats stats;
};

void redis_conn_config_defaults(struct redis_conn_config *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 250;
	c->connect_timeout_ms = 1000;
	c->backoff_min_ms = 100;
	c->backoff_max_ms = 5000;
}

/* ---- command lists -------------------------------------------------- */

static void list_push(struct cmd_list_head *l, struct redis_conn_cmd *cmd)
{
	cmd->next = NULL;
	cmd->prev = l->tail;
	if (l->tail)
		l->tail->next = cmd;
	else
		l->head = cmd;
	l->tail = cmd;
}

static void cmd_unlink(struct redis_conn_cmd *cmd)
{
	struct cmd_list_head *l;

	if (cmd->list == CMD_UNLISTED)
		return;
	l = cmd->list == CMD_FIFO ? &cmd->rc->fifo : &cmd->rc->closed_cmds;
	if (cmd->prev)
		cmd->prev->next = cmd->next;
	else
		l->head = cmd->next;
	if (cmd->next)
		cmd->next->prev = cmd->prev;
	else
		l->tail = cmd->prev;
	cmd->prev = cmd->next = NULL;
	cmd->list = CMD_UNLISTED;
}

/* cmd_release - free @cmd once neither hiredis nor a caller holds it. */
static void cmd_release(struct redis_conn_cmd *cmd)
{
	if (cmd->in_hiredis || cmd->cb || cmd->delivering ||
	    cmd->list != CMD_UNLISTED)
		return;
	cmd->rc->live--;
	free(cmd);
}

/* deliver - run @cmd's callback once (if someone still waits). */
static void deliver(struct redis_conn_cmd *cmd, enum redis_conn_status st,
		    const redisReply *reply)
{
	redis_conn_cb cb = cmd->cb;

	cmd_unlink(cmd);
	cmd->cb = NULL;
	if (cb) {
		cmd->delivering = true;
		cb(cmd->data, st, reply);
		cmd->delivering = false;
	}
	cmd_release(cmd);
}

/* ---- state changes and logging -------------------------------------- */

static void start_connect(struct redis_conn *rc);

static void on_retry(uv_timer_t *t)
{
	struct redis_conn *rc = t->data;

	if (!rc->closing && rc->state == CONN_DOWN)
		start_connect(rc);
}

/* went_down - the connection (or the attempt) is gone, for @reason: log
 * once per change of state and arm the backoff. */
static void went_down(struct redis_conn *rc, const char *reason)
{
	bool was_ready = rc->state == CONN_READY;

	rc->state = CONN_DOWN;
	rc->gen++;
	rc->timeouts_in_row = 0;
	snprintf(rc->stats.last_error, sizeof(rc->stats.last_error), "%s",
		 reason);
	if (rc->closing)
		return;
	if (was_ready)
		log_warn("redis: lost %s: %s; answering from the in-process "
			 "cache and reconnecting",
			 rc->display, reason);
	else if (!rc->down_logged)
		log_warn("redis: %s unavailable: %s; retrying every %u..%u ms",
			 rc->display, reason, rc->c.backoff_min_ms,
			 rc->c.backoff_max_ms);
	else
		log_debug("redis: %s still unavailable: %s", rc->display,
			  reason);
	rc->down_logged = true;
	uv_timer_start(&rc->retry, on_retry, rc->backoff_ms, 0);
	rc->backoff_ms = rc->backoff_ms > rc->c.backoff_max_ms / 2
			     ? rc->c.backoff_max_ms
			     : rc->backoff_ms * 2;
}

static void went_ready(struct redis_conn *rc)
{
	rc->state = CONN_READY;
	rc->backoff_ms = rc->c.backoff_min_ms;
	rc->timeouts_in_row = 0;
	rc->down_logged = false;
	rc->stats.connects++;
	log_info("redis: connected to %s", rc->display);
}

/* drop - give up the current connection on our initiative. Never called
 * from hiredis' connect or disconnect callbacks (see the top). The
 * commands in flight on it are answered REDIS_CONN_LOST from inside. */
static void drop(struct redis_conn *rc, const char *reason)
{
	redisAsyncContext *ac = rc->ac;

	rc->ac = NULL;
	rc->stats.drops++;
	went_down(rc, reason);
	if (ac)
		redisAsyncFree(ac);
}

/* lost - hiredis is freeing the current context (error, EOF, failed
 * connect): forget it, do not free it. */
static void lost(struct redis_conn *rc, const redisAsyncContext *ac)
{
	char reason[REDIS_CONN_ERROR_MAX];

	snprintf(reason, sizeof(reason), "%s",
		 ac && ac->errstr && ac->errstr[0]
		     ? ac->errstr
		     : "connection closed by the server");
	rc->ac = NULL;
	went_down(rc, reason);
}

/* ---- commands --------------------------------------------------------- */

static void on_deadline(uv_timer_t *t);

/* arm_deadline - the timer at the FIFO head's deadline. Lazy: a head that
 * got its reply leaves the timer set; it fires, finds nothing due and
 * re-arms for the new head (one wake-up per timeout at most). */
static void arm_deadline(struct redis_conn *rc)
{
	struct redis_conn_cmd *head = rc->fifo.head;
	uint64_t now = uv_now(rc->loop);

	if (rc->closing)
		return;
	if (head == NULL) {
		uv_timer_stop(&rc->deadline);
		return;
	}
	rc->armed_for = head->deadline;
	uv_timer_start(&rc->deadline, on_deadline,
		       head->deadline > now ? head->deadline - now : 0, 0);
}

/* on_hiredis - hiredis' callback for every command we send. */
static void on_hiredis(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_conn_cmd *cmd = privdata;
	struct redis_conn *rc = cmd->rc;
	const redisReply *reply = r;

	cmd->in_hiredis = false;
	if (reply == NULL) {
		/* The context is being freed. When that is hiredis' doing
		 * on the current connection, it is lost. */
		if (cmd->gen == rc->gen && rc->ac == ac && !rc->closing)
			lost(rc, ac);
		if (cmd->cb && cmd->list == CMD_FIFO) {
			rc->stats.lost++;
			deliver(cmd, REDIS_CONN_LOST, NULL); /* releases */
			return;
		}
	} else {
		/* Any reply, even a late one, shows the server alive: a
		 * merely slow server gives misses, not a reconnect storm. */
		rc->timeouts_in_row = 0;
		if (cmd->cb && cmd->list == CMD_FIFO) {
			rc->stats.replies++;
			deliver(cmd, REDIS_CONN_OK, reply); /* releases */
			return;
		}
	}
	cmd_release(cmd); /* late, cancelled, or kept for the close */
}

/* send_cmd - send on the current context with a deadline @wait_ms away. */
static int send_cmd(struct redis_conn *rc, int argc, const char **argv,
		    const size_t *argvlen, redis_conn_cb cb, void *data,
		    unsigned wait_ms, struct redis_conn_cmd **out)
{
	struct redis_conn_cmd *cmd;

	if (rc->ac == NULL || rc->live >= REDIS_CONN_PENDING_MAX)
		return -1;
	cmd = calloc(1, sizeof(*cmd));
	if (cmd == NULL)
		return -1;
	cmd->rc = rc;
	cmd->cb = cb;
	cmd->data = data ? data : cmd;
	cmd->gen = rc->gen;
	cmd->deadline = uv_now(rc->loop) + wait_ms;
	if (redisAsyncCommandArgv(rc->ac, on_hiredis, cmd, argc, argv,
				  argvlen) != REDIS_OK) {
		free(cmd);
		return -1;
	}
	rc->live++;
	cmd->in_hiredis = true;
	cmd->list = CMD_FIFO;
	list_push(&rc->fifo, cmd);
	rc->stats.commands++;
	/* The timer may still be set for an earlier head that has its reply
	 * (arm_deadline() is lazy), possibly later than this deadline (the
	 * handshake's is longer). */
	if (!uv_is_active((uv_handle_t *)&rc->deadline) ||
	    cmd->deadline < rc->armed_for)
		arm_deadline(rc);
	if (out)
		*out = cmd;
	return 0;
}

int redis_conn_command(struct redis_conn *rc, int argc, const char **argv,
		       const size_t *argvlen, redis_conn_cb cb, void *data,
		       struct redis_conn_cmd **cmd)
{
	if (rc->closing || rc->state != CONN_READY || cb == NULL)
		return -1;
	return send_cmd(rc, argc, argv, argvlen, cb, data, rc->c.timeout_ms,
			cmd);
}

void redis_conn_cancel(struct redis_conn_cmd *cmd)
{
	cmd->cb = NULL;
	cmd_unlink(cmd);
	cmd_release(cmd);
}

/* on_deadline - answer every command past its deadline; several in a row
 * mean a hung server: drop it. */
static void on_deadline(uv_timer_t *t)
{
	struct redis_conn *rc = t->data;
	struct redis_conn_cmd *cmd;
	uint64_t now = uv_now(rc->loop);

	while (!rc->closing && (cmd = rc->fifo.head) != NULL &&
	       cmd->deadline <= now) {
		bool current = cmd->gen == rc->gen;
		rc->stats.timeouts++;
		rc->timeouts_in_row++;
		deliver(cmd, REDIS_CONN_TIMEOUT, NULL);
		if (current && rc->ac && rc->state == CONN_READY &&
		    rc->timeouts_in_row >= REDIS_CONN_TIMEOUTS_DROP) {
			char reason[REDIS_CONN_ERROR_MAX];
			snprintf(reason, sizeof(reason),
				 "%u commands in a row unanswered within %u ms",
				 rc->timeouts_in_row, rc->c.timeout_ms);
			drop(rc, reason);
		}
	}
	arm_deadline(rc);
}

/* ---- connecting --------------------------------------------------------- */

/* on_handshake - AUTH, SELECT and PING replies; ready at PONG. */
static void on_handshake(void *data, enum redis_conn_status st,
			 const redisReply *reply)
{
	struct redis_conn_cmd *cmd = data;
	struct redis_conn *rc = cmd->rc;
	char reason[REDIS_CONN_ERROR_MAX];

	if (rc->closing || cmd->gen != rc->gen || st == REDIS_CONN_LOST ||
	    st == REDIS_CONN_CLOSED)
		return; /* that connection is already given up */
	if (st == REDIS_CONN_TIMEOUT) {
		snprintf(reason, sizeof(reason), "no answer to %s within %u ms",
			 cmd->step, rc->c.connect_timeout_ms);
		drop(rc, reason);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(reason, sizeof(reason), "%s refused: %.*s", cmd->step,
			 (int)(reply->len > 100 ? 100 : reply->len),
			 reply->str);
		drop(rc, reason);
		return;
	}
	if (strcmp(cmd->step, "PING") != 0)
		return;
	if (reply->type == REDIS_REPLY_STATUS && reply->len == 4 &&
	    memcmp(reply->str, "PONG", 4) == 0)
		went_ready(rc);
	else
		drop(rc, "PING was not answered PONG");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	if (status != REDIS_OK && rc->ac == ac && !rc->closing)
		lost(rc, ac);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_conn *rc = ac->data;

	(void)status;
	if (rc->ac == ac && !rc->closing)
		lost(rc, ac);
}

/* handshake - pipeline AUTH, SELECT and PING on the new context. */
static int handshake(struct redis_conn *rc)
{
	const struct redis_url *u = &rc->c.url;
	unsigned wait = rc->c.connect_timeout_ms;
	char db[16];
	struct redis_conn_cmd *cmd;

	if (u->has_password) {
		const char *argv[3] = {"AUTH", u->user, u->password};
		size_t len[3] = {4, strlen(u->user), strlen(u->password)};
		int n = u->user[0] ? 3 : 2;
		if (n == 2) {
			argv[1] = u->password;
			len[1] = len[2];
		}
		if (send_cmd(rc, n, argv, len, on_handshake, NULL, wait, &cmd) <
		    0)
			return -1;
		cmd->step = "AUTH";
	}
	if (u->db) {
		snprintf(db, sizeof(db), "%u", u->db);
		const char *argv[2] = {"SELECT", db};
		size_t len[2] = {6, strlen(db)};
		if (send_cmd(rc, 2, argv, len, on_handshake, NULL, wait, &cmd) <
		    0)
			return -1;
		cmd->step = "SELECT";
	}
	const char *argv[1] = {"PING"};
	size_t len[1] = {4};
	if (send_cmd(rc, 1, argv, len, on_handshake, NULL, wait, &cmd) < 0)
		return -1;
	cmd->step = "PING";
	return 0;
}

/* connect_to - open the context to @ip (or the unix socket). */
static void connect_to(struct redis_conn *rc, const char *ip)
{
	redisAsyncContext *ac;
	char reason[REDIS_CONN_ERROR_MAX];

	if (rc->c.url.kind == REDIS_URL_UNIX)
		ac = redisAsyncConnectUnix(rc->c.url.path);
	else
		ac = redisAsyncConnect(ip, (int)rc->c.url.port);
	if (ac == NULL) {
		went_down(rc, "out of memory");
		return;
	}
	if (ac->err) {
		snprintf(reason, sizeof(reason), "%s", ac->errstr);
		redisAsyncFree(ac);
		went_down(rc, reason);
		return;
	}
	if (redis_uv_attach(ac, rc->loop) < 0) {
		redisAsyncFree(ac);
		went_down(rc, "cannot watch the socket");
		return;
	}
	ac->data = rc;
	rc->ac = ac;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (handshake(rc) < 0)
		drop(rc, "cannot send the handshake (out of memory)");
}

static void finish_close(struct redis_conn *rc);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct redis_conn *rc = req->data;
	char ip[INET6_ADDRSTRLEN] = "", reason[REDIS_CONN_ERROR_MAX];

	rc->resolving = false;
	if (rc->closing) {
		uv_freeaddrinfo(res);
		finish_close(rc);
		return;
	}
	if (status == 0 && res) {
		/* Each attempt takes the next address: a name with several
		 * (localhost as ::1 and 127.0.0.1) is not stuck on a dead
		 * one. */
		size_t n = 0;
		struct addrinfo *ai = res;
		for (struct addrinfo *it = res; it; it = it->ai_next)
			n++;
		for (size_t skip = (size_t)(rc->stats.attempts - 1) % n; skip;
		     skip--)
			ai = ai->ai_next;
		const void *a =
		    ai->ai_family == AF_INET6
			? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)
			      ->sin6_addr
			: (const void *)&((struct sockaddr_in *)ai->ai_addr)
			      ->sin_addr;
		inet_ntop(ai->ai_family, a, ip, sizeof(ip));
	}
	uv_freeaddrinfo(res);
	if (ip[0] == '\0') {
		snprintf(reason, sizeof(reason), "cannot resolve %s: %s",
			 rc->c.url.host,
			 status ? uv_strerror(status) : "no address");
		went_down(rc, reason);
		return;
	}
	connect_to(rc, ip);
}

/* start_connect - one attempt: resolve a name in the thread pool (never
 * hiredis' blocking getaddrinfo), connect to a literal at once. */
static void start_connect(struct redis_conn *rc)
{
	struct addrinfo hints;
	char reason[REDIS_CONN_ERROR_MAX];
	int err;

	rc->stats.attempts++;
	rc->state = CONN_CONNECTING;
	if (rc->c.url.kind == REDIS_URL_UNIX || rc->c.url.host_is_ip) {
		connect_to(rc, rc->c.url.host);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG; /* no ::1 on a host without IPv6 */
	rc->gai.data = rc;
	err = uv_getaddrinfo(rc->loop, &rc->gai, on_resolved, rc->c.url.host,
			     NULL, &hints);
	if (err < 0) {
		snprintf(reason, sizeof(reason), "cannot resolve %s: %s",
			 rc->c.url.host, uv_strerror(err));
		went_down(rc, reason);
		return;
	}
	rc->resolving = true;
}

/* ---- life cycle ----------------------------------------------------------- */

int redis_conn_new(uv_loop_t *loop, const struct redis_conn_config *c,
		   struct redis_conn **out, char *err, size_t errlen)
{
	struct redis_conn *rc;

	if (c->timeout_ms == 0 || c->connect_timeout_ms == 0 ||
	    c->backoff_min_ms == 0 || c->backoff_max_ms < c->backoff_min_ms) {
		snprintf(err, errlen,
			 "redis: timeouts must be above 0 and the backoff "
			 "minimum at most its maximum");
		return -1;
	}
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL) {
		snprintf(err, errlen, "redis: out of memory");
		return -1;
	}
	rc->loop = loop;
	rc->c = *c;
	rc->backoff_ms = c->backoff_min_ms;
	redis_url_display(&c->url, rc->display, sizeof(rc->display));
	uv_timer_init(loop, &rc->deadline);
	uv_timer_init(loop, &rc->retry);
	rc->deadline.data = rc->retry.data = rc;
	rc->handles_open = 2;
	start_connect(rc);
	*out = rc;
	return 0;
}

bool redis_conn_ready(const struct redis_conn *rc)
{
	return rc->state == CONN_READY && !rc->closing;
}

void redis_conn_get_stats(const struct redis_conn *rc,
			  struct redis_conn_stats *s)
{
	*s = rc->stats;
	s->up = redis_conn_ready(rc);
}

/* finish_close - the last step: answer what was in flight, then free. */
static void finish_close(struct redis_conn *rc)
{
	struct redis_conn_cmd *cmd;

	if (rc->handles_open > 0 || rc->resolving)
		return;
	while ((cmd = rc->closed_cmds.head) != NULL)
		deliver(cmd, REDIS_CONN_CLOSED, NULL);
	if (rc->closed_cb)
		rc->closed_cb(rc->closed_data);
	free(rc);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct redis_conn *rc = h->data;

	rc->handles_open--;
	finish_close(rc);
}

void redis_conn_close(struct redis_conn *rc, void (*closed_cb)(void *),
		      void *data)
{
	struct redis_conn_cmd *cmd;
	redisAsyncContext *ac = rc->ac;

	if (rc->closing)
		abort(); /* redis_conn_close: called twice: caller bug */
	rc->closing = true;
	rc->closed_cb = closed_cb;
	rc->closed_data = data;
	/* The commands in flight are answered on a later turn, never from
	 * inside this call. */
	while ((cmd = rc->fifo.head) != NULL) {
		cmd_unlink(cmd);
		cmd->list = CMD_CLOSING;
		list_push(&rc->closed_cmds, cmd);
	}
	rc->ac = NULL;
	rc->gen++;
	rc->state = CONN_DOWN;
	if (ac)
		redisAsyncFree(ac);
	if (rc->resolving)
		uv_cancel((uv_req_t *)&rc->gai);
	uv_close((uv_handle_t *)&rc->deadline, on_handle_closed);
	uv_close((uv_handle_t *)&rc->retry, on_handle_closed);
}
