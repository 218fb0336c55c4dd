/* The conform engine's innermost loop: a take's samples, as its file stores them (16- or
 * 24-bit little-endian PCM, mapped), against float32 clean samples, within a tolerance.
 *
 * The take sample k is k / 2^(bits-1) exactly (as ghostrec_audiofile_read decodes it), so
 * this answers what decoding both files and comparing the floats would, without the
 * decoded copies. Samples whose distance lies in [lo, hi] (the band where a float
 * subtraction cannot decide against the tolerance, see conform.c) and NaNs are "unsure": the
 * caller decides those exactly. */
#ifndef GHOSTREC_SAMPLE_COMPARE_H
#define GHOSTREC_SAMPLE_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "audiofile.h"

/* For j < n: bad[j] = 1 when |x_j - y[j * ys]| > hi (in float), else 0, where x_j is take
 * sample j of `take` (layout GHOSTREC_LAYOUT_S16 or _S24) and ys is 1 or 2 (a clean channel of a
 * stereo file), clean holding little-endian float32 samples (any alignment). Returns nonzero when some sample is unsure (see above). */
int ghostrec_compare_take_clean(int layout, const void *take, const void *clean, size_t ys,
				size_t n, float lo, float hi, uint8_t *bad);

/* The same, one sample at a time: the reference the vector versions are tested against. */
int ghostrec_compare_take_clean_generic(int layout, const void *take, const void *clean,
					size_t ys, size_t n, float lo, float hi, uint8_t *bad);

#endif
