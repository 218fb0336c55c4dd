/* A full disk reads as "No space left on device" with the path, and nothing half-written is
 * left behind: an outbox, a take's state file and a sidecar on a real (tiny) tmpfs, mounted in a
 * private mount namespace. Needs CAP_SYS_ADMIN (CI runs as root); exits 77 where no tmpfs can be
 * mounted at all. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/takemeta.h"
#include "deliver.h"
#include "take.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

int main(void)
{
	char base[] = "/tmp/gr-enospc-XXXXXX";
	CHECK(mkdtemp(base) != NULL);
	char mnt[128], outbox[160], src[160], err[2048], p[300];
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	CHECK(mkdir(mnt, 0700) == 0);
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		printf("SKIP: cannot mount a tmpfs here (%s)\n", strerror(errno));
		rmdir(mnt);
		rmdir(base);
		return 77;
	}

	/* a 256 KiB take into a 64 KiB outbox */
	snprintf(src, sizeof(src), "%s/take.wav", base);
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	static char block[256 * 1024];
	memset(block, 0x5a, sizeof(block));
	CHECK(fd >= 0 && write(fd, block, sizeof(block)) == (ssize_t)sizeof(block) && close(fd) == 0);
	snprintf(outbox, sizeof(outbox), "%s/outbox", mnt);
	struct deliver_target *t = deliver_outbox_new(outbox, 0600, err, sizeof(err));
	CHECK(t != NULL);
	CHECK(t->put(t, src, "ghostrec-7.wav", err, sizeof(err)) < 0);
	printf("outbox on a full disk: %s\n", err);
	snprintf(p, sizeof(p), "%s/ghostrec-7.wav", outbox);
	CHECK(strstr(err, "No space left on device") && strstr(err, p));
	CHECK(access(p, F_OK) < 0);
	snprintf(p, sizeof(p), "%s/.ghostrec-7.wav.part", outbox);
	CHECK(access(p, F_OK) < 0); /* the partial copy is gone, the space is free again */
	t->destroy(t);

	/* fill it up, then a state file and a sidecar */
	snprintf(p, sizeof(p), "%s/filler", mnt);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	while (write(fd, block, 4096) > 0)
		;
	close(fd);
	struct take tk;
	memset(&tk, 0, sizeof(tk));
	tk.take_id = 7;
	tk.rate = 48000;
	tk.channels = 2;
	snprintf(p, sizeof(p), "%s/take-7.state", mnt);
	int e = take_save(&tk, p);
	printf("take state on a full disk: %s\n", strerror(-e));
	CHECK(e == -ENOSPC);
	struct ghostrec_takemeta m;
	memset(&m, 0, sizeof(m));
	m.take_id = 7;
	m.rate = 48000;
	m.channels = 2;
	snprintf(p, sizeof(p), "%s/ghostrec-7.json", mnt);
	e = ghostrec_takemeta_write_sidecar(p, &m);
	printf("sidecar on a full disk: %s\n", strerror(-e));
	CHECK(e == -ENOSPC);

	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	unlink(src);
	rmdir(base);
	return 0;
}
