/* LEB128 varints as Go's encoding/binary writes them.
 * uvarint: 7 bits per byte, low group first, 1..10 bytes.
 * varint:  zig-zag mapped signed value, then uvarint. */
#ifndef CS_VARINT_H
#define CS_VARINT_H

#include <stddef.h>
#include <stdint.h>
#include "cs_error.h"

#define CS_UVARINT_MAX 10

/* Writes v at p (caller guarantees CS_UVARINT_MAX bytes); returns bytes written. */
static inline size_t cs_put_uvarint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p[n++] = (uint8_t)v;
    return n;
}
static inline size_t cs_put_varint(uint8_t *p, int64_t v) {
    return cs_put_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
static inline size_t cs_uvarint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

/* Reads a uvarint from [p, end). Returns bytes consumed (>0), CS_E_SHORT when the
 * input ends inside the varint, CS_E_OVERFLOW when it exceeds 64 bits. */
static inline int cs_get_uvarint(const uint8_t *p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    unsigned shift = 0;
    for (int i = 0; i < CS_UVARINT_MAX; i++) {
        if (p + i >= end) return CS_E_SHORT;
        uint8_t b = p[i];
        if (i == CS_UVARINT_MAX - 1 && b > 1) return CS_E_OVERFLOW;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) { *out = v; return i + 1; }
        shift += 7;
    }
    return CS_E_OVERFLOW;
}
static inline int cs_get_varint(const uint8_t *p, const uint8_t *end, int64_t *out) {
    uint64_t u;
    int n = cs_get_uvarint(p, end, &u);
    if (n > 0) *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return n;
}

#endif
