/* WAL record codecs: series (1), float samples (2), tombstones (3).
 * Layouts in cs_wal_record.h and docs/format/wal.md. */
#include "cs_wal_record.h"

#include <string.h>

#include "cs_endian.h"
#include "cs_varint.h"

/* Converting an out-of-range uint64_t to int64_t is implementation-defined in
 * C11; this spelling is exact everywhere and compiles to nothing. */
static inline int64_t cs_wal_u2i(uint64_t v) {
    if (v <= (uint64_t)INT64_MAX) return (int64_t)v;
    return (int64_t)(v - (uint64_t)INT64_MAX - 1) + INT64_MIN;
}

static inline uint64_t cs_wal_unzigzag(uint64_t u) {
    return (u >> 1) ^ (0 - (u & 1));
}

/* Encoded length of a signed varint whose two's-complement bits are d. */
static inline size_t cs_wal_varint_len(uint64_t d) {
    return cs_uvarint_len((d << 1) ^ (0 - (d >> 63)));
}

/* Like cs_get_uvarint without the end checks: the caller guarantees
 * CS_UVARINT_MAX readable bytes. Keeps the per-sample cost of the hot loop
 * to the bytes actually used. */
static inline int cs_wal_uvarint_fast(const uint8_t *p, uint64_t *out) {
    uint64_t b = p[0];
    if (b < 0x80) {
        *out = b;
        return 1;
    }
    uint64_t v = b & 0x7f;
    for (int i = 1; i < CS_UVARINT_MAX - 1; i++) {
        b = p[i];
        v |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return i + 1;
        }
    }
    b = p[CS_UVARINT_MAX - 1];
    if (b > 1) return CS_E_OVERFLOW;
    *out = v | b << 63;
    return CS_UVARINT_MAX;
}

int cs_wal_record_type(const uint8_t *rec, size_t len) {
    if (len == 0) return CS_E_SHORT;
    return rec[0];
}

int64_t cs_wal_record_begin(uint8_t *dst, size_t cap, uint8_t type) {
    if (cap < 1) return CS_E_NOSPACE;
    dst[0] = type;
    return 1;
}

/* ---- Series ------------------------------------------------------------ */

static int cs_wal_size_add(size_t *acc, size_t v) {
    if (v > SIZE_MAX - *acc) return 0;
    *acc += v;
    return 1;
}

size_t cs_wal_series_entry_bound(const cs_wal_label *labels, size_t n) {
    size_t size = 8 + cs_uvarint_len(n);
    for (size_t i = 0; i < n; i++) {
        const cs_wal_str *s[2] = {&labels[i].name, &labels[i].value};
        for (int j = 0; j < 2; j++) {
            if (!cs_wal_size_add(&size, cs_uvarint_len(s[j]->len)) ||
                !cs_wal_size_add(&size, s[j]->len))
                return 0;
        }
    }
    return size;
}

static uint8_t *cs_wal_put_str(uint8_t *p, cs_wal_str s) {
    p += cs_put_uvarint(p, s.len);
    if (s.len > 0) memcpy(p, s.ptr, s.len);
    return p + s.len;
}

int64_t cs_wal_series_append(uint8_t *dst, size_t cap, uint64_t ref,
                             const cs_wal_label *labels, size_t n) {
    if (n > 0 && labels == NULL) return CS_E_ARG;
    for (size_t i = 0; i < n; i++) {
        if ((labels[i].name.ptr == NULL && labels[i].name.len > 0) ||
            (labels[i].value.ptr == NULL && labels[i].value.len > 0))
            return CS_E_ARG;
    }
    size_t size = cs_wal_series_entry_bound(labels, n);
    if (size == 0 || size > INT64_MAX) return CS_E_ARG;
    if (cap < size) return CS_E_NOSPACE;
    uint8_t *p = dst;
    cs_store_be64(p, ref);
    p += 8;
    p += cs_put_uvarint(p, n);
    for (size_t i = 0; i < n; i++) {
        p = cs_wal_put_str(p, labels[i].name);
        p = cs_wal_put_str(p, labels[i].value);
    }
    return (int64_t)(p - dst);
}

int cs_wal_series_iter_init(cs_wal_series_iter *it, const uint8_t *rec, size_t len) {
    if (len == 0) return CS_E_SHORT;
    if (rec[0] != CS_WAL_REC_SERIES) return CS_E_ARG;
    it->p = rec + 1;
    it->end = rec + len;
    return CS_OK;
}

/* Reads a uvarint length and the bytes it announces. */
static int cs_wal_get_str(const uint8_t **pp, const uint8_t *end, cs_wal_str *out) {
    const uint8_t *p = *pp;
    uint64_t len;
    int k = cs_get_uvarint(p, end, &len);
    if (k < 0) return k;
    p += k;
    if (len > (uint64_t)(end - p)) return CS_E_SHORT;
    out->ptr = p;
    out->len = (size_t)len;
    *pp = p + len;
    return CS_OK;
}

int cs_wal_series_next(cs_wal_series_iter *it, uint64_t *ref,
                       cs_wal_label *labels, size_t cap, size_t *n) {
    const uint8_t *p = it->p;
    const uint8_t *end = it->end;
    if (p == end) return 0;
    if (end - p < 8) return CS_E_SHORT;
    uint64_t r = cs_load_be64(p);
    p += 8;
    uint64_t count;
    int k = cs_get_uvarint(p, end, &count);
    if (k < 0) return k;
    p += k;
    /* Every label takes at least its two length bytes; checking this first
     * keeps a corrupt count from making the caller grow `labels` absurdly. */
    if (count > (uint64_t)(end - p) / 2) return CS_E_SHORT;
    if (count > cap) {
        *n = (size_t)count;
        return CS_E_NOSPACE;
    }
    for (size_t i = 0; i < count; i++) {
        int e = cs_wal_get_str(&p, end, &labels[i].name);
        if (e < 0) return e;
        e = cs_wal_get_str(&p, end, &labels[i].value);
        if (e < 0) return e;
    }
    *ref = r;
    *n = (size_t)count;
    it->p = p;
    return 1;
}

/* ---- Samples ----------------------------------------------------------- */

#define CS_WAL_SAMPLES_FIXED (1 + CS_WAL_SAMPLES_HEADER_SIZE)

size_t cs_wal_samples_bound(size_t n) {
    if (n > (SIZE_MAX - CS_WAL_SAMPLES_FIXED) / CS_WAL_SAMPLE_MAX_SIZE) return 0;
    return CS_WAL_SAMPLES_FIXED + n * CS_WAL_SAMPLE_MAX_SIZE;
}

int64_t cs_wal_samples_encode(uint8_t *dst, size_t cap, const uint64_t *refs,
                              const int64_t *ts, const uint64_t *vals, size_t n) {
    if (n == 0) return cs_wal_record_begin(dst, cap, CS_WAL_REC_SAMPLES);
    const uint64_t bref = refs[0];
    const uint64_t bt = (uint64_t)ts[0];
    size_t bound = cs_wal_samples_bound(n);
    if (bound == 0 || cap < bound) {
        /* Only an undersized buffer pays for the exact size. */
        size_t size = CS_WAL_SAMPLES_FIXED;
        if (cap < size) return CS_E_NOSPACE;
        for (size_t i = 0; i < n; i++) {
            size_t s = 8 + cs_wal_varint_len(refs[i] - bref) +
                       cs_wal_varint_len((uint64_t)ts[i] - bt);
            if (s > cap - size) return CS_E_NOSPACE;
            size += s;
        }
    }
    uint8_t *p = dst;
    *p++ = CS_WAL_REC_SAMPLES;
    cs_store_be64(p, bref);
    cs_store_be64(p + 8, bt);
    p += 16;
    for (size_t i = 0; i < n; i++) {
        p += cs_put_varint(p, cs_wal_u2i(refs[i] - bref));
        p += cs_put_varint(p, cs_wal_u2i((uint64_t)ts[i] - bt));
        cs_store_be64(p, vals[i]);
        p += 8;
    }
    return (int64_t)(p - dst);
}

size_t cs_wal_samples_count_max(size_t len) {
    if (len <= CS_WAL_SAMPLES_FIXED) return 0;
    return (len - CS_WAL_SAMPLES_FIXED) / CS_WAL_SAMPLE_MIN_SIZE;
}

/* Counts and validates the samples of a body without storing them. */
static int64_t cs_wal_samples_count(const uint8_t *p, const uint8_t *end) {
    int64_t count = 0;
    while (p < end) {
        uint64_t v;
        int k = cs_get_uvarint(p, end, &v);
        if (k < 0) return k;
        p += k;
        k = cs_get_uvarint(p, end, &v);
        if (k < 0) return k;
        p += k;
        if (end - p < 8) return CS_E_SHORT;
        p += 8;
        count++;
    }
    return count;
}

int64_t cs_wal_samples_decode(const uint8_t *rec, size_t len, uint64_t *refs,
                              int64_t *ts, uint64_t *vals, size_t cap) {
    if (len == 0) return CS_E_SHORT;
    if (rec[0] != CS_WAL_REC_SAMPLES) return CS_E_ARG;
    if (len == 1) return 0;
    if (len < CS_WAL_SAMPLES_FIXED) return CS_E_SHORT;
    const uint8_t *p = rec + CS_WAL_SAMPLES_FIXED;
    const uint8_t *end = rec + len;
    if (cap < cs_wal_samples_count_max(len)) {
        int64_t c = cs_wal_samples_count(p, end);
        if (c < 0) return c;
        if ((uint64_t)c > cap) return CS_E_NOSPACE;
    }
    const uint64_t bref = cs_load_be64(rec + 1);
    const uint64_t bt = cs_load_be64(rec + 9);
    size_t i = 0;

    /* While a maximal sample still fits, no read needs an end check. */
    while ((size_t)(end - p) >= CS_WAL_SAMPLE_MAX_SIZE) {
        uint64_t dref, dt;
        int k = cs_wal_uvarint_fast(p, &dref);
        if (k < 0) return k;
        p += k;
        k = cs_wal_uvarint_fast(p, &dt);
        if (k < 0) return k;
        p += k;
        refs[i] = bref + cs_wal_unzigzag(dref);
        ts[i] = cs_wal_u2i(bt + cs_wal_unzigzag(dt));
        vals[i] = cs_load_be64(p);
        p += 8;
        i++;
    }
    while (p < end) {
        uint64_t dref, dt;
        int k = cs_get_uvarint(p, end, &dref);
        if (k < 0) return k;
        p += k;
        k = cs_get_uvarint(p, end, &dt);
        if (k < 0) return k;
        p += k;
        if (end - p < 8) return CS_E_SHORT;
        refs[i] = bref + cs_wal_unzigzag(dref);
        ts[i] = cs_wal_u2i(bt + cs_wal_unzigzag(dt));
        vals[i] = cs_load_be64(p);
        p += 8;
        i++;
    }
    return (int64_t)i;
}

/* ---- Tombstones -------------------------------------------------------- */

size_t cs_wal_tombstones_bound(size_t n) {
    if (n > (SIZE_MAX - 1) / CS_WAL_TOMBSTONE_MAX_SIZE) return 0;
    return 1 + n * CS_WAL_TOMBSTONE_MAX_SIZE;
}

int64_t cs_wal_tombstones_encode(uint8_t *dst, size_t cap,
                                 const cs_wal_tombstone *stones, size_t n) {
    size_t bound = cs_wal_tombstones_bound(n);
    if (bound == 0 || cap < bound) {
        size_t size = 1;
        if (cap < size) return CS_E_NOSPACE;
        for (size_t i = 0; i < n; i++) {
            size_t s = 8 + cs_wal_varint_len((uint64_t)stones[i].mint) +
                       cs_wal_varint_len((uint64_t)stones[i].maxt);
            if (s > cap - size) return CS_E_NOSPACE;
            size += s;
        }
    }
    uint8_t *p = dst;
    *p++ = CS_WAL_REC_TOMBSTONES;
    for (size_t i = 0; i < n; i++) {
        cs_store_be64(p, stones[i].ref);
        p += 8;
        p += cs_put_varint(p, stones[i].mint);
        p += cs_put_varint(p, stones[i].maxt);
    }
    return (int64_t)(p - dst);
}

size_t cs_wal_tombstones_count_max(size_t len) {
    if (len <= 1) return 0;
    return (len - 1) / CS_WAL_TOMBSTONE_MIN_SIZE;
}

/* Decodes one tombstone at *pp, checking every read against end. */
static int cs_wal_tombstone_get(const uint8_t **pp, const uint8_t *end, cs_wal_tombstone *out) {
    const uint8_t *p = *pp;
    if (end - p < 8) return CS_E_SHORT;
    out->ref = cs_load_be64(p);
    p += 8;
    int k = cs_get_varint(p, end, &out->mint);
    if (k < 0) return k;
    p += k;
    k = cs_get_varint(p, end, &out->maxt);
    if (k < 0) return k;
    *pp = p + k;
    return CS_OK;
}

int64_t cs_wal_tombstones_decode(const uint8_t *rec, size_t len,
                                 cs_wal_tombstone *out, size_t cap) {
    if (len == 0) return CS_E_SHORT;
    if (rec[0] != CS_WAL_REC_TOMBSTONES) return CS_E_ARG;
    const uint8_t *p = rec + 1;
    const uint8_t *end = rec + len;
    if (cap < cs_wal_tombstones_count_max(len)) {
        /* Tombstone records are rare and short: count into a scratch entry. */
        size_t count = 0;
        for (const uint8_t *q = p; q < end; count++) {
            cs_wal_tombstone t;
            int e = cs_wal_tombstone_get(&q, end, &t);
            if (e < 0) return e;
        }
        if (count > cap) return CS_E_NOSPACE;
    }
    size_t i = 0;
    while (p < end) {
        int e = cs_wal_tombstone_get(&p, end, &out[i]);
        if (e < 0) return e;
        i++;
    }
    return (int64_t)i;
}
