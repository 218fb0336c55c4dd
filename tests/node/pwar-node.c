/* A node shaped like PWAR's Linux side (ripxorip/PWAR linux/libpwar.c): a pw_filter named
 * `pwar` (media Audio / Filter / DSP) with ONE input port `input` and the outputs
 * `output-left` and `output-right`, none with audio.channel. It copies its input to both
 * outputs (PWAR's passthrough) and counts the cycles it ran. For placement and graph tests.
 * usage: pwar-node [NAME]    (runs until SIGINT/SIGTERM) */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <pipewire/filter.h>
#include <pipewire/pipewire.h>

struct data {
	struct pw_main_loop *loop;
	struct pw_filter *filter;
	void *in, *left, *right;
	unsigned long cycles;
};

static void on_process(void *userdata, struct spa_io_position *position)
{
	struct data *d = userdata;
	uint32_t n = position ? (uint32_t)position->clock.duration : 0;
	const float *in = pw_filter_get_dsp_buffer(d->in, n);
	float *l = pw_filter_get_dsp_buffer(d->left, n), *r = pw_filter_get_dsp_buffer(d->right, n);
	for (uint32_t i = 0; i < n; i++) {
		float v = in ? in[i] : 0.0f;
		if (l)
			l[i] = v;
		if (r)
			r[i] = v;
	}
	d->cycles++;
}

static const struct pw_filter_events filter_events = {
	PW_VERSION_FILTER_EVENTS,
	.process = on_process,
};

static void on_quit(void *userdata, int sig)
{
	(void)sig;
	struct data *d = userdata;
	pw_main_loop_quit(d->loop);
}

static void *port(struct data *d, enum pw_direction dir, const char *name)
{
	return pw_filter_add_port(d->filter, dir, PW_FILTER_PORT_FLAG_MAP_BUFFERS, 0,
		pw_properties_new(PW_KEY_FORMAT_DSP, "32 bit float mono audio", PW_KEY_PORT_NAME, name, NULL), NULL, 0);
}

int main(int argc, char **argv)
{
	struct data d;
	memset(&d, 0, sizeof(d));
	const char *name = argc > 1 ? argv[1] : "pwar";
	pw_init(&argc, &argv);
	d.loop = pw_main_loop_new(NULL);
	pw_loop_add_signal(pw_main_loop_get_loop(d.loop), SIGINT, on_quit, &d);
	pw_loop_add_signal(pw_main_loop_get_loop(d.loop), SIGTERM, on_quit, &d);
	d.filter = pw_filter_new_simple(pw_main_loop_get_loop(d.loop), name,
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter", PW_KEY_MEDIA_ROLE, "DSP",
				  NULL),
		&filter_events, &d);
	d.in = port(&d, PW_DIRECTION_INPUT, "input");
	d.left = port(&d, PW_DIRECTION_OUTPUT, "output-left");
	d.right = port(&d, PW_DIRECTION_OUTPUT, "output-right");
	if (pw_filter_connect(d.filter, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
		fprintf(stderr, "pwar-node: cannot connect\n");
		return 1;
	}
	pw_main_loop_run(d.loop);
	fprintf(stderr, "pwar-node: ran %lu cycles\n", d.cycles);
	pw_filter_destroy(d.filter);
	pw_main_loop_destroy(d.loop);
	pw_deinit();
	return 0;
}
