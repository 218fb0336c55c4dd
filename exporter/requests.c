/* REAPER's requests (see requests.h). */
#include "requests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spa/utils/json.h>

#include "common/fileio.h"
#include "common/journal_find.h"
#include "common/takemeta.h"
#include "jsonw.h"
#include "log.h"

#define PREFIX "ghostrec-request-"
#define ANSWER "ghostrec-answer-"

struct request {
	char id[66];
	char node[64];
	uint32_t rate;
	int bits;
	int64_t take_frames;
	struct ghostrec_jfind_probe probes[GHOSTREC_JFIND_MAX_PROBES];
	float *samples;     /* GHOSTREC_JFIND_MAX_PROBES * GHOSTREC_JFIND_PROBE_FRAMES */
	size_t n_probes;
};

static int valid_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int parse_u64(const char *v, int len, uint64_t *out)
{
	char tmp[32];
	if (len <= 0 || len >= (int)sizeof(tmp))
		return -1;
	memcpy(tmp, v, (size_t)len);
	tmp[len] = '\0';
	char *end;
	errno = 0;
	unsigned long long x = strtoull(tmp, &end, 10);
	if (errno || *end || tmp[0] == '-')
		return -1;
	*out = x;
	return 0;
}

static int parse_probes(struct spa_json *arr, struct request *q, char *why, size_t wsize)
{
	struct spa_json obj;
	while (spa_json_enter_object(arr, &obj) > 0) {
		if (q->n_probes == GHOSTREC_JFIND_MAX_PROBES) {
			snprintf(why, wsize, "more than %u probes", GHOSTREC_JFIND_MAX_PROBES);
			return -1;
		}
		struct ghostrec_jfind_probe *p = &q->probes[q->n_probes];
		float *x = q->samples + q->n_probes * GHOSTREC_JFIND_PROBE_FRAMES;
		uint64_t tf = 0;
		int have_tf = 0;
		uint32_t n = 0;
		char key[32];
		while (spa_json_get_string(&obj, key, sizeof(key)) > 0) {
			const char *v;
			int vl;
			if (!strcmp(key, "take_frame")) {
				if ((vl = spa_json_next(&obj, &v)) <= 0 || parse_u64(v, vl, &tf) < 0 || tf > INT64_MAX / 2) {
					snprintf(why, wsize, "probe %zu: take_frame is not a frame number", q->n_probes);
					return -1;
				}
				have_tf = 1;
			} else if (!strcmp(key, "samples")) {
				struct spa_json s;
				if (spa_json_enter_array(&obj, &s) <= 0) {
					snprintf(why, wsize, "probe %zu: samples is not an array", q->n_probes);
					return -1;
				}
				float f;
				int r;
				while ((r = spa_json_get_float(&s, &f)) > 0) {
					if (n == GHOSTREC_JFIND_PROBE_FRAMES || !(f >= -2.0f && f <= 2.0f)) {
						snprintf(why, wsize, "probe %zu: more than %u samples, or one out of range",
							 q->n_probes, GHOSTREC_JFIND_PROBE_FRAMES);
						return -1;
					}
					x[n++] = f;
				}
				if (r < 0) {
					snprintf(why, wsize, "probe %zu: a sample is not a number", q->n_probes);
					return -1;
				}
			} else if (spa_json_next(&obj, &v) <= 0) {
				break;
			}
		}
		if (!have_tf || n < GHOSTREC_JCONTENT_WINDOW) {
			snprintf(why, wsize, "probe %zu needs take_frame and at least %u samples", q->n_probes,
				 GHOSTREC_JCONTENT_WINDOW);
			return -1;
		}
		*p = (struct ghostrec_jfind_probe){ (int64_t)tf, x, n };
		q->n_probes++;
	}
	return 0;
}

static int parse(const char *buf, size_t len, struct request *q, char *why, size_t wsize)
{
	struct spa_json it, obj;
	spa_json_init(&it, buf, len);
	if (spa_json_enter_object(&it, &obj) <= 0) {
		snprintf(why, wsize, "not a JSON object");
		return -1;
	}
	char key[64];
	int version = 0;
	while (spa_json_get_string(&obj, key, sizeof(key)) > 0) {
		const char *v;
		int vl;
		uint64_t u;
		if (!strcmp(key, "probes")) {
			struct spa_json arr;
			if (spa_json_enter_array(&obj, &arr) <= 0) {
				snprintf(why, wsize, "probes is not an array");
				return -1;
			}
			if (parse_probes(&arr, q, why, wsize) < 0)
				return -1;
			continue;
		}
		if ((vl = spa_json_next(&obj, &v)) <= 0)
			break;
		if (!strcmp(key, "ghostrec_request")) {
			version = parse_u64(v, vl, &u) == 0 ? (int)u : -1;
		} else if (!strcmp(key, "id") || !strcmp(key, "node")) {
			char s[66];
			if (!spa_json_is_string(v, vl) || spa_json_parse_stringn(v, vl, s, sizeof(s)) <= 0 ||
			    (!strcmp(key, "id") && !valid_id(s))) {
				snprintf(why, wsize, "%s must be a string%s", key,
					 strcmp(key, "id") ? "" : " of letters, digits, '-', '_', '.' (at most 64)");
				return -1;
			}
			if (!strcmp(key, "id"))
				memcpy(q->id, s, sizeof(q->id) - 1); /* valid_id: at most 64 */
			else if (strlen(s) < sizeof(q->node))
				memcpy(q->node, s, strlen(s) + 1);
			else {
				snprintf(why, wsize, "node: no such node name");
				return -1;
			}
		} else if (!strcmp(key, "rate")) {
			if (parse_u64(v, vl, &u) < 0 || u < 8000 || u > 768000) {
				snprintf(why, wsize, "rate is not a sample rate");
				return -1;
			}
			q->rate = (uint32_t)u;
		} else if (!strcmp(key, "bits")) {
			if (parse_u64(v, vl, &u) < 0 || (u != 16 && u != 24 && u != 32)) {
				snprintf(why, wsize, "bits must be 16, 24 or 32 (float)");
				return -1;
			}
			q->bits = (int)u;
		} else if (!strcmp(key, "take_frames")) {
			if (parse_u64(v, vl, &u) < 0 || u > INT64_MAX / 4) {
				snprintf(why, wsize, "take_frames is not a frame count");
				return -1;
			}
			q->take_frames = (int64_t)u;
		}
	}
	if (version != 1) {
		snprintf(why, wsize, "not a ghostrec request (\"ghostrec_request\": 1)");
		return -1;
	}
	if (!q->rate || !q->take_frames || !q->n_probes) {
		snprintf(why, wsize, "a request needs rate, take_frames and probes");
		return -1;
	}
	return 0;
}

int requests_answer(struct recorder *r, const char *req, size_t len, const char *fallback_id, char *answer,
		    size_t size, char *id, size_t idsize)
{
	struct request q;
	memset(&q, 0, sizeof(q));
	q.bits = 32;
	char why[256] = "", where[128] = "";
	const char *status = "error";
	uint32_t take_id = 0;
	uint64_t from = 0, to = 0;
	struct ghostrec_jfind_result best = { 0 };
	int best_n = -1;
	q.samples = malloc(sizeof(float) * GHOSTREC_JFIND_MAX_PROBES * GHOSTREC_JFIND_PROBE_FRAMES);
	if (!q.samples) {
		snprintf(why, sizeof(why), "out of memory");
	} else if (parse(req, len, &q, why, sizeof(why)) == 0) {
		double tol = ghostrec_jfind_tolerance(q.bits);
		for (unsigned n = 0; n < r->n_nodes; n++) {
			if (!r->caps[n].open || (q.node[0] && strcmp(q.node, r->nodes[n].name)))
				continue;
			struct ghostrec_jfind_result res;
			char err[256];
			int f = ghostrec_journal_find(&r->caps[n].j, q.probes, q.n_probes, tol, q.rate, q.take_frames, &res,
						      err, sizeof(err));
			if (f < 0)
				log_warn("request: node %s: %s", r->nodes[n].name, err);
			if (f == 1 && (best_n < 0 || res.probes_found > best.probes_found)) {
				best = res;
				best_n = (int)n;
			}
		}
		if (best_n < 0) {
			status = "not-found";
			snprintf(why, sizeof(why), "the take's audio is not in the journal%s%s", q.node[0] ? " of node " : "",
				 q.node);
		} else if (ghostrec_jfind_range(&r->caps[best_n].j, &best, q.take_frames, &from, &to) < 0) {
			status = "not-found";
			snprintf(why, sizeof(why), "the journal no longer holds the take's range");
		} else if ((take_id = recorder_export_range(r, (unsigned)best_n, best.instance, from, to, why,
							   sizeof(why))) == 0) {
			status = "error";
		} else {
			status = "found";
			snprintf(where, sizeof(where), "%s", r->nodes[best_n].name);
		}
	}
	free(q.samples);
	snprintf(id, idsize, "%s", q.id[0] ? q.id : fallback_id);
	struct jsonw jw;
	jw_init(&jw, answer, size);
	jw_obj(&jw);
	jw_key(&jw, "ghostrec_answer"); jw_u64(&jw, 1);
	jw_key(&jw, "id"); jw_str(&jw, id);
	jw_key(&jw, "status"); jw_str(&jw, status);
	if (take_id) {
		char name[64];
		jw_key(&jw, "take_id"); jw_u64(&jw, take_id);
		ghostrec_take_wav_name(name, sizeof(name), take_id, -1);
		jw_key(&jw, "file"); jw_str(&jw, name);
		ghostrec_take_sidecar_name(name, sizeof(name), take_id);
		jw_key(&jw, "sidecar"); jw_str(&jw, name);
		jw_key(&jw, "node"); jw_str(&jw, where);
		char inst[24];
		snprintf(inst, sizeof(inst), "%016" PRIx64, best.instance);
		jw_key(&jw, "timeline"); jw_str(&jw, inst);
		jw_key(&jw, "journal_from"); jw_u64(&jw, from);
		jw_key(&jw, "journal_to"); jw_u64(&jw, to);
		jw_key(&jw, "channel"); jw_u64(&jw, best.channel);
		jw_key(&jw, "probes"); jw_u64(&jw, best.probes);
		jw_key(&jw, "probes_found"); jw_u64(&jw, best.probes_found);
	} else {
		jw_key(&jw, "reason"); jw_str(&jw, why);
	}
	jw_obj_end(&jw);
	int n = jw_finish(&jw);
	log_info("request %s: %s%s%s", id, status, take_id ? "" : ": ", take_id ? "" : why);
	if (take_id)
		log_info("request %s: take %" PRIu32 " from node %s frames %" PRIu64 "..%" PRIu64 " (%zu of %zu probes)", id,
			 take_id, where, from, to, best.probes_found, best.probes);
	return n;
}

static char *read_file(int dfd, const char *name, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= REQUESTS_MAX_BYTES) {
		buf = malloc((size_t)st.st_size + 1);
		ssize_t n = buf ? pread(fd, buf, (size_t)st.st_size, 0) : -1;
		if (n != st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	close(fd);
	return buf;
}

static void write_answer(int dfd, const char *id, const char *text, size_t len, unsigned mode)
{
	char name[128], tmp[140];
	snprintf(name, sizeof(name), ANSWER "%s.json", id);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return;
	int e = ghostrec_write_all(fd, text, len);
	if (e == 0 && (ghostrec_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0))
		e = -1;
	close(fd);
	if (e < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		log_err("request %s: cannot write its answer %s", id, name);
		unlinkat(dfd, tmp, 0);
	}
}

void requests_poll(struct recorder *r, double now)
{
	static double last;
	if (!r->cfg->outbox[0] || now - last < REQUESTS_POLL_S)
		return;
	last = now;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/" REQUESTS_DIR, r->cfg->outbox);
	unsigned dmode = r->cfg->outbox_mode & 0040 ? 0750 : 0700;
	if (mkdir(dir, dmode) < 0 && errno != EEXIST)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char *answer = malloc(8192);
	while (answer && (e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) || nl < strlen(PREFIX) + 6 ||
		    strcmp(e->d_name + nl - 5, ".json"))
			continue;
		char fallback[80];
		snprintf(fallback, sizeof(fallback), "%.*s", (int)(nl - strlen(PREFIX) - 5), e->d_name + strlen(PREFIX));
		if (!valid_id(fallback))
			snprintf(fallback, sizeof(fallback), "unnamed");
		size_t len = 0;
		char *req = read_file(dirfd(d), e->d_name, &len);
		char id[80];
		int n = requests_answer(r, req ? req : "", req ? len : 0, fallback, answer, 8192, id, sizeof(id));
		free(req);
		if (n > 0)
			write_answer(dirfd(d), id, answer, (size_t)n, r->cfg->outbox_mode);
		/* answered (or unreadable): it is not served twice */
		unlinkat(dirfd(d), e->d_name, 0);
	}
	free(answer);
	closedir(d);
}
