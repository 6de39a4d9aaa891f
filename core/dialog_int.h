/* dialog_int - what the two halves of the dialog share: its structure and
 * the few cross-file internals (named dialog__*, as libuv's uv__*).
 *   core/dialog.c       the public face: config, recipients and their
 *                       results, the events, the accessors;
 *   core/dialog_smtp.c  the conversation: which command comes next and
 *                       what each reply means.
 * Only those two files include this header; the contract is dialog.h. */
#ifndef RCPTD_CORE_DIALOG_INT_H
#define RCPTD_CORE_DIALOG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmdbuf.h"
#include "core/dialog.h"
#include "core/smtp_reply.h"
#include "core/transcript.h"

/* Local reasons, as result texts. */
#define WHY_CONTROL	 "refused: control character"
#define WHY_EMPTY	 "refused: empty address"
#define WHY_LONG	 "refused: address too long"
#define WHY_FROM_CONTROL "refused: control character in the sender"
#define WHY_FROM_LONG	 "refused: sender too long"
#define WHY_UTF8	 "not attempted: needs SMTPUTF8"
#define WHY_BUDGET	 "not attempted: session error limit reached"
#define WHY_NO_ROOM	 "not attempted: server takes no more recipients"

struct dialog_rcpt {
	struct dialog_rcpt *next;
	void *tag;
	const char *sender; /* its own reverse-path, inside address[]
			     * after the address; NULL: the config's */
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
	char address[]; /* len + 1, then the sender and its NUL */
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
	bool txn_refused;      /* its MAIL was refused: no RCPT joins it */
	bool mail_sent;	       /* MAIL written, its reply not read yet */
	char *txn_from;	       /* its sender, owned; NULL: cfg.mail_from */
	unsigned txn_cap;      /* recipients per transaction (may shrink) */
	unsigned txn_sent;     /* RCPTs written in it */
	unsigned txn_answered; /* RCPT replies other than "too many" */
	unsigned skip;	       /* replies to drop: RCPTs behind a refused
				* MAIL, or before QUIT's own */
	unsigned errors;       /* 4yz/5yz replies counted this session */
	unsigned added;	       /* recipients taken by dialog_add_txn */

	struct rcpt_list pending;     /* not sent yet */
	struct rcpt_list inflight;    /* sent, in order; replies pending */
	struct rcpt_list deferred;    /* "too many recipients": send again */
	struct rcpt_list done;	      /* results not yet pulled */
	struct dialog_rcpt *reported; /* last pulled result, freed next */

	struct dialog_failure fail;
	char *fail_text; /* owned copy behind fail.text */

	struct cmdbuf out;    /* pending output */
	struct transcript ts; /* both directions, for people */

	char names[]; /* helo NUL mail_from NUL */
};

/* ---- core/dialog.c ---- */

/* dialog__panic - a broken invariant (a caller or dialog bug): name the
 * function and the state, and abort (Postfix msg_panic). */
__attribute__((noreturn)) void dialog__panic(const char *fn,
					     const struct dialog *d);
void *dialog__alloc(const struct dialog *d, void *ptr, size_t size);
/* dialog__set_state - the only writer of d->state. */
void dialog__set_state(struct dialog *d, enum dialog_state next);

void dialog__push(struct rcpt_list *l, struct dialog_rcpt *r);
struct dialog_rcpt *dialog__pop(struct rcpt_list *l);
/* dialog__prepend - put all of @src, in order, before @dst's head. */
void dialog__prepend(struct rcpt_list *dst, struct rcpt_list *src);

/* dialog__sender - the reverse-path @r is sent with. */
const char *dialog__sender(const struct dialog *d, const struct dialog_rcpt *r);
/* dialog__clear_reply - forget the reply that was recorded for @r. */
void dialog__clear_reply(struct dialog *d, struct dialog_rcpt *r);
/* dialog__set_reply - @rep, read at @stage, decided @r. Out of memory
 * loses only the text. */
void dialog__set_reply(struct dialog *d, struct dialog_rcpt *r,
		       const struct smtp_reply *rep, enum smtp_stage stage);
/* dialog__end - @r is finished with @status; @why is its text when no
 * reply decided it. */
void dialog__end(struct dialog *d, struct dialog_rcpt *r,
		 enum dialog_rcpt_status status, const char *why);
/* dialog__end_failed - @r ends because the session failed: it carries the
 * failure, not any reply of its own. */
void dialog__end_failed(struct dialog *d, struct dialog_rcpt *r,
			enum dialog_rcpt_status status);

/* ---- core/dialog_smtp.c ---- */

/* dialog__on_reply - one complete reply, to the oldest command in
 * flight. */
void dialog__on_reply(struct dialog *d, const struct smtp_reply *rep);
/* dialog__advance - nothing is outstanding: decide the next step. */
void dialog__advance(struct dialog *d);
/* dialog__fail - the session failed: record the first failure, end every
 * unfinished recipient, and QUIT or stop. @rep may be NULL; @detail is
 * static. */
void dialog__fail(struct dialog *d, enum dialog_fail kind,
		  const struct smtp_reply *rep, const char *detail);
/* dialog__quit - send QUIT; the first @skip replies still to come answer
 * earlier pipelined commands. */
void dialog__quit(struct dialog *d, unsigned skip);

#endif
