/* Test helper: a ghostrec.tap instance driven in process, the way PipeWire's scheduler drives
 * it: DSP formats and memory buffers on every port, io areas, a position clock, and one call
 * per graph cycle that lets the "peers" produce input and consume output first. */
#ifndef GHOSTREC_TEST_TAP_HARNESS_H
#define GHOSTREC_TEST_TAP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <spa/buffer/buffer.h>
#include <spa/node/io.h>
#include <spa/node/node.h>

#include "spa-env.h"

#define TAP_HARNESS_MAX_CHANNELS 8
#define TAP_HARNESS_BUFFERS 2
#define TAP_HARNESS_BUFFER_FRAMES 8192

struct tap_harness {
	struct spa_handle *handle;
	struct spa_node *node;
	uint32_t channels;
	struct spa_io_position position;
	struct spa_io_buffers in_io[TAP_HARNESS_MAX_CHANNELS], out_io[TAP_HARNESS_MAX_CHANNELS];
	struct spa_buffer *in_bufs[TAP_HARNESS_MAX_CHANNELS][TAP_HARNESS_BUFFERS];
	struct spa_buffer *out_bufs[TAP_HARNESS_MAX_CHANNELS][TAP_HARNESS_BUFFERS];
	float *in_data[TAP_HARNESS_MAX_CHANNELS][TAP_HARNESS_BUFFERS];
	float *out_data[TAP_HARNESS_MAX_CHANNELS][TAP_HARNESS_BUFFERS];
	uint64_t cycles;  /* cycles run */
	uint64_t frame;   /* frames of the test signal played so far */
};

/* What the peers do in one cycle. Zeroed = a normal cycle of `duration` frames. */
struct tap_cycle {
	uint32_t duration;
	uint32_t short_chunk[TAP_HARNESS_MAX_CHANNELS]; /* != 0: the input chunk has only this many */
	uint32_t missing_mask;     /* inputs whose peer produced nothing this cycle */
	uint32_t unconsumed_mask;  /* outputs whose peer did not take the last buffer */
	uint32_t rate;             /* 0: 48000 */
	uint64_t position_jump;    /* extra frames the clock skips before this cycle (xrun) */
};

/* The deterministic test signal (distinct per frame and channel, never 0, exact in float). */
float tap_harness_signal(uint64_t frame, uint32_t channel);

/* Instantiates ghostrec.tap from `plugin` with `info` and `channels` ports each way, and sets
 * everything up as a started node. Exits the test on failure. */
void tap_harness_init(struct tap_harness *hs, struct spa_env *env, const char *plugin,
		      const struct spa_dict *info, uint32_t channels);
void tap_harness_clear(struct tap_harness *hs);

/* Runs one cycle: inputs get the next `duration` frames of the signal (hs->frame advances),
 * then process() is called. Returns process()'s result. Real-time safe itself (no calls out
 * besides process()). */
int tap_harness_cycle(struct tap_harness *hs, const struct tap_cycle *cycle);

/* The output channel `c` of the last cycle (NULL if the node produced none); *frames gets its
 * length. */
const float *tap_harness_output(struct tap_harness *hs, uint32_t c, uint32_t *frames);

#endif
