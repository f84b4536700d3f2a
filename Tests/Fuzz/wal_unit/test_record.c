/* Record codec tests: round trips, capacity errors, and decodes of every
 * truncation of every record type (run under ASan to prove bounds). */
#include <stdlib.h>
#include <string.h>

#include "cs_wal_record.h"
#include "test_util.h"

/* Decoding from an exact-size heap copy makes any overread an ASan error. */
static uint8_t *dup_prefix(const uint8_t *p, size_t n) {
    uint8_t *d = malloc(n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

/* ---- Series ------------------------------------------------------------ */

#define NSER 5

static const char *ser_names[] = {"__name__", "job", "instance", "le", ""};
static const char *ser_values[] = {"http_requests_total", "api", "10.0.0.1:9100", "+Inf", ""};

static size_t build_series(uint8_t *buf, size_t cap, size_t *bounds) {
    size_t n = (size_t)cs_wal_record_begin(buf, cap, CS_WAL_REC_SERIES);
    for (size_t e = 0; e < NSER; e++) {
        cs_wal_label labels[5];
        size_t nl = e; /* 0..4 labels, incl. an entry with none */
        for (size_t i = 0; i < nl; i++) {
            labels[i].name.ptr = (const uint8_t *)ser_names[(i + e) % 5];
            labels[i].name.len = strlen(ser_names[(i + e) % 5]);
            labels[i].value.ptr = (const uint8_t *)ser_values[(i + 2 * e) % 5];
            labels[i].value.len = strlen(ser_values[(i + 2 * e) % 5]);
        }
        size_t want = cs_wal_series_entry_bound(labels, nl);
        /* Every capacity below the size is refused without writing. */
        for (size_t c = 0; c < want; c++) {
            uint8_t sentinel = buf[n];
            CHECK_EQ(cs_wal_series_append(buf + n, c, 0, labels, nl), CS_E_NOSPACE);
            CHECK_EQ(buf[n], sentinel);
        }
        int64_t w = cs_wal_series_append(buf + n, cap - n, (e == 4) ? UINT64_MAX : e * 1000 + 1,
                                         labels, nl);
        CHECK_EQ(w, want);
        n += (size_t)w;
        bounds[e] = n;
    }
    return n;
}

static void check_series_entry(size_t e, uint64_t ref, const cs_wal_label *labels, size_t nl) {
    CHECK_EQ(nl, e);
    CHECK(ref == ((e == 4) ? UINT64_MAX : e * 1000 + 1));
    for (size_t i = 0; i < nl; i++) {
        const char *nm = ser_names[(i + e) % 5], *vl = ser_values[(i + 2 * e) % 5];
        CHECK(labels[i].name.len == strlen(nm) && memcmp(labels[i].name.ptr, nm, strlen(nm)) == 0);
        CHECK(labels[i].value.len == strlen(vl) && memcmp(labels[i].value.ptr, vl, strlen(vl)) == 0);
    }
}

static void test_series(void) {
    uint8_t buf[1024];
    size_t bounds[NSER];
    size_t len = build_series(buf, sizeof buf, bounds);

    cs_wal_series_iter it;
    cs_wal_label labels[8];
    uint64_t ref;
    size_t nl;
    CHECK_EQ(cs_wal_series_iter_init(&it, buf, len), CS_OK);
    for (size_t e = 0; e < NSER; e++) {
        /* Too small a label array: told the count, iterator stays put. */
        if (e > 0) {
            CHECK_EQ(cs_wal_series_next(&it, &ref, labels, e - 1, &nl), CS_E_NOSPACE);
            CHECK_EQ(nl, e);
        }
        CHECK_EQ(cs_wal_series_next(&it, &ref, labels, 8, &nl), 1);
        check_series_entry(e, ref, labels, nl);
    }
    CHECK_EQ(cs_wal_series_next(&it, &ref, labels, 8, &nl), 0);

    CHECK_EQ(cs_wal_series_iter_init(&it, buf, 0), CS_E_SHORT);
    uint8_t wrong = CS_WAL_REC_SAMPLES;
    CHECK_EQ(cs_wal_series_iter_init(&it, &wrong, 1), CS_E_ARG);

    /* Every truncation: entries before the cut decode, then an error, unless
     * the cut is on an entry boundary. */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *d = dup_prefix(buf, cut);
        int rc = cs_wal_series_iter_init(&it, d, cut);
        if (cut == 0) {
            CHECK_EQ(rc, CS_E_SHORT);
            free(d);
            continue;
        }
        size_t e = 0;
        for (;;) {
            rc = cs_wal_series_next(&it, &ref, labels, 8, &nl);
            if (rc != 1) break;
            check_series_entry(e, ref, labels, nl);
            e++;
        }
        int boundary = cut == 1;
        for (size_t i = 0; i < NSER; i++) boundary |= bounds[i] == cut;
        if (boundary) {
            CHECK_EQ(rc, 0);
        } else {
            CHECK_EQ(rc, CS_E_SHORT);
        }
        CHECK(e <= NSER);
        free(d);
    }

    /* A label count far beyond the bytes is refused before any array is sized. */
    uint8_t bad[] = {CS_WAL_REC_SERIES, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0};
    CHECK_EQ(cs_wal_series_iter_init(&it, bad, sizeof bad), CS_OK);
    CHECK_EQ(cs_wal_series_next(&it, &ref, labels, 8, &nl), CS_E_SHORT);
    /* An 11-byte varint count overflows. */
    uint8_t ovf[] = {CS_WAL_REC_SERIES, 0, 0, 0, 0, 0, 0, 0, 1,
                     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    CHECK_EQ(cs_wal_series_iter_init(&it, ovf, sizeof ovf), CS_OK);
    CHECK_EQ(cs_wal_series_next(&it, &ref, labels, 8, &nl), CS_E_OVERFLOW);
    /* A label length that runs past the end. */
    uint8_t longstr[] = {CS_WAL_REC_SERIES, 0, 0, 0, 0, 0, 0, 0, 1, 1, 5, 'a', 'b', 0};
    CHECK_EQ(cs_wal_series_iter_init(&it, longstr, sizeof longstr), CS_OK);
    CHECK_EQ(cs_wal_series_next(&it, &ref, labels, 8, &nl), CS_E_SHORT);

    cs_wal_label nullname = {{NULL, 3}, {NULL, 0}};
    CHECK_EQ(cs_wal_series_append(buf, sizeof buf, 1, &nullname, 1), CS_E_ARG);
    CHECK_EQ(cs_wal_series_append(buf, sizeof buf, 1, NULL, 1), CS_E_ARG);
    CHECK_EQ(cs_wal_series_append(buf, sizeof buf, 7, NULL, 0), 9);
    CHECK_EQ(cs_wal_record_begin(buf, 0, 1), CS_E_NOSPACE);
    CHECK_EQ(cs_wal_record_type(buf, 0), CS_E_SHORT);
    buf[0] = 200;
    CHECK_EQ(cs_wal_record_type(buf, 1), 200);
}

/* ---- Samples ----------------------------------------------------------- */

#define NSAMP 300

static void make_samples(uint64_t *refs, int64_t *ts, uint64_t *vals, size_t n, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = cs_test_rand(&s);
        switch (i % 7) {
        case 0: refs[i] = 1000 + r % 50; ts[i] = 1700000000000 + (int64_t)(i * 15000); break;
        case 1: refs[i] = r; ts[i] = (int64_t)r; break;               /* full-width deltas */
        case 2: refs[i] = 0; ts[i] = INT64_MIN; break;
        case 3: refs[i] = UINT64_MAX; ts[i] = INT64_MAX; break;
        case 4: refs[i] = 999; ts[i] = -5; break;                     /* negative deltas */
        default: refs[i] = 1000 + i; ts[i] = 1700000000000 + (int64_t)(r % 100000); break;
        }
        vals[i] = r * 0x9E3779B97F4A7C15u;
    }
}

static void test_samples(void) {
    static uint64_t refs[NSAMP], vals[NSAMP], orefs[NSAMP], ovals[NSAMP];
    static int64_t ts[NSAMP], ots[NSAMP];
    static size_t bounds[NSAMP];
    make_samples(refs, ts, vals, NSAMP, 0x1234567);

    size_t cap = cs_wal_samples_bound(NSAMP);
    uint8_t *buf = malloc(cap);
    int64_t len = cs_wal_samples_encode(buf, cap, refs, ts, vals, NSAMP);
    CHECK(len > 17);
    CHECK_EQ(buf[0], CS_WAL_REC_SAMPLES);
    /* Encoding prefixes gives the sample boundaries (deltas are from sample 0). */
    for (size_t k = 1; k <= NSAMP; k++) {
        uint8_t *tmp = malloc(cs_wal_samples_bound(k));
        bounds[k - 1] = (size_t)cs_wal_samples_encode(tmp, cs_wal_samples_bound(k), refs, ts, vals, k);
        CHECK(memcmp(tmp, buf, bounds[k - 1]) == 0);
        free(tmp);
    }
    CHECK_EQ(bounds[NSAMP - 1], len);

    /* Exact-size and undersized output buffers. */
    uint8_t *exact = malloc((size_t)len);
    CHECK_EQ(cs_wal_samples_encode(exact, (size_t)len, refs, ts, vals, NSAMP), len);
    CHECK(memcmp(exact, buf, (size_t)len) == 0);
    memset(exact, 0x5A, (size_t)len);
    CHECK_EQ(cs_wal_samples_encode(exact, (size_t)len - 1, refs, ts, vals, NSAMP), CS_E_NOSPACE);
    CHECK_EQ(exact[0], 0x5A);
    CHECK_EQ(cs_wal_samples_encode(exact, 3, refs, ts, vals, 1), CS_E_NOSPACE);
    free(exact);

    /* Round trip, one pass (cap >= count_max) and counted (cap == exact). */
    CHECK(cs_wal_samples_count_max((size_t)len) >= NSAMP);
    size_t cm = cs_wal_samples_count_max((size_t)len);
    uint64_t *r2 = malloc(cm * 8), *v2 = malloc(cm * 8);
    int64_t *t2 = malloc(cm * 8);
    CHECK_EQ(cs_wal_samples_decode(buf, (size_t)len, r2, t2, v2, cm), NSAMP);
    CHECK(memcmp(r2, refs, sizeof refs) == 0 && memcmp(t2, ts, sizeof ts) == 0 &&
          memcmp(v2, vals, sizeof vals) == 0);
    free(r2); free(t2); free(v2);
    CHECK_EQ(cs_wal_samples_decode(buf, (size_t)len, orefs, ots, ovals, NSAMP), NSAMP);
    CHECK(memcmp(orefs, refs, sizeof refs) == 0 && memcmp(ots, ts, sizeof ts) == 0 &&
          memcmp(ovals, vals, sizeof vals) == 0);
    orefs[0] = 77;
    CHECK_EQ(cs_wal_samples_decode(buf, (size_t)len, orefs, ots, ovals, NSAMP - 1), CS_E_NOSPACE);
    CHECK_EQ(orefs[0], 77); /* nothing written */

    /* Empty record. */
    uint8_t one[1];
    CHECK_EQ(cs_wal_samples_encode(one, 1, NULL, NULL, NULL, 0), 1);
    CHECK_EQ(one[0], CS_WAL_REC_SAMPLES);
    CHECK_EQ(cs_wal_samples_decode(one, 1, orefs, ots, ovals, 0), 0);
    CHECK_EQ(cs_wal_samples_encode(one, 0, NULL, NULL, NULL, 0), CS_E_NOSPACE);
    CHECK_EQ(cs_wal_samples_decode(one, 0, orefs, ots, ovals, 0), CS_E_SHORT);
    uint8_t wrong = CS_WAL_REC_SERIES;
    CHECK_EQ(cs_wal_samples_decode(&wrong, 1, orefs, ots, ovals, 0), CS_E_ARG);
    CHECK_EQ(cs_wal_samples_count_max(17), 0);
    CHECK_EQ(cs_wal_samples_count_max(27), 1);
    CHECK_EQ(cs_wal_samples_bound(SIZE_MAX / 2), 0);

    /* Every truncation, with both decode paths. */
    for (size_t cut = 0; cut < (size_t)len; cut++) {
        uint8_t *d = dup_prefix(buf, cut);
        size_t want_n = 0;
        int boundary = cut == 1 || cut == 17; /* a header without samples is valid */
        for (size_t i = 0; i < NSAMP; i++)
            if (bounds[i] == cut) boundary = 1, want_n = i + 1;
        for (int pass = 0; pass < 2; pass++) {
            size_t c = pass == 0 ? NSAMP : (want_n ? want_n : 0);
            int64_t rc = cs_wal_samples_decode(d, cut, orefs, ots, ovals, c);
            if (cut == 0) {
                CHECK_EQ(rc, CS_E_SHORT);
            } else if (boundary) {
                CHECK_EQ(rc, want_n);
                if (want_n) CHECK(orefs[want_n - 1] == refs[want_n - 1] && ots[want_n - 1] == ts[want_n - 1]);
            } else {
                CHECK(rc == CS_E_SHORT || rc == CS_E_NOSPACE);
                if (pass == 0) CHECK_EQ(rc, CS_E_SHORT);
            }
        }
        free(d);
    }

    /* A varint of more than 64 bits, in the fast and the tail loop. */
    uint8_t ovf[17 + 11 + 8 + 40];
    memset(ovf, 0, sizeof ovf);
    ovf[0] = CS_WAL_REC_SAMPLES;
    memset(ovf + 17, 0xFF, 9);
    ovf[26] = 0x02;
    CHECK_EQ(cs_wal_samples_decode(ovf, sizeof ovf, orefs, ots, ovals, NSAMP), CS_E_OVERFLOW);
    CHECK_EQ(cs_wal_samples_decode(ovf, 17 + 10 + 1 + 8, orefs, ots, ovals, NSAMP), CS_E_OVERFLOW);
    CHECK_EQ(cs_wal_samples_decode(ovf, sizeof ovf, orefs, ots, ovals, 0), CS_E_OVERFLOW);
    free(buf);
}

/* ---- Tombstones -------------------------------------------------------- */

static void test_tombstones(void) {
    cs_wal_tombstone st[6] = {
        {1, 0, 1000}, {2, -100, 100}, {UINT64_MAX, INT64_MIN, INT64_MAX},
        {0, 5, 5}, {42, 1700000000000, 1700000060000}, {7, INT64_MAX, INT64_MIN},
    };
    uint8_t buf[256];
    size_t bounds[6];
    for (size_t k = 0; k < 6; k++) {
        bounds[k] = (size_t)cs_wal_tombstones_encode(buf, sizeof buf, st, k + 1);
    }
    int64_t len = cs_wal_tombstones_encode(buf, sizeof buf, st, 6);
    CHECK_EQ(len, bounds[5]);
    CHECK(len <= (int64_t)cs_wal_tombstones_bound(6));
    for (size_t c = 0; c < (size_t)len; c++) {
        uint8_t tmp[256];
        tmp[0] = 0x77;
        CHECK_EQ(cs_wal_tombstones_encode(tmp, c, st, 6), CS_E_NOSPACE);
        CHECK_EQ(tmp[0], 0x77);
    }
    uint8_t tmp[256];
    CHECK_EQ(cs_wal_tombstones_encode(tmp, (size_t)len, st, 6), len);

    cs_wal_tombstone out[16];
    CHECK_EQ(cs_wal_tombstones_decode(buf, (size_t)len, out, 16), 6);
    CHECK(memcmp(out, st, sizeof st) == 0);
    CHECK_EQ(cs_wal_tombstones_decode(buf, (size_t)len, out, 6), 6);
    CHECK(memcmp(out, st, sizeof st) == 0);
    out[0].ref = 99;
    CHECK_EQ(cs_wal_tombstones_decode(buf, (size_t)len, out, 5), CS_E_NOSPACE);
    CHECK_EQ(out[0].ref, 99);
    CHECK_EQ(cs_wal_tombstones_encode(buf, 1, NULL, 0), 1);
    CHECK_EQ(cs_wal_tombstones_decode(buf, 1, out, 0), 0);
    CHECK_EQ(cs_wal_tombstones_decode(buf, 0, out, 0), CS_E_SHORT);
    uint8_t wrong = CS_WAL_REC_SAMPLES;
    CHECK_EQ(cs_wal_tombstones_decode(&wrong, 1, out, 0), CS_E_ARG);

    len = cs_wal_tombstones_encode(buf, sizeof buf, st, 6);
    for (size_t cut = 0; cut < (size_t)len; cut++) {
        uint8_t *d = dup_prefix(buf, cut);
        size_t want_n = 0;
        int boundary = cut == 1;
        for (size_t i = 0; i < 6; i++)
            if (bounds[i] == cut) boundary = 1, want_n = i + 1;
        for (int pass = 0; pass < 2; pass++) {
            int64_t rc = cs_wal_tombstones_decode(d, cut, out, pass == 0 ? 16 : want_n);
            if (cut == 0) {
                CHECK_EQ(rc, CS_E_SHORT);
            } else if (boundary) {
                CHECK_EQ(rc, want_n);
                CHECK(memcmp(out, st, want_n * sizeof *out) == 0);
            } else if (pass == 0) {
                CHECK_EQ(rc, CS_E_SHORT);
            } else {
                CHECK(rc == CS_E_SHORT || rc == CS_E_NOSPACE);
            }
        }
        free(d);
    }
}

void cs_test_record(void) {
    test_series();
    test_samples();
    test_tombstones();
}
