/* The spool directory: where takes live on local disk until delivery is confirmed.
 *
 *   <spool>/take-<id>.state   persisted take (take.h), rewritten atomically on each transition
 *   <spool>/take-<id>.raw     interleaved float32 frames from the take's start_frame
 *   <spool>/next-take-id      take id allocator
 *   <spool>/queue/<id>/       finalized take files waiting for delivery (see deliver.h)
 *
 * A spool file is only appended to; after a crash its size says how many frames it holds
 * (a torn last frame is cut off). */
#ifndef GHOSTREC_EXPORTER_SPOOL_H
#define GHOSTREC_EXPORTER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Creates <root> and <root>/queue (mode 0700). Returns 0 or -1 with a reason. */
int spool_init(const char *root, char *err, size_t errsize);

/* Takes the spool directory for this process (flock on <root>/lock, held until exit): two
 * exporters on one spool would resume each other's takes. Returns the lock fd, or -1 with a
 * reason (naming the other exporter's pid). */
int spool_lock(const char *root, char *err, size_t errsize);

/* Allocates a take id unique across restarts: larger than every id handed out before (the
 * counter file) and than the seconds since 2023-11-14 (so a wiped spool dir does not reuse ids
 * either). Returns 0; 1 when the id is good but could not be stored (disk full: ids stay unique
 * in this process and by the clock); -errno when there is no id. */
int spool_next_take_id(const char *root, uint32_t *id);

void spool_state_path(char *buf, size_t size, const char *root, uint32_t take_id);
void spool_raw_path(char *buf, size_t size, const char *root, uint32_t take_id);
void spool_queue_path(char *buf, size_t size, const char *root, uint32_t take_id);

struct spool_writer {
	int fd;
	uint32_t channels;
	uint64_t frames;       /* frames in the file */
	uint64_t unsynced;     /* frames written since the last fdatasync */
	float *interleaved;    /* scratch */
	size_t scratch_frames;
};

/* Opens (creating or continuing) a spool file. Returns 0 or -errno. */
int spool_writer_open(struct spool_writer *w, const char *path, uint32_t channels);
/* Appends n frames given as planar channels (src[c] NULL = silence). Returns 0 or -errno. */
int spool_writer_append(struct spool_writer *w, const float *const *src, uint32_t n);
int spool_writer_sync(struct spool_writer *w);
void spool_writer_close(struct spool_writer *w);

/* Recursively removes a queue directory (only files one level deep). */
int spool_remove_dir(const char *path);

#endif
