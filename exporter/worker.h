/* Background thread for everything slow, so spooling never waits on it: finalizing spooled
 * takes into WAV files, and delivering queued takes to every target with retries (exponential
 * backoff from 1 s up to retry-max). The queue lives on disk (<spool>/queue/<id>/), so
 * undelivered takes survive restarts; a take's queue directory is removed only after every
 * target confirmed it. */
#ifndef GHOSTREC_EXPORTER_WORKER_H
#define GHOSTREC_EXPORTER_WORKER_H

#include <stdint.h>

#include "config.h"
#include "deliver.h"
#include "jsonw.h"
#include "take.h"

struct worker;

struct worker_counters {
	uint64_t finalized, finalize_failed, delivered, delivery_failures, actions_sent;
};

/* Takes ownership of targets. Scans <spool>/queue for takes left from an earlier run. */
struct worker *worker_start(const struct exporter_config *cfg, struct deliver_target **targets,
			    unsigned n_targets);
void worker_stop(struct worker *w);

/* Hands a SPOOLED take over: finalize, queue, deliver; its state + spool files are removed once
 * the queue directory holds the finished files. */
void worker_submit(struct worker *w, const struct take *t);
/* A take being recorded: its files in dir hold stable_frames synced frames, which go ahead to
 * the targets that take parts of files (sendahead.h), so its delivery at the end only sends
 * what is left. Not for exports. */
void worker_send_ahead(struct worker *w, const struct take *t, const char *dir, uint64_t stable_frames);
/* The take will not be delivered (it failed): what was sent ahead is removed. */
void worker_send_ahead_drop(struct worker *w, uint32_t take_id);
/* Retry every queued delivery now (ghostrec-ctl retry). */
void worker_retry_now(struct worker *w);
/* Host that sent /record (REAPER) for --reaper-action when --reaper-host is not set. */
void worker_set_reaper_host(struct worker *w, const char *host);

void worker_counters(struct worker *w, struct worker_counters *out);
/* Writes "queue": [...] and "delivered": [...] (recent history) keys into an open object. */
void worker_status_json(struct worker *w, struct jsonw *jw);
/* Number of takes finalizing or waiting for delivery. */
unsigned worker_pending(struct worker *w);

#endif
