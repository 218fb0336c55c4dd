/* ghostrec-exporter settings (see config.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)

void exporter_config_defaults(struct exporter_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->osc_bind, sizeof(c->osc_bind), "0.0.0.0");
	c->osc_port = 9000;
	c->preroll = 2.0;
	c->postroll = 1.0;
	c->format = TAKE_FORMAT_FLOAT32;
	c->reaper_port = 8000;
	c->retry_max = 60.0;
	snprintf(c->destination, sizeof(c->destination), "pwar");
	c->journal_hours = 8.0;                       /* a long session day ... */
	c->journal_max_bytes = 16ull << 30;           /* ... within 16 GiB (stereo 48 kHz: 11 h) */
	c->journal_segment_seconds = 300;
	c->journal_min_free_bytes = 1ull << 30;      /* leave the takes 1 GiB of the disk */
	c->outbox_mode = 0600;

	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state && state[0] == '/')
		snprintf(c->spool_dir, sizeof(c->spool_dir), "%s/pw-ghost-rec/spool", state);
	else
		snprintf(c->spool_dir, sizeof(c->spool_dir), "%s/.local/state/pw-ghost-rec/spool",
			 home ? home : "/tmp");
	/* ctl_socket stays empty here: main.c puts it beside the nodes' sockets (control.h) */
}

static int copy_str(char *dst, size_t size, const char *value, const char *key, char *err, size_t errsize)
{
	size_t n = strlen(value);
	if (n >= size) {
		SET_ERR("%s: value too long (%zu bytes, at most %zu)", key, n, size - 1);
		return -1;
	}
	memcpy(dst, value, n + 1);
	return 0;
}

static int parse_seconds(const char *value, double max, double *out, const char *key, char *err, size_t errsize)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end != '\0' || !isfinite(v) || v < 0 || v > max) {
		SET_ERR("%s: \"%s\" is not a number of seconds in [0, %g]", key, value, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_port(const char *value, uint16_t *out, const char *key, char *err, size_t errsize)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	long min = strcmp(key, "osc-port") == 0 ? 0 : 1; /* osc-port 0: any free port (logged) */
	if (errno || end == value || *end != '\0' || v < min || v > 65535) {
		SET_ERR("%s: \"%s\" is not a port number (%ld-65535)", key, value, min);
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

static int parse_bool(const char *value, bool *out, const char *key, char *err, size_t errsize)
{
	if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1") || !strcmp(value, "on"))
		*out = true;
	else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0") || !strcmp(value, "off"))
		*out = false;
	else {
		SET_ERR("%s: \"%s\" is not a boolean (true/false)", key, value);
		return -1;
	}
	return 0;
}

/* Node names become shm and socket names: keep them to a safe character set. */
static int valid_node_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int exporter_config_set(struct exporter_config *c, const char *key, const char *value,
			char *err, size_t errsize)
{
	if (!strcmp(key, "osc-port"))
		return parse_port(value, &c->osc_port, key, err, errsize);
	if (!strcmp(key, "osc-bind"))
		return copy_str(c->osc_bind, sizeof(c->osc_bind), value, key, err, errsize);
	if (!strcmp(key, "allow")) {
		if (c->n_allow >= EXPORTER_MAX_ALLOW) {
			SET_ERR("allow: at most %d hosts", EXPORTER_MAX_ALLOW);
			return -1;
		}
		if (!*value) {
			SET_ERR("allow: empty host");
			return -1;
		}
		if (copy_str(c->allow[c->n_allow], sizeof(c->allow[0]), value, key, err, errsize) < 0)
			return -1;
		c->n_allow++;
		return 0;
	}
	if (!strcmp(key, "node")) {
		if (c->n_nodes >= EXPORTER_MAX_NODES) {
			SET_ERR("node: at most %d nodes", EXPORTER_MAX_NODES);
			return -1;
		}
		if (!valid_node_name(value) || strlen(value) >= sizeof(c->nodes[0])) {
			SET_ERR("node: \"%s\" is not a node name ([A-Za-z0-9._-], < 64 chars)", value);
			return -1;
		}
		for (unsigned i = 0; i < c->n_nodes; i++)
			if (!strcmp(c->nodes[i], value)) {
				SET_ERR("node: \"%s\" given twice", value);
				return -1;
			}
		snprintf(c->nodes[c->n_nodes++], sizeof(c->nodes[0]), "%s", value);
		return 0;
	}
	if (!strcmp(key, "outbox"))
		return copy_str(c->outbox, sizeof(c->outbox), value, key, err, errsize);
	if (!strcmp(key, "outbox-mode")) {
		if (!strcmp(value, "0600") || !strcmp(value, "600"))
			c->outbox_mode = 0600;
		else if (!strcmp(value, "0640") || !strcmp(value, "640"))
			c->outbox_mode = 0640;
		else {
			SET_ERR("outbox-mode: \"%s\" is not 0600 or 0640", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "smb-url")) {
		if (*value && strncmp(value, "smb://", 6) != 0) {
			SET_ERR("smb-url: \"%s\" does not start with smb://", value);
			return -1;
		}
		return copy_str(c->smb_url, sizeof(c->smb_url), value, key, err, errsize);
	}
	if (!strcmp(key, "smb-credentials"))
		return copy_str(c->smb_credentials, sizeof(c->smb_credentials), value, key, err, errsize);
	if (!strcmp(key, "preroll"))
		return parse_seconds(value, 600, &c->preroll, key, err, errsize);
	if (!strcmp(key, "postroll"))
		return parse_seconds(value, 600, &c->postroll, key, err, errsize);
	if (!strcmp(key, "retry-max"))
		return parse_seconds(value, 86400, &c->retry_max, key, err, errsize);
	if (!strcmp(key, "format")) {
		if (!strcmp(value, "float32"))
			c->format = TAKE_FORMAT_FLOAT32;
		else if (!strcmp(value, "pcm24"))
			c->format = TAKE_FORMAT_PCM24;
		else {
			SET_ERR("format: \"%s\" is not float32 or pcm24", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "spool-dir"))
		return copy_str(c->spool_dir, sizeof(c->spool_dir), value, key, err, errsize);
	if (!strcmp(key, "split-channels"))
		return parse_bool(value, &c->split_channels, key, err, errsize);
	if (!strcmp(key, "reaper-action"))
		return copy_str(c->reaper_action, sizeof(c->reaper_action), value, key, err, errsize);
	if (!strcmp(key, "reaper-host"))
		return copy_str(c->reaper_host, sizeof(c->reaper_host), value, key, err, errsize);
	if (!strcmp(key, "reaper-port"))
		return parse_port(value, &c->reaper_port, key, err, errsize);
	if (!strcmp(key, "journal-hours")) {
		double h;
		if (parse_seconds(value, 24 * 365, &h, key, err, errsize) < 0)
			return -1;
		c->journal_hours = h;
		return 0;
	}
	if (!strcmp(key, "journal-max-bytes") || !strcmp(key, "journal-min-free")) {
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		double mul = 1;
		if (*end == 'K' || *end == 'k') mul = 1024.0, end++;
		else if (*end == 'M') mul = 1024.0 * 1024, end++;
		else if (*end == 'G') mul = 1024.0 * 1024 * 1024, end++;
		else if (*end == 'T') mul = 1024.0 * 1024 * 1024 * 1024, end++;
		if (errno || end == value || *end != '\0' || !isfinite(v) || v < 0 || v * mul > 1e18) {
			SET_ERR("%s: \"%s\" is not a size (bytes, or with K, M, G, T)", key, value);
			return -1;
		}
		if (!strcmp(key, "journal-max-bytes"))
			c->journal_max_bytes = (uint64_t)(v * mul);
		else
			c->journal_min_free_bytes = (uint64_t)(v * mul);
		return 0;
	}
	if (!strcmp(key, "journal-segment-seconds")) {
		double v = 1;
		if (parse_seconds(value, 86400, &v, key, err, errsize) < 0 || v < 1) {
			if (v < 1)
				SET_ERR("%s: \"%s\" is not a number of seconds in [1, 86400]", key, value);
			return -1;
		}
		c->journal_segment_seconds = (uint64_t)v;
		return 0;
	}
	if (!strcmp(key, "ctl-socket"))
		return copy_str(c->ctl_socket, sizeof(c->ctl_socket), value, key, err, errsize);
	if (!strcmp(key, "destination"))
		return copy_str(c->destination, sizeof(c->destination), value, key, err, errsize);
	SET_ERR("unknown setting \"%s\"", key);
	return -1;
}

static const char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

int exporter_config_parse_text(struct exporter_config *c, const char *text, size_t len,
			       char *err, size_t errsize)
{
	char line[4096];
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		size_t start = pos;
		while (pos < len && text[pos] != '\n')
			pos++;
		size_t n = pos - start;
		pos++; /* skip '\n' */
		lineno++;
		if (n >= sizeof(line)) {
			SET_ERR("line %u: longer than %zu bytes", lineno, sizeof(line) - 1);
			return -1;
		}
		memcpy(line, text + start, n);
		line[n] = '\0';
		if (memchr(line, '\0', n)) {
			SET_ERR("line %u: contains a NUL byte", lineno);
			return -1;
		}
		const char *l = trim(line, line + n);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			SET_ERR("line %u: expected \"key = value\"", lineno);
			return -1;
		}
		const char *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		const char *key = trim((char *)l, eq);
		/* optional quotes around the value */
		size_t vl = strlen(value);
		char unq[4096];
		if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
			memcpy(unq, value + 1, vl - 2);
			unq[vl - 2] = '\0';
			value = unq;
		} else if (vl > 0 && (value[0] == '"' || value[vl - 1] == '"')) {
			SET_ERR("line %u: %s: the value %s has an unbalanced quote (write key = \"value\" "
				"or key = value)", lineno, key, value);
			return -1;
		}
		char why[512];
		if (exporter_config_set(c, key, value, why, sizeof(why)) < 0) {
			SET_ERR("line %u: %s", lineno, why);
			return -1;
		}
	}
	return 0;
}

void exporter_config_usage(FILE *f)
{
	fprintf(f,
		"Usage: ghostrec-exporter [options]\n"
		"Turns REAPER's OSC /record 1|0 into clean takes from the ghostrec node's ring and delivers them.\n\n"
		"  --osc-port PORT          OSC UDP port (default 9000)\n"
		"  --osc-bind ADDR          address to bind the OSC socket to (default 0.0.0.0)\n"
		"  --allow HOST|NET/BITS    also accept OSC from HOST or a network (repeatable; loopback always)\n"
		"  --node NAME              ghostrec node to record (repeatable; default ghostrec)\n"
		"  --outbox DIR             deliver takes into DIR (atomic: temp name + rename)\n"
		"  --outbox-mode 0600|0640  mode of delivered files (default 0600; DIR is created 0700/0750)\n"
		"  --smb-url URL            deliver to smb://host[:port]/share/dir via libsmbclient\n"
		"  --smb-credentials FILE   username/password/domain = ... lines; must be mode 0600\n"
		"  --preroll SEC            audio kept before the marker (default 2)\n"
		"  --postroll SEC           audio kept after the stop (default 1)\n"
		"  --format float32|pcm24   sample format of clean takes (default float32)\n"
		"  --split-channels         also write one mono file per channel\n"
		"  --spool-dir DIR          spool + delivery queue (default $XDG_STATE_HOME/pw-ghost-rec/spool)\n"
		"  --reaper-action ID       after delivery send OSC /action/str ID to REAPER\n"
		"  --reaper-host HOST       REAPER's OSC host (default: sender of the last /record)\n"
		"  --reaper-port PORT       REAPER's OSC listen port (default 8000)\n"
		"  --retry-max SEC          longest wait between delivery retries (default 60)\n"
		"  --journal-hours H        keep this much of what each node heard on disk (default 8; 0: no cap)\n"
		"  --journal-max-bytes N    ... and at most this much (default 16G; K, M, G, T; 0: no cap)\n"
		"  --journal-segment-seconds S  journal file length, the unit of rotation (default 300)\n"
		"  --journal-min-free N     oldest journal files go while the disk has less free (default 1G)\n"
		"  --ctl-socket PATH        control socket (default $XDG_RUNTIME_DIR/pw-ghost-rec/exporter.ctl)\n"
		"  --destination NODE       node the tap feeds (default pwar): warn when its input is also fed by\n"
		"                           something else (summing) or, for pwar, the quantum exceeds 128; \"\" = off\n"
		"  --config FILE            config file (default $XDG_CONFIG_HOME/pw-ghost-rec/exporter.conf)\n"
		"  --help                   this text\n\n"
		"Config file: one \"key = value\" per line, keys are the option names without \"--\".\n");
}

static int load_file(struct exporter_config *c, const char *path, bool must_exist, char *err, size_t errsize)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		SET_ERR("%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	int bad = !buf || ferror(f) || n == (1 << 20);
	fclose(f);
	if (bad) {
		free(buf);
		SET_ERR("%s: cannot read (or larger than 1 MiB)", path);
		return -1;
	}
	char why[600];
	int r = exporter_config_parse_text(c, buf, n, why, sizeof(why));
	free(buf);
	if (r < 0)
		SET_ERR("%s: %s", path, why);
	return r;
}

int exporter_config_load(struct exporter_config *c, int argc, char **argv, char *err, size_t errsize)
{
	static const struct option opts[] = {
		{ "osc-port", required_argument, NULL, 0 },
		{ "osc-bind", required_argument, NULL, 0 },
		{ "allow", required_argument, NULL, 0 },
		{ "node", required_argument, NULL, 0 },
		{ "outbox", required_argument, NULL, 0 },
		{ "outbox-mode", required_argument, NULL, 0 },
		{ "smb-url", required_argument, NULL, 0 },
		{ "smb-credentials", required_argument, NULL, 0 },
		{ "preroll", required_argument, NULL, 0 },
		{ "postroll", required_argument, NULL, 0 },
		{ "format", required_argument, NULL, 0 },
		{ "spool-dir", required_argument, NULL, 0 },
		{ "split-channels", no_argument, NULL, 0 },
		{ "reaper-action", required_argument, NULL, 0 },
		{ "reaper-host", required_argument, NULL, 0 },
		{ "reaper-port", required_argument, NULL, 0 },
		{ "retry-max", required_argument, NULL, 0 },
		{ "ctl-socket", required_argument, NULL, 0 },
		{ "destination", required_argument, NULL, 0 },
		{ "journal-hours", required_argument, NULL, 0 },
		{ "journal-max-bytes", required_argument, NULL, 0 },
		{ "journal-segment-seconds", required_argument, NULL, 0 },
		{ "journal-min-free", required_argument, NULL, 0 },
		{ "config", required_argument, NULL, 0 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	int idx, opt;
	bool cli_allow = false, cli_node = false;
	char why[600];

	exporter_config_defaults(c);

	/* pass 1: --config / --help only */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == 'h') {
			exporter_config_usage(stdout);
			return 1;
		}
		if (opt == 0 && !strcmp(opts[idx].name, "config"))
			config_path = optarg;
	}
	if (config_path) {
		if (load_file(c, config_path, true, err, errsize) < 0)
			return -1;
		snprintf(c->config_file, sizeof(c->config_file), "%s", config_path);
	} else {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		const char *home = getenv("HOME");
		char path[PATH_MAX];
		if (xdg && xdg[0] == '/')
			snprintf(path, sizeof(path), "%s/pw-ghost-rec/exporter.conf", xdg);
		else
			snprintf(path, sizeof(path), "%s/.config/pw-ghost-rec/exporter.conf", home ? home : "/");
		if (load_file(c, path, false, err, errsize) < 0)
			return -1;
		snprintf(c->config_file, sizeof(c->config_file), "%s", path);
	}

	/* pass 2: flags override the file */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt == '?' || opt == ':') {
			SET_ERR("unknown option or missing value: %s (see --help)", argv[optind - 1]);
			return -1;
		}
		if (opt != 0)
			continue;
		const char *name = opts[idx].name;
		if (!strcmp(name, "config"))
			continue;
		if (!strcmp(name, "allow") && !cli_allow) {
			cli_allow = true;
			c->n_allow = 0;
		}
		if (!strcmp(name, "node") && !cli_node) {
			cli_node = true;
			c->n_nodes = 0;
		}
		if (exporter_config_set(c, name, optarg ? optarg : "true", why, sizeof(why)) < 0) {
			SET_ERR("--%s", why);
			return -1;
		}
	}
	if (optind < argc) {
		SET_ERR("unexpected argument \"%s\" (see --help)", argv[optind]);
		return -1;
	}
	if (c->n_nodes == 0)
		snprintf(c->nodes[c->n_nodes++], sizeof(c->nodes[0]), "ghostrec");
	if (c->smb_url[0] && !c->smb_credentials[0]) {
		SET_ERR("--smb-url needs --smb-credentials FILE (mode 0600)");
		return -1;
	}
	if (c->reaper_action[0] && strchr(c->reaper_action, ' ')) {
		SET_ERR("--reaper-action: \"%s\" is not a command id", c->reaper_action);
		return -1;
	}
	return 0;
}
