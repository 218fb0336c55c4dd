/* Link to one ghostrec node (see node-link.h). */
#include "node-link.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <spa/debug/types.h>
#include <spa/param/audio/raw-types.h>
#include <zmq.h>

#include "common/rundir.h"
#include "log.h"

static void *open_socket(void *zctx, int type, const char *endpoint)
{
	void *s = zmq_socket(zctx, type);
	if (!s)
		return NULL;
	int zero = 0, one = 1, maxmsg = GHOSTREC_CTL_MAX_MSG * 4;
	int64_t maxsize = maxmsg;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
	if (type == ZMQ_DEALER)
		zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof(one)); /* no queued marks for a dead node */
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
	if (zmq_connect(s, endpoint) != 0) {
		zmq_close(s);
		return NULL;
	}
	return s;
}

int node_link_init(struct node_link *n, void *zctx, const char *name)
{
	char ep[256];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->zctx = zctx;
	if (ghostrec_ctl_endpoint(ep, sizeof(ep), name, "ctl") < 0 || !(n->ctl = open_socket(zctx, ZMQ_DEALER, ep))) {
		log_err("node %s: cannot connect to %s: %s", name, ep, zmq_strerror(zmq_errno()));
		return -1;
	}
	if (ghostrec_ctl_endpoint(ep, sizeof(ep), name, "evt") < 0 || !(n->evt = open_socket(zctx, ZMQ_SUB, ep))) {
		log_err("node %s: cannot connect to %s: %s", name, ep, zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

void node_link_close(struct node_link *n)
{
	if (n->ring)
		ghostrec_ring_reader_close(n->ring);
	if (n->ctl)
		zmq_close(n->ctl);
	if (n->evt)
		zmq_close(n->evt);
	n->ring = NULL;
	n->ctl = n->evt = NULL;
}

static void detach(struct node_link *n, const char *why)
{
	log_warn("node %s: detached from its ring: %s", n->name, why);
	snprintf(n->last_error, sizeof(n->last_error), "%s", why);
	ghostrec_ring_reader_close(n->ring);
	n->ring = NULL;
}

static void fill_channel_map(struct node_link *n)
{
	for (uint32_t c = 0; c < GHOSTREC_RING_MAX_CHANNELS; c++) {
		const char *s = c < n->info.channels ?
			spa_debug_type_find_short_name(spa_type_audio_channel, n->info.positions[c]) : NULL;
		if (s && *s && strcmp(s, "UNK") != 0)
			snprintf(n->channel_map[c], sizeof(n->channel_map[c]), "%s", s);
		else
			snprintf(n->channel_map[c], sizeof(n->channel_map[c]), "AUX%u", c);
	}
}

/* Xruns and overruns since the last look, from the node's shm counters. */
static void check_counters(struct node_link *n, bool log)
{
	struct ghostrec_ring_counter_values v;
	ghostrec_ring_reader_counters(n->ring, &v);
	if (log && v.xruns > n->last_xruns && log_should_report(v.xruns))
		log_warn("node %s: graph xrun before frame %" PRIu64 " (%" PRIu64 " so far)", n->name,
			 n->info.write_frame, v.xruns);
	if (log && v.overruns > n->last_overruns && log_should_report(v.overruns))
		log_err("node %s: ring overrun before frame %" PRIu64 " (%" PRIu64 " so far)", n->name,
			n->info.write_frame, v.overruns);
	n->last_xruns = v.xruns;
	n->last_overruns = v.overruns;
}

/* Seconds since the node published the ring's locator (-1: unknown): how long a re-attach took. */
static double ring_published_ago(const char *node)
{
	char dir[4096], err[256], path[4400];
	struct stat st;
	struct timespec ts;
	if (ghostrec_rundir_check(dir, sizeof(dir), err, sizeof(err)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.ring", dir, node);
	if (stat(path, &st) < 0 || clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	double ago = (double)(ts.tv_sec - st.st_mtim.tv_sec) + (double)(ts.tv_nsec - st.st_mtim.tv_nsec) * 1e-9;
	return ago < 0 ? 0 : ago;
}

bool node_link_update(struct node_link *n, double now)
{
	int r;
	if (!n->ring) {
		if (now < n->next_attach)
			return false;
		n->next_attach = now + 0.2;
		char why[1100];
		r = ghostrec_ring_reader_open_err(&n->ring, n->name, why, sizeof(why));
		if (r < 0) {
			/* refused (not ours / not private) is an error, absent a warning */
			if (strncmp(why, n->last_error, sizeof(n->last_error) - 1) != 0) {
				if (r == -EPERM || r == -EACCES)
					log_err("%s; retrying", why);
				else
					log_warn("%s; retrying", why);
			}
			snprintf(n->last_error, sizeof(n->last_error), "%.255s", why); /* last_error[256] */
			n->ring = NULL;
			return false;
		}
		if ((r = ghostrec_ring_reader_info(n->ring, &n->info)) < 0) {
			ghostrec_ring_reader_close(n->ring);
			n->ring = NULL;
			return false;
		}
		if (n->info.writer_pid > 0 && kill(n->info.writer_pid, 0) < 0 && errno == ESRCH) {
			/* left behind by a sound server that was killed: not a node to record */
			snprintf(why, sizeof(why), "ring not available: its writer (pid %d) is gone",
				 (int)n->info.writer_pid);
			if (strcmp(why, n->last_error) != 0)
				log_warn("node %s: %s (is the node running?); retrying", n->name, why);
			snprintf(n->last_error, sizeof(n->last_error), "%.255s", why); /* last_error[256] */
			ghostrec_ring_reader_close(n->ring);
			n->ring = NULL;
			n->next_attach = now + 0.1;
			return false;
		}
		n->last_write_frame = n->info.write_frame;
		n->stalled_since = 0;
		n->attach_count++;
		n->last_error[0] = '\0';
		fill_channel_map(n);
		check_counters(n, false);
		char age[64] = "";
		double published = ring_published_ago(n->name);
		if (published >= 0)
			snprintf(age, sizeof(age), ", published %.3f s ago", published);
		log_info("node %s: attached to %s (%u Hz, %u channels, ring %.2f s, write frame %" PRIu64 "%s)",
			 n->name, n->info.shm_name, n->info.rate, n->info.channels,
			 n->info.rate ? (double)n->info.capacity / n->info.rate : 0.0, n->info.write_frame, age);
		return true;
	}
	if (n->detach_pending[0])
		return true; /* until node_link_detach_pending */
	uint64_t gen = n->info.generation;
	uint64_t instance = n->info.instance;
	r = ghostrec_ring_reader_info(n->ring, &n->info);
	if (r < 0) {
		char why[200];
		snprintf(why, sizeof(why), "ring went away: %s", strerror(-r));
		detach(n, why);
		n->next_attach = now + 0.5;
		return false;
	}
	if (n->info.write_frame != n->last_write_frame) {
		n->last_write_frame = n->info.write_frame;
		n->stalled_since = 0;
	} else if (!n->stalled_since) {
		n->stalled_since = now;
	}
	if (now >= n->next_liveness) {
		n->next_liveness = now + 0.25;
		if (n->info.writer_pid > 0 && kill(n->info.writer_pid, 0) < 0 && errno == ESRCH) {
			/* the ring is final now: the caller takes what it still holds, then detaches */
			snprintf(n->detach_pending, sizeof(n->detach_pending), "the node's process (pid %d) is gone",
				 (int)n->info.writer_pid);
			n->next_attach = now;
			return true;
		}
		if (n->stalled_since && now - n->stalled_since >= 0.5) {
			/* a frozen graph, or a new ring under the name while this one was left behind */
			struct ghostrec_ring_reader *peek;
			struct ghostrec_ring_info pi;
			if (ghostrec_ring_reader_open(&peek, n->name) == 0) {
				bool newer = ghostrec_ring_reader_info(peek, &pi) == 0 && pi.instance != instance;
				ghostrec_ring_reader_close(peek);
				if (newer) {
					snprintf(n->detach_pending, sizeof(n->detach_pending),
						 "a new ring of the node replaced this one (the node restarted)");
					n->next_attach = now;
					return true;
				}
			}
		}
	}
	if (n->info.generation != gen) {
		fill_channel_map(n);
		log_info("node %s: format changed: generation %" PRIu64 ", %u Hz, %u channels",
			 n->name, n->info.generation, n->info.rate, n->info.channels);
	}
	check_counters(n, true);
	return true;
}

void node_link_detach_pending(struct node_link *n, double now)
{
	if (!n->ring || !n->detach_pending[0])
		return;
	char why[200];
	snprintf(why, sizeof(why), "%s", n->detach_pending);
	n->detach_pending[0] = '\0';
	detach(n, why);
	n->next_attach = now;
}

int node_link_send_mark(struct node_link *n, uint32_t take_id)
{
	char buf[GHOSTREC_CTL_MAX_MSG];
	struct ghostrec_ctl_msg m;
	ghostrec_ctl_init(&m, GHOSTREC_CTL_REQUEST, GHOSTREC_CTL_MARK);
	m.take_id = take_id;
	m.seq = ++n->seq;
	m.has = GHOSTREC_CTL_F_TAKE_ID | GHOSTREC_CTL_F_SEQ;
	int len = ghostrec_ctl_build(buf, sizeof(buf), &m);
	if (len < 0)
		return len;
	if (zmq_send(n->ctl, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -zmq_errno();
	if (zmq_send(n->ctl, buf, (size_t)len, ZMQ_DONTWAIT) < 0)
		return -zmq_errno();
	n->marks_sent++;
	return 0;
}

/* Reads one whole multipart message; returns its last frame. */
static int recv_json(void *sock, char *buf, size_t size, size_t *len)
{
	int more = 0, got = 0;
	size_t msize = sizeof(more);
	do {
		int r = zmq_recv(sock, buf, size, ZMQ_DONTWAIT);
		if (r < 0)
			return got ? -EPROTO : 0;
		got = 1;
		*len = (size_t)r;
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &msize);
	} while (more);
	return 1;
}

int node_link_recv(struct node_link *n, struct ghostrec_ctl_msg *m)
{
	char buf[GHOSTREC_CTL_MAX_MSG * 4], err[256];
	void *socks[2] = { n->ctl, n->evt };
	for (int i = 0; i < 2; i++) {
		size_t len = 0;
		const char *code = NULL;
		int r;
		while ((r = recv_json(socks[i], buf, sizeof(buf), &len)) != 0) {
			if (len == 0)
				continue; /* delimiter only */
			if (r < 0 || len > sizeof(buf) ||
			    ghostrec_ctl_parse(buf, len, m, &code, err, sizeof(err)) < 0) {
				n->bad_messages++;
				if (log_should_report(n->bad_messages))
					log_warn("node %s: unreadable message from the node (%s)", n->name,
						 len > sizeof(buf) ? "too large" : err);
				continue;
			}
			if (m->type == GHOSTREC_CTL_EVENT)
				n->events++;
			else if (m->type == GHOSTREC_CTL_REPLY) {
				n->replies++;
				if (!m->ok)
					n->error_replies++;
			}
			return 1;
		}
	}
	return 0;
}

bool node_link_find_marker(struct node_link *n, uint32_t take_id, uint64_t *frame)
{
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	if (!n->ring)
		return false;
	size_t k = ghostrec_ring_reader_markers(n->ring, mk, GHOSTREC_RING_MAX_MARKERS, NULL);
	for (size_t i = 0; i < k; i++)
		if (mk[i].take_id == take_id) {
			*frame = mk[i].frame;
			return true;
		}
	return false;
}
