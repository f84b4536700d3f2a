/* Explicit byte-order loads and stores. Never cast pointers to wider types:
 * these compile to single moves (+ bswap) on every target we build for. */
#ifndef CS_ENDIAN_H
#define CS_ENDIAN_H

#include <stdint.h>
#include <string.h>

static inline uint16_t cs_load_be16(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t cs_load_be32(const uint8_t *p) {
    uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v);
}
static inline uint64_t cs_load_be64(const uint8_t *p) {
    uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v);
}
static inline uint64_t cs_load_le64(const uint8_t *p) {
    uint64_t v; memcpy(&v, p, 8); return v;
}
static inline void cs_store_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v;
}
static inline void cs_store_be32(uint8_t *p, uint32_t v) {
    v = __builtin_bswap32(v); memcpy(p, &v, 4);
}
static inline void cs_store_be64(uint8_t *p, uint64_t v) {
    v = __builtin_bswap64(v); memcpy(p, &v, 8);
}
static inline void cs_store_le64(uint8_t *p, uint64_t v) {
    memcpy(p, &v, 8);
}

#endif
