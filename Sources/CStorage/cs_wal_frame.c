/* WAL framing: records <-> fragments in 32 KiB pages. Layout in cs_wal_frame.h
 * and docs/format/wal.md. */
#include "cs_wal_frame.h"

#include <string.h>
#include <snappy-c.h>

#include "cs_crc32c.h"
#include "cs_endian.h"
#include "cs_lz4.h"
#include "cs_varint.h"

/* Upper bounds of output bytes per input byte, used to reject size prefixes
 * no valid stream could produce before a caller sizes a buffer from them.
 * LZ4: a match sequence of 3 + k bytes yields at most 18 + 255k bytes, so
 * output < 255 x input. Snappy: the densest element is a 3-byte copy of 64
 * bytes, so output < 22 x input. */
#define CS_WAL_LZ4_MAX_RATIO    255u
#define CS_WAL_SNAPPY_MAX_RATIO 22u

static int cs_wal_flags_valid(unsigned flags) {
    return flags == 0 || flags == CS_WAL_FLAG_SNAPPY || flags == CS_WAL_FLAG_ZSTD ||
           flags == CS_WAL_FLAG_LZ4;
}

/* ---- Writer ------------------------------------------------------------ */

size_t cs_wal_frame_bound(size_t len) {
    if (len > SIZE_MAX / 2) return 0;
    /* Fragments: the first page's (possibly empty) one plus one per started
     * page after it. Padding: < 7 bytes before the first header and after
     * the last fragment; fragments between them end exactly on page ends. */
    size_t frags = len / CS_WAL_MAX_FRAGMENT + 2;
    return len + frags * CS_WAL_HEADER_SIZE + 2 * (CS_WAL_HEADER_SIZE - 1);
}

/* Walks the fragments of rec starting at page offset pos (at least 7 bytes
 * before the page end). Writes them to dst unless dst is NULL; returns the
 * byte count and stores the final page offset and the pages completed. */
static size_t cs_wal_walk(uint8_t *dst, const uint8_t *rec, size_t len, unsigned flags,
                          size_t pos, size_t *end_pos, uint64_t *pages_done) {
    size_t out = 0, done = 0;
    uint64_t pages = 0;
    int first = 1; /* not done == 0: a first fragment may be empty */
    do {
        size_t room = CS_WAL_PAGE_SIZE - pos - CS_WAL_HEADER_SIZE;
        size_t n = len - done < room ? len - done : room;
        if (dst != NULL) {
            unsigned type;
            if (first) type = n == len ? CS_WAL_FRAG_FULL : CS_WAL_FRAG_FIRST;
            else type = done + n == len ? CS_WAL_FRAG_LAST : CS_WAL_FRAG_MIDDLE;
            uint8_t *h = dst + out;
            h[0] = (uint8_t)(type | flags);
            cs_store_be16(h + 1, (uint16_t)n);
            /* rec may be NULL for an empty record: no pointer arithmetic on it. */
            cs_store_be32(h + 3, n > 0 ? cs_crc32c(0, rec + done, n) : 0);
            if (n > 0) memcpy(h + CS_WAL_HEADER_SIZE, rec + done, n);
        }
        out += CS_WAL_HEADER_SIZE + n;
        pos += CS_WAL_HEADER_SIZE + n;
        done += n;
        first = 0;
        if (CS_WAL_PAGE_SIZE - pos < CS_WAL_HEADER_SIZE) {
            /* No header fits any more: the reader skips the rest as padding. */
            size_t pad = CS_WAL_PAGE_SIZE - pos;
            if (dst != NULL && pad > 0) memset(dst + out, 0, pad);
            out += pad;
            pos = 0;
            pages++;
        }
    } while (done < len);
    *end_pos = pos;
    *pages_done = pages;
    return out;
}

int64_t cs_wal_frame_record(uint8_t *dst, size_t cap,
                            const uint8_t *rec, size_t len, unsigned flags,
                            size_t *page_off, uint64_t *pages_left) {
    if (page_off == NULL || pages_left == NULL || *page_off > CS_WAL_PAGE_SIZE ||
        !cs_wal_flags_valid(flags) || len > SIZE_MAX / 2 || (rec == NULL && len > 0))
        return CS_E_ARG;

    size_t pos = *page_off;
    uint64_t left = *pages_left;
    const int unlimited = left == CS_WAL_PAGES_UNLIMITED;
    size_t lead = 0;

    if (CS_WAL_PAGE_SIZE - pos < CS_WAL_HEADER_SIZE) {
        if (!unlimited && left == 0) return CS_E_FULL;
        lead = CS_WAL_PAGE_SIZE - pos;
        pos = 0;
        if (!unlimited) left--;
    }

    if (!unlimited) {
        size_t room = CS_WAL_PAGE_SIZE - pos - CS_WAL_HEADER_SIZE;
        if (len > room) {
            /* Compare in pages so that no product can overflow. */
            uint64_t rest = (uint64_t)(len - room);
            uint64_t pages_needed = rest / CS_WAL_MAX_FRAGMENT + (rest % CS_WAL_MAX_FRAGMENT != 0);
            if (pages_needed > left) return CS_E_FULL;
        }
    }

    size_t end_pos;
    uint64_t done_pages;
    size_t body = cs_wal_walk(NULL, rec, len, flags, pos, &end_pos, &done_pages);
    if (cap < lead || cap - lead < body) return CS_E_NOSPACE;

    if (lead > 0) memset(dst, 0, lead);
    cs_wal_walk(dst + lead, rec, len, flags, pos, &end_pos, &done_pages);

    if (!unlimited) {
        if (done_pages > left) {
            /* Only the final page of the segment can be completed beyond
             * `left`: report the segment as exactly full. */
            end_pos = CS_WAL_PAGE_SIZE;
            left = 0;
        } else {
            left -= done_pages;
        }
    }
    *page_off = end_pos;
    *pages_left = left;
    return (int64_t)(lead + body);
}

int64_t cs_wal_pad_page(uint8_t *dst, size_t cap, size_t page_off) {
    if (page_off > CS_WAL_PAGE_SIZE) return CS_E_ARG;
    if (page_off == 0 || page_off == CS_WAL_PAGE_SIZE) return 0;
    size_t pad = CS_WAL_PAGE_SIZE - page_off;
    if (cap < pad) return CS_E_NOSPACE;
    memset(dst, 0, pad);
    return (int64_t)pad;
}

/* ---- Compression ------------------------------------------------------- */

size_t cs_wal_compress_lz4_bound(size_t len) {
    size_t b = cs_lz4_bound(len);
    if (b == 0) return 0;
    return b + cs_uvarint_len(len);
}

int64_t cs_wal_compress_lz4(const uint8_t *rec, size_t len, uint8_t *dst, size_t cap) {
    if (len == 0) return 0;
    size_t bound = cs_wal_compress_lz4_bound(len);
    if (bound == 0) return CS_E_ARG;
    if (cap < bound) return CS_E_NOSPACE;
    /* LZ4 blocks do not record their decompressed size; the prefix lets a
     * reader size its buffer before decompressing, as snappy's does. */
    size_t h = cs_put_uvarint(dst, len);
    int64_t c = cs_lz4_compress(rec, len, dst + h, cap - h);
    if (c < 0) return c == CS_E_ARG ? CS_E_ARG : CS_E_COMPRESS;
    if (h + (size_t)c >= len) return 0;
    return (int64_t)(h + (size_t)c);
}

static int64_t cs_wal_decompress_snappy(const uint8_t *src, size_t n, uint8_t *dst,
                                        size_t cap, size_t *need) {
    size_t ulen;
    if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
        return CS_E_CORRUPT;
    if (n <= SIZE_MAX / CS_WAL_SNAPPY_MAX_RATIO && ulen > n * CS_WAL_SNAPPY_MAX_RATIO)
        return CS_E_CORRUPT;
    if (ulen > cap) {
        if (need != NULL) *need = ulen;
        return CS_E_NOSPACE;
    }
    if (ulen > INT64_MAX) return CS_E_CORRUPT;
    size_t out = cap;
    if (snappy_uncompress((const char *)src, n, (char *)dst, &out) != SNAPPY_OK || out != ulen)
        return CS_E_COMPRESS;
    return (int64_t)out;
}

static int64_t cs_wal_decompress_lz4(const uint8_t *src, size_t n, uint8_t *dst,
                                     size_t cap, size_t *need) {
    uint64_t ulen;
    int h = cs_get_uvarint(src, src + n, &ulen);
    if (h < 0) return CS_E_CORRUPT;
    size_t body = n - (size_t)h;
    if (body <= SIZE_MAX / CS_WAL_LZ4_MAX_RATIO && ulen > (uint64_t)body * CS_WAL_LZ4_MAX_RATIO)
        return CS_E_CORRUPT;
    if (ulen > cap) {
        if (need != NULL) *need = (size_t)ulen;
        return CS_E_NOSPACE;
    }
    int64_t c = cs_lz4_decompress(src + h, body, dst, (size_t)ulen);
    if (c < 0) return CS_E_COMPRESS;
    if ((uint64_t)c != ulen) return CS_E_CORRUPT;
    return c;
}

int64_t cs_wal_decompress(unsigned flags, const uint8_t *src, size_t n,
                          uint8_t *dst, size_t cap, size_t *need) {
    switch (flags) {
    case 0:
        if (n > cap) {
            if (need != NULL) *need = n;
            return CS_E_NOSPACE;
        }
        if (n > 0) memcpy(dst, src, n);
        return (int64_t)n;
    case CS_WAL_FLAG_SNAPPY:
        return cs_wal_decompress_snappy(src, n, dst, cap, need);
    case CS_WAL_FLAG_LZ4:
        return cs_wal_decompress_lz4(src, n, dst, cap, need);
    case CS_WAL_FLAG_ZSTD:
        return CS_E_COMPRESS;
    default:
        return CS_E_ARG;
    }
}

/* ---- Reader ------------------------------------------------------------ */

void cs_wal_reader_init(cs_wal_reader *r, const uint8_t *seg, size_t len) {
    r->seg = seg;
    r->len = len;
    r->off = 0;
}

int cs_wal_reader_update(cs_wal_reader *r, const uint8_t *seg, size_t len) {
    if (len < r->off) return CS_E_ARG;
    r->seg = seg;
    r->len = len;
    return CS_OK;
}

static int cs_wal_all_zero(const uint8_t *p, size_t n) {
    uint64_t acc = 0;
    /* Word-wide OR in blocks: zero tails are scanned once per segment, and
     * at 128 MiB a byte loop would show. */
    while (n >= 64) {
        for (int i = 0; i < 8; i++) {
            uint64_t w;
            memcpy(&w, p + 8 * i, 8);
            acc |= w;
        }
        if (acc != 0) return 0;
        p += 64;
        n -= 64;
    }
    while (n > 0) {
        acc |= *p++;
        n--;
    }
    return acc == 0;
}

static int cs_wal_read_fail(cs_wal_read *out, size_t at, int code) {
    out->offset = at;
    out->length = 0;
    out->flags = 0;
    return code;
}

static int cs_wal_read_end(const cs_wal_reader *r, cs_wal_read *out) {
    out->offset = r->off;
    out->length = 0;
    out->flags = 0;
    return 0;
}

int cs_wal_reader_next(cs_wal_reader *r, uint8_t *dst, size_t cap, cs_wal_read *out) {
    const uint8_t *seg = r->seg;
    const size_t len = r->len;
    size_t off = r->off;
    size_t start = off; /* first fragment of the record being assembled */
    size_t total = 0;
    unsigned rec_flags = 0;
    int in_rec = 0;

    for (;;) {
        if (off >= len) {
            if (in_rec) return cs_wal_read_fail(out, start, CS_E_TORN);
            return cs_wal_read_end(r, out);
        }
        if (!in_rec) start = off;
        size_t page_rem = CS_WAL_PAGE_SIZE - off % CS_WAL_PAGE_SIZE;
        uint8_t b0 = seg[off];

        if (b0 == 0) {
            /* Writers pad only after a record's last fragment. */
            if (in_rec) return cs_wal_read_fail(out, start, CS_E_TORN);
            if (page_rem == CS_WAL_PAGE_SIZE) {
                /* A page that starts with padding is never followed by data
                 * in a well-formed segment: it is the zero tail (clean end)
                 * or the log was damaged here. */
                if (!cs_wal_all_zero(seg + off, len - off))
                    return cs_wal_read_fail(out, off, CS_E_CORRUPT);
                return cs_wal_read_end(r, out);
            }
            size_t avail = len - off < page_rem ? len - off : page_rem;
            if (!cs_wal_all_zero(seg + off + 1, avail - 1))
                return cs_wal_read_fail(out, off, CS_E_CORRUPT);
            off += avail;
            continue;
        }

        unsigned type = b0 & CS_WAL_FRAG_TYPE_MASK;
        unsigned flags = b0 & CS_WAL_FLAG_MASK;
        if ((b0 & CS_WAL_RESERVED_MASK) != 0 || type > CS_WAL_FRAG_LAST ||
            type == CS_WAL_FRAG_PAD || (flags & (flags - 1)) != 0 ||
            page_rem < CS_WAL_HEADER_SIZE)
            return cs_wal_read_fail(out, start, CS_E_CORRUPT);
        if (in_rec ? (type != CS_WAL_FRAG_MIDDLE && type != CS_WAL_FRAG_LAST) || flags != rec_flags
                   : (type != CS_WAL_FRAG_FULL && type != CS_WAL_FRAG_FIRST))
            return cs_wal_read_fail(out, start, CS_E_CORRUPT);
        if (len - off < CS_WAL_HEADER_SIZE) return cs_wal_read_fail(out, start, CS_E_TORN);

        size_t n = cs_load_be16(seg + off + 1);
        if (n > page_rem - CS_WAL_HEADER_SIZE) return cs_wal_read_fail(out, start, CS_E_CORRUPT);
        const uint8_t *data = seg + off + CS_WAL_HEADER_SIZE;
        if (len - off - CS_WAL_HEADER_SIZE < n) return cs_wal_read_fail(out, start, CS_E_TORN);
        if (cs_crc32c(0, data, n) != cs_load_be32(seg + off + 3))
            return cs_wal_read_fail(out, start, CS_E_CRC);

        /* Past cap, keep validating so a corrupt record reports its error
         * rather than asking for a bigger buffer. */
        if (n > 0 && total <= cap && cap - total >= n) memcpy(dst + total, data, n);
        total += n;
        off += CS_WAL_HEADER_SIZE + n;

        if (type == CS_WAL_FRAG_FULL || type == CS_WAL_FRAG_LAST) {
            out->offset = start;
            out->flags = flags;
            out->length = total;
            if (total > cap) return CS_E_NOSPACE;
            r->off = off;
            return 1;
        }
        in_rec = 1;
        rec_flags = flags;
    }
}
