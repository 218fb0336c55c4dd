/* ghostrec-sync --journal: the clean audio for a take found in a capture journal by its content
 * alone (common/journal_find.h), written as a float32 clean file that the conform engine then
 * maps the take against. Frames of the range the journal does not hold are zeros there and
 * listed as gaps (docs/contracts.md "Gaps"), so the take keeps its own audio there. */
#ifndef GHOSTREC_EXPORTER_SYNC_JOURNAL_H
#define GHOSTREC_EXPORTER_SYNC_JOURNAL_H

#include <stddef.h>

#include "common/audiofile.h"
#include "common/takemeta.h"

/* dir: a node's journal directory (holding `index`), or a directory with such directories
 * (`<spool>/journal`, or the spool directory itself). node: only that node's journal (NULL:
 * every one found). Writes the excerpt to out_wav, its gaps (excerpt frames) to gaps and a
 * line saying where the take was found to where. Returns 0, or -1 with a one-line reason. */
int sync_journal_excerpt(struct ghostrec_audiofile *take, const char *dir, const char *node, const char *out_wav,
			 struct ghostrec_takemeta *gaps, char *where, size_t wsize, char *err, size_t errsize);

#endif
