/* Test material for the conform engine: see glitchsim.h. */
#include "glitchsim.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audiofile.h"
#include "common/marker.h"

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

void gs_signal(float *out, int64_t frames, int channels, int rate, uint32_t seed)
{
	for (int k = 0; k < channels; k++) {
		uint32_t s = seed * 2654435761u + (uint32_t)k * 40503u + 1u;
		if (s == 0)
			s = 1;
		double f1 = 110.0 * (1 + k) + (seed % 97);
		double f2 = 431.0 + 37.0 * k;
		for (int64_t i = 0; i < frames; i++) {
			double ph = (double)i / rate;
			double noise = (double)(xorshift(&s) >> 8) / 16777216.0 * 2.0 - 1.0;
			double v = 0.35 * sin(2 * M_PI * f1 * ph) + 0.15 * sin(2 * M_PI * f2 * ph * (1.0 + 0.01 * sin(ph))) +
				   0.3 * noise;
			out[i * channels + k] = (float)v;
		}
	}
}

static int push_glitch(struct gs_truth *t, size_t *cap, int64_t take_frame, int kind, int64_t frames)
{
	if (t->n_glitches == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		void *p = realloc(t->glitches, *cap * sizeof(*t->glitches));
		if (!p)
			return -1;
		t->glitches = p;
	}
	t->glitches[t->n_glitches].take_frame = take_frame;
	t->glitches[t->n_glitches].kind = kind;
	t->glitches[t->n_glitches].frames = frames;
	t->n_glitches++;
	return 0;
}

/* The clean file loses the gap ranges (zeros); take frames mapped there keep their own
 * audio and are reported as gap runs; glitches inside those runs fold into them. */
static int apply_gaps(const struct gs_params *p, struct gs_truth *t)
{
	for (size_t g = 0; g < p->n_gaps; g++)
		for (uint64_t c = p->gaps[g].frame; c < p->gaps[g].frame + p->gaps[g].frames &&
		     c < (uint64_t)p->clean_frames; c++)
			for (int k = 0; k < p->channels; k++)
				t->clean[c * (uint64_t)p->channels + (uint64_t)k] = 0.0f;
	struct ghostrec_conform_glitch *out = NULL;
	size_t n_out = 0, cap = 0, gi = 0;
	for (int64_t i = 0; i <= t->take_frames; i++) {
		int in = 0;
		if (i < t->take_frames && t->map[i] >= 0)
			for (size_t g = 0; g < p->n_gaps; g++)
				if ((uint64_t)t->map[i] >= p->gaps[g].frame &&
				    (uint64_t)t->map[i] < p->gaps[g].frame + p->gaps[g].frames)
					in = 1;
		if (in)
			t->map[i] = GS_MAP_KEEP;
	}
	for (int64_t i = 0; i < t->take_frames;) {
		if (t->map[i] != GS_MAP_KEEP) {
			i++;
			continue;
		}
		int64_t j = i;
		while (j < t->take_frames && t->map[j] == GS_MAP_KEEP)
			j++;
		/* the walk's glitches before the run, then the run; those inside it fold in */
		for (; gi < t->n_glitches && t->glitches[gi].take_frame < j; gi++) {
			if (t->glitches[gi].take_frame >= i)
				continue;
			if (n_out == cap && !(out = realloc(out, (cap = cap ? cap * 2 : 16) * sizeof(*out))))
				return -1;
			out[n_out++] = t->glitches[gi];
		}
		if (n_out == cap && !(out = realloc(out, (cap = cap ? cap * 2 : 16) * sizeof(*out))))
			return -1;
		out[n_out++] = (struct ghostrec_conform_glitch){i, GHOSTREC_GLITCH_GAP, j - i};
		i = j;
	}
	for (; gi < t->n_glitches; gi++) {
		if (n_out == cap && !(out = realloc(out, (cap = cap ? cap * 2 : 16) * sizeof(*out))))
			return -1;
		out[n_out++] = t->glitches[gi];
	}
	free(t->glitches);
	t->glitches = out;
	t->n_glitches = n_out;
	return 0;
}

int gs_build(const struct gs_params *p, struct gs_truth *t)
{
	memset(t, 0, sizeof(*t));
	int ch = p->channels;
	int tch = p->take_channel < 0 ? ch : 1;
	t->take_channels = tch;
	t->clean = malloc(sizeof(float) * (size_t)p->clean_frames * (size_t)ch);
	float *output = malloc(sizeof(float) * (size_t)p->clean_frames * (size_t)ch);
	/* The take can grow by the inserted frames. */
	int64_t cap = p->take_end - p->take_start;
	for (size_t i = 0; i < p->n_events; i++)
		if (p->events[i].kind == GHOSTREC_GLITCH_INSERTED || p->events[i].kind == GS_REPEAT ||
		    p->events[i].kind == GS_REPEAT_LATE)
			cap += p->events[i].frames;
	if (cap < 0)
		cap = 0;
	t->take = malloc(sizeof(float) * (size_t)(cap + 1) * (size_t)tch);
	t->map = malloc(sizeof(int64_t) * (size_t)(cap + 1));
	if (!t->clean || !output || !t->take || !t->map) {
		free(output);
		return -1;
	}
	gs_signal(t->clean, p->clean_frames, ch, p->rate, p->seed);
	memcpy(output, t->clean, sizeof(float) * (size_t)p->clean_frames * (size_t)ch);
	if (p->with_marker && p->marker_frame + GHOSTREC_MARKER_FRAMES <= p->clean_frames) {
		/* The node replaces its output with the marker, channel index per channel. */
		for (int k = 0; k < ch; k++) {
			int8_t sym[GHOSTREC_MARKER_FRAMES];
			struct ghostrec_marker m = {.take_id = p->take_id, .channel = (uint8_t)k};
			ghostrec_marker_symbols(&m, sym);
			for (uint32_t i = 0; i < GHOSTREC_MARKER_FRAMES; i++)
				output[(p->marker_frame + i) * ch + k] =
					GHOSTREC_MARKER_DEFAULT_AMPLITUDE * sym[i];
		}
	}

	size_t gcap = 0;
	int64_t tf = 0;
	int64_t cp = p->take_start;
	size_t ev = 0;
	while (cp < p->take_end) {
		while (ev < p->n_events && p->events[ev].clean_frame < cp)
			ev++;
		int64_t until = p->take_end;
		if (ev < p->n_events && p->events[ev].clean_frame < until)
			until = p->events[ev].clean_frame;
		for (; cp < until; cp++, tf++) {
			for (int k = 0; k < tch; k++) {
				int src = p->take_channel < 0 ? k : p->take_channel;
				t->take[tf * tch + k] = output[cp * ch + src];
			}
			t->map[tf] = cp;
		}
		if (cp >= p->take_end)
			break;
		const struct gs_event *e = &p->events[ev++];
		int64_t n = e->frames;
		if (e->kind == GHOSTREC_GLITCH_DROPPED) {
			if (push_glitch(t, &gcap, tf, e->kind, n))
				goto oom;
			cp += n;
		} else if (e->kind == GHOSTREC_GLITCH_REPLACED || e->kind == GS_NOISE) {
			if (cp + n > p->take_end)
				n = p->take_end - cp;
			if (push_glitch(t, &gcap, tf, GHOSTREC_GLITCH_REPLACED, n))
				goto oom;
			uint32_t ns = (uint32_t)cp * 2654435761u + 7u;
			for (int64_t i = 0; i < n; i++, cp++, tf++) {
				for (int k = 0; k < tch; k++)
					t->take[tf * tch + k] = e->kind == GS_NOISE
						? (float)((double)(xorshift(&ns) >> 8) / 16777216.0 - 0.5) : 0.0f;
				t->map[tf] = cp;
			}
		} else if (e->kind == GS_REPEAT || e->kind == GS_REPEAT_LATE) {
			int64_t from = e->kind == GS_REPEAT ? cp - n : cp - 2 * n;
			if (push_glitch(t, &gcap, tf, GHOSTREC_GLITCH_REPEATED, n))
				goto oom;
			for (int64_t i = 0; i < n; i++, tf++) {
				for (int k = 0; k < tch; k++) {
					int src = p->take_channel < 0 ? k : p->take_channel;
					t->take[tf * tch + k] = output[(from + i) * ch + src];
				}
				t->map[tf] = from + i;
			}
		} else if (e->kind == GS_SWAP) {
			if (cp + 2 * n > p->take_end)
				break;
			if (push_glitch(t, &gcap, tf, GHOSTREC_GLITCH_REORDERED, 2 * n))
				goto oom;
			for (int64_t i = 0; i < 2 * n; i++, tf++) {
				int64_t from = i < n ? cp + n + i : cp + i - n;
				for (int k = 0; k < tch; k++) {
					int src = p->take_channel < 0 ? k : p->take_channel;
					t->take[tf * tch + k] = output[from * ch + src];
				}
				t->map[tf] = cp + i;  /* the fixed take: clean order */
			}
			cp += 2 * n;
		} else {
			if (push_glitch(t, &gcap, tf, e->kind, n))
				goto oom;
			for (int64_t i = 0; i < n; i++, tf++) {
				for (int k = 0; k < tch; k++)
					t->take[tf * tch + k] = 0.0f;
				t->map[tf] = -1;
			}
		}
	}
	t->take_frames = tf;
	free(output);
	if (p->n_gaps && apply_gaps(p, t) != 0)
		return -1;
	return 0;
oom:
	free(output);
	return -1;
}

void gs_truth_free(struct gs_truth *t)
{
	free(t->clean);
	free(t->take);
	free(t->map);
	free(t->glitches);
	memset(t, 0, sizeof(*t));
}

static int write_floats(const char *path, int format, int rate, int channels, const float *data,
			int64_t frames, const char *bext_description)
{
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	sfi.samplerate = rate;
	sfi.channels = channels;
	sfi.format = format;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &sfi);
	if (!sf) {
		fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
		return -1;
	}
	if (bext_description) {
		SF_BROADCAST_INFO bext;
		memset(&bext, 0, sizeof(bext));
		snprintf(bext.description, sizeof(bext.description), "%s", bext_description);
		snprintf(bext.originator, sizeof(bext.originator), "ghostrec");
		if (sf_command(sf, SFC_SET_BROADCAST_INFO, &bext, sizeof(bext)) != SF_TRUE) {
			fprintf(stderr, "%s: cannot set bext\n", path);
			sf_close(sf);
			return -1;
		}
	}
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	int rc = sf_writef_float(sf, data, frames) == frames ? 0 : -1;
	if (sf_close(sf) != 0)
		rc = -1;
	return rc;
}

/* Reads a whole file as floats (what the engine sees). */
static float *read_all(const char *path, int64_t *frames, int *channels)
{
	char err[256];
	struct ghostrec_audiofile *af = ghostrec_audiofile_open(path, err, sizeof(err));
	if (!af) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	const struct ghostrec_audioinfo *i = ghostrec_audiofile_info(af);
	*frames = i->frames;
	*channels = i->channels;
	float *buf = malloc(sizeof(float) * (size_t)(i->frames + 1) * (size_t)i->channels);
	if (buf && ghostrec_audiofile_read(af, 0, i->frames, buf) != 0) {
		free(buf);
		buf = NULL;
	}
	ghostrec_audiofile_close(af);
	return buf;
}

int gs_write_clean(const char *path, const struct gs_params *p, const struct gs_truth *t,
		   int with_meta)
{
	char desc[256];
	snprintf(desc, sizeof(desc), "ghostrec take_id=%u marker_frame=%lld rate=%d channels=%d",
		 p->take_id, (long long)p->marker_frame, p->rate, p->channels);
	if (write_floats(path, p->clean_format, p->rate, p->channels, t->clean, p->clean_frames,
			 with_meta ? desc : NULL) != 0)
		return -1;
	if (p->n_gaps) {
		struct ghostrec_takemeta m;
		memset(&m, 0, sizeof(m));
		m.marker_frame = (uint64_t)p->marker_frame;
		m.gaps = (struct ghostrec_gap *)p->gaps;
		m.n_gaps = p->n_gaps;
		if (ghostrec_takemeta_append_cues(path, &m) != 0) {
			fprintf(stderr, "%s: cannot add the gap cues\n", path);
			return -1;
		}
	}
	/* The truth is what the file holds (a 24-bit clean file is quantized). */
	int64_t frames;
	int channels;
	float *back = read_all(path, &frames, &channels);
	if (!back || frames != p->clean_frames) {
		free(back);
		return -1;
	}
	memcpy(t->clean, back, sizeof(float) * (size_t)frames * (size_t)channels);
	free(back);
	return 0;
}

int32_t gs_take_int(const struct gs_params *p, int bits, float x)
{
	double hi = (double)(((int64_t)1 << (bits - 1)) - 1), lo = -(double)((int64_t)1 << (bits - 1));
	double s = p->take_scale == GS_SCALE_POW2M1 ? hi : -lo;
	double v = p->take_scale == GS_SCALE_POW2_UP ? floor((double)x * s + 0.5) : nearbyint((double)x * s);
	return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Floats -> a 16/24-bit file with p->take_scale's convention (integers written exactly). */
static int write_scaled(const char *path, const struct gs_params *p, int format, int channels,
			const float *data, int64_t frames)
{
	int bits = (format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16 ? 16 : 24;
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	sfi.samplerate = p->rate;
	sfi.channels = channels;
	sfi.format = format;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &sfi);
	if (!sf) {
		fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
		return -1;
	}
	int32_t *ib = malloc(sizeof(int32_t) * (size_t)(frames + 1) * (size_t)channels);
	int rc = -1;
	if (ib) {
		for (int64_t i = 0; i < frames * channels; i++)
			ib[i] = (int32_t)((uint32_t)gs_take_int(p, bits, data[i]) << (32 - bits));
		rc = sf_writef_int(sf, ib, frames) == frames ? 0 : -1;
	}
	free(ib);
	if (sf_close(sf) != 0)
		rc = -1;
	return rc;
}

static int scaled_format(const struct gs_params *p)
{
	int sub = p->take_format & SF_FORMAT_SUBMASK;
	return p->take_scale && (sub == SF_FORMAT_PCM_16 || sub == SF_FORMAT_PCM_24);
}

int gs_write_take(const char *path, const struct gs_params *p, const struct gs_truth *t)
{
	if (scaled_format(p))
		return write_scaled(path, p, p->take_format, t->take_channels, t->take, t->take_frames);
	return write_floats(path, p->take_format, p->rate, t->take_channels, t->take, t->take_frames,
			    NULL);
}

int gs_trim_replaced(const char *take_path, const char *clean_path, struct gs_truth *t)
{
	char err[256];
	struct ghostrec_audiofile *ta = ghostrec_audiofile_open(take_path, err, sizeof(err));
	struct ghostrec_audiofile *ca = ghostrec_audiofile_open(clean_path, err, sizeof(err));
	if (!ta || !ca) {
		ghostrec_audiofile_close(ta);
		ghostrec_audiofile_close(ca);
		return -1;
	}
	double tol = ghostrec_conform_tolerance(ghostrec_audiofile_info(ta), ghostrec_audiofile_info(ca));
	ghostrec_audiofile_close(ta);
	ghostrec_audiofile_close(ca);
	int64_t frames;
	int tch;
	float *take = read_all(take_path, &frames, &tch);
	if (!take)
		return -1;
	int cch = 0;
	int64_t cframes;
	float *clean = read_all(clean_path, &cframes, &cch);
	if (!clean) {
		free(take);
		return -1;
	}
	(void)cframes;
	/* which clean channel the take's channel 0 is: find from any mapped frame */
	size_t out = 0;
	for (size_t g = 0; g < t->n_glitches; g++) {
		struct ghostrec_conform_glitch gl = t->glitches[g];
		if (gl.kind == GHOSTREC_GLITCH_REPLACED) {
			int64_t a = gl.take_frame, b = gl.take_frame + gl.frames;
			int c0 = t->take_channels == cch ? 0 : -1;
			for (int cand = 0; cand < cch && c0 < 0; cand++) {
				/* the mono take's channel: the one that matches a mapped frame */
				int ok = 1;
				for (int64_t i = 0, seen = 0; i < t->take_frames && seen < 64; i++) {
					if (t->map[i] < 0 || (i >= a && i < b))
						continue;
					seen++;
					if (fabs((double)take[i] - clean[t->map[i] * cch + cand]) > tol)
						ok = 0;
				}
				if (ok)
					c0 = cand;
			}
			if (c0 < 0)
				c0 = 0;
			for (;;) {
				int same = 1;
				if (a >= b)
					break;
				for (int k = 0; k < tch; k++)
					if (fabs((double)take[a * tch + k] - clean[t->map[a] * cch + c0 + k]) > tol)
						same = 0;
				if (!same)
					break;
				a++;
			}
			for (;;) {
				int same = 1;
				if (b <= a)
					break;
				for (int k = 0; k < tch; k++)
					if (fabs((double)take[(b - 1) * tch + k] - clean[t->map[b - 1] * cch + c0 + k]) > tol)
						same = 0;
				if (!same)
					break;
				b--;
			}
			if (b <= a)
				continue;
			gl.take_frame = a;
			gl.frames = b - a;
		}
		t->glitches[out++] = gl;
	}
	t->n_glitches = out;
	free(take);
	free(clean);
	return 0;
}

void gs_canonical_pairs(struct gs_truth *t)
{
	size_t out = 0;
	for (size_t i = 0; i < t->n_glitches; i++) {
		struct ghostrec_conform_glitch g = t->glitches[i];
		if (g.kind == GHOSTREC_GLITCH_INSERTED && i + 1 < t->n_glitches && g.take_frame > 0 &&
		    t->glitches[i + 1].kind == GHOSTREC_GLITCH_DROPPED &&
		    t->glitches[i + 1].take_frame == g.take_frame + g.frames && t->map[g.take_frame - 1] >= 0) {
			int64_t a = g.take_frame, n = g.frames, m = t->glitches[i + 1].frames;
			int64_t keep = m < n ? m : n;  /* frames that stay on the old offset */
			int64_t c0 = t->map[a - 1] + 1;
			for (int64_t k = 0; k < keep; k++)
				t->map[a + k] = c0 + k;
			t->glitches[out++] = (struct ghostrec_conform_glitch){a, GHOSTREC_GLITCH_REPLACED, keep};
			if (m > n)
				t->glitches[out++] = (struct ghostrec_conform_glitch){a + n, GHOSTREC_GLITCH_DROPPED, m - n};
			else if (m < n)
				t->glitches[out++] = (struct ghostrec_conform_glitch){a + m, GHOSTREC_GLITCH_INSERTED, n - m};
			i++;
			continue;
		}
		/* A drop right where a replaced run starts: the run is read on the old offset and
		 * the drop placed after it. */
		if (i + 1 < t->n_glitches && g.take_frame > 0 && t->map[g.take_frame - 1] >= 0 &&
		    t->glitches[i + 1].take_frame == g.take_frame &&
		    ((g.kind == GHOSTREC_GLITCH_DROPPED && t->glitches[i + 1].kind == GHOSTREC_GLITCH_REPLACED) ||
		     (g.kind == GHOSTREC_GLITCH_REPLACED && t->glitches[i + 1].kind == GHOSTREC_GLITCH_DROPPED))) {
			struct ghostrec_conform_glitch r = g.kind == GHOSTREC_GLITCH_REPLACED ? g : t->glitches[i + 1];
			struct ghostrec_conform_glitch dr = g.kind == GHOSTREC_GLITCH_DROPPED ? g : t->glitches[i + 1];
			int64_t c0 = t->map[r.take_frame - 1] + 1;
			for (int64_t k = 0; k < r.frames; k++)
				t->map[r.take_frame + k] = c0 + k;
			t->glitches[out++] = r;
			t->glitches[out++] = (struct ghostrec_conform_glitch){r.take_frame + r.frames,
									      GHOSTREC_GLITCH_DROPPED, dr.frames};
			i++;
			continue;
		}
		t->glitches[out++] = g;
	}
	t->n_glitches = out;
}

size_t gs_random_events(struct gs_event *ev, size_t count, unsigned kind_mask, int64_t from,
			int64_t to, int64_t gap, uint32_t seed)
{
	uint32_t s = seed ? seed : 1;
	int kinds[3];
	int nk = 0;
	for (int k = 0; k < 3; k++)
		if (kind_mask & (1u << k))
			kinds[nk++] = k;
	if (nk == 0 || count == 0 || to <= from)
		return 0;
	int64_t spacing = (to - from) / (int64_t)count;
	if (spacing < gap + 1024 + 1)
		return 0;
	for (size_t i = 0; i < count; i++) {
		int64_t base = from + (int64_t)i * spacing;
		ev[i].clean_frame = base + (int64_t)(xorshift(&s) % (uint32_t)(spacing - gap - 1024));
		ev[i].kind = kinds[xorshift(&s) % (uint32_t)nk];
		ev[i].frames = 64 << (xorshift(&s) % 5);
	}
	return count;
}

int64_t gs_check_output(const char *out_path, const char *take_path, const struct gs_params *p,
			const struct gs_truth *t, const char *tmpdir)
{
	int tch = t->take_channels;
	int ch = p->channels;
	float *expect = calloc((size_t)(t->take_frames + 1) * (size_t)tch, sizeof(float));
	if (!expect)
		return -1;
	for (int64_t i = 0; i < t->take_frames; i++) {
		if (t->map[i] == GS_MAP_KEEP) {
			/* a clean gap: the take's own sample, through the same writer as the take */
			for (int k = 0; k < tch; k++)
				expect[i * tch + k] = t->take[i * tch + k];
			continue;
		}
		if (t->map[i] < 0)
			continue;
		for (int k = 0; k < tch; k++) {
			int src = p->take_channel < 0 ? k : p->take_channel;
			expect[i * tch + k] = t->clean[t->map[i] * ch + src];
		}
	}
	/* Convert to the take's format the way any writer of that format does. */
	char path[1024];
	snprintf(path, sizeof(path), "%s/expected.wav", tmpdir);
	int64_t diff = -1;
	/* (a take with another integer convention: the fixed take must use it too) */
	if ((scaled_format(p) ? write_scaled(path, p, p->take_format, tch, expect, t->take_frames)
			      : write_floats(path, p->take_format, p->rate, tch, expect, t->take_frames, NULL)) == 0) {
		int64_t ef, of;
		int ec, oc;
		float *e = read_all(path, &ef, &ec);
		float *o = read_all(out_path, &of, &oc);
		if (e && o && ef == t->take_frames && of == ef && ec == oc) {
			diff = 0;
			for (int64_t i = 0; i < ef; i++) {
				if (t->map[i] < 0 && t->map[i] != GS_MAP_KEEP)
					continue;
				for (int k = 0; k < tch; k++) {
					if (e[i * tch + k] != o[i * tch + k]) {
						if (diff < 5)
							fprintf(stderr, "  OUT differs at take frame %lld ch %d: %.9g, expected %.9g\n",
								(long long)i, k, o[i * tch + k], e[i * tch + k]);
						diff++;
						break;
					}
				}
			}
		} else {
			fprintf(stderr, "  OUT has %lld frames x %d channels, expected %lld x %d\n",
				(long long)of, oc, (long long)ef, ec);
		}
		free(e);
		free(o);
	}
	(void)take_path;
	free(expect);
	return diff;
}

int64_t gs_single_offset_errors(const struct gs_params *p, const struct gs_truth *t,
				const char *tmpdir)
{
	(void)tmpdir;
	int ch = p->channels;
	int src = p->take_channel < 0 ? 0 : p->take_channel;
	int64_t d0 = 0;
	int found = 0;
	for (int64_t i = 0; i < t->take_frames && !found; i++) {
		if (t->map[i] >= 0) {
			d0 = t->map[i] - i;
			found = 1;
		}
	}
	int64_t wrong = 0;
	for (int64_t i = 0; i < t->take_frames; i++) {
		int64_t c = i + d0;
		if (t->map[i] < 0 || c < 0 || c >= p->clean_frames ||
		    t->clean[c * ch + src] != t->clean[t->map[i] * ch + src])
			wrong++;
	}
	return wrong;
}

int gs_write_log(const char *path, const struct gs_truth *t)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "[");
	for (size_t i = 0; i < t->n_glitches; i++)
		fprintf(f, "%s\n  {\"take_frame\": %lld, \"kind\": \"%s\", \"frames\": %lld}", i ? "," : "",
			(long long)t->glitches[i].take_frame, ghostrec_glitch_kind_name(t->glitches[i].kind),
			(long long)t->glitches[i].frames);
	fprintf(f, "]\n");
	return fclose(f);
}
