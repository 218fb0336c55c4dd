/* Seeded network damage between PWAR's two sides: see netsim.h. */
#include "netsim.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* A uniform draw in [0, 1) for decision `what` about packet `seq`. */
static double draw(const struct netsim *ns, uint64_t seq, uint32_t what)
{
	uint32_t h = hash32(ns->seed * 0x9e3779b9u ^ hash32((uint32_t)seq ^ hash32((uint32_t)(seq >> 32) + what)));
	return (double)h / 4294967296.0;
}

int netsim_init(struct netsim *ns, uint32_t channels, uint32_t max_frames, netsim_out out, void *data)
{
	ns->channels = channels;
	ns->max_frames = max_frames;
	ns->out = out;
	ns->data = data;
	if (ns->reorder_depth < 1)
		ns->reorder_depth = 1;
	if (ns->dup_delay < 0)
		ns->dup_delay = 0;
	for (int i = 0; i < NETSIM_MAX_HELD; i++) {
		ns->held[i].samples = malloc(sizeof(float) * max_frames * channels);
		if (!ns->held[i].samples)
			return -1;
	}
	return 0;
}

void netsim_free(struct netsim *ns)
{
	for (int i = 0; i < NETSIM_MAX_HELD; i++) {
		free(ns->held[i].samples);
		ns->held[i].samples = NULL;
	}
}

static void hold(struct netsim *ns, uint64_t release_after, uint64_t seq, int64_t frame, const float *samples,
		 uint32_t n)
{
	if (ns->n_held == NETSIM_MAX_HELD || n > ns->max_frames) {
		ns->n_overflow++;
		ns->out(ns->data, seq, frame, samples, n, 0);
		return;
	}
	struct netsim_held *h = &ns->held[ns->n_held++];
	h->release_after = release_after;
	h->order = ns->order++;
	h->seq = seq;
	h->frame = frame;
	h->n = n;
	memcpy(h->samples, samples, sizeof(float) * n * ns->channels);
}

/* Held packets due after input `count` arrive, in the order they were held. */
static void release(struct netsim *ns, uint64_t count, int all)
{
	for (;;) {
		int best = -1;
		for (int i = 0; i < ns->n_held; i++)
			if ((all || ns->held[i].release_after <= count) &&
			    (best < 0 || ns->held[i].order < ns->held[best].order))
				best = i;
		if (best < 0)
			return;
		struct netsim_held h = ns->held[best];
		ns->out(ns->data, h.seq, h.frame, h.samples, h.n, 0);
		/* keep the slot's buffer: swap it with the last one */
		ns->held[best] = ns->held[ns->n_held - 1];
		ns->held[ns->n_held - 1] = h;
		ns->n_held--;
	}
}

void netsim_packet(struct netsim *ns, uint64_t seq, int64_t frame, const float *samples, uint32_t n, int active,
		   int force_lose)
{
	/* with spacing, the packets right after a damaged one get through */
	if (active && ns->spacing > 0 && ns->last_event && ns->count + 1 - ns->last_event <= (uint64_t)ns->spacing)
		active = 0;
	uint64_t events = ns->n_missed + ns->n_lost + ns->n_reordered + ns->n_duplicated;
	if (active && ns->miss > 0.0 && draw(ns, seq, 1) < ns->miss) {
		/* never sent: the sender's numbering closes up */
		ns->missed_seqs++;
		ns->n_missed++;
		ns->last_event = ns->count + 1;
		if (ns->log)
			fprintf(ns->log, "missed frame %lld\n", (long long)frame);
		return;
	}
	seq -= ns->missed_seqs;
	uint64_t c = ns->count++;
	if (force_lose || (active && ns->loss > 0.0 && draw(ns, seq, 2) < ns->loss)) {
		ns->n_lost++;
		if (ns->log)
			fprintf(ns->log, "lost seq %llu frame %lld\n", (unsigned long long)seq, (long long)frame);
		ns->out(ns->data, seq, frame, samples, n, 1);
	} else if (active && ns->reorder > 0.0 && draw(ns, seq, 3) < ns->reorder) {
		uint64_t k = 1 + (uint64_t)(draw(ns, seq, 4) * ns->reorder_depth);
		ns->n_reordered++;
		if (ns->log)
			fprintf(ns->log, "reordered seq %llu frame %lld: %llu later\n", (unsigned long long)seq,
				(long long)frame, (unsigned long long)k);
		hold(ns, c + k, seq, frame, samples, n);
	} else {
		ns->out(ns->data, seq, frame, samples, n, 0);
		if (active && ns->duplicate > 0.0 && draw(ns, seq, 5) < ns->duplicate) {
			uint64_t d = (uint64_t)(draw(ns, seq, 6) * (ns->dup_delay + 1));
			ns->n_duplicated++;
			if (ns->log)
				fprintf(ns->log, "duplicated seq %llu frame %lld: %llu later\n", (unsigned long long)seq,
					(long long)frame, (unsigned long long)d);
			hold(ns, c + d, seq, frame, samples, n);
		}
	}
	if (ns->n_lost + ns->n_reordered + ns->n_duplicated != events && !force_lose)
		ns->last_event = c + 1;
	release(ns, c, 0);
}

void netsim_flush(struct netsim *ns)
{
	release(ns, 0, 1);
}
