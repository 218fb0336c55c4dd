/* Sending a take ahead: while a take is recorded, its WAV files go to every delivery target that
 * can take parts of a file (deliver_target.put_part: the SMB share) as they grow, so that when
 * the take ends only its last second, the finished header and the cue chunks are left to send:
 * delivery takes the same time for a take of any length.
 *
 * Only what the recorder has synced is sent: those bytes of a take file never change again (the
 * file only grows, finishing patches its header and appends the cues), so the copy on the share
 * holds the local file's bytes. Delivery checks that it still is the same file (inode, size) and
 * sends the whole file instead when anything is off (deliver.h: deliver_take_dir_sent).
 *
 * Not thread-safe: one thread (the worker's) owns a sendahead; the recorder's progress reaches
 * it through the worker (worker_send_ahead). */
#ifndef GHOSTREC_EXPORTER_SENDAHEAD_H
#define GHOSTREC_EXPORTER_SENDAHEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "deliver.h"
#include "take.h"

#define SENDAHEAD_MAX_TARGETS 4

struct sendahead_file {
	char name[64];
	uint32_t frame_bytes;
	int fd;                               /* -1 until the file is opened */
	uint64_t sent[SENDAHEAD_MAX_TARGETS]; /* bytes the target's copy holds */
};

struct sendahead {
	uint32_t take_id;
	unsigned n_files;
	struct sendahead_file f[1 + TAKE_MAX_CHANNELS];
	double next_try[SENDAHEAD_MAX_TARGETS]; /* after a failure: CLOCK_MONOTONIC seconds */
	double backoff[SENDAHEAD_MAX_TARGETS];
	bool failing[SENDAHEAD_MAX_TARGETS];
};

/* The take's files (the multichannel WAV, and with split_channels one per channel). */
void sendahead_init(struct sendahead *a, const struct take *t);

/* Sends at most max_bytes of what is synced (stable_frames of every file in dir) and not yet on
 * target i. now: CLOCK_MONOTONIC seconds; retry_max: the longest wait after failures.
 * Returns 1 when it sent something, 0 when nothing is due. Failures are logged (once until the
 * target takes parts again) and retried after a backoff; they never lose anything: the take
 * is delivered whole then. */
int sendahead_step(struct sendahead *a, struct deliver_target *t, unsigned i, const char *dir,
		   uint64_t stable_frames, double now, double retry_max, uint64_t max_bytes);

/* Whether target i has synced frames still to be sent (and is not waiting after a failure). */
bool sendahead_due(const struct sendahead *a, unsigned i, uint64_t stable_frames, double now);

/* What target i holds, for deliver_take_dir_sent. */
void sendahead_sent(const struct sendahead *a, unsigned i, struct deliver_sent *out);

/* Closes the local files; drop: also removes the copies on the targets (a dropped take). */
void sendahead_close(struct sendahead *a, struct deliver_target **targets, unsigned n_targets, bool drop);

#endif
