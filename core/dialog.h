/* dialog - the SMTP client dialog of one session with one MX address
 * (RFC 5321 3, 4.1; RFC 2920 PIPELINING; RFC 6531 SMTPUTF8), as a state
 * machine that returns actions (OpenSMTPD's smtp_client without io_*).
 *
 * It never touches a socket or a timer. The daemon connects, then feeds
 * events (dialog_on_connected, _on_bytes, _on_timeout, _on_closed) and
 * after every call:
 *   1. writes dialog_output() and reports it with dialog_output_consumed();
 *   2. on DIALOG_RC_REARM (re)starts its timer with dialog_timeout_ms(),
 *      0 meaning "no timer" (on DIALOG_RC_CONTINUE the running timer goes
 *      on: a reply trickling in does not extend its wait);
 *   3. pulls dialog_next_result() until false;
 *   4. on DIALOG_RC_DONE flushes the output, closes the connection and
 *      frees the dialog (dialog_free) after reading what it wants.
 * The connect timeout and a whole-session deadline are the daemon's; when
 * the deadline passes it calls dialog_on_timeout().
 *
 * Conversation: wait for the 2yz banner; EHLO (HELO when EHLO gets 5yz);
 * then transactions: MAIL FROM:<sender> [SMTPUTF8], RCPT TO:<rcpt> for up
 * to rcpt_per_txn recipients, RSET before the next transaction; QUIT when
 * no recipient is left (after idle_ms without new ones). With PIPELINING
 * offered and allowed, a transaction's RSET, MAIL and all its RCPTs go in
 * one output, and the replies are read in order (RFC 2920 3.1). Never DATA.
 *
 * Recipients: dialog_add_rcpt() before connecting or while the session is
 * open, until dialog_close_when_idle() or QUIT, so a scheduler can feed
 * more addresses of the same domain into a live session.
 * dialog_add_txn() queues a recipient with a sender of its own (the
 * open-relay audit); consecutive recipients with the same sender share a
 * transaction, and a change of sender starts the next one. Each recipient
 * ends with exactly one struct dialog_result:
 *   REPLIED        the server answered its RCPT (stage rcpt, the reply);
 *   NOT_ATTEMPTED  its RCPT was never evaluated: the session ended before
 *                  its turn, the transaction failed, the session's error
 *                  budget was spent, or the server refused more
 *                  recipients in a fresh transaction. Retry it in a new
 *                  session; `fail` and the reply say why. (A sender
 *                  refused while other senders wait: stage mail, the MAIL
 *                  reply, fail NONE; see dialog_add_txn);
 *   UNANSWERED     its RCPT was sent in an open transaction but no reply
 *                  came (timeout, close, garbage, 421): retry, counting
 *                  an attempt (it may be a tarpit);
 *   NEEDS_SMTPUTF8 local: the address has non-ASCII octets and the server
 *                  does not offer SMTPUTF8; never sent;
 *   REFUSED        local: a control octet (CR, LF, NUL, ...), an empty
 *                  address or one over ADDRESS_MAX octets, or the same in
 *                  its own sender; never sent. The line writer
 *                  (core/cmdbuf.h) refuses them as a second guard behind
 *                  the address parser.
 * "Too many recipients" (452 or 552 with 4.5.3/5.5.3, or with that text
 * when there is no enhanced code; RFC 5321 4.5.3.1.10) puts a recipient
 * back in the queue: the next transaction carries as many recipients as
 * the server took in this one. If a fresh transaction takes none, the
 * rest end NOT_ATTEMPTED with that reply.
 *
 * Session failure (dialog_failure()): the first of
 *   CONNECT   the daemon could not connect (dialog_on_connect_failed);
 *   TIMEOUT   a wait ran out;        CLOSED  the peer closed;
 *   PROTOCOL  the reply broke the grammar or was out of place (3yz);
 *   REJECTED  a reply refused the session: non-2yz banner, 4yz EHLO,
 *             failed HELO, non-2yz MAIL (unless another sender waits,
 *             see dialog_add_txn) or RSET, or 421 anywhere;
 *   LOCAL     out of memory.
 * with the stage (connect, banner, ehlo, mail, rcpt) and the reply, so
 * that verdict classification can map it. After REJECTED other than 421
 * the dialog sends QUIT (RFC 5321 3.1: a 554 greeting still waits for
 * QUIT); after the others it just ends. A missing or odd reply to QUIT is
 * no failure: the results are in by then.
 *
 * Transcript: both directions, "C: " and "S: " lines ending in LF (CR
 * dropped, other control octets as \xNN), cut at transcript_max octets
 * with a final "[truncated]" line.
 *
 * Memory (what a daemon with < 10 KiB per probe counts on): the struct
 * with its reply parser is about 1.1 KiB plus the HELO and sender names;
 * each recipient adds 80 octets plus its address (and its own sender)
 * plus its reply text (at most SMTP_REPLY_TEXT_MAX); a transaction with a
 * sender other than the config's holds a copy of it; the output buffer
 * (core/cmdbuf.h) exists only while output waits (one command is < 300
 * octets; a pipelined batch at most DIALOG_OUTPUT_MAX); the transcript
 * (core/transcript.h) grows by doubling up to transcript_max.
 * dialog_memory() adds it all up. A server cannot make it grow: replies
 * are parsed in fixed memory.
 *
 * Ownership: dialog_new() copies the config and its strings; the caller
 * owns the dialog and frees it with dialog_free() (NULL is a no-op). Every
 * pointer the dialog hands out is borrowed: output until
 * dialog_output_consumed() or the next event call (copy it into the write
 * request); results until the next dialog_next_result() or dialog_free();
 * the failure and the transcript until dialog_free(). Tags are the
 * caller's; the dialog never dereferences them.
 * Errors: event calls return enum dialog_rc; dialog_add_rcpt() and
 * dialog_add_txn() may return a negative enum dialog_err. Calling an
 * event in a state where it cannot happen (bytes before connecting) is a
 * caller bug and aborts.
 * Loop: none; pure. */
#ifndef RCPTD_CORE_DIALOG_H
#define RCPTD_CORE_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/smtp_reply.h"
#include "core/verdict.h"

/* One RSET, one MAIL and DIALOG_RCPT_PER_TXN_MAX RCPT lines of the
 * longest address (RFC 5321 4.5.3.1.3), plus QUIT: under 28 KiB. */
#define DIALOG_OUTPUT_MAX (32 * 1024)
/* RFC 5321 4.5.3.1.8: a server must take at least 100 recipients. */
#define DIALOG_RCPT_PER_TXN_MAX 100
/* The transcript is for people debugging one session; 8 KiB holds a whole
 * ordinary session with room for a few rejections' texts. */
#define DIALOG_TRANSCRIPT_MAX 8192
/* RFC 5321 4.1.1.1: a Domain or address literal; 255 is generous. */
#define DIALOG_HELO_MAX 255

enum dialog_state {
	DIALOG_INIT = 0, /* not connected */
	DIALOG_BANNER,	 /* waiting for the greeting */
	DIALOG_EHLO,
	DIALOG_HELO,
	DIALOG_RSET,
	DIALOG_MAIL,
	DIALOG_RCPT, /* waiting for one or more RCPT replies */
	DIALOG_IDLE, /* open, nothing to do, waiting for dialog_add_rcpt */
	DIALOG_QUIT,
	DIALOG_DONE,
	DIALOG_STATE_LAST
};

enum dialog_rc {
	DIALOG_RC_CONTINUE = 0, /* same wait: leave the timer running */
	DIALOG_RC_REARM = 1,	/* a new wait: restart it (dialog_timeout_ms) */
	DIALOG_RC_DONE = 2	/* finished: flush output, close, free */
};

enum dialog_err {
	DIALOG_ERR_CLOSED = -1, /* closing or finished: no new recipients */
	DIALOG_ERR_FULL = -2,	/* the session took rcpt_max recipients */
	DIALOG_ERR_NOMEM = -3
};

enum dialog_fail {
	DIALOG_FAIL_NONE = 0,
	DIALOG_FAIL_CONNECT,
	DIALOG_FAIL_TIMEOUT,
	DIALOG_FAIL_PROTOCOL,
	DIALOG_FAIL_CLOSED,
	DIALOG_FAIL_REJECTED,
	DIALOG_FAIL_LOCAL,
	DIALOG_FAIL_LAST
};

enum dialog_rcpt_status {
	DIALOG_RCPT_REPLIED = 0,
	DIALOG_RCPT_NOT_ATTEMPTED,
	DIALOG_RCPT_UNANSWERED,
	DIALOG_RCPT_NEEDS_SMTPUTF8,
	DIALOG_RCPT_REFUSED,
	DIALOG_RCPT_STATUS_LAST
};

/* A realloc-style allocator (lua_Alloc): size 0 frees @ptr and returns
 * NULL. Tests use it to fail the Nth allocation. */
typedef void *(*dialog_alloc_fn)(void *ud, void *ptr, size_t size);

struct dialog_config {
	const char *helo;      /* EHLO/HELO name: 1..DIALOG_HELO_MAX
				* printable ASCII octets, no space */
	const char *mail_from; /* reverse-path without <>, printable ASCII;
				* NULL or "" is the null sender <> */
	/* Waits in ms, per state (0 is allowed only for idle_ms). */
	unsigned banner_ms;
	unsigned ehlo_ms; /* EHLO and HELO */
	unsigned mail_ms;
	unsigned rcpt_ms; /* restarted by each RCPT reply of a batch */
	unsigned rset_ms;
	unsigned quit_ms;
	unsigned idle_ms;	  /* open session waiting for recipients;
				 * 0: QUIT as soon as the queue is empty */
	unsigned rcpt_per_txn;	  /* 1..DIALOG_RCPT_PER_TXN_MAX */
	unsigned rcpt_max;	  /* per session; 0: no limit */
	unsigned errors_max;	  /* 4yz/5yz RCPT replies per session before
				 * the rest go NOT_ATTEMPTED (refused MAILs
				 * of a session that goes on count too, see
				 * dialog_add_txn); 0: no limit */
	unsigned reject_permille; /* expected share of 4yz/5yz RCPT replies
				   * (1..1000): a pipelined batch may then
				   * carry budget * 1000 / it RCPTs; 0:
				   * unknown, batches of the budget */
	bool pipelining;	  /* use PIPELINING when offered */
	size_t transcript_max;	  /* 0: none; <= DIALOG_TRANSCRIPT_MAX */
	dialog_alloc_fn alloc;	  /* NULL: malloc/realloc/free */
	void *alloc_ud;
};

struct dialog_failure {
	enum dialog_fail kind; /* DIALOG_FAIL_NONE: no failure */
	enum smtp_stage stage; /* where it happened */
	int code;	       /* the reply's code; 0 when none */
	char enhanced[SMTP_REPLY_ENHANCED_MAX];
	const char *text;   /* the reply's text, "" when none */
	const char *detail; /* static English: "timeout waiting for ..." */
};

struct dialog_result {
	void *tag;	     /* as given to dialog_add_rcpt */
	const char *address; /* as given (cut at ADDRESS_MAX) */
	enum dialog_rcpt_status status;
	enum dialog_fail fail; /* why the session stopped short of
				       * it; NONE when it did not */
	enum smtp_stage stage; /* of the reply below; NONE: none */
	int code;	       /* 0 when no reply decided it */
	char enhanced[SMTP_REPLY_ENHANCED_MAX];
	const char *text; /* reply text or local reason; never NULL */
};

struct dialog;

/* dialog_config_default - the embedded defaults (helo NULL: the daemon
 * must set it). Waits are for a verifier, not a mailer (RFC 5321 4.5.3.2's
 * minutes are for delivery): banner 30 s, as servers delay greetings on
 * purpose (Exim, postscreen); RCPT 30 s, as servers verify the sender or
 * the recipient while we wait; EHLO and MAIL 15 s; RSET 10 s; QUIT 5 s;
 * idle 0. 10 recipients per transaction, 50 per session; errors_max 8,
 * under Postfix's smtpd_soft_error_limit (10), past which every reply is
 * delayed, and far under its hard limit (20), which ends the session;
 * pipelining on; transcript 4 KiB. */
void dialog_config_default(struct dialog_config *cfg);

/* dialog_config_check - NULL when @cfg is usable, else a static sentence
 * saying what is wrong (for a start-up message). */
const char *dialog_config_check(const struct dialog_config *cfg);

/* dialog_new - a dialog in DIALOG_INIT; NULL when out of memory or when
 * dialog_config_check() refuses @cfg. Caller owns it. */
struct dialog *dialog_new(const struct dialog_config *cfg);

/* dialog_free - free @d and everything it handed out; NULL is a no-op.
 * Returns NULL, so that `d = dialog_free(d)`. */
struct dialog *dialog_free(struct dialog *d);

/* dialog_add_rcpt - queue @address (a C string; NUL-free by nature) with
 * the caller's @tag. Refused addresses are accepted here and end at once
 * with a REFUSED result. Returns a DIALOG_RC_* (REARM when an idle session
 * started sending) or DIALOG_ERR_CLOSED, _FULL, _NOMEM. */
int dialog_add_rcpt(struct dialog *d, const char *address, void *tag);

/* dialog_add_txn - queue @rcpt with its own reverse-path @sender (without
 * <>; "" is the null sender; NULL is the config's mail_from, which makes
 * this dialog_add_rcpt()). Recipients go out in the order queued;
 * consecutive ones with the same sender share a transaction (up to
 * rcpt_per_txn), and one whose sender differs from the open transaction's
 * starts the next: RSET, MAIL FROM:<sender>. With rcpt_per_txn 1 every
 * recipient is a transaction of its own.
 * Neither @sender nor @rcpt goes through the address grammar: an audit
 * sends forms that badly configured servers took for local addresses on
 * purpose ("a@b"@c, @c:a@b, b!a, a%b@c, a@, a). Only the line writer's
 * guards apply: a control octet in either, an empty @rcpt, or either over
 * ADDRESS_MAX octets ends the recipient REFUSED at once. A non-ASCII
 * sender needs SMTPUTF8 as a non-ASCII recipient does.
 * A refused MAIL (4yz/5yz but 421) ends the session as dialog.h says when
 * every queued recipient has that sender. When another sender waits, the
 * session goes on: the transaction's recipients, and every queued one
 * with the refused sender (it is not offered again), end NOT_ATTEMPTED
 * with the MAIL reply at stage mail and fail NONE; the replies owed to
 * their pipelined RCPTs are read and dropped; the next transaction starts
 * with RSET. Returns as dialog_add_rcpt(). */
int dialog_add_txn(struct dialog *d, const char *sender, const char *rcpt,
		   void *tag);

/* dialog_close_when_idle - no more recipients: QUIT once the queue is
 * empty (at once when idle; DONE at once when never connected and empty).
 */
enum dialog_rc dialog_close_when_idle(struct dialog *d);

/* Events. dialog_on_connected and dialog_on_connect_failed only in
 * DIALOG_INIT; dialog_on_bytes only after connecting. _on_timeout and
 * _on_closed anywhere (in INIT they mean a connect timeout and a failed
 * connect; after DONE they do nothing). */
enum dialog_rc dialog_on_connected(struct dialog *d);
enum dialog_rc dialog_on_connect_failed(struct dialog *d);
enum dialog_rc dialog_on_bytes(struct dialog *d, const char *buf, size_t len);
enum dialog_rc dialog_on_timeout(struct dialog *d);
enum dialog_rc dialog_on_closed(struct dialog *d);

/* dialog_output - the octets to send, borrowed (see above); returns their
 * count, 0 when none. dialog_output_consumed - @n of them were sent. */
size_t dialog_output(const struct dialog *d, const char **out);
void dialog_output_consumed(struct dialog *d, size_t n);

/* dialog_timeout_ms - the current state's wait; 0: no timer (before
 * connecting the daemon's connect timeout applies; DONE has none). */
unsigned dialog_timeout_ms(const struct dialog *d);

/* dialog_next_result - the next finished recipient, in the order they
 * finished; false when none is waiting. */
bool dialog_next_result(struct dialog *d, struct dialog_result *res);

/* dialog_failure - the session failure; kind DIALOG_FAIL_NONE when none.
 * Never NULL. */
const struct dialog_failure *dialog_failure(const struct dialog *d);

/* dialog_transcript - the transcript so far, borrowed; returns its length
 * (0 and "" when disabled). */
size_t dialog_transcript(const struct dialog *d, const char **out);

enum dialog_state dialog_state(const struct dialog *d);
bool dialog_finished(const struct dialog *d);	    /* state DONE */
bool dialog_accepting(const struct dialog *d);	    /* add_rcpt may succeed */
unsigned dialog_extensions(const struct dialog *d); /* SMTP_EXT_* of EHLO */
uint64_t dialog_size_limit(const struct dialog *d); /* EHLO SIZE, 0: none */
unsigned dialog_pending(const struct dialog *d);    /* recipients unfinished */
size_t dialog_memory(const struct dialog *d);	    /* heap octets in use */

/* Names for logs and tests; "?" for an out-of-range value. */
const char *dialog_state_name(enum dialog_state state);
const char *dialog_fail_name(enum dialog_fail kind);
const char *dialog_rcpt_status_name(enum dialog_rcpt_status status);

#endif
