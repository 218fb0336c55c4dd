/* OSC input over real UDP sockets: REAPER's /record as float and int, repeated, /stop with and
 * without argument, bundles (REAPER bundles its feedback), floods of other addresses, wrong
 * types, malformed and oversize datagrams, a sender outside the allowlist. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lo/lo.h>

#include "osc.h"
#include "../unit/check.h"

static int cmds[64];
static int n_cmds;

static void on_cmd(void *data, enum osc_command cmd, const struct sockaddr *from, socklen_t fromlen)
{
	if (n_cmds < 64)
		cmds[n_cmds++] = (int)cmd;
}

static void pump(struct osc_server *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	while (poll(&p, 1, 100) > 0)
		osc_server_read(s);
}

static void send_raw(int fd, uint16_t port, const void *data, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	CHECK(sendto(fd, data, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len);
}

/* First non-loopback IPv4 address of this machine, if any. */
static int other_ipv4(struct in_addr *out)
{
	struct ifaddrs *ifa, *i;
	int found = 0;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    (ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) >> 24) != 127) {
			*out = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			found = 1;
		}
	freeifaddrs(ifa);
	return found;
}

int main(void)
{
	struct osc_server s;
	char err[256], portstr[8];
	CHECK(osc_server_open(&s, "0.0.0.0", 0, on_cmd, NULL, err, sizeof(err)) == 0);
	CHECK(s.port != 0);
	snprintf(portstr, sizeof(portstr), "%u", s.port);
	lo_address a = lo_address_new("127.0.0.1", portstr);

	/* REAPER: /record 1.0 ... /record 0.0, int variants, repeats; /stop 0 = "not stopped" */
	lo_send(a, "/record", "f", 1.0f);
	lo_send(a, "/record", "f", 1.0f);
	lo_send(a, "/stop", "f", 0.0f);
	lo_send(a, "/record", "f", 0.0f);
	lo_send(a, "/record", "i", 1);
	lo_send(a, "/record", "i", 0);
	lo_send(a, "/stop", "f", 1.0f);
	lo_send(a, "/stop", "");
	lo_send(a, "/ghostrec/start", "");
	lo_send(a, "/ghostrec/stop", "");
	lo_send(a, "/ghostrec/status", "");
	pump(&s);
	int want[] = { OSC_CMD_RECORD_START, OSC_CMD_RECORD_START, OSC_CMD_RECORD_STOP, OSC_CMD_RECORD_START,
		       OSC_CMD_RECORD_STOP, OSC_CMD_TRANSPORT_STOP, OSC_CMD_TRANSPORT_STOP, OSC_CMD_START,
		       OSC_CMD_STOP, OSC_CMD_STATUS };
	CHECK_EQ_U64(n_cmds, sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < n_cmds && i < (int)(sizeof(want) / sizeof(want[0])); i++)
		CHECK_EQ_U64(cmds[i], want[i]);
	CHECK_EQ_U64(s.dispatch.counters.ignored, 1); /* the /stop 0 */

	/* a bundle the way REAPER sends feedback: flood + /record inside */
	n_cmds = 0;
	lo_bundle b = lo_bundle_new(LO_TT_IMMEDIATE);
	lo_message m1 = lo_message_new(), m2 = lo_message_new(), m3 = lo_message_new();
	lo_message_add_float(m1, 12.5f);
	lo_message_add_string(m2, "1.2.00");
	lo_message_add_float(m3, 1.0f);
	lo_bundle_add_message(b, "/time", m1);
	lo_bundle_add_message(b, "/beat/str", m2);
	lo_bundle_add_message(b, "/record", m3);
	lo_send_bundle(a, b);
	lo_bundle_free_recursive(b);
	for (int i = 0; i < 1000; i++) {
		lo_send(a, "/vu", "f", 0.5f);
		if (i % 50 == 0)
			osc_server_read(&s); /* the daemon reads all the time; the kernel buffer is finite */
	}
	pump(&s);
	CHECK_EQ_U64(n_cmds, 1);
	CHECK_EQ_U64(cmds[0], OSC_CMD_RECORD_START);
	CHECK_EQ_U64(s.dispatch.counters.ignored, 1 + 2 + 1000);

	/* wrong types and counts */
	n_cmds = 0;
	lo_send(a, "/record", "s", "1");
	lo_send(a, "/record", "");
	lo_send(a, "/record", "ff", 1.0f, 1.0f);
	lo_send(a, "/stop", "s", "now");
	pump(&s);
	CHECK_EQ_U64(n_cmds, 0);
	CHECK_EQ_U64(s.dispatch.counters.wrong_type, 4);

	/* malformed datagrams */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	static const char junk1[] = "hello";                   /* not a multiple of 4 */
	static const char junk2[8] = "/record";                /* no type tag */
	static const char junk3[16] = "/record\0,f\0\0\0\0\0";  /* float missing: 12 bytes + 4 */
	static const char junk4[20] = "#bundle\0\0\0\0\0\0\0\0\1\0\0\0\x40"; /* element larger than packet */
	static const char junk5[4] = "abc";                    /* no leading slash */
	static const char junk6[8] = "/record";                /* address not terminated within padding */
	send_raw(fd, s.port, junk1, 5);
	send_raw(fd, s.port, junk2, 8);
	send_raw(fd, s.port, junk3, 12); /* type tag says f, no data */
	send_raw(fd, s.port, junk4, 20);
	send_raw(fd, s.port, junk5, 4);
	send_raw(fd, s.port, "/rec", 4);
	send_raw(fd, s.port, junk6, 7);
	send_raw(fd, s.port, "", 0);
	pump(&s);
	CHECK_EQ_U64(n_cmds, 0);
	printf("malformed %llu wrong_type %llu\n", (unsigned long long)s.dispatch.counters.malformed,
	       (unsigned long long)s.dispatch.counters.wrong_type);
	CHECK(s.dispatch.counters.malformed >= 6);

	/* oversize: larger than the receive buffer */
	static char big[20000]; /* more than the 16 KiB receive buffer */
	CHECK(sizeof(big) < 65507);
	memcpy(big, "/record\0,f\0\0", 12);
	send_raw(fd, s.port, big, sizeof(big));
	pump(&s);
	CHECK_EQ_U64(s.dispatch.counters.oversize, 1);
	CHECK_EQ_U64(n_cmds, 0);

	/* a sender outside the allowlist, then allowed with --allow */
	struct in_addr other;
	if (other_ipv4(&other)) {
		int ofd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = other };
		CHECK(bind(ofd, (struct sockaddr *)&src, sizeof(src)) == 0);
		lo_message m = lo_message_new();
		lo_message_add_float(m, 1.0f);
		size_t len;
		void *data = lo_message_serialise(m, "/record", NULL, &len);
		send_raw(ofd, s.port, data, len);
		pump(&s);
		CHECK_EQ_U64(s.dispatch.counters.not_allowed, 1);
		CHECK_EQ_U64(n_cmds, 0);
		char host[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &other, host, sizeof(host));
		CHECK(osc_server_allow(&s, host, err, sizeof(err)) == 0);
		send_raw(ofd, s.port, data, len);
		pump(&s);
		CHECK_EQ_U64(n_cmds, 1);
		free(data);
		lo_message_free(m);
		close(ofd);
		printf("allowlist checked with sender %s\n", host);
	} else {
		printf("SKIP allowlist over the network: no non-loopback IPv4 address\n");
	}
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	inet_pton(AF_INET, "203.0.113.9", &v4.sin_addr);
	CHECK(!osc_sender_allowed(&s, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
	CHECK(osc_sender_allowed(&s, (struct sockaddr *)&v4));
	/* networks */
	CHECK(osc_server_allow(&s, "203.0.113.0/28", err, sizeof(err)) == 0);
	inet_pton(AF_INET, "203.0.113.9", &v4.sin_addr);
	CHECK(osc_sender_allowed(&s, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "203.0.113.17", &v4.sin_addr);
	CHECK(!osc_sender_allowed(&s, (struct sockaddr *)&v4));
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:203.0.113.2", &v6.sin6_addr); /* v4 sender on a dual-stack socket */
	CHECK(osc_sender_allowed(&s, (struct sockaddr *)&v6));
	CHECK(osc_server_allow(&s, "fd00:1:2::/48", err, sizeof(err)) == 0);
	inet_pton(AF_INET6, "fd00:1:2:3::4", &v6.sin6_addr);
	CHECK(osc_sender_allowed(&s, (struct sockaddr *)&v6));
	inet_pton(AF_INET6, "fd00:1:3::4", &v6.sin6_addr);
	CHECK(!osc_sender_allowed(&s, (struct sockaddr *)&v6));
	CHECK(osc_server_allow(&s, "10.0.0.0/33", err, sizeof(err)) < 0);
	CHECK(osc_server_allow(&s, "10.0.0.0/x", err, sizeof(err)) < 0);
	CHECK(osc_server_allow(&s, "studio-pc/24", err, sizeof(err)) < 0);
	CHECK(osc_server_allow(&s, "no-such-host.invalid", err, sizeof(err)) < 0);
	printf("bad allow host: %s\n", err);

	/* bind to a specific address: only that address answers */
	struct osc_server s2;
	CHECK(osc_server_open(&s2, "127.0.0.1", 0, on_cmd, NULL, err, sizeof(err)) == 0);
	osc_server_close(&s2);
	CHECK(osc_server_open(&s2, "192.0.2.254.1", 0, on_cmd, NULL, err, sizeof(err)) < 0);
	printf("bad bind: %s\n", err);

	close(fd);
	lo_address_free(a);
	osc_server_close(&s);
	return check_report("test-osc");
}
