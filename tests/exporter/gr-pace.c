/* Test and bench helper: paces a freewheeling PipeWire graph at SPEED times real time (a freewheel graph
 * otherwise runs as fast as it completes, faster than a journal can be written). A filter node
 * without ports in the freewheel group that, every cycle, sleeps until the graph's frames are no
 * further ahead of the clock than SPEED allows. After a stall (more than PACE_MAX_LATE_S behind) it
 * goes on at SPEED from there: a stalled graph never runs in a burst.
 *   gr-pace SPEED      (stops on SIGTERM/SIGINT) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pipewire/filter.h>
#include <pipewire/pipewire.h>

/* How far behind the schedule the graph may fall before the schedule moves instead (s). */
#define PACE_MAX_LATE_S 0.05

struct app {
	struct pw_main_loop *loop;
	struct pw_filter *f;
	double speed;
	uint64_t frames;
	struct timespec t0;
	int started;
};

static void process(void *data, struct spa_io_position *position)
{
	struct app *a = data;
	if (!position)
		return;
	if (!a->started) {
		clock_gettime(CLOCK_MONOTONIC, &a->t0);
		a->started = 1;
	}
	a->frames += position->clock.duration;
	uint32_t rate = position->clock.rate.denom ? position->clock.rate.denom : 48000;
	double due = (double)a->frames / rate / a->speed;
	struct timespec t = a->t0;
	t.tv_sec += (time_t)due;
	t.tv_nsec += (long)((due - (double)(time_t)due) * 1e9);
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double late = (double)(now.tv_sec - t.tv_sec) + (double)(now.tv_nsec - t.tv_nsec) * 1e-9;
	if (late > PACE_MAX_LATE_S) {
		/* the graph stalled (a busy machine): go on at SPEED from here instead of racing to
		 * catch up, which would overrun the ring readers */
		a->t0.tv_sec += (time_t)late;
		a->t0.tv_nsec += (long)((late - (double)(time_t)late) * 1e9);
		if (a->t0.tv_nsec >= 1000000000L) {
			a->t0.tv_sec++;
			a->t0.tv_nsec -= 1000000000L;
		}
		return;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}

static const struct pw_filter_events events = {
	PW_VERSION_FILTER_EVENTS,
	.process = process,
};

static void on_signal(void *data, int sig)
{
	(void)sig;
	pw_main_loop_quit(((struct app *)data)->loop);
}

int main(int argc, char **argv)
{
	struct app a = { .speed = argc > 1 ? atof(argv[1]) : 0 };
	if (!(a.speed > 0)) {
		fprintf(stderr, "usage: gr-pace SPEED\n");
		return 2;
	}
	pw_init(&argc, &argv);
	a.loop = pw_main_loop_new(NULL);
	pw_loop_add_signal(pw_main_loop_get_loop(a.loop), SIGINT, on_signal, &a);
	pw_loop_add_signal(pw_main_loop_get_loop(a.loop), SIGTERM, on_signal, &a);
	a.f = pw_filter_new_simple(pw_main_loop_get_loop(a.loop), "gr-pace",
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Filter",
				  PW_KEY_MEDIA_ROLE, "DSP", PW_KEY_NODE_NAME, "gr-pace",
				  PW_KEY_NODE_ALWAYS_PROCESS, "true", "node.group", "pipewire.freewheel", NULL),
		&events, &a);
	if (pw_filter_connect(a.f, PW_FILTER_FLAG_RT_PROCESS, NULL, 0) < 0) {
		fprintf(stderr, "gr-pace: cannot connect\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	pw_main_loop_run(a.loop);
	pw_filter_destroy(a.f);
	pw_main_loop_destroy(a.loop);
	pw_deinit();
	return 0;
}
