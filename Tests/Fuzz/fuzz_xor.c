/* libFuzzer target: arbitrary bytes as an XOR chunk must decode or fail cleanly;
 * arbitrary bytes read as (timestamp, value) pairs must round-trip exactly. */
#include "CStorage.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int64_t ts[CS_XOR_MAX_SAMPLES];
    static uint64_t vs[CS_XOR_MAX_SAMPLES];
    /* Differential check: the bulk decoder and the iterator agree on every input. */
    int64_t bulk = cs_xor_decode(data, size, ts, vs, CS_XOR_MAX_SAMPLES);
    cs_xor_iter it;
    cs_xor_iter_init(&it, data, size);
    int64_t k = 0;
    int rc;
    while ((rc = cs_xor_iter_next(&it)) == 1) {
        if (bulk >= 0 && (it.t != ts[k] || it.v != vs[k])) abort();
        k++;
    }
    if ((bulk >= 0) != (rc == 0) || (bulk >= 0 && bulk != k)) abort();

    size_t n = size / 16;
    if (n == 0 || n > 4096) return 0;
    size_t cap = 64 + n * 24;
    uint8_t *buf = calloc(cap, 1);
    cs_xor_state s;
    cs_xor_init(&s, buf, cap);
    size_t kept = 0;
    int64_t want_t[4096];
    uint64_t want_v[4096];
    for (size_t i = 0; i < n; i++) {
        int64_t t = (int64_t)cs_load_be64(data + 16 * i);
        uint64_t v = cs_load_be64(data + 16 * i + 8);
        if (cs_xor_append(&s, buf, cap, t, v) == CS_OK) { want_t[kept] = t; want_v[kept] = v; kept++; }
    }
    cs_xor_sync_header(&s, buf);
    int64_t got = cs_xor_decode(buf, cs_xor_len(&s), ts, vs, CS_XOR_MAX_SAMPLES);
    if (got != (int64_t)kept || memcmp(ts, want_t, kept * 8) || memcmp(vs, want_v, kept * 8)) abort();
    free(buf);
    return 0;
}
