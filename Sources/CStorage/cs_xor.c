#include "cs_xor.h"
#include "cs_bstream.h"
#include "cs_endian.h"
#include "cs_error.h"
#include "cs_varint.h"
#include <string.h>

/* Every field write goes through here so the trailing-zero-byte rule of
 * Prometheus 2.x is tracked in one place: its writeByte() always appends a byte,
 * so a field of whole bytes that ends on a byte boundary leaves one more zero
 * byte; a field ending in single-bit writes does not. */
static inline void cs_xor_put(cs_xor_state *s, uint8_t *buf, uint64_t x, unsigned n) {
    cs_bw_put(buf, &s->bitpos, x, n);
    s->pad_byte = (n & 7) == 0 && (s->bitpos & 7) == 0;
}

static inline void cs_xor_put_bytes(cs_xor_state *s, uint8_t *buf, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) cs_xor_put(s, buf, b[i], 8);
}

/* D fits a w-bit payload when -(2^(w-1) - 1) <= D <= 2^(w-1). */
static inline int cs_xor_dod_fits(int64_t dod, unsigned w) {
    int64_t half = (int64_t)1 << (w - 1);
    return dod >= -(half - 1) && dod <= half;
}

static inline void cs_xor_put_value(cs_xor_state *s, uint8_t *buf, uint64_t vbits) {
    uint64_t x = vbits ^ s->v;
    if (x == 0) {
        cs_xor_put(s, buf, 0, 1);
        return;
    }
    unsigned lz = (unsigned)__builtin_clzll(x);
    unsigned tz = (unsigned)__builtin_ctzll(x);
    if (lz >= 32) lz = 31; /* the field is 5 bits wide */
    if (s->leading != 0xFF && lz >= s->leading && tz >= s->trailing) {
        cs_xor_put(s, buf, 0x2, 2);
        cs_xor_put(s, buf, x >> s->trailing, 64u - s->leading - s->trailing);
        return;
    }
    s->leading = (uint8_t)lz;
    s->trailing = (uint8_t)tz;
    unsigned sig = 64u - lz - tz;
    cs_xor_put(s, buf, 0x3, 2);
    cs_xor_put(s, buf, lz, 5);
    cs_xor_put(s, buf, sig & 63u, 6); /* 64 is written as 0 */
    cs_xor_put(s, buf, x >> tz, sig);
}

int cs_xor_init(cs_xor_state *s, uint8_t *buf, size_t cap) {
    if (cap < 2) return CS_E_NOSPACE;
    memset(buf, 0, cap);
    memset(s, 0, sizeof *s);
    s->bitpos = 16;
    s->leading = 0xFF;
    return CS_OK;
}

int cs_xor_append(cs_xor_state *s, uint8_t *buf, size_t cap, int64_t t, uint64_t vbits) {
    if (s->count == CS_XOR_MAX_SAMPLES) return CS_E_FULL;
    if (cap < cs_xor_len(s) + CS_XOR_APPEND_MARGIN) return CS_E_NOSPACE;
    if (s->count > 0 && t <= s->t) return CS_E_ORDER;

    uint8_t tmp[CS_UVARINT_MAX];
    if (s->count == 0) {
        cs_xor_put_bytes(s, buf, tmp, cs_put_varint(tmp, t));
        cs_xor_put(s, buf, vbits, 64);
    } else {
        uint64_t tdelta = (uint64_t)t - (uint64_t)s->t;
        if (s->count == 1) {
            cs_xor_put_bytes(s, buf, tmp, cs_put_uvarint(tmp, tdelta));
        } else {
            int64_t dod = (int64_t)(tdelta - s->tdelta);
            if (dod == 0) {
                cs_xor_put(s, buf, 0, 1);
            } else if (cs_xor_dod_fits(dod, 14)) {
                cs_xor_put(s, buf, 0x2, 2);
                cs_xor_put(s, buf, (uint64_t)dod, 14);
            } else if (cs_xor_dod_fits(dod, 17)) {
                cs_xor_put(s, buf, 0x6, 3);
                cs_xor_put(s, buf, (uint64_t)dod, 17);
            } else if (cs_xor_dod_fits(dod, 20)) {
                cs_xor_put(s, buf, 0xE, 4);
                cs_xor_put(s, buf, (uint64_t)dod, 20);
            } else {
                cs_xor_put(s, buf, 0xF, 4);
                cs_xor_put(s, buf, (uint64_t)dod, 64);
            }
        }
        cs_xor_put_value(s, buf, vbits);
        s->tdelta = tdelta;
    }
    s->t = t;
    s->v = vbits;
    s->count++;
    return CS_OK;
}

void cs_xor_sync_header(const cs_xor_state *s, uint8_t *buf) {
    cs_store_be16(buf, s->count);
}

int cs_xor_iter_init(cs_xor_iter *it, const uint8_t *buf, size_t len) {
    memset(it, 0, sizeof *it);
    if (len < 2) { it->err = CS_E_SHORT; return CS_E_SHORT; }
    it->total = cs_load_be16(buf);
    cs_br_init(&it->br, buf + 2, buf + len);
    return CS_OK;
}

/* Reads a Go varint byte by byte through the bit reader (it is byte aligned here). */
static inline int cs_xor_read_uvarint(cs_breader *br, uint64_t *out) {
    uint64_t v = 0, b;
    for (unsigned i = 0, shift = 0; i < CS_UVARINT_MAX; i++, shift += 7) {
        if (cs_br_get(br, 8, &b) != CS_OK) return CS_E_SHORT;
        if (i == CS_UVARINT_MAX - 1 && b > 1) return CS_E_CORRUPT;
        v |= (b & 0x7F) << shift;
        if (b < 0x80) { *out = v; return CS_OK; }
    }
    return CS_E_CORRUPT;
}

static inline int cs_xor_read_value(cs_xor_iter *it) {
    cs_breader *br = &it->br;
    uint64_t ctl, bits;
    if (br->nbits < 2) cs_br_refill(br);
    if (br->nbits < 1) return CS_E_SHORT;
    if ((br->window >> 63) == 0) { /* same value as before */
        br->window <<= 1;
        br->nbits -= 1;
        return CS_OK;
    }
    if (br->nbits < 2) return CS_E_SHORT;
    ctl = (br->window >> 62) & 1;
    br->window <<= 2;
    br->nbits -= 2;
    if (ctl == 1) {
        uint64_t lead, sig;
        if (cs_br_get(&it->br, 11, &bits) != CS_OK) return CS_E_SHORT;
        lead = bits >> 6;
        sig = bits & 63;
        if (sig == 0) sig = 64;
        if (lead + sig > 64) return CS_E_CORRUPT;
        it->leading = (uint8_t)lead;
        it->trailing = (uint8_t)(64 - lead - sig);
    }
    unsigned n = 64u - it->leading - it->trailing;
    if (cs_br_getn(&it->br, n, &bits) != CS_OK) return CS_E_SHORT;
    it->v ^= bits << it->trailing;
    return CS_OK;
}

/* The decode step, inlined into both the iterator and the bulk decoder so the
 * bulk loop keeps the reader state in registers. */
static inline __attribute__((always_inline)) int cs_xor_step(cs_xor_iter *it) {
    if (it->err) return it->err;
    if (it->read == it->total) return 0;
    int rc;
    if (it->read == 0) {
        uint64_t zz;
        if ((rc = cs_xor_read_uvarint(&it->br, &zz)) != CS_OK) goto fail;
        it->t = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        if (cs_br_get64(&it->br, &it->v) != CS_OK) { rc = CS_E_SHORT; goto fail; }
    } else if (it->read == 1) {
        if ((rc = cs_xor_read_uvarint(&it->br, &it->tdelta)) != CS_OK) goto fail;
        it->t = (int64_t)((uint64_t)it->t + it->tdelta);
        if ((rc = cs_xor_read_value(it)) != CS_OK) goto fail;
    } else {
        uint64_t b;
        /* The prefix is a run of up to four 1 bits ended by a 0: count it in one
         * step instead of four single-bit reads. */
        cs_breader *br = &it->br;
        if (br->nbits < 4) cs_br_refill(br);
        unsigned ones = (unsigned)__builtin_clzll(~br->window | 1);
        unsigned prefix = ones < 4 ? ones : 4;
        unsigned used = prefix < 4 ? prefix + 1 : 4;
        if (br->nbits < used) { rc = CS_E_SHORT; goto fail; }
        br->window <<= used;
        br->nbits -= used;
        uint64_t dod = 0;
        if (prefix == 4) {
            if (cs_br_get64(&it->br, &dod) != CS_OK) { rc = CS_E_SHORT; goto fail; }
        } else if (prefix > 0) {
            static const unsigned widths[4] = {0, 14, 17, 20};
            unsigned w = widths[prefix];
            if (cs_br_get(&it->br, w, &b) != CS_OK) { rc = CS_E_SHORT; goto fail; }
            dod = b > (1ull << (w - 1)) ? b - (1ull << w) : b;
        }
        it->tdelta += dod;
        it->t = (int64_t)((uint64_t)it->t + it->tdelta);
        if ((rc = cs_xor_read_value(it)) != CS_OK) goto fail;
    }
    it->read++;
    return 1;
fail:
    it->err = rc;
    return rc;
}

int cs_xor_iter_next(cs_xor_iter *it) {
    return cs_xor_step(it);
}

/* Bulk decoder: the same bit layout as cs_xor_step(), written as one loop over
 * local variables. Each field first tops the window up to >= 56 bits (when 8
 * input bytes remain), so the common fields need no further refill checks. */
#define CS_XOR_REFILL()                                                          \
    do {                                                                         \
        if (end - p >= 8) {                                                      \
            w |= cs_load_be64(p) >> nb;                                          \
            p += (63 - nb) >> 3;                                                 \
            nb |= 56;                                                            \
        } else {                                                                 \
            while (nb <= 56 && p < end) { w |= (uint64_t)*p++ << (56 - nb); nb += 8; } \
        }                                                                        \
    } while (0)
/* Takes n bits (1..56) into dst, refilling first if needed. */
#define CS_XOR_TAKE(dst, n)                                                      \
    do {                                                                         \
        if (nb < (n)) { CS_XOR_REFILL(); if (nb < (n)) return CS_E_SHORT; }      \
        (dst) = w >> (64 - (n)); w <<= (n); nb -= (n);                           \
    } while (0)

static int cs_xor_take_varint(const uint8_t **pp, const uint8_t *end, uint64_t *wp, unsigned *nbp,
                              uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t w = *wp, v = 0, b;
    unsigned nb = *nbp;
    for (unsigned i = 0, shift = 0;; i++, shift += 7) {
        if (i == CS_UVARINT_MAX) return CS_E_CORRUPT;
        CS_XOR_TAKE(b, 8);
        if (i == CS_UVARINT_MAX - 1 && b > 1) return CS_E_CORRUPT;
        v |= (b & 0x7F) << shift;
        if (b < 0x80) break;
    }
    *pp = p; *wp = w; *nbp = nb; *out = v;
    return CS_OK;
}

int64_t cs_xor_decode(const uint8_t *buf, size_t len, int64_t *ts, uint64_t *vs, size_t cap) {
    if (len < 2) return CS_E_SHORT;
    size_t total = cs_load_be16(buf);
    if (total > cap) return CS_E_NOSPACE;
    if (total == 0) return 0;
    const uint8_t *p = buf + 2, *end = buf + len;
    uint64_t w = 0, hi, lo, zz, tdelta = 0;
    unsigned nb = 0, lead = 0, trail = 0;
    int rc;

    if ((rc = cs_xor_take_varint(&p, end, &w, &nb, &zz)) != CS_OK) return rc;
    uint64_t t = (zz >> 1) ^ -(zz & 1);
    CS_XOR_TAKE(hi, 32);
    CS_XOR_TAKE(lo, 32);
    uint64_t v = hi << 32 | lo;
    ts[0] = (int64_t)t;
    vs[0] = v;

    for (size_t i = 1; i < total; i++) {
        if (i == 1) {
            if ((rc = cs_xor_take_varint(&p, end, &w, &nb, &tdelta)) != CS_OK) return rc;
        } else {
            if (nb < 56) CS_XOR_REFILL();
            unsigned ones = (unsigned)__builtin_clzll(~w | 1);
            if (ones == 0) {
                if (nb < 1) return CS_E_SHORT;
                w <<= 1; nb -= 1;
            } else if (ones < 4) {
                static const unsigned widths[4] = {0, 14, 17, 20};
                unsigned wd = widths[ones], used = ones + 1 + wd;
                if (nb < used) return CS_E_SHORT;
                uint64_t b = (w << (ones + 1)) >> (64 - wd);
                w <<= used; nb -= used;
                tdelta += b > (1ull << (wd - 1)) ? b - (1ull << wd) : b;
            } else {
                if (nb < 4) return CS_E_SHORT;
                w <<= 4; nb -= 4;
                CS_XOR_TAKE(hi, 32);
                CS_XOR_TAKE(lo, 32);
                tdelta += hi << 32 | lo;
            }
        }
        t += tdelta;

        if (nb < 13) CS_XOR_REFILL();
        if (nb < 1) return CS_E_SHORT;
        if (w >> 63) {
            if (nb < 2) return CS_E_SHORT;
            if ((w >> 62) & 1) {
                if (nb < 13) return CS_E_SHORT;
                unsigned h = (unsigned)((w << 2) >> 53);
                unsigned sig = h & 63;
                lead = h >> 6;
                if (sig == 0) sig = 64;
                if (lead + sig > 64) return CS_E_CORRUPT;
                trail = 64 - lead - sig;
                w <<= 13; nb -= 13;
            } else {
                w <<= 2; nb -= 2;
            }
            unsigned sig = 64 - lead - trail;
            uint64_t bits;
            if (sig > nb) CS_XOR_REFILL();
            if (sig < 64 && sig <= nb) { /* a shift by 64 would be undefined */
                bits = w >> (64 - sig); w <<= sig; nb -= sig;
            } else if (sig <= 32) {
                return CS_E_SHORT; /* the refill found no more input */
            } else {
                CS_XOR_TAKE(hi, sig - 32);
                CS_XOR_TAKE(lo, 32);
                bits = hi << 32 | lo;
            }
            v ^= bits << trail;
        } else {
            w <<= 1; nb -= 1;
        }
        ts[i] = (int64_t)t;
        vs[i] = v;
    }
    return (int64_t)total;
}
