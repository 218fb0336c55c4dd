/* ghostrec.tap's properties, loaded through spa_handle_factory like PipeWire does: channel
 * counts and positions (ports, port names, ring layout), ring length, marker settings (seen
 * in the control channel's hello), and every invalid value rejected at init with an error.
 *
 * usage: plugin-props-test PLUGIN.so libspa-support.so
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spa/node/node.h>
#include <spa/utils/dict.h>
#include <spa/utils/hook.h>
#include <zmq.h>

#include "common/control.h"
#include "common/ring.h"
#include "spa-env.h"

static int failures;
#define EXPECT(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	failures++; } } while (0)

static const char *plugin;
static struct spa_env env;

struct ports_seen {
	uint32_t n_in, n_out;
	char names[32][32];
	uint32_t n_names;
};

static void on_port_info(void *data, enum spa_direction direction, uint32_t port,
			 const struct spa_port_info *info)
{
	struct ports_seen *p = data;
	if (info == NULL)
		return;
	if (direction == SPA_DIRECTION_INPUT)
		p->n_in++;
	else
		p->n_out++;
	const char *name = info->props ? spa_dict_lookup(info->props, "port.name") : NULL;
	const char *ch = info->props ? spa_dict_lookup(info->props, "audio.channel") : NULL;
	if (p->n_names < 32)
		snprintf(p->names[p->n_names++], 32, "%s/%s", name ? name : "?", ch ? ch : "?");
}

static const struct spa_node_events events = {
	SPA_VERSION_NODE_EVENTS,
	.port_info = on_port_info,
};

/* Instantiates with items (node.name added); returns the init result. */
static int instantiate(const struct spa_dict_item *items, uint32_t n, struct spa_handle **out,
		       char *node_name, size_t name_size)
{
	static int counter;
	struct spa_dict_item all[16];
	snprintf(node_name, name_size, "props-%d-%d", (int)getpid(), counter++);
	all[0] = SPA_DICT_ITEM_INIT("node.name", node_name);
	for (uint32_t i = 0; i < n; i++)
		all[i + 1] = items[i];
	struct spa_dict info = SPA_DICT_INIT(all, n + 1);
	int res;
	*out = spa_env_instantiate(spa_env_factory(plugin, "ghostrec.tap"), &info, env.support,
				   env.n_support, &res);
	return res;
}

static void check_layout(const char *what, const struct spa_dict_item *items, uint32_t n,
			 uint32_t channels, const char *const *names)
{
	struct spa_handle *h;
	char node_name[64];
	int res = instantiate(items, n, &h, node_name, sizeof(node_name));
	EXPECT(res == 0 && h, "%s: init failed: %s", what, strerror(-res));
	if (!h)
		return;
	struct spa_node *node = spa_env_iface(h, SPA_TYPE_INTERFACE_Node);
	struct ports_seen seen = { 0 };
	struct spa_hook listener;
	spa_zero(listener);
	spa_node_add_listener(node, &listener, &events, &seen);
	spa_hook_remove(&listener);
	EXPECT(seen.n_in == channels && seen.n_out == channels, "%s: %u in / %u out ports, want %u",
	       what, seen.n_in, seen.n_out, channels);
	for (uint32_t i = 0; names[i]; i++) {
		bool found = false;
		for (uint32_t j = 0; j < seen.n_names; j++)
			found |= strcmp(seen.names[j], names[i]) == 0;
		EXPECT(found, "%s: no port %s", what, names[i]);
	}
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	EXPECT(ghostrec_ring_reader_open(&r, node_name) == 0 && ghostrec_ring_reader_info(r, &info) == 0 &&
	       info.channels == channels, "%s: ring has the wrong channel count", what);
	ghostrec_ring_reader_close(r);
	printf("ok: %s (%u channels)\n", what, channels);
	spa_env_free_handle(h);
}

static void check_rejected(const char *what, const struct spa_dict_item *items, uint32_t n)
{
	struct spa_handle *h;
	char node_name[64];
	int res = instantiate(items, n, &h, node_name, sizeof(node_name));
	EXPECT(res == -EINVAL && h == NULL, "%s: init gave %d, want -EINVAL", what, res);
	struct ghostrec_ring_reader *r;
	EXPECT(ghostrec_ring_reader_open(&r, node_name) == -ENOENT, "%s: left a ring behind", what);
	printf("ok: rejected %s\n", what);
}

static void check_ring_and_marker_settings(void)
{
	const struct spa_dict_item items[] = {
		SPA_DICT_ITEM_INIT("ghostrec.ring.seconds", "2.5"),
		SPA_DICT_ITEM_INIT("clock.rate", "44100"),
		SPA_DICT_ITEM_INIT("ghostrec.marker.channels", "[ 1 ]"),
		SPA_DICT_ITEM_INIT("ghostrec.marker.amplitude", "0.5"),
	};
	struct spa_handle *h;
	char node_name[64];
	int res = instantiate(items, SPA_N_ELEMENTS(items), &h, node_name, sizeof(node_name));
	EXPECT(res == 0, "settings: init failed");
	if (!h)
		return;
	struct ghostrec_ring_reader *r;
	struct ghostrec_ring_info info;
	EXPECT(ghostrec_ring_reader_open(&r, node_name) == 0 && ghostrec_ring_reader_info(r, &info) == 0 &&
	       info.capacity == 110250 && info.rate == 44100, "settings: ring %lu frames at %u",
	       (unsigned long)info.capacity, info.rate);
	ghostrec_ring_reader_close(r);

	/* hello over the real control socket, serviced by iterating the node's main loop. */
	char ep[300], buf[GHOSTREC_CTL_MAX_MSG];
	ghostrec_ctl_endpoint(ep, sizeof(ep), node_name, "ctl");
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	int linger = 0, n = -1;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_connect(s, ep);
	const char *req = "{\"ghostrec\":1,\"req\":\"hello\"}";
	zmq_send(s, req, strlen(req), 0);
	for (int i = 0; i < 2000 && n < 0; i++) {
		spa_loop_control_iterate(env.main_ctrl, 1);
		n = zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT);
	}
	struct ghostrec_ctl_msg m;
	const char *code;
	char err[200];
	EXPECT(n > 0 && ghostrec_ctl_parse(buf, (size_t)n, &m, &code, err, sizeof(err)) == 0 && m.ok &&
	       m.n_marker_channels == 1 && m.marker_channels[0] == 1 && m.marker_amplitude == 0.5 &&
	       m.ring_seconds == 2.5, "settings: hello %.*s", n > 0 ? n : 0, buf);
	zmq_close(s);
	zmq_ctx_term(ctx);
	printf("ok: ring seconds, clock.rate, marker channels and amplitude\n");
	spa_env_free_handle(h);
}

int main(int argc, char **argv)
{
	char rundir[] = "/tmp/props-test-XXXXXX";
	plugin = spa_env_test_begin(&env, argc, argv, rundir);

	static const char *const def[] = { "input_FL/FL", "input_FR/FR", "output_FL/FL", "output_FR/FR", NULL };
	check_layout("defaults", NULL, 0, 2, def);
	static const char *const mono[] = { "input_MONO/MONO", "output_MONO/MONO", NULL };
	const struct spa_dict_item one[] = { SPA_DICT_ITEM_INIT("audio.channels", "1") };
	check_layout("audio.channels=1", one, 1, 1, mono);
	static const char *const eight[] = { "input_AUX0/AUX0", "output_AUX7/AUX7", NULL };
	const struct spa_dict_item e[] = { SPA_DICT_ITEM_INIT("audio.channels", "8") };
	check_layout("audio.channels=8", e, 1, 8, eight);
	static const char *const quad[] = { "input_FC/FC", "output_LFE/LFE", NULL };
	const struct spa_dict_item q[] = { SPA_DICT_ITEM_INIT("audio.position", "[ FL FR FC LFE ]") };
	check_layout("audio.position=[ FL FR FC LFE ]", q, 1, 4, quad);
	const struct spa_dict_item qc[] = { SPA_DICT_ITEM_INIT("audio.position", "FL,FR,FC,LFE"),
					    SPA_DICT_ITEM_INIT("audio.channels", "4") };
	check_layout("audio.position=FL,FR,FC,LFE + audio.channels=4", qc, 2, 4, quad);

	static const struct { const char *what, *key, *value; } bad[] = {
		{ "9 channels", "audio.channels", "9" },
		{ "0 channels", "audio.channels", "0" },
		{ "channel count not a number", "audio.channels", "two" },
		{ "unknown position", "audio.position", "[ FL XX ]" },
		{ "9 positions", "audio.position", "[ FL FR FC LFE RL RR SL SR AUX0 ]" },
		{ "ring of 0 s", "ghostrec.ring.seconds", "0" },
		{ "ring of 2 hours", "ghostrec.ring.seconds", "7200" },
		{ "marker amplitude 2", "ghostrec.marker.amplitude", "2" },
		{ "marker amplitude 0", "ghostrec.marker.amplitude", "0" },
		{ "marker channel 2 of 2", "ghostrec.marker.channels", "[ 2 ]" },
		{ "marker channels junk", "ghostrec.marker.channels", "left" },
	};
	for (size_t i = 0; i < SPA_N_ELEMENTS(bad); i++) {
		const struct spa_dict_item it[] = { SPA_DICT_ITEM_INIT(bad[i].key, bad[i].value) };
		check_rejected(bad[i].what, it, 1);
	}
	const struct spa_dict_item mismatch[] = { SPA_DICT_ITEM_INIT("audio.position", "[ FL FR ]"),
						  SPA_DICT_ITEM_INIT("audio.channels", "3") };
	check_rejected("audio.channels contradicting audio.position", mismatch, 2);

	check_ring_and_marker_settings();
	return spa_env_test_end(&env, rundir, failures);
}
