/* dialog - the SMTP client dialog state machine; the contract is in
 * dialog.h. Every path that ends the session goes through dialog_fail()
 * or dialog_quit(), so that no recipient is left without a result. */
#include "core/dialog.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/address.h"

/* The transcript's last line when it was cut. */
#define DIALOG_TS_MARK	   "[truncated]\n"
#define DIALOG_TS_MARK_LEN (sizeof(DIALOG_TS_MARK) - 1)
/* Smallest useful transcript: the mark and a line or two. */
#define DIALOG_TS_MIN 64
/* First allocations: a transcript of a short session; one command line of
 * the largest size RFC 5321 4.5.3.1.4 allows (512 with CRLF). */
#define DIALOG_TS_INITIAL  256
#define DIALOG_OUT_INITIAL 512

/* Local reasons, as result texts. */
#define WHY_CONTROL "refused: control character"
#define WHY_EMPTY   "refused: empty address"
#define WHY_LONG    "refused: address too long"
#define WHY_UTF8    "not attempted: needs SMTPUTF8"
#define WHY_BUDGET  "not attempted: session error limit reached"
#define WHY_NO_ROOM "not attempted: server takes no more recipients"

enum { CMD_OK = 0, CMD_REFUSED = -1, CMD_NOMEM = -2 };

struct dialog_rcpt {
	struct dialog_rcpt *next;
	void *tag;
	enum dialog_rcpt_status status;
	enum dialog_fail fail;
	enum smtp_stage stage;
	int code;
	char enhanced[SMTP_REPLY_ENHANCED_MAX];
	const char *text; /* owned when text_owned, else static or the
			   * dialog's failure text */
	bool text_owned;
	bool utf8; /* non-ASCII octets: needs SMTPUTF8 */
	size_t len;
	char address[]; /* len + 1 */
};

/* A FIFO of recipients. */
struct rcpt_list {
	struct dialog_rcpt *head;
	struct dialog_rcpt *tail;
	unsigned count;
};

struct dialog {
	enum dialog_state state;
	struct dialog_config cfg; /* helo and mail_from point into names[] */
	struct smtp_reply_parser parser;

	bool greeted;	 /* EHLO or HELO accepted: ext is known */
	unsigned ext;	 /* SMTP_EXT_* of the EHLO reply */
	uint64_t size;	 /* its SIZE */
	bool pipelining; /* offered and allowed */
	bool closing;	 /* no new recipients; QUIT when the queue is empty */

	/* the current transaction */
	bool txn_open;	       /* MAIL written, no RSET since */
	bool txn_utf8;	       /* its MAIL carries SMTPUTF8 */
	bool txn_full;	       /* the server said "too many recipients" */
	bool mail_sent;	       /* MAIL written, its reply not read yet */
	unsigned txn_cap;      /* recipients per transaction (may shrink) */
	unsigned txn_sent;     /* RCPTs written in it */
	unsigned txn_answered; /* RCPT replies other than "too many" */
	unsigned skip;	       /* replies to drop before QUIT's own */
	unsigned errors;       /* 4yz/5yz RCPT replies this session */
	unsigned added;	       /* recipients taken by dialog_add_rcpt */

	struct rcpt_list pending;     /* not sent yet */
	struct rcpt_list inflight;    /* sent, in order; replies pending */
	struct rcpt_list deferred;    /* "too many recipients": send again */
	struct rcpt_list done;	      /* results not yet pulled */
	struct dialog_rcpt *reported; /* last pulled result, freed next */

	struct dialog_failure fail;
	char *fail_text; /* owned copy behind fail.text */

	char *out; /* pending output: out[out_off..out_len) */
	size_t out_len;
	size_t out_off;
	size_t out_cap;

	char *ts; /* transcript, NUL-terminated */
	size_t ts_len;
	size_t ts_cap;
	bool ts_full;	 /* cut or out of memory: nothing more goes in */
	bool ts_midline; /* a server line is open in the transcript */

	char names[]; /* helo NUL mail_from NUL */
};

static const char *const dialog_state_names[DIALOG_STATE_LAST] = {
    [DIALOG_INIT] = "init", [DIALOG_BANNER] = "banner", [DIALOG_EHLO] = "ehlo",
    [DIALOG_HELO] = "helo", [DIALOG_RSET] = "rset",	[DIALOG_MAIL] = "mail",
    [DIALOG_RCPT] = "rcpt", [DIALOG_IDLE] = "idle",	[DIALOG_QUIT] = "quit",
    [DIALOG_DONE] = "done",
};

/* The stage a failure in each state is reported at. RSET opens the next
 * transaction, so it counts as mail; IDLE and QUIT decide nothing. */
static const enum smtp_stage dialog_state_stage[DIALOG_STATE_LAST] = {
    [DIALOG_INIT] = SMTP_STAGE_CONNECT, [DIALOG_BANNER] = SMTP_STAGE_BANNER,
    [DIALOG_EHLO] = SMTP_STAGE_EHLO,	[DIALOG_HELO] = SMTP_STAGE_EHLO,
    [DIALOG_RSET] = SMTP_STAGE_MAIL,	[DIALOG_MAIL] = SMTP_STAGE_MAIL,
    [DIALOG_RCPT] = SMTP_STAGE_RCPT,	[DIALOG_IDLE] = SMTP_STAGE_NONE,
    [DIALOG_QUIT] = SMTP_STAGE_NONE,	[DIALOG_DONE] = SMTP_STAGE_NONE,
};

/* Each state's wait, as the offset of its field in the config (Postfix's
 * xfer_timeouts[]); NO_TIMER where the dialog sets none. */
#define NO_TIMER  ((size_t)-1)
#define CFG_MS(f) offsetof(struct dialog_config, f)
static const size_t dialog_state_timer[DIALOG_STATE_LAST] = {
    [DIALOG_INIT] = NO_TIMER,	     [DIALOG_BANNER] = CFG_MS(banner_ms),
    [DIALOG_EHLO] = CFG_MS(ehlo_ms), [DIALOG_HELO] = CFG_MS(ehlo_ms),
    [DIALOG_RSET] = CFG_MS(rset_ms), [DIALOG_MAIL] = CFG_MS(mail_ms),
    [DIALOG_RCPT] = CFG_MS(rcpt_ms), [DIALOG_IDLE] = CFG_MS(idle_ms),
    [DIALOG_QUIT] = CFG_MS(quit_ms), [DIALOG_DONE] = NO_TIMER,
};

static const char *const dialog_fail_names[DIALOG_FAIL_LAST] = {
    [DIALOG_FAIL_NONE] = "none",       [DIALOG_FAIL_CONNECT] = "connect",
    [DIALOG_FAIL_TIMEOUT] = "timeout", [DIALOG_FAIL_PROTOCOL] = "protocol",
    [DIALOG_FAIL_CLOSED] = "closed",   [DIALOG_FAIL_REJECTED] = "rejected",
    [DIALOG_FAIL_LOCAL] = "local",
};

static const char *const dialog_status_names[DIALOG_RCPT_STATUS_LAST] = {
    [DIALOG_RCPT_REPLIED] = "replied",
    [DIALOG_RCPT_NOT_ATTEMPTED] = "not_attempted",
    [DIALOG_RCPT_UNANSWERED] = "unanswered",
    [DIALOG_RCPT_NEEDS_SMTPUTF8] = "needs_smtputf8",
    [DIALOG_RCPT_REFUSED] = "refused",
};

static void dialog_advance(struct dialog *d);

/* dialog_panic - a broken invariant (a caller or dialog bug): say which
 * function in which state, and abort (Postfix msg_panic). */
__attribute__((noreturn)) static void dialog_panic(const char *fn,
						   const struct dialog *d)
{
	fprintf(stderr, "%s: bug: not allowed in state %s\n", fn,
		dialog_state_name(d->state));
	abort();
}

static void *dialog_libc_alloc(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

static void *dialog_alloc(const struct dialog *d, void *ptr, size_t size)
{
	return d->cfg.alloc(d->cfg.alloc_ud, ptr, size);
}

/* dialog_set_state - the only writer of d->state. Nothing leaves DONE. */
static void dialog_set_state(struct dialog *d, enum dialog_state next)
{
	if (d->state == DIALOG_DONE || next >= DIALOG_STATE_LAST)
		dialog_panic("dialog_set_state", d);
	d->state = next;
}

/* ---- recipient lists ---------------------------------------------------- */

static void list_push(struct rcpt_list *l, struct dialog_rcpt *r)
{
	r->next = NULL;
	if (l->tail != NULL)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->count++;
}

static struct dialog_rcpt *list_pop(struct rcpt_list *l)
{
	struct dialog_rcpt *r = l->head;

	if (r == NULL)
		return NULL;
	l->head = r->next;
	if (l->head == NULL)
		l->tail = NULL;
	l->count--;
	r->next = NULL;
	return r;
}

/* list_prepend - put all of @src, in order, before @dst's head. */
static void list_prepend(struct rcpt_list *dst, struct rcpt_list *src)
{
	if (src->head == NULL)
		return;
	src->tail->next = dst->head;
	if (dst->tail == NULL)
		dst->tail = src->tail;
	dst->head = src->head;
	dst->count += src->count;
	*src = (struct rcpt_list){0};
}

static void rcpt_clear_text(struct dialog *d, struct dialog_rcpt *r)
{
	if (r->text_owned)
		dialog_alloc(d, (char *)r->text, 0);
	r->text = "";
	r->text_owned = false;
}

static void rcpt_free(struct dialog *d, struct dialog_rcpt *r)
{
	rcpt_clear_text(d, r);
	dialog_alloc(d, r, 0);
}

/* rcpt_set_reply - remember @rep as what decided @r. Out of memory only
 * loses the text. */
static void rcpt_set_reply(struct dialog *d, struct dialog_rcpt *r,
			   const struct smtp_reply *rep)
{
	char *t;

	rcpt_clear_text(d, r);
	r->stage = SMTP_STAGE_RCPT;
	r->code = rep->code;
	memcpy(r->enhanced, rep->enhanced, sizeof(r->enhanced));
	t = dialog_alloc(d, NULL, rep->text_len + 1);
	if (t != NULL) {
		memcpy(t, rep->text, rep->text_len + 1);
		r->text = t;
		r->text_owned = true;
	}
}

/* rcpt_end - @r is finished with @status; @why is its text when it has
 * no reply of its own. */
static void rcpt_end(struct dialog *d, struct dialog_rcpt *r,
		     enum dialog_rcpt_status status, const char *why)
{
	r->status = status;
	if (r->code == 0 && why != NULL)
		r->text = why;
	list_push(&d->done, r);
}

/* rcpt_end_failed - @r ends because the session failed: it carries the
 * failure, not any reply of its own. */
static void rcpt_end_failed(struct dialog *d, struct dialog_rcpt *r,
			    enum dialog_rcpt_status status)
{
	rcpt_clear_text(d, r);
	r->fail = d->fail.kind;
	r->stage = d->fail.stage;
	r->code = d->fail.code;
	memcpy(r->enhanced, d->fail.enhanced, sizeof(r->enhanced));
	r->text = d->fail.code != 0 ? d->fail.text : d->fail.detail;
	rcpt_end(d, r, status, NULL);
}

/* ---- transcript ---------------------------------------------------------- */

/* ts_put - append @n octets; cut with the mark at transcript_max. */
static void ts_put(struct dialog *d, const char *s, size_t n)
{
	size_t max = d->cfg.transcript_max;
	size_t room, want;
	bool cut;

	if (max == 0 || d->ts_full)
		return;
	room = max - DIALOG_TS_MARK_LEN - d->ts_len;
	cut = n > room;
	want = d->ts_len + (cut ? room + DIALOG_TS_MARK_LEN : n) + 1;
	if (want > d->ts_cap) {
		size_t cap = d->ts_cap ? d->ts_cap : DIALOG_TS_INITIAL;
		char *t;
		while (cap < want)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		t = dialog_alloc(d, d->ts, cap);
		if (t == NULL) {
			d->ts_full = true; /* the session matters more */
			return;
		}
		d->ts = t;
		d->ts_cap = cap;
	}
	memcpy(d->ts + d->ts_len, s, cut ? room : n);
	d->ts_len += cut ? room : n;
	if (cut) {
		memcpy(d->ts + d->ts_len, DIALOG_TS_MARK, DIALOG_TS_MARK_LEN);
		d->ts_len += DIALOG_TS_MARK_LEN;
		d->ts_full = true;
	}
	d->ts[d->ts_len] = '\0';
}

/* ts_server - server octets as "S: " lines: CR dropped, other controls as
 * \xNN, so that the transcript is one printable line per line. */
static void ts_server(struct dialog *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char buf[128];
	size_t k = 0;

	if (d->cfg.transcript_max == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (k + 4 > sizeof(buf)) {
			ts_put(d, buf, k);
			k = 0;
		}
		if (!d->ts_midline) {
			memcpy(buf + k, "S: ", 3);
			k += 3;
			d->ts_midline = true;
		}
		if (c == '\n') {
			buf[k++] = '\n';
			d->ts_midline = false;
		} else if (c == '\r') {
			continue;
		} else if (c < 0x20 || c == 0x7f) {
			buf[k++] = '\\';
			buf[k++] = 'x';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		} else {
			buf[k++] = (char)c;
		}
	}
	ts_put(d, buf, k);
}

/* ---- output -------------------------------------------------------------- */

/* param_ok - no control octet may reach a command line (the second guard
 * behind the address parser): CR or LF would end the command and start
 * another one of the caller's choosing. */
static bool param_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* out_reserve - room for @n more octets of output; -1 when out of memory
 * or past DIALOG_OUTPUT_MAX. */
static int out_reserve(struct dialog *d, size_t n)
{
	size_t need, cap;
	char *t;

	if (d->out_off > 0) {
		memmove(d->out, d->out + d->out_off, d->out_len - d->out_off);
		d->out_len -= d->out_off;
		d->out_off = 0;
	}
	need = d->out_len + n;
	if (need > DIALOG_OUTPUT_MAX)
		return -1;
	if (need <= d->out_cap)
		return 0;
	cap = d->out_cap ? d->out_cap : DIALOG_OUT_INITIAL;
	while (cap < need)
		cap *= 2;
	t = dialog_alloc(d, d->out, cap);
	if (t == NULL)
		return -1;
	d->out = t;
	d->out_cap = cap;
	return 0;
}

/* dialog_cmd - write the command line "@pre @param @post CRLF" to the
 * output and "C: ..." to the transcript. CMD_REFUSED (nothing written)
 * when @param holds a control octet; CMD_NOMEM when there is no room. */
static int dialog_cmd(struct dialog *d, const char *pre, const char *param,
		      size_t plen, const char *post)
{
	size_t a = strlen(pre), c = strlen(post);
	char *o;

	if (!param_ok(param, plen))
		return CMD_REFUSED;
	if (out_reserve(d, a + plen + c + 2) < 0)
		return CMD_NOMEM;
	o = d->out + d->out_len;
	memcpy(o, pre, a);
	memcpy(o + a, param, plen);
	memcpy(o + a + plen, post, c);
	memcpy(o + a + plen + c, "\r\n", 2);
	d->out_len += a + plen + c + 2;

	if (d->ts_midline) { /* a server line is still open */
		ts_put(d, "\n", 1);
		d->ts_midline = false;
	}
	ts_put(d, "C: ", 3);
	ts_put(d, o, a + plen + c);
	ts_put(d, "\n", 1);
	return CMD_OK;
}

/* ---- ending -------------------------------------------------------------- */

/* dialog_quit - send QUIT; the first @skip replies still to come answer
 * earlier pipelined commands. */
static void dialog_quit(struct dialog *d, unsigned skip)
{
	d->closing = true;
	if (dialog_cmd(d, "QUIT", "", 0, "") != CMD_OK) {
		/* Every result is in; a missing QUIT costs nothing. */
		dialog_set_state(d, DIALOG_DONE);
		return;
	}
	d->skip = skip;
	dialog_set_state(d, DIALOG_QUIT);
}

/* dialog_fail - the session failed: record the first failure, end every
 * unfinished recipient, and QUIT (after a rejection other than 421) or
 * stop. @rep may be NULL; @detail is static. */
static void dialog_fail(struct dialog *d, enum dialog_fail kind,
			const struct smtp_reply *rep, const char *detail)
{
	struct dialog_failure *f = &d->fail;
	enum dialog_rcpt_status st = d->state == DIALOG_RCPT
					 ? DIALOG_RCPT_UNANSWERED
					 : DIALOG_RCPT_NOT_ATTEMPTED;
	unsigned skip = d->inflight.count + (d->mail_sent ? 1u : 0u);
	struct dialog_rcpt *r;

	if (f->kind == DIALOG_FAIL_NONE) {
		f->kind = kind;
		f->stage = dialog_state_stage[d->state];
		f->detail = detail;
		if (rep != NULL) {
			f->code = rep->code;
			memcpy(f->enhanced, rep->enhanced, sizeof(f->enhanced));
			d->fail_text = dialog_alloc(d, NULL, rep->text_len + 1);
			if (d->fail_text != NULL) {
				memcpy(d->fail_text, rep->text,
				       rep->text_len + 1);
				f->text = d->fail_text;
			}
		}
	}
	while ((r = list_pop(&d->inflight)) != NULL)
		rcpt_end_failed(d, r, st);
	while ((r = list_pop(&d->deferred)) != NULL)
		rcpt_end_failed(d, r, DIALOG_RCPT_NOT_ATTEMPTED);
	while ((r = list_pop(&d->pending)) != NULL)
		rcpt_end_failed(d, r, DIALOG_RCPT_NOT_ATTEMPTED);
	d->mail_sent = false;
	d->closing = true;
	if (kind == DIALOG_FAIL_REJECTED && (rep == NULL || rep->code != 421))
		dialog_quit(d, skip);
	else
		dialog_set_state(d, DIALOG_DONE);
}

/* end_pending - end every queued recipient NOT_ATTEMPTED for a reason of
 * our own (the session is fine), and take no new ones. */
static void end_pending(struct dialog *d, const char *why)
{
	struct dialog_rcpt *r;

	while ((r = list_pop(&d->pending)) != NULL)
		rcpt_end(d, r, DIALOG_RCPT_NOT_ATTEMPTED, why);
	d->closing = true;
}

/* ---- transactions -------------------------------------------------------- */

/* requeue_deferred - after a batch with "too many recipients" replies:
 * send those again in a transaction as large as the server took, or, when
 * it took none, give up on them and on the queue. */
static void requeue_deferred(struct dialog *d)
{
	struct dialog_rcpt *r;

	if (d->txn_answered == 0) {
		while ((r = list_pop(&d->deferred)) != NULL)
			rcpt_end(d, r, DIALOG_RCPT_NOT_ATTEMPTED, NULL);
		end_pending(d, WHY_NO_ROOM);
		return;
	}
	for (r = d->deferred.head; r != NULL; r = r->next) {
		rcpt_clear_text(d, r);
		r->stage = SMTP_STAGE_NONE;
		r->code = 0;
		r->enhanced[0] = '\0';
	}
	list_prepend(&d->pending, &d->deferred);
	d->txn_cap = d->txn_answered;
}

/* resolve_local - once the extensions are known, end the recipients that
 * need SMTPUTF8 from a server without it (RFC 6531 3.4: such an address
 * must not be sent to it). */
static void resolve_local(struct dialog *d)
{
	struct rcpt_list keep = {0};
	struct dialog_rcpt *r;

	if (d->ext & SMTP_EXT_SMTPUTF8)
		return;
	while ((r = list_pop(&d->pending)) != NULL) {
		if (r->utf8)
			rcpt_end(d, r, DIALOG_RCPT_NEEDS_SMTPUTF8, WHY_UTF8);
		else
			list_push(&keep, r);
	}
	d->pending = keep;
}

/* txn_room - how many RCPTs the next batch may carry: what is left of the
 * transaction, and never more than the session's error budget, so that a
 * batch of rejections cannot push a server past its hang-up limit. */
static unsigned txn_room(const struct dialog *d, bool fresh)
{
	unsigned room = d->txn_cap - (fresh ? 0 : d->txn_sent);

	if (d->cfg.errors_max > 0) {
		unsigned budget = d->errors < d->cfg.errors_max
				      ? d->cfg.errors_max - d->errors
				      : 0;
		if (budget < room)
			room = budget;
	}
	return room;
}

/* send_rcpts - write up to @n RCPTs from the queue; returns how many. */
static unsigned send_rcpts(struct dialog *d, unsigned n)
{
	unsigned sent = 0;
	struct dialog_rcpt *r;

	while (sent < n && (r = d->pending.head) != NULL) {
		if (r->utf8 && !d->txn_utf8)
			break; /* needs a transaction with SMTPUTF8 */
		list_pop(&d->pending);
		switch (dialog_cmd(d, "RCPT TO:<", r->address, r->len, ">")) {
		case CMD_OK:
			list_push(&d->inflight, r);
			d->txn_sent++;
			sent++;
			break;
		case CMD_REFUSED:
			rcpt_end(d, r, DIALOG_RCPT_REFUSED, WHY_CONTROL);
			break;
		default:
			list_push(&d->pending, r);
			dialog_fail(d, DIALOG_FAIL_LOCAL, NULL,
				    "out of memory");
			return sent;
		}
	}
	return sent;
}

/* start_txn - RSET if a transaction is open, then MAIL, with all RCPTs of
 * the batch when pipelining (RFC 2920 3.1: RSET, MAIL and RCPT may all be
 * in one group). Without pipelining, MAIL waits for RSET's reply. */
static void start_txn(struct dialog *d)
{
	bool was_open = d->txn_open;
	const char *from = d->cfg.mail_from;
	unsigned room;
	struct dialog_rcpt *r;

	if (was_open) {
		if (dialog_cmd(d, "RSET", "", 0, "") != CMD_OK) {
			dialog_fail(d, DIALOG_FAIL_LOCAL, NULL,
				    "out of memory");
			return;
		}
		d->txn_open = false;
		if (!d->pipelining) {
			dialog_set_state(d, DIALOG_RSET);
			return;
		}
	}
	room = txn_room(d, true);
	d->txn_utf8 = false;
	r = d->pending.head;
	for (unsigned i = 0; i < room && r != NULL; i++, r = r->next)
		d->txn_utf8 |= r->utf8;
	if (dialog_cmd(d, "MAIL FROM:<", from, strlen(from),
		       d->txn_utf8 ? "> SMTPUTF8" : ">") != CMD_OK) {
		dialog_fail(d, DIALOG_FAIL_LOCAL, NULL,
			    "MAIL FROM not written");
		return;
	}
	d->txn_open = true;
	d->mail_sent = true;
	d->txn_full = false;
	d->txn_sent = 0;
	d->txn_answered = 0;
	if (d->pipelining) {
		send_rcpts(d, room);
		if (d->state == DIALOG_DONE)
			return;
	}
	dialog_set_state(d, was_open ? DIALOG_RSET : DIALOG_MAIL);
}

/* dialog_advance - nothing is outstanding: decide the next step. More
 * RCPTs in the open transaction when it has room, else a new transaction,
 * else idle or QUIT. */
static void dialog_advance(struct dialog *d)
{
	struct dialog_rcpt *head;

	if (d->deferred.head != NULL)
		requeue_deferred(d);
	resolve_local(d);
	if (d->pending.head != NULL && txn_room(d, true) == 0)
		end_pending(d, WHY_BUDGET);
	for (;;) {
		head = d->pending.head;
		if (head == NULL) {
			if (d->closing || d->cfg.idle_ms == 0)
				dialog_quit(d, 0);
			else
				dialog_set_state(d, DIALOG_IDLE);
			return;
		}
		if (d->txn_open && !d->txn_full && txn_room(d, false) > 0 &&
		    (d->txn_utf8 || !head->utf8)) {
			unsigned n = d->pipelining ? txn_room(d, false) : 1;
			unsigned sent = send_rcpts(d, n);
			if (d->state == DIALOG_DONE)
				return;
			if (sent == 0)
				continue; /* all refused: look again */
			dialog_set_state(d, DIALOG_RCPT);
			return;
		}
		start_txn(d);
		return;
	}
}

/* reply_too_many - "too many recipients" (RFC 5321 4.5.3.1.10): 452, or
 * 552 from RFC 821 servers (to be read as temporary), with the enhanced
 * code X.5.3 or, without one, with those words. */
static bool reply_too_many(const struct smtp_reply *rep)
{
	static const char words[] = "too many recipients";
	size_t n = sizeof(words) - 1;

	if (rep->code != 452 && rep->code != 552)
		return false;
	if (rep->enhanced[0] != '\0')
		return strcmp(rep->enhanced + 1, ".5.3") == 0;
	for (size_t i = 0; i + n <= rep->text_len; i++) {
		size_t k = 0;
		while (k < n && (rep->text[i + k] | 0x20) == words[k])
			k++;
		if (k == n)
			return true;
	}
	return false;
}

/* rcpt_reply - the reply to the oldest RCPT in flight. */
static void rcpt_reply(struct dialog *d, const struct smtp_reply *rep)
{
	struct dialog_rcpt *r = list_pop(&d->inflight);

	if (r == NULL)
		dialog_panic("rcpt_reply", d);
	if (rep->code >= 400)
		d->errors++;
	rcpt_set_reply(d, r, rep);
	if (reply_too_many(rep)) {
		list_push(&d->deferred, r);
		d->txn_full = true;
	} else {
		d->txn_answered++;
		rcpt_end(d, r, DIALOG_RCPT_REPLIED, NULL);
	}
	if (d->inflight.head == NULL)
		dialog_advance(d);
}

/* dialog_on_reply - one complete reply, to the oldest command in flight. */
static void dialog_on_reply(struct dialog *d, const struct smtp_reply *rep)
{
	bool ok = rep->code / 100 == 2;

	if (d->state == DIALOG_QUIT) {
		if (d->skip > 0)
			d->skip--;
		else
			dialog_set_state(d, DIALOG_DONE);
		return;
	}
	if (rep->code == 421) { /* RFC 5321 3.8: the server is closing */
		dialog_fail(d, DIALOG_FAIL_REJECTED, rep, "service closing");
		return;
	}
	if (rep->code / 100 == 3) { /* only DATA may get 354; never sent */
		dialog_fail(d, DIALOG_FAIL_PROTOCOL, rep,
			    "unexpected 3yz reply");
		return;
	}
	switch (d->state) {
	case DIALOG_BANNER:
		if (!ok)
			dialog_fail(d, DIALOG_FAIL_REJECTED, rep,
				    "greeting refused");
		else if (dialog_cmd(d, "EHLO ", d->cfg.helo,
				    strlen(d->cfg.helo), "") != CMD_OK)
			dialog_fail(d, DIALOG_FAIL_LOCAL, NULL,
				    "EHLO not written");
		else
			dialog_set_state(d, DIALOG_EHLO);
		return;
	case DIALOG_EHLO:
		if (ok) {
			d->greeted = true;
			d->ext = rep->ext;
			d->size = rep->size;
			d->pipelining = d->cfg.pipelining &&
					(rep->ext & SMTP_EXT_PIPELINING);
			dialog_advance(d);
		} else if (rep->code / 100 == 5) { /* RFC 5321 3.2 */
			if (dialog_cmd(d, "HELO ", d->cfg.helo,
				       strlen(d->cfg.helo), "") != CMD_OK)
				dialog_fail(d, DIALOG_FAIL_LOCAL, NULL,
					    "HELO not written");
			else
				dialog_set_state(d, DIALOG_HELO);
		} else {
			dialog_fail(d, DIALOG_FAIL_REJECTED, rep,
				    "EHLO refused");
		}
		return;
	case DIALOG_HELO:
		if (!ok) {
			dialog_fail(d, DIALOG_FAIL_REJECTED, rep,
				    "HELO refused");
			return;
		}
		d->greeted = true;
		dialog_advance(d);
		return;
	case DIALOG_RSET:
		if (!ok)
			dialog_fail(d, DIALOG_FAIL_REJECTED, rep,
				    "RSET refused");
		else if (d->mail_sent) /* pipelined behind RSET */
			dialog_set_state(d, DIALOG_MAIL);
		else
			dialog_advance(d);
		return;
	case DIALOG_MAIL:
		d->mail_sent = false;
		if (!ok)
			dialog_fail(d, DIALOG_FAIL_REJECTED, rep,
				    "MAIL FROM refused");
		else if (d->inflight.head != NULL) /* pipelined */
			dialog_set_state(d, DIALOG_RCPT);
		else
			dialog_advance(d);
		return;
	case DIALOG_RCPT:
		rcpt_reply(d, rep);
		return;
	case DIALOG_IDLE:
		dialog_fail(d, DIALOG_FAIL_PROTOCOL, rep,
			    "reply without a command");
		return;
	default:
		dialog_panic("dialog_on_reply", d);
	}
}

/* ---- public --------------------------------------------------------------- */

void dialog_config_default(struct dialog_config *cfg)
{
	*cfg = (struct dialog_config){
	    .helo = NULL,
	    .mail_from = "",
	    .banner_ms = 30000,
	    .ehlo_ms = 15000,
	    .mail_ms = 15000,
	    .rcpt_ms = 30000,
	    .rset_ms = 10000,
	    .quit_ms = 5000,
	    .idle_ms = 0,
	    .rcpt_per_txn = 10,
	    .rcpt_max = 50,
	    .errors_max = 8,
	    .pipelining = true,
	    .transcript_max = 4096,
	};
}

const char *dialog_config_check(const struct dialog_config *cfg)
{
	const char *from = cfg->mail_from ? cfg->mail_from : "";
	size_t n;

	if (cfg->helo == NULL || cfg->helo[0] == '\0')
		return "the HELO name is not set";
	n = strnlen(cfg->helo, DIALOG_HELO_MAX + 1);
	if (n > DIALOG_HELO_MAX)
		return "the HELO name is longer than 255 octets";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)cfg->helo[i] <= 0x20 ||
		    (unsigned char)cfg->helo[i] >= 0x7f)
			return "the HELO name is not printable ASCII";
	n = strnlen(from, ADDRESS_MAX + 1);
	if (n > ADDRESS_MAX)
		return "the sender is longer than 254 octets";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)from[i] < 0x20 ||
		    (unsigned char)from[i] >= 0x7f)
			return "the sender is not printable ASCII";
	if (cfg->banner_ms == 0 || cfg->ehlo_ms == 0 || cfg->mail_ms == 0 ||
	    cfg->rcpt_ms == 0 || cfg->rset_ms == 0 || cfg->quit_ms == 0)
		return "a command timeout is 0";
	if (cfg->rcpt_per_txn == 0 ||
	    cfg->rcpt_per_txn > DIALOG_RCPT_PER_TXN_MAX)
		return "recipients per transaction must be 1..100";
	if (cfg->transcript_max != 0 &&
	    (cfg->transcript_max < DIALOG_TS_MIN ||
	     cfg->transcript_max > DIALOG_TRANSCRIPT_MAX))
		return "the transcript size must be 0 or 64..8192";
	return NULL;
}

struct dialog *dialog_new(const struct dialog_config *cfg)
{
	dialog_alloc_fn alloc = cfg->alloc ? cfg->alloc : dialog_libc_alloc;
	const char *from = cfg->mail_from ? cfg->mail_from : "";
	size_t hl, fl;
	struct dialog *d;

	if (dialog_config_check(cfg) != NULL)
		return NULL;
	hl = strlen(cfg->helo);
	fl = strlen(from);
	d = alloc(cfg->alloc_ud, NULL, sizeof(*d) + hl + 1 + fl + 1);
	if (d == NULL)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->cfg.alloc = alloc;
	memcpy(d->names, cfg->helo, hl + 1);
	memcpy(d->names + hl + 1, from, fl + 1);
	d->cfg.helo = d->names;
	d->cfg.mail_from = d->names + hl + 1;
	d->state = DIALOG_INIT;
	d->txn_cap = cfg->rcpt_per_txn;
	d->fail.text = "";
	smtp_reply_init(&d->parser);
	return d;
}

struct dialog *dialog_free(struct dialog *d)
{
	struct rcpt_list *lists[4];
	struct dialog_rcpt *r;

	if (d == NULL)
		return NULL;
	lists[0] = &d->pending;
	lists[1] = &d->inflight;
	lists[2] = &d->deferred;
	lists[3] = &d->done;
	for (int i = 0; i < 4; i++)
		while ((r = list_pop(lists[i])) != NULL)
			rcpt_free(d, r);
	if (d->reported != NULL)
		rcpt_free(d, d->reported);
	dialog_alloc(d, d->fail_text, 0);
	dialog_alloc(d, d->out, 0);
	dialog_alloc(d, d->ts, 0);
	dialog_alloc(d, d, 0);
	return NULL;
}

int dialog_add_rcpt(struct dialog *d, const char *address, void *tag)
{
	size_t len, keep;
	struct dialog_rcpt *r;
	const char *why = NULL;

	if (d->closing || d->state == DIALOG_QUIT || d->state == DIALOG_DONE)
		return DIALOG_ERR_CLOSED;
	if (d->cfg.rcpt_max > 0 && d->added >= d->cfg.rcpt_max)
		return DIALOG_ERR_FULL;
	len = strnlen(address, ADDRESS_MAX + 1);
	keep = len > ADDRESS_MAX ? ADDRESS_MAX : len;
	r = dialog_alloc(d, NULL, sizeof(*r) + keep + 1);
	if (r == NULL)
		return DIALOG_ERR_NOMEM;
	memset(r, 0, sizeof(*r));
	memcpy(r->address, address, keep);
	r->address[keep] = '\0';
	r->len = keep;
	r->tag = tag;
	r->text = "";
	d->added++;

	if (len == 0)
		why = WHY_EMPTY;
	else if (len > ADDRESS_MAX)
		why = WHY_LONG;
	else if (!param_ok(address, len))
		why = WHY_CONTROL;
	if (why != NULL) {
		rcpt_end(d, r, DIALOG_RCPT_REFUSED, why);
		return DIALOG_RC_CONTINUE;
	}
	for (size_t i = 0; i < len; i++)
		r->utf8 |= (unsigned char)address[i] >= 0x80;
	list_push(&d->pending, r);
	if (d->state != DIALOG_IDLE)
		return DIALOG_RC_CONTINUE;
	dialog_advance(d);
	return d->state == DIALOG_DONE ? DIALOG_RC_DONE : DIALOG_RC_REARM;
}

enum dialog_rc dialog_close_when_idle(struct dialog *d)
{
	if (d->state == DIALOG_DONE)
		return DIALOG_RC_DONE;
	d->closing = true;
	if (d->state == DIALOG_IDLE) {
		dialog_quit(d, 0);
		return d->state == DIALOG_DONE ? DIALOG_RC_DONE
					       : DIALOG_RC_REARM;
	}
	if (d->state == DIALOG_INIT && d->pending.head == NULL) {
		dialog_set_state(d, DIALOG_DONE);
		return DIALOG_RC_DONE;
	}
	return DIALOG_RC_CONTINUE;
}

enum dialog_rc dialog_on_connected(struct dialog *d)
{
	if (d->state != DIALOG_INIT)
		dialog_panic("dialog_on_connected", d);
	dialog_set_state(d, DIALOG_BANNER);
	return DIALOG_RC_REARM;
}

enum dialog_rc dialog_on_connect_failed(struct dialog *d)
{
	if (d->state != DIALOG_INIT)
		dialog_panic("dialog_on_connect_failed", d);
	dialog_fail(d, DIALOG_FAIL_CONNECT, NULL, "connect failed");
	return DIALOG_RC_DONE;
}

/* dialog_on_bytes - split the input at LF so that the transcript shows
 * each server line before the command it caused, feed the parser, and act
 * on each complete reply. Replies always end at a LF, so no input is left
 * in the parser when a reply ends the session. */
enum dialog_rc dialog_on_bytes(struct dialog *d, const char *buf, size_t len)
{
	bool replied = false;
	size_t off = 0;

	if (d->state == DIALOG_DONE)
		return DIALOG_RC_DONE;
	if (d->state == DIALOG_INIT)
		dialog_panic("dialog_on_bytes", d);
	while (off < len && d->state != DIALOG_DONE) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		ts_server(d, buf + off, n);
		smtp_reply_feed(&d->parser, buf + off, n);
		off += n;
		for (;;) {
			struct smtp_reply rep;
			int rc = smtp_reply_next(&d->parser, &rep);
			if (rc == SMTP_REPLY_NEED_MORE)
				break;
			if (rc < 0 && d->state == DIALOG_QUIT) {
				/* Garbage after QUIT: the results are in. */
				dialog_set_state(d, DIALOG_DONE);
				break;
			}
			if (rc < 0) {
				dialog_fail(d, DIALOG_FAIL_PROTOCOL, NULL,
					    smtp_reply_strerror(rc));
				break;
			}
			replied = true;
			dialog_on_reply(d, &rep);
			if (d->state == DIALOG_DONE)
				break;
		}
	}
	if (d->state == DIALOG_DONE)
		return DIALOG_RC_DONE;
	return replied ? DIALOG_RC_REARM : DIALOG_RC_CONTINUE;
}

enum dialog_rc dialog_on_timeout(struct dialog *d)
{
	switch (d->state) {
	case DIALOG_DONE:
		break;
	case DIALOG_INIT:
		dialog_fail(d, DIALOG_FAIL_TIMEOUT, NULL, "connect timeout");
		break;
	case DIALOG_IDLE:
		dialog_quit(d, 0);
		break;
	case DIALOG_QUIT:
		dialog_set_state(d, DIALOG_DONE);
		break;
	case DIALOG_BANNER:
	case DIALOG_EHLO:
	case DIALOG_HELO:
	case DIALOG_RSET:
	case DIALOG_MAIL:
	case DIALOG_RCPT:
		dialog_fail(d, DIALOG_FAIL_TIMEOUT, NULL,
			    "timeout waiting for a reply");
		break;
	default:
		dialog_panic("dialog_on_timeout", d);
	}
	return d->state == DIALOG_DONE ? DIALOG_RC_DONE : DIALOG_RC_REARM;
}

enum dialog_rc dialog_on_closed(struct dialog *d)
{
	switch (d->state) {
	case DIALOG_DONE:
		break;
	case DIALOG_INIT:
		dialog_fail(d, DIALOG_FAIL_CONNECT, NULL, "connect failed");
		break;
	case DIALOG_IDLE: /* nothing was lost */
	case DIALOG_QUIT:
		d->closing = true;
		dialog_set_state(d, DIALOG_DONE);
		break;
	case DIALOG_BANNER:
	case DIALOG_EHLO:
	case DIALOG_HELO:
	case DIALOG_RSET:
	case DIALOG_MAIL:
	case DIALOG_RCPT:
		dialog_fail(d, DIALOG_FAIL_CLOSED, NULL,
			    "connection closed by the server");
		break;
	default:
		dialog_panic("dialog_on_closed", d);
	}
	return DIALOG_RC_DONE;
}

size_t dialog_output(const struct dialog *d, const char **out)
{
	if (d->out == NULL) {
		*out = "";
		return 0;
	}
	*out = d->out + d->out_off;
	return d->out_len - d->out_off;
}

void dialog_output_consumed(struct dialog *d, size_t n)
{
	if (n > d->out_len - d->out_off)
		dialog_panic("dialog_output_consumed", d);
	d->out_off += n;
	if (d->out_off == d->out_len) { /* idle sessions hold no buffer */
		d->out = dialog_alloc(d, d->out, 0);
		d->out_len = d->out_off = d->out_cap = 0;
	}
}

unsigned dialog_timeout_ms(const struct dialog *d)
{
	size_t off = dialog_state_timer[d->state];
	unsigned ms;

	if (off == NO_TIMER)
		return 0;
	memcpy(&ms, (const char *)&d->cfg + off, sizeof(ms));
	return ms;
}

bool dialog_next_result(struct dialog *d, struct dialog_result *res)
{
	struct dialog_rcpt *r;

	if (d->reported != NULL) {
		rcpt_free(d, d->reported);
		d->reported = NULL;
	}
	r = list_pop(&d->done);
	if (r == NULL)
		return false;
	d->reported = r;
	res->tag = r->tag;
	res->address = r->address;
	res->status = r->status;
	res->fail = r->fail;
	res->stage = r->stage;
	res->code = r->code;
	memcpy(res->enhanced, r->enhanced, sizeof(res->enhanced));
	res->text = r->text;
	return true;
}

const struct dialog_failure *dialog_failure(const struct dialog *d)
{
	return &d->fail;
}

size_t dialog_transcript(const struct dialog *d, const char **out)
{
	*out = d->ts ? d->ts : "";
	return d->ts_len;
}

enum dialog_state dialog_state(const struct dialog *d)
{
	return d->state;
}

bool dialog_finished(const struct dialog *d)
{
	return d->state == DIALOG_DONE;
}

bool dialog_accepting(const struct dialog *d)
{
	return !d->closing && d->state != DIALOG_QUIT &&
	       d->state != DIALOG_DONE &&
	       (d->cfg.rcpt_max == 0 || d->added < d->cfg.rcpt_max);
}

unsigned dialog_extensions(const struct dialog *d)
{
	return d->ext;
}

uint64_t dialog_size_limit(const struct dialog *d)
{
	return d->size;
}

unsigned dialog_pending(const struct dialog *d)
{
	return d->pending.count + d->inflight.count + d->deferred.count;
}

/* dialog_memory - heap octets held now (allocator overhead not counted). */
size_t dialog_memory(const struct dialog *d)
{
	const struct rcpt_list *lists[4] = {&d->pending, &d->inflight,
					    &d->deferred, &d->done};
	size_t n = sizeof(*d) + strlen(d->cfg.helo) + 1 +
		   strlen(d->cfg.mail_from) + 1 + d->out_cap + d->ts_cap;
	const struct dialog_rcpt *r;

	if (d->fail_text != NULL)
		n += strlen(d->fail_text) + 1;
	for (int i = 0; i < 4; i++)
		for (r = lists[i]->head; r != NULL; r = r->next)
			n += sizeof(*r) + r->len + 1 +
			     (r->text_owned ? strlen(r->text) + 1 : 0);
	if (d->reported != NULL)
		n += sizeof(*d->reported) + d->reported->len + 1 +
		     (d->reported->text_owned ? strlen(d->reported->text) + 1
					      : 0);
	return n;
}

const char *dialog_state_name(enum dialog_state state)
{
	return (unsigned)state < DIALOG_STATE_LAST ? dialog_state_names[state]
						   : "?";
}

const char *dialog_fail_name(enum dialog_fail kind)
{
	return (unsigned)kind < DIALOG_FAIL_LAST ? dialog_fail_names[kind]
						 : "?";
}

const char *dialog_rcpt_status_name(enum dialog_rcpt_status status)
{
	return (unsigned)status < DIALOG_RCPT_STATUS_LAST
		   ? dialog_status_names[status]
		   : "?";
}
