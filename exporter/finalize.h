/* Finalize: spool file -> clean take WAV(s) + sidecar (contract: docs/contracts.md "Clean take files").
 * Float32 (default) or 24-bit PCM; a file whose data would not fit a RIFF WAV (4 GiB) is
 * written as RF64. Metadata: bext description + cue point at the marker + JSON sidecar
 * (common/takemeta.h). */
#ifndef GHOSTREC_EXPORTER_FINALIZE_H
#define GHOSTREC_EXPORTER_FINALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "take.h"

/* Writes the take's files into out_dir (which must exist). frames_out gets the frame count.
 * Returns 0 or -1 with a one-line reason in err. */
int finalize_take(const struct take *t, const char *raw_path, const char *out_dir,
		  uint64_t *frames_out, char *err, size_t errsize);

/* Largest data size written as plain RIFF WAV; above it RF64. Exposed for tests. */
extern uint64_t finalize_wav_limit;

#endif
