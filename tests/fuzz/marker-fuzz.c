/* libFuzzer target for the marker decoder (common/marker.c): bytes are float32 samples
 * (byte 0 picks stride and tolerance). Whatever decodes must decode again the same at the
 * reported frame, and re-rendering the decoded marker must decode to the same marker. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/marker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t stride = 1u + (data[0] & 3u);
	static const int bits[4] = {16, 24, 32, 8};
	float tol = ghostrec_marker_tolerance(bits[(data[0] >> 2) & 3u]);
	size_t n_samples = (size - 1) / sizeof(float);
	size_t frames = n_samples / stride;
	float *s = malloc(sizeof(float) * (n_samples + 1));
	if (!s)
		return 0;
	memcpy(s, data + 1, n_samples * sizeof(float));

	struct ghostrec_marker_match m, again;
	if (ghostrec_marker_find(s, frames, stride, tol, &m)) {
		if (m.frame + GHOSTREC_MARKER_FRAMES > frames)
			abort();
		if (!ghostrec_marker_decode_at(s + m.frame * stride, frames - m.frame, stride, tol, &again) ||
		    again.marker.take_id != m.marker.take_id || again.marker.channel != m.marker.channel)
			abort();
		int8_t sym[GHOSTREC_MARKER_FRAMES];
		float clean[GHOSTREC_MARKER_FRAMES];
		ghostrec_marker_symbols(&m.marker, sym);
		float a = isfinite(m.amplitude) && m.amplitude > 0 ? m.amplitude : 0.25f;
		ghostrec_marker_render(sym, a, 0, clean, GHOSTREC_MARKER_FRAMES);
		if (!ghostrec_marker_decode_at(clean, GHOSTREC_MARKER_FRAMES, 1, tol, &again) ||
		    again.marker.take_id != m.marker.take_id || again.marker.channel != m.marker.channel)
			abort();
	}
	for (size_t i = 0; i < frames && i < 64; i++)
		ghostrec_marker_decode_at(s + i * stride, frames - i, stride, tol, &again);
	free(s);
	return 0;
}
