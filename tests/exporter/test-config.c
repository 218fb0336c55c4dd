/* Settings: defaults, the config file (key = value) and flags on top, and clear errors for
 * every kind of bad value. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "../unit/check.h"

static int load(struct exporter_config *c, char *err, size_t errsize, int argc, ...)
{
	char *argv[32];
	va_list ap;
	va_start(ap, argc);
	argv[0] = "ghostrec-exporter";
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	return exporter_config_load(c, argc, argv, err, errsize);
}

int main(void)
{
	struct exporter_config c;
	char err[1024], dir[] = "/tmp/ghostrec-config-XXXXXX", path[4200];
	CHECK(mkdtemp(dir) != NULL);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("XDG_STATE_HOME", dir, 1);

	/* defaults, no config file */
	CHECK(load(&c, err, sizeof(err), 1) == 0);
	CHECK(c.osc_port == 9000 && !strcmp(c.osc_bind, "0.0.0.0") && c.preroll == 2.0 && c.postroll == 1.0);
	CHECK(c.n_nodes == 1 && !strcmp(c.nodes[0], "ghostrec") && c.format == TAKE_FORMAT_FLOAT32);
	snprintf(path, sizeof(path), "%s/pw-ghost-rec/spool", dir);
	CHECK(!strcmp(c.spool_dir, path));

	/* config file in $XDG_CONFIG_HOME/pw-ghost-rec/exporter.conf */
	snprintf(path, sizeof(path), "%s/pw-ghost-rec", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/pw-ghost-rec/exporter.conf", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "# studio A\n\nosc-port = 9100\n  allow = 10.0.0.5  \nallow=10.0.0.6\nnode = vox\nnode = gtr\n"
		   "format = pcm24\npreroll = 3.5\nsplit-channels = yes\noutbox = \"/srv/takes in\"\n; done\n");
	fclose(f);
	CHECK(load(&c, err, sizeof(err), 1) == 0);
	CHECK(c.osc_port == 9100 && c.n_allow == 2 && !strcmp(c.allow[1], "10.0.0.6"));
	CHECK(c.n_nodes == 2 && !strcmp(c.nodes[1], "gtr") && c.format == TAKE_FORMAT_PCM24);
	CHECK(c.preroll == 3.5 && c.split_channels && !strcmp(c.outbox, "/srv/takes in"));

	/* flags win; a list on the command line replaces the file's */
	CHECK(load(&c, err, sizeof(err), 8, "--osc-port", "9200", "--node", "keys", "--format=float32",
		   "--postroll", "0.5") == 0);
	CHECK(c.osc_port == 9200 && c.n_nodes == 1 && !strcmp(c.nodes[0], "keys") && c.n_allow == 2);
	CHECK(c.format == TAKE_FORMAT_FLOAT32 && c.postroll == 0.5 && c.preroll == 3.5);

	/* --config FILE */
	char other[4300];
	snprintf(other, sizeof(other), "%s/other.conf", dir);
	f = fopen(other, "w");
	fprintf(f, "osc-bind = 127.0.0.1\n");
	fclose(f);
	CHECK(load(&c, err, sizeof(err), 3, "--config", other) == 0);
	CHECK(!strcmp(c.osc_bind, "127.0.0.1") && c.osc_port == 9000);

	/* errors: each one clear */
	struct { int argc; const char *a1, *a2; const char *expect; } bad[] = {
		{ 3, "--osc-port", "70000", "osc-port" },
		{ 3, "--osc-port", "12x", "osc-port" },
		{ 3, "--preroll", "-1", "preroll" },
		{ 3, "--preroll", "nan", "preroll" },
		{ 3, "--format", "mp3", "format" },
		{ 3, "--node", "a/b", "node" },
		{ 3, "--smb-url", "http://x/y", "smb-url" },
		{ 3, "--smb-url", "smb://host/share", "smb-credentials" },
		{ 2, "--bogus", NULL, "unknown option" },
		{ 2, "extra", NULL, "unexpected argument" },
		{ 3, "--config", "/nonexistent/x.conf", "/nonexistent/x.conf" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(load(&c, err, sizeof(err), bad[i].argc, bad[i].a1, bad[i].a2) < 0);
		printf("%s %s -> %s\n", bad[i].a1, bad[i].a2 ? bad[i].a2 : "", err);
		CHECK(strstr(err, bad[i].expect) != NULL);
	}
	static const char *const bad_files[] = {
		"osc-port = 9000\nnonsense line\n", "colour = blue\n", "node = \n", "format = =\n",
		/* one file over the allowlist's capacity (one string, split for width) */
		("allow=1\nallow=2\nallow=3\nallow=4\nallow=5\nallow=6\nallow=7\nallow=8\nallow=9\nallow=10\n"
		 "allow=11\nallow=12\nallow=13\nallow=14\nallow=15\nallow=16\nallow=17\n"),
	};
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		exporter_config_defaults(&c);
		err[0] = '\0';
		CHECK(exporter_config_parse_text(&c, bad_files[i], strlen(bad_files[i]), err, sizeof(err)) < 0);
		CHECK(!strncmp(err, "line ", 5));
		printf("file %zu -> %s\n", i, err);
	}
	/* a broken default config file stops the start with its path in the message */
	f = fopen(path, "w");
	fprintf(f, "osc-port = zero\n");
	fclose(f);
	CHECK(load(&c, err, sizeof(err), 1) < 0);
	CHECK(strstr(err, "exporter.conf") && strstr(err, "line 1"));

	/* the shipped example parses and gives the documented defaults */
	if (getenv("EXPORTER_CONF_EXAMPLE")) {
		CHECK(load(&c, err, sizeof(err), 3, "--config", getenv("EXPORTER_CONF_EXAMPLE")) == 0);
		CHECK(c.osc_port == 9000 && c.preroll == 2 && c.postroll == 1 && c.n_nodes == 1 && !c.split_channels);
	}

	/* --help */
	CHECK(load(&c, err, sizeof(err), 2, "--help") == 1);

	unlink(path);
	unlink(other);
	snprintf(path, sizeof(path), "%s/pw-ghost-rec", dir);
	rmdir(path);
	rmdir(dir);
	return check_report("test-config");
}
