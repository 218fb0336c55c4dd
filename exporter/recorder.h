/* The recorder ties OSC commands to takes on every attached node: it asks each node to mark,
 * spools the ring into spool files while takes run (called often enough from the main loop that
 * a small ring never overruns), persists every state change, and hands finished takes to the
 * worker. After a crash it picks up the takes it finds in the spool directory. */
#ifndef GHOSTREC_EXPORTER_RECORDER_H
#define GHOSTREC_EXPORTER_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "jsonw.h"
#include "node-link.h"
#include "spool.h"
#include "take.h"
#include "worker.h"

#define RECORDER_MAX_ACTIVE 32
#define RECORDER_MARK_TIMEOUT_S 3.0

struct active_take {
	struct take t;
	struct spool_writer w;
	unsigned node;           /* index into recorder.nodes */
	bool mark_sent;
	double mark_sent_at;     /* first attempt: the mark timeout counts from here */
	double last_sync;
	bool verify_pending;     /* recovered after a crash, or the node's ring came back after it
				  * went away: check the node still knows our marker */
	uint64_t attach_seen;    /* node_link.attach_count when last verified */
};

struct recorder_counters {
	uint64_t starts, stops, repeated_starts, idle_stops, takes_started, takes_spooled,
		takes_failed, marks_missing, lost_frames, ring_overwrites, recovered, spool_errors;
};

struct recorder {
	const struct exporter_config *cfg;
	struct worker *worker;
	struct node_link nodes[EXPORTER_MAX_NODES + 4];
	unsigned n_nodes;
	struct active_take takes[RECORDER_MAX_ACTIVE];
	unsigned n_takes;
	float *scratch[TAKE_MAX_CHANNELS];
	struct recorder_counters counters;
	bool ring_warned[EXPORTER_MAX_NODES + 4];
	uint32_t last_take_ids[EXPORTER_MAX_NODES + 4];
	unsigned n_last;
};

int recorder_init(struct recorder *r, const struct exporter_config *cfg, void *zctx, struct worker *worker);
void recorder_close(struct recorder *r);

/* Loads takes left in the spool directory by an earlier run. */
void recorder_recover(struct recorder *r, double now);

/* Take control; return how many takes started / stopped. A start while recording is a no-op. */
int recorder_start(struct recorder *r, const char *why, double now);
int recorder_stop(struct recorder *r, const char *why);
bool recorder_recording(const struct recorder *r);

/* Node links, node replies, marker lookups, spooling, hand-over of finished takes. */
void recorder_tick(struct recorder *r, double now);

/* Marks every attached node with a fresh take id without recording (ghostrec-ctl mark). */
int recorder_mark_only(struct recorder *r, uint32_t *take_id);

void recorder_status_json(struct recorder *r, struct jsonw *jw);

#endif
