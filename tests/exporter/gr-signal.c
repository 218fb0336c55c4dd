/* Test client for the private PipeWire graph: plays the deterministic signal (test-signal.h)
 * from a DSP filter node "gr-player" (ports output_0..), and records whatever reaches the
 * filter node "gr-capture" (ports input_0..) into a raw float32 interleaved file on exit.
 *   gr-signal [--channels N] [--capture FILE] [--max-seconds S] [--suffix X] [--group G]
 * (--suffix X names the nodes gr-playerX / gr-captureX, for several at once; --group G puts
 * them in node.group G, e.g. pipewire.freewheel: driven without xruns)
 * Prints "ready" once both nodes exist; stops on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipewire/filter.h>
#include <pipewire/pipewire.h>

#include "test-signal.h"

#define MAX_CH 8

struct port {
	int dummy;
};

struct app {
	const char *group;
	struct pw_main_loop *loop;
	struct pw_filter *player, *capture;
	struct port *out[MAX_CH], *in[MAX_CH];
	uint32_t channels;
	uint64_t played;
	float *cap;
	uint64_t cap_frames, cap_max;
};

static void play(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = position ? (uint32_t)position->clock.duration : 0;
	for (uint32_t c = 0; c < a->channels; c++) {
		float *buf = pw_filter_get_dsp_buffer(a->out[c], n);
		if (!buf)
			continue;
		for (uint32_t i = 0; i < n; i++)
			buf[i] = test_signal(a->played + i, c);
	}
	a->played += n;
}

static void record(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	uint32_t n = position ? (uint32_t)position->clock.duration : 0;
	float *in[MAX_CH];
	for (uint32_t c = 0; c < a->channels; c++)
		in[c] = pw_filter_get_dsp_buffer(a->in[c], n);
	for (uint32_t i = 0; i < n && a->cap_frames < a->cap_max; i++, a->cap_frames++)
		for (uint32_t c = 0; c < a->channels; c++)
			a->cap[a->cap_frames * a->channels + c] = in[c] ? in[c][i] : 0.0f;
}

static const struct pw_filter_events player_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = play,
};

static const struct pw_filter_events capture_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = record,
};

static void on_signal(void *data, int sig)
{
	pw_main_loop_quit(((struct app *)data)->loop);
}

static struct pw_filter *make(struct app *a, const char *name, enum pw_direction dir,
			      const struct pw_filter_events *ev, struct port **ports)
{
	struct pw_filter *f = pw_filter_new_simple(pw_main_loop_get_loop(a->loop), name,
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter",
				  PW_KEY_MEDIA_ROLE, "DSP", PW_KEY_NODE_NAME, name,
				  PW_KEY_NODE_ALWAYS_PROCESS, "true", a->group ? "node.group" : NULL, a->group, NULL), ev, a);
	for (uint32_t c = 0; c < a->channels; c++) {
		char pname[32];
		snprintf(pname, sizeof(pname), "%s_%u", dir == PW_DIRECTION_OUTPUT ? "output" : "input", c);
		ports[c] = pw_filter_add_port(f, dir, PW_FILTER_PORT_FLAG_MAP_BUFFERS, sizeof(struct port),
			pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio", PW_KEY_PORT_NAME, pname, NULL),
			NULL, 0);
	}
	if (pw_filter_connect(f, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
		fprintf(stderr, "gr-signal: cannot connect %s\n", name);
		exit(1);
	}
	return f;
}

int main(int argc, char **argv)
{
	struct app a = { .channels = 2 };
	const char *capture = NULL, *suffix = "";
	double max_s = 60;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--channels") && i + 1 < argc)
			a.channels = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--capture") && i + 1 < argc)
			capture = argv[++i];
		else if (!strcmp(argv[i], "--suffix") && i + 1 < argc)
			suffix = argv[++i];
		else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
			max_s = atof(argv[++i]);
		else if (!strcmp(argv[i], "--group") && i + 1 < argc)
			a.group = argv[++i];
		else {
			fprintf(stderr, "usage: gr-signal [--channels N] [--capture FILE] [--max-seconds S] [--suffix X] [--group G]\n");
			return 2;
		}
	}
	if (a.channels < 1 || a.channels > MAX_CH)
		return 2;
	pw_init(&argc, &argv);
	a.loop = pw_main_loop_new(NULL);
	pw_loop_add_signal(pw_main_loop_get_loop(a.loop), SIGINT, on_signal, &a);
	pw_loop_add_signal(pw_main_loop_get_loop(a.loop), SIGTERM, on_signal, &a);
	char pname[64], cname[64];
	snprintf(pname, sizeof(pname), "gr-player%s", suffix);
	snprintf(cname, sizeof(cname), "gr-capture%s", suffix);
	a.player = make(&a, pname, PW_DIRECTION_OUTPUT, &player_events, a.out);
	if (capture) {
		a.cap_max = (uint64_t)(max_s * 48000);
		a.cap = calloc(a.cap_max * a.channels, sizeof(float));
		a.capture = make(&a, cname, PW_DIRECTION_INPUT, &capture_events, a.in);
	}
	printf("ready\n");
	fflush(stdout);
	pw_main_loop_run(a.loop);
	pw_filter_destroy(a.player);
	if (a.capture)
		pw_filter_destroy(a.capture);
	if (capture) {
		FILE *f = fopen(capture, "wb");
		if (!f || fwrite(a.cap, sizeof(float) * a.channels, a.cap_frames, f) != a.cap_frames) {
			fprintf(stderr, "gr-signal: cannot write %s\n", capture);
			return 1;
		}
		fclose(f);
		fprintf(stderr, "gr-signal: played %llu frames, captured %llu\n", (unsigned long long)a.played,
			(unsigned long long)a.cap_frames);
	}
	free(a.cap);
	pw_main_loop_destroy(a.loop);
	pw_deinit();
	return 0;
}
