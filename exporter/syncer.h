/* Background fdatasync: the main loop hands a file's periodic sync to a thread of its own, so
 * journaling and take building never wait for the disk to write back (and a stop finds the take
 * up to date). A job syncs duplicates of the caller's descriptors: the caller may close or
 * replace its files at once. Jobs run in order; a job's sequence number says when it is done.
 * Syncs the caller needs done before it goes on (finishing a take) are not for this. */
#ifndef GHOSTREC_EXPORTER_SYNCER_H
#define GHOSTREC_EXPORTER_SYNCER_H

#include <stdbool.h>
#include <stdint.h>

#define SYNCER_MAX_FDS 17u  /* a take's files: the multichannel WAV + one per channel */

struct syncer;

/* NULL when no thread can be started. */
struct syncer *syncer_start(void);
/* Runs the jobs still queued, then ends the thread. NULL is fine. */
void syncer_stop(struct syncer *s);

/* Queues an fdatasync of each of fds[0..n) (negative ones are skipped). Returns the job's
 * sequence number (> 0); 0 when nothing could be queued (no descriptor could be duplicated or the
 * queue is full: the caller tries again later). */
uint64_t syncer_post(struct syncer *s, const int *fds, unsigned n);

/* Job seq is done; *err gets 0 or the first -errno it met (known for the last SYNCER_QUEUE jobs). */
bool syncer_done(struct syncer *s, uint64_t seq, int *err);
/* Blocks until job seq is done (shutdown, tests). */
void syncer_wait(struct syncer *s, uint64_t seq);

#endif
