/* Plays a known 2-channel signal into a running ghostrec node, records its output in the same
 * graph, asks for a marker over the ZeroMQ control channel, then checks against the node's shm
 * ring:
 *   - the ring holds the played signal bit-exact (every frame of the run, contiguous),
 *   - the node's output equals its input sample for sample in the same cycle (added latency,
 *     measured from the graph positions, must be 0 frames),
 *   - the marker appears in the output exactly at the ring frame of the marker table entry,
 *     decodes to the requested take id and channel, and the ring there is still pristine.
 *
 * Two pw_filter nodes in this process: a player (out_FL/out_FR -> ghostrec:input_*) and a
 * recorder (ghostrec:output_* -> in_FL/in_FR), linked with pw-link. All three run in one graph
 * cycle, so the recorder sees the node's output of the cycle in which the player produced it.
 *
 * The signal: channel 0 at graph position p is ((p mod 2^22) + 1) / 2^23, channel 1 is
 * -(((p * 40503) mod 2^22) + 1) / 2^23: exact in float32, never 0, and channel 0 tells which
 * graph position a sample was played at.
 *
 * usage: tap-client NODE SECONDS TAKE_ID [freewheel|realtime]
 *   freewheel (default): the graph is driven by PipeWire's Freewheel-Driver, every cycle
 *   completes before the next starts; realtime: the Dummy-Driver's timer, where a slow machine
 *   produces xruns (reported as graph discontinuities).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipewire/filter.h>
#include <pipewire/pipewire.h>
#include <spa/pod/builder.h>
#include <zmq.h>

#include "common/control.h"
#include "common/marker.h"
#include "common/ring.h"

#define CHANNELS 2
#define RATE 48000
#define PATTERN_PERIOD (1u << 22)

static float pattern(uint64_t pos, uint32_t c)
{
	uint64_t k = c == 0 ? pos % PATTERN_PERIOD : (pos * 40503u) % PATTERN_PERIOD;
	float v = (float)(k + 1) / 8388608.0f;
	return c == 0 ? v : -v;
}

/* Graph position (mod 2^22) that channel 0 sample v was played at. */
static int64_t pattern_pos(float v)
{
	return (int64_t)lrint((double)v * 8388608.0) - 1;
}

/* Same for any channel (2586503 = 40503^-1 mod 2^22). */
static int64_t pattern_pos_ch(float v, uint32_t c)
{
	if (c == 0)
		return pattern_pos(v);
	uint64_t k = (uint64_t)(lrint(-(double)v * 8388608.0) - 1) % PATTERN_PERIOD;
	return (int64_t)((k * 2586503u) % PATTERN_PERIOD);
}

struct app {
	struct pw_main_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct pw_filter *player, *recorder;
	void *out_ports[CHANNELS], *in_ports[CHANNELS];
	const char *node;
	bool freewheel;
	double seconds;
	uint32_t take_id;

	/* filled by the recorder's process() */
	float *rec[CHANNELS];
	uint64_t *rec_pos;
	size_t cap;
	_Atomic size_t n_rec;
	_Atomic bool stop;
	_Atomic size_t first_valid; /* SIZE_MAX until the node's output carries the signal */
	_Atomic uint64_t player_cycles, recorder_cycles;

	_Atomic bool linked;
	pthread_t linker;
	/* The run's end is decided on the data thread, not by the main loop's tick: a freewheel
	 * graph runs many times faster than real time and would otherwise outrun the tick, the
	 * blocking mark request and the ring's capacity. */
	_Atomic bool marked;   /* the mark reply arrived (set by the main loop) */
	_Atomic bool done;     /* the recorder has the whole run */
	_Atomic bool release;  /* the checks are over: the held graph may go on */
	_Atomic uint64_t held_ring_frame;
	uint64_t mark_reply_frame;
	int failures;
};

static void player_process(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = (uint32_t)position->clock.duration;
	uint64_t pos = position->clock.position;
	/* Nothing is played (no buffer taken) until all links exist: a pw_filter output port that
	 * gets its link while the filter already hands out buffers can keep one queued from before
	 * and then deliver every cycle one quantum late (seen in about 1 of 10 runs on a loaded
	 * machine, always on the later-linked channel, identically in the ring and the output). */
	if (!atomic_load(&a->linked))
		return;
	for (uint32_t c = 0; c < CHANNELS; c++) {
		float *out = pw_filter_get_dsp_buffer(a->out_ports[c], n);
		if (out == NULL)
			continue;
		for (uint32_t i = 0; i < n; i++)
			out[i] = pattern(pos + i, c);
	}
	atomic_fetch_add(&a->player_cycles, 1);
}

static void recorder_process(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = (uint32_t)position->clock.duration;
	uint64_t pos = position->clock.position;
	size_t at = atomic_load(&a->n_rec);
	const float *in[CHANNELS];
	if (atomic_load(&a->stop))
		return; /* the run is over; what follows is teardown */
	if (atomic_load(&a->done)) {
		/* Freewheel: hold this cycle, and with it the whole graph (the Freewheel-Driver
		 * starts the next cycle only when this one completes), until the main thread has
		 * checked the node's ring: nothing is written into it meanwhile. This is a test
		 * client's data thread, not ghostrec's. */
		while (a->freewheel && !atomic_load(&a->release))
			usleep(1000);
		return;
	}
	for (uint32_t c = 0; c < CHANNELS; c++)
		in[c] = pw_filter_get_dsp_buffer(a->in_ports[c], n);
	if (at + n > a->cap || in[0] == NULL || in[1] == NULL)
		return;
	for (uint32_t c = 0; c < CHANNELS; c++)
		memcpy(a->rec[c] + at, in[c], n * sizeof(float));
	for (uint32_t i = 0; i < n; i++)
		a->rec_pos[at + i] = pos + i;
	if (atomic_load(&a->first_valid) == SIZE_MAX) {
		for (uint32_t i = 0; i < n; i++)
			if (in[0][i] != 0.0f && in[1][i] != 0.0f) { /* both links up */
				atomic_store(&a->first_valid, at + i);
				break;
			}
	}
	atomic_store(&a->n_rec, at + n);
	atomic_fetch_add(&a->recorder_cycles, 1);

	size_t first = atomic_load(&a->first_valid);
	if (first == SIZE_MAX)
		return;
	size_t valid = at + n - first;
	bool marked = atomic_load(&a->marked);
	if ((marked && valid >= (size_t)(RATE * a->seconds)) || at + 2 * n + 8192 > a->cap) {
		atomic_store(&a->done, true);
		return;
	}
	/* While the mark is due but not answered yet, a freewheel graph is paced to about twice
	 * real time, so the answer always comes well inside the recording and the ring. */
	if (a->freewheel && !marked && valid > (size_t)(RATE * a->seconds / 3))
		usleep((useconds_t)((uint64_t)n * 500000u / RATE));
}

static const struct pw_filter_events player_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = player_process,
};

static const struct pw_filter_events recorder_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = recorder_process,
};

static struct pw_filter *make_filter(struct app *a, const char *name,
				     const struct pw_filter_events *events, enum pw_direction dir,
				     void **ports)
{
	char latency[32];
	snprintf(latency, sizeof(latency), "%u/%u", 256, RATE);
	struct pw_filter *f = pw_filter_new_simple(pw_main_loop_get_loop(a->loop), name,
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter",
				  PW_KEY_MEDIA_ROLE, "Test", PW_KEY_NODE_ALWAYS_PROCESS, "true",
				  PW_KEY_NODE_NAME, name, NULL),
		events, a);
	if (a->freewheel) {
		/* Joins the Freewheel-Driver's group: cycles run back to back as fast as the graph
		 * completes them, so no cycle is ever missed (and 10 s of audio take less). */
		struct spa_dict_item item = SPA_DICT_ITEM_INIT(PW_KEY_NODE_GROUP, "pipewire.freewheel");
		pw_filter_update_properties(f, NULL, &SPA_DICT_INIT(&item, 1));
	}
	static const char *const chan[CHANNELS] = { "FL", "FR" };
	for (uint32_t c = 0; c < CHANNELS; c++) {
		char port_name[16];
		snprintf(port_name, sizeof(port_name), "%s_%s", dir == PW_DIRECTION_OUTPUT ? "out" : "in",
			 chan[c]);
		ports[c] = pw_filter_add_port(f, dir, PW_FILTER_PORT_FLAG_MAP_BUFFERS, 0,
			pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio",
					  PW_KEY_PORT_NAME, port_name, PW_KEY_AUDIO_CHANNEL, chan[c], NULL),
			NULL, 0);
	}
	if (pw_filter_connect(f, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
		fprintf(stderr, "cannot connect filter %s\n", name);
		exit(1);
	}
	return f;
}

/* Creates the four links, each until it exists (a retry after a partial failure must not
 * give up on the links that already exist). */
static bool link_ports(struct app *a, bool done[2 * CHANNELS])
{
	static const char *const chan[CHANNELS] = { "FL", "FR" };
	bool all = true;
	for (uint32_t i = 0; i < 2 * CHANNELS; i++) {
		if (done[i])
			continue;
		char cmd[512];
		const char *ch = chan[i % CHANNELS];
		if (i < CHANNELS)
			snprintf(cmd, sizeof(cmd), "timeout 10 pw-link ghostrec-test-player:out_%s %s:input_%s",
				 ch, a->node, ch);
		else
			snprintf(cmd, sizeof(cmd), "timeout 10 pw-link %s:output_%s ghostrec-test-recorder:in_%s",
				 a->node, ch, ch);
		strcat(cmd, " >/dev/null 2>&1");
		done[i] = system(cmd) == 0;
		all = all && done[i];
	}
	return all;
}

/* Sends one request on a fresh REQ socket and waits up to timeout_ms for the reply. */
static int control_request(const char *node, const char *request, struct ghostrec_ctl_msg *reply,
			   int timeout_ms)
{
	char ep[300];
	if (ghostrec_ctl_endpoint(ep, sizeof(ep), node, "ctl") < 0)
		return -1;
	void *ctx = zmq_ctx_new();
	void *req = zmq_socket(ctx, ZMQ_REQ);
	int linger = 0, res = -1;
	zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
	if (zmq_connect(req, ep) == 0 && zmq_send(req, request, strlen(request), 0) >= 0) {
		char buf[GHOSTREC_CTL_MAX_MSG];
		int n = zmq_recv(req, buf, sizeof(buf), 0);
		const char *code;
		char err[200];
		if (n > 0 && ghostrec_ctl_parse(buf, (size_t)n, reply, &code, err, sizeof(err)) == 0)
			res = 0;
		else
			fprintf(stderr, "control: no valid reply (%s)\n", n > 0 ? err : zmq_strerror(errno));
	}
	zmq_close(req);
	zmq_ctx_term(ctx);
	return res;
}

/* pw-link waits for the link to negotiate, which needs this process's main loop to answer:
 * so it runs on its own thread. */
static void *link_thread(void *data)
{
	struct app *a = data;
	bool done[2 * CHANNELS] = { false };
	int i;
	for (i = 0; i < 100 && !link_ports(a, done); i++)
		usleep(100 * 1000);
	if (i == 100)
		printf("FAIL: could not link the test nodes to %s\n", a->node);
	atomic_store(&a->linked, true);
	return NULL;
}

static void on_tick(void *data, uint64_t expirations)
{
	struct app *a = data;
	if (!atomic_load(&a->linked))
		return;
	size_t first = atomic_load(&a->first_valid);
	size_t n = atomic_load(&a->n_rec);
	if (first == SIZE_MAX)
		return;
	size_t valid = n - first;
	if (!atomic_load(&a->marked) && valid > (size_t)(RATE * a->seconds / 3)) {
		char req[128];
		struct ghostrec_ctl_msg rep;
		snprintf(req, sizeof(req), "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":%u,\"seq\":9}",
			 a->take_id);
		if (control_request(a->node, req, &rep, 5000) < 0 || !rep.ok ||
		    rep.kind != GHOSTREC_CTL_MARK || rep.take_id != a->take_id || rep.seq != 9 ||
		    !(rep.has & GHOSTREC_CTL_F_FRAME)) {
			fprintf(stderr, "FAIL: mark request: %s %s\n", rep.error, rep.message);
			a->failures++;
			pw_main_loop_quit(a->loop);
			return;
		}
		a->mark_reply_frame = rep.frame;
		atomic_store(&a->marked, true);
		printf("mark reply: take_id=%u frame=%lu channels=%u\n", rep.take_id,
		       (unsigned long)rep.frame, rep.n_marker_channels);
	}
	if (atomic_load(&a->done))
		pw_main_loop_quit(a->loop);
}

static void on_deadline(void *data, uint64_t expirations)
{
	struct app *a = data;
	printf("wall-time limit reached\n");
	atomic_store(&a->stop, true);
	pw_main_loop_quit(a->loop);
}

#define EXPECT(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	a->failures++; } } while (0)

static void check_output(struct app *a, size_t *marker_index, uint32_t *marker_channels)
{
	size_t first = atomic_load(&a->first_valid), n = atomic_load(&a->n_rec);
	/* Latency from graph positions, per channel: the recorder got, at position p, what was
	 * played at p - L. */
	for (uint32_t c = 0; c < CHANNELS; c++) {
		int64_t played = pattern_pos_ch(a->rec[c][first], c);
		int64_t latency = ((int64_t)(a->rec_pos[first] % PATTERN_PERIOD) - played +
				   PATTERN_PERIOD) % PATTERN_PERIOD;
		printf("added latency channel %u: %ld frames\n", c, (long)latency);
		EXPECT(latency == 0, "output channel %u is %ld frames late", c, (long)latency);
	}

	/* The marker, on each marked output channel. */
	*marker_index = SIZE_MAX;
	*marker_channels = 0;
	for (uint32_t c = 0; c < CHANNELS; c++) {
		struct ghostrec_marker_match m;
		if (!ghostrec_marker_find(a->rec[c] + first, n - first, 1, ghostrec_marker_tolerance(32), &m)) {
			EXPECT(0, "no marker found on output channel %u", c);
			continue;
		}
		size_t at = first + m.frame;
		EXPECT(m.marker.take_id == a->take_id && m.marker.channel == c,
		       "marker on channel %u decodes to take_id=%u channel=%u", c, m.marker.take_id,
		       m.marker.channel);
		EXPECT(m.amplitude == GHOSTREC_MARKER_DEFAULT_AMPLITUDE, "marker amplitude %g",
		       (double)m.amplitude);
		if (*marker_index == SIZE_MAX)
			*marker_index = at;
		EXPECT(at == *marker_index, "marker on channel %u at a different frame", c);
		*marker_channels |= 1u << c;
		/* Exactly the rendered symbols, nothing else. */
		int8_t sym[GHOSTREC_MARKER_FRAMES];
		float expect[GHOSTREC_MARKER_FRAMES];
		struct ghostrec_marker mk = { a->take_id, (uint8_t)c };
		ghostrec_marker_symbols(&mk, sym);
		ghostrec_marker_render(sym, GHOSTREC_MARKER_DEFAULT_AMPLITUDE, 0, expect, GHOSTREC_MARKER_FRAMES);
		EXPECT(at + GHOSTREC_MARKER_FRAMES <= n &&
		       memcmp(expect, a->rec[c] + at, sizeof(expect)) == 0,
		       "marker samples on channel %u differ from the rendered marker", c);
	}

	/* Outside the marker: output == input, sample for sample, in the same cycle. */
	size_t checked = 0, mismatches = 0, gaps = 0;
	for (size_t i = first; i < n; i++) {
		if (i > first && a->rec_pos[i] != a->rec_pos[i - 1] + 1)
			gaps++;
		if (*marker_index != SIZE_MAX && i >= *marker_index &&
		    i < *marker_index + GHOSTREC_MARKER_FRAMES)
			continue;
		for (uint32_t c = 0; c < CHANNELS; c++) {
			if (a->rec[c][i] != pattern(a->rec_pos[i], c)) {
				if (mismatches < 5)
					printf("output mismatch at position %lu ch %u: %a != %a\n",
					       (unsigned long)a->rec_pos[i], c, (double)a->rec[c][i],
					       (double)pattern(a->rec_pos[i], c));
				mismatches++;
			}
		}
		checked++;
	}
	printf("output: %zu frames (%.2f s) checked, %zu mismatching samples, %zu graph discontinuities\n",
	       checked, (double)checked / RATE, mismatches, gaps);
	EXPECT(mismatches == 0, "output differs from input");
	EXPECT(checked >= (size_t)(RATE * a->seconds) - GHOSTREC_MARKER_FRAMES,
	       "only %zu frames of output", checked);
}

static void check_ring(struct app *a, size_t marker_index, uint32_t marker_channels)
{
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	if (ghostrec_ring_reader_open(&r, a->node) < 0 || ghostrec_ring_reader_info(r, &info) < 0) {
		EXPECT(0, "cannot open the ring of %s", a->node);
		return;
	}
	printf("ring: %s rate=%u channels=%u capacity=%lu generation=%lu write_frame=%lu oldest=%lu\n",
	       info.shm_name, info.rate, info.channels, (unsigned long)info.capacity,
	       (unsigned long)info.generation, (unsigned long)info.write_frame,
	       (unsigned long)info.oldest_frame);

	/* Copy everything still in the ring. */
	uint64_t start = info.oldest_frame, len = info.write_frame - start;
	float *ring[CHANNELS];
	for (uint32_t c = 0; c < CHANNELS; c++)
		ring[c] = calloc(len ? len : 1, sizeof(float));
	int res = ghostrec_ring_read_frames(r, info.generation, start, ring, (uint32_t)len);
	EXPECT(res == GHOSTREC_RING_OK, "ring read: %s", ghostrec_ring_result_str(res));

	/* Align the ring with the recording through the marker: table frame F is where the output
	 * carried the marker (checked below), and the node stores one frame per graph frame, as
	 * the recorder does. Then every frame of the run must be exactly what the player played at
	 * that graph position. Graph discontinuities (xruns) are followed, not papered over. */
	size_t first = atomic_load(&a->first_valid), n = atomic_load(&a->n_rec);
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	uint64_t total;
	size_t nm = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, &total);
	uint64_t table_frame = UINT64_MAX;
	for (size_t i = 0; i < nm; i++)
		if (mk[i].take_id == a->take_id)
			table_frame = mk[i].frame;
	size_t bad = 0, checked = 0;
	if (table_frame == UINT64_MAX || marker_index == SIZE_MAX) {
		EXPECT(0, "no usable marker table entry for take %u", a->take_id);
	} else {
		/* Recording index i is ring frame table_frame + (i - marker_index). The ring may no
		 * longer hold the run's first frames (a long freewheel run wraps it); it must hold
		 * at least SECONDS of the run up to its end, which is checked below. */
		for (size_t i = first; i < n; i++) {
			int64_t rf = (int64_t)table_frame + ((int64_t)i - (int64_t)marker_index);
			if (rf < (int64_t)start || rf >= (int64_t)(start + len))
				continue;
			for (uint32_t c = 0; c < CHANNELS; c++)
				if (ring[c][rf - (int64_t)start] != pattern(a->rec_pos[i], c)) {
					if (bad < 5)
						printf("ring mismatch at frame %ld ch %u\n", (long)rf, c);
					bad++;
				}
			checked++;
		}
	}
	printf("ring: %zu frames (%.2f s) of the run compared, %zu samples differ\n", checked,
	       (double)checked / RATE, bad);
	EXPECT(bad == 0, "ring is not bit-exact");
	EXPECT(checked >= (size_t)(RATE * a->seconds), "ring holds only %zu frames of the run", checked);
	int64_t k = table_frame != UINT64_MAX ?
		(pattern_pos(ring[0][table_frame - start]) - (int64_t)(table_frame % PATTERN_PERIOD) +
		 PATTERN_PERIOD) % PATTERN_PERIOD : 0;

	/* Marker table vs output. */
	uint32_t table_channels = 0;
	for (size_t i = 0; i < nm; i++) {
		if (mk[i].take_id != a->take_id)
			continue;
		table_channels |= 1u << mk[i].channel;
		EXPECT(mk[i].frame == a->mark_reply_frame, "table frame %lu != reply frame %lu",
		       (unsigned long)mk[i].frame, (unsigned long)a->mark_reply_frame);
		if (marker_index == SIZE_MAX || mk[i].frame < start ||
		    mk[i].frame + GHOSTREC_MARKER_FRAMES > start + len) {
			EXPECT(0, "marker table frame %lu outside the recorded signal", (unsigned long)mk[i].frame);
			continue;
		}
		/* The graph position of that ring frame is where the output must carry the marker. */
		uint64_t ring_pos = (mk[i].frame + (uint64_t)k) % PATTERN_PERIOD;
		uint64_t out_pos = a->rec_pos[marker_index] % PATTERN_PERIOD;
		printf("marker take_id=%u channel=%u: table frame %lu = graph position %lu; found in the "
		       "output at graph position %lu\n", mk[i].take_id, mk[i].channel,
		       (unsigned long)mk[i].frame, (unsigned long)ring_pos, (unsigned long)out_pos);
		EXPECT(ring_pos == out_pos, "marker is %ld frames off the table entry",
		       (long)out_pos - (long)ring_pos);
		/* Pristine ring under the marker. */
		uint64_t fi = mk[i].frame - start;
		for (uint32_t j = 0; j < GHOSTREC_MARKER_FRAMES; j++)
			EXPECT(ring[mk[i].channel][fi + j] == pattern(mk[i].frame + (uint64_t)k + j, mk[i].channel),
			       "ring under the marker is not the input");
	}
	EXPECT(table_channels == marker_channels && table_channels == (1u << CHANNELS) - 1,
	       "marker table channels 0x%x, output channels 0x%x", table_channels, marker_channels);

	struct ghostrec_ring_counter_values v;
	ghostrec_ring_reader_counters(r, &v);
	printf("counters: cycles=%lu xruns=%lu overruns=%lu max_process_ns=%lu markers=%lu quantum=%lu\n",
	       (unsigned long)v.cycles, (unsigned long)v.xruns, (unsigned long)v.overruns,
	       (unsigned long)v.max_process_ns, (unsigned long)v.markers, (unsigned long)v.last_quantum);
	EXPECT(v.markers >= 1 && v.cycles > 0, "counters not updated");
	for (uint32_t c = 0; c < CHANNELS; c++)
		free(ring[c]);
	ghostrec_ring_reader_close(r);
}

static uint64_t ring_write_frame(const char *node)
{
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	uint64_t frame = 0;
	if (ghostrec_ring_reader_open(&r, node) < 0)
		return 0;
	if (ghostrec_ring_reader_info(r, &info) == 0)
		frame = info.write_frame;
	ghostrec_ring_reader_close(r);
	return frame;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s NODE SECONDS TAKE_ID [freewheel|realtime]\n", argv[0]);
		return 2;
	}
	struct app app = { 0 }, *a = &app;
	setvbuf(stdout, NULL, _IOLBF, 0);
	a->node = argv[1];
	a->seconds = atof(argv[2]);
	a->take_id = (uint32_t)strtoul(argv[3], NULL, 10);
	a->freewheel = argc < 5 || strcmp(argv[4], "realtime") != 0;
	a->cap = (size_t)(RATE * (a->seconds + 60));
	for (uint32_t c = 0; c < CHANNELS; c++)
		a->rec[c] = calloc(a->cap, sizeof(float));
	a->rec_pos = calloc(a->cap, sizeof(uint64_t));
	atomic_store(&a->first_valid, SIZE_MAX);

	pw_init(&argc, &argv);
	a->loop = pw_main_loop_new(NULL);
	a->player = make_filter(a, "ghostrec-test-player", &player_events, PW_DIRECTION_OUTPUT,
				a->out_ports);
	a->recorder = make_filter(a, "ghostrec-test-recorder", &recorder_events, PW_DIRECTION_INPUT,
				  a->in_ports);
	struct spa_source *tick = pw_loop_add_timer(pw_main_loop_get_loop(a->loop), on_tick, a);
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	pw_loop_update_timer(pw_main_loop_get_loop(a->loop), tick, &ts, &ts, false);
	/* Hard limit on the wall time. */
	struct timespec limit = { (time_t)(a->seconds * 2 + 20), 0 };
	struct spa_source *deadline = pw_loop_add_timer(pw_main_loop_get_loop(a->loop), on_deadline, a);
	pw_loop_update_timer(pw_main_loop_get_loop(a->loop), deadline, &limit, NULL, false);

	pthread_create(&a->linker, NULL, link_thread, a);
	pw_main_loop_run(a->loop);
	pthread_join(a->linker, NULL);

	/* The checks run while a freewheel graph is held by the recorder (see recorder_process),
	 * so the ring cannot move under them; that it did not is checked too. */
	size_t first = atomic_load(&a->first_valid);
	bool held = a->freewheel && atomic_load(&a->done);
	uint64_t ring_before = ring_write_frame(a->node);
	printf("player cycles %lu, recorder cycles %lu, frames recorded %zu\n",
	       (unsigned long)atomic_load(&a->player_cycles),
	       (unsigned long)atomic_load(&a->recorder_cycles), atomic_load(&a->n_rec));
	if (first == SIZE_MAX || !atomic_load(&a->marked)) {
		printf("FAIL: %s\n", first == SIZE_MAX ? "the signal never came back through the node" :
		       "no marker was requested");
		a->failures++;
	} else {
		size_t marker_index;
		uint32_t marker_channels;
		check_output(a, &marker_index, &marker_channels);
		check_ring(a, marker_index, marker_channels);
	}
	if (held)
		EXPECT(ring_write_frame(a->node) == ring_before,
		       "the ring moved while the graph was held (%lu -> %lu)",
		       (unsigned long)ring_before, (unsigned long)ring_write_frame(a->node));

	atomic_store(&a->release, true);
	atomic_store(&a->stop, true);
	pw_filter_destroy(a->recorder);
	pw_filter_destroy(a->player);
	pw_loop_destroy_source(pw_main_loop_get_loop(a->loop), tick);
	pw_loop_destroy_source(pw_main_loop_get_loop(a->loop), deadline);

	pw_main_loop_destroy(a->loop);
	pw_deinit();
	for (uint32_t c = 0; c < CHANNELS; c++)
		free(a->rec[c]);
	free(a->rec_pos);
	printf("%s\n", a->failures ? "FAILED" : "PASSED");
	return a->failures ? 1 : 0;
}
