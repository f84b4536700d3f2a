/* A fast 64-bit hash for in-memory hash tables (label sets). Not stable across
 * versions and never written to disk. Tables keyed by client-controlled bytes
 * pass a seed drawn at random per process, so collisions cannot be precomputed. */
#ifndef CS_HASH_H
#define CS_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t cs_hash64(const void *data, size_t len, uint64_t seed);

#endif
