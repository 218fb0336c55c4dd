/* Writes a long take/clean pair for benchmarking ghostrec-sync without holding either in
 * memory: a stereo float32 clean file with ghostrec metadata and a 24-bit take (the marker
 * at 2 s, a dropped ASIO block every `every` seconds, a silenced one in between).
 *   bench-make MINUTES DIR    -> DIR/clean.wav, DIR/take.wav (RF64 when over 4 GiB) */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/marker.h"

#define RATE 48000
#define CH 2
#define BLOCK 48000

static uint32_t rng = 2463534242u;

static float next_sample(int64_t i, int k)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	double noise = (double)(rng >> 8) / 16777216.0 * 2.0 - 1.0;
	return (float)(0.4 * sin((double)i * (0.031 + 0.007 * k)) + 0.3 * noise);
}

static SNDFILE *open_out(const char *path, int format, const char *bext_desc)
{
	SF_INFO sfi;
	memset(&sfi, 0, sizeof(sfi));
	sfi.samplerate = RATE;
	sfi.channels = CH;
	sfi.format = format;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &sfi);
	if (!sf) {
		fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
		exit(1);
	}
	if (bext_desc) {
		SF_BROADCAST_INFO b;
		memset(&b, 0, sizeof(b));
		snprintf(b.description, sizeof(b.description), "%s", bext_desc);
		sf_command(sf, SFC_SET_BROADCAST_INFO, &b, sizeof(b));
	}
	return sf;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench-make MINUTES DIR\n");
		return 2;
	}
	int64_t frames = (int64_t)(atof(argv[1]) * 60.0 * RATE);
	int64_t marker = 2 * RATE;
	int64_t every = 30 * RATE;  /* a glitch every 30 s */
	char path[4096];
	char desc[256];
	snprintf(desc, sizeof(desc), "ghostrec take_id=99 marker_frame=%lld rate=%d channels=%d",
		 (long long)marker, RATE, CH);
	int big = frames * CH * 4 > 4000000000LL;
	snprintf(path, sizeof(path), "%s/clean.wav", argv[2]);
	SNDFILE *clean = open_out(path, (big ? SF_FORMAT_RF64 : SF_FORMAT_WAV) | SF_FORMAT_FLOAT, desc);
	snprintf(path, sizeof(path), "%s/take.wav", argv[2]);
	SNDFILE *take = open_out(path, (big ? SF_FORMAT_RF64 : SF_FORMAT_WAV) | SF_FORMAT_PCM_24, NULL);

	int8_t sym[GHOSTREC_MARKER_FRAMES];
	struct ghostrec_marker m = {.take_id = 99, .channel = 0};
	ghostrec_marker_symbols(&m, sym);
	static float cbuf[BLOCK * CH], tbuf[BLOCK * CH];
	int64_t glitches = 0;
	for (int64_t b0 = 0; b0 < frames; b0 += BLOCK) {
		int64_t n = frames - b0 < BLOCK ? frames - b0 : BLOCK;
		int64_t tn = 0;
		for (int64_t i = 0; i < n; i++) {
			int64_t f = b0 + i;
			for (int k = 0; k < CH; k++)
				cbuf[i * CH + k] = next_sample(f, k);
			int64_t phase = f % every;
			int64_t cycle = f / every;
			if (f > marker + RATE && phase == 0)
				glitches++;
			if (f > marker + RATE && phase < 512 && cycle % 2 == 1) {
				continue;  /* dropped ASIO block: never reaches the take */
			}
			for (int k = 0; k < CH; k++) {
				float v = cbuf[i * CH + k];
				if (f >= marker && f < marker + GHOSTREC_MARKER_FRAMES)
					v = GHOSTREC_MARKER_DEFAULT_AMPLITUDE * sym[f - marker];
				if (f > marker + RATE && phase < 256 && cycle % 2 == 0)
					v = 0.0f;  /* silenced block: timeline kept */
				tbuf[tn * CH + k] = v;
			}
			tn++;
		}
		if (sf_writef_float(clean, cbuf, n) != n || sf_writef_float(take, tbuf, tn) != tn) {
			fprintf(stderr, "write failed\n");
			return 1;
		}
	}
	sf_close(clean);
	sf_close(take);
	printf("%lld frames, %lld glitches\n", (long long)frames, (long long)glitches);
	return 0;
}
