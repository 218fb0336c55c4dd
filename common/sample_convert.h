/* Float -> 16/24-bit integer conversion the way the take's writer did it: the conventions
 * a fixed take must reproduce bit for bit (conform_render.c learns which one from the
 * take), one sample at a time (inline, for loops specialised per convention) and over runs
 * of samples. */
#ifndef GHOSTREC_SAMPLE_CONVERT_H
#define GHOSTREC_SAMPLE_CONVERT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Float -> n-bit integer conventions (the sample value k, clipped to n bits). */
enum {
	GHOSTREC_CONV_SNDFILE_CLIP,   /* libsndfile with clipping: lrintf(x * 2^31) >> (32 - n) (float) */
	GHOSTREC_CONV_ROUND_POW2,     /* round(x * 2^(n-1)) */
	GHOSTREC_CONV_ROUND_POW2M1,   /* round(x * (2^(n-1) - 1)) */
	GHOSTREC_CONV_SNDFILE_NOCLIP, /* libsndfile without clipping: lrintf(x * (2^(n-1) - 1)) (float) */
	GHOSTREC_CONV_POW2_HALF_UP,   /* floor(x * 2^(n-1) + 0.5): ties up (a 24-bit float32 sample of
			      * 0.5 or more is a tie at x 2^(n-1) every second value) */
	GHOSTREC_CONV_POW2_HALF_AWAY, /* round(x * 2^(n-1)): ties away from zero (C's round) */
	GHOSTREC_CONV_COUNT,
};

/* Round half to even, as lrint in the default rounding mode, for |v| < 2^51, without a
 * library call (adding and removing 1.5 * 2^52 leaves the rounded integer). */
static inline int64_t round_even(double v)
{
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0
	double r = (v + 0x1.8p52) - 0x1.8p52;
	return (int64_t)r;
#else
	return (int64_t)llrint(v); /* excess precision (x87) would break the trick */
#endif
}

static inline int32_t ghostrec_convert(int conv, int bits, float x)
{
	int64_t lo = -((int64_t)1 << (bits - 1)), hi = ((int64_t)1 << (bits - 1)) - 1;
	int64_t k;
	switch (conv) {
	case GHOSTREC_CONV_SNDFILE_CLIP: {
		float v = x * (float)(8.0 * 0x10000000);
		if (v >= (float)(1.0 * 0x7FFFFFFF))
			return (int32_t)hi;
		if (v <= (float)(-8.0 * 0x10000000))
			return (int32_t)lo;
		k = round_even((double)v) >> (32 - bits);
		break;
	}
	case GHOSTREC_CONV_ROUND_POW2:
		k = round_even((double)x * (double)((int64_t)1 << (bits - 1)));
		break;
	case GHOSTREC_CONV_ROUND_POW2M1:
		k = round_even((double)x * (double)hi);
		break;
	case GHOSTREC_CONV_POW2_HALF_UP:
		k = (int64_t)floor((double)x * (double)((int64_t)1 << (bits - 1)) + 0.5);
		break;
	case GHOSTREC_CONV_POW2_HALF_AWAY:
		k = (int64_t)round((double)x * (double)((int64_t)1 << (bits - 1)));
		break;
	default:
		k = round_even((double)(x * (float)hi));
		break;
	}
	return (int32_t)(k < lo ? lo : k > hi ? hi : k);
}

/* The take's own integer for a sample read as float (exactly k / 2^(n-1), so the product
 * is an exact integer). */
static inline int32_t ghostrec_take_int(int bits, float x)
{
	return (int32_t)(x * (float)((int64_t)1 << (bits - 1)));
}

/* ghostrec_convert over n samples into k. */
void ghostrec_convert_run(int conv, int bits, const float *x, size_t n, int32_t *k);

/* Can ghostrec_pack_float32 do conv at bits on this processor? */
int ghostrec_can_pack_float32(int conv, int bits);

/* n float32 samples (little-endian bytes at src, any alignment) converted and stored as
 * the take stores them (bits / 8 little-endian bytes each) at dst; only where
 * ghostrec_can_pack_float32 says so. */
void ghostrec_pack_float32(int conv, int bits, const unsigned char *src, size_t n, unsigned char *dst);

#endif
