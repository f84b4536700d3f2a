#include "cs_head_chunk.h"
#include "cs_error.h"

/* Go's integer division truncates toward zero; Prometheus's rangeForTimestamp()
 * is (t / range) * range + range, and we match it for every t. */
static int64_t cs_head_range_start(int64_t t, int64_t range) {
    return (t / range) * range;
}

int64_t cs_head_chunk_end_time(int64_t start, int64_t cur, int64_t max) {
    int64_t n = (max - start) / ((cur - start + 1) * 4);
    if (n <= 1) return max;
    return start + (max - start) / n;
}

int cs_head_chunk_start(cs_head_chunk *c, uint8_t *buf, size_t cap, int64_t t, int64_t chunk_range) {
    if (chunk_range <= 0 || cap > UINT32_MAX) return CS_E_ARG;
    int rc = cs_xor_init(&c->xor, buf, cap);
    if (rc != CS_OK) return rc;
    c->buf = buf;
    c->cap = (uint32_t)cap;
    c->min_time = t;
    /* The newest range cannot end inside int64: its chunks end at INT64_MAX. */
    int64_t start = cs_head_range_start(t, chunk_range);
    c->next_at = start > INT64_MAX - chunk_range ? INT64_MAX : start + chunk_range;
    return CS_OK;
}

int cs_head_append(cs_head_chunk *c, int64_t t, uint64_t vbits) {
    if (c->buf == NULL) return CS_HEAD_CUT;
    uint16_t n = c->xor.count;
    if (n > 0 && t <= c->xor.t) {
        if (t < c->xor.t) return CS_E_ORDER;
        return vbits == c->xor.v ? CS_HEAD_DUPLICATE : CS_E_DUPLICATE;
    }
    if (n == CS_HEAD_SAMPLES_PER_CHUNK / 4)
        c->next_at = cs_head_chunk_end_time(c->min_time, c->xor.t, c->next_at);
    if (n > 0 && (t >= c->next_at || n >= 2 * CS_HEAD_SAMPLES_PER_CHUNK)) return CS_HEAD_CUT;
    int rc = cs_xor_append(&c->xor, c->buf, c->cap, t, vbits);
    if (rc == CS_E_NOSPACE) return CS_HEAD_GROW;
    return rc;
}
