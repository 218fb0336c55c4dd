/* The deterministic test signal: channel 0 carries the frame counter (exact in float32),
 * channel 1 a hash of it, further channels more hashes. Any stretch of it tells which frames
 * it holds, so a clean take can be checked bit-exactly against what was played. */
#ifndef GHOSTREC_TEST_SIGNAL_H
#define GHOSTREC_TEST_SIGNAL_H

#include <stdint.h>

#define TEST_SIGNAL_PERIOD 8388608u /* 2^23 frames: 174 s at 48 kHz before the counter wraps */

static inline float test_signal(uint64_t frame, uint32_t channel)
{
	uint32_t n = (uint32_t)(frame % TEST_SIGNAL_PERIOD);
	if (channel == 0)
		return (float)n / (float)TEST_SIGNAL_PERIOD - 0.5f;
	uint32_t h = (n + channel * 0x9E3779B9u) * 2654435761u;
	h ^= h >> 15;
	return (float)(h >> 9) / 8388608.0f - 0.5f; /* multiples of 2^-23: exact in float32 and pcm24 */
}

/* Counter value of a channel-0 sample, or -1 if it is not one. */
static inline int64_t test_signal_frame(float ch0)
{
	float v = (ch0 + 0.5f) * (float)TEST_SIGNAL_PERIOD;
	if (!(v >= 0 && v < (float)TEST_SIGNAL_PERIOD) || v != (float)(int64_t)v)
		return -1;
	return (int64_t)v;
}

#endif
