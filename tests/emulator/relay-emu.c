/* PWAR relay emulator: the "network + Windows + REAPER" half of the chain, for tests.
 *
 * What PWAR (ripxorip/PWAR) does, and what this reproduces:
 *   - Linux side: a PipeWire client takes the audio it is linked to and sends every graph
 *     cycle (one quantum) as UDP packets of float32 samples.
 *   - Windows side: the ASIO driver assembles ASIO blocks (64..1024 frames) from the packets
 *     and calls bufferSwitch only for a block that arrived complete; a block with any part
 *     missing is DROPPED (the router resets on the next sequence), so REAPER's timeline does
 *     not advance and the take is shorter (mode drop). Other relays / PWAR's ring-buffer
 *     branch output silence for a missing block instead (mode silence, timeline kept), or
 *     underrun and play a late block after a silent one (mode insert, take grows).
 *   - REAPER records the delivered blocks into a WAV (16/24-bit or float) and sends OSC
 *     /record 1.0 when recording starts and /record 0.0 when it stops (plus /time floods).
 *
 * Here: one process with two pw_filter nodes, a deterministic signal source
 * (ghostrec-emu-source:out_* -> NODE:input_*) and the relay (NODE:output_* ->
 * ghostrec-emu-relay:in_*), linked with pw-link. The relay sends one packet per quantum to a
 * loopback UDP socket; a receiver thread plays the Windows side. Packet loss is decided per
 * packet from a seed (deterministic), after `--loss-after` seconds of recording.
 *
 * Writes into --out DIR:
 *   take.wav     the "REAPER take"
 *   stream.wav   every frame the relay carried while recording (float32, what was sent)
 *   take-map.bin per take frame, int64 little-endian: index into stream.wav, -1 = inserted
 *   events.txt   the true glitch log in take frames: "<kind> <take_frame> <frames>" lines
 *
 * usage: relay-emu --node NAME --osc-port PORT --out DIR [--mode drop|silence|insert]
 *          [--asio-block N] [--loss P] [--seed N] [--seconds S] [--loss-after S]
 *          [--format pcm16|pcm24|float32] [--take-channel K|--stereo] [--warmup S] [--linger S]
 *          [--lose-marker]
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

#define MAX_CH 2
#define MAX_QUANTUM 8192
#define PACKET_MAGIC 0x52415750u /* "PWAR" */
#define PACKET_LOSE 1u

enum mode { MODE_DROP, MODE_SILENCE, MODE_INSERT };

struct packet_header {
	uint32_t magic;
	uint32_t channels;
	uint32_t n_samples;
	uint32_t flags;     /* PACKET_LOSE: the network loses this one (--lose-marker) */
	uint64_t seq;
	uint64_t frame;     /* relay's running frame count of the first sample */
};

struct opts {
	const char *node;
	const char *out_dir;
	int osc_port;
	enum mode mode;
	int asio_block;
	double loss;
	uint32_t seed;
	double seconds;
	double loss_after;
	double warmup;
	double linger;
	int format;
	int take_channel;   /* -1 = stereo take */
	int lose_marker;    /* lose the packet that carries the sync marker */
};

struct app {
	struct opts o;
	struct pw_main_loop *loop;
	struct pw_context *context;
	struct pw_filter *source, *relay;
	void *src_ports[MAX_CH];
	void *in_ports[MAX_CH];
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
	int udp_out;
	struct sockaddr_in dest;
	_Atomic uint64_t sent_frames;

	/* receiver ("Windows") */
	int udp_in;
	pthread_t rx_thread;
	_Atomic int rx_quit;
	_Atomic int record_request;  /* 1 start, 2 stop */
	_Atomic int recording;       /* 0 idle, 1 recording, 2 done */
	_Atomic uint64_t rx_frames;
	_Atomic uint64_t rec_frames;  /* stream frames since record start */
	uint64_t real_losses;

	uint64_t rec_start;          /* relay frame where the take starts (block boundary) */

	/* block assembly */
	uint64_t base;               /* first frame ever received: block boundaries from here */
	int have_base;
	uint64_t next_frame;
	float *block;                /* asio_block * send_channels */
	int block_fill;              /* frames of the current block seen (received or lost) */
	int block_incomplete;
	int block_late;

	/* REAPER */
	float *stream;
	uint64_t stream_len, stream_cap;
	float *take;
	int64_t *map;
	uint64_t take_len, take_cap;
	FILE *events;
	int last_kind;
	uint64_t last_event_take_frame, last_event_end;
	long n_events;

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

static void relay_process(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = position ? (uint32_t)position->clock.duration : 256;
	if (n > MAX_QUANTUM)
		n = MAX_QUANTUM;
	static unsigned char buf[sizeof(struct packet_header) + MAX_QUANTUM * MAX_CH * sizeof(float)];
	struct packet_header *h = (struct packet_header *)buf;
	float *s = (float *)(buf + sizeof(*h));
	const float *in[MAX_CH];
	for (int c = 0; c < MAX_CH; c++)
		in[c] = pw_filter_get_dsp_buffer(a->in_ports[c], n);
	int first = a->o.take_channel < 0 ? 0 : a->o.take_channel;
	for (uint32_t i = 0; i < n; i++)
		for (int k = 0; k < a->send_channels; k++)
			s[i * a->send_channels + k] = in[first + k] ? in[first + k][i] : 0.0f;
	h->magic = PACKET_MAGIC;
	h->channels = (uint32_t)a->send_channels;
	h->n_samples = n;
	h->flags = 0;
	if (a->o.lose_marker && !a->marker_lost) {
		/* The node injects the marker at the start of a cycle: look for it in this one
		 * (pure computation, fine on the RT thread) and let the network lose it. */
		struct ghostrec_marker_match mm;
		for (uint32_t i = 0; i + GHOSTREC_MARKER_FRAMES <= n && !a->marker_lost; i++) {
			if (ghostrec_marker_decode_at(s + i * a->send_channels, n - i, (size_t)a->send_channels,
						      ghostrec_marker_tolerance(32), &mm)) {
				h->flags = PACKET_LOSE;
				a->marker_lost = 1;
			}
		}
	}
	h->seq = a->seq++;
	/* A running count of what was relayed. Graph hiccups (a cycle the relay or the node
	 * missed) are not visible here; relay-check finds them by locating the relayed audio in
	 * the clean file. */
	h->frame = a->relay_frame;
	a->relay_frame += n;
	sendto(a->udp_out, buf, sizeof(*h) + n * a->send_channels * sizeof(float), MSG_DONTWAIT,
	       (struct sockaddr *)&a->dest, sizeof(a->dest));
	atomic_store(&a->sent_frames, a->relay_frame);
}

/* ---- receiver, Windows side ---- */

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
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

static const char *kind_name(int kind)
{
	return kind == 0 ? "replaced" : kind == 1 ? "dropped" : "inserted";
}

/* One true glitch, merged with the previous one when they touch. */
static void log_event(struct app *a, int kind, uint64_t take_frame, uint64_t frames)
{
	if (a->n_events > 0 && a->last_kind == kind &&
	    ((kind == 1 && a->last_event_take_frame == take_frame) ||
	     (kind != 1 && a->last_event_end == take_frame))) {
		a->last_event_end += frames;
		return;
	}
	if (a->n_events > 0)
		fprintf(a->events, "%s %llu %llu\n", kind_name(a->last_kind),
			(unsigned long long)a->last_event_take_frame,
			(unsigned long long)(a->last_kind == 1 ? a->last_event_end : a->last_event_end - a->last_event_take_frame));
	a->last_kind = kind;
	a->last_event_take_frame = take_frame;
	a->last_event_end = kind == 1 ? frames : take_frame + frames;
	a->n_events++;
}

static void take_append(struct app *a, const float *frames, int64_t stream_index, uint64_t n)
{
	int ch = a->send_channels;
	a->take = grow(a->take, &a->take_cap, a->take_len + n, sizeof(float) * ch);
	uint64_t mcap = a->take_cap;
	(void)mcap;
	for (uint64_t i = 0; i < n; i++) {
		for (int k = 0; k < ch; k++)
			a->take[(a->take_len + i) * ch + k] = frames ? frames[i * ch + k] : 0.0f;
	}
	a->map = realloc(a->map, a->take_cap * sizeof(int64_t));
	if (!a->map)
		exit(1);
	for (uint64_t i = 0; i < n; i++)
		a->map[a->take_len + i] = stream_index < 0 ? -1 : stream_index + (int64_t)i;
	a->take_len += n;
}

/* A whole ASIO block has passed: deliver it to REAPER (or not). */
static void block_done(struct app *a, uint64_t block_start)
{
	int B = a->o.asio_block;
	int rec = atomic_load(&a->recording);
	if (rec == 0 && atomic_load(&a->record_request) == 1) {
		atomic_store(&a->recording, 1);
		rec = 1;
		a->stream_len = 0;
		a->rec_start = block_start;
	}
	if (rec == 1) {
		int64_t stream_index = (int64_t)(block_start - a->rec_start);
		int ch = a->send_channels;
		/* The stream: what was sent, lost or not. */
		a->stream = grow(a->stream, &a->stream_cap, a->stream_len + (uint64_t)B, sizeof(float) * ch);
		memcpy(a->stream + a->stream_len * ch, a->block, sizeof(float) * (size_t)B * ch);
		a->stream_len += (uint64_t)B;
		atomic_store(&a->rec_frames, a->stream_len);
		if (!a->block_incomplete) {
			if (a->block_late) {
				/* underrun while the block was late: a silent block, then the block */
				log_event(a, 2, a->take_len, (uint64_t)B);
				take_append(a, NULL, -1, (uint64_t)B);
			}
			take_append(a, a->block, stream_index, (uint64_t)B);
		} else if (a->o.mode == MODE_SILENCE) {
			log_event(a, 0, a->take_len, (uint64_t)B);
			take_append(a, NULL, stream_index, (uint64_t)B);
		} else {
			log_event(a, 1, a->take_len, (uint64_t)B);
		}
		if (a->stream_len >= (uint64_t)(a->o.seconds * 48000.0))
			atomic_store(&a->recording, 2);
	}
	a->block_fill = 0;
	a->block_incomplete = 0;
	a->block_late = 0;
}

/* Frames [start, start + n) of the stream; samples NULL = really missing (not just simulated). */
static void feed(struct app *a, uint64_t start, uint32_t n, const float *samples, int lost)
{
	int B = a->o.asio_block;
	int ch = a->send_channels;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t f = start + i;
		uint64_t pos = (f - a->base) % (uint64_t)B;
		for (int k = 0; k < ch; k++)
			a->block[pos * ch + k] = samples ? samples[i * ch + k] : 0.0f;
		if (lost || !samples) {
			if (a->o.mode == MODE_INSERT && samples)
				a->block_late = 1;
			else
				a->block_incomplete = 1;
		}
		a->block_fill++;
		if (pos == (uint64_t)B - 1)
			block_done(a, f + 1 - (uint64_t)B);
	}
	a->next_frame = start + n;
	atomic_store(&a->rx_frames, a->next_frame - a->base);
}

/* Is packet seq lost on the simulated network? Only while recording, after loss_after and
 * not in the last half second, so the take's head (marker) and tail are intact. */
static int packet_lost(struct app *a, uint64_t seq, uint64_t frame)
{
	if (atomic_load(&a->recording) != 1 || a->o.loss <= 0.0)
		return 0;
	double rel = (double)(frame - a->rec_start) / 48000.0;
	if (rel < a->o.loss_after || rel > a->o.seconds - 0.5)
		return 0;
	uint32_t h = hash32(a->o.seed * 0x9e3779b9u ^ hash32((uint32_t)seq));
	return (double)h / 4294967296.0 < a->o.loss;
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
		if (h->magic != PACKET_MAGIC || h->channels != (uint32_t)a->send_channels ||
		    h->n_samples > MAX_QUANTUM ||
		    (size_t)got != sizeof(*h) + h->n_samples * h->channels * sizeof(float))
			continue;
		if (!a->have_base) {
			a->have_base = 1;
			a->base = h->frame;
			a->next_frame = h->frame;
		}
		if (h->frame < a->next_frame)
			continue;
		if (h->frame > a->next_frame) {
			/* lost on loopback (should not happen) */
			a->real_losses++;
			fprintf(stderr, "relay-emu: %llu frames never arrived at stream frame %lld\n",
				(unsigned long long)(h->frame - a->next_frame),
				atomic_load(&a->recording) == 1 ? (long long)(a->next_frame - a->rec_start) : -1LL);
			while (a->next_frame < h->frame) {
				uint64_t gap = h->frame - a->next_frame;
				feed(a, a->next_frame, gap > MAX_QUANTUM ? MAX_QUANTUM : (uint32_t)gap, NULL, 1);
			}
		}
		int lost = packet_lost(a, h->seq, h->frame) || (h->flags & PACKET_LOSE);
		feed(a, h->frame, h->n_samples, (const float *)(buf + sizeof(*h)), lost);
	}
	return NULL;
}

/* ---- control: link, start/stop recording like REAPER ---- */

static int link_ports(struct app *a)
{
	static const char *const chan[MAX_CH] = {"FL", "FR"};
	for (int c = 0; c < MAX_CH; c++) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd),
			 "pw-link ghostrec-emu-source:out_%s %s:input_%s >/dev/null 2>&1 && "
			 "pw-link %s:output_%s ghostrec-emu-relay:in_%s >/dev/null 2>&1",
			 chan[c], a->o.node, chan[c], a->o.node, chan[c], chan[c]);
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
		lo_send(a->osc, "/record", "f", 1.0f);
		fprintf(stderr, "relay-emu: /record 1 sent\n");
	}
	if (rec == 1) {
		/* REAPER floods /time while recording; the exporter must ignore it */
		double t = (double)atomic_load(&a->rec_frames) / 48000.0;
		if (t - a->last_time_osc >= 0.05) {
			lo_send(a->osc, "/time", "f", (float)t);
			a->last_time_osc = t;
		}
	}
	if (rec == 2) {
		if (a->done_ticks++ == 0) {
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

static struct pw_filter *make_filter(struct app *a, const char *name, const struct pw_filter_events *ev,
				     enum pw_direction dir, void **ports)
{
	struct pw_filter *f = pw_filter_new_simple(pw_main_loop_get_loop(a->loop), name,
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter",
				  PW_KEY_MEDIA_ROLE, "DSP", PW_KEY_NODE_ALWAYS_PROCESS, "true",
				  PW_KEY_NODE_NAME, name, NULL),
		ev, a);
	static const char *const chan[MAX_CH] = {"FL", "FR"};
	for (int c = 0; c < MAX_CH; c++) {
		char port[16];
		snprintf(port, sizeof(port), "%s_%s", dir == PW_DIRECTION_OUTPUT ? "out" : "in", chan[c]);
		ports[c] = pw_filter_add_port(f, dir, PW_FILTER_PORT_FLAG_MAP_BUFFERS, 0,
			pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio", PW_KEY_PORT_NAME, port,
					  PW_KEY_AUDIO_CHANNEL, chan[c], NULL),
			NULL, 0);
	}
	if (pw_filter_connect(f, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
		fprintf(stderr, "relay-emu: cannot connect %s\n", name);
		exit(1);
	}
	return f;
}

/* ---- output files ---- */

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
	fprintf(f, "usage: relay-emu --node NAME --osc-port PORT --out DIR [--mode drop|silence|insert]\n"
		   "         [--asio-block N] [--loss P] [--seed N] [--seconds S] [--loss-after S]\n"
		   "         [--format pcm16|pcm24|float32] [--take-channel K | --stereo] [--warmup S] [--linger S]\n"
		   "         [--lose-marker]\n");
}

int main(int argc, char **argv)
{
	static struct app app;
	struct app *a = &app;
	struct opts *o = &a->o;
	o->node = "ghostrec";
	o->mode = MODE_DROP;
	o->asio_block = 512;
	o->loss = 0.02;
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
		{"seed", required_argument, NULL, 's'}, {"seconds", required_argument, NULL, 't'},
		{"loss-after", required_argument, NULL, 'a'}, {"format", required_argument, NULL, 'f'},
		{"take-channel", required_argument, NULL, 'c'}, {"stereo", no_argument, NULL, 'S'},
		{"warmup", required_argument, NULL, 'w'}, {"linger", required_argument, NULL, 'L'},
		{"lose-marker", no_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': o->node = optarg; break;
		case 'p': o->osc_port = atoi(optarg); break;
		case 'o': o->out_dir = optarg; break;
		case 'm':
			o->mode = strcmp(optarg, "silence") == 0 ? MODE_SILENCE :
				  strcmp(optarg, "insert") == 0 ? MODE_INSERT : MODE_DROP;
			break;
		case 'b': o->asio_block = atoi(optarg); break;
		case 'l': o->loss = atof(optarg); break;
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
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o->out_dir || o->osc_port <= 0 || o->asio_block < 16 || o->asio_block > 4096 ||
	    o->take_channel >= MAX_CH) {
		usage(stderr);
		return 2;
	}
	a->send_channels = o->take_channel < 0 ? MAX_CH : 1;
	a->rng = 0x12345678u;
	a->block = calloc((size_t)o->asio_block * MAX_CH, sizeof(float));

	char path[4096];
	mkdir(o->out_dir, 0755);
	snprintf(path, sizeof(path), "%s/events.txt", o->out_dir);
	a->events = fopen(path, "w");
	if (!a->events || !a->block) {
		perror(path);
		return 1;
	}

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
	snprintf(port, sizeof(port), "%d", o->osc_port);
	a->osc = lo_address_new("127.0.0.1", port);

	pw_init(&argc, &argv);
	a->loop = pw_main_loop_new(NULL);
	a->source = make_filter(a, "ghostrec-emu-source", &source_events, PW_DIRECTION_OUTPUT, a->src_ports);
	a->relay = make_filter(a, "ghostrec-emu-relay", &relay_events, PW_DIRECTION_INPUT, a->in_ports);
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

	/* flush the last event */
	if (a->n_events > 0)
		fprintf(a->events, "%s %llu %llu\n", kind_name(a->last_kind),
			(unsigned long long)a->last_event_take_frame,
			(unsigned long long)(a->last_kind == 1 ? a->last_event_end
							       : a->last_event_end - a->last_event_take_frame));
	fclose(a->events);

	int rc = 0;
	snprintf(path, sizeof(path), "%s/take.wav", o->out_dir);
	rc |= write_wav(path, o->format, a->send_channels, a->take, a->take_len);
	snprintf(path, sizeof(path), "%s/stream.wav", o->out_dir);
	rc |= write_wav(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, a->send_channels, a->stream, a->stream_len);
	snprintf(path, sizeof(path), "%s/take-map.bin", o->out_dir);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(a->map, sizeof(int64_t), a->take_len, f) != a->take_len || fclose(f) != 0)
		rc = -1;
	fprintf(stderr, "relay-emu: source ran %llu cycles, %llu port buffers missing\n",
		(unsigned long long)a->src_cycles, (unsigned long long)a->src_missing);
	printf("relay-emu: take %llu frames, stream %llu frames, %ld glitches (%s, ASIO block %d), %llu packets lost on loopback\n",
	       (unsigned long long)a->take_len, (unsigned long long)a->stream_len, a->n_events,
	       o->mode == MODE_DROP ? "drop" : o->mode == MODE_SILENCE ? "silence" : "insert", o->asio_block,
	       (unsigned long long)a->real_losses);
	free(a->take);
	free(a->map);
	free(a->stream);
	free(a->block);
	close(a->udp_in);
	close(a->udp_out);
	return rc == 0 && a->take_len > 0 && !a->timed_out ? 0 : 1;
}
