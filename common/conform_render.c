/* Renders the fixed take from a conform result: see ghostrec_conform_render in conform.h.
 * Streams block by block so hour-long takes need no more memory than a few blocks. */
#include "conform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_BLOCK 65536

/* Clean sample (channel ch) at clean frame c; silence outside the file. */
static double clean_sample(struct ghostrec_audiofile *clean, int64_t c, int ch)
{
	const float *f = ghostrec_audiofile_frame(clean, c);
	return f ? f[ch] : 0.0;
}

/* Equal-power crossfade from the mapping d_from to d_to over take frames [x0, x0 + len),
 * written into the block buffer for the frames that fall in [b0, b1). */
static void crossfade(float *buf, int64_t b0, int64_t b1, int channels, struct ghostrec_audiofile *clean,
		      int clean_channel, int64_t x0, int64_t len, int64_t d_from, int64_t d_to)
{
	int64_t lo = x0 > b0 ? x0 : b0;
	int64_t hi = x0 + len < b1 ? x0 + len : b1;
	for (int64_t t = lo; t < hi; t++) {
		double x = ((double)(t - x0) + 0.5) / (double)len;
		double g_out = cos(x * M_PI / 2.0);
		double g_in = sin(x * M_PI / 2.0);
		for (int k = 0; k < channels; k++) {
			double a = clean_sample(clean, t + d_from, clean_channel + k);
			double b = clean_sample(clean, t + d_to, clean_channel + k);
			buf[(t - b0) * channels + k] = (float)(g_out * a + g_in * b);
		}
	}
}

/* Is there a gap glitch starting at take frame t? (glitches are in take order) */
static int gap_at(const struct ghostrec_conform_result *res, int64_t t)
{
	size_t lo = 0, hi = res->n_glitches;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (res->glitches[mid].take_frame < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < res->n_glitches && res->glitches[lo].take_frame == t; lo++)
		if (res->glitches[lo].kind == GHOSTREC_GLITCH_GAP)
			return 1;
	return 0;
}

int ghostrec_conform_render(const struct ghostrec_conform_result *res,
			    struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
			    struct ghostrec_audiofile *out, int join, int64_t xfade_frames,
			    const struct ghostrec_conform_options *opt, char *err, size_t errsize)
{
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	const struct ghostrec_audioinfo *ci = ghostrec_audiofile_info(clean);
	int tch = ti->channels;
	int cch = ci->channels;
	float *buf = malloc(sizeof(float) * RENDER_BLOCK * (size_t)tch);
	float *cbuf = malloc(sizeof(float) * RENDER_BLOCK * (size_t)cch);
	if (!buf || !cbuf) {
		free(buf);
		free(cbuf);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	int rc = 0;
	size_t seg = 0;
	for (int64_t b0 = 0; b0 < ti->frames && rc == 0; b0 += RENDER_BLOCK) {
		int64_t b1 = b0 + RENDER_BLOCK < ti->frames ? b0 + RENDER_BLOCK : ti->frames;
		if (opt && opt->progress)
			opt->progress(opt->progress_data, b0, ti->frames);
		/* Frames with no clean counterpart keep the take's own samples. */
		if (ghostrec_audiofile_read(take, b0, b1 - b0, buf) != 0) {
			snprintf(err, errsize, "cannot read the take at frame %lld", (long long)b0);
			rc = -1;
			break;
		}
		while (seg < res->n_segments && res->segments[seg].take_end <= b0)
			seg++;
		for (size_t i = seg; i < res->n_segments && res->segments[i].take_start < b1; i++) {
			const struct ghostrec_conform_segment *s = &res->segments[i];
			int64_t lo = s->take_start > b0 ? s->take_start : b0;
			int64_t hi = s->take_end < b1 ? s->take_end : b1;
			int64_t d = s->clean_start - s->take_start;
			if (ghostrec_audiofile_read(clean, lo + d, hi - lo, cbuf) != 0) {
				snprintf(err, errsize, "cannot read the clean file at frame %lld",
					 (long long)(lo + d));
				rc = -1;
				break;
			}
			for (int64_t t = lo; t < hi; t++)
				for (int k = 0; k < tch; k++)
					buf[(t - b0) * tch + k] =
						cbuf[(t - lo) * cch + res->clean_channel + k];
		}
		/* Joins between consecutive segments. */
		for (size_t i = seg > 0 ? seg - 1 : 0; i + 1 < res->n_segments; i++) {
			const struct ghostrec_conform_segment *a = &res->segments[i];
			const struct ghostrec_conform_segment *b = &res->segments[i + 1];
			if (a->take_end - xfade_frames > b1 && b->take_start > b1)
				break;
			int64_t da = a->clean_start - a->take_start;
			int64_t db = b->clean_start - b->take_start;
			if (b->take_start > a->take_end && gap_at(res, a->take_end)) {
				/* A gap: no clean audio, the take keeps its own. */
			} else if (b->take_start > a->take_end) {
				/* Inserted frames: bridge them from the audio before to the audio after. */
				crossfade(buf, b0, b1, tch, clean, res->clean_channel, a->take_end,
					  b->take_start - a->take_end, da, db);
			} else if (join == GHOSTREC_JOIN_CROSSFADE && da != db && xfade_frames > 1) {
				/* Dropped frames: smooth the jump, centred on the join, inside both. */
				int64_t h = xfade_frames / 2;
				if (h > a->take_end - a->take_start)
					h = a->take_end - a->take_start;
				if (h > b->take_end - b->take_start)
					h = b->take_end - b->take_start;
				if (h > 0)
					crossfade(buf, b0, b1, tch, clean, res->clean_channel,
						  a->take_end - h, 2 * h, da, db);
			}
		}
		if (rc == 0 && ghostrec_audiofile_write(out, buf, b1 - b0) != 0) {
			snprintf(err, errsize, "cannot write the output file");
			rc = -1;
		}
	}
	free(buf);
	free(cbuf);
	return rc;
}
