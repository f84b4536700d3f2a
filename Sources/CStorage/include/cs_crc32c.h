/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
 * Prometheus TSDB and WAL structure. cs_crc32c() picks the SSE4.2 instruction at
 * run time when the CPU has it and a slicing-by-8 table otherwise; both give
 * identical results. Thread-safe. */
#ifndef CS_CRC32C_H
#define CS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 to start; the result of one call seeds the next, so
 * cs_crc32c(cs_crc32c(0, a, n), b, m) == CRC of a||b. */
uint32_t cs_crc32c(uint32_t crc, const void *buf, size_t len);

/* The portable table path, exposed so tests can compare it with the hardware path. */
uint32_t cs_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* The SSE4.2 path; only valid when cs_crc32c_hw_available() returns 1. */
uint32_t cs_crc32c_hw(uint32_t crc, const void *buf, size_t len);

/* 1 when the CPU executes the SSE4.2 crc32 instruction, else 0. */
int cs_crc32c_hw_available(void);

#endif
