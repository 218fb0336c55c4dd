/* OSC input (see osc.h). */
#include "osc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lo/lo.h>

#include "log.h"

#define SET_ERR(...) do { if (err && errsize) snprintf(err, errsize, __VA_ARGS__); } while (0)
#define OSC_MAX_BUNDLE_DEPTH 8
#define OSC_RECV_BUFFER 16384 /* REAPER sends at most ~1.5 KB per datagram */

void osc_format_addr(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, size, "%s:%u", host, port);
}

static void report(struct osc_dispatch *d, uint64_t count, const struct sockaddr *from,
		   const char *what)
{
	char addr[64];
	if (!log_should_report(count))
		return;
	osc_format_addr(from, addr, sizeof(addr));
	log_warn("osc: %s from %s (%llu so far)", what, addr, (unsigned long long)count);
}

static int arg_number(char type, lo_arg *a, double *out)
{
	switch (type) {
	case LO_FLOAT: *out = a->f; return 0;
	case LO_INT32: *out = a->i; return 0;
	case LO_DOUBLE: *out = a->d; return 0;
	case LO_INT64: *out = (double)a->h; return 0;
	case LO_TRUE: *out = 1; return 0;
	case LO_FALSE: *out = 0; return 0;
	default: return -1;
	}
}

/* Our addresses, longest first is not needed: exact matches only. */
static const struct { const char *path; int kind; } known[] = {
	{ "/record", 1 }, { "/stop", 2 },
	{ "/ghostrec/start", OSC_CMD_START }, { "/ghostrec/stop", OSC_CMD_STOP },
	{ "/ghostrec/status", OSC_CMD_STATUS },
};

static void dispatch_message(struct osc_dispatch *d, const uint8_t *data, size_t len,
			     const struct sockaddr *from, socklen_t fromlen)
{
	size_t plen = strnlen((const char *)data, len);
	if (plen == len || data[0] != '/') {
		d->counters.malformed++;
		report(d, d->counters.malformed, from, "malformed packet (no OSC address)");
		return;
	}
	int kind = 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp((const char *)data, known[i].path) == 0)
			kind = known[i].kind;
	if (kind == 0) {
		d->counters.ignored++;
		return;
	}

	int result = 0;
	lo_message msg = lo_message_deserialise((void *)data, len, &result);
	if (!msg) {
		char what[128];
		d->counters.malformed++;
		snprintf(what, sizeof(what), "malformed %s message (liblo error %d)", (const char *)data, result);
		report(d, d->counters.malformed, from, what);
		return;
	}
	const char *types = lo_message_get_types(msg);
	int argc = lo_message_get_argc(msg);
	lo_arg **argv = lo_message_get_argv(msg);
	double v = 0;
	enum osc_command cmd = 0;

	if (kind == 1) { /* /record: exactly one number */
		if (argc != 1 || arg_number(types[0], argv[0], &v) < 0) {
			char what[160];
			d->counters.wrong_type++;
			snprintf(what, sizeof(what), "/record with wrong arguments \",%s\" (want one float or int)", types);
			report(d, d->counters.wrong_type, from, what);
		} else {
			cmd = v != 0 ? OSC_CMD_RECORD_START : OSC_CMD_RECORD_STOP;
		}
	} else if (kind == 2) { /* /stop [1]: REAPER's "transport is stopped"; /stop 0 means running */
		if (argc > 1 || (argc == 1 && arg_number(types[0], argv[0], &v) < 0)) {
			char what[160];
			d->counters.wrong_type++;
			snprintf(what, sizeof(what), "/stop with wrong arguments \",%s\" (want none or one number)", types);
			report(d, d->counters.wrong_type, from, what);
		} else if (argc == 0 || v != 0) {
			cmd = OSC_CMD_TRANSPORT_STOP;
		} else {
			d->counters.ignored++;
		}
	} else {
		cmd = (enum osc_command)kind; /* /ghostrec/...: arguments are not used */
	}
	lo_message_free(msg);
	if (cmd) {
		d->counters.commands++;
		d->fn(d->data, cmd, from, fromlen);
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dispatch(struct osc_dispatch *d, const uint8_t *data, size_t len, int depth,
		     const struct sockaddr *from, socklen_t fromlen)
{
	if (len >= 8 && memcmp(data, "#bundle", 8) == 0) {
		if (len < 16 || depth >= OSC_MAX_BUNDLE_DEPTH) {
			d->counters.malformed++;
			report(d, d->counters.malformed, from,
			       len < 16 ? "truncated OSC bundle" : "OSC bundles nested too deep");
			return;
		}
		size_t pos = 16; /* "#bundle\0" + timetag (ignored: act on arrival) */
		while (pos < len) {
			if (len - pos < 4) {
				d->counters.malformed++;
				report(d, d->counters.malformed, from, "truncated OSC bundle element");
				return;
			}
			uint32_t size = be32(data + pos);
			pos += 4;
			if (size == 0 || size % 4 != 0 || size > len - pos) {
				d->counters.malformed++;
				report(d, d->counters.malformed, from, "OSC bundle element with a bad size");
				return;
			}
			dispatch(d, data + pos, size, depth + 1, from, fromlen);
			pos += size;
		}
		return;
	}
	if (len < 4 || len % 4 != 0) {
		d->counters.malformed++;
		report(d, d->counters.malformed, from, "malformed packet (not a multiple of 4 bytes)");
		return;
	}
	dispatch_message(d, data, len, from, fromlen);
}

void osc_dispatch_packet(struct osc_dispatch *d, const void *data, size_t len,
			 const struct sockaddr *from, socklen_t fromlen)
{
	d->counters.packets++;
	dispatch(d, data, len, 0, from, fromlen);
}

int osc_server_open(struct osc_server *s, const char *bind_addr, uint16_t port,
		    osc_command_fn fn, void *data, char *err, size_t errsize)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char portstr[8];
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->dispatch.fn = fn;
	s->dispatch.data = data;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(bind_addr, portstr, &hints, &res)) != 0) {
		SET_ERR("osc-bind %s: %s", bind_addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		SET_ERR("cannot bind OSC socket to %s:%u: %s", bind_addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	int rcvbuf = 1 << 20; /* a burst of REAPER feedback must not push a /record out */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
					     ntohs(((struct sockaddr_in *)&ss)->sin_port);
	s->fd = fd;
	return 0;
}

int osc_server_allow(struct osc_server *s, const char *host, char *err, size_t errsize)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	char name[256];
	long prefix = -1;
	const char *slash = strchr(host, '/');

	snprintf(name, sizeof(name), "%.*s", slash ? (int)(slash - host) : (int)strlen(host), host);
	if (slash) {
		char *end;
		prefix = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || prefix < 0 || prefix > 128) {
			SET_ERR("allow %s: bad prefix length", host);
			return -1;
		}
		hints.ai_flags = AI_NUMERICHOST; /* a network is given as an address */
	}
	int rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0) {
		SET_ERR("allow %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		unsigned bits = ai->ai_family == AF_INET ? 32 : 128;
		if (s->n_allow >= OSC_MAX_ALLOW) {
			freeaddrinfo(res);
			SET_ERR("allow %s: allowlist full (%d addresses)", host, OSC_MAX_ALLOW);
			return -1;
		}
		if (prefix > (long)bits) {
			freeaddrinfo(res);
			SET_ERR("allow %s: prefix longer than the address", host);
			return -1;
		}
		memcpy(&s->allow[s->n_allow], ai->ai_addr, ai->ai_addrlen);
		s->allow_prefix[s->n_allow++] = prefix >= 0 ? (unsigned)prefix : bits;
	}
	freeaddrinfo(res);
	return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return 0;
	return rest == 0 || ((a[bytes] ^ b[bytes]) & (uint8_t)(0xFF << (8 - rest))) == 0;
}

/* Compares the first `bits` of the address; a v4-mapped v6 sender matches a v4 entry. */
static int same_network(const struct sockaddr *a, const struct sockaddr_storage *b, unsigned bits)
{
	const uint8_t *a4 = NULL;
	if (a->sa_family == AF_INET)
		a4 = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
	else if (a->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)a)->sin6_addr))
		a4 = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr + 12;
	if (a4)
		return b->ss_family == AF_INET &&
		       prefix_match(a4, (const uint8_t *)&((const struct sockaddr_in *)b)->sin_addr, bits);
	return a->sa_family == AF_INET6 && b->ss_family == AF_INET6 &&
	       prefix_match(((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr,
			    ((const struct sockaddr_in6 *)b)->sin6_addr.s6_addr, bits);
}

int osc_sender_allowed(const struct osc_server *s, const struct sockaddr *from)
{
	if (is_loopback(from))
		return 1;
	for (unsigned i = 0; i < s->n_allow; i++)
		if (same_network(from, &s->allow[i], s->allow_prefix[i]))
			return 1;
	return 0;
}

void osc_server_read(struct osc_server *s)
{
	static uint8_t buf[OSC_RECV_BUFFER];
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(s->fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_err("osc: receive failed: %s", strerror(errno));
			return;
		}
		if (!osc_sender_allowed(s, (struct sockaddr *)&from)) {
			s->dispatch.counters.not_allowed++;
			report(&s->dispatch, s->dispatch.counters.not_allowed, (struct sockaddr *)&from,
			       "ignored OSC from a sender outside the allowlist (see --allow)");
			continue;
		}
		if ((size_t)n > sizeof(buf)) {
			s->dispatch.counters.oversize++;
			report(&s->dispatch, s->dispatch.counters.oversize, (struct sockaddr *)&from,
			       "ignored oversize OSC datagram");
			continue;
		}
		osc_dispatch_packet(&s->dispatch, buf, (size_t)n, (struct sockaddr *)&from, fromlen);
	}
}

void osc_server_close(struct osc_server *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int osc_server_send_status(struct osc_server *s, const struct sockaddr *to, socklen_t tolen,
			   const char *state, const char *detail, uint32_t take_id)
{
	lo_message m = lo_message_new();
	if (!m)
		return -ENOMEM;
	lo_message_add_string(m, state);
	lo_message_add_string(m, detail);
	lo_message_add_int32(m, (int32_t)take_id);
	size_t size = 0;
	void *data = lo_message_serialise(m, "/ghostrec/status", NULL, &size);
	lo_message_free(m);
	if (!data)
		return -ENOMEM;
	ssize_t n = sendto(s->fd, data, size, 0, to, tolen);
	free(data);
	return n == (ssize_t)size ? 0 : -errno;
}

int osc_send_action(const char *host, uint16_t port, const char *action_id, char *err, size_t errsize)
{
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	lo_address a = lo_address_new(host, portstr);
	if (!a) {
		SET_ERR("cannot address REAPER at %s:%u", host, port);
		return -1;
	}
	int r = lo_send(a, "/action/str", "s", action_id);
	if (r < 0)
		SET_ERR("sending /action/str %s to %s:%u failed: %s", action_id, host, port,
			lo_address_errstr(a));
	lo_address_free(a);
	return r < 0 ? -1 : 0;
}
