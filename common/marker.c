/* Sync marker codec: see marker.h for the format. */
#include "marker.h"

#include <math.h>

/* Ternary, 16 non-zero symbols, no run of zeros longer than two, starts with +1 then 0
 * so the decoder learns A from frame 0 and rejects most audio at frame 1. */
const int8_t ghostrec_marker_preamble[GHOSTREC_MARKER_PREAMBLE_FRAMES] = {
	+1, 0, -1, 0, +1, +1, 0, -1, -1, 0, +1, 0, 0, -1, +1, 0,
	-1, 0, 0, +1, -1, 0, +1, +1, 0, 0, -1, +1, 0, -1, 0, +1,
};

uint16_t ghostrec_crc16_ccitt(const uint8_t *data, size_t len)
{
	uint16_t crc = 0xffff;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)data[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

static void payload_bytes(uint32_t take_id, uint8_t channel, uint8_t bytes[7])
{
	bytes[0] = (uint8_t)(take_id >> 24);
	bytes[1] = (uint8_t)(take_id >> 16);
	bytes[2] = (uint8_t)(take_id >> 8);
	bytes[3] = (uint8_t)take_id;
	bytes[4] = channel;
	uint16_t crc = ghostrec_crc16_ccitt(bytes, 5);
	bytes[5] = (uint8_t)(crc >> 8);
	bytes[6] = (uint8_t)crc;
}

void ghostrec_marker_symbols(const struct ghostrec_marker *m, int8_t sym[GHOSTREC_MARKER_FRAMES])
{
	uint8_t bytes[7];
	payload_bytes(m->take_id, m->channel, bytes);

	for (uint32_t i = 0; i < GHOSTREC_MARKER_PREAMBLE_FRAMES; i++)
		sym[i] = ghostrec_marker_preamble[i];
	int8_t *p = sym + GHOSTREC_MARKER_PREAMBLE_FRAMES;
	for (uint32_t bit = 0; bit < GHOSTREC_MARKER_PAYLOAD_BITS; bit++) {
		int one = (bytes[bit / 8] >> (7 - bit % 8)) & 1;
		p[2 * bit] = one ? +1 : -1;
		p[2 * bit + 1] = one ? -1 : +1;
	}
}

float ghostrec_marker_tolerance(int bits)
{
	switch (bits) {
	case 8:
		return 1.0f / 64.0f;
	case 16:
		return 1.0f / 16384.0f;  /* 2 LSB: rounding plus any converter's +-1 */
	case 24:
		return 1.0f / 4194304.0f;
	default:
		return 1.0f / 65536.0f / 256.0f;  /* float32 round trip of the symbol levels */
	}
}

/* Classifies x as -1, 0, +1 against amplitude a; returns 2 when it matches none. */
static inline int classify(float x, float a, float tol)
{
	if (fabsf(x) <= tol)
		return 0;
	if (fabsf(x - a) <= tol)
		return 1;
	if (fabsf(x + a) <= tol)
		return -1;
	return 2;
}

int ghostrec_marker_decode_at(const float *s, size_t avail, size_t stride, float tol,
			      struct ghostrec_marker_match *out)
{
	if (avail < GHOSTREC_MARKER_FRAMES)
		return 0;
	float a = s[0];
	if (!(a >= GHOSTREC_MARKER_MIN_AMPLITUDE - tol) || a > 1.0f + tol || a <= 2.0f * tol)
		return 0;

	for (uint32_t i = 1; i < GHOSTREC_MARKER_PREAMBLE_FRAMES; i++)
		if (classify(s[i * stride], a, tol) != ghostrec_marker_preamble[i])
			return 0;

	uint8_t bytes[7] = {0};
	const float *p = s + (size_t)GHOSTREC_MARKER_PREAMBLE_FRAMES * stride;
	for (uint32_t bit = 0; bit < GHOSTREC_MARKER_PAYLOAD_BITS; bit++) {
		int first = classify(p[(2 * bit) * stride], a, tol);
		int second = classify(p[(2 * bit + 1) * stride], a, tol);
		if (first == second || first == 0 || second == 0 || first == 2 || second == 2)
			return 0;
		if (first == 1)
			bytes[bit / 8] |= (uint8_t)(1u << (7 - bit % 8));
	}
	uint16_t crc = (uint16_t)((bytes[5] << 8) | bytes[6]);
	if (ghostrec_crc16_ccitt(bytes, 5) != crc)
		return 0;

	out->marker.take_id = ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) |
			      ((uint32_t)bytes[2] << 8) | bytes[3];
	out->marker.channel = bytes[4];
	out->frame = 0;
	out->amplitude = a;
	return 1;
}

int ghostrec_marker_find(const float *s, size_t n, size_t stride, float tol,
			 struct ghostrec_marker_match *out)
{
	if (n < GHOSTREC_MARKER_FRAMES)
		return 0;
	for (size_t i = 0; i + GHOSTREC_MARKER_FRAMES <= n; i++) {
		const float *at = s + i * stride;
		/* Cheap pre-checks before the full decode: +A then 0 then -A. */
		if (at[0] < GHOSTREC_MARKER_MIN_AMPLITUDE * 0.5f || fabsf(at[stride]) > tol ||
		    fabsf(at[2 * stride] + at[0]) > tol)
			continue;
		if (ghostrec_marker_decode_at(at, n - i, stride, tol, out)) {
			out->frame = i;
			return 1;
		}
	}
	return 0;
}
