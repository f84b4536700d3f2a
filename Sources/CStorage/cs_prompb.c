/* Remote write 1.0 WriteRequest decoder. Messages and rules in cs_prompb.h;
 * label checks in cs_prompb_labels.c, the encoder in cs_prompb_encode.c. */
#include "cs_prompb.h"

#include <string.h>

#include "cs_endian.h"
#include "cs_varint.h"
#include "cs_prompb_wire.h"

#define CS_PB_LIKELY(x) __builtin_expect(!!(x), 1)

/* Decoding context: the whole buffer (to tell truncation from corruption)
 * and where the first error happened. */
typedef struct cs_pb {
    const uint8_t *base;
    const uint8_t *bend;
    const uint8_t *err_at;
    const char *err_what;
} cs_pb;

static int cs_pb_fail(cs_pb *c, const uint8_t *at, int code, const char *what) {
    c->err_at = at;
    c->err_what = what;
    return code;
}

/* An element at `at` needs bytes up to `need`, beyond its limit: truncation
 * if the buffer itself ends first, else a length crossing its parent's end. */
static int cs_pb_overrun(cs_pb *c, const uint8_t *at, uint64_t need_from_p,
                         const uint8_t *p, const char *what) {
    int code = need_from_p > (uint64_t)(c->bend - p) ? CS_E_SHORT : CS_E_CORRUPT;
    return cs_pb_fail(c, at, code, what);
}

/* int64 on the wire is the two's-complement bit pattern as a uvarint. The
 * conversion of values above INT64_MAX is implementation-defined in C11; this
 * spelling is exact everywhere and compiles to nothing. */
static inline int64_t cs_pb_u2i(uint64_t v) {
    if (v <= (uint64_t)INT64_MAX) return (int64_t)v;
    return (int64_t)(v - (uint64_t)INT64_MAX - 1) + INT64_MIN;
}

/* Without bounds checks: the caller guarantees CS_UVARINT_MAX readable bytes.
 * Returns bytes consumed or CS_E_OVERFLOW. */
static inline int cs_pb_uvarint_unchecked(const uint8_t *p, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < CS_UVARINT_MAX - 1; i++) {
        uint64_t b = p[i];
        v |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return i + 1;
        }
    }
    uint64_t b = p[CS_UVARINT_MAX - 1];
    if (b > 1) return CS_E_OVERFLOW;
    *out = v | b << 63;
    return CS_UVARINT_MAX;
}

static int cs_pb_uvarint_slow(cs_pb *c, const uint8_t **pp, const uint8_t *lim,
                              uint64_t *out, const char *what) {
    const uint8_t *p = *pp;
    uint64_t v;
    int k;
    if (lim - p >= CS_UVARINT_MAX) {
        k = cs_pb_uvarint_unchecked(p, &v);
    } else {
        k = cs_get_uvarint(p, lim, &v);
    }
    if (k == CS_E_OVERFLOW) return cs_pb_fail(c, p, CS_E_OVERFLOW, what);
    /* Runs past lim: truncation when lim is the end of the input. */
    if (k < 0) return cs_pb_fail(c, p, lim == c->bend ? CS_E_SHORT : CS_E_CORRUPT, what);
    *out = v;
    *pp = p + k;
    return CS_OK;
}

/* Reads a uvarint at *pp that must end by lim. */
static inline int cs_pb_uvarint(cs_pb *c, const uint8_t **pp, const uint8_t *lim,
                                uint64_t *out, const char *what) {
    const uint8_t *p = *pp;
    if (CS_PB_LIKELY(p < lim && *p < 0x80)) {
        *out = *p;
        *pp = p + 1;
        return CS_OK;
    }
    if (p >= lim) return cs_pb_overrun(c, p, 1, p, what);
    return cs_pb_uvarint_slow(c, pp, lim, out, what);
}

/* Reads a length prefix at *pp and returns the end of the bytes it covers,
 * which must lie within lim. */
static inline int cs_pb_len(cs_pb *c, const uint8_t **pp, const uint8_t *lim,
                            const uint8_t **sub_end, const char *what) {
    const uint8_t *at = *pp;
    uint64_t len;
    int e = cs_pb_uvarint(c, pp, lim, &len, what);
    if (e < 0) return e;
    const uint8_t *p = *pp;
    if (len > (uint64_t)(lim - p)) return cs_pb_overrun(c, at, len, p, what);
    *sub_end = p + len;
    return CS_OK;
}

/* Reads a field key. Field 0, keys beyond 32 bits and wire types that do not
 * exist (6, 7) or are groups (3, 4) are errors. */
static inline int cs_pb_key(cs_pb *c, const uint8_t **pp, const uint8_t *lim,
                            uint64_t *key) {
    const uint8_t *at = *pp;
    int e = cs_pb_uvarint(c, pp, lim, key, "field key");
    if (e < 0) return e;
    if (*key > UINT32_MAX) return cs_pb_fail(c, at, CS_E_OVERFLOW, "field key above 32 bits");
    if ((*key >> 3) == 0) return cs_pb_fail(c, at, CS_E_CORRUPT, "field number 0");
    switch (*key & 7) {
    case CS_PB_VARINT:
    case CS_PB_FIXED64:
    case CS_PB_BYTES:
    case CS_PB_FIXED32:
        return CS_OK;
    case CS_PB_GROUP_START:
    case CS_PB_GROUP_END:
        return cs_pb_fail(c, at, CS_E_CORRUPT, "group wire type (3 or 4)");
    default:
        return cs_pb_fail(c, at, CS_E_CORRUPT, "invalid wire type (6 or 7)");
    }
}

/* Skips the value of a field with wire type wt (key already read). */
static int cs_pb_skip(cs_pb *c, const uint8_t **pp, const uint8_t *lim, unsigned wt,
                      const char *what) {
    const uint8_t *p = *pp;
    uint64_t v;
    const uint8_t *sub_end;
    int e;
    switch (wt) {
    case CS_PB_VARINT:
        return cs_pb_uvarint(c, pp, lim, &v, what);
    case CS_PB_FIXED64:
        if (lim - p < 8) return cs_pb_overrun(c, p, 8, p, what);
        *pp = p + 8;
        return CS_OK;
    case CS_PB_FIXED32:
        if (lim - p < 4) return cs_pb_overrun(c, p, 4, p, what);
        *pp = p + 4;
        return CS_OK;
    case CS_PB_BYTES:
        e = cs_pb_len(c, pp, lim, &sub_end, what);
        if (e < 0) return e;
        *pp = sub_end;
        return CS_OK;
    default:
        return cs_pb_fail(c, p, CS_E_CORRUPT, "invalid wire type");
    }
}

/* ---- Validation of the messages that are counted, not returned ------------ */

typedef enum cs_pb_msg {
    CS_PB_MSG_LABEL,
    CS_PB_MSG_EXEMPLAR,
    CS_PB_MSG_HISTOGRAM,
    CS_PB_MSG_SPAN,
    CS_PB_MSG_METADATA,
} cs_pb_msg;

/* What a known field holds; unknown fields are skipped whatever their type. */
typedef enum cs_pb_rule {
    CS_PB_R_UNKNOWN,
    CS_PB_R_VARINT,
    CS_PB_R_FIXED64,
    CS_PB_R_BYTES,
    CS_PB_R_LABEL,          /* a Label message */
    CS_PB_R_SPAN,           /* a BucketSpan message */
    CS_PB_R_PACKED_VARINT,  /* repeated varint: packed (bytes) or one per field */
    CS_PB_R_PACKED_FIXED64, /* repeated double: packed (bytes) or one per field */
} cs_pb_rule;

static cs_pb_rule cs_pb_rule_of(cs_pb_msg msg, uint64_t field) {
    switch (msg) {
    case CS_PB_MSG_LABEL:
        return field == 1 || field == 2 ? CS_PB_R_BYTES : CS_PB_R_UNKNOWN;
    case CS_PB_MSG_EXEMPLAR:
        switch (field) {
        case 1: return CS_PB_R_LABEL;
        case 2: return CS_PB_R_FIXED64;
        case 3: return CS_PB_R_VARINT;
        default: return CS_PB_R_UNKNOWN;
        }
    case CS_PB_MSG_HISTOGRAM:
        switch (field) {
        case 1: case 4: case 6: case 14: case 15: return CS_PB_R_VARINT;
        case 2: case 3: case 5: case 7: return CS_PB_R_FIXED64;
        case 8: case 11: return CS_PB_R_SPAN;
        case 9: case 12: return CS_PB_R_PACKED_VARINT;
        case 10: case 13: case 16: return CS_PB_R_PACKED_FIXED64;
        default: return CS_PB_R_UNKNOWN;
        }
    case CS_PB_MSG_SPAN:
        return field == 1 || field == 2 ? CS_PB_R_VARINT : CS_PB_R_UNKNOWN;
    case CS_PB_MSG_METADATA:
        switch (field) {
        case 1: return CS_PB_R_VARINT;
        case 2: case 4: case 5: return CS_PB_R_BYTES;
        default: return CS_PB_R_UNKNOWN;
        }
    }
    return CS_PB_R_UNKNOWN;
}

static const char *cs_pb_msg_name(cs_pb_msg msg) {
    switch (msg) {
    case CS_PB_MSG_LABEL: return "Label";
    case CS_PB_MSG_EXEMPLAR: return "Exemplar";
    case CS_PB_MSG_HISTOGRAM: return "Histogram";
    case CS_PB_MSG_SPAN: return "BucketSpan";
    case CS_PB_MSG_METADATA: return "MetricMetadata";
    }
    return "message";
}

/* Checks the framing of msg in [p, end): every field well-formed, known
 * fields with their schema's wire type, nested messages recursively (depth
 * is bounded by the schema: Exemplar > Label, Histogram > BucketSpan). */
static int cs_pb_validate(cs_pb *c, const uint8_t *p, const uint8_t *end, cs_pb_msg msg) {
    const char *what = cs_pb_msg_name(msg);
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key;
        int e = cs_pb_key(c, &p, end, &key);
        if (e < 0) return e;
        unsigned wt = (unsigned)(key & 7);
        cs_pb_rule rule = cs_pb_rule_of(msg, key >> 3);
        unsigned want;
        switch (rule) {
        case CS_PB_R_UNKNOWN: want = wt; break;
        case CS_PB_R_VARINT: want = CS_PB_VARINT; break;
        case CS_PB_R_FIXED64: want = CS_PB_FIXED64; break;
        case CS_PB_R_PACKED_VARINT: want = wt == CS_PB_VARINT ? wt : CS_PB_BYTES; break;
        case CS_PB_R_PACKED_FIXED64: want = wt == CS_PB_FIXED64 ? wt : CS_PB_BYTES; break;
        default: want = CS_PB_BYTES; break;
        }
        if (wt != want) return cs_pb_fail(c, at, CS_E_CORRUPT, "wrong wire type for a known field");
        if (wt != CS_PB_BYTES || rule == CS_PB_R_UNKNOWN || rule == CS_PB_R_BYTES) {
            e = cs_pb_skip(c, &p, end, wt, what);
            if (e < 0) return e;
            continue;
        }
        const uint8_t *sub_end;
        e = cs_pb_len(c, &p, end, &sub_end, what);
        if (e < 0) return e;
        switch (rule) {
        case CS_PB_R_LABEL:
            e = cs_pb_validate(c, p, sub_end, CS_PB_MSG_LABEL);
            break;
        case CS_PB_R_SPAN:
            e = cs_pb_validate(c, p, sub_end, CS_PB_MSG_SPAN);
            break;
        case CS_PB_R_PACKED_VARINT:
            for (const uint8_t *q = p; q < sub_end && e == CS_OK;) {
                uint64_t v;
                e = cs_pb_uvarint(c, &q, sub_end, &v, "packed varint");
            }
            break;
        case CS_PB_R_PACKED_FIXED64:
            if ((sub_end - p) % 8 != 0)
                e = cs_pb_fail(c, at, CS_E_CORRUPT, "packed doubles not a multiple of 8 bytes");
            break;
        default:
            break;
        }
        if (e < 0) return e;
        p = sub_end;
    }
    return CS_OK;
}

/* ---- TimeSeries ----------------------------------------------------------- */

/* Label in [p, end), field by field; the last occurrence of a repeated field
 * wins. */
static __attribute__((noinline)) int cs_pb_label_slow(cs_pb *c, const uint8_t *p,
                                                      const uint8_t *end,
                                                      cs_prompb_label *out) {
    out->name.ptr = p;
    out->name.len = 0;
    out->value.ptr = p;
    out->value.len = 0;
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key;
        int e = cs_pb_key(c, &p, end, &key);
        if (e < 0) return e;
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 1 || field == 2) {
            if (wt != CS_PB_BYTES) return cs_pb_fail(c, at, CS_E_CORRUPT, "wrong wire type for a known field");
            const uint8_t *s_end;
            e = cs_pb_len(c, &p, end, &s_end, field == 1 ? "label name" : "label value");
            if (e < 0) return e;
            cs_prompb_str *s = field == 1 ? &out->name : &out->value;
            s->ptr = p;
            s->len = (size_t)(s_end - p);
            p = s_end;
        } else {
            e = cs_pb_skip(c, &p, end, wt, "Label");
            if (e < 0) return e;
        }
    }
    return CS_OK;
}

/* Label in [p, end). Fast path: name then value, one-byte keys and lengths,
 * the layout every encoder writes. */
static inline int cs_pb_label(cs_pb *c, const uint8_t *p, const uint8_t *end,
                              cs_prompb_label *out) {
    if (CS_PB_LIKELY(end - p >= 4 && p[0] == CS_PB_KEY_NAME && p[1] < 0x80 &&
                     p[1] <= end - p - 4)) {
        const uint8_t *v = p + 2 + p[1];
        if (CS_PB_LIKELY(v[0] == CS_PB_KEY_VALUE && v[1] < 0x80 && v[1] == end - v - 2)) {
            out->name.ptr = p + 2;
            out->name.len = p[1];
            out->value.ptr = v + 2;
            out->value.len = v[1];
            return CS_OK;
        }
    }
    return cs_pb_label_slow(c, p, end, out);
}

/* Sample in [p, end), field by field. */
static __attribute__((noinline)) int cs_pb_sample_slow(cs_pb *c, const uint8_t *p,
                                                       const uint8_t *end,
                                                       int64_t *ts, uint64_t *val) {
    uint64_t v = 0, t = 0;
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key;
        int e = cs_pb_key(c, &p, end, &key);
        if (e < 0) return e;
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 1) {
            if (wt != CS_PB_FIXED64) return cs_pb_fail(c, at, CS_E_CORRUPT, "wrong wire type for a known field");
            if (end - p < 8) return cs_pb_overrun(c, p, 8, p, "sample value");
            v = cs_load_le64(p);
            p += 8;
        } else if (field == 2) {
            if (wt != CS_PB_VARINT) return cs_pb_fail(c, at, CS_E_CORRUPT, "wrong wire type for a known field");
            e = cs_pb_uvarint(c, &p, end, &t, "sample timestamp");
            if (e < 0) return e;
        } else {
            e = cs_pb_skip(c, &p, end, wt, "Sample");
            if (e < 0) return e;
        }
    }
    *val = v;
    *ts = cs_pb_u2i(t);
    return CS_OK;
}

/* Sample in [p, end). Fast path: value then timestamp, as encoders write it
 * when neither is zero; the varint may be read past end (not past the
 * buffer) and is then checked to end exactly at end. */
static inline int cs_pb_sample(cs_pb *c, const uint8_t *p, const uint8_t *end,
                               int64_t *ts, uint64_t *val) {
    if (CS_PB_LIKELY(end - p >= 11 && p[0] == CS_PB_KEY_SVALUE && p[9] == CS_PB_KEY_STIME &&
                     c->bend - p >= 10 + CS_UVARINT_MAX)) {
        uint64_t t;
        int k = cs_pb_uvarint_unchecked(p + 10, &t);
        if (CS_PB_LIKELY(k > 0 && k == end - p - 10)) {
            *val = cs_load_le64(p + 1);
            *ts = cs_pb_u2i(t);
            return CS_OK;
        }
    }
    return cs_pb_sample_slow(c, p, end, ts, val);
}

/* Reads a one-byte-or-more length prefix on the hot path. */
static inline int cs_pb_len_fast(cs_pb *c, const uint8_t **pp, const uint8_t *lim,
                                 const uint8_t **sub_end, const char *what) {
    const uint8_t *p = *pp;
    if (CS_PB_LIKELY(p < lim && *p < 0x80 && *p < lim - p)) {
        *sub_end = p + 1 + *p;
        *pp = p + 1;
        return CS_OK;
    }
    return cs_pb_len(c, pp, lim, sub_end, what);
}

/* TimeSeries in [p, end). Writes what fits, counts everything. */
static int cs_pb_series(cs_pb *c, const uint8_t *p, const uint8_t *end, cs_prompb_series *s,
                        cs_prompb_label *labels, size_t label_cap,
                        int64_t *ts, uint64_t *vals, size_t sample_cap) {
    size_t nl = 0, ns = 0, nex = 0, nh = 0;
    cs_prompb_label scratch_label;
    int64_t scratch_t;
    uint64_t scratch_v;
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key;
        int e;
        if (CS_PB_LIKELY(*p < 0x80)) {
            key = *p++;
        } else {
            e = cs_pb_key(c, &p, end, &key);
            if (e < 0) return e;
        }
        const uint8_t *sub_end;
        switch (key) {
        case CS_PB_KEY_LABEL:
            e = cs_pb_len_fast(c, &p, end, &sub_end, "TimeSeries.labels");
            if (e < 0) return e;
            e = cs_pb_label(c, p, sub_end, nl < label_cap ? &labels[nl] : &scratch_label);
            if (e < 0) return e;
            nl++;
            break;
        case CS_PB_KEY_SAMPLE:
            e = cs_pb_len_fast(c, &p, end, &sub_end, "TimeSeries.samples");
            if (e < 0) return e;
            if (ns < sample_cap)
                e = cs_pb_sample(c, p, sub_end, &ts[ns], &vals[ns]);
            else
                e = cs_pb_sample(c, p, sub_end, &scratch_t, &scratch_v);
            if (e < 0) return e;
            ns++;
            break;
        case CS_PB_KEY_EXEMPLAR:
        case CS_PB_KEY_HISTOGRAM:
            e = cs_pb_len(c, &p, end, &sub_end, key == CS_PB_KEY_EXEMPLAR ? "TimeSeries.exemplars" : "TimeSeries.histograms");
            if (e < 0) return e;
            e = cs_pb_validate(c, p, sub_end, key == CS_PB_KEY_EXEMPLAR ? CS_PB_MSG_EXEMPLAR : CS_PB_MSG_HISTOGRAM);
            if (e < 0) return e;
            if (key == CS_PB_KEY_EXEMPLAR) nex++; else nh++;
            break;
        default: {
            const uint8_t *q = at; /* full key checks for the rare keys */
            e = cs_pb_key(c, &q, end, &key);
            if (e < 0) return e;
            if ((key >> 3) >= 1 && (key >> 3) <= 4)
                return cs_pb_fail(c, at, CS_E_CORRUPT, "wrong wire type for a known field");
            e = cs_pb_skip(c, &p, end, (unsigned)(key & 7), "TimeSeries");
            if (e < 0) return e;
            continue;
        }
        }
        p = sub_end;
    }
    s->n_labels = nl;
    s->n_samples = ns;
    s->n_exemplars = nex;
    s->n_histograms = nh;
    return nl > label_cap || ns > sample_cap ? CS_E_NOSPACE : CS_OK;
}

void cs_prompb_iter_init(cs_prompb_iter *it, const uint8_t *buf, size_t len) {
    static const uint8_t empty[1];
    if (buf == NULL) buf = empty;
    it->base = buf;
    it->p = buf;
    it->end = buf + len;
    it->n_metadata = 0;
    it->err = CS_OK;
    it->err_offset = 0;
    it->err_what = NULL;
}

int cs_prompb_next(cs_prompb_iter *it, cs_prompb_series *s,
                   cs_prompb_label *labels, size_t label_cap,
                   int64_t *ts, uint64_t *vals, size_t sample_cap) {
    if (it->err < 0) return it->err;
    cs_pb c = {it->base, it->end, NULL, NULL};
    const uint8_t *p = it->p;
    const uint8_t *end = it->end;
    int e = CS_OK;
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key;
        const uint8_t *sub_end;
        e = cs_pb_key(&c, &p, end, &key);
        if (e < 0) break;
        if (key == CS_PB_KEY_TIMESERIES) {
            e = cs_pb_len(&c, &p, end, &sub_end, "WriteRequest.timeseries");
            if (e < 0) break;
            s->offset = (size_t)(at - it->base);
            e = cs_pb_series(&c, p, sub_end, s, labels, label_cap, ts, vals, sample_cap);
            if (e == CS_E_NOSPACE) return e;
            if (e < 0) break;
            it->p = sub_end;
            return 1;
        }
        if (key == CS_PB_KEY_METADATA) {
            e = cs_pb_len(&c, &p, end, &sub_end, "WriteRequest.metadata");
            if (e < 0) break;
            e = cs_pb_validate(&c, p, sub_end, CS_PB_MSG_METADATA);
            if (e < 0) break;
            p = sub_end;
            it->n_metadata++;
        } else if ((key >> 3) == 1 || (key >> 3) == 3) {
            e = cs_pb_fail(&c, at, CS_E_CORRUPT, "wrong wire type for a known field");
            break;
        } else {
            e = cs_pb_skip(&c, &p, end, (unsigned)(key & 7), "WriteRequest");
            if (e < 0) break;
        }
        it->p = p;
    }
    if (e < 0) {
        it->err = e;
        it->err_offset = (size_t)(c.err_at - it->base);
        it->err_what = c.err_what;
        return e;
    }
    return 0;
}
