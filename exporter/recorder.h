/* The recorder: every attached node is journaled all the time (capture.h); OSC commands, the
 * control socket and the nodes' marker tables only decide which range of a node's journal
 * becomes a clean take (take.h). A take's files are written from the journal while it runs
 * (finalize.h), so stopping a take only patches headers and renames its folder into the
 * delivery queue. Every state change is persisted; after a crash the takes found in the spool
 * directory carry on from the journal. */
#ifndef GHOSTREC_EXPORTER_RECORDER_H
#define GHOSTREC_EXPORTER_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "config.h"
#include "finalize.h"
#include "jsonw.h"
#include "node-link.h"
#include "take.h"
#include "worker.h"

#define RECORDER_MAX_ACTIVE 32
#define RECORDER_MARK_TIMEOUT_S 3.0
/* A take whose node went away is finished after this long (the gap flagged) unless the node
 * comes back with the same timeline first. */
#define RECORDER_NODE_GONE_WAIT_S 2.0
#define RECORDER_MAX_NODES (EXPORTER_MAX_NODES + 4)

struct active_take {
	struct take t;
	struct take_output out;
	unsigned node;           /* index into recorder.nodes */
	bool mark_sent;
	double mark_sent_at;     /* first attempt: the mark timeout counts from here */
	double last_sync;
	uint64_t sync_seq;       /* the files' background sync in flight (syncer.h); 0: none */
	uint64_t sync_frames;    /* the frames that sync makes durable */
	double gone_since;       /* node absent (or restarted) since; 0: present */
	int64_t gone_wall_ns;    /* realtime of the last frame heard before that */
	bool finish_failed;
	bool output_failed;      /* its files could not be created (disk full): retried each tick */
	bool state_unsaved;      /* its last state could not be written: saved again each tick */
};

struct recorder_counters {
	uint64_t starts, stops, repeated_starts, idle_stops, takes_started, takes_spooled,
		takes_failed, marks_missing, lost_frames, ring_overwrites, recovered, spool_errors, exports;
};

struct recorder {
	const struct exporter_config *cfg;
	struct worker *worker;
	struct syncer *syncer;   /* the periodic syncs of journals and take files */
	struct node_link nodes[RECORDER_MAX_NODES];
	struct capture caps[RECORDER_MAX_NODES];
	unsigned n_nodes;
	struct active_take takes[RECORDER_MAX_ACTIVE];
	unsigned n_takes;
	float *scratch[TAKE_MAX_CHANNELS];
	float *frames;           /* interleaved read buffer */
	struct recorder_counters counters;
	bool ring_warned[RECORDER_MAX_NODES];
	uint32_t last_take_ids[RECORDER_MAX_NODES];
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

/* A past range of a node's journal as a take (ghostrec-ctl export). from/to: wall-clock
 * nanoseconds (is_frames false) or ring frames of the node's current timeline. out_path: where
 * the WAV goes as well ("" = only the delivery queue). Returns the take id, or 0 with a reason. */
uint32_t recorder_export(struct recorder *r, const char *node, bool is_frames, int64_t from, int64_t to,
			 const char *out_path, char *err, size_t errsize);

/* A range [from, to) of timeline `instance` of node n's journal as a take, delivered like any
 * take (REAPER's requests, requests.h). Returns the take id, or 0 with a reason. */
uint32_t recorder_export_range(struct recorder *r, unsigned n, uint64_t instance, uint64_t from, uint64_t to,
			       char *err, size_t errsize);

/* Node links, journaling, marker lookups, take building, hand-over of finished takes. */
void recorder_tick(struct recorder *r, double now);

/* Marks every attached node with a fresh take id without recording (ghostrec-ctl mark). */
int recorder_mark_only(struct recorder *r, uint32_t *take_id);

void recorder_status_json(struct recorder *r, struct jsonw *jw);

#endif
