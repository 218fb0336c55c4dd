/* Ring -> journal (see capture.h). */
#include "capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int capture_open(struct capture *c, const char *spool_dir, const char *node,
		 const struct ghostrec_journal_limits *lim, char *err, size_t errsize)
{
	char dir[4096];
	memset(c, 0, sizeof(*c));
	if (ghostrec_journal_dir(dir, sizeof(dir), spool_dir, node) < 0) {
		snprintf(err, errsize, "journal dir for node %s: name too long", node);
		return -1;
	}
	if (ghostrec_journal_open(&c->j, dir, true, lim, err, errsize) < 0)
		return -1;
	c->open = true;
	return 0;
}

void capture_close(struct capture *c)
{
	if (c->open)
		ghostrec_journal_close(&c->j);
	c->open = false;
}

/* Makes the pending gap durable. Returns false while the disk does not take it. */
static bool flush_gap(struct capture *c, const char *node)
{
	if (!c->pending.on)
		return true;
	int e = ghostrec_journal_add_gap(&c->j, c->pending.instance, c->pending.frame, c->pending.frames,
					 c->pending.cause);
	if (e < 0) {
		c->write_errors++;
		snprintf(c->last_error, sizeof(c->last_error), "journal index: %s", strerror(-e));
		return false;
	}
	c->gaps++;
	c->gap_frames += c->pending.frames;
	log_err("node %s: journal gap: frames %" PRIu64 "..%" PRIu64 " (%" PRIu64 " frames) were not captured: %s",
		node, c->pending.frame, c->pending.frame + c->pending.frames, c->pending.frames, c->pending.cause);
	c->pending.on = false;
	return true;
}

static void add_gap(struct capture *c, const char *node, uint64_t frame, uint64_t frames, const char *cause)
{
	if (frames == 0)
		return;
	struct capture_gap *p = &c->pending;
	if (p->on && p->instance == c->instance && p->frame + p->frames == frame) {
		p->frames += frames; /* one run of loss, one record (the first cause names it) */
		return;
	}
	if (p->on && !flush_gap(c, node)) {
		/* the disk holds neither: keep one record spanning both (never claims audio it has) */
		p->frames = frame + frames - p->frame;
		return;
	}
	p->on = true;
	p->instance = c->instance;
	p->frame = frame;
	p->frames = frames;
	snprintf(p->cause, sizeof(p->cause), "%s", cause);
}

/* free space a retry after a full disk waits for: a chunk of audio and the index lines about it */
#define JOURNAL_ROOM_BYTES(channels) ((uint64_t)CAPTURE_CHUNK_FRAMES * (channels) * sizeof(float) + 65536u)

void capture_pump(struct capture *c, struct node_link *nl, double now, float **scratch)
{
	(void)now;
	if (!c->open || !node_link_attached(nl))
		return;
	struct ghostrec_ring_info info = nl->info;
	if (!c->have_pos || info.instance != c->instance) {
		uint64_t end;
		bool held = ghostrec_journal_end(&c->j, info.instance, &end);
		flush_gap(c, nl->name);
		c->instance = info.instance;
		c->have_pos = true;
		/* the oldest frame of a full ring is the one the writer overwrites next: starting right
		 * there races it and loses a few frames at a time for as long as the catch-up takes, so
		 * a start there is moved a little later (one gap, not a dribble of them) */
		uint64_t margin = info.capacity / 8 < info.rate / 10 ? info.capacity / 8 : info.rate / 10;
		bool racing = info.write_frame - info.oldest_frame >= info.capacity &&
			      info.write_frame - info.oldest_frame > 2 * margin;
		if (held && end <= info.write_frame) {
			uint64_t p = end > info.oldest_frame ? end : info.oldest_frame;
			if (racing && p < info.oldest_frame + margin)
				p = info.oldest_frame + margin;
			if (p > end)
				add_gap(c, nl->name, end, p - end, "exporter-down");
			c->pos = p;
			log_info("node %s: journal continues at frame %" PRIu64, nl->name, c->pos);
		} else {
			/* a new timeline: from a little after the oldest frame too */
			c->pos = info.write_frame - info.oldest_frame > 2 * margin ? info.oldest_frame + margin :
				 info.oldest_frame;
			log_info("node %s: journal starts at frame %" PRIu64 " (instance %016" PRIx64 ")", nl->name,
				 c->pos, info.instance);
		}
	}
	if (c->pos < info.gen_start_frame) {
		add_gap(c, nl->name, c->pos, info.gen_start_frame - c->pos, "format-change");
		c->pos = info.gen_start_frame;
	}
	if (c->disk_full && !ghostrec_journal_has_room(&c->j, JOURNAL_ROOM_BYTES(info.channels))) {
		/* nothing fits yet: what the ring drops meanwhile is one run of loss, one record,
		 * written when there is room (not a record and a log line per graph cycle) */
		if (info.oldest_frame > c->pos) {
			add_gap(c, nl->name, c->pos, info.oldest_frame - c->pos, "disk-full");
			c->pos = info.oldest_frame;
		}
		return;
	}
	if (!flush_gap(c, nl->name))
		return; /* the gap goes to disk before any later audio */
	int64_t wall = wall_ns();
	while (c->pos < info.write_frame) {
		uint64_t left = info.write_frame - c->pos;
		uint32_t n = left > CAPTURE_CHUNK_FRAMES ? CAPTURE_CHUNK_FRAMES : (uint32_t)left;
		if (n > info.capacity)
			n = (uint32_t)info.capacity;
		int res = ghostrec_ring_read_frames(nl->ring, info.generation, c->pos, scratch, n);
		if (res == GHOSTREC_RING_OK) {
			int64_t at = wall - (int64_t)((double)(info.write_frame - c->pos) * 1e9 / info.rate);
			int64_t w = ghostrec_journal_append(&c->j, info.instance, info.generation, info.rate,
							    info.channels, c->pos, at, (const float *const *)scratch, n);
			if (w > 0) {
				c->pos += (uint64_t)w;
				c->frames += (uint64_t)w;
			}
			if (w < (int64_t)n) {
				int e = w < 0 ? (int)-w : ENOSPC;
				if (!c->disk_full || log_should_report(c->write_errors + 1))
					log_err("node %s: the journal cannot be written (%s): waiting for space; the ring "
						"keeps the audio for %.1f s", nl->name, strerror(e),
						(double)info.capacity / info.rate);
				snprintf(c->last_error, sizeof(c->last_error), "journal: %s", strerror(e));
				c->write_errors++;
				c->disk_full = true;
				return;
			}
			if (c->disk_full) {
				log_info("node %s: the journal is written again from frame %" PRIu64, nl->name, c->pos);
				c->disk_full = false;
				c->last_error[0] = '\0';
			}
		} else if (res == GHOSTREC_RING_OVERWRITTEN) {
			struct ghostrec_ring_info now_info;
			uint64_t oldest = c->pos + n;
			if (ghostrec_ring_reader_info(nl->ring, &now_info) == 0 && now_info.oldest_frame > c->pos)
				oldest = now_info.oldest_frame;
			add_gap(c, nl->name, c->pos, oldest - c->pos, c->disk_full ? "disk-full" : "ring-overrun");
			c->pos = oldest;
			if (!flush_gap(c, nl->name))
				return;
			info.write_frame = now_info.write_frame > info.write_frame ? now_info.write_frame : info.write_frame;
		} else {
			return; /* not yet written, or a new generation: the next tick sees it */
		}
	}
}

void capture_maintain(struct capture *c, double now, uint64_t keep_instance, uint64_t keep_from)
{
	if (!c->open)
		return;
	int e = 0;
	if (c->sync_seq && syncer_done(c->syncer, c->sync_seq, &e))
		c->sync_seq = 0;
	if (!c->sync_seq && now - c->last_sync >= 0.5) {
		c->last_sync = now;
		if (!c->syncer)
			e = ghostrec_journal_sync(&c->j);
		else {
			/* in the background: journaling goes on meanwhile (index lines before the data) */
			bool idx = c->j.index_dirty, dir = c->j.dir_dirty, fp = c->j.fp_unsynced;
			uint64_t unsynced = c->j.unsynced;
			int fds[4];
			unsigned n = ghostrec_journal_sync_fds(&c->j, fds, 4);
			if (n && !(c->sync_seq = syncer_post(c->syncer, fds, n))) {
				/* the queue is full: try again next time */
				c->j.index_dirty = idx;
				c->j.dir_dirty = dir;
				c->j.fp_unsynced = fp;
				c->j.unsynced = unsynced;
			}
		}
	}
	if (e < 0) {
		c->sync_errors++;
		snprintf(c->last_error, sizeof(c->last_error), "journal sync: %s", strerror(-e));
	}
	if (now - c->last_rotate >= 1.0) {
		c->last_rotate = now;
		c->rotated += (uint64_t)ghostrec_journal_rotate(&c->j, keep_instance, keep_from);
	}
}

static void utc(char *buf, size_t size, int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000LL);
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", base, (int)(ns / 1000000 % 1000));
}

void capture_status_json(struct capture *c, struct jsonw *jw)
{
	jw_key(jw, "journal");
	if (!c->open) {
		jw_null(jw);
		return;
	}
	const struct ghostrec_journal *j = &c->j;
	jw_obj(jw);
	jw_key(jw, "dir"); jw_str(jw, j->dir);
	jw_key(jw, "bytes"); jw_u64(jw, j->bytes);
	double secs = 0;
	int64_t from = 0, to = 0;
	for (size_t i = 0; i < j->n_segs; i++) {
		const struct ghostrec_journal_seg *s = &j->segs[i];
		if (!s->frames)
			continue;
		secs += (double)s->frames / s->rate;
		int64_t end = s->wall_ns0 + (int64_t)((double)s->frames * 1e9 / s->rate);
		if (!from || s->wall_ns0 < from)
			from = s->wall_ns0;
		if (end > to)
			to = end;
	}
	char b[48];
	jw_key(jw, "seconds"); jw_double(jw, secs);
	jw_key(jw, "from_utc");
	if (from) { utc(b, sizeof(b), from); jw_str(jw, b); } else jw_null(jw);
	jw_key(jw, "to_utc");
	if (to) { utc(b, sizeof(b), to); jw_str(jw, b); } else jw_null(jw);
	jw_key(jw, "segments"); jw_u64(jw, j->n_segs);
	jw_key(jw, "max_seconds"); jw_double(jw, j->lim.max_seconds);
	jw_key(jw, "max_bytes"); jw_u64(jw, j->lim.max_bytes);
	jw_key(jw, "position"); jw_u64(jw, c->pos);
	jw_key(jw, "instance"); snprintf(b, sizeof(b), "%016" PRIx64, c->instance); jw_str(jw, b);
	jw_key(jw, "frames_written"); jw_u64(jw, c->frames);
	jw_key(jw, "gap_frames"); jw_u64(jw, c->gap_frames);
	jw_key(jw, "write_errors"); jw_u64(jw, c->write_errors);
	jw_key(jw, "disk_full"); jw_bool(jw, c->disk_full);
	jw_key(jw, "rotated_segments"); jw_u64(jw, c->rotated);
	jw_key(jw, "error"); jw_str(jw, c->last_error);
	jw_key(jw, "gaps"); jw_arr(jw);
	for (size_t i = 0; i < j->n_gaps; i++) {
		const struct ghostrec_journal_gap *g = &j->gaps[i];
		jw_obj(jw);
		snprintf(b, sizeof(b), "%016" PRIx64, g->instance);
		jw_key(jw, "instance"); jw_str(jw, b);
		jw_key(jw, "frame"); jw_u64(jw, g->frame);
		jw_key(jw, "frames"); jw_u64(jw, g->frames);
		jw_key(jw, "cause"); jw_str(jw, g->cause);
		jw_obj_end(jw);
	}
	jw_arr_end(jw);
	jw_obj_end(jw);
}
