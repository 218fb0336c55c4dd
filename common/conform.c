/* Conform engine: see conform.h for what it computes.
 *
 * This file is the reference the Lua engine (reascripts/ghostrec/core.lua) translates line
 * by line, so it stays plain: small functions, integer frame arithmetic, comparisons in
 * double precision (what Lua numbers are), no C-only tricks.
 *
 * Outline
 *   1. First alignment: the marker decoded in the take + marker_frame from the clean
 *      file's metadata give (anchor frame, offset d). Without them: content search.
 *   2. Head: extend the anchor backwards frame by frame; if a mismatch stops it before the
 *      take start, look for an earlier content anchor (a glitch in the pre-roll).
 *   3. Walk: compare one frame every check_step frames. When a checkpoint differs,
 *      binary-search the first differing frame f since the last good checkpoint, then
 *      re-acquire: the earliest take frame t2 >= f and offset d2 where a verification
 *      window matches. (t2, d2) relative to (f, d) says what happened:
 *        t2 == f, d2 > d        dropped d2 - d clean frames
 *        t2 > f,  d2 == d       replaced [f, t2)
 *        t2 - f == d - d2 > 0   inserted t2 - f take frames
 *      and combinations of those for odd cases found by the general search.
 *   A drop's join is moved back over the take frames before f the new offset explains: the
 *   binary search can stop past the drop where frames after it still match the old offset.
 *   A run that would read as replaced is first searched for frames another nearby offset
 *   explains (glitches undone by others within max_shift).
 *      A drop followed by the skipped frames and a return to the old offset is two runs in
 *      swapped order (reordered: the offset stays, the fixed take is in clean order); an
 *      offset that shrinks where the take frames before t2 match the new offset too is a
 *      repeat (repeated: they map to the same clean audio again, no inserted frames).
 *   4. Verification: every take frame inside a segment is compared with its clean frame;
 *      differing frames the checkpoints missed become replaced glitches.
 *   Gaps (clean frames the file holds no audio for) never match anything: the walk stops
 *   where the offset reaches one, reports the take frames mapped into it as a gap (they
 *   keep their own audio) and re-acquires after its end (same offset first, then nearby
 *   offsets, then a content search), however long the gap.
 *   Every search is bounded by max_shift frames, so work grows with the take length and
 *   the number of glitches, not with take length x search range. */
#include "conform.h"
#include "conform_feed.h"
#include "sample_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "marker.h"

/* A verification window must see this many non-silent take samples (summed over the
 * compared channels) that all match before an alignment is believed: silence matches
 * silence anywhere, so it proves nothing. */
#define WINDOW_NONSILENT 32
/* ... looking at most this many frames ahead for them. */
#define WINDOW_MAX_FRAMES 4096
/* At the very end of the take fewer samples are all there is; accept this many. */
#define WINDOW_TAIL_NONSILENT 8
/* Content search: candidate take positions are this far apart, and at most this many
 * non-silent candidates are tried (each costs one pass over the clean file). */
#define ANCHOR_STEP 4096
#define ANCHOR_TRIES 16
/* Re-acquisition after glitches of several kinds back to back: candidate take positions
 * this far apart, each searched within max_shift of the old offset. */
#define FINE_STEP 64

struct engine {
	struct ghostrec_audiofile *take;
	struct ghostrec_audiofile *clean;
	int64_t take_frames;
	int64_t clean_frames;
	int take_channels;
	int clean_channels;
	int clean_channel;        /* clean channel compared with take channel 0 */
	double tol;               /* largest |take - clean| that still counts as equal */
	struct ghostrec_conform_feed *feed; /* while walking: where settled segments go, or NULL */

	/* Marker knowledge. The marker replaced the node's output, so the take holds marker
	 * symbols where the clean file holds the pristine audio. */
	int64_t marker_take;      /* take frame of a decoded marker, -1 if none */
	int marker_d_known;       /* the metadata says where the decoded marker is in the clean file: */
	int64_t marker_d;         /* its frames map there only (clean frame - take frame) */
	int64_t marker_clean;     /* clean frame from metadata when no marker was decoded, else -1 */
	int8_t marker_sym[GHOSTREC_MARKER_FRAMES];
	int marker_sign_known[GHOSTREC_MARKER_FRAMES];
	double marker_amp;

	int64_t check_step;
	int64_t max_shift;

	/* Walk state */
	int64_t d;                /* current offset: take frame t maps to clean frame t + d */
	int64_t seg_start;        /* first take frame of the open segment */

	const struct ghostrec_gap *gaps;  /* the clean file's gaps, sorted */
	size_t n_gaps;

	const struct ghostrec_conform_options *opt;
	struct ghostrec_conform_result *res;
	int oom;
	float *scan_buf;          /* SCAN_BLOCK clean frames for scan_clean */

	/* The walk compares every frame of the stretches it passes (in blocks), and keeps what
	 * it found for the verification (verify_frame for each of them): `covers`, in take
	 * order, with the frames among them that differ. */
	struct walk_block *wb;
	struct cover *covers;
	size_t n_covers, cap_covers;
	int64_t *misses;
	size_t n_misses, cap_misses;
	int covers_full;          /* stopped keeping them (too many differing frames) */
};

/* Take frames [a, b) on offset d, all compared; misses[m0, m1) are those that differ. */
#define COVER_MAX_MISSES (1u << 18)

struct cover {
	int64_t a, b, d;
	size_t m0, m1;
};

const char *ghostrec_glitch_kind_name(int kind)
{
	switch (kind) {
	case GHOSTREC_GLITCH_REPLACED:
		return "replaced";
	case GHOSTREC_GLITCH_DROPPED:
		return "dropped";
	case GHOSTREC_GLITCH_GAP:
		return "gap";
	case GHOSTREC_GLITCH_REPEATED:
		return "repeated";
	case GHOSTREC_GLITCH_REORDERED:
		return "reordered";
	default:
		return "inserted";
	}
}

/* ---- results ---- */

static void add_segment(struct engine *e, int64_t take_start, int64_t take_end, int64_t d)
{
	struct ghostrec_conform_result *r = e->res;
	if (take_end <= take_start)
		return;
	if (r->n_segments == r->cap_segments) {
		size_t cap = r->cap_segments ? r->cap_segments * 2 : 16;
		void *p = realloc(r->segments, cap * sizeof(*r->segments));
		if (!p) {
			e->oom = 1;
			return;
		}
		r->segments = p;
		r->cap_segments = cap;
	}
	struct ghostrec_conform_segment *s = &r->segments[r->n_segments++];
	s->take_start = take_start;
	s->take_end = take_end;
	s->clean_start = take_start + d;
	if (e->feed)
		ghostrec_conform_feed_segment(e->feed, s);
}

static void add_glitch(struct engine *e, int64_t take_frame, int kind, int64_t frames)
{
	struct ghostrec_conform_result *r = e->res;
	if (frames <= 0)
		return;
	if (r->n_glitches == r->cap_glitches) {
		size_t cap = r->cap_glitches ? r->cap_glitches * 2 : 16;
		void *p = realloc(r->glitches, cap * sizeof(*r->glitches));
		if (!p) {
			e->oom = 1;
			return;
		}
		r->glitches = p;
		r->cap_glitches = cap;
	}
	struct ghostrec_conform_glitch *g = &r->glitches[r->n_glitches++];
	g->take_frame = take_frame;
	g->kind = kind;
	g->frames = frames;
	if (e->feed && kind == GHOSTREC_GLITCH_GAP)
		ghostrec_conform_feed_gap(e->feed, g);
}

void ghostrec_conform_result_clear(struct ghostrec_conform_result *res)
{
	free(res->segments);
	free(res->glitches);
	memset(res, 0, sizeof(*res));
}

/* ---- gaps ---- */

/* Index of the first gap that ends after clean frame c (n_gaps if none). */
static size_t gap_after(const struct engine *e, int64_t c)
{
	size_t lo = 0, hi = e->n_gaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((int64_t)(e->gaps[mid].frame + e->gaps[mid].frames) <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does clean frame c lie in a gap (no audio there, whatever the file holds)? */
static int in_gap(const struct engine *e, int64_t c)
{
	if (e->n_gaps == 0)
		return 0;
	size_t i = gap_after(e, c);
	return i < e->n_gaps && (int64_t)e->gaps[i].frame <= c;
}

/* ---- comparing frames ---- */

/* Tolerance for comparing a take sample with a clean sample: the larger of the two
 * formats' quantization allowances (ghostrec_marker_tolerance: 2 LSB for 16/24-bit, which
 * covers rounding (1/2 LSB) plus the 2^(b-1) vs 2^(b-1)-1 scale converters disagree on
 * (up to 1 LSB at full scale); ~2^-24 for float32, which transits PWAR bit-exact). */
double ghostrec_conform_tolerance(const struct ghostrec_audioinfo *take,
				  const struct ghostrec_audioinfo *clean)
{
	double a = ghostrec_marker_tolerance(take->is_float ? 32 : take->bits);
	double b = ghostrec_marker_tolerance(clean->is_float ? 32 : clean->bits);
	return a > b ? a : b;
}

/* Take frame t / clean frame c lies inside the decoded sync marker. */
static int in_take_marker(const struct engine *e, int64_t t)
{
	return e->marker_take >= 0 && t >= e->marker_take && t < e->marker_take + GHOSTREC_MARKER_FRAMES;
}

static int in_clean_marker(const struct engine *e, int64_t c)
{
	return e->marker_clean >= 0 && c >= e->marker_clean && c < e->marker_clean + GHOSTREC_MARKER_FRAMES;
}

static int sample_matches(double x, double y, double tol)
{
	return fabs(x - y) <= tol;
}

/* Does take sample x look like marker symbol i? Used only where the metadata says the
 * marker sat but the take's marker could not be decoded (a glitch hit it): symbols whose
 * sign depends on the channel index and CRC are checked by magnitude only. */
static int marker_fits(const struct engine *e, int64_t i, double x)
{
	int s = e->marker_sym[i];
	if (s == 0)
		return fabs(x) <= e->tol;
	if (e->marker_sign_known[i])
		return sample_matches(x, s * e->marker_amp, e->tol);
	return sample_matches(fabs(x), e->marker_amp, e->tol);
}

/* The compared channels of take frame t, as doubles into x (copied: the frame cache's pointer
 * lasts only until the next read of that file), and clean frame c in *cf; returns how many
 * channels, 0 when either frame cannot be read. */
static int frame_pair(struct engine *e, int64_t t, int64_t c, double *x, const float **cf)
{
	const float *tf = ghostrec_audiofile_frame(e->take, t);
	if (!tf)
		return 0;
	int n = e->take_channels < 64 ? e->take_channels : 64;
	for (int k = 0; k < n; k++)
		x[k] = tf[k];
	*cf = ghostrec_audiofile_frame(e->clean, c);
	return *cf ? n : 0;
}

/* Take frame t against clean frame c, all compared channels. */
static int frame_matches(struct engine *e, int64_t t, int64_t c)
{
	if (t < 0 || t >= e->take_frames || c < 0 || c >= e->clean_frames || in_gap(e, c))
		return 0;
	/* A decoded marker in the take: those frames carry no clean audio; trust them (on the
	 * marker's own offset, when the metadata gives it: a drop right before the marker must
	 * not carry the offset before it across the marker). */
	if (in_take_marker(e, t))
		return !e->marker_d_known || c - t == e->marker_d;
	double x[64];
	const float *cf;
	int n = frame_pair(e, t, c, x, &cf);
	if (!n)
		return 0;
	int in_marker = in_clean_marker(e, c);
	for (int k = 0; k < n; k++) {
		double y = cf[e->clean_channel + k];
		if (sample_matches(x[k], y, e->tol))
			continue;
		if (in_marker && marker_fits(e, c - e->marker_clean, x[k]))
			continue;
		return 0;
	}
	return 1;
}

/* Number of take samples in frame t louder than the tolerance. */
static int frame_nonsilent(struct engine *e, int64_t t)
{
	const float *tf = ghostrec_audiofile_frame(e->take, t);
	if (!tf)
		return 0;
	int count = 0;
	for (int k = 0; k < e->take_channels; k++)
		if (fabs((double)tf[k]) > e->tol)
			count++;
	return count;
}

/* Verification window: frames from (t, c) on all match until WINDOW_NONSILENT non-silent
 * take samples have been seen. */
static int window_matches(struct engine *e, int64_t t, int64_t c)
{
	int nonsilent = 0;
	for (int64_t i = 0; i < WINDOW_MAX_FRAMES; i++) {
		/* The end of the take, or a gap in the clean file, ends the evidence. */
		if (t + i >= e->take_frames || in_gap(e, c + i))
			return nonsilent >= WINDOW_TAIL_NONSILENT;
		if (!frame_matches(e, t + i, c + i))
			return 0;
		nonsilent += frame_nonsilent(e, t + i);
		if (nonsilent >= WINDOW_NONSILENT)
			return 1;
	}
	return 0;
}

/* Is there enough sound after take frame t for a window to prove anything? */
static int window_has_sound(struct engine *e, int64_t t)
{
	int nonsilent = 0;
	for (int64_t i = 0; i < WINDOW_MAX_FRAMES && t + i < e->take_frames; i++) {
		nonsilent += frame_nonsilent(e, t + i);
		if (nonsilent >= WINDOW_NONSILENT)
			return 1;
	}
	return 0;
}

/* First clean frame c in [c_from, c_to) where take frame t matches and the window from
 * (t, c) holds, or -1: the loop `for (c ...) if (frame_matches && window_matches)`, with
 * the frame test done on clean blocks read at once (a cache lookup per candidate made the
 * nearby search inside a long non-silent replaced run cost seconds). */
#define SCAN_BLOCK 16384

static int64_t scan_clean(struct engine *e, int64_t t, int64_t c_from, int64_t c_to)
{
	if (c_from < 0)
		c_from = 0;
	if (c_to > e->clean_frames)
		c_to = e->clean_frames;
	if (t < 0 || t >= e->take_frames)
		return -1;
	if (in_take_marker(e, t)) {
		for (int64_t c = c_from; c < c_to; c++)
			if (frame_matches(e, t, c) && window_matches(e, t, c))
				return c;
		return -1;
	}
	const float *tf = ghostrec_audiofile_frame(e->take, t);
	if (!tf)
		return -1;
	double x[64];
	int n = e->take_channels < 64 ? e->take_channels : 64;
	for (int k = 0; k < n; k++)
		x[k] = tf[k];
	if (!e->scan_buf) {
		e->scan_buf = malloc(sizeof(float) * SCAN_BLOCK * (size_t)e->clean_channels);
		if (!e->scan_buf) {
			e->oom = 1;
			return -1;
		}
	}
	for (int64_t cs = c_from; cs < c_to; cs += SCAN_BLOCK) {
		int64_t cnt = c_to - cs < SCAN_BLOCK ? c_to - cs : SCAN_BLOCK;
		if (ghostrec_audiofile_read(e->clean, cs, cnt, e->scan_buf) != 0)
			return -1;
		for (int64_t i = 0; i < cnt; i++) {
			const float *y = e->scan_buf + i * e->clean_channels + e->clean_channel;
			int64_t c = cs + i;
			if (e->n_gaps && in_gap(e, c))
				continue;
			int in_marker = in_clean_marker(e, c);
			int ok = 1;
			for (int k = 0; k < n && ok; k++)
				ok = sample_matches(x[k], y[k], e->tol) ||
				     (in_marker && marker_fits(e, c - e->marker_clean, x[k]));
			if (ok && window_matches(e, t, c))
				return c;
		}
	}
	return -1;
}

/* ---- first alignment ---- */

/* Content search: the first take position t0 in [t_from, t_to) (ANCHOR_STEP apart, silent ones
 * skipped) whose window matches somewhere in the clean file. With try_channels, every
 * clean channel offset is tried (mono take of a multichannel clean file, no marker).
 * One pass over the clean file per candidate, early-out on the first sample. */
static int find_anchor(struct engine *e, int64_t t_from, int64_t t_to, int try_channels,
		       int64_t *t_out, int64_t *d_out)
{
	int tries = 0;
	int first_channel = try_channels ? 0 : e->clean_channel;
	int last_channel = try_channels ? e->clean_channels - e->take_channels : e->clean_channel;
	for (int64_t t0 = t_from; t0 < t_to && tries < ANCHOR_TRIES; t0 += ANCHOR_STEP) {
		if (!window_has_sound(e, t0))
			continue;
		tries++;
		for (int ch = first_channel; ch <= last_channel; ch++) {
			e->clean_channel = ch;
			int64_t c = scan_clean(e, t0, 0, e->clean_frames);
			if (c >= 0) {
				*t_out = t0;
				*d_out = c - t0;
				return 1;
			}
		}
		e->clean_channel = first_channel;
	}
	return 0;
}

/* Looks for the marker in the head of every take channel, channel by channel, reading the
 * head in overlapping chunks so memory stays small whatever the rate and channel count. */
#define MARKER_SCAN_CHUNK 65536

static int find_take_marker(struct engine *e, int64_t scan, struct ghostrec_marker_match *m)
{
	int64_t n = e->take_frames < scan ? e->take_frames : scan;
	int64_t overlap = GHOSTREC_MARKER_FRAMES - 1;
	if (n < (int64_t)GHOSTREC_MARKER_FRAMES)
		return 0;
	float *buf = malloc(sizeof(float) * (size_t)(MARKER_SCAN_CHUNK + overlap) * (size_t)e->take_channels);
	if (!buf)
		return 0;
	int found = 0;
	for (int k = 0; k < e->take_channels && !found; k++) {
		for (int64_t start = 0; start < n && !found; start += MARKER_SCAN_CHUNK) {
			int64_t len = n - start < MARKER_SCAN_CHUNK + overlap ? n - start : MARKER_SCAN_CHUNK + overlap;
			if (ghostrec_audiofile_read(e->take, start, len, buf) != 0)
				break;
			found = ghostrec_marker_find(buf + k, (size_t)len, (size_t)e->take_channels,
						     (float)e->tol, m);
			if (found)
				m->frame += (uint64_t)start;
		}
	}
	free(buf);
	return found;
}

/* Extends an alignment backwards from take frame `from` while frames match; returns the
 * first take frame of the run. */
static int64_t extend_back(struct engine *e, int64_t from, int64_t d)
{
	int64_t s = from;
	while (s > 0 && s - 1 + d >= 0 && frame_matches(e, s - 1, s - 1 + d))
		s--;
	return s;
}

/* ---- re-acquisition after a mismatch ---- */

/* First differing frame in [lo, hi]; hi is known to differ, everything before lo matched. */
static int64_t first_bad(struct engine *e, int64_t lo, int64_t hi, int64_t d)
{
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (frame_matches(e, mid, mid + d))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Glitches of several kinds back to back (silence then a drop, an insertion then a drop):
 * no single rule above explains them. Look for any offset within max_shift of the old one,
 * at take positions FINE_STEP apart after f, then move the join back to the first frame
 * after f that the new offset explains, so no good frame is left on the old offset. */
static int reacquire_nearby(struct engine *e, int64_t f, int64_t d, int64_t t_limit, int64_t *t2,
			    int64_t *d2)
{
	for (int64_t t0 = f + 1; t0 < t_limit && t0 <= f + e->max_shift && t0 < e->take_frames;
	     t0 += FINE_STEP) {
		/* A silent frame lines up with any silence: no anchor (and skipping the silence of
		 * a replaced run keeps this cheap). */
		if (frame_nonsilent(e, t0) == 0 || !window_has_sound(e, t0))
			continue;
		int64_t c_lo = t0 + d - e->max_shift;
		int64_t c_hi = t0 + d + e->max_shift;
		if (c_lo < 0)
			c_lo = 0;
		if (c_hi > e->clean_frames - 1)
			c_hi = e->clean_frames - 1;
		int64_t c = scan_clean(e, t0, c_lo, c_hi + 1);
		if (c >= 0) {
			int64_t nd = c - t0;
			int64_t s = t0;
			while (s > f + 1 && frame_matches(e, s - 1, s - 1 + nd))
				s--;
			*t2 = s;
			*d2 = nd;
			return 1;
		}
	}
	return 0;
}

/* Earliest (t2 >= f, d2) where the take lines up with the clean file again.
 * Order: a drop (t2 == f: the take continues further on in the clean file), then, frame
 * by frame after f, the end of a replaced run (same d) or of an insertion (the clean
 * file continues where it left off, at f + d); then any nearby offset (glitches back to
 * back); last, a content search over the whole clean file. */
static int reacquire(struct engine *e, int64_t f, int64_t d, int64_t *t2, int64_t *d2)
{
	/* for (n = 1; n <= max_shift && f + d + n < clean_frames; n++) */
	int64_t c_last = f + d + e->max_shift < e->clean_frames - 1 ? f + d + e->max_shift : e->clean_frames - 1;
	int64_t c = scan_clean(e, f, f + d + 1, c_last + 1);
	if (c >= 0) {
		*t2 = f;
		*d2 = c - f;
		return 1;
	}
	int64_t found_t = -1, found_d = 0;
	for (int64_t t = f + 1; t <= f + e->max_shift && t < e->take_frames; t++) {
		if (frame_matches(e, t, t + d) && window_matches(e, t, t + d)) {
			found_t = t;
			found_d = d;
			break;
		}
		if (frame_matches(e, t, f + d) && window_matches(e, t, f + d)) {
			found_t = t;
			found_d = f + d - t;
			break;
		}
	}
	if (found_t >= 0) {
		/* The take lines up again on a simple rule only at found_t. Before [f, found_t) is
		 * believed to be one replaced (or inserted) run, make sure no other offset explains
		 * frames inside it: glitches that shift the offset, undone by others within
		 * max_shift, would otherwise read as one long run mapped to the wrong audio. */
		if (found_t - f > FINE_STEP && reacquire_nearby(e, f, d, found_t, t2, d2))
			return 1;
		*t2 = found_t;
		*d2 = found_d;
		return 1;
	}
	if (reacquire_nearby(e, f, d, f + e->max_shift + 1, t2, d2))
		return 1;
	if (find_anchor(e, f + 1, e->take_frames, 0, t2, d2))
		return 1;
	return 0;
}

/* How far take frame t is from clean frame c, which it matches (frame_matches): the sum of
 * the compared samples' distances to the clean samples (or, where only a damaged marker's
 * symbol explains a sample, to that symbol). */
static double frame_distance(struct engine *e, int64_t t, int64_t c)
{
	if (in_take_marker(e, t))
		return 0.0;
	double x[64];
	const float *cf;
	int n = frame_pair(e, t, c, x, &cf);
	if (!n)
		return 0.0;
	double sum = 0.0;
	for (int k = 0; k < n; k++) {
		double y = cf[e->clean_channel + k];
		if (sample_matches(x[k], y, e->tol)) {
			sum += fabs(x[k] - y);
		} else {
			int sy = e->marker_sym[c - e->marker_clean];
			if (sy == 0)
				sum += fabs(x[k]);
			else if (e->marker_sign_known[c - e->marker_clean])
				sum += fabs(x[k] - sy * e->marker_amp);
			else
				sum += fabs(fabs(x[k]) - e->marker_amp);
		}
	}
	return sum;
}

/* The walk found a drop at f (the take goes on at f with offset d2 > e->d). f is a frame the
 * old offset does not explain, but not necessarily the first: the binary search between two
 * checkpoints, and the checkpoints themselves, can land on take frames after the drop that
 * still match the old offset (a 16-bit take's tolerance lets one frame in a few thousand
 * match other audio; a damaged marker's symbols fit other marker positions by sign or by
 * size). Returns where the drop really starts: no frame the old offset does not explain is
 * left on it, and frames both offsets explain go to the one they are closer to. On a tie
 * (a damaged marker's symbols, exact on either offset) the drop goes where the old offset
 * would go on at a marker frame whose index has the most trailing zero bits: the node starts
 * the marker at a graph cycle and relays lose whole cycles. Otherwise, the new offset. Never
 * before the open segment or the last glitch. */
static int marker_grid_rank(const struct engine *e, int64_t j)
{
	int64_t k = j + e->d - e->marker_clean;
	if (e->marker_clean < 0 || k < 0 || k > (int64_t)GHOSTREC_MARKER_FRAMES)
		return -1;
	if (k == 0)
		return 64;
	int rank = 0;
	while (k % 2 == 0) {
		k /= 2;
		rank++;
	}
	return rank;
}

static int64_t drop_join_back(struct engine *e, int64_t f, int64_t d2)
{
	int64_t floor = e->seg_start;
	const struct ghostrec_conform_result *r = e->res;
	if (r->n_glitches > 0) {
		const struct ghostrec_conform_glitch *g = &r->glitches[r->n_glitches - 1];
		int64_t end = g->kind == GHOSTREC_GLITCH_DROPPED ? g->take_frame : g->take_frame + g->frames;
		if (end > floor)
			floor = end;
	}
	/* [lo, f): the frames before f the new offset explains; [lo, hi): those of them the old
	 * offset explains too (hi: the first it does not). */
	int64_t lo = f;
	while (lo > floor && frame_matches(e, lo - 1, lo - 1 + d2))
		lo--;
	int64_t hi = lo;
	while (hi < f && frame_matches(e, hi, hi + e->d))
		hi++;
	/* The join j in [lo, hi] with [lo, j) on the old offset, [j, hi) on the new one, nearest. */
	double cost = 0.0;
	for (int64_t x = lo; x < hi; x++)
		cost += frame_distance(e, x, x + d2);
	double best = cost;
	int64_t join = lo;
	for (int64_t j = lo + 1; j <= hi; j++) {
		cost += frame_distance(e, j - 1, j - 1 + e->d) - frame_distance(e, j - 1, j - 1 + d2);
		if (cost < best || (cost == best && marker_grid_rank(e, j) > marker_grid_rank(e, join))) {
			best = cost;
			join = j;
		}
	}
	return join;
}

/* Records what happened between the first differing frame f (offset e->d) and the
 * re-acquired alignment (t2, d2); returns where the walk goes on (t2, or the end of a
 * repeated run). */
static int64_t record_glitch(struct engine *e, int64_t f, int64_t t2, int64_t d2)
{
	int64_t d = e->d;
	if (d2 == d) {
		add_glitch(e, f, GHOSTREC_GLITCH_REPLACED, t2 - f);
	} else if (d2 > d) {
		/* Clean frames are missing; anything odd before t2 still maps with the old d. */
		add_glitch(e, f, GHOSTREC_GLITCH_REPLACED, t2 - f);
		add_segment(e, e->seg_start, t2, d);
		add_glitch(e, t2, GHOSTREC_GLITCH_DROPPED, d2 - d);
		e->seg_start = t2;
	} else {
		int64_t n = d - d2;
		/* A repeat (PWAR's late duplicate): the take frames before t2 are the n clean
		 * frames just before t2 + d2 once more, i.e. they match on the new offset too. */
		int64_t r0 = t2;
		while (r0 > f && t2 - r0 < n && frame_matches(e, r0 - 1, r0 - 1 + d2))
			r0--;
		if (r0 == f || (t2 - f >= n && t2 - r0 >= n)) {
			int64_t at = r0 == f ? f : t2 - n;
			add_glitch(e, f, GHOSTREC_GLITCH_REPLACED, at - f);
			add_segment(e, e->seg_start, at, d);
			/* A block played again from further back than the one just before (a
			 * duplicate that arrived late): the run on d2 is shorter than the jump; after
			 * it the take should go on where it left off, at at + d (the walk checks). */
			int64_t len = 0;
			while (len < n && frame_matches(e, at + len, at + len + d2))
				len++;
			if (len > 0 && len < n) {
				add_glitch(e, at, GHOSTREC_GLITCH_REPEATED, len);
				add_segment(e, at, at + len, d2);
				e->seg_start = at + len;
				e->d = d - len;
				return at + len;
			}
			add_glitch(e, at, GHOSTREC_GLITCH_REPEATED, n);
			e->seg_start = at;
			e->d = d2;
			return t2;
		}
		if (t2 - f >= n) {
			/* The last n frames before t2 are the extra ones. */
			add_glitch(e, f, GHOSTREC_GLITCH_REPLACED, t2 - n - f);
			add_segment(e, e->seg_start, t2 - n, d);
			add_glitch(e, t2 - n, GHOSTREC_GLITCH_INSERTED, n);
		} else {
			/* The take repeats clean audio it already had: [f, t2) has no place. */
			add_segment(e, e->seg_start, f, d);
			add_glitch(e, f, GHOSTREC_GLITCH_INSERTED, t2 - f);
		}
		e->seg_start = t2;
	}
	e->d = d2;
	return t2;
}

/* Two runs of clean audio in swapped order (PWAR v0.1 / PR #4 call bufferSwitch per packet:
 * a reordered packet swaps two blocks). The walk found a drop of b frames at f (d2 = d + b):
 * if the take then has a run C on d2, followed by the b skipped frames B (the clean audio
 * at f + d, offset d - |C|), the take holds C B where the clean file holds B C. Returns
 * |B| + |C| then, else 0. Runs are at most REORDER_MAX frames (a packet or an ASIO block).
 * After B the take goes on with the old offset d, or (the packet after them lost too) with
 * a later one the walk finds. The first m of the b skipped frames may be lost as well (a
 * lost packet right before the swapped pair): then the take holds C B' with B' the last
 * b - m skipped frames, *dropped = m, and the span is |B'| + |C| on the offset d + m. */
#define REORDER_MAX 8192

/* Do take frames [t, t + n) match clean frames from c on, with enough sound among them to
 * prove it (a run followed by other audio: no window after it to ask)? */
static int run_matches(struct engine *e, int64_t t, int64_t c, int64_t n)
{
	int nonsilent = 0;
	for (int64_t i = 0; i < n; i++) {
		if (!frame_matches(e, t + i, c + i))
			return 0;
		nonsilent += frame_nonsilent(e, t + i);
	}
	return nonsilent >= WINDOW_NONSILENT;
}

static int64_t reordered_span(struct engine *e, int64_t f, int64_t d2, int64_t *dropped)
{
	int64_t d = e->d;
	int64_t b = d2 - d;
	*dropped = 0;
	if (b <= 0 || b > REORDER_MAX)
		return 0;
	int64_t lim = f + REORDER_MAX < e->take_frames ? f + REORDER_MAX : e->take_frames;
	int64_t c_end = lim;
	for (int64_t t = f; t < lim;) {
		int64_t q = t + e->check_step < lim ? t + e->check_step : lim;
		if (frame_matches(e, q - 1, q - 1 + d2)) {
			t = q;
			continue;
		}
		c_end = first_bad(e, t, q - 1, d2);
		break;
	}
	int64_t c = c_end - f;
	if (c <= 0 || c_end >= lim || c_end + b >= e->take_frames)
		return 0;
	int whole = 1;
	for (int64_t t = c_end; t < c_end + b && whole; t++)
		whole = frame_matches(e, t, t + d - c);
	if (whole && window_matches(e, c_end + b, c_end + b + d))
		return b + c;
	if (whole && run_matches(e, c_end, c_end + d - c, b))
		return b + c;   /* the take goes on with another offset after B */
	/* B' = skipped frames [m, b): the take frame after C is clean frame f + d + m. */
	for (int64_t m = 1; m < b; m++) {
		if (frame_matches(e, c_end, f + d + m) && run_matches(e, c_end, f + d + m, b - m)) {
			*dropped = m;
			return b - m + c;
		}
	}
	return 0;
}

/* The mismatch at f could not be explained. If the rest of the take is too short to prove a
 * shift and fits the clean file, it is most likely replaced audio (timeline kept);
 * otherwise the rest has no known clean counterpart. Returns the end of the last segment. */
static int64_t unexplained_tail(struct engine *e, int64_t f)
{
	int64_t rest = e->take_frames - f;
	if (rest <= WINDOW_MAX_FRAMES && e->take_frames + e->d <= e->clean_frames) {
		int64_t last = e->take_frames - 1;
		while (last > f && frame_matches(e, last, last + e->d))
			last--;
		add_glitch(e, f, GHOSTREC_GLITCH_REPLACED, last + 1 - f);
		return e->take_frames;
	}
	return f;
}

/* ---- gaps in the walk ---- */

/* After a gap: the earliest take frame t0 >= t_exp (FINE_STEP apart, silent ones skipped)
 * that lines up with clean audio after the gap's end c_end, within max_shift of the old
 * offset; else a content search over the rest of the take. */
static int find_after_gap(struct engine *e, int64_t t_exp, int64_t c_end, int64_t *t2, int64_t *d2)
{
	int64_t d = e->d;
	for (int64_t t0 = t_exp; t0 <= t_exp + e->max_shift && t0 < e->take_frames; t0 += FINE_STEP) {
		if (frame_nonsilent(e, t0) == 0 || !window_has_sound(e, t0))
			continue;
		int64_t c_lo = t0 + d - e->max_shift;
		int64_t c_hi = t0 + d + e->max_shift;
		if (c_lo < c_end)
			c_lo = c_end;
		if (c_hi > e->clean_frames - 1)
			c_hi = e->clean_frames - 1;
		int64_t c = scan_clean(e, t0, c_lo, c_hi + 1);
		if (c >= 0) {
			*t2 = t0;
			*d2 = c - t0;
			return 1;
		}
	}
	return find_anchor(e, t_exp, e->take_frames, 0, t2, d2);
}

/* The walk reached take frame tg, whose clean frame tg + d is the start of (or inside) gap
 * gi. Closes the open segment, reports the take frames mapped into the gap, and moves the
 * walk to where the take lines up again after it. Returns 0 when nothing after the gap
 * lines up (the walk ends; the rest of the take keeps its own audio). */
static int cross_gap(struct engine *e, int64_t tg, size_t gi, int64_t *t_next)
{
	int64_t d = e->d;
	int64_t c_end = (int64_t)(e->gaps[gi].frame + e->gaps[gi].frames);
	int64_t t_exp = c_end - d;   /* the take frame that maps to c_end with the old offset */
	add_segment(e, e->seg_start, tg, d);
	int64_t t2 = -1, d2 = d;
	if (t_exp < e->take_frames && c_end < e->clean_frames) {
		if (frame_matches(e, t_exp, c_end) && window_matches(e, t_exp, c_end))
			t2 = t_exp;
		else if (!find_after_gap(e, t_exp, c_end, &t2, &d2))
			t2 = -1;
	}
	if (t2 < 0) {
		int64_t last = t_exp < e->take_frames ? t_exp : e->take_frames;
		add_glitch(e, tg, GHOSTREC_GLITCH_GAP, last - tg);
		e->seg_start = last;
		*t_next = last;
		return 0;
	}
	/* Move the join back to the first take frame after tg the new offset explains. */
	int64_t s = t2;
	while (s > tg && frame_matches(e, s - 1, s - 1 + d2))
		s--;
	if (s == tg && d2 > d)
		add_glitch(e, tg, GHOSTREC_GLITCH_DROPPED, d2 - d); /* the take lacks the gap too */
	else
		add_glitch(e, tg, GHOSTREC_GLITCH_GAP, s - tg);
	e->seg_start = s;
	e->d = d2;
	*t_next = s;
	return 1;
}

/* Take frames before the walk's start whose clean frames lie in a gap: reported as gap. */
static void head_gap(struct engine *e, int64_t start, int64_t d)
{
	if (start <= 0 || start - 1 + d < 0 || !in_gap(e, start - 1 + d))
		return;
	int64_t from = (int64_t)e->gaps[gap_after(e, start - 1 + d)].frame - d;
	if (from < 0)
		from = 0;
	add_glitch(e, from, GHOSTREC_GLITCH_GAP, start - from);
}

/* ---- the walk's block compares ---- */

/* Does the verification (and the walk, outside gaps) need frame_matches for (t, c) rather
 * than the plain sample compare? (the marker, frames outside either file) */
static int needs_frame_matches(const struct engine *e, int64_t t, int64_t c)
{
	return in_take_marker(e, t) || in_clean_marker(e, c) || t < 0 || c < 0 || t >= e->take_frames ||
	       c >= e->clean_frames;
}

/* Take frames [t0, t0 + n) against clean frames t + d, all compared at once: ok[i] is what
 * the verification's per-frame test (verify_frame) says for t0 + i. */
#define WALK_BLOCK 4096

struct walk_block {
	int64_t t0, n, d;
	uint8_t ok[WALK_BLOCK];
	uint8_t bad[WALK_BLOCK * 2];  /* per sample, for the common layouts */
	float *tb, *cb;
};

/* The band around tol where a float compare of |x - y| cannot decide (see compare_samples). */
static void tolerance_band(double tol, float *lo, float *hi)
{
	*lo = (float)(tol * (1.0 - 0x1p-20));
	*hi = (float)(tol * (1.0 + 0x1p-20));
}

/* bad[j] = !sample_matches(x[j], y[j * ys], tol) for j < n. A float compare decides every
 * sample clearly away from the tolerance (|fl32(x - y)| is within 2^-24 of |x - y|, so a
 * margin of 2^-20 either side of tol cannot be crossed), the double one those close to it
 * (and NaNs, which compare false both ways). */
static void compare_samples(const float *x, const float *y, size_t ys, size_t n, double tol,
			    uint8_t *bad)
{
	float lo, hi;
	tolerance_band(tol, &lo, &hi);
	int unsure = 0;
	if (ys == 1) {
		for (size_t j = 0; j < n; j++) {
			float f = fabsf(x[j] - y[j]);
			bad[j] = f > hi;
			unsure |= !(f < lo) & !(f > hi);
		}
	} else {
		for (size_t j = 0; j < n; j++) {
			float f = fabsf(x[j] - y[j * ys]);
			bad[j] = f > hi;
			unsure |= !(f < lo) & !(f > hi);
		}
	}
	if (!unsure)
		return;
	for (size_t j = 0; j < n; j++) {
		float f = fabsf(x[j] - y[j * ys]);
		if (!(f < lo) && !(f > hi))
			bad[j] = !sample_matches(x[j], y[j * ys], tol);
	}
}

/* compare_samples straight on the files' mapped bytes, for the usual pair (16/24-bit take,
 * float32 clean file): ns take samples from take frame t0 against clean samples from frame
 * c0 on, clean channel stride ys. Returns 0 (nothing decided) when the files are not both
 * mapped that way or a sample lies in the tolerance band, where the caller decodes. */
static int compare_mapped(struct engine *e, int64_t t0, int64_t c0, int64_t n, size_t ns, size_t ys,
			  uint8_t *bad)
{
	int layout = ghostrec_audiofile_layout(e->take);
	if ((layout != GHOSTREC_LAYOUT_S16 && layout != GHOSTREC_LAYOUT_S24) ||
	    ghostrec_audiofile_layout(e->clean) != GHOSTREC_LAYOUT_F32)
		return 0;
	const void *take = ghostrec_audiofile_mapped(e->take, t0, n);
	const unsigned char *clean = ghostrec_audiofile_mapped(e->clean, c0, n);
	if (!take || !clean)
		return 0;
	float lo, hi;
	tolerance_band(e->tol, &lo, &hi);
	return !ghostrec_compare_take_clean(layout, take, clean + 4 * (size_t)e->clean_channel, ys, ns, lo, hi,
					    bad);
}

static struct walk_block *walk_block_fill(struct engine *e, int64_t t0, int64_t n, int64_t d)
{
	struct walk_block *w = e->wb;
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (w) {
			w->tb = malloc(sizeof(float) * WALK_BLOCK * (size_t)e->take_channels);
			w->cb = malloc(sizeof(float) * WALK_BLOCK * (size_t)e->clean_channels);
		}
		if (!w || !w->tb || !w->cb) {
			if (w) {
				free(w->tb);
				free(w->cb);
			}
			free(w);
			e->oom = 1;
			return NULL;
		}
		e->wb = w;
	}
	if (n > WALK_BLOCK)
		n = WALK_BLOCK;
	w->t0 = t0;
	w->n = n;
	w->d = d;
	int64_t c0 = t0 + d;
	int tch = e->take_channels, cch = e->clean_channels;
	int nch = tch < 64 ? tch : 64;
	double tol = e->tol;
	/* same layout: one flat compare over the samples; a mono take: one clean channel */
	int flat = tch == cch && nch == tch && tch <= 2 && e->clean_channel == 0;
	int strided = !flat && tch == 1 && cch <= 2;
	size_t ns = flat ? (size_t)n * (size_t)tch : (size_t)n, ys = flat ? 1 : (size_t)cch;
	int decided = (flat || strided) && compare_mapped(e, t0, c0, n, ns, ys, w->bad);
	if (!decided && (ghostrec_audiofile_read(e->take, t0, n, w->tb) != 0 ||
			 ghostrec_audiofile_read(e->clean, c0, n, w->cb) != 0)) {
		for (int64_t i = 0; i < n; i++)
			w->ok[i] = (uint8_t)frame_matches(e, t0 + i, c0 + i);
		return w;
	}
	if (flat || strided) {
		if (!decided)
			compare_samples(w->tb, w->cb + e->clean_channel, ys, ns, tol, w->bad);
		if (tch == 1)
			for (int64_t i = 0; i < n; i++)
				w->ok[i] = !w->bad[i];
		else
			for (int64_t i = 0; i < n; i++)
				w->ok[i] = !(w->bad[2 * i] | w->bad[2 * i + 1]);
	} else {
		for (int64_t i = 0; i < n; i++) {
			const float *x = w->tb + i * tch;
			const float *y = w->cb + i * cch + e->clean_channel;
			int ok = 1;
			for (int k = 0; k < nch && ok; k++)
				ok = sample_matches(x[k], y[k], tol);
			w->ok[i] = (uint8_t)ok;
		}
	}
	/* the marker and the files' ends: frame by frame, as the verification does */
	if (needs_frame_matches(e, t0, c0) || needs_frame_matches(e, t0 + n - 1, c0 + n - 1) ||
	    (e->marker_take >= 0 && e->marker_take < t0 + n && e->marker_take + GHOSTREC_MARKER_FRAMES > t0) ||
	    (e->marker_clean >= 0 && e->marker_clean < c0 + n && e->marker_clean + GHOSTREC_MARKER_FRAMES > c0)) {
		for (int64_t i = 0; i < n; i++)
			if (needs_frame_matches(e, t0 + i, c0 + i))
				w->ok[i] = (uint8_t)frame_matches(e, t0 + i, c0 + i);
	}
	return w;
}

/* Keeps take frames [a, b) on offset d as compared, with the differing ones among them
 * (ok, from the walk block) for the verification. */
static void add_cover(struct engine *e, const struct walk_block *w, int64_t a, int64_t b)
{
	if (e->covers_full || b <= a)
		return;
	struct cover *last = e->n_covers ? &e->covers[e->n_covers - 1] : NULL;
	if (last && a < last->b) {
		e->covers_full = 1;   /* not in take order: the verification compares from here on */
		return;
	}
	size_t m_before = e->n_misses;
	for (int64_t t = a; t < b; t++) {
		const uint8_t *z = memchr(w->ok + (t - w->t0), 0, (size_t)(b - t));
		if (!z)
			break;
		t = w->t0 + (z - w->ok);
		if (e->n_misses == e->cap_misses) {
			size_t cap = e->cap_misses ? e->cap_misses * 2 : 256;
			void *p = cap <= COVER_MAX_MISSES ? realloc(e->misses, cap * sizeof(*e->misses)) : NULL;
			if (!p) {
				e->n_misses = m_before;
				e->covers_full = 1;
				return;
			}
			e->misses = p;
			e->cap_misses = cap;
		}
		e->misses[e->n_misses++] = t;
	}
	if (last && last->b == a && last->d == w->d) {
		last->b = b;
		last->m1 = e->n_misses;
		return;
	}
	if (e->n_covers == e->cap_covers) {
		size_t cap = e->cap_covers ? e->cap_covers * 2 : 64;
		void *p = realloc(e->covers, cap * sizeof(*e->covers));
		if (!p) {
			e->n_misses = m_before;
			e->covers_full = 1;
			return;
		}
		e->covers = p;
		e->cap_covers = cap;
	}
	struct cover *c = &e->covers[e->n_covers++];
	c->a = a;
	c->b = b;
	c->d = w->d;
	c->m0 = m_before;
	c->m1 = e->n_misses;
}

/* The walk's checkpoint: does take frame q match clean frame q + d (frame_matches), with
 * every frame in [t, q] compared through the walk block and kept for the verification when
 * it does? The walk never reaches a gap's clean frames, where the two tests differ. */
static int walk_passes(struct engine *e, int64_t t, int64_t q, int64_t limit)
{
	int64_t d = e->d;
	struct walk_block *w = e->wb;
	if (!w || w->d != d || t < w->t0 || q >= w->t0 + w->n) {
		w = walk_block_fill(e, t, limit - t, d);
		if (!w || q >= w->t0 + w->n)
			return frame_matches(e, q, q + d);
	}
	if ((e->n_gaps && in_gap(e, q + d)) || !w->ok[q - w->t0])
		return frame_matches(e, q, q + d);
	add_cover(e, w, t, q + 1);
	return 1;
}

/* After walk_passes(e, t0, t - 1, limit) passed: the checkpoints after it that the walk
 * block holds, tested as walk_passes would, at once (one cover for all of them). Returns
 * the frame after the last checkpoint passed (t if none). */
static int64_t walk_passes_in_block(struct engine *e, int64_t t, int64_t limit)
{
	const struct walk_block *w = e->wb;
	if (!w || w->d != e->d || t < w->t0)
		return t;
	int64_t from = t, end = w->t0 + w->n;
	for (;;) {
		int64_t q = t + e->check_step;
		if (q > limit)
			q = limit;
		q = q - 1;
		if (q < t || q >= end || !w->ok[q - w->t0] || (e->n_gaps && in_gap(e, q + e->d)))
			break;
		t = q + 1;
	}
	add_cover(e, w, from, t);
	return t;
}

/* ---- the walk ---- */

static void walk(struct engine *e, int64_t t)
{
	int64_t next_progress = 0;
	e->seg_start = t;
	for (;;) {
		int64_t limit = e->clean_frames - e->d;
		if (limit > e->take_frames)
			limit = e->take_frames;
		if (e->oom)
			break;
		/* The next gap on the current offset: the walk stops at its first frame. */
		size_t gi = e->n_gaps;
		if (e->n_gaps && t < limit) {
			gi = gap_after(e, t + e->d);
			if (gi < e->n_gaps && (int64_t)e->gaps[gi].frame - e->d < limit)
				limit = (int64_t)e->gaps[gi].frame - e->d > t ? (int64_t)e->gaps[gi].frame - e->d : t;
			else
				gi = e->n_gaps;
		}
		if (t >= limit) {
			if (gi < e->n_gaps && cross_gap(e, t, gi, &t))
				continue;
			break;
		}
		if (e->opt && e->opt->progress && t >= next_progress) {
			e->opt->progress(e->opt->progress_data, t, e->take_frames);
			next_progress = t + 1048576;
		}
		int64_t q = t + e->check_step;
		if (q > limit)
			q = limit;
		q = q - 1;
		if (walk_passes(e, t, q, limit)) {
			t = walk_passes_in_block(e, q + 1, limit);
			continue;
		}
		int64_t f = first_bad(e, t, q, e->d);
		int64_t t2, d2;
		if (!reacquire(e, f, e->d, &t2, &d2)) {
			if (gi < e->n_gaps && limit - f <= WINDOW_MAX_FRAMES) {
				/* Too little audio before the gap to prove a shift: replaced up to it. */
				int64_t last = limit - 1;
				while (last > f && frame_matches(e, last, last + e->d))
					last--;
				add_glitch(e, f, GHOSTREC_GLITCH_REPLACED, last + 1 - f);
				t = limit;
				continue;
			}
			t = unexplained_tail(e, f);
			break;
		}
		if (t2 == f && d2 > e->d) {
			f = drop_join_back(e, f, d2);
			t2 = f;
		}
		int64_t lost = 0;
		int64_t span = t2 == f && d2 > e->d ? reordered_span(e, f, d2, &lost) : 0;
		if (span > 0) {
			if (lost > 0) {
				/* Frames lost right before the swapped runs: a drop, then the swap. */
				add_segment(e, e->seg_start, f, e->d);
				add_glitch(e, f, GHOSTREC_GLITCH_DROPPED, lost);
				e->seg_start = f;
				e->d += lost;
			}
			/* The segment goes on with the (old) offset: clean order restored. */
			add_glitch(e, f, GHOSTREC_GLITCH_REORDERED, span);
			t = f + span;
			continue;
		}
		t = record_glitch(e, f, t2, d2);
	}
	add_segment(e, e->seg_start, t, e->d);
}

/* ---- completeness ---- */

/* Adds the run [run_start, run_last] as a replaced glitch, after the walk's glitches that
 * start before it (walked[*gi...]), so the list stays in take order. */
static void add_verified_run(struct engine *e, const struct ghostrec_conform_glitch *walked,
			     size_t n_walked, size_t *gi, int64_t run_start, int64_t run_last)
{
	while (*gi < n_walked && walked[*gi].take_frame < run_start) {
		add_glitch(e, walked[*gi].take_frame, walked[*gi].kind, walked[*gi].frames);
		*gi = *gi + 1;
	}
	add_glitch(e, run_start, GHOSTREC_GLITCH_REPLACED, run_last + 1 - run_start);
}

/* frame_matches(e, t, t + d) for t rising through a segment, with take and clean read in
 * blocks instead of one cache lookup per frame (same values, same result: frames the
 * marker logic concerns, and frames outside either file, go through frame_matches). */
#define VERIFY_BLOCK 16384

struct segment_matcher {
	int64_t d;
	int64_t b0, bn;           /* take frames [b0, b0 + bn) are in the buffers */
	float *tb, *cb;           /* VERIFY_BLOCK take / clean frames */
};

static int segment_frame_matches(struct engine *e, struct segment_matcher *m, int64_t t)
{
	int64_t c = t + m->d;
	if (needs_frame_matches(e, t, c))
		return frame_matches(e, t, c);
	if (t < m->b0 || t >= m->b0 + m->bn) {
		int64_t cnt = VERIFY_BLOCK;
		if (cnt > e->take_frames - t)
			cnt = e->take_frames - t;
		if (cnt > e->clean_frames - c)
			cnt = e->clean_frames - c;
		m->bn = 0;
		if (ghostrec_audiofile_read(e->take, t, cnt, m->tb) != 0 ||
		    ghostrec_audiofile_read(e->clean, c, cnt, m->cb) != 0)
			return frame_matches(e, t, c);
		m->b0 = t;
		m->bn = cnt;
	}
	int64_t i = t - m->b0;
	const float *x = m->tb + i * e->take_channels;
	const float *y = m->cb + i * e->clean_channels + e->clean_channel;
	int n = e->take_channels < 64 ? e->take_channels : 64;
	for (int k = 0; k < n; k++)
		if (!sample_matches(x[k], y[k], e->tol))
			return 0;
	return 1;
}

/* The walk compares one frame in check_step, so a replaced run shorter than that can fall
 * between two checkpoints. This pass compares every take frame inside every segment with
 * its clean frame (sequential reads through the block cache: linear in the take length)
 * and reports the differing frames the walk did not as replaced runs (differing frames
 * fewer than check_step apart form one run). Afterwards every segment frame either
 * matches its clean frame or lies in a replaced glitch. */
static void verify_segments(struct engine *e)
{
	struct ghostrec_conform_result *r = e->res;
	struct ghostrec_conform_glitch *walked = r->glitches;
	size_t n_walked = r->n_glitches;
	r->glitches = NULL;
	r->n_glitches = 0;
	r->cap_glitches = 0;
	size_t gi = 0;   /* next walk glitch to copy into the new list */
	size_t ri = 0;   /* first walk glitch that may still cover a frame >= t */
	struct segment_matcher m;
	m.tb = malloc(sizeof(float) * VERIFY_BLOCK * (size_t)e->take_channels);
	m.cb = malloc(sizeof(float) * VERIFY_BLOCK * (size_t)e->clean_channels);
	if (!m.tb || !m.cb)
		e->oom = 1;
	size_t ci = 0, mi = 0;   /* the walk's compares (covers) that may still hold t */
	for (size_t si = 0; si < r->n_segments && !e->oom; si++) {
		const struct ghostrec_conform_segment *s = &r->segments[si];
		m.d = s->clean_start - s->take_start;
		m.b0 = 0;
		m.bn = 0;
		int64_t run_start = -1, run_last = -1;
		int64_t t = s->take_start;
		while (t < s->take_end) {
			while (ri < n_walked && ((walked[ri].kind != GHOSTREC_GLITCH_REPLACED &&
						  walked[ri].kind != GHOSTREC_GLITCH_REORDERED) ||
						 walked[ri].take_frame + walked[ri].frames <= t))
				ri++;
			if (ri < n_walked && walked[ri].take_frame <= t) {
				/* Already reported by the walk. */
				if (run_start >= 0)
					add_verified_run(e, walked, n_walked, &gi, run_start, run_last);
				run_start = -1;
				t = walked[ri].take_frame + walked[ri].frames;
				continue;
			}
			while (ci < e->n_covers && e->covers[ci].b <= t)
				ci++;
			int ok;
			if (ci < e->n_covers && e->covers[ci].a <= t && e->covers[ci].d == m.d) {
				/* The walk compared these frames already: skip to its next differing one
				 * (or the next frame something else happens at). */
				const struct cover *cv = &e->covers[ci];
				if (mi < cv->m0)
					mi = cv->m0;
				while (mi < cv->m1 && e->misses[mi] < t)
					mi++;
				int64_t next = cv->b < s->take_end ? cv->b : s->take_end;
				if (mi < cv->m1 && e->misses[mi] < next)
					next = e->misses[mi];
				if (ri < n_walked && walked[ri].take_frame < next)
					next = walked[ri].take_frame;
				if (next > t) {
					t = next;
					continue;
				}
				ok = 0;   /* t is one of the differing frames */
			} else {
				ok = segment_frame_matches(e, &m, t);
			}
			if (!ok) {
				if (run_start >= 0 && t - run_last > e->check_step) {
					add_verified_run(e, walked, n_walked, &gi, run_start, run_last);
					run_start = -1;
				}
				if (run_start < 0)
					run_start = t;
				run_last = t;
			}
			t++;
		}
		if (run_start >= 0)
			add_verified_run(e, walked, n_walked, &gi, run_start, run_last);
	}
	while (gi < n_walked) {
		add_glitch(e, walked[gi].take_frame, walked[gi].kind, walked[gi].frames);
		gi++;
	}
	free(m.tb);
	free(m.cb);
	free(walked);
}

/* ---- entry point ---- */

static void set_marker_symbols(struct engine *e, uint32_t take_id, double amp)
{
	struct ghostrec_marker m = {.take_id = take_id, .channel = 0};
	ghostrec_marker_symbols(&m, e->marker_sym);
	for (uint32_t i = 0; i < GHOSTREC_MARKER_FRAMES; i++) {
		/* Preamble and the 32 take-id bits (64 symbols) do not depend on the channel. */
		e->marker_sign_known[i] = i < GHOSTREC_MARKER_PREAMBLE_FRAMES + 64u;
	}
	e->marker_amp = amp;
}

int ghostrec_conform_run(struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
			 const struct ghostrec_clean_meta *meta,
			 const struct ghostrec_conform_options *opt,
			 struct ghostrec_conform_result *res, char *err, size_t errsize)
{
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	const struct ghostrec_audioinfo *ci = ghostrec_audiofile_info(clean);
	memset(res, 0, sizeof(*res));
	res->take_frames = ti->frames;
	res->rate = ti->rate;

	if (ti->rate != ci->rate) {
		snprintf(err, errsize, "sample rate mismatch: take %d Hz, clean %d Hz", ti->rate, ci->rate);
		return -1;
	}
	if (ti->channels > ci->channels || ti->channels > 64) {
		snprintf(err, errsize, "take has %d channels, clean file only %d", ti->channels,
			 ci->channels);
		return -1;
	}

	struct engine e;
	memset(&e, 0, sizeof(e));
	e.take = take;
	e.clean = clean;
	e.take_frames = ti->frames;
	e.clean_frames = ci->frames;
	e.take_channels = ti->channels;
	e.clean_channels = ci->channels;
	e.tol = ghostrec_conform_tolerance(ti, ci);
	e.marker_take = -1;
	e.marker_clean = -1;
	e.check_step = opt && opt->check_step > 0 ? opt->check_step : GHOSTREC_CONFORM_CHECK_STEP;
	e.max_shift = opt && opt->max_shift > 0 ? opt->max_shift : 2 * (int64_t)ti->rate;
	e.opt = opt;
	e.res = res;
	if (meta) {
		e.gaps = meta->gaps;
		e.n_gaps = meta->n_gaps;
	}
	int64_t scan = opt && opt->marker_scan > 0 ? opt->marker_scan : 60 * (int64_t)ti->rate;

	struct ghostrec_marker_match m;
	int have_marker = find_take_marker(&e, scan, &m);
	if (have_marker) {
		res->has_take_id = 1;
		res->take_id = m.marker.take_id;
		e.marker_take = (int64_t)m.frame;
		e.marker_amp = m.amplitude;
	} else if (meta && meta->valid) {
		res->has_take_id = 1;
		res->take_id = meta->take_id;
	}

	/* Which clean channels to compare: all of them if the counts agree; for a take with
	 * fewer channels, the marker's channel index, else found by content below. */
	int channel_known = ti->channels == ci->channels;
	if (!channel_known && have_marker && m.marker.channel + ti->channels <= ci->channels) {
		e.clean_channel = m.marker.channel;
		channel_known = 1;
	}

	int64_t anchor = -1, d = 0;
	int meta_usable = meta && meta->valid && meta->marker_frame >= 0 &&
			  meta->marker_frame < ci->frames;
	if (have_marker && meta_usable && meta->take_id == m.marker.take_id && channel_known) {
		anchor = e.marker_take;
		d = meta->marker_frame - e.marker_take;
		e.marker_d_known = 1;
		e.marker_d = d;
		res->alignment = GHOSTREC_ALIGN_MARKER;
	} else {
		if (!have_marker && meta_usable) {
			/* The marker was in the take but a glitch destroyed it: recognise what is
			 * left of it where the metadata says it was. */
			e.marker_clean = meta->marker_frame;
			set_marker_symbols(&e, meta->take_id, GHOSTREC_MARKER_DEFAULT_AMPLITUDE);
		}
		int64_t t0 = have_marker ? e.marker_take + GHOSTREC_MARKER_FRAMES : 0;
		if (!find_anchor(&e, t0, e.take_frames, !channel_known, &anchor, &d) &&
		    !(t0 > 0 && find_anchor(&e, 0, t0, !channel_known, &anchor, &d))) {
			free(e.scan_buf);
			snprintf(err, errsize, e.oom ? "out of memory"
					     : "no alignment found: the take's audio does not occur in the clean file");
			return -1;
		}
		res->alignment = GHOSTREC_ALIGN_CONTENT;
	}

	/* Head: a glitch before the anchor (in the pre-roll) stops the backward extension;
	 * then an earlier content anchor, if any, becomes the start of the walk. */
	int64_t start = extend_back(&e, anchor, d);
	while (start > 0 && start - 1 + d >= 0) {
		int64_t a2, d2;
		if (!find_anchor(&e, 0, start - 1, 0, &a2, &d2))
			break;
		d = d2;
		start = extend_back(&e, a2, d);
	}

	res->clean_channel = e.clean_channel;
	e.d = d;
	/* the walk's segments and gaps go to a renderer beside it as they settle */
	e.feed = opt ? opt->feed : NULL;
	if (e.feed)
		ghostrec_conform_feed_start(e.feed, e.clean_channel);
	head_gap(&e, start, d);
	walk(&e, start);
	e.feed = NULL;
	if (!e.oom)
		verify_segments(&e);
	free(e.scan_buf);
	e.scan_buf = NULL;
	if (e.wb) {
		free(e.wb->tb);
		free(e.wb->cb);
		free(e.wb);
	}
	free(e.covers);
	free(e.misses);
	if (e.oom) {
		ghostrec_conform_result_clear(res);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- report ---- */

int ghostrec_conform_report_write(const struct ghostrec_conform_result *r, FILE *f)
{
	fprintf(f, "{\"take_id\": ");
	if (r->has_take_id)
		fprintf(f, "%u", r->take_id);
	else
		fprintf(f, "null");
	fprintf(f, ", \"clean_channel\": %d, \"take_frames\": %lld, \"rate\": %d, \"alignment\": \"%s\",\n",
		r->clean_channel, (long long)r->take_frames, r->rate,
		r->alignment == GHOSTREC_ALIGN_MARKER ? "marker" : "content");
	fprintf(f, " \"segments\": [");
	for (size_t i = 0; i < r->n_segments; i++) {
		const struct ghostrec_conform_segment *s = &r->segments[i];
		fprintf(f, "%s\n  {\"take_start\": %lld, \"take_end\": %lld, \"clean_start\": %lld}",
			i ? "," : "", (long long)s->take_start, (long long)s->take_end,
			(long long)s->clean_start);
	}
	fprintf(f, "],\n \"glitches\": [");
	for (size_t i = 0; i < r->n_glitches; i++) {
		const struct ghostrec_conform_glitch *g = &r->glitches[i];
		fprintf(f, "%s\n  {\"take_frame\": %lld, \"kind\": \"%s\", \"frames\": %lld}",
			i ? "," : "", (long long)g->take_frame, ghostrec_glitch_kind_name(g->kind),
			(long long)g->frames);
	}
	fprintf(f, "]}\n");
	return ferror(f) ? -1 : 0;
}
