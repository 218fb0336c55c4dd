/* Capture: copies everything a node's ring holds into the node's journal (common/journal.h),
 * all the time, whether a take runs or not. Frames the ring lost before they were journaled
 * (exporter down, ring overrun, disk full, format change) become gap records with their exact
 * range and cause. A write the disk cannot take is retried from the same frame while the ring
 * still holds it: nothing is written twice or out of order. */
#ifndef GHOSTREC_EXPORTER_CAPTURE_H
#define GHOSTREC_EXPORTER_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/journal.h"
#include "jsonw.h"
#include "node-link.h"
#include "syncer.h"

struct capture_gap {
	bool on;
	uint64_t instance, frame, frames;
	char cause[GHOSTREC_JOURNAL_CAUSE_MAX];
};

struct capture {
	struct ghostrec_journal j;
	bool open;
	bool have_pos;
	uint64_t instance;        /* node instance being journaled */
	uint64_t pos;             /* next ring frame to journal */
	struct capture_gap pending; /* a gap the disk did not take yet */
	bool disk_full;
	double last_sync, last_rotate;
	struct syncer *syncer;    /* runs the periodic journal sync (NULL: the caller's thread) */
	uint64_t sync_seq;        /* that sync in flight; 0: none */
	uint64_t frames, gap_frames, gaps, write_errors, sync_errors, rotated;
	char last_error[256];
};

int capture_open(struct capture *c, const char *spool_dir, const char *node,
		 const struct ghostrec_journal_limits *lim, char *err, size_t errsize);
void capture_close(struct capture *c);

/* Journals what the ring holds now; scratch: GHOSTREC_RING_MAX_CHANNELS buffers of
 * CAPTURE_CHUNK_FRAMES floats. A chunk is read from the ring before it is written: catching up
 * with a full ring after a restart, the first chunk (and the margin before it) is what the
 * journal's first writes may take before the node's writer reaches the frames after it
 * (0.68 s at 48 kHz). */
#define CAPTURE_CHUNK_FRAMES 32768u
void capture_pump(struct capture *c, struct node_link *nl, double now, float **scratch);

/* Sync (at least once a second) and rotation; keep_*: the oldest frame a take still needs. */
void capture_maintain(struct capture *c, double now, uint64_t keep_instance, uint64_t keep_from);

/* "journal": {...} for ghostrec-ctl status. */
void capture_status_json(struct capture *c, struct jsonw *jw);

#endif
