/* Journald-friendly logging (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void log_msg(enum log_level level, const char *fmt, ...)
{
	static int journal = -1;
	char line[2048];
	va_list ap;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (journal)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else
		fprintf(stderr, "%s%s\n", level == LOG_LEVEL_ERR ? "error: " :
			level == LOG_LEVEL_WARN ? "warning: " : "", line);
}
