/* The exporter's control socket (ZeroMQ REP): what ghostrec-ctl talks to.
 * Request: {"cmd":"status"|"takes"|"mark"|"start"|"stop"|"retry"}; reply: {"ok":true,...} or
 * {"ok":false,"error":"<code>","message":"..."} for junk, oversize or unknown commands. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spa/utils/json.h>

#include "ghostrec-config.h"
#include "exporter.h"
#include "jsonw.h"
#include "log.h"

double exporter_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void osc_counters_json(struct jsonw *jw, const struct osc_counters *c)
{
	jw_obj(jw);
	jw_key(jw, "packets"); jw_u64(jw, c->packets);
	jw_key(jw, "commands"); jw_u64(jw, c->commands);
	jw_key(jw, "ignored"); jw_u64(jw, c->ignored);
	jw_key(jw, "not_allowed"); jw_u64(jw, c->not_allowed);
	jw_key(jw, "malformed"); jw_u64(jw, c->malformed);
	jw_key(jw, "wrong_type"); jw_u64(jw, c->wrong_type);
	jw_key(jw, "oversize"); jw_u64(jw, c->oversize);
	jw_obj_end(jw);
}

int exporter_status_json(struct exporter *ex, char *buf, size_t size, const char *cmd)
{
	struct jsonw jw;
	jw_init(&jw, buf, size);
	jw_obj(&jw);
	jw_key(&jw, "ok"); jw_bool(&jw, true);
	jw_key(&jw, "cmd"); jw_str(&jw, cmd);
	jw_key(&jw, "exporter"); jw_obj(&jw);
	jw_key(&jw, "version"); jw_str(&jw, GHOSTREC_VERSION);
	jw_key(&jw, "pid"); jw_u64(&jw, (uint64_t)getpid());
	jw_key(&jw, "uptime_s"); jw_double(&jw, exporter_now() - ex->started_at);
	jw_key(&jw, "spool_dir"); jw_str(&jw, ex->cfg.spool_dir);
	jw_key(&jw, "format"); jw_str(&jw, ex->cfg.format == TAKE_FORMAT_PCM24 ? "pcm24" : "float32");
	jw_key(&jw, "preroll_s"); jw_double(&jw, ex->cfg.preroll);
	jw_key(&jw, "postroll_s"); jw_double(&jw, ex->cfg.postroll);
	jw_obj_end(&jw);
	jw_key(&jw, "osc"); jw_obj(&jw);
	jw_key(&jw, "bind"); jw_str(&jw, ex->cfg.osc_bind);
	jw_key(&jw, "port"); jw_u64(&jw, ex->osc.port);
	jw_key(&jw, "counters"); osc_counters_json(&jw, &ex->osc.dispatch.counters);
	jw_obj_end(&jw);
	jw_key(&jw, "ctl"); jw_obj(&jw);
	jw_key(&jw, "requests"); jw_u64(&jw, ex->ctl_requests);
	jw_key(&jw, "bad_requests"); jw_u64(&jw, ex->ctl_bad_requests);
	jw_key(&jw, "oversize"); jw_u64(&jw, ex->ctl_oversize);
	jw_obj_end(&jw);
	recorder_status_json(&ex->rec, &jw);
	worker_status_json(ex->worker, &jw);
	graph_watch_status_json(ex->gw, &jw);
	jw_obj_end(&jw);
	return jw_finish(&jw);
}

/* TIME for export: "frame:N" (a ring frame of the node's current timeline), "now", "-S" (S
 * seconds ago), "YYYY-MM-DDTHH:MM:SS[.fff][Z]" or "HH:MM:SS[.fff]" (today); without Z the time is
 * local, as a user reads a clock. Wall-clock results are realtime nanoseconds. */
static int parse_time(const char *s, int64_t *out, bool *is_frames, char *err, size_t errsize)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	char *end;
	*is_frames = false;
	if (!strncmp(s, "frame:", 6)) {
		errno = 0;
		unsigned long long v = strtoull(s + 6, &end, 10);
		if (errno || end == s + 6 || *end || s[6] == '-') {
			snprintf(err, errsize, "\"%s\": not a frame position (frame:N)", s);
			return -1;
		}
		*out = (int64_t)v;
		*is_frames = true;
		return 0;
	}
	if (!strcmp(s, "now")) {
		*out = now_ns;
		return 0;
	}
	if (s[0] == '-') {
		double v = strtod(s + 1, &end);
		if (end == s + 1 || (*end && strcmp(end, "s")) || !(v >= 0)) {
			snprintf(err, errsize, "\"%s\": not a number of seconds ago (-S)", s);
			return -1;
		}
		*out = now_ns - (int64_t)(v * 1e9);
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest) {
		time_t t = now.tv_sec;
		localtime_r(&t, &tm);
		rest = strptime(s, "%H:%M:%S", &tm);
	}
	if (!rest) {
		snprintf(err, errsize, "\"%s\": not a time (YYYY-MM-DDTHH:MM:SS[.fff][Z], HH:MM:SS, -S, now, frame:N)", s);
		return -1;
	}
	double frac = 0;
	if (*rest == '.') {
		frac = strtod(rest, &end);
		rest = end;
	}
	bool utc = *rest == 'Z';
	if (utc)
		rest++;
	if (*rest) {
		snprintf(err, errsize, "\"%s\": unexpected \"%s\" after the time", s, rest);
		return -1;
	}
	tm.tm_isdst = -1;
	time_t t = utc ? timegm(&tm) : mktime(&tm);
	*out = (int64_t)t * 1000000000LL + (int64_t)(frac * 1e9);
	return 0;
}

static size_t error_reply(char *reply, size_t size, const char *code, const char *message)
{
	struct jsonw jw;
	jw_init(&jw, reply, size);
	jw_obj(&jw);
	jw_key(&jw, "ok"); jw_bool(&jw, false);
	jw_key(&jw, "error"); jw_str(&jw, code);
	jw_key(&jw, "message"); jw_str(&jw, message);
	jw_obj_end(&jw);
	int n = jw_finish(&jw);
	return n < 0 ? 0 : (size_t)n;
}

static void bad_request(struct exporter *ex, const char *why)
{
	ex->ctl_bad_requests++;
	if (log_should_report(ex->ctl_bad_requests))
		log_warn("ctl: bad request: %s (%llu so far)", why, (unsigned long long)ex->ctl_bad_requests);
}

size_t ctl_server_handle(struct exporter *ex, const void *req, size_t len, char *reply, size_t size)
{
	char cmd[32] = "", key[32], node[64] = "", out[1024] = "", from[64] = "", to[64] = "";
	struct spa_json it, obj;
	const char *val;
	int vlen;

	ex->ctl_requests++;
	if (len > EXPORTER_CTL_MAX_REQUEST) {
		ex->ctl_oversize++;
		bad_request(ex, "oversize message");
		return error_reply(reply, size, "too-large", "request larger than 4096 bytes");
	}
	if (len == 0 || memchr(req, '\0', len)) {
		bad_request(ex, "empty or binary message");
		return error_reply(reply, size, "parse", "request must be a JSON object");
	}
	spa_json_init(&it, req, len);
	if (spa_json_enter_object(&it, &obj) <= 0) {
		bad_request(ex, "not a JSON object");
		return error_reply(reply, size, "parse", "request must be a JSON object");
	}
	while (spa_json_get_string(&obj, key, sizeof(key)) > 0) {
		if ((vlen = spa_json_next(&obj, &val)) <= 0)
			break;
		if (!strcmp(key, "cmd") &&
		    (!spa_json_is_string(val, vlen) || spa_json_parse_stringn(val, vlen, cmd, sizeof(cmd)) <= 0)) {
			bad_request(ex, "\"cmd\" is not a short string");
			return error_reply(reply, size, "parse", "\"cmd\" must be a string");
		}
		char *dst = !strcmp(key, "node") ? node : !strcmp(key, "out") ? out : !strcmp(key, "from") ? from :
			    !strcmp(key, "to") ? to : NULL;
		size_t dsize = dst == out ? sizeof(out) : dst == node ? sizeof(node) : sizeof(from);
		if (dst && (!spa_json_is_string(val, vlen) || spa_json_parse_stringn(val, vlen, dst, (int)dsize) <= 0)) {
			bad_request(ex, "a field is not a short string");
			return error_reply(reply, size, "parse", "\"node\", \"out\", \"from\", \"to\" must be strings");
		}
	}
	if (!cmd[0]) {
		bad_request(ex, "no \"cmd\"");
		return error_reply(reply, size, "parse", "missing \"cmd\"");
	}
	double now = exporter_now();
	if (!strcmp(cmd, "start"))
		recorder_start(&ex->rec, "ghostrec-ctl start", now);
	else if (!strcmp(cmd, "stop"))
		recorder_stop(&ex->rec, "ghostrec-ctl stop");
	else if (!strcmp(cmd, "retry"))
		worker_retry_now(ex->worker);
	else if (!strcmp(cmd, "mark")) {
		uint32_t id = 0;
		int sent = recorder_mark_only(&ex->rec, &id);
		struct jsonw jw;
		jw_init(&jw, reply, size);
		jw_obj(&jw);
		jw_key(&jw, "ok"); jw_bool(&jw, sent > 0);
		jw_key(&jw, "cmd"); jw_str(&jw, "mark");
		jw_key(&jw, "take_id"); jw_u64(&jw, id);
		jw_key(&jw, "nodes_marked"); jw_i64(&jw, sent);
		if (sent <= 0) {
			jw_key(&jw, "error"); jw_str(&jw, "no-node");
			jw_key(&jw, "message"); jw_str(&jw, "no attached node accepted the mark");
		}
		jw_obj_end(&jw);
		int n = jw_finish(&jw);
		return n < 0 ? 0 : (size_t)n;
	} else if (!strcmp(cmd, "export")) {
		char why[512] = "";
		bool frames_f = false, frames_t = false;
		int64_t f = 0, t = 0;
		if (parse_time(from, &f, &frames_f, why, sizeof(why)) < 0 ||
		    parse_time(to, &t, &frames_t, why, sizeof(why)) < 0)
			return error_reply(reply, size, "bad-range", why);
		if (frames_f != frames_t)
			return error_reply(reply, size, "bad-range", "from and to must both be times or both frames");
		if (out[0] && out[0] != '/')
			return error_reply(reply, size, "bad-range", "\"out\" must be an absolute path");
		uint32_t id = recorder_export(&ex->rec, node, frames_f, f, t, out, why, sizeof(why));
		if (!id)
			return error_reply(reply, size, "no-audio", why);
		struct jsonw jw;
		jw_init(&jw, reply, size);
		jw_obj(&jw);
		jw_key(&jw, "ok"); jw_bool(&jw, true);
		jw_key(&jw, "cmd"); jw_str(&jw, "export");
		jw_key(&jw, "take_id"); jw_u64(&jw, id);
		jw_obj_end(&jw);
		int n = jw_finish(&jw);
		return n < 0 ? 0 : (size_t)n;
	} else if (strcmp(cmd, "status") != 0 && strcmp(cmd, "takes") != 0) {
		bad_request(ex, "unknown command");
		return error_reply(reply, size, "unknown-command",
				   "commands: status, takes, mark, start, stop, retry, export");
	}
	int n = exporter_status_json(ex, reply, size, cmd);
	if (n < 0)
		return error_reply(reply, size, "internal", "status does not fit the reply buffer");
	return (size_t)n;
}
