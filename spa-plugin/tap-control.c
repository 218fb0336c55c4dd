/* ghostrec.tap control channel (protocol: common/control.h), serviced on PipeWire's main loop.
 *
 * - ZMQ_ROUTER at <dir>/<node>.ctl: the ZMQ_FD is added to the main loop with loop utils.
 *   ZeroMQ's fd is edge-triggered, so every wakeup drains the socket until ZMQ_EVENTS has no
 *   POLLIN, and the timer drains too (a send can swallow an edge).
 * - ZMQ_PUB at <dir>/<node>.evt for events.
 * - process() never wakes the main loop itself: that would need a syscall (eventfd write) on
 *   the real-time thread. So what process() did is looked at when the main loop runs anyway,
 *   and a main-loop timer runs only while something is expected of process():
 *     busy    a mark is pending: every BUSY_TICK_NS until it is answered (marker written or
 *             timed out after GHOSTREC_CTL_MARK_TIMEOUT_MS), then the timer stops;
 *     settle  after a node command (start, pause, suspend: how PipeWire restarts a node, also
 *             for a graph rate change): every SETTLE_TICK_NS until process() has run
 *             SETTLE_CYCLES cycles and the ring matches the graph's rate, at most SETTLE_TICKS
 *             times;
 *     off     otherwise: an idle node costs the main loop nothing (tests/node/wakeup-test).
 *   Every timer tick and every request also looks at the ring: a new generation is published
 *   as a `format` event, a rate change resizes the ring. Xruns and overruns are not polled for:
 *   they are counters in the shm ring that readers watch themselves (common/control.h).
 */
#include "tap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "common/rundir.h"

#define BUSY_TICK_NS (5ull * 1000 * 1000)
#define SETTLE_TICK_NS (50ull * 1000 * 1000)
#define SETTLE_TICKS 40u
#define SETTLE_CYCLES 2u
#define MAX_RECV_BYTES (64 * 1024)  /* bigger messages make libzmq drop the peer */
#define MAX_IDENTITY 256
#define MAX_FRAMES 4
/* Longest gap between two checks of a pending mark that counts as waiting for the graph. Checks
 * come every BUSY_TICK_NS; a much longer gap means this process itself was not running (the
 * daemon was stopped with SIGSTOP, the machine was suspended): the graph had no chance to run
 * the node either, so that time must not use up the mark's timeout. */
#define MAX_WAIT_STEP_NS (250ull * 1000 * 1000)

struct pending_mark {
	uint8_t identity[MAX_IDENTITY];
	size_t identity_len;
	bool delimiter;
	bool has_seq;
	uint64_t seq;
	uint32_t take_id;
};

struct tap_control {
	struct tap *tap;
	void *ctx;
	void *router;
	void *pub;
	struct spa_source *router_source;
	struct spa_source *timer;
	enum { TICK_OFF, TICK_SETTLE, TICK_BUSY } tick;
	bool flooded;           /* drain() left messages for the next tick */
	uint32_t settle_left;   /* settle ticks still allowed */
	uint64_t settle_cycles; /* process() cycles when settling began */

	struct pending_mark queue[GHOSTREC_CTL_MAX_PENDING_MARKS];
	uint32_t head, count;
	bool handed;            /* queue[head] is in tap->mark */
	uint64_t waited_ns;     /* how long queue[head] has waited while this process ran */
	uint64_t last_check_ns;

	uint64_t last_generation;
	uint64_t bad_requests;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Arms the timer for what is expected of process() now (see the top of this file). */
static void update_tick(struct tap_control *ctl)
{
	if (ctl->timer == NULL)
		return;
	int tick = ctl->count > 0 || ctl->flooded ? TICK_BUSY :
		   ctl->settle_left > 0 ? TICK_SETTLE : TICK_OFF;
	if (tick == (int)ctl->tick)
		return;
	ctl->tick = tick;
	if (tick == TICK_OFF) {
		spa_loop_utils_update_timer(ctl->tap->main_utils, ctl->timer, NULL, NULL, false);
		return;
	}
	uint64_t ns = tick == TICK_BUSY ? BUSY_TICK_NS : SETTLE_TICK_NS;
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	spa_loop_utils_update_timer(ctl->tap->main_utils, ctl->timer, &ts, &ts, false);
}

/* ---- sending ---- */

static void send_reply(struct tap_control *ctl, const void *identity, size_t identity_len,
		       bool delimiter, const char *body, int len)
{
	if (len < 0)
		return;
	/* ROUTER drops messages to peers that went away; DONTWAIT so a stuck peer never blocks. */
	if (zmq_send(ctl->router, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return;
	if (delimiter)
		zmq_send(ctl->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(ctl->router, body, (size_t)len, ZMQ_DONTWAIT);
}

static void publish(struct tap_control *ctl, const struct ghostrec_ctl_msg *m)
{
	char buf[GHOSTREC_CTL_MAX_MSG];
	int len = ghostrec_ctl_build(buf, sizeof(buf), m);
	if (len > 0 && ctl->pub)
		zmq_send(ctl->pub, buf, (size_t)len, ZMQ_DONTWAIT);
}

static void fill_marker_channels(struct ghostrec_ctl_msg *m, uint32_t mask, uint32_t n_channels)
{
	m->has |= GHOSTREC_CTL_F_MARKER_CHANNELS;
	m->n_marker_channels = 0;
	for (uint32_t c = 0; c < n_channels; c++)
		if (mask & (1u << c))
			m->marker_channels[m->n_marker_channels++] = c;
}

static void fill_hello(struct tap *t, struct ghostrec_ctl_msg *m)
{
	const struct ghostrec_ring_header *h = t->ring.hdr;
	m->has |= GHOSTREC_CTL_F_OK | GHOSTREC_CTL_F_NODE | GHOSTREC_CTL_F_SHM | GHOSTREC_CTL_F_RATE |
		  GHOSTREC_CTL_F_CHANNELS | GHOSTREC_CTL_F_CHANNEL_MAP | GHOSTREC_CTL_F_CAPACITY |
		  GHOSTREC_CTL_F_GENERATION | GHOSTREC_CTL_F_WRITE_FRAME |
		  GHOSTREC_CTL_F_MARKER_AMPLITUDE | GHOSTREC_CTL_F_RING_SECONDS;
	m->ok = true;
	snprintf(m->node, sizeof(m->node), "%s", t->node_name);
	snprintf(m->shm, sizeof(m->shm), "%s", t->ring.shm_name);
	m->rate = atomic_load(&h->rate);
	m->channels = h->channels;
	m->n_channel_map = t->n_channels;
	for (uint32_t c = 0; c < t->n_channels; c++)
		snprintf(m->channel_map[c], sizeof(m->channel_map[c]), "%s", t->in_ports[c].channel);
	m->capacity = h->capacity;
	m->generation = atomic_load(&h->generation);
	m->write_frame = atomic_load(&h->write_frame);
	m->marker_amplitude = t->marker_amplitude;
	m->ring_seconds = t->ring_seconds;
	fill_marker_channels(m, t->marker_channel_mask, t->n_channels);
}

static void fill_status(struct tap_control *ctl, struct ghostrec_ctl_msg *m)
{
	struct ghostrec_ring_counter_values v;
	fill_hello(ctl->tap, m);
	ghostrec_ring_counters_load(ctl->tap->ring.hdr, &v);
	m->has |= GHOSTREC_CTL_F_CYCLES | GHOSTREC_CTL_F_XRUNS | GHOSTREC_CTL_F_MAX_PROCESS_NS |
		  GHOSTREC_CTL_F_OVERRUNS | GHOSTREC_CTL_F_FORMAT_CHANGES | GHOSTREC_CTL_F_MARKERS |
		  GHOSTREC_CTL_F_BAD_REQUESTS | GHOSTREC_CTL_F_QUANTUM;
	m->cycles = v.cycles;
	m->xruns = v.xruns;
	m->max_process_ns = v.max_process_ns;
	m->overruns = v.overruns;
	m->format_changes = v.format_changes;
	m->markers = v.markers;
	m->bad_requests = ctl->bad_requests;
	m->quantum = v.last_quantum;
}

/* ---- marks: main thread side of the marker slot (see tap.h) ---- */

static void hand_to_rt(struct tap_control *ctl)
{
	struct tap *t = ctl->tap;
	struct pending_mark *p = &ctl->queue[ctl->head];
	struct tap_mark_slot *m = &t->mark;
	for (uint32_t c = 0; c < t->n_channels; c++) {
		struct ghostrec_marker mk = { .take_id = p->take_id, .channel = (uint8_t)c };
		ghostrec_marker_symbols(&mk, m->symbols[c]);
	}
	m->take_id = p->take_id;
	m->channel_mask = t->marker_channel_mask;
	m->amplitude = t->marker_amplitude;
	m->offset = 0;
	atomic_store_explicit(&m->state, TAP_MARK_REQUESTED, memory_order_release);
	ctl->handed = true;
	ctl->waited_ns = 0;
	ctl->last_check_ns = monotonic_ns();
}

static void pop_mark(struct tap_control *ctl)
{
	ctl->head = (ctl->head + 1) % GHOSTREC_CTL_MAX_PENDING_MARKS;
	ctl->count--;
	ctl->handed = false;
	atomic_store_explicit(&ctl->tap->mark.state, TAP_MARK_IDLE, memory_order_release);
	if (ctl->count > 0)
		hand_to_rt(ctl);
}

static void reply_mark_error(struct tap_control *ctl, const struct pending_mark *p,
			     const char *code, const char *message)
{
	char buf[GHOSTREC_CTL_MAX_MSG];
	int len = ghostrec_ctl_build_error(buf, sizeof(buf), GHOSTREC_CTL_MARK, p->seq, p->has_seq,
					   code, message);
	send_reply(ctl, p->identity, p->identity_len, p->delimiter, buf, len);
}

static void check_mark(struct tap_control *ctl)
{
	struct tap *t = ctl->tap;
	if (ctl->count == 0 || !ctl->handed)
		return;
	struct pending_mark *p = &ctl->queue[ctl->head];
	struct tap_mark_slot *slot = &t->mark;
	uint32_t state = atomic_load_explicit(&slot->state, memory_order_acquire);
	uint64_t now = monotonic_ns(), step = now - ctl->last_check_ns;
	ctl->last_check_ns = now;
	ctl->waited_ns += step < MAX_WAIT_STEP_NS ? step : MAX_WAIT_STEP_NS;
	uint64_t waited = ctl->waited_ns;
	uint64_t timeout = (uint64_t)GHOSTREC_CTL_MARK_TIMEOUT_MS * 1000000ull;

	if (state == TAP_MARK_DONE) {
		struct ghostrec_ctl_msg m;
		char buf[GHOSTREC_CTL_MAX_MSG];
		ghostrec_ctl_init(&m, GHOSTREC_CTL_REPLY, GHOSTREC_CTL_MARK);
		m.has = GHOSTREC_CTL_F_OK | GHOSTREC_CTL_F_TAKE_ID | GHOSTREC_CTL_F_FRAME |
			GHOSTREC_CTL_F_GENERATION;
		m.ok = true;
		m.take_id = slot->take_id;
		m.frame = slot->frame;
		m.generation = slot->generation;
		fill_marker_channels(&m, slot->channel_mask, t->n_channels);
		if (p->has_seq) {
			m.has |= GHOSTREC_CTL_F_SEQ;
			m.seq = p->seq;
		}
		send_reply(ctl, p->identity, p->identity_len, p->delimiter, buf,
			   ghostrec_ctl_build(buf, sizeof(buf), &m));
		spa_log_info(t->log, "ghostrec %s: marker take_id=%u written at frame %lu",
			     t->node_name, slot->take_id, (unsigned long)slot->frame);
		m.type = GHOSTREC_CTL_EVENT;
		m.kind = GHOSTREC_CTL_EV_MARKER;
		m.has &= ~(GHOSTREC_CTL_F_OK | GHOSTREC_CTL_F_SEQ);
		publish(ctl, &m);
		pop_mark(ctl);
		return;
	}
	if (waited < timeout)
		return;
	uint32_t expected = state;
	if ((state == TAP_MARK_REQUESTED || (state == TAP_MARK_ACTIVE && waited > 2 * timeout)) &&
	    atomic_compare_exchange_strong(&slot->state, &expected, TAP_MARK_IDLE)) {
		spa_log_warn(t->log, "ghostrec %s: mark take_id=%u timed out: the graph is not running "
			     "this node", t->node_name, p->take_id);
		reply_mark_error(ctl, p, "timeout", state == TAP_MARK_REQUESTED ?
				 "the node is not processing (graph idle or not linked); no marker written" :
				 "the graph stopped while the marker was being written");
		pop_mark(ctl);
	}
}

/* ---- requests ---- */

static void bad_request(struct tap_control *ctl, const char *what)
{
	ctl->bad_requests++;
	if (ctl->bad_requests <= 10 || ctl->bad_requests % 100 == 0)
		spa_log_warn(ctl->tap->log, "ghostrec %s: bad control request (%lu so far): %s",
			     ctl->tap->node_name, (unsigned long)ctl->bad_requests, what);
}

static void handle_request(struct tap_control *ctl, const uint8_t *identity, size_t identity_len,
			   bool delimiter, const void *body, size_t body_len)
{
	struct tap *t = ctl->tap;
	struct ghostrec_ctl_msg req, rep;
	const char *code = "parse";
	char err[200], buf[GHOSTREC_CTL_MAX_MSG];
	int len;

	if (ghostrec_ctl_parse(body, body_len, &req, &code, err, sizeof(err)) < 0 ||
	    ghostrec_ctl_check_request(&req, &code, err, sizeof(err)) < 0) {
		bad_request(ctl, err);
		len = ghostrec_ctl_build_error(buf, sizeof(buf), req.kind, req.seq,
					       req.has & GHOSTREC_CTL_F_SEQ, code, err);
		send_reply(ctl, identity, identity_len, delimiter, buf, len);
		return;
	}

	ghostrec_ctl_init(&rep, GHOSTREC_CTL_REPLY, req.kind);
	if (req.has & GHOSTREC_CTL_F_SEQ) {
		rep.has |= GHOSTREC_CTL_F_SEQ;
		rep.seq = req.seq;
	}
	switch (req.kind) {
	case GHOSTREC_CTL_HELLO:
		fill_hello(t, &rep);
		break;
	case GHOSTREC_CTL_STATUS:
		fill_status(ctl, &rep);
		break;
	case GHOSTREC_CTL_MARK: {
		if (ctl->count >= GHOSTREC_CTL_MAX_PENDING_MARKS) {
			len = ghostrec_ctl_build_error(buf, sizeof(buf), req.kind, req.seq,
						       req.has & GHOSTREC_CTL_F_SEQ, "busy",
						       "too many marks waiting for the graph");
			send_reply(ctl, identity, identity_len, delimiter, buf, len);
			return;
		}
		struct pending_mark *p = &ctl->queue[(ctl->head + ctl->count) %
						     GHOSTREC_CTL_MAX_PENDING_MARKS];
		memcpy(p->identity, identity, identity_len);
		p->identity_len = identity_len;
		p->delimiter = delimiter;
		p->has_seq = req.has & GHOSTREC_CTL_F_SEQ;
		p->seq = req.seq;
		p->take_id = req.take_id;
		ctl->count++;
		if (!ctl->handed)
			hand_to_rt(ctl);
		update_tick(ctl);
		return; /* replied by check_mark() */
	}
	case GHOSTREC_CTL_SET: {
		uint32_t mask = 0;
		if (req.has & GHOSTREC_CTL_F_MARKER_CHANNELS) {
			for (uint32_t i = 0; i < req.n_marker_channels; i++)
				mask |= 1u << req.marker_channels[i];
			if (mask >> t->n_channels) {
				snprintf(err, sizeof(err), "marker_channels: this node has %u channels",
					 t->n_channels);
				bad_request(ctl, err);
				len = ghostrec_ctl_build_error(buf, sizeof(buf), req.kind, req.seq,
							       req.has & GHOSTREC_CTL_F_SEQ,
							       "bad-argument", err);
				send_reply(ctl, identity, identity_len, delimiter, buf, len);
				return;
			}
		}
		if (req.has & GHOSTREC_CTL_F_RING_SECONDS) {
			int res = tap_ring_replace(t, req.ring_seconds, t->rate);
			if (res < 0) {
				snprintf(err, sizeof(err), "cannot resize the ring: %s", strerror(-res));
				len = ghostrec_ctl_build_error(buf, sizeof(buf), req.kind, req.seq,
							       req.has & GHOSTREC_CTL_F_SEQ, "internal", err);
				send_reply(ctl, identity, identity_len, delimiter, buf, len);
				return;
			}
		}
		if (mask)
			t->marker_channel_mask = mask;
		if (req.has & GHOSTREC_CTL_F_MARKER_AMPLITUDE)
			t->marker_amplitude = (float)req.marker_amplitude;
		spa_log_info(t->log, "ghostrec %s: settings: marker amplitude %g, channel mask 0x%x, "
			     "ring %.1f s", t->node_name, (double)t->marker_amplitude,
			     t->marker_channel_mask, t->ring_seconds);
		fill_hello(t, &rep);
		break;
	}
	default:
		return; /* ghostrec_ctl_check_request rejected everything else */
	}
	len = ghostrec_ctl_build(buf, sizeof(buf), &rep);
	send_reply(ctl, identity, identity_len, delimiter, buf, len);
}

/* Reads one multipart message: [identity, (empty delimiter), body]. */
static void receive_one(struct tap_control *ctl)
{
	zmq_msg_t frames[MAX_FRAMES];
	int n = 0;
	bool more = true, too_many = false;
	while (more) {
		zmq_msg_t msg;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, ctl->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			break;
		}
		more = zmq_msg_more(&msg);
		if (n < MAX_FRAMES)
			frames[n++] = msg;
		else {
			too_many = true;
			zmq_msg_close(&msg);
		}
	}
	if (n >= 2 && zmq_msg_size(&frames[0]) <= MAX_IDENTITY) {
		const uint8_t *id = zmq_msg_data(&frames[0]);
		size_t id_len = zmq_msg_size(&frames[0]);
		bool delimiter = n >= 3 && zmq_msg_size(&frames[1]) == 0;
		if (too_many || n > 3 || (n == 3 && !delimiter)) {
			char buf[512];
			bad_request(ctl, "too many message frames");
			int len = ghostrec_ctl_build_error(buf, sizeof(buf), GHOSTREC_CTL_KIND_UNKNOWN,
							   0, false, "parse",
							   "a request is one JSON frame");
			send_reply(ctl, id, id_len, delimiter, buf, len);
		} else {
			zmq_msg_t *body = &frames[n - 1];
			handle_request(ctl, id, id_len, delimiter, zmq_msg_data(body), zmq_msg_size(body));
		}
	} else if (n == 1) {
		bad_request(ctl, "empty message");
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&frames[i]);
}

static void drain(struct tap_control *ctl)
{
	ctl->flooded = false;
	for (int i = 0; i < 256; i++) {
		uint32_t events = 0;
		size_t size = sizeof(events);
		if (zmq_getsockopt(ctl->router, ZMQ_EVENTS, &events, &size) < 0 ||
		    !(events & ZMQ_POLLIN))
			return;
		receive_one(ctl);
	}
	/* More waiting: the timer comes back for it soon without starving the main loop. */
	ctl->flooded = true;
}

static void check_ring(struct tap_control *ctl);

static void on_router_io(void *data, int fd, uint32_t mask)
{
	struct tap_control *ctl = data;
	drain(ctl);
	check_ring(ctl);
	update_tick(ctl);
}

/* ---- polling what process() did ---- */

static void check_ring(struct tap_control *ctl)
{
	struct tap *t = ctl->tap;
	const struct ghostrec_ring_header *h = t->ring.hdr;
	struct ghostrec_ctl_msg m;
	uint64_t gen = atomic_load(&h->generation);
	uint32_t rate = atomic_load(&h->rate);

	if (rate != t->rate) {
		/* The graph changed rate: keep the ring's length in seconds. */
		spa_log_info(t->log, "ghostrec %s: rate changed %u -> %u Hz", t->node_name, t->rate,
			     rate);
		int res = tap_ring_replace(t, t->ring_seconds, rate);
		if (res < 0)
			spa_log_error(t->log, "ghostrec %s: cannot resize the ring for %u Hz: %s",
				      t->node_name, rate, strerror(-res));
		h = t->ring.hdr;
		gen = atomic_load(&h->generation);
	}
	if (gen != ctl->last_generation) {
		ghostrec_ctl_init(&m, GHOSTREC_CTL_EVENT, GHOSTREC_CTL_EV_FORMAT);
		m.has = GHOSTREC_CTL_F_RATE | GHOSTREC_CTL_F_CHANNELS | GHOSTREC_CTL_F_GENERATION |
			GHOSTREC_CTL_F_FRAME | GHOSTREC_CTL_F_CAPACITY | GHOSTREC_CTL_F_SHM;
		m.rate = atomic_load(&h->rate);
		m.channels = h->channels;
		m.generation = gen;
		m.frame = atomic_load(&h->gen_start_frame);
		m.capacity = h->capacity;
		snprintf(m.shm, sizeof(m.shm), "%s", t->ring.shm_name);
		publish(ctl, &m);
		ctl->last_generation = gen;
	}
}

static void on_timer(void *data, uint64_t expirations)
{
	struct tap_control *ctl = data;
	struct tap *t = ctl->tap;
	drain(ctl);
	check_mark(ctl);
	check_ring(ctl);
	if (ctl->settle_left > 0) {
		uint64_t cycles = atomic_load(&t->ring.hdr->counters.cycles);
		ctl->settle_left--;
		/* Settled: process() runs again and check_ring() saw the rate it runs at. */
		if (cycles >= ctl->settle_cycles + SETTLE_CYCLES &&
		    atomic_load(&t->ring.hdr->rate) == t->rate)
			ctl->settle_left = 0;
	}
	update_tick(ctl);
}

void tap_control_wake(struct tap *t)
{
	struct tap_control *ctl = t->control;
	if (ctl == NULL)
		return;
	ctl->settle_left = SETTLE_TICKS;
	ctl->settle_cycles = atomic_load(&t->ring.hdr->counters.cycles);
	update_tick(ctl);
}

/* ---- ring replacement ---- */

struct ring_swap {
	struct tap *tap;
	struct ghostrec_ring_writer *fresh;
};

static int do_ring_swap(struct spa_loop *loop, bool async, uint32_t seq, const void *data,
			size_t size, void *user_data)
{
	const struct ring_swap *s = data;
	struct tap *t = s->tap;
	struct ghostrec_ring_header *old = t->ring.hdr, *h = s->fresh->hdr;
	uint64_t wf = atomic_load(&old->write_frame);
	/* Continue the timeline, counters and marker table in the new object. */
	atomic_store(&h->write_frame, wf);
	atomic_store(&h->write_begin, wf);
	atomic_store(&h->gen_start_frame, wf);
	atomic_store(&h->generation, atomic_load(&old->generation) + 1);
	h->instance = old->instance;
	h->counters = old->counters;
	atomic_fetch_add(&h->counters.format_changes, 1);
	memcpy(h->markers, old->markers, sizeof(h->markers));
	atomic_store(&h->marker_count, atomic_load(&old->marker_count));
	ghostrec_ring_writer_publish(s->fresh);
	struct ghostrec_ring_writer tmp = t->ring;
	t->ring = *s->fresh;
	*s->fresh = tmp;
	t->cycle_limit = (uint32_t)SPA_MIN((uint64_t)t->quantum_limit, h->capacity);
	return 0;
}

int tap_ring_replace(struct tap *t, double seconds, uint32_t rate)
{
	struct ghostrec_ring_writer fresh;
	uint64_t capacity = (uint64_t)ceil(seconds * rate);
	int res = ghostrec_ring_writer_create_unpublished(&fresh, t->node_name, rate, t->n_channels,
							  t->positions, capacity, 0, 1);
	if (res < 0)
		return res;
	tap_ring_lock(t, &fresh);
	if (fresh.locator_error[0])
		spa_log_error(t->log, "ghostrec %s: new ring %s is not published: %s", t->node_name,
			      fresh.shm_name, fresh.locator_error);
	struct ring_swap s = { t, &fresh };
	spa_loop_invoke(t->data_loop, do_ring_swap, 0, &s, sizeof(s), true, t);
	/* `fresh` now holds the old ring: retire it (its name already belongs to the new one). */
	ghostrec_ring_writer_destroy(&fresh, false);
	t->ring_seconds = seconds;
	t->rate = rate;
	spa_log_info(t->log, "ghostrec %s: ring now %.1f s = %lu frames at %u Hz, generation %lu",
		     t->node_name, seconds, (unsigned long)capacity, rate,
		     (unsigned long)atomic_load(&t->ring.hdr->generation));
	return 0;
}

/* ---- lifecycle ---- */

static int bind_socket(struct tap *t, void *sock, const char *suffix)
{
	char ep[320];
	int res = ghostrec_ctl_endpoint(ep, sizeof(ep), t->node_name, suffix);
	if (res < 0)
		return res;
	if (zmq_bind(sock, ep) < 0) {
		res = -errno;
		spa_log_error(t->log, "ghostrec %s: cannot bind %s: %s", t->node_name, ep,
			      zmq_strerror(errno));
		return res;
	}
	spa_log_info(t->log, "ghostrec %s: %s", t->node_name, ep);
	return 0;
}

int tap_control_start(struct tap *t)
{
	if (t->main_utils == NULL)
		return -ENOTSUP;
	char dir[256], why[320];
	int res = ghostrec_rundir_ensure(dir, sizeof(dir), why, sizeof(why));
	if (res < 0) {
		spa_log_error(t->log, "ghostrec %s: %s", t->node_name, why);
		return res;
	}
	struct tap_control *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	ctl->tap = t;
	ctl->last_generation = atomic_load(&t->ring.hdr->generation);
	int linger = 0, fd;
	int64_t maxsize = MAX_RECV_BYTES;
	size_t fd_size = sizeof(fd);
	if ((ctl->ctx = zmq_ctx_new()) == NULL ||
	    (ctl->router = zmq_socket(ctl->ctx, ZMQ_ROUTER)) == NULL ||
	    (ctl->pub = zmq_socket(ctl->ctx, ZMQ_PUB)) == NULL) {
		res = -errno;
		goto fail;
	}
	zmq_setsockopt(ctl->router, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(ctl->pub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(ctl->router, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
	if ((res = bind_socket(t, ctl->router, "ctl")) < 0 ||
	    (res = bind_socket(t, ctl->pub, "evt")) < 0)
		goto fail;
	if (zmq_getsockopt(ctl->router, ZMQ_FD, &fd, &fd_size) < 0) {
		res = -errno;
		goto fail;
	}
	ctl->router_source = spa_loop_utils_add_io(t->main_utils, fd, SPA_IO_IN, false,
						   on_router_io, ctl);
	ctl->timer = spa_loop_utils_add_timer(t->main_utils, on_timer, ctl);
	if (ctl->router_source == NULL || ctl->timer == NULL) {
		res = -ENOMEM;
		goto fail;
	}
	t->control = ctl;
	ctl->tick = TICK_OFF;
	return 0;
fail:
	t->control = ctl;
	tap_control_stop(t);
	return res;
}

void tap_control_stop(struct tap *t)
{
	struct tap_control *ctl = t->control;
	if (ctl == NULL)
		return;
	/* Whoever still waits for a mark gets an answer. */
	while (ctl->count > 0) {
		reply_mark_error(ctl, &ctl->queue[ctl->head], "internal", "node is shutting down");
		ctl->head = (ctl->head + 1) % GHOSTREC_CTL_MAX_PENDING_MARKS;
		ctl->count--;
	}
	if (ctl->router_source)
		spa_loop_utils_destroy_source(t->main_utils, ctl->router_source);
	if (ctl->timer)
		spa_loop_utils_destroy_source(t->main_utils, ctl->timer);
	if (ctl->router)
		zmq_close(ctl->router);
	if (ctl->pub)
		zmq_close(ctl->pub);
	if (ctl->ctx)
		zmq_ctx_term(ctl->ctx);
	free(ctl);
	t->control = NULL;
}
