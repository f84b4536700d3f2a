/* Bit accounting of XOR chunks: walks an encoded chunk field by field (it does
 * not reconstruct values) and adds how many bits each part of the Gorilla
 * encoding took, the breakdown of the Gorilla paper (the encoding is in
 * docs/format/chunks.md#xor-float-chunk-encoding-byte-1).
 *
 * For every chunk the parts add up exactly to its length in bits:
 *   8 * len = header + first_ts + first_value + second_ts
 *             + sum(dod_bits) + sum(value_control_bits) + sum(value_payload_bits)
 *             + padding
 * where padding is what follows the last field: the zero bits that fill the
 * last byte plus Prometheus 2.x's trailing zero byte when present. */
#ifndef CS_XOR_BITS_H
#define CS_XOR_BITS_H

#include <stddef.h>
#include <stdint.h>

/* Delta-of-delta buckets, in prefix order: '0' (D = 0), '10' (14-bit payload),
 * '110' (17), '1110' (20), '1111' (64). */
#define CS_XOR_DOD_BUCKETS 5
/* Value cases: X = 0 ('0'), reuse the window ('10'), new window ('11'). */
#define CS_XOR_VALUE_SAME   0
#define CS_XOR_VALUE_REUSE  1
#define CS_XOR_VALUE_NEW    2
#define CS_XOR_VALUE_CASES  3

typedef struct cs_xor_bits {
    uint64_t chunks;
    uint64_t samples;
    uint64_t header_bits;       /* BE16 sample count: 16 per chunk */
    uint64_t first_ts_bits;     /* sample 0: t0 as zig-zag varint (whole bytes) */
    uint64_t first_value_bits;  /* sample 0: 64 raw value bits */
    uint64_t second_ts_bits;    /* sample 1: t1 - t0 as uvarint (whole bytes) */
    uint64_t dod_count[CS_XOR_DOD_BUCKETS];  /* samples >= 2, by bucket */
    uint64_t dod_bits[CS_XOR_DOD_BUCKETS];   /* prefix + payload bits */
    uint64_t value_count[CS_XOR_VALUE_CASES];        /* samples >= 1, by case */
    uint64_t value_control_bits[CS_XOR_VALUE_CASES]; /* '0', '10', or '11' + 5-bit L + 6-bit S */
    uint64_t value_payload_bits[CS_XOR_VALUE_CASES]; /* the meaningful XOR bits */
    uint64_t padding_bits;
} cs_xor_bits;

/* Walks one chunk (BE16 count + bit stream, `len` bytes) and adds its parts to
 * *acc. Reads nothing outside [buf, buf+len). Returns CS_OK, CS_E_SHORT when the
 * data ends before the header's sample count, or CS_E_CORRUPT (a varint longer
 * than 10 bytes, a window wider than 64 bits); on error *acc is unchanged. */
int cs_xor_bits_add(cs_xor_bits *acc, const uint8_t *buf, size_t len);

#endif
