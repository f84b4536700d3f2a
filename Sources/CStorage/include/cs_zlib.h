/* zlib (deflate with the zlib wrapper) behind caller-owned buffers, for
 * comparisons against the LZ4 paths. */
#ifndef CS_ZLIB_H
#define CS_ZLIB_H

#include <stddef.h>
#include <stdint.h>

/* Worst-case compressed size of n input bytes. */
size_t cs_zlib_bound(size_t n);

/* Compresses src[0..n) at `level` (0-9, -1 = zlib's default 6) into
 * dst[0..cap). Returns the compressed length, CS_E_NOSPACE when cap is too
 * small, CS_E_ARG for a bad level or an input over 4 GiB. */
int64_t cs_zlib_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, int level);

/* Decompresses src[0..n) into dst[0..cap). Returns the decompressed length or
 * CS_E_COMPRESS when the input is malformed or does not fit in cap. */
int64_t cs_zlib_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

#endif
