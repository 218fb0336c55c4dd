/* Writes a long take/clean pair for the Lua conform benchmark (tests/bench/lua-conform.sh):
 *   ghostrec-lua-bench-material DIR SECONDS GLITCHES [float|pcm24]
 * DIR/take.wav: stereo 24-bit "REAPER take" with GLITCHES random drops / silences /
 * insertions (ASIO block sizes) and the sync marker; DIR/clean.wav: the clean take (float32,
 * the exporter's default, or 24-bit PCM like the take) with the ghostrec bext description;
 * DIR/truth.json: the glitch list the engines must report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "common/marker.h"
#include "glitchsim.h"

int main(int argc, char **argv)
{
	if ((argc != 4 && argc != 5) || (argc == 5 && strcmp(argv[4], "float") != 0 && strcmp(argv[4], "pcm24") != 0)) {
		fprintf(stderr, "usage: %s DIR SECONDS GLITCHES [float|pcm24]\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	double seconds = atof(argv[2]);
	size_t count = (size_t)atoi(argv[3]);
	if (seconds < 10 || count > 10000) {
		fprintf(stderr, "%s: SECONDS >= 10, GLITCHES <= 10000\n", argv[0]);
		return 2;
	}

	struct gs_params p;
	memset(&p, 0, sizeof(p));
	p.rate = 48000;
	p.channels = 2;
	p.clean_frames = (int64_t)((seconds + 4) * p.rate);
	p.seed = 20261121u;
	p.with_marker = 1;
	p.marker_frame = 2 * p.rate;
	p.take_id = 777u;
	p.take_start = p.rate;
	p.take_end = p.clean_frames - p.rate;
	p.take_channel = -1;
	p.take_format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
	p.clean_format = SF_FORMAT_WAV | (argc == 5 && strcmp(argv[4], "pcm24") == 0 ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT);

	struct gs_event *ev = calloc(count + 1, sizeof(*ev));
	if (!ev)
		return 1;
	int64_t from = p.marker_frame + 4 * GHOSTREC_MARKER_FRAMES + 8192;
	p.n_events = gs_random_events(ev, count, (1u << GHOSTREC_GLITCH_DROPPED) |
				      (1u << GHOSTREC_GLITCH_REPLACED) | (1u << GHOSTREC_GLITCH_INSERTED),
				      from, p.take_end - 8192, 8192, p.seed);
	p.events = ev;

	struct gs_truth t;
	if (gs_build(&p, &t) != 0)
		return 1;
	char take_path[4096], clean_path[4096], log_path[4096];
	snprintf(take_path, sizeof(take_path), "%s/take.wav", dir);
	snprintf(clean_path, sizeof(clean_path), "%s/clean.wav", dir);
	snprintf(log_path, sizeof(log_path), "%s/truth.jsonl", dir);
	int rc = gs_write_clean(clean_path, &p, &t, 1) != 0 || gs_write_take(take_path, &p, &t) != 0 ||
		 gs_trim_replaced(take_path, clean_path, &t) != 0 || gs_write_log(log_path, &t) != 0;
	printf("%lld take frames, %zu glitches\n", (long long)t.take_frames, t.n_glitches);
	gs_truth_free(&t);
	free(ev);
	return rc;
}
