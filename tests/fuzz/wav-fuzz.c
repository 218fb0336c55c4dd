/* libFuzzer target for reading audio files and their ghostrec metadata (common/audiofile.c,
 * the bext description) and for running the conform engine on what was read: any bytes must
 * be read or refused with a reason, never crash, hang or leak. */
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audiofile.h"
#include "common/conform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
