/* The daemon's state, shared by main.c (event loop) and ctl-server.c (control socket). */
#ifndef GHOSTREC_EXPORTER_EXPORTER_H
#define GHOSTREC_EXPORTER_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "graph-watch.h"
#include "ctl-socket.h"
#include "osc.h"
#include "recorder.h"
#include "worker.h"

/* Requests on the control socket are JSON objects {"cmd": "..."}; larger ones are refused. */
#define EXPORTER_CTL_MAX_REQUEST 4096u
#define EXPORTER_CTL_MAX_REPLY (256u * 1024u)

struct exporter {
	struct exporter_config cfg;
	struct osc_server osc;
	struct recorder rec;
	struct worker *worker;
	struct graph_watch *gw;  /* summing / quantum warnings (NULL: none) */
	double graph_checked_at;
	void *zctx;
	void *ctl;               /* ZMQ_REP, ipc://<ctl_socket> */
	struct ctl_socket ctl_sock;
	double started_at;
	uint64_t ctl_requests, ctl_bad_requests, ctl_oversize;
};

/* Monotonic seconds. */
double exporter_now(void);

/* Answers one control request (bytes as received). Returns the reply length. */
size_t ctl_server_handle(struct exporter *ex, const void *req, size_t len, char *reply, size_t size);

/* The status object (also what `ghostrec-ctl status --json` prints). */
int exporter_status_json(struct exporter *ex, char *buf, size_t size, const char *cmd);

/* OSC command callback. */
void exporter_on_osc(void *data, enum osc_command cmd, const struct sockaddr *from, socklen_t fromlen);

#endif
