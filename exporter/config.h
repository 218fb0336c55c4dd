/* ghostrec-exporter settings: defaults, the config file (key = value) and the command line.
 * Config file keys are the long flag names without "--" (e.g. "osc-port = 9000"); list keys
 * (allow, node) may repeat. The command line wins: a list given there replaces the file's. */
#ifndef GHOSTREC_EXPORTER_CONFIG_H
#define GHOSTREC_EXPORTER_CONFIG_H

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPORTER_MAX_ALLOW 16
#define EXPORTER_MAX_NODES 8

enum take_format { TAKE_FORMAT_FLOAT32 = 0, TAKE_FORMAT_PCM24 = 1 };

struct exporter_config {
	char osc_bind[64];
	uint16_t osc_port;
	char allow[EXPORTER_MAX_ALLOW][128];
	unsigned n_allow;
	char nodes[EXPORTER_MAX_NODES][64];
	unsigned n_nodes;
	char outbox[PATH_MAX];
	unsigned outbox_mode;      /* delivered files: 0600 (default) or 0640; dirs we create 0700/0750 */
	char smb_url[1024];
	char smb_credentials[PATH_MAX];
	double preroll;
	double postroll;
	enum take_format format;
	char spool_dir[PATH_MAX];
	bool split_channels;
	char reaper_action[128];
	char reaper_host[128];
	uint16_t reaper_port;
	double retry_max;          /* longest wait between delivery attempts, seconds */
	char ctl_socket[PATH_MAX]; /* exporter's own control socket (ZeroMQ REP, ipc://) */
	char destination[64];      /* node.name the tap feeds (PWAR: pwar), "" = no graph checks */
	double journal_hours;      /* capture journal cap by length (0: none) */
	uint64_t journal_max_bytes; /* ... and by size (0: none) */
	uint64_t journal_segment_seconds;
	uint64_t journal_min_free_bytes; /* rotate while the disk has less free than this */
	char config_file[PATH_MAX];
};

/* Fills defaults (spool dir under $XDG_STATE_HOME, control socket under $XDG_RUNTIME_DIR). */
void exporter_config_defaults(struct exporter_config *c);

/* Applies one setting. Returns 0 or -1 with a one-line reason in err. */
int exporter_config_set(struct exporter_config *c, const char *key, const char *value,
			char *err, size_t errsize);

/* Parses config file text. Returns 0 or -1 with "line N: reason" in err. */
int exporter_config_parse_text(struct exporter_config *c, const char *text, size_t len,
			       char *err, size_t errsize);

/* Full start-up: defaults, config file (--config FILE or $XDG_CONFIG_HOME/pw-ghost-rec/
 * exporter.conf; a missing default file is fine), then flags. Returns 0 to run, 1 if --help
 * was printed, -1 on error (reason in err). */
int exporter_config_load(struct exporter_config *c, int argc, char **argv, char *err, size_t errsize);

void exporter_config_usage(FILE *f);

#endif
