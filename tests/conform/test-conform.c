/* Conform engine against known damage: WAV files generated here (deterministic signal,
 * marker, glitches injected with a known log), the engine run through the library, OUT
 * rendered with --join cut semantics, and everything checked exactly: the glitch list
 * frame for frame, the segment map for every take frame, OUT bit-identical to the pristine
 * audio mapped through the true log. Also shows what the single-offset approach gets wrong. */
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audiofile.h"
#include "common/conform.h"
#include "common/marker.h"
#include "glitchsim.h"

static int failures;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, "\n");                              \
			failures++;                                         \
		}                                                           \
	} while (0)

struct tcase {
	const char *name;
	int rate;
	int channels;
	int take_channel;
	int take_format;
	int clean_format;
	double clean_seconds;
	double take_start_s;
	double take_end_s;
	int with_marker;
	double marker_s;
	int clean_meta;
	unsigned kinds;          /* random events of these kinds */
	size_t n_random;
	const struct gs_event *extra;  /* fixed events (clean frames) */
	size_t n_extra;
	int expect_alignment;
	double clean_file_s;     /* > 0: the clean file ends here (take runs past its end) */
};

static int cmp_event(const void *a, const void *b)
{
	const struct gs_event *x = a, *y = b;
	if (x->clean_frame != y->clean_frame)
		return x->clean_frame < y->clean_frame ? -1 : 1;
	return y->kind - x->kind;  /* at one frame: an insertion, then a drop */
}

static void print_glitches(const char *what, const struct ghostrec_conform_glitch *g, size_t n)
{
	fprintf(stderr, "  %s (%zu):", what, n);
	for (size_t i = 0; i < n && i < 40; i++)
		fprintf(stderr, " %s@%lld/%lld", ghostrec_glitch_kind_name(g[i].kind),
			(long long)g[i].take_frame, (long long)g[i].frames);
	fprintf(stderr, "\n");
}

/* The take's integer convention for the null-test runs (glitchsim GS_SCALE_*), 0 = libsndfile. */
static int take_scale;

/* Null test: at every take frame REAPER recorded undamaged (a clean counterpart, not in a
 * replaced run, not the marker) OUT's integers equal the take's. Returns differing samples. */
static int64_t null_test(const char *out_path, const char *take_path, const struct gs_params *p,
			 const struct gs_truth *t)
{
	char err[256];
	struct ghostrec_audiofile *o = ghostrec_audiofile_open(out_path, err, sizeof(err));
	struct ghostrec_audiofile *k = ghostrec_audiofile_open(take_path, err, sizeof(err));
	int64_t differ = -1;
	if (o && k) {
		int tch = ghostrec_audiofile_info(k)->channels;
		double scale = (double)(1 << (ghostrec_audiofile_info(k)->bits - 1));
		differ = 0;
		size_t g = 0;
		for (int64_t i = 0; i < t->take_frames; i++) {
			while (g < t->n_glitches && t->glitches[g].take_frame + t->glitches[g].frames <= i)
				g++;
			int damaged = t->map[i] < 0 ||
				      (t->map[i] >= p->marker_frame && t->map[i] < p->marker_frame + GHOSTREC_MARKER_FRAMES);
			for (size_t j = g; j < t->n_glitches && t->glitches[j].take_frame <= i; j++)
				damaged |= t->glitches[j].kind == GHOSTREC_GLITCH_REPLACED ||
					   t->glitches[j].kind == GHOSTREC_GLITCH_REORDERED; /* swapped by the relay */
			if (damaged)
				continue;
			float a[8], b[8];
			const float *fo = ghostrec_audiofile_frame(o, i);
			for (int c = 0; c < tch && c < 8; c++)
				a[c] = fo[c];
			const float *fk = ghostrec_audiofile_frame(k, i);
			for (int c = 0; c < tch && c < 8; c++)
				b[c] = fk[c];
			for (int c = 0; c < tch && c < 8; c++)
				differ += llrint(a[c] * scale) != llrint(b[c] * scale);
		}
	}
	ghostrec_audiofile_close(o);
	ghostrec_audiofile_close(k);
	return differ;
}

/* The fixed take rendered beside a second run of the engine (ghostrec_conform_render_feed in a
 * thread of its own, fed segment by segment as the walk settles them, as ghostrec-sync runs):
 * the same samples as the OUT rendered from the finished result. */
struct beside_job {
	struct ghostrec_conform_feed *feed;
	struct ghostrec_audiofile *take, *clean, *out;
	int join;
	int64_t xfade;
	int rc;
	char err[512];
};

static void *beside_main(void *arg)
{
	struct beside_job *j = arg;
	j->rc = ghostrec_conform_render_feed(j->feed, j->take, j->clean, j->out, j->join, j->xfade, NULL, j->err,
					     sizeof(j->err));
	return NULL;
}

static int render_beside(const char *take_path, const char *clean_path, const struct ghostrec_clean_meta *meta,
			 const char *out_path, int join, int64_t xfade, char *err, size_t errsize)
{
	struct beside_job j = {.join = join, .xfade = xfade};
	struct ghostrec_audiofile *take = ghostrec_audiofile_open(take_path, err, errsize);
	struct ghostrec_audiofile *clean = take ? ghostrec_audiofile_open(clean_path, err, errsize) : NULL;
	j.take = clean ? ghostrec_audiofile_open(take_path, err, errsize) : NULL;
	j.clean = j.take ? ghostrec_audiofile_open(clean_path, err, errsize) : NULL;
	j.out = j.clean ? ghostrec_audiofile_create_like(out_path, ghostrec_audiofile_info(take),
							 ghostrec_audiofile_info(take)->channels, err, errsize)
			: NULL;
	j.feed = j.out ? ghostrec_conform_feed_new() : NULL;
	pthread_t thread;
	int rc = -1;
	if (j.feed && pthread_create(&thread, NULL, beside_main, &j) == 0) {
		struct ghostrec_conform_options opt = {.feed = j.feed};
		struct ghostrec_conform_result r;
		int run = ghostrec_conform_run(take, clean, meta, &opt, &r, err, errsize);
		ghostrec_conform_feed_end(j.feed, run == 0);
		pthread_join(thread, NULL);
		if (run == 0)
			ghostrec_conform_result_clear(&r);
		rc = run == 0 && j.rc == 0 ? 0 : -1;
		if (run == 0 && j.rc != 0)
			snprintf(err, errsize, "%s", j.err);
	}
	if (ghostrec_audiofile_close(j.out) != 0)
		rc = -1;
	ghostrec_conform_feed_free(j.feed);
	ghostrec_audiofile_close(j.clean);
	ghostrec_audiofile_close(j.take);
	ghostrec_audiofile_close(clean);
	ghostrec_audiofile_close(take);
	return rc;
}

/* Do two audio files hold the same format and the same samples, bit for bit? (Not the same
 * bytes: libsndfile stamps a float file's PEAK chunk with the time it was written.) */
static int same_audio(const char *a, const char *b)
{
	char err[256];
	struct ghostrec_audiofile *fa = ghostrec_audiofile_open(a, err, sizeof(err));
	struct ghostrec_audiofile *fb = ghostrec_audiofile_open(b, err, sizeof(err));
	int same = fa && fb;
	if (same) {
		const struct ghostrec_audioinfo *ia = ghostrec_audiofile_info(fa), *ib = ghostrec_audiofile_info(fb);
		same = ia->frames == ib->frames && ia->channels == ib->channels && ia->format == ib->format &&
		       ia->rate == ib->rate;
		float x[4096], y[4096];
		int64_t step = (int64_t)(4096 / ia->channels);
		for (int64_t f = 0; same && f < ia->frames; f += step)
			same = ghostrec_audiofile_read(fa, f, step, x) == 0 && ghostrec_audiofile_read(fb, f, step, y) == 0 &&
			       memcmp(x, y, sizeof(float) * (size_t)(step * ia->channels)) == 0;
	}
	ghostrec_audiofile_close(fa);
	ghostrec_audiofile_close(fb);
	return same;
}

static void run_case(const struct tcase *c, const char *tmpdir)
{
	struct gs_params p;
	memset(&p, 0, sizeof(p));
	p.take_scale = take_scale;
	p.rate = c->rate;
	p.channels = c->channels;
	p.clean_frames = (int64_t)(c->clean_seconds * c->rate);
	p.seed = 1000u + (uint32_t)strlen(c->name) * 7919u + (uint32_t)c->rate;
	p.with_marker = c->with_marker;
	p.marker_frame = (int64_t)(c->marker_s * c->rate);
	p.take_id = 0x5eed0000u + (uint32_t)c->rate;
	p.take_start = (int64_t)(c->take_start_s * c->rate);
	p.take_end = (int64_t)(c->take_end_s * c->rate);
	p.take_channel = c->take_channel;
	p.take_format = c->take_format;
	p.clean_format = c->clean_format;

	struct gs_event ev[128];
	size_t n = 0;
	if (c->n_random) {
		/* Random damage after the marker (so the marker itself survives). */
		int64_t from = p.marker_frame + 4 * GHOSTREC_MARKER_FRAMES + 8192;
		if (from < p.take_start + 8192)
			from = p.take_start + 8192;
		int64_t to = p.take_end - 8192;
		if (c->clean_file_s > 0)
			to = (int64_t)(c->clean_file_s * c->rate) - 16384;
		n = gs_random_events(ev, c->n_random, c->kinds, from, to, 8192, p.seed ^ 0xabcdef);
		CHECK(n == c->n_random, "%s: could not place %zu events", c->name, c->n_random);
	}
	for (size_t i = 0; i < c->n_extra && n < 128; i++)
		ev[n++] = c->extra[i];
	qsort(ev, n, sizeof(ev[0]), cmp_event);
	p.events = ev;
	p.n_events = n;

	struct gs_truth t;
	char take_path[1024], clean_path[1024], out_path[1024];
	snprintf(take_path, sizeof(take_path), "%s/take.wav", tmpdir);
	snprintf(clean_path, sizeof(clean_path), "%s/clean.wav", tmpdir);
	snprintf(out_path, sizeof(out_path), "%s/out.wav", tmpdir);
	struct gs_params written = p;
	if (c->clean_file_s > 0)
		written.clean_frames = (int64_t)(c->clean_file_s * c->rate);
	if (gs_build(&p, &t) != 0 || gs_write_clean(clean_path, &written, &t, c->clean_meta) != 0 ||
	    gs_write_take(take_path, &p, &t) != 0 || (gs_canonical_pairs(&t), 0) ||
	    gs_trim_replaced(take_path, clean_path, &t) != 0) {
		CHECK(0, "%s: cannot build test files", c->name);
		gs_truth_free(&t);
		return;
	}

	/* Take frames past the end of the clean file have no counterpart. */
	int64_t past_end = 0;
	for (int64_t i = 0; i < t.take_frames; i++)
		if (t.map[i] >= written.clean_frames) {
			t.map[i] = -1;
			past_end++;
		}

	char err[512];
	struct ghostrec_audiofile *take = ghostrec_audiofile_open(take_path, err, sizeof(err));
	struct ghostrec_audiofile *clean = ghostrec_audiofile_open(clean_path, err, sizeof(err));
	CHECK(take && clean, "%s: %s", c->name, err);
	struct ghostrec_clean_meta meta = {0};
	if (c->clean_meta) {
		meta.valid = 1;
		meta.take_id = p.take_id;
		meta.marker_frame = p.marker_frame;
	}
	struct ghostrec_conform_result r;
	int rc = ghostrec_conform_run(take, clean, &meta, NULL, &r, err, sizeof(err));
	CHECK(rc == 0, "%s: conform failed: %s", c->name, err);
	if (rc != 0) {
		ghostrec_audiofile_close(take);
		ghostrec_audiofile_close(clean);
		gs_truth_free(&t);
		return;
	}

	/* The glitch list, exactly. */
	int same = r.n_glitches == t.n_glitches;
	for (size_t i = 0; same && i < t.n_glitches; i++)
		same = r.glitches[i].take_frame == t.glitches[i].take_frame &&
		       r.glitches[i].kind == t.glitches[i].kind &&
		       r.glitches[i].frames == t.glitches[i].frames;
	CHECK(same, "%s: glitch list differs from the true log", c->name);
	if (!same) {
		print_glitches("found", r.glitches, r.n_glitches);
		print_glitches("truth", t.glitches, t.n_glitches);
	}
	CHECK(r.alignment == c->expect_alignment, "%s: alignment %d, expected %d", c->name,
	      r.alignment, c->expect_alignment);
	if (c->with_marker && (c->clean_meta || r.alignment == GHOSTREC_ALIGN_MARKER))
		CHECK(r.has_take_id && r.take_id == p.take_id, "%s: take id %u", c->name, r.take_id);
	if (c->take_channel >= 0)
		CHECK(r.clean_channel == c->take_channel, "%s: clean channel %d, expected %d", c->name,
		      r.clean_channel, c->take_channel);

	/* The segment map, for every take frame. */
	int64_t map_errors = 0;
	size_t s = 0;
	for (int64_t i = 0; i < t.take_frames; i++) {
		while (s < r.n_segments && r.segments[s].take_end <= i)
			s++;
		int64_t mapped = -1;
		if (s < r.n_segments && r.segments[s].take_start <= i)
			mapped = r.segments[s].clean_start + (i - r.segments[s].take_start);
		if (mapped != t.map[i]) {
			if (map_errors < 3)
				fprintf(stderr, "  take frame %lld maps to %lld, truth %lld\n", (long long)i,
					(long long)mapped, (long long)t.map[i]);
			map_errors++;
		}
	}
	CHECK(map_errors == 0, "%s: %lld take frames mapped wrong", c->name, (long long)map_errors);

	/* The report is complete: every take frame inside a segment matches its clean frame
	 * within the engine's tolerance, or lies in a reported replaced glitch. */
	{
		double tol = ghostrec_conform_tolerance(ghostrec_audiofile_info(take),
							ghostrec_audiofile_info(clean));
		int tch = ghostrec_audiofile_info(take)->channels;
		int64_t unreported = 0;
		size_t g = 0;
		for (size_t si = 0; si < r.n_segments; si++) {
			const struct ghostrec_conform_segment *sg = &r.segments[si];
			for (int64_t i = sg->take_start; i < sg->take_end; i++) {
				while (g < r.n_glitches && r.glitches[g].take_frame + r.glitches[g].frames <= i)
					g++;
				int listed = 0;
				for (size_t j = g; j < r.n_glitches && r.glitches[j].take_frame <= i; j++)
					listed |= (r.glitches[j].kind == GHOSTREC_GLITCH_REPLACED ||
						   r.glitches[j].kind == GHOSTREC_GLITCH_REORDERED) &&
						  i < r.glitches[j].take_frame + r.glitches[j].frames;
				if (listed)
					continue;
				float tv[8];
				const float *tf = ghostrec_audiofile_frame(take, i);
				for (int k = 0; k < tch && k < 8; k++)
					tv[k] = tf[k];
				const float *cf = ghostrec_audiofile_frame(clean, i + sg->clean_start - sg->take_start);
				int differs = 0;
				for (int k = 0; k < tch && k < 8; k++)
					differs |= fabs((double)tv[k] - cf[r.clean_channel + k]) > tol;
				/* (the decoded marker carries no clean audio) */
				if (differs && !(i + sg->clean_start - sg->take_start >= p.marker_frame &&
						 i + sg->clean_start - sg->take_start < p.marker_frame + GHOSTREC_MARKER_FRAMES))
					unreported++;
			}
		}
		CHECK(unreported == 0, "%s: %lld segment frames differ from the clean file and are in no replaced glitch",
		      c->name, (long long)unreported);
	}

	/* OUT with --join cut: bit-identical to the pristine audio through the true log. */
	struct ghostrec_audiofile *out =
		ghostrec_audiofile_create_like(out_path, ghostrec_audiofile_info(take),
					       ghostrec_audiofile_info(take)->channels, err, sizeof(err));
	CHECK(out != NULL, "%s: %s", c->name, err);
	if (out) {
		rc = ghostrec_conform_render(&r, take, clean, out, GHOSTREC_JOIN_CUT, 0, NULL, err,
					     sizeof(err));
		CHECK(rc == 0, "%s: render: %s", c->name, err);
		CHECK(ghostrec_audiofile_close(out) == 0, "%s: close OUT", c->name);
		int64_t bad = gs_check_output(out_path, take_path, &p, &t, tmpdir);
		CHECK(bad == 0, "%s: OUT differs from the pristine audio at %lld frames", c->name,
		      (long long)bad);
		if (take_scale) {
			int64_t differ = null_test(out_path, take_path, &p, &t);
			printf("%s, take scaled x%s: %lld samples differ from the take at undamaged frames\n",
			       c->name, take_scale == GS_SCALE_POW2 ? "2^(n-1)" : take_scale == GS_SCALE_POW2M1 ? "(2^(n-1)-1)"
			       : "2^(n-1), ties up", (long long)differ);
			CHECK(differ == 0, "%s (take scale %d): fixed take does not null against the take: %lld samples",
			      c->name, take_scale, (long long)differ);
		}
		if (past_end) {
			/* ... and past the clean file's end OUT keeps the take's own samples. */
			struct ghostrec_audiofile *o = ghostrec_audiofile_open(out_path, err, sizeof(err));
			int64_t kept = 0;
			int tch = ghostrec_audiofile_info(take)->channels;
			for (int64_t i = t.take_frames - past_end; o && i < t.take_frames; i++) {
				const float *fo = ghostrec_audiofile_frame(o, i);
				float v[8];
				for (int k = 0; k < tch && k < 8; k++)
					v[k] = fo[k];
				const float *ft = ghostrec_audiofile_frame(take, i);
				int equal = 1;
				for (int k = 0; k < tch && k < 8; k++)
					equal &= v[k] == ft[k];
				kept += equal;
			}
			ghostrec_audiofile_close(o);
			CHECK(kept == past_end, "%s: only %lld of %lld frames past the clean end kept", c->name,
			      (long long)kept, (long long)past_end);
		}
	}
	/* Crossfade joins touch only the frames around dropped joins. */
	char xf_path[1100];
	snprintf(xf_path, sizeof(xf_path), "%s/xfade.wav", tmpdir);
	struct ghostrec_audiofile *xf =
		ghostrec_audiofile_create_like(xf_path, ghostrec_audiofile_info(take),
					       ghostrec_audiofile_info(take)->channels, err, sizeof(err));
	if (xf) {
		const int64_t xfade = 240;
		rc = ghostrec_conform_render(&r, take, clean, xf, GHOSTREC_JOIN_CROSSFADE, xfade, NULL, err,
					     sizeof(err));
		ghostrec_audiofile_close(xf);
		struct ghostrec_audiofile *a = ghostrec_audiofile_open(out_path, err, sizeof(err));
		struct ghostrec_audiofile *b = ghostrec_audiofile_open(xf_path, err, sizeof(err));
		int64_t outside = 0, inside = 0;
		size_t seg = 0;
		for (int64_t i = 0; a && b && i < t.take_frames; i++) {
			int in_window = 0;
			while (seg + 1 < r.n_segments && r.segments[seg + 1].take_start + xfade / 2 <= i)
				seg++;
			for (size_t j = seg; j + 1 < r.n_segments && j <= seg + 1; j++) {
				int64_t e = r.segments[j].take_end;
				if (r.segments[j + 1].take_start == e && i >= e - xfade / 2 && i < e + xfade / 2)
					in_window = 1;
			}
			const float *fa = ghostrec_audiofile_frame(a, i);
			float va[8];
			int ch = ghostrec_audiofile_info(a)->channels;
			for (int k = 0; k < ch && k < 8; k++)
				va[k] = fa[k];
			const float *fb = ghostrec_audiofile_frame(b, i);
			int differ = 0;
			for (int k = 0; k < ch && k < 8; k++)
				differ |= va[k] != fb[k];
			if (differ && in_window)
				inside++;
			else if (differ)
				outside++;
		}
		CHECK(rc == 0 && a && b, "%s: crossfade render", c->name);
		CHECK(outside == 0, "%s: crossfade changed %lld frames away from every join", c->name,
		      (long long)outside);
		int drops = 0;
		for (size_t i = 0; i < r.n_glitches; i++)
			drops += r.glitches[i].kind == GHOSTREC_GLITCH_DROPPED;
		if (drops)
			CHECK(inside > 0, "%s: crossfade changed nothing at %d dropped joins", c->name, drops);
		ghostrec_audiofile_close(a);
		ghostrec_audiofile_close(b);
		/* rendered beside the walk: the same bytes, cut and crossfade */
		char beside_path[1100];
		snprintf(beside_path, sizeof(beside_path), "%s/beside.wav", tmpdir);
		rc = render_beside(take_path, clean_path, &meta, beside_path, GHOSTREC_JOIN_CUT, 0, err, sizeof(err));
		CHECK(rc == 0, "%s: render beside the walk: %s", c->name, err);
		CHECK(rc != 0 || same_audio(beside_path, out_path), "%s: OUT rendered beside the walk differs (cut)",
		      c->name);
		rc = render_beside(take_path, clean_path, &meta, beside_path, GHOSTREC_JOIN_CROSSFADE, xfade, err,
				   sizeof(err));
		CHECK(rc == 0, "%s: render beside the walk: %s", c->name, err);
		CHECK(rc != 0 || same_audio(beside_path, xf_path), "%s: OUT rendered beside the walk differs (crossfade)",
		      c->name);
		unlink(beside_path);
		unlink(xf_path);
	}

	int64_t single = gs_single_offset_errors(&p, &t, tmpdir);
	int shifts = 0;
	for (size_t i = 0; i < t.n_glitches; i++)
		shifts += t.glitches[i].kind != GHOSTREC_GLITCH_REPLACED;
	if (shifts)
		CHECK(single > 0, "%s: single offset should fail", c->name);
	printf("%-28s %2d kHz %-7s %s take: %3zu glitches found (%zu true), alignment %s, "
	       "single-offset alignment wrong at %lld of %lld frames\n",
	       c->name, c->rate / 1000, ghostrec_audiofile_format_name(ghostrec_audiofile_info(take)),
	       c->take_channel >= 0 ? "mono" : "full", r.n_glitches, t.n_glitches,
	       r.alignment == GHOSTREC_ALIGN_MARKER ? "marker " : "content", (long long)single,
	       (long long)t.take_frames);

	ghostrec_conform_result_clear(&r);
	ghostrec_audiofile_close(take);
	ghostrec_audiofile_close(clean);
	gs_truth_free(&t);
	unlink(take_path);
	unlink(clean_path);
	unlink(out_path);
	char exp[1100];
	snprintf(exp, sizeof(exp), "%s/expected.wav", tmpdir);
	unlink(exp);
}

#define DROP GHOSTREC_GLITCH_DROPPED
#define SILENCE GHOSTREC_GLITCH_REPLACED
#define INSERT GHOSTREC_GLITCH_INSERTED
#define WAV16 (SF_FORMAT_WAV | SF_FORMAT_PCM_16)
#define WAV24 (SF_FORMAT_WAV | SF_FORMAT_PCM_24)
#define WAVF (SF_FORMAT_WAV | SF_FORMAT_FLOAT)
#define RF64_24 (SF_FORMAT_RF64 | SF_FORMAT_PCM_24)
#define W64F (SF_FORMAT_W64 | SF_FORMAT_FLOAT)

int main(void)
{
	char tmpl[] = "/tmp/ghostrec-conform-XXXXXX";
	const char *base = getenv("TMPDIR");
	char tmpdir[512];
	snprintf(tmpdir, sizeof(tmpdir), "%s/ghostrec-conform-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		if (!mkdtemp(tmpl)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	}

	/* The marker at 2.0 s was hit by a dropped block 50 frames into it. */
	static const struct gs_event marker_hit_44[] = {{88200 + 50, DROP, 256}};
	/* Glitches back to back: insertion + drop (more, fewer, as many), silence + drop. */
	static const struct gs_event pairs_48[] = {
		{48000 * 3, INSERT, 256}, {48000 * 3, DROP, 512},
		{48000 * 4, INSERT, 512}, {48000 * 4, DROP, 256},
		{48000 * 5, INSERT, 256}, {48000 * 5, DROP, 256},
		{48000 * 6, SILENCE, 256}, {48000 * 6 + 256, DROP, 512},
		{48000 * 7, SILENCE, 128}, {48000 * 7 + 128, INSERT, 256},
		{48000 * 8, DROP, 256}, {48000 * 8 + 256, SILENCE, 256},
	};
	/* A pair that shifts the offset, undone within 2 s by two that shift it back: the
	 * take lines up on the old offset again long after the first bad frame, but the frames
	 * in between match the clean file at another offset and must be mapped there. */
	static const struct gs_event undone_48[] = {
		{48000 * 3, SILENCE, 1024}, {48000 * 3 + 1024, DROP, 512},
		{48000 * 3 + 28800, INSERT, 256}, {48000 * 3 + 43200, INSERT, 256},
		{48000 * 6, INSERT, 1024}, {48000 * 6, DROP, 1536},
		{48000 * 7, INSERT, 128}, {48000 * 7 + 9600, INSERT, 384},
	};
	/* Replaced runs shorter than the checkpoint spacing (and one exactly as long), at
	 * several phases: the report must list every one of them. */
	static const struct gs_event short_48[] = {
		{48000 * 3 + 1, SILENCE, 1}, {48000 * 3 + 24001, SILENCE, 3},
		{48000 * 4 + 7, SILENCE, 5}, {48000 * 4 + 24002, SILENCE, 7},
		{48000 * 5 + 9, SILENCE, 12}, {48000 * 5 + 24005, SILENCE, 15},
		{48000 * 6 + 3, SILENCE, 2}, {48000 * 6 + 24011, SILENCE, 16},
		{48000 * 7, DROP, 256}, {48000 * 7 + 4003, SILENCE, 4},
	};
	/* Replaced runs of noise, longer than the old nearby probe: searched for other offsets
	 * over their whole length, and still read as replaced, nothing else. */
	static const struct gs_event noise_48[] = {
		{48000 * 3, GS_NOISE, 2000}, {48000 * 4, GS_NOISE, 20000},
		{48000 * 5, DROP, 512}, {48000 * 6, GS_NOISE, 700}, {48000 * 6 + 700, DROP, 256},
	};
	/* Damage in the pre-roll, before the marker. */
	static const struct gs_event preroll_48[] = {{48000 + 7000, DROP, 512}};

	const struct tcase cases[] = {
		/* name, rate, ch, take_ch, take fmt, clean fmt, clean s, take start, take end,
		 * marker, marker s, meta, kinds, n random, extra, n extra, alignment */
		{"drops-pcm16-mono-of-stereo", 44100, 2, 0, WAV16, WAVF, 24, 1.5, 23.5, 1, 2.0, 1,
		 1u << DROP, 30, NULL, 0, GHOSTREC_ALIGN_MARKER, 0},
		{"silence-pcm24-mono-ch1", 44100, 2, 1, WAV24, WAVF, 24, 1.5, 23.5, 1, 2.0, 1,
		 1u << SILENCE, 30, NULL, 0, GHOSTREC_ALIGN_MARKER, 0},
		{"inserts-float-stereo", 96000, 2, -1, WAVF, WAVF, 14, 1.5, 13.5, 1, 2.0, 1,
		 1u << INSERT, 30, NULL, 0, GHOSTREC_ALIGN_MARKER, 0},
		{"mixed-pcm24-96k-mono", 96000, 2, 0, WAV24, WAVF, 14, 1.5, 13.5, 1, 2.0, 1,
		 (1u << DROP) | (1u << SILENCE) | (1u << INSERT), 36, NULL, 0, GHOSTREC_ALIGN_MARKER, 0},
		{"mixed-pcm16-rf64-clean24", 48000, 1, -1, WAV16, RF64_24, 20, 1.0, 19.5, 1, 1.5, 1,
		 (1u << DROP) | (1u << SILENCE) | (1u << INSERT), 30, NULL, 0, GHOSTREC_ALIGN_MARKER, 0},
		{"marker-destroyed-by-drop", 44100, 2, 0, WAV24, WAVF, 16, 1.5, 15.5, 1, 2.0, 1,
		 (1u << DROP) | (1u << INSERT), 20, marker_hit_44, 1, GHOSTREC_ALIGN_CONTENT, 0},
		{"punch-in-30s-no-marker", 48000, 2, 1, WAV24, WAVF, 42, 30.0, 41.0, 0, 2.0, 1,
		 (1u << DROP) | (1u << SILENCE) | (1u << INSERT), 16, NULL, 0, GHOSTREC_ALIGN_CONTENT, 0},
		{"clean-without-metadata-w64", 44100, 2, 0, WAV16, W64F, 16, 1.5, 15.5, 1, 2.0, 0,
		 (1u << DROP) | (1u << SILENCE) | (1u << INSERT), 20, NULL, 0, GHOSTREC_ALIGN_CONTENT, 0},
		{"no-marker-no-meta-channel", 96000, 2, 1, WAVF, WAVF, 12, 3.0, 11.0, 0, 2.0, 0,
		 (1u << DROP) | (1u << INSERT), 20, NULL, 0, GHOSTREC_ALIGN_CONTENT, 0},
		{"preroll-glitch", 48000, 2, 0, WAV24, WAVF, 12, 0.5, 11.5, 1, 2.0, 1,
		 (1u << DROP) | (1u << SILENCE), 10, preroll_48, 1, GHOSTREC_ALIGN_MARKER, 0},
		{"glitches-back-to-back", 48000, 2, 0, WAV24, WAVF, 10, 1.0, 9.5, 1, 1.5, 1,
		 0, 0, pairs_48, 12, GHOSTREC_ALIGN_MARKER, 0},
		{"pair-undone-by-pair", 48000, 2, 0, WAV24, WAVF, 10, 1.0, 9.5, 1, 1.5, 1,
		 0, 0, undone_48, 8, GHOSTREC_ALIGN_MARKER, 0},
		{"short-replaced-runs", 48000, 2, -1, WAV24, WAVF, 10, 1.0, 9.5, 1, 1.5, 1,
		 0, 0, short_48, 10, GHOSTREC_ALIGN_MARKER, 0},
		{"noise-replaced-runs", 48000, 2, -1, WAV24, WAVF, 8, 1.0, 7.5, 1, 1.5, 1,
		 0, 0, noise_48, 5, GHOSTREC_ALIGN_MARKER, 0},
		/* the clean file stops 3 s before the take does */
		{"take-past-clean-end", 44100, 2, 0, WAV24, WAVF, 12, 1.0, 11.5, 1, 1.5, 1,
		 (1u << DROP) | (1u << INSERT), 8, NULL, 0, GHOSTREC_ALIGN_MARKER, 8.5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], tmpdir);

	/* Null tests: 16- and 24-bit takes written with either integer convention; the fixed
	 * take equals the take bit for bit at every undamaged frame, and its repaired frames
	 * use the same convention (gs_check_output converts the truth that way). */
	static const struct gs_event pwar_48[] = {
		{48000 * 3, DROP, 512}, {48000 * 4, GS_REPEAT, 512}, {48000 * 5, GS_SWAP, 128},
		{48000 * 6, SILENCE, 256}, {48000 * 7, INSERT, 128},
	};
	const struct tcase null_cases[] = {
		{"null-pcm16", 48000, 2, 0, WAV16, WAVF, 10, 1.0, 9.5, 1, 1.5, 1, 0, 0, pwar_48, 5,
		 GHOSTREC_ALIGN_MARKER, 0},
		{"null-pcm24", 48000, 2, 0, WAV24, WAVF, 10, 1.0, 9.5, 1, 1.5, 1, 0, 0, pwar_48, 5,
		 GHOSTREC_ALIGN_MARKER, 0},
		{"null-pcm24-stereo", 48000, 2, -1, WAV24, WAVF, 10, 1.0, 9.5, 1, 1.5, 1, 0, 0, pwar_48, 5,
		 GHOSTREC_ALIGN_MARKER, 0},
	};
	for (take_scale = GS_SCALE_POW2; take_scale <= GS_SCALE_POW2_UP; take_scale++)
		for (size_t i = 0; i < sizeof(null_cases) / sizeof(null_cases[0]); i++)
			run_case(&null_cases[i], tmpdir);

	rmdir(tmpdir);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}

