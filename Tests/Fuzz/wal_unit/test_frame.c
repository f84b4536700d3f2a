/* Framing tests: writer layout, segment space, and round trips with and
 * without compression over many segments. */
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "cs_wal_frame.h"
#include "cs_wal_record.h"
#include "test_segment.h"
#include "test_util.h"

/* ---- Writer layout ----------------------------------------------------- */

static void test_writer_layout(void) {
    static uint8_t rec[100000];
    fill(rec, sizeof rec, 1);
    tw w;

    /* 70000 bytes from offset 0: first 32761, middle 32761, last 4478. */
    tw_init(&w, 8, 0);
    CHECK_EQ(tw_log(&w, rec, 70000, 0), 2 * PAGE + 7 + 4478);
    check_header(w.buf, CS_WAL_FRAG_FIRST, 32761, rec);
    check_header(w.buf + PAGE, CS_WAL_FRAG_MIDDLE, 32761, rec + 32761);
    check_header(w.buf + 2 * PAGE, CS_WAL_FRAG_LAST, 4478, rec + 65522);
    CHECK_EQ(w.page_off, 7 + 4478);
    CHECK_EQ(w.pages_left, 5);
    free(w.buf);

    /* Compression flag on every fragment. */
    tw_init(&w, 8, 0);
    CHECK(tw_log(&w, rec, 70000, CS_WAL_FLAG_LZ4) > 0);
    CHECK_EQ(w.buf[0], CS_WAL_FRAG_FIRST | CS_WAL_FLAG_LZ4);
    CHECK_EQ(w.buf[PAGE], CS_WAL_FRAG_MIDDLE | CS_WAL_FLAG_LZ4);
    CHECK_EQ(w.buf[2 * PAGE], CS_WAL_FRAG_LAST | CS_WAL_FLAG_LZ4);
    free(w.buf);

    /* A record that exactly fills a page. */
    tw_init(&w, 2, 0);
    CHECK_EQ(tw_log(&w, rec, 32761, CS_WAL_FLAG_SNAPPY), PAGE);
    check_header(w.buf, CS_WAL_FRAG_FULL | CS_WAL_FLAG_SNAPPY, 32761, rec);
    CHECK_EQ(w.page_off, 0);
    CHECK_EQ(w.pages_left, 0);
    /* ...and exactly fills the segment's last page: position (32768, 0). */
    CHECK_EQ(tw_log(&w, rec, 32761, 0), PAGE);
    CHECK_EQ(w.page_off, PAGE);
    CHECK_EQ(w.pages_left, 0);
    size_t before = w.used;
    CHECK_EQ(tw_log(&w, rec, 0, 0), CS_E_FULL);
    CHECK_EQ(tw_log(&w, rec, 1, 0), CS_E_FULL);
    CHECK_EQ(w.used, before);
    CHECK_EQ(cs_wal_pad_page(w.buf, 0, PAGE), 0);
    free(w.buf);

    /* Fewer than 7 bytes left (a position our writer never leaves, but a
     * caller may pass): zero-filled, record on the next page. */
    for (size_t left = 0; left < 7; left++) {
        uint8_t o[64];
        memset(o, 0xEE, sizeof o);
        size_t po = PAGE - left;
        uint64_t pl = 1;
        CHECK_EQ(cs_wal_frame_record(o, sizeof o, rec, 10, 0, &po, &pl), (int64_t)left + 17);
        for (size_t i = 0; i < left; i++) CHECK_EQ(o[i], 0);
        check_header(o + left, CS_WAL_FRAG_FULL, 10, rec);
        CHECK(po == 17 && pl == 0);
    }
    /* A record that leaves < 7 bytes is followed by its zero fill at once. */
    tw_init(&w, 2, 0);
    w.buf[PAGE - 3] = 0xEE;
    CHECK_EQ(tw_log(&w, rec, PAGE - 7 - 3, 0), PAGE);
    CHECK(w.buf[PAGE - 3] == 0 && w.buf[PAGE - 1] == 0);
    CHECK_EQ(w.page_off, 0);
    free(w.buf);

    /* Exactly 7 bytes left: an empty first fragment, the rest next page. */
    tw_init(&w, 3, 0);
    CHECK(tw_log(&w, rec, PAGE - 14, 0) > 0);
    CHECK_EQ(w.page_off, PAGE - 7);
    CHECK_EQ(tw_log(&w, rec, 100, 0), 7 + 7 + 100);
    check_header(w.buf + PAGE - 7, CS_WAL_FRAG_FIRST, 0, rec);
    check_header(w.buf + PAGE, CS_WAL_FRAG_LAST, 100, rec);
    /* An empty record there is a single empty full fragment. */
    free(w.buf);
    tw_init(&w, 3, 0);
    CHECK(tw_log(&w, rec, PAGE - 14, 0) > 0);
    CHECK_EQ(tw_log(&w, rec, 0, 0), 7);
    check_header(w.buf + PAGE - 7, CS_WAL_FRAG_FULL, 0, rec);
    CHECK_EQ(w.page_off, 0);
    CHECK_EQ(w.pages_left, 1);
    free(w.buf);

    /* Output capacity: exact size works, one less writes nothing. */
    uint8_t small[64];
    memset(small, 0xCD, sizeof small);
    size_t po = 0;
    uint64_t pl = 3;
    CHECK_EQ(cs_wal_frame_record(small, 16, rec, 10, 0, &po, &pl), CS_E_NOSPACE);
    CHECK_EQ(small[0], 0xCD);
    CHECK_EQ(po, 0);
    CHECK_EQ(cs_wal_frame_record(small, 17, rec, 10, 0, &po, &pl), 17);
    po = PAGE - 3;
    CHECK_EQ(cs_wal_frame_record(small, 19, rec, 10, 0, &po, &pl), CS_E_NOSPACE);
    CHECK_EQ(cs_wal_frame_record(small, 20, rec, 10, 0, &po, &pl), 20);
    CHECK(po == 17 && pl == 2);

    /* Arguments. */
    po = PAGE + 1;
    CHECK_EQ(cs_wal_frame_record(small, 64, rec, 1, 0, &po, &pl), CS_E_ARG);
    po = 0;
    CHECK_EQ(cs_wal_frame_record(small, 64, rec, 1, 0x18, &po, &pl), CS_E_ARG);
    CHECK_EQ(cs_wal_frame_record(small, 64, rec, 1, 0x40, &po, &pl), CS_E_ARG);
    CHECK_EQ(cs_wal_frame_record(small, 64, rec, 1, 1, &po, &pl), CS_E_ARG);
    CHECK_EQ(cs_wal_frame_record(small, 64, NULL, 1, 0, &po, &pl), CS_E_ARG);
    CHECK_EQ(cs_wal_frame_record(small, 64, NULL, 0, 0, &po, &pl), 7); /* empty record */
    check_header(small, CS_WAL_FRAG_FULL, 0, rec);
    po = 0;
    CHECK_EQ(cs_wal_pad_page(small, 64, PAGE + 1), CS_E_ARG);
    CHECK_EQ(cs_wal_pad_page(small, 64, 0), 0);
    CHECK_EQ(cs_wal_pad_page(small, 64, PAGE - 100), CS_E_NOSPACE);
    CHECK_EQ(cs_wal_pad_page(small, 64, PAGE - 10), 10);
    CHECK_EQ(cs_wal_frame_bound(SIZE_MAX), 0);
    CHECK_EQ(cs_wal_frame_bound(0), 7 + 7 + 12);

    /* The bound holds from every starting offset. */
    static uint8_t big[4 * PAGE];
    size_t lens[] = {0, 1, 100, 32754, 32755, 32761, 32762, 65522, 65523, 98283};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        for (size_t off = 0; off <= PAGE; off += (off % 512 == 0 ? 1 : 509)) {
            po = off;
            pl = 10;
            int64_t r = cs_wal_frame_record(big, sizeof big, rec, lens[li], 0, &po, &pl);
            CHECK(r > 0 && (size_t)r <= cs_wal_frame_bound(lens[li]));
            CHECK_EQ((off + (size_t)r) % PAGE, po % PAGE);
        }
    }
}

/* ---- Segment space ----------------------------------------------------- */

static void test_segment_space(void) {
    static uint8_t rec[200000];
    fill(rec, sizeof rec, 2);
    tw w;

    /* 2-page segment holds 32761 + 32761 record bytes. */
    tw_init(&w, 2, 0);
    CHECK_EQ(tw_log(&w, rec, 65523, 0), CS_E_FULL);
    CHECK_EQ(w.used, 0);
    CHECK_EQ(w.buf[0], 0xEE);
    CHECK_EQ(tw_log(&w, rec, 65522, 0), 2 * PAGE);
    CHECK(w.page_off == PAGE && w.pages_left == 0);
    free(w.buf);

    /* Partly used: the check counts the rest of this page plus whole pages. */
    tw_init(&w, 2, 0);
    CHECK(tw_log(&w, rec, 1000, 0) > 0);
    size_t room = (PAGE - 1007 - 7) + 32761;
    CHECK_EQ(tw_log(&w, rec, room + 1, 0), CS_E_FULL);
    CHECK_EQ(w.used, 1007);
    CHECK(tw_log(&w, rec, room, 0) > 0);
    CHECK(w.page_off == PAGE && w.pages_left == 0);
    free(w.buf);

    /* When < 7 bytes are left on the last page nothing more fits. */
    tw_init(&w, 1, 0);
    CHECK(tw_log(&w, rec, PAGE - 7 - 5, 0) > 0);
    CHECK_EQ(w.page_off, PAGE);
    CHECK_EQ(tw_log(&w, rec, 0, 0), CS_E_FULL);
    free(w.buf);
    size_t po = PAGE - 5;
    uint64_t pl = 0;
    uint8_t tmp[64];
    CHECK_EQ(cs_wal_frame_record(tmp, sizeof tmp, rec, 0, 0, &po, &pl), CS_E_FULL);
    CHECK_EQ(cs_wal_pad_page(tmp, sizeof tmp, po), 5);

    /* A record larger than a whole segment: refused, then forced. */
    tw_init(&w, 2, 4 * PAGE);
    CHECK_EQ(tw_log(&w, rec, 150000, 0), CS_E_FULL);
    w.pages_left = CS_WAL_PAGES_UNLIMITED;
    int64_t r = tw_log(&w, rec, 150000, 0);
    CHECK(r > 2 * PAGE);
    CHECK_EQ(w.pages_left, CS_WAL_PAGES_UNLIMITED);
    tw_close(&w);
    cs_wal_reader rd;
    cs_wal_read res;
    static uint8_t out[200000];
    cs_wal_reader_init(&rd, w.buf, w.used);
    CHECK_EQ(cs_wal_reader_next(&rd, out, sizeof out, &res), 1);
    CHECK(res.length == 150000 && memcmp(out, rec, 150000) == 0);
    CHECK_EQ(cs_wal_reader_next(&rd, out, sizeof out, &res), 0);
    free(w.buf);
}
/* ---- Round trips ------------------------------------------------------- */

/* Compresses rec with the given codec; returns the stored length and flags. */
static size_t compress_rec(const uint8_t *rec, size_t len, unsigned codec, uint8_t *dst,
                           size_t cap, unsigned *flags) {
    *flags = 0;
    if (codec == CS_WAL_FLAG_LZ4) {
        int64_t c = cs_wal_compress_lz4(rec, len, dst, cap);
        CHECK(c >= 0);
        if (c > 0) {
            *flags = CS_WAL_FLAG_LZ4;
            return (size_t)c;
        }
    } else if (codec == CS_WAL_FLAG_SNAPPY && len > 0) {
        size_t c = cap;
        CHECK(snappy_compress((const char *)rec, len, (char *)dst, &c) == SNAPPY_OK);
        if (c < len) {
            *flags = CS_WAL_FLAG_SNAPPY;
            return c;
        }
    }
    memcpy(dst, rec, len);
    return len;
}

/* Builds one record of each kind. */
static size_t build_records(uint8_t **recs, size_t *lens) {
    static uint8_t series[4096], samples[200000], stones[256], big_series[120000];
    size_t n = 0;
    cs_wal_label l[3] = {
        {{(const uint8_t *)"__name__", 8}, {(const uint8_t *)"node_cpu_seconds_total", 22}},
        {{(const uint8_t *)"cpu", 3}, {(const uint8_t *)"0", 1}},
        {{(const uint8_t *)"mode", 4}, {(const uint8_t *)"idle", 4}},
    };
    size_t sl = (size_t)cs_wal_record_begin(series, sizeof series, CS_WAL_REC_SERIES);
    for (uint64_t ref = 1; ref <= 50; ref++)
        sl += (size_t)cs_wal_series_append(series + sl, sizeof series - sl, ref, l, 3);
    recs[n] = series, lens[n++] = sl;

    /* A series record over three pages (a checkpoint-style big record). */
    size_t bl = (size_t)cs_wal_record_begin(big_series, sizeof big_series, CS_WAL_REC_SERIES);
    for (uint64_t ref = 1; bl + 200 < sizeof big_series; ref++)
        bl += (size_t)cs_wal_series_append(big_series + bl, sizeof big_series - bl, ref, l, 3);
    recs[n] = big_series, lens[n++] = bl;

    static uint64_t refs[7000], vals[7000];
    static int64_t ts[7000];
    for (size_t i = 0; i < 7000; i++) {
        refs[i] = 1 + i % 50;
        ts[i] = 1700000000000 + (int64_t)(i / 50) * 15000;
        vals[i] = 0x4059000000000000u + i;
    }
    recs[n] = samples, lens[n++] = (size_t)cs_wal_samples_encode(samples, sizeof samples, refs, ts, vals, 7000);
    static uint8_t few[128];
    recs[n] = few, lens[n++] = (size_t)cs_wal_samples_encode(few, sizeof few, refs, ts, vals, 3);
    static uint8_t empty[1];
    recs[n] = empty, lens[n++] = (size_t)cs_wal_samples_encode(empty, 1, refs, ts, vals, 0);
    cs_wal_tombstone st[2] = {{3, 0, 100}, {4, -1, 1}};
    recs[n] = stones, lens[n++] = (size_t)cs_wal_tombstones_encode(stones, sizeof stones, st, 2);
    return n;
}

/* Decodes a record of any of our types and checks it against the original. */
static void check_decodes(const uint8_t *rec, size_t len) {
    static uint64_t r[20000], v[20000];
    static int64_t t[20000];
    static cs_wal_tombstone s[100];
    cs_wal_label labels[8];
    switch (cs_wal_record_type(rec, len)) {
    case CS_WAL_REC_SERIES: {
        cs_wal_series_iter it;
        uint64_t ref;
        size_t nl, count = 0;
        int rc;
        CHECK_EQ(cs_wal_series_iter_init(&it, rec, len), CS_OK);
        while ((rc = cs_wal_series_next(&it, &ref, labels, 8, &nl)) == 1) {
            count++;
            CHECK(ref == count && nl == 3);
        }
        CHECK_EQ(rc, 0);
        break;
    }
    case CS_WAL_REC_SAMPLES: {
        int64_t n = cs_wal_samples_decode(rec, len, r, t, v, 20000);
        CHECK(n == 0 || n == 3 || n == 7000);
        if (n > 0) CHECK(r[n - 1] == 1 + (uint64_t)(n - 1) % 50 && v[n - 1] == 0x4059000000000000u + (uint64_t)n - 1);
        break;
    }
    case CS_WAL_REC_TOMBSTONES:
        CHECK_EQ(cs_wal_tombstones_decode(rec, len, s, 100), 2);
        CHECK(s[1].mint == -1 && s[1].maxt == 1);
        break;
    default:
        CHECK(0);
    }
}

static void test_round_trip(void) {
    uint8_t *recs[8];
    size_t lens[8];
    size_t nrec = build_records(recs, lens);
    const unsigned codecs[3] = {0, CS_WAL_FLAG_LZ4, CS_WAL_FLAG_SNAPPY};
    static uint8_t stored[8][220000];
    static uint8_t out[220000], plain[220000];

    for (int ci = 0; ci < 3; ci++) {
        unsigned flags[8];
        size_t slen[8];
        for (size_t i = 0; i < nrec; i++) {
            slen[i] = compress_rec(recs[i], lens[i], codecs[ci], stored[i], sizeof stored[i], &flags[i]);
            if (ci > 0 && lens[i] > 1000) CHECK_EQ(flags[i], codecs[ci]);
            if (lens[i] <= 1) CHECK_EQ(flags[i], 0);
        }
        /* Several passes so records start at many page offsets. */
        tw w;
        tw_init(&w, 32, 0);
        size_t starts[64], count = 0;
        for (int pass = 0; pass < 3; pass++) {
            for (size_t i = 0; i < nrec; i++) {
                starts[count++] = w.used + ((PAGE - w.page_off % PAGE) < 7 ? PAGE - w.page_off % PAGE : 0);
                CHECK(tw_log(&w, stored[i], slen[i], flags[i]) > 0);
            }
        }
        size_t unpadded = w.used;
        tw_close(&w);

        /* Read the padded segment, and the unpadded one (as flushed mid-page). */
        for (int variant = 0; variant < 2; variant++) {
            cs_wal_reader r;
            cs_wal_read res;
            cs_wal_reader_init(&r, w.buf, variant == 0 ? w.used : unpadded);
            for (size_t k = 0; k < count; k++) {
                size_t i = k % nrec;
                CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 1);
                CHECK_EQ(res.offset, starts[k]);
                CHECK_EQ(res.length, slen[i]);
                CHECK_EQ(res.flags, flags[i]);
                CHECK(memcmp(out, stored[i], slen[i]) == 0);
                size_t need = 0;
                int64_t d = cs_wal_decompress(res.flags, out, res.length, plain, sizeof plain, &need);
                CHECK_EQ(d, lens[i]);
                CHECK(memcmp(plain, recs[i], lens[i]) == 0);
                if (lens[i] > 0) {
                    CHECK_EQ(cs_wal_decompress(res.flags, out, res.length, plain, lens[i] - 1, &need),
                             CS_E_NOSPACE);
                    CHECK_EQ(need, lens[i]);
                }
                check_decodes(plain, (size_t)d);
            }
            CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 0);
            CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 0);
        }
        free(w.buf);
    }
}

/* Random records, random segment sizes, cut on CS_E_FULL, read back. */
static void test_random_segments(void) {
    uint64_t seed = 0xC0FFEE;
    static uint8_t pool[300000], out[300000], comp[310000];
    fill(pool, sizeof pool, 3);
    for (size_t i = 0; i + 40 < sizeof pool; i += 1 + cs_test_rand(&seed) % 64)
        memset(pool + i, 'x', cs_test_rand(&seed) % 40); /* make it compressible in places */

    for (int round = 0; round < 20; round++) {
        size_t seg_pages = 1 + cs_test_rand(&seed) % 4;
        enum { MAXSEG = 64, MAXREC = 120 };
        tw segs[MAXSEG];
        size_t nseg = 0;
        size_t rec_off[MAXREC], rec_len[MAXREC];
        unsigned rec_codec[MAXREC];
        size_t nrec = 40 + cs_test_rand(&seed) % 80;
        tw_init(&segs[nseg++], seg_pages, 8 * PAGE);
        for (size_t k = 0; k < nrec; k++) {
            uint64_t x = cs_test_rand(&seed);
            size_t len = x % 8 == 0 ? 60000 + x % 100000 : (x >> 8) % (x % 3 == 0 ? 40000 : 300);
            rec_off[k] = (x >> 20) % (sizeof pool - len);
            rec_len[k] = len;
            rec_codec[k] = (x >> 40) % 3 == 0 ? CS_WAL_FLAG_LZ4 : (x >> 40) % 3 == 1 ? CS_WAL_FLAG_SNAPPY : 0;
            unsigned flags;
            size_t sl = compress_rec(pool + rec_off[k], len, rec_codec[k], comp, sizeof comp, &flags);
            tw *w = &segs[nseg - 1];
            int64_t r = tw_log(w, comp, sl, flags);
            if (r == CS_E_FULL) {
                tw_close(w);
                tw_init(&segs[nseg++], seg_pages, 8 * PAGE);
                w = &segs[nseg - 1];
                r = tw_log(w, comp, sl, flags);
                if (r == CS_E_FULL) {
                    w->pages_left = CS_WAL_PAGES_UNLIMITED;
                    r = tw_log(w, comp, sl, flags);
                }
            }
            CHECK(r > 0);
            if (w->pages_left == CS_WAL_PAGES_UNLIMITED) {
                /* An oversized segment takes nothing more. */
                tw_close(w);
                tw_init(&segs[nseg++], seg_pages, 8 * PAGE);
            }
            if (nseg == MAXSEG) {
                nrec = k + 1;
                break;
            }
        }
        tw_close(&segs[nseg - 1]);

        size_t k = 0;
        for (size_t s = 0; s < nseg; s++) {
            cs_wal_reader r;
            cs_wal_read res;
            cs_wal_reader_init(&r, segs[s].buf, segs[s].used);
            int rc;
            while ((rc = cs_wal_reader_next(&r, out, 1, &res)) != 0) {
                if (rc == CS_E_NOSPACE) {
                    CHECK(res.length > 1);
                    rc = cs_wal_reader_next(&r, out, res.length, &res);
                }
                CHECK_EQ(rc, 1);
                if (rc != 1 || k >= nrec) break;
                int64_t d = cs_wal_decompress(res.flags, out, res.length, comp, sizeof comp, NULL);
                CHECK_EQ(d, rec_len[k]);
                CHECK(d >= 0 && memcmp(comp, pool + rec_off[k], (size_t)d) == 0);
                k++;
            }
            free(segs[s].buf);
        }
        CHECK_EQ(k, nrec);
    }
}
void cs_test_frame(void) {
    test_writer_layout();
    test_segment_space();
    test_round_trip();
    test_random_segments();
}
