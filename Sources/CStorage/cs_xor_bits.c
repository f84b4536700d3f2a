#include "cs_xor_bits.h"
#include "cs_bstream.h"
#include "cs_endian.h"
#include "cs_error.h"
#include "cs_varint.h"
#include <string.h>

/* Skips a varint written as whole bytes; returns its width in bits. */
static int cs_xor_bits_varint(cs_breader *br, uint64_t *bits) {
    uint64_t b;
    for (unsigned i = 0; i < CS_UVARINT_MAX; i++) {
        if (cs_br_get(br, 8, &b) != CS_OK) return CS_E_SHORT;
        if (b < 0x80) { *bits = 8u * (i + 1); return CS_OK; }
    }
    return CS_E_CORRUPT;
}

/* One XOR-coded value; *lead and *trail is the current window (0/0 before the
 * first '11', as the decoder assumes). */
static int cs_xor_bits_value(cs_breader *br, cs_xor_bits *acc, unsigned *lead, unsigned *trail) {
    uint64_t b, skipped;
    if (cs_br_get(br, 1, &b) != CS_OK) return CS_E_SHORT;
    if (b == 0) {
        acc->value_count[CS_XOR_VALUE_SAME]++;
        acc->value_control_bits[CS_XOR_VALUE_SAME] += 1;
        return CS_OK;
    }
    if (cs_br_get(br, 1, &b) != CS_OK) return CS_E_SHORT;
    int kind = b ? CS_XOR_VALUE_NEW : CS_XOR_VALUE_REUSE;
    unsigned control = 2;
    if (kind == CS_XOR_VALUE_NEW) {
        uint64_t h;
        if (cs_br_get(br, 11, &h) != CS_OK) return CS_E_SHORT;
        unsigned l = (unsigned)(h >> 6), sig = (unsigned)(h & 63);
        if (sig == 0) sig = 64;
        if (l + sig > 64) return CS_E_CORRUPT;
        *lead = l;
        *trail = 64 - l - sig;
        control += 11;
    }
    unsigned sig = 64 - *lead - *trail;
    if (cs_br_getn(br, sig, &skipped) != CS_OK) return CS_E_SHORT;
    acc->value_count[kind]++;
    acc->value_control_bits[kind] += control;
    acc->value_payload_bits[kind] += sig;
    return CS_OK;
}

static int cs_xor_bits_walk(cs_xor_bits *c, const uint8_t *buf, size_t len) {
    static const unsigned widths[CS_XOR_DOD_BUCKETS] = {0, 14, 17, 20, 64};
    if (len < 2) return CS_E_SHORT;
    unsigned total = cs_load_be16(buf);
    cs_breader br;
    cs_br_init(&br, buf + 2, buf + len);
    unsigned lead = 0, trail = 0;
    uint64_t bits, skipped;
    int rc;
    c->chunks = 1;
    c->samples = total;
    c->header_bits = 16;
    for (unsigned i = 0; i < total; i++) {
        if (i == 0) {
            if ((rc = cs_xor_bits_varint(&br, &bits)) != CS_OK) return rc;
            c->first_ts_bits = bits;
            if (cs_br_get64(&br, &skipped) != CS_OK) return CS_E_SHORT;
            c->first_value_bits = 64;
            continue;
        }
        if (i == 1) {
            if ((rc = cs_xor_bits_varint(&br, &bits)) != CS_OK) return rc;
            c->second_ts_bits = bits;
        } else {
            unsigned bucket = 0;
            uint64_t b;
            while (bucket < 4) {
                if (cs_br_get(&br, 1, &b) != CS_OK) return CS_E_SHORT;
                if (b == 0) break;
                bucket++;
            }
            unsigned prefix = bucket < 4 ? bucket + 1 : 4;
            if (widths[bucket] > 0 && cs_br_getn(&br, widths[bucket], &skipped) != CS_OK) return CS_E_SHORT;
            c->dod_count[bucket]++;
            c->dod_bits[bucket] += prefix + widths[bucket];
        }
        if ((rc = cs_xor_bits_value(&br, c, &lead, &trail)) != CS_OK) return rc;
    }
    c->padding_bits = (uint64_t)(len - 2) * 8 - cs_br_position(&br, buf + 2);
    return CS_OK;
}

int cs_xor_bits_add(cs_xor_bits *acc, const uint8_t *buf, size_t len) {
    cs_xor_bits c;
    memset(&c, 0, sizeof c);
    int rc = cs_xor_bits_walk(&c, buf, len);
    if (rc != CS_OK) return rc;
    acc->chunks += c.chunks;
    acc->samples += c.samples;
    acc->header_bits += c.header_bits;
    acc->first_ts_bits += c.first_ts_bits;
    acc->first_value_bits += c.first_value_bits;
    acc->second_ts_bits += c.second_ts_bits;
    for (int k = 0; k < CS_XOR_DOD_BUCKETS; k++) {
        acc->dod_count[k] += c.dod_count[k];
        acc->dod_bits[k] += c.dod_bits[k];
    }
    for (int k = 0; k < CS_XOR_VALUE_CASES; k++) {
        acc->value_count[k] += c.value_count[k];
        acc->value_control_bits[k] += c.value_control_bits[k];
        acc->value_payload_bits[k] += c.value_payload_bits[k];
    }
    acc->padding_bits += c.padding_bits;
    return CS_OK;
}
