/* How often the ghostrec node wakes PipeWire's main loop, counted from outside: the voluntary
 * context switches of the daemon's main thread (/proc/PID/task/PID/status), i.e. how often it
 * went to sleep in its poll and was woken again.
 *   1. idle (no mark pending): 0 wake-ups in WINDOW_S seconds, after the daemon has gone quiet
 *      (a node command makes the node look at the ring for a bounded time);
 *   2. while marks are pending (one after the other on one socket for WINDOW_S seconds): at most
 *      one wake-up per timer tick of the node (BUSY_TICK_MS) plus a few per request (its
 *      arrival, the reply), and every mark is answered;
 *   3. idle again afterwards: 0 (the timer stops once no mark is pending).
 * "Quiet" (a second without a wake-up) is waited for before each idle window, at most
 * QUIET_TRIES seconds: clients that just disconnected (pw-cli, the mark sockets) wake the main
 * loop a few times, and a node command makes the node look at the ring for a bounded time.
 * Nothing else talks to the daemon meanwhile (a private headless PipeWire, tests/lib/pw-env.sh).
 *
 * usage: wakeup-test NODE PIPEWIRE_PID idle|running
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/control.h"

#define WINDOW_S 5
#define QUIET_TRIES 20
/* The node's busy tick (spa-plugin/tap-control.c BUSY_TICK_NS). */
#define BUSY_TICK_MS 5

static int failures;
#define EXPECT(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	failures++; } } while (0)

static int pw_pid;

static long wakeups(void)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pw_pid, pw_pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wake-ups of the main thread during `seconds` of doing nothing here. */
static long idle_window(double seconds)
{
	long a = wakeups();
	struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
	nanosleep(&ts, NULL);
	long b = wakeups();
	return a < 0 || b < 0 ? -1 : b - a;
}

/* Waits until a whole second passes without a wake-up (the settle time after a node command is
 * bounded); returns false if that never happens. */
static bool wait_quiet(void)
{
	for (int i = 0; i < QUIET_TRIES; i++)
		if (idle_window(1.0) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s NODE PIPEWIRE_PID idle|running\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *node = argv[1];
	pw_pid = atoi(argv[2]);
	bool running = strcmp(argv[3], "running") == 0;
	if (wakeups() < 0) {
		printf("FAIL: cannot read the context switches of PID %d\n", pw_pid);
		return 1;
	}

	/* 1. idle */
	EXPECT(wait_quiet(), "the daemon's main thread never stayed asleep for a second");
	long idle = idle_window(WINDOW_S);
	printf("idle, no mark pending: %ld main-loop wake-ups in %d s\n", idle, WINDOW_S);
	EXPECT(idle == 0, "an idle node woke the main loop %ld times in %d s", idle, WINDOW_S);

	/* 2. marks pending, one after the other */
	char ep[320], buf[GHOSTREC_CTL_MAX_MSG];
	ghostrec_ctl_endpoint(ep, sizeof(ep), node, "ctl");
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	int linger = 0, ms = 3 * GHOSTREC_CTL_MARK_TIMEOUT_MS;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof(ms));
	zmq_connect(s, ep);
	/* one socket for every mark: connecting is not what is counted */
	char req[100];
	snprintf(req, sizeof(req), "{\"ghostrec\":1,\"req\":\"hello\"}");
	zmq_send(s, req, strlen(req), 0);
	EXPECT(zmq_recv(s, buf, sizeof(buf), 0) > 0, "no hello reply");
	EXPECT(wait_quiet(), "the daemon's main thread did not go quiet after hello");
	long before = wakeups();
	double t0 = now(), t1 = t0;
	int marks = 0, answered = 0, timeouts = 0;
	while (t1 - t0 < WINDOW_S) {
		snprintf(req, sizeof(req), "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":%d}", 500 + marks);
		zmq_send(s, req, strlen(req), 0);
		marks++;
		int n = zmq_recv(s, buf, sizeof(buf), 0);
		struct ghostrec_ctl_msg m;
		const char *code;
		char err[200];
		if (n > 0 && ghostrec_ctl_parse(buf, (size_t)n, &m, &code, err, sizeof(err)) == 0 &&
		    m.kind == GHOSTREC_CTL_MARK) {
			answered++;
			if (!m.ok && strcmp(m.error, "timeout") == 0)
				timeouts++;
		} else {
			break; /* a REQ socket without its reply cannot send again */
		}
		t1 = now();
	}
	long busy = wakeups() - before;
	double bound = (t1 - t0) * 1000.0 / BUSY_TICK_MS * 1.25 + 4.0 * marks + 10.0;
	printf("marks pending for %.2f s (%d marks, %d answered, %d timed out): %ld main-loop "
	       "wake-ups (bound %.0f)\n", t1 - t0, marks, answered, timeouts, busy, bound);
	EXPECT(answered == marks, "%d of %d marks unanswered", marks - answered, marks);
	EXPECT(running ? timeouts == 0 : timeouts == marks, "%d timeouts (graph %s)", timeouts,
	       running ? "running" : "idle");
	EXPECT(busy > 0, "no wake-ups while marks were pending: the count does not see the node");
	EXPECT(busy <= (long)bound, "%ld wake-ups while marks were pending, more than %.0f", busy,
	       bound);
	zmq_close(s);
	zmq_ctx_term(ctx);

	/* 3. idle again (once the closed sockets' teardown has woken it for the last time) */
	EXPECT(wait_quiet(), "the node kept waking the main loop after the last mark");
	long after = idle_window(WINDOW_S);
	printf("idle again: %ld main-loop wake-ups in %d s\n", after, WINDOW_S);
	EXPECT(after == 0, "the node kept waking the main loop after the last mark (%ld in %d s)",
	       after, WINDOW_S);

	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}
