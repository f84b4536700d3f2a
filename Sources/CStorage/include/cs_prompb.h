/* Remote write 1.0 protobuf (prometheus.WriteRequest, prompb/remote.proto and
 * prompb/types.proto): a zero-copy decoder and an encoder. Input is the
 * *decompressed* body (see cs_snappy.h).
 *
 *   WriteRequest   timeseries (1, TimeSeries) · metadata (3, MetricMetadata)
 *   TimeSeries     labels (1, Label) · samples (2, Sample) · exemplars (3) · histograms (4)
 *   Label          name (1, string) · value (2, string)
 *   Sample         value (1, double = fixed64 LE) · timestamp (2, int64 varint)
 *
 * Decoding follows what Prometheus' receiver (gogo-generated Unmarshal)
 * accepts: fields in any order and repeated (a repeated scalar keeps its last
 * value), absent scalars are zero, unknown fields of wire types 0, 1, 2 and 5
 * are skipped, a known field with the wrong wire type is an error. Groups
 * (wire types 3, 4) are rejected. Exemplars, histograms and metadata are
 * counted, not returned, but their framing is checked down to the leaves of
 * the schema (nested labels and bucket spans, packed arrays).
 *
 * Label semantics (order, uniqueness, charset, UTF-8) are not checked while
 * decoding; cs_prompb_check_labels() does that separately.
 *
 * Nothing allocates; all functions are safe to call concurrently on distinct
 * arguments. */
#ifndef CS_PROMPB_H
#define CS_PROMPB_H

#include <stddef.h>
#include <stdint.h>
#include "cs_error.h"
#include "cs_wal_record.h"

/* Spans into the decoded buffer. The WAL's types, so decoded labels can be
 * handed to cs_wal_series_append() as they are. */
typedef cs_wal_str cs_prompb_str;
typedef cs_wal_label cs_prompb_label;

/* ---- Decoder ----------------------------------------------------------- */

typedef struct cs_prompb_iter {
    const uint8_t *base;   /* start of the WriteRequest */
    const uint8_t *p;      /* next top-level field */
    const uint8_t *end;    /* end of the WriteRequest */
    size_t n_metadata;     /* metadata entries passed so far (all, after the end) */
    int err;               /* sticky: once negative, every later call returns it */
    size_t err_offset;     /* after an error: offset from base of the bad element */
    const char *err_what;  /* after an error: static text naming what was wrong */
} cs_prompb_iter;

/* What cs_prompb_next() found in one TimeSeries. */
typedef struct cs_prompb_series {
    size_t n_labels;
    size_t n_samples;
    size_t n_exemplars;    /* counted and validated, not returned */
    size_t n_histograms;   /* counted and validated, not returned */
    size_t offset;         /* offset from base of the TimeSeries field (its key byte) */
} cs_prompb_series;

/* Starts iterating the WriteRequest buf[0..len). Never fails; len 0 is an
 * empty request. */
void cs_prompb_iter_init(cs_prompb_iter *it, const uint8_t *buf, size_t len);

/* Decodes the next TimeSeries: labels[0..n_labels) as spans into the buffer
 * (in wire order), timestamps ts[0..n_samples) and value bit patterns
 * vals[0..n_samples) (in wire order). Metadata and unknown top-level fields
 * before it are skipped (metadata counted in it->n_metadata). Returns
 *   1  a series; *s describes it.
 *   0  no more series (it->n_metadata is final).
 *   CS_E_NOSPACE  the series is well-formed but has more than label_cap
 *                 labels or sample_cap samples; s->n_labels and
 *                 s->n_samples hold the counts needed; the iterator stays
 *                 on this series (retry with larger arrays). Array contents
 *                 are unspecified.
 *   CS_E_SHORT    the buffer ends inside an element.
 *   CS_E_CORRUPT  malformed: a length or varint crossing the end of its
 *                 enclosing message, a bad wire type or field number, a
 *                 packed double array whose length is not a multiple of 8.
 *   CS_E_OVERFLOW a varint longer than 64 bits (or a key beyond 32 bits).
 * After an error, it->err_offset and it->err_what say where and what. A
 * series is checked completely before NOSPACE is reported, so a corrupt
 * count never asks for huge arrays: n_labels and n_samples are at most half
 * the series' byte length. */
int cs_prompb_next(cs_prompb_iter *it, cs_prompb_series *s,
                   cs_prompb_label *labels, size_t label_cap,
                   int64_t *ts, uint64_t *vals, size_t sample_cap);

/* ---- Label checks ------------------------------------------------------ */

/* Results of cs_prompb_check_labels(). OK and EMPTY_VALUE mean the series is
 * valid; every other code means it must be refused. */
#define CS_PROMPB_LABELS_OK             0
#define CS_PROMPB_LABELS_EMPTY_VALUE    1  /* valid once labels with empty values are dropped */
#define CS_PROMPB_LABELS_NONE           2  /* no labels (or only empty-valued ones) */
#define CS_PROMPB_LABELS_EMPTY_NAME     3
#define CS_PROMPB_LABELS_BAD_NAME_UTF8  4  /* name is not valid UTF-8 */
#define CS_PROMPB_LABELS_BAD_NAME       5  /* name outside [a-zA-Z_][a-zA-Z0-9_]* */
#define CS_PROMPB_LABELS_BAD_VALUE_UTF8 6  /* value is not valid UTF-8 */
#define CS_PROMPB_LABELS_BAD_METRIC     7  /* __name__ value outside [a-zA-Z_:][a-zA-Z0-9_:]* */
#define CS_PROMPB_LABELS_UNSORTED       8  /* name sorts before the previous one (byte order) */
#define CS_PROMPB_LABELS_DUPLICATE      9  /* name equals the previous one */

/* Checks one series' labels as Prometheus' receiver does. Labels with an
 * empty value count as absent for order and uniqueness (their names must
 * still be valid), as in Prometheus, which drops them. Returns the first
 * refusing problem in label order with *index = that label's index; if there
 * is none, CS_PROMPB_LABELS_EMPTY_VALUE with *index = the first empty-valued
 * label when there is one, else CS_PROMPB_LABELS_OK (*index = n). For NONE,
 * *index = 0. Names starting "__" are allowed. */
int cs_prompb_check_labels(const cs_prompb_label *labels, size_t n, size_t *index);

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF), else 0. */
int cs_prompb_utf8_valid(const uint8_t *s, size_t n);

/* ---- Encoder ----------------------------------------------------------- */
/* A WriteRequest is a concatenation of timeseries fields, so a request is
 * encoded by appending series one after another. Zero scalars are omitted
 * as the Go encoder does (a value is zero when its bit pattern is: -0.0 and
 * NaNs are written), and so are empty strings. */

/* Exact size of the timeseries field (key, length, body) for these labels
 * and samples; 0 if it would not fit in a size_t. */
size_t cs_prompb_series_size(const cs_prompb_label *labels, size_t n_labels,
                             const int64_t *ts, const uint64_t *vals, size_t n_samples);

/* Writes one WriteRequest.timeseries field at dst. Returns the bytes written,
 * CS_E_NOSPACE if cap < cs_prompb_series_size() (nothing written), CS_E_ARG if
 * the size overflows or a span has a NULL pointer with a nonzero length. */
int64_t cs_prompb_encode_series(uint8_t *dst, size_t cap,
                                const cs_prompb_label *labels, size_t n_labels,
                                const int64_t *ts, const uint64_t *vals, size_t n_samples);

#endif
