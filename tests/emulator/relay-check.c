/* Checks one relay-emulator run end to end: OUT (ghostrec-sync --join cut) against the
 * pristine audio in the exporter's clean file mapped through the emulator's true log.
 *
 * The emulator's log says which relayed ("stream") frame every take frame holds. Where each
 * stream frame sits in the clean file is found here by exact lookup: the source signal is
 * noise, so a few float32 samples identify their position in the clean file uniquely. That
 * also catches what the PipeWire graph itself did (a cycle the relay or the node missed under
 * load) without asking the conform engine anything. The marker ties the two together where
 * the stream carries marker symbols instead of audio, and its frame is checked against the
 * clean file's metadata.
 *
 * Without a marker in the stream (no /record was ever sent, so the node never marked: the take
 * was recovered from the journal by content) there is nothing to check against the clean file's
 * metadata, and the take's channel is the clean channel that holds the stream.
 *
 * usage: relay-check EMU_DIR CLEAN.wav OUT.wav EXPECTED.json
 *   prints what it found; writes the true glitch list (take frames, replaced runs trimmed to
 *   their first/last differing frame) to EXPECTED.json; exit 0 when OUT is exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audiofile.h"
#include "common/marker.h"
#include "common/takemeta.h"
#include "glitchsim.h"

static float *read_all(const char *path, struct ghostrec_audioinfo *info)
{
	char err[512];
	struct ghostrec_audiofile *af = ghostrec_audiofile_open(path, err, sizeof(err));
	if (!af) {
		fprintf(stderr, "relay-check: %s\n", err);
		return NULL;
	}
	*info = *ghostrec_audiofile_info(af);
	float *buf = malloc(sizeof(float) * (size_t)(info->frames + 1) * (size_t)info->channels);
	if (buf && ghostrec_audiofile_read(af, 0, info->frames, buf) != 0) {
		free(buf);
		buf = NULL;
	}
	ghostrec_audiofile_close(af);
	return buf;
}

/* ---- stream -> clean lookup ---- */

#define KEY_SAMPLES 4
#define VERIFY_SAMPLES 8

static uint64_t key_of(const float *x, size_t stride)
{
	uint64_t h = 1469598103934665603ull;
	for (int j = 0; j < KEY_SAMPLES; j++) {
		uint32_t b;
		memcpy(&b, &x[(size_t)j * stride], 4);
		h = (h ^ b) * 1099511628211ull;
	}
	return h ? h : 1;
}

struct clean_index {
	uint64_t *keys;
	int64_t *pos;
	size_t mask;
};

static int index_build(struct clean_index *ix, const float *clean, int64_t frames, int ch, int cc)
{
	size_t n = 1;
	while (n < (size_t)frames * 2 + 16)
		n <<= 1;
	ix->keys = calloc(n, sizeof(uint64_t));
	ix->pos = calloc(n, sizeof(int64_t));
	ix->mask = n - 1;
	if (!ix->keys || !ix->pos)
		return -1;
	for (int64_t i = 0; i + KEY_SAMPLES <= frames; i++) {
		uint64_t k = key_of(clean + i * ch + cc, (size_t)ch);
		size_t at = (size_t)k & ix->mask;
		while (ix->keys[at] && ix->keys[at] != k)
			at = (at + 1) & ix->mask;
		if (!ix->keys[at]) {
			ix->keys[at] = k;
			ix->pos[at] = i;
		}
	}
	return 0;
}

/* Stream frames [s, s + VERIFY) equal clean frames from c, every stream channel. */
static int same_run(const float *stream, int64_t sframes, int sch, const float *clean, int64_t cframes,
		    int cch, int cc, int64_t s, int64_t c, int len)
{
	for (int j = 0; j < len; j++) {
		if (s + j >= sframes || c + j >= cframes)
			return j > 0;
		for (int k = 0; k < sch; k++)
			if (stream[(s + j) * sch + k] != clean[(c + j) * cch + cc + k])
				return 0;
	}
	return 1;
}

/* Where every stream frame is in the clean file's channel cc (sc[s] = clean frame or -1); the
 * marker's frames from stream frame mf on carry symbols, not audio. found[s] = 1 where the
 * frame's own audio was found there. Returns how many stream frames were not found, -2 when out
 * of memory. */
static int64_t map_stream(const float *stream, const struct ghostrec_audioinfo *si, const float *clean,
			  const struct ghostrec_audioinfo *ci, int cc, int64_t mf, int64_t *sc, unsigned char *found)
{
	struct clean_index ix;
	if (index_build(&ix, clean, ci->frames, ci->channels, cc) != 0)
		return -2;
	int64_t prev = -1, unknown = 0;
	for (int64_t s = 0; s < si->frames; s++) {
		int64_t c = -1;
		int in_marker = s >= mf && s < mf + GHOSTREC_MARKER_FRAMES;
		if (in_marker) {
			/* the marker replaced the audio here: the clean file has the pristine input */
			c = prev >= 0 ? prev + 1 : -1;
		} else if (prev >= 0 && same_run(stream, si->frames, si->channels, clean, ci->frames, ci->channels, cc, s,
						 prev + 1, 1)) {
			c = prev + 1;
		} else if (s + KEY_SAMPLES <= si->frames) {
			uint64_t k = key_of(stream + s * si->channels, (size_t)si->channels);
			size_t at = (size_t)k & ix.mask;
			while (ix.keys[at] && ix.keys[at] != k)
				at = (at + 1) & ix.mask;
			if (ix.keys[at] && same_run(stream, si->frames, si->channels, clean, ci->frames, ci->channels, cc, s,
						    ix.pos[at], VERIFY_SAMPLES))
				c = ix.pos[at];
		}
		if (c < 0)
			unknown++;
		found[s] = c >= 0 && !in_marker;
		sc[s] = c;
		prev = c;
	}
	free(ix.keys);
	free(ix.pos);
	return unknown;
}

/* One packet is one graph cycle of the relay, and one cycle of the node's output is consecutive
 * audio of its input: a frame whose audio is not in the clean file (marker symbols, of a marker
 * the relay carried only part of because it missed a cycle) is where the audio found in the same
 * packet puts it, whatever was missed before or after that packet. Returns the change in the
 * number of frames not found. */
static int64_t place_by_cycle(const int64_t *cycles, size_t n_cycles, int64_t frames, int64_t *sc,
			      const unsigned char *found)
{
	int64_t placed = 0;
	for (size_t k = 0; k < n_cycles; k++) {
		int64_t b = cycles[k], e = k + 1 < n_cycles ? cycles[k + 1] : frames, s0 = -1;
		if (b < 0 || e > frames || b >= e)
			continue;
		for (int64_t s = b; s < e && s0 < 0; s++)
			if (found[s])
				s0 = s;
		if (s0 < 0)
			continue;
		for (int64_t s = b; s < e; s++)
			if (!found[s]) {
				placed -= sc[s] < 0;
				sc[s] = sc[s0] + (s - s0);
			}
	}
	return placed;
}

/* Where symbols x[0..n) sit in the marker sym (A: their level), or -1 when nowhere or in more
 * than one place. */
static int64_t symbols_at(const int8_t *sym, const float *x, int64_t n)
{
	float a = 0.0f;
	for (int64_t k = 0; k < n && a == 0.0f; k++)
		a = fabsf(x[k]);
	if (a < GHOSTREC_MARKER_MIN_AMPLITUDE)
		return -1;
	int64_t at = -1;
	for (int64_t j = 0; j + n <= GHOSTREC_MARKER_FRAMES; j++) {
		int64_t k = 0;
		while (k < n && x[k] == a * (float)sym[j + k])
			k++;
		if (k < n)
			continue;
		if (at >= 0)
			return -1;
		at = j;
	}
	return at;
}

/* A packet of nothing but marker symbols (the marker's other packet the relay missed, so no
 * whole marker is in the stream, and no audio in this one to place it by): its frames are the
 * clean file's frames at the marker (its metadata) plus their index in the marker, as the node
 * wrote them. Mono stream only; runs shorter than 16 frames are not placed (too many fits).
 * Returns the change in the number of frames not found. */
static int64_t place_marker_packets(const float *stream, int64_t frames, const int64_t *cycles, size_t n_cycles,
				    const struct ghostrec_marker *mk, uint64_t marker_frame, int64_t *sc)
{
	int8_t sym[GHOSTREC_MARKER_FRAMES];
	ghostrec_marker_symbols(mk, sym);
	int64_t placed = 0;
	for (size_t k = 0; k < n_cycles; k++) {
		int64_t b = cycles[k], e = k + 1 < n_cycles ? cycles[k + 1] : frames, s = b;
		if (b < 0 || e > frames || e - b < 16 || e - b > GHOSTREC_MARKER_FRAMES)
			continue;
		while (s < e && sc[s] < 0)
			s++;
		int64_t j = s == e ? symbols_at(sym, stream + b, e - b) : -1;
		if (j < 0)
			continue;
		for (s = b; s < e; s++)
			sc[s] = (int64_t)marker_frame + j + (s - b);
		placed -= e - b;
	}
	return placed;
}

static int64_t *read_int64s(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	int64_t *v = malloc(cap * sizeof(*v));
	while (v) {
		len += fread(v + len, sizeof(*v), cap - len, f);
		if (len < cap)
			break;
		int64_t *w = realloc(v, 2 * cap * sizeof(*v));
		if (!w) {
			free(v);
			v = NULL;
			break;
		}
		v = w;
		cap *= 2;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(v);
		return NULL;
	}
	*n = len;
	return v;
}

/* End (exclusive) of the run of consecutive clean frames starting at take frame i. */
static int64_t run_end(const int64_t *map, int64_t i, int64_t frames)
{
	int64_t j = i + 1;
	while (j < frames && map[j] == map[j - 1] + 1)
		j++;
	return j;
}

static int cmp_glitch(const void *a, const void *b)
{
	const struct ghostrec_conform_glitch *x = a, *y = b;
	if (x->take_frame != y->take_frame)
		return x->take_frame < y->take_frame ? -1 : 1;
	return x->kind - y->kind;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: relay-check EMU_DIR CLEAN.wav OUT.wav EXPECTED.json\n");
		return 2;
	}
	const char *dir = argv[1], *clean_path = argv[2], *out_path = argv[3];
	char path[4096], take_path[4096];
	snprintf(take_path, sizeof(take_path), "%s/take.wav", dir);

	struct ghostrec_audioinfo si, ci, ti;
	snprintf(path, sizeof(path), "%s/stream.wav", dir);
	float *stream = read_all(path, &si);
	float *clean = read_all(clean_path, &ci);
	float *take = read_all(take_path, &ti);
	if (!stream || !clean || !take)
		return 1;
	free(take);

	/* Marker: in the stream (node output as carried), and in the clean file's metadata. */
	struct ghostrec_marker_match m;
	struct ghostrec_takemeta tm;
	uint64_t cue;
	char err[512];
	memset(&tm, 0, sizeof(tm));
	int have_marker = ghostrec_marker_find(stream, (size_t)si.frames, (size_t)si.channels,
					       ghostrec_marker_tolerance(32), &m);
	int take_channel = -1;
	if (have_marker) {
		if (ghostrec_takemeta_read_wav(clean_path, &tm, &cue, err, sizeof(err)) != 0) {
			fprintf(stderr, "relay-check: %s\n", err);
			return 1;
		}
		take_channel = si.channels == 1 ? m.marker.channel : -1;
		printf("marker: take_id %u channel %u at stream frame %llu, clean frame %llu (cue %llu)\n",
		       m.marker.take_id, m.marker.channel, (unsigned long long)m.frame,
		       (unsigned long long)tm.marker_frame, (unsigned long long)cue);
	} else {
		/* the node never marked: no marker range anywhere */
		memset(&m, 0, sizeof(m));
		m.frame = (uint64_t)si.frames + GHOSTREC_MARKER_FRAMES;
		printf("no marker in the relayed stream (the node was never asked to mark)\n");
	}

	/* Where every stream frame is in the clean file (without a marker: on the clean channel
	 * where the most stream frames are found). */
	int64_t *sc = malloc(sizeof(int64_t) * (size_t)(si.frames + 1));
	unsigned char *found = malloc((size_t)si.frames + 1);
	size_t n_cycles = 0;
	snprintf(path, sizeof(path), "%s/stream-cycles.bin", dir);
	int64_t *cycles = read_int64s(path, &n_cycles);
	if (!cycles)
		fprintf(stderr, "relay-check: cannot read %s\n", path);
	if (!sc || !found || !cycles)
		return 1;
	int cc_first = take_channel < 0 ? 0 : take_channel, cc_last = cc_first, cc = cc_first;
	if (!have_marker && si.channels == 1)
		cc_last = ci.channels - 1;
	int64_t unknown = -1;
	for (int try_cc = cc_first; try_cc <= cc_last; try_cc++) {
		int64_t u = map_stream(stream, &si, clean, &ci, try_cc, (int64_t)m.frame, sc, found);
		if (u < -1)
			return 1;
		if (unknown < 0 || u < unknown) {
			unknown = u;
			cc = try_cc;
		}
	}
	if (cc != cc_last && map_stream(stream, &si, clean, &ci, cc, (int64_t)m.frame, sc, found) < -1)
		return 1;
	unknown += place_by_cycle(cycles, n_cycles, si.frames, sc, found);
	if (!have_marker)
		take_channel = si.channels == 1 ? cc : -1;
	if (!have_marker && si.channels == 1 && ghostrec_takemeta_read_wav(clean_path, &tm, &cue, err, sizeof(err)) == 0) {
		struct ghostrec_marker mk = {.take_id = tm.take_id, .channel = (uint8_t)cc};
		int64_t placed = -place_marker_packets(stream, si.frames, cycles, n_cycles, &mk, tm.marker_frame, sc);
		unknown -= placed;
		if (placed)
			printf("marker symbols of the take id in the clean file's metadata, placed by it: %lld frames\n",
			       (long long)placed);
	}
	/* The marker's frames carry symbols: a marker found whole was carried without a missed
	 * cycle inside it, so it is consecutive input up to the audio right after it, which ends its
	 * last cycle (the node starts it at a cycle's start, and 144 frames end no cycle of a
	 * power-of-two quantum of 32 or more).
	 * Placed from there, not continued from the audio before it: a cycle the relay missed just
	 * before the marking cycle would move the marker and that drop one marker length back. */
	int64_t after = (int64_t)(m.frame + GHOSTREC_MARKER_FRAMES);
	if (have_marker && after < si.frames && sc[after] >= 0)
		for (int64_t s = (int64_t)m.frame; s < after; s++) {
			if (sc[s] < 0)
				unknown--;
			sc[s] = sc[after] - (after - s);
		}
	int meta_bad = have_marker && sc[m.frame] != (int64_t)tm.marker_frame;
	if (meta_bad)
		printf("FAIL: the marker is at clean frame %lld by content, %lld by the clean file's metadata\n",
		       (long long)sc[m.frame], (long long)tm.marker_frame);

	/* The truth in clean frames. */
	struct gs_params p;
	memset(&p, 0, sizeof(p));
	p.rate = ci.rate;
	p.channels = ci.channels;
	p.clean_frames = ci.frames;
	p.take_channel = take_channel;
	p.take_format = ti.format;
	struct gs_truth t;
	memset(&t, 0, sizeof(t));
	t.take_channels = ti.channels;
	t.take_frames = ti.frames;
	t.clean = clean;
	snprintf(path, sizeof(path), "%s/take-map.bin", dir);
	size_t map_len = 0;
	t.map = read_int64s(path, &map_len);
	if (!t.map || map_len != (size_t)ti.frames) {
		fprintf(stderr, "relay-check: cannot read %s (%zu of %lld entries)\n", path, map_len,
			(long long)ti.frames);
		return 1;
	}
	int64_t outside = 0;
	for (int64_t i = 0; i < ti.frames; i++)
		t.map[i] = t.map[i] >= 0 && t.map[i] < si.frames ? sc[t.map[i]] : -1;

	/* Shifts, from the map: runs without a clean counterpart are inserted, jumps forward
	 * dropped, audio played again repeated, a jump forward whose missing audio follows
	 * right after reordered. */
	size_t cap = 0;
#define PUSH(tf, kd, n)                                                                 \
	do {                                                                            \
		if (t.n_glitches == cap) {                                              \
			cap = cap ? cap * 2 : 64;                                       \
			t.glitches = realloc(t.glitches, cap * sizeof(*t.glitches));    \
		}                                                                       \
		t.glitches[t.n_glitches].take_frame = (tf);                             \
		t.glitches[t.n_glitches].kind = (kd);                                   \
		t.glitches[t.n_glitches].frames = (n);                                  \
		t.n_glitches++;                                                         \
	} while (0)
	/* The map in runs of consecutive clean frames; e = the clean frame the take would
	 * play next if nothing happened (the end of the audio played in order so far). */
	int64_t e = -1;
	int odd = 0;
	for (int64_t i = 0; i < ti.frames;) {
		if (t.map[i] < 0) {
			int64_t j = i;
			while (j < ti.frames && t.map[j] < 0)
				j++;
			if (e >= 0 && j < ti.frames)
				PUSH(i, GHOSTREC_GLITCH_INSERTED, j - i);
			else
				outside += j - i;
			if (e >= 0 && j < ti.frames && t.map[j] > e) {
				/* inserted, then dropped: gs_canonical_pairs below says it the
				 * engine's way */
				PUSH(j, GHOSTREC_GLITCH_DROPPED, t.map[j] - e);
				e = t.map[j];
			} else if (e >= 0 && j < ti.frames && t.map[j] < e) {
				odd++;
			}
			i = j;
			continue;
		}
		int64_t j = run_end(t.map, i, ti.frames), c = t.map[i], len = j - i;
		if (e >= 0 && c > e) {
			int64_t k = j < ti.frames && t.map[j] >= 0 ? run_end(t.map, j, ti.frames) : j;
			int64_t b0 = k > j ? t.map[j] : -1;
			if (k > j && b0 >= e && b0 < c && k - j >= c - b0) {
				/* the missing audio (or its end: audio lost right before the pair is
				 * dropped) comes right after: two runs in swapped order, reported as
				 * one glitch; the fixed take has them in clean order. The run after
				 * may go on past them (a duplicate of the first: repeated, below). */
				if (b0 > e)
					PUSH(i, GHOSTREC_GLITCH_DROPPED, b0 - e);
				int64_t span = len + (c - b0);
				PUSH(i, GHOSTREC_GLITCH_REORDERED, span);
				for (int64_t x = i; x < i + span; x++)
					t.map[x] = b0 + (x - i);
				e = c + len;
				i += span;
				continue;
			}
			PUSH(i, GHOSTREC_GLITCH_DROPPED, c - e);
		} else if (e >= 0 && c < e) {
			/* audio played once more (PWAR's late duplicate): it maps to that audio
			 * again, nothing is inserted. The size is the repeated run (docs/contracts.md:
			 * the block's true size, also for a block from further back), and the take
			 * goes on from where it left off (audio it then skips is dropped) */
			int64_t rep = len < e - c ? len : e - c;
			PUSH(i, GHOSTREC_GLITCH_REPEATED, rep);
			if (c + len > e)
				e = c + len;
			i = j;
			continue;
		}
		e = c + len;
		i = j;
	}
	/* Replaced runs: the emulator's silence. */
	snprintf(path, sizeof(path), "%s/events.txt", dir);
	FILE *f = fopen(path, "r");
	char kind[32];
	long long at, frames;
	while (f && fscanf(f, "%31s %lld %lld", kind, &at, &frames) == 3)
		if (strcmp(kind, "replaced") == 0)
			PUSH(at, GHOSTREC_GLITCH_REPLACED, frames);
	if (f)
		fclose(f);
	qsort(t.glitches, t.n_glitches, sizeof(*t.glitches), cmp_glitch);
	gs_canonical_pairs(&t);
	printf("stream frames not found in the clean file: %lld; odd joins: %d\n", (long long)unknown, odd);
	if (gs_trim_replaced(take_path, clean_path, &t) != 0)
		return 1;

	char tmpdir[] = "/tmp/relay-check-XXXXXX";
	if (!mkdtemp(tmpdir))
		return 1;
	int64_t bad = gs_check_output(out_path, take_path, &p, &t, tmpdir);
	snprintf(path, sizeof(path), "%s/expected.wav", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	int64_t single = gs_single_offset_errors(&p, &t, NULL);
	int64_t mapped = 0;
	for (int64_t i = 0; i < ti.frames; i++)
		mapped += t.map[i] >= 0;
	printf("true glitches: %zu; take %lld frames, %lld with a clean counterpart, %lld outside the clean file\n",
	       t.n_glitches, (long long)ti.frames, (long long)mapped, (long long)outside);
	printf("fixed take vs pristine audio through the true log: %lld frames differ\n", (long long)bad);
	printf("single-offset alignment (the prototype): wrong at %lld of %lld frames\n", (long long)single,
	       (long long)ti.frames);
	if (gs_write_log(argv[4], &t) != 0)
		return 1;
	t.clean = NULL;
	gs_truth_free(&t);
	free(clean);
	free(stream);
	free(sc);
	free(found);
	free(cycles);
	ghostrec_takemeta_clear(&tm);
	return bad == 0 && outside == 0 && !meta_bad ? 0 : 1;
}
