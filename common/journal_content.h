/* The journal's content index (contract: docs/contracts.md "Capture journal", content index):
 * beside every segment seg-<seq>.raw a file seg-<seq>.fp of coarse fingerprints, so a take can
 * be found in hours of journal by its audio without reading the audio.
 *
 * A key is taken at every ring frame F that is a multiple of GHOSTREC_JCONTENT_BLOCK, for every
 * channel: the GHOSTREC_JCONTENT_WINDOW samples from F, each put on a coarse logarithmic scale
 * (ghostrec_jcontent_level), hashed to 32 bits. Near-silent windows have no key (0). A reader
 * whose samples are only known within a tolerance (a 16- or 24-bit take) tries every level a
 * sample may have had, so quantisation never hides a match; every hit is then verified on the
 * journal's samples themselves.
 *
 * seg-<seq>.fp: a 16-byte header ("GRFP", u16 version 1, u16 window, u32 block, u32 channels,
 * little-endian) and then, for each block F from the segment's first multiple of the block on
 * whose window lies wholly in the segment, one u32 key per channel. Written as the segment is
 * written, synced with it; a file shorter than its segment (a crash) is completed from the
 * segment's data when the writer opens the journal; readers compute keys a file lacks. */
#ifndef GHOSTREC_JOURNAL_CONTENT_H
#define GHOSTREC_JOURNAL_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"

#define GHOSTREC_JCONTENT_BLOCK 256u
#define GHOSTREC_JCONTENT_WINDOW 8u
#define GHOSTREC_JCONTENT_HEADER 16u
#define GHOSTREC_JCONTENT_LEVELS 48
/* a window whose samples all lie below this level (about -72 dBFS) has no key */
#define GHOSTREC_JCONTENT_MIN_LEVEL 4

/* The coarse level of one sample: sign(x) * floor(48 * log2(1 + 4096 |x|) / 12), |x| <= 1. */
int ghostrec_jcontent_level(double x);

/* The key of a window of levels (0: no key). */
uint32_t ghostrec_jcontent_key_of_levels(const int8_t levels[GHOSTREC_JCONTENT_WINDOW]);

/* The key of GHOSTREC_JCONTENT_WINDOW samples x[0], x[stride], ... */
uint32_t ghostrec_jcontent_key(const float *x, size_t stride);

/* The ring frame of a segment's first key, and how many keys (per channel) its frames have. */
uint64_t ghostrec_jcontent_first(uint64_t frame0);
uint64_t ghostrec_jcontent_count(uint64_t frame0, uint64_t frames);
/* Bytes of a complete .fp file for the segment. */
uint64_t ghostrec_jcontent_file_bytes(const struct ghostrec_journal_seg *s);

void ghostrec_jcontent_path(char *buf, size_t size, const char *dir, uint32_t seq);

/* Writer side, called by journal.c. */
int ghostrec_jcontent_begin(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s);
/* n interleaved frames of the current segment starting at ring frame `frame`. */
void ghostrec_jcontent_feed(struct ghostrec_journal *j, const float *frames, uint32_t channels, uint64_t frame,
			    uint32_t n);
int ghostrec_jcontent_sync(struct ghostrec_journal *j);
void ghostrec_jcontent_end(struct ghostrec_journal *j);
/* Cuts a longer file back / completes a shorter one from the segment's data (writer, on open). */
void ghostrec_jcontent_repair(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s);

/* Reader side: the keys of blocks [from, from + n) (indices from the segment's first key) of
 * a segment, channels per block, from its .fp file, else computed from its data. Returns the
 * number of blocks filled (fewer only at the segment's end), or -errno. */
int64_t ghostrec_jcontent_read(struct ghostrec_journal *j, const struct ghostrec_journal_seg *s, uint64_t from,
			       uint64_t n, uint32_t *keys);

#endif
