/* The node's control channel against a running ghostrec node in a real PipeWire daemon:
 * every request kind, every error path (junk, wrong version, unknown request, bad arguments,
 * oversize, too many frames, a message beyond the transport limit), events on the PUB socket,
 * ring resizing through `set`, and that the node keeps answering and counts the bad requests.
 *
 * usage: control-node-test NODE idle RING_SECONDS     (graph not running: mark times out, no marker)
 *        control-node-test NODE running RING_SECONDS  (node always processing)
 * RING_SECONDS: the ring length the node was configured with (hello must report it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/control.h"
#include "common/marker.h"
#include "common/ring.h"

static int failures;
static void *ctx;
static const char *node;
static double ring_seconds;

#define EXPECT(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	failures++; } } while (0)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *connect_socket(int type, const char *suffix)
{
	char ep[300];
	ghostrec_ctl_endpoint(ep, sizeof(ep), node, suffix);
	void *s = zmq_socket(ctx, type);
	int linger = 0, timeout = 6000;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	if (zmq_connect(s, ep) != 0) {
		printf("FAIL: connect %s: %s\n", ep, zmq_strerror(errno));
		exit(1);
	}
	return s;
}

/* One request on a fresh REQ socket; returns the parsed reply (ok=false, error="none" if no
 * reply came). */
static struct ghostrec_ctl_msg ask_raw(const void *req, size_t len)
{
	struct ghostrec_ctl_msg m;
	ghostrec_ctl_init(&m, GHOSTREC_CTL_INVALID, GHOSTREC_CTL_KIND_UNKNOWN);
	snprintf(m.error, sizeof(m.error), "none");
	void *s = connect_socket(ZMQ_REQ, "ctl");
	char buf[GHOSTREC_CTL_MAX_MSG];
	if (zmq_send(s, req, len, 0) >= 0) {
		int n = zmq_recv(s, buf, sizeof(buf), 0);
		const char *code;
		char err[200];
		if (n > 0 && ghostrec_ctl_parse(buf, (size_t)n, &m, &code, err, sizeof(err)) < 0)
			printf("FAIL: unparsable reply: %.*s (%s)\n", n, buf, err), failures++;
		if (n > 0)
			printf("  <- %.*s\n", n > 300 ? 300 : n, buf);
	}
	zmq_close(s);
	return m;
}

static struct ghostrec_ctl_msg ask(const char *req)
{
	printf("-> %.120s\n", req);
	return ask_raw(req, strlen(req));
}

static void expect_error(const char *req, const char *code)
{
	struct ghostrec_ctl_msg m = ask(req);
	EXPECT(!m.ok && strcmp(m.error, code) == 0, "%.60s: expected error %s, got %s", req, code, m.error);
}

static void check_hello(const struct ghostrec_ctl_msg *m)
{
	/* hello names the ring the reader finds through the locator */
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	EXPECT(ghostrec_ring_reader_open(&r, node) == 0 && ghostrec_ring_reader_info(r, &info) == 0,
	       "no ring for %s", node);
	EXPECT(m->ok && m->kind == GHOSTREC_CTL_HELLO, "hello failed");
	EXPECT(strcmp(m->node, node) == 0 && strcmp(m->shm, info.shm_name) == 0, "hello names %s %s, "
	       "the locator %s", m->node, m->shm, info.shm_name);
	ghostrec_ring_reader_close(r);
	EXPECT(m->rate == 48000 && m->channels == 2 && m->n_channel_map == 2 &&
	       strcmp(m->channel_map[0], "FL") == 0 && strcmp(m->channel_map[1], "FR") == 0,
	       "hello format");
	EXPECT(m->capacity == (uint64_t)(ring_seconds * 48000) && m->ring_seconds == ring_seconds &&
	       m->generation == 1, "hello ring %lu frames (%g s) gen %lu, want %g s",
	       (unsigned long)m->capacity, m->ring_seconds, (unsigned long)m->generation, ring_seconds);
}

static int bad_inputs(void)
{
	int bad = 0;
	expect_error("hello", "parse"), bad++;
	expect_error("{\"ghostrec\":2,\"req\":\"hello\"}", "version"), bad++;
	expect_error("{\"req\":\"hello\"}", "version"), bad++;
	expect_error("{\"ghostrec\":1,\"req\":\"fly\"}", "unknown-request"), bad++;
	expect_error("{\"ghostrec\":1,\"event\":\"marker\"}", "unknown-request"), bad++;
	expect_error("{\"ghostrec\":1,\"req\":\"mark\"}", "bad-argument"), bad++;
	expect_error("{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":-5}", "parse"), bad++;
	expect_error("{\"ghostrec\":1,\"req\":\"set\",\"marker_channels\":[5]}", "bad-argument"), bad++;
	expect_error("{\"ghostrec\":1,\"req\":\"set\",\"ring_seconds\":0}", "bad-argument"), bad++;
	/* Binary junk. */
	struct ghostrec_ctl_msg m = ask_raw("\x00\xff\x01{{", 5);
	EXPECT(!m.ok && strcmp(m.error, "parse") == 0, "binary junk: %s", m.error);
	bad++;
	/* Oversize (but within the transport limit): a clear error. */
	size_t big = GHOSTREC_CTL_MAX_MSG + 1000;
	char *buf = malloc(big);
	memset(buf, ' ', big);
	memcpy(buf, "{\"ghostrec\":1,\"req\":\"hello\"}", 28);
	m = ask_raw(buf, big);
	EXPECT(!m.ok && strcmp(m.error, "too-large") == 0, "oversize: %s", m.error);
	bad++;
	free(buf);
	/* Too many frames, from a DEALER (no REQ envelope rules). */
	void *d = connect_socket(ZMQ_DEALER, "ctl");
	zmq_send(d, "", 0, ZMQ_SNDMORE);
	zmq_send(d, "{}", 2, ZMQ_SNDMORE);
	zmq_send(d, "{}", 2, 0);
	char rep[GHOSTREC_CTL_MAX_MSG];
	int n = zmq_recv(d, rep, sizeof(rep), 0); /* delimiter */
	n = zmq_recv(d, rep, sizeof(rep), 0);
	EXPECT(n > 0 && strstr(rep, "\"error\":\"parse\"") != NULL, "multi-frame junk not rejected");
	bad++;
	zmq_close(d);
	/* Far beyond the transport limit: libzmq drops that peer; the node must not care. */
	big = 256 * 1024;
	buf = calloc(1, big);
	void *s = connect_socket(ZMQ_REQ, "ctl");
	int timeout = 500;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	zmq_send(s, buf, big, 0);
	EXPECT(zmq_recv(s, rep, sizeof(rep), 0) < 0, "huge message got a reply");
	zmq_close(s);
	free(buf);
	return bad;
}

static int wait_event(void *sub, enum ghostrec_ctl_kind kind, struct ghostrec_ctl_msg *out)
{
	char buf[GHOSTREC_CTL_MAX_MSG];
	for (int i = 0; i < 50; i++) {
		int n = zmq_recv(sub, buf, sizeof(buf), 0);
		if (n < 0)
			return -1;
		const char *code;
		char err[200];
		if (ghostrec_ctl_parse(buf, (size_t)n, out, &code, err, sizeof(err)) == 0 &&
		    out->type == GHOSTREC_CTL_EVENT && out->kind == kind) {
			printf("  event: %.*s\n", n, buf);
			return 0;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s NODE idle|running RING_SECONDS\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	node = argv[1];
	ring_seconds = atof(argv[3]);
	bool running = strcmp(argv[2], "running") == 0;
	ctx = zmq_ctx_new();
	void *sub = connect_socket(ZMQ_SUB, "evt");
	usleep(200 * 1000); /* PUB/SUB: let the subscription arrive before events are sent */

	struct ghostrec_ctl_msg m = ask("{\"ghostrec\":1,\"req\":\"hello\",\"seq\":1}");
	check_hello(&m);
	EXPECT(m.seq == 1, "seq not echoed");

	if (!running) {
		/* Nothing drives the node: the mark must come back as a timeout, no marker written. */
		double t0 = now();
		m = ask("{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":7}");
		double dt = now() - t0;
		printf("mark on an idle graph answered after %.2f s\n", dt);
		EXPECT(!m.ok && strcmp(m.error, "timeout") == 0, "idle mark: %s", m.error);
		EXPECT(dt > GHOSTREC_CTL_MARK_TIMEOUT_MS / 1000.0 - 0.1 && dt < 5.0, "timeout took %.2f s", dt);
		struct ghostrec_ring_reader *r;
		uint64_t total = 1;
		struct ghostrec_ring_marker mk[4];
		if (ghostrec_ring_reader_open(&r, node) == 0) {
			ghostrec_ring_reader_markers(r, mk, 4, &total);
			ghostrec_ring_reader_close(r);
		}
		EXPECT(total == 0, "a marker was recorded on an idle graph");
		zmq_close(sub);
		zmq_ctx_term(ctx);
		printf("%s\n", failures ? "FAILED" : "PASSED");
		return failures ? 1 : 0;
	}

	int bad = bad_inputs();

	/* Settings. */
	m = ask("{\"ghostrec\":1,\"req\":\"set\",\"marker_amplitude\":0.5,\"marker_channels\":[1]}");
	EXPECT(m.ok && m.marker_amplitude == 0.5 && m.n_marker_channels == 1 && m.marker_channels[0] == 1,
	       "set marker settings");

	/* A mark while running: reply with the frame, marker event, table entry on channel 1 only. */
	m = ask("{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":99,\"seq\":5}");
	EXPECT(m.ok && m.take_id == 99 && m.seq == 5 && (m.has & GHOSTREC_CTL_F_FRAME) &&
	       m.n_marker_channels == 1 && m.marker_channels[0] == 1, "running mark");
	uint64_t frame = m.frame;
	struct ghostrec_ctl_msg ev;
	EXPECT(wait_event(sub, GHOSTREC_CTL_EV_MARKER, &ev) == 0 && ev.take_id == 99 && ev.frame == frame,
	       "no marker event");

	/* Several marks queued at once (from different sockets, so in any order) are all answered,
	 * each with its own marker, none overlapping another. */
	void *reqs[4];
	for (int i = 0; i < 4; i++) {
		reqs[i] = connect_socket(ZMQ_REQ, "ctl");
		char req[100];
		snprintf(req, sizeof(req), "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":%d}", 200 + i);
		zmq_send(reqs[i], req, strlen(req), 0);
	}
	uint64_t frames[4] = { 0 };
	uint64_t last = frame;
	for (int i = 0; i < 4; i++) {
		char buf[GHOSTREC_CTL_MAX_MSG];
		int n = zmq_recv(reqs[i], buf, sizeof(buf), 0);
		const char *code;
		char err[200];
		EXPECT(n > 0 && ghostrec_ctl_parse(buf, (size_t)n, &m, &code, err, sizeof(err)) == 0 &&
		       m.ok && m.take_id == (uint32_t)(200 + i) && m.frame >= frame + GHOSTREC_MARKER_FRAMES,
		       "queued mark %d", i);
		frames[i] = m.frame;
		if (m.frame > last)
			last = m.frame;
		zmq_close(reqs[i]);
	}
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			EXPECT(i == j || frames[i] >= frames[j] + GHOSTREC_MARKER_FRAMES ||
			       frames[j] >= frames[i] + GHOSTREC_MARKER_FRAMES,
			       "markers %d and %d overlap (%lu, %lu)", i, j, (unsigned long)frames[i],
			       (unsigned long)frames[j]);

	/* Resize the ring: new shm object, new generation, format event, readers follow. */
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info, before;
	EXPECT(ghostrec_ring_reader_open(&r, node) == 0 && ghostrec_ring_reader_info(r, &before) == 0,
	       "open ring");
	m = ask("{\"ghostrec\":1,\"req\":\"set\",\"ring_seconds\":2}");
	EXPECT(m.ok && m.capacity == 96000 && m.generation == 2 && m.ring_seconds == 2, "resize reply");
	EXPECT(wait_event(sub, GHOSTREC_CTL_EV_FORMAT, &ev) == 0 && ev.generation == 2 &&
	       ev.capacity == 96000, "no format event");
	EXPECT(ghostrec_ring_reader_info(r, &info) == 0 && info.generation == 2 &&
	       info.capacity == 96000 && info.write_frame >= last && info.instance == before.instance,
	       "reader did not follow the resize (or the instance changed)");
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	uint64_t total;
	size_t nm = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, &total);
	EXPECT(total == 5 && nm == 5 && mk[0].take_id == 99 && mk[0].channel == 1 && mk[0].frame == frame,
	       "marker table after resize: %zu entries", nm);
	usleep(300 * 1000);
	float buf[256];
	EXPECT(ghostrec_ring_reader_info(r, &info) == 0 && info.write_frame > info.gen_start_frame + 256 &&
	       ghostrec_ring_read(r, 2, 0, info.write_frame - 256, buf, 256) == GHOSTREC_RING_OK,
	       "new ring is not being written");
	ghostrec_ring_reader_close(r);

	/* Still alive, and it counted every bad request. */
	m = ask("{\"ghostrec\":1,\"req\":\"status\"}");
	EXPECT(m.ok && m.kind == GHOSTREC_CTL_STATUS && m.cycles > 0 && m.markers == 5 &&
	       m.bad_requests == (uint64_t)bad, "status: cycles %lu markers %lu bad %lu (sent %d)",
	       (unsigned long)m.cycles, (unsigned long)m.markers, (unsigned long)m.bad_requests, bad);

	zmq_close(sub);
	zmq_ctx_term(ctx);
	printf("%s\n", failures ? "FAILED" : "PASSED");
	return failures ? 1 : 0;
}
