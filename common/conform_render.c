/* Renders the fixed take from a conform result: see ghostrec_conform_render in conform.h.
 * Streams block by block so hour-long takes need no more memory than a few blocks.
 *
 * 16/24-bit takes are written as integers, null-identical to the take: frames that keep
 * the take's audio get its own integers back, and the clean audio is converted with the
 * integer convention the take's writer used, learned from the take frames that match their
 * clean frames (REAPER's x 2^(n-1) or x (2^(n-1) - 1), ties to even, up or away from zero, or
 * libsndfile's). At every frame
 * REAPER recorded undamaged the fixed take then equals the take bit for bit. */
#include "conform.h"
#include "conform_feed.h"
#include "sample_convert.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_BLOCK 65536

/* Segment pieces of one block packed straight from the clean file (more go the float way). */
#define RENDER_PIECES 16
struct piece {
	int64_t lo, hi, d;   /* take frames [lo, hi) are clean frames from lo + d */
};

/* What a rendered block's frame holds (the block's `mapped` bytes). */
enum {
	FRAME_TAKE = 0,     /* the take's own sample: no clean counterpart, or a gap */
	FRAME_RENDERED = 1, /* clean audio (or a crossfade) in the float block */
	FRAME_PACKED = 2,   /* clean audio packed straight into the output bytes
			     * (ghostrec_pack_float32) */
};

/* A rendered block -> left-justified integers: kept frames exact, mapped ones converted
 * (one loop per convention: this runs for every sample of the take). */
#define CONVERT_LOOP(conv)                                                                            \
	for (int64_t i = 0; i < frames; i++) {                                                        \
		const float *x = buf + i * ch;                                                        \
		int32_t *o = out + i * ch;                                                            \
		if (!mapped[i])                                                                       \
			for (int k = 0; k < ch; k++)                                                  \
				o[k] = (int32_t)((uint32_t)ghostrec_take_int(bits, x[k]) << sh);      \
		else                                                                                  \
			for (int k = 0; k < ch; k++)                                                  \
				o[k] = (int32_t)((uint32_t)ghostrec_convert(conv, bits, x[k]) << sh); \
	}

/* The same for a file's own sample bytes (ghostrec_audiofile_has_pcm): mapped frames
 * converted into them, the others already hold the take's bytes. Runs of rendered frames
 * are found with memchr: most blocks have none (their frames are packed or the take's). */
#define PACK_LOOP(conv, nb)                                                                      \
	for (const uint8_t *m = memchr(mapped, FRAME_RENDERED, (size_t)frames); m;               \
	     m = memchr(m, FRAME_RENDERED, (size_t)(mapped + frames - m))) {                     \
		int64_t i = m - mapped;                                                          \
		for (; i < frames && mapped[i] == FRAME_RENDERED; i++) {                         \
			const float *x = buf + i * ch;                                           \
			unsigned char *o = bytes + (size_t)i * (size_t)ch * (nb);                \
			for (int k = 0; k < ch; k++) {                                           \
				uint32_t v = (uint32_t)ghostrec_convert(conv, bits, x[k]);       \
				o[k * (nb)] = (unsigned char)v;                                  \
				o[k * (nb) + 1] = (unsigned char)(v >> 8);                       \
				if ((nb) == 3)                                                   \
					o[k * (nb) + 2] = (unsigned char)(v >> 16);              \
			}                                                                        \
		}                                                                                \
		m = mapped + i;                                                                  \
	}

/* ... when every frame of the block is mapped: one run over the samples (on a little-endian
 * machine a 24-bit sample is stored as four bytes, the fourth overwritten by the next) */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PACK_WIDE 1
#else
#define PACK_WIDE 0
#endif
#define PACK_ALL(conv, nb)                                                      \
	do {                                                                    \
		size_t ns = (size_t)frames * (size_t)ch, j = 0;                 \
		ghostrec_convert_run(conv, bits, buf, ns, kbuf);                \
		if (PACK_WIDE && (nb) == 3)                                     \
			for (; j + 1 < ns; j++) {                               \
				uint32_t v = (uint32_t)kbuf[j];                 \
				memcpy(bytes + 3 * j, &v, 4);                   \
			}                                                       \
		for (; j < ns; j++) {                                           \
			uint32_t v = (uint32_t)kbuf[j];                         \
			bytes[j * (nb)] = (unsigned char)v;                     \
			bytes[j * (nb) + 1] = (unsigned char)(v >> 8);          \
			if ((nb) == 3)                                          \
				bytes[j * (nb) + 2] = (unsigned char)(v >> 16); \
		}                                                               \
	} while (0)

#define PACK_CONV(conv)                    \
	do {                               \
		if (all && bits == 24)     \
			PACK_ALL(conv, 3); \
		else if (all)              \
			PACK_ALL(conv, 2); \
		else if (bits == 24)       \
			PACK_LOOP(conv, 3) \
		else                       \
			PACK_LOOP(conv, 2) \
	} while (0)

static void block_to_pcm(int conv, int bits, const float *buf, const uint8_t *mapped, int64_t frames,
			 int ch, unsigned char *bytes, int32_t *kbuf)
{
	int all = !memchr(mapped, FRAME_TAKE, (size_t)frames) &&
		  !memchr(mapped, FRAME_PACKED, (size_t)frames);
	switch (conv) {
	case GHOSTREC_CONV_SNDFILE_CLIP:
		PACK_CONV(GHOSTREC_CONV_SNDFILE_CLIP);
		break;
	case GHOSTREC_CONV_ROUND_POW2:
		PACK_CONV(GHOSTREC_CONV_ROUND_POW2);
		break;
	case GHOSTREC_CONV_ROUND_POW2M1:
		PACK_CONV(GHOSTREC_CONV_ROUND_POW2M1);
		break;
	case GHOSTREC_CONV_POW2_HALF_UP:
		PACK_CONV(GHOSTREC_CONV_POW2_HALF_UP);
		break;
	case GHOSTREC_CONV_POW2_HALF_AWAY:
		PACK_CONV(GHOSTREC_CONV_POW2_HALF_AWAY);
		break;
	default:
		PACK_CONV(GHOSTREC_CONV_SNDFILE_NOCLIP);
		break;
	}
}

static void block_to_int(int conv, int bits, const float *buf, const uint8_t *mapped, int64_t frames,
			 int ch, int32_t *out)
{
	const int sh = 32 - bits;
	switch (conv) {
	case GHOSTREC_CONV_SNDFILE_CLIP:
		CONVERT_LOOP(GHOSTREC_CONV_SNDFILE_CLIP);
		break;
	case GHOSTREC_CONV_ROUND_POW2:
		CONVERT_LOOP(GHOSTREC_CONV_ROUND_POW2);
		break;
	case GHOSTREC_CONV_ROUND_POW2M1:
		CONVERT_LOOP(GHOSTREC_CONV_ROUND_POW2M1);
		break;
	case GHOSTREC_CONV_POW2_HALF_UP:
		CONVERT_LOOP(GHOSTREC_CONV_POW2_HALF_UP);
		break;
	case GHOSTREC_CONV_POW2_HALF_AWAY:
		CONVERT_LOOP(GHOSTREC_CONV_POW2_HALF_AWAY);
		break;
	default:
		CONVERT_LOOP(GHOSTREC_CONV_SNDFILE_NOCLIP);
		break;
	}
}

/* Learns the take's convention from up to LEARN_SAMPLES samples where the conventions
 * disagree, taken from segment frames (take frame vs its clean frame). Ties and no
 * evidence keep GHOSTREC_CONV_SNDFILE_CLIP (what this renderer wrote before it learned). */
#define LEARN_SAMPLES 65536

static int learn_convention(const struct ghostrec_conform_result *res, struct ghostrec_conform_feed *feed,
			    struct ghostrec_conform_result *view,
			    struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
			    float *tb, float *cb, int bits, int *failed)
{
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	const struct ghostrec_audioinfo *ci = ghostrec_audiofile_info(clean);
	int64_t votes[GHOSTREC_CONV_COUNT] = {0};
	int64_t seen = 0;
	for (size_t i = 0; seen < LEARN_SAMPLES; i++) {
		/* from a feed: segment i once the walk has settled it */
		if (feed && i >= res->n_segments && ghostrec_conform_feed_pull(feed, view, i, INT64_MAX) != 0) {
			*failed = 1;
			return GHOSTREC_CONV_SNDFILE_CLIP;
		}
		if (i >= res->n_segments)
			break;
		const struct ghostrec_conform_segment *s = &res->segments[i];
		int64_t d = s->clean_start - s->take_start;
		for (int64_t b0 = s->take_start; b0 < s->take_end && seen < LEARN_SAMPLES; b0 += RENDER_BLOCK) {
			int64_t n = s->take_end - b0 < RENDER_BLOCK ? s->take_end - b0 : RENDER_BLOCK;
			if (ghostrec_audiofile_read(take, b0, n, tb) != 0 ||
			    ghostrec_audiofile_read(clean, b0 + d, n, cb) != 0)
				return GHOSTREC_CONV_SNDFILE_CLIP;
			for (int64_t f = 0; f < n; f++) {
				for (int k = 0; k < ti->channels; k++) {
					int32_t want = ghostrec_take_int(bits, tb[f * ti->channels + k]);
					float x = cb[f * ci->channels + res->clean_channel + k];
					int32_t c0 = ghostrec_convert(0, bits, x);
					int differ = 0, hit[GHOSTREC_CONV_COUNT];
					for (int c = 0; c < GHOSTREC_CONV_COUNT; c++) {
						int32_t v = c == 0 ? c0 : ghostrec_convert(c, bits, x);
						hit[c] = v == want;
						differ |= v != c0;
					}
					if (!differ)
						continue;
					for (int c = 0; c < GHOSTREC_CONV_COUNT; c++)
						votes[c] += hit[c];
					seen++;
				}
			}
		}
	}
	int best = GHOSTREC_CONV_SNDFILE_CLIP;
	for (int c = 1; c < GHOSTREC_CONV_COUNT; c++)
		if (votes[c] > votes[best])
			best = c;
	return best;
}

/* Clean sample (channel ch) at clean frame c; silence outside the file. */
static double clean_sample(struct ghostrec_audiofile *clean, int64_t c, int ch)
{
	const float *f = ghostrec_audiofile_frame(clean, c);
	return f ? f[ch] : 0.0;
}

/* Equal-power crossfade from the mapping d_from to d_to over take frames [x0, x0 + len),
 * written into the block buffer for the frames that fall in [b0, b1). */
static void crossfade(float *buf, uint8_t *mapped, int64_t b0, int64_t b1, int channels,
		      struct ghostrec_audiofile *clean, int clean_channel, int64_t x0, int64_t len,
		      int64_t d_from, int64_t d_to)
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
		mapped[t - b0] = 1;
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

/* The fixed take is written by a second thread while the next block is rendered (the
 * kernel's copy of a block into the page cache costs about as much as rendering it). One
 * block at a time is in its hands; without the thread, blocks are written in place. */
enum { OUT_FLOAT, OUT_INT, OUT_PCM };

struct out_writer {
	struct ghostrec_audiofile *out;
	pthread_t thread;
	int running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int kind;             /* OUT_* of the block in hand */
	const void *data;     /* the block in hand, NULL when idle */
	int64_t frames;
	int failed;
	int stop;
};

static int write_block(struct ghostrec_audiofile *out, int kind, const void *data, int64_t n)
{
	if (kind == OUT_PCM)
		return ghostrec_audiofile_write_pcm(out, data, n);
	if (kind == OUT_INT)
		return ghostrec_audiofile_write_int(out, data, n);
	return ghostrec_audiofile_write(out, data, n);
}

static void *writer_main(void *arg)
{
	struct out_writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->data && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->data)
			break;
		const void *data = w->data;
		int kind = w->kind;
		int64_t n = w->frames;
		pthread_mutex_unlock(&w->lock);
		int rc = write_block(w->out, kind, data, n);
		pthread_mutex_lock(&w->lock);
		if (rc != 0)
			w->failed = 1;
		w->data = NULL;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void writer_start(struct out_writer *w, struct ghostrec_audiofile *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	if (pthread_mutex_init(&w->lock, NULL) != 0)
		return;
	if (pthread_cond_init(&w->cond, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		return;
	}
	w->running = pthread_create(&w->thread, NULL, writer_main, w) == 0;
	if (!w->running) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
}

/* Hands a block to the writer once it is done with the previous one (which the caller may
 * then fill again). Returns 0, or -1 when a write failed. */
static int writer_put(struct out_writer *w, int kind, const void *data, int64_t n)
{
	if (!w->running)
		return write_block(w->out, kind, data, n);
	pthread_mutex_lock(&w->lock);
	while (w->data)
		pthread_cond_wait(&w->cond, &w->lock);
	int rc = w->failed ? -1 : 0;
	if (rc == 0) {
		w->kind = kind;
		w->data = data;
		w->frames = n;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Waits for the last block and ends the thread. Returns 0, or -1 when a write failed. */
static int writer_finish(struct out_writer *w)
{
	if (!w->running)
		return 0;
	pthread_mutex_lock(&w->lock);
	while (w->data)
		pthread_cond_wait(&w->cond, &w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	int rc = w->failed ? -1 : 0;
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	w->running = 0;
	return rc;
}

/* ghostrec_conform_render of res, or of what feed hands over: then res is view, the
 * renderer's own copy of it, growing as the walk goes. */
static int render(const struct ghostrec_conform_result *res, struct ghostrec_conform_feed *feed,
		  struct ghostrec_conform_result *view,
		  struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
		  struct ghostrec_audiofile *out, int join, int64_t xfade_frames,
		  const struct ghostrec_conform_options *opt, char *err, size_t errsize)
{
	const struct ghostrec_audioinfo *ti = ghostrec_audiofile_info(take);
	const struct ghostrec_audioinfo *ci = ghostrec_audiofile_info(clean);
	int tch = ti->channels;
	int cch = ci->channels;
	/* two of each block the writer takes: one rendered while it writes the other */
	float *bufs[2] = {malloc(sizeof(float) * RENDER_BLOCK * (size_t)tch),
			  malloc(sizeof(float) * RENDER_BLOCK * (size_t)tch)};
	float *buf = bufs[0];
	float *cbuf = malloc(sizeof(float) * RENDER_BLOCK * (size_t)cch);
	uint8_t *mapped = malloc(RENDER_BLOCK);
	/* 16/24-bit takes: integers, null-identical (see the top of this file) */
	int bits = !ti->is_float && (ti->bits == 16 || ti->bits == 24) ? ti->bits : 0;
	/* ... straight as the file's bytes when both files have them (the take's bytes are
	 * copied where it keeps its audio, not decoded and encoded again) */
	int pcm = bits && ghostrec_audiofile_has_pcm(take) && ghostrec_audiofile_has_pcm(out);
	size_t isize = pcm ? (size_t)(bits / 8) * RENDER_BLOCK * (size_t)tch
			   : sizeof(int32_t) * RENDER_BLOCK * (size_t)tch;
	int32_t *ibufs[2] = {bits ? malloc(isize) : NULL, bits ? malloc(isize) : NULL};
	int32_t *ibuf = ibufs[0];
	int32_t *kbuf = pcm ? malloc(sizeof(int32_t) * RENDER_BLOCK * (size_t)tch) : NULL;
	if (!bufs[0] || !bufs[1] || !cbuf || !mapped || (bits && (!ibufs[0] || !ibufs[1])) || (pcm && !kbuf)) {
		free(kbuf);
		free(bufs[0]);
		free(bufs[1]);
		free(cbuf);
		free(mapped);
		free(ibufs[0]);
		free(ibufs[1]);
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	int failed = 0;
	int conv = bits ? learn_convention(res, feed, view, take, clean, buf, cbuf, bits, &failed) : 0;
	/* a float32 clean file with the take's channels: segments packed from its mapping */
	int direct = pcm && ghostrec_audiofile_layout(clean) == GHOSTREC_LAYOUT_F32 &&
		     ghostrec_can_pack_float32(conv, bits);
	struct piece pieces[RENDER_PIECES];
	int n_pieces = 0;
	int rc = 0;
	size_t seg = 0;
	struct out_writer writer;
	writer_start(&writer, out);
	int which = 0;
	for (int64_t b0 = 0; b0 < ti->frames && rc == 0 && !failed; b0 += RENDER_BLOCK) {
		int64_t b1 = b0 + RENDER_BLOCK < ti->frames ? b0 + RENDER_BLOCK : ti->frames;
		/* From a feed: the block once no segment still to come can reach into it (one
		 * starts where the last settled one ends, and its join reaches xfade_frames / 2
		 * back at most). */
		if (feed && ghostrec_conform_feed_pull(feed, view, SIZE_MAX, b1 + xfade_frames) != 0) {
			failed = 1;
			break;
		}
		buf = bufs[which];
		ibuf = ibufs[which];
		which ^= 1;
		if (opt && opt->progress)
			opt->progress(opt->progress_data, b0, ti->frames);
		/* Frames with no clean counterpart keep the take's own samples. */
		if (!pcm && ghostrec_audiofile_read(take, b0, b1 - b0, buf) != 0) {
			snprintf(err, errsize, "cannot read the take at frame %lld", (long long)b0);
			rc = -1;
			break;
		}
		memset(mapped, FRAME_TAKE, (size_t)(b1 - b0));
		n_pieces = 0;
		while (seg < res->n_segments && res->segments[seg].take_end <= b0)
			seg++;
		for (size_t i = seg; i < res->n_segments && res->segments[i].take_start < b1; i++) {
			const struct ghostrec_conform_segment *s = &res->segments[i];
			int64_t lo = s->take_start > b0 ? s->take_start : b0;
			int64_t hi = s->take_end < b1 ? s->take_end : b1;
			int64_t d = s->clean_start - s->take_start;
			if (tch == cch && direct && n_pieces < RENDER_PIECES) {
				/* packed from the clean file's mapping once the take's bytes are in */
				pieces[n_pieces++] = (struct piece){lo, hi, d};
				memset(mapped + (lo - b0), FRAME_PACKED, (size_t)(hi - lo));
				continue;
			}
			if (tch == cch) {
				/* every clean channel, in order: straight into the block */
				if (ghostrec_audiofile_read(clean, lo + d, hi - lo, buf + (lo - b0) * tch) != 0) {
					snprintf(err, errsize, "cannot read the clean file at frame %lld",
						 (long long)(lo + d));
					rc = -1;
					break;
				}
				memset(mapped + (lo - b0), 1, (size_t)(hi - lo));
				continue;
			}
			if (ghostrec_audiofile_read(clean, lo + d, hi - lo, cbuf) != 0) {
				snprintf(err, errsize, "cannot read the clean file at frame %lld",
					 (long long)(lo + d));
				rc = -1;
				break;
			}
			for (int64_t t = lo; t < hi; t++) {
				for (int k = 0; k < tch; k++)
					buf[(t - b0) * tch + k] =
						cbuf[(t - lo) * cch + res->clean_channel + k];
				mapped[t - b0] = 1;
			}
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
				crossfade(buf, mapped, b0, b1, tch, clean, res->clean_channel, a->take_end,
					  b->take_start - a->take_end, da, db);
			} else if (join == GHOSTREC_JOIN_CROSSFADE && da != db && xfade_frames > 1) {
				/* Dropped frames: smooth the jump, centred on the join, inside both. */
				int64_t h = xfade_frames / 2;
				if (h > a->take_end - a->take_start)
					h = a->take_end - a->take_start;
				if (h > b->take_end - b->take_start)
					h = b->take_end - b->take_start;
				if (h > 0)
					crossfade(buf, mapped, b0, b1, tch, clean, res->clean_channel,
						  a->take_end - h, 2 * h, da, db);
			}
		}
		if (rc == 0 && pcm) {
			unsigned char *bytes = (unsigned char *)ibuf;
			if (memchr(mapped, FRAME_TAKE, (size_t)(b1 - b0)) &&
			    ghostrec_audiofile_read_pcm(take, b0, b1 - b0, bytes) != 0) {
				snprintf(err, errsize, "cannot read the take at frame %lld", (long long)b0);
				rc = -1;
				break;
			}
			for (int i = 0; i < n_pieces; i++) {
				const struct piece *p = &pieces[i];
				const unsigned char *src = ghostrec_audiofile_mapped(clean, p->lo + p->d, p->hi - p->lo);
				if (!src) {
					snprintf(err, errsize, "cannot read the clean file at frame %lld",
						 (long long)(p->lo + p->d));
					rc = -1;
					break;
				}
				ghostrec_pack_float32(conv, bits, src, (size_t)(p->hi - p->lo) * (size_t)tch,
					    bytes + (size_t)(p->lo - b0) * (size_t)tch * (size_t)(bits / 8));
			}
			if (rc != 0)
				break;
			/* frames a crossfade wrote (FRAME_RENDERED) over packed ones win */
			block_to_pcm(conv, bits, buf, mapped, b1 - b0, tch, bytes, kbuf);
			if (writer_put(&writer, OUT_PCM, bytes, b1 - b0) != 0) {
				snprintf(err, errsize, "cannot write the output file");
				rc = -1;
			}
		} else if (rc == 0 && bits) {
			block_to_int(conv, bits, buf, mapped, b1 - b0, tch, ibuf);
			if (writer_put(&writer, OUT_INT, ibuf, b1 - b0) != 0) {
				snprintf(err, errsize, "cannot write the output file");
				rc = -1;
			}
		} else if (rc == 0 && writer_put(&writer, OUT_FLOAT, buf, b1 - b0) != 0) {
			snprintf(err, errsize, "cannot write the output file");
			rc = -1;
		}
	}
	if (failed && rc == 0) {
		snprintf(err, errsize, "the conform did not finish");
		rc = -1;
	}
	if (writer_finish(&writer) != 0 && rc == 0) {
		snprintf(err, errsize, "cannot write the output file");
		rc = -1;
	}
	free(bufs[0]);
	free(bufs[1]);
	free(cbuf);
	free(mapped);
	free(ibufs[0]);
	free(ibufs[1]);
	free(kbuf);
	return rc;
}

int ghostrec_conform_render(const struct ghostrec_conform_result *res,
			    struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
			    struct ghostrec_audiofile *out, int join, int64_t xfade_frames,
			    const struct ghostrec_conform_options *opt, char *err, size_t errsize)
{
	return render(res, NULL, NULL, take, clean, out, join, xfade_frames, opt, err, errsize);
}

int ghostrec_conform_render_feed(struct ghostrec_conform_feed *feed,
				 struct ghostrec_audiofile *take, struct ghostrec_audiofile *clean,
				 struct ghostrec_audiofile *out, int join, int64_t xfade_frames,
				 const struct ghostrec_conform_options *opt, char *err, size_t errsize)
{
	struct ghostrec_conform_result view;
	memset(&view, 0, sizeof(view));
	int rc = render(&view, feed, &view, take, clean, out, join, xfade_frames, opt, err, errsize);
	ghostrec_conform_result_clear(&view);
	return rc;
}
