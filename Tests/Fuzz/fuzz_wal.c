/* libFuzzer target for the WAL reader, decompression and record decoders,
 * plus a writer -> reader round trip. Byte 0 picks the mode; the rest is the
 * input. Invariants are checked with abort() so the fuzzer reports them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cs_wal_frame.h"
#include "cs_wal_record.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static uint8_t g_rec[1 << 20], g_plain[1 << 20], g_seg[8 * CS_WAL_PAGE_SIZE];
static uint64_t g_refs[1 << 16], g_vals[1 << 16];
static int64_t g_ts[1 << 16];
static cs_wal_tombstone g_stones[1 << 14];

static void decode_record(const uint8_t *rec, size_t len) {
    int type = cs_wal_record_type(rec, len);
    if (type == CS_WAL_REC_SERIES) {
        cs_wal_series_iter it;
        cs_wal_label labels[16];
        uint64_t ref;
        size_t n;
        REQUIRE(cs_wal_series_iter_init(&it, rec, len) == CS_OK);
        for (;;) {
            int rc = cs_wal_series_next(&it, &ref, labels, 16, &n);
            if (rc != 1) break;
            for (size_t i = 0; i < n; i++) {
                REQUIRE(labels[i].name.ptr >= rec && labels[i].name.ptr + labels[i].name.len <= rec + len);
                REQUIRE(labels[i].value.ptr >= rec && labels[i].value.ptr + labels[i].value.len <= rec + len);
            }
        }
    } else if (type == CS_WAL_REC_SAMPLES) {
        size_t max = cs_wal_samples_count_max(len);
        int64_t a = cs_wal_samples_decode(rec, len, g_refs, g_ts, g_vals, 1 << 16);
        REQUIRE(a < 0 || (size_t)a <= max);
        /* The counting path must agree with the one-pass path. */
        int64_t b = cs_wal_samples_decode(rec, len, g_refs, g_ts, g_vals, a > 0 ? (size_t)a : 0);
        REQUIRE(a < 0 || a == b);
        if (a > 1) REQUIRE(cs_wal_samples_decode(rec, len, g_refs, g_ts, g_vals, (size_t)a - 1) == CS_E_NOSPACE);
    } else if (type == CS_WAL_REC_TOMBSTONES) {
        int64_t a = cs_wal_tombstones_decode(rec, len, g_stones, 1 << 14);
        REQUIRE(a < 0 || (size_t)a <= cs_wal_tombstones_count_max(len));
        int64_t b = cs_wal_tombstones_decode(rec, len, g_stones, a > 0 ? (size_t)a : 0);
        REQUIRE(a < 0 || a == b);
    }
}

static void read_segment(const uint8_t *seg, size_t len, size_t start) {
    cs_wal_reader r;
    cs_wal_read res;
    cs_wal_reader_init(&r, seg, len);
    r.off = start;
    size_t last = start;
    for (int i = 0; i < 10000; i++) {
        int rc = cs_wal_reader_next(&r, g_rec, 4096, &res);
        if (rc == CS_E_NOSPACE) {
            REQUIRE(res.length > 4096 && res.offset == r.off);
            rc = cs_wal_reader_next(&r, g_rec, sizeof g_rec, &res);
        }
        if (rc != 1) {
            REQUIRE(rc == 0 || rc == CS_E_CRC || rc == CS_E_TORN || rc == CS_E_CORRUPT);
            /* Errors point at or after the last good record's end (padding
             * may precede the bad record); a clean end points at it. */
            REQUIRE(rc == 0 ? res.offset == r.off : res.offset >= r.off);
            REQUIRE(res.offset <= len);
            return;
        }
        REQUIRE(res.offset >= last && r.off > res.offset && r.off <= len);
        last = r.off;
        size_t need = 0;
        int64_t d = cs_wal_decompress(res.flags, g_rec, res.length, g_plain, sizeof g_plain, &need);
        if (d >= 0) decode_record(g_plain, (size_t)d);
        else if (d == CS_E_NOSPACE) REQUIRE(need > sizeof g_plain);
    }
}

static void round_trip(const uint8_t *data, size_t size) {
    if (size < 4) return;
    size_t page_off = (size_t)(data[0] | data[1] << 8) % (CS_WAL_PAGE_SIZE + 1);
    uint64_t pages_left = data[2] % 5;
    const unsigned flag_choices[4] = {0, CS_WAL_FLAG_SNAPPY, CS_WAL_FLAG_LZ4, CS_WAL_FLAG_ZSTD};
    unsigned flags = flag_choices[data[3] & 3];
    data += 4;
    size -= 4;
    size_t po = page_off;
    uint64_t pl = pages_left;
    size_t base = page_off == CS_WAL_PAGE_SIZE ? CS_WAL_PAGE_SIZE : page_off;
    memset(g_seg, 0, sizeof g_seg);
    int64_t w = cs_wal_frame_record(g_seg + base, sizeof g_seg - base, data, size, flags, &po, &pl);
    if (w == CS_E_FULL) {
        REQUIRE(cs_wal_frame_bound(size) > 0);
        return;
    }
    REQUIRE(w > 0 && (size_t)w <= cs_wal_frame_bound(size));
    REQUIRE((base + (size_t)w) % CS_WAL_PAGE_SIZE == po % CS_WAL_PAGE_SIZE);
    cs_wal_reader r;
    cs_wal_read res;
    cs_wal_reader_init(&r, g_seg, base + (size_t)w);
    r.off = base;
    REQUIRE(cs_wal_reader_next(&r, g_rec, sizeof g_rec, &res) == 1);
    REQUIRE(res.length == size && res.flags == flags && memcmp(g_rec, data, size) == 0);
    REQUIRE(cs_wal_reader_next(&r, g_rec, sizeof g_rec, &res) == 0);

    /* LZ4 helper round trip on the same bytes. */
    int64_t c = cs_wal_compress_lz4(data, size, g_rec, sizeof g_rec);
    REQUIRE(c >= 0);
    if (c > 0) {
        REQUIRE((size_t)c < size);
        REQUIRE(cs_wal_decompress(CS_WAL_FLAG_LZ4, g_rec, (size_t)c, g_plain, sizeof g_plain, NULL) == (int64_t)size);
        REQUIRE(memcmp(g_plain, data, size) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    switch (mode % 4) {
    case 0: {
        /* Place the input a few bytes before a page boundary so small inputs
         * reach page-crossing logic; bytes before it are a previous record. */
        if (size < 1 || size > sizeof g_seg - CS_WAL_PAGE_SIZE) return 0;
        size_t start = mode < 128 ? CS_WAL_PAGE_SIZE - data[0] % 64 : 0;
        memset(g_seg, 0, start);
        memcpy(g_seg + start, data + 1, size - 1);
        read_segment(g_seg, start + size - 1, start);
        break;
    }
    case 1: {
        /* The record decoders on an exact-size heap copy (ASan sees overreads). */
        uint8_t *copy = malloc(size ? size : 1);
        memcpy(copy, data, size);
        decode_record(copy, size);
        free(copy);
        break;
    }
    case 2:
        round_trip(data, size);
        break;
    default: {
        if (size < 1) return 0;
        const unsigned flag_choices[4] = {0, CS_WAL_FLAG_SNAPPY, CS_WAL_FLAG_LZ4, CS_WAL_FLAG_ZSTD};
        uint8_t *copy = malloc(size);
        memcpy(copy, data + 1, size - 1);
        size_t need = 0;
        int64_t d = cs_wal_decompress(flag_choices[data[0] & 3], copy, size - 1, g_plain, sizeof g_plain, &need);
        if (d >= 0) decode_record(g_plain, (size_t)d);
        /* A small buffer must get NOSPACE or an error, never an overflow. */
        cs_wal_decompress(flag_choices[data[0] & 3], copy, size - 1, g_plain, 16, &need);
        free(copy);
        break;
    }
    }
    return 0;
}
