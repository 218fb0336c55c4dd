/* Sync marker codec (contract: DESIGN 3.4; the Lua decoder in reascripts/ghostrec/core.lua
 * mirrors this file).
 *
 * A marker is GHOSTREC_MARKER_FRAMES ternary symbols {+A, 0, -A}, one symbol per frame:
 *   - a fixed 32-symbol preamble that contains zeros (so it cannot be mistaken for payload),
 *   - 56 payload bits, Manchester coded (bit 1 = +A,-A; bit 0 = -A,+A), MSB first:
 *     take id (32 bits, big-endian), channel index (8 bits),
 *     CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over those 5 bytes (16 bits).
 * The decoder learns A from the first preamble symbol, so any amplitude in
 * [GHOSTREC_MARKER_MIN_AMPLITUDE, 1] decodes; each symbol must then match +A, 0 or -A
 * within a tolerance that follows the file's quantization step. The default A = 0.25 is
 * exact in 16-bit, 24-bit and float32. */
#ifndef GHOSTREC_MARKER_H
#define GHOSTREC_MARKER_H

#include <stddef.h>
#include <stdint.h>

#define GHOSTREC_MARKER_PREAMBLE_FRAMES 32u
#define GHOSTREC_MARKER_PAYLOAD_BITS 56u
#define GHOSTREC_MARKER_FRAMES (GHOSTREC_MARKER_PREAMBLE_FRAMES + 2u * GHOSTREC_MARKER_PAYLOAD_BITS)
#define GHOSTREC_MARKER_DEFAULT_AMPLITUDE 0.25f
#define GHOSTREC_MARKER_MIN_AMPLITUDE (1.0f / 256.0f)

struct ghostrec_marker {
	uint32_t take_id;
	uint8_t channel;
};

struct ghostrec_marker_match {
	struct ghostrec_marker marker;
	uint64_t frame;   /* index of the first preamble frame in the scanned buffer */
	float amplitude;  /* A as found in the signal */
};

/* The preamble as symbols (-1, 0, +1). */
extern const int8_t ghostrec_marker_preamble[GHOSTREC_MARKER_PREAMBLE_FRAMES];

uint16_t ghostrec_crc16_ccitt(const uint8_t *data, size_t len);

/* Fills sym[GHOSTREC_MARKER_FRAMES] with the marker's symbols (-1, 0, +1). */
void ghostrec_marker_symbols(const struct ghostrec_marker *m, int8_t sym[GHOSTREC_MARKER_FRAMES]);

/* Renders symbols [offset, offset + n) of a marker as samples of amplitude A.
 * Real-time safe: no allocation, no calls out; n + offset must be <= GHOSTREC_MARKER_FRAMES. */
static inline void ghostrec_marker_render(const int8_t *sym, float amplitude, uint32_t offset,
					  float *out, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = amplitude * (float)sym[offset + i];
}

/* Largest error quantization to a format of `bits` (16, 24; 32 = float) adds to a sample,
 * with margin: the tolerance the decoder should use for files of that format. */
float ghostrec_marker_tolerance(int bits);

/* Tries to decode a marker starting exactly at samples[0] (samples spaced `stride` floats
 * apart, so interleaved buffers work). `avail` is how many frames are readable from there.
 * Returns 1 and fills *out (frame = 0) on a valid marker with a correct CRC, else 0. */
int ghostrec_marker_decode_at(const float *samples, size_t avail, size_t stride, float tolerance,
			      struct ghostrec_marker_match *out);

/* Scans frames [0, n) for the first valid marker. Returns 1 and fills *out, else 0. */
int ghostrec_marker_find(const float *samples, size_t n, size_t stride, float tolerance,
			 struct ghostrec_marker_match *out);

#endif
