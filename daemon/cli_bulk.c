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
 * Here: options, the job's wiring, signals, opening OUT, the glue of
 * --resume and the end; reading IN as rows (the malformed lines
 * included) is bulk_in.h's, in-order output and --resume's checks
 * bulk_out.h's, the progress lines bulk_progress.h's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/csv.h"
#include "core/precheck.h"
#include "daemon/bulk_in.h"
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

/* After a signal, addresses in flight get this long to finish. */
#define BULK_STOP_GRACE_MS 5000
/* A message; bulk_in.h's are copied in whole. */
#define BULK_ERR_MAX BULK_IN_ERR_MAX

struct bulk {
	const struct config *c;
	const struct lists *lists;
	/* input: rows (bulk_in.h), polled when it would block */
	struct bulk_in in;
	uv_poll_t poll;
	bool poll_init, polling;
	/* output: in input order (bulk_out.h) */
	struct bulk_out o;
	bool room_wait;
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
		b->rc = b->in.layout_error ? 2 : 1;
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

/* write_header - once, before the first row (not when resuming a file
 * that has it). */
static void write_header(struct bulk *b)
{
	int e =
	    bulk_out_header(&b->o, b->in.rows.header, b->in.rows.header_len);

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
	struct bulk_row r;

	for (;;) {
		if (b->stopping || b->rc)
			return -1;
		if (bulk_out_full(&b->o)) {
			b->room_wait = true;
			return 0;
		}
		int rc = bulk_in_next_row(&b->in, &r);
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
				fail(b, "%s", b->in.err);
			return -1;
		}
		write_header(b);
		if (r.kind == BULK_ROW_HEADER)
			continue;
		uint64_t index;
		if (bulk_out_push(&b->o, r.prefix, r.prefixlen, &index) < 0) {
			free(r.prefix);
			fail(b, "out of memory");
			return -1;
		}
		if (r.kind == BULK_ROW_DIRECT) {
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

	setup_cache_config(c, 1, &cc);
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
	setup_job_config(c, &jc);
	if (b->ver == NULL ||
	    job_new(&b->loop, b->ver, &jc, &ops, b, &b->job) < 0) {
		snprintf(b->err, sizeof(b->err), "out of memory");
		goto fail;
	}
	if (!b->in.regular) {
		bulk_in_nonblock(&b->in);
		if (uv_poll_init(&b->loop, &b->poll, b->in.fd) == 0) {
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
	struct bulk_row r;
	int rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (b->rc == 0 && !offline_signal &&
	       (rc = bulk_in_next_row(&b->in, &r)) == 1) {
		uint64_t index;
		write_header(b);
		if (r.kind == BULK_ROW_HEADER)
			continue;
		if (bulk_out_push(&b->o, r.prefix, r.prefixlen, &index) < 0) {
			free(r.prefix);
			fail(b, "out of memory");
			break;
		}
		if (r.kind == BULK_ROW_ADDRESS) {
			precheck(b->lists, r.addr, r.addrlen, &r.v, NULL);
			r.v.checked_at = (int64_t)time(NULL);
		}
		complete(b, index, &r.v);
		write_ready(b);
	}
	if (b->rc == 0 && !offline_signal && rc == -2)
		fail(b, "%s", b->in.err);
	b->signo = offline_signal;
}

/* ---- resuming: IN as bulk_out_resume() reads it ---------------------- */

/* resume_header - IN's first row read (kept back when it is a row) and
 * its header given. */
static int resume_header(void *arg, const char **line, size_t *len)
{
	struct bulk *b = arg;
	struct bulk_row r;
	int got = bulk_in_next_row(&b->in, &r);

	if (got == -2) {
		snprintf(b->err, sizeof(b->err), "%s", b->in.err);
		return -1;
	}
	if (got == 1 && r.kind != BULK_ROW_HEADER)
		bulk_in_push_back(&b->in, &r);
	*line = got == 1 ? b->in.rows.header : NULL;
	*len = b->in.rows.header_len;
	return 0;
}

/* resume_row - IN's next row's original columns. */
static int resume_row(void *arg, char **prefix, size_t *len)
{
	struct bulk *b = arg;
	struct bulk_row r;
	int rc = bulk_in_next_row(&b->in, &r);

	if (rc == -2) {
		snprintf(b->err, sizeof(b->err), "%s", b->in.err);
		return -1;
	}
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
	struct bulk_out_input in = {b->in.name, b, resume_header, resume_row};

	if (bulk_out_resume(&b->o, fd, &in, b->prog.status, b->err,
			    sizeof(b->err)) < 0)
		return -1;
	b->prog.done = b->o.resumed;
	return 0;
}

/* ---- the command -------------------------------------------------------------- */

/* open_files - IN and OUT (resumed when asked). Returns 0, or 2 with
 * b->err. */
static int open_files(struct bulk *b, const char *in)
{
	const struct config *c = b->c;
	int fd;

	if (bulk_in_open(&b->in, in) < 0) {
		snprintf(b->err, sizeof(b->err), "%s", b->in.err);
		return 2;
	}
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
	if (bulk_in_same_file(&b->in, fd)) {
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
	if (b->in.malformed > BULK_IN_MALFORMED_REPORT_MAX)
		log_warn("%llu malformed lines in all, passed through as "
			 "invalid_syntax",
			 (unsigned long long)b->in.malformed);
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
				strcmp(b->in.name, "stdin") ? b->in.name
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
		if (b->in.malformed)
			fprintf(stderr, "; %llu malformed",
				(unsigned long long)b->in.malformed);
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
	bulk_out_init(&b->o);
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
	if (bulk_in_init(&b->in, c.column) < 0) {
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
	if (b->in.regular && b->prog.mode != BULK_PROGRESS_NONE)
		b->prog.total_known =
		    bulk_in_count_rows(&b->in, &b->prog.total);
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
out_lists:
	if (b->o.out && b->o.out != stdout)
		fclose(b->o.out);
	lists_release(&lists);
out_bulk:
	bulk_out_release(&b->o);
	bulk_in_close(&b->in);
out_config:
	free(b);
	config_release(&c);
	free(args);
	return rc;
}
