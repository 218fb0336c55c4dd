/* Background fdatasync (see syncer.h). */
#include "syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYNCER_QUEUE 64u

struct syncer_job {
	int fds[SYNCER_MAX_FDS];
	unsigned n;
};

struct syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* work queued, or stop */
	pthread_cond_t done_cv;     /* a job is done */
	struct syncer_job q[SYNCER_QUEUE];
	uint64_t posted;            /* jobs queued so far (the last one's seq); under mu */
	_Atomic uint64_t done;      /* jobs done so far, in order */
	_Atomic int err[SYNCER_QUEUE]; /* by seq % SYNCER_QUEUE */
	bool stop;
};

static int sync_job(struct syncer_job *j)
{
	int e = 0;
	for (unsigned i = 0; i < j->n; i++) {
		if (fdatasync(j->fds[i]) < 0 && e == 0)
			e = -errno;
		close(j->fds[i]);
	}
	return e;
}

static void *run(void *arg)
{
	struct syncer *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t done = atomic_load(&s->done);
		if (done == s->posted) {
			if (s->stop)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		struct syncer_job j = s->q[(done + 1) % SYNCER_QUEUE];
		pthread_mutex_unlock(&s->mu);
		atomic_store(&s->err[(done + 1) % SYNCER_QUEUE], sync_job(&j));
		pthread_mutex_lock(&s->mu);
		atomic_store(&s->done, done + 1);
		pthread_cond_broadcast(&s->done_cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct syncer *syncer_start(void)
{
	struct syncer *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->done_cv, NULL);
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		pthread_cond_destroy(&s->done_cv);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	return s;
}

void syncer_stop(struct syncer *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->done_cv);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

uint64_t syncer_post(struct syncer *s, const int *fds, unsigned n)
{
	struct syncer_job j = { .n = 0 };
	for (unsigned i = 0; i < n && i < SYNCER_MAX_FDS; i++)
		if (fds[i] >= 0 && (j.fds[j.n] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0)) >= 0)
			j.n++;
	if (j.n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->posted - atomic_load(&s->done) >= SYNCER_QUEUE - 1) {
		pthread_mutex_unlock(&s->mu);
		for (unsigned i = 0; i < j.n; i++)
			close(j.fds[i]);
		return 0;
	}
	uint64_t seq = ++s->posted;
	s->q[seq % SYNCER_QUEUE] = j;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return seq;
}

bool syncer_done(struct syncer *s, uint64_t seq, int *err)
{
	if (err)
		*err = 0;
	if (atomic_load(&s->done) < seq)
		return false;
	if (err)
		*err = atomic_load(&s->err[seq % SYNCER_QUEUE]);
	return true;
}

void syncer_wait(struct syncer *s, uint64_t seq)
{
	pthread_mutex_lock(&s->mu);
	while (atomic_load(&s->done) < seq && seq <= s->posted)
		pthread_cond_wait(&s->done_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}
