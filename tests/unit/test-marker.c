/* Marker codec: round trip, quantization to 16/24/32f, corrupted payloads rejected,
 * and no false detections in an hour of noise, silence and music-like material. */
#include "check.h"
#include "marker.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Deterministic PRNG (xorshift64*), so every run tests the same material. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng_u32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}
static float rng_uniform(void) { return (float)rng_u32() / 4294967296.0f * 2.0f - 1.0f; }

/* What a file of `bits` stores for x, read back as float (libsndfile's normalisation). */
static float quantize(float x, int bits)
{
	if (bits >= 32)
		return x;
	double scale = (double)(1 << (bits - 1));
	double q = nearbyint((double)x * scale);
	if (q > scale - 1)
		q = scale - 1;
	if (q < -scale)
		q = -scale;
	return (float)(q / scale);
}

static void render_marker(const struct ghostrec_marker *m, float amplitude, float *out)
{
	int8_t sym[GHOSTREC_MARKER_FRAMES];
	ghostrec_marker_symbols(m, sym);
	ghostrec_marker_render(sym, amplitude, 0, out, GHOSTREC_MARKER_FRAMES);
}

static void test_round_trip(void)
{
	static const uint32_t ids[] = {0, 1, 42, 0x7fffffffu, 0x80000000u, 0xffffffffu, 1763720000u};
	float buf[GHOSTREC_MARKER_FRAMES];
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (unsigned ch = 0; ch < 256; ch += 37) {
			struct ghostrec_marker m = {.take_id = ids[i], .channel = (uint8_t)ch};
			render_marker(&m, GHOSTREC_MARKER_DEFAULT_AMPLITUDE, buf);
			struct ghostrec_marker_match got;
			CHECK(ghostrec_marker_decode_at(buf, GHOSTREC_MARKER_FRAMES, 1,
							 ghostrec_marker_tolerance(32), &got));
			CHECK_EQ_U64(got.marker.take_id, ids[i]);
			CHECK_EQ_U64(got.marker.channel, ch);
			CHECK(got.amplitude == GHOSTREC_MARKER_DEFAULT_AMPLITUDE);
		}
	}
	CHECK(GHOSTREC_MARKER_FRAMES <= 256);
}

/* A marker embedded at an odd offset of an interleaved stereo buffer of noise, after
 * quantization to each format and at several amplitudes, is found at that exact frame. */
static void test_quantized_in_context(void)
{
	enum { FRAMES = 4096, OFFSET = 1237 };
	static float inter[FRAMES * 2];
	static const int formats[] = {16, 24, 32};
	static const float amplitudes[] = {0.25f, 0.1f, 0.5f, 0.0123f, 1.0f};
	float mark[GHOSTREC_MARKER_FRAMES];

	for (size_t f = 0; f < 3; f++) {
		for (size_t a = 0; a < sizeof(amplitudes) / sizeof(amplitudes[0]); a++) {
			int bits = formats[f];
			struct ghostrec_marker m = {.take_id = 0xdeadbeefu + (uint32_t)a, .channel = 1};
			render_marker(&m, amplitudes[a], mark);
			for (size_t i = 0; i < FRAMES; i++) {
				inter[2 * i] = quantize(0.6f * rng_uniform(), bits);
				inter[2 * i + 1] = quantize(0.6f * rng_uniform(), bits);
			}
			for (size_t i = 0; i < GHOSTREC_MARKER_FRAMES; i++)
				inter[2 * (OFFSET + i) + 1] = quantize(mark[i], bits);

			struct ghostrec_marker_match got;
			int found = ghostrec_marker_find(inter + 1, FRAMES, 2, ghostrec_marker_tolerance(bits), &got);
			CHECK(found);
			if (found) {
				CHECK_EQ_U64(got.frame, OFFSET);
				CHECK_EQ_U64(got.marker.take_id, m.take_id);
				CHECK_EQ_U64(got.marker.channel, 1);
			}
			/* The other channel carries no marker. */
			CHECK(!ghostrec_marker_find(inter, FRAMES, 2, ghostrec_marker_tolerance(bits), &got));
		}
	}
}

/* Every single-symbol corruption of the payload (flip sign, zero it, nudge it) and every
 * swap of a Manchester pair is rejected or, if it still forms a valid code word, never
 * decodes to a different marker without a matching CRC. */
static void test_corruption_rejected(void)
{
	struct ghostrec_marker m = {.take_id = 123456789u, .channel = 3};
	float clean[GHOSTREC_MARKER_FRAMES], buf[GHOSTREC_MARKER_FRAMES];
	render_marker(&m, 0.25f, clean);
	float tol = ghostrec_marker_tolerance(16);
	struct ghostrec_marker_match got;
	int rejected = 0, tried = 0;

	for (size_t i = 0; i < GHOSTREC_MARKER_FRAMES; i++) {
		const float variants[] = {-clean[i], 0.0f, clean[i] + 0.01f, 0.25f, -0.25f};
		for (size_t v = 0; v < 5; v++) {
			if (variants[v] == clean[i])
				continue;
			memcpy(buf, clean, sizeof(buf));
			buf[i] = variants[v];
			tried++;
			if (!ghostrec_marker_decode_at(buf, GHOSTREC_MARKER_FRAMES, 1, tol, &got))
				rejected++;
			else
				CHECK(got.marker.take_id == m.take_id && got.marker.channel == m.channel);
		}
	}
	CHECK_EQ_U64(rejected, tried);

	/* Flipping a whole Manchester bit (both symbols) is a valid symbol pattern: the CRC
	 * must catch it, for every payload bit. */
	for (uint32_t bit = 0; bit < GHOSTREC_MARKER_PAYLOAD_BITS; bit++) {
		memcpy(buf, clean, sizeof(buf));
		size_t at = GHOSTREC_MARKER_PREAMBLE_FRAMES + 2 * bit;
		buf[at] = -buf[at];
		buf[at + 1] = -buf[at + 1];
		CHECK(!ghostrec_marker_decode_at(buf, GHOSTREC_MARKER_FRAMES, 1, tol, &got));
	}
	/* Two-bit flips in the id: CRC-16 detects all 2-bit errors in 56 bits. */
	for (uint32_t b1 = 0; b1 < GHOSTREC_MARKER_PAYLOAD_BITS; b1 += 3) {
		for (uint32_t b2 = b1 + 1; b2 < GHOSTREC_MARKER_PAYLOAD_BITS; b2 += 5) {
			memcpy(buf, clean, sizeof(buf));
			size_t p1 = GHOSTREC_MARKER_PREAMBLE_FRAMES + 2 * b1;
			size_t p2 = GHOSTREC_MARKER_PREAMBLE_FRAMES + 2 * b2;
			buf[p1] = -buf[p1]; buf[p1 + 1] = -buf[p1 + 1];
			buf[p2] = -buf[p2]; buf[p2 + 1] = -buf[p2 + 1];
			CHECK(!ghostrec_marker_decode_at(buf, GHOSTREC_MARKER_FRAMES, 1, tol, &got));
		}
	}
	/* A truncated marker is not a marker. */
	CHECK(!ghostrec_marker_decode_at(clean, GHOSTREC_MARKER_FRAMES - 1, 1, tol, &got));
	CHECK(!ghostrec_marker_find(clean, GHOSTREC_MARKER_FRAMES - 1, 1, tol, &got));
}

/* CRC-16/CCITT-FALSE check value for "123456789". */
static void test_crc(void)
{
	CHECK_EQ_U64(ghostrec_crc16_ccitt((const uint8_t *)"123456789", 9), 0x29b1);
}

enum { RATE = 48000, CHUNK = RATE * 10 };

static size_t scan_chunk(const float *buf, size_t n, int bits)
{
	struct ghostrec_marker_match got;
	size_t found = 0, at = 0;
	while (at < n && ghostrec_marker_find(buf + at, n - at, 1, ghostrec_marker_tolerance(bits), &got)) {
		found++;
		at += got.frame + 1;
	}
	return found;
}

/* Music-like: a few detuned partials with slow envelopes, drums as decaying noise bursts,
 * square-ish synth notes at levels that hit the marker's own amplitude, all quantized. */
static void music_chunk(float *buf, size_t n, uint64_t start, int bits)
{
	for (size_t i = 0; i < n; i++) {
		double t = (double)(start + i) / RATE;
		double env = 0.5 + 0.5 * sin(2 * M_PI * 0.25 * t);
		double x = 0.3 * env * sin(2 * M_PI * 220.0 * t) + 0.15 * sin(2 * M_PI * 331.7 * t) +
			   0.05 * sin(2 * M_PI * 1760.3 * t);
		double beat = fmod(t, 0.5);
		if (beat < 0.05)
			x += 0.3 * exp(-beat * 80.0) * rng_uniform();
		double note = fmod(t, 2.0);
		if (note > 1.0 && note < 1.5)
			x += (fmod(t * 110.0, 1.0) < 0.5) ? 0.25 : -0.25;
		buf[i] = quantize((float)x, bits);
	}
}

static void test_no_false_detections(void)
{
	static float buf[CHUNK];
	size_t found = 0;
	uint64_t seconds = 0;
	const int bits_cycle[] = {16, 24, 32};

	/* 20 minutes of noise at various levels, across formats. */
	for (int c = 0; c < 120; c++, seconds += 10) {
		int bits = bits_cycle[c % 3];
		float level = (c % 4 == 0) ? 1.0f : (c % 4 == 1) ? 0.25f : (c % 4 == 2) ? 0.01f : 0.0001f;
		for (size_t i = 0; i < CHUNK; i++)
			buf[i] = quantize(level * rng_uniform(), bits);
		found += scan_chunk(buf, CHUNK, bits);
	}
	/* 20 minutes of silence and near-silence (dither-level noise). */
	for (int c = 0; c < 120; c++, seconds += 10) {
		int bits = bits_cycle[c % 3];
		for (size_t i = 0; i < CHUNK; i++)
			buf[i] = (c % 2) ? 0.0f : quantize(rng_uniform() / 32768.0f, bits);
		found += scan_chunk(buf, CHUNK, bits);
	}
	/* 20 minutes of music-like material. */
	for (int c = 0; c < 120; c++, seconds += 10) {
		int bits = bits_cycle[c % 3];
		music_chunk(buf, CHUNK, (uint64_t)c * CHUNK, bits);
		found += scan_chunk(buf, CHUNK, bits);
	}
	printf("scanned %llu s of noise, silence and music-like audio: %zu false detections\n",
	       (unsigned long long)seconds, found);
	CHECK_EQ_U64(seconds, 3600);
	CHECK_EQ_U64(found, 0);
}

int main(void)
{
	test_crc();
	test_round_trip();
	test_quantized_in_context();
	test_corruption_rejected();
	test_no_false_detections();
	return check_report("test-marker");
}
