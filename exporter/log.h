/* Journald-friendly logging to stderr: under systemd (JOURNAL_STREAM set) each line starts with
 * a syslog priority prefix ("<3>"), otherwise with "error: " / "warning: ". */
#ifndef GHOSTREC_EXPORTER_LOG_H
#define GHOSTREC_EXPORTER_LOG_H

#include <stdint.h>

enum log_level { LOG_LEVEL_ERR = 3, LOG_LEVEL_WARN = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)

/* For events that can flood (bad packets): true for the first few occurrences, then once per
 * thousand, so a storm of junk cannot drown the log but every kind is reported. */
static inline int log_should_report(uint64_t count)
{
	return count <= 5 || count % 1000 == 0;
}

#endif
