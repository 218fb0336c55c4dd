/* A held mark while the whole PipeWire daemon is frozen (SIGSTOP ... SIGCONT): the node must
 * still answer it, and the answer must agree with what the node wrote:
 *   - ok: the reply's frame is the frame of this take's entries in the shm marker table (one per
 *     marked channel, nothing else for this take), and the marker event says the same;
 *   - "timeout": no marker table entry for this take.
 * The time the daemon spent stopped does not count towards the mark timeout (the graph had no
 * chance to run the node either), so:
 *   running: the graph runs the node (always-process): every frozen mark comes back ok, whether
 *            the daemon was stopped before the request arrived or just after it was handed over;
 *   idle:    nothing drives the node: the reply is "timeout", and it comes only after the node
 *            has waited the timeout while running, not at once on SIGCONT.
 *
 * usage: mark-freeze-test NODE DAEMON_PID running|idle ROUNDS
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/control.h"
#include "common/ring.h"

static int failures;
static pid_t daemon_pid;

#define EXPECT(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	failures++; } } while (0)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void resume_daemon(void)
{
	kill(daemon_pid, SIGCONT);
}

static void *open_socket(void *ctx, int type, const char *node, const char *suffix)
{
	char ep[300];
	ghostrec_ctl_endpoint(ep, sizeof(ep), node, suffix);
	void *s = zmq_socket(ctx, type);
	int linger = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	if (zmq_connect(s, ep) != 0) {
		printf("FAIL: connect %s: %s\n", ep, zmq_strerror(errno));
		exit(1);
	}
	return s;
}

/* Next message of `kind` on sock within `seconds` (DEALER replies come after an empty frame). */
static int receive(void *sock, enum ghostrec_ctl_kind kind, enum ghostrec_ctl_type type,
		   double seconds, struct ghostrec_ctl_msg *out)
{
	double deadline = now() + seconds;
	char buf[GHOSTREC_CTL_MAX_MSG];
	for (;;) {
		int left = (int)((deadline - now()) * 1000);
		if (left <= 0)
			return -ETIMEDOUT;
		zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&item, 1, left) <= 0)
			continue;
		int n = zmq_recv(sock, buf, sizeof(buf), ZMQ_DONTWAIT);
		if (n <= 0)
			continue;
		const char *code;
		char err[200];
		if (n <= (int)sizeof(buf) &&
		    ghostrec_ctl_parse(buf, (size_t)n, out, &code, err, sizeof(err)) == 0 &&
		    out->type == type && out->kind == kind) {
			printf("  <- %.*s\n", n > 200 ? 200 : n, buf);
			return 0;
		}
	}
}

static void send_mark(void *dealer, uint32_t take_id, uint64_t seq)
{
	char req[128];
	int len = snprintf(req, sizeof(req), "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":%u,\"seq\":%lu}",
			   take_id, (unsigned long)seq);
	zmq_send(dealer, "", 0, ZMQ_SNDMORE);
	zmq_send(dealer, req, (size_t)len, 0);
}

/* This take's entries in the marker table: how many, and whether all are at `frame`. */
static size_t table_entries(const char *node, uint32_t take_id, uint64_t frame, bool *all_at_frame)
{
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	size_t found = 0;
	*all_at_frame = true;
	if (ghostrec_ring_reader_open(&r, node) != 0) {
		printf("FAIL: cannot open the ring of %s\n", node);
		failures++;
		return 0;
	}
	size_t n = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, NULL);
	for (size_t i = 0; i < n; i++) {
		if (mk[i].take_id != take_id)
			continue;
		found++;
		if (mk[i].frame != frame)
			*all_at_frame = false;
	}
	ghostrec_ring_reader_close(r);
	return found;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s NODE DAEMON_PID running|idle ROUNDS\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *node = argv[1];
	daemon_pid = (pid_t)atol(argv[2]);
	bool running = strcmp(argv[3], "running") == 0;
	int rounds = atoi(argv[4]);
	atexit(resume_daemon); /* never leave the daemon stopped */
	const double timeout = GHOSTREC_CTL_MARK_TIMEOUT_MS / 1000.0;
	const double freeze = timeout + 1.0;

	void *ctx = zmq_ctx_new();
	void *dealer = open_socket(ctx, ZMQ_DEALER, node, "ctl");
	void *sub = open_socket(ctx, ZMQ_SUB, node, "evt");
	sleep_s(0.2); /* PUB/SUB: the subscription must arrive before the first event */
	srand((unsigned)getpid());

	for (int i = 0; i < rounds; i++) {
		uint32_t take_id = 5000u + (uint32_t)i;
		/* Even rounds: stopped before the request arrives (it waits in the socket).
		 * Odd rounds: stopped a few ms after it was sent, mostly after the node handed it to
		 * process() and before the graph ran it. */
		bool stop_first = i % 2 == 0;
		double hold = running ? 0.002 + 0.002 * (rand() % 10) : 0.5;
		struct ghostrec_ctl_msg rep, ev;
		if (stop_first) {
			kill(daemon_pid, SIGSTOP);
			send_mark(dealer, take_id, (uint64_t)i);
		} else {
			send_mark(dealer, take_id, (uint64_t)i);
			sleep_s(hold);
			kill(daemon_pid, SIGSTOP);
		}
		sleep_s(freeze);
		double resumed = now();
		kill(daemon_pid, SIGCONT);
		printf("round %d: take %u, daemon stopped %s for %.1f s\n", i, take_id,
		       stop_first ? "before the request" : "after the request", freeze);
		int res = receive(dealer, GHOSTREC_CTL_MARK, GHOSTREC_CTL_REPLY, 3 * timeout + 2, &rep);
		double after = now() - resumed;
		EXPECT(res == 0, "round %d: no reply to the held mark within %.0f s of SIGCONT", i,
		       3 * timeout + 2);
		if (res != 0)
			continue;
		printf("  answered %.3f s after SIGCONT\n", after);
		EXPECT(rep.take_id == take_id || !rep.ok, "round %d: reply for take %u", i, rep.take_id);
		EXPECT((rep.has & GHOSTREC_CTL_F_SEQ) && rep.seq == (uint64_t)i, "round %d: seq", i);
		bool at_frame;
		if (rep.ok) {
			size_t n = table_entries(node, take_id, rep.frame, &at_frame);
			EXPECT(n == rep.n_marker_channels && n > 0 && at_frame,
			       "round %d: reply frame %lu but %zu table entries for the take (at that frame: %s)",
			       i, (unsigned long)rep.frame, n, at_frame ? "yes" : "no");
			EXPECT(receive(sub, GHOSTREC_CTL_EV_MARKER, GHOSTREC_CTL_EVENT, 2, &ev) == 0 &&
			       ev.take_id == take_id && ev.frame == rep.frame,
			       "round %d: no marker event matching the reply", i);
		} else {
			EXPECT(strcmp(rep.error, "timeout") == 0, "round %d: error %s", i, rep.error);
			EXPECT(table_entries(node, take_id, 0, &at_frame) == 0,
			       "round %d: timeout reply, but the marker table has the take", i);
		}
		if (running)
			EXPECT(rep.ok, "round %d: the graph runs the node, but the mark came back %s (%s)",
			       i, rep.error, rep.message);
		else
			/* The node waits the whole timeout while it runs: the frozen time does not count
			 * (minus what it waited before the freeze and one tick's worth of the gap). */
			EXPECT(!rep.ok && after > timeout - hold - 0.5,
			       "round %d: idle graph answered %.3f s after SIGCONT, want a timeout after "
			       "about %.1f s", i, after, timeout - (stop_first ? 0 : hold));
	}
	zmq_close(dealer);
	zmq_close(sub);
	zmq_ctx_term(ctx);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}
