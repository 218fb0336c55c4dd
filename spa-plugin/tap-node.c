/* ghostrec.tap: node setup on the main thread (ports, formats, buffers, properties) and the
 * handle factory. The real-time path is in tap-process.c, the control channel in tap-control.c. */
#include "tap.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <spa/node/keys.h>
#include <spa/node/utils.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/audio/raw-types.h>
#include <spa/pod/filter.h>
#include <spa/support/plugin.h>
#include <spa/utils/names.h>
#include <spa/utils/string.h>

static struct tap_port *get_port(struct tap *t, enum spa_direction direction, uint32_t port_id)
{
	if (port_id >= t->n_channels)
		return NULL;
	return direction == SPA_DIRECTION_INPUT ? &t->in_ports[port_id] : &t->out_ports[port_id];
}

static void emit_node_info(struct tap *t, bool full)
{
	uint64_t old = full ? t->info.change_mask : 0;
	if (full)
		t->info.change_mask = t->info_all;
	if (t->info.change_mask) {
		spa_node_emit_info(&t->hooks, &t->info);
		t->info.change_mask = old;
	}
}

static void emit_port_info(struct tap *t, struct tap_port *port, bool full)
{
	uint64_t old = full ? port->info.change_mask : 0;
	if (full)
		port->info.change_mask = port->info_all;
	if (port->info.change_mask) {
		spa_node_emit_port_info(&t->hooks, port->direction, port->id, &port->info);
		port->info.change_mask = old;
	}
}

static int node_add_listener(void *object, struct spa_hook *listener,
			     const struct spa_node_events *events, void *data)
{
	struct tap *t = object;
	struct spa_hook_list save;
	spa_hook_list_isolate(&t->hooks, &save, listener, events, data);
	emit_node_info(t, true);
	for (uint32_t c = 0; c < t->n_channels; c++) {
		emit_port_info(t, &t->in_ports[c], true);
		emit_port_info(t, &t->out_ports[c], true);
	}
	spa_hook_list_join(&t->hooks, &save);
	return 0;
}

static int node_set_callbacks(void *object, const struct spa_node_callbacks *callbacks,
			      void *data)
{
	return 0;
}

static int node_enum_params(void *object, int seq, uint32_t id, uint32_t start, uint32_t num,
			    const struct spa_pod *filter)
{
	return -ENOENT;
}

static int node_set_param(void *object, uint32_t id, uint32_t flags, const struct spa_pod *param)
{
	return -ENOTSUP;
}

struct io_change {
	void **where;
	void *value;
};

static int do_io_change(struct spa_loop *loop, bool async, uint32_t seq, const void *data,
			size_t size, void *user_data)
{
	const struct io_change *ch = data;
	*ch->where = ch->value;
	return 0;
}

/* Pointers process() reads change between two cycles, on the data thread. */
static void set_rt_pointer(struct tap *t, void **where, void *value)
{
	struct io_change ch = { where, value };
	spa_loop_invoke(t->data_loop, do_io_change, 0, &ch, sizeof(ch), true, t);
}

static int node_set_io(void *object, uint32_t id, void *data, size_t size)
{
	struct tap *t = object;
	switch (id) {
	case SPA_IO_Position:
		set_rt_pointer(t, (void **)&t->position, data);
		return 0;
	case SPA_IO_Clock:
		return 0; /* the position carries the clock we need */
	default:
		return -ENOENT;
	}
}

static int node_send_command(void *object, const struct spa_command *command)
{
	struct tap *t = object;
	switch (SPA_NODE_COMMAND_ID(command)) {
	case SPA_NODE_COMMAND_Start:
		t->started = true;
		tap_control_wake(t);
		return 0;
	case SPA_NODE_COMMAND_Pause:
	case SPA_NODE_COMMAND_Suspend:
	case SPA_NODE_COMMAND_Flush:
		t->started = false;
		tap_control_wake(t);
		return 0;
	default:
		return -ENOTSUP;
	}
}

static int node_add_port(void *object, enum spa_direction direction, uint32_t port_id,
			 const struct spa_dict *props)
{
	return -ENOTSUP;
}

static int node_remove_port(void *object, enum spa_direction direction, uint32_t port_id)
{
	return -ENOTSUP;
}

static struct spa_pod *dsp_format(struct spa_pod_builder *b, uint32_t id)
{
	return spa_pod_builder_add_object(b,
		SPA_TYPE_OBJECT_Format, id,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_audio),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_dsp),
		SPA_FORMAT_AUDIO_format, SPA_POD_Id(SPA_AUDIO_FORMAT_DSP_F32));
}

static int node_port_enum_params(void *object, int seq, enum spa_direction direction,
				 uint32_t port_id, uint32_t id, uint32_t start, uint32_t num,
				 const struct spa_pod *filter)
{
	struct tap *t = object;
	struct tap_port *port = get_port(t, direction, port_id);
	if (port == NULL || num == 0)
		return -EINVAL;

	struct spa_result_node_params result = { .id = id, .next = start };
	uint32_t count = 0;
	uint8_t buffer[1024];
	struct spa_pod_builder b;
	struct spa_pod *param;

next:
	result.index = result.next++;
	spa_pod_builder_init(&b, buffer, sizeof(buffer));
	switch (id) {
	case SPA_PARAM_EnumFormat:
		if (result.index > 0)
			return 0;
		param = dsp_format(&b, id);
		break;
	case SPA_PARAM_Format:
		if (!port->have_format)
			return -EIO;
		if (result.index > 0)
			return 0;
		param = dsp_format(&b, id);
		break;
	case SPA_PARAM_Buffers:
		if (!port->have_format)
			return -EIO;
		if (result.index > 0)
			return 0;
		param = spa_pod_builder_add_object(&b,
			SPA_TYPE_OBJECT_ParamBuffers, id,
			SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(2, 1, (int)TAP_MAX_BUFFERS),
			SPA_PARAM_BUFFERS_blocks, SPA_POD_Int(1),
			SPA_PARAM_BUFFERS_size, SPA_POD_CHOICE_RANGE_Int(
				(int)(t->quantum_limit * sizeof(float)), 16 * (int)sizeof(float), INT32_MAX),
			SPA_PARAM_BUFFERS_stride, SPA_POD_Int(sizeof(float)));
		break;
	case SPA_PARAM_IO:
		if (result.index > 0)
			return 0;
		param = spa_pod_builder_add_object(&b,
			SPA_TYPE_OBJECT_ParamIO, id,
			SPA_PARAM_IO_id, SPA_POD_Id(SPA_IO_Buffers),
			SPA_PARAM_IO_size, SPA_POD_Int(sizeof(struct spa_io_buffers)));
		break;
	default:
		return -ENOENT;
	}
	if (spa_pod_filter(&b, &result.param, param, filter) < 0)
		goto next;
	spa_node_emit_result(&t->hooks, seq, 0, SPA_RESULT_TYPE_NODE_PARAMS, &result);
	if (++count != num)
		goto next;
	return 0;
}

/* tap.plain_frames from the output ports' buffers. */
static void update_plain_frames(struct tap *t)
{
	uint32_t frames = 0;
	for (uint32_t c = 0; c < t->n_channels; c++) {
		const struct tap_port *port = &t->out_ports[c];
		if (port->n_buffers > 0 && (frames == 0 || port->max_frames < frames))
			frames = port->max_frames;
	}
	atomic_store(&t->plain_frames, frames);
}

static void clear_buffers(struct tap *t, struct tap_port *port)
{
	atomic_store(&t->plain_frames, 0); /* process() takes the careful path meanwhile */
	for (uint32_t i = 0; i < port->n_buffers; i++) {
		struct tap_buffer *b = &port->buffers[i];
		if (b->mapped && b->data)
			munmap(b->map_base, b->map_size);
	}
	memset(port->buffers, 0, sizeof(port->buffers));
	port->n_buffers = 0;
	port->max_frames = 0;
	port->next_id = 0;
	update_plain_frames(t);
}

static int port_set_format(struct tap *t, struct tap_port *port, const struct spa_pod *format)
{
	if (format == NULL) {
		port->have_format = false;
		clear_buffers(t, port);
	} else {
		struct spa_audio_info info = { 0 };
		if (spa_format_parse(format, &info.media_type, &info.media_subtype) < 0 ||
		    info.media_type != SPA_MEDIA_TYPE_audio ||
		    info.media_subtype != SPA_MEDIA_SUBTYPE_dsp ||
		    spa_format_audio_dsp_parse(format, &info.info.dsp) < 0 ||
		    info.info.dsp.format != SPA_AUDIO_FORMAT_DSP_F32) {
			spa_log_error(t->log, "ghostrec %s: port %s: only DSP float32 is supported",
				      t->node_name, port->name);
			return -EINVAL;
		}
		port->have_format = true;
	}
	port->info.change_mask |= SPA_PORT_CHANGE_MASK_PARAMS;
	port->params[3] = SPA_PARAM_INFO(SPA_PARAM_Format,
		port->have_format ? SPA_PARAM_INFO_READWRITE : SPA_PARAM_INFO_WRITE);
	port->params[4] = SPA_PARAM_INFO(SPA_PARAM_Buffers,
		port->have_format ? SPA_PARAM_INFO_READ : 0);
	emit_port_info(t, port, false);
	return 0;
}

static int node_port_set_param(void *object, enum spa_direction direction, uint32_t port_id,
			       uint32_t id, uint32_t flags, const struct spa_pod *param)
{
	struct tap *t = object;
	struct tap_port *port = get_port(t, direction, port_id);
	if (port == NULL)
		return -EINVAL;
	if (id == SPA_PARAM_Format)
		return port_set_format(t, port, param);
	return -ENOENT;
}

static bool data_is_mappable(const struct spa_data *d)
{
#ifdef SPA_DATA_FLAG_MAPPABLE
	if (SPA_FLAG_IS_SET(d->flags, SPA_DATA_FLAG_MAPPABLE))
		return true;
#endif
	/* PipeWire 0.3.x has no MAPPABLE flag: memfd buffers are mappable. */
	return d->type == SPA_DATA_MemFd && d->fd >= 0;
}

static int node_port_use_buffers(void *object, enum spa_direction direction, uint32_t port_id,
				 uint32_t flags, struct spa_buffer **buffers, uint32_t n_buffers)
{
	struct tap *t = object;
	struct tap_port *port = get_port(t, direction, port_id);
	if (port == NULL)
		return -EINVAL;
	if (n_buffers > 0 && !port->have_format)
		return -EIO;
	if (n_buffers > TAP_MAX_BUFFERS)
		return -ENOSPC;

	clear_buffers(t, port);
	for (uint32_t i = 0; i < n_buffers; i++) {
		struct tap_buffer *b = &port->buffers[i];
		struct spa_data *d = buffers[i]->datas;
		if (buffers[i]->n_datas < 1 || d[0].maxsize < sizeof(float) || d[0].chunk == NULL) {
			spa_log_error(t->log, "ghostrec %s: port %s: buffer %u has no usable data",
				      t->node_name, port->name, i);
			clear_buffers(t, port);
			return -EINVAL;
		}
		void *data = d[0].data;
		if (data == NULL && data_is_mappable(&d[0])) {
			int prot = PROT_READ | (direction == SPA_DIRECTION_OUTPUT ? PROT_WRITE : 0);
			void *map = mmap(NULL, d[0].maxsize + d[0].mapoffset % 4096, prot, MAP_SHARED,
					 (int)d[0].fd, d[0].mapoffset - d[0].mapoffset % 4096);
			if (map == MAP_FAILED) {
				spa_log_error(t->log, "ghostrec %s: port %s: mmap of buffer %u failed: %m",
					      t->node_name, port->name, i);
				clear_buffers(t, port);
				return -errno;
			}
			b->mapped = true;
			b->map_base = map;
			b->map_size = d[0].maxsize + d[0].mapoffset % 4096;
			data = SPA_PTROFF(map, d[0].mapoffset % 4096, void);
		}
		if (data == NULL) {
			spa_log_error(t->log, "ghostrec %s: port %s: buffer %u is not mapped",
				      t->node_name, port->name, i);
			clear_buffers(t, port);
			return -EINVAL;
		}
		b->outbuf = buffers[i];
		b->chunk = d[0].chunk;
		b->data = data;
		b->maxsize = d[0].maxsize;
		uint32_t frames = d[0].maxsize / (uint32_t)sizeof(float);
		if (i == 0 || frames < port->max_frames)
			port->max_frames = frames;
		port->n_buffers++;
	}
	update_plain_frames(t);
	spa_log_debug(t->log, "ghostrec %s: port %s: %u buffers", t->node_name, port->name,
		      n_buffers);
	return 0;
}

static int node_port_set_io(void *object, enum spa_direction direction, uint32_t port_id,
			    uint32_t id, void *data, size_t size)
{
	struct tap *t = object;
	struct tap_port *port = get_port(t, direction, port_id);
	if (port == NULL)
		return -EINVAL;
	if (id != SPA_IO_Buffers)
		return -ENOENT;
	if (data != NULL && size < sizeof(struct spa_io_buffers))
		return -EINVAL;
	set_rt_pointer(t, (void **)&port->io, data ? data : &port->no_io);
	return 0;
}

static int node_port_reuse_buffer(void *object, uint32_t port_id, uint32_t buffer_id)
{
	struct tap *t = object;
	struct tap_port *port = get_port(t, SPA_DIRECTION_OUTPUT, port_id);
	if (port == NULL || buffer_id >= port->n_buffers)
		return -EINVAL;
	return 0; /* output buffers are used in turn (see struct tap_port): nothing to track */
}

static const struct spa_node_methods tap_node_methods = {
	SPA_VERSION_NODE_METHODS,
	.add_listener = node_add_listener,
	.set_callbacks = node_set_callbacks,
	.enum_params = node_enum_params,
	.set_param = node_set_param,
	.set_io = node_set_io,
	.send_command = node_send_command,
	.add_port = node_add_port,
	.remove_port = node_remove_port,
	.port_enum_params = node_port_enum_params,
	.port_set_param = node_port_set_param,
	.port_use_buffers = node_port_use_buffers,
	.port_set_io = node_port_set_io,
	.port_reuse_buffer = node_port_reuse_buffer,
	.process = tap_process,
};

/* ---- properties ---- */

static uint32_t channel_from_name(const char *name)
{
	for (const struct spa_type_info *ti = spa_type_audio_channel; ti->name; ti++) {
		const char *s = strrchr(ti->name, ':');
		if (s && strcmp(s + 1, name) == 0)
			return ti->type;
	}
	return SPA_AUDIO_CHANNEL_UNKNOWN;
}

static const char *channel_name(uint32_t id)
{
	for (const struct spa_type_info *ti = spa_type_audio_channel; ti->name; ti++) {
		if (ti->type == id) {
			const char *s = strrchr(ti->name, ':');
			return s ? s + 1 : ti->name;
		}
	}
	return "UNK";
}

/* "[ FL FR ]", "FL,FR", "FL FR" -> ids. Returns the count, or -1 on an unknown name. */
static int parse_positions(const char *s, uint32_t *out, uint32_t max)
{
	int n = 0;
	while (*s) {
		while (*s && !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			       (*s >= '0' && *s <= '9')))
			s++;
		if (!*s)
			break;
		char name[16];
		size_t len = 0;
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) {
			if (len + 1 < sizeof(name))
				name[len++] = *s;
			s++;
		}
		name[len] = '\0';
		uint32_t id = channel_from_name(name);
		if (id == SPA_AUDIO_CHANNEL_UNKNOWN || (uint32_t)n >= max)
			return -1;
		out[n++] = id;
	}
	return n;
}

/* "all", or channel indices "[ 0 1 ]" / "0,1". Returns a bit mask, 0 on error. */
static uint32_t parse_channel_mask(const char *s, uint32_t n_channels)
{
	if (spa_streq(s, "all"))
		return (1u << n_channels) - 1;
	uint32_t mask = 0;
	while (*s) {
		if (*s >= '0' && *s <= '9') {
			char *end;
			unsigned long v = strtoul(s, &end, 10);
			if (v >= n_channels)
				return 0;
			mask |= 1u << v;
			s = end;
		} else if (*s == '[' || *s == ']' || *s == ',' || *s == ' ' || *s == '\t') {
			s++;
		} else {
			return 0;
		}
	}
	return mask;
}

static int apply_properties(struct tap *t, const struct spa_dict *info)
{
	const char *s;
	snprintf(t->node_name, sizeof(t->node_name), "ghostrec");
	t->n_channels = 2;
	t->positions[0] = SPA_AUDIO_CHANNEL_FL;
	t->positions[1] = SPA_AUDIO_CHANNEL_FR;
	t->ring_seconds = TAP_DEFAULT_RING_SECONDS;
	t->marker_amplitude = GHOSTREC_MARKER_DEFAULT_AMPLITUDE;
	t->quantum_limit = TAP_DEFAULT_QUANTUM_LIMIT;
	t->rate = TAP_DEFAULT_RATE;
	bool have_positions = false;

	if (info == NULL)
		goto done;
	if ((s = spa_dict_lookup(info, SPA_KEY_NODE_NAME)) && s[0]) {
		if (strlen(s) >= sizeof(t->node_name) || strchr(s, '/')) {
			spa_log_error(t->log, "ghostrec: node.name \"%s\" is too long or has a '/'", s);
			return -EINVAL;
		}
		snprintf(t->node_name, sizeof(t->node_name), "%s", s);
	}
	if ((s = spa_dict_lookup(info, SPA_KEY_AUDIO_POSITION)) && s[0]) {
		int n = parse_positions(s, t->positions, TAP_MAX_CHANNELS);
		if (n <= 0) {
			spa_log_error(t->log, "ghostrec %s: audio.position \"%s\" is not a list of 1-%u "
				      "known channel names", t->node_name, s, TAP_MAX_CHANNELS);
			return -EINVAL;
		}
		t->n_channels = (uint32_t)n;
		have_positions = true;
	}
	if ((s = spa_dict_lookup(info, SPA_KEY_AUDIO_CHANNELS))) {
		uint32_t n = 0;
		if (!spa_atou32(s, &n, 10) || n < 1 || n > TAP_MAX_CHANNELS ||
		    (have_positions && n != t->n_channels)) {
			spa_log_error(t->log, "ghostrec %s: audio.channels \"%s\" must be 1-%u and match "
				      "audio.position", t->node_name, s, TAP_MAX_CHANNELS);
			return -EINVAL;
		}
		if (!have_positions) {
			/* Default layout for the count: FL FR, else AUX0.. */
			for (uint32_t c = 0; c < n; c++)
				t->positions[c] = n == 1 ? SPA_AUDIO_CHANNEL_MONO :
						  n == 2 ? (c ? SPA_AUDIO_CHANNEL_FR : SPA_AUDIO_CHANNEL_FL) :
						  SPA_AUDIO_CHANNEL_AUX0 + c;
		}
		t->n_channels = n;
	}
	if ((s = spa_dict_lookup(info, "ghostrec.ring.seconds"))) {
		double v = 0;
		if (!spa_atod(s, &v) || !(v >= 0.1 && v <= 3600.0)) {
			spa_log_error(t->log, "ghostrec %s: ghostrec.ring.seconds \"%s\" must be 0.1-3600",
				      t->node_name, s);
			return -EINVAL;
		}
		t->ring_seconds = v;
	}
	if ((s = spa_dict_lookup(info, "ghostrec.marker.amplitude"))) {
		float v = 0;
		if (!spa_atof(s, &v) || !(v >= GHOSTREC_MARKER_MIN_AMPLITUDE && v <= 1.0f)) {
			spa_log_error(t->log, "ghostrec %s: ghostrec.marker.amplitude \"%s\" must be "
				      "%g-1", t->node_name, s, (double)GHOSTREC_MARKER_MIN_AMPLITUDE);
			return -EINVAL;
		}
		t->marker_amplitude = v;
	}
	if ((s = spa_dict_lookup(info, "clock.quantum-limit"))) {
		uint32_t v;
		if (spa_atou32(s, &v, 10) && v >= 16 && v <= 65536)
			t->quantum_limit = v;
	}
	if ((s = spa_dict_lookup(info, "clock.rate"))) {
		uint32_t v;
		if (spa_atou32(s, &v, 10) && v >= 1000 && v <= 768000)
			t->rate = v;
	}
done:
	t->marker_channel_mask = (1u << t->n_channels) - 1;
	if (info && (s = spa_dict_lookup(info, "ghostrec.marker.channels"))) {
		t->marker_channel_mask = parse_channel_mask(s, t->n_channels);
		if (t->marker_channel_mask == 0) {
			spa_log_error(t->log, "ghostrec %s: ghostrec.marker.channels \"%s\" must be \"all\" "
				      "or channel indices below %u", t->node_name, s, t->n_channels);
			return -EINVAL;
		}
	}
	return 0;
}

static void init_port(struct tap *t, struct tap_port *port, enum spa_direction direction,
		      uint32_t id)
{
	port->direction = direction;
	port->id = id;
	port->no_io = SPA_IO_BUFFERS_INIT;
	port->io = &port->no_io;
	snprintf(port->channel, sizeof(port->channel), "%s", channel_name(t->positions[id]));
	snprintf(port->name, sizeof(port->name), "%s_%s",
		 direction == SPA_DIRECTION_INPUT ? "input" : "output", port->channel);
	port->items[0] = SPA_DICT_ITEM_INIT(SPA_KEY_FORMAT_DSP, "32 bit float mono audio");
	port->items[1] = SPA_DICT_ITEM_INIT(SPA_KEY_PORT_NAME, port->name);
	port->items[2] = SPA_DICT_ITEM_INIT(SPA_KEY_AUDIO_CHANNEL, port->channel);
	port->props = SPA_DICT_INIT(port->items, 3);

	port->info = SPA_PORT_INFO_INIT();
	port->info.change_mask = SPA_PORT_CHANGE_MASK_FLAGS | SPA_PORT_CHANGE_MASK_PROPS |
				 SPA_PORT_CHANGE_MASK_PARAMS;
	port->info_all = port->info.change_mask;
	port->info.flags = SPA_PORT_FLAG_NO_REF;
	port->info.props = &port->props;
	port->params[0] = SPA_PARAM_INFO(SPA_PARAM_EnumFormat, SPA_PARAM_INFO_READ);
	port->params[1] = SPA_PARAM_INFO(SPA_PARAM_Meta, 0);
	port->params[2] = SPA_PARAM_INFO(SPA_PARAM_IO, SPA_PARAM_INFO_READ);
	port->params[3] = SPA_PARAM_INFO(SPA_PARAM_Format, SPA_PARAM_INFO_WRITE);
	port->params[4] = SPA_PARAM_INFO(SPA_PARAM_Buffers, 0);
	port->info.params = port->params;
	port->info.n_params = 5;
}

void tap_ring_lock(struct tap *t, struct ghostrec_ring_writer *ring)
{
	/* A paged-out ring would fault on the real-time thread. Locking is best effort: the
	 * default RLIMIT_MEMLOCK of a user session is often smaller than a ring. */
	if (mlock(ring->map, ring->size) < 0)
		spa_log_warn(t->log, "ghostrec %s: cannot lock the %zu-byte ring in memory (%m); it "
			     "may be paged out under memory pressure (raise RLIMIT_MEMLOCK to avoid it)",
			     t->node_name, ring->size);
}

/* ---- handle ---- */

static int tap_get_interface(struct spa_handle *handle, const char *type, void **iface)
{
	struct tap *t = (struct tap *)handle;
	if (spa_streq(type, SPA_TYPE_INTERFACE_Node)) {
		*iface = &t->node;
		return 0;
	}
	return -ENOENT;
}

static int tap_clear(struct spa_handle *handle)
{
	struct tap *t = (struct tap *)handle;
	tap_control_stop(t);
	for (uint32_t c = 0; c < t->n_channels; c++) {
		clear_buffers(t, &t->in_ports[c]);
		clear_buffers(t, &t->out_ports[c]);
	}
	if (t->ring.map)
		ghostrec_ring_writer_destroy(&t->ring, true);
	for (uint32_t c = 0; c < TAP_MAX_CHANNELS; c++) {
		free(t->scratch[c]);
		t->scratch[c] = NULL;
	}
	spa_log_info(t->log, "ghostrec %s: removed", t->node_name);
	return 0;
}

static size_t tap_get_size(const struct spa_handle_factory *factory, const struct spa_dict *params)
{
	return sizeof(struct tap);
}

static int tap_init(const struct spa_handle_factory *factory, struct spa_handle *handle,
		    const struct spa_dict *info, const struct spa_support *support,
		    uint32_t n_support)
{
	struct tap *t = (struct tap *)handle;
	int res;

	handle->get_interface = tap_get_interface;
	handle->clear = tap_clear;

	t->log = spa_support_find(support, n_support, SPA_TYPE_INTERFACE_Log);
	t->data_loop = spa_support_find(support, n_support, SPA_TYPE_INTERFACE_DataLoop);
	t->main_loop = spa_support_find(support, n_support, SPA_TYPE_INTERFACE_Loop);
	t->main_utils = spa_support_find(support, n_support, SPA_TYPE_INTERFACE_LoopUtils);
	t->ring.fd = -1;
	t->expected_position = TAP_NO_POSITION;
	if (t->data_loop == NULL) {
		spa_log_error(t->log, "ghostrec: a data loop is needed");
		return -EINVAL;
	}
	if ((res = apply_properties(t, info)) < 0)
		return res;

	spa_hook_list_init(&t->hooks);
	t->node.iface = SPA_INTERFACE_INIT(SPA_TYPE_INTERFACE_Node, SPA_VERSION_NODE,
					   &tap_node_methods, t);
	t->info = SPA_NODE_INFO_INIT();
	t->info.max_input_ports = t->n_channels;
	t->info.max_output_ports = t->n_channels;
	t->info.flags = SPA_NODE_FLAG_RT;
	t->info.change_mask = SPA_NODE_CHANGE_MASK_FLAGS | SPA_NODE_CHANGE_MASK_PARAMS;
	t->info.params = t->params;
	t->info.n_params = 0;
	t->info_all = t->info.change_mask;

	for (uint32_t c = 0; c < t->n_channels; c++) {
		init_port(t, &t->in_ports[c], SPA_DIRECTION_INPUT, c);
		init_port(t, &t->out_ports[c], SPA_DIRECTION_OUTPUT, c);
		t->scratch[c] = calloc(t->quantum_limit, sizeof(float));
		if (t->scratch[c] == NULL) {
			res = -ENOMEM;
			goto fail;
		}
	}

	uint64_t capacity = (uint64_t)ceil(t->ring_seconds * t->rate);
	res = ghostrec_ring_writer_create(&t->ring, t->node_name, t->rate, t->n_channels,
					  t->positions, capacity, 0, 1);
	if (res < 0) {
		spa_log_error(t->log, "ghostrec %s: cannot create the shm ring: %s", t->node_name,
			      strerror(-res));
		goto fail;
	}
	tap_ring_lock(t, &t->ring);
	t->cycle_limit = (uint32_t)SPA_MIN((uint64_t)t->quantum_limit, capacity);
	if (t->ring.locator_error[0])
		spa_log_error(t->log, "ghostrec %s: ring %s is not published, the exporter cannot find "
			      "it (audio passes through unchanged): %s", t->node_name, t->ring.shm_name,
			      t->ring.locator_error);
	if ((res = tap_control_start(t)) < 0)
		spa_log_error(t->log, "ghostrec %s: control channel unavailable (%s); recording "
			      "continues without it", t->node_name, strerror(-res));

	spa_log_info(t->log, "ghostrec %s: %u channels, ring %s of %.1f s (%lu frames at %u Hz), "
		     "marker amplitude %g on channel mask 0x%x", t->node_name, t->n_channels,
		     t->ring.shm_name, t->ring_seconds, (unsigned long)capacity, t->rate,
		     (double)t->marker_amplitude, t->marker_channel_mask);
	return 0;

fail:
	for (uint32_t c = 0; c < TAP_MAX_CHANNELS; c++) {
		free(t->scratch[c]);
		t->scratch[c] = NULL;
	}
	return res;
}

static const struct spa_interface_info tap_interfaces[] = {
	{ SPA_TYPE_INTERFACE_Node },
};

static int tap_enum_interface_info(const struct spa_handle_factory *factory,
				   const struct spa_interface_info **info, uint32_t *index)
{
	if (*index >= SPA_N_ELEMENTS(tap_interfaces))
		return 0;
	*info = &tap_interfaces[(*index)++];
	return 1;
}

static const struct spa_dict_item tap_factory_items[] = {
	{ SPA_KEY_FACTORY_AUTHOR, "pw-ghost-rec" },
	{ SPA_KEY_FACTORY_DESCRIPTION, "Pristine tap: same-cycle passthrough, shm ring recorder "
				       "and sync marker injector" },
	{ SPA_KEY_FACTORY_USAGE, "node.name=<name> audio.position=[ FL FR ] "
				 "ghostrec.ring.seconds=<s> ghostrec.marker.channels=all|[ i .. ] "
				 "ghostrec.marker.amplitude=<a>" },
};

static const struct spa_dict tap_factory_info = SPA_DICT_INIT_ARRAY(tap_factory_items);

static const struct spa_handle_factory ghostrec_tap_factory = {
	SPA_VERSION_HANDLE_FACTORY,
	TAP_FACTORY_NAME,
	&tap_factory_info,
	tap_get_size,
	tap_init,
	tap_enum_interface_info,
};

SPA_EXPORT
int spa_handle_factory_enum(const struct spa_handle_factory **factory, uint32_t *index);

SPA_EXPORT
int spa_handle_factory_enum(const struct spa_handle_factory **factory, uint32_t *index)
{
	if (*index > 0)
		return 0;
	*factory = &ghostrec_tap_factory;
	(*index)++;
	return 1;
}
