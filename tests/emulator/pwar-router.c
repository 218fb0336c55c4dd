/* PWAR's Windows side, as a model: see pwar-router.h. */
#include "pwar-router.h"

#include <string.h>

int pwar_model_init(struct pwar_model *m, enum pwar_model_mode mode, uint32_t block, uint32_t channels,
		    pwar_model_deliver deliver, void *data)
{
	if (block == 0 || block > PWAR_MODEL_MAX_BLOCK || channels == 0 || channels > PWAR_MODEL_MAX_CHANNELS)
		return -1;
	memset(m, 0, sizeof(*m));
	m->mode = mode;
	m->block = block;
	m->channels = channels;
	m->deliver = deliver;
	m->data = data;
	/* pwar_router_init: no block yet, an invalid sequence */
	m->current_seq = UINT64_MAX;
	return 0;
}

static int per_packet(struct pwar_model *m, const float *samples, int64_t frame, uint32_t n)
{
	/* v0.1: the packet's frames into the ASIO buffer, zeros for the rest of the block */
	uint32_t copy = n < m->block ? n : m->block;
	memcpy(m->buf, samples, sizeof(float) * copy * m->channels);
	memset(m->buf + (size_t)copy * m->channels, 0, sizeof(float) * (m->block - copy) * m->channels);
	for (uint32_t i = 0; i < m->block; i++)
		m->pos[i] = i < copy ? frame + (int64_t)i : -1;
	m->blocks++;
	m->deliver(m->data, m->buf, m->pos, m->block);
	return PWAR_MODEL_DELIVERED;
}

int pwar_model_packet(struct pwar_model *m, uint64_t seq, const float *samples, int64_t frame, uint32_t n)
{
	m->packets++;
	if (n > PWAR_MODEL_MAX_CHUNK) {
		m->refused++;
		return PWAR_MODEL_TOO_BIG;
	}
	if (n == 0 || n > m->block) {
		m->refused++;
		return PWAR_MODEL_CHUNK_TOO_BIG;
	}
	if (m->mode == PWAR_MODEL_PER_PACKET)
		return per_packet(m, samples, frame, n);
	if (n < PWAR_MODEL_MIN_CHUNK || m->block % n != 0) {
		m->refused++;
		return PWAR_MODEL_UNMODELLED;
	}
	/* The ASIO driver sets the packet count from its block and the packet's size. */
	uint32_t num_packets = m->block / n;
	/* pwar_router_process_streaming_packet: the index is the sequence distance from the
	 * block's first packet, as PWAR computes it (a 64-bit difference kept in an int). A
	 * packet outside the block keeps its own sequence and the index the sender gave it (0). */
	int32_t index = (int32_t)(uint32_t)(seq - m->current_seq);
	uint64_t pseq = seq;
	uint32_t pidx = 0;
	if (index >= 0 && (uint32_t)index < num_packets) {
		pidx = (uint32_t)index;
		pseq = m->current_seq;
	}
	/* pwar_router_process_packet */
	if (pseq != m->current_seq) {
		m->current_seq = pseq;
		m->received = 0;
		memset(m->got, 0, sizeof(m->got));
	}
	if (!m->got[pidx]) {
		uint32_t off = pidx * n;
		memcpy(m->buf + (size_t)off * m->channels, samples, sizeof(float) * n * m->channels);
		for (uint32_t i = 0; i < n; i++)
			m->pos[off + i] = frame + (int64_t)i;
		m->got[pidx] = 1;
		m->received++;
	}
	/* Complete, also again for a packet of a block already played: the block is played. */
	if (m->received == num_packets) {
		m->blocks++;
		m->deliver(m->data, m->buf, m->pos, num_packets * n);
		return PWAR_MODEL_DELIVERED;
	}
	return PWAR_MODEL_HELD;
}

const char *pwar_model_result_str(int result)
{
	switch (result) {
	case PWAR_MODEL_HELD: return "held";
	case PWAR_MODEL_DELIVERED: return "delivered";
	case PWAR_MODEL_TOO_BIG: return "refused: more than 128 frames per packet (PWAR's limit)";
	case PWAR_MODEL_CHUNK_TOO_BIG: return "refused: packet larger than the ASIO block";
	case PWAR_MODEL_UNMODELLED: return "not modelled: packet under 64 frames or ASIO block not a multiple of it";
	default: return "unknown";
	}
}
