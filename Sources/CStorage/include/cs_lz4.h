/* LZ4 block compression (the system liblz4) behind caller-owned buffers. */
#ifndef CS_LZ4_H
#define CS_LZ4_H

#include <stddef.h>
#include <stdint.h>

/* Worst-case compressed size of n input bytes; 0 when n is too large for LZ4. */
size_t cs_lz4_bound(size_t n);

/* Compresses src[0..n) into dst[0..cap). Returns the compressed length,
 * CS_E_NOSPACE if cap is too small, CS_E_ARG if n is too large. */
int64_t cs_lz4_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

/* Decompresses src[0..n) into dst[0..cap). Returns the decompressed length or
 * CS_E_COMPRESS when the input is malformed or does not fit in cap. Never reads
 * or writes outside the given ranges. */
int64_t cs_lz4_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

#endif
