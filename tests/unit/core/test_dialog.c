/* test_dialog - the SMTP client dialog as transcripts, in the manner of
 * curl's tests/data: a scripted server and the exact bytes the dialog must
 * send, then the result of each recipient and the session failure.
 *
 * Script lines (each ends in LF):
 *   S: text   the server sends "text" CRLF; consecutive S: lines go in one
 *             dialog_on_bytes() call (or byte by byte, see below)
 *   B: text   raw server bytes, with \r \n \0 \\ escapes, no CRLF added
 *   C: text   the dialog must send "text" CRLF; all C: lines after an
 *             event are exactly what that event made it send
 *   T / X     dialog_on_timeout() / dialog_on_closed()
 *   A addr    dialog_add_rcpt(addr) in the middle of the session
 *   F <from> addr  dialog_add_txn(from, addr) in the middle of it
 *   Q         dialog_close_when_idle()
 *   W ms      dialog_timeout_ms() must be ms (no event)
 * Every script runs twice: server bytes in one call, and one byte per
 * call. The dialog was connected (dialog_on_connected) before line 1. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dialog.h"

Suite *dialog_suite(void);

#define OUT_MAX 65536

struct want {
	const char *address;
	enum dialog_rcpt_status status;
	enum smtp_stage stage;
	int code;
	const char *enhanced;
	enum dialog_fail fail;
	const char *text; /* NULL: not checked */
};

struct dtest {
	const char *name;
	const char *rcpts[6];
	/* with txn: dialog_add_txn(senders[i], rcpts[i]), NULL meaning the
	 * config's sender; else dialog_add_rcpt(rcpts[i]) */
	bool txn;
	const char *senders[6];
	/* config changes from base_config() */
	bool no_pipelining;
	unsigned per_txn;
	unsigned errors_max;
	unsigned reject_permille;
	unsigned idle_ms;
	const char *mail_from;
	const char *script;
	struct want want[7];
	enum dialog_fail fail;
	enum smtp_stage fail_stage;
	int fail_code;
	bool open_at_end; /* not finished when the script ends */
};

static void base_config(struct dialog_config *cfg)
{
	dialog_config_default(cfg);
	cfg->helo = "verifier.example.org";
	cfg->errors_max = 0;
	cfg->transcript_max = DIALOG_TRANSCRIPT_MAX;
}

#define EHLO_PLAIN                                                             \
	"S: 220 mx.example.net ESMTP\n"                                        \
	"C: EHLO verifier.example.org\n"                                       \
	"S: 250-mx.example.net\n"                                              \
	"S: 250-SIZE 10240000\n"                                               \
	"S: 250 8BITMIME\n"
#define EHLO_PIPE                                                              \
	"S: 220 mx.example.net ESMTP\n"                                        \
	"C: EHLO verifier.example.org\n"                                       \
	"S: 250-mx.example.net\n"                                              \
	"S: 250-PIPELINING\n"                                                  \
	"S: 250 8BITMIME\n"
#define EHLO_UTF8                                                              \
	"S: 220 mx.example.net ESMTP\n"                                        \
	"C: EHLO verifier.example.org\n"                                       \
	"S: 250-mx.example.net\n"                                              \
	"S: 250 SMTPUTF8\n"

#define A "a@example.net"
#define B "b@example.net"
#define C "c@example.net"
#define D "d@example.net"
#define E "e@example.net"
#define REPLIED(addr, code, enh)                                               \
	{                                                                      \
		addr, DIALOG_RCPT_REPLIED, SMTP_STAGE_RCPT, code, enh,         \
		    DIALOG_FAIL_NONE, NULL                                     \
	}

static const struct dtest tests[] = {
    {.name = "plain deliverable",
     .rcpts = {A},
     .script = "W 30000\n" EHLO_PLAIN "C: MAIL FROM:<>\n"
	       "W 15000\n"
	       "S: 250 2.1.0 Ok\n"
	       "C: RCPT TO:<" A ">\n"
	       "W 30000\n"
	       "S: 250 2.1.5 Ok\n"
	       "C: QUIT\n"
	       "W 5000\n"
	       "S: 221 2.0.0 Bye\n"
	       "W 0\n",
     .want = {{A, DIALOG_RCPT_REPLIED, SMTP_STAGE_RCPT, 250, "2.1.5",
	       DIALOG_FAIL_NONE, "Ok"}}},

    {.name = "unknown user 550 5.1.1",
     .rcpts = {A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 2.1.0 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 550 5.1.1 <" A ">: Recipient address rejected: "
			  "User unknown in local recipient table\n"
			  "C: QUIT\n"
			  "S: 221 2.0.0 Bye\n",
     .want = {{A, DIALOG_RCPT_REPLIED, SMTP_STAGE_RCPT, 550, "5.1.1",
	       DIALOG_FAIL_NONE,
	       "<" A ">: Recipient address rejected: User unknown in local "
	       "recipient table"}}},

    {.name = "EHLO 502 falls back to HELO",
     .rcpts = {A},
     .script = "S: 220 old.example.net SMTP\n"
	       "C: EHLO verifier.example.org\n"
	       "S: 502 5.5.2 Error: command not recognized\n"
	       "C: HELO verifier.example.org\n"
	       "W 15000\n"
	       "S: 250 old.example.net\n"
	       "C: MAIL FROM:<>\n"
	       "S: 250 Ok\n"
	       "C: RCPT TO:<" A ">\n"
	       "S: 250 Ok\n"
	       "C: QUIT\n"
	       "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "")}},

    {.name = "PIPELINING: MAIL and every RCPT in one output",
     .rcpts = {A, B, C},
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "C: RCPT TO:<" C ">\n"
			 "S: 250 2.1.0 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "S: 550 5.1.1 User unknown\n"
			 "S: 250 2.1.5 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "2.1.5"), REPLIED(B, 550, "5.1.1"),
	      REPLIED(C, 250, "2.1.5")}},

    {.name = "PIPELINING refused by config",
     .rcpts = {A, B},
     .no_pipelining = true,
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<" A ">\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 250 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, "")}},

    {.name = "transactions of 2 with RSET between",
     .rcpts = {A, B, C},
     .per_txn = 2,
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 250 Ok\n"
			  "C: RSET\n"
			  "W 10000\n"
			  "S: 250 Ok\n"
			  "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" C ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, ""), REPLIED(C, 250, "")}},

    {.name = "pipelined RSET, MAIL and RCPT in one group",
     .rcpts = {A, B, C},
     .per_txn = 2,
     .mail_from = "verify@example.org",
     .script = EHLO_PIPE "C: MAIL FROM:<verify@example.org>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "C: RSET\n"
			 "C: MAIL FROM:<verify@example.org>\n"
			 "C: RCPT TO:<" C ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, ""), REPLIED(C, 250, "")}},

    {.name = "452 4.5.3 after 2: transactions of 2 from then on",
     .rcpts = {A, B, C, D, E},
     .per_txn = 5,
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "C: RCPT TO:<" C ">\n"
			 "C: RCPT TO:<" D ">\n"
			 "C: RCPT TO:<" E ">\n"
			 "S: 250 2.1.0 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "S: 550 5.1.1 User unknown\n"
			 "S: 452 4.5.3 Error: too many recipients\n"
			 "S: 452 4.5.3 Error: too many recipients\n"
			 "S: 452 4.5.3 Error: too many recipients\n"
			 "C: RSET\n"
			 "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" C ">\n"
			 "C: RCPT TO:<" D ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "C: RSET\n"
			 "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" E ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "2.1.5"), REPLIED(B, 550, "5.1.1"),
	      REPLIED(C, 250, "2.1.5"), REPLIED(D, 250, "2.1.5"),
	      REPLIED(E, 250, "2.1.5")}},

    {.name = "recipients added during a pipelined batch go out together",
     .rcpts = {A},
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "A " B "\n"
			 "A " C "\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<" B ">\n"
			 "C: RCPT TO:<" C ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, ""), REPLIED(C, 250, "")}},

    {.name = "452 without enhanced code; other 452s are answers",
     .rcpts = {A, B, C, D},
     .no_pipelining = true,
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 452 Insufficient system storage\n"
			  "C: RCPT TO:<" C ">\n"
			  "S: 452 4.2.2 Mailbox full\n"
			  "C: RCPT TO:<" D ">\n"
			  "S: 452 Too many recipients\n"
			  "C: RSET\n"
			  "S: 250 Ok\n"
			  "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" D ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 452, ""),
	      REPLIED(C, 452, "4.2.2"), REPLIED(D, 250, "")}},

    {.name = "452 to a fresh transaction: the rest are not attempted",
     .rcpts = {A, B},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 452 4.5.3 Too many recipients\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_RCPT, 452, "4.5.3",
	       DIALOG_FAIL_NONE, "Too many recipients"},
	      {B, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_NONE, 0, "",
	       DIALOG_FAIL_NONE,
	       "not attempted: server takes no more recipients"}}},

    {.name = "421 after 2 rejections (Postfix hard error limit)",
     .rcpts = {A, B, C, D},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 550 5.1.1 unknown\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 550 5.1.1 unknown\n"
			  "C: RCPT TO:<" C ">\n"
			  "S: 421 4.7.0 mx Error: too many errors\n",
     .want = {REPLIED(A, 550, "5.1.1"),
	      REPLIED(B, 550, "5.1.1"),
	      {C, DIALOG_RCPT_UNANSWERED, SMTP_STAGE_RCPT, 421, "4.7.0",
	       DIALOG_FAIL_REJECTED, "mx Error: too many errors"},
	      {D, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_RCPT, 421, "4.7.0",
	       DIALOG_FAIL_REJECTED, NULL}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_RCPT,
     .fail_code = 421},

    {.name = "hang-up after a rejection in a pipelined batch",
     .rcpts = {A, B, C},
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "C: RCPT TO:<" C ">\n"
			 "S: 250 Ok\n"
			 "S: 550 5.1.1 unknown\n"
			 "X\n",
     .want = {REPLIED(A, 550, "5.1.1"),
	      {B, DIALOG_RCPT_UNANSWERED, SMTP_STAGE_RCPT, 0, "",
	       DIALOG_FAIL_CLOSED, "connection closed by the server"},
	      {C, DIALOG_RCPT_UNANSWERED, SMTP_STAGE_RCPT, 0, "",
	       DIALOG_FAIL_CLOSED, NULL}},
     .fail = DIALOG_FAIL_CLOSED,
     .fail_stage = SMTP_STAGE_RCPT},

    {.name = "error budget bounds the batch and ends the session",
     .rcpts = {A, B, C},
     .errors_max = 2,
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 250 Ok\n"
			 "S: 550 5.1.1 unknown\n"
			 "S: 550 5.1.1 unknown\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 550, "5.1.1"),
	      REPLIED(B, 550, "5.1.1"),
	      {C, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_NONE, 0, "",
	       DIALOG_FAIL_NONE,
	       "not attempted: session error limit reached"}}},

    {.name = "a low share of rejections lets a batch pass the budget",
     .rcpts = {A, B, C, D, E},
     .errors_max = 2,
     .reject_permille = 500, /* 2 errors expected in 4 RCPTs */
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "C: RCPT TO:<" C ">\n"
			 "C: RCPT TO:<" D ">\n"
			 "S: 250 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "S: 550 5.1.1 unknown\n"
			 "S: 250 2.1.5 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "C: RCPT TO:<" E ">\n"
			 "S: 250 2.1.5 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "2.1.5"), REPLIED(B, 550, "5.1.1"),
	      REPLIED(C, 250, "2.1.5"), REPLIED(D, 250, "2.1.5"),
	      REPLIED(E, 250, "2.1.5")}},

    {.name = "421 banner: no QUIT",
     .rcpts = {A},
     .script = "S: 421 4.3.2 Service not available\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_BANNER, 421, "4.3.2",
	       DIALOG_FAIL_REJECTED, "Service not available"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_BANNER,
     .fail_code = 421},

    {.name = "554 banner: QUIT (RFC 5321 3.1)",
     .rcpts = {A},
     .script = "S: 554 5.7.1 No SMTP service here\n"
	       "C: QUIT\n"
	       "S: 503 5.5.1 Bad sequence\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_BANNER, 554, "5.7.1",
	       DIALOG_FAIL_REJECTED, "No SMTP service here"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_BANNER,
     .fail_code = 554},

    {.name = "421 to EHLO",
     .rcpts = {A},
     .script = "S: 220 mx\n"
	       "C: EHLO verifier.example.org\n"
	       "S: 421 4.7.0 Try again later\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_EHLO, 421, "4.7.0",
	       DIALOG_FAIL_REJECTED, NULL}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_EHLO,
     .fail_code = 421},

    {.name = "EHLO 450: rejected, QUIT",
     .rcpts = {A},
     .script = "S: 220 mx\n"
	       "C: EHLO verifier.example.org\n"
	       "S: 450 4.7.1 not now\n"
	       "C: QUIT\n"
	       "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_EHLO, 450, "4.7.1",
	       DIALOG_FAIL_REJECTED, "not now"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_EHLO,
     .fail_code = 450},

    {.name = "RSET refused",
     .rcpts = {A, B},
     .per_txn = 1,
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "C: RSET\n"
			 "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 500 5.5.1 no RSET today\n"
			 "C: QUIT\n"
			 "S: 503 5.5.1 need RSET\n"
			 "S: 503 5.5.1 need RSET\n"
			 "W 5000\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""),
	      {B, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 500, "5.5.1",
	       DIALOG_FAIL_REJECTED, "no RSET today"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_MAIL,
     .fail_code = 500},

    {.name = "UTF-8 recipient behind an open ASCII transaction",
     .rcpts = {A},
     .script = "S: 220 mx.example.net ESMTP\n"
	       "C: EHLO verifier.example.org\n"
	       "S: 250-mx.example.net\n"
	       "S: 250-PIPELINING\n"
	       "S: 250 SMTPUTF8\n"
	       "C: MAIL FROM:<>\n"
	       "C: RCPT TO:<" A ">\n"
	       "A " B "\n"
	       "A j\xc3\xb6rg@example.de\n"
	       "S: 250 Ok\n"
	       "S: 250 Ok\n"
	       "C: RCPT TO:<" B ">\n"
	       "S: 250 Ok\n"
	       "C: RSET\n"
	       "C: MAIL FROM:<> SMTPUTF8\n"
	       "C: RCPT TO:<j\xc3\xb6rg@example.de>\n"
	       "S: 250 Ok\n"
	       "S: 250 Ok\n"
	       "S: 250 Ok\n"
	       "C: QUIT\n"
	       "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, ""),
	      REPLIED("j\xc3\xb6rg@example.de", 250, "")}},

    {.name = "HELO refused after EHLO 500",
     .rcpts = {A},
     .script = "S: 220 mx\n"
	       "C: EHLO verifier.example.org\n"
	       "S: 500 what\n"
	       "C: HELO verifier.example.org\n"
	       "S: 550 5.7.1 go away\n"
	       "C: QUIT\n"
	       "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_EHLO, 550, "5.7.1",
	       DIALOG_FAIL_REJECTED, "go away"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_EHLO,
     .fail_code = 550},

    {.name = "554 to MAIL FROM",
     .rcpts = {A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 554 5.7.1 Client host rejected: blocked\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 554, "5.7.1",
	       DIALOG_FAIL_REJECTED, "Client host rejected: blocked"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_MAIL,
     .fail_code = 554},

    {.name = "554 to a pipelined MAIL: RCPT replies skipped before QUIT's",
     .rcpts = {A, B},
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 554 5.7.1 blocked\n"
			 "C: QUIT\n"
			 "S: 503 5.5.1 Error: need MAIL command\n"
			 "S: 503 5.5.1 Error: need MAIL command\n"
			 "W 5000\n"
			 "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 554, "5.7.1",
	       DIALOG_FAIL_REJECTED, "blocked"},
	      {B, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 554, "5.7.1",
	       DIALOG_FAIL_REJECTED, "blocked"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_MAIL,
     .fail_code = 554},

    {.name = "timeout at the banner",
     .rcpts = {A},
     .script = "T\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_BANNER, 0, "",
	       DIALOG_FAIL_TIMEOUT, "timeout waiting for a reply"}},
     .fail = DIALOG_FAIL_TIMEOUT,
     .fail_stage = SMTP_STAGE_BANNER},

    {.name = "timeout in a pipelined RCPT batch",
     .rcpts = {A, B},
     .script = EHLO_PIPE "C: MAIL FROM:<>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 250 Ok\n"
			 "S: 250 Ok\n"
			 "B: 250 O\n"
			 "T\n",
     .want = {REPLIED(A, 250, ""),
	      {B, DIALOG_RCPT_UNANSWERED, SMTP_STAGE_RCPT, 0, "",
	       DIALOG_FAIL_TIMEOUT, NULL}},
     .fail = DIALOG_FAIL_TIMEOUT,
     .fail_stage = SMTP_STAGE_RCPT},

    {.name = "garbage banner is a protocol error",
     .rcpts = {A},
     .script = "S: garbage\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_BANNER, 0, "",
	       DIALOG_FAIL_PROTOCOL, "reply code is not 3 digits 2yz..5yz"}},
     .fail = DIALOG_FAIL_PROTOCOL,
     .fail_stage = SMTP_STAGE_BANNER},

    {.name = "354 to RCPT is a protocol error",
     .rcpts = {A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 354 go ahead\n",
     .want = {{A, DIALOG_RCPT_UNANSWERED, SMTP_STAGE_RCPT, 354, "",
	       DIALOG_FAIL_PROTOCOL, "go ahead"}},
     .fail = DIALOG_FAIL_PROTOCOL,
     .fail_stage = SMTP_STAGE_RCPT,
     .fail_code = 354},

    {.name = "CR LF in a recipient: refused, never sent",
     .rcpts = {"evil@example.net\r\nRSET", "tab\t@example.net", A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{"evil@example.net\r\nRSET", DIALOG_RCPT_REFUSED, SMTP_STAGE_NONE,
	       0, "", DIALOG_FAIL_NONE, "refused: control character"},
	      {"tab\t@example.net", DIALOG_RCPT_REFUSED, SMTP_STAGE_NONE, 0, "",
	       DIALOG_FAIL_NONE, "refused: control character"},
	      REPLIED(A, 250, "")}},

    {.name = "UTF-8 recipient, server offers SMTPUTF8",
     .rcpts = {A, "j\xc3\xb6rg@example.de"},
     .script = EHLO_UTF8 "C: MAIL FROM:<> SMTPUTF8\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<" A ">\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<j\xc3\xb6rg@example.de>\n"
			 "S: 250 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED("j\xc3\xb6rg@example.de", 250, "")}},

    {.name = "UTF-8 recipient, server without SMTPUTF8",
     .rcpts = {"j\xc3\xb6rg@example.de", A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{"j\xc3\xb6rg@example.de", DIALOG_RCPT_NEEDS_SMTPUTF8,
	       SMTP_STAGE_NONE, 0, "", DIALOG_FAIL_NONE,
	       "not attempted: needs SMTPUTF8"},
	      REPLIED(A, 250, "")}},

    {.name = "QUIT without 221: timeout",
     .rcpts = {A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "T\n",
     .want = {REPLIED(A, 250, "")}},

    {.name = "QUIT without 221: closed, or garbage",
     .rcpts = {A, B},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "S: bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, "")}},

    {.name = "idle session takes a new recipient, then idles out",
     .rcpts = {A},
     .idle_ms = 7000,
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "W 7000\n"
			  "A " B "\n"
			  "C: RCPT TO:<" B ">\n"
			  "W 30000\n"
			  "S: 550 5.1.1 no\n"
			  "W 7000\n"
			  "T\n"
			  "C: QUIT\n"
			  "W 5000\n"
			  "X\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 550, "5.1.1")}},

    {.name = "close when idle",
     .rcpts = {A},
     .idle_ms = 7000,
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "Q\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "")}},

    {.name = "421 while idle",
     .idle_ms = 7000,
     .script = EHLO_PLAIN "S: 421 4.4.2 idle timeout\n",
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_NONE,
     .fail_code = 421},

    {.name = "a reply while idle is a protocol error",
     .idle_ms = 7000,
     .script = EHLO_PLAIN "S: 250 surprise\n",
     .fail = DIALOG_FAIL_PROTOCOL,
     .fail_stage = SMTP_STAGE_NONE,
     .fail_code = 250},

    {.name = "no recipients yet: idle after EHLO",
     .idle_ms = 7000,
     .script = EHLO_PLAIN "W 7000\n"
			  "A " A "\n"
			  "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "W 7000\n",
     .want = {REPLIED(A, 250, "")},
     .open_at_end = true},

    {.name = "bare LF replies and a split reply",
     .rcpts = {A},
     .script = "B: 220 mx\\n\n"
	       "C: EHLO verifier.example.org\n"
	       "B: 250-mx\\n250 PIPE\n"
	       "B: LINING\\n\n"
	       "C: MAIL FROM:<>\n"
	       "C: RCPT TO:<" A ">\n"
	       "B: 250 ok\\n250 ok\\n221 bye\\n\n"
	       "C: QUIT\n",
     .want = {REPLIED(A, 250, "")}},

    {.name = "NUL in a reply is text",
     .rcpts = {A},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "B: 550 5.1.1 no\\0such\\r\\n\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_REPLIED, SMTP_STAGE_RCPT, 550, "5.1.1",
	       DIALOG_FAIL_NONE, "no?such"}}},

    /* ---- per-recipient senders (dialog_add_txn) ---- */

    {.name = "senders: the same one shares a transaction, a new one "
	     "starts the next",
     .rcpts = {A, B, C, D},
     .txn = true,
     .senders = {"s1@example.org", "s1@example.org", "s2@example.org", NULL},
     .script = EHLO_PLAIN "C: MAIL FROM:<s1@example.org>\n"
			  "S: 250 2.1.0 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 2.1.5 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 550 5.1.1 unknown\n"
			  "C: RSET\n"
			  "S: 250 2.0.0 Ok\n"
			  "C: MAIL FROM:<s2@example.org>\n"
			  "S: 250 2.1.0 Ok\n"
			  "C: RCPT TO:<" C ">\n"
			  "S: 250 2.1.5 Ok\n"
			  "C: RSET\n"
			  "S: 250 2.0.0 Ok\n"
			  "C: MAIL FROM:<>\n"
			  "S: 250 2.1.0 Ok\n"
			  "C: RCPT TO:<" D ">\n"
			  "S: 250 2.1.5 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "2.1.5"), REPLIED(B, 550, "5.1.1"),
	      REPLIED(C, 250, "2.1.5"), REPLIED(D, 250, "2.1.5")}},

    {.name = "relay audit: odd forms, one transaction each, a refused "
	     "MAIL does not end the session",
     .rcpts = {"\"user@outside.example\"@server.example",
	       "@server.example:user@outside.example", "outside.example!user",
	       "user%outside.example@server.example"},
     .txn = true,
     .senders = {"spamtest", "spamtest@", "", ""},
     .per_txn = 1,
     .script =
	 EHLO_PLAIN "C: MAIL FROM:<spamtest>\n"
		    "S: 250 2.1.0 Ok\n"
		    "C: RCPT TO:<\"user@outside.example\"@server.example>\n"
		    "S: 550 5.1.1 Recipient address rejected: User unknown\n"
		    "C: RSET\n"
		    "S: 250 2.0.0 Ok\n"
		    "C: MAIL FROM:<spamtest@>\n"
		    "S: 501 5.1.7 Bad sender address syntax\n"
		    "C: RSET\n"
		    "S: 250 2.0.0 Ok\n"
		    "C: MAIL FROM:<>\n"
		    "S: 250 2.1.0 Ok\n"
		    "C: RCPT TO:<outside.example!user>\n"
		    "S: 554 5.7.1 <outside.example!user>: Relay access denied\n"
		    "C: RSET\n"
		    "S: 250 2.0.0 Ok\n"
		    "C: MAIL FROM:<>\n"
		    "S: 250 2.1.0 Ok\n"
		    "C: RCPT TO:<user%outside.example@server.example>\n"
		    "S: 250 2.1.5 Ok\n"
		    "C: QUIT\n"
		    "S: 221 2.0.0 Bye\n",
     .want = {REPLIED("\"user@outside.example\"@server.example", 550, "5.1.1"),
	      {"@server.example:user@outside.example",
	       DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 501, "5.1.7",
	       DIALOG_FAIL_NONE, "Bad sender address syntax"},
	      REPLIED("outside.example!user", 554, "5.7.1"),
	      REPLIED("user%outside.example@server.example", 250, "2.1.5")}},

    {.name = "refused sender: its queued recipients end with that reply, "
	     "never offered again",
     .rcpts = {A, B, C},
     .txn = true,
     .senders = {"s1@example.org", "s2@example.org", "s1@example.org"},
     .per_txn = 1,
     .script = EHLO_PLAIN "C: MAIL FROM:<s1@example.org>\n"
			  "S: 553 5.7.1 Sender address rejected: not owned\n"
			  "C: RSET\n"
			  "S: 250 2.0.0 Ok\n"
			  "C: MAIL FROM:<s2@example.org>\n"
			  "S: 250 2.1.0 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 250 2.1.5 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 553, "5.7.1",
	       DIALOG_FAIL_NONE, "Sender address rejected: not owned"},
	      {C, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 553, "5.7.1",
	       DIALOG_FAIL_NONE, "Sender address rejected: not owned"},
	      REPLIED(B, 250, "2.1.5")}},

    {.name = "refused sender, pipelined: RCPT replies dropped, RSET, "
	     "next sender",
     .rcpts = {A, B, C},
     .txn = true,
     .senders = {"s1@example.org", "s1@example.org", "s2@example.org"},
     .script = EHLO_PIPE "C: MAIL FROM:<s1@example.org>\n"
			 "C: RCPT TO:<" A ">\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 550 5.7.1 Sender address rejected\n"
			 "S: 503 5.5.1 Error: need MAIL command\n"
			 "W 30000\n"
			 "S: 503 5.5.1 Error: need MAIL command\n"
			 "C: RSET\n"
			 "C: MAIL FROM:<s2@example.org>\n"
			 "C: RCPT TO:<" C ">\n"
			 "S: 250 2.0.0 Ok\n"
			 "S: 250 2.1.0 Ok\n"
			 "S: 250 2.1.5 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 550, "5.7.1",
	       DIALOG_FAIL_NONE, "Sender address rejected"},
	      {B, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 550, "5.7.1",
	       DIALOG_FAIL_NONE, "Sender address rejected"},
	      REPLIED(C, 250, "2.1.5")}},

    {.name = "refused sender with no other sender queued: the session "
	     "fails as before",
     .rcpts = {A, B, C},
     .txn = true,
     .senders = {"s1@example.org", "s2@example.org", "s2@example.org"},
     .per_txn = 1,
     .script = EHLO_PLAIN "C: MAIL FROM:<s1@example.org>\n"
			  "S: 250 2.1.0 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 2.1.5 Ok\n"
			  "C: RSET\n"
			  "S: 250 2.0.0 Ok\n"
			  "C: MAIL FROM:<s2@example.org>\n"
			  "S: 550 5.7.1 go away\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {REPLIED(A, 250, "2.1.5"),
	      {B, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 550, "5.7.1",
	       DIALOG_FAIL_REJECTED, "go away"},
	      {C, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 550, "5.7.1",
	       DIALOG_FAIL_REJECTED, "go away"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_MAIL,
     .fail_code = 550},

    {.name = "421 to a sender's MAIL ends the session whatever waits",
     .rcpts = {A, B},
     .txn = true,
     .senders = {"s1@example.org", "s2@example.org"},
     .script = EHLO_PLAIN "C: MAIL FROM:<s1@example.org>\n"
			  "S: 421 4.7.0 closing\n",
     .want = {{A, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 421, "4.7.0",
	       DIALOG_FAIL_REJECTED, "closing"},
	      {B, DIALOG_RCPT_NOT_ATTEMPTED, SMTP_STAGE_MAIL, 421, "4.7.0",
	       DIALOG_FAIL_REJECTED, "closing"}},
     .fail = DIALOG_FAIL_REJECTED,
     .fail_stage = SMTP_STAGE_MAIL,
     .fail_code = 421},

    {.name = "senders: control octets and length refused, never sent",
     .rcpts = {A, B, C},
     .txn = true,
     .senders = {"s@example.org\r\nRCPT TO:<x@example.com>",
		 "01234567890123456789012345678901234567890123456789"
		 "01234567890123456789012345678901234567890123456789"
		 "01234567890123456789012345678901234567890123456789"
		 "01234567890123456789012345678901234567890123456789"
		 "01234567890123456789012345678901234567890123456789"
		 "01234567890123456789012345678901234567890123456789"
		 "@x",
		 "s\x7f@example.org"},
     .script = "S: 220 mx\n"
	       "C: EHLO verifier.example.org\n"
	       "S: 250 mx\n"
	       "C: QUIT\n"
	       "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_REFUSED, SMTP_STAGE_NONE, 0, "", DIALOG_FAIL_NONE,
	       "refused: control character in the sender"},
	      {B, DIALOG_RCPT_REFUSED, SMTP_STAGE_NONE, 0, "", DIALOG_FAIL_NONE,
	       "refused: sender too long"},
	      {C, DIALOG_RCPT_REFUSED, SMTP_STAGE_NONE, 0, "", DIALOG_FAIL_NONE,
	       "refused: control character in the sender"}}},

    {.name = "a UTF-8 sender needs SMTPUTF8",
     .rcpts = {A, B},
     .txn = true,
     .senders = {"j\xc3\xb6rg@example.de", "j\xc3\xb6rg@example.de"},
     .script = EHLO_UTF8 "C: MAIL FROM:<j\xc3\xb6rg@example.de> SMTPUTF8\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<" A ">\n"
			 "S: 250 Ok\n"
			 "C: RCPT TO:<" B ">\n"
			 "S: 250 Ok\n"
			 "C: QUIT\n"
			 "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, "")}},

    {.name = "a UTF-8 sender, server without SMTPUTF8",
     .rcpts = {A, B},
     .txn = true,
     .senders = {"j\xc3\xb6rg@example.de", NULL},
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 250 Ok\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {{A, DIALOG_RCPT_NEEDS_SMTPUTF8, SMTP_STAGE_NONE, 0, "",
	       DIALOG_FAIL_NONE, "not attempted: needs SMTPUTF8"},
	      REPLIED(B, 250, "")}},

    {.name = "an idle session takes a recipient with a new sender",
     .rcpts = {A},
     .idle_ms = 7000,
     .script = EHLO_PLAIN "C: MAIL FROM:<>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" A ">\n"
			  "S: 250 Ok\n"
			  "F <s2@example.org> " B "\n"
			  "C: RSET\n"
			  "S: 250 Ok\n"
			  "C: MAIL FROM:<s2@example.org>\n"
			  "S: 250 Ok\n"
			  "C: RCPT TO:<" B ">\n"
			  "S: 250 Ok\n"
			  "F <s2@example.org> " C "\n"
			  "C: RCPT TO:<" C ">\n"
			  "S: 250 Ok\n"
			  "Q\n"
			  "C: QUIT\n"
			  "S: 221 Bye\n",
     .want = {REPLIED(A, 250, ""), REPLIED(B, 250, ""), REPLIED(C, 250, "")}},
};

#define NTESTS (sizeof(tests) / sizeof(tests[0]))

/* unescape - B: line payload to bytes; returns the length. */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n) {
			out[k++] = s[i];
			continue;
		}
		i++;
		out[k++] = s[i] == 'r'	 ? '\r'
			   : s[i] == 'n' ? '\n'
			   : s[i] == '0' ? '\0'
					 : s[i];
	}
	return k;
}

/* drain - move the dialog's output into @acc; consumed in two parts to
 * exercise partial writes. */
static void drain(struct dialog *d, char *acc, size_t *len)
{
	const char *o;
	size_t n = dialog_output(d, &o), half = n / 2;

	ck_assert_uint_le(*len + n, OUT_MAX - 1);
	memcpy(acc + *len, o, n);
	*len += n;
	acc[*len] = '\0';
	dialog_output_consumed(d, half);
	n = dialog_output(d, &o);
	dialog_output_consumed(d, n);
	ck_assert_uint_eq(dialog_output(d, &o), 0);
}

static void check_rc(struct dialog *d, int rc)
{
	ck_assert_int_ge(rc, 0);
	ck_assert_int_eq(rc == DIALOG_RC_DONE, dialog_finished(d));
}

/* run_script - play @script against @d; @bytewise feeds one octet per
 * call. */
static void run_script(struct dialog *d, const char *script, bool bytewise)
{
	static char got[OUT_MAX], want[OUT_MAX], bytes[OUT_MAX];
	const char *p = script;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t glen = 0, wlen = 0, blen = 0;

		ck_assert_ptr_nonnull(eol);
		got[0] = want[0] = '\0';
		if (p[0] == 'S' || p[0] == 'B') {
			while (*p == 'S' || *p == 'B') {
				eol = strchr(p, '\n');
				if (*p == 'S') {
					memcpy(bytes + blen, p + 3,
					       (size_t)(eol - p - 3));
					blen += (size_t)(eol - p - 3);
					memcpy(bytes + blen, "\r\n", 2);
					blen += 2;
				} else {
					blen += unescape(p + 3,
							 (size_t)(eol - p - 3),
							 bytes + blen);
				}
				p = eol + 1;
			}
			if (bytewise) {
				for (size_t i = 0; i < blen; i++) {
					check_rc(d, dialog_on_bytes(
							d, bytes + i, 1));
					drain(d, got, &glen);
				}
			} else {
				check_rc(d, dialog_on_bytes(d, bytes, blen));
			}
		} else if (p[0] == 'T') {
			check_rc(d, dialog_on_timeout(d));
			p = eol + 1;
		} else if (p[0] == 'X') {
			check_rc(d, dialog_on_closed(d));
			p = eol + 1;
		} else if (p[0] == 'Q') {
			check_rc(d, dialog_close_when_idle(d));
			p = eol + 1;
		} else if (p[0] == 'A') {
			char addr[300];
			memcpy(addr, p + 2, (size_t)(eol - p - 2));
			addr[eol - p - 2] = '\0';
			check_rc(d, dialog_add_rcpt(d, addr, NULL));
			p = eol + 1;
		} else if (p[0] == 'F') {
			const char *gt = memchr(p, '>', (size_t)(eol - p));
			char from[300], addr[300];
			ck_assert_ptr_nonnull(gt);
			memcpy(from, p + 3, (size_t)(gt - p - 3));
			from[gt - p - 3] = '\0';
			memcpy(addr, gt + 2, (size_t)(eol - gt - 2));
			addr[eol - gt - 2] = '\0';
			check_rc(d, dialog_add_txn(d, from, addr, NULL));
			p = eol + 1;
		} else if (p[0] == 'W') {
			ck_assert_uint_eq(dialog_timeout_ms(d),
					  strtoul(p + 2, NULL, 10));
			p = eol + 1;
			continue;
		} else {
			ck_abort_msg("bad script line: %.20s", p);
		}
		while (*p == 'C') {
			eol = strchr(p, '\n');
			memcpy(want + wlen, p + 3, (size_t)(eol - p - 3));
			wlen += (size_t)(eol - p - 3);
			memcpy(want + wlen, "\r\n", 2);
			wlen += 2;
			want[wlen] = '\0';
			p = eol + 1;
		}
		drain(d, got, &glen);
		ck_assert_str_eq(got, want);
	}
}

static struct dialog *new_dialog(const struct dtest *t)
{
	struct dialog_config cfg;
	struct dialog *d;

	base_config(&cfg);
	cfg.pipelining = !t->no_pipelining;
	if (t->per_txn)
		cfg.rcpt_per_txn = t->per_txn;
	cfg.errors_max = t->errors_max;
	cfg.reject_permille = t->reject_permille;
	cfg.idle_ms = t->idle_ms;
	if (t->mail_from)
		cfg.mail_from = t->mail_from;
	d = dialog_new(&cfg);
	ck_assert_ptr_nonnull(d);
	return d;
}

static void check_results(struct dialog *d, const struct dtest *t)
{
	struct dialog_result res;
	const struct dialog_failure *f = dialog_failure(d);
	size_t i = 0;

	while (dialog_next_result(d, &res)) {
		const struct want *w = &t->want[i];
		ck_assert_msg(i < 7 && w->address != NULL,
			      "unexpected result for %s", res.address);
		ck_assert_str_eq(res.address, w->address);
		ck_assert_str_eq(dialog_rcpt_status_name(res.status),
				 dialog_rcpt_status_name(w->status));
		ck_assert_str_eq(smtp_stage_name(res.stage),
				 smtp_stage_name(w->stage));
		ck_assert_int_eq(res.code, w->code);
		ck_assert_str_eq(res.enhanced, w->enhanced);
		ck_assert_str_eq(dialog_fail_name(res.fail),
				 dialog_fail_name(w->fail));
		ck_assert_ptr_nonnull(res.text);
		if (w->text != NULL)
			ck_assert_str_eq(res.text, w->text);
		i++;
	}
	ck_assert_msg(i == 7 || t->want[i].address == NULL,
		      "missing result for %s", t->want[i].address);
	ck_assert_uint_eq(dialog_pending(d), 0);
	ck_assert_str_eq(dialog_fail_name(f->kind), dialog_fail_name(t->fail));
	ck_assert_str_eq(smtp_stage_name(f->stage),
			 smtp_stage_name(t->fail_stage));
	ck_assert_int_eq(f->code, t->fail_code);
	ck_assert_ptr_nonnull(f->text);
}

START_TEST(transcript)
{
	const struct dtest *t = &tests[_i / 2];
	bool bytewise = _i % 2;
	struct dialog *d = new_dialog(t);
	const char *o;

	for (size_t i = 0; i < 6 && t->rcpts[i] != NULL; i++) {
		void *tag = (void *)(uintptr_t)(i + 1);
		ck_assert_int_eq(
		    t->txn ? dialog_add_txn(d, t->senders[i], t->rcpts[i], tag)
			   : dialog_add_rcpt(d, t->rcpts[i], tag),
		    DIALOG_RC_CONTINUE);
	}
	ck_assert_int_eq(dialog_on_connected(d), DIALOG_RC_REARM);
	ck_assert_uint_eq(dialog_output(d, &o), 0);
	run_script(d, t->script, bytewise);
	ck_assert_int_eq(dialog_finished(d), !t->open_at_end);
	if (t->open_at_end)
		ck_assert_int_eq(dialog_on_closed(d), DIALOG_RC_DONE);
	check_results(d, t);
	ck_assert_ptr_null(dialog_free(d));
}
END_TEST

/* Tags come back with their recipients. */
START_TEST(tags_come_back)
{
	struct dialog *d = new_dialog(&tests[0]);
	struct dialog_result res;
	int tag1, tag2;

	dialog_add_rcpt(d, A, &tag1);
	dialog_add_rcpt(d, "", &tag2);
	ck_assert(dialog_next_result(d, &res));
	ck_assert_ptr_eq(res.tag, &tag2);
	ck_assert_int_eq(res.status, DIALOG_RCPT_REFUSED);
	ck_assert_str_eq(res.text, "refused: empty address");
	ck_assert(!dialog_next_result(d, &res));
	dialog_on_connected(d);
	dialog_on_closed(d);
	ck_assert(dialog_next_result(d, &res));
	ck_assert_ptr_eq(res.tag, &tag1);
	ck_assert_int_eq(res.status, DIALOG_RCPT_NOT_ATTEMPTED);
	ck_assert_int_eq(res.fail, DIALOG_FAIL_CLOSED);
	ck_assert_uint_lt(dialog_memory(d), 2048);
	dialog_free(d);
}
END_TEST

START_TEST(connect_outcomes)
{
	struct dialog *d = new_dialog(&tests[0]);
	struct dialog_result res;

	ck_assert_uint_eq(dialog_timeout_ms(d), 0);
	dialog_add_rcpt(d, A, NULL);
	ck_assert_int_eq(dialog_on_connect_failed(d), DIALOG_RC_DONE);
	ck_assert_int_eq(dialog_failure(d)->kind, DIALOG_FAIL_CONNECT);
	ck_assert_int_eq(dialog_failure(d)->stage, SMTP_STAGE_CONNECT);
	ck_assert(dialog_next_result(d, &res));
	ck_assert_int_eq(res.status, DIALOG_RCPT_NOT_ATTEMPTED);
	ck_assert_int_eq(dialog_add_rcpt(d, B, NULL), DIALOG_ERR_CLOSED);
	ck_assert_int_eq(dialog_on_timeout(d), DIALOG_RC_DONE);
	ck_assert_int_eq(dialog_on_bytes(d, "220 x\r\n", 7), DIALOG_RC_DONE);
	dialog_free(d);

	d = new_dialog(&tests[0]);
	dialog_add_rcpt(d, A, NULL);
	ck_assert_int_eq(dialog_on_timeout(d), DIALOG_RC_DONE);
	ck_assert_int_eq(dialog_failure(d)->kind, DIALOG_FAIL_TIMEOUT);
	ck_assert_int_eq(dialog_failure(d)->stage, SMTP_STAGE_CONNECT);
	dialog_free(d);

	d = new_dialog(&tests[0]);
	dialog_add_rcpt(d, A, NULL);
	ck_assert_int_eq(dialog_on_closed(d), DIALOG_RC_DONE);
	ck_assert_int_eq(dialog_failure(d)->kind, DIALOG_FAIL_CONNECT);
	dialog_free(d);

	/* nothing to do: done before connecting */
	d = new_dialog(&tests[0]);
	ck_assert_int_eq(dialog_close_when_idle(d), DIALOG_RC_DONE);
	ck_assert_int_eq(dialog_failure(d)->kind, DIALOG_FAIL_NONE);
	dialog_free(d);
	ck_assert_ptr_null(dialog_free(NULL));
}
END_TEST

START_TEST(recipient_limits)
{
	struct dialog_config cfg;
	struct dialog *d;
	char long_addr[400];

	base_config(&cfg);
	cfg.rcpt_max = 2;
	d = dialog_new(&cfg);
	memset(long_addr, 'x', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	ck_assert(dialog_accepting(d));
	ck_assert_int_eq(dialog_add_rcpt(d, long_addr, NULL), 0);
	ck_assert_int_eq(dialog_add_rcpt(d, A, NULL), 0);
	ck_assert(!dialog_accepting(d));
	ck_assert_int_eq(dialog_add_rcpt(d, B, NULL), DIALOG_ERR_FULL);
	ck_assert_uint_eq(dialog_pending(d), 1);

	struct dialog_result res;
	ck_assert(dialog_next_result(d, &res));
	ck_assert_int_eq(res.status, DIALOG_RCPT_REFUSED);
	ck_assert_str_eq(res.text, "refused: address too long");
	ck_assert_uint_eq(strlen(res.address), 254);
	dialog_free(d);
}
END_TEST

/* (field to break, expected complaint) */
START_TEST(config_checks)
{
	struct dialog_config cfg;

	base_config(&cfg);
	ck_assert_ptr_null(dialog_config_check(&cfg));
	cfg.helo = "bad name";
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "the HELO name is not printable ASCII");
	ck_assert_ptr_null(dialog_new(&cfg));
	cfg.helo = NULL;
	ck_assert_str_eq(dialog_config_check(&cfg), "the HELO name is not set");
	base_config(&cfg);
	cfg.mail_from = "a@b\r\nRCPT TO:<x@y>";
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "the sender is not printable ASCII");
	base_config(&cfg);
	cfg.rcpt_ms = 0;
	ck_assert_str_eq(dialog_config_check(&cfg), "a command timeout is 0");
	base_config(&cfg);
	cfg.rcpt_per_txn = 101;
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "recipients per transaction must be 1..100");
	base_config(&cfg);
	cfg.transcript_max = 10;
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "the transcript size must be 0 or 64..8192");
	base_config(&cfg);
	char big[300];
	memset(big, 'h', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cfg.helo = big;
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "the HELO name is longer than 255 octets");
	base_config(&cfg);
	cfg.mail_from = big;
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "the sender is longer than 254 octets");
	base_config(&cfg);
	cfg.transcript_max = DIALOG_TRANSCRIPT_MAX + 1;
	ck_assert_str_eq(dialog_config_check(&cfg),
			 "the transcript size must be 0 or 64..8192");
}
END_TEST

/* The transcript: both directions, controls escaped, exact. */
START_TEST(transcript_text)
{
	struct dialog *d = new_dialog(&tests[0]);
	const char *ts, *o;
	static const char in[] = "220 mx\x01 ESMTP\r\n250-mx\r\n250 SIZE 1\r\n";

	dialog_add_rcpt(d, A, NULL);
	dialog_on_connected(d);
	dialog_on_bytes(d, in, 9);
	dialog_on_bytes(d, in + 9, sizeof(in) - 1 - 9);
	ck_assert_uint_eq(dialog_size_limit(d), 1);
	ck_assert_uint_eq(dialog_extensions(d), SMTP_EXT_SIZE);
	dialog_output_consumed(d, dialog_output(d, &o));
	dialog_on_bytes(d, "250 ok\r\n550 5.1.1 no\r\n221 bye", 29);
	dialog_on_closed(d);
	ck_assert_uint_eq(dialog_transcript(d, &ts), strlen(ts));
	ck_assert_str_eq(ts, "S: 220 mx\\x01 ESMTP\n"
			     "C: EHLO verifier.example.org\n"
			     "S: 250-mx\n"
			     "S: 250 SIZE 1\n"
			     "C: MAIL FROM:<>\n"
			     "S: 250 ok\n"
			     "C: RCPT TO:<a@example.net>\n"
			     "S: 550 5.1.1 no\n"
			     "C: QUIT\n"
			     "S: 221 bye");
	dialog_free(d);
}
END_TEST

/* A command written while a server line is open starts its own line. */
START_TEST(transcript_open_line)
{
	struct dialog_config cfg;
	struct dialog *d;
	const char *ts;

	base_config(&cfg);
	cfg.idle_ms = 1000;
	d = dialog_new(&cfg);
	dialog_on_connected(d);
	dialog_on_bytes(d, "220 mx\r\n250 mx\r\n4", 17);
	ck_assert_int_eq(dialog_state(d), DIALOG_IDLE);
	ck_assert_int_eq(dialog_on_timeout(d), DIALOG_RC_REARM);
	ck_assert_int_eq(dialog_on_bytes(d, "21 bye\r\n", 8), DIALOG_RC_DONE);
	dialog_transcript(d, &ts);
	ck_assert_str_eq(ts, "S: 220 mx\n"
			     "C: EHLO verifier.example.org\n"
			     "S: 250 mx\n"
			     "S: 4\n"
			     "C: QUIT\n"
			     "S: 21 bye\n");
	ck_assert_int_eq(dialog_failure(d)->kind, DIALOG_FAIL_NONE);
	dialog_free(d);
}
END_TEST

START_TEST(transcript_is_cut)
{
	struct dialog_config cfg;
	struct dialog *d;
	const char *ts;
	size_t n;

	base_config(&cfg);
	cfg.transcript_max = 64;
	d = dialog_new(&cfg);
	dialog_on_connected(d);
	dialog_on_bytes(d, "220 mx.example.net ESMTP Postfix (Debian)\r\n", 43);
	dialog_on_bytes(d, "250 mx.example.net at your service\r\n", 36);
	n = dialog_transcript(d, &ts);
	ck_assert_uint_eq(n, 64);
	ck_assert_str_eq(ts + 64 - 12, "[truncated]\n");
	ck_assert_str_eq(ts, "S: 220 mx.example.net ESMTP Postfix (Debian)\n"
			     "C: EHLO[truncated]\n");
	dialog_free(d);

	base_config(&cfg);
	cfg.transcript_max = 0;
	d = dialog_new(&cfg);
	dialog_on_connected(d);
	dialog_on_bytes(d, "220 mx\r\n", 8);
	ck_assert_uint_eq(dialog_transcript(d, &ts), 0);
	ck_assert_str_eq(ts, "");
	dialog_free(d);
}
END_TEST

/* An endless multi-line reply ends in a protocol error, and memory stays
 * flat while it streams in. */
START_TEST(endless_reply)
{
	struct dialog_config cfg;
	struct dialog *d;
	char line[200];
	size_t peak = 0;
	int rc = DIALOG_RC_CONTINUE;
	unsigned sent = 0;

	base_config(&cfg);
	cfg.transcript_max = 4096;
	d = dialog_new(&cfg);
	dialog_add_rcpt(d, A, NULL);
	dialog_on_connected(d);
	memcpy(line, "220-", 4);
	memset(line + 4, 'x', 150);
	memcpy(line + 154, "\r\n", 2);
	while (rc != DIALOG_RC_DONE && sent < 100000) {
		rc = dialog_on_bytes(d, line, 156);
		sent++;
		if (dialog_memory(d) > peak)
			peak = dialog_memory(d);
	}
	ck_assert_int_eq(rc, DIALOG_RC_DONE);
	ck_assert_uint_eq(sent, SMTP_REPLY_LINES_MAX + 1);
	ck_assert_int_eq(dialog_failure(d)->kind, DIALOG_FAIL_PROTOCOL);
	ck_assert_str_eq(dialog_failure(d)->detail, "reply has too many lines");
	ck_assert_uint_lt(peak, 6 * 1024);
	dialog_free(d);
}
END_TEST

/* A whole pipelined session with a 4 KiB transcript stays under the
 * daemon's 10 KiB per probe. */
START_TEST(memory_budget)
{
	struct dialog_config cfg;
	struct dialog *d;
	const char *o;
	static const char srv[] = "220 mx.example.net ESMTP\r\n"
				  "250-mx.example.net\r\n250-PIPELINING\r\n"
				  "250 SIZE 100\r\n"
				  "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
				  "221 2.0.0 Bye\r\n";

	base_config(&cfg);
	cfg.transcript_max = 4096;
	d = dialog_new(&cfg);
	ck_assert_uint_lt(dialog_memory(d), 2048);
	dialog_add_rcpt(d, A, NULL);
	dialog_on_connected(d);
	for (size_t i = 0; i < sizeof(srv) - 1; i++) {
		dialog_on_bytes(d, srv + i, 1);
		ck_assert_uint_lt(dialog_memory(d), 10 * 1024);
		dialog_output_consumed(d, dialog_output(d, &o));
	}
	ck_assert(dialog_finished(d));
	dialog_free(d);
}
END_TEST

/* A failing allocator: the Nth allocation and all after it fail. */
struct oom {
	unsigned calls;
	unsigned fail_at;
};

static void *oom_alloc(void *ud, void *ptr, size_t size)
{
	struct oom *o = ud;

	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (++o->calls >= o->fail_at)
		return NULL;
	return realloc(ptr, size);
}

/* Out of memory at every allocation in turn: no crash, no leak (ASan),
 * and every recipient taken gets exactly one result. */
START_TEST(allocation_failures)
{
	static const char srv[] = "220 mx\r\n250-mx\r\n250 PIPELINING\r\n"
				  "250 ok\r\n250 ok\r\n452 4.5.3 many\r\n"
				  "250 ok\r\n250 ok\r\n250 ok\r\n221 bye\r\n";
	unsigned n;

	for (n = 1; n < 200; n++) {
		struct oom o = {0, n};
		struct dialog_config cfg;
		struct dialog *d;
		struct dialog_result res;
		const char *out;
		unsigned taken = 0, results = 0;

		base_config(&cfg);
		cfg.alloc = oom_alloc;
		cfg.alloc_ud = &o;
		d = dialog_new(&cfg);
		if (d == NULL)
			continue;
		taken += dialog_add_rcpt(d, A, NULL) >= 0;
		taken += dialog_add_rcpt(d, B, NULL) >= 0;
		taken += dialog_add_rcpt(d, "x\n@y", NULL) >= 0;
		dialog_on_connected(d);
		for (size_t i = 0; i < sizeof(srv) - 1; i += 8) {
			size_t k =
			    sizeof(srv) - 1 - i < 8 ? sizeof(srv) - 1 - i : 8;
			dialog_on_bytes(d, srv + i, k);
			dialog_output_consumed(d, dialog_output(d, &out));
		}
		dialog_on_closed(d);
		ck_assert(dialog_finished(d));
		while (dialog_next_result(d, &res))
			results++;
		ck_assert_uint_eq(results, taken);
		dialog_free(d);
		if (o.calls < n) /* the session never reached the Nth */
			break;
	}
	ck_assert_uint_lt(n, 200);
}
END_TEST

/* The same with senders of their own: the transaction's copy of its
 * sender is one more allocation that may fail. */
START_TEST(allocation_failures_txn)
{
	static const char srv[] = "220 mx\r\n250-mx\r\n250 PIPELINING\r\n"
				  "250 ok\r\n250 ok\r\n250 ok\r\n"
				  "250 ok\r\n250 ok\r\n221 bye\r\n";
	unsigned n;

	for (n = 1; n < 200; n++) {
		struct oom o = {0, n};
		struct dialog_config cfg;
		struct dialog *d;
		struct dialog_result res;
		const char *out;
		unsigned taken = 0, results = 0;

		base_config(&cfg);
		cfg.alloc = oom_alloc;
		cfg.alloc_ud = &o;
		d = dialog_new(&cfg);
		if (d == NULL)
			continue;
		taken += dialog_add_txn(d, "s1@example.org", A, NULL) >= 0;
		taken += dialog_add_txn(d, "s2@example.org", B, NULL) >= 0;
		taken += dialog_add_txn(d, "s\r\n", C, NULL) >= 0;
		dialog_on_connected(d);
		for (size_t i = 0; i < sizeof(srv) - 1; i += 8) {
			size_t k =
			    sizeof(srv) - 1 - i < 8 ? sizeof(srv) - 1 - i : 8;
			dialog_on_bytes(d, srv + i, k);
			dialog_output_consumed(d, dialog_output(d, &out));
			ck_assert_uint_lt(dialog_memory(d), 10 * 1024);
		}
		dialog_on_closed(d);
		ck_assert(dialog_finished(d));
		while (dialog_next_result(d, &res))
			results++;
		ck_assert_uint_eq(results, taken);
		dialog_free(d);
		if (o.calls < n) /* the session never reached the Nth */
			break;
	}
	ck_assert_uint_lt(n, 200);
}
END_TEST

START_TEST(names)
{
	for (int s = 0; s < DIALOG_STATE_LAST; s++)
		ck_assert_str_ne(dialog_state_name(s), "?");
	ck_assert_str_eq(dialog_state_name(DIALOG_STATE_LAST), "?");
	ck_assert_str_eq(dialog_state_name(DIALOG_RCPT), "rcpt");
	for (int k = 0; k < DIALOG_FAIL_LAST; k++)
		ck_assert_str_ne(dialog_fail_name(k), "?");
	ck_assert_str_eq(dialog_fail_name(DIALOG_FAIL_LAST), "?");
	for (int s = 0; s < DIALOG_RCPT_STATUS_LAST; s++)
		ck_assert_str_ne(dialog_rcpt_status_name(s), "?");
	ck_assert_str_eq(dialog_rcpt_status_name(DIALOG_RCPT_UNANSWERED),
			 "unanswered");
}
END_TEST

/* Output left unsent keeps its order when more is written behind it, and
 * a batch larger than the first buffer goes out whole. */
START_TEST(output_accumulates)
{
	struct dialog_config cfg;
	struct dialog *d;
	char addr[20][64];
	char want[4096];
	size_t wlen = 0, n;
	const char *o;

	base_config(&cfg);
	cfg.rcpt_per_txn = 20;
	d = dialog_new(&cfg);
	for (int i = 0; i < 20; i++) {
		snprintf(addr[i], sizeof(addr[i]),
			 "recipient-number-%02d@example.net", i);
		dialog_add_rcpt(d, addr[i], NULL);
	}
	dialog_on_connected(d);
	dialog_on_bytes(d, "220 mx\r\n", 8);
	n = dialog_output(d, &o);
	ck_assert_uint_eq(n, 27);
	dialog_output_consumed(d, 5); /* "EHLO " went out */
	dialog_on_bytes(d, "250-mx\r\n250 PIPELINING\r\n", 24);
	wlen = (size_t)snprintf(want, sizeof(want),
				"verifier.example.org\r\nMAIL FROM:<>\r\n");
	for (int i = 0; i < 20; i++)
		wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen,
					 "RCPT TO:<%s>\r\n", addr[i]);
	n = dialog_output(d, &o);
	ck_assert_uint_eq(n, wlen);
	ck_assert(memcmp(o, want, n) == 0);
	ck_assert_uint_gt(n, 512);
	dialog_output_consumed(d, n);
	ck_assert_uint_eq(dialog_output(d, &o), 0);
	dialog_free(d);
}
END_TEST

/* Bytes before connecting are a caller bug: abort (Check sees SIGABRT). */
START_TEST(bytes_before_connect_abort)
{
	struct dialog *d = new_dialog(&tests[0]);

	/* this forked child's panic message would only confuse the log */
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	dialog_on_bytes(d, "220 x\r\n", 7);
}
END_TEST

Suite *dialog_suite(void)
{
	Suite *s = suite_create("dialog");
	TCase *tc;

	tc = tcase_create("transcripts, whole and byte by byte");
	tcase_add_loop_test(tc, transcript, 0, 2 * NTESTS);
	suite_add_tcase(s, tc);

	tc = tcase_create("session edges");
	tcase_add_test(tc, tags_come_back);
	tcase_add_test(tc, connect_outcomes);
	tcase_add_test(tc, recipient_limits);
	tcase_add_test(tc, config_checks);
	tcase_add_test(tc, names);
	tcase_add_test(tc, output_accumulates);
	tcase_add_test_raise_signal(tc, bytes_before_connect_abort, 6);
	suite_add_tcase(s, tc);

	tc = tcase_create("transcript");
	tcase_add_test(tc, transcript_text);
	tcase_add_test(tc, transcript_is_cut);
	tcase_add_test(tc, transcript_open_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounded memory");
	tcase_add_test(tc, endless_reply);
	tcase_add_test(tc, memory_budget);
	tcase_add_test(tc, allocation_failures);
	tcase_add_test(tc, allocation_failures_txn);
	suite_add_tcase(s, tc);
	return s;
}
