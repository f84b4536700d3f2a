/* WAL record payloads (Prometheus 2.42 tsdb/record): the byte strings that
 * cs_wal_frame.h frames. Byte 0 of every record is its type; the body layout
 * depends on it. Encoders write into caller buffers and return the bytes
 * written; decoders take (pointer, length), never read outside it, and return
 * spans into the record instead of copying. Nothing allocates; all functions
 * are safe to call concurrently on distinct arguments. */
#ifndef CS_WAL_RECORD_H
#define CS_WAL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "cs_error.h"

/* Record types (byte 0) with codecs here. Numbers are on disk; Prometheus uses
 * 4-8 for records Muninn neither writes nor reads (docs/format/wal.md#records),
 * so replay skips them like any type it does not know. */
#define CS_WAL_REC_SERIES            1
#define CS_WAL_REC_SAMPLES           2
#define CS_WAL_REC_TOMBSTONES        3

/* Fixed part of a samples record after the type byte: BE64 baseRef, BE64 baseT. */
#define CS_WAL_SAMPLES_HEADER_SIZE   16
/* Smallest and largest encoding of one sample: varint dRef, varint dT, BE64 value. */
#define CS_WAL_SAMPLE_MIN_SIZE       10
#define CS_WAL_SAMPLE_MAX_SIZE       28
/* One tombstone: BE64 ref, varint mint, varint maxt. */
#define CS_WAL_TOMBSTONE_MIN_SIZE    10
#define CS_WAL_TOMBSTONE_MAX_SIZE    28

/* A byte string: (pointer, length). Decoders return spans into the record. */
typedef struct cs_wal_str {
    const uint8_t *ptr;
    size_t len;
} cs_wal_str;

typedef struct cs_wal_label {
    cs_wal_str name;
    cs_wal_str value;
} cs_wal_label;

typedef struct cs_wal_tombstone {
    uint64_t ref;
    int64_t mint;
    int64_t maxt;
} cs_wal_tombstone;

/* Returns the type byte of a record (0..255), or CS_E_SHORT when len is 0. */
int cs_wal_record_type(const uint8_t *rec, size_t len);

/* ---- Type 1: series ---------------------------------------------------- */
/* Body: repeat { BE64 ref, uvarint nLabels, nLabels x (uvarint len, name
 * bytes, uvarint len, value bytes) }. A record with no entries is valid. */

/* Writes the type byte of a record. Returns 1, CS_E_NOSPACE if cap is 0. */
int64_t cs_wal_record_begin(uint8_t *dst, size_t cap, uint8_t type);

/* Exact size of one series entry; 0 if it would not fit in a size_t. */
size_t cs_wal_series_entry_bound(const cs_wal_label *labels, size_t n);

/* Writes one series entry at dst (append it after cs_wal_record_begin(...,
 * CS_WAL_REC_SERIES) and earlier entries). Returns the bytes written,
 * CS_E_NOSPACE if cap < cs_wal_series_entry_bound() (nothing written), or
 * CS_E_ARG if the size overflows or a label has a NULL pointer with a
 * nonzero length. */
int64_t cs_wal_series_append(uint8_t *dst, size_t cap, uint64_t ref,
                             const cs_wal_label *labels, size_t n);

/* Iterates the entries of a series record. */
typedef struct cs_wal_series_iter {
    const uint8_t *p;
    const uint8_t *end;
} cs_wal_series_iter;

/* Starts iterating rec[0..len). Returns CS_OK, CS_E_SHORT if len is 0,
 * CS_E_ARG if the type byte is not CS_WAL_REC_SERIES. */
int cs_wal_series_iter_init(cs_wal_series_iter *it, const uint8_t *rec, size_t len);

/* Decodes the next entry: *ref, and labels[0..*n) as spans into the record.
 * Returns
 *   1  an entry; *n = its label count.
 *   0  no more entries.
 *   CS_E_NOSPACE  the entry has more than cap labels; *n = its label count;
 *                 the iterator does not advance (retry with a larger array).
 *   CS_E_SHORT    the record ends inside the entry, or the label count is
 *                 more than the remaining bytes could hold (checked before
 *                 NOSPACE, so a corrupt count never asks for a huge array).
 *   CS_E_OVERFLOW a varint exceeds 64 bits.
 * Errors leave the iterator where it was and the labels array unspecified. */
int cs_wal_series_next(cs_wal_series_iter *it, uint64_t *ref,
                       cs_wal_label *labels, size_t cap, size_t *n);

/* ---- Type 2: float samples --------------------------------------------- */
/* Body: empty (no samples), or BE64 baseRef, BE64 baseT, then per sample
 * varint(ref - baseRef), varint(t - baseT), BE64 value bits, where base* are
 * the first sample's and differences wrap modulo 2^64. */

/* Worst-case size of a samples record holding n samples (type byte
 * included); 0 if it would not fit in a size_t. */
size_t cs_wal_samples_bound(size_t n);

/* Encodes a whole samples record (type byte included) from n samples:
 * refs[i], ts[i] and vals[i] (IEEE-754 bit patterns). n == 0 writes the type
 * byte only. Returns the bytes written or CS_E_NOSPACE (nothing written;
 * cs_wal_samples_bound(n) always suffices). */
int64_t cs_wal_samples_encode(uint8_t *dst, size_t cap, const uint64_t *refs,
                              const int64_t *ts, const uint64_t *vals, size_t n);

/* Upper bound of the sample count of rec[0..len), in O(1) and without
 * validating it: (len - 17) / 10, or 0 for a record of at most 17 bytes. */
size_t cs_wal_samples_count_max(size_t len);

/* Decodes a samples record into refs/ts/vals[0..cap). Returns the number of
 * samples, or
 *   CS_E_NOSPACE  more than cap samples (nothing written).
 *   CS_E_SHORT    the record ends inside the header or a sample.
 *   CS_E_OVERFLOW a varint exceeds 64 bits.
 *   CS_E_ARG      the type byte is not CS_WAL_REC_SAMPLES.
 * With cap >= cs_wal_samples_count_max(len) the record is decoded in one
 * pass; with less it is counted first. After an error other than NOSPACE the
 * arrays' contents are unspecified. */
int64_t cs_wal_samples_decode(const uint8_t *rec, size_t len, uint64_t *refs,
                              int64_t *ts, uint64_t *vals, size_t cap);

/* ---- Type 3: tombstones ------------------------------------------------ */
/* Body: repeat { BE64 ref, varint mint, varint maxt }, one entry per deleted
 * interval. */

/* Worst-case size of a tombstones record of n entries (type byte included);
 * 0 if it would not fit in a size_t. */
size_t cs_wal_tombstones_bound(size_t n);

/* Encodes a whole tombstones record (type byte included). Returns the bytes
 * written or CS_E_NOSPACE (nothing written). */
int64_t cs_wal_tombstones_encode(uint8_t *dst, size_t cap,
                                 const cs_wal_tombstone *stones, size_t n);

/* Upper bound of the entry count of rec[0..len) in O(1): (len - 1) / 10. */
size_t cs_wal_tombstones_count_max(size_t len);

/* Decodes a tombstones record into out[0..cap). Returns the entry count or
 * CS_E_NOSPACE (nothing written), CS_E_SHORT, CS_E_OVERFLOW, CS_E_ARG as
 * cs_wal_samples_decode(). */
int64_t cs_wal_tombstones_decode(const uint8_t *rec, size_t len,
                                 cs_wal_tombstone *out, size_t cap);

#endif
