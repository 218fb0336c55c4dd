/* Turns pristine audio into clean-take files with the exporter's own finalize code (the
 * WAV(s) + bext + cue + sidecar a running ghostrec-exporter delivers), so the ReaScript
 * tests read exactly what Windows receives:
 *   ghostrec-lua-exporter-finalize RAW OUT_DIR TAKE_ID CHANNELS RATE MARKER_OFFSET FORMAT SPLIT
 * RAW: interleaved float32 frames (the exporter's spool format); MARKER_OFFSET: frame in the
 * file where the node marked; FORMAT: float32 | pcm24; SPLIT: 1 = per-channel files too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finalize.h"
#include "take.h"

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: %s RAW OUT_DIR TAKE_ID CHANNELS RATE MARKER_OFFSET float32|pcm24 SPLIT\n",
			argv[0]);
		return 2;
	}
	uint32_t id = (uint32_t)strtoul(argv[3], NULL, 10);
	uint32_t channels = (uint32_t)strtoul(argv[4], NULL, 10);
	uint32_t rate = (uint32_t)strtoul(argv[5], NULL, 10);
	uint64_t marker = strtoull(argv[6], NULL, 10);
	enum take_format fmt = strcmp(argv[7], "pcm24") == 0 ? TAKE_FORMAT_PCM24 : TAKE_FORMAT_FLOAT32;
	int split = atoi(argv[8]) != 0;
	if (channels < 1 || channels > TAKE_MAX_CHANNELS || rate < 1) {
		fprintf(stderr, "%s: bad channel count or rate\n", argv[0]);
		return 2;
	}

	struct take t;
	take_begin(&t, id, "ghostrec", fmt, split, rate, channels, 1, 0, 0);
	static const char *names[] = {"FL", "FR", "FC", "LFE", "RL", "RR", "SL", "SR"};
	for (uint32_t c = 0; c < channels; c++)
		snprintf(t.channel_map[c], sizeof(t.channel_map[c]), "%s", names[c]);
	/* The take started `marker` frames before the node's marker (the exporter's preroll). */
	t.preroll_frames = marker;
	take_marked(&t, 1000000000ull + marker, 0);

	char err[512];
	uint64_t frames = 0;
	if (finalize_take(&t, argv[1], argv[2], &frames, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 1;
	}
	printf("%llu frames\n", (unsigned long long)frames);
	return 0;
}
