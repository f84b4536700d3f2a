/* A head series' open XOR chunk and Prometheus 2.42's rule for cutting it
 * (docs/format/chunks.md#cutting-chunks): about 120 samples per chunk, the end
 * re-estimated at the 30th sample, never across an aligned chunk-range
 * boundary, at most 240.
 *
 * The chunk buffer belongs to the caller: cs_head_append() never allocates. It
 * answers CS_HEAD_CUT when a new chunk must start (the caller keeps the old
 * bytes as a closed chunk and passes a fresh zeroed buffer to
 * cs_head_chunk_start()) and CS_HEAD_GROW when the buffer is full (the caller
 * copies it into a larger zeroed one, updates buf/cap and calls again). */
#ifndef CS_HEAD_CHUNK_H
#define CS_HEAD_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include "cs_error.h"
#include "cs_xor.h"

#define CS_HEAD_SAMPLES_PER_CHUNK 120

/* cs_head_append() outcomes (>= 0); errors are negative CS_E_* codes. */
#define CS_HEAD_APPENDED  0  /* sample is in the chunk */
#define CS_HEAD_CUT       1  /* start a new chunk, then call again */
#define CS_HEAD_GROW      2  /* enlarge the buffer, then call again */
#define CS_HEAD_DUPLICATE 3  /* same timestamp and same value as the last sample: nothing to do */

typedef struct cs_head_chunk {
    cs_xor_state xor;
    uint8_t *buf;      /* NULL: no open chunk */
    uint32_t cap;
    int64_t min_time;  /* first sample of the open chunk */
    int64_t next_at;   /* cut when a sample reaches this time */
} cs_head_chunk;

/* Starts an open chunk at time t in buf (zeroed by this call). */
int cs_head_chunk_start(cs_head_chunk *c, uint8_t *buf, size_t cap, int64_t t, int64_t chunk_range);

/* Applies the cut rule (the range boundary was fixed by cs_head_chunk_start()),
 * then appends. CS_E_ORDER when t is before the chunk's last sample;
 * CS_E_DUPLICATE for the same timestamp with another value. */
int cs_head_append(cs_head_chunk *c, int64_t t, uint64_t vbits);

/* Prometheus's computeChunkEndTime(): spreads the remaining range evenly over
 * chunks of ~120 samples given the rate seen so far. */
int64_t cs_head_chunk_end_time(int64_t start, int64_t cur, int64_t max);

#endif
