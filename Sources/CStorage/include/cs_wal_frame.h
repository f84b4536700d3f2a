/* Write-ahead log framing: records (opaque byte strings) split into fragments
 * inside 32 KiB pages of a segment file. Without compression the bytes are
 * those Prometheus 2.42 tsdb/wlog writes; snappy records interoperate both
 * ways; LZ4 records are Muninn's own. Payload encodings live in
 * cs_wal_record.h. Nothing here allocates, does I/O or keeps global state;
 * every function is safe to call concurrently on distinct arguments.
 *
 * Fragment header (7 bytes):
 *   byte 0    bits 7-6 reserved (0) | bit 5 LZ4 | bit 4 zstd | bit 3 snappy | bits 2-0 type
 *   bytes 1-2 BE16 length of the fragment's data (at most 32761)
 *   bytes 3-6 BE32 CRC32C of the fragment's data as stored (after compression) */
#ifndef CS_WAL_FRAME_H
#define CS_WAL_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "cs_error.h"

#define CS_WAL_PAGE_SIZE        32768
#define CS_WAL_HEADER_SIZE      7
#define CS_WAL_MAX_FRAGMENT     (CS_WAL_PAGE_SIZE - CS_WAL_HEADER_SIZE) /* 32761 */

/* Fragment types (header bits 2-0). Numbers are on disk; never reuse them. */
#define CS_WAL_FRAG_PAD         0 /* this byte and the rest of the page are zero */
#define CS_WAL_FRAG_FULL        1
#define CS_WAL_FRAG_FIRST       2
#define CS_WAL_FRAG_MIDDLE      3
#define CS_WAL_FRAG_LAST        4
#define CS_WAL_FRAG_TYPE_MASK   0x07

/* Compression flags (header bits 3-5), set on every fragment of a compressed
 * record. At most one is set. LZ4 is Muninn's extension on a bit Prometheus
 * reserves: Prometheus cannot read LZ4-flagged segments. zstd (Prometheus >=
 * 2.46) is recognised but cannot be decompressed here. */
#define CS_WAL_FLAG_SNAPPY      0x08
#define CS_WAL_FLAG_ZSTD        0x10
#define CS_WAL_FLAG_LZ4         0x20
#define CS_WAL_FLAG_MASK        0x38
#define CS_WAL_RESERVED_MASK    0xC0

/* pages_left value that disables the segment-space check (see below). */
#define CS_WAL_PAGES_UNLIMITED  UINT64_MAX

/* ---- Writer ------------------------------------------------------------ */

/* Worst-case number of bytes cs_wal_frame_record() writes for a record of
 * `len` bytes from any starting position: the record, one header per
 * fragment and up to 6 padding bytes before and after. Returns 0 when the
 * result would not fit in a size_t. */
size_t cs_wal_frame_bound(size_t len);

/* Frames one record rec[0..len) at the current write position and writes the
 * bytes that go to the segment file from there on into dst[0..cap).
 *
 * Position: *page_off is the offset within the current page, 0..32768, where
 * 32768 means the current page is complete; *pages_left is the number of whole
 * pages the segment has after the current one. A fresh segment starts at
 * (0, segment_size / 32768 - 1). On success both are advanced; the result is
 * (32768, 0) only when the record ended exactly at the end of the segment.
 *
 * flags: 0 or one of CS_WAL_FLAG_* saying how rec was compressed; it is set
 * on every fragment.
 *
 * Layout written (as Prometheus does): if fewer than 7 bytes remain in the
 * page they are zero-filled first; then fragments full | first middle* last,
 * each as long as the page allows (a first fragment may be empty when exactly
 * 7 bytes remain); after the last fragment, a page remainder under 7 bytes is
 * zero-filled.
 *
 * Returns the number of bytes written to dst (> 0), or
 *   CS_E_FULL     the record does not fit in the rest of the segment. Nothing
 *                 was written: pad the page (cs_wal_pad_page), start a new
 *                 segment and retry. A record that does not fit even in an
 *                 empty segment is written by passing
 *                 *pages_left = CS_WAL_PAGES_UNLIMITED (the segment then grows
 *                 past its nominal size; cut a new one afterwards).
 *   CS_E_NOSPACE  cap is smaller than the framed size; nothing was written.
 *                 cs_wal_frame_bound(len) always suffices.
 *   CS_E_ARG      *page_off > 32768, invalid flags, rec NULL with len > 0,
 *                 or len > SIZE_MAX/2. */
int64_t cs_wal_frame_record(uint8_t *dst, size_t cap,
                            const uint8_t *rec, size_t len, unsigned flags,
                            size_t *page_off, uint64_t *pages_left);

/* Zero-fills the rest of the current page (before closing or cutting a
 * segment). Writes 32768 - page_off zero bytes, or none when page_off is 0
 * (the page holds no data) or 32768. Returns the bytes written, CS_E_NOSPACE
 * if cap is too small, CS_E_ARG if page_off > 32768. */
int64_t cs_wal_pad_page(uint8_t *dst, size_t cap, size_t page_off);

/* ---- Compression ------------------------------------------------------- */

/* Size dst must have for cs_wal_compress_lz4(); 0 if len is too large. */
size_t cs_wal_compress_lz4_bound(size_t len);

/* Compresses rec[0..len) into dst[0..cap) as uvarint(len) || LZ4 block.
 * Returns the compressed length when it is smaller than len (frame dst with
 * CS_WAL_FLAG_LZ4), 0 when compression does not pay (frame rec with flags 0;
 * dst contents are then unspecified), CS_E_NOSPACE when
 * cap < cs_wal_compress_lz4_bound(len), CS_E_ARG when len is too large for
 * LZ4, CS_E_COMPRESS when the compressor fails. */
int64_t cs_wal_compress_lz4(const uint8_t *rec, size_t len, uint8_t *dst, size_t cap);

/* Decompresses a record read with the given flags into dst[0..cap).
 * flags 0 copies src unchanged. Returns the record length, or
 *   CS_E_NOSPACE   cap is too small; *need (if not NULL) receives the size.
 *   CS_E_CORRUPT   the size prefix is malformed or impossible for the input.
 *   CS_E_COMPRESS  the compressed data is malformed, or flags is
 *                  CS_WAL_FLAG_ZSTD (recognised, not supported).
 *   CS_E_ARG       flags is not 0 or a single CS_WAL_FLAG_*.
 * Never reads or writes outside the given ranges; src and dst must not
 * overlap. */
int64_t cs_wal_decompress(unsigned flags, const uint8_t *src, size_t n,
                          uint8_t *dst, size_t cap, size_t *need);

/* ---- Reader ------------------------------------------------------------ */

/* Incremental reader over one segment held in memory. seg[0] is the first
 * byte of the segment; bytes past len are read as zeros when it ends inside
 * a page. The struct is public so callers can save and restore `off`. */
typedef struct cs_wal_reader {
    const uint8_t *seg;
    size_t len;
    size_t off; /* segment offset of the next record (always a record boundary) */
} cs_wal_reader;

/* One result of cs_wal_reader_next(). */
typedef struct cs_wal_read {
    size_t offset;  /* see cs_wal_reader_next() */
    size_t length;  /* record bytes copied to dst, or bytes needed (NOSPACE) */
    unsigned flags; /* CS_WAL_FLAG_* of the record (0 = not compressed) */
} cs_wal_read;

void cs_wal_reader_init(cs_wal_reader *r, const uint8_t *seg, size_t len);

/* Points the reader at a longer copy of the same segment (a file that grew),
 * keeping its position. Returns CS_E_ARG if len < r->off. */
int cs_wal_reader_update(cs_wal_reader *r, const uint8_t *seg, size_t len);

/* Reads the next record into dst[0..cap) (dst may be NULL when cap is 0, to
 * learn the size); out must not be NULL. Returns
 *   1  a record: out->offset = segment offset of its first fragment,
 *      out->length = its length (as stored, possibly compressed), out->flags.
 *   0  clean end: the data ends at a record boundary, or everything after
 *      the last record is zero padding. out->offset = r->off, the end of the
 *      last record read (where a repair would cut).
 *   CS_E_NOSPACE  the record is valid but longer than cap; out->length = the
 *      size needed. The reader does not advance: grow dst and call again.
 *   CS_E_CRC      a fragment's CRC32C does not match.
 *   CS_E_TORN     the data ends (or turns to zero padding) after a first or
 *      middle fragment, or inside a fragment.
 *   CS_E_CORRUPT  bad fragment type, reserved bits or mixed compression flags,
 *      a fragment not fitting its page, fragments out of order, nonzero bytes
 *      after a zero type byte, or a zeroed page followed by more data (a
 *      well-formed log never leaves a page empty before data).
 * On every error out->offset is the segment offset where the bad record
 * starts: the truncation point for repair; all records before it are intact.
 * Errors do not advance the reader, so calling again repeats them. */
int cs_wal_reader_next(cs_wal_reader *r, uint8_t *dst, size_t cap, cs_wal_read *out);

#endif
