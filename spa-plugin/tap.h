/* ghostrec.tap: the node's state, shared by the setup code (tap-node.c, main thread), the control
 * channel (tap-control.c, main thread) and the real-time path (tap-process.c, data thread).
 *
 * Threads and what they may touch:
 *  - data thread: process() only. Reads ports/buffers/ring/marker slot, writes audio, the ring,
 *    the marker slot's progress and the shm counters. No allocation, locks, syscalls or logging.
 *  - main thread: everything else. Changes to what process() reads (buffers, io, ring) go
 *    through spa_loop_invoke on the data loop, so they happen between two cycles.
 *  - The main thread learns what process() did when it runs anyway (a request, a node command)
 *    and with a main-loop timer only while it waits for process() (a pending mark, a restart):
 *    process() never wakes anyone, because waking another thread needs a syscall (eventfd write).
 */
#ifndef GHOSTREC_TAP_H
#define GHOSTREC_TAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <spa/node/io.h>
#include <spa/node/node.h>
#include <spa/buffer/buffer.h>
#include <spa/param/param.h>
#include <spa/support/log.h>
#include <spa/support/loop.h>
#include <spa/support/plugin.h>
#include <spa/utils/dict.h>
#include <spa/utils/hook.h>

#include "common/control.h"
#include "common/marker.h"
#include "common/ring.h"

#define TAP_FACTORY_NAME "ghostrec.tap"
#define TAP_MAX_CHANNELS GHOSTREC_RING_MAX_CHANNELS
#define TAP_MAX_BUFFERS 16u
#define TAP_DEFAULT_QUANTUM_LIMIT 8192u
#define TAP_DEFAULT_RATE 48000u
#define TAP_DEFAULT_RING_SECONDS 30.0
#define TAP_NO_POSITION UINT64_MAX

/* Hot fields first; 64 bytes so process() indexes the array with a shift (no alignment beyond
 * the pointers': PipeWire allocates the node with calloc). */
struct tap_buffer {
	struct spa_buffer *outbuf; /* input: read outbuf->datas fresh every cycle (a mixer may
				    * copy its peer's spa_buffer over it) */
	struct spa_chunk *chunk;   /* output: datas[0].chunk */
	float *data;         /* datas[0].data, mapped */
	uint32_t maxsize;    /* bytes */
	bool mapped;         /* we mmap'ed it (memfd buffers handed over unmapped) */
	void *map_base;
	size_t map_size;
	uint64_t reserved[2];
};
_Static_assert(sizeof(struct tap_buffer) == 64, "struct tap_buffer is 64 bytes");

struct tap_port {
	enum spa_direction direction;
	uint32_t id;         /* == channel index */
	uint64_t info_all;
	struct spa_port_info info;
	struct spa_param_info params[5];
	struct spa_dict_item items[4];
	struct spa_dict props;
	char name[32];
	char channel[16];
	bool have_format;
	struct spa_io_buffers *io;   /* never NULL: &no_io while the port has none */
	struct spa_io_buffers no_io; /* status NEED_DATA, no buffer: nothing to read or fill */
	struct tap_buffer buffers[TAP_MAX_BUFFERS];
	uint32_t n_buffers;
	uint32_t max_frames; /* frames the smallest buffer holds */
	/* output: process() fills the buffer the port's io names (the one the peer handed back,
	 * or the one it did not take); when it names none (first cycle, or the peer keeps it and
	 * recycles it with port_reuse_buffer) the next one in turn. Only touched by process()
	 * once buffers are in use. */
	uint32_t next_id;
};

enum tap_mark_state {
	TAP_MARK_IDLE = 0,
	TAP_MARK_REQUESTED,  /* main thread filled the slot; process() starts it next cycle */
	TAP_MARK_ACTIVE,     /* process() is writing it into the output */
	TAP_MARK_DONE,       /* complete; frame is valid; main thread replies and resets */
};

/* One marker at a time travels from the main thread to process(). */
struct tap_mark_slot {
	_Atomic uint32_t state;
	uint32_t take_id;
	uint32_t channel_mask;
	float amplitude;
	int8_t symbols[TAP_MAX_CHANNELS][GHOSTREC_MARKER_FRAMES];
	/* written by process() */
	uint32_t offset;
	uint64_t frame;
	uint64_t generation;
};

struct tap_control; /* tap-control.c */

struct tap {
	struct spa_handle handle;
	struct spa_node node;

	struct spa_log *log;
	struct spa_loop *data_loop;
	struct spa_loop *main_loop;
	struct spa_loop_utils *main_utils;

	struct spa_hook_list hooks;
	uint64_t info_all;
	struct spa_node_info info;
	struct spa_param_info params[2];

	/* configuration (properties) */
	char node_name[GHOSTREC_RING_NAME_MAX];
	uint32_t n_channels;
	uint32_t positions[TAP_MAX_CHANNELS];
	double ring_seconds;
	uint32_t marker_channel_mask;
	float marker_amplitude;
	uint32_t quantum_limit;
	uint32_t rate;  /* rate the ring was sized for */

	struct tap_port in_ports[TAP_MAX_CHANNELS];
	struct tap_port out_ports[TAP_MAX_CHANNELS];

	struct spa_io_position *position;
	bool started;

	/* the shm ring; replaced only through spa_loop_invoke */
	struct ghostrec_ring_writer ring;

	/* process() private state */
	uint64_t expected_position;  /* TAP_NO_POSITION before the first cycle */
	uint32_t cycle_limit;        /* frames a cycle can store: min(quantum_limit, ring capacity);
				      * set with the ring (tap-node.c, do_ring_swap) */
	uint64_t cycle_start_ns;     /* of the cycle being timed */
	/* frames every output port's buffers hold (the smallest max_frames of the ports that have
	 * buffers; 0 while buffers change): process() checks a cycle against it once, not per
	 * channel. Written by the main thread in tap-node.c. */
	_Atomic uint32_t plain_frames;
	struct tap_mark_slot mark;
	float *scratch[TAP_MAX_CHANNELS];  /* quantum_limit frames each, allocated at init */

	struct tap_control *control;
};

/* tap-process.c (real-time) */
int tap_process(void *object);

/* tap-node.c (main thread): keeps a ring's pages in RAM if the memlock limit allows. */
void tap_ring_lock(struct tap *tap, struct ghostrec_ring_writer *ring);

/* tap-control.c (main thread) */
int tap_control_start(struct tap *tap);
void tap_control_stop(struct tap *tap);
/* Something may change what process() does (node command): look at it until it has settled. */
void tap_control_wake(struct tap *tap);
/* Replaces the ring with one of `seconds` at `rate` (new generation). Main thread. */
int tap_ring_replace(struct tap *tap, double seconds, uint32_t rate);

#endif
