/* The capture journal: everything one ghostrec node hears, on disk, bounded (contract:
 * docs/contracts.md "Capture journal"). The exporter writes it; takes, `ghostrec-ctl export`
 * and `ghostrec-sync --journal` read ranges of it.
 *
 * One directory per node:
 *   seg-<seq>.raw   interleaved float32 frames, one fixed (instance, generation, rate, channels)
 *                   per file; the file size says how many whole frames it holds
 *   index           append-only text lines, each ending in '\n' (a torn last line is ignored):
 *                     seg <seq> <instance:hex> <generation> <rate> <channels> <frame0> <wall_ns0>
 *                     gap <instance:hex> <frame> <frames> <cause>
 *                   rewritten atomically (temp + rename) when rotation removes segments
 *
 * Frames are addressed as (instance, ring frame): the node's absolute ring timeline, which
 * restarts with a new random instance when the node restarts. A hole between two segments of
 * one instance is a gap; a gap line says why (its cause), otherwise it reads as "other".
 *   seg-<seq>.fp    the segment's content index (journal_content.h)
 * Durability: ghostrec_journal_sync (at least twice a second) fsyncs the index lines written
 * since the last one, then the segment data: a line is always written before the data it
 * describes and durable no later than it. */
#ifndef GHOSTREC_JOURNAL_H
#define GHOSTREC_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GHOSTREC_JOURNAL_MAX_CHANNELS 8u
#define GHOSTREC_JOURNAL_CAUSE_MAX 24u
#define GHOSTREC_JOURNAL_SCRATCH_FRAMES 4096u

struct ghostrec_journal_seg {
	uint32_t seq;
	uint64_t instance;
	uint64_t generation;
	uint32_t rate;
	uint32_t channels;
	uint64_t frame0;   /* ring frame of its first frame */
	uint64_t frames;   /* whole frames in the file */
	int64_t wall_ns0;  /* CLOCK_REALTIME nanoseconds of frame0 (estimated when it was heard) */
};

struct ghostrec_journal_gap {
	uint64_t instance;
	uint64_t frame, frames;
	char cause[GHOSTREC_JOURNAL_CAUSE_MAX];
};

struct ghostrec_journal_limits {
	double max_seconds;   /* 0: no limit by length */
	uint64_t max_bytes;   /* 0: no limit by size */
	uint64_t seg_seconds; /* a segment is closed after this long (default 300) */
	uint64_t min_free_bytes; /* old segments go while the file system has less free (0: no rule) */
};

struct ghostrec_journal {
	char dir[4096];
	struct ghostrec_journal_limits lim;
	struct ghostrec_journal_seg *segs;   /* oldest first */
	size_t n_segs, cap_segs;
	struct ghostrec_journal_gap *gaps;   /* in the order they were recorded */
	size_t n_gaps, cap_gaps;
	int fd;                               /* last segment, open for appending (-1: none) */
	int index_fd;
	uint64_t unsynced;                    /* frames appended since the last fdatasync */
	uint64_t bytes;                       /* data bytes in all segments */
	bool index_dirty, dir_dirty;          /* lines / new files not yet fsync'ed */
	int dir_fd;                           /* the directory, for syncs made elsewhere */
	bool writable;
	float *scratch;                       /* interleave buffer */
	size_t scratch_frames;
	int rd_fd;                            /* cached reader of segment rd_seq */
	uint32_t rd_seq;
	/* content index (journal_content.h) */
	int fp_fd;                            /* .fp of the segment being written (-1: none) */
	bool fp_broken;                       /* a write failed: no more keys for this segment */
	bool fp_unsynced;
	uint32_t fp_fill;                     /* frames of the window being collected */
	float fp_win[8 * GHOSTREC_JOURNAL_MAX_CHANNELS];
	uint64_t fp_size;                     /* bytes in the .fp being written */
	uint64_t fp_bytes;                    /* bytes in all .fp files (counted against max_bytes) */
	int fp_rd_fd;                         /* cached reader of .fp of segment fp_rd_seq */
	uint32_t fp_rd_seq;
};

/* Opens (creating for a writer) a node's journal directory, loads the index and the segment
 * sizes; a writer cuts a torn last frame off. lim may be NULL for readers. Returns 0 or -1 with
 * a one-line reason. */
int ghostrec_journal_open(struct ghostrec_journal *j, const char *dir, bool writable,
			  const struct ghostrec_journal_limits *lim, char *err, size_t errsize);
void ghostrec_journal_close(struct ghostrec_journal *j);

/* Journal directory of a node under a spool dir: "<spool>/journal/<node>". */
int ghostrec_journal_dir(char *buf, size_t size, const char *spool_dir, const char *node);

/* The frame after the last one held for `instance` (0 and false if it holds none). */
bool ghostrec_journal_end(const struct ghostrec_journal *j, uint64_t instance, uint64_t *end);

/* Appends n frames (planar, src[c] NULL = silence) heard at ring frame `frame` of the given
 * stream. A new segment starts when the stream does not continue the last one (other instance,
 * generation or format; frame not right after it) or the segment is full. wall_ns: realtime of
 * `frame`. Returns the frames written (whole frames, possibly fewer than n when the disk fills
 * up: the rest was not written), or -errno if none was. Never writes a frame twice. */
int64_t ghostrec_journal_append(struct ghostrec_journal *j, uint64_t instance, uint64_t generation,
				uint32_t rate, uint32_t channels, uint64_t frame, int64_t wall_ns,
				const float *const *src, uint32_t n);

/* Records why [frame, frame + frames) of `instance` is not held (written before any later data;
 * durable with the next sync). 0 or -errno. */
int ghostrec_journal_add_gap(struct ghostrec_journal *j, uint64_t instance, uint64_t frame,
			     uint64_t frames, const char *cause);

/* Makes what was written durable: index lines (fsync), new files (directory), content index
 * and segment data (fdatasync). Call at least twice a second. 0 or -errno. */
int ghostrec_journal_sync(struct ghostrec_journal *j);

/* The same sync done by someone else (a sync thread): fills fds, in the order they must be
 * fdatasync'ed (index, directory, content index, segment data; at most 4), and counts them as
 * synced. Returns how many. The descriptors stay the journal's (duplicate them). */
unsigned ghostrec_journal_sync_fds(struct ghostrec_journal *j, int *fds, unsigned max);

/* Removes the oldest segments while the journal is over its limits, never a segment holding
 * frames at or after `keep_from` of `keep_instance` (a take still being built; pass 0, UINT64_MAX
 * to pin nothing) and never the segment being written. Returns how many were removed. */
int ghostrec_journal_rotate(struct ghostrec_journal *j, uint64_t keep_instance, uint64_t keep_from);

/* Reloads the index and segment sizes (a reader following a live journal). 0 or -1. */
int ghostrec_journal_reload(struct ghostrec_journal *j, char *err, size_t errsize);

enum ghostrec_journal_where {
	GHOSTREC_JOURNAL_DATA = 0,  /* *n frames from `frame` are held (one segment) */
	GHOSTREC_JOURNAL_HOLE,      /* *n frames from `frame` are not held and never will be */
	GHOSTREC_JOURNAL_NOT_YET,   /* nothing held at or after `frame` yet */
	GHOSTREC_JOURNAL_GONE,      /* `frame` lies before what the journal holds of `instance`
				     * (rotated out, or never heard); *n frames up to the first held */
	GHOSTREC_JOURNAL_UNKNOWN,   /* the journal holds nothing of `instance` */
};

/* What the journal has at (instance, frame). For a HOLE, cause gets the recorded cause
 * ("other" if none was recorded). */
enum ghostrec_journal_where ghostrec_journal_locate(const struct ghostrec_journal *j, uint64_t instance,
						    uint64_t frame, uint64_t *n, const struct ghostrec_journal_seg **seg,
						    char cause[GHOSTREC_JOURNAL_CAUSE_MAX]);

/* Reads n interleaved frames (seg->channels each) at `frame`, which must lie in seg.
 * Returns 0 or -errno. */
int ghostrec_journal_read(struct ghostrec_journal *j, const struct ghostrec_journal_seg *seg,
			  uint64_t frame, uint32_t n, float *out);

/* Finds the held frame heard at wall-clock time wall_ns (nearest segment whose span contains it,
 * else the first frame after it). Returns true with instance and frame. */
bool ghostrec_journal_frame_at(const struct ghostrec_journal *j, int64_t wall_ns, uint64_t *instance,
			       uint64_t *frame);

/* Bytes held: segment data and content index. */
uint64_t ghostrec_journal_bytes(const struct ghostrec_journal *j);

/* Has the journal's file system room for bytes more (false also when it cannot tell)? */
bool ghostrec_journal_has_room(const struct ghostrec_journal *j, uint64_t bytes);

#endif
