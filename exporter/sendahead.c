/* Sending a take ahead while it is recorded (see sendahead.h). */
#include "sendahead.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/takemeta.h"
#include "log.h"
#include "takefile.h"

void sendahead_init(struct sendahead *a, const struct take *t)
{
	memset(a, 0, sizeof(*a));
	a->take_id = t->take_id;
	uint32_t sample_bytes = t->format == TAKE_FORMAT_PCM24 ? 3 : 4;
	unsigned n = 1 + (t->split_channels ? t->channels : 0);
	for (unsigned k = 0; k < n && k < 1 + TAKE_MAX_CHANNELS; k++) {
		struct sendahead_file *f = &a->f[a->n_files++];
		ghostrec_take_wav_name(f->name, sizeof(f->name), t->take_id, k == 0 ? -1 : (int)k - 1);
		f->frame_bytes = sample_bytes * (k == 0 ? t->channels : 1);
		f->fd = -1;
	}
	for (unsigned i = 0; i < SENDAHEAD_MAX_TARGETS; i++)
		a->backoff[i] = 1.0;
}

static uint64_t stable_bytes(const struct sendahead_file *f, uint64_t stable_frames)
{
	return TAKEFILE_DATA_OFFSET + stable_frames * f->frame_bytes;
}

/* The local file, opened once. A file created again under its name (its take's files were made
 * anew) is another file: what was sent of the old one does not count. */
static int open_local(struct sendahead_file *f, const char *dir)
{
	char path[4400];
	struct stat at_path, open_st;
	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	if (f->fd >= 0) {
		/* (gone from the path: moved into the queue, still the same file) */
		if (stat(path, &at_path) < 0 || fstat(f->fd, &open_st) < 0 || (at_path.st_ino == open_st.st_ino &&
										 at_path.st_dev == open_st.st_dev))
			return 0;
		close(f->fd);
		f->fd = -1;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	memset(f->sent, 0, sizeof(f->sent));
	return 0;
}

bool sendahead_due(const struct sendahead *a, unsigned i, uint64_t stable_frames, double now)
{
	if (i >= SENDAHEAD_MAX_TARGETS || a->next_try[i] > now)
		return false;
	for (unsigned k = 0; k < a->n_files; k++)
		if (a->f[k].sent[i] < stable_bytes(&a->f[k], stable_frames))
			return true;
	return false;
}

static void failed(struct sendahead *a, struct deliver_target *t, unsigned i, const char *why, double now,
		   double retry_max)
{
	if (!a->failing[i])
		log_warn("take %" PRIu32 ": sending it ahead to %s failed: %s (retrying; it goes whole when it "
			 "ends if this goes on)", a->take_id, t->where, why);
	a->failing[i] = true;
	a->next_try[i] = now + a->backoff[i];
	a->backoff[i] = a->backoff[i] * 2 > retry_max ? retry_max : a->backoff[i] * 2;
	if (a->backoff[i] < 0.1)
		a->backoff[i] = 0.1;
}

int sendahead_step(struct sendahead *a, struct deliver_target *t, unsigned i, const char *dir,
		   uint64_t stable_frames, double now, double retry_max, uint64_t max_bytes)
{
	char err[512] = "";
	if (!t->put_part || !sendahead_due(a, i, stable_frames, now))
		return 0;
	for (unsigned k = 0; k < a->n_files; k++) {
		struct sendahead_file *f = &a->f[k];
		uint64_t stable = stable_bytes(f, stable_frames);
		if (f->sent[i] >= stable)
			continue;
		int e = open_local(f, dir);
		struct stat st;
		if (e == 0 && fstat(f->fd, &st) < 0)
			e = -errno;
		if (e < 0) {
			snprintf(err, sizeof(err), "%s/%s: %s", dir, f->name, strerror(-e));
			failed(a, t, i, err, now, retry_max);
			return 0;
		}
		if ((uint64_t)st.st_size < f->sent[i])
			f->sent[i] = 0; /* cut back below what was sent: start again */
		if ((uint64_t)st.st_size < stable)
			stable = (uint64_t)st.st_size;
		uint64_t to = stable - f->sent[i] > max_bytes ? f->sent[i] + max_bytes : stable;
		if (to <= f->sent[i])
			continue;
		int r = t->put_part(t, f->fd, f->name, f->sent[i], to, f->sent[i] == 0, err, sizeof(err));
		if (r == 0) {
			f->sent[i] = to;
			if (a->failing[i])
				log_info("take %" PRIu32 ": sending it ahead to %s again", a->take_id, t->where);
			a->failing[i] = false;
			a->backoff[i] = 1.0;
			return 1;
		}
		if (r == -2)
			f->sent[i] = 0; /* the copy there is not what was sent: a fresh one next time */
		failed(a, t, i, err, now, retry_max);
		return 0;
	}
	return 0;
}

void sendahead_sent(const struct sendahead *a, unsigned i, struct deliver_sent *out)
{
	memset(out, 0, sizeof(*out));
	out->head = TAKEFILE_DATA_OFFSET;
	if (i >= SENDAHEAD_MAX_TARGETS)
		return;
	for (unsigned k = 0; k < a->n_files && out->n < DELIVER_SENT_MAX; k++) {
		const struct sendahead_file *f = &a->f[k];
		struct stat st;
		if (f->fd < 0 || f->sent[i] == 0 || fstat(f->fd, &st) < 0)
			continue;
		struct deliver_sent_file *o = &out->f[out->n++];
		snprintf(o->name, sizeof(o->name), "%s", f->name);
		o->dev = st.st_dev;
		o->ino = st.st_ino;
		o->bytes = f->sent[i];
	}
}

void sendahead_close(struct sendahead *a, struct deliver_target **targets, unsigned n_targets, bool drop)
{
	for (unsigned k = 0; k < a->n_files; k++) {
		struct sendahead_file *f = &a->f[k];
		for (unsigned i = 0; drop && i < n_targets && i < SENDAHEAD_MAX_TARGETS; i++)
			if (targets[i]->drop_part) /* (also a first part that failed half-way) */
				targets[i]->drop_part(targets[i], f->name);
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
	}
}
