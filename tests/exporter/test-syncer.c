/* The background syncer (exporter/syncer.h): a job syncs real files through its own descriptors
 * (the caller closes its own at once), jobs finish in order, a descriptor that cannot be synced
 * reports its error, nothing to sync queues nothing, and stopping runs what is still queued. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syncer.h"
#include "../unit/check.h"

static int temp_file(char *path, size_t size, const char *dir, int i)
{
	snprintf(path, size, "%s/f%d", dir, i);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	char buf[4096];
	memset(buf, i, sizeof(buf));
	CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	return fd;
}

int main(void)
{
	char dir[] = "/tmp/test-syncer-XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL);
	struct syncer *s = syncer_start();
	CHECK(s != NULL);
	if (!s)
		return check_report("test-syncer");

	/* two files in one job; the caller's descriptors are closed before the job runs */
	int fds[3] = { temp_file(path, sizeof(path), dir, 1), -1, temp_file(path, sizeof(path), dir, 2) };
	uint64_t seq = syncer_post(s, fds, 3);
	CHECK(seq > 0);
	close(fds[0]);
	close(fds[2]);
	syncer_wait(s, seq);
	int err = 1;
	CHECK(syncer_done(s, seq, &err));
	CHECK(err == 0);

	/* nothing to sync: nothing queued */
	int none[2] = { -1, -1 };
	CHECK(syncer_post(s, none, 2) == 0);
	CHECK(syncer_post(s, none, 0) == 0);

	/* a descriptor fdatasync refuses (a pipe) reports its error; the jobs after it still run */
	int p[2];
	CHECK(pipe(p) == 0);
	uint64_t bad = syncer_post(s, &p[0], 1);
	int fd3 = temp_file(path, sizeof(path), dir, 3);
	uint64_t good = syncer_post(s, &fd3, 1);
	CHECK(bad > 0 && good == bad + 1);
	syncer_wait(s, good);
	CHECK(syncer_done(s, bad, &err));
	CHECK(err == -EINVAL);
	CHECK(syncer_done(s, good, &err));
	CHECK(err == 0);
	close(p[0]);
	close(p[1]);

	/* jobs finish in order: once the last is done, every earlier one is */
	uint64_t first = 0, last = 0;
	for (int i = 0; i < 20; i++) {
		last = syncer_post(s, &fd3, 1);
		CHECK(last > 0);
		if (!first)
			first = last;
	}
	syncer_wait(s, last);
	for (uint64_t q = first; q <= last; q++)
		CHECK(syncer_done(s, q, NULL));

	/* stopping runs the jobs still queued (their descriptors are closed: nothing leaks) */
	for (int i = 0; i < 10; i++)
		CHECK(syncer_post(s, &fd3, 1) > 0);
	close(fd3);
	syncer_stop(s);

	for (int i = 1; i <= 3; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return check_report("test-syncer");
}
