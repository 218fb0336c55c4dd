/* A take's output files (contract: docs/contracts.md "Clean take files"): the multichannel WAV
 * and, with split_channels, one mono WAV per channel, written as the take runs (takefile.h), then
 * finished in place: header sizes, bext, cue point at the marker + one per gap, JSON sidecar.
 * Float32 (default) or 24-bit PCM; data that would not fit a RIFF WAV (4 GiB) makes it RF64. */
#ifndef GHOSTREC_EXPORTER_FINALIZE_H
#define GHOSTREC_EXPORTER_FINALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syncer.h"
#include "take.h"
#include "takefile.h"

struct take_output {
	struct takefile f[1 + TAKE_MAX_CHANNELS];
	unsigned n;
	char dir[4200];
};

/* Creates the take's files in dir, or (resume) reopens them after a crash and cuts them all to
 * the frames every one of them holds. Returns 0 or -1 with a reason. */
int take_output_open(struct take_output *o, const struct take *t, const char *dir, bool resume,
		     char *err, size_t errsize);
static inline uint64_t take_output_frames(const struct take_output *o) { return o->n ? o->f[0].frames : 0; }

/* Appends n interleaved frames of t->channels (NULL: zeros) to every file: all or nothing.
 * Returns 0 or -errno. */
int take_output_append(struct take_output *o, const float *in, uint32_t channels, uint32_t n);
int take_output_sync(struct take_output *o);
/* The same in the background (syncer.h): the job's sequence number, 0 when nothing was queued
 * (nothing to sync, or the syncer is full). */
uint64_t take_output_sync_post(struct take_output *o, struct syncer *s);
void take_output_close(struct take_output *o);

/* Finishes every file (t->spooled frames, marker, gaps) and writes the sidecar last.
 * Returns 0 or -1 with a reason. */
int take_output_finish(struct take_output *o, const struct take *t, char *err, size_t errsize);

/* A raw interleaved float32 file -> finished take files in out_dir (tests and tools).
 * frames_out gets the frame count. Returns 0 or -1 with a one-line reason in err. */
int finalize_take(const struct take *t, const char *raw_path, const char *out_dir,
		  uint64_t *frames_out, char *err, size_t errsize);

/* Largest data size written as plain RIFF WAV; above it RF64. Exposed for tests. */
#define finalize_wav_limit takefile_riff_limit

#endif
