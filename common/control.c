/* ZeroMQ control protocol: JSON build/parse and socket paths. See control.h. */
#include "control.h"
#include "rundir.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spa/utils/json.h>

static const char *const kind_names[] = {
	[GHOSTREC_CTL_HELLO] = "hello",
	[GHOSTREC_CTL_MARK] = "mark",
	[GHOSTREC_CTL_STATUS] = "status",
	[GHOSTREC_CTL_SET] = "set",
	[GHOSTREC_CTL_EV_MARKER] = "marker",
	[GHOSTREC_CTL_EV_FORMAT] = "format",
	[GHOSTREC_CTL_EV_XRUN] = "xrun",
	[GHOSTREC_CTL_EV_OVERRUN] = "overrun",
	[GHOSTREC_CTL_ERROR] = "error",
};

const char *ghostrec_ctl_kind_name(enum ghostrec_ctl_kind kind)
{
	if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return NULL;
	return kind_names[kind];
}

static bool kind_fits_type(enum ghostrec_ctl_kind kind, enum ghostrec_ctl_type type)
{
	switch (type) {
	case GHOSTREC_CTL_REQUEST:
		return kind >= GHOSTREC_CTL_HELLO && kind <= GHOSTREC_CTL_SET;
	case GHOSTREC_CTL_REPLY:
		return (kind >= GHOSTREC_CTL_HELLO && kind <= GHOSTREC_CTL_SET) ||
		       kind == GHOSTREC_CTL_ERROR;
	case GHOSTREC_CTL_EVENT:
		return kind >= GHOSTREC_CTL_EV_MARKER && kind <= GHOSTREC_CTL_EV_OVERRUN;
	default:
		return false;
	}
}

static enum ghostrec_ctl_kind kind_from_name(const char *name, enum ghostrec_ctl_type type)
{
	for (size_t k = 1; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (kind_names[k] && strcmp(kind_names[k], name) == 0 &&
		    kind_fits_type((enum ghostrec_ctl_kind)k, type))
			return (enum ghostrec_ctl_kind)k;
	return GHOSTREC_CTL_KIND_UNKNOWN;
}

void ghostrec_ctl_init(struct ghostrec_ctl_msg *m, enum ghostrec_ctl_type type,
		       enum ghostrec_ctl_kind kind)
{
	memset(m, 0, sizeof(*m));
	m->version = GHOSTREC_CTL_VERSION;
	m->type = type;
	m->kind = kind;
}

/* ---- the field table: one place that names every field and its type ---- */

enum field_type { FT_U32, FT_U64, FT_DOUBLE, FT_BOOL, FT_STRING, FT_INDEX_LIST, FT_NAME_LIST };

struct field_desc {
	const char *key;
	enum field_type type;
	uint64_t flag;
	size_t offset;
	size_t size;  /* strings: buffer size */
};

#define F(key, type, flag, member) \
	{ key, type, flag, offsetof(struct ghostrec_ctl_msg, member), \
	  sizeof(((struct ghostrec_ctl_msg *)0)->member) }

static const struct field_desc fields[] = {
	F("seq", FT_U64, GHOSTREC_CTL_F_SEQ, seq),
	F("ok", FT_BOOL, GHOSTREC_CTL_F_OK, ok),
	F("error", FT_STRING, GHOSTREC_CTL_F_ERROR, error),
	F("message", FT_STRING, GHOSTREC_CTL_F_MESSAGE, message),
	F("take_id", FT_U32, GHOSTREC_CTL_F_TAKE_ID, take_id),
	F("frame", FT_U64, GHOSTREC_CTL_F_FRAME, frame),
	F("marker_channels", FT_INDEX_LIST, GHOSTREC_CTL_F_MARKER_CHANNELS, marker_channels),
	F("node", FT_STRING, GHOSTREC_CTL_F_NODE, node),
	F("shm", FT_STRING, GHOSTREC_CTL_F_SHM, shm),
	F("rate", FT_U32, GHOSTREC_CTL_F_RATE, rate),
	F("channels", FT_U32, GHOSTREC_CTL_F_CHANNELS, channels),
	F("channel_map", FT_NAME_LIST, GHOSTREC_CTL_F_CHANNEL_MAP, channel_map),
	F("capacity", FT_U64, GHOSTREC_CTL_F_CAPACITY, capacity),
	F("generation", FT_U64, GHOSTREC_CTL_F_GENERATION, generation),
	F("write_frame", FT_U64, GHOSTREC_CTL_F_WRITE_FRAME, write_frame),
	F("marker_amplitude", FT_DOUBLE, GHOSTREC_CTL_F_MARKER_AMPLITUDE, marker_amplitude),
	F("ring_seconds", FT_DOUBLE, GHOSTREC_CTL_F_RING_SECONDS, ring_seconds),
	F("cycles", FT_U64, GHOSTREC_CTL_F_CYCLES, cycles),
	F("xruns", FT_U64, GHOSTREC_CTL_F_XRUNS, xruns),
	F("max_process_ns", FT_U64, GHOSTREC_CTL_F_MAX_PROCESS_NS, max_process_ns),
	F("overruns", FT_U64, GHOSTREC_CTL_F_OVERRUNS, overruns),
	F("format_changes", FT_U64, GHOSTREC_CTL_F_FORMAT_CHANGES, format_changes),
	F("markers", FT_U64, GHOSTREC_CTL_F_MARKERS, markers),
	F("bad_requests", FT_U64, GHOSTREC_CTL_F_BAD_REQUESTS, bad_requests),
	F("quantum", FT_U64, GHOSTREC_CTL_F_QUANTUM, quantum),
};
#undef F

/* ---- building ---- */

struct out {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	if (o->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void put_string(struct out *o, const char *s)
{
	put(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p && !o->overflow; p++) {
		if (*p == '"' || *p == '\\')
			put(o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			put(o, "\\u%04x", *p);
		else
			put(o, "%c", *p);
	}
	put(o, "\"");
}

int ghostrec_ctl_build(char *buf, size_t size, const struct ghostrec_ctl_msg *m)
{
	const char *type_key = m->type == GHOSTREC_CTL_REQUEST ? "req" :
			       m->type == GHOSTREC_CTL_REPLY ? "reply" :
			       m->type == GHOSTREC_CTL_EVENT ? "event" : NULL;
	const char *kind = ghostrec_ctl_kind_name(m->kind);
	if (!type_key || !kind || size == 0)
		return -EINVAL;
	struct out o = { buf, size, 0, false };
	put(&o, "{\"ghostrec\":%u,\"%s\":\"%s\"", m->version, type_key, kind);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field_desc *f = &fields[i];
		if (!(m->has & f->flag))
			continue;
		const char *p = (const char *)m + f->offset;
		put(&o, ",\"%s\":", f->key);
		switch (f->type) {
		case FT_U32:
			put(&o, "%" PRIu32, *(const uint32_t *)p);
			break;
		case FT_U64:
			put(&o, "%" PRIu64, *(const uint64_t *)p);
			break;
		case FT_DOUBLE: {
			double d = *(const double *)p;
			put(&o, "%.9g", isfinite(d) ? d : 0.0);
			break;
		}
		case FT_BOOL:
			put(&o, "%s", *(const bool *)p ? "true" : "false");
			break;
		case FT_STRING:
			put_string(&o, p);
			break;
		case FT_INDEX_LIST:
			put(&o, "[");
			for (uint32_t c = 0; c < m->n_marker_channels && c < GHOSTREC_CTL_MAX_CHANNELS; c++)
				put(&o, "%s%" PRIu32, c ? "," : "", m->marker_channels[c]);
			put(&o, "]");
			break;
		case FT_NAME_LIST:
			put(&o, "[");
			for (uint32_t c = 0; c < m->n_channel_map && c < GHOSTREC_CTL_MAX_CHANNELS; c++) {
				if (c)
					put(&o, ",");
				put_string(&o, m->channel_map[c]);
			}
			put(&o, "]");
			break;
		}
	}
	put(&o, "}");
	if (o.overflow)
		return -ENOSPC;
	return (int)o.len;
}

int ghostrec_ctl_build_error(char *buf, size_t size, enum ghostrec_ctl_kind kind, uint64_t seq,
			     bool has_seq, const char *code, const char *message)
{
	struct ghostrec_ctl_msg m;
	if (!kind_fits_type(kind, GHOSTREC_CTL_REPLY))
		kind = GHOSTREC_CTL_ERROR;
	ghostrec_ctl_init(&m, GHOSTREC_CTL_REPLY, kind);
	m.has = GHOSTREC_CTL_F_OK | GHOSTREC_CTL_F_ERROR | GHOSTREC_CTL_F_MESSAGE;
	if (has_seq) {
		m.seq = seq;
		m.has |= GHOSTREC_CTL_F_SEQ;
	}
	snprintf(m.error, sizeof(m.error), "%s", code);
	snprintf(m.message, sizeof(m.message), "%s", message);
	return ghostrec_ctl_build(buf, size, &m);
}

/* ---- parsing ---- */

static int fail(const char **err_code, char *err, size_t err_size, const char *code, int res,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail(const char **err_code, char *err, size_t err_size, const char *code, int res,
		const char *fmt, ...)
{
	if (err_code)
		*err_code = code;
	if (err && err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return res;
}

/* A JSON number token as an unsigned integer (no sign, no fraction, no exponent). */
static bool parse_unsigned(const char *val, int len, uint64_t max, uint64_t *out)
{
	if (len <= 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < len; i++) {
		if (val[i] < '0' || val[i] > '9')
			return false;
		uint64_t d = (uint64_t)(val[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *val, int len, double *out)
{
	char tmp[64];
	if (len <= 0 || (size_t)len >= sizeof(tmp))
		return false;
	memcpy(tmp, val, (size_t)len);
	tmp[len] = '\0';
	/* JSON numbers only: reject "nan", "inf", hex and the like that strtod accepts. */
	for (int i = 0; i < len; i++)
		if (!strchr("0123456789+-.eE", tmp[i]))
			return false;
	char *end;
	errno = 0;
	double d = strtod(tmp, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(d))
		return false;
	*out = d;
	return true;
}

/* A JSON string token; longer strings are truncated to fit dst (they are labels and messages). */
static bool parse_string(const char *val, int len, char *dst, size_t size)
{
	char tmp[1024];
	if (len < 2 || val[0] != '"' || val[len - 1] != '"' || (size_t)len >= sizeof(tmp))
		return false;
	if (spa_json_parse_stringn(val, len, tmp, (int)sizeof(tmp)) <= 0)
		return false;
	size_t n = strlen(tmp);
	if (n >= size) {
		/* Cut before a character, not inside one: the truncated text must stay valid UTF-8,
		 * or the message built from it would not parse again. */
		n = size - 1;
		while (n > 0 && ((unsigned char)tmp[n] & 0xc0) == 0x80)
			n--;
		tmp[n] = '\0';
	}
	snprintf(dst, size, "%s", tmp);
	return true;
}

static int parse_field(struct spa_json *obj, const struct field_desc *f, const char *val, int len,
		       struct ghostrec_ctl_msg *m)
{
	char *p = (char *)m + f->offset;
	uint64_t u;
	switch (f->type) {
	case FT_U32:
		if (!parse_unsigned(val, len, UINT32_MAX, &u))
			return -1;
		*(uint32_t *)p = (uint32_t)u;
		return 0;
	case FT_U64:
		if (!parse_unsigned(val, len, UINT64_MAX, &u))
			return -1;
		*(uint64_t *)p = u;
		return 0;
	case FT_DOUBLE:
		return parse_double(val, len, (double *)p) ? 0 : -1;
	case FT_BOOL:
		if (spa_json_is_true(val, len))
			*(bool *)p = true;
		else if (spa_json_is_false(val, len))
			*(bool *)p = false;
		else
			return -1;
		return 0;
	case FT_STRING:
		return parse_string(val, len, p, f->size) ? 0 : -1;
	case FT_INDEX_LIST:
	case FT_NAME_LIST: {
		struct spa_json arr;
		if (len != 1 || val[0] != '[')
			return -1;
		spa_json_enter(obj, &arr);
		uint32_t n = 0;
		const char *item;
		int ilen;
		while ((ilen = spa_json_next(&arr, &item)) > 0) {
			if (n >= GHOSTREC_CTL_MAX_CHANNELS)
				return -1;
			if (f->type == FT_INDEX_LIST) {
				if (!parse_unsigned(item, ilen, GHOSTREC_CTL_MAX_CHANNELS - 1, &u))
					return -1;
				m->marker_channels[n++] = (uint32_t)u;
			} else {
				if (!parse_string(item, ilen, m->channel_map[n], sizeof(m->channel_map[n])))
					return -1;
				n++;
			}
		}
		if (ilen < 0)
			return -1;
		if (f->type == FT_INDEX_LIST)
			m->n_marker_channels = n;
		else
			m->n_channel_map = n;
		return 0;
	}
	}
	return -1;
}

int ghostrec_ctl_parse(const void *data, size_t len, struct ghostrec_ctl_msg *m,
		       const char **err_code, char *err, size_t err_size)
{
	const char *buf = data;
	memset(m, 0, sizeof(*m));
	if (err && err_size)
		err[0] = '\0';
	if (len > GHOSTREC_CTL_MAX_MSG)
		return fail(err_code, err, err_size, "too-large", -E2BIG,
			    "message of %zu bytes exceeds the limit of %u", len, GHOSTREC_CTL_MAX_MSG);
	if (memchr(buf, '\0', len))
		return fail(err_code, err, err_size, "parse", -EPROTO, "message contains a NUL byte");

	struct spa_json it, obj;
	spa_json_init(&it, buf, len);
	if (spa_json_enter_object(&it, &obj) <= 0)
		return fail(err_code, err, err_size, "parse", -EPROTO, "message is not a JSON object");

	bool have_version = false;
	char kind_name[32] = "";
	char key[64];
	int klen;
	while ((klen = spa_json_get_string(&obj, key, sizeof(key))) > 0) {
		const char *val;
		int vlen = spa_json_next(&obj, &val);
		if (vlen <= 0)
			return fail(err_code, err, err_size, "parse", -EPROTO,
				    "field \"%.40s\" has no value", key);
		if (strcmp(key, "ghostrec") == 0) {
			uint64_t v;
			if (!parse_unsigned(val, vlen, UINT32_MAX, &v))
				return fail(err_code, err, err_size, "version", -EPROTONOSUPPORT,
					    "\"ghostrec\" must be the protocol version number");
			m->version = (uint32_t)v;
			have_version = true;
			continue;
		}
		enum ghostrec_ctl_type t = strcmp(key, "req") == 0 ? GHOSTREC_CTL_REQUEST :
					   strcmp(key, "reply") == 0 ? GHOSTREC_CTL_REPLY :
					   strcmp(key, "event") == 0 ? GHOSTREC_CTL_EVENT :
					   GHOSTREC_CTL_INVALID;
		if (t != GHOSTREC_CTL_INVALID) {
			if (m->type != GHOSTREC_CTL_INVALID)
				return fail(err_code, err, err_size, "parse", -EPROTO,
					    "more than one of req/reply/event");
			if (!parse_string(val, vlen, kind_name, sizeof(kind_name)))
				return fail(err_code, err, err_size, "parse", -EPROTO,
					    "\"%s\" must be a short string", key);
			m->type = t;
			continue;
		}
		const struct field_desc *f = NULL;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(fields[i].key, key) == 0)
				f = &fields[i];
		if (!f)
			continue; /* unknown fields are ignored (forward compatible) */
		if (m->has & f->flag)
			return fail(err_code, err, err_size, "parse", -EPROTO,
				    "field \"%s\" given twice", key);
		if (parse_field(&obj, f, val, vlen, m) < 0)
			return fail(err_code, err, err_size, "parse", -EPROTO,
				    "field \"%s\" has a bad value", key);
		m->has |= f->flag;
	}
	if (klen < 0)
		return fail(err_code, err, err_size, "parse", -EPROTO, "malformed JSON object");
	if (!have_version)
		return fail(err_code, err, err_size, "version", -EPROTONOSUPPORT,
			    "missing \"ghostrec\" protocol version");
	if (m->version != GHOSTREC_CTL_VERSION)
		return fail(err_code, err, err_size, "version", -EPROTONOSUPPORT,
			    "protocol version %u not supported (this side speaks %u)", m->version,
			    GHOSTREC_CTL_VERSION);
	if (m->type == GHOSTREC_CTL_INVALID)
		return fail(err_code, err, err_size, "parse", -EPROTO,
			    "message has none of req/reply/event");
	m->kind = kind_from_name(kind_name, m->type);
	return 0;
}

int ghostrec_ctl_check_request(const struct ghostrec_ctl_msg *m, const char **err_code, char *err,
			       size_t err_size)
{
	if (m->type != GHOSTREC_CTL_REQUEST)
		return fail(err_code, err, err_size, "unknown-request", -EPROTO,
			    "expected a request (\"req\")");
	switch (m->kind) {
	case GHOSTREC_CTL_HELLO:
	case GHOSTREC_CTL_STATUS:
		return 0;
	case GHOSTREC_CTL_MARK:
		if (!(m->has & GHOSTREC_CTL_F_TAKE_ID))
			return fail(err_code, err, err_size, "bad-argument", -EINVAL,
				    "mark needs \"take_id\" (u32)");
		return 0;
	case GHOSTREC_CTL_SET: {
		uint64_t settable = GHOSTREC_CTL_F_MARKER_AMPLITUDE | GHOSTREC_CTL_F_MARKER_CHANNELS |
				    GHOSTREC_CTL_F_RING_SECONDS;
		if (!(m->has & settable))
			return fail(err_code, err, err_size, "bad-argument", -EINVAL,
				    "set needs marker_amplitude, marker_channels and/or ring_seconds");
		if ((m->has & GHOSTREC_CTL_F_MARKER_AMPLITUDE) &&
		    !(m->marker_amplitude > 0.0 && m->marker_amplitude <= 1.0))
			return fail(err_code, err, err_size, "bad-argument", -EINVAL,
				    "marker_amplitude must be in (0, 1]");
		if ((m->has & GHOSTREC_CTL_F_MARKER_CHANNELS) && m->n_marker_channels == 0)
			return fail(err_code, err, err_size, "bad-argument", -EINVAL,
				    "marker_channels must name at least one channel");
		if ((m->has & GHOSTREC_CTL_F_RING_SECONDS) &&
		    !(m->ring_seconds >= 0.1 && m->ring_seconds <= 3600.0))
			return fail(err_code, err, err_size, "bad-argument", -EINVAL,
				    "ring_seconds must be in [0.1, 3600]");
		return 0;
	}
	default:
		return fail(err_code, err, err_size, "unknown-request", -EPROTO,
			    "unknown request kind");
	}
}

/* ---- socket paths ---- */

int ghostrec_ctl_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/pw-ghost-rec", xdg);
	else
		n = snprintf(buf, size, "/tmp/pw-ghost-rec-%u", (unsigned)getuid());
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int ghostrec_ctl_endpoint(char *buf, size_t size, const char *node_name, const char *suffix)
{
	char dir[256];
	int res = ghostrec_ctl_dir(dir, sizeof(dir));
	if (res < 0)
		return res;
	if (!node_name[0] || strchr(node_name, '/'))
		return -EINVAL;
	int n = snprintf(buf, size, "ipc://%s/%s.%s", dir, node_name, suffix);
	/* Unix socket paths are limited to sizeof(sun_path) - 1 = 107 bytes. */
	if (n < 0 || (size_t)n >= size || (size_t)n - strlen("ipc://") > 107)
		return -ENAMETOOLONG;
	return 0;
}

int ghostrec_ctl_ensure_dir(void)
{
	char dir[256];
	return ghostrec_rundir_ensure(dir, sizeof(dir), NULL, 0);
}
