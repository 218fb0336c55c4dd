/* Clean-take metadata: sidecar JSON, bext description, RIFF cue point (see takemeta.h). */
#include "takemeta.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <spa/utils/json.h>

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)

int ghostrec_take_wav_name(char *buf, size_t size, uint32_t take_id, int channel)
{
	if (channel < 0)
		return snprintf(buf, size, "ghostrec-%" PRIu32 ".wav", take_id);
	return snprintf(buf, size, "ghostrec-%" PRIu32 "-ch%d.wav", take_id, channel);
}

int ghostrec_take_sidecar_name(char *buf, size_t size, uint32_t take_id)
{
	return snprintf(buf, size, "ghostrec-%" PRIu32 ".json", take_id);
}

void ghostrec_takemeta_now_utc(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

void ghostrec_takemeta_clear(struct ghostrec_takemeta *m)
{
	free(m->gaps);
	memset(m, 0, sizeof(*m));
}

static void set_cause(struct ghostrec_gap *g, const char *cause)
{
	size_t n = strlen(cause);
	if (n >= sizeof(g->cause)) {
		n = sizeof(g->cause) - 1;
		while (n > 0 && ((unsigned char)cause[n] & 0xC0) == 0x80)
			n--; /* never inside a UTF-8 character */
	}
	memset(g->cause, 0, sizeof(g->cause));
	memcpy(g->cause, cause, n);
}

int ghostrec_takemeta_add_gap(struct ghostrec_takemeta *m, uint64_t frame, uint64_t frames,
			      const char *cause)
{
	if (frames == 0 || frame + frames < frame)
		return -EINVAL;
	uint64_t end = frame + frames;
	size_t i = 0;
	while (i < m->n_gaps && m->gaps[i].frame + m->gaps[i].frames < frame)
		i++;
	if (i < m->n_gaps && m->gaps[i].frame <= end) {
		/* Overlaps or touches gap i (and maybe the ones after it): merge. */
		struct ghostrec_gap *g = &m->gaps[i];
		uint64_t lo = g->frame < frame ? g->frame : frame;
		uint64_t hi = g->frame + g->frames > end ? g->frame + g->frames : end;
		size_t j = i + 1;
		while (j < m->n_gaps && m->gaps[j].frame <= hi) {
			if (m->gaps[j].frame + m->gaps[j].frames > hi)
				hi = m->gaps[j].frame + m->gaps[j].frames;
			j++;
		}
		if (frame < g->frame)
			set_cause(g, cause ? cause : GHOSTREC_GAP_OTHER);
		g->frame = lo;
		g->frames = hi - lo;
		memmove(&m->gaps[i + 1], &m->gaps[j], (m->n_gaps - j) * sizeof(*m->gaps));
		m->n_gaps -= j - (i + 1);
		return 0;
	}
	struct ghostrec_gap *p = realloc(m->gaps, (m->n_gaps + 1) * sizeof(*m->gaps));
	if (!p)
		return -ENOMEM;
	m->gaps = p;
	memmove(&p[i + 1], &p[i], (m->n_gaps - i) * sizeof(*p));
	memset(&p[i], 0, sizeof(p[i]));
	p[i].frame = frame;
	p[i].frames = frames;
	set_cause(&p[i], cause ? cause : GHOSTREC_GAP_OTHER);
	m->n_gaps++;
	return 0;
}

/* Appends to buf at *pos; returns -1 once the buffer is full. */
static int put(char *buf, size_t size, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int put(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	if (*pos >= size)
		return -1;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *pos)
		return -1;
	*pos += (size_t)n;
	return 0;
}

static int put_string(char *buf, size_t size, size_t *pos, const char *s)
{
	if (*pos >= size)
		return -1;
	int n = spa_json_encode_string(buf + *pos, (int)(size - *pos), s);
	if (n < 0 || (size_t)n >= size - *pos)
		return -1;
	*pos += (size_t)n;
	return 0;
}

int ghostrec_takemeta_to_json(const struct ghostrec_takemeta *m, char *buf, size_t size)
{
	size_t pos = 0;
	int r = 0;
	r |= put(buf, size, &pos, "{\"take_id\":%" PRIu32 ",\"marker_frame\":%" PRIu64
		 ",\"rate\":%" PRIu32 ",\"channels\":%" PRIu32 ",\"channel_map\":[",
		 m->take_id, m->marker_frame, m->rate, m->channels);
	for (uint32_t c = 0; c < m->channels && c < GHOSTREC_TAKEMETA_MAX_CHANNELS; c++) {
		if (c > 0)
			r |= put(buf, size, &pos, ",");
		r |= put_string(buf, size, &pos, m->channel_map[c]);
	}
	r |= put(buf, size, &pos, "],\"frames\":%" PRIu64 ",\"start_utc\":", m->frames);
	r |= put_string(buf, size, &pos, m->start_utc);
	r |= put(buf, size, &pos, ",\"node\":");
	r |= put_string(buf, size, &pos, m->node);
	r |= put(buf, size, &pos, ",\"format\":");
	r |= put_string(buf, size, &pos, m->format);
	r |= put(buf, size, &pos, ",\"gaps\":[");
	for (size_t i = 0; i < m->n_gaps && r == 0; i++) {
		r |= put(buf, size, &pos, "%s{\"frame\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"cause\":",
			 i ? "," : "", m->gaps[i].frame, m->gaps[i].frames);
		r |= put_string(buf, size, &pos, m->gaps[i].cause);
		r |= put(buf, size, &pos, "}");
	}
	r |= put(buf, size, &pos, "]}");
	return r ? -1 : (int)pos;
}

size_t ghostrec_takemeta_json_size(const struct ghostrec_takemeta *m)
{
	/* fixed fields + escaped strings (6 bytes per byte at worst) + gaps */
	return 4096 + 6 * (sizeof(m->channel_map) + sizeof(m->start_utc) + sizeof(m->node) + sizeof(m->format)) +
	       m->n_gaps * (64 + 6 * sizeof(m->gaps[0].cause));
}

int ghostrec_json_parse_u64(const char *val, int len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len <= 0 || len > 20)
		return -1;
	for (int i = 0; i < len; i++) {
		if (val[i] < '0' || val[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(val[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

enum {
	HAVE_TAKE_ID = 1 << 0, HAVE_MARKER = 1 << 1, HAVE_RATE = 1 << 2, HAVE_CHANNELS = 1 << 3,
	HAVE_FRAMES = 1 << 4, HAVE_ALL = (1 << 5) - 1,
};

/* The sidecar's "gaps" array (val/vlen: the array token, obj: the iterator it came from). */
static int parse_gaps(struct spa_json *obj, const char *val, int vlen, struct ghostrec_takemeta *m,
		      char *err, size_t errsize)
{
	struct spa_json arr, go;
	if (!spa_json_is_array(val, vlen)) {
		SET_ERR("sidecar: gaps is not an array");
		return -1;
	}
	spa_json_enter(obj, &arr);
	uint64_t prev_end = 0;
	while (spa_json_enter_object(&arr, &go) > 0) {
		char k[32];
		const char *v;
		int l;
		uint64_t frame = 0, frames = 0;
		int have = 0;
		char cause[256] = GHOSTREC_GAP_OTHER;
		while (spa_json_get_string(&go, k, sizeof(k)) > 0) {
			if ((l = spa_json_next(&go, &v)) <= 0) {
				SET_ERR("sidecar: gap entry: missing value for \"%s\"", k);
				return -1;
			}
			if (strcmp(k, "frame") == 0) {
				if (ghostrec_json_parse_u64(v, l, UINT64_MAX, &frame) < 0)
					goto bad;
				have |= 1;
			} else if (strcmp(k, "frames") == 0) {
				if (ghostrec_json_parse_u64(v, l, UINT64_MAX, &frames) < 0)
					goto bad;
				have |= 2;
			} else if (strcmp(k, "cause") == 0) {
				/* any text: unknown causes are fine, long ones are cut */
				if (!spa_json_is_string(v, l) || spa_json_parse_stringn(v, l, cause, sizeof(cause)) <= 0)
					goto bad;
			}
		}
		if (have != 3 || frames == 0 || frame + frames < frame)
			goto bad;
		if (m->n_gaps > 0 && frame < prev_end) {
			SET_ERR("sidecar: gaps are not sorted and non-overlapping (frame %" PRIu64 ")", frame);
			return -1;
		}
		prev_end = frame + frames;
		struct ghostrec_gap *p = realloc(m->gaps, (m->n_gaps + 1) * sizeof(*m->gaps));
		if (!p) {
			SET_ERR("sidecar: out of memory");
			return -1;
		}
		m->gaps = p;
		memset(&p[m->n_gaps], 0, sizeof(p[0]));
		p[m->n_gaps].frame = frame;
		p[m->n_gaps].frames = frames;
		set_cause(&p[m->n_gaps], cause);
		m->n_gaps++;
	}
	return 0;
bad:
	SET_ERR("sidecar: a gap needs \"frame\" and \"frames\" > 0 (unsigned integers) and a string \"cause\"");
	return -1;
}

static int from_json(const char *json, size_t len, struct ghostrec_takemeta *m,
		     char *err, size_t errsize);

int ghostrec_takemeta_from_json(const char *json, size_t len, struct ghostrec_takemeta *m,
				char *err, size_t errsize)
{
	int r = from_json(json, len, m, err, errsize);
	if (r < 0)
		ghostrec_takemeta_clear(m);
	return r;
}

static int from_json(const char *json, size_t len, struct ghostrec_takemeta *m,
		     char *err, size_t errsize)
{
	struct spa_json it, obj;
	char key[64];
	const char *val;
	int vlen, have = 0;
	uint32_t map_count = 0;
	uint64_t v;

	memset(m, 0, sizeof(*m));
	if (len > INT32_MAX) {
		SET_ERR("sidecar too large");
		return -1;
	}
	spa_json_init(&it, json, len);
	if (spa_json_enter_object(&it, &obj) <= 0) {
		SET_ERR("sidecar is not a JSON object");
		return -1;
	}
	while (spa_json_get_string(&obj, key, sizeof(key)) > 0) {
		if ((vlen = spa_json_next(&obj, &val)) <= 0) {
			SET_ERR("sidecar: missing value for \"%s\"", key);
			return -1;
		}
		if (strcmp(key, "take_id") == 0) {
			if (ghostrec_json_parse_u64(val, vlen, UINT32_MAX, &v) < 0)
				goto bad_number;
			m->take_id = (uint32_t)v;
			have |= HAVE_TAKE_ID;
		} else if (strcmp(key, "marker_frame") == 0) {
			if (ghostrec_json_parse_u64(val, vlen, UINT64_MAX, &m->marker_frame) < 0)
				goto bad_number;
			have |= HAVE_MARKER;
		} else if (strcmp(key, "rate") == 0) {
			if (ghostrec_json_parse_u64(val, vlen, 1000000, &v) < 0 || v == 0)
				goto bad_number;
			m->rate = (uint32_t)v;
			have |= HAVE_RATE;
		} else if (strcmp(key, "channels") == 0) {
			if (ghostrec_json_parse_u64(val, vlen, GHOSTREC_TAKEMETA_MAX_CHANNELS, &v) < 0 || v == 0)
				goto bad_number;
			m->channels = (uint32_t)v;
			have |= HAVE_CHANNELS;
		} else if (strcmp(key, "frames") == 0) {
			if (ghostrec_json_parse_u64(val, vlen, UINT64_MAX, &m->frames) < 0)
				goto bad_number;
			have |= HAVE_FRAMES;
		} else if (strcmp(key, "channel_map") == 0) {
			struct spa_json arr;
			if (!spa_json_is_array(val, vlen)) {
				SET_ERR("sidecar: channel_map is not an array");
				return -1;
			}
			spa_json_enter(&obj, &arr);
			const char *s;
			int slen;
			while ((slen = spa_json_next(&arr, &s)) > 0) {
				if (map_count >= GHOSTREC_TAKEMETA_MAX_CHANNELS || !spa_json_is_string(s, slen) ||
				    spa_json_parse_stringn(s, slen, m->channel_map[map_count],
							   sizeof(m->channel_map[0])) <= 0) {
					SET_ERR("sidecar: bad channel_map entry");
					return -1;
				}
				map_count++;
			}
		} else if (strcmp(key, "gaps") == 0) {
			if (m->n_gaps > 0) {
				SET_ERR("sidecar: gaps given twice");
				return -1;
			}
			if (parse_gaps(&obj, val, vlen, m, err, errsize) < 0)
				return -1;
		} else if (strcmp(key, "start_utc") == 0 || strcmp(key, "node") == 0 ||
			   strcmp(key, "format") == 0) {
			char *dst = key[0] == 's' ? m->start_utc : key[0] == 'n' ? m->node : m->format;
			size_t dsize = key[0] == 's' ? sizeof(m->start_utc) :
				       key[0] == 'n' ? sizeof(m->node) : sizeof(m->format);
			if (!spa_json_is_string(val, vlen) ||
			    spa_json_parse_stringn(val, vlen, dst, (int)dsize) <= 0) {
				SET_ERR("sidecar: \"%s\" is not a string (or too long)", key);
				return -1;
			}
		}
		/* unknown keys: newer writers may add facts; skip them */
	}
	if ((have & HAVE_ALL) != HAVE_ALL) {
		SET_ERR("sidecar: missing one of take_id, marker_frame, rate, channels, frames");
		return -1;
	}
	if (map_count != 0 && map_count != m->channels) {
		SET_ERR("sidecar: channel_map has %u entries for %u channels", map_count, m->channels);
		return -1;
	}
	return 0;
bad_number:
	SET_ERR("sidecar: \"%s\" is not a valid unsigned integer", key);
	return -1;
}

int ghostrec_takemeta_write_sidecar(const char *path, const struct ghostrec_takemeta *m)
{
	size_t size = ghostrec_takemeta_json_size(m);
	if (size > INT32_MAX)
		return -EOVERFLOW;
	char *buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	int n = ghostrec_takemeta_to_json(m, buf, size - 1);
	if (n < 0) {
		free(buf);
		return -EOVERFLOW;
	}
	buf[n++] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = -errno;
		free(buf);
		return e;
	}
	int e = ghostrec_write_all(fd, buf, (size_t)n);
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	free(buf);
	return e;
}

/* A sidecar with this many bytes holds ~200,000 gaps: anything larger is not one. */
#define SIDECAR_MAX_BYTES (16u << 20)

int ghostrec_takemeta_read_sidecar(const char *path, struct ghostrec_takemeta *m,
				   char *err, size_t errsize)
{
	memset(m, 0, sizeof(*m));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		SET_ERR("%s: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	ssize_t n = 0;
	while (buf) {
		if (len == cap) {
			char *p = cap < SIDECAR_MAX_BYTES ? realloc(buf, cap * 2) : NULL;
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	int e = errno;
	close(fd);
	if (!buf || n < 0) {
		SET_ERR("%s: %s", path, !buf ? "too large for a sidecar" : strerror(e));
		free(buf);
		return -1;
	}
	int r = ghostrec_takemeta_from_json(buf, len, m, err, errsize);
	free(buf);
	return r;
}

int ghostrec_takemeta_bext_description(const struct ghostrec_takemeta *m, char *buf, size_t size)
{
	return snprintf(buf, size, "ghostrec take_id=%" PRIu32 " marker_frame=%" PRIu64
			" rate=%" PRIu32 " channels=%" PRIu32,
			m->take_id, m->marker_frame, m->rate, m->channels);
}

int ghostrec_takemeta_parse_bext_description(const char *desc, struct ghostrec_takemeta *m)
{
	uint32_t id, rate, ch;
	uint64_t marker;
	int used = 0;
	if (sscanf(desc, "ghostrec take_id=%" SCNu32 " marker_frame=%" SCNu64 " rate=%" SCNu32
		   " channels=%" SCNu32 "%n", &id, &marker, &rate, &ch, &used) != 4 || used == 0)
		return -1;
	m->take_id = id;
	m->marker_frame = marker;
	m->rate = rate;
	m->channels = ch;
	return 0;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Growing byte buffer for the chunks appended to a WAV file. */
struct bytes {
	uint8_t *p;
	size_t n, cap;
	int oom;
};

static uint8_t *bytes_take(struct bytes *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	uint8_t *at = b->p + b->n;
	memset(at, 0, n);
	b->n += n;
	return at;
}

static void bytes_put(struct bytes *b, const void *data, size_t n)
{
	uint8_t *at = bytes_take(b, n);
	if (at)
		memcpy(at, data, n);
}

static void bytes_le32(struct bytes *b, uint32_t v)
{
	uint8_t *at = bytes_take(b, 4);
	if (at)
		le32(at, v);
}

/* One cue point: {id, position, fccChunk "data", chunkStart, blockStart, sampleOffset}. */
static void put_cue(struct bytes *b, uint32_t id, uint64_t frame)
{
	bytes_le32(b, id);
	bytes_le32(b, (uint32_t)frame);
	bytes_put(b, "data", 4);
	bytes_le32(b, 0);
	bytes_le32(b, 0);
	bytes_le32(b, (uint32_t)frame);
}

/* One adtl sub-chunk: labl {cue id, text + NUL} (padded to even size). */
static void put_labl(struct bytes *b, uint32_t id, const char *prefix, const char *text)
{
	size_t tl = strlen(prefix) + strlen(text) + 1;
	uint32_t size = 4 + (uint32_t)tl;
	bytes_put(b, "labl", 4);
	bytes_le32(b, size);
	bytes_le32(b, id);
	bytes_put(b, prefix, strlen(prefix));
	bytes_put(b, text, strlen(text) + 1);
	if (size & 1)
		bytes_take(b, 1);
}

int ghostrec_takemeta_append_cues(const char *path, const struct ghostrec_takemeta *m)
{
	uint8_t hdr[28];
	struct bytes b = {0};
	int fd, e = 0;
	struct stat st;

	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		e = -errno;
		goto out;
	}
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
		e = -EINVAL; /* too short for a WAV header */
		goto out;
	}
	int rf64 = memcmp(hdr, "RF64", 4) == 0;
	if ((!rf64 && memcmp(hdr, "RIFF", 4) != 0) || memcmp(hdr + 8, "WAVE", 4) != 0 ||
	    (rf64 && memcmp(hdr + 12, "ds64", 4) != 0)) {
		e = -EINVAL;
		goto out;
	}
	/* Which cue points fit: cue ids 1 (the marker) and 2.. (gaps, in order). */
	int with_marker = m->marker_frame <= UINT32_MAX;
	uint32_t n_cues = (uint32_t)with_marker;
	for (size_t i = 0; i < m->n_gaps; i++)
		if (m->gaps[i].frame <= UINT32_MAX)
			n_cues++;
	if (n_cues == 0) {
		e = -ERANGE; /* cue positions are 32-bit; the bext + sidecar still carry it */
		goto out;
	}
	if (st.st_size & 1)
		bytes_take(&b, 1); /* pad byte of an odd-sized data chunk */
	/* cue chunk: count, then {id, position, fccChunk, chunkStart, blockStart, sampleOffset} */
	bytes_put(&b, "cue ", 4);
	bytes_le32(&b, 4 + 24 * n_cues);
	bytes_le32(&b, n_cues);
	if (with_marker)
		put_cue(&b, 1, m->marker_frame);
	for (size_t i = 0; i < m->n_gaps; i++)
		if (m->gaps[i].frame <= UINT32_MAX)
			put_cue(&b, (uint32_t)(i + 2), m->gaps[i].frame);
	/* LIST/adtl: the marker's labl; per gap an ltxt region + its labl */
	size_t list_at = b.n;
	bytes_put(&b, "LIST", 4);
	bytes_le32(&b, 0); /* size, patched below */
	bytes_put(&b, "adtl", 4);
	if (with_marker)
		put_labl(&b, 1, "", GHOSTREC_TAKEMETA_CUE_LABEL);
	for (size_t i = 0; i < m->n_gaps; i++) {
		if (m->gaps[i].frame > UINT32_MAX)
			continue;
		uint32_t cue_id = (uint32_t)(i + 2);
		uint64_t len = m->gaps[i].frames;
		if (len > UINT32_MAX)
			len = UINT32_MAX; /* the sidecar has the exact length */
		/* ltxt: cue id, sample length, purpose, country, language, dialect, code page */
		bytes_put(&b, "ltxt", 4);
		bytes_le32(&b, 20);
		bytes_le32(&b, cue_id);
		bytes_le32(&b, (uint32_t)len);
		bytes_put(&b, "rgn ", 4);
		bytes_take(&b, 8);
		put_labl(&b, cue_id, GHOSTREC_TAKEMETA_GAP_LABEL, m->gaps[i].cause);
	}
	if (b.oom) {
		e = -ENOMEM;
		goto out;
	}
	le32(b.p + list_at + 4, (uint32_t)(b.n - list_at - 8));

	uint64_t new_size = (uint64_t)st.st_size + b.n;
	if (!rf64 && new_size - 8 > UINT32_MAX) {
		e = -EFBIG;
		goto out;
	}
	if (pwrite(fd, b.p, b.n, st.st_size) != (ssize_t)b.n) {
		e = errno ? -errno : -EIO;
		goto out;
	}
	if (rf64) {
		uint8_t sz[8];
		le32(sz, (uint32_t)(new_size - 8));
		le32(sz + 4, (uint32_t)((new_size - 8) >> 32));
		if (pwrite(fd, sz, 8, 20) != 8)
			e = -EIO;
	} else {
		uint8_t sz[4];
		le32(sz, (uint32_t)(new_size - 8));
		if (pwrite(fd, sz, 4, 4) != 4)
			e = -EIO;
	}
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
out:
	free(b.p);
	close(fd);
	return e;
}

int ghostrec_takemeta_append_cue(const char *path, uint64_t frame)
{
	struct ghostrec_takemeta m;
	memset(&m, 0, sizeof(m));
	m.marker_frame = frame;
	return ghostrec_takemeta_append_cues(path, &m);
}

/* What the cue and LIST/adtl chunks of a WAV say, collected before they are put together
 * (the chunks may come in any order). */
struct cue_info {
	uint32_t id, pos;
	int64_t region;       /* ltxt sample length, -1 if none */
	int label;            /* 0 none, 1 ghostrec-marker, 2 ghostrec-gap */
	char cause[24];
};

struct cue_table {
	struct cue_info *c;
	size_t n;
	int oom;
};

static struct cue_info *cue_get(struct cue_table *t, uint32_t id, int create)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].id == id)
			return &t->c[i];
	if (!create)
		return NULL;
	struct cue_info *p = realloc(t->c, (t->n + 1) * sizeof(*p));
	if (!p) {
		t->oom = 1;
		return NULL;
	}
	t->c = p;
	p = &t->c[t->n++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->pos = UINT32_MAX;
	p->region = -1;
	return p;
}

/* cue chunks and adtl lists are small; a larger one is not ours */
#define META_CHUNK_MAX (4u << 20)

static void read_cue_chunk(const uint8_t *buf, uint64_t size, struct cue_table *t)
{
	uint32_t count = rd32(buf);
	for (uint64_t i = 0; i < count && 4 + (i + 1) * 24 <= size; i++) {
		struct cue_info *c = cue_get(t, rd32(buf + 4 + i * 24), 1);
		if (c)
			c->pos = rd32(buf + 4 + i * 24 + 20); /* sample offset */
	}
}

static void read_adtl(const uint8_t *buf, uint64_t size, struct cue_table *t)
{
	static const char gap[] = GHOSTREC_TAKEMETA_GAP_LABEL;
	for (uint64_t p = 4; p + 8 <= size;) {
		uint32_t sub = rd32(buf + p + 4);
		if (p + 8 + sub > size)
			break;
		const uint8_t *d = buf + p + 8;
		if (memcmp(buf + p, "labl", 4) == 0 && sub >= 5) {
			size_t tl = strnlen((const char *)d + 4, sub - 4);
			const char *text = (const char *)d + 4;
			struct cue_info *c = NULL;
			if (tl == sizeof(GHOSTREC_TAKEMETA_CUE_LABEL) - 1 &&
			    memcmp(text, GHOSTREC_TAKEMETA_CUE_LABEL, tl) == 0) {
				if ((c = cue_get(t, rd32(d), 1)))
					c->label = 1;
			} else if (tl > sizeof(gap) - 1 && memcmp(text, gap, sizeof(gap) - 1) == 0) {
				if ((c = cue_get(t, rd32(d), 1))) {
					char cause[256];
					size_t cl = tl - (sizeof(gap) - 1);
					if (cl >= sizeof(cause))
						cl = sizeof(cause) - 1;
					memcpy(cause, text + sizeof(gap) - 1, cl);
					cause[cl] = '\0';
					c->label = 2;
					struct ghostrec_gap g;
					set_cause(&g, cause);
					memcpy(c->cause, g.cause, sizeof(c->cause));
				}
			}
		} else if (memcmp(buf + p, "ltxt", 4) == 0 && sub >= 8) {
			struct cue_info *c = cue_get(t, rd32(d), 1);
			if (c)
				c->region = rd32(d + 4);
		}
		p += 8 + sub + (sub & 1);
	}
}

int ghostrec_takemeta_read_wav(const char *path, struct ghostrec_takemeta *m, uint64_t *cue_frame,
			       char *err, size_t errsize)
{
	uint8_t hdr[12], ch[8];
	uint64_t ds64_data = 0, pos = 12, file_end;
	int found_bext = 0;
	struct cue_table cues = {0};
	struct stat st;

	memset(m, 0, sizeof(*m));
	*cue_frame = UINT64_MAX;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		SET_ERR("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || pread(fd, hdr, 12, 0) != 12 ||
	    (memcmp(hdr, "RIFF", 4) != 0 && memcmp(hdr, "RF64", 4) != 0) || memcmp(hdr + 8, "WAVE", 4) != 0) {
		SET_ERR("%s: not a RIFF/RF64 WAVE file", path);
		close(fd);
		return -1;
	}
	file_end = (uint64_t)st.st_size;
	while (pos + 8 <= file_end && pread(fd, ch, 8, (off_t)pos) == 8) {
		uint64_t size = rd32(ch + 4);
		if (memcmp(ch, "ds64", 4) == 0 && size >= 24) {
			uint8_t d[24];
			if (pread(fd, d, 24, (off_t)(pos + 8)) == 24)
				ds64_data = rd64(d + 8);
		} else if (memcmp(ch, "data", 4) == 0 && size == 0xFFFFFFFFu) {
			size = ds64_data;
		} else if (memcmp(ch, "bext", 4) == 0 && size >= 256) {
			char desc[257];
			if (pread(fd, desc, 256, (off_t)(pos + 8)) == 256) {
				desc[256] = 0;
				found_bext = ghostrec_takemeta_parse_bext_description(desc, m) == 0;
			}
		} else if ((memcmp(ch, "cue ", 4) == 0 || memcmp(ch, "LIST", 4) == 0) && size >= 4 &&
			   size <= META_CHUNK_MAX) {
			uint8_t *buf = malloc((size_t)size);
			if (!buf)
				cues.oom = 1;
			else if (pread(fd, buf, (size_t)size, (off_t)(pos + 8)) == (ssize_t)size) {
				if (ch[0] == 'c')
					read_cue_chunk(buf, size, &cues);
				else if (memcmp(buf, "adtl", 4) == 0)
					read_adtl(buf, size, &cues);
			}
			free(buf);
		}
		pos += 8 + size + (size & 1);
	}
	close(fd);
	for (size_t i = 0; i < cues.n && !cues.oom; i++) {
		const struct cue_info *c = &cues.c[i];
		if (c->pos == UINT32_MAX && c->label != 0)
			continue; /* a label without its cue point */
		if (c->label == 1)
			*cue_frame = c->pos;
		else if (c->label == 2 && c->region > 0 &&
			 ghostrec_takemeta_add_gap(m, c->pos, (uint64_t)c->region, c->cause) == -ENOMEM)
			cues.oom = 1;
	}
	free(cues.c);
	if (cues.oom) {
		SET_ERR("%s: out of memory reading its cue points", path);
		ghostrec_takemeta_clear(m);
		return -1;
	}
	if (!found_bext) {
		SET_ERR("%s: no ghostrec bext description", path);
		return -1;
	}
	return 0;
}
