/* Sends one message to a ZeroMQ REQ/REP-style endpoint and prints the reply (tests feed junk to
 * the exporter's and the node's control sockets with it).
 *   gr-zmq-send ENDPOINT [--junk N] [--parts K]   message from stdin, or N pseudo-random bytes;
 *                                                  --parts sends it as K frames
 * Prints the reply, or "no reply"; exit 0 either way unless the socket cannot be used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

int main(int argc, char **argv)
{
	size_t junk = 0, parts = 1;
	if (argc < 2)
		return 2;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--junk") && i + 1 < argc)
			junk = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--parts") && i + 1 < argc)
			parts = (size_t)atol(argv[++i]);
	}
	size_t len = 0, cap = 1 << 20;
	char *msg = malloc(junk > cap ? junk : cap);
	if (junk) {
		uint32_t s = 0x1234567u;
		for (size_t i = 0; i < junk; i++) {
			s = s * 1664525u + 1013904223u;
			msg[i] = (char)(s >> 24);
		}
		len = junk;
	} else {
		ssize_t n;
		while ((n = read(0, msg + len, cap - len)) > 0)
			len += (size_t)n;
	}
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_REQ);
	int ms = 2000, zero = 0;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &ms, sizeof(ms));
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &ms, sizeof(ms));
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_connect(s, argv[1]) != 0) {
		fprintf(stderr, "gr-zmq-send: %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
		return 1;
	}
	size_t per = parts > 1 ? len / parts : len;
	for (size_t p = 0; p < parts; p++) {
		size_t off = p * per, n = p + 1 == parts ? len - off : per;
		zmq_send(s, msg + off, n, p + 1 < parts ? ZMQ_SNDMORE : 0);
	}
	static char reply[1 << 20];
	int r = zmq_recv(s, reply, sizeof(reply) - 1, 0);
	if (r < 0) {
		printf("no reply\n");
	} else {
		if ((size_t)r >= sizeof(reply))
			r = sizeof(reply) - 1;
		reply[r] = '\0';
		printf("%s\n", reply);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(msg);
	return 0;
}
