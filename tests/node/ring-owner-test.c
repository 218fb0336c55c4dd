/* Shm ring ownership: a reader attaches only to a ring this user made, private to it, found
 * through a locator in our own 0700 runtime directory; anything else is refused with a reason
 * that names what is wrong. A squatted name never stops the writer; a crashed writer's object is
 * removed when the node starts again. Runs in a private XDG_RUNTIME_DIR. The foreign-owner
 * cases need root (to chown to another uid); without it they are reported as not run. */
#include "common/control.h"
#include "common/ring.h"
#include "common/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

static char node[64], rundir[256], err[1024];

static int open_ring(void)
{
	struct ghostrec_ring_reader *r = NULL;
	err[0] = '\0';
	int res = ghostrec_ring_reader_open_err(&r, node, err, sizeof(err));
	if (res == 0)
		ghostrec_ring_reader_close(r);
	else
		printf("  refused (%d): %s\n", res, err);
	return res;
}

static void shm_path(char *buf, size_t size, const struct ghostrec_ring_writer *w)
{
	snprintf(buf, size, "/dev/shm%s", w->shm_name);
}

static void write_locator(const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s.ring", rundir, node);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void test_mode_and_locator(void)
{
	struct ghostrec_ring_writer w;
	char path[256], saved[160], p[512];
	CHECK(ghostrec_ring_writer_create(&w, node, 48000, 1, NULL, 480, 0, 1) == 0);
	CHECK(w.locator_error[0] == '\0');
	CHECK(open_ring() == 0);

	/* A ring readable by others is not ours alone: refused, and the message says why. */
	shm_path(path, sizeof(path), &w);
	CHECK(chmod(path, 0644) == 0);
	CHECK(open_ring() == -EPERM && strstr(err, "mode 0644, not 0600") && strstr(err, w.shm_name));
	CHECK(chmod(path, 0600) == 0);
	CHECK(open_ring() == 0);

	/* A locator naming some other object (not this node's prefix) is refused. */
	snprintf(saved, sizeof(saved), "%s\n", w.shm_name);
	write_locator("/pw-ghost-rec-0-otherthing-0123456789abcdef\n");
	CHECK(open_ring() == -EPERM && strstr(err, "not one of this node's rings"));
	write_locator("/../../etc/passwd\n");
	CHECK(open_ring() == -EPERM);

	/* A locator that is a symlink is refused (even one to the right content). */
	char real[512];
	snprintf(real, sizeof(real), "%s/real-locator", rundir);
	FILE *f = fopen(real, "w");
	CHECK(f && fputs(saved, f) >= 0 && fclose(f) == 0);
	snprintf(p, sizeof(p), "%s/%s.ring", rundir, node);
	unlink(p);
	CHECK(symlink(real, p) == 0);
	CHECK(open_ring() == -EPERM && strstr(err, "symlink"));
	unlink(real);

	/* A locator writable by others is refused. */
	write_locator(saved);
	CHECK(chmod(p, 0622) == 0);
	CHECK(open_ring() == -EPERM && strstr(err, "mode 0622"));
	CHECK(chmod(p, 0600) == 0);
	CHECK(open_ring() == 0);

	/* A runtime directory others can enter is refused by readers and tightened by writers. */
	CHECK(chmod(rundir, 0755) == 0);
	CHECK(open_ring() == -EPERM && strstr(err, rundir) && strstr(err, "mode 0755"));
	CHECK(ghostrec_ctl_ensure_dir() == 0);
	struct stat st;
	CHECK(stat(rundir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(open_ring() == 0);

	ghostrec_ring_writer_destroy(&w, true);
	CHECK(open_ring() == -ENOENT && strstr(err, "ring not available") && strstr(err, "is the node running"));
	CHECK(access(p, F_OK) < 0); /* the locator went with the ring */
	printf("mode and locator: ok\n");
}

static void test_squat_and_leftover(void)
{
	char prefix[128], squat[256], path[256];
	CHECK(ghostrec_ring_shm_name(prefix, sizeof(prefix), node) == 0);
	/* The name the node used to take, pre-created (as another user would): no obstacle. */
	snprintf(squat, sizeof(squat), "%s", prefix);
	int fd = shm_open(squat, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	close(fd);

	struct ghostrec_ring_writer w1, w2;
	CHECK(ghostrec_ring_writer_create(&w1, node, 48000, 1, NULL, 480, 0, 1) == 0);
	CHECK(strcmp(w1.shm_name, squat) != 0 && open_ring() == 0);
	/* The node crashes (its object stays, nobody unlinks it), then starts again. */
	shm_path(path, sizeof(path), &w1);
	char old[256];
	snprintf(old, sizeof(old), "%s", path);
	munmap(w1.map, w1.size);
	close(w1.fd);
	CHECK(access(old, F_OK) == 0);
	CHECK(ghostrec_ring_writer_create(&w2, node, 48000, 1, NULL, 480, 0, 1) == 0);
	CHECK(strcmp(w2.shm_name, w1.shm_name) != 0);
	CHECK(access(old, F_OK) < 0); /* the leftover the locator named is gone */
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	CHECK(ghostrec_ring_reader_open(&r, node) == 0 && ghostrec_ring_reader_info(r, &info) == 0);
	CHECK(strcmp(info.shm_name, w2.shm_name) == 0 && info.instance == w2.hdr->instance);
	ghostrec_ring_reader_close(r);
	ghostrec_ring_writer_destroy(&w2, true);
	shm_unlink(squat);
	printf("squatted name and crash leftover: ok\n");
}

static void test_foreign_owner(void)
{
	if (geteuid() != 0) {
		printf("foreign owner: not run (needs root to chown to another uid)\n");
		return;
	}
	struct ghostrec_ring_writer w;
	char path[256];
	CHECK(ghostrec_ring_writer_create(&w, node, 48000, 1, NULL, 480, 0, 1) == 0);
	shm_path(path, sizeof(path), &w);
	CHECK(chown(path, 65534, 65534) == 0);
	CHECK(open_ring() == -EPERM && strstr(err, "belongs to uid 65534"));
	CHECK(chown(path, 0, 0) == 0);
	CHECK(open_ring() == 0);
	/* A runtime directory owned by someone else is refused by readers and writers. */
	CHECK(chown(rundir, 65534, 65534) == 0);
	CHECK(open_ring() == -EPERM && strstr(err, "belongs to uid 65534"));
	char dir[256], why[512];
	CHECK(ghostrec_rundir_ensure(dir, sizeof(dir), why, sizeof(why)) == -EPERM &&
	      strstr(why, rundir));
	CHECK(chown(rundir, 0, 0) == 0);
	ghostrec_ring_writer_destroy(&w, true);
	printf("foreign owner: ok\n");
}

static void test_symlinked_dir(void)
{
	/* Without XDG_RUNTIME_DIR the directory is /tmp/pw-ghost-rec-<uid>; planted as a symlink,
	 * it is refused and nothing is chmod'ed through it. Same check here with a private dir. */
	char base[256], target[300], xdg[300];
	snprintf(base, sizeof(base), "%s", rundir);
	*strrchr(base, '/') = '\0';
	snprintf(target, sizeof(target), "%s/target", base);
	snprintf(xdg, sizeof(xdg), "%s/xdg2", base);
	CHECK(mkdir(target, 0755) == 0 && mkdir(xdg, 0700) == 0);
	char link[400];
	snprintf(link, sizeof(link), "%s/pw-ghost-rec", xdg);
	CHECK(symlink(target, link) == 0);
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	char dir[256], why[512];
	CHECK(ghostrec_rundir_ensure(dir, sizeof(dir), why, sizeof(why)) == -EPERM);
	printf("  refused: %s\n", why);
	CHECK(strstr(why, link) && strstr(why, "symlink"));
	struct stat st;
	CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0755); /* not chmod'ed */
	struct ghostrec_ring_writer w;
	CHECK(ghostrec_ring_writer_create(&w, node, 48000, 1, NULL, 480, 0, 1) == 0);
	CHECK(w.locator_error[0] && strstr(w.locator_error, link)); /* the ring works, unpublished */
	CHECK(open_ring() == -EPERM);
	ghostrec_ring_writer_destroy(&w, true);
	unlink(link);
	rmdir(xdg);
	rmdir(target);
	printf("symlinked directory: ok\n");
}

int main(void)
{
	char tmpl[] = "/tmp/ring-owner.XXXXXX";
	char *base = mkdtemp(tmpl);
	CHECK(base);
	setenv("XDG_RUNTIME_DIR", base, 1);
	snprintf(node, sizeof(node), "ringowner-%d", (int)getpid());
	CHECK(ghostrec_ctl_ensure_dir() == 0);
	CHECK(ghostrec_ctl_dir(rundir, sizeof(rundir)) == 0);
	test_mode_and_locator();
	test_squat_and_leftover();
	test_foreign_owner();
	test_symlinked_dir();
	rmdir(rundir);
	rmdir(base);
	return 0;
}
