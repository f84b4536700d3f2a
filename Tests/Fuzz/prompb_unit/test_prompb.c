/* Standalone tests for cs_prompb / cs_snappy (ASan+UBSan). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_prompb.h"
#include "cs_snappy.h"
#include "cs_varint.h"

static long passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); if (a_ == b_) passed++; else { failed++; fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_); } } while (0)

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static size_t hex(const char *h, uint8_t *out) {
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) { unsigned v; sscanf(h, "%2x", &v); out[n++] = (uint8_t)v; }
    return n;
}

static cs_prompb_str S(const char *s) { cs_prompb_str r = {(const uint8_t *)s, strlen(s)}; return r; }
static int str_eq(cs_prompb_str a, const char *b) { return a.len == strlen(b) && memcmp(a.ptr, b, a.len) == 0; }

static const char *golden_hex =
    "0a420a0e0a085f5f6e616d655f5f120275700a080a036a6f62120161121009000000000000f03f1080d095ffbc31"
    "121409020000000000f07f10ffffffffffffffffff01";

static cs_prompb_label L[4096];
static int64_t T[65536];
static uint64_t V[65536];

static void test_golden(void) {
    uint8_t buf[256];
    size_t n = hex(golden_hex, buf);
    cs_prompb_iter it;
    cs_prompb_series s;
    cs_prompb_iter_init(&it, buf, n);
    CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), 1);
    CHECK_EQ(s.n_labels, 2); CHECK_EQ(s.n_samples, 2); CHECK_EQ(s.offset, 0);
    CHECK(str_eq(L[0].name, "__name__") && str_eq(L[0].value, "up"));
    CHECK(str_eq(L[1].name, "job") && str_eq(L[1].value, "a"));
    CHECK_EQ(T[0], 1700000000000LL); CHECK(V[0] == 0x3FF0000000000000ull);
    CHECK_EQ(T[1], -1); CHECK(V[1] == 0x7FF0000000000002ull);
    CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), 0);
    /* encoder reproduces it */
    cs_prompb_label ls[2] = {{S("__name__"), S("up")}, {S("job"), S("a")}};
    int64_t ts[2] = {1700000000000LL, -1};
    uint64_t vs[2] = {0x3FF0000000000000ull, 0x7FF0000000000002ull};
    uint8_t out[256];
    CHECK_EQ(cs_prompb_series_size(ls, 2, ts, vs, 2), n);
    CHECK_EQ(cs_prompb_encode_series(out, sizeof out, ls, 2, ts, vs, 2), n);
    CHECK(memcmp(out, buf, n) == 0);
    CHECK_EQ(cs_prompb_encode_series(out, n - 1, ls, 2, ts, vs, 2), CS_E_NOSPACE);
    /* NOSPACE then retry */
    cs_prompb_iter_init(&it, buf, n);
    CHECK_EQ(cs_prompb_next(&it, &s, L, 1, T, V, 16), CS_E_NOSPACE);
    CHECK_EQ(s.n_labels, 2);
    CHECK_EQ(cs_prompb_next(&it, &s, L, 2, T, V, 1), CS_E_NOSPACE);
    CHECK_EQ(s.n_samples, 2);
    CHECK_EQ(cs_prompb_next(&it, &s, L, 2, T, V, 2), 1);
    CHECK_EQ(cs_prompb_next(&it, &s, L, 2, T, V, 2), 0);
}

/* Appends a varint / key / bytes to a builder. */
typedef struct { uint8_t b[1 << 16]; size_t n; } buf_t;
static void put_uv(buf_t *b, uint64_t v) { b->n += cs_put_uvarint(b->b + b->n, v); }
static void put_key(buf_t *b, unsigned f, unsigned wt) { put_uv(b, (uint64_t)f << 3 | wt); }
static void put_bytes(buf_t *b, unsigned f, const void *p, size_t n) { put_key(b, f, 2); put_uv(b, n); memcpy(b->b + b->n, p, n); b->n += n; }
static void put_sub(buf_t *b, unsigned f, const buf_t *sub) { put_bytes(b, f, sub->b, sub->n); }
static void put_f64(buf_t *b, unsigned f, uint64_t v) { put_key(b, f, 1); memcpy(b->b + b->n, &v, 8); b->n += 8; }
static void put_f32(buf_t *b, unsigned f, uint32_t v) { put_key(b, f, 5); memcpy(b->b + b->n, &v, 4); b->n += 4; }

static void test_unknown_fields(void) {
    static buf_t req, ts, lab, smp, ex, h, span, md;
    memset(&req, 0, sizeof req);
    ts.n = lab.n = smp.n = ex.n = h.n = span.n = md.n = 0;
    /* label with unknown fields of every wire type, value before name, name repeated */
    put_uv(&lab, 0x28); put_uv(&lab, 300);          /* field 5 varint */
    put_bytes(&lab, 2, "v", 1);
    put_f64(&lab, 6, 42);
    put_bytes(&lab, 1, "old", 3);
    put_f32(&lab, 7, 7);
    put_bytes(&lab, 1, "n", 1);
    put_bytes(&lab, 9, "xyz", 3);
    put_sub(&ts, 1, &lab);
    /* sample with ts first, unknown fields */
    put_key(&smp, 2, 0); put_uv(&smp, (uint64_t)-5);
    put_key(&smp, 15, 0); put_uv(&smp, 1);
    put_f64(&smp, 1, 0x4000000000000000ull);
    put_f32(&smp, 3, 1);
    put_sub(&ts, 2, &smp);
    /* empty sample: all zero */
    smp.n = 0;
    put_sub(&ts, 2, &smp);
    /* exemplar and histogram */
    put_sub(&ex, 1, &lab); put_f64(&ex, 2, 1); put_key(&ex, 3, 0); put_uv(&ex, 5);
    put_sub(&ts, 3, &ex);
    put_key(&span, 1, 0); put_uv(&span, 3); put_key(&span, 2, 0); put_uv(&span, 2);
    put_key(&h, 1, 0); put_uv(&h, 10); put_f64(&h, 3, 1); put_key(&h, 4, 0); put_uv(&h, 2);
    put_sub(&h, 8, &span);
    { uint8_t pk[3] = {2, 4, 0x81}; put_bytes(&h, 9, pk, 2); }
    put_key(&h, 9, 0); put_uv(&h, 3);   /* unpacked too */
    { uint64_t d[2] = {1, 2}; put_bytes(&h, 10, d, 16); }
    put_f64(&h, 13, 1);
    put_sub(&h, 11, &span); put_key(&h, 15, 0); put_uv(&h, 123);
    put_sub(&ts, 4, &h);
    put_sub(&ts, 4, &h);
    put_f32(&ts, 9, 0); put_key(&ts, 10, 0); put_uv(&ts, 1); put_f64(&ts, 11, 0); put_bytes(&ts, 12, "zz", 2);
    put_key(&md, 1, 0); put_uv(&md, 1); put_bytes(&md, 2, "up", 2); put_bytes(&md, 4, "help", 4); put_bytes(&md, 5, "s", 1);
    /* request: unknown, metadata, series, reserved field 2, metadata, series again */
    put_key(&req, 2, 0); put_uv(&req, 77);
    put_sub(&req, 3, &md);
    put_sub(&req, 1, &ts);
    put_bytes(&req, 2, "abc", 3);
    put_f64(&req, 100000, 3);
    put_sub(&req, 3, &md);
    put_sub(&req, 1, &ts);
    put_f32(&req, (1u << 29) - 1, 3);
    cs_prompb_iter it;
    cs_prompb_series s;
    cs_prompb_iter_init(&it, req.b, req.n);
    for (int k = 0; k < 2; k++) {
        CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), 1);
        CHECK_EQ(s.n_labels, 1); CHECK_EQ(s.n_samples, 2); CHECK_EQ(s.n_exemplars, 1); CHECK_EQ(s.n_histograms, 2);
        CHECK(str_eq(L[0].name, "n") && str_eq(L[0].value, "v"));
        CHECK_EQ(T[0], -5); CHECK(V[0] == 0x4000000000000000ull);
        CHECK_EQ(T[1], 0); CHECK(V[1] == 0);
    }
    CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), 0);
    CHECK_EQ(it.n_metadata, 2);

    /* groups and invalid wire types are refused, with the offset of the key */
    for (unsigned wt = 3; wt <= 7; wt++) {
        if (wt == 5) continue;
        buf_t *b = &req; b->n = 0;
        put_sub(b, 1, &ts);
        size_t at = b->n;
        put_key(b, 9, wt); put_uv(b, 0);
        cs_prompb_iter_init(&it, b->b, b->n);
        CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), 1);
        CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), CS_E_CORRUPT);
        CHECK_EQ(it.err_offset, at);
        CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), CS_E_CORRUPT); /* sticky */
    }
    /* wrong wire type on known fields */
    const char *bad[] = {
        "0800",            /* WriteRequest.timeseries as varint */
        "1d00000000",      /* metadata as fixed32 */
        "0a020800",        /* TimeSeries.labels as varint */
        "0a021000",        /* TimeSeries.samples as varint */
        "0a021800",        /* exemplars as varint */
        "0a022000",        /* histograms as varint */
        "0a040a020800",    /* Label.name as varint */
        "0a0412020800",    /* Sample.value as varint */
        "0a0a12080a0000000000000000", /* Sample.timestamp as bytes... (key 0x0a = field 1 wt2) */
        "0a0412021100",    /* Sample.timestamp (2) as fixed64, truncated -> corrupt/short */
        "0a041a021000",    /* Exemplar.value as varint */
        "0a04220212",      /* histogram: field 2 bytes but truncated */
        "0a0422024200",    /* Histogram.negative_spans (8) as varint? 0x42 = field 8 wt2 len 0: valid */
        "0a03220152",      /* Histogram 10 packed doubles, length missing */
        "0a0422025201",    /* Histogram 10 packed doubles len 1 beyond */
        "1a020a00",        /* metadata field 1 as bytes */
        "0a0200",          /* field 0 */
    };
    int expect_ok[] = {0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t b[64];
        size_t n = hex(bad[i], b);
        cs_prompb_iter_init(&it, b, n);
        int rc;
        while ((rc = cs_prompb_next(&it, &s, L, 16, T, V, 16)) == 1) {}
        if (expect_ok[i]) CHECK_EQ(rc, 0);
        else {
            if (rc >= 0) fprintf(stderr, "case %zu accepted\n", i);
            CHECK(rc == CS_E_CORRUPT || rc == CS_E_SHORT || rc == CS_E_OVERFLOW);
            CHECK(it.err_offset <= n && it.err_what != NULL);
        }
    }
    /* packed doubles of wrong length */
    {
        buf_t *b = &req; b->n = 0; h.n = 0;
        uint8_t d[12] = {0};
        put_bytes(&h, 13, d, 12);
        ts.n = 0; put_sub(&ts, 4, &h); put_sub(b, 1, &ts);
        cs_prompb_iter_init(&it, b->b, b->n);
        CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), CS_E_CORRUPT);
        CHECK_EQ(it.err_offset, 4);
    }
    /* overflowing varint */
    {
        uint8_t b[] = {0x0a, 0x0c, 0x12, 0x0a, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
        cs_prompb_iter_init(&it, b, sizeof b);
        int rc = cs_prompb_next(&it, &s, L, 16, T, V, 16);
        CHECK_EQ(rc, CS_E_CORRUPT); /* length 0x0c but only 13 bytes after: corrupt? */
        b[1] = 13; b[3] = 11;
        cs_prompb_iter_init(&it, b, sizeof b);
        CHECK_EQ(cs_prompb_next(&it, &s, L, 16, T, V, 16), CS_E_OVERFLOW);
        CHECK_EQ(it.err_offset, 5);
    }
}

/* random request builder */
typedef struct { size_t nl, ns, lo, so; } rseries;
static char strpool[1 << 20];
static size_t build_random(uint8_t *out, size_t cap, rseries *rs, size_t *nser, cs_prompb_label *labs, int64_t *ts, uint64_t *vs) {
    size_t n = rnd() % 20, pos = 0, sp = 0, lo = 0, so = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = rnd() % 12, ns = rnd() % 40;
        if (rnd() % 10 == 0) ns = 200 + rnd() % 300;
        for (size_t j = 0; j < nl; j++) {
            for (int k = 0; k < 2; k++) {
                size_t len = rnd() % 8 == 0 ? 0 : rnd() % (rnd() % 10 == 0 ? 300 : 20);
                for (size_t m = 0; m < len; m++) strpool[sp + m] = (char)rnd();
                cs_prompb_str s = {(const uint8_t *)strpool + sp, len};
                sp += len;
                if (k == 0) labs[lo + j].name = s; else labs[lo + j].value = s;
            }
        }
        for (size_t j = 0; j < ns; j++) {
            switch (rnd() % 5) {
            case 0: ts[so + j] = 0; break;
            case 1: ts[so + j] = -(int64_t)(rnd() % 100000); break;
            case 2: ts[so + j] = (int64_t)rnd(); break;
            default: ts[so + j] = 1700000000000LL + (int64_t)(rnd() % 100000);
            }
            switch (rnd() % 5) {
            case 0: vs[so + j] = 0; break;
            case 1: vs[so + j] = 0x7FF0000000000002ull; break;
            case 2: vs[so + j] = 0x8000000000000000ull; break;
            default: vs[so + j] = rnd();
            }
        }
        int64_t w = cs_prompb_encode_series(out + pos, cap - pos, labs + lo, nl, ts + so, vs + so, ns);
        if (w < 0) { fprintf(stderr, "encode %lld\n", (long long)w); abort(); }
        CHECK_EQ((size_t)w, cs_prompb_series_size(labs + lo, nl, ts + so, vs + so, ns));
        pos += (size_t)w;
        rs[i] = (rseries){nl, ns, lo, so};
        lo += nl; so += ns;
    }
    *nser = n;
    return pos;
}

static int decode_all(const uint8_t *b, size_t n, size_t *nseries, size_t *off) {
    cs_prompb_iter it;
    cs_prompb_series s;
    cs_prompb_iter_init(&it, b, n);
    size_t k = 0;
    int rc;
    size_t lcap = 2, scap = 2;
    for (;;) {
        rc = cs_prompb_next(&it, &s, L, lcap, T, V, scap);
        if (rc == CS_E_NOSPACE) {
            if (s.n_labels > 4096 || s.n_samples > 65536) abort();
            if (s.n_labels * 2 > s.offset + n || s.n_samples * 2 > n) abort();
            lcap = s.n_labels; scap = s.n_samples;
            continue;
        }
        if (rc != 1) break;
        for (size_t i = 0; i < s.n_labels; i++) {
            if (L[i].name.ptr < b || L[i].name.ptr + L[i].name.len > b + n) abort();
            if (L[i].value.ptr < b || L[i].value.ptr + L[i].value.len > b + n) abort();
            size_t idx;
            (void)cs_prompb_check_labels(L, s.n_labels, &idx);
        }
        k++;
    }
    *nseries = k;
    *off = it.err_offset;
    if (rc < 0 && (it.err_offset > n || it.err_what == NULL)) abort();
    return rc;
}

static uint8_t rbuf[1 << 20], rbuf2[1 << 20], zbuf[1 << 21];
static cs_prompb_label rl[1 << 14];
static int64_t rt[1 << 16];
static uint64_t rv[1 << 16];

static void test_round_trip(void) {
    for (int iter = 0; iter < 300; iter++) {
        rseries rs[32];
        size_t n, nser;
        n = build_random(rbuf, sizeof rbuf, rs, &nser, rl, rt, rv);
        cs_prompb_iter it;
        cs_prompb_series s;
        cs_prompb_iter_init(&it, rbuf, n);
        for (size_t i = 0; i < nser; i++) {
            int rc = cs_prompb_next(&it, &s, L, 4096, T, V, 65536);
            CHECK_EQ(rc, 1);
            if (rc != 1) return;
            CHECK_EQ(s.n_labels, rs[i].nl); CHECK_EQ(s.n_samples, rs[i].ns);
            for (size_t j = 0; j < s.n_labels; j++) {
                cs_prompb_label *a = &L[j], *b = &rl[rs[i].lo + j];
                CHECK(a->name.len == b->name.len && (a->name.len == 0 || memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0));
                CHECK(a->value.len == b->value.len && (a->value.len == 0 || memcmp(a->value.ptr, b->value.ptr, a->value.len) == 0));
            }
            for (size_t j = 0; j < s.n_samples; j++) {
                CHECK_EQ(T[j], rt[rs[i].so + j]);
                CHECK(V[j] == rv[rs[i].so + j]);
            }
        }
        CHECK_EQ(cs_prompb_next(&it, &s, L, 4096, T, V, 65536), 0);
        /* snappy round trip */
        int64_t z = cs_snappy_compress(rbuf, n, zbuf, sizeof zbuf);
        CHECK(z > 0);
        CHECK_EQ(cs_snappy_uncompressed_length(zbuf, (size_t)z), n);
        CHECK_EQ(cs_snappy_decompress(zbuf, (size_t)z, rbuf2, sizeof rbuf2, n), n);
        CHECK(memcmp(rbuf, rbuf2, n) == 0);
        if (n > 0) {
            CHECK_EQ(cs_snappy_decompress(zbuf, (size_t)z, rbuf2, n - 1, n), CS_E_NOSPACE);
            CHECK_EQ(cs_snappy_decompress(zbuf, (size_t)z, rbuf2, sizeof rbuf2, n - 1), CS_E_OVERFLOW);
        }
        /* truncations: every prefix errors with SHORT or decodes a prefix of the series */
        if (n < 6000) {
            for (size_t cut = 0; cut < n; cut++) {
                size_t k, off;
                int rc = decode_all(rbuf, cut, &k, &off);
                CHECK(rc == 0 || rc == CS_E_SHORT);
                if (rc == CS_E_SHORT) CHECK(off < cut || cut == 0 || off <= cut);
            }
            for (size_t i = 0; i < n; i++) {
                uint8_t old = rbuf[i];
                for (int bit = 0; bit < 8; bit++) {
                    rbuf[i] = old ^ (uint8_t)(1 << bit);
                    size_t k, off;
                    int rc = decode_all(rbuf, n, &k, &off);
                    CHECK(rc == 0 || rc == CS_E_SHORT || rc == CS_E_CORRUPT || rc == CS_E_OVERFLOW);
                }
                rbuf[i] = (uint8_t)rnd();
                size_t k, off;
                (void)decode_all(rbuf, n, &k, &off);
                rbuf[i] = old;
            }
        }
    }
}

static void test_labels(void) {
    size_t idx;
#define LABELS(...) cs_prompb_label ls[] = {__VA_ARGS__}; size_t nls = sizeof ls / sizeof *ls
    {
        LABELS({S("__name__"), S("up")}, {S("a"), S("1")}, {S("b_c9"), S("é")});
        CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_OK); CHECK_EQ(idx, 3);
    }
    {
        LABELS({S("__name__"), S("a:b_c")}, {S("a"), S("")}, {S("a"), S("x")}, {S("b"), S("")});
        CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_EMPTY_VALUE); CHECK_EQ(idx, 1);
    }
    { LABELS({S("a"), S("")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_NONE); CHECK_EQ(idx, 0); }
    CHECK_EQ(cs_prompb_check_labels(NULL, 0, &idx), CS_PROMPB_LABELS_NONE);
    { LABELS({S("a"), S("1")}, {S(""), S("x")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_EMPTY_NAME); CHECK_EQ(idx, 1); }
    { LABELS({S("a"), S("1")}, {S("\xff"), S("x")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_NAME_UTF8); CHECK_EQ(idx, 1); }
    { LABELS({S("a"), S("1")}, {S("b-c"), S("x")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_NAME); CHECK_EQ(idx, 1); }
    { LABELS({S("9a"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_NAME); CHECK_EQ(idx, 0); }
    { LABELS({S("a:b"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_NAME); }
    { LABELS({S("é"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_NAME); }
    { LABELS({S("a"), S("\xc0\x80")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_VALUE_UTF8); CHECK_EQ(idx, 0); }
    { LABELS({S("__name__"), S("9up")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_METRIC); }
    { LABELS({S("__name__"), S("")}, {S("a"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_BAD_METRIC); CHECK_EQ(idx, 0); }
    { LABELS({S("b"), S("1")}, {S("a"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_UNSORTED); CHECK_EQ(idx, 1); }
    { LABELS({S("a"), S("1")}, {S("ab"), S("1")}, {S("a"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_UNSORTED); CHECK_EQ(idx, 2); }
    { LABELS({S("Z"), S("1")}, {S("a"), S("1")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_OK); }
    { LABELS({S("a"), S("1")}, {S("a"), S("2")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_DUPLICATE); CHECK_EQ(idx, 1); }
    { LABELS({S("a"), S("1")}, {S("b"), S("")}, {S("a"), S("2")}); CHECK_EQ(cs_prompb_check_labels(ls, nls, &idx), CS_PROMPB_LABELS_DUPLICATE); CHECK_EQ(idx, 2); }
    /* UTF-8 validator */
    const char *good[] = {"", "abc", "héllo wörld ok ok ok", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xef\xbf\xbf"};
    const char *badu[] = {"\x80", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "abcdefgh\xe2\x82", "\xe2\x28\xa1", "\xff"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(cs_prompb_utf8_valid((const uint8_t *)good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof badu / sizeof *badu; i++) CHECK(!cs_prompb_utf8_valid((const uint8_t *)badu[i], strlen(badu[i])));
}

static void test_snappy(void) {
    uint8_t out[64];
    /* 10 bytes claiming 4 GiB - 1 */
    uint8_t bomb[10] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0};
    CHECK_EQ(cs_snappy_uncompressed_length(bomb, 10), CS_E_CORRUPT);
    CHECK_EQ(cs_snappy_decompress(bomb, 10, out, sizeof out, 1 << 20), CS_E_CORRUPT);
    /* claims 200 bytes from 10: plausible ratio, over max */
    uint8_t b2[10] = {0xc8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ(cs_snappy_uncompressed_length(b2, 10), 200);
    CHECK_EQ(cs_snappy_decompress(b2, 10, out, sizeof out, 100), CS_E_OVERFLOW);
    CHECK_EQ(cs_snappy_decompress(b2, 10, out, sizeof out, 1000), CS_E_NOSPACE);
    static uint8_t big[256];
    CHECK_EQ(cs_snappy_decompress(b2, 10, big, sizeof big, 1000), CS_E_CORRUPT);
    CHECK_EQ(cs_snappy_validate(b2, 10), CS_E_CORRUPT);
    /* empty */
    CHECK_EQ(cs_snappy_uncompressed_length(NULL, 0), CS_E_CORRUPT);
    int64_t z = cs_snappy_compress(NULL, 0, out, sizeof out);
    CHECK_EQ(z, 1);
    CHECK_EQ(cs_snappy_decompress(out, 1, NULL, 0, 0), 0);
    CHECK_EQ(cs_snappy_validate(out, 1), CS_OK);
    uint8_t junk[2] = {0, 5};
    CHECK_EQ(cs_snappy_decompress(junk, 2, NULL, 0, 0), CS_E_CORRUPT);
    CHECK_EQ(cs_snappy_compress((const uint8_t *)"abc", 3, out, 5), CS_E_NOSPACE);
    /* maximum ratio stream: 0-fill of 1 MiB compresses to ~ 1/21 */
    static uint8_t zeros[1 << 20], zc[1 << 21], back[1 << 20];
    z = cs_snappy_compress(zeros, sizeof zeros, zc, sizeof zc);
    CHECK(z > 0 && (uint64_t)z * CS_SNAPPY_MAX_RATIO >= sizeof zeros);
    CHECK_EQ(cs_snappy_decompress(zc, (size_t)z, back, sizeof back, sizeof back), sizeof zeros);
    printf("snappy 1 MiB zeros -> %lld bytes (ratio %.2f)\n", (long long)z, (double)sizeof zeros / (double)z);
}

int main(void) {
    test_golden();
    test_unknown_fields();
    test_labels();
    test_snappy();
    test_round_trip();
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed != 0;
}
