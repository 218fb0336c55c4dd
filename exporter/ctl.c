/* ghostrec-ctl: asks the running ghostrec-exporter what it is doing, or tells it what to do.
 *   ghostrec-ctl [--json] [--socket PATH] [--timeout SEC] status|takes|mark|start|stop|retry
 *   ghostrec-ctl export --from TIME --to TIME [--node N] [-o FILE]
 * Exit 0 on success, 1 if the exporter refused, 2 if it could not be reached. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <spa/utils/json.h>
#include <zmq.h>

#include "common/control.h"
#include "common/rundir.h"
#include "exporter.h"

/* A JSON value as text. */
struct jv {
	const char *p;
	int len;
};

/* Value of `key` in object `o` (len 0 if absent). */
static struct jv get(struct jv o, const char *key)
{
	struct spa_json it, obj;
	char k[64];
	const char *v;
	int vl;
	struct jv out = { NULL, 0 };
	if (!o.p)
		return out;
	spa_json_init(&it, o.p, (size_t)o.len);
	if (spa_json_enter_object(&it, &obj) <= 0)
		return out;
	while (spa_json_get_string(&obj, k, sizeof(k)) > 0) {
		if ((vl = spa_json_next(&obj, &v)) <= 0)
			break;
		if (spa_json_is_container(v, vl))
			vl = spa_json_container_len(&obj, v, vl);
		if (!strcmp(k, key)) {
			out.p = v;
			out.len = vl;
			return out;
		}
	}
	return out;
}

/* Element i of array a. */
static struct jv item(struct jv a, int i)
{
	struct spa_json it, arr;
	const char *v;
	int vl;
	struct jv out = { NULL, 0 };
	if (!a.p)
		return out;
	spa_json_init(&it, a.p, (size_t)a.len);
	if (spa_json_enter_array(&it, &arr) <= 0)
		return out;
	for (int k = 0; (vl = spa_json_next(&arr, &v)) > 0; k++) {
		if (spa_json_is_container(v, vl))
			vl = spa_json_container_len(&arr, v, vl);
		if (k == i) {
			out.p = v;
			out.len = vl;
			return out;
		}
	}
	return out;
}

static const char *str(struct jv v, char *buf, size_t size)
{
	buf[0] = '\0';
	if (v.p && spa_json_is_string(v.p, v.len))
		spa_json_parse_stringn(v.p, v.len, buf, (int)size);
	else if (v.p && v.len > 0)
		snprintf(buf, size, "%.*s", v.len, v.p);
	return buf;
}

static double num(struct jv v)
{
	char buf[64];
	return v.p ? strtod(str(v, buf, sizeof(buf)), NULL) : 0;
}

static int yes(struct jv v)
{
	return v.p && spa_json_is_true(v.p, v.len);
}

/* 0 if something accepts connections at the unix socket path, else the errno of the attempt. */
static int probe_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(fd);
	return e;
}

static void print_duration(double s)
{
	if (s >= 3600)
		printf("%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
	else if (s >= 60)
		printf("%dm%02ds", (int)(s / 60), (int)s % 60);
	else
		printf("%.1fs", s);
}

static void print_takes(struct jv root)
{
	char b1[128], b2[64], b3[128];
	struct jv takes = get(root, "takes"), t;
	int any = 0;
	for (int i = 0; (t = item(takes, i)).p; i++) {
		any = 1;
		printf("  take %-10s %-10s node %-12s %8.2f s spooled", str(get(t, "take_id"), b1, sizeof(b1)),
		       str(get(t, "state"), b2, sizeof(b2)), str(get(t, "node"), b3, sizeof(b3)),
		       num(get(t, "spooled_seconds")));
		if (get(t, "marker_frame").p && get(t, "marker_frame").p[0] != 'n')
			printf("  marker @ frame %.0f", num(get(t, "marker_frame")));
		if (num(get(t, "lost_frames")) > 0)
			printf("  LOST %.0f frames", num(get(t, "lost_frames")));
		if (yes(get(t, "marker_missing")))
			printf("  NO MARKER");
		printf("\n");
	}
	if (!any)
		printf("  (no take in progress)\n");
	struct jv q = get(root, "queue");
	int nq = 0;
	while (item(q, nq).p)
		nq++;
	printf("delivery queue: %d take(s)\n", nq);
	for (int i = 0; (t = item(q, i)).p; i++) {
		printf("  take %-10s %-10s attempts %.0f", str(get(t, "take_id"), b1, sizeof(b1)),
		       str(get(t, "state"), b2, sizeof(b2)), num(get(t, "attempts")));
		if (get(t, "next_try_s").p && get(t, "next_try_s").p[0] != 'n')
			printf("  next try in %.1f s", num(get(t, "next_try_s")));
		str(get(t, "last_error"), b1, sizeof(b1));
		if (b1[0])
			printf("\n      last error: %s", b1);
		printf("\n");
	}
	struct jv d = get(root, "delivered");
	int nd = 0;
	while (item(d, nd).p)
		nd++;
	if (nd) {
		printf("delivered (latest last):\n");
		for (int i = nd > 10 ? nd - 10 : 0; (t = item(d, i)).p; i++)
			printf("  take %-10s %10.0f frames  at %s\n", str(get(t, "take_id"), b1, sizeof(b1)),
			       num(get(t, "frames")), str(get(t, "at_utc"), b2, sizeof(b2)));
	}
}

/* Where the tap's output goes, and what would spoil REAPER's take there. */
static void print_graph(struct jv g)
{
	char dest[128], fed[600], w[700];
	if (!g.p || !str(get(g, "destination"), dest, sizeof(dest))[0])
		return;
	if (!yes(get(g, "connected")))
		printf("graph: not connected to PipeWire (no checks for %s)\n", dest);
	else if (!yes(get(g, "destination_found")))
		printf("graph: destination %s not in the graph\n", dest);
	else
		printf("graph: destination %s fed by %s\n", dest,
		       str(get(g, "fed_by"), fed, sizeof(fed))[0] ? fed : "nothing");
	struct jv ws = get(g, "warnings"), x;
	for (int i = 0; (x = item(ws, i)).p; i++)
		printf("WARNING %s\n", str(x, w, sizeof(w)));
}

static void print_journal(struct jv j)
{
	char b1[64], b2[64], b3[64];
	if (!j.p || j.p[0] == 'n')
		return;
	struct jv gaps = get(j, "gaps"), g;
	int n = 0;
	while (item(gaps, n).p)
		n++;
	printf("  journal %s .. %s  (", str(get(j, "from_utc"), b1, sizeof(b1)), str(get(j, "to_utc"), b2, sizeof(b2)));
	print_duration(num(get(j, "seconds")));
	printf(", %.1f MiB, %d gap(s)%s%s)\n", num(get(j, "bytes")) / 1048576.0, n,
	       yes(get(j, "disk_full")) ? ", DISK FULL: " : "", yes(get(j, "disk_full")) ? str(get(j, "error"), b3, sizeof(b3)) : "");
	for (int i = n > 5 ? n - 5 : 0; (g = item(gaps, i)).p; i++)
		printf("    gap at frame %.0f: %.0f frames (%s)\n", num(get(g, "frame")), num(get(g, "frames")),
		       str(get(g, "cause"), b1, sizeof(b1)));
}

static void print_status(struct jv root, int takes_only)
{
	char b1[256], b2[64];
	if (!takes_only) {
		struct jv ex = get(root, "exporter"), osc = get(root, "osc"), oc = get(osc, "counters");
		printf("ghostrec-exporter %s  pid %.0f  up ", str(get(ex, "version"), b1, sizeof(b1)), num(get(ex, "pid")));
		print_duration(num(get(ex, "uptime_s")));
		printf("  %s\n", yes(get(root, "recording")) ? "** RECORDING **" : "idle");
		printf("osc %s:%.0f  packets %.0f  commands %.0f  ignored %.0f  not-allowed %.0f  malformed %.0f  "
		       "wrong-type %.0f  oversize %.0f\n", str(get(osc, "bind"), b1, sizeof(b1)), num(get(osc, "port")),
		       num(get(oc, "packets")), num(get(oc, "commands")), num(get(oc, "ignored")),
		       num(get(oc, "not_allowed")), num(get(oc, "malformed")), num(get(oc, "wrong_type")),
		       num(get(oc, "oversize")));
		struct jv nodes = get(root, "nodes"), n;
		for (int i = 0; (n = item(nodes, i)).p; i++) {
			printf("node %-12s ", str(get(n, "name"), b1, sizeof(b1)));
			if (!yes(get(n, "attached"))) {
				printf("NOT ATTACHED: %s\n", str(get(n, "error"), b1, sizeof(b1)));
				continue;
			}
			struct jv c = get(n, "counters");
			printf("%.0f Hz  %.0f ch  ring %.2f s  fill %3.0f%%  backlog %3.0f%%  xruns %.0f  overruns %.0f  "
			       "markers %.0f\n", num(get(n, "rate")), num(get(n, "channels")), num(get(n, "ring_seconds")),
			       100 * num(get(n, "ring_fill")), 100 * num(get(n, "spool_backlog")), num(get(c, "xruns")), num(get(c, "overruns")), num(get(c, "markers")));
			print_journal(get(n, "journal"));
		}
		struct jv rc = get(root, "recorder"), wc = get(root, "counters"), ctl = get(root, "ctl");
		printf("takes started %.0f  spooled %.0f  failed %.0f  lost frames %.0f  |  finalized %.0f  "
		       "delivered %.0f  delivery failures %.0f  |  ctl bad requests %.0f\n",
		       num(get(rc, "takes_started")), num(get(rc, "takes_spooled")), num(get(rc, "takes_failed")),
		       num(get(rc, "lost_frames")), num(get(wc, "finalized")), num(get(wc, "delivered")),
		       num(get(wc, "delivery_failures")), num(get(ctl, "bad_requests")));
		struct jv targets = get(root, "targets"), t;
		for (int i = 0; (t = item(targets, i)).p; i++)
			printf("target %-6s %s\n", str(get(t, "kind"), b2, sizeof(b2)), str(get(t, "where"), b1, sizeof(b1)));
		if (!item(targets, 0).p)
			printf("target (none: takes stay in %s/queue)\n", str(get(ex, "spool_dir"), b1, sizeof(b1)));
		print_graph(get(root, "graph"));
	}
	print_takes(root);
}

/* Waits until the exporter has written export take `id` to `path` (or given up on it). */
static int wait_export(void *s, const char *id, const char *path, double timeout)
{
	static char reply[EXPORTER_CTL_MAX_REPLY + 1];
	char b[64], b2[256];
	double waited = 0, limit = timeout < 60 ? 600 : timeout * 10; /* an hour-long range takes a while */
	while (waited < limit) {
		struct stat st;
		if (stat(path, &st) == 0)
			return 0;
		if (zmq_send(s, "{\"cmd\":\"takes\"}", 15, 0) < 0)
			break;
		int len = zmq_recv(s, reply, sizeof(reply) - 1, 0);
		if (len < 0)
			break;
		reply[len < (int)sizeof(reply) ? len : (int)sizeof(reply) - 1] = '\0';
		struct jv root = { reply, len }, t, q = get(root, "queue");
		int pending = 0;
		for (int i = 0; (t = item(get(root, "takes"), i)).p; i++)
			pending |= !strcmp(str(get(t, "take_id"), b, sizeof(b)), id);
		for (int i = 0; (t = item(q, i)).p; i++)
			if (!strcmp(str(get(t, "take_id"), b, sizeof(b)), id)) {
				pending = 1;
				if (str(get(t, "last_error"), b2, sizeof(b2))[0] && strstr(b2, "export")) {
					fprintf(stderr, "ghostrec-ctl: export take %s: %s\n", id, b2);
					return -1;
				}
			}
		if (!pending && stat(path, &st) < 0) {
			fprintf(stderr, "ghostrec-ctl: export take %s ended without writing %s (see the exporter's log)\n",
				id, path);
			return -1;
		}
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		waited += 0.05;
	}
	fprintf(stderr, "ghostrec-ctl: export take %s: %s did not appear\n", id, path);
	return -1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: ghostrec-ctl [--json] [--socket PATH] [--timeout SEC] COMMAND\n"
		   "Commands:\n"
		   "  status   nodes, ring fill, counters, current take, delivery queue\n"
		   "  takes    takes in progress, the delivery queue and recent deliveries\n"
		   "  mark     inject a marker on every node now (no recording)\n"
		   "  start    start a take (like REAPER's /record 1)\n"
		   "  stop     stop the take (like /record 0)\n"
		   "  retry    retry queued deliveries now\n"
		   "  export --from TIME --to TIME [--node N] [-o FILE]\n"
		   "           a past range of a node's journal as a take (delivered like one; with -o also\n"
		   "           written to FILE). TIME: YYYY-MM-DDTHH:MM:SS[.fff][Z] or HH:MM:SS (local\n"
		   "           time unless Z), -S (seconds ago), now, or frame:N (a ring frame)\n"
		   "  --json   print the exporter's JSON reply as is\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "from", required_argument, NULL, 'F' }, { "to", required_argument, NULL, 'T' },
		{ "node", required_argument, NULL, 'n' }, { "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, opt;
	const char *from = NULL, *to = NULL, *node = "", *outp = "";
	double timeout = 5;
	char sock[4200] = "";
	while ((opt = getopt_long(argc, argv, "jho:", opts, NULL)) != -1) {
		switch (opt) {
		case 'F': from = optarg; break;
		case 'T': to = optarg; break;
		case 'n': node = optarg; break;
		case 'o': outp = optarg; break;
		case 'j': json = 1; break;
		case 's': snprintf(sock, sizeof(sock), "%s", optarg); break;
		case 't': timeout = strtod(optarg, NULL); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* --json may also follow the command */
	const char *cmd = NULL;
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!cmd)
			cmd = argv[i];
		else {
			fprintf(stderr, "ghostrec-ctl: unexpected argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	static const char *const known[] = { "status", "takes", "mark", "start", "stop", "retry", "export" };
	int ok = 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok |= !strcmp(cmd, known[i]);
	if (!ok) {
		fprintf(stderr, "ghostrec-ctl: unknown command \"%s\" (see --help)\n", cmd);
		return 2;
	}
	if (!sock[0]) {
		/* the default directory must be ours: never talk to a socket someone else planted */
		char dir[4000], why[600];
		int e = ghostrec_rundir_check(dir, sizeof(dir), why, sizeof(why));
		if (e == -ENOENT) {
			fprintf(stderr, "ghostrec-ctl: the exporter is not running (no socket directory %s)\n", dir);
			return 2;
		}
		if (e < 0) {
			fprintf(stderr, "ghostrec-ctl: %s\n", why);
			return 2;
		}
		snprintf(sock, sizeof(sock), "%s/exporter.ctl", dir);
	}

	/* a plain connect tells "not running" (no socket, nobody listening) from "not ours"
	 * (permission denied), which ZeroMQ's asynchronous connect would hide behind a timeout */
	int e = probe_socket(sock);
	if (e == EACCES || e == EPERM) {
		fprintf(stderr, "ghostrec-ctl: permission denied: the control socket %s is not accessible to "
			"this user (uid %u); run ghostrec-ctl as the user that runs ghostrec-exporter\n", sock,
			(unsigned)geteuid());
		return 2;
	}
	if (e == ENOENT || e == ECONNREFUSED) {
		fprintf(stderr, "ghostrec-ctl: the exporter is not running (%s control socket %s)\n",
			e == ENOENT ? "no" : "nobody listens on the", sock);
		return 2;
	}
	if (e != 0) {
		fprintf(stderr, "ghostrec-ctl: cannot reach the exporter at %s: %s\n", sock, strerror(e));
		return 2;
	}
	char ep[4300], req[8192];
	static char reply[EXPORTER_CTL_MAX_REPLY + 1];
	snprintf(ep, sizeof(ep), "ipc://%s", sock);
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_REQ);
	int ms = (int)(timeout * 1000), zero = 0;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof(ms));
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &ms, sizeof(ms));
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	int rc = 2;
	int n;
	char abs_out[4096] = "";
	if (!strcmp(cmd, "export")) {
		if (!from || !to) {
			fprintf(stderr, "ghostrec-ctl: export needs --from TIME and --to TIME\n");
			return 2;
		}
		if (outp[0] && outp[0] != '/') {
			char cwd[2048];
			if (!getcwd(cwd, sizeof(cwd))) {
				fprintf(stderr, "ghostrec-ctl: cannot resolve %s: %s\n", outp, strerror(errno));
				return 2;
			}
			snprintf(abs_out, sizeof(abs_out), "%s/%s", cwd, outp);
		} else {
			snprintf(abs_out, sizeof(abs_out), "%s", outp);
		}
		char e1[256], e2[256], e3[128], e4[4200];
		spa_json_encode_string(e1, sizeof(e1), from);
		spa_json_encode_string(e2, sizeof(e2), to);
		spa_json_encode_string(e3, sizeof(e3), node);
		spa_json_encode_string(e4, sizeof(e4), abs_out);
		n = snprintf(req, sizeof(req), "{\"cmd\":\"export\",\"from\":%s,\"to\":%s,\"node\":%s,\"out\":%s}",
			     e1, e2, e3, e4);
	} else {
		n = snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}", cmd);
	}
	if (zmq_connect(s, ep) != 0 || zmq_send(s, req, (size_t)n, 0) < 0) {
		fprintf(stderr, "ghostrec-ctl: cannot reach the exporter at %s: %s\n", sock, zmq_strerror(zmq_errno()));
		goto out;
	}
	int len = zmq_recv(s, reply, sizeof(reply) - 1, 0);
	if (len < 0) {
		fprintf(stderr, "ghostrec-ctl: no answer from the exporter at %s within %.0f s (is ghostrec-exporter running?)\n",
			sock, timeout);
		goto out;
	}
	if ((size_t)len >= sizeof(reply))
		len = sizeof(reply) - 1;
	reply[len] = '\0';
	struct jv root = { reply, len };
	rc = yes(get(root, "ok")) ? 0 : 1;
	if (json) {
		printf("%s\n", reply);
		goto out;
	}
	char b1[256], b2[256];
	if (rc != 0) {
		fprintf(stderr, "ghostrec-ctl: %s: %s\n", str(get(root, "error"), b1, sizeof(b1)),
			str(get(root, "message"), b2, sizeof(b2)));
		goto out;
	}
	if (!strcmp(cmd, "status"))
		print_status(root, 0);
	else if (!strcmp(cmd, "takes"))
		print_status(root, 1);
	else if (!strcmp(cmd, "export")) {
		str(get(root, "take_id"), b1, sizeof(b1));
		if (abs_out[0] && wait_export(s, b1, abs_out, timeout) < 0) {
			rc = 1;
			goto out;
		}
		printf("export: take %s%s%s\n", b1, abs_out[0] ? " written to " : " queued for delivery",
		       abs_out[0] ? abs_out : "");
	} else if (!strcmp(cmd, "mark"))
		printf("marker take_id %s sent to %.0f node(s)\n", str(get(root, "take_id"), b1, sizeof(b1)),
		       num(get(root, "nodes_marked")));
	else
		printf("%s: done (%s)\n", cmd, yes(get(root, "recording")) ? "recording" : "idle");
out:
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc;
}
