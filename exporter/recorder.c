/* Journals on nodes, takes as ranges of them (see recorder.h). */
#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

#define BUILD_CHUNK 8192u
#define BUILD_MAX_PER_TICK (1u << 20) /* frames a take is written by per tick: the loop stays responsive */
#define SYNC_INTERVAL_S 1.0

static void *g_zctx; /* for nodes that only recovered takes mention */

static void state_path(char *buf, size_t size, const struct recorder *r, uint32_t id)
{
	spool_state_path(buf, size, r->cfg->spool_dir, id);
}

static void build_dir(char *buf, size_t size, const struct recorder *r, uint32_t id)
{
	snprintf(buf, size, "%s/queue/.build-%" PRIu32, r->cfg->spool_dir, id);
}

/* Saves the take's state; a state that cannot be written (disk full) is saved again on every
 * tick until it is: the take goes on meanwhile, its files and the journal hold the audio. */
static void save(struct recorder *r, struct active_take *a)
{
	char path[4200];
	state_path(path, sizeof(path), r, a->t.take_id);
	int e = take_save(&a->t, path);
	if (e < 0) {
		r->counters.spool_errors++;
		if (!a->state_unsaved || log_should_report(r->counters.spool_errors))
			log_err("take %" PRIu32 ": cannot save its state to %s: %s; retrying", a->t.take_id, path,
				strerror(-e));
		a->state_unsaved = true;
	} else if (a->state_unsaved) {
		a->state_unsaved = false;
		log_info("take %" PRIu32 ": its state is saved again (%s)", a->t.take_id, path);
	}
}

static int find_node(struct recorder *r, const char *name)
{
	for (unsigned i = 0; i < r->n_nodes; i++)
		if (!strcmp(r->nodes[i].name, name))
			return (int)i;
	return -1;
}

static int add_node(struct recorder *r, void *zctx, const char *name)
{
	char err[4400];
	if (r->n_nodes >= RECORDER_MAX_NODES)
		return -1;
	unsigned n = r->n_nodes;
	if (node_link_init(&r->nodes[n], zctx, name) < 0)
		return -1;
	struct ghostrec_journal_limits lim = {
		.max_seconds = r->cfg->journal_hours * 3600.0,
		.max_bytes = r->cfg->journal_max_bytes,
		.seg_seconds = r->cfg->journal_segment_seconds,
		.min_free_bytes = r->cfg->journal_min_free_bytes,
	};
	if (capture_open(&r->caps[n], r->cfg->spool_dir, name, &lim, err, sizeof(err)) < 0) {
		log_err("node %s: cannot open its journal: %s", name, err);
		node_link_close(&r->nodes[n]);
		return -1;
	}
	r->caps[n].syncer = r->syncer;
	return (int)r->n_nodes++;
}

int recorder_init(struct recorder *r, const struct exporter_config *cfg, void *zctx, struct worker *worker)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->worker = worker;
	g_zctx = zctx;
	if (!(r->syncer = syncer_start()))
		return -1;
	for (unsigned c = 0; c < TAKE_MAX_CHANNELS; c++)
		if (!(r->scratch[c] = malloc(CAPTURE_CHUNK_FRAMES * sizeof(float))))
			return -1;
	if (!(r->frames = malloc((size_t)BUILD_CHUNK * TAKE_MAX_CHANNELS * sizeof(float))))
		return -1;
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (add_node(r, zctx, cfg->nodes[i]) < 0)
			return -1;
	return 0;
}

void recorder_close(struct recorder *r)
{
	for (unsigned i = 0; i < r->n_takes; i++) {
		take_output_sync(&r->takes[i].out);
		take_output_close(&r->takes[i].out);
	}
	for (unsigned i = 0; i < r->n_nodes; i++) {
		capture_close(&r->caps[i]);
		node_link_close(&r->nodes[i]);
	}
	for (unsigned c = 0; c < TAKE_MAX_CHANNELS; c++)
		free(r->scratch[c]);
	free(r->frames);
	syncer_stop(r->syncer);
	r->syncer = NULL;
}

static bool recording_take(const struct take *t)
{
	return !t->is_export && (t->state == TAKE_ARMED || t->state == TAKE_RECORDING);
}

bool recorder_recording(const struct recorder *r)
{
	for (unsigned i = 0; i < r->n_takes; i++)
		if (recording_take(&r->takes[i].t))
			return true;
	return false;
}

static void remove_take(struct recorder *r, unsigned i)
{
	take_output_close(&r->takes[i].out);
	r->takes[i] = r->takes[--r->n_takes];
}

/* Creates the take's build folder and files (resume: opens the ones there). */
static int open_output(struct recorder *r, struct active_take *a, bool resume)
{
	char dir[4200], err[4600];
	build_dir(dir, sizeof(dir), r, a->t.take_id);
	if (!resume && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, sizeof(err), "cannot create %s: %s", dir, strerror(errno));
	} else if (take_output_open(&a->out, &a->t, dir, resume, err, sizeof(err)) == 0) {
		if (a->output_failed)
			log_info("take %" PRIu32 ": its files are written again (%s)", a->t.take_id, dir);
		a->output_failed = false;
		return 0;
	}
	r->counters.spool_errors++;
	if (!a->output_failed || log_should_report(r->counters.spool_errors))
		log_err("take %" PRIu32 ": %s", a->t.take_id, err);
	a->output_failed = true;
	return -1;
}

/* A take's files that could not be created (disk full when it started) are created when there
 * is room again: the journal keeps the take's audio meanwhile. A take that holds frames already
 * reopens its files (a finish that failed half-way). */
static bool ensure_output(struct recorder *r, struct active_take *a)
{
	if (a->out.n)
		return true;
	if (a->t.spooled == 0)
		return open_output(r, a, false) == 0;
	if (open_output(r, a, true) < 0)
		return false;
	if (take_output_frames(&a->out) > a->t.spooled)
		for (unsigned i = 0; i < a->out.n; i++)
			takefile_truncate(&a->out.f[i], a->t.spooled);
	return true;
}

static struct active_take *new_take(struct recorder *r, unsigned n, uint32_t id)
{
	struct node_link *nl = &r->nodes[n];
	struct active_take *a = &r->takes[r->n_takes];
	memset(a, 0, sizeof(*a));
	a->node = n;
	take_begin(&a->t, id, nl->name, r->cfg->format, r->cfg->split_channels, nl->info.rate,
		   nl->info.channels, nl->info.generation, r->cfg->preroll, r->cfg->postroll);
	for (unsigned c = 0; c < a->t.channels; c++)
		memcpy(a->t.channel_map[c], nl->channel_map[c], sizeof(a->t.channel_map[c]));
	a->t.instance = nl->info.instance;
	a->t.request_frame = nl->info.write_frame;
	open_output(r, a, false); /* a full disk: created when there is room (the journal keeps the audio) */
	return a;
}

/* A take resumed after a restart while it was recording may have been stopped by REAPER while we
 * were down: a new start ends it where the new take is asked for (never one merged take). */
static void end_unknown_takes(struct recorder *r, const char *why)
{
	for (unsigned i = 0; i < r->n_takes; i++) {
		struct active_take *a = &r->takes[i];
		if (!a->t.stop_unknown || !recording_take(&a->t))
			continue;
		struct node_link *nl = &r->nodes[a->node];
		uint64_t wf = node_link_attached(nl) && nl->info.instance == a->t.instance ? nl->info.write_frame :
			      a->t.start_frame + a->t.spooled;
		log_warn("take %" PRIu32 ": resumed after a restart, so REAPER may have stopped it meanwhile; "
			 "%s ends it at frame %" PRIu64 " and starts a new take", a->t.take_id, why, wf);
		take_stop(&a->t, wf);
		a->t.stop_unknown = false;
		save(r, a);
	}
}

int recorder_start(struct recorder *r, const char *why, double now)
{
	r->counters.starts++;
	end_unknown_takes(r, why);
	if (recorder_recording(r)) {
		r->counters.repeated_starts++;
		return 0; /* REAPER repeats /record 1 as state feedback */
	}
	int started = 0;
	r->n_last = 0;
	for (unsigned n = 0; n < r->cfg->n_nodes; n++) {
		struct node_link *nl = &r->nodes[n];
		node_link_update(nl, now);
		if (!node_link_attached(nl)) {
			r->counters.takes_failed++;
			log_err("record start (%s): node %s is not attached (%s): nothing can be recorded from it",
				why, nl->name, nl->last_error[0] ? nl->last_error : "no ring");
			continue;
		}
		if (r->n_takes >= RECORDER_MAX_ACTIVE) {
			log_err("record start (%s): %u takes still being written; cannot start another", why, r->n_takes);
			break;
		}
		uint32_t id;
		int e = spool_next_take_id(r->cfg->spool_dir, &id);
		if (e < 0) {
			r->counters.spool_errors++;
			log_err("record start: cannot allocate a take id in %s: %s", r->cfg->spool_dir, strerror(-e));
			break;
		}
		if (e > 0)
			log_warn("take %" PRIu32 ": the take id counter in %s cannot be written (disk full?); "
				 "recording anyway", id, r->cfg->spool_dir);
		struct active_take *a = new_take(r, n, id);
		save(r, a);
		r->n_takes++;
		r->counters.takes_started++;
		e = node_link_send_mark(nl, id);
		a->mark_sent = e == 0;
		a->mark_sent_at = now;
		if (e < 0)
			log_err("take %" PRIu32 ": cannot send mark to node %s: %s", id, nl->name, strerror(-e));
		log_info("take %" PRIu32 ": recording from node %s (%s; %u Hz, %u ch)", id, nl->name, why,
			 a->t.rate, a->t.channels);
		if (r->n_last < sizeof(r->last_take_ids) / sizeof(r->last_take_ids[0]))
			r->last_take_ids[r->n_last++] = id;
		started++;
	}
	return started;
}

int recorder_stop(struct recorder *r, const char *why)
{
	int stopped = 0;
	r->counters.stops++;
	for (unsigned i = 0; i < r->n_takes; i++) {
		struct active_take *a = &r->takes[i];
		struct node_link *nl = &r->nodes[a->node];
		if (a->t.is_export)
			continue;
		uint64_t wf = a->t.start_frame + a->t.spooled;
		if (node_link_attached(nl) && nl->info.instance == a->t.instance) {
			struct ghostrec_ring_info info;
			wf = ghostrec_ring_reader_info(nl->ring, &info) == 0 ? info.write_frame : nl->info.write_frame;
		}
		if (take_stop(&a->t, wf)) {
			stopped++;
			a->t.stop_unknown = false;
			save(r, a);
			log_info("take %" PRIu32 ": stop (%s) at frame %" PRIu64 "; postroll to %" PRIu64, a->t.take_id,
				 why, a->t.state == TAKE_POSTROLL ? a->t.stop_frame : wf,
				 a->t.state == TAKE_POSTROLL ? a->t.end_frame : wf + a->t.postroll_frames);
		}
	}
	if (!stopped)
		r->counters.idle_stops++;
	return stopped;
}

static void handle_marker(struct recorder *r, unsigned node, uint32_t take_id, uint64_t frame)
{
	for (unsigned i = 0; i < r->n_takes; i++) {
		struct active_take *a = &r->takes[i];
		if (a->node != node || a->t.take_id != take_id || a->t.is_export)
			continue;
		if (a->t.state != TAKE_ARMED) {
			/* The node marked after we gave up waiting: the marker in REAPER's take is the
			 * one that counts, so the clean file must point at it (it is inside the take
			 * unless it came absurdly late). It may land exactly on the frame the take
			 * fell back to (a node frozen since the start request marks in its first cycle
			 * back): then the reference was right, and the take has its marker after all. */
			if (a->t.marker_missing && frame >= a->t.start_frame &&
			    (a->t.state == TAKE_RECORDING ||
			     (a->t.state == TAKE_POSTROLL && frame < a->t.end_frame))) {
				log_warn("take %" PRIu32 ": the node's marker came late, at frame %" PRIu64
					 "; the clean take points at it", take_id, frame);
				a->t.marker_frame = frame;
				a->t.marker_missing = false;
				save(r, a);
			}
			return;
		}
		/* the take starts at marker - preroll; what the journal lacks of that is found when the
		 * take is written (it then starts later) */
		take_marked(&a->t, frame, 0);
		save(r, a);
		log_info("take %" PRIu32 ": marker at frame %" PRIu64 "; the take starts at frame %" PRIu64,
			 take_id, frame, a->t.start_frame);
		return;
	}
}

static void poll_node(struct recorder *r, unsigned n)
{
	struct node_link *nl = &r->nodes[n];
	struct ghostrec_ctl_msg m;
	while (node_link_recv(nl, &m) > 0) {
		if (m.kind == GHOSTREC_CTL_MARK && m.type == GHOSTREC_CTL_REPLY) {
			if (m.ok && (m.has & GHOSTREC_CTL_F_FRAME))
				handle_marker(r, n, m.take_id, m.frame);
			else if (!m.ok)
				log_err("node %s: mark refused: %s (%s)", nl->name, m.error, m.message);
		} else if (m.kind == GHOSTREC_CTL_EV_MARKER && (m.has & GHOSTREC_CTL_F_FRAME)) {
			handle_marker(r, n, m.take_id, m.frame);
		} else if (m.kind == GHOSTREC_CTL_EV_XRUN) {
			if (log_should_report(m.xruns))
				log_warn("node %s: graph xrun at frame %" PRIu64 " (%" PRIu64 " so far)", nl->name,
					 m.frame, m.xruns);
		} else if (m.kind == GHOSTREC_CTL_EV_OVERRUN) {
			if (log_should_report(m.overruns))
				log_err("node %s: ring overrun at frame %" PRIu64 " (%" PRIu64 " so far)", nl->name,
					m.frame, m.overruns);
		} else if (m.kind == GHOSTREC_CTL_EV_FORMAT) {
			log_info("node %s: format %u Hz, %u channels (generation %" PRIu64 ")", nl->name, m.rate,
				 m.channels, m.generation);
		} else if (m.type == GHOSTREC_CTL_REPLY && !m.ok) {
			log_warn("node %s: error reply: %s (%s)", nl->name, m.error, m.message);
		}
	}
}

/* Ends a take at what it holds (its format changed; its node is gone: then with a trailing gap). */
static void cut_take(struct recorder *r, struct active_take *a, const char *why, uint64_t gap_frames,
		     const char *cause)
{
	struct take *t = &a->t;
	uint64_t at = t->start_frame + t->spooled;
	if (!ensure_output(r, a))
		return; /* again on the next tick */
	if (t->state == TAKE_RECORDING)
		take_stop(t, at);
	if (gap_frames) {
		int e = take_output_append(&a->out, NULL, t->channels, (uint32_t)gap_frames);
		if (e < 0) {
			r->counters.spool_errors++;
			if (log_should_report(r->counters.spool_errors))
				log_err("take %" PRIu32 ": cannot write its trailing gap: %s; retrying", t->take_id,
					strerror(-e));
			return;
		}
		take_add_gap(t, t->spooled, gap_frames, cause);
		t->spooled += gap_frames;
	}
	log_err("take %" PRIu32 ": %s; ending it after the %" PRIu64 " frames it holds%s", t->take_id, why,
		at - t->start_frame, gap_frames ? " and a gap of the time the node was gone" : "");
	t->end_frame = t->start_frame + t->spooled;
	t->state = TAKE_SPOOLED;
	save(r, a);
}

/* Writes the take's files from the journal as far as the journal and the take's range go. */
static void build(struct recorder *r, struct active_take *a)
{
	struct take *t = &a->t;
	struct capture *c = &r->caps[a->node];
	if (t->state != TAKE_RECORDING && t->state != TAKE_POSTROLL)
		return;
	if (!ensure_output(r, a))
		return;
	uint64_t jend, budget = BUILD_MAX_PER_TICK;
	if (!ghostrec_journal_end(&c->j, t->instance, &jend))
		return;
	while (budget > 0) {
		uint64_t pos = t->start_frame + t->spooled, limit = take_spool_limit(t, jend), n = 0;
		if (pos >= limit || t->state == TAKE_SPOOLED)
			return;
		const struct ghostrec_journal_seg *seg;
		char cause[GHOSTREC_JOURNAL_CAUSE_MAX];
		enum ghostrec_journal_where w = ghostrec_journal_locate(&c->j, t->instance, pos, &n, &seg, cause);
		if (n > limit - pos)
			n = limit - pos;
		if (n > (w == GHOSTREC_JOURNAL_DATA ? BUILD_CHUNK : budget))
			n = w == GHOSTREC_JOURNAL_DATA ? BUILD_CHUNK : budget;
		budget -= n < budget ? n : budget;
		if (w == GHOSTREC_JOURNAL_GONE && t->spooled == 0) {
			/* the journal starts after the preroll would: the take starts there */
			uint64_t lost = n < t->marker_frame - t->start_frame ? n : t->marker_frame - t->start_frame;
			if (lost == 0)
				return;
			t->start_frame += lost;
			r->counters.lost_frames += lost;
			log_warn("take %" PRIu32 ": the journal holds this node's audio from frame %" PRIu64 " on: the "
				 "preroll is %" PRIu64 " frames short", t->take_id, t->start_frame, lost);
			save(r, a);
			continue;
		}
		int e = 0;
		if (w == GHOSTREC_JOURNAL_DATA) {
			if (seg->generation != t->generation || seg->channels != t->channels || seg->rate != t->rate) {
				cut_take(r, a, "the node's format changed (new ring generation)", 0, NULL);
				return;
			}
			e = ghostrec_journal_read(&c->j, seg, pos, (uint32_t)n, r->frames);
			if (e < 0) {
				r->counters.spool_errors++;
				if (log_should_report(r->counters.spool_errors))
					log_err("take %" PRIu32 ": reading the journal failed: %s", t->take_id, strerror(-e));
				return;
			}
			e = take_output_append(&a->out, r->frames, t->channels, (uint32_t)n);
		} else if (w == GHOSTREC_JOURNAL_HOLE || w == GHOSTREC_JOURNAL_GONE) {
			e = take_output_append(&a->out, NULL, t->channels, (uint32_t)n);
			if (e == 0) {
				/* one log line and one state save per gap, not per piece of it */
				const struct take_gap *lg = t->n_gaps ? &t->gaps[t->n_gaps - 1] : NULL;
				bool new_gap = !lg || lg->frame + lg->frames != t->spooled;
				take_add_gap(t, t->spooled, n, w == GHOSTREC_JOURNAL_HOLE ? cause : "other");
				r->counters.lost_frames += n;
				if (new_gap) {
					log_err("take %" PRIu32 ": from file frame %" PRIu64 " on the journal holds no audio "
						"(%s): a gap, flagged in the take's metadata", t->take_id, t->spooled,
						w == GHOSTREC_JOURNAL_HOLE ? cause : "other");
					save(r, a);
				}
			}
		} else {
			return;
		}
		if (e < 0) {
			r->counters.spool_errors++;
			if (log_should_report(r->counters.spool_errors))
				log_err("take %" PRIu32 ": writing its file failed: %s; retrying from the journal (%" PRIu64
					" errors so far)", t->take_id, strerror(-e), r->counters.spool_errors);
			return;
		}
		if (take_add_spooled(t, n))
			save(r, a);
	}
}

/* Header patches, cue points, sidecar, then the folder moves into the delivery queue. */
static bool finish(struct recorder *r, struct active_take *a)
{
	char dir[4200], dst[4200], err[4600];
	struct take *t = &a->t;
	build_dir(dir, sizeof(dir), r, t->take_id);
	spool_queue_path(dst, sizeof(dst), r->cfg->spool_dir, t->take_id);
	if (t->spooled == 0) {
		log_err("take %" PRIu32 ": holds no audio at all; nothing to deliver", t->take_id);
		take_output_close(&a->out);
		spool_remove_dir(dir);
	} else {
		if (!ensure_output(r, a))
			return false;
		if (take_output_finish(&a->out, t, err, sizeof(err)) < 0 ||
		    (rename(dir, dst) < 0 && snprintf(err, sizeof(err), "%s: %s", dst, strerror(errno)) > 0)) {
			if (!a->finish_failed)
				log_err("take %" PRIu32 ": cannot finish its files: %s; retrying", t->take_id, err);
			a->finish_failed = true;
			r->counters.spool_errors++;
			/* the next attempt reopens what is there and patches the same files */
			take_output_close(&a->out);
			return false;
		}
		char q[4200];
		snprintf(q, sizeof(q), "%s/queue", r->cfg->spool_dir);
		int dfd = open(q, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	char st[4200];
	state_path(st, sizeof(st), r, t->take_id);
	unlink(st);
	r->counters.takes_spooled++;
	uint64_t gap_frames = 0;
	for (unsigned g = 0; g < t->n_gaps; g++)
		gap_frames += t->gaps[g].frames;
	log_info("take %" PRIu32 ": finished %" PRIu64 " frames (%.3f s, marker at frame %" PRIu64 ")%s", t->take_id,
		 t->spooled, (double)t->spooled / t->rate, take_marker_offset(t),
		 t->n_gaps ? " WITH GAPS (listed in its sidecar)" : "");
	if (t->n_gaps)
		log_err("take %" PRIu32 ": %u gap(s), %" PRIu64 " frames without audio", t->take_id, t->n_gaps,
			gap_frames);
	if (t->spooled)
		worker_submit(r->worker, t);
	return true;
}

/* Is the take's node (with the take's timeline) still there? */
static void check_node(struct recorder *r, struct active_take *a, double now)
{
	struct node_link *nl = &r->nodes[a->node];
	struct take *t = &a->t;
	bool here = node_link_attached(nl) && nl->info.instance == t->instance;
	if (here || t->state == TAKE_SPOOLED || t->state == TAKE_FAILED) {
		a->gone_since = 0;
		return;
	}
	if (!a->gone_since) {
		a->gone_since = now;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		a->gone_wall_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		log_warn("take %" PRIu32 ": node %s is gone%s; waiting up to %.0f s for it", t->take_id, nl->name,
			 node_link_attached(nl) ? " (it restarted: a new timeline)" : "", RECORDER_NODE_GONE_WAIT_S);
	}
	bool restarted = node_link_attached(nl) && nl->info.instance != t->instance;
	if (!restarted && now - a->gone_since < RECORDER_NODE_GONE_WAIT_S)
		return;
	if (t->state == TAKE_ARMED) {
		t->state = TAKE_FAILED;
		r->counters.takes_failed++;
		log_err("take %" PRIu32 ": node %s went away before it marked; no take", t->take_id, nl->name);
		save(r, a);
		return;
	}
	/* everything the journal holds of the old timeline is in the file (build ran first); the
	 * rest of the take, up to its end or to now, is a gap */
	uint64_t held = t->start_frame + t->spooled, want;
	if (t->state == TAKE_POSTROLL && t->end_frame > held)
		want = t->end_frame - held;
	else if (t->state == TAKE_POSTROLL)
		want = 0;
	else
		want = (uint64_t)llround((now - a->gone_since) * t->rate) + t->postroll_frames;
	cut_take(r, a, restarted ? "its node restarted (a new timeline)" : "its node is gone", want,
		 "node-gone");
}

static void keep_point(struct recorder *r, unsigned n, uint64_t *inst, uint64_t *from)
{
	*inst = 0;
	*from = UINT64_MAX;
	for (unsigned i = 0; i < r->n_takes; i++) {
		const struct take *t = &r->takes[i].t;
		if (r->takes[i].node != n || t->state == TAKE_SPOOLED || t->state == TAKE_FAILED)
			continue;
		uint64_t p = t->state == TAKE_ARMED ? t->request_frame - (t->request_frame < t->preroll_frames ?
				t->request_frame : t->preroll_frames) : t->start_frame + t->spooled;
		if (p < *from) {
			*inst = t->instance;
			*from = p;
		}
	}
}

void recorder_tick(struct recorder *r, double now)
{
	for (unsigned n = 0; n < r->n_nodes; n++) {
		node_link_update(&r->nodes[n], now);
		poll_node(r, n);
		capture_pump(&r->caps[n], &r->nodes[n], now, r->scratch);
		node_link_detach_pending(&r->nodes[n], now);
		uint64_t inst, from;
		keep_point(r, n, &inst, &from);
		capture_maintain(&r->caps[n], now, inst, from);
	}
	for (unsigned i = 0; i < r->n_takes;) {
		struct active_take *a = &r->takes[i];
		struct node_link *nl = &r->nodes[a->node];
		bool here = node_link_attached(nl) && nl->info.instance == a->t.instance;
		if (a->t.state == TAKE_ARMED && here && !a->mark_sent)
			a->mark_sent = node_link_send_mark(nl, a->t.take_id) == 0; /* not connected before */
		if (a->t.marker_missing && a->t.state == TAKE_RECORDING && here) {
			uint64_t frame;
			if (node_link_find_marker(nl, a->t.take_id, &frame))
				handle_marker(r, a->node, a->t.take_id, frame);
		}
		if (a->t.state == TAKE_ARMED && here) {
			uint64_t frame;
			if (node_link_find_marker(nl, a->t.take_id, &frame)) {
				handle_marker(r, a->node, a->t.take_id, frame);
			} else if (now - a->mark_sent_at > RECORDER_MARK_TIMEOUT_S) {
				/* keep the audio anyway: conform can align by content */
				r->counters.marks_missing++;
				a->t.marker_missing = true;
				log_err("take %" PRIu32 ": node %s did not mark within %.0f s; recording without a "
					"marker (reference = the start request at frame %" PRIu64 ")", a->t.take_id,
					nl->name, RECORDER_MARK_TIMEOUT_S, a->t.request_frame);
				handle_marker(r, a->node, a->t.take_id, a->t.request_frame);
			}
		}
		build(r, a);
		check_node(r, a, now);
		/* durable at least once a second, and never more than 4 MiB behind: finishing a take
		 * then syncs little. The syncs run in the background (the main loop goes on journaling
		 * and building); the files first, then the state that counts their frames and gaps. */
		int sync_err = 0;
		if (a->sync_seq && syncer_done(r->syncer, a->sync_seq, &sync_err)) {
			a->sync_seq = 0;
			if (sync_err == 0) {
				save(r, a);
				/* durable now, and never written again: on their way to the share */
				char dir[4200];
				build_dir(dir, sizeof(dir), r, a->t.take_id);
				worker_send_ahead(r->worker, &a->t, dir, a->sync_frames);
			}
			else if (log_should_report(++r->counters.spool_errors))
				log_err("take %" PRIu32 ": syncing its files failed: %s", a->t.take_id,
					strerror(-sync_err));
		}
		if (a->out.n && !a->sync_seq && (now - a->last_sync > SYNC_INTERVAL_S ||
						 a->out.f[0].unsynced * a->t.channels * 4 > (4u << 20))) {
			a->sync_frames = take_output_frames(&a->out);
			a->sync_seq = take_output_sync_post(&a->out, r->syncer);
			if (!a->sync_seq)
				save(r, a); /* nothing new in the files (or the syncer is full: next tick) */
			a->last_sync = now;
		} else if (a->state_unsaved) {
			save(r, a);
		}
		if (a->t.state == TAKE_FAILED) {
			char st[4200], dir[4200];
			state_path(st, sizeof(st), r, a->t.take_id);
			build_dir(dir, sizeof(dir), r, a->t.take_id);
			take_output_close(&a->out);
			spool_remove_dir(dir);
			unlink(st);
			worker_send_ahead_drop(r->worker, a->t.take_id);
			remove_take(r, i);
			continue;
		}
		if (a->t.state == TAKE_SPOOLED && finish(r, a)) {
			remove_take(r, i);
			continue;
		}
		i++;
	}
}

void recorder_recover(struct recorder *r, double now)
{
	DIR *d = opendir(r->cfg->spool_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (strncmp(de->d_name, "take-", 5) != 0 || l < 12 || strcmp(de->d_name + l - 6, ".state") != 0)
			continue;
		char path[4400], err[256], q[4400];
		struct active_take a;
		memset(&a, 0, sizeof(a));
		snprintf(path, sizeof(path), "%s/%s", r->cfg->spool_dir, de->d_name);
		if (take_load(&a.t, path, err, sizeof(err)) < 0) {
			log_err("spool: %s is unreadable (%s); left in place", path, err);
			continue;
		}
		spool_queue_path(q, sizeof(q), r->cfg->spool_dir, a.t.take_id);
		if (access(q, F_OK) == 0) {
			/* finished and queued; only the state file was left */
			unlink(path);
			continue;
		}
		if (a.t.state == TAKE_FAILED) {
			unlink(path);
			continue;
		}
		int n = find_node(r, a.t.node);
		if (n < 0)
			n = add_node(r, g_zctx, a.t.node);
		if (n < 0 || r->n_takes >= RECORDER_MAX_ACTIVE) {
			log_err("take %" PRIu32 ": cannot resume (node %s); left in the spool dir", a.t.take_id, a.t.node);
			continue;
		}
		a.node = (unsigned)n;
		if (open_output(r, &a, true) < 0) {
			/* files never created (disk full when it started) or unreadable: the take is written
			 * again from the journal, from its start */
			if (a.t.spooled)
				log_err("take %" PRIu32 ": its files are missing or unreadable; writing it again from "
					"the journal", a.t.take_id);
			a.t.spooled = a.t.lost_frames = 0;
			a.t.n_gaps = 0;
			if (a.t.state == TAKE_SPOOLED)
				a.t.state = TAKE_POSTROLL;
			open_output(r, &a, false); /* else: when there is room (ensure_output) */
		}
		/* what the state counts (saved after the files were synced) is what the files surely
		 * hold, with every gap in it listed; the rest is written again from the journal */
		uint64_t held = take_output_frames(&a.out);
		if (a.t.state != TAKE_SPOOLED && held > a.t.spooled) {
			for (unsigned i = 0; i < a.out.n; i++)
				takefile_truncate(&a.out.f[i], a.t.spooled);
			held = a.t.spooled;
		}
		if (a.t.state == TAKE_SPOOLED && held < a.t.spooled) {
			log_err("take %" PRIu32 ": its files hold %" PRIu64 " of %" PRIu64 " frames; rewriting the rest "
				"from the journal", a.t.take_id, held, a.t.spooled);
			a.t.state = TAKE_POSTROLL;
		}
		if (a.t.state == TAKE_SPOOLED && held > a.t.spooled)
			for (unsigned i = 0; i < a.out.n; i++)
				takefile_truncate(&a.out.f[i], a.t.spooled);
		if (a.t.state != TAKE_SPOOLED) {
			a.t.spooled = held;
			/* gaps past what the files hold are written again */
			while (a.t.n_gaps && a.t.gaps[a.t.n_gaps - 1].frame >= held)
				a.t.n_gaps--;
			if (a.t.n_gaps && a.t.gaps[a.t.n_gaps - 1].frame + a.t.gaps[a.t.n_gaps - 1].frames > held)
				a.t.gaps[a.t.n_gaps - 1].frames = held - a.t.gaps[a.t.n_gaps - 1].frame;
		}
		if (a.t.state == TAKE_ARMED || a.t.state == TAKE_RECORDING)
			a.t.stop_unknown = !a.t.is_export;
		r->counters.recovered++;
		a.mark_sent = false; /* ARMED: look for the marker in the node's table first */
		a.mark_sent_at = now;
		r->takes[r->n_takes++] = a;
		save(r, &r->takes[r->n_takes - 1]);
		log_info("take %" PRIu32 ": resuming after a restart: %s on node %s, %" PRIu64 " frames already written",
			 a.t.take_id, take_state_name(a.t.state), a.t.node, a.t.spooled);
	}
	closedir(d);
}

int recorder_mark_only(struct recorder *r, uint32_t *take_id)
{
	uint32_t id;
	int sent = 0;
	if (spool_next_take_id(r->cfg->spool_dir, &id) < 0)
		return -1;
	for (unsigned n = 0; n < r->cfg->n_nodes; n++)
		if (node_link_attached(&r->nodes[n]) && node_link_send_mark(&r->nodes[n], id) == 0)
			sent++;
	*take_id = id;
	log_info("mark %" PRIu32 " sent to %d node(s) (no recording)", id, sent);
	return sent;
}

static uint32_t export_range(struct recorder *r, unsigned n, uint64_t inst, uint64_t f0, uint64_t f1,
			     const char *out_path, char *err, size_t errsize);

uint32_t recorder_export(struct recorder *r, const char *node, bool is_frames, int64_t from, int64_t to,
			 const char *out_path, char *err, size_t errsize)
{
	int n = node && *node ? find_node(r, node) : (r->n_nodes ? 0 : -1);
	if (n < 0) {
		snprintf(err, errsize, "no node %s", node && *node ? node : "(none configured)");
		return 0;
	}
	struct capture *c = &r->caps[n];
	struct node_link *nl = &r->nodes[n];
	uint64_t inst, f0, f1, i1;
	if (is_frames) {
		if (!node_link_attached(nl) && !c->have_pos) {
			snprintf(err, errsize, "node %s is not attached: frame positions need its current timeline",
				 nl->name);
			return 0;
		}
		inst = node_link_attached(nl) ? nl->info.instance : c->instance;
		f0 = (uint64_t)from;
		f1 = (uint64_t)to;
	} else if (!ghostrec_journal_frame_at(&c->j, from, &inst, &f0) || !ghostrec_journal_frame_at(&c->j, to, &i1, &f1) ||
		   i1 != inst) {
		snprintf(err, errsize, "the journal of node %s does not hold that time range in one timeline", nl->name);
		return 0;
	}
	return export_range(r, (unsigned)n, inst, f0, f1, out_path, err, errsize);
}

uint32_t recorder_export_range(struct recorder *r, unsigned n, uint64_t inst, uint64_t f0, uint64_t f1, char *err,
			       size_t errsize)
{
	if (n >= r->n_nodes) {
		snprintf(err, errsize, "no such node");
		return 0;
	}
	return export_range(r, n, inst, f0, f1, "", err, errsize);
}

static uint32_t export_range(struct recorder *r, unsigned n, uint64_t inst, uint64_t f0, uint64_t f1,
			     const char *out_path, char *err, size_t errsize)
{
	struct capture *c = &r->caps[n];
	struct node_link *nl = &r->nodes[n];
	if (f1 <= f0) {
		snprintf(err, errsize, "empty range (to is not after from)");
		return 0;
	}
	uint64_t n_frames = 0;
	const struct ghostrec_journal_seg *seg = NULL;
	uint64_t first = f0;
	enum ghostrec_journal_where w = ghostrec_journal_locate(&c->j, inst, first, &n_frames, &seg, NULL);
	if (w == GHOSTREC_JOURNAL_GONE)
		first += n_frames, w = ghostrec_journal_locate(&c->j, inst, first, &n_frames, &seg, NULL);
	if (w != GHOSTREC_JOURNAL_DATA || first >= f1) {
		snprintf(err, errsize, "the journal of node %s holds nothing of that range", nl->name);
		return 0;
	}
	if (r->n_takes >= RECORDER_MAX_ACTIVE) {
		snprintf(err, errsize, "%u takes are being written; try again", r->n_takes);
		return 0;
	}
	uint32_t id;
	if (spool_next_take_id(r->cfg->spool_dir, &id) < 0) {
		snprintf(err, errsize, "cannot allocate a take id in %s", r->cfg->spool_dir);
		return 0;
	}
	struct active_take *a = &r->takes[r->n_takes];
	memset(a, 0, sizeof(*a));
	a->node = (unsigned)n;
	take_begin(&a->t, id, nl->name, r->cfg->format, r->cfg->split_channels, seg->rate, seg->channels,
		   seg->generation, 0, 0);
	for (unsigned ch = 0; ch < a->t.channels; ch++)
		memcpy(a->t.channel_map[ch], nl->channel_map[ch], sizeof(a->t.channel_map[ch]));
	a->t.instance = inst;
	a->t.is_export = true;
	snprintf(a->t.export_path, sizeof(a->t.export_path), "%s", out_path ? out_path : "");
	a->t.marker_missing = true;
	a->t.marker_frame = a->t.start_frame = a->t.request_frame = first;
	a->t.stop_frame = a->t.end_frame = f1;
	a->t.state = TAKE_POSTROLL;
	if (open_output(r, a, false) < 0) {
		snprintf(err, errsize, "cannot create the export's files (see the exporter's log)");
		return 0;
	}
	save(r, a);
	r->n_takes++;
	r->counters.exports++;
	log_info("take %" PRIu32 ": export of node %s frames %" PRIu64 "..%" PRIu64 " (%.3f s)%s%s", id, nl->name,
		 first, f1, (double)(f1 - first) / a->t.rate, a->t.export_path[0] ? " to " : "", a->t.export_path);
	return id;
}

void recorder_status_json(struct recorder *r, struct jsonw *jw)
{
	jw_key(jw, "recording"); jw_bool(jw, recorder_recording(r));
	jw_key(jw, "nodes");
	jw_arr(jw);
	for (unsigned n = 0; n < r->n_nodes; n++) {
		struct node_link *nl = &r->nodes[n];
		jw_obj(jw);
		jw_key(jw, "name"); jw_str(jw, nl->name);
		jw_key(jw, "attached"); jw_bool(jw, node_link_attached(nl));
		if (node_link_attached(nl)) {
			const struct ghostrec_ring_info *in = &nl->info;
			struct ghostrec_ring_counter_values cv;
			ghostrec_ring_reader_counters(nl->ring, &cv);
			jw_key(jw, "shm"); jw_str(jw, in->shm_name);
			jw_key(jw, "rate"); jw_u64(jw, in->rate);
			jw_key(jw, "channels"); jw_u64(jw, in->channels);
			jw_key(jw, "channel_map"); jw_arr(jw);
			for (unsigned c = 0; c < in->channels; c++)
				jw_str(jw, nl->channel_map[c]);
			jw_arr_end(jw);
			jw_key(jw, "generation"); jw_u64(jw, in->generation);
			jw_key(jw, "capacity_frames"); jw_u64(jw, in->capacity);
			jw_key(jw, "ring_seconds"); jw_double(jw, in->rate ? (double)in->capacity / in->rate : 0);
			jw_key(jw, "write_frame"); jw_u64(jw, in->write_frame);
			jw_key(jw, "writer_pid"); jw_i64(jw, in->writer_pid);
			/* fill: how much of the ring holds audio; backlog: what the journal still has to take */
			uint64_t held = in->write_frame - in->oldest_frame;
			jw_key(jw, "ring_fill"); jw_double(jw, in->capacity ? (double)held / in->capacity : 0);
			uint64_t pos = r->caps[n].pos, backlog = in->write_frame > pos ? in->write_frame - pos : 0;
			jw_key(jw, "spool_backlog"); jw_double(jw, in->capacity ? (double)backlog / in->capacity : 0);
			jw_key(jw, "counters"); jw_obj(jw);
			jw_key(jw, "cycles"); jw_u64(jw, cv.cycles);
			jw_key(jw, "xruns"); jw_u64(jw, cv.xruns);
			jw_key(jw, "overruns"); jw_u64(jw, cv.overruns);
			jw_key(jw, "format_changes"); jw_u64(jw, cv.format_changes);
			jw_key(jw, "markers"); jw_u64(jw, cv.markers);
			jw_key(jw, "max_process_ns"); jw_u64(jw, cv.max_process_ns);
			jw_key(jw, "quantum"); jw_u64(jw, cv.last_quantum);
			jw_obj_end(jw);
		} else {
			jw_key(jw, "error"); jw_str(jw, nl->last_error);
		}
		capture_status_json(&r->caps[n], jw);
		jw_key(jw, "link"); jw_obj(jw);
		jw_key(jw, "marks_sent"); jw_u64(jw, nl->marks_sent);
		jw_key(jw, "replies"); jw_u64(jw, nl->replies);
		jw_key(jw, "error_replies"); jw_u64(jw, nl->error_replies);
		jw_key(jw, "events"); jw_u64(jw, nl->events);
		jw_key(jw, "bad_messages"); jw_u64(jw, nl->bad_messages);
		jw_key(jw, "attaches"); jw_u64(jw, nl->attach_count);
		jw_obj_end(jw);
		jw_obj_end(jw);
	}
	jw_arr_end(jw);
	jw_key(jw, "takes");
	jw_arr(jw);
	for (unsigned i = 0; i < r->n_takes; i++) {
		const struct take *t = &r->takes[i].t;
		jw_obj(jw);
		jw_key(jw, "take_id"); jw_u64(jw, t->take_id);
		jw_key(jw, "node"); jw_str(jw, t->node);
		jw_key(jw, "state"); jw_str(jw, take_state_name(t->state));
		jw_key(jw, "export"); jw_bool(jw, t->is_export);
		jw_key(jw, "start_utc"); jw_str(jw, t->start_utc);
		jw_key(jw, "rate"); jw_u64(jw, t->rate);
		jw_key(jw, "channels"); jw_u64(jw, t->channels);
		jw_key(jw, "spooled_frames"); jw_u64(jw, t->spooled);
		jw_key(jw, "spooled_seconds"); jw_double(jw, t->rate ? (double)t->spooled / t->rate : 0);
		jw_key(jw, "marker_frame");
		if (t->state == TAKE_ARMED)
			jw_null(jw);
		else
			jw_u64(jw, t->marker_frame);
		jw_key(jw, "start_frame"); jw_u64(jw, t->start_frame);
		jw_key(jw, "end_frame");
		if (t->state == TAKE_POSTROLL)
			jw_u64(jw, t->end_frame);
		else
			jw_null(jw);
		jw_key(jw, "lost_frames"); jw_u64(jw, t->lost_frames);
		jw_key(jw, "marker_missing"); jw_bool(jw, t->marker_missing);
		jw_key(jw, "stop_unknown"); jw_bool(jw, t->stop_unknown);
		jw_key(jw, "gaps"); jw_arr(jw);
		for (unsigned g = 0; g < t->n_gaps; g++) {
			jw_obj(jw);
			jw_key(jw, "frame"); jw_u64(jw, t->gaps[g].frame);
			jw_key(jw, "frames"); jw_u64(jw, t->gaps[g].frames);
			jw_key(jw, "cause"); jw_str(jw, t->gaps[g].cause);
			jw_obj_end(jw);
		}
		jw_arr_end(jw);
		jw_obj_end(jw);
	}
	jw_arr_end(jw);
	jw_key(jw, "recorder");
	jw_obj(jw);
	const struct recorder_counters *c = &r->counters;
	jw_key(jw, "starts"); jw_u64(jw, c->starts);
	jw_key(jw, "stops"); jw_u64(jw, c->stops);
	jw_key(jw, "repeated_starts"); jw_u64(jw, c->repeated_starts);
	jw_key(jw, "idle_stops"); jw_u64(jw, c->idle_stops);
	jw_key(jw, "takes_started"); jw_u64(jw, c->takes_started);
	jw_key(jw, "takes_spooled"); jw_u64(jw, c->takes_spooled);
	jw_key(jw, "takes_failed"); jw_u64(jw, c->takes_failed);
	jw_key(jw, "marks_missing"); jw_u64(jw, c->marks_missing);
	jw_key(jw, "lost_frames"); jw_u64(jw, c->lost_frames);
	uint64_t overwrites = 0;
	for (unsigned n = 0; n < r->n_nodes; n++)
		overwrites += r->caps[n].gaps;
	jw_key(jw, "ring_overwrites"); jw_u64(jw, overwrites);
	jw_key(jw, "recovered"); jw_u64(jw, c->recovered);
	jw_key(jw, "spool_errors"); jw_u64(jw, c->spool_errors);
	jw_key(jw, "exports"); jw_u64(jw, c->exports);
	jw_obj_end(jw);
}
