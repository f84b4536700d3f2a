/* libFuzzer target for the remote-write decoder (cs_prompb.h) and the snappy
 * glue (cs_snappy.h). Byte 0 picks the mode; the rest is the input:
 *   0  raw WriteRequest: decode with small arrays (NOSPACE, then retry) and
 *      with large ones, which must agree; re-encode every decoded series and
 *      decode it again, which must reproduce it; check labels.
 *   1  snappy block: decompress under a limit, then decode as in mode 0.
 *   2  generated request: the bytes drive an encoder; decode must return
 *      exactly what was encoded, through snappy too.
 * Invariants are checked with abort() so the fuzzer reports them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cs_prompb.h"
#include "cs_snappy.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

#define MAX_LABELS  4096
#define MAX_SAMPLES 65536
#define MAX_PLAIN   (1 << 20)

static cs_prompb_label g_la[MAX_LABELS], g_lb[MAX_LABELS], g_lc[MAX_LABELS];
static int64_t g_ta[MAX_SAMPLES], g_tb[MAX_SAMPLES], g_tc[MAX_SAMPLES];
static uint64_t g_va[MAX_SAMPLES], g_vb[MAX_SAMPLES], g_vc[MAX_SAMPLES];
static uint8_t g_plain[MAX_PLAIN], g_enc[MAX_PLAIN], g_z[2 * MAX_PLAIN];

static int str_eq(cs_prompb_str a, cs_prompb_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void in_buffer(cs_prompb_str s, const uint8_t *b, size_t n) {
    REQUIRE(s.ptr != NULL && s.ptr >= b && s.len <= n && s.ptr + s.len <= b + n);
}

/* The encoder's output for one decoded series decodes to the same series. */
static void reencode(const cs_prompb_series *s) {
    size_t size = cs_prompb_series_size(g_lb, s->n_labels, g_tb, g_vb, s->n_samples);
    if (size == 0 || size > sizeof g_enc) return;
    REQUIRE(cs_prompb_encode_series(g_enc, size - 1, g_lb, s->n_labels, g_tb, g_vb, s->n_samples) == CS_E_NOSPACE);
    REQUIRE(cs_prompb_encode_series(g_enc, size, g_lb, s->n_labels, g_tb, g_vb, s->n_samples) == (int64_t)size);
    cs_prompb_iter it;
    cs_prompb_series r;
    cs_prompb_iter_init(&it, g_enc, size);
    REQUIRE(cs_prompb_next(&it, &r, g_lc, MAX_LABELS, g_tc, g_vc, MAX_SAMPLES) == 1);
    REQUIRE(r.n_labels == s->n_labels && r.n_samples == s->n_samples);
    REQUIRE(r.n_exemplars == 0 && r.n_histograms == 0);
    for (size_t i = 0; i < r.n_labels; i++)
        REQUIRE(str_eq(g_lc[i].name, g_lb[i].name) && str_eq(g_lc[i].value, g_lb[i].value));
    REQUIRE(memcmp(g_tc, g_tb, r.n_samples * sizeof *g_tc) == 0);
    REQUIRE(memcmp(g_vc, g_vb, r.n_samples * sizeof *g_vc) == 0);
    REQUIRE(cs_prompb_next(&it, &r, g_lc, MAX_LABELS, g_tc, g_vc, MAX_SAMPLES) == 0);
}

static void decode(const uint8_t *b, size_t n) {
    cs_prompb_iter small, big;
    cs_prompb_series s, t;
    cs_prompb_iter_init(&small, b, n);
    cs_prompb_iter_init(&big, b, n);
    for (;;) {
        int rb = cs_prompb_next(&big, &t, g_lb, MAX_LABELS, g_tb, g_vb, MAX_SAMPLES);
        int ra = cs_prompb_next(&small, &s, g_la, 1, g_ta, g_va, 2);
        if (ra == CS_E_NOSPACE) {
            REQUIRE(s.n_labels > 1 || s.n_samples > 2);
            REQUIRE(s.n_labels <= n / 2 && s.n_samples <= n / 2);
            REQUIRE(s.n_labels <= MAX_LABELS && s.n_samples <= MAX_SAMPLES);
            ra = cs_prompb_next(&small, &s, g_la, s.n_labels, g_ta, g_va, s.n_samples);
        }
        REQUIRE(ra == rb);
        if (ra != 1) {
            REQUIRE(ra == 0 || ra == CS_E_SHORT || ra == CS_E_CORRUPT || ra == CS_E_OVERFLOW);
            REQUIRE(small.n_metadata == big.n_metadata);
            if (ra < 0) {
                REQUIRE(small.err_offset == big.err_offset && big.err_offset <= n);
                REQUIRE(big.err_what != NULL);
                REQUIRE(cs_prompb_next(&big, &t, g_lb, MAX_LABELS, g_tb, g_vb, MAX_SAMPLES) == ra);
            }
            return;
        }
        REQUIRE(s.n_labels == t.n_labels && s.n_samples == t.n_samples && s.offset == t.offset);
        REQUIRE(s.n_exemplars == t.n_exemplars && s.n_histograms == t.n_histograms);
        REQUIRE(t.offset < n);
        for (size_t i = 0; i < t.n_labels; i++) {
            in_buffer(g_lb[i].name, b, n);
            in_buffer(g_lb[i].value, b, n);
            REQUIRE(str_eq(g_la[i].name, g_lb[i].name) && str_eq(g_la[i].value, g_lb[i].value));
        }
        REQUIRE(memcmp(g_ta, g_tb, t.n_samples * sizeof *g_ta) == 0);
        REQUIRE(memcmp(g_va, g_vb, t.n_samples * sizeof *g_va) == 0);
        size_t idx = 0;
        int code = cs_prompb_check_labels(g_lb, t.n_labels, &idx);
        REQUIRE(code >= CS_PROMPB_LABELS_OK && code <= CS_PROMPB_LABELS_DUPLICATE);
        REQUIRE(code == CS_PROMPB_LABELS_OK ? idx == t.n_labels : idx < t.n_labels || t.n_labels == 0);
        reencode(&t);
    }
}

static void decompress_then_decode(const uint8_t *z, size_t n) {
    int64_t announced = cs_snappy_uncompressed_length(z, n);
    int64_t d = cs_snappy_decompress(z, n, g_plain, sizeof g_plain, sizeof g_plain);
    REQUIRE(d == CS_E_CORRUPT || d == CS_E_OVERFLOW || d >= 0);
    if (announced < 0) REQUIRE(d == announced);
    if (d == CS_E_OVERFLOW) REQUIRE(announced > (int64_t)sizeof g_plain);
    if (d < 0) return;
    REQUIRE(d == announced && cs_snappy_validate(z, n) == CS_OK);
    decode(g_plain, (size_t)d);
}

/* Reads bytes from the fuzzer input, zeros past its end. */
typedef struct { const uint8_t *p; size_t n; } src_t;
static uint64_t take(src_t *s, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (s->n > 0 ? *s->p : 0);
        if (s->n > 0) { s->p++; s->n--; }
    }
    return v;
}

static void round_trip(const uint8_t *data, size_t size) {
    static cs_prompb_label labels[MAX_LABELS];
    static int64_t ts[MAX_SAMPLES];
    static uint64_t vals[MAX_SAMPLES];
    static size_t nl[64], ns[64], lo[64], so[64];
    src_t src = {data, size};
    size_t series = take(&src, 1) % 64, pos = 0, l = 0, m = 0;
    for (size_t i = 0; i < series; i++) {
        nl[i] = take(&src, 1) % 16;
        ns[i] = take(&src, 1) % 64;
        lo[i] = l;
        so[i] = m;
        for (size_t j = 0; j < nl[i]; j++, l++) {
            /* spans straight into the fuzzer input */
            size_t a = take(&src, 1) % 24, b = take(&src, 1) % 24;
            labels[l].name.ptr = src.p;
            labels[l].name.len = a < src.n ? a : src.n;
            take(&src, (unsigned)labels[l].name.len);
            labels[l].value.ptr = src.p;
            labels[l].value.len = b < src.n ? b : src.n;
            take(&src, (unsigned)labels[l].value.len);
        }
        for (size_t j = 0; j < ns[i]; j++, m++) {
            ts[m] = (int64_t)take(&src, 1 + (unsigned)take(&src, 1) % 8);
            if (take(&src, 1) & 1) ts[m] = (int64_t)(0 - (uint64_t)ts[m]);
            vals[m] = take(&src, 8);
        }
        size_t need = cs_prompb_series_size(labels + lo[i], nl[i], ts + so[i], vals + so[i], ns[i]);
        REQUIRE(need > 0 && pos + need <= sizeof g_enc);
        int64_t w = cs_prompb_encode_series(g_enc + pos, sizeof g_enc - pos, labels + lo[i], nl[i],
                                            ts + so[i], vals + so[i], ns[i]);
        REQUIRE(w == (int64_t)need);
        pos += need;
    }
    int64_t z = cs_snappy_compress(g_enc, pos, g_z, sizeof g_z);
    REQUIRE(z > 0 && (size_t)z <= cs_snappy_bound(pos));
    REQUIRE(cs_snappy_decompress(g_z, (size_t)z, g_plain, sizeof g_plain, pos) == (int64_t)pos);
    REQUIRE(memcmp(g_plain, g_enc, pos) == 0);
    cs_prompb_iter it;
    cs_prompb_series s;
    cs_prompb_iter_init(&it, g_plain, pos);
    for (size_t i = 0; i < series; i++) {
        REQUIRE(cs_prompb_next(&it, &s, g_la, MAX_LABELS, g_ta, g_va, MAX_SAMPLES) == 1);
        REQUIRE(s.n_labels == nl[i] && s.n_samples == ns[i]);
        for (size_t j = 0; j < nl[i]; j++)
            REQUIRE(str_eq(g_la[j].name, labels[lo[i] + j].name) &&
                    str_eq(g_la[j].value, labels[lo[i] + j].value));
        REQUIRE(memcmp(g_ta, ts + so[i], ns[i] * sizeof *ts) == 0);
        REQUIRE(memcmp(g_va, vals + so[i], ns[i] * sizeof *vals) == 0);
    }
    REQUIRE(cs_prompb_next(&it, &s, g_la, MAX_LABELS, g_ta, g_va, MAX_SAMPLES) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: decode(in, n); break;
    case 1: decompress_then_decode(in, n); break;
    default: round_trip(in, n); break;
    }
    return 0;
}
