/* The one-line messages users see for the mistakes and faults they really make: a full disk is
 * "No space left on device" (with the path), an outbox that is a file says so, a config value
 * with an unbalanced quote is a config error (not a directory named '"'), modes are what the
 * outbox promises. Daemon-free (sanitize suite). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "config.h"
#include "deliver.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

static char base[64];

static void write_file(const char *path, const char *text, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && close(fd) == 0);
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	CHECK(stat(path, &st) == 0);
	return st.st_mode & 07777;
}

static void test_full_device(void)
{
	/* /dev/full: every write fails with ENOSPC, as a full filesystem does */
	int fd = open("/dev/full", O_WRONLY);
	if (fd < 0) {
		printf("full device: not run (no /dev/full)\n");
		return;
	}
	char buf[8192] = { 0 };
	int e = ghostrec_write_all(fd, buf, sizeof(buf));
	close(fd);
	printf("write to /dev/full: %s\n", strerror(-e));
	CHECK(e == -ENOSPC && strcmp(strerror(-e), "No space left on device") == 0);
}

static void test_outbox(void)
{
	char err[2048], path[256], src[256], dst[512];

	/* an outbox that is a file */
	snprintf(path, sizeof(path), "%s/outbox-file", base);
	write_file(path, "not a folder\n", 0644);
	CHECK(deliver_outbox_new(path, 0600, err, sizeof(err)) == NULL);
	printf("outbox is a file: %s\n", err);
	CHECK(strstr(err, path) && strstr(err, "exists and is not a directory (it is a regular file)"));
	CHECK(!strstr(err, "File exists"));

	/* a mode that is not offered */
	snprintf(path, sizeof(path), "%s/outbox", base);
	CHECK(deliver_outbox_new(path, 0644, err, sizeof(err)) == NULL && strstr(err, "0644"));

	/* created 0700, files exactly 0600 whatever the umask */
	mode_t old = umask(0);
	struct deliver_target *t = deliver_outbox_new(path, 0600, err, sizeof(err));
	CHECK(t != NULL);
	CHECK(mode_of(path) == 0700);
	snprintf(src, sizeof(src), "%s/src.wav", base);
	write_file(src, "RIFF....WAVE", 0666);
	CHECK(t->put(t, src, "ghostrec-1.wav", err, sizeof(err)) == 0);
	snprintf(dst, sizeof(dst), "%s/ghostrec-1.wav", path);
	CHECK(mode_of(dst) == 0600);
	/* a symlink planted at the temp name is not followed */
	char tmp[300], victim[256];
	snprintf(tmp, sizeof(tmp), "%s/.ghostrec-2.wav.part", path);
	snprintf(victim, sizeof(victim), "%s/precious", base);
	write_file(victim, "keep me\n", 0644);
	CHECK(symlink(victim, tmp) == 0);
	CHECK(t->put(t, src, "ghostrec-2.wav", err, sizeof(err)) == 0);
	FILE *f = fopen(victim, "r");
	char line[32] = "";
	CHECK(f && fgets(line, sizeof(line), f) && strcmp(line, "keep me\n") == 0);
	fclose(f);
	t->destroy(t);

	/* group-readable when configured: dir 0750, files 0640 */
	snprintf(path, sizeof(path), "%s/outbox-group", base);
	t = deliver_outbox_new(path, 0640, err, sizeof(err));
	CHECK(t != NULL && mode_of(path) == 0750);
	CHECK(t->put(t, src, "ghostrec-3.wav", err, sizeof(err)) == 0);
	snprintf(dst, sizeof(dst), "%s/ghostrec-3.wav", path);
	CHECK(mode_of(dst) == 0640);
	t->destroy(t);
	umask(old);

	/* an existing directory is the user's: left as it is */
	snprintf(path, sizeof(path), "%s/outbox-mine", base);
	CHECK(mkdir(path, 0755) == 0 && chmod(path, 0755) == 0);
	t = deliver_outbox_new(path, 0600, err, sizeof(err));
	CHECK(t != NULL && mode_of(path) == 0755);
	t->destroy(t);
	printf("outbox modes: ok\n");
}

static void test_config(void)
{
	struct exporter_config c;
	char err[1024];
	exporter_config_defaults(&c);
	CHECK(c.outbox_mode == 0600);
	const char *bad[] = { "outbox = \"\n", "outbox = \"/srv/in\n", "outbox = /srv/in\"\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		exporter_config_defaults(&c);
		CHECK(exporter_config_parse_text(&c, bad[i], strlen(bad[i]), err, sizeof(err)) < 0);
		printf("config %.*s: %s\n", (int)strcspn(bad[i], "\n"), bad[i], err);
		CHECK(strstr(err, "line 1: outbox:") && strstr(err, "unbalanced quote"));
		CHECK(c.outbox[0] == '\0');
	}
	const char *good = "outbox = \"/srv/my inbox\"\noutbox-mode = 0640\n";
	exporter_config_defaults(&c);
	CHECK(exporter_config_parse_text(&c, good, strlen(good), err, sizeof(err)) == 0);
	CHECK(strcmp(c.outbox, "/srv/my inbox") == 0 && c.outbox_mode == 0640);
	CHECK(exporter_config_set(&c, "outbox-mode", "0666", err, sizeof(err)) < 0 &&
	      strstr(err, "not 0600 or 0640"));
	printf("config: ok\n");
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/gr-messages-XXXXXX");
	CHECK(mkdtemp(base) != NULL);
	test_full_device();
	test_outbox();
	test_config();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	CHECK(system(cmd) == 0);
	return 0;
}
