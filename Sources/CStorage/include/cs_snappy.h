/* Snappy *block* format (the system libsnappy) behind caller-owned buffers:
 * uvarint uncompressed length, then literal/copy elements. This is the body
 * encoding of remote write and remote read; the framed/stream format is not
 * supported. Nothing allocates; every function is safe to call concurrently
 * on distinct arguments. */
#ifndef CS_SNAPPY_H
#define CS_SNAPPY_H

#include <stddef.h>
#include <stdint.h>
#include "cs_error.h"

/* No valid block expands by more than this: the densest element is a 3-byte
 * copy of 64 bytes. A length prefix above 22 x the block size is a lie. */
#define CS_SNAPPY_MAX_RATIO 22u

/* The uncompressed length the block's prefix announces, plausible or not,
 * or CS_E_CORRUPT when the prefix is malformed (or n is 0). */
int64_t cs_snappy_announced_length(const uint8_t *src, size_t n);

/* The uncompressed length announced by the block's prefix, or CS_E_CORRUPT
 * when the prefix is malformed or no block of n bytes could expand that far
 * (see CS_SNAPPY_MAX_RATIO). Reads only the prefix: a positive answer does
 * not mean the rest of the block is valid. */
int64_t cs_snappy_uncompressed_length(const uint8_t *src, size_t n);

/* Decompresses src[0..n) into dst[0..cap). The announced length is checked
 * before anything is written, in this order:
 *   CS_E_CORRUPT   the prefix is malformed or impossible for n bytes;
 *   CS_E_OVERFLOW  it exceeds max (the caller's limit on decoded bodies);
 *   CS_E_NOSPACE   it exceeds cap (nothing written).
 * Then returns the decompressed length (== the announced one), or
 * CS_E_CORRUPT when the elements are malformed or do not produce exactly the
 * announced length (dst contents then unspecified). Never reads or writes
 * outside the given ranges. */
int64_t cs_snappy_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                             size_t max);

/* Checks a whole block without writing anything: CS_OK or CS_E_CORRUPT.
 * Costs about as much as decompressing; useful before trusting a prefix. */
int cs_snappy_validate(const uint8_t *src, size_t n);

/* Worst-case compressed size of n input bytes; 0 when it would not fit in a
 * size_t or n exceeds what snappy's 32-bit length prefix can describe. */
size_t cs_snappy_bound(size_t n);

/* Compresses src[0..n) into one block at dst[0..cap). Returns the compressed
 * length, CS_E_NOSPACE if cap < cs_snappy_bound(n) (nothing written), CS_E_ARG
 * if n is too large for a block (> 4 GiB - 1). */
int64_t cs_snappy_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

#endif
