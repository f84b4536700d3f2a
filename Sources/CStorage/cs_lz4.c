#include "cs_lz4.h"
#include "cs_error.h"
#include <lz4.h>

size_t cs_lz4_bound(size_t n) {
    if (n > (size_t)LZ4_MAX_INPUT_SIZE) return 0;
    return (size_t)LZ4_compressBound((int)n);
}

int64_t cs_lz4_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
    if (n > (size_t)LZ4_MAX_INPUT_SIZE) return CS_E_ARG;
    int icap = cap > (size_t)INT32_MAX ? INT32_MAX : (int)cap;
    int r = LZ4_compress_default((const char *)src, (char *)dst, (int)n, icap);
    if (r <= 0) return CS_E_NOSPACE;
    return r;
}

int64_t cs_lz4_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
    if (n > (size_t)INT32_MAX) return CS_E_ARG;
    int icap = cap > (size_t)INT32_MAX ? INT32_MAX : (int)cap;
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, icap);
    return r < 0 ? CS_E_COMPRESS : r;
}
