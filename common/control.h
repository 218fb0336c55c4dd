/* ZeroMQ control protocol of the ghostrec node (contract: DESIGN 3.2). Node and exporter both
 * build and parse messages with this file only.
 *
 * Sockets (one pair per node, directory created mode 0700):
 *   ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/<node.name>.ctl   node: ZMQ_ROUTER (bind)
 *                                                        client: ZMQ_REQ or ZMQ_DEALER (connect)
 *   ipc://$XDG_RUNTIME_DIR/pw-ghost-rec/<node.name>.evt   node: ZMQ_PUB (bind)
 *                                                        client: ZMQ_SUB, subscribe to ""
 * Every message is one ZeroMQ frame holding one JSON object (UTF-8, no NUL bytes, at most
 * GHOSTREC_CTL_MAX_MSG bytes). Every object carries "ghostrec": <protocol version>.
 * A DEALER client sends an empty delimiter frame before the JSON (as REQ does).
 *
 * Requests  {"ghostrec":1,"req":"<kind>", ...}, optional "seq": u64 is echoed in the reply.
 *   hello                       -> node, shm, rate, channels, channel_map, capacity, generation,
 *                                  write_frame, marker_channels, marker_amplitude, ring_seconds
 *   status                      -> hello's fields + counters (cycles, xruns, max_process_ns,
 *                                  overruns, format_changes, markers, bad_requests, quantum)
 *   mark   {"take_id": u32}     -> reply is sent once the marker is in the output (the node holds
 *                                  the request; ZMQ_REQ clients simply block on recv): take_id,
 *                                  frame (absolute ring frame of the marker's first sample),
 *                                  marker_channels, generation. If the graph does not run a cycle
 *                                  within GHOSTREC_CTL_MARK_TIMEOUT_MS the reply is the error
 *                                  "timeout" and no marker is written (time the node's process
 *                                  spent stopped, e.g. SIGSTOP, does not count). If the graph
 *                                  stops in the middle of a marker for twice that long, the reply
 *                                  is also "timeout", but the marker table has the entry and the
 *                                  output a partial marker. At most
 *                                  GHOSTREC_CTL_MAX_PENDING_MARKS wait at once ("busy" beyond).
 *   set    {"marker_amplitude": f, "marker_channels": [i,...], "ring_seconds": f}
 *                                  (any subset) -> the resulting settings as in hello.
 *                                  ring_seconds recreates the ring (new generation).
 * Replies   {"ghostrec":1,"reply":"<kind>","ok":true, ...}
 *           {"ghostrec":1,"reply":"<kind or error>","ok":false,"error":"<code>","message":"..."}
 *   error codes: "parse" (not a JSON object / bad field type), "version", "unknown-request",
 *                "bad-argument", "too-large", "busy", "timeout", "internal".
 * Events    {"ghostrec":1,"event":"<kind>", ...} on the PUB socket
 *   marker   take_id, frame, marker_channels, generation
 *   format   rate, channels, generation, frame (first frame of the generation), capacity;
 *            sent when the node's main loop next looks at the ring: right after a `set` that
 *            resized it, within the node's settle time after a graph (re)start or rate change
 *   xrun     xruns (total), frame     } kinds kept so that messages from older nodes parse; the
 *   overrun  overruns (total), frame  } node does not send them (an idle node never wakes its
 *            main loop to poll for them). Readers derive them from the shm ring's counters
 *            (ghostrec_ring_reader_counters: xruns, overruns), as the exporter does.
 * Unknown fields are ignored by both sides (forward compatible); a field of the wrong type is
 * a "parse" error.
 */
#ifndef GHOSTREC_CONTROL_H
#define GHOSTREC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GHOSTREC_CTL_VERSION 1u
#define GHOSTREC_CTL_MAX_MSG 4096u
#define GHOSTREC_CTL_MARK_TIMEOUT_MS 2000u
#define GHOSTREC_CTL_MAX_PENDING_MARKS 16u
#define GHOSTREC_CTL_MAX_CHANNELS 8u
#define GHOSTREC_CTL_STR_MAX 160u

enum ghostrec_ctl_type {
	GHOSTREC_CTL_INVALID = 0,
	GHOSTREC_CTL_REQUEST,
	GHOSTREC_CTL_REPLY,
	GHOSTREC_CTL_EVENT,
};

enum ghostrec_ctl_kind {
	GHOSTREC_CTL_KIND_UNKNOWN = 0,
	/* requests (and their replies) */
	GHOSTREC_CTL_HELLO,
	GHOSTREC_CTL_MARK,
	GHOSTREC_CTL_STATUS,
	GHOSTREC_CTL_SET,
	/* events */
	GHOSTREC_CTL_EV_MARKER,
	GHOSTREC_CTL_EV_FORMAT,
	GHOSTREC_CTL_EV_XRUN,
	GHOSTREC_CTL_EV_OVERRUN,
	/* reply to something that could not be understood */
	GHOSTREC_CTL_ERROR,
};

/* Which optional fields of struct ghostrec_ctl_msg are present. */
enum ghostrec_ctl_field {
	GHOSTREC_CTL_F_SEQ = 1ull << 0,
	GHOSTREC_CTL_F_OK = 1ull << 1,
	GHOSTREC_CTL_F_ERROR = 1ull << 2,
	GHOSTREC_CTL_F_MESSAGE = 1ull << 3,
	GHOSTREC_CTL_F_TAKE_ID = 1ull << 4,
	GHOSTREC_CTL_F_FRAME = 1ull << 5,
	GHOSTREC_CTL_F_MARKER_CHANNELS = 1ull << 6,
	GHOSTREC_CTL_F_NODE = 1ull << 7,
	GHOSTREC_CTL_F_SHM = 1ull << 8,
	GHOSTREC_CTL_F_RATE = 1ull << 9,
	GHOSTREC_CTL_F_CHANNELS = 1ull << 10,
	GHOSTREC_CTL_F_CHANNEL_MAP = 1ull << 11,
	GHOSTREC_CTL_F_CAPACITY = 1ull << 12,
	GHOSTREC_CTL_F_GENERATION = 1ull << 13,
	GHOSTREC_CTL_F_WRITE_FRAME = 1ull << 14,
	GHOSTREC_CTL_F_MARKER_AMPLITUDE = 1ull << 15,
	GHOSTREC_CTL_F_RING_SECONDS = 1ull << 16,
	GHOSTREC_CTL_F_CYCLES = 1ull << 17,
	GHOSTREC_CTL_F_XRUNS = 1ull << 18,
	GHOSTREC_CTL_F_MAX_PROCESS_NS = 1ull << 19,
	GHOSTREC_CTL_F_OVERRUNS = 1ull << 20,
	GHOSTREC_CTL_F_FORMAT_CHANGES = 1ull << 21,
	GHOSTREC_CTL_F_MARKERS = 1ull << 22,
	GHOSTREC_CTL_F_BAD_REQUESTS = 1ull << 23,
	GHOSTREC_CTL_F_QUANTUM = 1ull << 24,
};

struct ghostrec_ctl_msg {
	uint32_t version;                 /* "ghostrec" */
	enum ghostrec_ctl_type type;      /* from "req" / "reply" / "event" */
	enum ghostrec_ctl_kind kind;
	uint64_t has;                     /* GHOSTREC_CTL_F_* */

	uint64_t seq;
	bool ok;
	char error[32];
	char message[GHOSTREC_CTL_STR_MAX];
	uint32_t take_id;
	uint64_t frame;
	uint32_t n_marker_channels;
	uint32_t marker_channels[GHOSTREC_CTL_MAX_CHANNELS];
	char node[GHOSTREC_CTL_STR_MAX];
	char shm[GHOSTREC_CTL_STR_MAX];
	uint32_t rate;
	uint32_t channels;
	uint32_t n_channel_map;
	char channel_map[GHOSTREC_CTL_MAX_CHANNELS][16];
	uint64_t capacity;
	uint64_t generation;
	uint64_t write_frame;
	double marker_amplitude;
	double ring_seconds;
	uint64_t cycles, xruns, max_process_ns, overruns, format_changes, markers, bad_requests,
		quantum;
};

/* "hello", "mark", ... ; NULL for unknown kinds. */
const char *ghostrec_ctl_kind_name(enum ghostrec_ctl_kind kind);

/* Starts a message: zeroes *m, sets version, type and kind. */
void ghostrec_ctl_init(struct ghostrec_ctl_msg *m, enum ghostrec_ctl_type type,
		       enum ghostrec_ctl_kind kind);

/* Serializes *m (only the fields in m->has) as JSON into buf. Returns the length (without the
 * terminating NUL), or -ENOSPC if it does not fit, -EINVAL for an unnamed kind. */
int ghostrec_ctl_build(char *buf, size_t size, const struct ghostrec_ctl_msg *m);

/* Convenience: an error reply for `kind` (GHOSTREC_CTL_ERROR if unknown) with `code` and a
 * human-readable message. */
int ghostrec_ctl_build_error(char *buf, size_t size, enum ghostrec_ctl_kind kind, uint64_t seq,
			     bool has_seq, const char *code, const char *message);

/* Parses one message (not NUL-terminated; any bytes). Returns 0 and fills *m, or a negative
 * errno with a one-line reason in err (and err_code set to the protocol error code):
 *   -E2BIG   larger than GHOSTREC_CTL_MAX_MSG ("too-large")
 *   -EPROTO  not a JSON object, field of the wrong type, missing/contradicting type ("parse")
 *   -EPROTONOSUPPORT  "ghostrec" version missing or not GHOSTREC_CTL_VERSION ("version")
 * An unknown "req"/"event" name is NOT an error here: kind is GHOSTREC_CTL_KIND_UNKNOWN and the
 * receiver answers "unknown-request". Semantic checks (e.g. mark without take_id) are done by
 * ghostrec_ctl_check_request. */
int ghostrec_ctl_parse(const void *data, size_t len, struct ghostrec_ctl_msg *m,
		       const char **err_code, char *err, size_t err_size);

/* Node side: checks that a parsed request has what its kind needs. Returns 0, or a negative
 * errno with err_code/err filled ("unknown-request" or "bad-argument"). */
int ghostrec_ctl_check_request(const struct ghostrec_ctl_msg *m, const char **err_code, char *err,
			       size_t err_size);

/* Socket paths. dir: "$XDG_RUNTIME_DIR/pw-ghost-rec" (or /tmp/pw-ghost-rec-<uid> without it).
 * endpoint: "ipc://<dir>/<node>.<suffix>" with suffix "ctl" or "evt". Return 0 or -ENAMETOOLONG. */
int ghostrec_ctl_dir(char *buf, size_t size);
int ghostrec_ctl_endpoint(char *buf, size_t size, const char *node_name, const char *suffix);

/* Creates the socket directory with mode 0700 (and checks an existing one is ours and not
 * accessible by others; see rundir.h, whose ghostrec_rundir_ensure also says why it failed).
 * Returns 0 or a negative errno. */
int ghostrec_ctl_ensure_dir(void);

#endif
