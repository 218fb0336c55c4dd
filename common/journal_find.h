/* Finding a take in a node's journal by its audio alone (no marker, no clean file, no clock):
 * the content index (journal_content.h) is scanned for the keys of a few short probes taken from
 * the take; every hit is verified on the journal's samples; the hits that agree on one timeline,
 * one channel and nearby offsets say where the take's audio lies. The conform engine then maps
 * the take frame by frame against that range (ghostrec-sync --journal, the exporter's answers to
 * REAPER's requests). */
#ifndef GHOSTREC_JOURNAL_FIND_H
#define GHOSTREC_JOURNAL_FIND_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "journal_content.h"

/* A probe: this many consecutive take samples (one channel) from a take frame. */
#define GHOSTREC_JFIND_PROBE_FRAMES (GHOSTREC_JCONTENT_BLOCK + 64u)
#define GHOSTREC_JFIND_MAX_PROBES 256u

struct ghostrec_jfind_probe {
	int64_t take_frame;  /* take frame of x[0] */
	const float *x;
	uint32_t n;          /* samples in x (at least GHOSTREC_JCONTENT_WINDOW) */
};

struct ghostrec_jfind_result {
	uint64_t instance;       /* the node timeline the take was found in */
	uint32_t channel;        /* the journal channel holding the take's (first) channel */
	uint32_t rate, channels;
	int64_t offset_min, offset_max; /* ring frame - take frame, over the agreeing probes */
	size_t probes;           /* probes given */
	size_t probes_found;     /* probes whose verified hit agrees with the result */
	uint64_t keys_scanned, hits, hits_verified;
};

/* The tolerance for a take of `bits` bits (32: float) against the journal's float32. */
double ghostrec_jfind_tolerance(int bits);

/* Clean audio this far before and after a found take's range is part of its excerpt. */
#define GHOSTREC_JFIND_MARGIN_S 1.0

/* The journal range a found take needs: its offsets' span plus the take's length, a margin
 * either side, within what the journal holds of that timeline. Returns 0, or -1 when the journal
 * no longer holds any of it. */
int ghostrec_jfind_range(const struct ghostrec_journal *j, const struct ghostrec_jfind_result *r,
			 int64_t take_frames, uint64_t *from, uint64_t *to);

/* Take frames where probes start for a take of `frames` frames: evenly spread, first at 0, at
 * most max (<= GHOSTREC_JFIND_MAX_PROBES) and about two a second. Returns how many. */
size_t ghostrec_jfind_probe_starts(int64_t frames, uint32_t rate, int64_t *starts, size_t max);

/* Looks the probes up. tol: how far a take sample may be from the journal's (the take's
 * quantisation, ghostrec_marker_tolerance). rate: the take's (only segments of that rate are
 * searched). take_frames: the take's length (how far its offsets may drift apart). Returns 1
 * and fills res when found, 0 when the journal does not hold the take's audio, -1 on a read
 * error (reason in err). */
int ghostrec_journal_find(struct ghostrec_journal *j, const struct ghostrec_jfind_probe *probes, size_t n,
			  double tol, uint32_t rate, int64_t take_frames, struct ghostrec_jfind_result *res,
			  char *err, size_t errsize);

#endif
