/* ghostrec.tap real-time path: runs on PipeWire's data thread once per graph cycle.
 *
 * Rules (checked by tests/node/rt-trap-test): no allocation, no locks, no syscalls, no logging.
 * The only call out of this file is clock_gettime(CLOCK_MONOTONIC), served by the vDSO
 * without entering the kernel (the trap test runs this under a seccomp filter that traps
 * every real syscall, so it would catch a clock that is not vDSO-backed).
 *
 * Per cycle of n frames:
 *   1. collect each input channel's buffer (missing input = silence),
 *   2. start a requested marker (marker table entry at the ring's current write frame),
 *   3. append the pristine input to the shm ring,
 *   4. copy input to output in the same cycle (zero added latency), then overwrite the
 *      marker's next samples on the marked output channels,
 *   5. update counters.
 */
#include "tap.h"

#include <errno.h>
#include <string.h>
#include <time.h>

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

/* Returns the input samples of one channel for this cycle, or NULL for silence. *avail gets
 * the number of valid frames. */
static inline const float *input_samples(struct tap_port *port, uint32_t *avail)
{
	struct spa_io_buffers *io = port->io;
	*avail = 0;
	if (io == NULL || io->status != SPA_STATUS_HAVE_DATA || io->buffer_id >= port->n_buffers)
		return NULL;
	/* Read the spa_data fresh: a mixer in front of the port may pass its input buffer through
	 * by swapping the data pointer (dynamic data). */
	struct spa_data *d = &port->buffers[io->buffer_id].outbuf->datas[0];
	io->status = SPA_STATUS_NEED_DATA;
	if (SPA_UNLIKELY(d->data == NULL))
		return NULL;
	uint32_t offs = SPA_MIN(d->chunk->offset, d->maxsize);
	uint32_t size = SPA_MIN(d->maxsize - offs, d->chunk->size);
	*avail = size / sizeof(float);
	return SPA_PTROFF(d->data, offs, const float);
}

/* Takes a free output buffer, recycling the one the peer has finished with. */
static inline struct tap_buffer *output_buffer(struct tap_port *port, uint32_t *id)
{
	struct spa_io_buffers *io = port->io;
	if (io == NULL)
		return NULL;
	if (io->buffer_id < port->n_buffers && io->status == SPA_STATUS_HAVE_DATA) {
		/* Nobody consumed the last one (output not linked): refill it. */
		*id = io->buffer_id;
		return &port->buffers[*id];
	}
	if (io->buffer_id < port->n_buffers && !port->buffers[io->buffer_id].queued) {
		port->buffers[io->buffer_id].queued = true;
		port->free_ids[port->n_free++] = io->buffer_id;
		io->buffer_id = SPA_ID_INVALID;
	}
	if (port->n_free == 0)
		return NULL;
	*id = port->free_ids[--port->n_free];
	port->buffers[*id].queued = false;
	return &port->buffers[*id];
}

static inline void start_marker(struct tap *t)
{
	struct tap_mark_slot *m = &t->mark;
	uint32_t expected = TAP_MARK_REQUESTED;
	if (atomic_load_explicit(&m->state, memory_order_acquire) != TAP_MARK_REQUESTED ||
	    !atomic_compare_exchange_strong_explicit(&m->state, &expected, TAP_MARK_ACTIVE,
						     memory_order_acq_rel, memory_order_acquire))
		return;
	struct ghostrec_ring_header *h = t->ring.hdr;
	m->offset = 0;
	m->frame = ghostrec_ring_write_frame(&t->ring);
	m->generation = atomic_load_explicit(&h->generation, memory_order_relaxed);
	for (uint32_t c = 0; c < t->n_channels; c++)
		if (m->channel_mask & (1u << c))
			ghostrec_ring_add_marker(&t->ring, m->take_id, c, m->frame);
	counter_add(&h->counters.markers, 1);
}

int tap_process(void *object)
{
	struct tap *t = object;
	struct spa_io_position *pos = t->position;
	if (SPA_UNLIKELY(pos == NULL || t->ring.hdr == NULL))
		return -EIO;

	uint64_t t0 = now_ns();
	struct ghostrec_ring_header *h = t->ring.hdr;
	uint32_t n = (uint32_t)SPA_MIN(pos->clock.duration, (uint64_t)t->quantum_limit);
	bool overrun = n != pos->clock.duration;

	uint32_t rate = pos->clock.rate.denom;
	if (SPA_UNLIKELY(rate != 0 && rate != atomic_load_explicit(&h->rate, memory_order_relaxed)))
		ghostrec_ring_new_generation(&t->ring, rate);

	bool xrun = t->have_position && pos->clock.position != t->expected_position;
	t->expected_position = pos->clock.position + pos->clock.duration;
	t->have_position = true;

	/* 1. inputs */
	const float *in[TAP_MAX_CHANNELS];
	for (uint32_t c = 0; c < t->n_channels; c++) {
		uint32_t avail;
		in[c] = input_samples(&t->in_ports[c], &avail);
		if (SPA_UNLIKELY(in[c] != NULL && avail < n)) {
			/* A short input chunk: pad with silence so the ring stays on graph time. */
			memcpy(t->scratch[c], in[c], avail * sizeof(float));
			memset(t->scratch[c] + avail, 0, (n - avail) * sizeof(float));
			in[c] = t->scratch[c];
			xrun = true;
		}
	}
	if (SPA_UNLIKELY(n > h->capacity)) {
		n = (uint32_t)h->capacity;
		overrun = true;
	}

	/* 2. marker */
	start_marker(t);
	struct tap_mark_slot *m = &t->mark;
	bool marking = atomic_load_explicit(&m->state, memory_order_relaxed) == TAP_MARK_ACTIVE;
	uint32_t mark_len = 0;
	if (marking)
		mark_len = SPA_MIN(n, GHOSTREC_MARKER_FRAMES - m->offset);

	/* 3. pristine input into the ring */
	ghostrec_ring_write(&t->ring, in, n);

	/* 4. outputs, same cycle */
	for (uint32_t c = 0; c < t->n_channels; c++) {
		struct tap_port *port = &t->out_ports[c];
		uint32_t id;
		struct tap_buffer *b = output_buffer(port, &id);
		if (b == NULL) {
			if (port->io != NULL)
				overrun = true;
			continue;
		}
		uint32_t frames = SPA_MIN(n, b->maxsize / (uint32_t)sizeof(float));
		if (frames < n)
			overrun = true;
		if (in[c] != NULL)
			memcpy(b->data, in[c], frames * sizeof(float));
		else
			memset(b->data, 0, frames * sizeof(float));
		if (marking && (m->channel_mask & (1u << c)))
			ghostrec_marker_render(m->symbols[c], m->amplitude, m->offset, b->data,
					       SPA_MIN(mark_len, frames));
		struct spa_chunk *chunk = b->outbuf->datas[0].chunk;
		chunk->offset = 0;
		chunk->size = frames * sizeof(float);
		chunk->stride = sizeof(float);
		chunk->flags = 0;
		port->io->buffer_id = id;
		port->io->status = SPA_STATUS_HAVE_DATA;
	}
	if (marking) {
		m->offset += mark_len;
		/* A CAS, not a store: the main thread may have given up on this marker meanwhile
		 * (ACTIVE -> IDLE) and handed the slot to the next mark; DONE must not land on that. */
		uint32_t active = TAP_MARK_ACTIVE;
		if (m->offset >= GHOSTREC_MARKER_FRAMES)
			atomic_compare_exchange_strong_explicit(&m->state, &active, TAP_MARK_DONE,
								memory_order_acq_rel,
								memory_order_relaxed);
	}

	/* 5. counters */
	counter_add(&h->counters.cycles, 1);
	if (SPA_UNLIKELY(xrun))
		counter_add(&h->counters.xruns, 1);
	if (SPA_UNLIKELY(overrun))
		counter_add(&h->counters.overruns, 1);
	atomic_store_explicit(&h->counters.last_quantum, n, memory_order_relaxed);
	uint64_t dt = now_ns() - t0;
	atomic_store_explicit(&h->counters.last_process_ns, dt, memory_order_relaxed);
	if (dt > atomic_load_explicit(&h->counters.max_process_ns, memory_order_relaxed))
		atomic_store_explicit(&h->counters.max_process_ns, dt, memory_order_relaxed);

	return SPA_STATUS_HAVE_DATA | SPA_STATUS_NEED_DATA;
}
