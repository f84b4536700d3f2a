/* Reader tests: every corruption it must locate (flipped bits, cuts, zeroed
 * pages, garbage, bad padding and sequences), buffers and growth, and the
 * compression helpers. */
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "cs_wal_frame.h"
#include "cs_wal_record.h"
#include "test_segment.h"
#include "test_util.h"

/* ---- Reader: corruption ------------------------------------------------ */

/* Moves a writer to the start of the next page, zero-filling this one. */
static void tw_next_page(tw *w) {
    tw_close(w);
    if (w->page_off != 0) {
        w->page_off = 0;
        w->pages_left--;
    }
}

/* Reads until the first non-record result; returns it and the records seen. */
static int read_all(const uint8_t *seg, size_t len, size_t *nread, cs_wal_read *last) {
    static uint8_t out[70000];
    cs_wal_reader r;
    cs_wal_reader_init(&r, seg, len);
    int rc;
    *nread = 0;
    while ((rc = cs_wal_reader_next(&r, out, sizeof out, last)) == 1) (*nread)++;
    return rc;
}

/* A closed segment of records of 40..2000 bytes over about three pages,
 * record 3 spanning two page boundaries. starts/ends: where each record's
 * first fragment begins and its last fragment ends. */
static size_t small_segment(tw *w, size_t *starts, size_t *ends, size_t max) {
    static uint8_t rec[70000], out[70000];
    fill(rec, sizeof rec, 4);
    uint64_t seed = 99;
    size_t n = 0;
    tw_init(w, 4, 0);
    while (n < max) {
        size_t len = n == 3 ? 40000 : 40 + cs_test_rand(&seed) % 2000;
        if (tw_log(w, rec + n, len, 0) <= 0) break;
        n++;
    }
    tw_close(w);
    cs_wal_reader r;
    cs_wal_read res;
    cs_wal_reader_init(&r, w->buf, w->used);
    for (size_t k = 0; k < n; k++) {
        CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 1);
        starts[k] = res.offset;
        ends[k] = r.off;
    }
    return n;
}

static void test_bit_flips_and_cuts(void) {
    tw w;
    size_t starts[64], ends[64];
    size_t n = small_segment(&w, starts, ends, 12);
    CHECK(n == 12 && ends[3] - starts[3] > PAGE);
    cs_wal_read res;
    size_t nread;
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), 0);
    CHECK_EQ(nread, n);
    uint8_t *seg = malloc(w.used);

    /* A flipped bit anywhere in a record: that record fails at its start and
     * all records before it are read. The exception is a compression flag on
     * a single-fragment record: flags are outside the CRC (as in Prometheus),
     * so the record reads back flagged and decompression has to catch it. */
    for (size_t k = 0; k < n; k++) {
        int multi = ends[k] - starts[k] > PAGE - starts[k] % PAGE;
        size_t step = multi ? 53 : 1;
        for (size_t at = starts[k]; at < ends[k]; at += step) {
            /* Every bit of the first header, one bit per byte elsewhere. */
            int all = at < starts[k] + CS_WAL_HEADER_SIZE;
            for (int bit = all ? 0 : (int)(at % 8); bit < 8; bit += all ? 1 : 8) {
                memcpy(seg, w.buf, w.used);
                seg[at] ^= (uint8_t)(1u << bit);
                int rc = read_all(seg, w.used, &nread, &res);
                if (!multi && at == starts[k] && bit >= 3 && bit <= 5) {
                    CHECK_EQ(rc, 0);
                    CHECK_EQ(nread, n);
                    continue;
                }
                CHECK(rc == CS_E_CRC || rc == CS_E_CORRUPT || rc == CS_E_TORN);
                CHECK_EQ(res.offset, starts[k]);
                CHECK_EQ(nread, k);
            }
        }
    }
    /* A data bit gives CS_E_CRC, also in a middle fragment. */
    memcpy(seg, w.buf, w.used);
    seg[starts[5] + 20] ^= 1;
    CHECK_EQ(read_all(seg, w.used, &nread, &res), CS_E_CRC);
    CHECK(res.offset == starts[5] && nread == 5);
    memcpy(seg, w.buf, w.used);
    seg[(starts[3] / PAGE + 1) * PAGE + 100] ^= 0x10;
    CHECK_EQ(read_all(seg, w.used, &nread, &res), CS_E_CRC);
    CHECK(res.offset == starts[3] && nread == 3);

    /* Truncated anywhere: records wholly before the cut are read; a cut
     * inside a record is CS_E_TORN at its start; a cut in padding is a clean
     * end. Every offset near a record edge, a sample elsewhere. */
    for (size_t cut = 0; cut <= w.used; cut++) {
        int near = cut % 37 == 0;
        for (size_t j = 0; j < n && !near; j++)
            near = (cut + 20 > starts[j] && cut < starts[j] + 20) ||
                   (cut + 20 > ends[j] && cut < ends[j] + 20) || cut % PAGE < 10;
        if (!near) continue;
        size_t k = 0;
        while (k < n && ends[k] <= cut) k++;
        int rc = read_all(w.buf, cut, &nread, &res);
        CHECK_EQ(nread, k);
        if (k < n && cut > starts[k]) {
            CHECK_EQ(rc, CS_E_TORN);
            CHECK_EQ(res.offset, starts[k]);
        } else {
            CHECK_EQ(rc, 0);
            CHECK_EQ(res.offset, k ? ends[k - 1] : 0);
        }
    }

    /* Garbage right after the last record, and at the start of a later page. */
    size_t tail = ends[n - 1];
    CHECK(tail % PAGE != 0 && tail % PAGE < PAGE - 100);
    static uint8_t seg2[6 * PAGE];
    const uint8_t junk[][8] = {
        {0xFF, 1, 2, 3, 4, 5, 6, 7},             /* bad type and reserved bits */
        {0x01, 0x00, 0x04, 1, 2, 3, 4, 9},       /* plausible header, bad CRC */
        {0x03, 0x00, 0x00, 0, 0, 0, 0, 0},       /* middle without first */
        {0x01, 0x7F, 0xFF, 0, 0, 0, 0, 0},       /* length past the page */
        {0x00, 0x00, 0x00, 0x00, 0x01, 0, 0, 0}, /* nonzero padding */
        {0x02, 0x00, 0x00, 0, 0, 0, 0, 0},       /* empty first, then zeros: torn */
        {0x09, 0x00, 0x00, 0, 0, 0, 0, 0},       /* empty snappy-flagged record: valid */
        {0x19, 0x00, 0x00, 0, 0, 0, 0, 0},       /* two compression flags */
    };
    const int want[] = {CS_E_CORRUPT, CS_E_CRC, CS_E_CORRUPT, CS_E_CORRUPT,
                        CS_E_CORRUPT, CS_E_TORN, 0, CS_E_CORRUPT};
    for (size_t j = 0; j < sizeof want / sizeof *want; j++) {
        for (int later = 0; later < 2; later++) {
            size_t at = later ? w.used : tail;
            memcpy(seg2, w.buf, w.used);
            memset(seg2 + w.used, 0, sizeof seg2 - w.used);
            memcpy(seg2 + at, junk[j], 8);
            int rc = read_all(seg2, sizeof seg2, &nread, &res);
            CHECK_EQ(rc, want[j]);
            CHECK_EQ(nread, n + (want[j] == 0));
            if (want[j] != 0) CHECK_EQ(res.offset, at);
            else CHECK_EQ(res.offset, at + 7);
        }
    }
    free(seg);
    free(w.buf);
}

static void test_zeroed_pages(void) {
    static uint8_t rec[70000];
    fill(rec, sizeof rec, 8);
    cs_wal_read res;
    size_t nread;

    /* Records on pages 0, 1 and 2, each page zero-filled after them. */
    tw w;
    tw_init(&w, 4, 0);
    CHECK(tw_log(&w, rec, 500, 0) > 0);
    tw_next_page(&w);
    CHECK(tw_log(&w, rec, 600, 0) > 0);
    tw_next_page(&w);
    CHECK(tw_log(&w, rec, 700, 0) > 0);
    tw_close(&w);
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), 0);
    CHECK_EQ(nread, 3);
    CHECK_EQ(res.offset, 2 * PAGE + 707);

    /* Page 1 zeroed, data after it: corruption at page 1. */
    memset(w.buf + PAGE, 0, PAGE);
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), CS_E_CORRUPT);
    CHECK(res.offset == PAGE && nread == 1);
    /* Pages 1 and 2 zeroed: the zero tail, a clean end after record 0. */
    memset(w.buf + 2 * PAGE, 0, PAGE);
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), 0);
    CHECK(res.offset == 507 && nread == 1);
    free(w.buf);

    /* A zeroed page inside a multi-page record: torn at the record. */
    tw_init(&w, 4, 0);
    CHECK(tw_log(&w, rec, 100, 0) > 0);
    CHECK(tw_log(&w, rec, 70000, 0) > 0);
    CHECK(tw_log(&w, rec, 100, 0) > 0);
    tw_close(&w);
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), 0);
    CHECK_EQ(nread, 3);
    memset(w.buf + PAGE, 0, PAGE);
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), CS_E_TORN);
    CHECK(res.offset == 107 && nread == 1);
    free(w.buf);

    /* Nonzero byte in the < 7 byte fill at a page end. */
    tw_init(&w, 2, 0);
    CHECK(tw_log(&w, rec, PAGE - 7 - 4, 0) > 0);
    CHECK(tw_log(&w, rec, 100, 0) > 0);
    tw_close(&w);
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), 0);
    CHECK_EQ(nread, 2);
    w.buf[PAGE - 2] = 1;
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), CS_E_CORRUPT);
    CHECK(res.offset == PAGE - 4 && nread == 1);
    w.buf[PAGE - 2] = 0;
    w.buf[PAGE - 4] = 1; /* a header that cannot fit in the page */
    CHECK_EQ(read_all(w.buf, w.used, &nread, &res), CS_E_CORRUPT);
    CHECK(res.offset == PAGE - 4 && nread == 1);
    free(w.buf);
}

static void test_fragment_sequences(void) {
    static uint8_t s[3 * PAGE];
    cs_wal_read res;
    size_t nread;
    memset(s, 0, sizeof s);
    s[0] = CS_WAL_FRAG_FIRST; /* empty first + empty full: out of order */
    s[7] = CS_WAL_FRAG_FULL;
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), CS_E_CORRUPT);
    CHECK_EQ(res.offset, 0);
    s[7] = CS_WAL_FRAG_LAST;
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), 0);
    CHECK_EQ(nread, 1);
    s[7] = CS_WAL_FRAG_LAST | CS_WAL_FLAG_LZ4; /* flags must agree */
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), CS_E_CORRUPT);
    s[0] = CS_WAL_FRAG_FIRST | CS_WAL_FLAG_LZ4;
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), 0);
    CHECK_EQ(res.flags, 0); /* a clean end carries no flags */
    s[7] = CS_WAL_FRAG_MIDDLE | CS_WAL_FLAG_LZ4;
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), CS_E_TORN);
    s[0] = CS_WAL_FRAG_FULL | 0x40;
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), CS_E_CORRUPT);
    s[0] = 5;
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), CS_E_CORRUPT);
    s[0] = CS_WAL_FLAG_SNAPPY; /* flags on a padding byte */
    CHECK_EQ(read_all(s, sizeof s, &nread, &res), CS_E_CORRUPT);
    s[0] = CS_WAL_FRAG_FULL | CS_WAL_FLAG_ZSTD; /* recognised, handed on */
    s[7] = 0;
    cs_wal_reader r;
    uint8_t out[8];
    cs_wal_reader_init(&r, s, sizeof s);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 1);
    CHECK_EQ(res.flags, CS_WAL_FLAG_ZSTD);
}
/* ---- Reader: buffers, ends, growth ------------------------------------- */

static void test_reader_misc(void) {
    static uint8_t rec[50000];
    fill(rec, sizeof rec, 6);
    tw w;
    tw_init(&w, 4, 0);
    CHECK(tw_log(&w, rec, 100, 0) > 0);
    CHECK(tw_log(&w, rec, 40000, 0) > 0);
    size_t mid = w.used;
    CHECK(tw_log(&w, rec, 5, 0) > 0);
    size_t used = w.used;

    cs_wal_reader r;
    cs_wal_read res;
    static uint8_t out[50000];
    cs_wal_reader_init(&r, w.buf, used);
    CHECK_EQ(cs_wal_reader_next(&r, out, 99, &res), CS_E_NOSPACE);
    CHECK(res.length == 100 && res.offset == 0 && r.off == 0);
    CHECK_EQ(cs_wal_reader_next(&r, NULL, 0, &res), CS_E_NOSPACE);
    CHECK_EQ(cs_wal_reader_next(&r, out, 100, &res), 1);
    CHECK_EQ(cs_wal_reader_next(&r, out, 32000, &res), CS_E_NOSPACE);
    CHECK_EQ(res.length, 40000);
    CHECK_EQ(cs_wal_reader_next(&r, out, 40000, &res), 1);
    CHECK(memcmp(out, rec, 40000) == 0);

    /* A growing file: the tail record is not there yet, then it is. */
    cs_wal_reader_init(&r, w.buf, mid - 10);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 1);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), CS_E_TORN);
    CHECK_EQ(res.offset, 107);
    CHECK_EQ(cs_wal_reader_update(&r, w.buf, used), CS_OK);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 1);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 1);
    CHECK_EQ(res.length, 5);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 0);
    CHECK_EQ(res.offset, used);
    CHECK_EQ(cs_wal_reader_update(&r, w.buf, 3), CS_E_ARG);

    /* Empty and all-zero segments are clean ends at 0. */
    cs_wal_reader_init(&r, NULL, 0);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 0);
    static uint8_t zeros[3 * PAGE];
    cs_wal_reader_init(&r, zeros, sizeof zeros);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 0);
    CHECK_EQ(res.offset, 0);
    cs_wal_reader_init(&r, zeros, 5);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &res), 0);
    free(w.buf);
}
/* ---- Compression helpers ------------------------------------------------ */

static void test_compression(void) {
    static uint8_t rec[1 << 20], comp[(1 << 20) + (1 << 18)], out[1 << 20];
    memset(rec, 0, sizeof rec);
    size_t need = 0;

    /* Incompressible data is not kept. */
    uint8_t rnd[1000];
    fill(rnd, sizeof rnd, 7);
    CHECK_EQ(cs_wal_compress_lz4(rnd, sizeof rnd, comp, sizeof comp), 0);
    CHECK_EQ(cs_wal_compress_lz4(rnd, 0, comp, sizeof comp), 0);
    CHECK_EQ(cs_wal_compress_lz4(rnd, sizeof rnd, comp, cs_wal_compress_lz4_bound(sizeof rnd) - 1),
             CS_E_NOSPACE);

    /* Highly compressible data round trips; prefix checks hold at the
     * extreme ratios of both codecs. */
    int64_t c = cs_wal_compress_lz4(rec, sizeof rec, comp, sizeof comp);
    CHECK(c > 0 && c < 5000);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4, comp, (size_t)c, out, sizeof out, &need), sizeof rec);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4, comp, (size_t)c, out, 1000, &need), CS_E_NOSPACE);
    CHECK_EQ(need, sizeof rec);
    /* Truncated LZ4 data and a prefix that lies. */
    for (size_t cut = 0; cut < (size_t)c; cut += 1 + cut / 8) {
        int64_t d = cs_wal_decompress(CS_WAL_FLAG_LZ4, comp, cut, out, sizeof out, &need);
        CHECK(d == CS_E_CORRUPT || d == CS_E_COMPRESS);
    }
    size_t sc = sizeof comp;
    CHECK(snappy_compress((const char *)rec, sizeof rec, (char *)comp, &sc) == SNAPPY_OK);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_SNAPPY, comp, sc, out, sizeof out, &need), sizeof rec);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_SNAPPY, comp, sc, out, 10, &need), CS_E_NOSPACE);
    CHECK_EQ(need, sizeof rec);
    for (size_t cut = 0; cut < sc; cut += 1 + cut / 8) {
        int64_t d = cs_wal_decompress(CS_WAL_FLAG_SNAPPY, comp, cut, out, sizeof out, &need);
        CHECK(d == CS_E_CORRUPT || d == CS_E_COMPRESS);
    }
    /* Size prefixes that the input could never produce. */
    uint8_t bomb[4] = {0x80, 0x80, 0x80, 0x04}; /* uvarint 2^30 then nothing */
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_SNAPPY, bomb, 4, out, sizeof out, &need), CS_E_CORRUPT);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4, bomb, 4, out, sizeof out, &need), CS_E_CORRUPT);
    /* A plausible prefix with a body that copies from before the start. */
    const uint8_t badcopy[3] = {10, 0x01, 0x05};
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_SNAPPY, badcopy, 3, out, sizeof out, &need), CS_E_COMPRESS);
    const uint8_t badlz4[8] = {10, 0x0F, 0x05, 0x00, 0, 0, 0, 0};
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4, badlz4, 8, out, sizeof out, &need), CS_E_COMPRESS);
    /* A valid LZ4 block of 1 byte under a prefix claiming 10. */
    const uint8_t shortlz4[3] = {10, 0x10, 0x05};
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4, shortlz4, 3, out, sizeof out, &need), CS_E_CORRUPT);
    uint8_t ovf[11];
    memset(ovf, 0xFF, sizeof ovf);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4, ovf, sizeof ovf, out, sizeof out, &need), CS_E_CORRUPT);

    CHECK_EQ(cs_wal_decompress(0, rnd, sizeof rnd, out, sizeof out, &need), sizeof rnd);
    CHECK_EQ(cs_wal_decompress(0, rnd, sizeof rnd, out, 10, &need), CS_E_NOSPACE);
    CHECK_EQ(need, sizeof rnd);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_ZSTD, rnd, 10, out, sizeof out, &need), CS_E_COMPRESS);
    CHECK_EQ(cs_wal_decompress(CS_WAL_FLAG_LZ4 | CS_WAL_FLAG_SNAPPY, rnd, 10, out, sizeof out, &need),
             CS_E_ARG);
    CHECK_EQ(cs_wal_decompress(0x40, rnd, 10, out, sizeof out, &need), CS_E_ARG);
}
void cs_test_reader(void) {
    test_bit_flips_and_cuts();
    test_zeroed_pages();
    test_fragment_sequences();
    test_reader_misc();
    test_compression();
}
