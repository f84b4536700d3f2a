/* Known-answer test: a framed segment computed by hand from the format spec
 * (CRCs from an independent bitwise CRC32C), compared byte for byte. */
#include <string.h>

#include "cs_crc32c.h"
#include "cs_wal_frame.h"
#include "cs_wal_record.h"
#include "test_util.h"

#define L(s) {(const uint8_t *)(s), sizeof(s) - 1}

static const uint8_t kat_series[55] = {
    0x01,                                           /* type: series */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* ref 1 */
    0x02,                                           /* 2 labels */
    0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x02, 'u', 'p',
    0x03, 'j', 'o', 'b', 0x01, 'a',
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* ref 2 */
    0x02,
    0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x02, 'u', 'p',
    0x03, 'j', 'o', 'b', 0x01, 'b',
};

static const uint8_t kat_samples[37] = {
    0x02,                                           /* type: samples */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* baseRef 2 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8, /* baseT 1000 */
    0x00, 0x00,                                     /* dRef 0, dT 0 */
    0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 1.0 */
    0x01, 0x13,                                     /* dRef -1 -> 1, dT -10 -> 19 */
    0x3F, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0.5 */
};

void cs_test_kat(void) {
    CHECK_EQ(cs_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ(cs_crc32c(0, "", 0), 0);

    /* Records from the encoders. */
    uint8_t rec[128];
    cs_wal_label la[2] = {{L("__name__"), L("up")}, {L("job"), L("a")}};
    cs_wal_label lb[2] = {{L("__name__"), L("up")}, {L("job"), L("b")}};
    size_t n = 0;
    n += (size_t)cs_wal_record_begin(rec, sizeof rec, CS_WAL_REC_SERIES);
    n += (size_t)cs_wal_series_append(rec + n, sizeof rec - n, 1, la, 2);
    n += (size_t)cs_wal_series_append(rec + n, sizeof rec - n, 2, lb, 2);
    CHECK_EQ(n, sizeof kat_series);
    CHECK(memcmp(rec, kat_series, sizeof kat_series) == 0);

    uint64_t refs[2] = {2, 1};
    int64_t ts[2] = {1000, 990};
    uint64_t vals[2] = {0x3FF0000000000000u, 0x3FE0000000000000u};
    uint8_t srec[128];
    int64_t sn = cs_wal_samples_encode(srec, sizeof srec, refs, ts, vals, 2);
    CHECK_EQ(sn, sizeof kat_samples);
    CHECK(memcmp(srec, kat_samples, sizeof kat_samples) == 0);

    /* The framed segment: two full fragments, then the page zero-filled. */
    static uint8_t want[CS_WAL_PAGE_SIZE];
    memset(want, 0, sizeof want);
    const uint8_t h1[7] = {0x01, 0x00, 0x37, 0xC7, 0x23, 0x0A, 0x26};
    const uint8_t h2[7] = {0x01, 0x00, 0x25, 0x17, 0xE0, 0x5A, 0x48};
    memcpy(want, h1, 7);
    memcpy(want + 7, kat_series, 55);
    memcpy(want + 62, h2, 7);
    memcpy(want + 69, kat_samples, 37);

    static uint8_t seg[CS_WAL_PAGE_SIZE + 64];
    memset(seg, 0xAA, sizeof seg);
    size_t page_off = 0, used = 0;
    uint64_t pages_left = 3;
    int64_t w = cs_wal_frame_record(seg, sizeof seg, kat_series, 55, 0, &page_off, &pages_left);
    CHECK_EQ(w, 62);
    used += (size_t)w;
    w = cs_wal_frame_record(seg + used, sizeof seg - used, kat_samples, 37, 0, &page_off, &pages_left);
    CHECK_EQ(w, 44);
    used += (size_t)w;
    CHECK_EQ(page_off, 106);
    CHECK_EQ(pages_left, 3);
    w = cs_wal_pad_page(seg + used, sizeof seg - used, page_off);
    CHECK_EQ(w, CS_WAL_PAGE_SIZE - 106);
    used += (size_t)w;
    CHECK_EQ(used, CS_WAL_PAGE_SIZE);
    CHECK(memcmp(seg, want, CS_WAL_PAGE_SIZE) == 0);
    CHECK_EQ(seg[CS_WAL_PAGE_SIZE], 0xAA);

    /* And back. */
    cs_wal_reader r;
    cs_wal_read rd;
    uint8_t out[128];
    cs_wal_reader_init(&r, want, sizeof want);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &rd), 1);
    CHECK_EQ(rd.offset, 0);
    CHECK_EQ(rd.length, 55);
    CHECK_EQ(rd.flags, 0);
    CHECK(memcmp(out, kat_series, 55) == 0);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &rd), 1);
    CHECK_EQ(rd.offset, 62);
    CHECK_EQ(rd.length, 37);
    CHECK(memcmp(out, kat_samples, 37) == 0);
    CHECK_EQ(cs_wal_reader_next(&r, out, sizeof out, &rd), 0);
    CHECK_EQ(rd.offset, 106);

    uint64_t dr[4];
    int64_t dt[4];
    uint64_t dv[4];
    CHECK_EQ(cs_wal_samples_decode(kat_samples, 37, dr, dt, dv, 4), 2);
    CHECK(dr[0] == 2 && dr[1] == 1 && dt[0] == 1000 && dt[1] == 990);
    CHECK(dv[0] == vals[0] && dv[1] == vals[1]);

    cs_wal_series_iter it;
    cs_wal_label got[4];
    uint64_t ref;
    CHECK_EQ(cs_wal_series_iter_init(&it, kat_series, 55), CS_OK);
    CHECK_EQ(cs_wal_series_next(&it, &ref, got, 4, &n), 1);
    CHECK(ref == 1 && n == 2);
    CHECK(got[1].value.len == 1 && got[1].value.ptr[0] == 'a');
    CHECK(got[0].name.ptr == kat_series + 11); /* a span into the record */
    CHECK_EQ(cs_wal_series_next(&it, &ref, got, 4, &n), 1);
    CHECK(ref == 2 && n == 2 && got[1].value.ptr[0] == 'b');
    CHECK_EQ(cs_wal_series_next(&it, &ref, got, 4, &n), 0);
}
