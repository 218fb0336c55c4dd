/* Clean-take metadata: sidecar JSON, bext description, RIFF cue point (see takemeta.h). */
#include "takemeta.h"

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
	r |= put(buf, size, &pos, "}");
	return r ? -1 : (int)pos;
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

int ghostrec_takemeta_from_json(const char *json, size_t len, struct ghostrec_takemeta *m,
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
	char buf[4096];
	int n = ghostrec_takemeta_to_json(m, buf, sizeof(buf) - 1);
	if (n < 0)
		return -EOVERFLOW;
	buf[n++] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, buf, (size_t)n);
	int e = w == n ? 0 : (w < 0 ? -errno : -EIO);
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	return e;
}

int ghostrec_takemeta_read_sidecar(const char *path, struct ghostrec_takemeta *m,
				   char *err, size_t errsize)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		SET_ERR("%s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf)) {
		SET_ERR("%s: %s", path, n < 0 ? strerror(errno) : "too large for a sidecar");
		return -1;
	}
	return ghostrec_takemeta_from_json(buf, (size_t)n, m, err, errsize);
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

int ghostrec_takemeta_append_cue(const char *path, uint64_t frame)
{
	uint8_t hdr[28], chunks[128];
	static const char label[] = GHOSTREC_TAKEMETA_CUE_LABEL;
	size_t n = 0;
	int fd, e = 0;
	struct stat st;

	if (frame > UINT32_MAX)
		return -ERANGE; /* cue positions are 32-bit; the bext + sidecar still carry it */
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
	if (st.st_size & 1)
		chunks[n++] = 0; /* pad byte of an odd-sized data chunk */
	/* cue chunk: count, then {id, position, fccChunk, chunkStart, blockStart, sampleOffset} */
	memcpy(chunks + n, "cue ", 4); le32(chunks + n + 4, 4 + 24); n += 8;
	le32(chunks + n, 1); n += 4;
	le32(chunks + n, 1); le32(chunks + n + 4, (uint32_t)frame); memcpy(chunks + n + 8, "data", 4);
	le32(chunks + n + 12, 0); le32(chunks + n + 16, 0); le32(chunks + n + 20, (uint32_t)frame);
	n += 24;
	/* LIST/adtl/labl: the cue's name */
	uint32_t labl_size = 4 + (uint32_t)sizeof(label); /* cue id + text with NUL */
	uint32_t labl_padded = labl_size + (labl_size & 1);
	memcpy(chunks + n, "LIST", 4); le32(chunks + n + 4, 4 + 8 + labl_padded); n += 8;
	memcpy(chunks + n, "adtl", 4); n += 4;
	memcpy(chunks + n, "labl", 4); le32(chunks + n + 4, labl_size); n += 8;
	le32(chunks + n, 1); memcpy(chunks + n + 4, label, sizeof(label)); n += labl_size;
	if (labl_size & 1)
		chunks[n++] = 0;

	uint64_t new_size = (uint64_t)st.st_size + n;
	if (!rf64 && new_size - 8 > UINT32_MAX) {
		e = -EFBIG;
		goto out;
	}
	if (pwrite(fd, chunks, n, st.st_size) != (ssize_t)n) {
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
	close(fd);
	return e;
}

int ghostrec_takemeta_read_wav(const char *path, struct ghostrec_takemeta *m, uint64_t *cue_frame,
			       char *err, size_t errsize)
{
	uint8_t hdr[12], ch[8];
	uint64_t ds64_data = 0, pos = 12, file_end;
	int found_bext = 0;
	uint32_t marker_cue_id = 0;
	uint32_t cue_ids[16], cue_pos[16], n_cues = 0;
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
		} else if (memcmp(ch, "cue ", 4) == 0 && size >= 4) {
			uint8_t buf[4 + 16 * 24];
			size_t want = size < sizeof(buf) ? (size_t)size : sizeof(buf);
			if (pread(fd, buf, want, (off_t)(pos + 8)) == (ssize_t)want) {
				uint32_t count = rd32(buf);
				for (uint32_t i = 0; i < count && n_cues < 16 && 4 + (i + 1) * 24 <= want; i++) {
					cue_ids[n_cues] = rd32(buf + 4 + i * 24);
					cue_pos[n_cues] = rd32(buf + 4 + i * 24 + 20); /* sample offset */
					n_cues++;
				}
			}
		} else if (memcmp(ch, "LIST", 4) == 0 && size >= 4 && size <= 65536) {
			uint8_t *buf = malloc((size_t)size);
			if (buf && pread(fd, buf, (size_t)size, (off_t)(pos + 8)) == (ssize_t)size &&
			    memcmp(buf, "adtl", 4) == 0) {
				for (uint64_t p = 4; p + 8 <= size;) {
					uint32_t sub = rd32(buf + p + 4);
					if (p + 8 + sub > size)
						break;
					if (memcmp(buf + p, "labl", 4) == 0 && sub >= 4 + sizeof(GHOSTREC_TAKEMETA_CUE_LABEL) &&
					    memcmp(buf + p + 12, GHOSTREC_TAKEMETA_CUE_LABEL,
						   sizeof(GHOSTREC_TAKEMETA_CUE_LABEL)) == 0)
						marker_cue_id = rd32(buf + p + 8);
					p += 8 + sub + (sub & 1);
				}
			}
			free(buf);
		}
		pos += 8 + size + (size & 1);
	}
	close(fd);
	for (uint32_t i = 0; i < n_cues; i++)
		if (marker_cue_id != 0 && cue_ids[i] == marker_cue_id)
			*cue_frame = cue_pos[i];
	if (!found_bext) {
		SET_ERR("%s: no ghostrec bext description", path);
		return -1;
	}
	return 0;
}
