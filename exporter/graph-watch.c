/* Summing and quantum warnings from the PipeWire graph: see graph-watch.h. */
#include "graph-watch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#ifdef GHOSTREC_HAVE_PIPEWIRE
#include <pipewire/pipewire.h>
#include <spa/utils/result.h>
#endif

enum obj_type { OBJ_NODE, OBJ_PORT, OBJ_LINK };

/* One registry global, as much of it as the checks need. */
struct obj {
	uint32_t id;
	enum obj_type type;
	char name[96];        /* node.name / port.name */
	uint32_t node;        /* port: node.id */
	bool input;           /* port: direction in */
	uint32_t out_port, in_port;  /* link */
};

struct graph_watch {
	char destination[64];
	char taps[8][64];
	unsigned n_taps;

	pthread_mutex_t lock;   /* objs, connected (written on the PipeWire thread) */
	struct obj *objs;
	size_t n_objs, cap_objs;
	bool connected;

	/* exporter thread */
	struct graph_watch_report last;
	bool have_last;
	unsigned down_ticks;     /* ticks without a PipeWire connection */
	bool said_down;          /* "cannot connect" logged once per outage (exporter thread) */

#ifdef GHOSTREC_HAVE_PIPEWIRE
	struct pw_thread_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct pw_registry *registry;
	struct spa_hook core_listener, registry_listener;
#endif
};

static struct obj *find(struct graph_watch *gw, uint32_t id)
{
	for (size_t i = 0; i < gw->n_objs; i++)
		if (gw->objs[i].id == id)
			return &gw->objs[i];
	return NULL;
}

static bool is_tap(const struct graph_watch *gw, const char *name)
{
	for (unsigned i = 0; i < gw->n_taps; i++)
		if (strcmp(gw->taps[i], name) == 0)
			return true;
	return false;
}

static void append(char *buf, size_t size, const char *sep, const char *item)
{
	size_t l = strlen(buf);
	if (l + 1 < size)
		snprintf(buf + l, size - l, "%s%s", l ? sep : "", item);
}

void graph_watch_check(struct graph_watch *gw, uint64_t quantum, struct graph_watch_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	if (!gw || !gw->destination[0])
		return;
	pthread_mutex_lock(&gw->lock);
	rep->connected = gw->connected;
	char others[384] = "", tap_ports[256] = "";
	char dest_port[96] = "";
	for (size_t i = 0; i < gw->n_objs; i++) {
		const struct obj *l = &gw->objs[i];
		if (l->type == OBJ_NODE && strcmp(l->name, gw->destination) == 0)
			rep->destination_found = true;
		if (l->type != OBJ_LINK)
			continue;
		struct obj *ip = find(gw, l->in_port), *op = find(gw, l->out_port);
		if (!ip || !op)
			continue;
		struct obj *in_node = find(gw, ip->node), *out_node = find(gw, op->node);
		if (!in_node || !out_node || strcmp(in_node->name, gw->destination) != 0)
			continue;
		char who[200];
		snprintf(who, sizeof(who), "%s:%s", out_node->name, op->name);
		append(rep->fed_by, sizeof(rep->fed_by), ", ", who);
		if (is_tap(gw, out_node->name)) {
			append(tap_ports, sizeof(tap_ports), ", ", who);
		} else {
			append(others, sizeof(others), ", ", who);
			snprintf(dest_port, sizeof(dest_port), "%s", ip->name);
		}
	}
	pthread_mutex_unlock(&gw->lock);

	if (others[0]) {
		if (tap_ports[0])
			snprintf(rep->warnings[rep->n_warnings++], sizeof(rep->warnings[0]),
				 "summing: %.63s:%.40s is fed by %.150s besides ghostrec (%.100s); PipeWire mixes them, so REAPER's "
				 "take is not the clean audio and the marker is damaged (PWAR's GUI links its saved "
				 "\"Input\" on start: set it to none)",
				 gw->destination, dest_port, others, tap_ports);
		else
			snprintf(rep->warnings[rep->n_warnings++], sizeof(rep->warnings[0]),
				 "summing: %.63s:%.40s is fed by %.150s and not by ghostrec: REAPER's take does not come "
				 "through ghostrec and carries no marker",
				 gw->destination, dest_port, others);
	}
	if (rep->destination_found && strcmp(gw->destination, "pwar") == 0 && quantum > GRAPH_WATCH_PWAR_MAX_QUANTUM)
		snprintf(rep->warnings[rep->n_warnings++], sizeof(rep->warnings[0]),
			 "quantum: the graph runs %llu frames per cycle; PWAR's router refuses packets over %u "
			 "frames, so REAPER records nothing (pw-metadata -n settings 0 clock.force-quantum %u)",
			 (unsigned long long)quantum, GRAPH_WATCH_PWAR_MAX_QUANTUM, GRAPH_WATCH_PWAR_MAX_QUANTUM);
}

static void pw_start(struct graph_watch *gw);
static void pw_stop(struct graph_watch *gw);

void graph_watch_tick(struct graph_watch *gw, uint64_t quantum)
{
	if (!gw || !gw->destination[0])
		return;
	struct graph_watch_report rep;
	graph_watch_check(gw, quantum, &rep);
	/* PipeWire gone (restarted, not up yet): connect again every GRAPH_WATCH_RETRY_TICKS */
	if (!rep.connected && ++gw->down_ticks >= GRAPH_WATCH_RETRY_TICKS) {
		gw->down_ticks = 0;
		pw_stop(gw);
		pw_start(gw);
	} else if (rep.connected && gw->said_down) {
		gw->said_down = false;
		log_info("graph: connected to PipeWire, watching %s", gw->destination);
	}
	/* each warning once when it appears, a line when one clears */
	for (unsigned i = 0; i < rep.n_warnings; i++) {
		bool old = false;
		for (unsigned j = 0; gw->have_last && j < gw->last.n_warnings; j++)
			old |= strcmp(gw->last.warnings[j], rep.warnings[i]) == 0;
		if (!old)
			log_warn("graph: %s", rep.warnings[i]);
	}
	for (unsigned j = 0; gw->have_last && j < gw->last.n_warnings; j++) {
		bool still = false;
		for (unsigned i = 0; i < rep.n_warnings; i++)
			still |= strncmp(gw->last.warnings[j], rep.warnings[i], 8) == 0;
		if (!still)
			log_info("graph: resolved: %.*s", (int)strcspn(gw->last.warnings[j], ":"), gw->last.warnings[j]);
	}
	gw->last = rep;
	gw->have_last = true;
}

void graph_watch_status_json(struct graph_watch *gw, struct jsonw *jw)
{
	jw_key(jw, "graph");
	jw_obj(jw);
	jw_key(jw, "destination"); jw_str(jw, gw ? gw->destination : "");
	const struct graph_watch_report *r = gw && gw->have_last ? &gw->last : NULL;
	jw_key(jw, "connected"); jw_bool(jw, r && r->connected);
	jw_key(jw, "destination_found"); jw_bool(jw, r && r->destination_found);
	jw_key(jw, "fed_by"); jw_str(jw, r ? r->fed_by : "");
	jw_key(jw, "warnings");
	jw_arr(jw);
	for (unsigned i = 0; r && i < r->n_warnings; i++)
		jw_str(jw, r->warnings[i]);
	jw_arr_end(jw);
	jw_obj_end(jw);
}

#ifdef GHOSTREC_HAVE_PIPEWIRE

static void add_obj(struct graph_watch *gw, const struct obj *o)
{
	pthread_mutex_lock(&gw->lock);
	if (gw->n_objs == gw->cap_objs) {
		size_t cap = gw->cap_objs ? gw->cap_objs * 2 : 256;
		struct obj *n = realloc(gw->objs, cap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&gw->lock);
			return;
		}
		gw->objs = n;
		gw->cap_objs = cap;
	}
	gw->objs[gw->n_objs++] = *o;
	pthread_mutex_unlock(&gw->lock);
}

static uint32_t prop_u32(const struct spa_dict *props, const char *key)
{
	const char *v = props ? spa_dict_lookup(props, key) : NULL;
	return v ? (uint32_t)strtoul(v, NULL, 10) : SPA_ID_INVALID;
}

static void on_global(void *data, uint32_t id, uint32_t permissions, const char *type, uint32_t version,
		      const struct spa_dict *props)
{
	struct graph_watch *gw = data;
	(void)permissions;
	(void)version;
	struct obj o;
	memset(&o, 0, sizeof(o));
	o.id = id;
	const char *v;
	if (strcmp(type, PW_TYPE_INTERFACE_Node) == 0) {
		o.type = OBJ_NODE;
		v = props ? spa_dict_lookup(props, PW_KEY_NODE_NAME) : NULL;
		snprintf(o.name, sizeof(o.name), "%s", v ? v : "");
	} else if (strcmp(type, PW_TYPE_INTERFACE_Port) == 0) {
		o.type = OBJ_PORT;
		v = props ? spa_dict_lookup(props, PW_KEY_PORT_NAME) : NULL;
		snprintf(o.name, sizeof(o.name), "%s", v ? v : "");
		o.node = prop_u32(props, PW_KEY_NODE_ID);
		v = props ? spa_dict_lookup(props, PW_KEY_PORT_DIRECTION) : NULL;
		o.input = v && strcmp(v, "in") == 0;
	} else if (strcmp(type, PW_TYPE_INTERFACE_Link) == 0) {
		o.type = OBJ_LINK;
		o.out_port = prop_u32(props, PW_KEY_LINK_OUTPUT_PORT);
		o.in_port = prop_u32(props, PW_KEY_LINK_INPUT_PORT);
	} else {
		return;
	}
	add_obj(gw, &o);
}

static void on_global_remove(void *data, uint32_t id)
{
	struct graph_watch *gw = data;
	pthread_mutex_lock(&gw->lock);
	for (size_t i = 0; i < gw->n_objs; i++)
		if (gw->objs[i].id == id) {
			gw->objs[i] = gw->objs[--gw->n_objs];
			break;
		}
	pthread_mutex_unlock(&gw->lock);
}

static const struct pw_registry_events registry_events = {
	PW_VERSION_REGISTRY_EVENTS,
	.global = on_global,
	.global_remove = on_global_remove,
};

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct graph_watch *gw = data;
	(void)seq;
	if (id == PW_ID_CORE) {
		/* the daemon went away: the graph is unknown until the exporter restarts the watch */
		log_warn("graph: PipeWire connection lost (%s): no summing/quantum checks until it is back",
			 message ? message : spa_strerror(res));
		pthread_mutex_lock(&gw->lock);
		gw->connected = false;
		gw->n_objs = 0;
		pthread_mutex_unlock(&gw->lock);
	}
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = on_core_error,
};

static void pw_start(struct graph_watch *gw)
{
	pw_init(NULL, NULL);
	gw->loop = pw_thread_loop_new("ghostrec-graph", NULL);
	if (!gw->loop) {
		pw_deinit();
		return;
	}
	pw_thread_loop_lock(gw->loop);
	gw->context = pw_context_new(pw_thread_loop_get_loop(gw->loop), NULL, 0);
	if (gw->context)
		gw->core = pw_context_connect(gw->context,
			pw_properties_new(PW_KEY_APP_NAME, "ghostrec-exporter graph watch", NULL), 0);
	if (gw->core) {
		pw_core_add_listener(gw->core, &gw->core_listener, &core_events, gw);
		gw->registry = pw_core_get_registry(gw->core, PW_VERSION_REGISTRY, 0);
	}
	if (gw->registry) {
		pw_registry_add_listener(gw->registry, &gw->registry_listener, &registry_events, gw);
		pthread_mutex_lock(&gw->lock);
		gw->connected = true;
		pthread_mutex_unlock(&gw->lock);
	} else if (!gw->said_down) {
		log_warn("graph: cannot connect to PipeWire: no summing/quantum checks for %s until it is there",
			 gw->destination);
		gw->said_down = true;
	}
	pw_thread_loop_unlock(gw->loop);
	pw_thread_loop_start(gw->loop);
}

static void pw_stop(struct graph_watch *gw)
{
	if (!gw->loop)
		return;
	pw_thread_loop_stop(gw->loop);
	if (gw->registry) {
		spa_hook_remove(&gw->registry_listener);
		pw_proxy_destroy((struct pw_proxy *)gw->registry);
	}
	if (gw->core) {
		spa_hook_remove(&gw->core_listener);
		pw_core_disconnect(gw->core);
	}
	if (gw->context)
		pw_context_destroy(gw->context);
	pw_thread_loop_destroy(gw->loop);
	pw_deinit();
	gw->loop = NULL;
	gw->context = NULL;
	gw->core = NULL;
	gw->registry = NULL;
	pthread_mutex_lock(&gw->lock);
	gw->connected = false;
	gw->n_objs = 0;
	pthread_mutex_unlock(&gw->lock);
}

#else

static void pw_start(struct graph_watch *gw)
{
	if (!gw->said_down)
		log_warn("graph: built without PipeWire: no summing/quantum checks for %s", gw->destination);
	gw->said_down = true;
}

static void pw_stop(struct graph_watch *gw)
{
	(void)gw;
}

#endif

struct graph_watch *graph_watch_new(const char *destination, const char (*taps)[64], unsigned n_taps)
{
	struct graph_watch *gw = calloc(1, sizeof(*gw));
	if (!gw)
		return NULL;
	pthread_mutex_init(&gw->lock, NULL);
	snprintf(gw->destination, sizeof(gw->destination), "%s", destination ? destination : "");
	for (unsigned i = 0; i < n_taps && i < 8; i++)
		snprintf(gw->taps[gw->n_taps++], sizeof(gw->taps[0]), "%s", taps[i]);
	if (gw->destination[0])
		pw_start(gw);
	return gw;
}

void graph_watch_free(struct graph_watch *gw)
{
	if (!gw)
		return;
	if (gw->destination[0])
		pw_stop(gw);
	free(gw->objs);
	pthread_mutex_destroy(&gw->lock);
	free(gw);
}
