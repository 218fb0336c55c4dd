/* libFuzzer target for reading audio files and their ghostrec metadata (common/audiofile.c,
 * the bext description) and for running the conform engine on what was read: any bytes must
 * be read or refused with a reason, never crash, hang or leak. The same bytes are also
 * opened as a file (a memfd): there the reader maps plain PCM and float data and decodes it
 * itself, and every sample must be bit for bit what libsndfile reads from the memory image. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/audiofile.h"
#include "common/conform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes as a file (a memfd), opened by path: the reader maps plain PCM and float data
 * and decodes it itself. Every frame it reads must be bit for bit what libsndfile reads from
 * the same file in one sequential pass (libsndfile's own reads through virtual I/O and after
 * seeks can differ from that on malformed files; the sequential read of the file is the
 * reference). */
static void check_mapped_reads(const uint8_t *data, size_t size)
{
	int fd = memfd_create("wav-fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return;
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	char path[64], err[512];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct ghostrec_audiofile *f = done == size ? ghostrec_audiofile_open(path, err, sizeof(err)) : NULL;
	SF_INFO si;
	memset(&si, 0, sizeof(si));
	SNDFILE *sf = f ? sf_open(path, SFM_READ, &si) : NULL;
	const struct ghostrec_audioinfo *fi = f ? ghostrec_audiofile_info(f) : NULL;
	if (sf && fi->channels == si.channels && fi->frames == si.frames && si.frames <= 65536 &&
	    si.channels <= 64) {
		int64_t frames = si.frames;
		size_t ch = (size_t)si.channels;
		float *want = calloc((size_t)frames * ch + 1, sizeof(float));
		float *got = calloc(((size_t)frames + 32) * ch, sizeof(float));
		if (want && got && sf_readf_float(sf, want, frames) == frames) {
			int64_t spans[][2] = { {frames / 2, 4099}, {0, frames}, {-5, 17}, {frames - 3, 9} };
			for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
				int64_t at = spans[i][0], n = spans[i][1];
				if (n > frames + 32)
					n = frames + 32;
				if (ghostrec_audiofile_read(f, at, n, got) != 0)
					continue;
				for (int64_t k = 0; k < n; k++)
					for (size_t c = 0; c < ch; c++) {
						float w = at + k >= 0 && at + k < frames ? want[(size_t)(at + k) * ch + c] : 0.0f;
						if (memcmp(&w, &got[(size_t)k * ch + c], sizeof(float)) != 0)
							abort(); /* the mapped decode is not libsndfile's */
					}
			}
		}
		free(want);
		free(got);
	}
	if (sf)
		sf_close(sf);
	ghostrec_audiofile_close(f);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	err[0] = '\0';
	struct ghostrec_audiofile *a = ghostrec_audiofile_open_memory(data, size, "fuzz", err, sizeof(err));
	if (!a) {
		if (!err[0])
			abort(); /* every refusal names its reason */
		return 0;
	}
	const struct ghostrec_audioinfo *info = ghostrec_audiofile_info(a);
	if (info->channels <= 0 || info->rate <= 0 || info->frames < 0)
		abort();
	check_mapped_reads(data, size);

	/* The metadata the clean-file reader looks at. */
	SF_BROADCAST_INFO bext;
	memset(&bext, 0, sizeof(bext));
	sf_command(ghostrec_audiofile_sndfile(a), SFC_GET_BROADCAST_INFO, &bext, sizeof(bext));

	/* Read a bounded amount of audio, through both paths. */
	if (info->frames <= 65536 && info->channels <= 64) {
		float *buf = malloc(sizeof(float) * (size_t)(info->frames + 1) * (size_t)info->channels);
		if (buf) {
			ghostrec_audiofile_read(a, -3, info->frames + 6 > 0 ? 1 : 0, buf);
			ghostrec_audiofile_read(a, 0, info->frames, buf);
			free(buf);
		}
		for (int64_t f = -1; f <= info->frames; f += 97)
			ghostrec_audiofile_frame(a, f);

		/* Conform the file against itself: the engine must cope with any content. */
		struct ghostrec_audiofile *b = ghostrec_audiofile_open_memory(data, size, "fuzz", err, sizeof(err));
		if (!b)
			abort(); /* opened once, must open again */
		struct ghostrec_conform_options opt = {.max_shift = 256, .marker_scan = 4096};
		struct ghostrec_clean_meta meta = {.valid = 1, .take_id = 7, .marker_frame = 10};
		struct ghostrec_conform_result r;
		if (ghostrec_conform_run(a, b, &meta, &opt, &r, err, sizeof(err)) == 0) {
			int64_t end = 0;
			for (size_t i = 0; i < r.n_segments; i++) {
				if (r.segments[i].take_start < end || r.segments[i].take_end > info->frames ||
				    r.segments[i].clean_start < 0)
					abort();
				end = r.segments[i].take_end;
			}
			FILE *devnull = fopen("/dev/null", "w");
			if (devnull) {
				ghostrec_conform_report_write(&r, devnull);
				fclose(devnull);
			}
			ghostrec_conform_result_clear(&r);
		}
		ghostrec_audiofile_close(b);
	}
	ghostrec_audiofile_close(a);
	return 0;
}
