/* ghostrec.tap real-time path: runs on PipeWire's data thread once per graph cycle.
 *
 * Rules (checked by tests/node/rt-trap-test): no allocation, no locks, no syscalls, no logging.
 * The only call out of this file besides memcpy/memset is clock_gettime(CLOCK_MONOTONIC) on one
 * cycle in TAP_TIMED_CYCLES, served by the vDSO without entering the kernel (the trap test runs
 * this under a seccomp filter that traps every real syscall, so it would catch a clock that is
 * not vDSO-backed).
 *
 * Per cycle of n frames:
 *   1. start a requested marker (marker table entry at the ring's current write frame),
 *   2. per channel: take the input buffer (missing input = silence, a short chunk is padded),
 *      append the pristine input to the shm ring, copy it to the output in the same cycle (zero
 *      added latency) and overwrite the marker's next samples on a marked output channel,
 *   3. publish the ring's new write frame and update the counters.
 * The common cycle (whole input chunks, a free output buffer, no marker, no clock jump) runs
 * straight through; everything else is in the out-of-line functions, so the per-cycle cost stays
 * close to the copies themselves (tests/bench/run-bench measures it against bare memcpy).
 */
#include "tap.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define TAP_COLD __attribute__((noinline, cold))

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define TAP_PROCESS_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef TAP_PROCESS_CLONES
#define TAP_PROCESS_CLONES
#endif

/* One cycle in this many (a power of two) is timed for the process-time counters. */
#define TAP_TIMED_CYCLES 16u

enum {
	CYCLE_XRUN = 1u << 0,     /* discontinuity: clock jump or short input */
	CYCLE_OVERRUN = 1u << 1,  /* the cycle could not be stored or passed completely */
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void counter_add(_Atomic uint64_t *c, uint64_t v)
{
	/* Single writer: a relaxed load + store is enough and cheaper than a locked add. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* The copy of one channel: input -> output and input -> ring in one pass over the input, 64
 * samples at a time. Unaligned: no buffer involved promises more than float alignment. On x86-64
 * the whole of process() is also built for AVX2 and the loader picks that when the CPU has it
 * (TAP_PROCESS_CLONES), so a vector is one register there and two SSE registers otherwise. */
typedef float tap_vec8 __attribute__((vector_size(32), aligned(4), may_alias));

/* 64 samples to both places, each vector stored twice right after its load (so no compiler
 * loads it a second time). */
static inline __attribute__((always_inline)) void copy_64(float *restrict out, float *restrict ring,
							 const float *restrict in)
{
	for (uint32_t i = 0; i < 64; i += 8) {
		tap_vec8 v = *(const tap_vec8 *)(in + i);
		*(tap_vec8 *)(out + i) = v;
		*(tap_vec8 *)(ring + i) = v;
	}
}

/* whole: n is a multiple of 64 and not 0 (no tail, the loop runs at least once). */
static inline __attribute__((always_inline)) void copy_to_both(float *restrict out, float *restrict ring,
				const float *restrict in, uint32_t n, bool whole)
{
	const float *end = in + (n & ~63u);
	if (whole) {
		do {
			copy_64(out, ring, in);
			in += 64, out += 64, ring += 64;
		} while (in < end);
		return;
	}
	for (; in < end; in += 64, out += 64, ring += 64)
		copy_64(out, ring, in);
	if (SPA_UNLIKELY(n & 63u)) {
		memcpy(out, in, (n & 63u) * sizeof(float));
		memcpy(ring, in, (n & 63u) * sizeof(float));
	}
}

/* The input samples of one channel for this cycle (n frames), or NULL for silence. A chunk that
 * is not simply n frames from the start of the buffer is honoured: its offset is applied and a
 * short one is padded with silence (*flags gets CYCLE_XRUN). */
static const float *input_samples(struct tap *t, struct tap_port *port, uint32_t c, uint32_t n,
				  uint32_t *flags)
{
	struct spa_io_buffers *io = port->io;
	if (io->status != SPA_STATUS_HAVE_DATA || io->buffer_id >= port->n_buffers)
		return NULL;
	/* Read the spa_data fresh: a mixer in front of the port may pass its input buffer through
	 * by copying the peer's spa_buffer over it (dynamic data). */
	const struct spa_data *d = port->buffers[io->buffer_id].outbuf->datas;
	io->status = SPA_STATUS_NEED_DATA;
	if (d->data == NULL)
		return NULL;
	uint32_t offs = SPA_MIN(d->chunk->offset, d->maxsize);
	uint32_t size = SPA_MIN(d->maxsize - offs, d->chunk->size);
	uint32_t avail = size / (uint32_t)sizeof(float);
	const float *in = SPA_PTROFF(d->data, offs, const float);
	if (avail >= n)
		return in;
	/* A short input chunk: pad with silence so the ring stays on graph time. */
	memcpy(t->scratch[c], in, avail * sizeof(float));
	memset(t->scratch[c] + avail, 0, (n - avail) * sizeof(float));
	*flags |= CYCLE_XRUN;
	return t->scratch[c];
}

/* Starts a requested marker; returns true while one is being written (with *len: its frames in
 * this cycle). */
static bool marker_begin(struct tap *t, uint32_t n, uint32_t *len)
{
	struct tap_mark_slot *m = &t->mark;
	struct ghostrec_ring_header *h = t->ring.hdr;
	uint32_t expected = TAP_MARK_REQUESTED;
	if (atomic_load_explicit(&m->state, memory_order_relaxed) == TAP_MARK_IDLE)
		return false;
	if (atomic_compare_exchange_strong_explicit(&m->state, &expected, TAP_MARK_ACTIVE,
						    memory_order_acq_rel, memory_order_acquire)) {
		m->offset = 0;
		m->frame = ghostrec_ring_write_frame(&t->ring);
		m->generation = atomic_load_explicit(&h->generation, memory_order_relaxed);
		for (uint32_t c = 0; c < t->n_channels; c++)
			if (m->channel_mask & (1u << c))
				ghostrec_ring_add_marker(&t->ring, m->take_id, c, m->frame);
		counter_add(&h->counters.markers, 1);
	} else if (expected != TAP_MARK_ACTIVE) {
		return false;
	}
	*len = SPA_MIN(n, GHOSTREC_MARKER_FRAMES - m->offset);
	return true;
}

static void marker_end(struct tap *t, uint32_t len)
{
	struct tap_mark_slot *m = &t->mark;
	m->offset += len;
	/* A CAS, not a store: the main thread may have given up on this marker meanwhile
	 * (ACTIVE -> IDLE) and handed the slot to the next mark; DONE must not land on that. */
	uint32_t active = TAP_MARK_ACTIVE;
	if (m->offset >= GHOSTREC_MARKER_FRAMES)
		atomic_compare_exchange_strong_explicit(&m->state, &active, TAP_MARK_DONE,
							memory_order_acq_rel, memory_order_relaxed);
}

static inline void publish_output(struct tap_buffer *b, struct spa_io_buffers *io, uint32_t id,
				  uint32_t frames)
{
	struct spa_chunk *chunk = b->chunk;
	chunk->offset = 0;
	chunk->size = frames * (uint32_t)sizeof(float);
	chunk->stride = sizeof(float);
	chunk->flags = 0;
	io->buffer_id = id;
	io->status = SPA_STATUS_HAVE_DATA;
}

/* One channel of any other cycle: no input or an odd input chunk, the ring wrapping inside this
 * cycle, no output buffer or one too small, a marker being written. Returns CYCLE_* flags. */
static TAP_COLD uint32_t channel_odd(struct tap *t, uint32_t c, uint64_t slot, uint32_t n,
				     bool marking, uint32_t mark_len)
{
	uint32_t flags = 0;
	const float *in = input_samples(t, &t->in_ports[c], c, n, &flags);
	ghostrec_ring_write_channel(&t->ring, c, slot, in, n);
	struct tap_port *port = &t->out_ports[c];
	struct spa_io_buffers *io = port->io;
	if (io == &port->no_io)
		return flags;
	uint32_t id = io->buffer_id;
	if (id >= port->n_buffers) {
		/* First cycle, or the peer kept the buffer: the next one in turn. */
		id = port->next_id;
		if (id >= port->n_buffers)
			return flags | CYCLE_OVERRUN;
		port->next_id = id + 1 < port->n_buffers ? id + 1 : 0;
	}
	struct tap_buffer *b = &port->buffers[id];
	uint32_t frames = SPA_MIN(n, b->maxsize / (uint32_t)sizeof(float));
	if (in != NULL)
		memcpy(b->data, in, frames * sizeof(float));
	else
		memset(b->data, 0, frames * sizeof(float));
	struct tap_mark_slot *m = &t->mark;
	if (marking && (m->channel_mask & (1u << c)))
		ghostrec_marker_render(m->symbols[c], m->amplitude, m->offset, b->data,
				       SPA_MIN(mark_len, frames));
	publish_output(b, io, id, frames);
	return flags | (frames < n ? CYCLE_OVERRUN : 0);
}

/* The channels of a cycle with a marker or a ring wrap (or one started meanwhile). */
static TAP_COLD uint32_t cycle_odd(struct tap *t, uint64_t slot, uint32_t n)
{
	uint32_t flags = 0, mark_len = 0;
	bool marking = marker_begin(t, n, &mark_len);
	for (uint32_t c = 0; c < t->n_channels; c++)
		flags |= channel_odd(t, c, slot, n, marking, mark_len);
	if (marking)
		marker_end(t, mark_len);
	return flags;
}

/* The channels of a plain cycle that the inline path left (bit c of mask: channel c). */
static TAP_COLD uint32_t channels_left(struct tap *t, uint32_t n, uint32_t mask)
{
	uint32_t flags = 0;
	uint64_t slot = ghostrec_ring_write_frame(&t->ring) % t->ring.hdr->capacity;
	for (uint32_t c = 0; mask != 0; c++, mask >>= 1)
		if (mask & 1u)
			flags |= channel_odd(t, c, slot, n, false, 0);
	return flags;
}

/* The channels of a cycle without a marker and without a ring wrap, where every output buffer
 * holds n frames (t->plain_frames). Inline: a whole input chunk and an output buffer named by
 * the port's io (the one the peer handed back, or did not take). A channel that is anything else
 * is left to channels_left after the loop, so the loop itself calls nothing. Returns the mask of
 * channels left. whole: n is a multiple of 64 (no tail to copy). */
static inline __attribute__((always_inline)) uint32_t channels_plain(struct tap *t, uint64_t slot,
								    uint32_t n, bool whole)
{
	if (whole)
		n &= ~63u;  /* no change: tells the compiler */
	uint32_t left = 0, bytes = n * (uint32_t)sizeof(float);
	struct tap_port *ip = t->in_ports, *op = t->out_ports, *end = ip + t->n_channels;
	float *ring = ghostrec_ring_channel_at(&t->ring, 0, slot);
	size_t ring_stride = t->ring.channel_floats;
	for (; ip < end; ip++, op++, ring += ring_stride) {
		struct spa_io_buffers *in_io = ip->io, *out_io = op->io;
		size_t in_id = in_io->buffer_id, id = out_io->buffer_id; /* SPA_ID_INVALID in no_io */
		if (SPA_LIKELY(in_io->status == SPA_STATUS_HAVE_DATA && in_id < ip->n_buffers &&
			       id < op->n_buffers)) {
			/* Read the spa_data fresh: a mixer in front of the port may pass its input
			 * buffer through by copying the peer's spa_buffer over it (dynamic data). */
			const struct spa_data *d = ip->buffers[in_id].outbuf->datas;
			const float *in = d->data;
			const struct spa_chunk *ch = d->chunk;
			if (SPA_LIKELY(in != NULL && ch->offset == 0 && ch->size >= bytes &&
				       d->maxsize >= bytes)) {
				/* the peers look at none of this before process() returns: the
				 * bookkeeping first, so nothing of it lives across the copy */
				struct tap_buffer *b = &op->buffers[id];
				float *out = b->data;
				struct spa_chunk *chunk = b->chunk;
				chunk->offset = 0;
				chunk->size = bytes;
				chunk->stride = sizeof(float);
				chunk->flags = 0;
				in_io->status = SPA_STATUS_NEED_DATA;
				out_io->status = SPA_STATUS_HAVE_DATA; /* buffer_id stays: it is id */
				copy_to_both(out, ring, in, n, whole);
				continue;
			}
		}
		left |= 1u << (ip - t->in_ports);
	}
	return left;
}

static TAP_COLD void start_time(struct tap *t)
{
	t->cycle_start_ns = now_ns();
}

/* The graph clock did not continue where the last cycle ended (or this is the first cycle). */
static TAP_COLD uint32_t clock_jump(const struct tap *t)
{
	return t->expected_position == TAP_NO_POSITION ? 0 : CYCLE_XRUN;
}

static TAP_COLD void count_flags(struct ghostrec_ring_header *h, uint32_t flags)
{
	if (flags & CYCLE_XRUN)
		counter_add(&h->counters.xruns, 1);
	if (flags & CYCLE_OVERRUN)
		counter_add(&h->counters.overruns, 1);
}

static TAP_COLD void count_time(struct ghostrec_ring_header *h, uint64_t t0)
{
	uint64_t dt = now_ns() - t0;
	atomic_store_explicit(&h->counters.last_process_ns, dt, memory_order_relaxed);
	if (dt > atomic_load_explicit(&h->counters.max_process_ns, memory_order_relaxed))
		atomic_store_explicit(&h->counters.max_process_ns, dt, memory_order_relaxed);
}

TAP_PROCESS_CLONES int tap_process(void *object)
{
	struct tap *t = object;
	struct spa_io_position *pos = t->position;
	struct ghostrec_ring_header *h = t->ring.hdr;  /* from init to clear: never NULL here */
	if (SPA_UNLIKELY(pos == NULL))
		return -EIO;

	/* Only t, n and flags live across the channels: everything else is reloaded after them. */
	if (SPA_UNLIKELY((atomic_load_explicit(&h->counters.cycles, memory_order_relaxed) &
			  (TAP_TIMED_CYCLES - 1)) == 0))
		start_time(t);

	uint64_t duration = pos->clock.duration;
	uint32_t n = (uint32_t)duration, flags = 0;
	if (SPA_UNLIKELY(duration > t->cycle_limit)) {
		n = t->cycle_limit;
		flags |= CYCLE_OVERRUN;
	}
	uint32_t rate = pos->clock.rate.denom;
	if (SPA_UNLIKELY(rate != atomic_load_explicit(&h->rate, memory_order_relaxed)) && rate != 0)
		ghostrec_ring_new_generation(&t->ring, rate);
	if (SPA_UNLIKELY(pos->clock.position != t->expected_position))
		flags |= clock_jump(t);
	t->expected_position = pos->clock.position + duration;

	/* 1.-2. marker; per channel: input -> ring, input -> output */
	uint64_t slot;
	ghostrec_ring_write_begin(&t->ring, n, &slot);
	if (SPA_LIKELY(flags == 0 &&
		       atomic_load_explicit(&t->mark.state, memory_order_relaxed) == TAP_MARK_IDLE &&
		       slot + n <= h->capacity &&
		       n - 1 < atomic_load_explicit(&t->plain_frames, memory_order_relaxed))) {
		/* no marker, no ring wrap, 0 < n <= every output buffer */
		uint32_t left = (n & 63u) == 0 ? channels_plain(t, slot, n, true)
					       : channels_plain(t, slot, n, false);
		if (SPA_UNLIKELY(left != 0))
			flags = channels_left(t, n, left);
	} else {
		flags |= cycle_odd(t, slot, n);
	}
	/* 3. publish the frames, counters */
	h = t->ring.hdr;
	ghostrec_ring_write_end(&t->ring, ghostrec_ring_write_frame(&t->ring), n);
	uint64_t cycle = atomic_load_explicit(&h->counters.cycles, memory_order_relaxed);
	atomic_store_explicit(&h->counters.cycles, cycle + 1, memory_order_relaxed);
	atomic_store_explicit(&h->counters.last_quantum, n, memory_order_relaxed);
	if (SPA_UNLIKELY(flags != 0))
		count_flags(h, flags);
	if (SPA_UNLIKELY((cycle & (TAP_TIMED_CYCLES - 1)) == 0))
		count_time(h, t->cycle_start_ns);

	return SPA_STATUS_HAVE_DATA | SPA_STATUS_NEED_DATA;
}
