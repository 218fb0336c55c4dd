/* Take state machine and its persisted form (see take.h). */
#include "take.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <spa/utils/json.h>

#include "common/fileio.h"
#include "common/takemeta.h"
#include "jsonw.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)

static const char *const state_names[] = {
	[TAKE_ARMED] = "armed", [TAKE_RECORDING] = "recording", [TAKE_POSTROLL] = "postroll",
	[TAKE_SPOOLED] = "spooled", [TAKE_FAILED] = "failed",
};

const char *take_state_name(enum take_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

void take_begin(struct take *t, uint32_t take_id, const char *node, enum take_format format,
		bool split_channels, uint32_t rate, uint32_t channels, uint64_t generation,
		double preroll_s, double postroll_s)
{
	memset(t, 0, sizeof(*t));
	t->take_id = take_id;
	snprintf(t->node, sizeof(t->node), "%s", node);
	t->state = TAKE_ARMED;
	t->format = format;
	t->split_channels = split_channels;
	ghostrec_takemeta_now_utc(t->start_utc, sizeof(t->start_utc));
	t->rate = rate;
	t->channels = channels > TAKE_MAX_CHANNELS ? TAKE_MAX_CHANNELS : channels;
	t->generation = generation;
	t->preroll_frames = (uint64_t)llround(preroll_s * rate);
	t->postroll_frames = (uint64_t)llround(postroll_s * rate);
}

static void enter_postroll(struct take *t, uint64_t write_frame)
{
	/* the stop cannot come before the marker: a take always contains its marker */
	t->stop_frame = write_frame > t->marker_frame ? write_frame : t->marker_frame;
	t->end_frame = t->stop_frame + t->postroll_frames;
	t->state = TAKE_POSTROLL;
}

uint64_t take_marked(struct take *t, uint64_t marker_frame, uint64_t oldest_frame)
{
	uint64_t want = marker_frame > t->preroll_frames ? marker_frame - t->preroll_frames : 0;
	if (t->state != TAKE_ARMED)
		return 0;
	t->marker_frame = marker_frame;
	t->start_frame = want < oldest_frame ? oldest_frame : want;
	if (t->start_frame > marker_frame)
		t->start_frame = marker_frame;
	t->lost_frames = t->start_frame - want;
	t->state = TAKE_RECORDING;
	if (t->stop_pending)
		enter_postroll(t, t->stop_pending_frame);
	return t->lost_frames;
}

bool take_stop(struct take *t, uint64_t write_frame)
{
	switch (t->state) {
	case TAKE_ARMED:
		if (t->stop_pending)
			return false;
		t->stop_pending = true;
		t->stop_pending_frame = write_frame;
		return true;
	case TAKE_RECORDING:
		enter_postroll(t, write_frame);
		return true;
	default:
		return false;
	}
}

uint64_t take_spool_limit(const struct take *t, uint64_t write_frame)
{
	switch (t->state) {
	case TAKE_RECORDING:
		return write_frame;
	case TAKE_POSTROLL:
		return write_frame < t->end_frame ? write_frame : t->end_frame;
	default:
		return t->start_frame + t->spooled;
	}
}

bool take_add_spooled(struct take *t, uint64_t n)
{
	t->spooled += n;
	if (t->state == TAKE_POSTROLL && t->start_frame + t->spooled >= t->end_frame) {
		t->state = TAKE_SPOOLED;
		return true;
	}
	return false;
}

void take_add_gap(struct take *t, uint64_t frame, uint64_t frames, const char *cause)
{
	if (frames == 0)
		return;
	t->lost_frames += frames;
	struct take_gap *last = t->n_gaps ? &t->gaps[t->n_gaps - 1] : NULL;
	if (last && (last->frame + last->frames == frame || t->n_gaps == TAKE_MAX_GAPS)) {
		last->frames = frame + frames - last->frame;
		return;
	}
	struct take_gap *g = &t->gaps[t->n_gaps++];
	g->frame = frame;
	g->frames = frames;
	snprintf(g->cause, sizeof(g->cause), "%s", cause && *cause ? cause : "other");
}

int take_to_json(const struct take *t, char *buf, size_t size)
{
	struct jsonw w;
	jw_init(&w, buf, size);
	jw_obj(&w);
	jw_key(&w, "take_id"); jw_u64(&w, t->take_id);
	jw_key(&w, "node"); jw_str(&w, t->node);
	jw_key(&w, "state"); jw_str(&w, take_state_name(t->state));
	jw_key(&w, "format"); jw_str(&w, t->format == TAKE_FORMAT_PCM24 ? "pcm24" : "float32");
	jw_key(&w, "split_channels"); jw_bool(&w, t->split_channels);
	jw_key(&w, "start_utc"); jw_str(&w, t->start_utc);
	jw_key(&w, "rate"); jw_u64(&w, t->rate);
	jw_key(&w, "channels"); jw_u64(&w, t->channels);
	jw_key(&w, "channel_map"); jw_arr(&w);
	for (uint32_t c = 0; c < t->channels; c++)
		jw_str(&w, t->channel_map[c]);
	jw_arr_end(&w);
	jw_key(&w, "generation"); jw_u64(&w, t->generation);
	jw_key(&w, "request_frame"); jw_u64(&w, t->request_frame);
	jw_key(&w, "marker_missing"); jw_bool(&w, t->marker_missing);
	jw_key(&w, "preroll_frames"); jw_u64(&w, t->preroll_frames);
	jw_key(&w, "postroll_frames"); jw_u64(&w, t->postroll_frames);
	jw_key(&w, "marker_frame"); jw_u64(&w, t->marker_frame);
	jw_key(&w, "start_frame"); jw_u64(&w, t->start_frame);
	jw_key(&w, "stop_frame"); jw_u64(&w, t->stop_frame);
	jw_key(&w, "end_frame"); jw_u64(&w, t->end_frame);
	jw_key(&w, "stop_pending"); jw_bool(&w, t->stop_pending);
	jw_key(&w, "stop_pending_frame"); jw_u64(&w, t->stop_pending_frame);
	jw_key(&w, "lost_frames"); jw_u64(&w, t->lost_frames);
	jw_key(&w, "instance"); jw_u64(&w, t->instance);
	jw_key(&w, "spooled"); jw_u64(&w, t->spooled);
	jw_key(&w, "stop_unknown"); jw_bool(&w, t->stop_unknown);
	jw_key(&w, "is_export"); jw_bool(&w, t->is_export);
	jw_key(&w, "export_path"); jw_str(&w, t->export_path);
	jw_key(&w, "gaps"); jw_arr(&w);
	for (unsigned i = 0; i < t->n_gaps; i++) {
		jw_obj(&w);
		jw_key(&w, "frame"); jw_u64(&w, t->gaps[i].frame);
		jw_key(&w, "frames"); jw_u64(&w, t->gaps[i].frames);
		jw_key(&w, "cause"); jw_str(&w, t->gaps[i].cause);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return jw_finish(&w);
}

static int parse_state(const char *s, enum take_state *out)
{
	for (unsigned i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(s, state_names[i])) {
			*out = (enum take_state)i;
			return 0;
		}
	return -1;
}

int take_from_json(struct take *t, const char *json, size_t len, char *err, size_t errsize)
{
	struct spa_json it, obj;
	char key[64], str[128];
	const char *val;
	int vlen;
	uint64_t v;
	unsigned have = 0, n_map = 0;
	static const struct { const char *name; size_t off; uint64_t max; } nums[] = {
		{ "rate", offsetof(struct take, rate), 1000000 },
		{ "channels", offsetof(struct take, channels), TAKE_MAX_CHANNELS },
		{ "take_id", offsetof(struct take, take_id), UINT32_MAX },
		{ "generation", offsetof(struct take, generation), UINT64_MAX },
		{ "preroll_frames", offsetof(struct take, preroll_frames), UINT64_MAX },
		{ "postroll_frames", offsetof(struct take, postroll_frames), UINT64_MAX },
		{ "marker_frame", offsetof(struct take, marker_frame), UINT64_MAX },
		{ "start_frame", offsetof(struct take, start_frame), UINT64_MAX },
		{ "stop_frame", offsetof(struct take, stop_frame), UINT64_MAX },
		{ "end_frame", offsetof(struct take, end_frame), UINT64_MAX },
		{ "stop_pending_frame", offsetof(struct take, stop_pending_frame), UINT64_MAX },
		{ "lost_frames", offsetof(struct take, lost_frames), UINT64_MAX },
		{ "request_frame", offsetof(struct take, request_frame), UINT64_MAX },
		{ "instance", offsetof(struct take, instance), UINT64_MAX },
		{ "spooled", offsetof(struct take, spooled), UINT64_MAX },
	};

	memset(t, 0, sizeof(*t));
	spa_json_init(&it, json, len);
	if (spa_json_enter_object(&it, &obj) <= 0) {
		SET_ERR("not a JSON object");
		return -1;
	}
	while (spa_json_get_string(&obj, key, sizeof(key)) > 0) {
		if ((vlen = spa_json_next(&obj, &val)) <= 0)
			break;
		bool done = false;
		for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			if (strcmp(key, nums[i].name))
				continue;
			if (ghostrec_json_parse_u64(val, vlen, nums[i].max, &v) < 0) {
				SET_ERR("\"%s\" is not a valid number", key);
				return -1;
			}
			if (i < 3)
				*(uint32_t *)((char *)t + nums[i].off) = (uint32_t)v;
			else
				*(uint64_t *)((char *)t + nums[i].off) = v;
			have |= 1u << i;
			done = true;
		}
		if (done)
			continue;
		if (!strcmp(key, "split_channels")) {
			t->split_channels = spa_json_is_true(val, vlen);
		} else if (!strcmp(key, "stop_pending")) {
			t->stop_pending = spa_json_is_true(val, vlen);
		} else if (!strcmp(key, "marker_missing")) {
			t->marker_missing = spa_json_is_true(val, vlen);
		} else if (!strcmp(key, "stop_unknown")) {
			t->stop_unknown = spa_json_is_true(val, vlen);
		} else if (!strcmp(key, "is_export")) {
			t->is_export = spa_json_is_true(val, vlen);
		} else if (!strcmp(key, "export_path") && spa_json_is_string(val, vlen)) {
			spa_json_parse_stringn(val, vlen, t->export_path, sizeof(t->export_path));
		} else if (!strcmp(key, "gaps") && spa_json_is_array(val, vlen)) {
			struct spa_json arr, go;
			spa_json_enter(&obj, &arr);
			while (spa_json_enter_object(&arr, &go) > 0 && t->n_gaps < TAKE_MAX_GAPS) {
				struct take_gap g = { 0 };
				char gk[32];
				const char *gv;
				int gl;
				while (spa_json_get_string(&go, gk, sizeof(gk)) > 0 && (gl = spa_json_next(&go, &gv)) > 0) {
					if (!strcmp(gk, "frame"))
						ghostrec_json_parse_u64(gv, gl, UINT64_MAX, &g.frame);
					else if (!strcmp(gk, "frames"))
						ghostrec_json_parse_u64(gv, gl, UINT64_MAX, &g.frames);
					else if (!strcmp(gk, "cause") && spa_json_is_string(gv, gl))
						spa_json_parse_stringn(gv, gl, g.cause, sizeof(g.cause));
				}
				if (g.frames)
					t->gaps[t->n_gaps++] = g;
			}
		} else if (!strcmp(key, "channel_map") && spa_json_is_array(val, vlen)) {
			struct spa_json arr;
			const char *s;
			int slen;
			spa_json_enter(&obj, &arr);
			while ((slen = spa_json_next(&arr, &s)) > 0 && n_map < TAKE_MAX_CHANNELS)
				if (spa_json_parse_stringn(s, slen, t->channel_map[n_map], sizeof(t->channel_map[0])) > 0)
					n_map++;
		} else if (!strcmp(key, "node") && spa_json_is_string(val, vlen)) {
			spa_json_parse_stringn(val, vlen, t->node, sizeof(t->node));
		} else if (!strcmp(key, "start_utc") && spa_json_is_string(val, vlen)) {
			spa_json_parse_stringn(val, vlen, t->start_utc, sizeof(t->start_utc));
		} else if (spa_json_is_string(val, vlen) &&
			   spa_json_parse_stringn(val, vlen, str, sizeof(str)) > 0) {
			if (!strcmp(key, "format"))
				t->format = !strcmp(str, "pcm24") ? TAKE_FORMAT_PCM24 : TAKE_FORMAT_FLOAT32;
			else if (!strcmp(key, "state") && parse_state(str, &t->state) < 0) {
				SET_ERR("unknown state \"%s\"", str);
				return -1;
			}
		}
	}
	if ((have & 7u) != 7u || !t->node[0] || t->rate == 0 || t->channels == 0) {
		SET_ERR("missing take_id, node, rate or channels");
		return -1;
	}
	return 0;
}

int take_save(const struct take *t, const char *path)
{
	char buf[16384], tmp[4200];
	int n = take_to_json(t, buf, sizeof(buf) - 1);
	if (n < 0)
		return -EOVERFLOW;
	buf[n++] = '\n';
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int e = ghostrec_write_all(fd, buf, (size_t)n);
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	if (e == 0 && rename(tmp, path) < 0)
		e = -errno;
	if (e < 0)
		unlink(tmp);
	return e;
}

int take_load(struct take *t, const char *path, char *err, size_t errsize)
{
	char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		SET_ERR("%s", strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n == (ssize_t)sizeof(buf)) {
		SET_ERR("empty or oversized state file");
		return -1;
	}
	return take_from_json(t, buf, (size_t)n, err, errsize);
}
