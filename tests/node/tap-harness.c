/* See tap-harness.h. */
#include "tap-harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>

#define DIE(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

float tap_harness_signal(uint64_t frame, uint32_t c)
{
	return (float)(((frame * 7 + c * 3) % 1000) + 1) / 2048.0f * (c & 1 ? -1.0f : 1.0f);
}

static struct spa_buffer *make_buffer(float **data)
{
	struct spa_buffer *b = calloc(1, sizeof(*b));
	b->n_datas = 1;
	b->datas = calloc(1, sizeof(struct spa_data));
	b->datas[0].type = SPA_DATA_MemPtr;
	b->datas[0].maxsize = TAP_HARNESS_BUFFER_FRAMES * sizeof(float);
	b->datas[0].data = *data = calloc(TAP_HARNESS_BUFFER_FRAMES, sizeof(float));
	b->datas[0].chunk = calloc(1, sizeof(struct spa_chunk));
	return b;
}

static void free_buffer(struct spa_buffer *b)
{
	free(b->datas[0].data);
	free(b->datas[0].chunk);
	free(b->datas);
	free(b);
}

void tap_harness_init(struct tap_harness *hs, struct spa_env *env, const char *plugin,
		      const struct spa_dict *info, uint32_t channels)
{
	memset(hs, 0, sizeof(*hs));
	int res;
	hs->channels = channels;
	hs->handle = spa_env_instantiate(spa_env_factory(plugin, "ghostrec.tap"), info, env->support,
					 env->n_support, &res);
	if (!hs->handle)
		DIE("ghostrec.tap init: %s", strerror(-res));
	hs->node = spa_env_iface(hs->handle, SPA_TYPE_INTERFACE_Node);
	uint8_t buf[512];
	for (uint32_t c = 0; c < channels; c++) {
		for (int dir = 0; dir < 2; dir++) {
			struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
			struct spa_pod *fmt = spa_pod_builder_add_object(&b,
				SPA_TYPE_OBJECT_Format, SPA_PARAM_Format,
				SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_audio),
				SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_dsp),
				SPA_FORMAT_AUDIO_format, SPA_POD_Id(SPA_AUDIO_FORMAT_DSP_F32));
			enum spa_direction d = dir ? SPA_DIRECTION_OUTPUT : SPA_DIRECTION_INPUT;
			if (spa_node_port_set_param(hs->node, d, c, SPA_PARAM_Format, 0, fmt) < 0)
				DIE("set format");
			struct spa_buffer **bufs = dir ? hs->out_bufs[c] : hs->in_bufs[c];
			for (int i = 0; i < TAP_HARNESS_BUFFERS; i++)
				bufs[i] = make_buffer(dir ? &hs->out_data[c][i] : &hs->in_data[c][i]);
			if (spa_node_port_use_buffers(hs->node, d, c, 0, bufs, TAP_HARNESS_BUFFERS) < 0)
				DIE("use buffers");
			struct spa_io_buffers *io = dir ? &hs->out_io[c] : &hs->in_io[c];
			io->buffer_id = SPA_ID_INVALID;
			io->status = SPA_STATUS_NEED_DATA;
			if (spa_node_port_set_io(hs->node, d, c, SPA_IO_Buffers, io, sizeof(*io)) < 0)
				DIE("set io");
		}
	}
	hs->position.clock.rate = SPA_FRACTION(1, 48000);
	hs->position.clock.position = 1000000;
	if (spa_node_set_io(hs->node, SPA_IO_Position, &hs->position, sizeof(hs->position)) < 0)
		DIE("set position io");
	if (spa_node_send_command(hs->node, &SPA_NODE_COMMAND_INIT(SPA_NODE_COMMAND_Start)) < 0)
		DIE("start");
}

void tap_harness_clear(struct tap_harness *hs)
{
	spa_env_free_handle(hs->handle);
	for (uint32_t c = 0; c < hs->channels; c++)
		for (int i = 0; i < TAP_HARNESS_BUFFERS; i++) {
			free_buffer(hs->in_bufs[c][i]);
			free_buffer(hs->out_bufs[c][i]);
		}
	memset(hs, 0, sizeof(*hs));
}

int tap_harness_cycle(struct tap_harness *hs, const struct tap_cycle *cy)
{
	uint32_t n = cy->duration;
	uint32_t in_id = (uint32_t)(hs->cycles % TAP_HARNESS_BUFFERS);
	for (uint32_t c = 0; c < hs->channels; c++) {
		if (cy->missing_mask & (1u << c)) {
			hs->in_io[c].status = SPA_STATUS_NEED_DATA;
		} else {
			float *d = hs->in_data[c][in_id];
			uint32_t have = cy->short_chunk[c] ? cy->short_chunk[c] : n;
			for (uint32_t i = 0; i < have; i++)
				d[i] = tap_harness_signal(hs->frame + i, c);
			struct spa_chunk *ch = hs->in_bufs[c][in_id]->datas[0].chunk;
			ch->offset = 0;
			ch->size = have * sizeof(float);
			ch->stride = sizeof(float);
			hs->in_io[c].buffer_id = in_id;
			hs->in_io[c].status = SPA_STATUS_HAVE_DATA;
		}
		if (!(cy->unconsumed_mask & (1u << c)))
			hs->out_io[c].status = SPA_STATUS_NEED_DATA;
	}
	hs->position.clock.rate = SPA_FRACTION(1, cy->rate ? cy->rate : 48000);
	hs->position.clock.position += cy->position_jump;
	hs->position.clock.duration = n;
	int res = spa_node_process(hs->node);
	hs->position.clock.position += n;
	hs->frame += n;
	hs->cycles++;
	return res;
}

const float *tap_harness_output(struct tap_harness *hs, uint32_t c, uint32_t *frames)
{
	uint32_t id = hs->out_io[c].buffer_id;
	if (hs->out_io[c].status != SPA_STATUS_HAVE_DATA || id >= TAP_HARNESS_BUFFERS)
		return NULL;
	*frames = hs->out_bufs[c][id]->datas[0].chunk->size / sizeof(float);
	return hs->out_data[c][id];
}
