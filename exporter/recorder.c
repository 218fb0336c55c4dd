/* Takes on nodes: mark, spool, persist, hand over (see recorder.h). */
#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define CHUNK_FRAMES 8192u
#define SYNC_INTERVAL_S 1.0

static void save(struct recorder *r, struct active_take *a)
{
	char path[4200];
	spool_state_path(path, sizeof(path), r->cfg->spool_dir, a->t.take_id);
	int e = take_save(&a->t, path);
	if (e < 0) {
		r->counters.spool_errors++;
		log_err("take %" PRIu32 ": cannot save its state to %s: %s", a->t.take_id, path, strerror(-e));
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
	if (r->n_nodes >= sizeof(r->nodes) / sizeof(r->nodes[0]))
		return -1;
	if (node_link_init(&r->nodes[r->n_nodes], zctx, name) < 0)
		return -1;
	return (int)r->n_nodes++;
}

static void *g_zctx; /* for nodes that only recovered takes mention */

int recorder_init(struct recorder *r, const struct exporter_config *cfg, void *zctx, struct worker *worker)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->worker = worker;
	g_zctx = zctx;
	for (unsigned c = 0; c < TAKE_MAX_CHANNELS; c++)
		if (!(r->scratch[c] = malloc(CHUNK_FRAMES * sizeof(float))))
			return -1;
	for (unsigned i = 0; i < cfg->n_nodes; i++)
		if (add_node(r, zctx, cfg->nodes[i]) < 0)
			return -1;
	return 0;
}

void recorder_close(struct recorder *r)
{
	for (unsigned i = 0; i < r->n_takes; i++)
		spool_writer_close(&r->takes[i].w);
	for (unsigned i = 0; i < r->n_nodes; i++)
		node_link_close(&r->nodes[i]);
	for (unsigned c = 0; c < TAKE_MAX_CHANNELS; c++)
		free(r->scratch[c]);
}

bool recorder_recording(const struct recorder *r)
{
	for (unsigned i = 0; i < r->n_takes; i++)
		if (r->takes[i].t.state == TAKE_ARMED || r->takes[i].t.state == TAKE_RECORDING)
			return true;
	return false;
}

static void remove_take(struct recorder *r, unsigned i)
{
	spool_writer_close(&r->takes[i].w);
	r->takes[i] = r->takes[--r->n_takes];
}

static int open_spool(struct recorder *r, struct active_take *a)
{
	char path[4200];
	spool_raw_path(path, sizeof(path), r->cfg->spool_dir, a->t.take_id);
	int e = spool_writer_open(&a->w, path, a->t.channels);
	if (e < 0) {
		r->counters.spool_errors++;
		log_err("take %" PRIu32 ": cannot open spool file %s: %s", a->t.take_id, path, strerror(-e));
	}
	return e;
}

int recorder_start(struct recorder *r, const char *why, double now)
{
	r->counters.starts++;
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
		/* the marker comes a cycle or two after the request; the preroll must still be there */
		double ring_s = nl->info.rate ? (double)nl->info.capacity / nl->info.rate : 0;
		if (!r->ring_warned[n] && ring_s < r->cfg->preroll + 0.25) {
			r->ring_warned[n] = true;
			log_warn("node %s: its ring holds %.2f s, less than the preroll (%.2f s) plus the mark "
				 "delay: takes will start later than the preroll asks (raise ghostrec.ring.seconds)",
				 nl->name, ring_s, r->cfg->preroll);
		}
		if (r->n_takes >= RECORDER_MAX_ACTIVE) {
			log_err("record start (%s): %u takes still spooling; cannot start another", why, r->n_takes);
			break;
		}
		uint32_t id;
		int e = spool_next_take_id(r->cfg->spool_dir, &id);
		if (e < 0) {
			r->counters.spool_errors++;
			log_err("record start: cannot allocate a take id in %s: %s", r->cfg->spool_dir, strerror(-e));
			break;
		}
		struct active_take *a = &r->takes[r->n_takes];
		memset(a, 0, sizeof(*a));
		a->w.fd = -1;
		a->node = n;
		take_begin(&a->t, id, nl->name, r->cfg->format, r->cfg->split_channels, nl->info.rate,
			   nl->info.channels, nl->info.generation, r->cfg->preroll, r->cfg->postroll);
		for (unsigned c = 0; c < a->t.channels; c++)
			memcpy(a->t.channel_map[c], nl->channel_map[c], sizeof(a->t.channel_map[c]));
		a->t.request_frame = nl->info.write_frame;
		a->attach_seen = nl->attach_count;
		if (open_spool(r, a) < 0)
			continue;
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
		uint64_t wf = node_link_attached(nl) ? nl->info.write_frame : a->t.start_frame + a->t.spooled;
		if (node_link_attached(nl)) {
			struct ghostrec_ring_info info;
			if (ghostrec_ring_reader_info(nl->ring, &info) == 0)
				wf = info.write_frame;
		}
		if (take_stop(&a->t, wf)) {
			stopped++;
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
		if (a->node != node || a->t.take_id != take_id)
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
		struct node_link *nl = &r->nodes[node];
		uint64_t lost = take_marked(&a->t, frame, nl->info.oldest_frame);
		if (lost) {
			r->counters.lost_frames += lost;
			log_err("take %" PRIu32 ": the ring no longer had %" PRIu64 " frames of the preroll: it "
				"holds audio from frame %" PRIu64 " on (ring of %.2f s shorter than preroll + mark "
				"delay, or the node's format changed just before); the take starts there", take_id,
				lost, nl->info.oldest_frame, (double)nl->info.capacity / a->t.rate);
		}
		else if (frame - a->t.start_frame < a->t.preroll_frames)
			log_info("take %" PRIu32 ": preroll is %" PRIu64 " frames, not %" PRIu64 ": the node's audio "
				 "only starts at frame %" PRIu64, take_id, frame - a->t.start_frame,
				 a->t.preroll_frames, a->t.start_frame);
		save(r, a);
		log_info("take %" PRIu32 ": marker at frame %" PRIu64 "; spooling from frame %" PRIu64,
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

/* Ends a take early at what is spooled (node gone, format changed). */
static void cut_take(struct recorder *r, struct active_take *a, const char *why)
{
	uint64_t at = a->t.start_frame + a->t.spooled;
	log_err("take %" PRIu32 ": %s; ending it at frame %" PRIu64 " with the %" PRIu64
		" frames spooled so far", a->t.take_id, why, at, a->t.spooled);
	if (a->t.state == TAKE_RECORDING)
		take_stop(&a->t, at);
	if (a->t.state == TAKE_POSTROLL)
		a->t.end_frame = at;
	take_add_spooled(&a->t, 0);
}

static void pump(struct recorder *r, struct active_take *a)
{
	struct node_link *nl = &r->nodes[a->node];
	struct take *t = &a->t;
	if (t->state != TAKE_RECORDING && t->state != TAKE_POSTROLL)
		return;
	if (!node_link_attached(nl))
		return;
	if (nl->info.generation != t->generation || nl->info.channels != t->channels) {
		cut_take(r, a, "the node's format changed (new ring generation)");
		return;
	}
	uint64_t pos = t->start_frame + t->spooled;
	if (nl->info.write_frame + nl->info.capacity < pos) {
		cut_take(r, a, "the node restarted (its ring timeline went back)");
		return;
	}
	uint64_t limit = take_spool_limit(t, nl->info.write_frame);
	while (pos < limit && t->state != TAKE_SPOOLED) {
		uint32_t n = limit - pos > CHUNK_FRAMES ? CHUNK_FRAMES : (uint32_t)(limit - pos);
		if (n > nl->info.capacity)
			n = (uint32_t)nl->info.capacity;
		int res = ghostrec_ring_read_frames(nl->ring, t->generation, pos, r->scratch, n);
		int e = 0;
		if (res == GHOSTREC_RING_OK) {
			e = spool_writer_append(&a->w, (const float *const *)r->scratch, n);
		} else if (res == GHOSTREC_RING_OVERWRITTEN) {
			struct ghostrec_ring_info info;
			uint64_t oldest = pos + n;
			if (ghostrec_ring_reader_info(nl->ring, &info) == 0 && info.oldest_frame > pos)
				oldest = info.oldest_frame;
			n = oldest - pos > CHUNK_FRAMES ? CHUNK_FRAMES : (uint32_t)(oldest - pos);
			if (pos + n > limit)
				n = (uint32_t)(limit - pos);
			if (n == 0)
				n = 1; /* the writer is right at our heels: give up one frame, never spin */
			r->counters.ring_overwrites++;
			const float *silence[TAKE_MAX_CHANNELS] = { 0 };
			e = spool_writer_append(&a->w, silence, n);
			t->lost_frames += n;
			r->counters.lost_frames += n;
			if (log_should_report(r->counters.ring_overwrites))
				log_err("take %" PRIu32 ": frames %" PRIu64 "..%" PRIu64 " were overwritten in the ring "
					"before they were spooled: filled with silence (%" PRIu64 " lost in this take)",
					t->take_id, pos, pos + n, t->lost_frames);
		} else if (res == GHOSTREC_RING_NOT_YET) {
			break;
		} else {
			cut_take(r, a, res == GHOSTREC_RING_GENERATION ? "the node's format changed" :
				 "the ring cannot be read");
			return;
		}
		if (e < 0) {
			r->counters.spool_errors++;
			if (log_should_report(r->counters.spool_errors))
				log_err("take %" PRIu32 ": writing the spool file failed: %s; retrying while the ring "
					"still holds the audio (%" PRIu64 " errors so far)", t->take_id, strerror(-e),
					r->counters.spool_errors);
			return;
		}
		take_add_spooled(t, n);
		pos += n;
	}
}

static void finish(struct recorder *r, unsigned i)
{
	struct active_take *a = &r->takes[i];
	spool_writer_close(&a->w);
	save(r, a);
	r->counters.takes_spooled++;
	log_info("take %" PRIu32 ": spooled %" PRIu64 " frames (%.3f s)%s", a->t.take_id, a->t.spooled,
		 (double)a->t.spooled / a->t.rate, a->t.lost_frames ? " WITH LOST FRAMES (see above)" : "");
	worker_submit(r->worker, &a->t);
	remove_take(r, i);
}

void recorder_tick(struct recorder *r, double now)
{
	for (unsigned n = 0; n < r->n_nodes; n++) {
		node_link_update(&r->nodes[n], now);
		poll_node(r, n);
	}
	for (unsigned i = 0; i < r->n_takes;) {
		struct active_take *a = &r->takes[i];
		struct node_link *nl = &r->nodes[a->node];
		if (a->t.state == TAKE_ARMED && node_link_attached(nl) && !a->mark_sent)
			a->mark_sent = node_link_send_mark(nl, a->t.take_id) == 0; /* not connected before */
		if (a->t.marker_missing && a->t.state == TAKE_RECORDING && node_link_attached(nl)) {
			uint64_t frame;
			if (node_link_find_marker(nl, a->t.take_id, &frame))
				handle_marker(r, a->node, a->t.take_id, frame);
		}
		if (a->t.state == TAKE_ARMED && node_link_attached(nl)) {
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
		if (node_link_attached(nl) && a->attach_seen != nl->attach_count) {
			a->verify_pending = a->attach_seen != 0 || a->verify_pending;
			a->attach_seen = nl->attach_count;
		}
		if (a->verify_pending && node_link_attached(nl)) {
			/* a node that restarted while we were down has a new timeline: the frames we
			 * would read next are not this take's. Its marker table tells. */
			uint64_t frame = 0;
			a->verify_pending = false;
			if (!a->t.marker_missing && (a->t.state == TAKE_RECORDING || a->t.state == TAKE_POSTROLL) &&
			    (!node_link_find_marker(nl, a->t.take_id, &frame) || frame != a->t.marker_frame))
				cut_take(r, a, "the node no longer knows this take's marker (it restarted)");
		}
		pump(r, a);
		if (a->w.fd >= 0 && now - a->last_sync > SYNC_INTERVAL_S) {
			spool_writer_sync(&a->w);
			a->last_sync = now;
		}
		if (a->t.state == TAKE_SPOOLED) {
			finish(r, i);
			continue;
		}
		i++;
	}
}

/* A spool file without a state file is what a crash between finalize's last two steps leaves:
 * its take is in the queue already. Anything else is kept and reported, never deleted. */
static void orphan_spool(struct recorder *r, const char *name)
{
	char state[4400], path[4400], queue[4400];
	unsigned long id = strtoul(name + 5, NULL, 10);
	spool_state_path(state, sizeof(state), r->cfg->spool_dir, (uint32_t)id);
	if (access(state, F_OK) == 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", r->cfg->spool_dir, name);
	spool_queue_path(queue, sizeof(queue), r->cfg->spool_dir, (uint32_t)id);
	if (access(queue, F_OK) == 0) {
		unlink(path);
		log_info("take %lu: removed its spool file, the take is already in the delivery queue", id);
	} else {
		log_warn("spool: %s has no state file; kept (raw interleaved float32)", path);
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
		if (strncmp(de->d_name, "take-", 5) == 0 && l > 9 && strcmp(de->d_name + l - 4, ".raw") == 0) {
			orphan_spool(r, de->d_name);
			continue;
		}
		if (strncmp(de->d_name, "take-", 5) != 0 || l < 12 || strcmp(de->d_name + l - 6, ".state") != 0)
			continue;
		char path[4400], err[256];
		struct active_take a;
		memset(&a, 0, sizeof(a));
		a.w.fd = -1;
		snprintf(path, sizeof(path), "%s/%s", r->cfg->spool_dir, de->d_name);
		if (take_load(&a.t, path, err, sizeof(err)) < 0) {
			log_err("spool: %s is unreadable (%s); left in place", path, err);
			continue;
		}
		if (open_spool(r, &a) < 0)
			continue;
		a.t.spooled = a.w.frames;
		r->counters.recovered++;
		if (a.t.state == TAKE_SPOOLED) {
			log_info("take %" PRIu32 ": recovered a finished spool (%" PRIu64 " frames); finalizing",
				 a.t.take_id, a.t.spooled);
			spool_writer_close(&a.w);
			worker_submit(r->worker, &a.t);
			continue;
		}
		if (a.t.state == TAKE_FAILED) {
			spool_writer_close(&a.w);
			continue;
		}
		int n = find_node(r, a.t.node);
		if (n < 0)
			n = add_node(r, g_zctx, a.t.node);
		if (n < 0 || r->n_takes >= RECORDER_MAX_ACTIVE) {
			log_err("take %" PRIu32 ": cannot resume (node %s); left in the spool dir", a.t.take_id, a.t.node);
			spool_writer_close(&a.w);
			continue;
		}
		a.node = (unsigned)n;
		a.mark_sent = false; /* ARMED: look for the marker in the node's table first */
		a.verify_pending = true;
		a.mark_sent_at = now;
		r->takes[r->n_takes++] = a;
		log_info("take %" PRIu32 ": resuming after a restart: %s on node %s, %" PRIu64 " frames already spooled",
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
			/* fill: how much of the ring holds audio; backlog: what the exporter still has to spool */
			uint64_t held = in->write_frame - in->oldest_frame;
			jw_key(jw, "ring_fill"); jw_double(jw, in->capacity ? (double)held / in->capacity : 0);
			uint64_t backlog = 0;
			for (unsigned i = 0; i < r->n_takes; i++) {
				const struct take *t = &r->takes[i].t;
				if (r->takes[i].node == n && (t->state == TAKE_RECORDING || t->state == TAKE_POSTROLL)) {
					uint64_t pos = t->start_frame + t->spooled;
					if (in->write_frame > pos && in->write_frame - pos > backlog)
						backlog = in->write_frame - pos;
				}
			}
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
		jw_key(jw, "link"); jw_obj(jw);
		jw_key(jw, "marks_sent"); jw_u64(jw, nl->marks_sent);
		jw_key(jw, "replies"); jw_u64(jw, nl->replies);
		jw_key(jw, "error_replies"); jw_u64(jw, nl->error_replies);
		jw_key(jw, "events"); jw_u64(jw, nl->events);
		jw_key(jw, "bad_messages"); jw_u64(jw, nl->bad_messages);
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
	jw_key(jw, "ring_overwrites"); jw_u64(jw, c->ring_overwrites);
	jw_key(jw, "recovered"); jw_u64(jw, c->recovered);
	jw_key(jw, "spool_errors"); jw_u64(jw, c->spool_errors);
	jw_obj_end(jw);
}
