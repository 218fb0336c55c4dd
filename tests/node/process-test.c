/* ghostrec.tap's process() on the awkward cycles a real graph produces, in process (also under
 * ASan/UBSan): every cycle's output must be its input, the ring must hold the input, and the
 * counters must say what happened.
 *   - normal cycles at several quanta, marker spanning cycles at a quantum of 32,
 *   - a short input chunk (padded with silence, counted as a discontinuity),
 *   - an input whose peer produced nothing (silence), an output nobody consumed (refilled),
 *   - a clock jump (xrun), a rate change (new generation in place),
 *   - a quantum larger than the ring (clamped, counted as an overrun),
 *   - an input buffer a mixer replaced by its peer's (pass-through).
 *
 * usage: process-test PLUGIN.so libspa-support.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/control.h"
#include "common/marker.h"
#include "common/ring.h"
#include "spa-env.h"
#include "tap-harness.h"

#define CH 2

static int failures;
#define EXPECT(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	failures++; } } while (0)

static struct spa_env env;
static const char *plugin;

struct fixture {
	struct tap_harness hs;
	struct ghostrec_ring_reader *ring;
	char name[64];
};

static void fixture_init(struct fixture *fx, const char *ring_seconds)
{
	static int counter;
	snprintf(fx->name, sizeof(fx->name), "proc-%d-%d", (int)getpid(), counter++);
	struct spa_dict_item items[] = {
		SPA_DICT_ITEM_INIT("node.name", fx->name),
		SPA_DICT_ITEM_INIT("ghostrec.ring.seconds", ring_seconds),
	};
	struct spa_dict info = SPA_DICT_INIT_ARRAY(items);
	tap_harness_init(&fx->hs, &env, plugin, &info, CH);
	if (ghostrec_ring_reader_open(&fx->ring, fx->name) < 0) {
		printf("FAIL: cannot open the ring\n");
		exit(1);
	}
}

static void fixture_clear(struct fixture *fx)
{
	ghostrec_ring_reader_close(fx->ring);
	tap_harness_clear(&fx->hs);
}

static struct ghostrec_ring_counter_values counters(struct fixture *fx)
{
	struct ghostrec_ring_counter_values v;
	ghostrec_ring_reader_counters(fx->ring, &v);
	return v;
}

/* Runs one cycle and checks output == expected input, ring == expected input, for the frames
 * the node was given. expect_in(c, i) is what the node should have seen. */
static void cycle_and_check(struct fixture *fx, const struct tap_cycle *cy, const char *what,
			    float (*expect_in)(struct fixture *, uint64_t frame0, uint32_t c, uint32_t i,
					       const struct tap_cycle *cy))
{
	struct ghostrec_ring_info before, after;
	ghostrec_ring_reader_info(fx->ring, &before);
	uint64_t frame0 = fx->hs.frame;
	tap_harness_cycle(&fx->hs, cy);
	ghostrec_ring_reader_info(fx->ring, &after);
	uint32_t stored = (uint32_t)(after.write_frame - before.write_frame);
	float ring[TAP_HARNESS_BUFFER_FRAMES];
	for (uint32_t c = 0; c < CH; c++) {
		uint32_t n = 0;
		const float *out = tap_harness_output(&fx->hs, c, &n);
		EXPECT(out != NULL && n == stored, "%s: channel %u output %u frames, ring %u", what, c, n, stored);
		int res = ghostrec_ring_read(fx->ring, 0, c, before.write_frame, ring, stored);
		EXPECT(res == GHOSTREC_RING_OK, "%s: ring read %s", what, ghostrec_ring_result_str(res));
		for (uint32_t i = 0; out && i < n && i < stored; i++) {
			float want = expect_in(fx, frame0, c, i, cy);
			if (out[i] != want || ring[i] != want) {
				printf("FAIL: %s: channel %u frame %u: out %g ring %g want %g\n", what, c, i,
				       (double)out[i], (double)ring[i], (double)want);
				failures++;
				break;
			}
		}
	}
}

static float normal_input(struct fixture *fx, uint64_t frame0, uint32_t c, uint32_t i,
			  const struct tap_cycle *cy)
{
	if (cy->missing_mask & (1u << c))
		return 0.0f;
	if (cy->short_chunk[c] && i >= cy->short_chunk[c])
		return 0.0f;
	return tap_harness_signal(frame0 + i, c);
}

static float peer_input(struct fixture *fx, uint64_t frame0, uint32_t c, uint32_t i,
			const struct tap_cycle *cy)
{
	return -tap_harness_signal(frame0 + i, c);
}

static void test_quanta_and_edges(void)
{
	struct fixture fx;
	fixture_init(&fx, "1");
	static const uint32_t quanta[] = { 16, 32, 64, 128, 256, 1024, 2048, 8192, 48, 100 };
	for (size_t q = 0; q < sizeof(quanta) / sizeof(quanta[0]); q++) {
		struct tap_cycle cy = { .duration = quanta[q] };
		char what[64];
		snprintf(what, sizeof(what), "quantum %u", quanta[q]);
		for (int k = 0; k < 3; k++)
			cycle_and_check(&fx, &cy, what, normal_input);
	}
	struct ghostrec_ring_counter_values v = counters(&fx);
	EXPECT(v.xruns == 0 && v.overruns == 0 && v.cycles == 30, "normal cycles: xruns %lu overruns %lu cycles %lu",
	       (unsigned long)v.xruns, (unsigned long)v.overruns, (unsigned long)v.cycles);

	struct tap_cycle short_chunk = { .duration = 256 };
	short_chunk.short_chunk[1] = 100;
	cycle_and_check(&fx, &short_chunk, "short chunk on channel 1", normal_input);
	v = counters(&fx);
	EXPECT(v.xruns == 1, "short chunk not counted");

	struct tap_cycle missing = { .duration = 256, .missing_mask = 1 };
	cycle_and_check(&fx, &missing, "channel 0 without input", normal_input);

	struct tap_cycle unconsumed = { .duration = 256, .unconsumed_mask = 3 };
	cycle_and_check(&fx, &unconsumed, "outputs not consumed", normal_input);
	v = counters(&fx);
	EXPECT(v.overruns == 0, "an unconsumed output counted as overrun");

	struct tap_cycle jump = { .duration = 256, .position_jump = 512 };
	cycle_and_check(&fx, &jump, "clock jump", normal_input);
	v = counters(&fx);
	EXPECT(v.xruns == 2, "clock jump not counted (xruns %lu)", (unsigned long)v.xruns);

	/* Rate change: new generation in place, starting at the current write frame. */
	struct ghostrec_ring_info info;
	ghostrec_ring_reader_info(fx.ring, &info);
	uint64_t gen = info.generation, wf = info.write_frame;
	struct tap_cycle rate = { .duration = 256, .rate = 44100 };
	cycle_and_check(&fx, &rate, "rate change", normal_input);
	ghostrec_ring_reader_info(fx.ring, &info);
	EXPECT(info.generation == gen + 1 && info.rate == 44100 && info.gen_start_frame == wf,
	       "rate change: generation %lu rate %u start %lu", (unsigned long)info.generation, info.rate,
	       (unsigned long)info.gen_start_frame);
	float tmp[16];
	EXPECT(ghostrec_ring_read(fx.ring, info.generation, 0, wf - 16, tmp, 16) == GHOSTREC_RING_GENERATION,
	       "old generation frames readable as the new one");
	v = counters(&fx);
	EXPECT(v.format_changes == 1, "format change not counted");
	printf("ok: quanta 16..8192, short chunk, missing input, unconsumed output, clock jump, rate change\n");
	fixture_clear(&fx);
}

static void test_quantum_beyond_ring(void)
{
	struct fixture fx;
	fixture_init(&fx, "0.1"); /* 4800 frames */
	struct tap_cycle cy = { .duration = 8192 };
	uint64_t frame0 = fx.hs.frame;
	tap_harness_cycle(&fx.hs, &cy);
	struct ghostrec_ring_info info;
	ghostrec_ring_reader_info(fx.ring, &info);
	struct ghostrec_ring_counter_values v = counters(&fx);
	uint32_t n = 0;
	const float *out = tap_harness_output(&fx.hs, 0, &n);
	EXPECT(info.write_frame == 4800 && v.overruns == 1 && out && n == 4800 &&
	       out[4799] == tap_harness_signal(frame0 + 4799, 0),
	       "quantum 8192 on a 4800-frame ring: wrote %lu, overruns %lu, out %u",
	       (unsigned long)info.write_frame, (unsigned long)v.overruns, n);
	printf("ok: quantum larger than the ring is clamped and counted\n");
	fixture_clear(&fx);
}

/* A mixer in front of an input port may pass its own input through by copying that spa_buffer
 * over the port's (PipeWire's DSP mixer with one link does): the data, chunk and even the spa_data
 * array then belong to the peer. process() must read them afresh every cycle. */
static void test_input_passed_through(void)
{
	struct fixture fx;
	fixture_init(&fx, "1");
	struct tap_cycle cy = { .duration = 256 };
	cycle_and_check(&fx, &cy, "before the pass-through", normal_input);
	static float peer_data[CH][TAP_HARNESS_BUFFERS][TAP_HARNESS_BUFFER_FRAMES];
	struct spa_chunk peer_chunk[CH][TAP_HARNESS_BUFFERS];
	struct spa_data peer_datas[CH][TAP_HARNESS_BUFFERS];
	struct spa_data *own[CH][TAP_HARNESS_BUFFERS];
	for (uint32_t c = 0; c < CH; c++)
		for (int b = 0; b < TAP_HARNESS_BUFFERS; b++) {
			struct spa_buffer *buf = fx.hs.in_bufs[c][b];
			own[c][b] = buf->datas;
			peer_datas[c][b] = buf->datas[0];
			peer_datas[c][b].data = peer_data[c][b];
			peer_datas[c][b].chunk = &peer_chunk[c][b];
			buf->datas = &peer_datas[c][b];
		}
	/* The harness now writes the chunk into the peer's, the samples into the port's own
	 * memory: fill the peer's memory with what the node must see instead. */
	for (int k = 0; k < 4; k++) {
		uint32_t id = (uint32_t)(fx.hs.cycles % TAP_HARNESS_BUFFERS);
		for (uint32_t c = 0; c < CH; c++)
			for (uint32_t i = 0; i < cy.duration; i++)
				peer_data[c][id][i] = -tap_harness_signal(fx.hs.frame + i, c);
		cycle_and_check(&fx, &cy, "input passed through from the peer", peer_input);
	}
	for (uint32_t c = 0; c < CH; c++)
		for (int b = 0; b < TAP_HARNESS_BUFFERS; b++)
			fx.hs.in_bufs[c][b]->datas = own[c][b];
	cycle_and_check(&fx, &cy, "after the pass-through", normal_input);
	printf("ok: an input buffer replaced by the peer's is read from the peer\n");
	fixture_clear(&fx);
}

/* A marker requested over the control channel at quantum 32 spans 5 cycles; output == input
 * elsewhere, marker exactly at the table frame, ring pristine. */
static void test_marker_across_cycles(void)
{
	struct fixture fx;
	fixture_init(&fx, "1");
	char ep[300], buf[GHOSTREC_CTL_MAX_MSG];
	ghostrec_ctl_endpoint(ep, sizeof(ep), fx.name, "ctl");
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	int linger = 0, n = -1;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(s, ep);
	const char *req = "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":31337}";
	zmq_send(s, req, strlen(req), 0);
	const size_t cap = 1u << 20;
	float *out[CH], *in[CH];
	for (uint32_t c = 0; c < CH; c++) {
		out[c] = calloc(cap, sizeof(float));
		in[c] = calloc(cap, sizeof(float));
	}
	size_t got = 0;
	struct tap_cycle cy = { .duration = 32 };
	/* Cycles paced at ~0.1 ms while the main loop services the request. */
	for (int i = 0; i < 30000 && got + 32 <= cap && (n < 0 || i % 64 != 0); i++) {
		spa_loop_control_iterate(env.main_ctrl, 0);
		if (n < 0)
			n = zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT);
		uint64_t frame0 = fx.hs.frame;
		tap_harness_cycle(&fx.hs, &cy);
		for (uint32_t c = 0; c < CH; c++) {
			uint32_t len;
			const float *o = tap_harness_output(&fx.hs, c, &len);
			memcpy(out[c] + got, o, 32 * sizeof(float));
			for (uint32_t k = 0; k < 32; k++)
				in[c][got + k] = tap_harness_signal(frame0 + k, c);
		}
		got += 32;
		usleep(100);
	}
	struct ghostrec_ctl_msg m;
	const char *code;
	char err[200];
	EXPECT(n > 0 && ghostrec_ctl_parse(buf, (size_t)n, &m, &code, err, sizeof(err)) == 0 && m.ok &&
	       m.take_id == 31337, "mark reply");
	uint64_t at = m.frame; /* ring frames == captured frames here (both start at 0) */
	for (uint32_t c = 0; c < CH; c++) {
		struct ghostrec_marker_match match;
		EXPECT(at + GHOSTREC_MARKER_FRAMES <= got &&
		       ghostrec_marker_decode_at(out[c] + at, GHOSTREC_MARKER_FRAMES, 1,
						 ghostrec_marker_tolerance(32), &match) &&
		       match.marker.take_id == 31337 && match.marker.channel == c,
		       "marker not at frame %lu on channel %u", (unsigned long)at, c);
		float ring[GHOSTREC_MARKER_FRAMES];
		EXPECT(ghostrec_ring_read(fx.ring, 0, c, at, ring, GHOSTREC_MARKER_FRAMES) == GHOSTREC_RING_OK &&
		       memcmp(ring, in[c] + at, sizeof(ring)) == 0, "ring under the marker not pristine");
		memcpy(out[c] + at, in[c] + at, GHOSTREC_MARKER_FRAMES * sizeof(float));
		EXPECT(memcmp(out[c], in[c], got * sizeof(float)) == 0, "output differs outside the marker");
	}
	printf("ok: marker at quantum 32 spans %u cycles, at frame %lu\n",
	       (GHOSTREC_MARKER_FRAMES + 31) / 32, (unsigned long)at);
	for (uint32_t c = 0; c < CH; c++) {
		free(out[c]);
		free(in[c]);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	fixture_clear(&fx);
}

int main(int argc, char **argv)
{
	char rundir[] = "/tmp/process-test-XXXXXX";
	plugin = spa_env_test_begin(&env, argc, argv, rundir);
	test_quanta_and_edges();
	test_quantum_beyond_ring();
	test_input_passed_through();
	test_marker_across_cycles();
	return spa_env_test_end(&env, rundir, failures);
}
