/* REAPER's requests for the clean audio of a take that has no marker and no clean file
 * (contract: docs/contracts.md "REAPER requests"): the ReaScript writes
 * <outbox>/requests/ghostrec-request-<id>.json with probes of the take's audio; the exporter
 * finds them in its nodes' journals (common/journal_find.h), makes that range a take delivered
 * like any other (recorder_export_range) and answers in ghostrec-answer-<id>.json. */
#ifndef GHOSTREC_EXPORTER_REQUESTS_H
#define GHOSTREC_EXPORTER_REQUESTS_H

#include <stddef.h>

#include "recorder.h"

#define REQUESTS_DIR "requests"
#define REQUESTS_MAX_BYTES (8u << 20)
#define REQUESTS_POLL_S 0.5

/* Serves the requests waiting in <outbox>/requests (created 0700/0750 with the outbox's mode).
 * Call from the main loop; does nothing without an outbox or more often than REQUESTS_POLL_S. */
void requests_poll(struct recorder *r, double now);

/* One request's text -> the answer's JSON (the exporter's side, also for tests). */
int requests_answer(struct recorder *r, const char *req, size_t len, const char *fallback_id, char *answer,
		    size_t size, char *id, size_t idsize);

#endif
