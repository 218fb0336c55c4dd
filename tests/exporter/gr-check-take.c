/* Checks a delivered clean take against the deterministic test signal (test-signal.h):
 *   gr-check-take WAV [--capture RAW] [--channels N] [--preroll-frames N] [--min-frames N]
 *                     [--postroll-frames N]
 *   - every sample of every channel equals the played signal, bit-exact, with no gap;
 *   - bext, cue point and sidecar agree on take id and marker frame;
 *   - with --preroll-frames: the marker sits exactly that many frames into the file;
 *   - with --capture (what the ghostrec node output, recorded after it): the marker for this
 *     take id is found there, and the clean file's marker_frame holds the very signal frame the
 *     marker replaced in the output;
 *   - per-channel mono files (if present) equal their channel;
 *   - a gap the sidecar lists at the end of the file (the node went away) holds zeros, and the
 *     checks above apply to the frames before it.
 * Prints one summary line; exit 1 with reasons on any mismatch. */
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "common/marker.h"
#include "common/takemeta.h"
#include "test-signal.h"

static int failures;
#define FAIL(...) do { fprintf(stderr, "gr-check-take: " __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

static float *read_wav(const char *path, SF_INFO *info)
{
	memset(info, 0, sizeof(*info));
	SNDFILE *sf = sf_open(path, SFM_READ, info);
	if (!sf)
		return NULL;
	float *buf = malloc(sizeof(float) * (size_t)info->frames * (size_t)info->channels + 1);
	sf_count_t n = sf_readf_float(sf, buf, info->frames);
	sf_close(sf);
	if (n != info->frames) {
		free(buf);
		return NULL;
	}
	return buf;
}

int main(int argc, char **argv)
{
	const char *wav = NULL, *capture = NULL;
	uint32_t cap_channels = 2;
	int64_t preroll = -1, min_frames = 0, postroll = -1;
	int silent_tail = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--capture") && i + 1 < argc)
			capture = argv[++i];
		else if (!strcmp(argv[i], "--channels") && i + 1 < argc)
			cap_channels = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--preroll-frames") && i + 1 < argc)
			preroll = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--postroll-frames") && i + 1 < argc)
			postroll = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--min-frames") && i + 1 < argc)
			min_frames = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--silent-tail"))
			silent_tail = 1;
		else if (!wav)
			wav = argv[i];
		else {
			fprintf(stderr, "usage: gr-check-take WAV [--capture RAW] [--channels N] [--preroll-frames N] "
				"[--postroll-frames N] [--min-frames N] [--silent-tail]\n");
			return 2;
		}
	}
	if (!wav)
		return 2;

	SF_INFO info;
	float *data = read_wav(wav, &info);
	if (!data) {
		FAIL("%s: cannot read: %s", wav, sf_strerror(NULL));
		return 1;
	}
	uint32_t ch = (uint32_t)info.channels;
	uint64_t frames = (uint64_t)info.frames;

	/* metadata: bext + cue + sidecar agree */
	struct ghostrec_takemeta bext, side;
	uint64_t cue;
	char err[512], dir[4096], path[4400];
	if (ghostrec_takemeta_read_wav(wav, &bext, &cue, err, sizeof(err)) < 0)
		FAIL("%s", err);
	snprintf(dir, sizeof(dir), "%s", wav);
	ghostrec_take_sidecar_name(path, sizeof(path), bext.take_id);
	char side_path[8600];
	snprintf(side_path, sizeof(side_path), "%s/%s", dirname(dir), path);
	if (ghostrec_takemeta_read_sidecar(side_path, &side, err, sizeof(err)) < 0)
		FAIL("%s", err);
	if (cue != bext.marker_frame || side.marker_frame != bext.marker_frame)
		FAIL("marker frame disagrees: bext %" PRIu64 ", cue %" PRIu64 ", sidecar %" PRIu64, bext.marker_frame,
		     cue, side.marker_frame);
	if (side.take_id != bext.take_id || side.frames != frames || side.channels != ch || bext.channels != ch ||
	    side.rate != (uint32_t)info.samplerate)
		FAIL("sidecar disagrees with the file (take %u/%u, frames %" PRIu64 "/%" PRIu64 ", channels %u/%u)",
		     side.take_id, bext.take_id, side.frames, frames, side.channels, ch);
	/* a trailing gap (sidecar "gaps"): zeros, and not audio to check */
	uint64_t file_frames = frames;
	for (size_t g = 0; g < side.n_gaps; g++) {
		uint64_t gf = side.gaps[g].frame, gn = side.gaps[g].frames;
		if (gf + gn != file_frames) {
			FAIL("a gap at file frame %" PRIu64 " (%" PRIu64 " frames) not at the end: not checked here", gf, gn);
			continue;
		}
		for (uint64_t i = gf; i < file_frames; i++)
			for (uint32_t c = 0; c < ch; c++)
				if (data[i * ch + c] != 0.0f) {
					FAIL("gap frame %" PRIu64 " is not zero", i);
					i = file_frames;
					break;
				}
		printf("trailing gap: file frames %" PRIu64 "..%" PRIu64 " (zeros, %s)\n", gf, file_frames,
		       side.gaps[g].cause);
		frames = gf;
	}
	/* --silent-tail: a PipeWire shutting down unlinks the player (and the capture) a few cycles
	 * before the node stops: the node then hears silence, and nothing recorded it but the take */
	if (silent_tail) {
		uint64_t k = frames;
		while (k > 1) {
			int zero = 1;
			for (uint32_t c = 0; c < ch && zero; c++)
				zero = data[(k - 1) * ch + c] == 0.0f;
			if (!zero)
				break;
			k--;
		}
		if (k < frames)
			printf("silent tail: file frames %" PRIu64 "..%" PRIu64 " are zeros (the node's input once "
			       "its links were gone)\n", k, frames);
		frames = k;
	}
	uint64_t marker = bext.marker_frame;
	int subtype = info.format & SF_FORMAT_SUBMASK;
	if ((strcmp(side.format, "pcm24") == 0) != (subtype == SF_FORMAT_PCM_24) ||
	    (strcmp(side.format, "float32") == 0) != (subtype == SF_FORMAT_FLOAT))
		FAIL("sidecar says format %s, the file's sample format is 0x%x", side.format, subtype);

	/* samples: the played signal, bit-exact, contiguous */
	int64_t n0 = test_signal_frame(data[0]);
	uint64_t bad = 0, first_bad = 0;
	if (n0 < 0)
		FAIL("first sample %.9g is not the test signal", (double)data[0]);
	else
		for (uint64_t i = 0; i < frames; i++)
			for (uint32_t c = 0; c < ch; c++) {
				float want = test_signal((uint64_t)n0 + i, c), got = data[i * ch + c];
				if (memcmp(&want, &got, sizeof(float)) != 0 && bad++ == 0)
					first_bad = i;
			}
	if (bad) {
		fprintf(stderr, "gr-check-take: %" PRIu64 " samples differ from the played signal (first at frame %"
			PRIu64 ")\n", bad, first_bad);
		/* where the counter channel jumps: tells graph glitches (repeated/skipped blocks) apart
		 * from a broken copy */
		int shown = 0;
		for (uint64_t i = 1; i < frames && shown < 10; i++) {
			int64_t a = test_signal_frame(data[(i - 1) * ch]), b = test_signal_frame(data[i * ch]);
			if (b != a + 1) {
				fprintf(stderr, "  counter jump at file frame %" PRIu64 ": %" PRId64 " -> %" PRId64 "\n", i, a, b);
				shown++;
			}
		}
	}
	if ((int64_t)frames < min_frames)
		FAIL("only %" PRIu64 " frames, want at least %" PRId64, frames, min_frames);
	if (preroll >= 0 && (int64_t)marker != preroll)
		FAIL("marker at frame %" PRIu64 ", want exactly the preroll %" PRId64, marker, preroll);
	if (postroll >= 0 && (int64_t)(frames - marker) < postroll)
		FAIL("file ends %" PRIu64 " frames after the marker, less than the postroll %" PRId64,
		     frames - marker, postroll);

	/* The node's output, recorded after it: the marker for this take sits at capture frame j_m,
	 * so clean frame i must be what the node received at capture frame j_m - marker + i. Outside
	 * the marker the node's output is its input, so this is an exact check of "the clean file is
	 * what the node got", whatever the graph did (an xrun makes the node skip a block of the
	 * player: then the played-signal check above cannot hold, this one still must). */
	uint64_t cap_bad = 0, jumps = 0;
	int64_t marker_signal = -1; /* the player's frame the marker replaced in the node's output */
	uint64_t unconfirmed_jumps = 0, invalid_frames = 0;
	int cap_checked = 0;
	if (capture) {
		int fd = open(capture, O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			FAIL("%s: cannot open", capture);
		} else if (cap_channels != ch) {
			FAIL("capture has %u channels, the take %u", cap_channels, ch);
		} else {
			size_t cframes = (size_t)st.st_size / (sizeof(float) * cap_channels);
			float *cap = malloc((size_t)st.st_size + 1);
			if (read(fd, cap, (size_t)st.st_size) != st.st_size)
				FAIL("%s: short read", capture);
			/* every marker in the output: the output is not the input there (takes overlap:
			 * the next take's marker can sit in this take's postroll) */
			size_t pos = 0, jm = 0, n_marks = 0, marks[256];
			struct ghostrec_marker_match mm;
			int found = 0;
			while (pos < cframes &&
			       ghostrec_marker_find(cap + pos * cap_channels, cframes - pos, cap_channels,
						    ghostrec_marker_tolerance(32), &mm)) {
				size_t at = pos + mm.frame;
				if (n_marks < 256)
					marks[n_marks++] = at;
				if (mm.marker.take_id == bext.take_id) {
					found = 1;
					jm = at;
				}
				pos = at + GHOSTREC_MARKER_FRAMES;
			}
			if (!found) {
				FAIL("no marker for take %u in the node's output (%zu frames captured)", bext.take_id, cframes);
			} else if (jm < marker || jm - marker + frames > cframes) {
				FAIL("the capture does not cover the take (marker at capture frame %zu)", jm);
			} else {
				cap_checked = 1;
				size_t o = jm - marker;
				if (jm > 0 && test_signal_frame(cap[(jm - 1) * cap_channels]) >= 0)
					marker_signal = test_signal_frame(cap[(jm - 1) * cap_channels]) + 1;
				for (uint64_t i = 0; i < frames; i++) {
					int in_marker = 0;
					for (size_t k = 0; k < n_marks; k++)
						in_marker |= o + i >= marks[k] && o + i < marks[k] + GHOSTREC_MARKER_FRAMES;
					if (in_marker)
						continue; /* the output carries a marker there, not the input */
					if (memcmp(&data[i * ch], &cap[(o + i) * ch], sizeof(float) * ch) != 0 && cap_bad++ == 0)
						fprintf(stderr, "  first difference to the node's input at file frame %" PRIu64
							" (capture frame %zu)\n", i, (size_t)(o + i));
				}
				for (uint64_t i = 1; i < frames; i++)
					if (test_signal_frame(data[i * ch]) != test_signal_frame(data[(i - 1) * ch]) + 1)
						jumps++;
				if (cap_bad)
					fprintf(stderr, "gr-check-take: %" PRIu64 " frames differ from the capture of "
						"the node's output\n", cap_bad);
				/* Segment view, for when the graph glitched in the node's input AND the
				 * capture missed cycles of its own: every clean frame must be a valid
				 * player frame, and every jump between player frames in the clean file
				 * must also be a jump the node's output shows (i.e. it happened before
				 * the exporter). */
				for (uint64_t i = 0; i < frames; i++) {
					int64_t k = test_signal_frame(data[i * ch]);
					int ok = k >= 0;
					for (uint32_t c = 1; ok && c < ch; c++) {
						float want = test_signal((uint64_t)k, c);
						ok = memcmp(&want, &data[i * ch + c], sizeof(float)) == 0;
					}
					if (!ok) {
						invalid_frames++;
						continue;
					}
					if (i == 0)
						continue;
					int64_t prev = test_signal_frame(data[(i - 1) * ch]);
					if (prev < 0 || k == prev + 1)
						continue;
					int confirmed = 0;
					for (size_t j = 1; j < cframes && !confirmed; j++)
						confirmed = test_signal_frame(cap[j * cap_channels]) == k &&
							    test_signal_frame(cap[(j - 1) * cap_channels]) == prev;
					if (!confirmed && unconfirmed_jumps++ == 0)
						fprintf(stderr, "  jump %" PRId64 " -> %" PRId64 " at file frame %" PRIu64
							" is not in the node's output\n", prev, k, i);
				}
			}
			free(cap);
		}
		if (fd >= 0)
			close(fd);
	}
	/* Verdict. Either the take is the played signal, bit-exact and contiguous, and its marker
	 * frame holds the very player frame the node replaced with the marker in its output (the
	 * capture may have missed cycles of its own elsewhere: that does not matter then); or the
	 * graph skipped/repeated player blocks in the node's input (an xrun), and then the take must
	 * equal what the node received, frame by frame, as its output shows; or, when the capture
	 * also missed cycles, every clean frame is a valid player frame, every jump is one the node's
	 * output shows too, and the marker frame holds the player frame the marker replaced. */
	int signal_ok = n0 >= 0 && !bad && (!capture || (cap_checked && marker_signal == n0 + (int64_t)marker));
	int input_ok = cap_checked && cap_bad == 0;
	int segments_ok = cap_checked && invalid_frames == 0 && unconfirmed_jumps == 0 && marker < frames &&
			  test_signal_frame(data[marker * ch]) == marker_signal;
	if (!signal_ok && !input_ok && !segments_ok) {
		if (!bad && capture)
			FAIL("the marker replaced player frame %" PRId64 " in the node's output, but the clean file "
			     "says frame %" PRId64, marker_signal, n0 + (int64_t)marker);
		else
			FAIL("the take is neither the played signal nor what the node received");
	} else if (bad) {
		fprintf(stderr, "gr-check-take: the graph skipped or repeated blocks of the player (%" PRIu64
			" counter jumps, an xrun): the take equals what the node received, not the player's sequence\n",
			jumps);
	}

	/* per-channel mono files */
	int monos = 0;
	for (uint32_t c = 0; c < ch; c++) {
		char name[64], mono[8600];
		ghostrec_take_wav_name(name, sizeof(name), bext.take_id, (int)c);
		snprintf(dir, sizeof(dir), "%s", wav);
		snprintf(mono, sizeof(mono), "%s/%s", dirname(dir), name);
		if (access(mono, F_OK) != 0)
			continue;
		SF_INFO mi;
		float *m = read_wav(mono, &mi);
		monos++;
		if (!m || mi.channels != 1 || (uint64_t)mi.frames != file_frames) {
			FAIL("%s: not a mono copy of channel %u", mono, c);
		} else {
			for (uint64_t i = 0; i < frames; i++)
				if (memcmp(&m[i], &data[i * ch + c], sizeof(float)) != 0) {
					FAIL("%s differs from channel %u at frame %" PRIu64, mono, c, i);
					break;
				}
		}
		free(m);
	}
	free(data);

	printf("take %u: %s, %" PRIu64 " frames (%.3f s) x %u ch, signal frames %" PRId64 "..%" PRId64
	       " played-signal-exact=%s, node-input-exact=%s, marker at file frame %" PRIu64 " (signal frame %" PRId64
	       ")%s%s, %d mono file(s)\n",
	       bext.take_id, side.format, frames, (double)frames / info.samplerate, ch, n0, n0 + (int64_t)frames - 1,
	       bad ? "NO" : "yes", cap_checked ? (cap_bad ? "NO" : "yes") : "not checked", marker,
	       n0 + (int64_t)marker,
	       capture ? (signal_ok || input_ok || segments_ok ? ", = the frame the node marked in its output" :
			  ", NOT where the node marked") : "", failures ? "  FAILED" : "", monos);
	ghostrec_takemeta_clear(&side);
	ghostrec_takemeta_clear(&bext);
	return failures ? 1 : 0;
}
