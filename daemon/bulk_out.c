/* bulk_out - rows written in input order, and --resume (bulk_out.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "daemon/bulk_out.h"

/* The ring starts with this many slots and doubles (a power of two, so
 * an index maps to a slot with a mask). */
#define BULK_OUT_RING_MIN 1024
/* An OUT row holds IN's columns and the verdict columns, of which the
 * status is the 11th from the end (core/csv.h CSV_VERDICT_COLUMNS). */
#define BULK_OUT_VERDICT_FIELDS 11
/* A status name, as csv_verdict_fields() writes it. */
#define BULK_OUT_STATUS_NAME_MAX 16

static struct bulk_out_slot *slot_at(struct bulk_out *o, uint64_t index)
{
	return &o->ring[(size_t)index & (o->cap - 1)];
}

void bulk_out_init(struct bulk_out *o)
{
	memset(o, 0, sizeof(*o));
}

void bulk_out_release(struct bulk_out *o)
{
	for (size_t i = 0; i < o->count; i++)
		free(slot_at(o, o->written + i)->line);
	free(o->ring);
	o->ring = NULL;
	o->cap = o->count = o->pending_bytes = 0;
}

/* bulk_out_push - grows the ring by doubling, the pending rows moved to
 * their slots under the new mask. */
int bulk_out_push(struct bulk_out *o, char *line, size_t len, uint64_t *index)
{
	if (o->count == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : BULK_OUT_RING_MIN;
		struct bulk_out_slot *n = calloc(cap, sizeof(*n));
		if (n == NULL)
			return -1;
		for (size_t i = 0; i < o->count; i++)
			n[(o->written + i) & (cap - 1)] =
			    *slot_at(o, o->written + i);
		free(o->ring);
		o->ring = n;
		o->cap = cap;
	}
	struct bulk_out_slot *s = slot_at(o, o->next_index);
	s->line = line;
	s->len = len;
	s->ready = false;
	*index = o->next_index;
	o->count++;
	o->next_index++;
	o->pending_bytes += len;
	return 0;
}

int bulk_out_complete(struct bulk_out *o, uint64_t index,
		      const struct verdict *v)
{
	struct bulk_out_slot *s = slot_at(o, index);
	char *line = realloc(s->line, s->len + 1 + CSV_VERDICT_MAX + 1);

	if (line == NULL)
		return -1;
	o->pending_bytes -= s->len;
	line[s->len++] = ',';
	s->len += csv_verdict_fields(v, line + s->len);
	line[s->len++] = '\n';
	s->line = line;
	s->ready = true;
	o->pending_bytes += s->len;
	return 0;
}

int bulk_out_write_ready(struct bulk_out *o, bool write)
{
	int failed = 0;

	while (o->count > 0) {
		struct bulk_out_slot *s = slot_at(o, o->written);
		if (!s->ready)
			break;
		if (write && fwrite(s->line, 1, s->len, o->out) != s->len) {
			failed = errno ? errno : EIO;
			write = false;
		}
		o->pending_bytes -= s->len;
		free(s->line);
		s->line = NULL;
		o->count--;
		o->written++;
	}
	return failed;
}

int bulk_out_header(struct bulk_out *o, const char *line, size_t len)
{
	if (o->header_done || line == NULL)
		return 0;
	o->header_done = true;
	if (fwrite(line, 1, len, o->out) != len)
		return errno ? errno : EIO;
	return 0;
}

bool bulk_out_full(const struct bulk_out *o)
{
	return o->count >= BULK_OUT_PENDING_ROWS_MAX ||
	       o->pending_bytes >= BULK_OUT_PENDING_BYTES_MAX;
}

bool bulk_out_has_room(const struct bulk_out *o)
{
	return o->count < BULK_OUT_PENDING_ROWS_MAX / 2 &&
	       o->pending_bytes < BULK_OUT_PENDING_BYTES_MAX / 2;
}

/* ---- resuming --------------------------------------------------------- */

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

/* resume_check - OUT's record @rec (data row @k) against IN's next row;
 * its status counted. Returns 0, or -1 with @err. */
static int resume_check(struct bulk_out *o, const struct bulk_out_input *in,
			const struct csv_record *rec, uint64_t k,
			uint64_t status[VERDICT_STATUS_LAST], char *err,
			size_t errlen)
{
	char *prefix = NULL;
	size_t len = 0;
	int rc = in->row(in->arg, &prefix, &len);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		snprintf(err, errlen,
			 "%s:%llu: more rows than %s has: not its output",
			 o->name, (unsigned long long)rec->line, in->name);
		return -1;
	}
	bool same = rec->raw_len > len && memcmp(rec->raw, prefix, len) == 0 &&
		    rec->raw[len] == ',' &&
		    rec->nfields >= BULK_OUT_VERDICT_FIELDS;
	free(prefix);
	if (!same) {
		snprintf(err, errlen,
			 "%s:%llu: not the output of row %llu of %s (a "
			 "different input?); remove it or drop --resume",
			 o->name, (unsigned long long)rec->line,
			 (unsigned long long)k + 1, in->name);
		return -1;
	}
	const struct csv_field *st =
	    &rec->field[rec->nfields - BULK_OUT_VERDICT_FIELDS];
	char name[BULK_OUT_STATUS_NAME_MAX];
	snprintf(name, sizeof(name), "%.*s", (int)st->len, st->p);
	int s = verdict_status_from_name(name);
	status[s >= 0 ? s : VERDICT_UNKNOWN]++;
	return 0;
}

/* resume_header - OUT's first record @rec against IN's header. */
static int resume_header(struct bulk_out *o, const struct bulk_out_input *in,
			 const struct csv_record *rec, char *err, size_t errlen)
{
	const char *hdr = NULL;
	size_t len = 0;

	if (in->header(in->arg, &hdr, &len) < 0)
		return -1;
	if (hdr == NULL || rec->raw_len + 1 != len ||
	    memcmp(rec->raw, hdr, rec->raw_len) != 0) {
		snprintf(err, errlen,
			 "%s: its header is not the one %s gives: not its "
			 "output; remove it or drop --resume",
			 o->name, in->name);
		return -1;
	}
	o->header_done = true;
	return 0;
}

int bulk_out_resume(struct bulk_out *o, int fd, const struct bulk_out_input *in,
		    uint64_t status[VERDICT_STATUS_LAST], char *err,
		    size_t errlen)
{
	struct csv_limits l = {BULK_OUT_RECORD_MAX, BULK_OUT_RECORD_MAX,
			       CSV_FIELDS_MAX + 16};
	struct csv *oc = csv_new(&l);
	char *buf = malloc(BULK_OUT_READ_CHUNK);
	struct csv_record rec;
	off_t off = 0, good = 0;
	uint64_t k = 0;
	size_t have = 0, used = 0;
	bool eof = false;
	int rc = -1;
	char bom[3];

	if (oc == NULL || buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (pread(fd, bom, 3, 0) == 3 && memcmp(bom, "\xef\xbb\xbf", 3) == 0)
		off = good = 3;
	for (;;) {
		if (csv_next(oc, &rec) != 1) {
			if (used < have) {
				used += csv_feed(oc, buf + used, have - used);
				continue;
			}
			if (eof)
				break;
			ssize_t n = read(fd, buf, BULK_OUT_READ_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(err, errlen, "%s: %s", o->name,
					 strerror(errno));
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
		if (rec.err != CSV_OK || t <= 0)
			break; /* a line cut by a crash: dropped */
		if (k == 0) {
			if (resume_header(o, in, &rec, err, errlen) < 0)
				goto done;
		} else if (resume_check(o, in, &rec, k - 1, status, err,
					errlen) < 0) {
			goto done;
		} else {
			o->next_index++;
			o->written++;
		}
		k++;
		off += (off_t)rec.raw_len + t;
		good = off;
	}
	if (!o->header_done)
		good = 0;
	o->resumed = o->written;
	if (ftruncate(fd, good) < 0 || lseek(fd, good, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s: %s", o->name, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	csv_free(oc);
	free(buf);
	return rc;
}
