/* Small JSON writer into a caller's buffer (state files, status replies). Commas are placed
 * automatically; an overflow sets `failed` and later calls do nothing. */
#ifndef GHOSTREC_EXPORTER_JSONW_H
#define GHOSTREC_EXPORTER_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *buf;
	size_t size;
	size_t len;
	bool failed;
	bool need_comma;
};

void jw_init(struct jsonw *w, char *buf, size_t size);
void jw_obj(struct jsonw *w);         /* { */
void jw_obj_end(struct jsonw *w);     /* } */
void jw_arr(struct jsonw *w);         /* [ */
void jw_arr_end(struct jsonw *w);     /* ] */
void jw_key(struct jsonw *w, const char *key);
void jw_str(struct jsonw *w, const char *s);
void jw_u64(struct jsonw *w, uint64_t v);
void jw_i64(struct jsonw *w, int64_t v);
void jw_double(struct jsonw *w, double v);
void jw_bool(struct jsonw *w, bool v);
void jw_null(struct jsonw *w);
/* Inserts already-valid JSON (e.g. a node's reply). */
void jw_raw(struct jsonw *w, const char *json, size_t len);
/* Returns the length, or -1 if the buffer was too small. */
int jw_finish(struct jsonw *w);

#endif
