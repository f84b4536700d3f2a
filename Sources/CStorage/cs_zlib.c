#include "cs_zlib.h"
#include "cs_error.h"
#include <zlib.h>

size_t cs_zlib_bound(size_t n) {
    return (size_t)compressBound((uLong)n);
}

int64_t cs_zlib_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, int level) {
    if (level < -1 || level > 9 || n > UINT32_MAX) return CS_E_ARG;
    uLongf out = (uLongf)cap;
    int rc = compress2(dst, &out, src, (uLong)n, level);
    if (rc == Z_BUF_ERROR) return CS_E_NOSPACE;
    if (rc != Z_OK) return CS_E_COMPRESS;
    return (int64_t)out;
}

int64_t cs_zlib_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
    if (n > UINT32_MAX) return CS_E_ARG;
    uLongf out = (uLongf)cap;
    uLong in = (uLong)n;
    int rc = uncompress2(dst, &out, src, &in);
    if (rc != Z_OK) return CS_E_COMPRESS;
    return (int64_t)out;
}
