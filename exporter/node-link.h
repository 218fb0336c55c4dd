/* The exporter's view of one ghostrec node: its shm ring (read-only) and its ZeroMQ control
 * socket (DEALER, so a held `mark` request never blocks the exporter) plus the event socket.
 * Attaching is retried: the node may start after the exporter or restart under it. */
#ifndef GHOSTREC_EXPORTER_NODE_LINK_H
#define GHOSTREC_EXPORTER_NODE_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/control.h"
#include "common/ring.h"

struct node_link {
	char name[64];
	void *zctx;
	void *ctl;        /* ZMQ_DEALER -> <name>.ctl */
	void *evt;        /* ZMQ_SUB    -> <name>.evt */
	struct ghostrec_ring_reader *ring;
	struct ghostrec_ring_info info;  /* last snapshot (valid while ring != NULL) */
	char channel_map[GHOSTREC_RING_MAX_CHANNELS][8];
	double next_attach;              /* monotonic seconds */
	double next_liveness;            /* next writer check */
	double stalled_since;            /* write_frame has not moved since (0: it moves) */
	uint64_t last_write_frame;
	char detach_pending[200];        /* the writer is dead: detach once the ring is drained */
	uint64_t seq;
	char last_error[256];
	uint64_t last_xruns, last_overruns; /* the node's shm counters when last looked at */
	/* counters */
	uint64_t replies, error_replies, bad_messages, events, marks_sent, attach_count;
};

int node_link_init(struct node_link *n, void *zctx, const char *name);
void node_link_close(struct node_link *n);

/* Opens the ring if it is not open (rate-limited), refreshes the snapshot. Returns true while
 * attached. Logs attach/detach transitions, and graph xruns / ring overruns from the node's shm
 * counters (the node does not send events for them). A ring whose writer is dead (its pid is
 * gone, or the name now holds a newer ring of another instance while this one stands still) is
 * detached within half a second, so the next call attaches to the node's new ring. */
bool node_link_update(struct node_link *n, double now);
static inline bool node_link_attached(const struct node_link *n) { return n->ring != NULL; }

/* Detaches a ring whose writer died (see node_link_update) after the caller took what it held. */
void node_link_detach_pending(struct node_link *n, double now);

/* Sends `mark {take_id}`. Returns 0 or -errno (-EAGAIN: node's socket is not connected). */
int node_link_send_mark(struct node_link *n, uint32_t take_id);

/* Receives one reply from the control socket or one event (non-blocking). Returns 1 with *m
 * filled, 0 if nothing is pending. Bad messages are counted and logged, never returned. */
int node_link_recv(struct node_link *n, struct ghostrec_ctl_msg *m);

/* Looks up take_id in the node's marker table. Returns true with the frame. */
bool node_link_find_marker(struct node_link *n, uint32_t take_id, uint64_t *frame);

#endif
