/* PWAR relay emulator: the "network + Windows + REAPER" half of the chain, for tests.
 *
 * PWAR (ripxorip/PWAR, master fdfeefb), as reproduced here:
 *   - Linux side: a pw_filter node `pwar` with ONE input port `input`; every graph cycle (one
 *     quantum, at most 128 frames) goes out as one UDP packet of float32 samples with a
 *     running sequence number. Windows gets one channel: the first one linked into `pwar`.
 *   - Network: seeded loss, reordering and duplicates, and PWAR's own RT thread missing a
 *     cycle (netsim.c).
 *   - Windows side: PWAR's router assembles an ASIO block from block/quantum packets and calls
 *     bufferSwitch when it is complete (pwar-router.c has the rules and their consequences),
 *     or, as v0.1 and PR #4 do, once per packet (--mode pwar-per-packet). A quantum above 128
 *     is refused by the router: REAPER records nothing.
 *   - REAPER records the delivered blocks into a WAV (16/24-bit or float) and sends OSC
 *     /record 1.0 when recording starts and /record 0.0 when it stops (plus /time floods).
 * Other relays, not PWAR (clearly not what PWAR does; kept to test the conform against
 * their damage): --mode other-silence plays a silent block for an incomplete one (timeline
 * kept), --mode other-insert plays a silent block before a late one (take grows); both on a
 * fixed block grid, loss only, and they can carry two channels (--stereo).
 *
 * Here: one process with two pw_filter nodes, a deterministic signal source
 * (ghostrec-emu-source:out_* -> NODE:input_*) and the relay (NODE:output_<K> -> pwar:input,
 * or NODE:output_* -> ghostrec-emu-relay:in_* for the other relays), linked with pw-link.
 * The relay sends one packet per quantum to a loopback UDP socket; a receiver thread plays
 * the network and the Windows side. Damage is decided per packet from a seed (deterministic)
 * between `--loss-after` seconds into the take (never before the sync marker has come through
 * whole, however late the mark) and half a second before its end.
 *
 * Writes into --out DIR:
 *   take.wav     the "REAPER take"
 *   stream.wav   every frame the relay carried, from its first packet (float32, what was sent)
 *   take-map.bin per take frame, int64 little-endian: index into stream.wav, -1 = not from it
 *   stream-cycles.bin per relayed packet (one graph cycle of the relay), int64 little-endian:
 *                the index into stream.wav of its first frame
 *   events.txt   the other relays' silence: "replaced <take_frame> <frames>" lines
 *   network.txt  what the network did to which packet
 *
 * usage: relay-emu --node NAME --osc-port PORT --out DIR
 *          [--mode pwar|pwar-per-packet|other-silence|other-insert] [--asio-block N]
 *          [--loss P] [--reorder P] [--reorder-depth K] [--duplicate P] [--dup-delay K]
 *          [--miss P] [--spacing K] [--seed N] [--seconds S] [--loss-after S] [--format pcm16|pcm24|float32]
 *          [--take-channel K | --stereo] [--relay-name NAME] [--warmup S] [--linger S]
 *          [--lose-marker] [--no-osc] [--relay-miss-at-marker K]
 * --relay-miss-at-marker K: the relay (PWAR's Linux side) misses one graph cycle at the sync
 * marker, as it does under load: K = 0 the marker's first cycle, 1 its second (a marker is longer
 * than a quantum of 128 or less), -1 the cycle right before it. The network's damage starts half
 * a second of relayed audio after that cycle.
 * --no-osc: REAPER's OSC never reaches anyone (nothing is sent; --osc-port is not needed): the
 * take starts after the warm-up all the same, and no marker is ever asked for.
 * Exit status: 0 a take was recorded, 3 PWAR's router refused the packets (nothing arrived),
 * 1 other failures, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <lo/lo.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pipewire/filter.h>
#include <pipewire/pipewire.h>

#include "common/marker.h"
#include "netsim.h"
#include "pwar-router.h"

#define MAX_CH 2
#define MAX_QUANTUM 8192
#define PACKET_MAGIC 0x52415750u /* "PWAR" */

enum mode { MODE_PWAR, MODE_PWAR_PER_PACKET, MODE_OTHER_SILENCE, MODE_OTHER_INSERT };

static const char *const mode_names[] = {"pwar", "pwar-per-packet", "other-silence", "other-insert"};

#define IS_PWAR(m) ((m) == MODE_PWAR || (m) == MODE_PWAR_PER_PACKET)

struct packet_header {
	uint32_t magic;
	uint32_t channels;
	uint32_t n_samples;
	uint32_t flags;
	uint64_t seq;
	uint64_t frame;     /* relay's running frame count of the first sample */
};

struct opts {
	const char *node;
	const char *out_dir;
	const char *relay_name;
	int osc_port;
	enum mode mode;
	int asio_block;
	double loss, reorder, duplicate, miss;
	int reorder_depth, dup_delay;
	int spacing;
	uint32_t seed;
	double seconds;
	double loss_after;
	double warmup;
	double linger;
	int format;
	int take_channel;   /* -1 = stereo take */
	int lose_marker;    /* lose the packet that carries the sync marker */
	int no_osc;         /* send no OSC at all */
	int miss_at_marker; /* the relay misses this cycle counted from the marker's first (-1: before) */
	int miss_marker_set;
};

struct app {
	struct opts o;
	struct pw_main_loop *loop;
	struct pw_context *context;
	struct pw_filter *source, *relay;
	void *src_ports[MAX_CH];
	void *in_ports[MAX_CH];
	int n_in_ports;
	struct spa_source *timer;
	_Atomic int linked;
	pthread_t link_thread;
	int send_channels;

	/* RT side */
	uint64_t src_frame;
	uint64_t src_cycles, src_missing;
	uint32_t rng;
	uint64_t seq;
	uint64_t relay_frame;
	int marker_lost;
	/* --relay-miss-at-marker */
	int64_t cycles_since_marker; /* -1 until the marker's first cycle came through */
	int missed_at_marker;
	_Atomic uint64_t missed_frame; /* relay frame where the missed cycle would have gone, + 1 */
	uint32_t held_len;           /* -1: the packet of the cycle before, sent one cycle late */
	unsigned char held[sizeof(struct packet_header) + MAX_QUANTUM * MAX_CH * sizeof(float)];
	int udp_out;
	struct sockaddr_in dest;
	_Atomic uint64_t sent_frames;
	_Atomic uint32_t quantum;

	/* receiver: network + Windows */
	int udp_in;
	pthread_t rx_thread;
	_Atomic int rx_quit;
	_Atomic int record_request;  /* 1 start, 2 stop */
	_Atomic int recording;       /* 0 idle, 1 recording, 2 done */
	_Atomic uint64_t rx_frames;
	_Atomic uint64_t rec_frames;  /* stream frames since record start */
	uint64_t real_losses;
	int have_next;
	uint64_t next_frame;         /* next relay frame expected from loopback */
	int have_stream;
	uint64_t stream_base;        /* relay frame of stream.wav's first frame */
	uint64_t req_frame;          /* relay frame when REAPER started recording */
	int marker_seen;             /* the take's sync marker has come through whole */
	uint64_t marker_end;         /* relay frame after the packet that completed it */
	struct netsim net;
	struct pwar_model *pwar;
	int last_refusal;
	uint64_t refused_seen;

	/* the other relays' fixed block grid */
	int have_base;
	uint64_t base, grid_next;
	float *block;                /* asio_block * send_channels */
	int64_t *block_pos;
	int block_incomplete;
	int block_late;
	uint64_t silence_at, silence_frames;  /* the run of silent blocks being logged */

	/* REAPER */
	float *stream;
	uint64_t stream_len, stream_cap;
	int64_t *cycles; /* stream index of every packet's first frame */
	uint64_t n_cycles, cycles_cap;
	float *take;
	int64_t *map;
	uint64_t take_len, take_cap;
	FILE *events;
	FILE *network;

	lo_address osc;
	double last_time_osc;
	int done_ticks;
	long ticks;
	int timed_out;
};
/* ---- source: a deterministic, never-repeating signal ---- */

static float source_sample(struct app *a, uint64_t f, int c)
{
	a->rng ^= a->rng << 13;
	a->rng ^= a->rng >> 17;
	a->rng ^= a->rng << 5;
	double noise = (double)(a->rng >> 8) / 16777216.0 * 2.0 - 1.0;
	double t = (double)f / 48000.0;
	return (float)(0.3 * sin(2 * M_PI * (220.0 + 110.0 * c) * t) + 0.2 * sin(2 * M_PI * 331.0 * t * (1 + 0.001 * t)) +
		       0.3 * noise);
}

static void source_process(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = position ? (uint32_t)position->clock.duration : 256;
	if (n > MAX_QUANTUM)
		n = MAX_QUANTUM;
	float *out[MAX_CH];
	for (int c = 0; c < MAX_CH; c++) {
		out[c] = pw_filter_get_dsp_buffer(a->src_ports[c], n);
		if (!out[c])
			a->src_missing++;
	}
	a->src_cycles++;
	for (uint32_t i = 0; i < n; i++) {
		for (int c = 0; c < MAX_CH; c++) {
			float v = source_sample(a, a->src_frame, c);
			if (out[c])
				out[c][i] = v;
		}
		a->src_frame++;
	}
}

/* ---- relay, Linux side: one packet per quantum ---- */

/* Do the first samples of x hold the marker's preamble? (The node starts a marker at a cycle's
 * start.) */
static int marker_starts_here(const float *x, uint32_t n)
{
	if (!x || n < GHOSTREC_MARKER_PREAMBLE_FRAMES)
		return 0;
	float a = 0.0f;
	for (uint32_t i = 0; i < GHOSTREC_MARKER_PREAMBLE_FRAMES && a == 0.0f; i++)
		a = fabsf(x[i]);
	if (a < GHOSTREC_MARKER_MIN_AMPLITUDE)
		return 0;
	for (uint32_t i = 0; i < GHOSTREC_MARKER_PREAMBLE_FRAMES; i++)
		if (x[i] != a * (float)ghostrec_marker_preamble[i])
			return 0;
	return 1;
}

/* --relay-miss-at-marker: is this the cycle to miss? (-1: the packet held back from the cycle
 * before is the one.) */
static int miss_this_cycle(struct app *a, const float *sent)
{
	if (!a->o.miss_marker_set || a->missed_at_marker)
		return 0;
	if (a->cycles_since_marker < 0 && marker_starts_here(sent, GHOSTREC_MARKER_PREAMBLE_FRAMES))
		a->cycles_since_marker = 0;
	else if (a->cycles_since_marker >= 0)
		a->cycles_since_marker++;
	int k = a->o.miss_at_marker < 0 ? 0 : a->o.miss_at_marker;
	if (a->cycles_since_marker != k)
		return 0;
	a->missed_at_marker = 1;
	atomic_store(&a->missed_frame, a->relay_frame + 1);
	return 1;
}

static void relay_process(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = position ? (uint32_t)position->clock.duration : 256;
	if (n > MAX_QUANTUM)
		n = MAX_QUANTUM;
	static unsigned char buf[sizeof(struct packet_header) + MAX_QUANTUM * MAX_CH * sizeof(float)];
	struct packet_header *h = (struct packet_header *)buf;
	float *s = (float *)(buf + sizeof(*h));
	const float *in[MAX_CH] = {NULL, NULL};
	for (int c = 0; c < a->n_in_ports; c++)
		in[c] = pw_filter_get_dsp_buffer(a->in_ports[c], n);
	/* PWAR: one input port, whatever is linked to it. The other relays: both channels in,
	 * the take channel (or both) sent. */
	int first = a->n_in_ports == 1 || a->o.take_channel < 0 ? 0 : a->o.take_channel;
	atomic_store_explicit(&a->quantum, n, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		for (int k = 0; k < a->send_channels; k++)
			s[i * a->send_channels + k] = in[first + k] ? in[first + k][i] : 0.0f;
	h->magic = PACKET_MAGIC;
	h->channels = (uint32_t)a->send_channels;
	h->n_samples = n;
	h->flags = 0;
	size_t len = sizeof(*h) + n * a->send_channels * sizeof(float);
	int miss = miss_this_cycle(a, s);
	if (a->o.miss_marker_set && a->o.miss_at_marker < 0) {
		/* one cycle late (this packet is held, the one held is sent): the cycle before the
		 * marker's first is the one missed */
		uint32_t send_len = a->held_len;
		for (size_t i = 0; i < SPA_MAX(len, (size_t)send_len); i++) {
			unsigned char c = buf[i];
			buf[i] = a->held[i];
			a->held[i] = c;
		}
		a->held_len = (uint32_t)len;
		if (!send_len || miss)
			return;
		len = send_len;
	} else if (miss) {
		return;
	}
	h->seq = a->seq++;
	/* A running count of what was relayed. Graph hiccups (a cycle the relay or the node
	 * missed) are not visible here; relay-check finds them by locating the relayed audio in
	 * the clean file. */
	h->frame = a->relay_frame;
	a->relay_frame += h->n_samples;
	sendto(a->udp_out, buf, len, MSG_DONTWAIT, (struct sockaddr *)&a->dest, sizeof(a->dest));
	atomic_store(&a->sent_frames, a->relay_frame);
}

static void *grow(void *p, uint64_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	uint64_t c = *cap ? *cap : 65536;
	while (c < need)
		c *= 2;
	void *q = realloc(p, c * elem);
	if (!q) {
		fprintf(stderr, "relay-emu: out of memory\n");
		exit(1);
	}
	*cap = c;
	return q;
}

/* ---- REAPER: records what bufferSwitch hands it ---- */

/* n frames (NULL samples = zeros), with the relay frame of each (-1: not relayed audio). */
static void reaper_block(struct app *a, const float *samples, const int64_t *pos, uint32_t n)
{
	/* REAPER records from the first bufferSwitch after it started recording. */
	if (atomic_load(&a->recording) != 1)
		return;
	int ch = a->send_channels;
	uint64_t old_cap = a->take_cap;
	a->take = grow(a->take, &a->take_cap, a->take_len + n, sizeof(float) * ch);
	if (a->take_cap != old_cap) {
		a->map = realloc(a->map, a->take_cap * sizeof(int64_t));
		if (!a->map)
			exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		for (int k = 0; k < ch; k++)
			a->take[(a->take_len + i) * ch + k] = samples ? samples[i * ch + k] : 0.0f;
		a->map[a->take_len + i] = pos[i] >= 0 && (uint64_t)pos[i] >= a->stream_base
						  ? pos[i] - (int64_t)a->stream_base : -1;
	}
	a->take_len += n;
}

static void pwar_delivered(void *data, const float *samples, const int64_t *frames, uint32_t n)
{
	reaper_block(data, samples, frames, n);
}

/* ---- the other relays: a fixed block grid ---- */

static void flush_silence(struct app *a)
{
	if (a->silence_frames)
		fprintf(a->events, "replaced %llu %llu\n", (unsigned long long)a->silence_at,
			(unsigned long long)a->silence_frames);
	a->silence_frames = 0;
}

static void grid_block_done(struct app *a)
{
	uint32_t B = (uint32_t)a->o.asio_block;
	if (!a->block_incomplete) {
		if (a->block_late) {
			/* underrun while the block was late: a silent block, then the block */
			static int64_t none[PWAR_MODEL_MAX_BLOCK];
			if (none[0] == 0)
				for (uint32_t i = 0; i < PWAR_MODEL_MAX_BLOCK; i++)
					none[i] = -1;
			if (a->take_len > 0)
				reaper_block(a, NULL, none, B);
		}
		reaper_block(a, a->block, a->block_pos, B);
	} else if (a->o.mode == MODE_OTHER_SILENCE && a->take_len > 0) {
		/* silence over the block, timeline kept: the take map says which audio it hides */
		uint64_t at = a->take_len;
		reaper_block(a, NULL, a->block_pos, B);
		if (a->take_len > at) {
			/* one event per run of silent blocks */
			if (a->silence_frames && a->silence_at + a->silence_frames == at) {
				a->silence_frames += B;
			} else {
				flush_silence(a);
				a->silence_at = at;
				a->silence_frames = B;
			}
		}
	}
	a->block_incomplete = 0;
	a->block_late = 0;
}

static void grid_feed(struct app *a, uint64_t frame, const float *samples, uint32_t n, int lost)
{
	uint64_t B = (uint64_t)a->o.asio_block;
	int ch = a->send_channels;
	if (!a->have_base) {
		a->have_base = 1;
		a->base = a->grid_next = frame;
	}
	if (frame < a->grid_next)
		return;
	while (a->grid_next < frame) {
		/* never arrived */
		uint64_t pos = (a->grid_next - a->base) % B;
		for (int k = 0; k < ch; k++)
			a->block[pos * ch + k] = 0.0f;
		a->block_pos[pos] = (int64_t)a->grid_next;
		a->block_incomplete = 1;
		a->grid_next++;
		if (pos == B - 1)
			grid_block_done(a);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pos = (frame + i - a->base) % B;
		for (int k = 0; k < ch; k++)
			a->block[pos * ch + k] = samples[i * ch + k];
		a->block_pos[pos] = (int64_t)(frame + i);
		if (lost) {
			if (a->o.mode == MODE_OTHER_INSERT)
				a->block_late = 1;
			else
				a->block_incomplete = 1;
		}
		if (pos == B - 1)
			grid_block_done(a);
	}
	a->grid_next = frame + n;
}

/* ---- what arrives on Windows ---- */

static void net_arrived(void *data, uint64_t seq, int64_t frame, const float *samples, uint32_t n, int lost)
{
	struct app *a = data;
	if (!IS_PWAR(a->o.mode)) {
		grid_feed(a, (uint64_t)frame, samples, n, lost);
		return;
	}
	if (lost)
		return;
	int r = pwar_model_packet(a->pwar, seq, samples, frame, n);
	if (r < 0 && (r != a->last_refusal || a->refused_seen == 0))
		fprintf(stderr, "relay-emu: PWAR's router: packet of %u frames %s\n", n, pwar_model_result_str(r));
	if (r < 0) {
		a->last_refusal = r;
		a->refused_seen++;
	}
}

/* Damage only while recording, after loss_after and not in the last half second, so the
 * take's head (marker) and tail are intact. */
static int damage_window(struct app *a, uint64_t frame)
{
	if (atomic_load(&a->recording) != 1 || frame < a->req_frame)
		return 0;
	/* the marker comes when the exporter's mark reaches the node, which a loaded machine may
	 * delay past loss_after: the damage waits for it (a marker hit by the network has tests of
	 * its own, --lose-marker) */
	if (a->o.miss_marker_set) {
		uint64_t missed = atomic_load(&a->missed_frame);
		if (!missed || frame < missed - 1 + 24000)
			return 0;
	} else if (!a->o.no_osc && !a->o.lose_marker && (!a->marker_seen || frame < a->marker_end + 4800))
		return 0;
	double rel = (double)(frame - a->req_frame) / 48000.0;
	return rel >= a->o.loss_after && rel <= a->o.seconds - 0.5;
}

static void stream_append(struct app *a, uint64_t frame, const float *samples, uint32_t n)
{
	int ch = a->send_channels;
	uint64_t at = frame - a->stream_base;
	a->stream = grow(a->stream, &a->stream_cap, at + n, sizeof(float) * ch);
	a->cycles = grow(a->cycles, &a->cycles_cap, a->n_cycles + 1, sizeof(int64_t));
	a->cycles[a->n_cycles++] = (int64_t)at;
	if (at > a->stream_len)
		memset(a->stream + a->stream_len * ch, 0, sizeof(float) * ch * (at - a->stream_len));
	memcpy(a->stream + at * ch, samples, sizeof(float) * ch * n);
	a->stream_len = at + n;
}

/* --lose-marker: does the marker end in the packet just appended to the stream? (The
 * marker is longer than PWAR's packets; losing the packet that completes it damages it.) */
static int marker_completed_in(const struct app *a, uint32_t n)
{
	size_t ch = (size_t)a->send_channels;
	int64_t from = (int64_t)a->stream_len - (int64_t)n - GHOSTREC_MARKER_FRAMES + 1;
	for (int64_t j = from < 0 ? 0 : from; j + GHOSTREC_MARKER_FRAMES <= (int64_t)a->stream_len; j++) {
		struct ghostrec_marker_match mm;
		if (ghostrec_marker_decode_at(a->stream + (size_t)j * ch, (size_t)((int64_t)a->stream_len - j), ch,
					      ghostrec_marker_tolerance(32), &mm))
			return 1;
	}
	return 0;
}

static int marker_ends_here(struct app *a, uint32_t n)
{
	if (a->marker_lost || !marker_completed_in(a, n))
		return 0;
	a->marker_lost = 1;
	return 1;
}

static void *rx_main(void *data)
{
	struct app *a = data;
	static unsigned char buf[sizeof(struct packet_header) + MAX_QUANTUM * MAX_CH * sizeof(float) + 16];
	while (!atomic_load(&a->rx_quit)) {
		ssize_t got = recv(a->udp_in, buf, sizeof(buf), 0);
		if (got < (ssize_t)sizeof(struct packet_header))
			continue;
		struct packet_header *h = (struct packet_header *)buf;
		const float *samples = (const float *)(buf + sizeof(*h));
		if (h->magic != PACKET_MAGIC || h->channels != (uint32_t)a->send_channels ||
		    h->n_samples > MAX_QUANTUM ||
		    (size_t)got != sizeof(*h) + h->n_samples * h->channels * sizeof(float))
			continue;
		if (a->have_next && h->frame < a->next_frame)
			continue;
		if (a->have_next && h->frame > a->next_frame) {
			/* lost on loopback (should not happen) */
			a->real_losses++;
			fprintf(stderr, "relay-emu: %llu frames never arrived at relay frame %llu\n",
				(unsigned long long)(h->frame - a->next_frame), (unsigned long long)a->next_frame);
		}
		a->have_next = 1;
		a->next_frame = h->frame + h->n_samples;
		atomic_store(&a->rx_frames, atomic_load(&a->rx_frames) + h->n_samples);

		/* The stream: everything relayed, from the first packet on. */
		int rec = atomic_load(&a->recording);
		if (!a->have_stream) {
			a->have_stream = 1;
			a->stream_base = h->frame;
		}
		if (rec != 2)
			stream_append(a, h->frame, samples, h->n_samples);
		if (rec == 0 && atomic_load(&a->record_request) == 1) {
			a->req_frame = h->frame;
			atomic_store(&a->recording, 1);
			rec = 1;
		}
		if (rec == 1 && !a->marker_seen && !a->o.no_osc && !a->o.lose_marker &&
		    marker_completed_in(a, h->n_samples)) {
			a->marker_seen = 1;
			a->marker_end = h->frame + h->n_samples;
		}
		netsim_packet(&a->net, h->seq, (int64_t)h->frame, samples, h->n_samples, damage_window(a, h->frame),
			      rec == 1 && a->o.lose_marker && marker_ends_here(a, h->n_samples));
		if (rec == 1) {
			uint64_t since = h->frame + h->n_samples - a->req_frame;
			atomic_store(&a->rec_frames, since);
			if (since >= (uint64_t)(a->o.seconds * 48000.0))
				atomic_store(&a->recording, 2);
		}
	}
	return NULL;
}

/* ---- control: link, start/stop recording like REAPER ---- */

static int link_ports(struct app *a)
{
	static const char *const chan[MAX_CH] = {"FL", "FR"};
	char cmd[1024];
	for (int c = 0; c < MAX_CH; c++) {
		snprintf(cmd, sizeof(cmd), "pw-link ghostrec-emu-source:out_%s %s:input_%s >/dev/null 2>&1", chan[c],
			 a->o.node, chan[c]);
		if (system(cmd) != 0)
			return 0;
	}
	if (a->n_in_ports == 1) {
		/* PWAR: the take channel into its one input */
		snprintf(cmd, sizeof(cmd), "pw-link %s:output_%s %s:input >/dev/null 2>&1", a->o.node,
			 chan[a->o.take_channel], a->o.relay_name);
		return system(cmd) == 0;
	}
	for (int c = 0; c < MAX_CH; c++) {
		snprintf(cmd, sizeof(cmd), "pw-link %s:output_%s %s:in_%s >/dev/null 2>&1", a->o.node, chan[c],
			 a->o.relay_name, chan[c]);
		if (system(cmd) != 0)
			return 0;
	}
	return 1;
}

/* pw-link needs our filters to answer while it links them, so it must not run on the
 * main loop's thread: a helper thread retries until both links exist. */
static void *link_main(void *data)
{
	struct app *a = data;
	for (int i = 0; i < 200 && !atomic_load(&a->rx_quit); i++) {
		if (link_ports(a)) {
			atomic_store(&a->linked, 1);
			break;
		}
		usleep(50000);
	}
	return NULL;
}

static void on_timer(void *data, uint64_t expirations)
{
	struct app *a = data;
	if (++a->ticks > (long)((a->o.warmup + a->o.seconds + a->o.linger + 30.0) * 100.0)) {
		fprintf(stderr, "relay-emu: gave up waiting (linked=%d, frames received=%llu)\n", atomic_load(&a->linked),
			(unsigned long long)atomic_load(&a->rx_frames));
		a->timed_out = 1;
		pw_main_loop_quit(a->loop);
		return;
	}
	if (!atomic_load(&a->linked))
		return;
	int rec = atomic_load(&a->recording);
	if (atomic_load(&a->record_request) == 0 &&
	    atomic_load(&a->rx_frames) >= (uint64_t)(a->o.warmup * 48000.0)) {
		atomic_store(&a->record_request, 1);
		/* REAPER: recording starts, OSC follows */
		if (!a->o.no_osc) {
			lo_send(a->osc, "/record", "f", 1.0f);
			fprintf(stderr, "relay-emu: /record 1 sent\n");
		} else {
			fprintf(stderr, "relay-emu: recording starts (no OSC sent)\n");
		}
	}
	if (rec == 1) {
		/* REAPER floods /time while recording; the exporter must ignore it */
		double t = (double)atomic_load(&a->rec_frames) / 48000.0;
		if (!a->o.no_osc && t - a->last_time_osc >= 0.05) {
			lo_send(a->osc, "/time", "f", (float)t);
			a->last_time_osc = t;
		}
	}
	if (rec == 2) {
		if (a->done_ticks++ == 0 && !a->o.no_osc) {
			lo_send(a->osc, "/record", "f", 0.0f);
			lo_send(a->osc, "/stop", "f", 1.0f);
			fprintf(stderr, "relay-emu: /record 0 sent\n");
		}
		/* Keep the graph running a while, as a live system would (the exporter's
		 * post-roll needs the ring to move on). */
		if (a->done_ticks > (int)(a->o.linger * 100.0))
			pw_main_loop_quit(a->loop);
	}
}

static const struct pw_filter_events source_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = source_process,
};

static const struct pw_filter_events relay_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = relay_process,
};

/* n_ports 1: PWAR's shape, one port `input` (output: `out`) without audio.channel. */
static struct pw_filter *make_filter(struct app *a, const char *name, const struct pw_filter_events *ev,
				     enum pw_direction dir, void **ports, int n_ports)
{
	struct pw_filter *f = pw_filter_new_simple(pw_main_loop_get_loop(a->loop), name,
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter",
				  PW_KEY_MEDIA_ROLE, "DSP", PW_KEY_NODE_ALWAYS_PROCESS, "true",
				  PW_KEY_NODE_NAME, name, NULL),
		ev, a);
	static const char *const chan[MAX_CH] = {"FL", "FR"};
	const char *dirname = dir == PW_DIRECTION_OUTPUT ? "out" : "in";
	for (int c = 0; c < n_ports; c++) {
		char port[16];
		struct pw_properties *props;
		if (n_ports == 1) {
			snprintf(port, sizeof(port), "%s", dir == PW_DIRECTION_OUTPUT ? "output" : "input");
			props = pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio", PW_KEY_PORT_NAME, port,
						  NULL);
		} else {
			snprintf(port, sizeof(port), "%s_%s", dirname, chan[c]);
			props = pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio", PW_KEY_PORT_NAME, port,
						  PW_KEY_AUDIO_CHANNEL, chan[c], NULL);
		}
		ports[c] = pw_filter_add_port(f, dir, PW_FILTER_PORT_FLAG_MAP_BUFFERS, 0, props, NULL, 0);
	}
	if (pw_filter_connect(f, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
		fprintf(stderr, "relay-emu: cannot connect %s\n", name);
		exit(1);
	}
	return f;
}

/* ---- output files ---- */

static int write_int64s(const char *path, const int64_t *v, uint64_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "relay-emu: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = n && fwrite(v, sizeof(*v), n, f) != n ? -1 : 0;
	return fclose(f) == 0 ? rc : -1;
}

static int write_wav(const char *path, int format, int channels, const float *data, uint64_t frames)
{
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	sfi.samplerate = 48000;
	sfi.channels = channels;
	sfi.format = format;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &sfi);
	if (!sf) {
		fprintf(stderr, "relay-emu: %s: %s\n", path, sf_strerror(NULL));
		return -1;
	}
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	int rc = sf_writef_float(sf, data, (sf_count_t)frames) == (sf_count_t)frames ? 0 : -1;
	return sf_close(sf) == 0 ? rc : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: relay-emu --node NAME --osc-port PORT --out DIR\n"
		   "         [--mode pwar|pwar-per-packet|other-silence|other-insert] [--asio-block N]\n"
		   "         [--loss P] [--reorder P] [--reorder-depth K] [--duplicate P] [--dup-delay K] [--miss P]\n"
		   "         [--spacing K]\n"
		   "         [--seed N] [--seconds S] [--loss-after S] [--format pcm16|pcm24|float32]\n"
		   "         [--take-channel K | --stereo] [--relay-name NAME] [--warmup S] [--linger S] [--lose-marker]\n"
		   "         [--no-osc] [--relay-miss-at-marker K]\n");
}

static int parse_mode(const char *s)
{
	for (int m = 0; m < (int)(sizeof(mode_names) / sizeof(mode_names[0])); m++)
		if (strcmp(s, mode_names[m]) == 0)
			return m;
	return -1;
}

/* A clear one-line reason, or NULL when the options describe something that can exist. */
static const char *check_opts(const struct opts *o)
{
	if (!o->out_dir || (o->osc_port <= 0 && !o->no_osc))
		return "--out and --osc-port (or --no-osc) are required";
	if (o->take_channel >= MAX_CH)
		return "--take-channel must be 0 or 1";
	if (o->miss_marker_set && (o->miss_at_marker < -1 || o->miss_at_marker > 1))
		return "--relay-miss-at-marker is -1 (the cycle before the marker), 0 or 1 (its first or second cycle)";
	if (o->miss_marker_set && (o->no_osc || o->lose_marker || o->take_channel < 0))
		return "--relay-miss-at-marker needs a marked take on one channel (not --no-osc, --lose-marker or --stereo)";
	if (o->loss < 0 || o->loss > 1 || o->reorder < 0 || o->reorder > 1 || o->duplicate < 0 || o->duplicate > 1 ||
	    o->miss < 0 || o->miss > 1)
		return "--loss, --reorder, --duplicate and --miss are probabilities in [0, 1]";
	if (IS_PWAR(o->mode)) {
		if (o->take_channel < 0)
			return "PWAR carries one channel to Windows (its ASIO driver has one input): --stereo is for the "
			       "other-relay modes";
		if (o->asio_block < 64 || o->asio_block > 2048 || o->asio_block % 64 != 0)
			return "PWAR's ASIO block is 64..2048 frames in steps of 64";
	} else {
		if (o->asio_block < 16 || o->asio_block > PWAR_MODEL_MAX_BLOCK)
			return "--asio-block must be 16..4096";
		if (o->reorder > 0 || o->duplicate > 0 || o->miss > 0)
			return "--reorder, --duplicate and --miss model PWAR: the other-relay modes take --loss only";
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static struct app app;
	struct app *a = &app;
	struct opts *o = &a->o;
	o->node = "ghostrec";
	o->mode = MODE_PWAR;
	o->asio_block = 512;
	o->loss = 0.02;
	o->reorder_depth = 1;
	o->seed = 1;
	o->seconds = 10.0;
	o->loss_after = 1.0;
	o->warmup = 2.5;
	o->linger = 2.0;
	o->format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
	o->take_channel = 0;
	static const struct option lo[] = {
		{"node", required_argument, NULL, 'n'}, {"osc-port", required_argument, NULL, 'p'},
		{"out", required_argument, NULL, 'o'}, {"mode", required_argument, NULL, 'm'},
		{"asio-block", required_argument, NULL, 'b'}, {"loss", required_argument, NULL, 'l'},
		{"reorder", required_argument, NULL, 'r'}, {"reorder-depth", required_argument, NULL, 'R'},
		{"duplicate", required_argument, NULL, 'd'}, {"dup-delay", required_argument, NULL, 'D'},
		{"miss", required_argument, NULL, 'x'}, {"relay-name", required_argument, NULL, 'N'},
		{"spacing", required_argument, NULL, 'G'},
		{"seed", required_argument, NULL, 's'}, {"seconds", required_argument, NULL, 't'},
		{"loss-after", required_argument, NULL, 'a'}, {"format", required_argument, NULL, 'f'},
		{"take-channel", required_argument, NULL, 'c'}, {"stereo", no_argument, NULL, 'S'},
		{"warmup", required_argument, NULL, 'w'}, {"linger", required_argument, NULL, 'L'},
		{"lose-marker", no_argument, NULL, 'M'}, {"no-osc", no_argument, NULL, 'O'},
		{"relay-miss-at-marker", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int opt, m;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': o->node = optarg; break;
		case 'p': o->osc_port = atoi(optarg); break;
		case 'o': o->out_dir = optarg; break;
		case 'm':
			if ((m = parse_mode(optarg)) < 0) {
				fprintf(stderr, "relay-emu: unknown mode '%s' (pwar, pwar-per-packet, other-silence, "
						"other-insert)\n", optarg);
				return 2;
			}
			o->mode = (enum mode)m;
			break;
		case 'b': o->asio_block = atoi(optarg); break;
		case 'l': o->loss = atof(optarg); break;
		case 'r': o->reorder = atof(optarg); break;
		case 'R': o->reorder_depth = atoi(optarg); break;
		case 'd': o->duplicate = atof(optarg); break;
		case 'D': o->dup_delay = atoi(optarg); break;
		case 'x': o->miss = atof(optarg); break;
		case 'G': o->spacing = atoi(optarg); break;
		case 'N': o->relay_name = optarg; break;
		case 's': o->seed = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': o->seconds = atof(optarg); break;
		case 'a': o->loss_after = atof(optarg); break;
		case 'f':
			o->format = SF_FORMAT_WAV | (strcmp(optarg, "pcm16") == 0 ? SF_FORMAT_PCM_16 :
						     strcmp(optarg, "float32") == 0 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_24);
			break;
		case 'c': o->take_channel = atoi(optarg); break;
		case 'S': o->take_channel = -1; break;
		case 'w': o->warmup = atof(optarg); break;
		case 'L': o->linger = atof(optarg); break;
		case 'M': o->lose_marker = 1; break;
		case 'O': o->no_osc = 1; break;
		case 'K':
			o->miss_at_marker = atoi(optarg);
			o->miss_marker_set = 1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *bad = check_opts(o);
	if (bad) {
		fprintf(stderr, "relay-emu: %s\n", bad);
		usage(stderr);
		return 2;
	}
	if (!o->relay_name)
		o->relay_name = IS_PWAR(o->mode) ? "pwar" : "ghostrec-emu-relay";
	a->cycles_since_marker = -1;
	a->send_channels = o->take_channel < 0 ? MAX_CH : 1;
	a->n_in_ports = IS_PWAR(o->mode) ? 1 : MAX_CH;
	a->rng = 0x12345678u;
	a->block = calloc((size_t)o->asio_block * MAX_CH, sizeof(float));
	a->block_pos = calloc((size_t)o->asio_block, sizeof(int64_t));
	a->pwar = calloc(1, sizeof(*a->pwar));
	if (!a->block || !a->block_pos || !a->pwar)
		return 1;
	pwar_model_init(a->pwar, o->mode == MODE_PWAR_PER_PACKET ? PWAR_MODEL_PER_PACKET : PWAR_MODEL_MASTER,
			(uint32_t)o->asio_block, (uint32_t)a->send_channels, pwar_delivered, a);

	char path[4096];
	mkdir(o->out_dir, 0755);
	snprintf(path, sizeof(path), "%s/events.txt", o->out_dir);
	a->events = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/network.txt", o->out_dir);
	a->network = fopen(path, "w");
	if (!a->events || !a->network) {
		perror(path);
		return 1;
	}
	a->net.loss = o->loss;
	a->net.reorder = o->reorder;
	a->net.reorder_depth = o->reorder_depth;
	a->net.duplicate = o->duplicate;
	a->net.dup_delay = o->dup_delay;
	a->net.miss = o->miss;
	a->net.spacing = o->spacing;
	a->net.seed = o->seed;
	a->net.log = a->network;
	if (netsim_init(&a->net, (uint32_t)a->send_channels, MAX_QUANTUM, net_arrived, a) != 0)
		return 1;

	/* loopback UDP: relay -> receiver */
	a->udp_in = socket(AF_INET, SOCK_DGRAM, 0);
	a->udp_out = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rcvbuf = 8 << 20;
	setsockopt(a->udp_in, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
	setsockopt(a->udp_in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	socklen_t sl = sizeof(sin);
	if (bind(a->udp_in, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(a->udp_in, (struct sockaddr *)&sin, &sl) != 0) {
		perror("relay-emu: udp");
		return 1;
	}
	a->dest = sin;

	char port[16];
	snprintf(port, sizeof(port), "%d", o->osc_port > 0 ? o->osc_port : 9);
	a->osc = lo_address_new("127.0.0.1", port);

	pw_init(&argc, &argv);
	a->loop = pw_main_loop_new(NULL);
	a->source = make_filter(a, "ghostrec-emu-source", &source_events, PW_DIRECTION_OUTPUT, a->src_ports, MAX_CH);
	a->relay = make_filter(a, o->relay_name, &relay_events, PW_DIRECTION_INPUT, a->in_ports, a->n_in_ports);
	a->timer = pw_loop_add_timer(pw_main_loop_get_loop(a->loop), on_timer, a);
	struct timespec first = {0, 100000000}, every = {0, 10000000};
	pw_loop_update_timer(pw_main_loop_get_loop(a->loop), a->timer, &first, &every, false);
	pthread_create(&a->rx_thread, NULL, rx_main, a);
	pthread_create(&a->link_thread, NULL, link_main, a);

	pw_main_loop_run(a->loop);

	atomic_store(&a->rx_quit, 1);
	pthread_join(a->rx_thread, NULL);
	pthread_join(a->link_thread, NULL);
	pw_filter_destroy(a->source);
	pw_filter_destroy(a->relay);
	pw_main_loop_destroy(a->loop);
	pw_deinit();
	lo_address_free(a->osc);
	flush_silence(a);
	fclose(a->events);
	fclose(a->network);

	int rc = 0;
	snprintf(path, sizeof(path), "%s/take.wav", o->out_dir);
	rc |= write_wav(path, o->format, a->send_channels, a->take, a->take_len);
	snprintf(path, sizeof(path), "%s/stream.wav", o->out_dir);
	rc |= write_wav(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, a->send_channels, a->stream, a->stream_len);
	snprintf(path, sizeof(path), "%s/take-map.bin", o->out_dir);
	rc |= write_int64s(path, a->map, a->take_len);
	snprintf(path, sizeof(path), "%s/stream-cycles.bin", o->out_dir);
	rc |= write_int64s(path, a->cycles, a->n_cycles);
	fprintf(stderr, "relay-emu: source ran %llu cycles, %llu port buffers missing\n",
		(unsigned long long)a->src_cycles, (unsigned long long)a->src_missing);
	uint32_t q = atomic_load(&a->quantum);
	printf("relay-emu: %s, quantum %u, ASIO block %d: take %llu frames, stream %llu frames; network: "
	       "%llu lost, %llu reordered, %llu duplicated, %llu cycles missed; %llu packets lost on loopback\n",
	       mode_names[o->mode], q, o->asio_block, (unsigned long long)a->take_len,
	       (unsigned long long)a->stream_len, (unsigned long long)a->net.n_lost,
	       (unsigned long long)a->net.n_reordered, (unsigned long long)a->net.n_duplicated,
	       (unsigned long long)a->net.n_missed, (unsigned long long)a->real_losses);
	if (IS_PWAR(o->mode))
		printf("relay-emu: PWAR's router: %llu packets, %llu bufferSwitch calls, %llu packets refused\n",
		       (unsigned long long)a->pwar->packets, (unsigned long long)a->pwar->blocks,
		       (unsigned long long)a->pwar->refused);
	if (o->miss_marker_set && !a->missed_at_marker) {
		fprintf(stderr, "relay-emu: --relay-miss-at-marker: no marker came through the relay\n");
		rc = -1;
	} else if (o->miss_marker_set) {
		printf("relay-emu: the relay missed the cycle %s the marker's first (relay frame %llu)\n",
		       o->miss_at_marker < 0 ? "before" : o->miss_at_marker == 0 ? "that is" : "after",
		       (unsigned long long)(atomic_load(&a->missed_frame) - 1));
	}
	int refused = IS_PWAR(o->mode) && a->take_len == 0 && a->pwar->refused > 0;
	if (refused)
		printf("relay-emu: nothing arrived: PWAR's router refused every packet (%s)\n",
		       pwar_model_result_str(a->last_refusal));
	free(a->take);
	free(a->map);
	free(a->stream);
	free(a->cycles);
	free(a->block);
	free(a->block_pos);
	free(a->pwar);
	netsim_free(&a->net);
	close(a->udp_in);
	close(a->udp_out);
	if (refused && rc == 0 && !a->timed_out)
		return 3;
	return rc == 0 && a->take_len > 0 && !a->timed_out ? 0 : 1;
}
