/* SMB delivery errors say what is wrong, against a real smbd: a wrong password is "logon
 * refused" (naming the credentials file), a read-only share is "permission denied: the share is
 * read-only", and the URL in the message keeps the :port it was given.
 * argv[1] = tests/exporter/smbd.sh */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); failed = 1; goto out; } } while (0)

static char base[64];
static const char *smbd_sh;

static int smbd(const char *cmd)
{
	char line[1024];
	snprintf(line, sizeof(line), "%s %s %s/smb >/dev/null", smbd_sh, cmd, base);
	return system(line);
}

int main(int argc, char **argv)
{
	int failed = 0;
	if (argc < 2)
		return 2;
	smbd_sh = argv[1];
	snprintf(base, sizeof(base), "/tmp/gr-smbmsg-XXXXXX");
	if (!mkdtemp(base) || smbd("start") != 0) {
		fprintf(stderr, "cannot start smbd\n");
		return 1;
	}
	char port[16] = "", path[256], cred[256], bad[256], url[256], err[2048];
	snprintf(path, sizeof(path), "%s/smb/port", base);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(port, sizeof(port), f)) {
		fprintf(stderr, "no port\n");
		return 1;
	}
	fclose(f);
	port[strcspn(port, "\n")] = '\0';
	snprintf(cred, sizeof(cred), "%s/smb/cred", base);
	snprintf(path, sizeof(path), "%s/take.wav", base);
	f = fopen(path, "w");
	fputs("RIFF....WAVEdata", f);
	fclose(f);

	/* the right password and a writable share: delivered (the share works) */
	snprintf(url, sizeof(url), "smb://127.0.0.1:%s/takes/in", port);
	struct deliver_target *t = deliver_smb_new(url, cred, err, sizeof(err));
	CHECK(t && t->put(t, path, "ghostrec-1.wav", err, sizeof(err)) == 0);
	t->destroy(t);

	/* a read-only share (its folder exists) */
	snprintf(path, sizeof(path), "%s/smb/share-ro/in", base);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/take.wav", base);
	snprintf(url, sizeof(url), "smb://127.0.0.1:%s/takes-ro/in", port);
	t = deliver_smb_new(url, cred, err, sizeof(err));
	CHECK(t != NULL);
	CHECK(t->put(t, path, "ghostrec-2.wav", err, sizeof(err)) < 0);
	t->destroy(t);
	printf("read-only share: %s\n", err);
	CHECK(strstr(err, "permission denied: the share is read-only"));
	CHECK(strstr(err, url)); /* with its :port */

	/* a wrong password */
	snprintf(bad, sizeof(bad), "%s/bad-cred", base);
	char user_line[256] = "";
	f = fopen(cred, "r"); /* the right user name, the wrong password */
	while (f && fgets(user_line, sizeof(user_line), f) && strncmp(user_line, "username", 8) != 0)
		;
	if (f)
		fclose(f);
	f = fopen(bad, "w");
	fprintf(f, "%spassword = not-the-password\n", user_line);
	fclose(f);
	chmod(bad, 0600);
	snprintf(url, sizeof(url), "smb://127.0.0.1:%s/takes/in", port);
	t = deliver_smb_new(url, bad, err, sizeof(err));
	CHECK(t != NULL);
	CHECK(t->put(t, path, "ghostrec-3.wav", err, sizeof(err)) < 0);
	t->destroy(t);
	printf("wrong password: %s\n", err);
	CHECK(strstr(err, "logon refused: wrong user name or password") && strstr(err, bad));
	CHECK(strstr(err, url));
out:
	smbd("stop");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		failed = 1;
	return failed;
}
