/* Remote-write encoder (cs_prompb.h): one WriteRequest.timeseries field at a
 * time into a caller-owned buffer. */
#include "cs_prompb.h"

#include <string.h>

#include "cs_endian.h"
#include "cs_varint.h"
#include "cs_prompb_wire.h"

/* ---- Encoder ---------------------------------------------------------------- */

static inline int cs_pb_add(size_t *acc, size_t v) {
    if (v > SIZE_MAX - *acc) return 0;
    *acc += v;
    return 1;
}

/* Size of a length-delimited field with a one-byte key and body size n. */
static inline size_t cs_pb_field_size(size_t n) {
    return 1 + cs_uvarint_len(n) + n;
}

/* Body size of a Label message; 0 with *ok = 0 on overflow. */
static size_t cs_pb_label_body(const cs_prompb_label *l, int *ok) {
    size_t n = 0;
    if (l->name.len > 0) *ok &= cs_pb_add(&n, cs_pb_field_size(l->name.len)) && l->name.len < SIZE_MAX / 2;
    if (l->value.len > 0) *ok &= cs_pb_add(&n, cs_pb_field_size(l->value.len)) && l->value.len < SIZE_MAX / 2;
    return n;
}

static inline size_t cs_pb_sample_body(int64_t t, uint64_t v) {
    return (v != 0 ? 9 : 0) + (t != 0 ? 1 + cs_uvarint_len((uint64_t)t) : 0);
}

/* Body size of the TimeSeries; 0 with *ok = 0 on overflow. */
static size_t cs_pb_series_body(const cs_prompb_label *labels, size_t n_labels,
                                const int64_t *ts, const uint64_t *vals, size_t n_samples,
                                int *ok) {
    size_t n = 0;
    for (size_t i = 0; i < n_labels && *ok; i++) {
        size_t b = cs_pb_label_body(&labels[i], ok);
        *ok &= b < SIZE_MAX / 2 && cs_pb_add(&n, cs_pb_field_size(b));
    }
    /* A sample field takes at most 22 bytes: key, length, 9 + 11 body. */
    if (n_samples > (SIZE_MAX - n) / 22) {
        for (size_t i = 0; i < n_samples && *ok; i++)
            *ok &= cs_pb_add(&n, 2 + cs_pb_sample_body(ts[i], vals[i]));
    } else {
        for (size_t i = 0; i < n_samples; i++) n += 2 + cs_pb_sample_body(ts[i], vals[i]);
    }
    return *ok ? n : 0;
}

size_t cs_prompb_series_size(const cs_prompb_label *labels, size_t n_labels,
                             const int64_t *ts, const uint64_t *vals, size_t n_samples) {
    int ok = 1;
    size_t body = cs_pb_series_body(labels, n_labels, ts, vals, n_samples, &ok);
    if (!ok || body >= SIZE_MAX / 2) return 0;
    return cs_pb_field_size(body);
}

static inline uint8_t *cs_pb_put_bytes(uint8_t *p, uint8_t key, cs_prompb_str s) {
    *p++ = key;
    p += cs_put_uvarint(p, s.len);
    memcpy(p, s.ptr, s.len);
    return p + s.len;
}

int64_t cs_prompb_encode_series(uint8_t *dst, size_t cap,
                                const cs_prompb_label *labels, size_t n_labels,
                                const int64_t *ts, const uint64_t *vals, size_t n_samples) {
    if ((n_labels > 0 && labels == NULL) || (n_samples > 0 && (ts == NULL || vals == NULL)))
        return CS_E_ARG;
    for (size_t i = 0; i < n_labels; i++) {
        if ((labels[i].name.ptr == NULL && labels[i].name.len > 0) ||
            (labels[i].value.ptr == NULL && labels[i].value.len > 0))
            return CS_E_ARG;
    }
    int ok = 1;
    size_t body = cs_pb_series_body(labels, n_labels, ts, vals, n_samples, &ok);
    if (!ok || body >= SIZE_MAX / 2) return CS_E_ARG;
    size_t size = cs_pb_field_size(body);
    if (size > INT64_MAX) return CS_E_ARG;
    if (cap < size) return CS_E_NOSPACE;
    uint8_t *p = dst;
    *p++ = CS_PB_KEY_TIMESERIES;
    p += cs_put_uvarint(p, body);
    for (size_t i = 0; i < n_labels; i++) {
        const cs_prompb_label *l = &labels[i];
        *p++ = CS_PB_KEY_LABEL;
        p += cs_put_uvarint(p, cs_pb_label_body(l, &ok));
        if (l->name.len > 0) p = cs_pb_put_bytes(p, CS_PB_KEY_NAME, l->name);
        if (l->value.len > 0) p = cs_pb_put_bytes(p, CS_PB_KEY_VALUE, l->value);
    }
    for (size_t i = 0; i < n_samples; i++) {
        *p++ = CS_PB_KEY_SAMPLE;
        *p++ = (uint8_t)cs_pb_sample_body(ts[i], vals[i]); /* at most 20: one byte */
        if (vals[i] != 0) {
            *p++ = CS_PB_KEY_SVALUE;
            cs_store_le64(p, vals[i]);
            p += 8;
        }
        if (ts[i] != 0) {
            *p++ = CS_PB_KEY_STIME;
            p += cs_put_uvarint(p, (uint64_t)ts[i]);
        }
    }
    return (int64_t)(p - dst);
}
