/* Gorilla / XOR float chunk, bit-exact with Prometheus 2.x (encoding byte 1).
 *
 * Chunk bytes: BE16 sample count, then t0 as varint, v0 as 64 raw bits, Δ1 as
 * uvarint, then per sample a bucketed delta-of-delta timestamp and an XOR-coded
 * value. Like Prometheus 2.x, a write of whole bytes that ends on a byte boundary
 * leaves a trailing zero byte, so a one-sample chunk of a 13-digit timestamp is
 * 17 bytes. Values travel as raw IEEE-754 bit patterns so NaN payloads (the
 * stale marker 0x7FF0000000000002) survive. */
#ifndef CS_XOR_H
#define CS_XOR_H

#include <stddef.h>
#include <stdint.h>
#include "cs_bstream.h"

#define CS_XOR_MAX_SAMPLES 65535u
/* Free bytes past cs_xor_len() that cs_xor_append() needs before it writes. */
#define CS_XOR_APPEND_MARGIN 32u
/* Capacity to give cs_xor_init() for a new chunk. */
#define CS_XOR_MIN_CAPACITY (2u + CS_XOR_APPEND_MARGIN)

/* Appender state, 40 bytes; the chunk bytes live in a buffer the caller owns and
 * passes to every call (it may move between calls). The buffer must be zero from
 * cs_xor_len() to its capacity: grow it by copying the old bytes into a zeroed
 * buffer. */
typedef struct cs_xor_state {
    uint64_t bitpos;    /* bits used, counting the 2 header bytes */
    int64_t  t;         /* last timestamp */
    uint64_t tdelta;    /* last timestamp delta (wrapping arithmetic) */
    uint64_t v;         /* last value bits */
    uint16_t count;
    uint8_t  leading;   /* current XOR window; 0xFF = no window yet */
    uint8_t  trailing;
    uint8_t  pad_byte;  /* 1 when the chunk carries Prometheus 2.x's trailing zero byte */
} cs_xor_state;

/* Starts an empty chunk in buf (cap >= 2). Zeroes buf[0..cap). */
int cs_xor_init(cs_xor_state *s, uint8_t *buf, size_t cap);

/* Appends one sample. The BE16 count header is NOT updated (that would touch a
 * second cache line per sample in a head holding millions of chunks): call
 * cs_xor_sync_header() before handing the bytes to anything that reads them.
 * Returns CS_OK, CS_E_NOSPACE (cap < cs_xor_len() +
 * CS_XOR_APPEND_MARGIN; nothing written), CS_E_ORDER (t <= last timestamp) or
 * CS_E_FULL (65535 samples). */
int cs_xor_append(cs_xor_state *s, uint8_t *buf, size_t cap, int64_t t, uint64_t vbits);

/* Writes the sample count into the chunk's 2-byte header. */
void cs_xor_sync_header(const cs_xor_state *s, uint8_t *buf);

/* Chunk length in bytes, header included. */
static inline size_t cs_xor_len(const cs_xor_state *s) {
    return (size_t)((s->bitpos + 7) >> 3) + s->pad_byte;
}

/* Iterator over chunk bytes. Never reads outside [buf, buf+len). */
typedef struct cs_xor_iter {
    cs_breader br;
    uint16_t total, read;
    uint8_t  leading, trailing;
    int      err;       /* sticky: once negative, next() keeps returning it */
    int64_t  t;         /* current sample, valid after next() returned 1 */
    uint64_t tdelta;
    uint64_t v;
} cs_xor_iter;

/* Returns CS_OK or CS_E_SHORT when len < 2. */
int cs_xor_iter_init(cs_xor_iter *it, const uint8_t *buf, size_t len);

/* Advances: 1 = a sample is in it->t / it->v, 0 = all samples read,
 * CS_E_SHORT (chunk ends before its sample count) or CS_E_CORRUPT. */
int cs_xor_iter_next(cs_xor_iter *it);

/* Decodes every sample into ts/vs. Returns the count, CS_E_NOSPACE when cap is
 * smaller than the header count, or a decode error. */
int64_t cs_xor_decode(const uint8_t *buf, size_t len, int64_t *ts, uint64_t *vs, size_t cap);

#endif
