/* MSB-first bit streams, the bit order of Prometheus's chunk encodings.
 *
 * Writer: bits are OR-ed into a caller-owned buffer with 64-bit big-endian
 * read-modify-write, so the buffer must be zero from the current bit position on
 * and have at least 8 bytes of room past the last byte a write touches.
 *
 * Reader: a left-aligned 64-bit window refilled 8 bytes at a time while at least
 * 8 bytes remain and byte by byte near the end; it never reads past `end`. */
#ifndef CS_BSTREAM_H
#define CS_BSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include "cs_endian.h"
#include "cs_error.h"

/* Writes the low n bits of x (1 <= n <= 32) at bit position *bitpos of buf. */
static inline void cs_bw_put32(uint8_t *buf, uint64_t *bitpos, uint32_t x, unsigned n) {
    uint8_t *p = buf + (*bitpos >> 3);
    unsigned off = (unsigned)(*bitpos & 7);
    uint64_t masked = n == 32 ? x : (x & ((1u << n) - 1));
    cs_store_be64(p, cs_load_be64(p) | (masked << (64 - off - n)));
    *bitpos += n;
}

/* Writes the low n bits of x (1 <= n <= 64). */
static inline void cs_bw_put(uint8_t *buf, uint64_t *bitpos, uint64_t x, unsigned n) {
    if (n > 32) {
        cs_bw_put32(buf, bitpos, (uint32_t)(x >> 32), n - 32);
        n = 32;
    }
    cs_bw_put32(buf, bitpos, (uint32_t)x, n);
}

typedef struct cs_breader {
    const uint8_t *p;    /* next byte not yet in the window */
    const uint8_t *end;
    uint64_t window;     /* next bit is the MSB */
    unsigned nbits;      /* valid bits in window */
} cs_breader;

static inline void cs_br_init(cs_breader *r, const uint8_t *p, const uint8_t *end) {
    r->p = p; r->end = end; r->window = 0; r->nbits = 0;
}

static inline void cs_br_refill(cs_breader *r) {
    if (r->end - r->p >= 8) {
        /* Bits past the counted bytes are the stream's own next bits, so OR-ing
         * them again on the next refill is harmless. */
        r->window |= cs_load_be64(r->p) >> r->nbits;
        r->p += (63 - r->nbits) >> 3;
        r->nbits |= 56;
    } else {
        while (r->nbits <= 56 && r->p < r->end) {
            r->window |= (uint64_t)*r->p++ << (56 - r->nbits);
            r->nbits += 8;
        }
    }
}

/* Reads n bits (1 <= n <= 56). Returns CS_OK or CS_E_SHORT at end of input. */
static inline int cs_br_get(cs_breader *r, unsigned n, uint64_t *out) {
    if (r->nbits < n) {
        cs_br_refill(r);
        if (r->nbits < n) return CS_E_SHORT;
    }
    *out = r->window >> (64 - n);
    r->window <<= n;
    r->nbits -= n;
    return CS_OK;
}

/* Reads n bits (1 <= n <= 64); wider than 56 bits goes in two parts. */
static inline int cs_br_getn(cs_breader *r, unsigned n, uint64_t *out) {
    if (n <= 56) return cs_br_get(r, n, out);
    uint64_t hi, lo;
    if (cs_br_get(r, n - 32, &hi) != CS_OK || cs_br_get(r, 32, &lo) != CS_OK) return CS_E_SHORT;
    *out = hi << 32 | lo;
    return CS_OK;
}

static inline int cs_br_get64(cs_breader *r, uint64_t *out) {
    return cs_br_getn(r, 64, out);
}

/* Bits consumed since `start`. */
static inline uint64_t cs_br_position(const cs_breader *r, const uint8_t *start) {
    return (uint64_t)(r->p - start) * 8 - r->nbits;
}

#endif
