/* cli_bulk - `rcptd bulk [options] [-o OUT] [IN]`: clean a list.
 *
 * Input: IN (or stdin), CSV with a header naming the address column
 * (email, e-mail, mail, address; or --column NAME|INDEX), CSV without a
 * header (the one column holding an '@'), or plain lines, one address
 * each (core/csv.h decides from the first line). Empty lines are
 * skipped; they are not rows.
 * Output: CSV on OUT (or stdout), in input order: a header, then every
 * row as it was (its original octets; short rows padded to the header's
 * width) followed by the verdict columns of core/csv.h
 * (CSV_VERDICT_COLUMNS). A header is made up when the input had none:
 * "email" for plain lines, column1..columnN with "email" for the address
 * column otherwise. A malformed line (csv.h's faults) is reported on
 * stderr with its line number (the first BULK_MALFORMED_REPORT_MAX, then
 * a count) and written as one quoted field holding the line, padded,
 * with undeliverable / invalid_syntax: never dropped.
 * Verification: daemon/job.h over the verifier (precheck, an in-process
 * verdict cache, plus Redis with --redis, and the probe engine):
 * duplicates once, greylisted addresses asked again after
 * --greylist-retry within --job-deadline. --offline runs the checks that
 * need no network only.
 * Progress on stderr (--progress): on a terminal a bar redrawn four
 * times a second (done/total, addresses a second, ETA, counts by status);
 * otherwise a line every 5 s; a summary at the end. The total is known
 * when IN is a regular file (counted before the run).
 * Resuming: with --resume, the rows already in OUT are checked against
 * IN row by row (each must begin with the row's original columns, so a
 * different input is refused), skipped, and the rest appended; a last
 * line cut by a crash is dropped first. An interrupted run followed by
 * --resume writes the same file as one uninterrupted run.
 * Signals: SIGINT or SIGTERM stops taking rows; addresses waiting for a
 * greylisting retry get their greylisted verdict; the ones in flight
 * have BULK_STOP_GRACE_MS (a second signal: none) to finish; then every
 * row done up to the first unfinished one is written, a line says how to
 * resume, and the exit status is 130 or 143. SIGPIPE is ignored (hiredis
 * and a closed stdout report EPIPE instead).
 * Exit statuses: 0 every row written; 1 a read or write failure; 2 a
 * usage or configuration error (one line); 128+N after signal N.
 * Here: options, input reading, signals, the job's wiring and the end;
 * in-order output and --resume are bulk_out.h's, the progress lines
 * bulk_progress.h's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/csv.h"
#include "core/precheck.h"
#include "daemon/bulk_out.h"
#include "daemon/bulk_progress.h"
#include "daemon/cache.h"
#include "daemon/cli.h"
#include "daemon/config.h"
#include "daemon/job.h"
#include "daemon/listfiles.h"
#include "daemon/log.h"
#include "daemon/setup.h"
#include "daemon/verifier.h"

/* Input is read in chunks of this size (the csv parser's own look-ahead
 * room, CSV_CHUNK). */
#define BULK_READ_CHUNK CSV_CHUNK
/* Malformed lines reported one by one; after these, only a count. */
#define BULK_MALFORMED_REPORT_MAX 20
/* After a signal, addresses in flight get this long to finish. */
#define BULK_STOP_GRACE_MS 5000
#define BULK_ERR_MAX	   512

/* What one input record is for the job. */
enum row_kind { ROW_SKIP = 0, ROW_HEADER, ROW_DIRECT, ROW_ADDRESS };

struct row {
	enum row_kind kind;
	const char *addr; /* ROW_ADDRESS: borrowed from the parser */
	size_t addrlen;
	struct verdict v; /* ROW_DIRECT */
	char *prefix;	  /* the original columns, as written out */
	size_t prefixlen;
};

struct bulk {
	const struct config *c;
	const struct lists *lists;
	/* input */
	const char *in_name;
	int in_fd, in_flags;
	bool in_regular, in_nonblock, reof;
	struct csv *csv;
	char *rbuf;
	size_t rhave, roff;
	uv_poll_t poll;
	bool poll_init, polling;
	struct csv_rows rows;
	struct row pushback; /* a row read while resuming */
	bool has_pushback;
	uint64_t malformed;
	/* output: in input order (bulk_out.h) */
	struct bulk_out o;
	bool room_wait;
	bool layout_error; /* the first line gave no address column */
	/* run */
	uv_loop_t loop;
	struct netpolicy policy;
	struct resolver *res;
	struct engine *eng;
	struct cache *cache;
	struct verifier *ver;
	struct job *job;
	uv_signal_t sigint, sigterm;
	uv_timer_t tick, grace;
	bool handles, stopping, finished;
	int signo, rc;
	struct bulk_progress prog;
	uint64_t start_ns;
	char err[BULK_ERR_MAX];
};

static void bulk_usage(FILE *out)
{
	fprintf(out,
		"usage: rcptd bulk [options] [-o OUT.csv] [IN]\n\n"
		"Verify every address of IN (CSV or one address a line; "
		"default stdin)\nand write IN's rows with the verdict columns "
		"(" CSV_VERDICT_COLUMNS
		")\nto OUT (default stdout), in input order.\n\n");
	config_usage(out, SCOPE_BULK);
}

static void fail(struct bulk *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* fail - a run-time failure: remembered (the first), the job stopped.
 * A layout error (the address column not found) is a usage error. */
static void fail(struct bulk *b, const char *fmt, ...)
{
	va_list ap;
	char msg[BULK_ERR_MAX];

	if (b->rc == 0) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		memcpy(b->err, msg, sizeof(b->err));
		b->rc = b->layout_error ? 2 : 1;
	}
	if (b->job)
		job_cancel(b->job);
}

/* write_ready - write the rows that are next in order and done; wake
 * the job when it waited for room. */
static void write_ready(struct bulk *b)
{
	int e = bulk_out_write_ready(&b->o, b->rc == 0);

	if (e)
		fail(b, "%s: %s", b->o.name, strerror(e));
	if (b->room_wait && bulk_out_has_room(&b->o)) {
		b->room_wait = false;
		if (b->job)
			job_wake(b->job);
	}
}

/* complete - row @index has verdict @v: its line is finished, and it
 * counts for the progress. */
static void complete(struct bulk *b, uint64_t index, const struct verdict *v)
{
	if (bulk_out_complete(&b->o, index, v) < 0) {
		fail(b, "out of memory");
		return;
	}
	b->prog.done++;
	if ((unsigned)v->status < VERDICT_STATUS_LAST)
		b->prog.status[v->status]++;
}

/* ---- reading ----------------------------------------------------------------- */

/* next_record - 1 and the next record; 0 when the input would block; -1
 * at its end; -2 on a read error (in b->err). */
static int next_record(struct bulk *b, struct csv_record *r)
{
	for (;;) {
		if (csv_next(b->csv, r) == 1)
			return 1;
		if (b->roff < b->rhave) {
			size_t took = csv_feed(b->csv, b->rbuf + b->roff,
					       b->rhave - b->roff);
			if (took == 0)
				abort(); /* csv.h: full means a record */
			b->roff += took;
			continue;
		}
		if (b->reof)
			return -1;
		ssize_t n = read(b->in_fd, b->rbuf, BULK_READ_CHUNK);
		if (n > 0) {
			b->rhave = (size_t)n;
			b->roff = 0;
		} else if (n == 0) {
			b->reof = true;
			csv_finish(b->csv);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			snprintf(b->err, sizeof(b->err), "%s: %s", b->in_name,
				 strerror(errno));
			return -2;
		}
	}
}

/* direct - @v: undeliverable / invalid_syntax, for @why. */
static void direct(struct verdict *v, const char *echo, size_t len,
		   const char *why)
{
	verdict_init(v, echo, len);
	verdict_set(v, REASON_INVALID_SYNTAX);
	snprintf(v->message, sizeof(v->message), "%.*s",
		 (int)sizeof(v->message) - 1, why);
	v->checked_at = (int64_t)time(NULL);
}

/* classify - what record @rec is (core/csv.h "rows"); a malformed one
 * is reported. Returns 0, or -1 (b->err). */
static int classify(struct bulk *b, const struct csv_record *rec, struct row *r)
{
	struct csv_row cr;
	char why[400];
	int rc =
	    csv_rows_classify(&b->rows, b->csv, rec, &cr, why, sizeof(why));

	memset(r, 0, sizeof(*r));
	if (rc == -1) {
		snprintf(b->err, sizeof(b->err), "%s:%llu: %s", b->in_name,
			 (unsigned long long)rec->line, why);
		b->layout_error = true;
		return -1;
	}
	if (rc < 0) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		return -1;
	}
	r->prefix = cr.prefix;
	r->prefixlen = cr.prefixlen;
	switch (cr.kind) {
	case CSV_ROW_SKIP:
		r->kind = ROW_SKIP;
		return 0;
	case CSV_ROW_HEADER:
		r->kind = ROW_HEADER;
		return 0;
	case CSV_ROW_ADDRESS:
		r->kind = ROW_ADDRESS;
		r->addr = cr.addr;
		r->addrlen = cr.addrlen;
		return 0;
	case CSV_ROW_INVALID:
		break;
	}
	if (cr.malformed && b->malformed++ < BULK_MALFORMED_REPORT_MAX)
		log_warn("%s:%llu: %s; passed through as invalid_syntax",
			 b->in_name, (unsigned long long)rec->line, rec->why);
	r->kind = ROW_DIRECT;
	direct(&r->v, cr.malformed ? rec->raw : "",
	       cr.malformed ? rec->raw_len : 0, cr.why);
	return 0;
}

/* next_row - the next row (or the header): 1; 0 when the input would
 * block; -1 at its end; -2 on an error (b->err). */
static int next_row(struct bulk *b, struct row *r)
{
	struct csv_record rec;
	int rc;

	if (b->has_pushback) {
		*r = b->pushback;
		b->has_pushback = false;
		return 1;
	}
	do {
		rc = next_record(b, &rec);
		if (rc != 1)
			return rc;
		if (classify(b, &rec, r) < 0)
			return -2;
	} while (r->kind == ROW_SKIP);
	return 1;
}

/* write_header - once, before the first row (not when resuming a file
 * that has it). */
static void write_header(struct bulk *b)
{
	int e = bulk_out_header(&b->o, b->rows.header, b->rows.header_len);

	if (e)
		fail(b, "%s: %s", b->o.name, strerror(e));
}

/* ---- the job's side ----------------------------------------------------------- */

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct bulk *b = p->data;

	(void)status;
	(void)events;
	uv_poll_stop(p);
	b->polling = false;
	if (b->job)
		job_wake(b->job);
}

/* on_pull - the job's next row; malformed rows are answered here. */
static int on_pull(void *data, struct job_row *jr)
{
	struct bulk *b = data;
	struct row r;

	for (;;) {
		if (b->stopping || b->rc)
			return -1;
		if (bulk_out_full(&b->o)) {
			b->room_wait = true;
			return 0;
		}
		int rc = next_row(b, &r);
		if (rc == 0) {
			if (b->poll_init && !b->polling) {
				uv_poll_start(&b->poll, UV_READABLE,
					      on_readable);
				b->polling = true;
			}
			return 0;
		}
		if (rc < 0) {
			if (rc == -2)
				fail(b, "%s", b->err);
			return -1;
		}
		write_header(b);
		if (r.kind == ROW_HEADER)
			continue;
		uint64_t index;
		if (bulk_out_push(&b->o, r.prefix, r.prefixlen, &index) < 0) {
			free(r.prefix);
			fail(b, "out of memory");
			return -1;
		}
		if (r.kind == ROW_DIRECT) {
			complete(b, index, &r.v);
			write_ready(b);
			continue;
		}
		jr->index = index;
		jr->input = r.addr;
		jr->len = r.addrlen;
		return 1;
	}
}

static void on_result(void *data, uint64_t index, const struct verdict *v)
{
	struct bulk *b = data;

	complete(b, index, v);
	write_ready(b);
}

/* ---- progress ---------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
	struct bulk *b = t->data;
	struct job_progress jp = {0};

	if (b->rc == 0 && fflush(b->o.out) != 0)
		fail(b, "%s: %s", b->o.name, strerror(errno));
	if (b->job)
		job_get_progress(b->job, &jp);
	bulk_progress_draw(&b->prog, jp.rate);
}

/* ---- start and end ---------------------------------------------------------- */

static void on_cache_closed(void *data)
{
	struct bulk *b = data;

	b->cache = NULL;
	verifier_free(b->ver);
	b->ver = NULL;
	resolver_close(b->res, NULL, NULL);
	b->res = NULL;
}

static void on_engine_closed(void *data)
{
	struct bulk *b = data;

	b->eng = NULL;
	if (b->cache)
		cache_close(b->cache, on_cache_closed, b);
	else
		on_cache_closed(b);
}

/* on_done - every row taken has its result (or the job was cancelled):
 * close everything; uv_run() returns when the last handle is gone. */
static void on_done(void *data)
{
	struct bulk *b = data;

	write_ready(b);
	b->finished = true;
	job_free(b->job);
	b->job = NULL;
	uv_close((uv_handle_t *)&b->sigint, NULL);
	uv_close((uv_handle_t *)&b->sigterm, NULL);
	uv_close((uv_handle_t *)&b->tick, NULL);
	uv_close((uv_handle_t *)&b->grace, NULL);
	if (b->poll_init)
		uv_close((uv_handle_t *)&b->poll, NULL);
	verifier_close(b->ver);
	engine_close(b->eng, on_engine_closed, b);
}

static void on_grace(uv_timer_t *t)
{
	struct bulk *b = t->data;

	if (b->job)
		job_cancel(b->job);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct bulk *b = sig->data;

	if (b->job == NULL)
		return;
	if (b->stopping) {
		job_cancel(b->job);
		return;
	}
	b->stopping = true;
	b->signo = signum;
	if (b->prog.bar_drawn)
		fputc('\n', stderr);
	log_info("%s: taking no more rows; finishing the addresses in "
		 "flight (at most %d s; again to stop now)",
		 strsignal(signum), BULK_STOP_GRACE_MS / 1000);
	job_stop_input(b->job);
	job_flush_greylisted(b->job);
	uv_timer_start(&b->grace, on_grace, BULK_STOP_GRACE_MS, 0);
}

/* cache_setup - an in-process verdict cache (and Redis with --redis). */
static int cache_setup(struct bulk *b, char *err, size_t len)
{
	const struct config *c = b->c;
	struct cache_config cc;

	cache_config_defaults(&cc);
	cc.l1_entries = c->cache_size;
	cc.redis_url = c->redis;
	cc.redis_timeout_ms = c->redis_timeout;
	cc.positive.ttl_s = c->cache_ttl_positive / 1000;
	cc.negative.ttl_s = c->cache_ttl_negative / 1000;
	cc.unknown.ttl_s = c->cache_ttl_unknown / 1000;
	if (cc.positive.refresh_s > cc.positive.ttl_s)
		cc.positive.refresh_s = cc.positive.ttl_s;
	if (cc.negative.refresh_s > cc.negative.ttl_s)
		cc.negative.refresh_s = cc.negative.ttl_s;
	if (cc.unknown.refresh_s > cc.unknown.ttl_s)
		cc.unknown.refresh_s = cc.unknown.ttl_s;
	return cache_new(&b->loop, &cc, &b->cache, err, len);
}

/* run_online - the whole run on a loop of its own. Returns 0, or 2 when
 * the probe machinery cannot be set up (b->err). */
static int run_online(struct bulk *b)
{
	const struct config *c = b->c;
	struct job_config jc;
	struct job_ops ops = {on_pull, on_result, on_done};
	char err[512];

	if (uv_loop_init(&b->loop) < 0) {
		snprintf(b->err, sizeof(b->err), "cannot start an event loop");
		return 1;
	}
	if (setup_policy(&b->policy, c, err, sizeof(err)) < 0 ||
	    setup_engine(&b->loop, c, &b->policy, 0, &b->res, &b->eng, err,
			 sizeof(err)) < 0 ||
	    cache_setup(b, err, sizeof(err)) < 0) {
		snprintf(b->err, sizeof(b->err), "%s", err);
		goto fail;
	}
	b->ver = verifier_new(b->eng, b->cache, b->lists, 0);
	job_config_defaults(&jc);
	jc.window = c->job_window;
	/* A domain may fill every session its MX host allows (issue 6
	 * bench: the default 10 kept one session of a big domain going). */
	jc.domain_window = c->per_host_concurrency * c->rcpt_per_session;
	jc.greylist_retry_ms = c->greylist_retry;
	jc.deadline_ms = c->job_deadline;
	if (b->ver == NULL ||
	    job_new(&b->loop, b->ver, &jc, &ops, b, &b->job) < 0) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		goto fail;
	}
	if (!b->in_regular) {
		int fl = fcntl(b->in_fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK) &&
		    fcntl(b->in_fd, F_SETFL, fl | O_NONBLOCK) == 0) {
			b->in_flags = fl;
			b->in_nonblock = true;
		}
		if (uv_poll_init(&b->loop, &b->poll, b->in_fd) == 0) {
			b->poll.data = b;
			b->poll_init = true;
		}
	}
	uv_signal_init(&b->loop, &b->sigint);
	uv_signal_init(&b->loop, &b->sigterm);
	uv_timer_init(&b->loop, &b->tick);
	uv_timer_init(&b->loop, &b->grace);
	b->sigint.data = b->sigterm.data = b->tick.data = b->grace.data = b;
	uv_signal_start(&b->sigint, on_signal, SIGINT);
	uv_signal_start(&b->sigterm, on_signal, SIGTERM);
	if (b->prog.mode != BULK_PROGRESS_NONE) {
		unsigned ms = bulk_progress_interval_ms(b->prog.mode);
		uv_timer_start(&b->tick, on_tick, ms, ms);
	}
	job_start(b->job);
	uv_run(&b->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&b->loop) != 0)
		log_error("event loop closed with handles still open");
	return 0;
fail:
	if (b->ver) {
		verifier_free(b->ver);
		b->ver = NULL;
	}
	if (b->eng)
		engine_close(b->eng, NULL, NULL);
	if (b->cache)
		cache_close(b->cache, NULL, NULL);
	if (b->res)
		resolver_close(b->res, NULL, NULL);
	uv_run(&b->loop, UV_RUN_DEFAULT);
	uv_loop_close(&b->loop);
	return 2;
}

/* Offline runs synchronously: a signal only sets this flag (the one
 * piece of process state a signal handler may touch). */
static volatile sig_atomic_t offline_signal;

static void on_offline_signal(int signum)
{
	offline_signal = signum;
}

/* run_offline - --offline: the precheck alone, row after row. */
static void run_offline(struct bulk *b)
{
	struct sigaction sa = {.sa_handler = on_offline_signal};
	struct row r;
	int rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (b->rc == 0 && !offline_signal && (rc = next_row(b, &r)) == 1) {
		uint64_t index;
		write_header(b);
		if (r.kind == ROW_HEADER)
			continue;
		if (bulk_out_push(&b->o, r.prefix, r.prefixlen, &index) < 0) {
			free(r.prefix);
			fail(b, "out of memory");
			break;
		}
		if (r.kind == ROW_ADDRESS) {
			precheck(b->lists, r.addr, r.addrlen, &r.v, NULL);
			r.v.checked_at = (int64_t)time(NULL);
		}
		complete(b, index, &r.v);
		write_ready(b);
	}
	if (b->rc == 0 && !offline_signal && rc == -2)
		fail(b, "%s", b->err);
	b->signo = offline_signal;
}

/* ---- resuming: IN as bulk_out_resume() reads it ---------------------- */

/* resume_header - IN's first row read (kept back when it is a row) and
 * its header given. */
static int resume_header(void *arg, const char **line, size_t *len)
{
	struct bulk *b = arg;
	struct row r;
	int got = next_row(b, &r);

	if (got == -2)
		return -1;
	if (got == 1 && r.kind != ROW_HEADER) {
		b->pushback = r;
		b->has_pushback = true;
	}
	*line = got == 1 ? b->rows.header : NULL;
	*len = b->rows.header_len;
	return 0;
}

/* resume_row - IN's next row's original columns. */
static int resume_row(void *arg, char **prefix, size_t *len)
{
	struct bulk *b = arg;
	struct row r;
	int rc = next_row(b, &r);

	if (rc == -2)
		return -1;
	if (rc != 1)
		return 0;
	*prefix = r.prefix;
	*len = r.prefixlen;
	return 1;
}

/* resume - the rows already in OUT (@fd) checked against IN and
 * skipped (bulk_out.h). Returns 0, or -1 (b->err). */
static int resume(struct bulk *b, int fd)
{
	struct bulk_out_input in = {b->in_name, b, resume_header, resume_row};

	if (bulk_out_resume(&b->o, fd, &in, b->prog.status, b->err,
			    sizeof(b->err)) < 0)
		return -1;
	b->prog.done = b->o.resumed;
	return 0;
}

/* count_rows - the rows of a regular IN, read once before the run (for
 * the ETA); false when they cannot be counted. */
static bool count_rows(struct bulk *b, uint64_t *total)
{
	int fd = open(b->in_name, O_RDONLY | O_CLOEXEC);
	struct csv *p = csv_new(NULL);
	char *buf = malloc(BULK_READ_CHUNK);
	struct csv_rows rs;
	struct csv_record rec;
	struct csv_row row;
	bool ok = false;
	uint64_t n = 0;
	char why[400];

	csv_rows_init(&rs, b->c->column);
	if (fd < 0 || p == NULL || buf == NULL)
		goto done;
	for (;;) {
		ssize_t got = read(fd, buf, BULK_READ_CHUNK);
		if (got < 0)
			goto done;
		if (got == 0)
			csv_finish(p);
		for (size_t used = 0;;) {
			while (csv_next(p, &rec) == 1) {
				if (csv_rows_classify(&rs, p, &rec, &row, why,
						      sizeof(why)) < 0)
					goto done;
				free(row.prefix);
				n += row.kind == CSV_ROW_ADDRESS ||
				     row.kind == CSV_ROW_INVALID;
			}
			if (used == (size_t)got)
				break;
			used += csv_feed(p, buf + used, (size_t)got - used);
		}
		if (got == 0)
			break;
	}
	*total = n;
	ok = true;
done:
	if (fd >= 0)
		close(fd);
	csv_rows_release(&rs);
	csv_free(p);
	free(buf);
	return ok;
}

/* ---- the command -------------------------------------------------------------- */

/* open_files - IN and OUT (resumed when asked). Returns 0, or 2 with
 * b->err. */
static int open_files(struct bulk *b, const char *in)
{
	const struct config *c = b->c;
	struct stat ist, ost;
	int fd;

	if (in == NULL || strcmp(in, "-") == 0) {
		b->in_name = "stdin";
		b->in_fd = STDIN_FILENO;
	} else {
		b->in_name = in;
		b->in_fd = open(in, O_RDONLY | O_CLOEXEC);
		if (b->in_fd < 0) {
			snprintf(b->err, sizeof(b->err), "%s: %s", in,
				 strerror(errno));
			return 2;
		}
	}
	if (fstat(b->in_fd, &ist) == 0 && S_ISREG(ist.st_mode))
		b->in_regular = true;
	if (c->output[0] == '\0') {
		if (c->resume) {
			snprintf(b->err, sizeof(b->err),
				 "--resume needs --output FILE (-o)");
			return 2;
		}
		b->o.out = stdout;
		b->o.name = "stdout";
		return 0;
	}
	b->o.name = c->output;
	/* Not O_TRUNC: the input might be that very file. */
	fd = open(c->output, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(b->err, sizeof(b->err), "%s: %s", c->output,
			 strerror(errno));
		return 2;
	}
	if (fstat(fd, &ost) == 0 && b->in_regular && ost.st_dev == ist.st_dev &&
	    ost.st_ino == ist.st_ino) {
		snprintf(b->err, sizeof(b->err),
			 "--output %s is the input file", c->output);
		close(fd);
		return 2;
	}
	if (c->resume ? resume(b, fd) < 0 : ftruncate(fd, 0) < 0) {
		if (!c->resume)
			snprintf(b->err, sizeof(b->err), "%s: %s", c->output,
				 strerror(errno));
		close(fd);
		return 2;
	}
	b->o.out = fdopen(fd, "w");
	if (b->o.out == NULL) {
		snprintf(b->err, sizeof(b->err), "%s: %s", c->output,
			 strerror(errno));
		close(fd);
		return 2;
	}
	return 0;
}

/* finish - flush OUT and tell how it went; the exit status. */
static int finish(struct bulk *b, const struct config *c)
{
	char line[512], took[32];
	uint64_t ms = (uv_hrtime() - b->start_ns) / 1000000;

	if (b->o.out && b->rc == 0 && fflush(b->o.out) != 0)
		fail(b, "%s: %s", b->o.name, strerror(errno));
	if (b->o.out && b->o.out != stdout && fclose(b->o.out) != 0 &&
	    b->rc == 0)
		fail(b, "%s: %s", b->o.name, strerror(errno));
	b->o.out = NULL;
	if (b->prog.bar_drawn)
		fputs("\r\033[K", stderr);
	if (b->malformed > BULK_MALFORMED_REPORT_MAX)
		log_warn("%llu malformed lines in all, passed through as "
			 "invalid_syntax",
			 (unsigned long long)b->malformed);
	if (b->rc) {
		fprintf(stderr, "rcptd bulk: %s\n", b->err);
		return b->rc;
	}
	if (b->signo) {
		fprintf(stderr,
			"rcptd bulk: interrupted (%s): %llu rows written to "
			"%s\n",
			strsignal(b->signo), (unsigned long long)b->o.written,
			b->o.name);
		if (c->output[0])
			fprintf(stderr,
				"rcptd bulk: to continue: rcptd bulk --resume "
				"-o %s %s\n",
				c->output,
				strcmp(b->in_name, "stdin") ? b->in_name
							    : "< IN");
		else
			fprintf(stderr, "rcptd bulk: write to a file (-o OUT) "
					"to be able to --resume\n");
		return 128 + b->signo;
	}
	if (b->prog.mode != BULK_PROGRESS_NONE) {
		bulk_progress_counts(&b->prog, line, sizeof(line));
		bulk_progress_duration((long)(ms / 1000), took, sizeof(took));
		fprintf(stderr, "rcptd bulk: %llu rows in %s: %s",
			(unsigned long long)b->o.written, took, line);
		if (b->o.resumed)
			fprintf(stderr, "; %llu resumed",
				(unsigned long long)b->o.resumed);
		if (b->malformed)
			fprintf(stderr, "; %llu malformed",
				(unsigned long long)b->malformed);
		fputc('\n', stderr);
	}
	return 0;
}

/* short_flags - the one short flag, -o FILE, as --output FILE. */
static char **short_flags(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (; i < argc; i++)
				v[i] = argv[i];
			break;
		}
		v[i] =
		    strcmp(argv[i], "-o") == 0 ? (char *)"--output" : argv[i];
	}
	return v;
}

int cli_bulk(int argc, char **argv, char **envp)
{
	struct config c;
	struct lists lists;
	struct bulk *b;
	char err[512], **args = short_flags(argc, argv);
	int first, rc;

	if (args == NULL) {
		fprintf(stderr, "rcptd bulk: out of memory\n");
		return 1;
	}
	rc = config_load(&c, SCOPE_BULK, argc, args, envp, &first, err,
			 sizeof(err));
	if (rc != 0) {
		if (rc > 0)
			bulk_usage(stdout);
		else
			fprintf(stderr, "rcptd bulk: %s\n", err);
		config_release(&c);
		free(args);
		return rc > 0 ? 0 : 2;
	}
	b = calloc(1, sizeof(*b));
	rc = 2;
	if (b == NULL) {
		fprintf(stderr, "rcptd bulk: out of memory\n");
		goto out_config;
	}
	b->c = &c;
	b->in_fd = -1;
	bulk_out_init(&b->o);
	csv_rows_init(&b->rows, c.column);
	if (argc - first > 1) {
		fprintf(stderr,
			"rcptd bulk: one input at most (usage: rcptd bulk "
			"[options] [-o OUT] [IN])\n");
		goto out_config;
	}
	if (log_setup(c.log_format, c.log_level) < 0) {
		fprintf(stderr,
			"rcptd bulk: --log-level: '%s' is not debug, "
			"info, warn or error\n",
			c.log_level);
		goto out_config;
	}
	if (bulk_progress_mode(c.progress, isatty(STDERR_FILENO),
			       &b->prog.mode) < 0) {
		fprintf(stderr,
			"rcptd bulk: --progress: '%s' is not auto, bar, "
			"lines or none\n",
			c.progress);
		goto out_config;
	}
	b->csv = csv_new(NULL);
	b->rbuf = malloc(BULK_READ_CHUNK);
	if (b->csv == NULL || b->rbuf == NULL) {
		fprintf(stderr, "rcptd bulk: out of memory\n");
		goto out_bulk;
	}
	signal(SIGPIPE, SIG_IGN);
	if (listfiles_load(&lists, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "rcptd bulk: %s\n", err);
		goto out_bulk;
	}
	b->lists = &lists;
	if (open_files(b, first < argc ? argv[first] : NULL) != 0) {
		fprintf(stderr, "rcptd bulk: %s\n", b->err);
		goto out_lists;
	}
	if (b->in_regular && b->prog.mode != BULK_PROGRESS_NONE)
		b->prog.total_known = count_rows(b, &b->prog.total);
	b->start_ns = uv_hrtime();
	if (c.offline) {
		run_offline(b);
		rc = finish(b, &c);
	} else {
		setup_helo_warning(c.helo);
		rc = run_online(b);
		if (rc == 0)
			rc = finish(b, &c);
		else
			fprintf(stderr, "rcptd bulk: %s\n", b->err);
	}
	if (b->in_nonblock)
		fcntl(b->in_fd, F_SETFL, b->in_flags);
out_lists:
	if (b->o.out && b->o.out != stdout)
		fclose(b->o.out);
	lists_release(&lists);
out_bulk:
	bulk_out_release(&b->o);
	if (b->has_pushback)
		free(b->pushback.prefix);
	csv_rows_release(&b->rows);
	csv_free(b->csv);
	free(b->rbuf);
	if (b->in_fd > STDIN_FILENO)
		close(b->in_fd);
out_config:
	free(b);
	config_release(&c);
	free(args);
	return rc;
}
