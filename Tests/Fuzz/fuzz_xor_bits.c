/* libFuzzer target: the XOR bit accounting on arbitrary bytes stays in bounds,
 * leaves its totals untouched on error, and agrees with the decoder: whatever
 * decodes is accounted for with the same sample count, and the parts add up
 * to the chunk's length in bits. */
#include "CStorage.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int64_t ts[CS_XOR_MAX_SAMPLES];
    static uint64_t vs[CS_XOR_MAX_SAMPLES];
    cs_xor_bits acc, zero;
    memset(&acc, 0, sizeof acc);
    memset(&zero, 0, sizeof zero);
    int rc = cs_xor_bits_add(&acc, data, size);
    int64_t decoded = cs_xor_decode(data, size, ts, vs, CS_XOR_MAX_SAMPLES);
    if (rc != CS_OK) {
        if (memcmp(&acc, &zero, sizeof acc) != 0) abort();
        if (decoded >= 0) abort();
        return 0;
    }
    if (decoded >= 0 && acc.samples != (uint64_t)decoded) abort();
    uint64_t total = acc.header_bits + acc.first_ts_bits + acc.first_value_bits + acc.second_ts_bits + acc.padding_bits;
    for (int i = 0; i < CS_XOR_DOD_BUCKETS; i++) total += acc.dod_bits[i];
    for (int i = 0; i < CS_XOR_VALUE_CASES; i++) total += acc.value_control_bits[i] + acc.value_payload_bits[i];
    if (total != 8 * (uint64_t)size) abort();
    return 0;
}
