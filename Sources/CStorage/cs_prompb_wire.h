/* Protobuf wire types and the one-byte field keys of remote write 1.0, shared
 * by the decoder and the encoder (private to CStorage). */
#ifndef CS_PROMPB_WIRE_H
#define CS_PROMPB_WIRE_H

/* Wire types. */
#define CS_PB_VARINT  0
#define CS_PB_FIXED64 1
#define CS_PB_BYTES   2
#define CS_PB_GROUP_START 3
#define CS_PB_GROUP_END   4
#define CS_PB_FIXED32 5

/* Keys of the hot fields, one byte each: (field << 3) | wire type. */
#define CS_PB_KEY_TIMESERIES 0x0A /* WriteRequest.timeseries  (1, bytes) */
#define CS_PB_KEY_METADATA   0x1A /* WriteRequest.metadata    (3, bytes) */
#define CS_PB_KEY_LABEL      0x0A /* TimeSeries.labels        (1, bytes) */
#define CS_PB_KEY_SAMPLE     0x12 /* TimeSeries.samples       (2, bytes) */
#define CS_PB_KEY_EXEMPLAR   0x1A /* TimeSeries.exemplars     (3, bytes) */
#define CS_PB_KEY_HISTOGRAM  0x22 /* TimeSeries.histograms    (4, bytes) */
#define CS_PB_KEY_NAME       0x0A /* Label.name               (1, bytes) */
#define CS_PB_KEY_VALUE      0x12 /* Label.value              (2, bytes) */
#define CS_PB_KEY_SVALUE     0x09 /* Sample.value             (1, fixed64) */
#define CS_PB_KEY_STIME      0x10 /* Sample.timestamp         (2, varint) */

#endif
