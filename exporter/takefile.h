/* A clean take's WAV file, written as the take runs (contract: docs/contracts.md "Clean take
 * files"): the header is valid from the start and its sizes follow every sync, so a crash leaves a
 * file that plays up to its last sync (and whose length says how many frames it holds); finishing
 * a take is a header patch (bext, RF64 if needed), never a rewrite.
 *
 * Layout (fixed, data at offset TAKEFILE_DATA_OFFSET):
 *   RIFF WAVE | JUNK (28 bytes, becomes ds64 when the data outgrows RIFF) | fmt (16) | fact |
 *   bext (602: v1, ghostrec description) | data ... | cue + LIST/adtl (added by takemeta)
 * Samples: float32 (format tag 3) or 24-bit PCM (tag 1, converted exactly as libsndfile does:
 * clipped, lrintf(x * 2^31) >> 8). */
#ifndef GHOSTREC_EXPORTER_TAKEFILE_H
#define GHOSTREC_EXPORTER_TAKEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAKEFILE_DATA_OFFSET 702u

struct takefile {
	int fd;
	uint32_t rate;
	uint32_t channels;
	bool pcm24;
	uint64_t frames;       /* whole frames in the data chunk */
	uint64_t unsynced;
	uint8_t *buf;          /* conversion buffer */
	size_t buf_frames;
};

/* Creates path (mode 0600; delivery sets the outbox mode) with a valid empty WAV. Returns 0 or -errno. */
int takefile_create(struct takefile *f, const char *path, uint32_t rate, uint32_t channels, bool pcm24);

/* Opens a file made by takefile_create after a crash: frames = what the file holds (a torn frame
 * is cut off). Returns 0 or -errno (-EPROTO: not such a file). */
int takefile_reopen(struct takefile *f, const char *path, uint32_t rate, uint32_t channels, bool pcm24);

/* Appends n frames: `in` holds n frames of in_channels floats (NULL: silence); channel < 0 takes
 * them all (in_channels must equal f->channels), else that one channel. Returns 0, or -errno when
 * not all were written (then the file is cut back to f->frames: nothing half-written stays). */
int takefile_append(struct takefile *f, const float *in, uint32_t in_channels, int channel, uint32_t n);

/* Cuts the file back to `frames` (another file of the take could not keep up). */
int takefile_truncate(struct takefile *f, uint64_t frames);

int takefile_sync(struct takefile *f);
/* takefile_sync without the fdatasync (the caller has it done, e.g. in the background): the
 * header's sizes follow the data. 1: there is something to sync, 0: nothing, or -errno. */
int takefile_sync_begin(struct takefile *f);

/* Writes the final sizes (RF64 when the data outgrows RIFF) and the bext fields.
 * description: the bext description line; start_utc "YYYY-MM-DDTHH:MM:SS..."; take_id for the
 * originator reference. Closes the file without syncing it: the caller adds the cue chunks
 * (takemeta, which fsyncs the file: one fsync for the data's tail, the header and the cues) or
 * syncs it. 0 or -errno. */
int takefile_finish(struct takefile *f, const char *description, const char *start_utc, uint32_t take_id);

void takefile_close(struct takefile *f);

/* Largest data size written as plain RIFF WAV; above it RF64 (tests lower it). */
extern uint64_t takefile_riff_limit;

#endif
