/* The network between PWAR's two sides, for the relay emulator: a packet stream in, the same
 * stream with seeded damage out. Every decision is a hash of the seed and the packet's
 * sequence number, so a run's damage does not depend on timing.
 *
 *   miss      PWAR's Linux RT thread misses a graph cycle: that quantum is never sent and
 *             the sequence numbers after it close up (a chunk-sized drop before the network)
 *   loss      the packet is lost
 *   reorder   the packet arrives after the next 1..reorder_depth packets
 *   duplicate a second copy arrives after the next 0..dup_delay packets
 *
 * Damage is only applied while `active` is passed true (the caller's take window), and with
 * spacing K at most once in K + 1 packets (isolated events: each has one description). */
#ifndef GHOSTREC_NETSIM_H
#define GHOSTREC_NETSIM_H

#include <stdint.h>
#include <stdio.h>

#define NETSIM_MAX_HELD 64

/* A packet arrives (lost = 0), or is lost (lost = 1: the caller may still want its samples,
 * e.g. a relay that plays a late block after an underrun). */
typedef void (*netsim_out)(void *data, uint64_t seq, int64_t frame, const float *samples, uint32_t n, int lost);

struct netsim_held {
	uint64_t release_after;  /* arrives after the packet with this input count */
	uint64_t order;
	uint64_t seq;
	int64_t frame;
	uint32_t n;
	float *samples;
};

struct netsim {
	double miss, loss, reorder, duplicate;
	int reorder_depth, dup_delay;
	int spacing;             /* undamaged packets at least between two damaged ones */
	uint32_t seed;
	uint32_t channels, max_frames;
	netsim_out out;
	void *data;
	FILE *log;               /* one line per damaged packet, or NULL */

	struct netsim_held held[NETSIM_MAX_HELD];
	int n_held;
	uint64_t count, order, missed_seqs;
	uint64_t last_event;     /* input count of the last damaged packet + 1, 0 = none yet */
	uint64_t n_missed, n_lost, n_reordered, n_duplicated, n_overflow;
};

/* Returns 0, or -1 when out of memory. */
int netsim_init(struct netsim *ns, uint32_t channels, uint32_t max_frames, netsim_out out, void *data);
/* One packet from the sender, in sending order. force_lose: lose it whatever the dice say. */
void netsim_packet(struct netsim *ns, uint64_t seq, int64_t frame, const float *samples, uint32_t n, int active,
		   int force_lose);
/* Everything still in flight arrives. */
void netsim_flush(struct netsim *ns);
void netsim_free(struct netsim *ns);

#endif
