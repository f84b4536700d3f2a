/* Remote-write label checks (cs_prompb.h): UTF-8, name charsets, order and
 * uniqueness, as Prometheus' receiver applies them. */
#include "cs_prompb.h"

#include <string.h>

/* ---- Label checks ---------------------------------------------------------- */

int cs_prompb_utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII runs, eight bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (n - i < 8) {
            uint64_t w = 0;
            memcpy(&w, s + i, n - i);
            if (!(w & 0x8080808080808080ull)) break;
        }
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (b >= 0xC2 && b <= 0xDF) {
            k = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            k = 2;
            if (b == 0xE0) lo = 0xA0;      /* overlong */
            else if (b == 0xED) hi = 0x9F; /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            k = 3;
            if (b == 0xF0) lo = 0x90;      /* overlong */
            else if (b == 0xF4) hi = 0x8F; /* above U+10FFFF */
        } else {
            return 0;
        }
        if (n - i <= k) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return 0;
        i += k + 1;
    }
    return 1;
}

/* Character classes of label and metric names, by byte. */
#define CS_PB_C_NAME        1 /* [a-zA-Z0-9_]  label name, after the first byte */
#define CS_PB_C_NAME_FIRST  2 /* [a-zA-Z_] */
#define CS_PB_C_METRIC      4 /* [a-zA-Z0-9_:] metric name, after the first byte */
#define CS_PB_C_METRIC_FIRST 8 /* [a-zA-Z_:] */
static const uint8_t cs_pb_class[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
     5,  5,  5,  5,  5,  5,  5,  5,  5,  5, 12,  0,  0,  0,  0,  0,
     0, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  0,  0,  0,  0, 15,
     0, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  0,  0,  0,  0,  0,
};

/* s is non-empty, its first byte in class `first`, the others in `rest`. */
static inline int cs_pb_name_valid(cs_prompb_str s, uint8_t first, uint8_t rest) {
    if (s.len == 0 || !(cs_pb_class[s.ptr[0]] & first)) return 0;
    uint8_t all = rest;
    for (size_t i = 1; i < s.len; i++) all &= cs_pb_class[s.ptr[i]];
    return all != 0;
}

static inline int cs_pb_str_cmp(cs_prompb_str a, cs_prompb_str b) {
    size_t n = a.len < b.len ? a.len : b.len;
    if (n > 0 && a.ptr[0] != b.ptr[0]) return a.ptr[0] < b.ptr[0] ? -1 : 1;
    int r = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;
    if (r != 0) return r;
    return a.len < b.len ? -1 : a.len > b.len;
}

int cs_prompb_check_labels(const cs_prompb_label *labels, size_t n, size_t *index) {
    size_t first_empty = n;
    const cs_prompb_str *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        cs_prompb_str name = labels[i].name, value = labels[i].value;
        int code = CS_OK;
        if (name.len == 0) {
            code = CS_PROMPB_LABELS_EMPTY_NAME;
        } else if (!cs_pb_name_valid(name, CS_PB_C_NAME_FIRST, CS_PB_C_NAME)) {
            code = cs_prompb_utf8_valid(name.ptr, name.len) ? CS_PROMPB_LABELS_BAD_NAME
                                                           : CS_PROMPB_LABELS_BAD_NAME_UTF8;
        } else if (!cs_prompb_utf8_valid(value.ptr, value.len)) {
            code = CS_PROMPB_LABELS_BAD_VALUE_UTF8;
        } else if (name.len == 8 && memcmp(name.ptr, "__name__", 8) == 0 &&
                   !cs_pb_name_valid(value, CS_PB_C_METRIC_FIRST, CS_PB_C_METRIC)) {
            /* Prometheus checks __name__ before dropping empty values. */
            code = CS_PROMPB_LABELS_BAD_METRIC;
        } else if (value.len == 0) {
            if (first_empty == n) first_empty = i;
            continue;
        } else if (prev != NULL) {
            int r = cs_pb_str_cmp(*prev, name);
            if (r == 0) code = CS_PROMPB_LABELS_DUPLICATE;
            else if (r > 0) code = CS_PROMPB_LABELS_UNSORTED;
        }
        if (code != CS_OK) {
            *index = i;
            return code;
        }
        prev = &labels[i].name;
    }
    if (prev == NULL) {
        *index = 0;
        return CS_PROMPB_LABELS_NONE;
    }
    *index = first_empty;
    return first_empty < n ? CS_PROMPB_LABELS_EMPTY_VALUE : CS_PROMPB_LABELS_OK;
}
