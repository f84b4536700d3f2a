/* Helpers shared by the framing tests: an in-memory segment writer. */
#ifndef CS_TEST_SEGMENT_H
#define CS_TEST_SEGMENT_H

#include <stdlib.h>
#include <string.h>

#include "cs_crc32c.h"
#include "cs_endian.h"
#include "cs_wal_frame.h"
#include "test_util.h"

#define PAGE CS_WAL_PAGE_SIZE

/* A segment being written: buffer, bytes used and the framing position. */
typedef struct tw {
    uint8_t *buf;
    size_t cap, used;
    size_t page_off;
    uint64_t pages_left;
} tw;

static inline void tw_init(tw *w, size_t seg_pages, size_t extra) {
    w->cap = seg_pages * PAGE + extra;
    w->buf = malloc(w->cap);
    memset(w->buf, 0xEE, w->cap); /* unwritten bytes must never be read as data */
    w->used = 0;
    w->page_off = 0;
    w->pages_left = seg_pages - 1;
}

static inline int64_t tw_log(tw *w, const uint8_t *rec, size_t len, unsigned flags) {
    int64_t r = cs_wal_frame_record(w->buf + w->used, w->cap - w->used, rec, len, flags,
                                    &w->page_off, &w->pages_left);
    if (r > 0) {
        CHECK(r <= (int64_t)cs_wal_frame_bound(len));
        w->used += (size_t)r;
        CHECK_EQ(w->used % PAGE, w->page_off % PAGE);
    }
    return r;
}

static inline void tw_close(tw *w) {
    int64_t r = cs_wal_pad_page(w->buf + w->used, w->cap - w->used, w->page_off);
    CHECK(r >= 0);
    w->used += (size_t)r;
    CHECK_EQ(w->used % PAGE, 0);
}

static inline void fill(uint8_t *p, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(cs_test_rand(&seed) >> 24);
    if (n > 0 && p[0] == 0) p[0] = 1;
}

static inline void check_header(const uint8_t *h, unsigned type_flags, size_t n, const uint8_t *data) {
    CHECK_EQ(h[0], type_flags);
    CHECK_EQ(cs_load_be16(h + 1), n);
    CHECK_EQ(cs_load_be32(h + 3), cs_crc32c(0, data, n));
    CHECK(memcmp(h + 7, data, n) == 0);
}

#endif
