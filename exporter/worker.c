/* Finalize + delivery thread (see worker.h). */
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/takemeta.h"
#include "log.h"
#include "osc.h"
#include "sendahead.h"
#include "spool.h"

#define MAX_HISTORY 32
#define MAX_AHEAD 8                   /* takes recorded at once (two nodes, exports: a few) */
#define AHEAD_STEP_BYTES (4u << 20)   /* sent in one go, so a finished take never waits long */

struct entry {
	uint32_t take_id;
	bool finalizing;
	unsigned attempts;
	double next_try;      /* CLOCK_MONOTONIC seconds */
	double backoff;
	char last_error[256];
	uint64_t frames;
	unsigned done_mask;   /* bit i: target i confirmed */
	char export_path[1024]; /* ghostrec-ctl export -o: the WAV goes here too */
	bool exported;
};

/* A take being sent ahead (sendahead.h). The recorder's side (dir, stable_frames, submitted,
 * dropped) is written under the worker's lock; `sa` belongs to the worker's thread. */
struct ahead {
	uint32_t take_id;
	char dir[4200];
	uint64_t stable_frames;
	bool submitted; /* finished and queued: its delivery sends the rest */
	bool dropped;
	struct sendahead sa;
};

struct delivered {
	uint32_t take_id;
	uint64_t frames;
	char when_utc[40];
};

struct worker {
	const struct exporter_config *cfg;
	struct deliver_target *targets[4];
	unsigned n_targets;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;

	struct entry *entries;  /* every queued take: never capped */
	unsigned n_entries, cap_entries;
	struct delivered history[MAX_HISTORY];
	unsigned n_history;
	struct worker_counters counters;
	char reaper_host[128];
	struct ahead *ahead[MAX_AHEAD];
	unsigned n_ahead;
	bool any_put_part; /* some target takes parts of files */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Locked. */
static struct entry *add_entry(struct worker *w, uint32_t take_id)
{
	for (unsigned i = 0; i < w->n_entries; i++)
		if (w->entries[i].take_id == take_id)
			return &w->entries[i];
	if (w->n_entries == w->cap_entries) {
		unsigned nc = w->cap_entries ? w->cap_entries * 2 : 64;
		struct entry *p = realloc(w->entries, nc * sizeof(*p));
		if (!p)
			return NULL;
		w->entries = p;
		w->cap_entries = nc;
	}
	struct entry *e = &w->entries[w->n_entries++];
	memset(e, 0, sizeof(*e));
	e->take_id = take_id;
	e->backoff = 1.0;
	e->next_try = 0;
	return e;
}

static void remove_entry(struct worker *w, uint32_t take_id)
{
	for (unsigned i = 0; i < w->n_entries; i++)
		if (w->entries[i].take_id == take_id) {
			w->entries[i] = w->entries[--w->n_entries];
			return;
		}
}

/* Locked. */
static struct ahead *find_ahead(struct worker *w, uint32_t take_id)
{
	for (unsigned i = 0; i < w->n_ahead; i++)
		if (w->ahead[i]->take_id == take_id)
			return w->ahead[i];
	return NULL;
}

/* Locked; the worker's thread only (it owns the files). Closes them, removes nothing remote. */
static void free_ahead(struct worker *w, struct ahead *a)
{
	for (unsigned i = 0; i < w->n_ahead; i++)
		if (w->ahead[i] == a) {
			w->ahead[i] = w->ahead[--w->n_ahead];
			break;
		}
	sendahead_close(&a->sa, w->targets, w->n_targets, false);
	free(a);
}

static void scan_queue(struct worker *w)
{
	char q[4200];
	snprintf(q, sizeof(q), "%s/queue", w->cfg->spool_dir);
	DIR *d = opendir(q);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long id = strtoul(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || id > UINT32_MAX)
			continue;
		struct entry *e = add_entry(w, (uint32_t)id);
		if (e) {
			char side[4600], name[64], err[256];
			struct ghostrec_takemeta m;
			ghostrec_take_sidecar_name(name, sizeof(name), (uint32_t)id);
			snprintf(side, sizeof(side), "%s/%s/%s", q, de->d_name, name);
			if (ghostrec_takemeta_read_sidecar(side, &m, err, sizeof(err)) == 0) {
				e->frames = m.frames;
				ghostrec_takemeta_clear(&m);
			}
			log_info("take %lu: found in the delivery queue, will deliver", id);
		}
	}
	closedir(d);
}

static void send_action(struct worker *w, uint32_t take_id)
{
	const struct exporter_config *c = w->cfg;
	char host[128], err[256];
	if (!c->reaper_action[0])
		return;
	pthread_mutex_lock(&w->lock);
	snprintf(host, sizeof(host), "%s", c->reaper_host[0] ? c->reaper_host : w->reaper_host);
	pthread_mutex_unlock(&w->lock);
	if (!host[0]) {
		log_warn("take %" PRIu32 ": not sending /action/str %s: REAPER's address is unknown "
			 "(set --reaper-host)", take_id, c->reaper_action);
		return;
	}
	if (osc_send_action(host, c->reaper_port, c->reaper_action, err, sizeof(err)) < 0) {
		log_warn("take %" PRIu32 ": %s", take_id, err);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->counters.actions_sent++;
	pthread_mutex_unlock(&w->lock);
	log_info("take %" PRIu32 ": sent /action/str %s to %s:%u", take_id, c->reaper_action, host,
		 c->reaper_port);
}

/* One delivery attempt of one take to every target still missing it. */
static void attempt(struct worker *w, uint32_t take_id)
{
	char dir[4200], err[512] = "";
	unsigned done = 0;
	int failed = 0;
	spool_queue_path(dir, sizeof(dir), w->cfg->spool_dir, take_id);

	char export_path[1024] = "";
	pthread_mutex_lock(&w->lock);
	struct entry *xe = add_entry(w, take_id);
	if (xe && !xe->exported)
		snprintf(export_path, sizeof(export_path), "%s", xe->export_path);
	pthread_mutex_unlock(&w->lock);
	if (export_path[0]) {
		char name[64], src[4300];
		ghostrec_take_wav_name(name, sizeof(name), take_id, -1);
		snprintf(src, sizeof(src), "%s/%s", dir, name);
		if (deliver_place_file(src, export_path, err, sizeof(err)) == 0) {
			log_info("take %" PRIu32 ": export written to %s", take_id, export_path);
			pthread_mutex_lock(&w->lock);
			if ((xe = add_entry(w, take_id)))
				xe->exported = true;
			pthread_mutex_unlock(&w->lock);
		} else {
			failed = 1;
			log_err("take %" PRIu32 ": writing the export to %s failed: %s", take_id, export_path, err);
		}
	}

	for (unsigned i = 0; i < w->n_targets; i++) {
		struct deliver_target *t = w->targets[i];
		if (deliver_take_done(t, dir)) {
			done |= 1u << i;
			continue;
		}
		struct deliver_sent sent;
		pthread_mutex_lock(&w->lock);
		struct ahead *ah = find_ahead(w, take_id);
		if (ah)
			sendahead_sent(&ah->sa, i, &sent); /* (its files are this thread's) */
		pthread_mutex_unlock(&w->lock);
		if (deliver_take_dir_sent(t, dir, ah ? &sent : NULL, err, sizeof(err)) == 0) {
			done |= 1u << i;
			uint64_t ahead = 0;
			for (unsigned k = 0; ah && k < sent.n; k++)
				ahead += sent.f[k].bytes;
			if (ahead)
				log_info("take %" PRIu32 ": delivered to %s (%.1f MB of it sent ahead while it was "
					 "recorded)", take_id, t->where, (double)ahead / 1e6);
			else
				log_info("take %" PRIu32 ": delivered to %s", take_id, t->where);
		} else {
			failed = 1;
			log_err("take %" PRIu32 ": delivery to %s failed: %s (kept in %s, will retry)",
				take_id, t->where, err, dir);
		}
	}

	pthread_mutex_lock(&w->lock);
	struct entry *e = add_entry(w, take_id);
	if (e) {
		e->done_mask = done;
		e->attempts++;
	}
	if (failed) {
		w->counters.delivery_failures++;
		if (e) {
			snprintf(e->last_error, sizeof(e->last_error), "%.255s", err); /* last_error[256] */
			e->next_try = now_s() + e->backoff;
			e->backoff = e->backoff * 2 > w->cfg->retry_max ? w->cfg->retry_max : e->backoff * 2;
			if (e->backoff < 0.1)
				e->backoff = 0.1;
		}
		pthread_mutex_unlock(&w->lock);
		return;
	}
	if (w->n_targets == 0) {
		if (e) {
			snprintf(e->last_error, sizeof(e->last_error), "no delivery target configured");
			e->next_try = 1e300; /* stays queued until a target is configured */
		}
		pthread_mutex_unlock(&w->lock);
		return;
	}
	uint64_t frames = e ? e->frames : 0;
	remove_entry(w, take_id);
	struct ahead *ah = find_ahead(w, take_id);
	if (ah)
		free_ahead(w, ah);
	w->counters.delivered++;
	struct delivered *h = &w->history[w->n_history % MAX_HISTORY];
	w->n_history++;
	h->take_id = take_id;
	h->frames = frames;
	ghostrec_takemeta_now_utc(h->when_utc, sizeof(h->when_utc));
	pthread_mutex_unlock(&w->lock);

	/* every target has it: only now the local copy may go */
	int r = spool_remove_dir(dir);
	if (r < 0)
		log_warn("take %" PRIu32 ": delivered, but removing %s failed: %s", take_id, dir, strerror(-r));
	else
		log_info("take %" PRIu32 ": delivered to every target; removed %s", take_id, dir);
	send_action(w, take_id);
}

/* Locked (released while sending). One step of the takes being recorded: a dropped take's
 * copies go, else at most AHEAD_STEP_BYTES of one take to one target. 1: something was done
 * (look again), 0: nothing due; *next gets the earliest retry after a failure. */
static int send_ahead(struct worker *w, double now, double *next)
{
	for (unsigned k = 0; k < w->n_ahead; k++) {
		struct ahead *a = w->ahead[k];
		if (a->dropped) {
			/* out of the list first: removing its copies talks to the targets, unlocked */
			w->ahead[k] = w->ahead[--w->n_ahead];
			pthread_mutex_unlock(&w->lock);
			sendahead_close(&a->sa, w->targets, w->n_targets, true);
			free(a);
			pthread_mutex_lock(&w->lock);
			return 1;
		}
		if (a->submitted)
			continue;
		for (unsigned i = 0; i < w->n_targets && i < SENDAHEAD_MAX_TARGETS; i++) {
			if (!w->targets[i]->put_part)
				continue;
			if (!sendahead_due(&a->sa, i, a->stable_frames, now)) {
				if (a->sa.next_try[i] > now && a->sa.next_try[i] < *next)
					*next = a->sa.next_try[i];
				continue;
			}
			char dir[sizeof(a->dir)];
			uint64_t stable = a->stable_frames;
			memcpy(dir, a->dir, sizeof(dir));
			pthread_mutex_unlock(&w->lock);
			int r = sendahead_step(&a->sa, w->targets[i], i, dir, stable, now, w->cfg->retry_max,
					       AHEAD_STEP_BYTES);
			pthread_mutex_lock(&w->lock);
			if (r == 0 && a->sa.next_try[i] > now && a->sa.next_try[i] < *next)
				*next = a->sa.next_try[i];
			return r; /* (after a failure: the others in the next round) */
		}
	}
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		double now = now_s(), next = now + 1.0;
		struct entry *due = NULL;
		for (unsigned i = 0; i < w->n_entries; i++) {
			struct entry *e = &w->entries[i];
			if (e->finalizing)
				continue;
			if (e->next_try <= now) {
				due = e;
				break;
			}
			if (e->next_try < next)
				next = e->next_try;
		}
		if (due) {
			uint32_t id = due->take_id;
			due->next_try = now + 3600; /* being attempted */
			pthread_mutex_unlock(&w->lock);
			attempt(w, id);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		if (send_ahead(w, now, &next))
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double wait = next - now;
		if (wait < 0.01)
			wait = 0.01;
		ts.tv_sec += (time_t)wait;
		ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct worker *worker_start(const struct exporter_config *cfg, struct deliver_target **targets,
			    unsigned n_targets)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cfg = cfg;
	for (unsigned i = 0; i < n_targets && i < 4; i++) {
		w->targets[w->n_targets++] = targets[i];
		if (targets[i]->put_part)
			w->any_put_part = true;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	scan_queue(w);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

void worker_stop(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while (w->n_ahead) /* (what was sent stays: the next start delivers those takes whole) */
		free_ahead(w, w->ahead[0]);
	for (unsigned i = 0; i < w->n_targets; i++)
		w->targets[i]->destroy(w->targets[i]);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->entries);
	free(w);
}

void worker_send_ahead(struct worker *w, const struct take *t, const char *dir, uint64_t stable_frames)
{
	if (!w || !w->any_put_part || t->is_export)
		return;
	pthread_mutex_lock(&w->lock);
	struct ahead *a = find_ahead(w, t->take_id);
	if (!a && w->n_ahead < MAX_AHEAD && (a = malloc(sizeof(*a))) != NULL) {
		memset(a, 0, sizeof(*a));
		a->take_id = t->take_id;
		sendahead_init(&a->sa, t);
		w->ahead[w->n_ahead++] = a;
	}
	if (a && !a->submitted && !a->dropped) {
		snprintf(a->dir, sizeof(a->dir), "%s", dir);
		if (stable_frames > a->stable_frames)
			a->stable_frames = stable_frames;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

void worker_send_ahead_drop(struct worker *w, uint32_t take_id)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	struct ahead *a = find_ahead(w, take_id);
	if (a) {
		a->dropped = true;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

void worker_submit(struct worker *w, const struct take *t)
{
	pthread_mutex_lock(&w->lock);
	struct ahead *ah = find_ahead(w, t->take_id);
	if (ah)
		ah->submitted = true;
	struct entry *e = add_entry(w, t->take_id);
	if (e) {
		e->frames = t->spooled;
		e->next_try = 0;
		snprintf(e->export_path, sizeof(e->export_path), "%s", t->is_export ? t->export_path : "");
	} else {
		log_err("take %" PRIu32 ": out of memory queueing it; it stays in the queue folder for the next start",
			t->take_id);
	}
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void worker_retry_now(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->n_entries; i++) {
		if (w->entries[i].next_try < 1e300)
			w->entries[i].next_try = 0;
		w->entries[i].backoff = 1.0;
	}
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void worker_set_reaper_host(struct worker *w, const char *host)
{
	pthread_mutex_lock(&w->lock);
	snprintf(w->reaper_host, sizeof(w->reaper_host), "%s", host);
	pthread_mutex_unlock(&w->lock);
}

void worker_counters(struct worker *w, struct worker_counters *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->counters;
	pthread_mutex_unlock(&w->lock);
}

unsigned worker_pending(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	unsigned n = w->n_entries;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void worker_status_json(struct worker *w, struct jsonw *jw)
{
	pthread_mutex_lock(&w->lock);
	double now = now_s();
	jw_key(jw, "targets");
	jw_arr(jw);
	for (unsigned i = 0; i < w->n_targets; i++) {
		jw_obj(jw);
		jw_key(jw, "kind"); jw_str(jw, w->targets[i]->name);
		jw_key(jw, "where"); jw_str(jw, w->targets[i]->where);
		jw_obj_end(jw);
	}
	jw_arr_end(jw);
	jw_key(jw, "queue");
	jw_arr(jw);
	for (unsigned i = 0; i < w->n_entries; i++) {
		const struct entry *e = &w->entries[i];
		jw_obj(jw);
		jw_key(jw, "take_id"); jw_u64(jw, e->take_id);
		jw_key(jw, "state"); jw_str(jw, e->finalizing ? "finalizing" :
					       e->next_try > now + 3000 && e->next_try < 1e300 ? "delivering" :
					       e->attempts ? "retrying" : "queued");
		jw_key(jw, "attempts"); jw_u64(jw, e->attempts);
		jw_key(jw, "next_try_s");
		if (e->finalizing || e->next_try >= 1e300 || e->next_try > now + 3000)
			jw_null(jw);
		else
			jw_double(jw, e->next_try > now ? e->next_try - now : 0);
		jw_key(jw, "delivered_to"); jw_arr(jw);
		for (unsigned t = 0; t < w->n_targets; t++)
			if (e->done_mask & (1u << t))
				jw_str(jw, w->targets[t]->name);
		jw_arr_end(jw);
		jw_key(jw, "last_error"); jw_str(jw, e->last_error);
		jw_obj_end(jw);
	}
	jw_arr_end(jw);
	jw_key(jw, "delivered");
	jw_arr(jw);
	unsigned n = w->n_history < MAX_HISTORY ? w->n_history : MAX_HISTORY;
	for (unsigned k = 0; k < n; k++) {
		const struct delivered *h = &w->history[(w->n_history - n + k) % MAX_HISTORY];
		jw_obj(jw);
		jw_key(jw, "take_id"); jw_u64(jw, h->take_id);
		jw_key(jw, "frames"); jw_u64(jw, h->frames);
		jw_key(jw, "at_utc"); jw_str(jw, h->when_utc);
		jw_obj_end(jw);
	}
	jw_arr_end(jw);
	jw_key(jw, "counters");
	jw_obj(jw);
	jw_key(jw, "finalized"); jw_u64(jw, w->counters.finalized);
	jw_key(jw, "finalize_failed"); jw_u64(jw, w->counters.finalize_failed);
	jw_key(jw, "delivered"); jw_u64(jw, w->counters.delivered);
	jw_key(jw, "delivery_failures"); jw_u64(jw, w->counters.delivery_failures);
	jw_key(jw, "actions_sent"); jw_u64(jw, w->counters.actions_sent);
	jw_obj_end(jw);
	pthread_mutex_unlock(&w->lock);
}
