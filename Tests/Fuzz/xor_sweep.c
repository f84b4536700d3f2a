/* Deterministic corruption sweep of the XOR decoder, built with AddressSanitizer
 * and UBSan by scripts/fuzz.sh: every truncation and every single-bit flip of
 * chunks covering all encoder paths is decoded from an exactly sized heap copy,
 * so any read past the end is reported. A flip must leave both decoders (bulk
 * and iterator) agreeing; a flip of a padding bit must decode the original, a
 * flip of a used bit must fail or decode something else (XOR chunks carry no
 * checksum, so "something else" is all a decoder can promise). Prints
 * "N passed, N failed" and how the flips ended. */
#include "CStorage.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t cs_test_rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
    cs_test_rng ^= cs_test_rng << 13; cs_test_rng ^= cs_test_rng >> 7; cs_test_rng ^= cs_test_rng << 17;
    return cs_test_rng;
}

/* Decodes from an exactly sized heap copy with both decoders; returns the bulk
 * decoder's result, and 0 in *agree when the iterator disagrees with it (count,
 * samples, or success). */
static int decode_copy(const uint8_t *bytes, size_t len, int64_t *ts, uint64_t *vs, int *agree) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    int64_t n = cs_xor_decode(copy, len, ts, vs, CS_XOR_MAX_SAMPLES);
    cs_xor_iter it;
    int r, seen = 0, same = 1;
    cs_xor_iter_init(&it, copy, len);
    while ((r = cs_xor_iter_next(&it)) == 1) {
        if (n >= 0 && (seen >= n || it.t != ts[seen] || it.v != vs[seen])) same = 0;
        seen++;
    }
    free(copy);
    *agree = same && (n >= 0 ? (r == 0 && seen == n) : r < 0);
    return (int)n;
}

int main(void) {
    static int64_t ts[CS_XOR_MAX_SAMPLES];
    static uint64_t vs[CS_XOR_MAX_SAMPLES];
    int passed = 0, failed = 0, agree;
    long flips_rejected = 0, flips_changed = 0, flips_padding = 0;
    for (int round = 0; round < 40; round++) {
        size_t n = 1 + next_rand() % 200;
        size_t cap = 64 + n * 24;
        uint8_t *buf = calloc(cap, 1);
        cs_xor_state s;
        cs_xor_init(&s, buf, cap);
        int64_t t = (int64_t)(next_rand() % 2000000000000ull);
        static const int64_t gaps[] = {1, 15000, 8193, 65537, 524289, 1ll << 40};
        uint64_t v = 0;
        int64_t want_t[256];
        uint64_t want_v[256];
        for (size_t i = 0; i < n; i++) {
            t += gaps[next_rand() % 6] + (int64_t)(next_rand() % 3);
            switch (next_rand() % 4) {
            case 0: v = next_rand(); break;
            case 1: v ^= 1ull << (next_rand() % 64); break;
            case 2: break;
            default: v = 0x7FF0000000000002ull; break;
            }
            if (cs_xor_append(&s, buf, cap, t, v) != CS_OK) { failed++; break; }
            want_t[i] = t;
            want_v[i] = v;
        }
        cs_xor_sync_header(&s, buf);
        size_t len = cs_xor_len(&s);
        if (decode_copy(buf, len, ts, vs, &agree) == (int)n && agree &&
            memcmp(ts, want_t, n * sizeof ts[0]) == 0 && memcmp(vs, want_v, n * sizeof vs[0]) == 0) passed++;
        else { failed++; fprintf(stderr, "round %d: clean decode failed\n", round); }
        for (size_t cut = 0; cut < len; cut++) {
            int r = decode_copy(buf, cut, ts, vs, &agree);
            if (cut + 1 < len && r >= 0) { failed++; fprintf(stderr, "round %d cut %zu decoded\n", round, cut); }
            else if (!agree) { failed++; fprintf(stderr, "round %d cut %zu: decoders disagree\n", round, cut); }
            else passed++;
        }
        for (size_t bit = 0; bit < len * 8; bit++) {
            buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            int r = decode_copy(buf, len, ts, vs, &agree);
            buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            int original = r == (int)n && memcmp(ts, want_t, n * sizeof ts[0]) == 0 &&
                           memcmp(vs, want_v, n * sizeof vs[0]) == 0;
            const char *wrong = NULL;
            if (!agree) wrong = "decoders disagree";
            else if (r > (int)CS_XOR_MAX_SAMPLES) wrong = "count out of range";
            else if (bit >= s.bitpos && !original) wrong = "padding flip changed the decode";
            else if (bit < s.bitpos && original) wrong = "flip went unnoticed";
            if (wrong) { failed++; fprintf(stderr, "round %d bit %zu: %s (%d)\n", round, bit, wrong, r); continue; }
            passed++;
            if (bit >= s.bitpos) flips_padding++;
            else if (r < 0) flips_rejected++;
            else flips_changed++;
        }
        free(buf);
    }
    printf("flips: %ld rejected, %ld decoded differently, %ld in padding decoded the original\n",
           flips_rejected, flips_changed, flips_padding);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0 || flips_rejected == 0 || flips_changed == 0 || flips_padding == 0;
}
