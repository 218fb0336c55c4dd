/* Checks a clean take against the node's own ring, independently of the exporter:
 *   gr-ring-check NODE WAV [--start FRAME]
 * The node's marker table gives the absolute frame where it marked the take (take id from the
 * file's bext); with the file's marker_frame that fixes where the file starts on the ring's
 * timeline, and every frame of the file must equal the ring there, bit-exact (the ring must
 * still hold the take: give the node a ring longer than the test). With --start the file is
 * a range export that starts at that ring frame (no marker). Exit 1 on any mismatch. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "common/ring.h"
#include "common/takemeta.h"

int main(int argc, char **argv)
{
	int64_t given_start = -1;
	if (argc == 5 && !strcmp(argv[3], "--start"))
		given_start = atoll(argv[4]);
	else if (argc != 3) {
		fprintf(stderr, "usage: gr-ring-check NODE WAV [--start FRAME]\n");
		return 2;
	}
	struct ghostrec_takemeta m;
	uint64_t cue;
	char err[512];
	if (ghostrec_takemeta_read_wav(argv[2], &m, &cue, err, sizeof(err)) < 0) {
		fprintf(stderr, "gr-ring-check: %s\n", err);
		return 1;
	}
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	int res = ghostrec_ring_reader_open(&r, argv[1]);
	if (res < 0 || (res = ghostrec_ring_reader_info(r, &info)) < 0) {
		fprintf(stderr, "gr-ring-check: %s: %s\n", argv[1], ghostrec_ring_result_str(res));
		return 1;
	}
	struct ghostrec_ring_marker mk[GHOSTREC_RING_MAX_MARKERS];
	size_t n = ghostrec_ring_reader_markers(r, mk, GHOSTREC_RING_MAX_MARKERS, NULL);
	int64_t marker_abs = -1;
	for (size_t i = 0; i < n; i++)
		if (mk[i].take_id == m.take_id)
			marker_abs = (int64_t)mk[i].frame;
	if (given_start >= 0)
		marker_abs = given_start + (int64_t)m.marker_frame;
	if (marker_abs < 0 || (uint64_t)marker_abs < m.marker_frame) {
		fprintf(stderr, "gr-ring-check: the node has no usable marker for take %u\n", m.take_id);
		return 1;
	}
	uint64_t start = (uint64_t)marker_abs - m.marker_frame;

	SF_INFO si = { 0 };
	SNDFILE *sf = sf_open(argv[2], SFM_READ, &si);
	if (!sf || (uint32_t)si.channels != info.channels) {
		fprintf(stderr, "gr-ring-check: %s: cannot read or channel count differs\n", argv[2]);
		return 1;
	}
	uint64_t frames = (uint64_t)si.frames, bad = 0, first_bad = 0;
	if (start < info.oldest_frame || start + frames > info.write_frame) {
		fprintf(stderr, "gr-ring-check: the ring no longer holds frames %" PRIu64 "..%" PRIu64
			" (it has %" PRIu64 "..%" PRIu64 ")\n", start, start + frames, info.oldest_frame,
			info.write_frame);
		return 1;
	}
	float *file = malloc(sizeof(float) * 4096 * si.channels);
	float *ring[GHOSTREC_RING_MAX_CHANNELS];
	for (uint32_t c = 0; c < info.channels; c++)
		ring[c] = malloc(sizeof(float) * 4096);
	for (uint64_t done = 0; done < frames;) {
		uint32_t k = frames - done > 4096 ? 4096 : (uint32_t)(frames - done);
		if (sf_readf_float(sf, file, k) != k ||
		    ghostrec_ring_read_frames(r, info.generation, start + done, ring, k) != GHOSTREC_RING_OK) {
			fprintf(stderr, "gr-ring-check: read failed at frame %" PRIu64 "\n", done);
			return 1;
		}
		for (uint32_t i = 0; i < k; i++)
			for (uint32_t c = 0; c < info.channels; c++)
				if (memcmp(&file[i * info.channels + c], &ring[c][i], sizeof(float)) != 0 && bad++ == 0)
					first_bad = done + i;
		done += k;
	}
	sf_close(sf);
	printf("take %u: %" PRIu64 " frames = ring frames %" PRIu64 "..%" PRIu64 " %s; marker at file frame %"
	       PRIu64 " = ring frame %" PRId64 " from the node's marker table\n", m.take_id, frames, start,
	       start + frames - 1, bad ? "DIFFER" : "bit-exact", m.marker_frame, marker_abs);
	if (bad)
		fprintf(stderr, "gr-ring-check: %" PRIu64 " samples differ from the ring (first at file frame %" PRIu64
			")\n", bad, first_bad);
	free(file);
	for (uint32_t c = 0; c < info.channels; c++)
		free(ring[c]);
	ghostrec_ring_reader_close(r);
	return bad ? 1 : 0;
}
