/* Journald-friendly logging (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void log_msg(enum log_level level, const char *fmt, ...)
{
	static int journal = -1, stamp = -1;
	char line[2048], when[32] = "";
	va_list ap;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (stamp < 0)
		stamp = getenv("GHOSTREC_LOG_TIME") != NULL; /* monotonic seconds first (tests, benches) */
	if (stamp) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(when, sizeof(when), "[%ld.%03ld] ", (long)ts.tv_sec, ts.tv_nsec / 1000000L);
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (journal)
		fprintf(stderr, "<%d>%s%s\n", (int)level, when, line);
	else
		fprintf(stderr, "%s%s%s\n", when, level == LOG_LEVEL_ERR ? "error: " :
			level == LOG_LEVEL_WARN ? "warning: " : "", line);
}
