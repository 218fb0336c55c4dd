/* Checks a node's capture journal holding the deterministic test signal (test-signal.h) against
 * the audio itself and against what a test saw of the ring, independently of the exporter.
 *
 *   gr-check-journal DIR end
 *       prints "<instance hex> <frame>": the newest timeline and the frame after the last one the
 *       journal holds of it ("none 0" for an empty journal)
 *   gr-check-journal DIR check [RESTARTS]
 *       every frame the journal holds of its newest timeline is the signal (channel 0 the
 *       player's counter, a constant distance from the ring frame; channel 1 its hash), or
 *       silence before the player's first frame; nothing is held twice; the holes between
 *       segments are exactly the recorded gaps (merged, same frames); every segment's content
 *       index equals the keys computed from its data (complete, none missing). RESTARTS: one
 *       line per exporter restart, "END OLDEST_BEFORE OLDEST_AFTER": the journal's end after the
 *       kill and the ring's oldest frame just before the exporter started again and just after
 *       it attached. Then the journal continues at END, or its hole from END ends at a frame the
 *       ring no longer held when the exporter started (>= OLDEST_BEFORE) and no later than the
 *       ring's oldest frame once it had attached (<= OLDEST_AFTER, plus the 0.1 s the exporter
 *       leaves to the node's writer at the overwrite end): everything the ring still held is in
 *       the journal; and no frame was lost while the exporter ran (every gap is
 *       exporter-down). Restarts before what the journal still holds (rotated out) are
 *       counted, not checked.
 *   Prints a summary; exit 0 when everything holds. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/journal.h"
#include "common/journal_content.h"
#include "test-signal.h"

static int failures;
#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; } while (0)

struct range {
	uint64_t a, b;
	char cause[GHOSTREC_JOURNAL_CAUSE_MAX];
};

static uint64_t newest(const struct ghostrec_journal *j)
{
	return j->n_segs ? j->segs[j->n_segs - 1].instance : 0;
}

static int cmp_range(const void *x, const void *y)
{
	const struct range *p = x, *q = y;
	return p->a < q->a ? -1 : p->a > q->a;
}

/* The signal at every held frame; holes between this timeline's segments. */
static size_t check_data(struct ghostrec_journal *j, uint64_t inst, struct range *holes, size_t max_holes,
			 uint64_t *held_from, uint64_t *held_to)
{
	size_t nh = 0;
	int64_t base = INT64_MIN; /* counter = ring frame - base (mod period) */
	uint64_t frames = 0, silent = 0, bad = 0, prev_end = 0;
	int first = 1;
	static float buf[65536 * GHOSTREC_JOURNAL_MAX_CHANNELS];
	for (size_t i = 0; i < j->n_segs; i++) {
		const struct ghostrec_journal_seg s = j->segs[i];
		if (s.instance != inst || !s.frames)
			continue;
		if (first) {
			*held_from = s.frame0;
		} else if (s.frame0 < prev_end) {
			FAIL("segment %u starts at frame %" PRIu64 ", before the end of the one before (%" PRIu64 "): held twice",
			     s.seq, s.frame0, prev_end);
		} else if (s.frame0 > prev_end && nh < max_holes) {
			holes[nh++] = (struct range){ prev_end, s.frame0, "" };
		}
		first = 0;
		prev_end = s.frame0 + s.frames;
		for (uint64_t f = s.frame0; f < s.frame0 + s.frames;) {
			uint32_t n = (uint32_t)(s.frame0 + s.frames - f > 65536 ? 65536 : s.frame0 + s.frames - f);
			if (ghostrec_journal_read(j, &s, f, n, buf) != 0) {
				FAIL("segment %u: cannot read frame %" PRIu64, s.seq, f);
				return nh;
			}
			for (uint32_t k = 0; k < n; k++) {
				const float *x = buf + (size_t)k * s.channels;
				uint64_t rf = f + k;
				frames++;
				if (base == INT64_MIN) {
					int all0 = 1;
					for (uint32_t c = 0; c < s.channels; c++)
						all0 &= x[c] == 0.0f;
					if (all0) {
						silent++;
						continue;
					}
					int64_t cnt = test_signal_frame(x[0]);
					if (cnt < 0) {
						bad++;
						continue;
					}
					base = (int64_t)rf - cnt;
				}
				uint64_t want = (uint64_t)((int64_t)rf - base);
				int ok = 1;
				for (uint32_t c = 0; c < s.channels && c < 2; c++)
					ok &= x[c] == test_signal(want, c);
				if (!ok) {
					if (bad < 5)
						printf("frame %" PRIu64 ": %g %g is not signal frame %" PRIu64 "\n", rf,
						       (double)x[0], (double)(s.channels > 1 ? x[1] : 0), want);
					bad++;
				}
			}
			f += n;
		}
	}
	*held_to = prev_end;
	printf("journal: frames %" PRIu64 "..%" PRIu64 " of timeline %016" PRIx64 ": %" PRIu64
	       " frames held (%.1f s), %" PRIu64 " silent before the signal, %" PRIu64 " wrong, %zu holes\n",
	       *held_from, *held_to, inst, frames, (double)frames / 48000.0, silent, bad, nh);
	if (bad)
		FAIL("%" PRIu64 " frames are not the signal (misplaced, duplicated or damaged)", bad);
	return nh;
}

static void check_index(struct ghostrec_journal *j)
{
	static float buf[(GHOSTREC_JCONTENT_BLOCK + GHOSTREC_JCONTENT_WINDOW) * GHOSTREC_JOURNAL_MAX_CHANNELS];
	uint64_t keys = 0, wrong = 0;
	for (size_t i = 0; i < j->n_segs; i++) {
		const struct ghostrec_journal_seg s = j->segs[i];
		char path[4200];
		ghostrec_jcontent_path(path, sizeof(path), j->dir, s.seq);
		FILE *f = fopen(path, "rb");
		if (!f) {
			FAIL("segment %u has no content index", s.seq);
			continue;
		}
		fseek(f, 0, SEEK_END);
		uint64_t size = (uint64_t)ftell(f);
		if (size != ghostrec_jcontent_file_bytes(&s))
			FAIL("segment %u: content index of %" PRIu64 " bytes, %" PRIu64 " expected", s.seq, size,
			     ghostrec_jcontent_file_bytes(&s));
		uint64_t n = ghostrec_jcontent_count(s.frame0, s.frames), first = ghostrec_jcontent_first(s.frame0);
		fseek(f, GHOSTREC_JCONTENT_HEADER, SEEK_SET);
		for (uint64_t b = 0; b < n; b++) {
			uint32_t stored[GHOSTREC_JOURNAL_MAX_CHANNELS];
			if (fread(stored, 4, s.channels, f) != s.channels)
				break;
			if (ghostrec_journal_read(j, &s, first + b * GHOSTREC_JCONTENT_BLOCK, GHOSTREC_JCONTENT_WINDOW, buf) != 0)
				break;
			for (uint32_t c = 0; c < s.channels; c++) {
				keys++;
				wrong += stored[c] != ghostrec_jcontent_key(buf + c, s.channels); /* (little-endian host) */
			}
		}
		fclose(f);
	}
	printf("content index: %" PRIu64 " keys in %zu segments, %" PRIu64 " differ from the data\n", keys, j->n_segs,
	       wrong);
	if (wrong)
		FAIL("%" PRIu64 " content index keys do not match the data", wrong);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: gr-check-journal DIR end | DIR check [RESTARTS]\n");
		return 2;
	}
	struct ghostrec_journal j;
	char err[512];
	if (ghostrec_journal_open(&j, argv[1], false, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "gr-check-journal: %s\n", err);
		return 1;
	}
	uint64_t inst = newest(&j), end = 0;
	if (!strcmp(argv[2], "end")) {
		if (!j.n_segs || !ghostrec_journal_end(&j, inst, &end))
			printf("none 0\n");
		else
			printf("%016" PRIx64 " %" PRIu64 "\n", inst, end);
		ghostrec_journal_close(&j);
		return 0;
	}
	if (!j.n_segs) {
		printf("FAIL: the journal is empty\n");
		return 1;
	}
	static struct range holes[4096], gaps[4096];
	uint64_t from = 0, to = 0;
	size_t nh = check_data(&j, inst, holes, 4096, &from, &to);
	/* the recorded gaps of this timeline within what is held, merged where they touch */
	size_t ng = 0;
	for (size_t i = 0; i < j.n_gaps && ng < 4096; i++) {
		const struct ghostrec_journal_gap *g = &j.gaps[i];
		if (g->instance != inst || g->frame + g->frames <= from)
			continue;
		gaps[ng] = (struct range){ g->frame, g->frame + g->frames, "" };
		snprintf(gaps[ng].cause, sizeof(gaps[ng].cause), "%s", g->cause);
		ng++;
	}
	qsort(gaps, ng, sizeof(gaps[0]), cmp_range);
	size_t m = 0;
	for (size_t i = 0; i < ng; i++) {
		if (m && gaps[i].a <= gaps[m - 1].b) {
			if (gaps[i].b > gaps[m - 1].b)
				gaps[m - 1].b = gaps[i].b;
		} else {
			gaps[m++] = gaps[i];
		}
	}
	ng = m;
	/* a gap recorded at the very end (nothing held after it yet) is not a hole between segments */
	size_t ng_inner = ng;
	while (ng_inner && gaps[ng_inner - 1].a >= to)
		ng_inner--;
	printf("holes %zu, recorded gaps %zu (%zu after the last held frame)\n", nh, ng, ng - ng_inner);
	uint64_t down = 0, other = 0;
	for (size_t i = 0; i < ng; i++)
		*(strcmp(gaps[i].cause, "exporter-down") ? &other : &down) += gaps[i].b - gaps[i].a;
	printf("gap frames: %" PRIu64 " exporter-down, %" PRIu64 " other causes (the exporter fell behind the ring)\n",
	       down, other);
	if (argc > 3 && other)
		FAIL("%" PRIu64 " frames lost while the exporter ran (it fell behind the ring)", other);
	for (size_t i = 0; i < nh || i < ng_inner; i++) {
		if (i < nh && i < ng_inner && holes[i].a == gaps[i].a && holes[i].b == gaps[i].b) {
			printf("  gap %" PRIu64 "+%" PRIu64 " %s: exact\n", gaps[i].a, gaps[i].b - gaps[i].a, gaps[i].cause);
			continue;
		}
		if (i < nh)
			FAIL("hole %" PRIu64 "+%" PRIu64 " has no exact gap record (record #%zu: %s)", holes[i].a,
			     holes[i].b - holes[i].a, i, i < ng_inner ? "differs" : "none");
		else
			FAIL("gap record %" PRIu64 "+%" PRIu64 " %s where the journal holds audio", gaps[i].a,
			     gaps[i].b - gaps[i].a, gaps[i].cause);
	}
	int restarts = 0, checked = 0, with_gap = 0;
	if (argc > 3) {
		FILE *f = fopen(argv[3], "r");
		unsigned long long e, ob, oa;
		while (f && fscanf(f, "%llu %llu %llu", &e, &ob, &oa) == 3) {
			restarts++;
			if (e < from || e > to)
				continue; /* rotated out, or after the end */
			checked++;
			uint64_t n;
			const struct ghostrec_journal_seg *seg;
			enum ghostrec_journal_where w = ghostrec_journal_locate(&j, inst, e, &n, &seg, NULL);
			if (w == GHOSTREC_JOURNAL_DATA)
				continue; /* the journal went on where it was */
			if (w != GHOSTREC_JOURNAL_HOLE) {
				FAIL("restart %d: nothing held after frame %llu", restarts, e);
				continue;
			}
			with_gap++;
			uint64_t b = e + n;
			/* the exporter resumes a little (0.1 s) after the oldest frame of a full ring, which
			 * the node overwrites next (capture.c): racing it would lose frames anyway */
			if (b < ob || b > oa + 4800)
				FAIL("restart %d: journal resumed at frame %" PRIu64 " after ending at %llu; the ring held "
				     "frames from %llu (before the start) .. %llu (after the attach)",
				     restarts, b, e, ob, oa);
			else
				printf("  restart %d: hole %llu..%" PRIu64 ", ring held from %llu..%llu: ok\n", restarts, e, b,
				       ob, oa);
		}
		if (f)
			fclose(f);
		printf("restarts: %d, %d checked (%d with a gap: the ring had wrapped), %d before what the journal holds\n",
		       restarts, checked, with_gap, restarts - checked);
	}
	check_index(&j);
	ghostrec_journal_close(&j);
	printf("%s\n", failures ? "RESULT: FAIL" : "RESULT: the journal is exact");
	return failures ? 1 : 0;
}
