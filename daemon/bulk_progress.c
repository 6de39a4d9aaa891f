/* bulk_progress - `rcptd bulk --progress` on stderr (bulk_progress.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/bulk_progress.h"

/* The bar's width in characters, and its two strings at that width. */
#define BULK_PROGRESS_BAR_WIDTH 20

static const char *const status_label[VERDICT_STATUS_LAST] = {
    "unknown", "deliverable", "undeliverable", "risky"};

int bulk_progress_mode(const char *name, bool tty,
		       enum bulk_progress_mode *mode)
{
	if (strcmp(name, "auto") == 0)
		*mode = tty ? BULK_PROGRESS_BAR : BULK_PROGRESS_LINES;
	else if (strcmp(name, "bar") == 0)
		*mode = BULK_PROGRESS_BAR;
	else if (strcmp(name, "lines") == 0)
		*mode = BULK_PROGRESS_LINES;
	else if (strcmp(name, "none") == 0)
		*mode = BULK_PROGRESS_NONE;
	else
		return -1;
	return 0;
}

unsigned bulk_progress_interval_ms(enum bulk_progress_mode mode)
{
	switch (mode) {
	case BULK_PROGRESS_BAR:
		return BULK_PROGRESS_BAR_MS;
	case BULK_PROGRESS_LINES:
		return BULK_PROGRESS_LINES_MS;
	case BULK_PROGRESS_NONE:
		break;
	}
	return 0;
}

void bulk_progress_duration(long s, char *buf, size_t len)
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

size_t bulk_progress_counts(const struct bulk_progress *p, char *buf,
			    size_t len)
{
	static const enum verdict_status order[] = {
	    VERDICT_DELIVERABLE, VERDICT_UNDELIVERABLE, VERDICT_RISKY,
	    VERDICT_UNKNOWN};
	size_t n = 0;

	for (size_t i = 0; i < 4 && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s %llu",
				      i ? ", " : "", status_label[order[i]],
				      (unsigned long long)p->status[order[i]]);
	return n;
}

void bulk_progress_line(const struct bulk_progress *p, double rate, char *buf,
			size_t len, bool bar)
{
	char eta[BULK_PROGRESS_DURATION_MAX];
	size_t n = 0;
	long eta_s = -1;

	if (p->total_known && rate > 0.0)
		eta_s = p->done >= p->total
			    ? 0
			    : (long)ceil((double)(p->total - p->done) / rate);
	bulk_progress_duration(eta_s, eta, sizeof(eta));
	if (p->total_known) {
		double f = p->total ? (double)p->done / (double)p->total : 1.0;
		if (bar) {
			int w = BULK_PROGRESS_BAR_WIDTH, full = (int)(f * w);
			n += (size_t)snprintf(buf + n, len - n, "[%.*s%.*s] ",
					      full, "####################",
					      w - full, "--------------------");
		}
		n += (size_t)snprintf(
		    buf + n, len - n, "%llu/%llu rows (%.0f%%), %.1f/s, ETA %s",
		    (unsigned long long)p->done, (unsigned long long)p->total,
		    f * 100.0, rate, eta);
	} else {
		n += (size_t)snprintf(buf + n, len - n, "%llu rows, %.1f/s",
				      (unsigned long long)p->done, rate);
	}
	n += (size_t)snprintf(buf + n, len - n, "; ");
	if (n < len)
		bulk_progress_counts(p, buf + n, len - n);
}

void bulk_progress_draw(struct bulk_progress *p, double rate)
{
	char line[BULK_PROGRESS_LINE_MAX];

	if (p->mode == BULK_PROGRESS_BAR) {
		bulk_progress_line(p, rate, line, sizeof(line), true);
		fprintf(stderr, "\r\033[K%s", line);
		p->bar_drawn = true;
	} else if (p->mode == BULK_PROGRESS_LINES) {
		bulk_progress_line(p, rate, line, sizeof(line), false);
		fprintf(stderr, "rcptd bulk: %s\n", line);
	}
}
