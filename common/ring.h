/* Shared-memory ring of the ghostrec node (contract: DESIGN 3.1; the exporter reads it).
 *
 * One POSIX shm object per node, mode 0600, named "/pw-ghost-rec-<uid>-<node>-<16 random hex>"
 * (ghostrec_ring_shm_name() builds the part before the random suffix). The name is unguessable
 * so that another local user cannot squat it (a pre-created object never stops the node) and
 * is published in the user's 0700 runtime directory (rundir.h) as the ring locator
 * "<ghostrec_ctl_dir()>/<node>.ring" (one line: the shm name) and in the node's hello reply.
 * Readers find the ring through the locator only, and refuse (-EPERM, with the reason) a
 * runtime directory, locator or shm object that is not ours, not private (0700 / not writable
 * by others / exactly 0600) or reached through a symlink. Readers map it read-only. Layout:
 *
 *   [struct ghostrec_ring_header, header_size bytes]
 *   [channel 0: capacity float32 frames][channel 1: ...] ... (planar, channel_stride bytes apart)
 *
 * Frames are numbered on one absolute 64-bit timeline that starts at 0 when the node starts and
 * never goes back, also across generations. Frame f of channel c lives at slot f % capacity.
 *
 * Writer protocol for each cycle of n frames (ghostrec_ring_write, real-time safe):
 *   1. write_begin = write_frame + n        (relaxed store, then a release fence)
 *   2. copy the data into the slots
 *   3. write_frame = write_frame + n        (release store)
 * so frames [write_frame - capacity, write_frame) are complete, and while step 2 runs the frames
 * below write_begin - capacity may be being overwritten. A reader copies a range, then (acquire
 * fence) reloads write_begin and the generation: if the range starts below write_begin - capacity
 * or the generation moved, the copy is reported as overwritten / stale and must not be used.
 *
 * Generations: a format change (rate or channel count) starts a new generation. Frames written
 * before gen_start_frame belong to an older format and are never returned. When the node has to
 * resize the ring it creates a new shm object (new name, locator updated), marks the old one
 * retired and bumps the generation; readers see that and remap (ghostrec_ring_reader_refresh).
 *
 * Marker table: the node records {take_id, channel, frame} for each marker it injects into its
 * output. Entry i (0-based, counting every marker ever recorded) is markers[i % MAX_MARKERS];
 * marker_count is published with release semantics after the entry.
 */
#ifndef GHOSTREC_RING_H
#define GHOSTREC_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GHOSTREC_RING_MAGIC 0x52474847u /* "GHGR" little-endian */
#define GHOSTREC_RING_VERSION 1u
#define GHOSTREC_RING_MAX_CHANNELS 8u
#define GHOSTREC_RING_MAX_MARKERS 64u
#define GHOSTREC_RING_NAME_MAX 64u

/* Largest frame count a shm ring may hold (per channel); protects against absurd requests. */
#define GHOSTREC_RING_MAX_CAPACITY (192000ull * 3600ull)

struct ghostrec_ring_marker {
	uint32_t take_id;
	uint32_t channel;  /* output channel index the marker was written to */
	uint64_t frame;    /* absolute frame of the first marker sample (= ring frame of that instant) */
};

/* Counters, updated by the real-time thread (relaxed atomics; read them with
 * ghostrec_ring_reader_counters). */
struct ghostrec_ring_counters {
	_Atomic uint64_t cycles;          /* process() calls that produced audio */
	_Atomic uint64_t xruns;           /* discontinuities seen in the graph clock */
	_Atomic uint64_t max_process_ns;  /* longest timed process() so far (one cycle in 16 is
					   * timed: a clock read is a large part of a cycle) */
	_Atomic uint64_t last_process_ns; /* the last timed cycle's */
	_Atomic uint64_t overruns;        /* cycles the node could not store completely */
	_Atomic uint64_t format_changes;  /* generations started after the first */
	_Atomic uint64_t markers;         /* markers injected */
	_Atomic uint64_t last_quantum;    /* frames in the last cycle */
};

struct ghostrec_ring_header {
	uint32_t magic;
	uint32_t version;
	uint32_t header_size;             /* bytes before channel 0's data */
	uint32_t channels;
	uint64_t capacity;                /* frames per channel */
	uint64_t channel_stride;          /* bytes between channel planes */
	uint64_t total_size;              /* bytes in the shm object */
	_Atomic uint32_t rate;            /* frames per second of the current generation */
	_Atomic uint32_t retired;         /* 1: a newer shm object replaced this one: reopen */
	_Atomic uint64_t generation;      /* >= 1 */
	_Atomic uint64_t gen_start_frame; /* first frame of the current generation */
	_Atomic uint64_t write_begin;     /* frames below this may be in flight (see protocol) */
	_Atomic uint64_t write_frame;     /* frames below this are complete (release) */
	uint32_t positions[GHOSTREC_RING_MAX_CHANNELS]; /* SPA audio channel ids (SPA_AUDIO_CHANNEL_*) */
	char node_name[GHOSTREC_RING_NAME_MAX];
	int32_t writer_pid;
	uint32_t reserved0;
	uint64_t instance;                /* random per node start, kept when the ring is resized:
					   * a different value means the timeline restarted */
	struct ghostrec_ring_counters counters;
	_Atomic uint64_t marker_count;    /* markers ever recorded (release, after the entry) */
	struct ghostrec_ring_marker markers[GHOSTREC_RING_MAX_MARKERS];
};

/* Builds the start of a node's shm object names: "/pw-ghost-rec-<uid>-<node>", with characters
 * other than [A-Za-z0-9._-] in the node name replaced by '_' (the writer appends "-<16 hex>").
 * Returns 0, -EINVAL (empty name) or -ENAMETOOLONG. */
int ghostrec_ring_shm_name(char *buf, size_t len, const char *node_name);

/* ---- writer (the node) ---- */

struct ghostrec_ring_writer {
	int fd;
	void *map;
	size_t size;
	struct ghostrec_ring_header *hdr;
	float *data;                      /* channel 0 */
	size_t channel_floats;            /* channel_stride / sizeof(float) */
	char shm_name[128];
	char locator_error[320];          /* why the locator could not be written ("" = it was):
					   * the ring works, but readers cannot find it */
};

/* Creates a new shm object for `node_name` (a fresh unguessable name), maps it read-write and
 * points the locator at it; a leftover object the locator named (a node that crashed) is
 * unlinked. A locator that cannot be written is not an error (see locator_error).
 * start_frame/generation continue the node's timeline when the ring is recreated (pass 0 and 1
 * for a new node); the header gets a fresh random `instance` (copy the old one over when the
 * ring is only being resized). Not real-time safe. Returns 0 or a negative errno. */
int ghostrec_ring_writer_create(struct ghostrec_ring_writer *w, const char *node_name,
				uint32_t rate, uint32_t channels, const uint32_t *positions,
				uint64_t capacity, uint64_t start_frame, uint64_t generation);

/* Same, but readers cannot open the object yet (its magic is 0; they get -EAGAIN) until
 * ghostrec_ring_writer_publish(): used when replacing a ring, so nobody sees the new object
 * before its timeline, counters and marker table are carried over. */
int ghostrec_ring_writer_create_unpublished(struct ghostrec_ring_writer *w, const char *node_name,
					    uint32_t rate, uint32_t channels, const uint32_t *positions,
					    uint64_t capacity, uint64_t start_frame, uint64_t generation);

/* Real-time safe: makes the header visible to readers (release). */
static inline void ghostrec_ring_writer_publish(struct ghostrec_ring_writer *w)
{
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&w->hdr->magic, GHOSTREC_RING_MAGIC, __ATOMIC_RELEASE);
}

/* Unmaps; with unlink_shm the object and its locator are removed too (node shutdown; the
 * locator only if it still names this object). Marks it retired first
 * so readers that still map it know to reopen. Not real-time safe. */
void ghostrec_ring_writer_destroy(struct ghostrec_ring_writer *w, bool unlink_shm);

/* Real-time safe (no calls out, no syscalls), for a writer that produces the channels one by one:
 * ghostrec_ring_write_begin (step 1 of the protocol; returns the cycle's first frame and, in
 * *slot, its slot), one ghostrec_ring_write_channel per channel (step 2), then
 * ghostrec_ring_write_end (step 3). ghostrec_ring_write does all three. */
static inline uint64_t ghostrec_ring_write_begin(struct ghostrec_ring_writer *w, uint32_t n_frames,
						 uint64_t *slot)
{
	struct ghostrec_ring_header *h = w->hdr;
	uint64_t wf = atomic_load_explicit(&h->write_frame, memory_order_relaxed);
	atomic_store_explicit(&h->write_begin, wf + n_frames, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	*slot = wf % h->capacity;
	return wf;
}

/* Where frame `slot` of `channel` lives; the plane is contiguous up to slot capacity - 1. */
static inline float *ghostrec_ring_channel_at(const struct ghostrec_ring_writer *w, uint32_t channel,
					      uint64_t slot)
{
	return w->data + channel * w->channel_floats + slot;
}

/* src may be NULL for silence. n_frames <= capacity. */
static inline void ghostrec_ring_write_channel(struct ghostrec_ring_writer *w, uint32_t channel,
					       uint64_t slot, const float *src, uint32_t n_frames)
{
	float *base = ghostrec_ring_channel_at(w, channel, 0);
	uint64_t room = w->hdr->capacity - slot;
	uint32_t first = n_frames <= room ? n_frames : (uint32_t)room;
	if (src) {
		memcpy(base + slot, src, first * sizeof(float));
		if (first < n_frames)
			memcpy(base, src + first, (n_frames - first) * sizeof(float));
	} else {
		memset(base + slot, 0, first * sizeof(float));
		if (first < n_frames)
			memset(base, 0, (n_frames - first) * sizeof(float));
	}
}

static inline void ghostrec_ring_write_end(struct ghostrec_ring_writer *w, uint64_t frame,
					   uint32_t n_frames)
{
	atomic_store_explicit(&w->hdr->write_frame, frame + n_frames, memory_order_release);
}

/* Real-time safe (no calls out, no syscalls). src[c] may be NULL for silence. n_frames <= capacity. */
static inline void ghostrec_ring_write(struct ghostrec_ring_writer *w, const float *const *src,
				       uint32_t n_frames)
{
	uint64_t slot, wf = ghostrec_ring_write_begin(w, n_frames, &slot);
	uint32_t channels = w->hdr->channels;
	for (uint32_t c = 0; c < channels; c++)
		ghostrec_ring_write_channel(w, c, slot, src[c], n_frames);
	ghostrec_ring_write_end(w, wf, n_frames);
}

/* Real-time safe: starts a new generation in place at the current write frame (rate change). */
static inline void ghostrec_ring_new_generation(struct ghostrec_ring_writer *w, uint32_t rate)
{
	struct ghostrec_ring_header *h = w->hdr;
	uint64_t wf = atomic_load_explicit(&h->write_frame, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->generation, 1, memory_order_relaxed);
	atomic_store_explicit(&h->gen_start_frame, wf, memory_order_relaxed);
	atomic_store_explicit(&h->rate, rate, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->counters.format_changes, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

/* Real-time safe: records a marker in the table. */
static inline void ghostrec_ring_add_marker(struct ghostrec_ring_writer *w, uint32_t take_id,
					    uint32_t channel, uint64_t frame)
{
	struct ghostrec_ring_header *h = w->hdr;
	uint64_t i = atomic_load_explicit(&h->marker_count, memory_order_relaxed);
	struct ghostrec_ring_marker *m = &h->markers[i % GHOSTREC_RING_MAX_MARKERS];
	m->take_id = take_id;
	m->channel = channel;
	m->frame = frame;
	atomic_store_explicit(&h->marker_count, i + 1, memory_order_release);
}

static inline uint64_t ghostrec_ring_write_frame(const struct ghostrec_ring_writer *w)
{
	return atomic_load_explicit(&w->hdr->write_frame, memory_order_relaxed);
}

/* ---- reader (exporter, tests) ---- */

enum ghostrec_ring_result {
	GHOSTREC_RING_OK = 0,
	GHOSTREC_RING_NOT_YET = 1,      /* part of the range is not written yet */
	GHOSTREC_RING_OVERWRITTEN = 2,  /* part of the range is gone (before or during the copy) */
	GHOSTREC_RING_GENERATION = 3,   /* format changed / ring replaced: call refresh, re-check info */
};

struct ghostrec_ring_info {
	uint64_t generation;
	uint32_t rate;
	uint32_t channels;
	uint64_t capacity;
	uint64_t gen_start_frame;
	uint64_t write_frame;
	uint64_t oldest_frame;          /* first frame still readable (>= gen_start_frame) */
	uint64_t instance;              /* changes when the node restarts (frames start again at 0) */
	int32_t writer_pid;
	uint32_t positions[GHOSTREC_RING_MAX_CHANNELS];
	char node_name[GHOSTREC_RING_NAME_MAX];
	char shm_name[128];
};

struct ghostrec_ring_reader;

/* Opens the node's ring read-only (through its locator). Returns 0 or a negative errno
 * (-ENOENT: no such node, -EAGAIN: the node is just creating or replacing it, retry shortly,
 * -EPROTO: not a ghostrec ring or an unknown version, -EPERM/-EACCES: the runtime directory,
 * locator or shm object is not ours / not private: refused). */
int ghostrec_ring_reader_open(struct ghostrec_ring_reader **out, const char *node_name);
/* Same, with a one-line reason in err on failure (names the path or object and what is wrong). */
int ghostrec_ring_reader_open_err(struct ghostrec_ring_reader **out, const char *node_name,
				  char *err, size_t err_size);
/* Why the last refresh failed ("" if it did not). */
const char *ghostrec_ring_reader_error(const struct ghostrec_ring_reader *r);
void ghostrec_ring_reader_close(struct ghostrec_ring_reader *r);

/* Remaps if the writer replaced the shm object. Returns 1 if it remapped, 0 if nothing changed,
 * negative errno if the new object cannot be opened yet (-EAGAIN/-ENOENT: retry shortly; the old
 * mapping stays usable for what it still holds). */
int ghostrec_ring_reader_refresh(struct ghostrec_ring_reader *r);

/* Snapshot of the current format and positions (refreshes first). Returns 0 or negative errno. */
int ghostrec_ring_reader_info(struct ghostrec_ring_reader *r, struct ghostrec_ring_info *info);

/* Copies frames [frame, frame + n) of one channel into dst. On anything but GHOSTREC_RING_OK the
 * content of dst is undefined. `generation` is the generation the caller expects (from info);
 * 0 accepts the current one. Negative errno for bad arguments. */
int ghostrec_ring_read(struct ghostrec_ring_reader *r, uint64_t generation, uint32_t channel,
		       uint64_t frame, float *dst, uint32_t n);

/* Same for all channels at once: dst[c] for c < channels, consistent as one unit. */
int ghostrec_ring_read_frames(struct ghostrec_ring_reader *r, uint64_t generation, uint64_t frame,
			      float *const *dst, uint32_t n);

/* Copies the most recent markers (oldest first) into out[0..max). Returns how many were copied;
 * *total gets marker_count. */
size_t ghostrec_ring_reader_markers(struct ghostrec_ring_reader *r, struct ghostrec_ring_marker *out,
				    size_t max, uint64_t *total);

struct ghostrec_ring_counter_values {
	uint64_t cycles, xruns, max_process_ns, last_process_ns, overruns, format_changes, markers,
		last_quantum;
};
void ghostrec_ring_reader_counters(struct ghostrec_ring_reader *r,
				   struct ghostrec_ring_counter_values *out);
/* Same, from any mapped header (the node uses it for status replies). */
void ghostrec_ring_counters_load(const struct ghostrec_ring_header *h,
				 struct ghostrec_ring_counter_values *out);

const char *ghostrec_ring_result_str(int result);

#endif
