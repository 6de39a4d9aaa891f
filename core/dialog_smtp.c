/* dialog_smtp - the conversation half of the dialog (contract: dialog.h;
 * shared structure: dialog_int.h): which command comes next, and what
 * each reply means. Every path that ends the session goes through
 * dialog__fail() or dialog__quit(), so that no recipient is left without
 * a result. */
#include <string.h>

#include "core/dialog_int.h"

/* The stage a failure in each state is reported at. RSET opens the next
 * transaction, so it counts as mail; IDLE and QUIT decide nothing. */
static const enum smtp_stage dialog_state_stage[DIALOG_STATE_LAST] = {
    [DIALOG_INIT] = SMTP_STAGE_CONNECT, [DIALOG_BANNER] = SMTP_STAGE_BANNER,
    [DIALOG_EHLO] = SMTP_STAGE_EHLO,	[DIALOG_HELO] = SMTP_STAGE_EHLO,
    [DIALOG_RSET] = SMTP_STAGE_MAIL,	[DIALOG_MAIL] = SMTP_STAGE_MAIL,
    [DIALOG_RCPT] = SMTP_STAGE_RCPT,	[DIALOG_IDLE] = SMTP_STAGE_NONE,
    [DIALOG_QUIT] = SMTP_STAGE_NONE,	[DIALOG_DONE] = SMTP_STAGE_NONE,
};

/* cmd - write the command line "@pre @param @post CRLF" to the output
 * and to the transcript. CMDBUF_REFUSED (nothing written) when @param
 * holds a control octet; CMDBUF_NOROOM when there is no room. */
static int cmd(struct dialog *d, const char *pre, const char *param,
	       size_t plen, const char *post)
{
	const char *line;
	size_t len;
	int rc = cmdbuf_line(&d->out, pre, param, plen, post, &line, &len);

	if (rc == CMDBUF_OK)
		transcript_client(&d->ts, line, len);
	return rc;
}

/* ---- ending -------------------------------------------------------------- */

void dialog__quit(struct dialog *d, unsigned skip)
{
	d->closing = true;
	if (cmd(d, "QUIT", "", 0, "") != CMDBUF_OK) {
		/* Every result is in; a missing QUIT costs nothing. */
		dialog__set_state(d, DIALOG_DONE);
		return;
	}
	d->skip = skip;
	dialog__set_state(d, DIALOG_QUIT);
}

/* dialog__fail - after a rejection other than 421 the dialog QUITs (RFC
 * 5321 3.1: even a 554 greeting waits for QUIT); the replies still owed
 * to pipelined commands come before QUIT's own. */
void dialog__fail(struct dialog *d, enum dialog_fail kind,
		  const struct smtp_reply *rep, const char *detail)
{
	struct dialog_failure *f = &d->fail;
	enum dialog_rcpt_status st = d->state == DIALOG_RCPT
					 ? DIALOG_RCPT_UNANSWERED
					 : DIALOG_RCPT_NOT_ATTEMPTED;
	unsigned skip = d->inflight.count + (d->mail_sent ? 1u : 0u) + d->skip;
	struct dialog_rcpt *r;

	if (f->kind == DIALOG_FAIL_NONE) {
		f->kind = kind;
		f->stage = dialog_state_stage[d->state];
		f->detail = detail;
		if (rep != NULL) {
			f->code = rep->code;
			memcpy(f->enhanced, rep->enhanced, sizeof(f->enhanced));
			d->fail_text =
			    dialog__alloc(d, NULL, rep->text_len + 1);
			if (d->fail_text != NULL) {
				memcpy(d->fail_text, rep->text,
				       rep->text_len + 1);
				f->text = d->fail_text;
			}
		}
	}
	while ((r = dialog__pop(&d->inflight)) != NULL)
		dialog__end_failed(d, r, st);
	while ((r = dialog__pop(&d->deferred)) != NULL)
		dialog__end_failed(d, r, DIALOG_RCPT_NOT_ATTEMPTED);
	while ((r = dialog__pop(&d->pending)) != NULL)
		dialog__end_failed(d, r, DIALOG_RCPT_NOT_ATTEMPTED);
	d->mail_sent = false;
	d->skip = 0;
	d->closing = true;
	if (kind == DIALOG_FAIL_REJECTED && (rep == NULL || rep->code != 421))
		dialog__quit(d, skip);
	else
		dialog__set_state(d, DIALOG_DONE);
}

/* end_pending - end every queued recipient NOT_ATTEMPTED for a reason of
 * our own (the session is fine), and take no new ones. */
static void end_pending(struct dialog *d, const char *why)
{
	struct dialog_rcpt *r;

	while ((r = dialog__pop(&d->pending)) != NULL)
		dialog__end(d, r, DIALOG_RCPT_NOT_ATTEMPTED, why);
	d->closing = true;
}

/* ---- transactions -------------------------------------------------------- */

static const char *txn_sender(const struct dialog *d)
{
	return d->txn_from ? d->txn_from : d->cfg.mail_from;
}

/* same_sender - @r may join the open transaction as far as its sender
 * goes. */
static bool same_sender(const struct dialog *d, const struct dialog_rcpt *r)
{
	return strcmp(dialog__sender(d, r), txn_sender(d)) == 0;
}

/* set_txn_sender - remember @from as the new transaction's sender (a copy:
 * the recipient that brought it may be freed first). -1: out of memory. */
static int set_txn_sender(struct dialog *d, const char *from)
{
	size_t n;
	char *t;

	if (strcmp(from, txn_sender(d)) == 0)
		return 0;
	d->txn_from = dialog__alloc(d, d->txn_from, 0);
	if (strcmp(from, d->cfg.mail_from) == 0)
		return 0;
	n = strlen(from) + 1;
	t = dialog__alloc(d, NULL, n);
	if (t == NULL)
		return -1;
	memcpy(t, from, n);
	d->txn_from = t;
	return 0;
}

/* requeue_deferred - after a batch with "too many recipients" replies:
 * send those again in a transaction as large as the server took, or, when
 * it took none, give up on them and on the queue. */
static void requeue_deferred(struct dialog *d)
{
	struct dialog_rcpt *r;

	if (d->txn_answered == 0) {
		while ((r = dialog__pop(&d->deferred)) != NULL)
			dialog__end(d, r, DIALOG_RCPT_NOT_ATTEMPTED, NULL);
		end_pending(d, WHY_NO_ROOM);
		return;
	}
	for (r = d->deferred.head; r != NULL; r = r->next)
		dialog__clear_reply(d, r);
	dialog__prepend(&d->pending, &d->deferred);
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
	while ((r = dialog__pop(&d->pending)) != NULL) {
		if (r->utf8)
			dialog__end(d, r, DIALOG_RCPT_NEEDS_SMTPUTF8, WHY_UTF8);
		else
			dialog__push(&keep, r);
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
		if (d->cfg.reject_permille > 0 && budget > 0) {
			unsigned long g = (unsigned long)budget * 1000 /
					  d->cfg.reject_permille;
			budget = g < room ? (unsigned)g : room;
		}
		if (budget < room)
			room = budget;
	}
	return room;
}

/* send_rcpts - write up to @n RCPTs from the queue, as long as they share
 * the transaction's sender; returns how many. */
static unsigned send_rcpts(struct dialog *d, unsigned n)
{
	unsigned sent = 0;
	struct dialog_rcpt *r;

	while (sent < n && (r = d->pending.head) != NULL) {
		if (r->utf8 && !d->txn_utf8)
			break; /* needs a transaction with SMTPUTF8 */
		if (!same_sender(d, r))
			break; /* starts the next transaction */
		dialog__pop(&d->pending);
		switch (cmd(d, "RCPT TO:<", r->address, r->len, ">")) {
		case CMDBUF_OK:
			dialog__push(&d->inflight, r);
			d->txn_sent++;
			sent++;
			break;
		case CMDBUF_REFUSED:
			dialog__end(d, r, DIALOG_RCPT_REFUSED, WHY_CONTROL);
			break;
		default:
			dialog__push(&d->pending, r);
			dialog__fail(d, DIALOG_FAIL_LOCAL, NULL,
				     "out of memory");
			return sent;
		}
	}
	return sent;
}

/* start_txn - RSET if a transaction is open, then MAIL with the sender of
 * the first queued recipient, with all RCPTs of the batch when pipelining
 * (RFC 2920 3.1: RSET, MAIL and RCPT may all be in one group). Without
 * pipelining, MAIL waits for RSET's reply. */
static void start_txn(struct dialog *d)
{
	bool was_open = d->txn_open;
	const char *from;
	unsigned room;
	struct dialog_rcpt *r;

	if (was_open) {
		if (cmd(d, "RSET", "", 0, "") != CMDBUF_OK) {
			dialog__fail(d, DIALOG_FAIL_LOCAL, NULL,
				     "out of memory");
			return;
		}
		d->txn_open = false;
		if (!d->pipelining) {
			dialog__set_state(d, DIALOG_RSET);
			return;
		}
	}
	if (set_txn_sender(d, dialog__sender(d, d->pending.head)) < 0) {
		dialog__fail(d, DIALOG_FAIL_LOCAL, NULL, "out of memory");
		return;
	}
	from = txn_sender(d);
	room = txn_room(d, true);
	d->txn_utf8 = false;
	r = d->pending.head;
	for (unsigned i = 0; i < room && r != NULL && same_sender(d, r);
	     i++, r = r->next)
		d->txn_utf8 |= r->utf8;
	if (cmd(d, "MAIL FROM:<", from, strlen(from),
		d->txn_utf8 ? "> SMTPUTF8" : ">") != CMDBUF_OK) {
		dialog__fail(d, DIALOG_FAIL_LOCAL, NULL,
			     "MAIL FROM not written");
		return;
	}
	d->txn_open = true;
	d->mail_sent = true;
	d->txn_full = false;
	d->txn_refused = false;
	d->txn_sent = 0;
	d->txn_answered = 0;
	if (d->pipelining) {
		send_rcpts(d, room);
		if (d->state == DIALOG_DONE)
			return;
	}
	dialog__set_state(d, was_open ? DIALOG_RSET : DIALOG_MAIL);
}

/* dialog__advance - more RCPTs in the open transaction when it has room
 * and the next recipient fits it (same sender, SMTPUTF8 when needed),
 * else a new transaction, else idle or QUIT. */
void dialog__advance(struct dialog *d)
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
				dialog__quit(d, 0);
			else
				dialog__set_state(d, DIALOG_IDLE);
			return;
		}
		if (d->txn_open && !d->txn_full && !d->txn_refused &&
		    txn_room(d, false) > 0 && (d->txn_utf8 || !head->utf8) &&
		    same_sender(d, head)) {
			unsigned n = d->pipelining ? txn_room(d, false) : 1;
			unsigned sent = send_rcpts(d, n);
			if (d->state == DIALOG_DONE)
				return;
			if (sent == 0)
				continue; /* all refused: look again */
			dialog__set_state(d, DIALOG_RCPT);
			return;
		}
		start_txn(d);
		return;
	}
}

/* ---- replies ------------------------------------------------------------- */

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
	struct dialog_rcpt *r = dialog__pop(&d->inflight);

	if (r == NULL)
		dialog__panic("rcpt_reply", d);
	if (rep->code >= 400)
		d->errors++;
	dialog__set_reply(d, r, rep, SMTP_STAGE_RCPT);
	if (reply_too_many(rep)) {
		dialog__push(&d->deferred, r);
		d->txn_full = true;
	} else {
		d->txn_answered++;
		dialog__end(d, r, DIALOG_RCPT_REPLIED, NULL);
	}
	if (d->inflight.head == NULL)
		dialog__advance(d);
}

/* mail_refused - MAIL got 4yz/5yz (not 421). When every queued recipient
 * has this sender, nothing more can be done: the session fails, as it
 * always did. When another sender waits (dialog_add_txn), only this
 * sender is refused: its recipients (the pipelined ones and every queued
 * one: it is not offered again) end NOT_ATTEMPTED with the MAIL reply,
 * the replies owed to pipelined RCPTs are dropped, and the next
 * transaction starts with RSET. */
static void mail_refused(struct dialog *d, const struct smtp_reply *rep)
{
	const char *from = txn_sender(d); /* owned by d: outlives the loop */
	struct rcpt_list keep = {0};
	struct dialog_rcpt *r;
	bool other = false;

	for (r = d->pending.head; r != NULL && !other; r = r->next)
		other = !same_sender(d, r);
	if (!other) {
		dialog__fail(d, DIALOG_FAIL_REJECTED, rep, "MAIL FROM refused");
		return;
	}
	d->errors++;
	d->txn_refused = true;
	d->skip = d->inflight.count;
	while ((r = dialog__pop(&d->inflight)) != NULL) {
		dialog__set_reply(d, r, rep, SMTP_STAGE_MAIL);
		dialog__end(d, r, DIALOG_RCPT_NOT_ATTEMPTED, NULL);
	}
	while ((r = dialog__pop(&d->pending)) != NULL) {
		if (strcmp(dialog__sender(d, r), from) != 0) {
			dialog__push(&keep, r);
			continue;
		}
		dialog__set_reply(d, r, rep, SMTP_STAGE_MAIL);
		dialog__end(d, r, DIALOG_RCPT_NOT_ATTEMPTED, NULL);
	}
	d->pending = keep;
	if (d->skip > 0)
		dialog__set_state(d, DIALOG_RCPT);
	else
		dialog__advance(d);
}

void dialog__on_reply(struct dialog *d, const struct smtp_reply *rep)
{
	bool ok = rep->code / 100 == 2;

	if (d->state == DIALOG_QUIT) {
		if (d->skip > 0)
			d->skip--;
		else
			dialog__set_state(d, DIALOG_DONE);
		return;
	}
	if (rep->code == 421) { /* RFC 5321 3.8: the server is closing */
		dialog__fail(d, DIALOG_FAIL_REJECTED, rep, "service closing");
		return;
	}
	if (rep->code / 100 == 3) { /* only DATA may get 354; never sent */
		dialog__fail(d, DIALOG_FAIL_PROTOCOL, rep,
			     "unexpected 3yz reply");
		return;
	}
	switch (d->state) {
	case DIALOG_BANNER:
		if (!ok)
			dialog__fail(d, DIALOG_FAIL_REJECTED, rep,
				     "greeting refused");
		else if (cmd(d, "EHLO ", d->cfg.helo, strlen(d->cfg.helo),
			     "") != CMDBUF_OK)
			dialog__fail(d, DIALOG_FAIL_LOCAL, NULL,
				     "EHLO not written");
		else
			dialog__set_state(d, DIALOG_EHLO);
		return;
	case DIALOG_EHLO:
		if (ok) {
			d->greeted = true;
			d->ext = rep->ext;
			d->size = rep->size;
			d->pipelining = d->cfg.pipelining &&
					(rep->ext & SMTP_EXT_PIPELINING);
			dialog__advance(d);
		} else if (rep->code / 100 == 5) { /* RFC 5321 3.2 */
			if (cmd(d, "HELO ", d->cfg.helo, strlen(d->cfg.helo),
				"") != CMDBUF_OK)
				dialog__fail(d, DIALOG_FAIL_LOCAL, NULL,
					     "HELO not written");
			else
				dialog__set_state(d, DIALOG_HELO);
		} else {
			dialog__fail(d, DIALOG_FAIL_REJECTED, rep,
				     "EHLO refused");
		}
		return;
	case DIALOG_HELO:
		if (!ok) {
			dialog__fail(d, DIALOG_FAIL_REJECTED, rep,
				     "HELO refused");
			return;
		}
		d->greeted = true;
		dialog__advance(d);
		return;
	case DIALOG_RSET:
		if (!ok)
			dialog__fail(d, DIALOG_FAIL_REJECTED, rep,
				     "RSET refused");
		else if (d->mail_sent) /* pipelined behind RSET */
			dialog__set_state(d, DIALOG_MAIL);
		else
			dialog__advance(d);
		return;
	case DIALOG_MAIL:
		d->mail_sent = false;
		if (!ok)
			mail_refused(d, rep);
		else if (d->inflight.head != NULL) /* pipelined */
			dialog__set_state(d, DIALOG_RCPT);
		else
			dialog__advance(d);
		return;
	case DIALOG_RCPT:
		if (d->skip > 0) { /* owed to RCPTs behind a refused MAIL */
			d->skip--;
			if (rep->code >= 400)
				d->errors++;
			if (d->skip == 0)
				dialog__advance(d);
			return;
		}
		rcpt_reply(d, rep);
		return;
	case DIALOG_IDLE:
		dialog__fail(d, DIALOG_FAIL_PROTOCOL, rep,
			     "reply without a command");
		return;
	default:
		dialog__panic("dialog__on_reply", d);
	}
}
