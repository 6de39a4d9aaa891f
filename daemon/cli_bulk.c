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
 * usage or configuration error (one line); 128+N after signal N. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
/* Rows taken but not yet written (waiting for their verdict or for an
 * earlier row's): the reorder buffer behind in-order output. A row
 * greylisted for 5 minutes holds back what follows it; at 1000 rows a
 * second that is 300 000 rows, so a million rows or 64 MiB, whichever
 * comes first, before the job pauses. */
#define BULK_PENDING_ROWS_MAX	  (1u << 20)
#define BULK_PENDING_BYTES_MAX	  ((size_t)64 * 1024 * 1024)
#define BULK_MALFORMED_REPORT_MAX 20
/* After a signal, addresses in flight get this long to finish. */
#define BULK_STOP_GRACE_MS 5000
#define BULK_BAR_MS	   250
#define BULK_LINES_MS	   5000
/* A line of our own output: a malformed input line quoted (twice its
 * size at worst), padding, the verdict columns. */
#define BULK_OUT_RECORD_MAX                                                    \
	(2 * CSV_RECORD_MAX + 2 + CSV_FIELDS_MAX + CSV_VERDICT_MAX + 2)
#define BULK_ERR_MAX 512

enum progress_mode { PROG_NONE = 0, PROG_BAR, PROG_LINES };

/* A row taken: its output line, complete once its verdict is in. */
struct slot {
	char *line;
	size_t len;
	bool ready;
};

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
	/* output */
	const char *out_name;
	FILE *out;
	struct slot *ring; /* rows [written, written + count) */
	size_t cap, count, pending_bytes;
	uint64_t written, next_index, resumed;
	bool room_wait, header_done;
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
	bool handles, stopping, finished, bar_drawn;
	int signo, rc;
	enum progress_mode mode;
	uint64_t total, start_ns;
	bool total_known;
	uint64_t done, status[VERDICT_STATUS_LAST];
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

/* ---- the reorder buffer -------------------------------------------------- */

static struct slot *slot_at(struct bulk *b, uint64_t index)
{
	return &b->ring[(size_t)index & (b->cap - 1)];
}

/* slot_push - room for row b->next_index; -1 when memory runs out. */
static int slot_push(struct bulk *b, char *prefix, size_t len)
{
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct slot *n = calloc(cap, sizeof(*n));
		if (n == NULL)
			return -1;
		for (size_t i = 0; i < b->count; i++)
			n[(b->written + i) & (cap - 1)] =
			    *slot_at(b, b->written + i);
		free(b->ring);
		b->ring = n;
		b->cap = cap;
	}
	struct slot *s = slot_at(b, b->next_index);
	s->line = prefix;
	s->len = len;
	s->ready = false;
	b->count++;
	b->next_index++;
	b->pending_bytes += len;
	return 0;
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

/* write_ready - write the rows that are next in order and done. */
static void write_ready(struct bulk *b)
{
	while (b->count > 0) {
		struct slot *s = slot_at(b, b->written);
		if (!s->ready)
			break;
		if (b->rc == 0 && fwrite(s->line, 1, s->len, b->out) != s->len)
			fail(b, "%s: %s", b->out_name, strerror(errno));
		b->pending_bytes -= s->len;
		free(s->line);
		s->line = NULL;
		b->count--;
		b->written++;
	}
	if (b->room_wait && b->count < BULK_PENDING_ROWS_MAX / 2 &&
	    b->pending_bytes < BULK_PENDING_BYTES_MAX / 2) {
		b->room_wait = false;
		if (b->job)
			job_wake(b->job);
	}
}

/* complete - row @index has verdict @v: its line is finished. */
static void complete(struct bulk *b, uint64_t index, const struct verdict *v)
{
	struct slot *s = slot_at(b, index);
	char *line = realloc(s->line, s->len + 1 + CSV_VERDICT_MAX + 1);

	if (line == NULL) {
		fail(b, "out of memory");
		return;
	}
	b->pending_bytes -= s->len;
	line[s->len++] = ',';
	s->len += csv_verdict_fields(v, line + s->len);
	line[s->len++] = '\n';
	s->line = line;
	s->ready = true;
	b->pending_bytes += s->len;
	b->done++;
	if ((unsigned)v->status < VERDICT_STATUS_LAST)
		b->status[v->status]++;
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
	if (b->header_done || b->rows.header == NULL)
		return;
	b->header_done = true;
	if (fwrite(b->rows.header, 1, b->rows.header_len, b->out) !=
	    b->rows.header_len)
		fail(b, "%s: %s", b->out_name, strerror(errno));
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
		if (b->count >= BULK_PENDING_ROWS_MAX ||
		    b->pending_bytes >= BULK_PENDING_BYTES_MAX) {
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
		uint64_t index = b->next_index;
		if (slot_push(b, r.prefix, r.prefixlen) < 0) {
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

/* ---- progress ------------------------------------------------------------------ */

static void fmt_duration(long s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "?");
	else if (s >= 3600)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lds", s);
}

static const char *const status_label[VERDICT_STATUS_LAST] = {
    "unknown", "deliverable", "undeliverable", "risky"};

/* counts - "deliverable N, undeliverable N, risky N, unknown N". */
static size_t counts(const struct bulk *b, char *buf, size_t len)
{
	static const enum verdict_status order[] = {
	    VERDICT_DELIVERABLE, VERDICT_UNDELIVERABLE, VERDICT_RISKY,
	    VERDICT_UNKNOWN};
	size_t n = 0;

	for (size_t i = 0; i < 4 && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s %llu",
				      i ? ", " : "", status_label[order[i]],
				      (unsigned long long)b->status[order[i]]);
	return n;
}

/* progress_line - done/total, rate, ETA and counts (a bar first). */
static void progress_line(struct bulk *b, char *buf, size_t len, bool bar)
{
	struct job_progress jp = {0};
	char eta[32];
	size_t n = 0;
	long eta_s = -1;

	if (b->job)
		job_get_progress(b->job, &jp);
	if (b->total_known && jp.rate > 0.0)
		eta_s =
		    b->done >= b->total
			? 0
			: (long)ceil((double)(b->total - b->done) / jp.rate);
	fmt_duration(eta_s, eta, sizeof(eta));
	if (b->total_known) {
		double f = b->total ? (double)b->done / (double)b->total : 1.0;
		if (bar) {
			int w = 20, full = (int)(f * w);
			n += (size_t)snprintf(buf + n, len - n, "[%.*s%.*s] ",
					      full, "####################",
					      w - full, "--------------------");
		}
		n += (size_t)snprintf(
		    buf + n, len - n, "%llu/%llu rows (%.0f%%), %.1f/s, ETA %s",
		    (unsigned long long)b->done, (unsigned long long)b->total,
		    f * 100.0, jp.rate, eta);
	} else {
		n += (size_t)snprintf(buf + n, len - n, "%llu rows, %.1f/s",
				      (unsigned long long)b->done, jp.rate);
	}
	n += (size_t)snprintf(buf + n, len - n, "; ");
	if (n < len)
		counts(b, buf + n, len - n);
}

static void on_tick(uv_timer_t *t)
{
	struct bulk *b = t->data;
	char line[512];

	if (b->rc == 0 && fflush(b->out) != 0)
		fail(b, "%s: %s", b->out_name, strerror(errno));
	if (b->mode == PROG_BAR) {
		progress_line(b, line, sizeof(line), true);
		fprintf(stderr, "\r\033[K%s", line);
		b->bar_drawn = true;
	} else if (b->mode == PROG_LINES) {
		progress_line(b, line, sizeof(line), false);
		fprintf(stderr, "rcptd bulk: %s\n", line);
	}
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
	if (b->bar_drawn)
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
	if (b->mode != PROG_NONE) {
		unsigned ms = b->mode == PROG_BAR ? BULK_BAR_MS : BULK_LINES_MS;
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
		uint64_t index = b->next_index;
		write_header(b);
		if (r.kind == ROW_HEADER)
			continue;
		if (slot_push(b, r.prefix, r.prefixlen) < 0) {
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

/* ---- resuming --------------------------------------------------------------------- */

/* term_at - the line break at offset @at of @fd: its length, 0 at the
 * end of the file (a line cut short). */
static int term_at(int fd, off_t at)
{
	char t[2];
	ssize_t n = pread(fd, t, 2, at);

	if (n <= 0)
		return 0;
	if (t[0] == '\r')
		return n == 2 && t[1] == '\n' ? 2 : 1;
	return t[0] == '\n' ? 1 : -1;
}

/* resume_check - OUT's record @rec (data row @k) against IN's next row. */
static int resume_check(struct bulk *b, const struct csv_record *rec,
			uint64_t k)
{
	struct row r;
	int rc = next_row(b, &r);

	if (rc == -2)
		return -1;
	if (rc != 1) {
		snprintf(b->err, sizeof(b->err),
			 "%s:%llu: more rows than %s has: not its output",
			 b->out_name, (unsigned long long)rec->line,
			 b->in_name);
		return -1;
	}
	bool same = rec->raw_len > r.prefixlen &&
		    memcmp(rec->raw, r.prefix, r.prefixlen) == 0 &&
		    rec->raw[r.prefixlen] == ',' && rec->nfields >= 11;
	free(r.prefix);
	if (!same) {
		snprintf(b->err, sizeof(b->err),
			 "%s:%llu: not the output of row %llu of %s (a "
			 "different input?); remove it or drop --resume",
			 b->out_name, (unsigned long long)rec->line,
			 (unsigned long long)k + 1, b->in_name);
		return -1;
	}
	const struct csv_field *st = &rec->field[rec->nfields - 11];
	char name[16];
	snprintf(name, sizeof(name), "%.*s", (int)st->len, st->p);
	int status = verdict_status_from_name(name);
	b->status[status >= 0 ? status : VERDICT_UNKNOWN]++;
	b->done++;
	return 0;
}

/* resume - the rows already in OUT (@fd), checked against IN and
 * skipped; OUT is cut after its last whole line and left at its end.
 * Returns 0, or -1 (b->err). */
static int resume(struct bulk *b, int fd)
{
	struct csv_limits l = {BULK_OUT_RECORD_MAX, BULK_OUT_RECORD_MAX,
			       CSV_FIELDS_MAX + 16};
	struct csv *oc = csv_new(&l);
	char *buf = malloc(BULK_READ_CHUNK);
	struct csv_record rec;
	off_t off = 0, good = 0;
	uint64_t k = 0;
	size_t have = 0, used = 0;
	bool eof = false, stop = false;
	int rc = -1;
	char bom[3];

	if (oc == NULL || buf == NULL) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		goto done;
	}
	if (pread(fd, bom, 3, 0) == 3 && memcmp(bom, "\xef\xbb\xbf", 3) == 0)
		off = good = 3;
	while (!stop) {
		if (csv_next(oc, &rec) != 1) {
			if (used < have) {
				used += csv_feed(oc, buf + used, have - used);
				continue;
			}
			if (eof)
				break;
			ssize_t n = read(fd, buf, BULK_READ_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(b->err, sizeof(b->err), "%s: %s",
					 b->out_name, strerror(errno));
				goto done;
			}
			if (n == 0) {
				eof = true;
				csv_finish(oc);
			}
			have = (size_t)n;
			used = 0;
			continue;
		}
		int t = term_at(fd, off + (off_t)rec.raw_len);
		if (rec.err != CSV_OK || t <= 0) {
			stop = true; /* a line cut by a crash: dropped */
			break;
		}
		if (k == 0) {
			struct row r;
			int got = next_row(b, &r);
			if (got == -2)
				goto done;
			if (got == 1 && r.kind != ROW_HEADER) {
				b->pushback = r;
				b->has_pushback = true;
			}
			if (got != 1 || b->rows.header == NULL ||
			    rec.raw_len + 1 != b->rows.header_len ||
			    memcmp(rec.raw, b->rows.header, rec.raw_len) != 0) {
				snprintf(b->err, sizeof(b->err),
					 "%s: its header is not the one %s "
					 "gives: not its output; remove it or "
					 "drop --resume",
					 b->out_name, b->in_name);
				goto done;
			}
			b->header_done = true;
		} else if (resume_check(b, &rec, k - 1) < 0) {
			goto done;
		} else {
			b->next_index++;
			b->written++;
		}
		k++;
		off += (off_t)rec.raw_len + t;
		good = off;
	}
	if (!b->header_done)
		good = 0;
	b->resumed = b->written;
	if (ftruncate(fd, good) < 0 || lseek(fd, good, SEEK_SET) < 0) {
		snprintf(b->err, sizeof(b->err), "%s: %s", b->out_name,
			 strerror(errno));
		goto done;
	}
	rc = 0;
done:
	csv_free(oc);
	free(buf);
	return rc;
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
		b->out = stdout;
		b->out_name = "stdout";
		return 0;
	}
	b->out_name = c->output;
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
	b->out = fdopen(fd, "w");
	if (b->out == NULL) {
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

	if (b->out && b->rc == 0 && fflush(b->out) != 0)
		fail(b, "%s: %s", b->out_name, strerror(errno));
	if (b->out && b->out != stdout && fclose(b->out) != 0 && b->rc == 0)
		fail(b, "%s: %s", b->out_name, strerror(errno));
	b->out = NULL;
	if (b->bar_drawn)
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
			strsignal(b->signo), (unsigned long long)b->written,
			b->out_name);
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
	if (b->mode != PROG_NONE) {
		counts(b, line, sizeof(line));
		fmt_duration((long)(ms / 1000), took, sizeof(took));
		fprintf(stderr, "rcptd bulk: %llu rows in %s: %s",
			(unsigned long long)b->written, took, line);
		if (b->resumed)
			fprintf(stderr, "; %llu resumed",
				(unsigned long long)b->resumed);
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
	if (strcmp(c.progress, "auto") == 0)
		b->mode = isatty(STDERR_FILENO) ? PROG_BAR : PROG_LINES;
	else if (strcmp(c.progress, "bar") == 0)
		b->mode = PROG_BAR;
	else if (strcmp(c.progress, "lines") == 0)
		b->mode = PROG_LINES;
	else if (strcmp(c.progress, "none") == 0)
		b->mode = PROG_NONE;
	else {
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
	if (b->in_regular && b->mode != PROG_NONE)
		b->total_known = count_rows(b, &b->total);
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
	if (b->out && b->out != stdout)
		fclose(b->out);
	lists_release(&lists);
out_bulk:
	for (size_t i = 0; i < b->count; i++)
		free(slot_at(b, b->written + i)->line);
	free(b->ring);
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
