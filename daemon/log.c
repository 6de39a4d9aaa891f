/* log - log lines on stderr (see log.h). */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
	enum log_format format;
	enum log_level threshold;
} logger = {LOG_FORMAT_TEXT, LOG_INFO};

static const char *const level_name[] = {"debug", "info", "warn", "error"};

int log_setup(enum log_format format, const char *level)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
		if (strcmp(level, level_name[i]) == 0) {
			logger.format = format;
			logger.threshold = (enum log_level)i;
			return 0;
		}
	return -1;
}

/* escape - copy @s into @out, escaping control characters (one event, one
 * line) and, for JSON, quotes and backslashes. */
static void escape(char *out, size_t size, const char *s, bool json)
{
	size_t o = 0;

	for (; *s && o + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (json && (c == '"' || c == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], esc[LOG_LINE_MAX * 2], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level < logger.threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	escape(esc, sizeof(esc), msg, logger.format == LOG_FORMAT_JSON);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (logger.format == LOG_FORMAT_JSON)
		fprintf(stderr,
			"{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"pid\":%d,"
			"\"msg\":\"%s\"}\n",
			ts, now.tv_nsec / 1000000, level_name[level],
			(int)getpid(), esc);
	else
		fprintf(stderr, "%s.%03ldZ rcptd[%d] %s: %s\n", ts,
			now.tv_nsec / 1000000, (int)getpid(), level_name[level],
			esc);
}
