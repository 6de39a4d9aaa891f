/* bulk_progress - `rcptd bulk --progress`: what the run has done, on
 * stderr (daemon/cli_bulk.c).
 *
 * Modes: a bar redrawn in place on a terminal every BULK_PROGRESS_BAR_MS
 * ("[####----] done/total rows (P%), R/s, ETA T; counts by status"), or
 * a line every BULK_PROGRESS_LINES_MS when stderr is not one (a log), or
 * nothing. The total is known only when IN was counted before the run;
 * without it there is no bar and no ETA.
 * Ownership: struct bulk_progress is the caller's, counters included
 * (the caller counts rows as they are done). Formatting functions write
 * into the caller's buffer and cut at its size. Errors: -1 from
 * bulk_progress_mode() for an unknown mode name; nothing else fails. */
#ifndef RCPTD_DAEMON_BULK_PROGRESS_H
#define RCPTD_DAEMON_BULK_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/verdict.h"

/* A bar four times a second looks alive; a line every 5 s in a log is
 * enough to see that the run moves. */
#define BULK_PROGRESS_BAR_MS   250
#define BULK_PROGRESS_LINES_MS 5000
/* One progress line: the bar (22), the numbers and four counts. */
#define BULK_PROGRESS_LINE_MAX 512
/* A duration: "NNNNhMMm" and more for absurd ETAs. */
#define BULK_PROGRESS_DURATION_MAX 32

enum bulk_progress_mode {
	BULK_PROGRESS_NONE = 0,
	BULK_PROGRESS_BAR,
	BULK_PROGRESS_LINES
};

struct bulk_progress {
	enum bulk_progress_mode mode;
	bool total_known;
	uint64_t total; /* rows of IN, when total_known */
	uint64_t done;	/* rows with their verdict (resumed ones included) */
	uint64_t status[VERDICT_STATUS_LAST]; /* done rows by status */
	bool bar_drawn; /* a bar is on the terminal's last line */
};

/* bulk_progress_mode - --progress NAME (auto, bar, lines, none) into
 * *@mode; auto is a bar when @tty. Returns 0, or -1 for another name. */
int bulk_progress_mode(const char *name, bool tty,
		       enum bulk_progress_mode *mode);
/* bulk_progress_interval_ms - how often @mode draws; 0 for none. */
unsigned bulk_progress_interval_ms(enum bulk_progress_mode mode);
/* bulk_progress_duration - @s seconds as "Ns", "MmSSs", "HhMMm"; "?"
 * when negative (not known). */
void bulk_progress_duration(long s, char *buf, size_t len);
/* bulk_progress_counts - "deliverable N, undeliverable N, risky N,
 * unknown N"; returns the length written (snprintf's). */
size_t bulk_progress_counts(const struct bulk_progress *p, char *buf,
			    size_t len);
/* bulk_progress_line - done/total, @rate (rows a second), ETA and counts
 * (a bar first when @bar). */
void bulk_progress_line(const struct bulk_progress *p, double rate, char *buf,
			size_t len, bool bar);
/* bulk_progress_draw - draw once on stderr, as p->mode says. */
void bulk_progress_draw(struct bulk_progress *p, double rate);

#endif
