/* Inside the conform engine: how the walk hands settled segments to a renderer running
 * beside it (ghostrec_conform_feed in conform.h). The walk only appends: a segment it has
 * closed never changes again (the verification after it adds replaced glitches, which the
 * render does not use), so the renderer may write every frame no later segment can touch. */
#ifndef GHOSTREC_CONFORM_FEED_H
#define GHOSTREC_CONFORM_FEED_H

#include "conform.h"

/* The engine's side (conform.c). */
void ghostrec_conform_feed_start(struct ghostrec_conform_feed *f, int clean_channel);
void ghostrec_conform_feed_segment(struct ghostrec_conform_feed *f, const struct ghostrec_conform_segment *s);
void ghostrec_conform_feed_gap(struct ghostrec_conform_feed *f, const struct ghostrec_conform_glitch *g);

/* The renderer's side (conform_render.c): copies what the walk has settled into view (its
 * own arrays: the segments, and the gap glitches among the glitches) once view holds more
 * than min_segments segments, or its last segment ends after `frame`, or the feed has
 * ended. Returns 0, or -1 when the feed ended with the engine failing (view then holds
 * nothing usable) or out of memory. */
int ghostrec_conform_feed_pull(struct ghostrec_conform_feed *f, struct ghostrec_conform_result *view,
			       size_t min_segments, int64_t frame);

#endif
