/* Small JSON writer (see jsonw.h). */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <spa/utils/json.h>

void jw_init(struct jsonw *w, char *buf, size_t size)
{
	w->buf = buf;
	w->size = size;
	w->len = 0;
	w->failed = size == 0;
	w->need_comma = false;
	if (size)
		buf[0] = '\0';
}

static void raw(struct jsonw *w, const char *s, size_t n)
{
	if (w->failed)
		return;
	if (n >= w->size - w->len) {
		w->failed = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void value_start(struct jsonw *w)
{
	if (w->need_comma)
		raw(w, ",", 1);
	w->need_comma = true;
}

void jw_obj(struct jsonw *w) { value_start(w); raw(w, "{", 1); w->need_comma = false; }
void jw_obj_end(struct jsonw *w) { raw(w, "}", 1); w->need_comma = true; }
void jw_arr(struct jsonw *w) { value_start(w); raw(w, "[", 1); w->need_comma = false; }
void jw_arr_end(struct jsonw *w) { raw(w, "]", 1); w->need_comma = true; }

void jw_str(struct jsonw *w, const char *s)
{
	value_start(w);
	if (w->failed)
		return;
	int n = spa_json_encode_string(w->buf + w->len, (int)(w->size - w->len), s ? s : "");
	if (n < 0 || (size_t)n >= w->size - w->len) {
		w->failed = true;
		return;
	}
	w->len += (size_t)n;
}

void jw_key(struct jsonw *w, const char *key)
{
	jw_str(w, key);
	raw(w, ":", 1);
	w->need_comma = false;
}

void jw_u64(struct jsonw *w, uint64_t v)
{
	char tmp[32];
	value_start(w);
	raw(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRIu64, v));
}

void jw_i64(struct jsonw *w, int64_t v)
{
	char tmp[32];
	value_start(w);
	raw(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v));
}

void jw_double(struct jsonw *w, double v)
{
	char tmp[40];
	value_start(w);
	if (!isfinite(v))
		raw(w, "null", 4);
	else
		raw(w, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%.6g", v));
}

void jw_bool(struct jsonw *w, bool v)
{
	value_start(w);
	raw(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jsonw *w)
{
	value_start(w);
	raw(w, "null", 4);
}

void jw_raw(struct jsonw *w, const char *json, size_t len)
{
	value_start(w);
	raw(w, json, len);
}

int jw_finish(struct jsonw *w)
{
	return w->failed ? -1 : (int)w->len;
}
