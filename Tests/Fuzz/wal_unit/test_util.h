/* Minimal assert-style harness shared by the test files. */
#ifndef CS_TEST_UTIL_H
#define CS_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>

extern long cs_test_passed, cs_test_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) {                                                                 \
            cs_test_passed++;                                                       \
        } else {                                                                    \
            cs_test_failed++;                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_EQ(a, b)                                                               \
    do {                                                                             \
        long long cs_a_ = (long long)(a), cs_b_ = (long long)(b);                    \
        if (cs_a_ == cs_b_) {                                                        \
            cs_test_passed++;                                                        \
        } else {                                                                     \
            cs_test_failed++;                                                        \
            fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",        \
                    __FILE__, __LINE__, #a, #b, cs_a_, cs_b_);                       \
        }                                                                            \
    } while (0)

/* Deterministic xorshift so failures reproduce. */
static inline uint64_t cs_test_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

void cs_test_frame(void);
void cs_test_reader(void);
void cs_test_record(void);
void cs_test_kat(void);

#endif
