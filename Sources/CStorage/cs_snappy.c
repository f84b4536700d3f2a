/* Snappy block codec glue: length checks before the library sees a buffer. */
#include "cs_snappy.h"

#include <snappy-c.h>

int64_t cs_snappy_announced_length(const uint8_t *src, size_t n) {
    size_t ulen;
    if (n == 0 || snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
        return CS_E_CORRUPT;
    if (ulen > INT64_MAX) return CS_E_CORRUPT;
    return (int64_t)ulen;
}

int64_t cs_snappy_uncompressed_length(const uint8_t *src, size_t n) {
    int64_t ulen = cs_snappy_announced_length(src, n);
    if (ulen < 0) return ulen;
    if (n <= SIZE_MAX / CS_SNAPPY_MAX_RATIO && (uint64_t)ulen > n * CS_SNAPPY_MAX_RATIO)
        return CS_E_CORRUPT;
    return ulen;
}

int64_t cs_snappy_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                             size_t max) {
    int64_t ulen = cs_snappy_uncompressed_length(src, n);
    if (ulen < 0) return ulen;
    if ((uint64_t)ulen > max) return CS_E_OVERFLOW;
    if ((uint64_t)ulen > cap) return CS_E_NOSPACE;
    if (ulen == 0)
        return cs_snappy_validate(src, n) == CS_OK ? 0 : CS_E_CORRUPT;
    size_t out = cap;
    if (snappy_uncompress((const char *)src, n, (char *)dst, &out) != SNAPPY_OK ||
        out != (size_t)ulen)
        return CS_E_CORRUPT;
    return ulen;
}

int cs_snappy_validate(const uint8_t *src, size_t n) {
    if (n == 0) return CS_E_CORRUPT;
    return snappy_validate_compressed_buffer((const char *)src, n) == SNAPPY_OK ? CS_OK
                                                                                : CS_E_CORRUPT;
}

size_t cs_snappy_bound(size_t n) {
    if (n > UINT32_MAX) return 0;
    /* snappy's own bound is 32 + n + n/6, which cannot overflow for n here. */
    return snappy_max_compressed_length(n);
}

int64_t cs_snappy_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap) {
    size_t bound = cs_snappy_bound(n);
    if (bound == 0) return CS_E_ARG;
    if (cap < bound) return CS_E_NOSPACE;
    size_t out = cap;
    static const uint8_t empty[1];
    if (snappy_compress((const char *)(n > 0 ? src : empty), n, (char *)dst, &out) != SNAPPY_OK)
        return CS_E_NOSPACE;
    return (int64_t)out;
}
