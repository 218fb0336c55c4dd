/* Control protocol: every message kind round-trips through build + parse; malformed, unknown,
 * oversize and wrong-typed input is rejected with the documented error code; socket paths. */
#include "common/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

static int parse_str(const char *s, struct ghostrec_ctl_msg *m, const char **code)
{
	char err[256];
	*code = NULL;
	int res = ghostrec_ctl_parse(s, strlen(s), m, code, err, sizeof(err));
	if (res < 0)
		printf("rejected (%s): %s\n", *code, err);
	return res;
}

static void test_roundtrip(void)
{
	char buf[GHOSTREC_CTL_MAX_MSG];
	struct ghostrec_ctl_msg m, p;
	const char *code;

	ghostrec_ctl_init(&m, GHOSTREC_CTL_REPLY, GHOSTREC_CTL_STATUS);
	m.has = ~0ull >> 39; /* every field up to F_QUANTUM */
	m.seq = 18446744073709551615ull;
	m.ok = true;
	snprintf(m.error, sizeof(m.error), "none");
	snprintf(m.message, sizeof(m.message), "quote \" backslash \\ tab \t done");
	m.take_id = 4294967295u;
	m.frame = 123456789012345ull;
	m.n_marker_channels = 2;
	m.marker_channels[0] = 0;
	m.marker_channels[1] = 7;
	snprintf(m.node, sizeof(m.node), "ghostrec");
	snprintf(m.shm, sizeof(m.shm), "/pw-ghost-rec-1000-ghostrec");
	m.rate = 48000;
	m.channels = 2;
	m.n_channel_map = 2;
	snprintf(m.channel_map[0], sizeof(m.channel_map[0]), "FL");
	snprintf(m.channel_map[1], sizeof(m.channel_map[1]), "FR");
	m.capacity = 1440000;
	m.generation = 3;
	m.write_frame = 99;
	m.marker_amplitude = 0.25;
	m.ring_seconds = 30;
	m.cycles = 1; m.xruns = 2; m.max_process_ns = 3; m.overruns = 4; m.format_changes = 5;
	m.markers = 6; m.bad_requests = 7; m.quantum = 256;
	int len = ghostrec_ctl_build(buf, sizeof(buf), &m);
	CHECK(len > 0);
	printf("%s\n", buf);
	CHECK(parse_str(buf, &p, &code) == 0);
	CHECK(p.type == GHOSTREC_CTL_REPLY && p.kind == GHOSTREC_CTL_STATUS && p.has == m.has);
	CHECK(p.seq == m.seq && p.ok && p.take_id == m.take_id && p.frame == m.frame);
	CHECK(strcmp(p.message, m.message) == 0 && strcmp(p.node, "ghostrec") == 0);
	CHECK(p.n_marker_channels == 2 && p.marker_channels[1] == 7);
	CHECK(p.n_channel_map == 2 && strcmp(p.channel_map[1], "FR") == 0);
	CHECK(p.rate == 48000 && p.capacity == 1440000 && p.generation == 3 && p.write_frame == 99);
	CHECK(p.marker_amplitude == 0.25 && p.ring_seconds == 30);
	CHECK(p.cycles == 1 && p.bad_requests == 7 && p.quantum == 256 && p.overruns == 4);

	/* Too small a buffer is an error, never a truncated message. */
	CHECK(ghostrec_ctl_build(buf, 20, &m) == -ENOSPC);

	/* Each request and event kind. */
	static const struct { enum ghostrec_ctl_type t; enum ghostrec_ctl_kind k; } kinds[] = {
		{ GHOSTREC_CTL_REQUEST, GHOSTREC_CTL_HELLO }, { GHOSTREC_CTL_REQUEST, GHOSTREC_CTL_MARK },
		{ GHOSTREC_CTL_REQUEST, GHOSTREC_CTL_STATUS }, { GHOSTREC_CTL_REQUEST, GHOSTREC_CTL_SET },
		{ GHOSTREC_CTL_EVENT, GHOSTREC_CTL_EV_MARKER }, { GHOSTREC_CTL_EVENT, GHOSTREC_CTL_EV_FORMAT },
		{ GHOSTREC_CTL_EVENT, GHOSTREC_CTL_EV_XRUN }, { GHOSTREC_CTL_EVENT, GHOSTREC_CTL_EV_OVERRUN },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ghostrec_ctl_init(&m, kinds[i].t, kinds[i].k);
		m.has = GHOSTREC_CTL_F_TAKE_ID;
		m.take_id = (uint32_t)i;
		CHECK(ghostrec_ctl_build(buf, sizeof(buf), &m) > 0);
		CHECK(parse_str(buf, &p, &code) == 0);
		CHECK(p.type == kinds[i].t && p.kind == kinds[i].k && p.take_id == i);
	}

	/* Error replies. */
	CHECK(ghostrec_ctl_build_error(buf, sizeof(buf), GHOSTREC_CTL_MARK, 5, true, "busy", "too many") > 0);
	CHECK(parse_str(buf, &p, &code) == 0);
	CHECK(p.kind == GHOSTREC_CTL_MARK && !p.ok && (p.has & GHOSTREC_CTL_F_OK) && p.seq == 5);
	CHECK(strcmp(p.error, "busy") == 0 && strcmp(p.message, "too many") == 0);
	CHECK(ghostrec_ctl_build_error(buf, sizeof(buf), GHOSTREC_CTL_KIND_UNKNOWN, 0, false, "parse", "x") > 0);
	CHECK(strstr(buf, "\"reply\":\"error\"") != NULL);
}

static void test_requests(void)
{
	struct ghostrec_ctl_msg m;
	const char *code;
	char err[256];

	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":42}", &m, &code) == 0);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) == 0);
	CHECK(m.kind == GHOSTREC_CTL_MARK && m.take_id == 42);
	/* Whitespace, unknown fields (ignored, also nested ones), key order. */
	CHECK(parse_str(" { \"future\" : {\"a\":[1,{\"b\":2}]}, \"req\" : \"status\", \"ghostrec\" : 1 } ",
			&m, &code) == 0);
	CHECK(m.kind == GHOSTREC_CTL_STATUS && ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) == 0);
	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"set\",\"marker_channels\":[1],\"marker_amplitude\":0.5}",
			&m, &code) == 0);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) == 0);
	CHECK(m.n_marker_channels == 1 && m.marker_channels[0] == 1 && m.marker_amplitude == 0.5);

	/* Semantic errors. */
	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"mark\"}", &m, &code) == 0);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) < 0 && strcmp(code, "bad-argument") == 0);
	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"fly\"}", &m, &code) == 0);
	CHECK(m.kind == GHOSTREC_CTL_KIND_UNKNOWN);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) < 0 && strcmp(code, "unknown-request") == 0);
	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"marker\"}", &m, &code) == 0); /* an event name */
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) < 0);
	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"set\"}", &m, &code) == 0);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) < 0 && strcmp(code, "bad-argument") == 0);
	CHECK(parse_str("{\"ghostrec\":1,\"req\":\"set\",\"marker_amplitude\":2}", &m, &code) == 0);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) < 0);
	CHECK(parse_str("{\"ghostrec\":1,\"reply\":\"mark\",\"ok\":true}", &m, &code) == 0);
	CHECK(ghostrec_ctl_check_request(&m, &code, err, sizeof(err)) < 0);

	/* Syntax / type errors. */
	static const struct { const char *s; const char *code; } bad[] = {
		{ "", "parse" }, { "[]", "parse" }, { "42", "parse" }, { "{", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":-1}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":4294967296}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":1.5}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":\"1\"}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"mark\",\"take_id\":1,\"take_id\":2}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"mark\",\"event\":\"x\"}", "parse" },
		{ "{\"ghostrec\":1,\"req\":7}", "parse" },
		{ "{\"ghostrec\":1}", "parse" },
		{ "{\"req\":\"hello\"}", "version" },
		{ "{\"ghostrec\":2,\"req\":\"hello\"}", "version" },
		{ "{\"ghostrec\":\"1\",\"req\":\"hello\"}", "version" },
		{ "{\"ghostrec\":1,\"req\":\"set\",\"marker_channels\":[8]}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"set\",\"marker_channels\":[0,1,2,3,4,5,6,7,0]}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"set\",\"marker_channels\":3}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"set\",\"marker_amplitude\":nan}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"set\",\"ring_seconds\":1e999}", "parse" },
		{ "{\"ghostrec\":1,\"reply\":\"hello\",\"ok\":1}", "parse" },
		{ "{\"ghostrec\":1,\"req\":\"hello\",\"node\":\"\xff\xfe\"}", "parse" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int res = parse_str(bad[i].s, &m, &code);
		if (res == 0 || !code || strcmp(code, bad[i].code) != 0) {
			fprintf(stderr, "bad input %zu not rejected as %s: %s\n", i, bad[i].code, bad[i].s);
			exit(1);
		}
	}
	/* NUL bytes and oversize input. */
	CHECK(ghostrec_ctl_parse("{\"ghostrec\":1,\0\"req\":\"hello\"}", 30, &m, &code, err, sizeof(err)) == -EPROTO);
	char *big = malloc(GHOSTREC_CTL_MAX_MSG + 2);
	memset(big, ' ', GHOSTREC_CTL_MAX_MSG + 1);
	memcpy(big, "{\"ghostrec\":1,\"req\":\"hello\"}", 28);
	CHECK(ghostrec_ctl_parse(big, GHOSTREC_CTL_MAX_MSG + 1, &m, &code, err, sizeof(err)) == -E2BIG);
	CHECK(strcmp(code, "too-large") == 0);
	CHECK(ghostrec_ctl_parse(big, GHOSTREC_CTL_MAX_MSG, &m, &code, err, sizeof(err)) == 0);
	free(big);
}

static void test_paths(void)
{
	char dir[] = "/tmp/ctltest-XXXXXX";
	CHECK(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	char ep[256];
	CHECK(ghostrec_ctl_endpoint(ep, sizeof(ep), "ghostrec", "ctl") == 0);
	char want[256];
	snprintf(want, sizeof(want), "ipc://%s/pw-ghost-rec/ghostrec.ctl", dir);
	CHECK(strcmp(ep, want) == 0);
	CHECK(ghostrec_ctl_endpoint(ep, sizeof(ep), "a/b", "ctl") == -EINVAL);
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(ghostrec_ctl_endpoint(ep, sizeof(ep), longname, "ctl") == -ENAMETOOLONG);
	CHECK(ghostrec_ctl_ensure_dir() == 0);
	snprintf(want, sizeof(want), "%s/pw-ghost-rec", dir);
	struct stat st;
	CHECK(stat(want, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(chmod(want, 0755) == 0);
	CHECK(ghostrec_ctl_ensure_dir() == 0);
	CHECK(stat(want, &st) == 0 && (st.st_mode & 0777) == 0700);
	rmdir(want);
	rmdir(dir);
}

int main(void)
{
	test_roundtrip();
	test_requests();
	test_paths();
	printf("control: ok\n");
	return 0;
}
