/* ghostrec-exporter: REAPER's OSC /record -> clean takes from the ghostrec node(s), delivered.
 * Event loop: OSC socket, control socket, node sockets, and a short tick that spools the rings. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "ghostrec-config.h"
#include "exporter.h"
#include "requests.h"
#include "log.h"
#include "spool.h"

/* While a node is attached its ring is journaled every 10 ms (a 0.25 s ring still has 25 polls
 * of slack); with no node attached, 10 wakeups a second are enough for attach retries. */
#define TICK_ACTIVE_MS 10
#define TICK_IDLE_MS 100

/* How often the graph is checked for summing and PWAR's quantum limit. */
#define GRAPH_CHECK_S 0.5

static volatile sig_atomic_t quit;

/* The graph's quantum as the attached ghostrec nodes last ran it (largest; 0 = none known). */
static uint64_t graph_quantum(struct recorder *r)
{
	uint64_t q = 0;
	for (unsigned i = 0; i < r->n_nodes; i++) {
		if (!node_link_attached(&r->nodes[i]))
			continue;
		struct ghostrec_ring_counter_values cv;
		ghostrec_ring_reader_counters(r->nodes[i].ring, &cv);
		if (cv.last_quantum > q)
			q = cv.last_quantum;
	}
	return q;
}

static void on_signal(int sig)
{
	quit = sig;
}

void exporter_on_osc(void *data, enum osc_command cmd, const struct sockaddr *from, socklen_t fromlen)
{
	struct exporter *ex = data;
	char addr[80];
	osc_format_addr(from, addr, sizeof(addr));
	double now = exporter_now();

	switch (cmd) {
	case OSC_CMD_RECORD_START:
	case OSC_CMD_START: {
		char why[128], host[80];
		snprintf(why, sizeof(why), "%s from %s", cmd == OSC_CMD_START ? "/ghostrec/start" : "/record 1", addr);
		if (cmd == OSC_CMD_RECORD_START) {
			snprintf(host, sizeof(host), "%s", addr);
			char *colon = strrchr(host, ':');
			if (colon)
				*colon = '\0';
			worker_set_reaper_host(ex->worker, host);
		}
		recorder_start(&ex->rec, why, now);
		break;
	}
	case OSC_CMD_RECORD_STOP:
	case OSC_CMD_TRANSPORT_STOP:
	case OSC_CMD_STOP: {
		char why[128];
		snprintf(why, sizeof(why), "%s from %s", cmd == OSC_CMD_RECORD_STOP ? "/record 0" :
			 cmd == OSC_CMD_STOP ? "/ghostrec/stop" : "/stop", addr);
		recorder_stop(&ex->rec, why);
		break;
	}
	case OSC_CMD_STATUS: {
		char detail[128];
		uint32_t last = ex->rec.n_last ? ex->rec.last_take_ids[0] : 0;
		snprintf(detail, sizeof(detail), "active=%u queued=%u", ex->rec.n_takes, worker_pending(ex->worker));
		osc_server_send_status(&ex->osc, from, fromlen, recorder_recording(&ex->rec) ? "recording" : "idle",
				       detail, last);
		break;
	}
	}
}

static int open_ctl(struct exporter *ex)
{
	char ep[PATH_MAX + 8];
	snprintf(ep, sizeof(ep), "ipc://%s", ex->cfg.ctl_socket);
	ex->ctl = zmq_socket(ex->zctx, ZMQ_REP);
	int zero = 0;
	int64_t maxsize = 1 << 20; /* beyond this libzmq drops the peer; below it we answer too-large */
	zmq_setsockopt(ex->ctl, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(ex->ctl, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
	/* ctl_socket_claim made sure nothing but our own stale socket was at the path; the socket
	 * is created 0600 (no window in which others could connect) */
	mode_t old = umask(0077);
	int r = zmq_bind(ex->ctl, ep);
	umask(old);
	if (r != 0) {
		log_err("cannot bind control socket %s: %s", ep, zmq_strerror(zmq_errno()));
		return -1;
	}
	ctl_socket_bound(&ex->ctl_sock);
	return 0;
}

static void serve_ctl(struct exporter *ex)
{
	static char req[EXPORTER_CTL_MAX_REQUEST + 1];
	static char reply[EXPORTER_CTL_MAX_REPLY];
	for (;;) {
		zmq_msg_t msg;
		size_t total = 0, kept = 0;
		int more = 0;
		size_t msize = sizeof(more);
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, ex->ctl, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		/* a request may arrive in several frames: take them all as one */
		for (;;) {
			size_t n = zmq_msg_size(&msg);
			if (kept + n <= EXPORTER_CTL_MAX_REQUEST) {
				memcpy(req + kept, zmq_msg_data(&msg), n);
				kept += n;
			}
			total += n;
			zmq_getsockopt(ex->ctl, ZMQ_RCVMORE, &more, &msize);
			zmq_msg_close(&msg);
			if (!more)
				break;
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, ex->ctl, 0) < 0) {
				zmq_msg_close(&msg);
				break;
			}
		}
		size_t n = ctl_server_handle(ex, req, total > EXPORTER_CTL_MAX_REQUEST ? total : kept, reply,
					     sizeof(reply));
		if (zmq_send(ex->ctl, reply, n, 0) < 0)
			log_warn("ctl: reply failed: %s", zmq_strerror(zmq_errno()));
	}
}

static int setup_targets(struct exporter *ex, struct deliver_target **targets, unsigned *n)
{
	char err[1024];
	*n = 0;
	if (ex->cfg.outbox[0]) {
		struct deliver_target *t = deliver_outbox_new(ex->cfg.outbox, ex->cfg.outbox_mode, err, sizeof(err));
		if (!t) {
			log_err("%s", err);
			return -1;
		}
		targets[(*n)++] = t;
	}
	if (ex->cfg.smb_url[0]) {
		struct deliver_target *t = deliver_smb_new(ex->cfg.smb_url, ex->cfg.smb_credentials, err, sizeof(err));
		if (!t) {
			log_err("%s", err);
			return -1;
		}
		targets[(*n)++] = t;
	}
	if (*n == 0)
		log_warn("no --outbox or --smb-url: finished takes stay in %s/queue", ex->cfg.spool_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static struct exporter ex;
	char err[1200];
	struct deliver_target *targets[2];
	unsigned n_targets = 0;
	int rc = 1;

	setvbuf(stderr, NULL, _IOLBF, 0);
	int r = exporter_config_load(&ex.cfg, argc, argv, err, sizeof(err));
	if (r == 1)
		return 0;
	if (r < 0) {
		log_err("%s", err);
		return 2;
	}
	ex.started_at = exporter_now();
	if (spool_init(ex.cfg.spool_dir, err, sizeof(err)) < 0 || spool_lock(ex.cfg.spool_dir, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	/* one exporter per control socket: a second one stops here, before touching anything */
	if (ctl_socket_claim(&ex.ctl_sock, ex.cfg.ctl_socket, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	snprintf(ex.cfg.ctl_socket, sizeof(ex.cfg.ctl_socket), "%s", ex.ctl_sock.path);
	if (setup_targets(&ex, targets, &n_targets) < 0)
		return 1;
	if (osc_server_open(&ex.osc, ex.cfg.osc_bind, ex.cfg.osc_port, exporter_on_osc, &ex, err, sizeof(err)) < 0) {
		log_err("%s", err);
		for (unsigned i = 0; i < n_targets; i++)
			targets[i]->destroy(targets[i]);
		return 1;
	}
	for (unsigned i = 0; i < ex.cfg.n_allow; i++)
		if (osc_server_allow(&ex.osc, ex.cfg.allow[i], err, sizeof(err)) < 0)
			log_warn("%s (ignored)", err);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ex.worker = worker_start(&ex.cfg, targets, n_targets);
	ex.zctx = zmq_ctx_new();
	if (!ex.worker || !ex.zctx || open_ctl(&ex) < 0 || recorder_init(&ex.rec, &ex.cfg, ex.zctx, ex.worker) < 0)
		goto out;
	recorder_recover(&ex.rec, exporter_now());
	ex.gw = graph_watch_new(ex.cfg.destination, (const char(*)[64])ex.cfg.nodes, ex.cfg.n_nodes);

	log_info("ghostrec-exporter %s: OSC on %s:%u, nodes:%s%s%s, spool %s, control %s", GHOSTREC_VERSION,
		 ex.cfg.osc_bind, ex.osc.port, ex.cfg.nodes[0], ex.cfg.n_nodes > 1 ? " (+more)" : "",
		 ex.cfg.format == TAKE_FORMAT_PCM24 ? ", pcm24" : ", float32", ex.cfg.spool_dir, ex.cfg.ctl_socket);
	/* machine-readable line for scripts and tests that start us with port 0 */
	log_info("listening osc_port=%u", ex.osc.port);

	while (!quit) {
		zmq_pollitem_t items[2 + 2 * (EXPORTER_MAX_NODES + 4)];
		int n = 0;
		items[n++] = (zmq_pollitem_t){ .fd = ex.osc.fd, .events = ZMQ_POLLIN };
		items[n++] = (zmq_pollitem_t){ .socket = ex.ctl, .events = ZMQ_POLLIN };
		for (unsigned i = 0; i < ex.rec.n_nodes; i++) {
			items[n++] = (zmq_pollitem_t){ .socket = ex.rec.nodes[i].ctl, .events = ZMQ_POLLIN };
			items[n++] = (zmq_pollitem_t){ .socket = ex.rec.nodes[i].evt, .events = ZMQ_POLLIN };
		}
		bool active = ex.rec.n_takes > 0;
		for (unsigned i = 0; i < ex.rec.n_nodes && !active; i++)
			active = node_link_attached(&ex.rec.nodes[i]);
		if (zmq_poll(items, n, active ? TICK_ACTIVE_MS : TICK_IDLE_MS) < 0 && zmq_errno() != EINTR) {
			log_err("poll failed: %s", zmq_strerror(zmq_errno()));
			break;
		}
		if (items[0].revents & ZMQ_POLLIN)
			osc_server_read(&ex.osc);
		if (items[1].revents & ZMQ_POLLIN)
			serve_ctl(&ex);
		recorder_tick(&ex.rec, exporter_now());
		requests_poll(&ex.rec, exporter_now());
		if (exporter_now() - ex.graph_checked_at >= GRAPH_CHECK_S) {
			ex.graph_checked_at = exporter_now();
			graph_watch_tick(ex.gw, graph_quantum(&ex.rec));
		}
	}
	if (quit)
		log_info("stopping on signal %d; %u take(s) in progress stay in %s and resume on the next start",
			 (int)quit, ex.rec.n_takes, ex.cfg.spool_dir);
	rc = 0;
out:
	graph_watch_free(ex.gw);
	recorder_close(&ex.rec);
	worker_stop(ex.worker);
	if (ex.ctl)
		zmq_close(ex.ctl);
	ctl_socket_release(&ex.ctl_sock); /* removes the socket only if it is still the one we bound */
	if (ex.zctx)
		zmq_ctx_term(ex.zctx);
	osc_server_close(&ex.osc);
	return rc;
}
