/* dialog - the public face of the SMTP client dialog (contract: dialog.h;
 * shared structure: dialog_int.h): configuration, recipients and their
 * results, the events, the accessors. What each reply means is in
 * dialog_smtp.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/address.h"
#include "core/dialog_int.h"

static const char *const dialog_state_names[DIALOG_STATE_LAST] = {
    [DIALOG_INIT] = "init", [DIALOG_BANNER] = "banner", [DIALOG_EHLO] = "ehlo",
    [DIALOG_HELO] = "helo", [DIALOG_RSET] = "rset",	[DIALOG_MAIL] = "mail",
    [DIALOG_RCPT] = "rcpt", [DIALOG_IDLE] = "idle",	[DIALOG_QUIT] = "quit",
    [DIALOG_DONE] = "done",
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

void dialog__panic(const char *fn, const struct dialog *d)
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

void *dialog__alloc(const struct dialog *d, void *ptr, size_t size)
{
	return d->cfg.alloc(d->cfg.alloc_ud, ptr, size);
}

/* dialog__set_state - nothing leaves DONE. */
void dialog__set_state(struct dialog *d, enum dialog_state next)
{
	if (d->state == DIALOG_DONE || next >= DIALOG_STATE_LAST)
		dialog__panic("dialog__set_state", d);
	d->state = next;
}

/* ---- recipients ---------------------------------------------------------- */

void dialog__push(struct rcpt_list *l, struct dialog_rcpt *r)
{
	r->next = NULL;
	if (l->tail != NULL)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->count++;
}

struct dialog_rcpt *dialog__pop(struct rcpt_list *l)
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

void dialog__prepend(struct rcpt_list *dst, struct rcpt_list *src)
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

const char *dialog__sender(const struct dialog *d, const struct dialog_rcpt *r)
{
	return r->sender ? r->sender : d->cfg.mail_from;
}

static void rcpt_clear_text(struct dialog *d, struct dialog_rcpt *r)
{
	if (r->text_owned)
		dialog__alloc(d, (char *)r->text, 0);
	r->text = "";
	r->text_owned = false;
}

void dialog__clear_reply(struct dialog *d, struct dialog_rcpt *r)
{
	rcpt_clear_text(d, r);
	r->stage = SMTP_STAGE_NONE;
	r->code = 0;
	r->enhanced[0] = '\0';
}

static void rcpt_free(struct dialog *d, struct dialog_rcpt *r)
{
	rcpt_clear_text(d, r);
	dialog__alloc(d, r, 0);
}

void dialog__set_reply(struct dialog *d, struct dialog_rcpt *r,
		       const struct smtp_reply *rep, enum smtp_stage stage)
{
	char *t;

	rcpt_clear_text(d, r);
	r->stage = stage;
	r->code = rep->code;
	memcpy(r->enhanced, rep->enhanced, sizeof(r->enhanced));
	t = dialog__alloc(d, NULL, rep->text_len + 1);
	if (t != NULL) {
		memcpy(t, rep->text, rep->text_len + 1);
		r->text = t;
		r->text_owned = true;
	}
}

void dialog__end(struct dialog *d, struct dialog_rcpt *r,
		 enum dialog_rcpt_status status, const char *why)
{
	r->status = status;
	if (r->code == 0 && why != NULL)
		r->text = why;
	dialog__push(&d->done, r);
}

void dialog__end_failed(struct dialog *d, struct dialog_rcpt *r,
			enum dialog_rcpt_status status)
{
	rcpt_clear_text(d, r);
	r->fail = d->fail.kind;
	r->stage = d->fail.stage;
	r->code = d->fail.code;
	memcpy(r->enhanced, d->fail.enhanced, sizeof(r->enhanced));
	r->text = d->fail.code != 0 ? d->fail.text : d->fail.detail;
	dialog__end(d, r, status, NULL);
}

/* rcpt_memory - heap octets of one recipient (allocator overhead not
 * counted). */
static size_t rcpt_memory(const struct dialog_rcpt *r)
{
	return sizeof(*r) + r->len + 1 +
	       (r->sender ? strlen(r->sender) + 1 : 0) +
	       (r->text_owned ? strlen(r->text) + 1 : 0);
}

/* ---- configuration ------------------------------------------------------- */

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
	if (cfg->reject_permille > 1000)
		return "the expected share of rejections must be 0..1000 "
		       "permille";
	if (cfg->transcript_max != 0 &&
	    (cfg->transcript_max < TRANSCRIPT_MIN ||
	     cfg->transcript_max > DIALOG_TRANSCRIPT_MAX))
		return "the transcript size must be 0 or 64..8192";
	return NULL;
}

/* ---- life ---------------------------------------------------------------- */

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
	cmdbuf_init(&d->out, DIALOG_OUTPUT_MAX, alloc, cfg->alloc_ud);
	/* dialog_config_check() vouched for the size */
	transcript_init(&d->ts, cfg->transcript_max, alloc, cfg->alloc_ud);
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
		while ((r = dialog__pop(lists[i])) != NULL)
			rcpt_free(d, r);
	if (d->reported != NULL)
		rcpt_free(d, d->reported);
	dialog__alloc(d, d->fail_text, 0);
	dialog__alloc(d, d->txn_from, 0);
	cmdbuf_release(&d->out);
	transcript_release(&d->ts);
	dialog__alloc(d, d, 0);
	return NULL;
}

/* refusal - why @rcpt with @sender (NULL: the config's) can never be
 * sent, or NULL. Only the guards of the line writer: no address grammar
 * (dialog_add_txn sends odd forms on purpose). */
static const char *refusal(const char *rcpt, size_t len, const char *sender,
			   size_t slen)
{
	if (len == 0)
		return WHY_EMPTY;
	if (len > ADDRESS_MAX)
		return WHY_LONG;
	if (!cmdbuf_param_ok(rcpt, len))
		return WHY_CONTROL;
	if (sender != NULL && slen > ADDRESS_MAX)
		return WHY_FROM_LONG;
	if (sender != NULL && !cmdbuf_param_ok(sender, slen))
		return WHY_FROM_CONTROL;
	return NULL;
}

int dialog_add_txn(struct dialog *d, const char *sender, const char *rcpt,
		   void *tag)
{
	size_t len, keep, slen = 0, skeep = 0;
	struct dialog_rcpt *r;
	const char *why;

	if (d->closing || d->state == DIALOG_QUIT || d->state == DIALOG_DONE)
		return DIALOG_ERR_CLOSED;
	if (d->cfg.rcpt_max > 0 && d->added >= d->cfg.rcpt_max)
		return DIALOG_ERR_FULL;
	len = strnlen(rcpt, ADDRESS_MAX + 1);
	keep = len > ADDRESS_MAX ? ADDRESS_MAX : len;
	if (sender != NULL) {
		slen = strnlen(sender, ADDRESS_MAX + 1);
		skeep = slen > ADDRESS_MAX ? ADDRESS_MAX : slen;
	}
	r = dialog__alloc(d, NULL,
			  sizeof(*r) + keep + 1 + (sender ? skeep + 1 : 0));
	if (r == NULL)
		return DIALOG_ERR_NOMEM;
	memset(r, 0, sizeof(*r));
	memcpy(r->address, rcpt, keep);
	r->address[keep] = '\0';
	r->len = keep;
	if (sender != NULL) {
		char *s = r->address + keep + 1;
		memcpy(s, sender, skeep);
		s[skeep] = '\0';
		r->sender = s;
	}
	r->tag = tag;
	r->text = "";
	d->added++;

	why = refusal(rcpt, len, sender, slen);
	if (why != NULL) {
		dialog__end(d, r, DIALOG_RCPT_REFUSED, why);
		return DIALOG_RC_CONTINUE;
	}
	for (size_t i = 0; i < len; i++)
		r->utf8 |= (unsigned char)rcpt[i] >= 0x80;
	for (size_t i = 0; i < slen; i++)
		r->utf8 |= (unsigned char)sender[i] >= 0x80;
	dialog__push(&d->pending, r);
	if (d->state != DIALOG_IDLE)
		return DIALOG_RC_CONTINUE;
	dialog__advance(d);
	return d->state == DIALOG_DONE ? DIALOG_RC_DONE : DIALOG_RC_REARM;
}

int dialog_add_rcpt(struct dialog *d, const char *address, void *tag)
{
	return dialog_add_txn(d, NULL, address, tag);
}

enum dialog_rc dialog_close_when_idle(struct dialog *d)
{
	if (d->state == DIALOG_DONE)
		return DIALOG_RC_DONE;
	d->closing = true;
	if (d->state == DIALOG_IDLE) {
		dialog__quit(d, 0);
		return d->state == DIALOG_DONE ? DIALOG_RC_DONE
					       : DIALOG_RC_REARM;
	}
	if (d->state == DIALOG_INIT && d->pending.head == NULL) {
		dialog__set_state(d, DIALOG_DONE);
		return DIALOG_RC_DONE;
	}
	return DIALOG_RC_CONTINUE;
}

/* ---- events -------------------------------------------------------------- */

enum dialog_rc dialog_on_connected(struct dialog *d)
{
	if (d->state != DIALOG_INIT)
		dialog__panic("dialog_on_connected", d);
	dialog__set_state(d, DIALOG_BANNER);
	return DIALOG_RC_REARM;
}

enum dialog_rc dialog_on_connect_failed(struct dialog *d)
{
	if (d->state != DIALOG_INIT)
		dialog__panic("dialog_on_connect_failed", d);
	dialog__fail(d, DIALOG_FAIL_CONNECT, NULL, "connect failed");
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
		dialog__panic("dialog_on_bytes", d);
	while (off < len && d->state != DIALOG_DONE) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		transcript_server(&d->ts, buf + off, n);
		smtp_reply_feed(&d->parser, buf + off, n);
		off += n;
		for (;;) {
			struct smtp_reply rep;
			int rc = smtp_reply_next(&d->parser, &rep);
			if (rc == SMTP_REPLY_NEED_MORE)
				break;
			if (rc < 0 && d->state == DIALOG_QUIT) {
				/* Garbage after QUIT: the results are in. */
				dialog__set_state(d, DIALOG_DONE);
				break;
			}
			if (rc < 0) {
				dialog__fail(d, DIALOG_FAIL_PROTOCOL, NULL,
					     smtp_reply_strerror(rc));
				break;
			}
			replied = true;
			dialog__on_reply(d, &rep);
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
		dialog__fail(d, DIALOG_FAIL_TIMEOUT, NULL, "connect timeout");
		break;
	case DIALOG_IDLE:
		dialog__quit(d, 0);
		break;
	case DIALOG_QUIT:
		dialog__set_state(d, DIALOG_DONE);
		break;
	case DIALOG_BANNER:
	case DIALOG_EHLO:
	case DIALOG_HELO:
	case DIALOG_RSET:
	case DIALOG_MAIL:
	case DIALOG_RCPT:
		dialog__fail(d, DIALOG_FAIL_TIMEOUT, NULL,
			     "timeout waiting for a reply");
		break;
	default:
		dialog__panic("dialog_on_timeout", d);
	}
	return d->state == DIALOG_DONE ? DIALOG_RC_DONE : DIALOG_RC_REARM;
}

enum dialog_rc dialog_on_closed(struct dialog *d)
{
	switch (d->state) {
	case DIALOG_DONE:
		break;
	case DIALOG_INIT:
		dialog__fail(d, DIALOG_FAIL_CONNECT, NULL, "connect failed");
		break;
	case DIALOG_IDLE: /* nothing was lost */
	case DIALOG_QUIT:
		d->closing = true;
		dialog__set_state(d, DIALOG_DONE);
		break;
	case DIALOG_BANNER:
	case DIALOG_EHLO:
	case DIALOG_HELO:
	case DIALOG_RSET:
	case DIALOG_MAIL:
	case DIALOG_RCPT:
		dialog__fail(d, DIALOG_FAIL_CLOSED, NULL,
			     "connection closed by the server");
		break;
	default:
		dialog__panic("dialog_on_closed", d);
	}
	return DIALOG_RC_DONE;
}

/* ---- what the daemon reads ------------------------------------------------ */

size_t dialog_output(const struct dialog *d, const char **out)
{
	return cmdbuf_peek(&d->out, out);
}

void dialog_output_consumed(struct dialog *d, size_t n)
{
	if (cmdbuf_consume(&d->out, n) < 0)
		dialog__panic("dialog_output_consumed", d);
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
	r = dialog__pop(&d->done);
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
	return transcript_text(&d->ts, out);
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
		   strlen(d->cfg.mail_from) + 1 + cmdbuf_memory(&d->out) +
		   transcript_memory(&d->ts);
	const struct dialog_rcpt *r;

	if (d->fail_text != NULL)
		n += strlen(d->fail_text) + 1;
	if (d->txn_from != NULL)
		n += strlen(d->txn_from) + 1;
	for (int i = 0; i < 4; i++)
		for (r = lists[i]->head; r != NULL; r = r->next)
			n += rcpt_memory(r);
	if (d->reported != NULL)
		n += rcpt_memory(d->reported);
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
