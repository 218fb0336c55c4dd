/* A model of what PWAR's Windows side does with the UDP packets it receives, for the relay
 * emulator (behaviour read from ripxorip/PWAR, protocol/pwar_router.c and
 * windows/asio/pwarASIO.cpp at master fdfeefb; per-packet mode from v0.1).
 *
 * Master: a packet is one graph quantum of `n` frames (n <= 128). The ASIO block of B frames
 * is assembled from N = B / n packets with consecutive sequence numbers starting at the
 * router's current sequence; bufferSwitch (REAPER gets the block) runs when all N have
 * arrived. A packet whose sequence lies outside [current, current + N) starts a new block
 * at its own sequence, discarding the incomplete one. The consequences:
 *   - a lost packet that is not the first of its block: the whole block is dropped;
 *   - a lost first packet: that chunk is dropped and the block grid re-anchors one later;
 *   - a reordered packet: up to 2N - 1 chunks are dropped (within one block: nothing);
 *   - a duplicate arriving after its block completed: the whole block is played again.
 * Per packet (v0.1, and PWAR PR #4): every packet is one bufferSwitch, the packet's frames
 * then zeros up to B: a reordered packet swaps two blocks, a duplicate repeats one.
 *
 * Pure computation; the caller gets each delivered block through a callback with the stream
 * frame of every sample (-1 for frames PWAR fills with zeros). */
#ifndef GHOSTREC_PWAR_ROUTER_H
#define GHOSTREC_PWAR_ROUTER_H

#include <stdint.h>

#define PWAR_MODEL_MAX_CHUNK 128      /* PWAR_PACKET_MAX_CHUNK_SIZE */
#define PWAR_MODEL_MIN_CHUNK 64       /* PWAR_PACKET_MIN_CHUNK_SIZE: sizes its packet table */
#define PWAR_MODEL_MAX_BLOCK 4096     /* PWAR_ROUTER_MAX_BUFFER_SIZE */
#define PWAR_MODEL_MAX_PACKETS (PWAR_MODEL_MAX_BLOCK / PWAR_MODEL_MIN_CHUNK)
#define PWAR_MODEL_MAX_CHANNELS 2

enum pwar_model_mode {
	PWAR_MODEL_MASTER,      /* block assembly, bufferSwitch when a block is complete */
	PWAR_MODEL_PER_PACKET,  /* v0.1 / PR #4: one bufferSwitch per packet */
};

/* What happened to one packet. */
enum pwar_model_result {
	PWAR_MODEL_HELD = 0,            /* stored (or ignored as already seen); no bufferSwitch */
	PWAR_MODEL_DELIVERED = 1,       /* a bufferSwitch ran */
	PWAR_MODEL_TOO_BIG = -3,        /* more than 128 frames: PWAR's router refuses it */
	PWAR_MODEL_CHUNK_TOO_BIG = -2,  /* more frames than the ASIO block: no packet count */
	PWAR_MODEL_UNMODELLED = -4,     /* n < 64 (PWAR overruns its packet table) or B % n != 0
					 * (PWAR plays stale frames): not modelled */
};

typedef void (*pwar_model_deliver)(void *data, const float *samples, const int64_t *frames, uint32_t n);

struct pwar_model {
	enum pwar_model_mode mode;
	uint32_t block;          /* ASIO block, frames */
	uint32_t channels;       /* interleaved channels per sample frame */
	pwar_model_deliver deliver;
	void *data;

	uint64_t current_seq;
	uint32_t received;
	uint8_t got[PWAR_MODEL_MAX_PACKETS];
	float buf[PWAR_MODEL_MAX_BLOCK * PWAR_MODEL_MAX_CHANNELS];
	int64_t pos[PWAR_MODEL_MAX_BLOCK];

	uint64_t packets, refused, blocks;
};

/* Returns 0, or -1 when block or channels are out of range. */
int pwar_model_init(struct pwar_model *m, enum pwar_model_mode mode, uint32_t block, uint32_t channels,
		    pwar_model_deliver deliver, void *data);

/* One packet as it arrives: sequence number, n frames of interleaved samples, the stream
 * frame of its first sample. Returns an enum pwar_model_result. */
int pwar_model_packet(struct pwar_model *m, uint64_t seq, const float *samples, int64_t frame, uint32_t n);

const char *pwar_model_result_str(int result);

#endif
