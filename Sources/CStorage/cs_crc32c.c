#include "cs_crc32c.h"
#include "cs_endian.h"
#include <pthread.h>

#define CS_CRC32C_POLY 0x82F63B78u

/* Slicing-by-8 tables for the portable path. */
static uint32_t cs_crc_table[8][256];

#if defined(__x86_64__)
#include <nmmintrin.h>

/* The crc32 instruction has a latency of ~3 cycles and a throughput of one per
 * cycle, so three independent streams keep the unit busy. Each stream covers a
 * block of LONG (or SHORT) bytes; the partial CRCs are merged by "shifting" a CRC
 * over a block of zero bytes, a linear map applied with four 256-entry tables. */
#define CS_CRC_LONG 8192u
#define CS_CRC_SHORT 256u
static uint32_t cs_crc_long_shift[4][256];
static uint32_t cs_crc_short_shift[4][256];
static int cs_crc_hw;
#endif

static pthread_once_t cs_crc_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* Builds the tables of the map "append n zero bytes" on a raw (not inverted)
 * CRC state. The map is linear over GF(2), so it is fixed by its value on the
 * 32 basis vectors. */
static void cs_crc_build_shift(uint32_t table[4][256], size_t n) {
    uint32_t basis[32];
    for (unsigned i = 0; i < 32; i++) {
        uint32_t c = 1u << i;
        for (size_t k = 0; k < n; k++) c = (c >> 8) ^ cs_crc_table[0][c & 0xFF];
        basis[i] = c;
    }
    for (unsigned k = 0; k < 4; k++) {
        for (unsigned b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (unsigned j = 0; j < 8; j++)
                if (b & (1u << j)) v ^= basis[8 * k + j];
            table[k][b] = v;
        }
    }
}

static inline uint32_t cs_crc_shift(uint32_t table[4][256], uint32_t c) {
    return table[0][c & 0xFF] ^ table[1][(c >> 8) & 0xFF] ^
           table[2][(c >> 16) & 0xFF] ^ table[3][c >> 24];
}
#endif

static void cs_crc_init(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CS_CRC32C_POLY : c >> 1;
        cs_crc_table[0][b] = c;
    }
    for (unsigned t = 1; t < 8; t++)
        for (unsigned b = 0; b < 256; b++) {
            uint32_t c = cs_crc_table[t - 1][b];
            cs_crc_table[t][b] = (c >> 8) ^ cs_crc_table[0][c & 0xFF];
        }
#if defined(__x86_64__)
    __builtin_cpu_init();
    cs_crc_hw = __builtin_cpu_supports("sse4.2");
    cs_crc_build_shift(cs_crc_long_shift, CS_CRC_LONG);
    cs_crc_build_shift(cs_crc_short_shift, CS_CRC_SHORT);
#endif
}

static uint32_t cs_crc_sw_raw(uint32_t c, const uint8_t *p, size_t len) {
    while (len >= 8) {
        uint64_t w = cs_load_le64(p) ^ c;
        c = cs_crc_table[7][w & 0xFF] ^ cs_crc_table[6][(w >> 8) & 0xFF] ^
            cs_crc_table[5][(w >> 16) & 0xFF] ^ cs_crc_table[4][(w >> 24) & 0xFF] ^
            cs_crc_table[3][(w >> 32) & 0xFF] ^ cs_crc_table[2][(w >> 40) & 0xFF] ^
            cs_crc_table[1][(w >> 48) & 0xFF] ^ cs_crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) c = (c >> 8) ^ cs_crc_table[0][(c ^ *p++) & 0xFF];
    return c;
}

uint32_t cs_crc32c_sw(uint32_t crc, const void *buf, size_t len) {
    pthread_once(&cs_crc_once, cs_crc_init);
    return ~cs_crc_sw_raw(~crc, (const uint8_t *)buf, len);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t cs_crc_hw_serial(uint32_t c, const uint8_t *p, size_t len) {
    uint64_t c64 = c;
    while (len >= 8) {
        c64 = _mm_crc32_u64(c64, cs_load_le64(p));
        p += 8;
        len -= 8;
    }
    c = (uint32_t)c64;
    while (len--) c = _mm_crc32_u8(c, *p++);
    return c;
}

__attribute__((target("sse4.2")))
static const uint8_t *cs_crc_hw_triple(uint32_t *state, const uint8_t *p, size_t *len,
                                       size_t block, uint32_t shift[4][256]) {
    uint32_t c = *state;
    while (*len >= 3 * block) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        for (size_t i = 0; i < block; i += 8) {
            c0 = _mm_crc32_u64(c0, cs_load_le64(p + i));
            c1 = _mm_crc32_u64(c1, cs_load_le64(p + block + i));
            c2 = _mm_crc32_u64(c2, cs_load_le64(p + 2 * block + i));
        }
        c = cs_crc_shift(shift, (uint32_t)c0) ^ (uint32_t)c1;
        c = cs_crc_shift(shift, c) ^ (uint32_t)c2;
        p += 3 * block;
        *len -= 3 * block;
    }
    *state = c;
    return p;
}

uint32_t cs_crc32c_hw(uint32_t crc, const void *buf, size_t len) {
    pthread_once(&cs_crc_once, cs_crc_init);
    if (!cs_crc_hw) return cs_crc32c_sw(crc, buf, len);
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t c = ~crc;
    p = cs_crc_hw_triple(&c, p, &len, CS_CRC_LONG, cs_crc_long_shift);
    p = cs_crc_hw_triple(&c, p, &len, CS_CRC_SHORT, cs_crc_short_shift);
    return ~cs_crc_hw_serial(c, p, len);
}

int cs_crc32c_hw_available(void) {
    pthread_once(&cs_crc_once, cs_crc_init);
    return cs_crc_hw;
}

uint32_t cs_crc32c(uint32_t crc, const void *buf, size_t len) {
    pthread_once(&cs_crc_once, cs_crc_init);
    return cs_crc_hw ? cs_crc32c_hw(crc, buf, len) : ~cs_crc_sw_raw(~crc, (const uint8_t *)buf, len);
}
#else
uint32_t cs_crc32c_hw(uint32_t crc, const void *buf, size_t len) { return cs_crc32c_sw(crc, buf, len); }
int cs_crc32c_hw_available(void) { return 0; }
uint32_t cs_crc32c(uint32_t crc, const void *buf, size_t len) { return cs_crc32c_sw(crc, buf, len); }
#endif
