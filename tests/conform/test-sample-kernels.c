/* The conform engine's per-sample kernels against their plain references, on samples chosen
 * to hit every edge: the compare of a take's 16/24-bit bytes with float32 clean samples
 * (ghostrec_compare_take_clean vs _generic: the same bad flags and the same unsure answer,
 * distances right at the tolerance band, NaN, infinities, a stereo clean channel, every
 * length and byte alignment) and the packing of float32 clean samples into the take's bytes
 * (ghostrec_pack_float32 vs ghostrec_convert, every convention it takes: clipping, NaN, ties,
 * lengths, alignments, and that it writes no byte past its n samples). On a processor
 * without the vector paths both sides are the plain code and the test says so. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cpu.h"
#include "common/sample_compare.h"
#include "common/sample_convert.h"
#include "tests/unit/check.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

#define MAX_N 300

/* A clean sample for take value x: equal, a little off, right at the band around tol, far
 * off, or not a number at all. */
static float clean_for(float x, float lo, float hi, float tol)
{
	switch (next_u32() % 10) {
	case 0:
		return x;
	case 1:
		return x + tol * (float)((int)(next_u32() % 5) - 2) * 0.25f;
	case 2:
		return x + ((next_u32() & 1) ? lo : -lo);
	case 3:
		return x + ((next_u32() & 1) ? hi : -hi);
	case 4:
		return x + ((next_u32() & 1) ? tol : -tol);
	case 5:
		return nextafterf(x + tol, (next_u32() & 1) ? 1.0f : -1.0f);
	case 6:
		return (float)((int32_t)next_u32()) / 2147483648.0f;
	case 7:
		return next_u32() % 4 == 0 ? NAN : (next_u32() & 1) ? INFINITY : -INFINITY;
	default:
		return x + tol * 3.0f;
	}
}

static void test_compare(int layout)
{
	const float tol = layout == GHOSTREC_LAYOUT_S24 ? 2.0f / 8388608.0f : 2.0f / 32768.0f;
	const float lo = tol * (1.0f - 0x1p-20f), hi = tol * (1.0f + 0x1p-20f);
	unsigned char take[MAX_N * 3 + 64];
	unsigned char clean[MAX_N * 2 * 4 + 64];
	uint8_t bad_v[MAX_N], bad_g[MAX_N];
	int cases = 0, unsure_seen = 0, bad_seen = 0;
	for (int round = 0; round < 4000; round++) {
		size_t n = next_u32() % MAX_N;
		size_t ys = 1 + next_u32() % 2;
		size_t toff = next_u32() % 8, coff = next_u32() % 8;
		/* most rounds away from the band (no unsure sample), some at it */
		int clean_only = round % 3 != 0;
		for (size_t j = 0; j < n * (size_t)layout + 16; j++)
			take[toff + j] = (unsigned char)next_u32();
		for (size_t j = 0; j < n; j++) {
			float x;
			if (layout == GHOSTREC_LAYOUT_S24) {
				const unsigned char *q = take + toff + 3 * j;
				x = (float)(int32_t)((uint32_t)q[0] << 8 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 24) /
				    2147483648.0f;
			} else {
				const unsigned char *q = take + toff + 2 * j;
				x = (float)(int16_t)((uint16_t)q[0] | (uint16_t)q[1] << 8) / 32768.0f;
			}
			for (size_t k = 0; k < ys; k++) {
				float y = clean_only ? (next_u32() % 4 ? x : x + tol * 4.0f) : clean_for(x, lo, hi, tol);
				memcpy(clean + coff + 4 * (j * ys + k), &y, 4);
			}
		}
		memset(bad_v, 7, sizeof(bad_v));
		memset(bad_g, 7, sizeof(bad_g));
		int uv = ghostrec_compare_take_clean(layout, take + toff, clean + coff, ys, n, lo, hi, bad_v);
		int ug = ghostrec_compare_take_clean_generic(layout, take + toff, clean + coff, ys, n, lo, hi, bad_g);
		CHECK_MSG(!uv == !ug, "layout %d n %zu ys %zu: unsure %d vs generic %d", layout, n, ys, uv, ug);
		CHECK_MSG(memcmp(bad_v, bad_g, sizeof(bad_v)) == 0, "layout %d n %zu ys %zu: bad flags differ", layout,
			  n, ys);
		for (size_t j = n; j < MAX_N; j++)
			CHECK_MSG(bad_v[j] == 7, "layout %d n %zu: wrote bad[%zu]", layout, n, j);
		unsure_seen += ug != 0;
		for (size_t j = 0; j < n; j++)
			bad_seen += bad_g[j];
		cases++;
	}
	/* the rounds did reach both answers */
	CHECK_MSG(unsure_seen > 100 && unsure_seen < cases, "unsure in %d of %d rounds", unsure_seen, cases);
	CHECK_MSG(bad_seen > 1000, "only %d bad samples", bad_seen);
}

static float sample_for_pack(int bits)
{
	float scale = (float)(1 << (bits - 1));
	switch (next_u32() % 8) {
	case 0: /* exact ties at x 2^(n-1) */
		return ((float)((int32_t)(next_u32() % (1u << bits)) - (1 << (bits - 1))) + 0.5f) / scale;
	case 1: /* clipping */
		return (next_u32() & 1) ? 1.0f + (float)(next_u32() % 100) / 50.0f : -1.0f - (float)(next_u32() % 100) / 50.0f;
	case 2:
		return (next_u32() & 1) ? 1.0f : -1.0f;
	case 3:
		return next_u32() % 3 == 0 ? NAN : (next_u32() & 1) ? INFINITY : -INFINITY;
	default:
		return (float)((int32_t)next_u32()) / 2147483648.0f;
	}
}

static void test_pack(int conv, int bits)
{
	const size_t nb = (size_t)bits / 8;
	unsigned char src[MAX_N * 4 + 64];
	unsigned char got[MAX_N * 3 + 64], want[MAX_N * 3 + 64];
	for (int round = 0; round < 3000; round++) {
		size_t n = next_u32() % MAX_N;
		size_t soff = next_u32() % 8, doff = next_u32() % 8;
		/* every sample clipped-free in some rounds: the vector lanes run throughout */
		int plain = round % 2 == 0;
		for (size_t j = 0; j < n; j++) {
			float x = plain ? (float)((int32_t)next_u32()) / 2147483648.0f : sample_for_pack(bits);
			memcpy(src + soff + 4 * j, &x, 4);
		}
		memset(got, 0xA5, sizeof(got));
		memset(want, 0xA5, sizeof(want));
		ghostrec_pack_float32(conv, bits, src + soff, n, got + doff);
		for (size_t j = 0; j < n; j++) {
			float x;
			memcpy(&x, src + soff + 4 * j, 4);
			uint32_t v = (uint32_t)ghostrec_convert(conv, bits, x);
			for (size_t b = 0; b < nb; b++)
				want[doff + nb * j + b] = (unsigned char)(v >> (8 * b));
		}
		CHECK_MSG(memcmp(got, want, sizeof(got)) == 0, "conv %d bits %d n %zu: bytes differ (or written past n)",
			  conv, bits, n);
	}
}

int main(void)
{
	int vector = ghostrec_cpu_avx2();
	printf("vector paths: %s\n", vector ? "AVX2 (checked against the plain loops)" : "none (plain loops only)");
	test_compare(GHOSTREC_LAYOUT_S24);
	test_compare(GHOSTREC_LAYOUT_S16);
	const int convs[] = {GHOSTREC_CONV_ROUND_POW2, GHOSTREC_CONV_ROUND_POW2M1, GHOSTREC_CONV_SNDFILE_NOCLIP};
	for (size_t i = 0; i < sizeof(convs) / sizeof(convs[0]); i++) {
		for (int bits = 16; bits <= 24; bits += 8) {
			if (!ghostrec_can_pack_float32(convs[i], bits)) {
				CHECK_MSG(!vector, "conv %d bits %d: no packing path on an AVX2 processor", convs[i], bits);
				continue;
			}
			test_pack(convs[i], bits);
		}
	}
	for (int c = 0; c < GHOSTREC_CONV_COUNT; c++)
		if (c != GHOSTREC_CONV_ROUND_POW2 && c != GHOSTREC_CONV_ROUND_POW2M1 && c != GHOSTREC_CONV_SNDFILE_NOCLIP)
			CHECK_MSG(!ghostrec_can_pack_float32(c, 24), "conv %d claims a packing path", c);
	return check_report("sample-kernels");
}
