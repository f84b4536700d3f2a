#include "cs_error.h"

const char *cs_strerror(int code) {
    switch (code) {
    case CS_OK:          return "ok";
    case CS_E_SHORT:     return "input truncated";
    case CS_E_CORRUPT:   return "input corrupt";
    case CS_E_NOSPACE:   return "output buffer too small";
    case CS_E_ORDER:     return "timestamp out of order";
    case CS_E_FULL:      return "container full";
    case CS_E_CRC:       return "checksum mismatch";
    case CS_E_COMPRESS:  return "compression or decompression failed";
    case CS_E_ARG:       return "invalid argument";
    case CS_E_TORN:      return "record torn (fragments end before the record does)";
    case CS_E_OVERFLOW:  return "value overflows its type";
    case CS_E_DUPLICATE: return "another value already stored at this timestamp";
    default:             return "unknown error";
    }
}
