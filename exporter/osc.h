/* OSC input of ghostrec-exporter: REAPER's transport feedback (/record 1|0, /stop) and the
 * exporter's own /ghostrec/start|stop|status.
 *
 * The UDP socket is our own (liblo 0.31 cannot bind a unicast server to one address) and
 * messages are decoded with liblo. The sender allowlist is checked before any parsing, and the
 * address is compared before liblo sees the packet, so REAPER's /time, /beat/str, /vu floods
 * cost one strcmp each. */
#ifndef GHOSTREC_EXPORTER_OSC_H
#define GHOSTREC_EXPORTER_OSC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum osc_command {
	OSC_CMD_RECORD_START = 1, /* /record 1 (float or int) */
	OSC_CMD_RECORD_STOP,      /* /record 0 */
	OSC_CMD_TRANSPORT_STOP,   /* /stop (1 or no argument; /stop 0 is "not stopped") */
	OSC_CMD_START,            /* /ghostrec/start */
	OSC_CMD_STOP,             /* /ghostrec/stop */
	OSC_CMD_STATUS,           /* /ghostrec/status: reply goes back to the sender */
};

struct osc_counters {
	uint64_t packets;      /* datagrams received (allowed senders) */
	uint64_t commands;     /* commands recognised */
	uint64_t ignored;      /* well-formed, addresses we do not act on */
	uint64_t not_allowed;  /* datagrams from senders outside the allowlist */
	uint64_t malformed;    /* not OSC, truncated, bad bundle */
	uint64_t wrong_type;   /* our address with arguments of the wrong type/count */
	uint64_t oversize;     /* datagrams larger than the receive buffer */
};

typedef void (*osc_command_fn)(void *data, enum osc_command cmd, const struct sockaddr *from,
			       socklen_t fromlen);

struct osc_dispatch {
	osc_command_fn fn;
	void *data;
	struct osc_counters counters;
};

/* Decodes one datagram (a message or a bundle, nested bundles included) and calls d->fn for
 * each command found. Never fails: problems are counted and logged. */
void osc_dispatch_packet(struct osc_dispatch *d, const void *data, size_t len,
			 const struct sockaddr *from, socklen_t fromlen);

#define OSC_MAX_ALLOW 32

struct osc_server {
	int fd;
	struct osc_dispatch dispatch;
	struct sockaddr_storage allow[OSC_MAX_ALLOW];
	unsigned allow_prefix[OSC_MAX_ALLOW]; /* bits that must match (32/128 = one host) */
	unsigned n_allow;
	uint16_t port; /* bound port (useful with port 0) */
};

/* Binds UDP bind_addr:port (port 0 picks a free one). Returns 0 or -1 with a reason in err. */
int osc_server_open(struct osc_server *s, const char *bind_addr, uint16_t port,
		    osc_command_fn fn, void *data, char *err, size_t errsize);
/* Adds HOST (a name, resolved now, or an address) or a network ADDR/PREFIX (e.g.
 * 192.168.1.0/24) to the allowlist; loopback is always allowed. */
int osc_server_allow(struct osc_server *s, const char *host, char *err, size_t errsize);
int osc_sender_allowed(const struct osc_server *s, const struct sockaddr *from);
/* Reads every pending datagram (non-blocking). */
void osc_server_read(struct osc_server *s);
void osc_server_close(struct osc_server *s);

/* Sends "/ghostrec/status" ,ssi (state, detail, take id) to `to` from the server socket. */
int osc_server_send_status(struct osc_server *s, const struct sockaddr *to, socklen_t tolen,
			   const char *state, const char *detail, uint32_t take_id);

/* Sends "/action/str" ,s action_id to host:port (REAPER runs the named action). */
int osc_send_action(const char *host, uint16_t port, const char *action_id, char *err, size_t errsize);

/* "1.2.3.4:5678" for logs. */
void osc_format_addr(const struct sockaddr *sa, char *buf, size_t size);

#endif
