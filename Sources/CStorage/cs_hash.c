#include "cs_hash.h"
#include "cs_endian.h"

/* Multiply-xorshift over 8-byte words (in the style of wyhash / Murmur3's
 * finaliser): a few cycles per word, good avalanche for hash-table use. */
static inline uint64_t cs_hash_mix(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t cs_hash64(const void *data, size_t len, uint64_t seed) {
    static const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
    /* The seed goes into both factors of every multiplication. With a public
     * constant on one side, an input word equal to it zeroes the product and
     * erases the state, so inputs that start (or end) with that word collide
     * under every seed: a flood needs no knowledge of the seed. */
    const uint64_t s1 = seed ^ k1;
    const uint8_t *p = (const uint8_t *)data;
    uint64_t h = seed ^ k0 ^ ((uint64_t)len * k2);
    while (len >= 16) {
        h = cs_hash_mix(cs_load_le64(p) ^ s1, cs_load_le64(p + 8) ^ h);
        p += 16;
        len -= 16;
    }
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        a = cs_load_le64(p);
        b = len > 8 ? cs_load_le64(p + len - 8) : 0;
    } else if (len > 0) {
        for (size_t i = 0; i < len; i++) a |= (uint64_t)p[i] << (8 * i);
    }
    h = cs_hash_mix(a ^ s1, b ^ h);
    return cs_hash_mix(h ^ k2, h ^ seed ^ k0);
}
