/* bulk_in - `rcptd bulk`'s input: IN read as rows (see bulk_in.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/bulk_in.h"
#include "daemon/log.h"

/* A csv.h sentence about a record (csv_rows_classify()'s @why). */
#define BULK_IN_WHY_MAX 400

int bulk_in_init(struct bulk_in *in, const char *column)
{
	memset(in, 0, sizeof(*in));
	in->fd = -1;
	csv_rows_init(&in->rows, column);
	in->csv = csv_new(NULL);
	in->rbuf = malloc(BULK_IN_READ_CHUNK);
	return in->csv && in->rbuf ? 0 : -1;
}

int bulk_in_open(struct bulk_in *in, const char *path)
{
	struct stat st;

	if (path == NULL || strcmp(path, "-") == 0) {
		in->name = "stdin";
		in->fd = STDIN_FILENO;
	} else {
		in->name = path;
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			snprintf(in->err, sizeof(in->err), "%s: %s", path,
				 strerror(errno));
			return -1;
		}
	}
	if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		in->regular = true;
		in->dev = st.st_dev;
		in->ino = st.st_ino;
	}
	return 0;
}

bool bulk_in_same_file(const struct bulk_in *in, int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && in->regular && st.st_dev == in->dev &&
	       st.st_ino == in->ino;
}

void bulk_in_nonblock(struct bulk_in *in)
{
	int fl = fcntl(in->fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK) &&
	    fcntl(in->fd, F_SETFL, fl | O_NONBLOCK) == 0) {
		in->flags = fl;
		in->nonblock = true;
	}
}

void bulk_in_close(struct bulk_in *in)
{
	/* stdin's file description is shared with whoever started us. */
	if (in->nonblock) {
		fcntl(in->fd, F_SETFL, in->flags);
		in->nonblock = false;
	}
	if (in->has_pushback) {
		free(in->pushback.prefix);
		in->has_pushback = false;
	}
	csv_rows_release(&in->rows);
	csv_free(in->csv);
	in->csv = NULL;
	free(in->rbuf);
	in->rbuf = NULL;
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

/* next_record - 1 and the next record; 0 when the input would block; -1
 * at its end; -2 on a read error (in->err). */
static int next_record(struct bulk_in *in, struct csv_record *r)
{
	for (;;) {
		if (csv_next(in->csv, r) == 1)
			return 1;
		if (in->roff < in->rhave) {
			size_t took = csv_feed(in->csv, in->rbuf + in->roff,
					       in->rhave - in->roff);
			if (took == 0)
				abort(); /* csv.h: full means a record */
			in->roff += took;
			continue;
		}
		if (in->eof)
			return -1;
		ssize_t n = read(in->fd, in->rbuf, BULK_IN_READ_CHUNK);
		if (n > 0) {
			in->rhave = (size_t)n;
			in->roff = 0;
		} else if (n == 0) {
			in->eof = true;
			csv_finish(in->csv);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			snprintf(in->err, sizeof(in->err), "%s: %s", in->name,
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
 * is reported. Returns 0, or -1 (in->err). */
static int classify(struct bulk_in *in, const struct csv_record *rec,
		    struct bulk_row *r)
{
	struct csv_row cr;
	char why[BULK_IN_WHY_MAX];
	int rc =
	    csv_rows_classify(&in->rows, in->csv, rec, &cr, why, sizeof(why));

	memset(r, 0, sizeof(*r));
	if (rc == -1) {
		snprintf(in->err, sizeof(in->err), "%s:%llu: %s", in->name,
			 (unsigned long long)rec->line, why);
		in->layout_error = true;
		return -1;
	}
	if (rc < 0) {
		snprintf(in->err, sizeof(in->err), "out of memory");
		return -1;
	}
	r->prefix = cr.prefix;
	r->prefixlen = cr.prefixlen;
	switch (cr.kind) {
	case CSV_ROW_SKIP:
		r->kind = BULK_ROW_SKIP;
		return 0;
	case CSV_ROW_HEADER:
		r->kind = BULK_ROW_HEADER;
		return 0;
	case CSV_ROW_ADDRESS:
		r->kind = BULK_ROW_ADDRESS;
		r->addr = cr.addr;
		r->addrlen = cr.addrlen;
		return 0;
	case CSV_ROW_INVALID:
		break;
	}
	if (cr.malformed && in->malformed++ < BULK_IN_MALFORMED_REPORT_MAX)
		log_warn("%s:%llu: %s; passed through as invalid_syntax",
			 in->name, (unsigned long long)rec->line, rec->why);
	r->kind = BULK_ROW_DIRECT;
	direct(&r->v, cr.malformed ? rec->raw : "",
	       cr.malformed ? rec->raw_len : 0, cr.why);
	return 0;
}

int bulk_in_next_row(struct bulk_in *in, struct bulk_row *r)
{
	struct csv_record rec;
	int rc;

	if (in->has_pushback) {
		*r = in->pushback;
		in->has_pushback = false;
		return 1;
	}
	do {
		rc = next_record(in, &rec);
		if (rc != 1)
			return rc;
		if (classify(in, &rec, r) < 0)
			return -2;
	} while (r->kind == BULK_ROW_SKIP);
	return 1;
}

void bulk_in_push_back(struct bulk_in *in, const struct bulk_row *r)
{
	in->pushback = *r;
	in->has_pushback = true;
}

/* bulk_in_count_rows - a reading of its own from the path: IN's fd, its
 * parser and its layout stay untouched for the run. */
bool bulk_in_count_rows(const struct bulk_in *in, uint64_t *total)
{
	int fd = open(in->name, O_RDONLY | O_CLOEXEC);
	struct csv *p = csv_new(NULL);
	char *buf = malloc(BULK_IN_READ_CHUNK);
	struct csv_rows rs;
	struct csv_record rec;
	struct csv_row row;
	bool ok = false;
	uint64_t n = 0;
	char why[BULK_IN_WHY_MAX];

	csv_rows_init(&rs, in->rows.column);
	if (fd < 0 || p == NULL || buf == NULL)
		goto done;
	for (;;) {
		ssize_t got = read(fd, buf, BULK_IN_READ_CHUNK);
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
